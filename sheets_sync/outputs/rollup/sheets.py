"""The detail sheets: `Ma trận`, `Dự sinh hoạt`, `Đánh giá năm`, `Nhà văn hóa`, `Nhật ký`."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from ...core.findings import ERROR, INFO, OK, STATUS_VI, UNCHANGED, WARNING
from .extract import (
    ACCEPTED,
    ERR,
    EXPLAINED,
    MISSING,
    NONE,
    WARN,
    AnnualRow,
    Difficulty,
    MatrixRow,
    SupervisorRow,
)
from .extract import OK as ST_OK
from .layout import (
    DATE,
    DATETIME,
    INT,
    TOTAL_FILL,
    Writer,
    lines_height,
    page_height,
    page_setup,
    parse_iso,
    row_height,
    text_lines,
    text_value,
)

SYMBOL = {ST_OK: "✔", ERR: "✖", WARN: "⚠", EXPLAINED: "✖", ACCEPTED: "✔", MISSING: "Thiếu",
          NONE: "–"}
LEVEL_VI = {"good": "Tốt", "fair": "Khá", "average": "Trung bình", "poor": "Kém"}


@dataclass
class UnitBlock:
    """A unit as the detail sheets see it: its data (None when not read) and status."""
    code: str
    name: str
    status: str
    message: str | None
    has_data: bool


def _title(w: Writer, last: int, title: str, subtitle: str, width: float) -> int:
    """Title and subtitle over the table's ``width`` (sum of its column widths)."""
    w.ws.set_row(0, 24)
    w.merge(0, 0, last, title, w.st.title())
    w.ws.set_row(1, row_height([(subtitle, width)], size=11, minimum=18))
    w.merge(1, 0, last, subtitle, w.st.subtitle())
    return 2


def _columns(ws, widths: Sequence[float]) -> float:
    for c, width in enumerate(widths):
        ws.set_column(c, c, width)
    return sum(widths)


def _head_row(w: Writer, row: int, heads: Sequence[str], widths: Sequence[float]) -> None:
    """A table's header row, as tall as its longest wrapped heading."""
    w.ws.set_row(row, row_height(list(zip(heads, widths)), minimum=30, bold=True))
    for c, text in enumerate(heads):
        w.text(row, c, text, w.st.head())


def _missing_note(units: Sequence[UnitBlock]) -> str:
    gone = [u for u in units if not u.has_data]
    if not gone:
        return ""
    return ("Chưa có số liệu của: " + "; ".join(
        f"{u.code} – {u.name} ({STATUS_VI.get(u.status, u.status)})" for u in gone) + ".")


def _subtitle(year: int, as_of: date, units: Sequence[UnitBlock], extra: str = "") -> str:
    parts = [f"Năm {year}, số liệu đến ngày {as_of:%d/%m/%Y}.", extra, _missing_note(units)]
    return " ".join(p for p in parts if p)


# --- Ma trận -----------------------------------------------------------------------------------

MATRIX_LEGEND = (
    (ST_OK, "✔", "Đạt: buổi sinh hoạt thường kỳ không có vi phạm, cảnh báo."),
    (ERR, "✖", "Vi phạm (chưa giải trình)."),
    (EXPLAINED, "✖", "Vi phạm hoặc cảnh báo đã giải trình – chờ xem xét (không tính là đạt)."),
    (WARN, "⚠", "Cảnh báo: thiếu hoặc sai số liệu, cần xem lại."),
    (ACCEPTED, "✔", "Đã chấp nhận giải trình (theo danh sách của Ban Tổ chức)."),
    (MISSING, "Thiếu", "Không có buổi sinh hoạt thường kỳ sau thời hạn nhập."),
    (NONE, "–", "Chưa đến hạn, chi bộ chưa thành lập/đã giải thể, hoặc không đánh giá được."),
)


def write_matrix(ws, w: Writer, blocks: Sequence[tuple[UnitBlock, list[MatrixRow]]],
                 year: int, as_of: date, cell_label: str) -> None:
    st = w.st
    last = 2 + 12
    widths = [27, 8, 28, *([6] * 12)]
    total_w = _columns(ws, widths)
    units = [b for b, _ in blocks]
    row = _title(w, last, f"MA TRẬN SINH HOẠT {cell_label.upper()} THEO THÁNG NĂM {year}",
                 _subtitle(year, as_of, units, "Mỗi ô: trạng thái buổi sinh hoạt thường kỳ và "
                           "xếp loại (T = Tốt, K = Khá, TB = Trung bình, Kém = Kém); chú giải ở "
                           "cuối bảng."), total_w)
    header = row
    ws.set_row(header, 30)
    for c, text in enumerate(["Đơn vị", f"Mã {cell_label.lower()}", f"Tên {cell_label.lower()}",
                              *(f"T{m}" for m in range(1, 13))]):
        w.text(header, c, text, st.head())
    row += 1
    text, centre = st.text(), st.text(align="center")
    state_fmt = {state: st.state(state) for state in SYMBOL}
    # (state, rating letter) -> the cell's text and format
    month_cell: dict[tuple[str, str | None], tuple[str, Any]] = {}
    for unit, rows in blocks:
        label = f"{unit.code} – {unit.name}"
        if not unit.has_data or not rows:
            # No merge here: the rows stay sortable and filterable.
            status = (STATUS_VI.get(unit.status, unit.status) if not unit.has_data
                      else "Không có danh sách chi bộ")
            message = ((unit.message or "") if not unit.has_data
                       else "Tab Chi bộ không đọc được: không lập được ma trận.")
            ws.set_row(row, row_height([(label, widths[0]), (status, widths[1]),
                                        (message, widths[2])], minimum=18))
            w.text(row, 0, label, text)
            w.text(row, 1, status, st.state("error", text_wrap=True))
            w.text(row, 2, message, st.state("none", align="left", text_wrap=True))
            for m in range(12):
                w.text(row, 3 + m, "", st.state("none"))
            row += 1
            continue
        if unit.status not in (OK, UNCHANGED):
            label += f" ({STATUS_VI.get(unit.status, unit.status).lower()})"
        label_lines = text_lines(label, widths[0])  # the rows: as tall as label or cell name
        for mr in rows:
            cells = [(label, text), (mr.cell_code, centre), (mr.cell_name, text)]
            for state, letter in mr.months:
                cell = month_cell.get((state, letter))
                if cell is None:
                    cell = month_cell[state, letter] = (
                        SYMBOL[state] + (f" {letter}" if letter else ""), state_fmt[state])
                cells.append(cell)
            w.row(row, lines_height(max(label_lines, text_lines(mr.cell_name, widths[2]))),
                  cells)
            row += 1
    ws.freeze_panes(header + 1, 3)
    ws.autofilter(header, 0, max(row - 1, header), last)
    page_setup(ws, repeat=(header, header))
    row += 1
    w.merge(row, 0, last, "Chú giải", st.note(bold=True))
    row += 1
    for state, symbol, meaning in MATRIX_LEGEND:
        w.text(row, 1, symbol, st.state(state))
        w.merge(row, 2, last, meaning, st.note(valign="vcenter", indent=1))
        row += 1
    w.merge(row, 1, last, "Chữ sau ký hiệu: xếp loại buổi sinh hoạt do chi bộ tự đánh giá — "
                          "T = Tốt, K = Khá, TB = Trung bình, Kém = Kém.", st.note())


# --- Dự sinh hoạt -------------------------------------------------------------------------------

def write_supervision(ws, w: Writer, rows: Sequence[SupervisorRow],
                      notes: Sequence[Difficulty], units: Sequence[UnitBlock], year: int,
                      as_of: date, parent_label: str) -> None:
    """The supervisors' monthly visits, a legend, then the difficulties written in the visit
    books: two tables with different columns, so the first one's header is repeated on every
    printed page only when there is no second table, and the second starts on a new page
    when the sheet would not fit on one."""
    st = w.st
    last = 4 + 12
    widths = [5, 27, 27, 16, *([5.5] * 12), 7]
    total_w = _columns(ws, widths)
    heights: dict[int, float] = {}

    def set_row(r: int, height: float) -> None:
        ws.set_row(r, height)
        heights[r] = height

    row = _title(w, last, f"CẤP ỦY CẤP TRÊN DỰ SINH HOẠT CHI BỘ NĂM {year}",
                 _subtitle(year, as_of, units, f"Số lượt dự sinh hoạt chi bộ của từng đồng chí "
                           f"được {parent_label} phân công (Chỉ thị, mục 8: hằng tháng dự ít "
                           f"nhất 01 chi bộ)."), total_w)
    header = row
    set_row(header, 30)
    for c, text in enumerate(["STT", "Họ và tên", "Chức vụ", "Phụ trách",
                              *(f"T{m}" for m in range(1, 13)), "Cộng"]):
        w.text(header, c, text, st.head())
    row += 1
    num, text, centre = st.num(INT, align="center"), st.text(), st.text(align="center")
    if not rows:
        w.merge(row, 0, last, "Chưa khai báo danh sách cán bộ dự sinh hoạt ([[supervisors]] "
                              "trong tệp cấu hình).", st.text())
        row += 1
    visited, overdue = st.state("ok", num_format=INT), st.state("error", num_format=INT)
    not_due, unknown = ("–", st.state("none")), ("?", st.state("unknown"))
    total_fmt = st.num(INT, bold=True, align="center")
    for k, r in enumerate(rows, start=1):
        sup = r.supervisor
        in_charge = ", ".join(sup.units)
        height = row_height([(sup.name, widths[1]), (sup.role, widths[2]),
                             (in_charge, widths[3])])
        heights[row] = height
        months: list[tuple[Any, Any]] = [
            (n, visited) if n > 0 else not_due if not due else unknown if r.blind
            else (0, overdue) for n, due in zip(r.counts, r.due)]
        w.row(row, height, [(k, num), (text_value(sup.name), text),
                            (text_value(sup.role), text), (in_charge, centre), *months,
                            (sum(r.counts), total_fmt)])
        row += 1
    ws.freeze_panes(header + 1, 2)
    row += 1
    legend = (
        ("ok", "1", "Có dự sinh hoạt (số lượt)."),
        ("error", "0", "Tháng đã hết hạn mà không dự chi bộ nào."),
        ("unknown", "?", "Chưa biết: có đơn vị phụ trách chưa đọc được hoặc thiếu tab Dự "
                         "sinh hoạt."),
        ("none", "–", "Tháng chưa đến hạn."))
    for state, sample, meaning in legend:
        w.text(row, 1, sample, st.state(state))
        w.merge(row, 2, last, meaning, st.note(valign="vcenter", indent=1))
        row += 1

    row += 1
    section = row
    # Columns: STT, unit, visit date, who (col 3), cell (4–5), text (6–last).
    text_w = sum(widths[6:])
    note_rows = [(f"{d.unit_code} – {d.unit_name}", d) for d in notes]
    note_heights = [row_height([(label, widths[1]), (d.supervisor, widths[3]),
                                (d.text, text_w)], minimum=18) for label, d in note_rows]
    used = sum(heights.get(r, 15.0) for r in range(section))
    needed = 16 + 30 + (sum(note_heights) if notes else 18)
    if notes and used + needed > page_height(widths):
        ws.set_h_pagebreaks([section])
    page_setup(ws, repeat=None if notes else (header, header))

    set_row(row, 16)
    w.merge(row, 0, last, "KHÓ KHĂN, VƯỚNG MẮC VÀ KIẾN NGHỊ, ĐỀ XUẤT GHI TẠI SỔ DỰ SINH HOẠT",
            st.get(bold=True, font_size=12))
    row += 1
    set_row(row, 30)
    heads = [(0, 0, "STT"), (1, 1, "Đơn vị"), (2, 2, "Ngày dự"), (3, 3, "Người dự"),
             (4, 5, "Chi bộ"), (6, last, "Khó khăn, kiến nghị")]
    for c1, c2, text_ in heads:
        w.merge(row, c1, c2, text_, st.head())
    row += 1
    if not notes:
        w.merge(row, 0, last, "Không có nội dung khó khăn, kiến nghị trong năm.", st.text())
    date_fmt = st.num(DATE, align="center")
    for k, ((label, d), height) in enumerate(zip(note_rows, note_heights), start=1):
        heights[row] = height
        w.row(row, height, [(k, num), (label, text), (d.visit_date, date_fmt),
                            (text_value(d.supervisor), text)])
        w.merge(row, 4, 5, d.cell, centre)
        w.merge(row, 6, last, d.text, text)
        row += 1


# --- Đánh giá năm ------------------------------------------------------------------------------

COMPARISON = {
    "higher": ("error", "Tự xếp loại cao hơn mức suy ra"),
    "lower": ("accepted", "Tự xếp loại thấp hơn mức suy ra"),
    "same": ("ok", "Khớp"),
    "no-reported": ("none", "Chưa tự xếp loại"),
    "no-derived": ("none", "Chưa đủ số liệu để suy ra"),
}


def write_annual(ws, w: Writer, blocks: Sequence[tuple[UnitBlock, list[AnnualRow]]], year: int,
                 as_of: date, cell_label: str, min_tot: Any, max_kem: Any) -> None:
    st = w.st
    heads = ["STT", "Đơn vị", f"Mã {cell_label.lower()}", f"Tên {cell_label.lower()}",
             "Số tháng tính", "Tốt", "Khá", "TB", "Kém", "Chưa có / chưa xếp loại",
             "Mức suy ra từ các tháng", "Tự xếp loại", "Đối chiếu"]
    widths = [5, 27, 8, 28, 7, 5.5, 5.5, 5.5, 5.5, 9, 12, 11, 28]
    last = len(heads) - 1
    total_w = _columns(ws, widths)
    units = [b for b, _ in blocks]
    row = _title(w, last, f"ĐÁNH GIÁ, XẾP LOẠI {cell_label.upper()} NĂM {year}: MỨC SUY RA VÀ "
                          f"MỨC TỰ XẾP LOẠI",
                 _subtitle(year, as_of, units, (
                     f"Mức suy ra: Tốt khi mọi tháng từ Khá trở lên và ít nhất {min_tot} tháng "
                     f"Tốt; Khá khi mọi tháng từ Trung bình trở lên và ít nhất {min_tot} tháng "
                     f"từ Khá trở lên; Trung bình khi không quá {max_kem} tháng Kém; còn lại "
                     f"Kém (số {min_tot} tính theo tỷ lệ khi chưa đủ 12 tháng; tháng thiếu hoặc "
                     f"chưa xếp loại tính là Kém).")), total_w)
    row = _annual_totals(w, row, blocks, cell_label, widths)
    header = row
    _head_row(w, header, heads, widths)
    row += 1
    num, text, centre = st.num(INT, align="center"), st.text(), st.text(align="center")
    comparison_fmt = {state: st.state(state, text_wrap=True)
                      for state, _ in COMPARISON.values()}
    # the height of each comparison's text (row_height), the larger of it and the label's
    comparison_height = {key: row_height([(comparison, widths[12])], bold=state == "error")
                         for key, (state, comparison) in COMPARISON.items()}
    k = 0
    for unit, rows in blocks:
        label = f"{unit.code} – {unit.name}"
        label_lines = text_lines(label, widths[1])
        for a in rows:
            k += 1
            state, comparison = COMPARISON[a.comparison]
            counts = a.counts
            w.row(row, max(lines_height(max(label_lines, text_lines(a.cell_name, widths[3]))),
                           comparison_height[a.comparison]),
                  [(k, num), (label, text), (a.cell_code, centre), (a.cell_name, text),
                   (a.months, num), (counts.get("good", 0), num), (counts.get("fair", 0), num),
                   (counts.get("average", 0), num), (counts.get("poor", 0), num),
                   (counts.get("none", 0), num), (LEVEL_VI.get(a.derived or "", ""), centre),
                   (LEVEL_VI.get(a.reported or "", ""), centre),
                   (comparison, comparison_fmt[state])])
            row += 1
    if k == 0:
        w.merge(row, 0, last, "Không có số liệu.", st.text())
        row += 1
    ws.autofilter(header, 0, max(row - 1, header), last)
    page_setup(ws, repeat=(header, header))


def level_counts(rows: Sequence[AnnualRow]) -> tuple[dict[str, int], int]:
    """Cells by derived level ("none": not derivable) and cells rated above the derived level."""
    got = {k: 0 for k in (*LEVEL_VI, "none")}
    higher = 0
    for a in rows:
        got[a.derived or "none"] += 1
        higher += a.comparison == "higher"
    return got, higher


def _annual_totals(w: Writer, row: int, blocks: Sequence[tuple[UnitBlock, list[AnnualRow]]],
                   cell_label: str, widths: Sequence[float]) -> int:
    """Totals by derived level per unit and overall: the counts, then the percentages under
    them. Columns: STT, unit (1–3), cells (4), Tốt … Kém (5–8), not derivable (9), rated
    higher than derived (10–12)."""
    st = w.st
    w.ws.set_row(row, 20)
    w.merge(row, 0, 12, f"1. Tổng hợp mức xếp loại suy ra theo đơn vị (số {cell_label.lower()} "
                        "và tỷ lệ)", st.get(bold=True, font_size=12))
    row += 1
    heads = [(0, 0, "STT"), (1, 3, "Đơn vị"), (4, 4, f"Số {cell_label.lower()}"),
             (5, 5, "Tốt"), (6, 6, "Khá"), (7, 7, "TB"), (8, 8, "Kém"),
             (9, 9, "Chưa suy ra được"), (10, 12, "Tự xếp loại cao hơn mức suy ra")]
    w.ws.set_row(row, 30)
    for c1, c2, text in heads:
        w.merge(row, c1, c2, text, st.head())
    row += 1
    num, pct = st.num(INT, align="center"), st.num("0.0%", align="center", italic=True)
    bold_num = st.num(INT, align="center", bold=True, bg_color=TOTAL_FILL)
    bold_pct = st.num("0.0%", align="center", italic=True, bold=True, bg_color=TOTAL_FILL)
    levels = (*LEVEL_VI, "none")
    overall = {k: 0 for k in levels}
    overall_higher = 0
    lines: list[tuple[str, dict[str, int], int, bool]] = []
    for unit, rows in blocks:
        got, higher = level_counts(rows)
        for lv in levels:
            overall[lv] += got[lv]
        overall_higher += higher
        lines.append((f"{unit.code} – {unit.name}", got, higher, False))
    lines.append(("Cộng", overall, overall_higher, True))
    for k, (label, got, higher, total) in enumerate(lines, start=1):
        n = sum(got.values())
        nf, pf = (bold_num, bold_pct) if total else (num, pct)
        tf = st.text(bold=True, bg_color=TOTAL_FILL) if total else st.text()
        w.ws.set_row(row, row_height([(label, sum(widths[1:4]))]))
        w.num(row, 0, None if total else k, nf)
        w.merge(row, 1, 3, label, tf)
        w.num(row, 4, n, nf)
        for c, lv in enumerate(levels, start=5):
            w.num(row, c, got[lv], nf)
        w.merge(row, 10, 12, "", nf)
        w.ws.write_number(row, 10, higher, nf)
        row += 1
        w.num(row, 0, None, pf)
        w.merge(row, 1, 3, "tỷ lệ", st.text(italic=True, align="right",
                                             **({"bg_color": TOTAL_FILL} if total else {})))
        w.num(row, 4, 1.0 if n else None, pf)
        for c, lv in enumerate(levels, start=5):
            w.num(row, c, got[lv] / n if n else None, pf)
        w.merge(row, 10, 12, "", pf)
        if n:
            w.ws.write_number(row, 10, higher / n, pf)
        row += 1
    row += 1
    w.ws.set_row(row, 20)
    w.merge(row, 0, 12, f"2. Chi tiết từng {cell_label.lower()}", st.get(bold=True, font_size=12))
    return row + 1


# --- Nhà văn hóa -------------------------------------------------------------------------------

def write_halls(ws, w: Writer, rows: Sequence[dict], units: Sequence[UnitBlock], year: int,
                as_of: date) -> None:
    st = w.st
    heads = ["STT", "Đơn vị", "Thôn, tổ dân phố", "Mã chi bộ", "Dân số (người)",
             "Số đảng viên", "Sức chứa (chỗ ngồi)", "Tình trạng", "Đề xuất", "Lý do"]
    widths = [5, 27, 20, 8, 9, 8, 9, 10, 10, 40]
    last = len(heads) - 1
    total_w = _columns(ws, widths)
    row = _title(w, last, "NHÀ VĂN HÓA THÔN, TỔ DÂN PHỐ CẦN XÂY MỚI, NÂNG CẤP",
                 _subtitle(year, as_of, units, "Xếp theo dân số, rồi số đảng viên (Chỉ thị, "
                           "mục 9: căn cứ lập kế hoạch phân bổ kinh phí)."), total_w)
    header = row
    _head_row(w, header, heads, widths)
    row += 1
    num, text, centre = st.num(INT, align="center"), st.text(), st.text(align="center")
    count = st.num(INT)
    for k, h in enumerate(rows, start=1):
        label = f"{h['unit_code']} – {h['unit_name']}"
        hamlet, state = text_value(h.get("hamlet")), text_value(h.get("state"))
        proposal, reason = text_value(h.get("proposal")), text_value(h.get("reason"))
        w.row(row, row_height([(label, widths[1]), (hamlet, widths[2]), (state, widths[7]),
                               (proposal, widths[8]), (reason, widths[9])]),
              [(k, num), (label, text), (hamlet, text), (text_value(h.get("cell")), centre),
               (h.get("population"), count), (h.get("members"), count),
               (h.get("capacity"), count), (state, centre), (proposal, centre),
               (reason, text)])
        row += 1
    if not rows:
        w.merge(row, 0, last, "Không có nhà văn hóa nào cần xây mới, nâng cấp trong số liệu "
                              "đã đọc.", st.text())
        row += 1
    ws.freeze_panes(header + 1, 3)
    ws.autofilter(header, 0, max(row - 1, header), last)
    page_setup(ws, repeat=(header, header))


# --- Nhật ký -----------------------------------------------------------------------------------

# Labels of the `Nhật ký` cells that change from one run to the next (with the read times).
RUN_TIME_LABELS = ("Bắt đầu chạy", "Kết thúc chạy", "Số yêu cầu đọc Google Sheets",
                   "Số yêu cầu ghi Google Sheets", "Số yêu cầu Google Drive", "Số lần thử lại",
                   "Thời gian chờ hạn mức (giây)")


def show_param(v: Any) -> str:
    """A rule parameter as the operator would write it in the config, Vietnamese booleans."""
    if v is None:
        return "(tắt)"
    if isinstance(v, bool):
        return "có" if v else "không"
    if isinstance(v, date):
        return f"{v:%d/%m/%Y}"
    if isinstance(v, Mapping):
        return ", ".join(f"{k} = {show_param(x)}" for k, x in v.items())
    if isinstance(v, float):
        return f"{v:g}".replace(".", ",")
    return str(v)


def write_log(ws, w: Writer, *, as_of: date, year: int, run_info: Mapping[str, Any],
              units: Sequence[Any], sources: Mapping[str, str], counts: Mapping[str, int],
              parent_rules: Mapping[str, Any], overrides: Sequence[tuple[str, str, Any]],
              template_path: str, version: str, files: Sequence[tuple[str, str]],
              parent_label: str) -> None:
    """The run log: the only sheet with run-time values (run start/end, read times)."""
    st = w.st
    last = 5
    widths = [30, 28, 16, 40, 16, 34]
    total_w = _columns(ws, widths)
    row = _title(w, last, "NHẬT KÝ LẦN CHẠY", "Thời điểm chạy, tình trạng đọc từng đơn vị, "
                 "tham số quy tắc đang áp dụng.", total_w)
    label, value = st.text(bold=True), st.text()
    dt_fmt, date_fmt, num = st.num(DATETIME, align="left"), st.num(DATE, align="left"), \
        st.num(INT, align="left")
    year_fmt = st.num("0", align="left")
    value_w = sum(widths[1:])

    def kv(r: int, key: str, val: Any, kind: str = "text") -> None:
        """A label and its value, the value over the rest of the row."""
        w.ws.set_row(r, row_height([(key, widths[0]), (val if kind == "text" else "", value_w)]))
        w.text(r, 0, key, label)
        fmt = {"datetime": dt_fmt, "date": date_fmt, "num": num, "year": year_fmt}.get(kind)
        if kind == "datetime":
            dt = parse_iso(val) if isinstance(val, str) else val
            if dt is None:
                w.merge(r, 1, last, val, value)
                return
            val = dt
        if fmt is None:
            w.merge(r, 1, last, val, value)
            return
        w.ws.merge_range(r, 1, r, last, "", fmt)
        if kind in ("date", "datetime"):
            w.date(r, 1, val, fmt)
        else:
            w.num(r, 1, val, fmt)

    def section(r: int, title: str) -> int:
        w.merge(r, 0, last, title, st.get(bold=True, font_size=12))
        return r + 1

    row = section(row + 1, "1. Lần chạy")
    read = run_info.get("units_read")
    failed = run_info.get("units_failed")
    if read is None:
        read = sum(1 for u in units if u.status in (OK, UNCHANGED))
    if failed is None:
        failed = len(units) - read
    for key, val, kind in (
            ("Ngày kiểm tra (as-of)", as_of, "date"),
            ("Năm kiểm tra", year, "year"),
            (RUN_TIME_LABELS[0], run_info.get("started"), "datetime"),
            (RUN_TIME_LABELS[1], run_info.get("finished"), "datetime"),
            ("Số đơn vị đọc được", read, "num"),
            ("Số đơn vị không đọc được", failed, "num"),
            ("Số vi phạm", counts.get(ERROR, 0), "num"),
            ("Số cảnh báo", counts.get(WARNING, 0), "num"),
            ("Số lưu ý", counts.get(INFO, 0), "num"),
            ("Số đã chấp nhận giải trình (không tính là vi phạm)", counts.get("accepted", 0),
             "num")):
        kv(row, key, val, kind)
        row += 1
    requests = run_info.get("requests") or {}
    for key, label_ in (("reads", "Số yêu cầu đọc Google Sheets"),
                        ("writes", "Số yêu cầu ghi Google Sheets"),
                        ("drive", "Số yêu cầu Google Drive")):
        if isinstance(requests, Mapping) and isinstance(requests.get(key), (int, float)):
            kv(row, label_, requests[key], "num")
            row += 1
    for key, label_ in (("retries", "Số lần thử lại"),
                        ("waited_s", "Thời gian chờ hạn mức (giây)")):
        if isinstance(run_info.get(key), (int, float)) and not isinstance(run_info[key], bool):
            kv(row, label_, run_info[key], "num")
            row += 1
    notes = run_info.get("notes") or []
    if isinstance(notes, str):
        notes = [notes]
    for k, note in enumerate(notes):
        kv(row, "Ghi chú" if k == 0 else "", str(note))
        row += 1

    row = section(row + 1, "2. Đơn vị")
    for c, text in enumerate(["Mã", "Tên đơn vị", "Tình trạng", "Thông báo",
                              "Số liệu đọc lúc", "Nguồn"]):
        w.text(row, c, text, st.head())
    row += 1
    for u in units:
        when = parse_iso(u.pulled_at)
        ws.set_row(row, row_height([(u.name, widths[1]), (u.message, widths[3]),
                                    (sources.get(u.code, ""), widths[5])]))
        w.text(row, 0, u.code, value)
        w.text(row, 1, u.name, value)
        w.text(row, 2, STATUS_VI.get(u.status, u.status), value)
        w.text(row, 3, u.message, value)
        w.date(row, 4, when, dt_fmt)
        w.text(row, 5, sources.get(u.code, ""), value)
        row += 1

    row = section(row + 1, f"3. Tham số quy tắc đang áp dụng (cấp {parent_label})")
    for c1, c2, text in ((0, 0, "Tham số"), (1, last, "Giá trị")):
        w.merge(row, c1, c2, text, st.head())
    row += 1
    for name, val in parent_rules.items():
        w.text(row, 0, name, value)
        w.merge(row, 1, last, show_param(val), value)
        row += 1
    row = section(row + 1, "4. Tham số điều chỉnh riêng theo đơn vị")
    if not overrides:
        w.merge(row, 0, last, "Không có.", value)
        row += 1
    else:
        for c1, c2, text in ((0, 0, "Đơn vị"), (1, 1, "Tham số"), (2, last, "Giá trị")):
            w.merge(row, c1, c2, text, st.head())
        row += 1
        for unit, name, val in overrides:
            w.text(row, 0, unit, value)
            w.text(row, 1, name, value)
            w.merge(row, 2, last, show_param(val), value)
            row += 1

    row = section(row + 1, "5. Công cụ")
    kv(row, "Mẫu sổ theo dõi", template_path)
    row += 1
    kv(row, "Phiên bản sheets-sync", version)
    row += 1
    for key, val in files:
        kv(row, key, val)
        row += 1
    page_setup(ws)

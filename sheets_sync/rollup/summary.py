"""`Tổng hợp` (the printable report: Party document layout, one row per unit, a total row,
units not read, how each indicator is computed, signature) and `Biểu đồ` (charts)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Callable, Mapping, Sequence

from ..findings import INVALID, OK, STALE, STATUS_VI, UNCHANGED, UNREACHABLE
from .indicators import Ratio, UnitIndicators
from .layout import (
    FONT,
    INT,
    PCT,
    ROMAN,
    TOTAL_FILL,
    Writer,
    document_header,
    page_setup,
    parse_iso,
    signature,
    wrapped_height,
)

SHEET = "Tổng hợp"
CHART_SHEET = "Biểu đồ"


@dataclass(frozen=True)
class Col:
    key: str
    header: str
    width: float
    kind: str  # stt | code | name | int | pct | status
    group: str | None = None
    get: Callable[[UnitIndicators], Any] | None = None


def _ratio(attr: str) -> Callable[[UnitIndicators], Any]:
    return lambda u: getattr(u, attr)


def _quarter(q: int) -> Callable[[UnitIndicators], Any]:
    return lambda u: u.thematic[q]


def _rating(level: str) -> Callable[[UnitIndicators], Any]:
    return lambda u: None if u.ratings is None else u.ratings.get(level, 0)


def _count(attr: str) -> Callable[[UnitIndicators], Any]:
    return lambda u: getattr(u.counts, attr)


def _uniform(values: Sequence[Any]) -> Any:
    distinct = {v for v in values if v is not None}
    return distinct.pop() if len(distinct) == 1 else None


def columns(labels: Mapping[str, str], units: Sequence[UnitIndicators]) -> list[Col]:
    window = _uniform([u.window_days for u in units])
    preferred = _uniform([u.preferred_day for u in units])
    g_size, g_reg, g_them = "Quy mô", "Sinh hoạt thường kỳ (tỷ lệ)", "Sinh hoạt chuyên đề (tỷ lệ)"
    g_rate, g_lead, g_data = ("Xếp loại buổi sinh hoạt (số buổi)", "Chỉ đạo, dự sinh hoạt",
                              "Kiểm tra dữ liệu")
    cell_label = labels.get("cell", "Chi bộ").lower()
    return [
        Col("stt", "STT", 4.5, "stt"),
        Col("code", "Mã", 6, "code"),
        Col("name", labels.get("unit", "Đơn vị"), 22, "name"),
        Col("cells", f"Số {cell_label}", 6.5, "int", g_size, _ratio("cells")),
        Col("members", "Số đảng viên", 7.5, "int", g_size, _ratio("members")),
        Col("held", "Có sinh hoạt", 7, "pct", g_reg, _ratio("held")),
        Col("window", f"Trong ngày {window[0]}–{window[1]}" if window else "Trong khung ngày",
            7, "pct", g_reg, _ratio("window")),
        Col("preferred", f"Đúng ngày {preferred}" if preferred else "Đúng ngày ưu tiên",
            7, "pct", g_reg, _ratio("preferred")),
        Col("duration", "Đủ thời lượng", 7, "pct", g_reg, _ratio("duration")),
        Col("attendance", "Đạt tỷ lệ dự", 7, "pct", g_reg, _ratio("attendance")),
        Col("pooled", "Tỷ lệ dự chung", 7, "pct", g_reg, _ratio("pooled")),
        *(Col(f"q{q + 1}", f"Quý {ROMAN[q + 1]}", 6.5, "pct", g_them, _quarter(q))
          for q in range(4)),
        Col("good", "Tốt", 5.5, "int", g_rate, _rating("good")),
        Col("fair", "Khá", 5.5, "int", g_rate, _rating("fair")),
        Col("average", "TB", 5.5, "int", g_rate, _rating("average")),
        Col("poor", "Kém", 5.5, "int", g_rate, _rating("poor")),
        Col("briefing", "Triển khai đúng hạn (tỷ lệ)", 8, "pct", g_lead, _ratio("briefing")),
        Col("visits", "Lượt cấp trên dự", 7, "int", g_lead, _ratio("visits")),
        Col("completeness", "Dữ liệu đầy đủ (tỷ lệ)", 7.5, "pct", g_data, _ratio("completeness")),
        Col("errors", "Vi phạm", 6.5, "int", g_data, _count("errors")),
        Col("warnings", "Cảnh báo", 6.5, "int", g_data, _count("warnings")),
        Col("explained", "Đã giải trình, chờ xem xét", 7.5, "int", g_data, _count("explained")),
        Col("accepted", "Đã chấp nhận giải trình", 7.5, "int", g_data, _count("accepted")),
        Col("status", "Tình trạng số liệu", 13, "status"),
    ]


def status_text(u: UnitIndicators) -> str:
    base = STATUS_VI.get(u.status, u.status)
    when = parse_iso(u.pulled_at)
    if u.status in (STALE, UNCHANGED) and when is not None:
        return f"{base} (đọc {when:%d/%m/%Y})"
    return base


def _status_fmt(w: Writer, status: str, bold: bool = False):
    state = {OK: None, UNCHANGED: None, STALE: "warning", UNREACHABLE: "error",
             INVALID: "error"}.get(status)
    if state is None:
        return w.st.text(align="center", bold=bold)
    return w.st.state(state, text_wrap=True)


@dataclass
class SummaryLayout:
    """Where the unit rows are, for the charts."""
    first_row: int
    last_row: int
    col: dict[str, int]


def write_summary(ws, w: Writer, units: list[UnitIndicators], tot: UnitIndicators,
                  parent_name: str, labels: Mapping[str, str], as_of: date, year: int,
                  csv_name: str) -> SummaryLayout:
    st = w.st
    cols = columns(labels, units)
    last = len(cols) - 1
    for c, col in enumerate(cols):
        ws.set_column(c, c, col.width)
    row = document_header(w, last, left_cols=5, right_cols=12, parent_name=parent_name,
                          as_of=as_of)
    ws.set_row(row, 8)
    row += 1
    ws.set_row(row, 22)
    cell_label = labels.get("cell", "Chi bộ")
    w.merge(row, 0, last, f"BÁO CÁO TỔNG HỢP CHẤT LƯỢNG SINH HOẠT {cell_label.upper()} "
                          f"NĂM {year}", st.title())
    row += 1
    ws.set_row(row, 30)
    w.merge(row, 0, last, (
        f"(Số liệu đến ngày {as_of:%d/%m/%Y}; kiểm tra theo Chỉ thị của Ban Thường vụ "
        f"{labels.get('parent', '')} về nâng cao chất lượng sinh hoạt chi bộ và Hướng dẫn "
        f"12-HD/BTCTW, 42-HD/BTCTW của Ban Tổ chức Trung ương)"), st.subtitle())
    row += 1
    ws.set_row(row, 8)
    row += 1

    # Two header rows: groups (merged within the row), then column labels.
    g_row, h_row = row, row + 1
    ws.set_row(g_row, 30)
    c = 0
    while c <= last:
        group = cols[c].group
        end = c
        while end + 1 <= last and group is not None and cols[end + 1].group == group:
            end += 1
        w.merge(g_row, c, end, group or "", st.head())
        c = end + 1
    ws.set_row(h_row, 54)
    for c, col in enumerate(cols):
        w.text(h_row, c, col.header, st.head())
    row = h_row + 1

    first = row
    pct, num = st.num(PCT), st.num(INT)
    for k, u in enumerate(units, start=1):
        ws.set_row(row, 30 if u.status not in (OK, UNCHANGED) else 18)
        _unit_row(w, row, cols, u, k, pct, num, st.text(), st.text(align="center"))
        row += 1
    last_unit = row - 1
    bold = dict(bold=True, bg_color=TOTAL_FILL)
    ws.set_row(row, 20)
    _unit_row(w, row, cols, tot, None, st.num(PCT, **bold), st.num(INT, **bold),
              st.text(**bold), st.text(align="center", **bold), total=True,
              read=sum(1 for u in units if u.has_data), count=len(units))
    row += 1

    ws.freeze_panes(h_row + 1, 3)
    ws.autofilter(h_row, 0, max(last_unit, h_row), last)
    page_setup(ws, repeat=(g_row, h_row))

    width = sum(col.width for col in cols)
    row = _notes(w, row + 1, last, width, units, labels, csv_name)
    row = signature(w, row + 1, last, left_cols=6, right_cols=12, labels=labels)
    return SummaryLayout(first, last_unit, {col.key: c for c, col in enumerate(cols)})


def _unit_row(w: Writer, r: int, cols: list[Col], u: UnitIndicators, k: int | None, pct, num,
              text, centre, total: bool = False, read: int = 0, count: int = 0) -> None:
    for c, col in enumerate(cols):
        if col.kind == "stt":
            w.num(r, c, k, centre if k is None else num)
        elif col.kind == "code":
            w.text(r, c, u.code, centre)
        elif col.kind == "name":
            w.text(r, c, u.name, text)
        elif col.kind == "status":
            if total:
                w.text(r, c, f"{read}/{count} đơn vị có số liệu", centre)
            else:
                w.text(r, c, status_text(u), _status_fmt(w, u.status))
        elif col.kind == "pct":
            value = col.get(u)
            w.num(r, c, value.value if isinstance(value, Ratio) else None, pct)
        else:
            value = col.get(u)
            w.num(r, c, value, num)


def _notes(w: Writer, row: int, last: int, width: float, units: list[UnitIndicators],
           labels: Mapping[str, str], csv_name: str) -> int:
    st = w.st
    lines: list[tuple[str, Any]] = []
    failed = [u for u in units if u.status not in (OK, UNCHANGED)]
    if failed:
        lines.append(("Đơn vị chưa đọc được số liệu lần này (không bỏ khỏi báo cáo):",
                      st.note(bold=True)))
        for u in failed:
            msg = f" {u.message}" if u.message else ""
            extra = ("" if u.has_data else
                     " Các chỉ tiêu của đơn vị này để trống, không tính vào dòng tổng cộng.")
            lines.append((f"- {u.code} – {u.name}: {STATUS_VI.get(u.status, u.status)}.{msg}"
                          f"{extra}", st.note()))
    cell = labels.get("cell", "Chi bộ").lower()
    lines.append(("Cách tính:", st.note(bold=True)))
    for text in (
        f"- Tính cho các tháng đã đến hạn (hết hạn nhập: ngày cuối khung + số ngày gia hạn) và "
        f"các {cell} đang hoạt động trong tháng. \"Có sinh hoạt\" = số {cell}-tháng có buổi sinh "
        f"hoạt thường kỳ / số {cell}-tháng phải sinh hoạt.",
        "- Các tỷ lệ \"trong khung ngày\", \"đúng ngày\", \"đủ thời lượng\", \"đạt tỷ lệ dự\" "
        "tính trên các buổi sinh hoạt thường kỳ đã tổ chức có đủ số liệu của tiêu chí đó, theo "
        "tham số đang áp dụng cho từng đơn vị (sheet Nhật ký); "
        "\"tỷ lệ dự chung\" = tổng số có mặt / tổng số phải dự. Ô trống: không có số liệu để "
        "tính (hoặc tiêu chí không áp dụng).",
        f"- Chuyên đề theo quý = số {cell} có đủ buổi sinh hoạt chuyên đề (hoặc thường kỳ kết "
        f"hợp chuyên đề) / số {cell} phải sinh hoạt chuyên đề trong quý đã đến hạn.",
        "- Triển khai đúng hạn = số tháng đã triển khai trước hạn / số tháng đã đến hạn. "
        "Lượt cấp trên dự = số dòng trong tab Dự sinh hoạt của năm. Dữ liệu đầy đủ = số dòng "
        "không thiếu ô bắt buộc, không có giá trị sai kiểu / tổng số dòng.",
        "- Vi phạm, cảnh báo: chưa có giải trình. Đã giải trình: đang chờ xem xét, tính riêng, "
        "không tính là đạt. Đã chấp nhận: có trong danh sách chấp nhận của Ban Tổ chức.",
        "- Dòng tổng cộng: cộng các số đếm; các tỷ lệ tính lại từ tổng tử số và tổng mẫu số "
        f"(không lấy trung bình). Danh sách đầy đủ các phát hiện: sheet \"Vi phạm\" và tệp "
        f"{csv_name}.",
    ):
        lines.append((text, st.note()))
    for text, fmt in lines:
        w.ws.set_row(row, wrapped_height(text, width, line=14))
        w.merge(row, 0, last, text, fmt)
        row += 1
    return row


# --- charts ------------------------------------------------------------------------------------

def write_charts(wb, ws, w: Writer, layout: SummaryLayout, n_units: int, year: int,
                 labels: Mapping[str, str]) -> None:
    st = w.st
    ws.set_column(0, 0, 2)
    ws.set_column(1, 14, 9)
    ws.set_row(0, 24)
    w.merge(0, 1, 14, f"BIỂU ĐỒ CHẤT LƯỢNG SINH HOẠT {labels.get('cell', 'Chi bộ').upper()} "
                      f"NĂM {year}", st.title())
    w.merge(1, 1, 14, "Số liệu lấy từ sheet \"Tổng hợp\".", st.subtitle())
    page_setup(ws)
    if n_units == 0:
        return
    font = {"name": FONT, "size": 10}
    first, last, col = layout.first_row, layout.last_row, layout.col
    cats = [SHEET, first, col["name"], last, col["name"]]
    height = max(320, 110 + 36 * n_units)

    held = wb.add_chart({"type": "bar"})
    for key, name, colour in (("held", "Có sinh hoạt thường kỳ", "#2E75B6"),
                              ("window", "Trong khung ngày", "#70AD47")):
        held.add_series({"name": name, "categories": cats,
                         "values": [SHEET, first, col[key], last, col[key]],
                         "fill": {"color": colour}, "data_labels": {
                             "value": True, "num_format": "0%", "font": font}})
    held.set_title({"name": "Tỷ lệ sinh hoạt thường kỳ và đúng khung ngày theo đơn vị",
                    "name_font": {"name": FONT, "size": 12, "bold": True}})
    held.set_x_axis({"min": 0, "max": 1, "num_format": "0%", "num_font": font,
                     "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
    held.set_y_axis({"reverse": True, "num_font": font})
    held.set_legend({"position": "bottom", "font": font})
    held.set_size({"width": 900, "height": height})
    ws.insert_chart(3, 1, held)

    ratings = wb.add_chart({"type": "bar", "subtype": "percent_stacked"})
    for key, name, colour in (("good", "Tốt", "#00B050"), ("fair", "Khá", "#5B9BD5"),
                              ("average", "Trung bình", "#FFC000"), ("poor", "Kém", "#C00000")):
        ratings.add_series({"name": name, "categories": cats,
                            "values": [SHEET, first, col[key], last, col[key]],
                            "fill": {"color": colour}, "gap": 60})
    ratings.set_title({"name": "Cơ cấu xếp loại buổi sinh hoạt thường kỳ theo đơn vị",
                       "name_font": {"name": FONT, "size": 12, "bold": True}})
    ratings.set_x_axis({"num_format": "0%", "num_font": font})
    ratings.set_y_axis({"reverse": True, "num_font": font})
    ratings.set_legend({"position": "bottom", "font": font})
    ratings.set_size({"width": 900, "height": height})
    ws.insert_chart(3 + height // 20 + 2, 1, ratings)

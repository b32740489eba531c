"""`Tổng hợp` (the printable report: Party document layout, one row per unit, a total row,
units not read, how each indicator is computed, signature) and `Biểu đồ` (charts)."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ...core.findings import INVALID, OK, STALE, STATUS_VI, UNCHANGED, UNREACHABLE
from ...core.periods import ROMAN
from .indicators import Ratio, UnitIndicators
from .layout import (
    BASE_SIZE,
    FONT,
    INT,
    PCT,
    TOTAL_FILL,
    Writer,
    col_px,
    document_header,
    lower_first,
    page_setup,
    parse_iso,
    row_height,
    signature,
    text_value,
    wrapped_height,
)

SHEET = "Tổng hợp"
CHART_SHEET = "Biểu đồ"

# The table is 28 columns wide and printed fitted to one A4 page wide (about 2/3 size): its
# body is written one point larger than the other sheets' tables so that it stays legible.
BODY_SIZE = BASE_SIZE
# Numbers keep a small gap from the right border ("_)": the width of a parenthesis).
PCT_PAD, INT_PAD = PCT + "_)", INT + "_)"


@dataclass(frozen=True)
class Col:
    key: str
    header: str
    width: float
    kind: str  # stt | code | name | int | pct | status
    group: str | None = None
    get: Callable[[UnitIndicators], Any] = lambda u: None  # the value (int/pct columns)


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
        Col("stt", "STT", 4, "stt"),
        Col("code", "Mã", 5, "code"),
        Col("name", labels.get("unit", "Đơn vị"), 22, "name"),
        Col("cells", f"Số {cell_label}", 5.5, "int", g_size, _ratio("cells")),
        Col("members", "Số đảng viên", 6.5, "int", g_size, _ratio("members")),
        Col("held", "Có sinh hoạt", 7, "pct", g_reg, _ratio("held")),
        Col("window", f"Trong ngày {window[0]}–{window[1]}" if window else "Trong khung ngày",
            7, "pct", g_reg, _ratio("window")),
        Col("preferred", f"Đúng ngày {preferred}" if preferred else "Đúng ngày ưu tiên",
            7, "pct", g_reg, _ratio("preferred")),
        Col("duration", "Đủ thời lượng", 7, "pct", g_reg, _ratio("duration")),
        Col("attendance", "Đạt tỷ lệ dự", 7, "pct", g_reg, _ratio("attendance")),
        Col("pooled", "Tỷ lệ dự chung", 7, "pct", g_reg, _ratio("pooled")),
        *(Col(f"q{q + 1}", f"Quý {ROMAN[q + 1]}", 7, "pct", g_them, _quarter(q))
          for q in range(4)),
        Col("good", "Tốt", 5, "int", g_rate, _rating("good")),
        Col("fair", "Khá", 5, "int", g_rate, _rating("fair")),
        Col("average", "TB", 5, "int", g_rate, _rating("average")),
        Col("poor", "Kém", 5, "int", g_rate, _rating("poor")),
        Col("briefing", "Triển khai đúng hạn (tỷ lệ)", 7.5, "pct", g_lead, _ratio("briefing")),
        Col("visits", "Lượt cấp trên dự", 6.5, "int", g_lead, _ratio("visits")),
        Col("completeness", "Dữ liệu đầy đủ (tỷ lệ)", 7, "pct", g_data, _ratio("completeness")),
        Col("errors", "Vi phạm", 6, "int", g_data, _count("errors")),
        Col("warnings", "Cảnh báo", 6, "int", g_data, _count("warnings")),
        Col("explained", "Trong đó: đã giải trình, chờ xem xét", 7.5, "int", g_data,
            _count("explained")),
        Col("accepted", "Đã chấp nhận giải trình", 7.5, "int", g_data, _count("accepted")),
        Col("status", "Tình trạng số liệu", 16, "status"),
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
        return w.st.text(align="center", bold=bold, font_size=BODY_SIZE)
    return w.st.state(state, text_wrap=True, font_size=BODY_SIZE)


@dataclass
class SummaryLayout:
    """Where the unit rows are, for the charts (and the rating counts, to leave zero-count
    segments unlabelled)."""
    first_row: int
    last_row: int
    col: dict[str, int]
    ratings: dict[str, list[int | None]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


def write_summary(ws, w: Writer, units: list[UnitIndicators], tot: UnitIndicators,
                  parent_name: str, labels: Mapping[str, str], as_of: date, year: int,
                  csv_name: str, previous: UnitIndicators | None = None) -> SummaryLayout:
    """``labels``: the document labels (``config.document_labels``); ``previous``: the previous
    year's pooled indicators, shown under the total row when the sheets hold that year."""
    st = w.st
    cols = columns(labels, units)
    last = len(cols) - 1
    for c, col in enumerate(cols):
        ws.set_column(c, c, col.width)
    row = document_header(w, last, left_cols=5, right_cols=12, labels=labels, as_of=as_of)
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

    # Two header rows: groups (merged within the row), then column labels. A column without
    # a group looks merged over both rows (no border between its two cells; the label stays in
    # the second row, where the table's filters are).
    g_row, h_row = row, row + 1
    spans = []
    c = 0
    while c <= last:
        group = cols[c].group
        end = c
        while end + 1 <= last and group is not None and cols[end + 1].group == group:
            end += 1
        spans.append((c, end, group))
        c = end + 1
    ws.set_row(g_row, row_height([(g, sum(col.width for col in cols[c1:c2 + 1]))
                                  for c1, c2, g in spans if g], minimum=30, bold=True))
    for c1, c2, group in spans:
        w.merge(g_row, c1, c2, group or "", st.head() if group else st.head(bottom=0))
    ws.set_row(h_row, row_height([(col.header, col.width) for col in cols], minimum=30,
                                 bold=True))
    for c, col in enumerate(cols):
        w.text(h_row, c, col.header, st.head() if col.group else st.head(top=0))
    row = h_row + 1

    first = row
    size = dict(font_size=BODY_SIZE)
    pct, num = st.num(PCT_PAD, **size), st.num(INT_PAD, **size)
    name_w, status_w = (next(col.width for col in cols if col.kind == kind)
                        for kind in ("name", "status"))
    unit_text, unit_centre = st.text(**size), st.text(align="center", **size)
    for k, u in enumerate(units, start=1):
        _unit_row(w, row, row_height([(u.name, name_w), (status_text(u), status_w)],
                                     size=BODY_SIZE, minimum=18),
                  cols, u, k, pct, num, unit_text, unit_centre)
        row += 1
    last_unit = row - 1
    bold = dict(bold=True, bg_color=TOTAL_FILL, font_size=BODY_SIZE)
    read = sum(1 for u in units if u.has_data)
    _unit_row(w, row, row_height([(_total_status(read, len(units)), status_w)],
                                 size=BODY_SIZE, minimum=20, bold=True),
              cols, tot, None, st.num(PCT_PAD, **bold), st.num(INT_PAD, **bold),
              st.text(**bold), st.text(align="center", **bold), total=True,
              read=read, count=len(units))
    row += 1
    if previous is not None:
        italic = dict(italic=True, font_size=BODY_SIZE)
        prev = UnitIndicators(code="", name=f"Năm {year - 1} (cùng tiêu chí, để so sánh)",
                              status="")
        for attr in ("cells", "members", "held", "window", "preferred", "duration",
                     "attendance", "pooled", "thematic", "ratings", "briefing", "visits"):
            setattr(prev, attr, getattr(previous, attr))
        _unit_row(w, row, row_height([(prev.name, name_w)], size=BODY_SIZE, minimum=18),
                  cols, prev, None, st.num(PCT_PAD, **italic),
                  st.num(INT_PAD, **italic), st.text(**italic),
                  st.text(align="center", **italic), total=True, read=0, count=0,
                  status_text_=f"Số liệu năm {year - 1} trong sổ", no_counts=True)
        row += 1

    ws.freeze_panes(h_row + 1, 3)
    ws.autofilter(h_row, 0, max(last_unit, h_row), last)
    page_setup(ws, repeat=(g_row, h_row))

    width = sum(col.width for col in cols)
    row = _notes(w, row + 1, last, width, units, labels, csv_name)
    row = signature(w, row + 1, last, left_cols=6, right_cols=12, labels=labels)
    ratings = {col.key: [col.get(u) for u in units] for col in cols
               if col.key in ("good", "fair", "average", "poor")}
    return SummaryLayout(first, last_unit, {col.key: c for c, col in enumerate(cols)}, ratings,
                         {col.key: col.header for col in cols})


def _total_status(read: int, count: int) -> str:
    return f"{read}/{count} đơn vị có số liệu"


def _unit_row(w: Writer, r: int, height: float, cols: list[Col], u: UnitIndicators,
              k: int | None, pct, num, text, centre, total: bool = False, read: int = 0,
              count: int = 0, status_text_: str | None = None, no_counts: bool = False
              ) -> None:
    cells: list[tuple[Any, Any]] = []
    for col in cols:
        if col.kind == "stt":
            cells.append((k, centre if k is None else num))
        elif col.kind == "code":
            cells.append((text_value(u.code), centre))
        elif col.kind == "name":
            cells.append((text_value(u.name), text))
        elif col.kind == "status":
            if status_text_ is not None:
                cells.append((status_text_, centre))
            elif total:
                cells.append((_total_status(read, count), centre))
            else:
                cells.append((text_value(status_text(u)), _status_fmt(w, u.status)))
        elif col.kind == "pct":
            value = col.get(u)
            cells.append((value.value if isinstance(value, Ratio) else None, pct))
        elif no_counts and col.key in ("completeness", "errors", "warnings", "explained",
                                       "accepted"):
            cells.append((None, num))
        else:
            cells.append((col.get(u), num))
    w.row(r, height, cells)


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
        "tham số đang áp dụng cho từng đơn vị (trang Nhật ký); "
        "\"tỷ lệ dự chung\" = tổng số có mặt / tổng số phải dự. Ô trống: chưa đến hạn (ví dụ "
        "quý chưa kết thúc), không có số liệu để tính, hoặc tiêu chí không áp dụng.",
        f"- Chuyên đề theo quý = số {cell} có đủ buổi sinh hoạt chuyên đề (hoặc thường kỳ kết "
        f"hợp chuyên đề) / số {cell} phải sinh hoạt chuyên đề trong quý đã đến hạn.",
        "- Triển khai đúng hạn = số tháng đã triển khai trước hạn / số tháng đã đến hạn. "
        "Lượt cấp trên dự = số dòng trong tab Dự sinh hoạt của năm. Dữ liệu đầy đủ = số dòng "
        "không thiếu ô bắt buộc, không có giá trị sai kiểu / tổng số dòng.",
        "- Vi phạm, cảnh báo: mọi trường hợp trừ những trường hợp Ban Tổ chức đã chấp nhận giải "
        "trình; trong đó đã giải trình, chờ xem xét: vẫn tính là vi phạm, cảnh báo cho đến khi "
        "được chấp nhận. Đã chấp nhận giải trình: tính riêng, không tính là vi phạm. Lưu ý "
        "(khuyến nghị) không tính ở đây: xem trang \"Lưu ý\". Các con số này giống nhau ở mọi "
        "trang, trong báo cáo và trong kết quả lệnh kiểm tra.",
        "- Dòng tổng cộng: cộng các số đếm; các tỷ lệ tính lại từ tổng tử số và tổng mẫu số "
        f"(không lấy trung bình). Danh sách vi phạm, cảnh báo: trang \"Vi phạm\"; danh sách "
        f"đầy đủ (cả lưu ý): tệp {csv_name}. Xếp thứ các đơn vị và đề xuất biểu dương, chấn "
        f"chỉnh: trang \"Xếp thứ\".",
    ):
        lines.append((text, st.note()))
    for text, fmt in lines:
        w.ws.set_row(row, wrapped_height(text, width, line=14))
        w.merge(row, 0, last, text, fmt)
        row += 1
    return row


# --- charts ------------------------------------------------------------------------------------

# Units that the two charts show on one page; above this they grow taller than a page.
CHART_PAGE_UNITS = 30
# Units up to which the bars of the first chart carry their value (beyond, labels overlap).
CHART_LABEL_UNITS = 12


# Criteria a chart may compare between units (keys of the `Tổng hợp` columns): the rules'
# criteria, not the advisory preferred day.
CHART_CRITERIA = ("held", "window", "duration", "attendance", "pooled", "briefing",
                  "completeness")
TREND = (("held", "Có sinh hoạt thường kỳ", "#2E75B6"),
         ("window", "Trong khung ngày", "#FFC000"),
         ("attendance", "Đạt tỷ lệ dự", "#7030A0"),
         ("clean", "Không có vi phạm", "#ED7D31"),
         ("good", "Xếp loại Tốt", "#00B050"))


def differing(units: Sequence[UnitIndicators], keys: Sequence[str] = CHART_CRITERIA,
              most: int = 3) -> list[str]:
    """The criteria whose rates differ most between units (largest max − min), at most
    ``most`` of them, in that order; those equal for every unit are left out."""
    spread = []
    for key in keys:
        values = [getattr(u, key).value for u in units
                  if isinstance(getattr(u, key), Ratio) and getattr(u, key).den]
        if len(values) >= 2 and max(values) - min(values) > 1e-9:
            spread.append((max(values) - min(values), key))
    spread.sort(key=lambda x: -x[0])
    return [k for _, k in spread[:most]]


def write_charts(wb, ws, w: Writer, layout: SummaryLayout, model, labels: Mapping[str, str]
                 ) -> None:
    """Page 1: the criteria that differ most between units, and the ratings, side by side
    (up to CHART_PAGE_UNITS units; taller charts beyond). Page 2: the month-by-month trend of
    the whole parent, with its table."""
    st = w.st
    n_units, year = len(model.units), model.year
    ws.set_column(0, 0, 2)
    ws.set_column(1, 14, 9)
    ws.set_row(0, 24)
    w.merge(0, 1, 14, f"BIỂU ĐỒ CHẤT LƯỢNG SINH HOẠT {labels.get('cell', 'Chi bộ').upper()} "
                      f"NĂM {year}", st.title())
    w.merge(1, 1, 14, "Số liệu lấy từ trang \"Tổng hợp\" (các đơn vị theo thứ tự trong "
                      "bảng); biểu đồ bên trái chỉ vẽ các tiêu chí có khác biệt giữa các đơn vị.",
            st.subtitle())
    page_setup(ws)
    if n_units == 0:
        return
    font = {"name": FONT, "size": 10}
    cat_font = {"name": FONT, "size": 10 if n_units <= 24 else 8}
    title_font = {"name": FONT, "size": 11, "bold": True}
    first, last, col = layout.first_row, layout.last_row, layout.col
    cats = [SHEET, first, col["name"], last, col["name"]]
    # 7 columns of 9 (68 px) each: two charts fill the printable width at 100 %.
    width = int(7 * col_px(9) - 10)
    height = 540 if n_units <= CHART_PAGE_UNITS else 540 * n_units // CHART_PAGE_UNITS

    keys = differing([u.ind for u in model.units if u.ind.has_data]) or ["held", "window"]
    colours = ("#2E75B6", "#ED7D31", "#70AD47")
    diff = wb.add_chart({"type": "bar"})
    for key, colour in zip(keys, colours):
        series = {"name": layout.headers.get(key, key), "categories": cats,
                  "values": [SHEET, first, col[key], last, col[key]],
                  "fill": {"color": colour}, "gap": 60}
        if n_units <= CHART_LABEL_UNITS:
            series["data_labels"] = {"value": True, "num_format": "0%", "font": font}
        diff.add_series(series)
    low = min((getattr(u.ind, k).value for u in model.units for k in keys
               if isinstance(getattr(u.ind, k), Ratio) and getattr(u.ind, k).den), default=0)
    axis_min = max(0.0, (int(low * 10) - 1) / 10) if low is not None else 0.0
    diff.set_title({"name": "Các tiêu chí có khác biệt giữa các đơn vị (tỷ lệ đạt)",
                    "name_font": title_font})
    diff.set_x_axis({"min": axis_min, "max": 1, "major_unit": 0.05 if axis_min >= 0.7 else 0.2,
                     "num_format": "0%", "num_font": font,
                     "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
    diff.set_y_axis({"reverse": True, "crossing": "max", "num_font": cat_font})
    diff.set_legend({"position": "bottom", "font": font})
    diff.set_size({"width": width, "height": height})
    ws.insert_chart(3, 1, diff)

    ratings = wb.add_chart({"type": "bar", "subtype": "percent_stacked"})
    for key, name, colour, text in (("good", "Tốt", "#00B050", "#FFFFFF"),
                                    ("fair", "Khá", "#5B9BD5", "#FFFFFF"),
                                    ("average", "Trung bình", "#FFC000", "#000000"),
                                    ("poor", "Kém", "#C00000", "#FFFFFF")):
        series = {"name": name, "categories": cats,
                  "values": [SHEET, first, col[key], last, col[key]],
                  "fill": {"color": colour}, "gap": 60}
        counts = layout.ratings.get(key)
        if counts is not None:
            # The number of meetings in each segment; none on empty segments.
            series["data_labels"] = {
                "value": True, "font": {**font, "color": text},
                "custom": [{"delete": True} if not n else None for n in counts]}
        ratings.add_series(series)
    ratings.set_title({"name": "Xếp loại buổi sinh hoạt thường kỳ (số buổi, tỷ trọng)",
                       "name_font": title_font})
    ratings.set_x_axis({"num_format": "0%", "num_font": font, "major_unit": 0.2,
                        "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
    ratings.set_y_axis({"reverse": True, "crossing": "max", "num_font": cat_font})
    ratings.set_legend({"position": "bottom", "font": font})
    ratings.set_size({"width": width, "height": height})
    ws.insert_chart(3, 8, ratings)

    # Page 2: the trend, month by month (pooled over every unit), its table under it.
    chart_rows = 3 + int(height / 20) + 2
    top = chart_rows
    ws.set_h_pagebreaks([top])
    ws.set_row(top, 22)
    w.merge(top, 1, 14, f"DIỄN BIẾN THEO THÁNG NĂM {year} (toàn "
                        f"{lower_first(model.config.parent_name)})", st.title())
    table = top + 1 + 20
    series_rows = {key: table + 1 + k for k, (key, _, _) in enumerate(TREND)}
    trend = wb.add_chart({"type": "line"})
    months = [SHEET_CHARTS, table, 2, table, 13]
    for key, name, colour in TREND:
        r = series_rows[key]
        trend.add_series({"name": name, "categories": months,
                          "values": [SHEET_CHARTS, r, 2, r, 13],
                          "line": {"color": colour, "width": 2.25},
                          "marker": {"type": "circle", "size": 5,
                                     "fill": {"color": colour}, "border": {"color": colour}}})
    trend.set_title({"name": "Tỷ lệ đạt theo tháng", "name_font": title_font})
    trend.set_y_axis({"num_format": "0%", "num_font": font, "max": 1,
                      "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
    trend.set_x_axis({"num_font": font})
    trend.set_legend({"position": "bottom", "font": font})
    trend.set_size({"width": int(14 * col_px(9) - 10), "height": 380})
    trend.show_blanks_as("gap")
    ws.insert_chart(top + 1, 1, trend)
    head = w.st.head()
    w.text(table, 1, "Tiêu chí", head)
    ws.set_column(1, 1, 9)
    for m in range(12):
        w.text(table, 2 + m, f"T{m + 1}", head)
    pct = w.st.num("0%", align="center")
    for key, name, _ in TREND:
        r = series_rows[key]
        ws.set_row(r, row_height([(name, 9)]))
        w.text(r, 1, name, w.st.text())
        by_month = model.total.monthly.get(key) or []
        for m in range(12):
            value = by_month[m].value if m < len(by_month) else None
            w.num(r, 2 + m, value, pct)
    note = table + len(TREND) + 1
    w.merge(note, 1, 14, "Mỗi tháng: tỷ lệ trên các chi bộ – tháng đã đến hạn (có sinh hoạt) "
                         "hoặc trên các buổi sinh hoạt đã tổ chức (các tiêu chí khác); ô trống: "
                         "tháng chưa đến hạn.", st.note())


SHEET_CHARTS = CHART_SHEET

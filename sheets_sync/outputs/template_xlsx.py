"""Export the unit spreadsheet template as a ready-to-use .xlsx workbook (xlsxwriter).

Every tab name, header, choice, width and input text comes from the template definition
(``templates/commune.toml``); this module only decides the look: header colours, dropdowns and
value checks, the ``Hướng dẫn`` tab, the ``Kiểm tra`` tab and the print setup.

Layout:
- ``Hướng dẫn``: title (with the unit name), the guide lines, a colour legend, then a table of
  every tab and its columns (type, required or not, input hint). A4 portrait.
- one tab per template tab, in template order: header row (required columns in a different
  fill), the two tool columns (grey, with a note, status colours), frozen header, filter,
  data validation for ``rows`` rows. A4 landscape, header row repeated on every page.
- ``Kiểm tra``: a short note; the tool fills it. Status colours are installed here too.
"""
from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import xlsxwriter

from ..core.atomic import atomic_path
from ..core.template import Column, Tab, Template, load_template
from ..core.text import fold

FONT = "Times New Roman"
SUBJECT = "Sinh hoạt chi bộ"
AUTHOR = "sheets-sync"
TOOL_NOTE = "Cột do phần mềm ghi — không sửa"
YES_NO = ("Có", "Không")
DATE_MIN, DATE_MAX = date(1990, 1, 1), date(2100, 12, 31)
TITLE_MAX, MESSAGE_MAX, LIST_MAX = 32, 255, 255  # Excel limits of data validation texts
LAST_ROW = 1_048_575  # 0-based index of Excel's last row
LINE_HEIGHT = 15.0

FILL_REQUIRED = "#F8CBAD"
FILL_OPTIONAL = "#DDEBF7"
FILL_TOOL_HEADER = "#BFBFBF"
FILL_TOOL_CELLS = "#EDEDED"
FILL_TAB_ROW = "#E2EFDA"
STATUS_FILLS = {"ok": "#C6EFCE", "accepted": "#C6EFCE", "error": "#FFC7CE",
                "warning": "#FFEB9C", "explained": "#FFEB9C"}
HEADER = {"bold": True, "text_wrap": True, "align": "center", "valign": "vcenter", "border": 1}
DETAILS_WIDTH = 50
GUIDE_WIDTHS = (30, 30, 22, 40)
CHECK_WIDTHS = (16,) + (9,) * 12

# Requirement conditions of template.py, as staff read them.
CONDITION_VI = {
    "regular": "Bắt buộc với buổi thường kỳ (kể cả thường kỳ kết hợp chuyên đề)",
    "thematic": "Bắt buộc với buổi chuyên đề hoặc thường kỳ kết hợp chuyên đề",
    "regular_without_times": ("Bắt buộc với buổi thường kỳ nếu chưa ghi đủ giờ bắt đầu và "
                              "giờ kết thúc"),
}


@dataclass(frozen=True)
class _Kind:
    vi: str                     # the type as named in the guide
    num_format: str | None      # cell format of the whole column
    message: str | None = None  # input message when the template gives none


KINDS = {
    "code": _Kind("mã", "@"),
    "text": _Kind("chữ", "@"),
    "int": _Kind("số nguyên", None),
    "number": _Kind("số", None),
    "date": _Kind("ngày (ngày/tháng/năm)", "dd/mm/yyyy",
                  "Nhập ngày dạng ngày/tháng/năm, ví dụ 03/11/2026."),
    "month": _Kind("tháng (MM/YYYY)", "@", "Dạng MM/YYYY, ví dụ 11/2026"),
    "time": _Kind("giờ (hh:mm)", "hh:mm"),
    "choice": _Kind("chọn", None),
    "yesno": _Kind("Có/Không", None),
}


def export_template(path: str | os.PathLike[str], template: Template | None = None,
                    unit_name: str | None = None, rows: int = 500) -> Path:
    """Write the unit workbook to ``path`` atomically and return the path.

    ``rows`` data rows (2..rows+1) of every data tab get dropdowns and value checks."""
    if not 1 <= rows <= LAST_ROW:
        raise ValueError(f"Số dòng nhập liệu phải từ 1 đến {LAST_ROW}, nhận {rows}.")
    template = template or load_template()
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    with atomic_path(target, tmp):
        wb = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False,
                                            "strings_to_urls": False})
        wb.formats[0].set_font_name(FONT)
        wb.set_properties({
            "title": " — ".join(filter(None, (SUBJECT, unit_name))),
            "subject": SUBJECT,
            "author": AUTHOR,
        })
        styles = _Styles(wb)
        _guide_tab(wb, styles, template, unit_name)
        for tab in template.tabs:
            _data_tab(wb, styles, template, tab, rows)
        _check_tab(wb, styles, template)
        wb.close()
    return target


class _Styles:
    """Formats created on demand (one per distinct set of properties), all in FONT."""

    def __init__(self, wb: xlsxwriter.Workbook):
        self._wb = wb
        self._cache: dict[tuple[tuple[str, Any], ...], Any] = {}

    def __call__(self, **props):
        key = tuple(sorted(props.items()))
        if key not in self._cache:
            self._cache[key] = self._wb.add_format({"font_name": FONT, **props})
        return self._cache[key]


# --- texts ----------------------------------------------------------------------------------------

def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def _num(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def _range_vi(col: Column) -> str:
    low = col.min if col.min is not None else 0
    if col.max is None:
        return f"từ {_num(low)} trở lên"
    return f"từ {_num(low)} đến {_num(col.max)}"


def _labels(col: Column) -> list[str]:
    return list(YES_NO) if col.kind == "yesno" else col.choice_labels


def _type_vi(col: Column) -> str:
    kind = KINDS[col.kind]
    if col.kind == "choice":
        return f"{kind.vi}: {', '.join(col.choice_labels)}"
    if col.kind in ("int", "number"):
        return f"{kind.vi} ({_range_vi(col)})"
    return kind.vi


def _required_vi(required: bool | str) -> str:
    if required is True:
        return "Bắt buộc"
    if required is False:
        return "Không bắt buộc"
    return CONDITION_VI.get(required, "Bắt buộc tùy trường hợp")


def _lines(text: str, width: float) -> int:
    """Estimated number of lines of ``text`` word-wrapped in a column ``width`` characters wide."""
    capacity, count = max(width - 1, 1), 0
    for paragraph in str(text).split("\n"):
        count, used = count + 1, 0
        for word in paragraph.split():
            if used and used + 1 + len(word) > capacity:
                count, used = count + 1, len(word)
            else:
                used += (1 if used else 0) + len(word)
    return count


# --- data validation ------------------------------------------------------------------------------

def column_validation(col: Column) -> dict[str, Any] | None:
    """The xlsxwriter data validation of a column, or None."""
    rule: dict[str, Any]
    message = col.input or KINDS[col.kind].message
    if not message and col.kind in ("int", "number"):
        message = f"Nhập {_type_vi(col)}."
    if col.kind in ("choice", "yesno"):
        labels = _labels(col)
        if len(",".join(labels)) > LIST_MAX or any("," in label for label in labels):
            raise ValueError(f"Cột {col.header}: danh sách chọn quá dài hoặc có dấu phẩy.")
        hint = (f"Chọn trong danh sách; gõ không dấu cũng được "
                f"(ví dụ \"{fold(labels[0])}\" = {labels[0]}).")
        rule = {"validate": "list", "source": labels, "error_type": "warning",
                "error_message": f"Nên chọn một trong: {', '.join(labels)}."}
        message = " ".join(filter(None, (message, hint)))
    elif col.kind == "date":
        rule = {"validate": "date", "criteria": "between", "minimum": DATE_MIN,
                "maximum": DATE_MAX, "error_type": "warning",
                "error_message": f"Ngày phải từ {DATE_MIN:%d/%m/%Y} đến {DATE_MAX:%d/%m/%Y}, "
                                 "dạng ngày/tháng/năm."}
    elif col.kind in ("int", "number"):
        low = col.min if col.min is not None else 0
        bounds = ({"criteria": "between", "minimum": low, "maximum": col.max}
                  if col.max is not None else {"criteria": ">=", "value": low})
        rule = {"validate": "integer" if col.kind == "int" else "decimal", **bounds,
                # "92,5" is accepted by the tool, so a decimal column only warns
                "error_type": "stop" if col.kind == "int" else "warning",
                "error_message": f"Nhập {_type_vi(col)}."}
    elif message:
        rule = {"validate": "any"}
    else:
        return None
    if rule["validate"] != "any":
        rule["error_title"] = "Giá trị chưa hợp lệ"
        rule["error_message"] = _clip(rule["error_message"], MESSAGE_MAX)
    if message:
        rule["input_title"] = _clip(col.header, TITLE_MAX)
        rule["input_message"] = _clip(message, MESSAGE_MAX)
    return rule


# --- tabs -----------------------------------------------------------------------------------------

def _print_setup(ws, landscape: bool, repeat_header: bool) -> None:
    ws.set_paper(9)  # A4
    ws.set_landscape() if landscape else ws.set_portrait()
    ws.fit_to_pages(1, 0)
    if repeat_header:
        ws.repeat_rows(0)


def _status_colours(ws, styles: _Styles, template: Template, first_row: int, first_col: int,
                    last_col: int) -> None:
    """Fill cells starting with a status mark (✔, ✖, ⚠ from the status labels)."""
    done: set[str] = set()
    for key, label in template.status_labels.items():
        mark = label.split()[0]
        if mark in done or key not in STATUS_FILLS:
            continue
        done.add(mark)
        ws.conditional_format(first_row, first_col, LAST_ROW, last_col, {
            "type": "text", "criteria": "begins with", "value": mark,
            "format": styles(bg_color=STATUS_FILLS[key])})


def _data_tab(wb, styles: _Styles, template: Template, tab: Tab, rows: int) -> None:
    ws = wb.add_worksheet(tab.name)
    height = 1
    for c, col in enumerate(tab.columns):
        fmt = KINDS[col.kind].num_format
        ws.set_column(c, c, col.width, styles(num_format=fmt) if fmt else None)
        fill = FILL_REQUIRED if col.required is not False else FILL_OPTIONAL
        ws.write_string(0, c, col.header, styles(**HEADER, bg_color=fill))
        height = max(height, _lines(col.header, col.width))
        rule = column_validation(col)
        if rule:
            ws.data_validation(1, c, rows, c, rule)

    status = len(tab.columns)
    status_width = max(len(label) for label in template.status_labels.values()) + 2
    ws.set_column(status, status, status_width, styles(bg_color=FILL_TOOL_CELLS))
    ws.set_column(status + 1, status + 1, DETAILS_WIDTH,
                  styles(bg_color=FILL_TOOL_CELLS, text_wrap=True, valign="top"))
    for c, header in enumerate(template.tool_headers, start=status):
        ws.write_string(0, c, header, styles(**HEADER, bg_color=FILL_TOOL_HEADER))
        ws.write_comment(0, c, TOOL_NOTE, {"author": AUTHOR})
    _status_colours(ws, styles, template, 1, status, status)

    ws.set_row(0, LINE_HEIGHT * height)
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, rows, status + 1)
    _print_setup(ws, landscape=True, repeat_header=True)


def _guide_rows(template: Template, unit_name: str | None) -> list[tuple[str, list[str]]]:
    """The ``Hướng dẫn`` content as (role, cells) rows; roles pick the formatting."""
    title = " — ".join(filter(None, (template.guide_title, unit_name)))
    out = [("title", [title])]
    out += [("line", [line]) for line in template.guide_lines]
    out += [
        ("line", [""]),
        ("line", ["MÀU TIÊU ĐỀ CỘT"]),
        ("required", ["Cột bắt buộc",
                      "Phải điền (luôn luôn, hoặc trong trường hợp ghi ở bảng dưới)."]),
        ("optional", ["Cột không bắt buộc", "Điền khi có số liệu."]),
        ("tool", [TOOL_NOTE, f"{', '.join(template.tool_headers)}: phần mềm ghi kết quả kiểm "
                             f"tra; ô được tô màu theo kết quả."]),
        ("line", [""]),
        ("line", ["DANH SÁCH TAB VÀ CỘT"]),
        ("table_header", ["Tab / Cột", "Kiểu dữ liệu", "Bắt buộc", "Ghi chú"]),
    ]
    for tab in template.tabs:
        out.append(("tab", [tab.name, "", _required_vi(tab.required), tab.description]))
        out += [("column", [col.header, _type_vi(col), _required_vi(col.required),
                            col.input or ""]) for col in tab.columns]
    return out


def guide_grid(template: Template, unit_name: str | None = None) -> list[list[str]]:
    """The text of the exported ``Hướng dẫn`` tab, row by row from A1 (for comparisons)."""
    return [cells for _, cells in _guide_rows(template, unit_name)]


def _guide_tab(wb, styles: _Styles, template: Template, unit_name: str | None) -> None:
    ws = wb.add_worksheet(template.guide_tab)
    for c, width in enumerate(GUIDE_WIDTHS):
        ws.set_column(c, c, width)
    total = sum(GUIDE_WIDTHS)
    last = len(GUIDE_WIDTHS) - 1
    wrap = {"text_wrap": True, "valign": "top"}
    cell = {**wrap, "border": 1}
    swatch = {"required": FILL_REQUIRED, "optional": FILL_OPTIONAL, "tool": FILL_TOOL_HEADER}
    table = {"table_header": [styles(**HEADER, bg_color=FILL_OPTIONAL)] * len(GUIDE_WIDTHS),
             "tab": [styles(**cell, bold=True, bg_color=FILL_TAB_ROW)] * len(GUIDE_WIDTHS),
             "column": [styles(**cell, indent=1)] + [styles(**cell)] * last}
    for r, (role, cells) in enumerate(_guide_rows(template, unit_name)):
        if role in ("title", "line"):
            scale = 1.4 if role == "title" else 1  # the title is in a larger font
            fmt = styles(bold=True, font_size=14, **wrap) if role == "title" else styles(**wrap)
            ws.merge_range(r, 0, r, last, cells[0], fmt)
            ws.set_row(r, LINE_HEIGHT * scale * _lines(cells[0], total / scale))
        elif role in swatch:
            ws.write_string(r, 0, cells[0], styles(**HEADER, bg_color=swatch[role]))
            ws.merge_range(r, 1, r, last, cells[1], styles(**wrap))
            ws.set_row(r, LINE_HEIGHT * _lines(cells[1], total - GUIDE_WIDTHS[0]))
        else:
            for c, (text, fmt) in enumerate(zip(cells, table[role])):
                ws.write_string(r, c, text, fmt)
            ws.set_row(r, LINE_HEIGHT * max(_lines(t, w) for t, w in zip(cells, GUIDE_WIDTHS)))
    ws.hide_gridlines(2)
    _print_setup(ws, landscape=False, repeat_header=False)


def _check_tab(wb, styles: _Styles, template: Template) -> None:
    ws = wb.add_worksheet(template.check_tab)
    for c, width in enumerate(CHECK_WIDTHS):
        ws.set_column(c, c, width)
    ws.write_string(0, 0, template.check_tab, styles(bold=True, font_size=13))
    ws.write_string(1, 0, "Phần mềm ghi tab này sau mỗi lần kiểm tra — không nhập hay sửa "
                          "số liệu ở đây.", styles(italic=True))
    _status_colours(ws, styles, template, 0, 0, len(CHECK_WIDTHS) - 1)
    _print_setup(ws, landscape=True, repeat_header=False)

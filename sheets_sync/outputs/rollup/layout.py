"""Formats, page setup and the Party document layout shared by every sheet.

Every sheet is written strictly row by row (rows in increasing order, merges within one row,
row heights set before the row's cells), so the same code works in xlsxwriter's
``constant_memory`` mode, used for very long findings lists.
"""
from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from ...core.text import place_name  # noqa: F401  (re-exported: layout.place_name)
from .streamed import StreamedWorksheet

FONT = "Times New Roman"
BASE_SIZE = 11
TABLE_SIZE = 10
MAX_CELL_CHARS = 32767

PCT = "0.0%"
INT = "#,##0"
DATE = "dd/mm/yyyy"
DATETIME = "dd/mm/yyyy hh:mm"

# Fill and font colours of the states (matrix, supervisors, annual comparison).
COLOURS = {
    "ok": ("#C6EFCE", "#006100"),
    "error": ("#FFC7CE", "#9C0006"),
    "warning": ("#FFEB9C", "#7F6000"),
    "explained": ("#F8CBAD", "#843C0C"),
    "accepted": ("#DDEBF7", "#1F4E78"),
    "missing": ("#C00000", "#FFFFFF"),
    "none": ("#EDEDED", "#7F7F7F"),
    "unknown": ("#FFF2CC", "#7F6000"),
}
HEADER_FILL = "#D9E1F2"
TOTAL_FILL = "#F2F2F2"


def clip(value: Any) -> str:
    """Text for a cell: NFC, at most Excel's 32,767 characters."""
    s = unicodedata.normalize("NFC", str(value))
    return s if len(s) <= MAX_CELL_CHARS else s[:MAX_CELL_CHARS - 1] + "…"


def text_value(value: Any) -> str | None:
    """A value for a text cell of ``Writer.row`` (which writes numbers as numbers): None, or
    the text ``Writer.text`` writes."""
    return value if value is None or type(value) is str else str(value)


class Styles:
    """Cached formats: ``st.get(bold=True, border=1)``; Times New Roman comes from the
    workbook's default format properties."""

    def __init__(self, wb):
        self.wb = wb
        self._cache: dict[tuple, Any] = {}

    def get(self, **props) -> Any:
        key = tuple(sorted(props.items()))
        fmt = self._cache.get(key)
        if fmt is None:
            fmt = self._cache[key] = self.wb.add_format(dict(props))
        return fmt

    # table cells
    def head(self, **extra):
        return self.get(bold=True, border=1, align="center", valign="vcenter", text_wrap=True,
                        bg_color=HEADER_FILL, font_size=TABLE_SIZE, **extra)

    def text(self, **extra):
        props = dict(border=1, valign="vcenter", text_wrap=True, font_size=TABLE_SIZE)
        props.update(extra)
        return self.get(**props)

    def num(self, num_format: str = INT, **extra):
        props = dict(border=1, valign="vcenter", num_format=num_format, font_size=TABLE_SIZE)
        props.update(extra)
        return self.get(**props)

    def state(self, state: str, **extra):
        bg, fg = COLOURS[state]
        props = dict(border=1, align="center", valign="vcenter", bg_color=bg, font_color=fg,
                     font_size=TABLE_SIZE, bold=state in ("missing", "error"))
        props.update(extra)
        return self.get(**props)

    def title(self):
        return self.get(bold=True, font_size=14, align="center", valign="vcenter")

    def subtitle(self):
        return self.get(italic=True, align="center", valign="vcenter", text_wrap=True)

    def note(self, **extra):
        props = dict(text_wrap=True, valign="top", font_size=TABLE_SIZE)
        props.update(extra)
        return self.get(**props)


class Writer:
    """Thin typed writing over one worksheet: strings with ``write_string``, numbers with
    ``write_number``, dates as Excel dates, None as a (formatted) blank."""

    def __init__(self, ws, st: Styles):
        self.ws, self.st = ws, st

    def text(self, r: int, c: int, value: Any, fmt=None) -> None:
        if value is None or value == "":
            self.ws.write_blank(r, c, None, fmt)
        else:
            self.ws.write_string(r, c, clip(value), fmt)

    def num(self, r: int, c: int, value: float | int | None, fmt=None) -> None:
        if value is None:
            self.ws.write_blank(r, c, None, fmt)
        else:
            self.ws.write_number(r, c, value, fmt)

    def date(self, r: int, c: int, value: date | datetime | None, fmt=None) -> None:
        if value is None:
            self.ws.write_blank(r, c, None, fmt)
        else:
            if not isinstance(value, datetime):
                value = datetime(value.year, value.month, value.day)
            self.ws.write_datetime(r, c, value, fmt)

    def row(self, r: int, height: float | None, cells: Sequence[tuple[Any, Any]],
            first_col: int = 0) -> None:
        """Row ``r``: its height (None: not set) and its cells from ``first_col`` on, each
        ``(value, format)``: a str as ``text``, None as a blank, a date or datetime as
        ``date``, a number as ``num``. In a
        streamed workbook (``StreamedWorksheet``) without a call per cell."""
        ws = self.ws
        if isinstance(ws, StreamedWorksheet):
            ws.write_row_cells(r, height, cells, clip, first_col)
            return
        if height is not None:
            ws.set_row(r, height)
        for c, (value, fmt) in enumerate(cells, start=first_col):
            if value is None or isinstance(value, str):
                self.text(r, c, value, fmt)
            elif isinstance(value, date):
                self.date(r, c, value, fmt)
            else:
                self.num(r, c, value, fmt)

    def merged_row(self, r: int, height: float | None, c1: int, c2: int, value: Any,
                   fmt) -> None:
        """Row ``r``: its height (None: not set) and ``merge(r, c1, c2, value, fmt)``; in a
        streamed workbook in one call."""
        ws = self.ws
        if isinstance(ws, StreamedWorksheet) and c2 > c1:
            ws.write_merged_row(r, height, c1, c2, None if value is None else str(value),
                                fmt, clip)
            return
        if height is not None:
            ws.set_row(r, height)
        self.merge(r, c1, c2, value, fmt)

    def merge(self, r: int, c1: int, c2: int, value: Any, fmt=None) -> None:
        """A merged range within one row (constant_memory-safe)."""
        text = "" if value is None else clip(value)
        if c2 > c1:
            self.ws.merge_range(r, c1, r, c2, "", fmt)
        if text:
            self.ws.write_string(r, c1, text, fmt)
        elif c2 == c1:
            self.ws.write_blank(r, c1, None, fmt)


# Advance widths of Times New Roman (and the metric-compatible Liberation Serif), in
# thousandths of an em, for estimating where LibreOffice and Excel wrap a cell's text:
# neither grows a row for wrapped text when opening a file, so every row that may wrap gets
# its height from these estimates. Letters with diacritics take their base letter's width.
_TIMES = dict(zip(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:;!?'\"()[]/-_%&+=<>*#@",
    (444, 500, 444, 500, 444, 333, 500, 500, 278, 278, 500, 278, 778, 500, 500, 500, 500, 333,
     389, 278, 500, 500, 722, 500, 500, 444,
     722, 667, 667, 722, 611, 556, 722, 722, 333, 389, 722, 611, 889, 722, 722, 556, 722, 667,
     556, 611, 722, 722, 944, 722, 722, 611,
     *([500] * 10),
     250, 250, 250, 278, 278, 333, 444, 180, 408, 333, 333, 333, 333, 278, 333, 500, 833, 778,
     564, 564, 564, 564, 500, 500, 921)))
_TIMES.update({"đ": 500, "Đ": 722, "–": 500, "—": 1000, "…": 1000, "‘": 333, "’": 333,
               "“": 444, "”": 444})
_HORN = "\u031b"  # ơ, ư: a little wider than o, u
_PX_PER_PT = 96 / 72
LINE_PT = 12.75  # one line of 10-point text, in points
_PIECES = re.compile(r"[^ -]*-|[^ -]+| +")  # words (split after hyphens) and spaces


class _Widths(dict):
    """Width (em) by character, computed the first time a character is met; looked up with
    ``map(_EM.__getitem__, text)`` so that the per-character work stays in C."""

    def __missing__(self, ch: str) -> float:
        units = _TIMES.get(ch)
        if units is None:
            parts = unicodedata.normalize("NFD", ch)
            units = _TIMES.get(parts[0])
            if units is None:  # ✔ ✖ ⚠ and other symbols, other scripts
                units = 1000 if ord(ch) >= 0x2190 else 600
            elif _HORN in parts:
                units += 60
        width = self[ch] = units / 1000
        return width


_EM = _Widths()


def _text_em(text: str) -> float:
    return sum(map(_EM.__getitem__, text))


def col_px(width_chars: float) -> float:
    """A column's width in pixels (Excel's width units of the 11-point default font)."""
    return width_chars * 7 + 5


def text_lines(text: Any, width_chars: float, size: float = TABLE_SIZE, bold: bool = False
               ) -> int:
    """Lines ``text`` takes when wrapped in a (merged) cell ``width_chars`` wide: a greedy
    word wrap (breaking at spaces and after hyphens, long words split) with estimated widths."""
    if text is None or text == "":
        return 1
    return _text_lines(str(text), float(width_chars), float(size), bool(bold))


@lru_cache(maxsize=1 << 16)
def _text_lines(text: str, width_chars: float, size: float, bold: bool) -> int:
    """``text_lines``, computed once per distinct text, width, size and weight (a national
    roll-up repeats the same rule names, units and messages over hundreds of thousands of
    rows)."""
    text = unicodedata.normalize("NFC", text)
    scale = size * _PX_PER_PT * (1.07 if bold else 1.0)
    avail = max(10.0, col_px(width_chars) - 5)  # less the cell's inner margins
    if "\n" not in text and _text_em(text) * scale <= avail:
        return 1  # the common case, without splitting into words
    lines = 0
    for para in text.split("\n"):
        n, used = 1, 0.0
        for piece in _PIECES.findall(para):
            w = _text_em(piece) * scale
            if piece.isspace():
                used += w
                continue
            if used + w <= avail or used == 0.0:
                if used == 0.0 and w > avail:  # a word longer than the line: split
                    extra = math.ceil(w / avail) - 1
                    n += extra
                    w -= extra * avail
                used += w
            else:
                n += 1
                extra = max(0, math.ceil(w / avail) - 1)
                n += extra
                used = w - extra * avail
        lines += n
    return lines


def row_height(cells: Any, size: float = TABLE_SIZE, minimum: float = 15.0,
               bold: bool = False) -> float:
    """Row height (points) for the cells ``[(text, width_chars), ...]`` of one row."""
    lines = max((text_lines(t, w, size, bold) for t, w in cells), default=1)
    return lines_height(lines, size, minimum)


def lines_height(lines: int, size: float = TABLE_SIZE, minimum: float = 15.0) -> float:
    """Row height (points) for ``lines`` lines of text (``row_height`` from the lines of its
    tallest cell, for writers that count a repeated cell's lines once)."""
    return max(minimum, lines * LINE_PT * size / TABLE_SIZE + 2.5)


def wrapped_height(text: str, width_chars: float, line: float = 15.0, minimum: float = 15.0,
                   size: float = TABLE_SIZE) -> float:
    """Row height for ``text`` wrapped in a (merged) cell ``width_chars`` wide."""
    return max(minimum, text_lines(text, width_chars, size) * line + 2)


# The printable area of an A4 landscape page with the margins below.
PRINT_WIDTH_PX = (29.7 - (0.98 + 0.59) * 2.54) / 2.54 * 96
PRINT_HEIGHT_PT = (21.0 - 2 * 0.79 * 2.54) / 2.54 * 72


def page_height(widths: Any) -> float:
    """Points of rows that fit on one printed page of a sheet with these column widths,
    printed one page wide (scaled down when the columns are wider than the page)."""
    scale = min(1.0, PRINT_WIDTH_PX / sum(col_px(x) for x in widths))
    return PRINT_HEIGHT_PT / scale


def page_setup(ws, repeat: tuple[int, int] | None = None, fit_height: int = 0) -> None:
    """A4 landscape, one page wide, the table header repeated, Party-document margins
    (left 2.5 cm, right 1.5 cm, top and bottom 2 cm); in the footer the page number (each
    sheet from 1) and, at the right, the sheet's name."""
    ws.set_paper(9)
    ws.set_landscape()
    ws.fit_to_pages(1, fit_height)
    ws.set_margins(left=0.98, right=0.59, top=0.79, bottom=0.79)
    ws.center_horizontally()
    if repeat is not None:
        ws.repeat_rows(*repeat)
    ws.set_start_page(1)  # each sheet is numbered from 1
    ws.set_footer(f'&C&"{FONT},Regular"&9Trang &P&R&"{FONT},Italic"&8&A')


# --- Party document layout ----------------------------------------------------------------------

def date_line(place: str, d: date) -> str:
    """"Lý Nhân, ngày 25 tháng 11 năm 2026"; days below 10 and months 1–2 get a leading zero."""
    day = f"{d.day:02d}"
    month = f"{d.month:02d}" if d.month < 3 else str(d.month)
    return f"{place}, ngày {day} tháng {month} năm {d.year}"


def upper_vi(s: str) -> str:
    return unicodedata.normalize("NFC", s).upper()


def lower_first(s: str) -> str:
    return s[:1].lower() + s[1:] if s else s


def document_header(w: Writer, last_col: int, left_cols: int, right_cols: int,
                    labels: Mapping[str, str], as_of: date) -> int:
    """Hướng dẫn 36-HD/VPTW: the issuing committee and, bold, the issuing body top left, "*"
    and the số ký hiệu under them; "ĐẢNG CỘNG SẢN VIỆT NAM" top right and the place-date line
    in italics; rows 0–3, every line from ``labels`` (``config.document_labels``). Returns the
    next free row."""
    st = w.st
    left_end, right_start = left_cols - 1, last_col - right_cols + 1
    centre = dict(align="center", valign="vcenter")
    w.ws.set_row(0, 18)
    w.merge(0, 0, left_end, upper_vi(labels.get("committee", "")), st.get(font_size=12, **centre))
    w.merge(0, right_start, last_col, "ĐẢNG CỘNG SẢN VIỆT NAM",
            st.get(bold=True, underline=1, font_size=13, **centre))
    w.ws.set_row(1, 18)
    w.merge(1, 0, left_end, upper_vi(labels.get("board", "")),
            st.get(bold=True, font_size=12, **centre))
    w.merge(2, 0, left_end, "*", st.get(font_size=12, **centre))
    w.merge(3, 0, left_end, f"Số        {labels.get('symbol', '')}", st.get(font_size=12, **centre))
    w.merge(3, right_start, last_col, date_line(labels.get("place", ""), as_of),
            st.get(italic=True, font_size=12, **centre))
    return 4


def signature(w: Writer, row: int, last_col: int, left_cols: int, right_cols: int,
              labels: Mapping[str, str]) -> int:
    """"Nơi nhận" at the left; the signer's lines (``signer_for``, ``signer_title``) at the
    right, space to sign, the name when configured."""
    st = w.st
    parent = labels.get("parent", "")
    unit = labels.get("unit", "")
    left_end, right_start = left_cols - 1, last_col - right_cols + 1
    body = " ".join(x.capitalize() if k < 2 else x.lower()
                    for k, x in enumerate(labels.get("board", "Ban Tổ chức").split()))
    recipients = [
        f"- Ban Thường vụ {parent} (để báo cáo),",
        f"- Thường trực {parent} (để báo cáo),",
        f"- Các {lower_first(unit)} (để thực hiện),",
        f"- Lưu {body}.",
    ]
    right = [x for x in (labels.get("signer_for", ""), labels.get("signer_title", "")) if x]
    right += ["", "", "", labels.get("signer_name", "") or "(Ký, ghi rõ họ tên)"]
    left_fmt = st.get(font_size=TABLE_SIZE, valign="top")
    for k in range(max(len(recipients) + 1, len(right))):
        r = row + k
        w.ws.set_row(r, 16)
        if k == 0:
            w.merge(r, 0, left_end, "Nơi nhận:",
                    st.get(bold=True, italic=True, underline=1, font_size=TABLE_SIZE))
        elif k - 1 < len(recipients):
            w.merge(r, 0, left_end, recipients[k - 1], left_fmt)
        if k < len(right) and right[k]:
            italic = right[k].startswith("(")
            w.merge(r, right_start, last_col, right[k],
                    st.get(bold=not italic, italic=italic, font_size=12, align="center"))
    return row + max(len(recipients) + 1, len(right))


def parse_iso(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None

"""The write plan as a value: which tool cells to set, where the tool columns are, and what a
writer reports back. Produced by ``sync.writeplan``; applied by the writers in ``sources``.

Values are plain strings (writers store them as data, never as formulas).
"""
from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from .a1 import a1, col_letter

# Excel stores at most 32,767 characters in a cell (openpyxl silently truncates longer text) and
# Google Sheets 50,000. A plan is backend-independent and must read back exactly as written (or
# every run would rewrite the cell), so the stricter limit applies to every backend.
MAX_CELL_CHARS = 32_767
ELLIPSIS = "…"

# Widths of the tool columns (characters). Row heights are computed for these widths, so
# writers keep the tool columns at them (tool-owned) and wrap both: the longest status label
# ("⚠ Đã giải trình – chờ xem xét") takes two lines, which the row height allows for. (A wider
# status column would add a printed page to narrow staff tabs printed at 100 %.)
# ``FlagPlan.skipped_tabs`` reason of a tab with no free column left before XFD (Excel's last):
# the writers refuse the whole workbook with it (the operator must clear the far-right cells).
NO_ROOM = ("có ô ở quá cột XFD (16.384 cột, giới hạn của Excel) nên không còn chỗ cho hai cột "
           "kết quả")

STATUS_WIDTH = 18
DETAILS_WIDTH = 50
LINE_HEIGHT = 15.0  # points per text line (11 pt Calibri / Carlito / Liberation Sans, Arial 10)
ROW_PADDING = 2.0  # points added to a multi-line row

# Characters XML 1.0 (hence .xlsx) cannot hold; removed so a value reads back as written.
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

# WriteResult.status
WRITTEN, UNCHANGED, COPY, SKIPPED, DRY_RUN = "written", "unchanged", "copy", "skipped", "dry-run"


# --- values ---------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=1 << 16)
def clean_text(text: str, limit: int = MAX_CELL_CHARS) -> str:
    """A value the tool writes: no XML-illegal characters, "\\n" line ends, at most ``limit``
    characters (cut with "…"). Remembered: a big unit writes the same texts many times."""
    text = _ILLEGAL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    if len(text) > limit:
        text = text[: limit - 1] + ELLIPSIS
    return text


def key_text(value: Any) -> str:
    """A raw cell value as a comparable display string (row keys, before/after writing).

    Both sides of a comparison come from the same backend, so this only has to be stable and
    unambiguous, not pretty: dates are ISO, whole floats lose their ".0", text is trimmed."""
    if value.__class__ is str:  # most keys (codes, months, names): first
        return _text_key(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):  # a str subclass
        return _text_key(str(value))
    return unicodedata.normalize("NFC", str(value)).strip()  # rich text: its plain text


@functools.lru_cache(maxsize=1 << 16)
def _text_key(text: str) -> str:
    """``key_text`` of a string, remembered (the key cells of a big unit repeat: cell codes,
    months)."""
    return unicodedata.normalize("NFC", text).strip()


def current_text(value: Any) -> str:
    """A current cell value for comparison with a wanted string (None and "" are equal).
    Non-text values never equal a wanted string, so they get overwritten."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return f"\x00{type(value).__name__}:{value!r}"


def normalize_grid(rows: Iterable[Iterable[Any]] | None) -> list[list[str]]:
    """A grid for comparison: text cells, trailing empty cells and rows removed."""
    out: list[list[str]] = []
    for row in rows or ():
        cells = [current_text(v) for v in row]
        while cells and cells[-1] == "":
            cells.pop()
        out.append(cells)
    while out and not out[-1]:
        out.pop()
    return out


# --- row heights ---------------------------------------------------------------------------------

@functools.lru_cache(maxsize=1 << 16)
def _text_width(text: str) -> int:
    """Characters shown (combining marks take no room); remembered per word: the same words
    come back in every flag of a big unit."""
    if text.isascii():
        return len(text)
    return sum(0 if unicodedata.combining(ch) else 1 for ch in text)


@functools.lru_cache(maxsize=1 << 14)
def wrapped_lines(text: str, width: float) -> int:
    """Lines ``text`` takes word-wrapped in a column ``width`` characters wide (an estimate that
    errs on the tall side: one character of margin, a word longer than a line is split).
    Remembered: a big unit repeats the same flag texts thousands of times."""
    if not text:
        return 1
    capacity = max(int(width) - 1, 1)
    count = 0
    for paragraph in text.split("\n"):
        lines, used = 1, 0
        for word in paragraph.split():
            w = _text_width(word)
            if used and used + 1 + w > capacity:
                lines, used = lines + 1, 0
            if w > capacity:  # split inside the word
                extra, used = divmod(used + w, capacity)
                lines += extra
                continue
            used += (1 if used else 0) + w
        count += lines
    return count


def row_height(cells: Iterable[tuple[str, float]]) -> float | None:
    """The height (points) a row needs to show every line of ``cells`` ((text, column width)
    pairs), or None when one line is enough (the sheet's default height)."""
    lines = max((wrapped_lines(t, w) for t, w in cells), default=1)
    return None if lines <= 1 else lines * LINE_HEIGHT + ROW_PADDING


def flag_row_height(status: str, details: str) -> float | None:
    """The height of a data row from its two tool cells (None = default height)."""
    return row_height(((status, STATUS_WIDTH), (details, DETAILS_WIDTH)))


# --- the plan -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CellChange:
    """One tool cell to set. ``keys`` = (0-based column, key_text) of the row's key cells as
    read; a writer sets the cell only if they still hold the same values."""

    sheet: str  # the actual sheet title
    row: int  # sheet row, 1-based
    col: int  # 0-based column index
    value: str  # "" = clear the cell
    keys: tuple[tuple[int, str], ...]
    old: str = ""  # the value read (for messages and dry runs)

    @property
    def a1(self) -> str:
        return a1(self.row, self.col)


@dataclass(frozen=True)
class ToolColumns:
    """Where the tool columns of one data tab are (existing or to be appended)."""

    sheet: str
    header_row: int  # 1-based
    status_col: int  # 0-based
    details_col: int  # 0-based


@dataclass
class FlagPlan:
    unit: str = ""
    changes: list[CellChange] = field(default_factory=list)
    new_columns: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    tool_columns: dict[str, ToolColumns] = field(default_factory=dict)
    check_sheet: str = "Kiểm tra"  # actual title (existing tab) or the template's name
    check_grid: list[list[str]] | None = None  # None = unchanged
    check_exists: bool = False
    guide_sheet: str = "Hướng dẫn"
    guide_grid: list[list[str]] | None = None
    guide_exists: bool = False
    skipped_tabs: dict[str, str] = field(default_factory=dict)  # sheet title -> reason (vi)
    # PLAN_INTERFACES.md. Sheet title -> 1-based row -> height in points (None = default
    # height). Data tabs: only rows whose height changes. The Kiểm tra tab: every row of a
    # rewritten grid; its rows with a height are the ones to wrap (top-aligned).
    row_heights: dict[str, dict[int, float | None]] = field(default_factory=dict)
    # (0-based grid row, 0-based grid col) of ``check_grid`` -> (sheet title, 1-based row):
    # an internal link from the Kiểm tra cell to that row.
    check_links: dict[tuple[int, int], tuple[str, int]] = field(default_factory=dict)
    # Rows at the top of ``check_grid`` repeated on every printed page (A4 landscape, 1 page
    # wide); 0 = none.
    check_header_rows: int = 0
    # Suggested widths (characters) of the Kiểm tra columns A, B, …; empty = writer's default.
    check_widths: list[float] = field(default_factory=list)

    @property
    def check_tab_changed(self) -> bool:
        return self.check_grid is not None

    @property
    def guide_changed(self) -> bool:
        return self.guide_grid is not None

    @property
    def is_empty(self) -> bool:
        return not (self.changes or self.new_columns or self.check_grid is not None
                    or self.guide_grid is not None or self.data_row_heights())

    def data_row_heights(self) -> dict[str, dict[int, float | None]]:
        """``row_heights`` without the Kiểm tra tab (heights planned for the data tabs)."""
        return {t: h for t, h in self.row_heights.items() if h and t != self.check_sheet}

    def changes_by_sheet(self) -> dict[str, list[CellChange]]:
        out: dict[str, list[CellChange]] = {}
        for c in self.changes:
            out.setdefault(c.sheet, []).append(c)
        return out

    def describe(self, limit: int | None = None) -> list[str]:
        """Vietnamese lines for --dry-run: per tab the cells to write (``tab!A1: old → new``, at
        most ``limit`` (default DESCRIBE_CELLS) cells in all, then a count of the rest), the columns
        and tabs to add."""
        lines: list[str] = []
        by_sheet = self.changes_by_sheet()
        budget = DESCRIBE_CELLS if limit is None else limit
        heights = self.data_row_heights()
        for sheet in list(dict.fromkeys([*by_sheet, *self.new_columns, *heights])):
            cols = self.new_columns.get(sheet)
            if cols:
                names = ", ".join(f"'{h}'" for _, h in cols)
                lines.append(f"{sheet}: thêm cột {names} "
                             f"(cột {', '.join(col_letter(c) for c, _ in cols)}).")
            if heights.get(sheet):
                lines.append(f"{sheet}: chỉnh chiều cao {len(heights[sheet])} dòng.")
            changes = by_sheet.get(sheet, [])
            if not changes:
                continue
            lines.append(f"{sheet}: {len(changes)} ô cần cập nhật.")
            shown = changes[:max(budget, 0)]
            budget -= len(shown)
            lines += [f"  {c.sheet}!{c.a1}: {_shown_value(c.old)} → {_shown_value(c.value)}"
                      for c in shown]
            if shown and len(changes) > len(shown):
                lines.append(f"  … và {len(changes) - len(shown)} ô khác của tab {sheet}.")
        for sheet, reason in self.skipped_tabs.items():
            lines.append(f"{sheet}: bỏ qua — {reason}")
        if self.check_grid is not None:
            verb = "cập nhật nội dung" if self.check_exists else "tạo tab mới"
            lines.append(f"{self.check_sheet}: {verb}.")
        if self.guide_grid is not None:
            verb = "cập nhật nội dung" if self.guide_exists else "tạo tab mới"
            lines.append(f"{self.guide_sheet}: {verb}.")
        if self.is_empty:
            lines.insert(0, "Không có gì cần ghi: các ô kiểm tra đã đúng.")
        return lines


DESCRIBE_CELLS = 20  # cells listed per unit by --dry-run; the rest are counted
_SHOWN_CHARS = 36


def _shown_value(text: str) -> str:
    """A cell value on one short line for --dry-run ("(trống)" for an empty cell)."""
    flat = " ".join(str(text).split())
    if not flat:
        return "(trống)"
    return flat if len(flat) <= _SHOWN_CHARS else flat[:_SHOWN_CHARS - 1] + "…"


# --- what a writer reports -----------------------------------------------------------------------

@dataclass
class WriteResult:
    status: str  # "written" | "unchanged" | "copy" | "skipped" | "dry-run"
    message: str  # Vietnamese, for the run summary
    cells_written: int = 0  # flag cells set (tool-tab cells not counted)
    path: Path | None = None  # the file written: the workbook itself or its flagged copy
    skipped_rows: list[tuple[str, int]] = field(default_factory=list)  # (sheet, row)
    backup: Path | None = None
    reasons: list[str] = field(default_factory=list)  # why a copy instead of in place
    mutations: int = 0  # Google: write requests sent (each moves the Drive version)
    # A local file written in place with the whole plan: its size, mtime_ns and SHA-256 as the
    # write left it (a later read of the file unchanged since finds the same)
    written_meta: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        """False when something that should be written was not (exit code 1)."""
        return self.status != SKIPPED and not self.skipped_rows

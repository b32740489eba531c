"""A1 notation: parsing range strings and printing them the way Google echoes them.

Indexes are 0-based and half-open (``end`` is exclusive), like Sheets ``GridRange``.
``None`` for an end means "open" (``A1:C`` has no row end, ``1:1`` no column end).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CORNER = re.compile(r"\$?([A-Za-z]{0,3})\$?(\d*)")
# A title that Google prints without quotes: a letter or "_", then word characters,
# and nothing that could be read as a cell reference (``D3``) or R1C1 (``R1C1``).
_PLAIN_TITLE = re.compile(r"[^\W\d]\w*")
_CELL_LIKE = re.compile(r"[A-Za-z]{1,3}\d+|[Rr]\d*[Cc]\d*")


class RangeSyntaxError(ValueError):
    """The text is not valid A1 notation."""


@dataclass(frozen=True)
class Bounds:
    """Cell bounds of an A1 range before clamping; ``None`` ends are open."""

    row0: int
    col0: int
    row1: int | None
    col1: int | None

    @property
    def is_single_cell(self) -> bool:
        return self.row1 == self.row0 + 1 and self.col1 == self.col0 + 1


@dataclass(frozen=True)
class Box:
    """A closed rectangle of cells (half-open indexes, all ends known)."""

    row0: int
    col0: int
    row1: int
    col1: int

    @property
    def rows(self) -> int:
        return self.row1 - self.row0

    @property
    def cols(self) -> int:
        return self.col1 - self.col0


def column_letters(index: int) -> str:
    """0 -> "A", 25 -> "Z", 26 -> "AA"."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def column_index(letters: str) -> int:
    """"A" -> 0, "AA" -> 26 (case-insensitive)."""
    value = 0
    for ch in letters.upper():
        value = value * 26 + ord(ch) - 64
    return value - 1


def split_sheet(text: str) -> tuple[str | None, str | None]:
    """Split ``'My sheet'!A1:B2`` into (title, cells); either part may be None.

    A bare word without ``!`` is returned as (None, text): the caller decides whether
    it names a sheet or is a cell range.
    """
    if text.startswith("'"):
        i, title = 1, []
        while True:
            j = text.find("'", i)
            if j < 0:
                raise RangeSyntaxError(text)
            title.append(text[i:j])
            if text.startswith("''", j):
                title.append("'")
                i = j + 2
                continue
            rest = text[j + 1:]
            break
        if rest == "":
            return "".join(title), None
        if not rest.startswith("!") or len(rest) == 1:
            raise RangeSyntaxError(text)
        return "".join(title), rest[1:]
    if "!" in text:
        title, _, cells = text.rpartition("!")
        if not title or not cells:
            raise RangeSyntaxError(text)
        return title, cells
    return None, text


def _corner(text: str) -> tuple[int | None, int | None]:
    m = _CORNER.fullmatch(text)
    if not m or not (m.group(1) or m.group(2)):
        raise RangeSyntaxError(text)
    col = column_index(m.group(1)) if m.group(1) else None
    row = int(m.group(2)) - 1 if m.group(2) else None
    if row is not None and row < 0:
        raise RangeSyntaxError(text)
    return row, col


def _span(a: int | None, b: int | None) -> tuple[int, int | None]:
    """One dimension of a two-corner range: both given, start only, end only, none."""
    if a is not None and b is not None:
        return min(a, b), max(a, b) + 1
    if a is not None:
        return a, None  # "A5:C" runs to the end of the grid
    if b is not None:
        return 0, b + 1  # "A:C5" reads as A1:C5
    return 0, None


def parse_cells(text: str) -> Bounds:
    """Parse ``A1``, ``A1:B2``, ``A:A``, ``1:2``, ``A1:C``, ``A1:1`` (corners may be reversed)."""
    parts = text.split(":")
    if len(parts) == 1:
        row, col = _corner(parts[0])
        if row is None or col is None:
            raise RangeSyntaxError(text)
        return Bounds(row, col, row + 1, col + 1)
    if len(parts) != 2:
        raise RangeSyntaxError(text)
    (ra, ca), (rb, cb) = _corner(parts[0]), _corner(parts[1])
    if (ra is None and cb is None) or (ca is None and rb is None):
        raise RangeSyntaxError(text)  # "A:1", "1:A"
    row0, row1 = _span(ra, rb)
    col0, col1 = _span(ca, cb)
    return Bounds(row0, col0, row1, col1)


def quote_title(title: str) -> str:
    """Quote a sheet title only when Google would (spaces, symbols, cell-like names)."""
    if _PLAIN_TITLE.fullmatch(title) and not _CELL_LIKE.fullmatch(title):
        return title
    return "'" + title.replace("'", "''") + "'"


def cell_name(row: int, col: int) -> str:
    return f"{column_letters(col)}{row + 1}"


def format_box(title: str, box: Box) -> str:
    """``Sheet1!A1:D4``; a single cell prints as ``Sheet1!A1``."""
    start = cell_name(box.row0, box.col0)
    if box.rows == 1 and box.cols == 1:
        return f"{quote_title(title)}!{start}"
    return f"{quote_title(title)}!{start}:{cell_name(box.row1 - 1, box.col1 - 1)}"

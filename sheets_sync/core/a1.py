"""A1 cell addresses: the one home of column letters (core cannot use ``gspread.utils``)."""
from __future__ import annotations


def col_letter(index: int) -> str:
    """0-based column index -> A1 letters."""
    s, n = "", index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        s = chr(65 + rem) + s
    return s


def a1(row: int, col: int) -> str:
    """1-based sheet row and 0-based column index -> "C7"."""
    return f"{col_letter(col)}{row}"


def col_number(letters: str) -> int:
    """A1 letters -> 1-based column number ("A" -> 1, "XFD" -> 16384)."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n

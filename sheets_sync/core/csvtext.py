"""CSV fields that a spreadsheet opens as data, never as formulas (CSV injection)."""
from __future__ import annotations

from typing import TypeVar

# A field starting with one of these is read as a formula by Excel, LibreOffice and Google.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

T = TypeVar("T")


def csv_safe(value: T) -> T | str:
    """A text field that a spreadsheet would read as a formula gets a leading apostrophe;
    anything else is returned unchanged (the same rule as the roll-up CSV)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value

"""Periods as people read them: the one formatting helper for every output.

Findings carry machine periods ("2026-04", "2026-Q3", "2026"); staff, operators and the Board
read "04/2026", "Quý III/2026" and "2026".
"""
from __future__ import annotations

import re

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}


def fmt_period(period: str | None) -> str:
    """ "2026-04" -> "04/2026", "2026-Q3" -> "Quý III/2026", "2026" -> "2026", None -> ""."""
    if not period:
        return ""
    m = _MONTH.match(period)
    if m:
        return f"{m.group(2)}/{m.group(1)}"
    m = _QUARTER.match(period)
    if m:
        return f"Quý {ROMAN[int(m.group(2))]}/{m.group(1)}"
    return period

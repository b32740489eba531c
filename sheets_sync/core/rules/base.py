"""What every rule family shares: the unit context, the cell register, calendars and deadlines.

A rule family is a module with ``check(ctx: UnitContext) -> list[Finding]`` (pure: it reads the
parsed tabs and the parameters, returns values). Deadline arithmetic lives here, once.
"""
from __future__ import annotations

import calendar
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from itertools import compress
from typing import Any, overload

from ..findings import Finding
from ..grid import REGULAR_TYPES, THEMATIC_TYPES, TabData, UnitData
from ..text import normalize


@dataclass(frozen=True, slots=True)
class Cell:
    code: str
    row: int  # index in the Chi bộ tab (first row of a duplicated code)
    founded: date | None
    dissolved: date | None
    members: int | None
    official: int | None
    kind: str | None

    def active(self, year: int, month: int) -> bool:
        """rules.md "Active cell": exists on the 1st of the month."""
        if self.founded is None and self.dissolved is None:  # most cells
            return True
        return _active(self.founded, self.dissolved, year, month)

    def months_active(self, year: int) -> tuple[bool, ...]:
        """``active(year, m)`` at index m (1–12; index 0 unused)."""
        return _months_active(self.founded, self.dissolved, year)


def _active(founded: date | None, dissolved: date | None, year: int, month: int) -> bool:
    if founded is None and dissolved is None:  # most cells: no date to compare
        return True
    first = date(year, month, 1)
    if founded is not None and founded > first:
        return False
    if dissolved is not None and dissolved < first:
        return False
    return True


@lru_cache(maxsize=1 << 12)
def _months_active(founded: date | None, dissolved: date | None, year: int
                   ) -> tuple[bool, ...]:
    """Cached: most cells share their dates (none), and every rule family asks per month."""
    return (False, *(_active(founded, dissolved, year, m) for m in range(1, 13)))


@dataclass
class UnitContext:
    unit: UnitData
    params: Mapping[str, Any]
    as_of: date
    year: int
    cells: dict[str, Cell] = field(default_factory=dict)  # code_key -> Cell
    cells_known: bool = False  # the Chi bộ tab was read (unknown-cell checks make sense)

    def tab(self, tab_id: str) -> TabData | None:
        return self.unit.tab(tab_id)

    def period_finding(self, tab_name: str, rule: str, severity: str, message: str,
                       period: str | None, cell: str | None = None) -> Finding:
        """A finding that belongs to no row (missing meeting, missing briefing, …)."""
        return Finding(unit=self.unit.code, tab=tab_name, row=None, cell=cell, period=period,
                       rule=rule, severity=severity, message=message)

    def months(self) -> list[int]:
        """Months of the checked year not after the as-of month."""
        if self.year > self.as_of.year:
            return []
        last = 12 if self.year < self.as_of.year else self.as_of.month
        return list(range(1, last + 1))


@overload
def code_key(code: str) -> str: ...
@overload
def code_key(code: None) -> None: ...
def code_key(code: str | None) -> str | None:
    return _code_key(code) if code is not None else None


@lru_cache(maxsize=1 << 16)
def _code_key(code: str) -> str:
    """The form codes are compared in; cached: every rule family keys rows by cell code."""
    return normalize(code)


def build_cells(unit: UnitData) -> tuple[dict[str, Cell], bool]:
    tab = unit.tab("cells")
    if tab is None or not tab.has("cell_code"):
        return {}, False
    cells: dict[str, Cell] = {}
    codes, founded, dissolved = tab.col("cell_code"), tab.col("founded"), tab.col("dissolved")
    members, official, kinds = tab.col("members"), tab.col("official_members"), tab.col("kind")
    for i, code in enumerate(codes):
        if code is None:
            continue
        key = code_key(code)
        if key not in cells:
            cells[key] = Cell(code, i, founded[i], dissolved[i], members[i], official[i], kinds[i])
    return cells, True


def make_context(unit: UnitData, params: Mapping[str, Any], as_of: date, year: int) -> UnitContext:
    cells, known = build_cells(unit)
    return UnitContext(unit, params, as_of, year, cells, known)


# --- calendar ----------------------------------------------------------------------------------

@lru_cache(maxsize=1 << 10)
def month_key(year: int, month: int) -> str:
    """ "2026-03"; cached: the rules and the roll-up ask for it per cell and month."""
    return f"{year:04d}-{month:02d}"


def quarter_key(year: int, quarter: int) -> str:
    return f"{year:04d}-Q{quarter}"


def month_end(year: int, month: int) -> date:
    return date(year, month, days_in_month(year, month))


@lru_cache(maxsize=1 << 10)
def days_in_month(year: int, month: int) -> int:
    """Cached: every unit's deadlines ask for the same few months."""
    return calendar.monthrange(year, month)[1]


def prev_month(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


def is_due(deadline: date, as_of: date) -> bool:
    """rules.md "Due": strictly after the deadline."""
    return as_of > deadline


def window_end(year: int, month: int, params: Mapping[str, Any]) -> date:
    return _window_end(year, month, params["window_end_day"])


def _window_end(year: int, month: int, end_day: int) -> date:
    return date(year, month, min(end_day, days_in_month(year, month)))


def meeting_deadline(year: int, month: int, params: Mapping[str, Any]) -> date:
    """Last day a missing regular meeting of the month is still pending."""
    return _meeting_deadline(year, month, params["window_end_day"], params["report_grace_days"])


@lru_cache(maxsize=1 << 10)
def _meeting_deadline(year: int, month: int, end_day: int, grace_days: int) -> date:
    """Cached: the same for every unit with the same parameters, asked per unit and month."""
    return _window_end(year, month, end_day) + timedelta(days=grace_days)


def quarter_deadline(year: int, quarter: int, params: Mapping[str, Any]) -> date:
    return month_end(year, quarter * 3) + timedelta(days=params["report_grace_days"])


def brief_last_day(year: int, month: int, params: Mapping[str, Any]) -> date:
    """Latest on-time briefing date for month M: in M−1, before day 30 (≤ 29th), or the last
    day of a shorter month; day 30 itself when ``brief_deadline_inclusive``."""
    py, pm = prev_month(year, month)
    day = params["brief_deadline_day"] - (0 if params["brief_deadline_inclusive"] else 1)
    return date(py, pm, max(1, min(day, days_in_month(py, pm))))


def brief_deadline(year: int, month: int, params: Mapping[str, Any]) -> date:
    return brief_last_day(year, month, params) + timedelta(days=params["report_grace_days"])


def supervision_deadline(year: int, month: int, params: Mapping[str, Any]) -> date:
    return month_end(year, month) + timedelta(days=params["report_grace_days"])


def due_months(ctx: UnitContext) -> list[int]:
    """Months of the checked year whose regular meeting is due by the as-of date."""
    return [m for m in ctx.months() if is_due(meeting_deadline(ctx.year, m, ctx.params), ctx.as_of)]


def due_cell_months(ctx: UnitContext) -> Iterator[tuple[int, str, str, Cell]]:
    """(month, period key, cell key, cell) for every cell active in every due month."""
    for m in due_months(ctx):
        period = month_key(ctx.year, m)
        for key, cell in ctx.cells.items():
            if cell.active(ctx.year, m):
                yield m, period, key, cell


# --- meetings ----------------------------------------------------------------------------------

def regular_rows(tab: TabData) -> list[bool]:
    return list(map(REGULAR_TYPES.__contains__, tab.meeting_types()))


def thematic_rows(tab: TabData) -> list[bool]:
    return list(map(THEMATIC_TYPES.__contains__, tab.meeting_types()))


def row_code_keys(tab: TabData) -> list[str | None]:
    """``code_key`` of each row's cell code (None without one), computed once per tab and
    distinct code (several rule families key rows by cell); read-only."""
    memo: list[str | None] | None = tab.memo.get("row_code_keys")
    if memo is None:
        codes = tab.col("cell_code")
        keys = {c: _code_key(c) for c in set(codes) if c is not None}
        memo = tab.memo["row_code_keys"] = list(map(keys.get, codes))
    return memo


def first_regular_meetings(tab: TabData | None) -> dict[tuple[str, str], int]:
    """(cell code key, "YYYY-MM") -> index of the first regular meeting row (the one the
    rules use; later rows of the same cell and month are MEET-DUPLICATE)."""
    if tab is None:
        return {}
    return _regular_index(tab)[0]


def regular_duplicates(tab: TabData) -> list[int]:
    """Indexes of the regular meeting rows after the first of their cell and month, in order."""
    return _regular_index(tab)[1]


def _regular_index(tab: TabData) -> tuple[dict[tuple[str, str], int], list[int]]:
    """``first_regular_meetings`` and ``regular_duplicates`` of a tab, computed once per tab
    (several rule families use them; read-only)."""
    memo: tuple[dict[tuple[str, str], int], list[int]] | None = tab.memo.get("regular_index")
    if memo is not None:
        return memo
    first: dict[tuple[str, str], int] = {}
    later: list[int] = []
    keys, months = row_code_keys(tab), tab.col("month")
    for i in compress(range(len(keys)), regular_rows(tab)):
        key, month = keys[i], months[i]
        if key is not None and month is not None and first.setdefault((key, month), i) != i:
            later.append(i)
    memo = tab.memo["regular_index"] = (first, later)
    return memo


@lru_cache(maxsize=1 << 14)
def fmt_date(d: date) -> str:
    return f"{d:%d/%m/%Y}"


def fmt_month(period: str) -> str:
    """ "2026-11" -> "11/2026" """
    return f"{period[5:7]}/{period[:4]}"

"""SUP-* rules: the upper level's attendance book (`Dự sinh hoạt`, CT §8).

Unit by unit (``check``):
- SUP-RECORD: a visit not written in the book, or not confirmed by the cell committee and/or the
  unit committee — on an explicit "Không" only (an empty cell is DATA-REQUIRED).
- SUP-NO-MEETING: a visit to a known cell on a date when that cell has no meeting of any type in
  `Sinh hoạt`. A visit to a cell code missing from `Chi bộ` is DATA-UNKNOWN-CELL instead (when
  the register could not be read, every visit is checked). Not evaluated without the meetings
  tab, and not for a visit when the cell has a meeting row of the visit's month whose date is
  empty or unreadable (that meeting may be the one visited: it cannot be known).
Both look at the visits dated in the checked year, and at visits whose date is empty or
unreadable (their year cannot be known).

Across the units of the parent (``check_parent``):
- SUP-MONTHLY: a supervisor of the roster with no visit in any of their units in a month M of
  the checked year, once M is due (end of M + ``report_grace_days``). Names are matched after
  normalisation, then without diacritics, against the name and the aliases (a visitor name that
  is exactly a roster name is not matched without diacritics to another roster name: "Bình"
  never counts for "Bính"). Any visit row of the supervisor dated in M counts (also when
  SUP-RECORD / SUP-NO-MEETING flag it, or its cell code is empty), except a visit to a cell code
  unknown in that unit. When no visit is found and one of the supervisor's units was not read or
  has no usable `Dự sinh hoạt` tab (missing, or without its name or date column), the month
  cannot be known: no finding. A supervisor without units is not checked.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from ..config import Supervisor
from ..findings import ERROR, WARNING, Finding
from ..grid import TabData
from ..text import fold, normalize
from .base import (
    UnitContext,
    code_key,
    fmt_date,
    fmt_month,
    is_due,
    month_key,
    row_code_keys,
    supervision_deadline,
)

TAB = "Dự sinh hoạt"


# --- unit by unit --------------------------------------------------------------------------------

def check(ctx: UnitContext) -> list[Finding]:
    tab = ctx.tab("visits")
    if tab is None or not tab.rows:
        return []
    rows = _checked_rows(ctx, tab)
    return [*_record(tab, rows), *_no_meeting(ctx, tab, rows)]


def _checked_rows(ctx: UnitContext, tab: TabData) -> list[int]:
    return [i for i, d in enumerate(tab.col("visit_date")) if d is None or d.year == ctx.year]


def _record(tab: TabData, rows: list[int]) -> list[Finding]:
    """SUP-RECORD: explicit "Không" in the book / confirmation columns; says which."""
    in_book, cell_ok, unit_ok = (tab.col(c) for c in ("in_book", "cell_confirmed",
                                                      "unit_confirmed"))
    out = []
    for i in rows:
        parts = []
        if in_book[i] is False:
            parts.append("chưa ghi Sổ dự sinh hoạt")
        missing = [who for who, ok in (("chi ủy", cell_ok[i]), ("đảng ủy", unit_ok[i]))
                   if ok is False]
        if missing:
            parts.append(f"chưa có xác nhận của {' và '.join(missing)}")
        if parts:
            text = "; ".join(parts)
            out.append(tab.finding(i, "SUP-RECORD", WARNING, f"{text[0].upper()}{text[1:]}."))
    return out


def _no_meeting(ctx: UnitContext, tab: TabData, rows: list[int]) -> list[Finding]:
    """SUP-NO-MEETING: no meeting of the visited (known) cell on the visit's date."""
    meetings = ctx.tab("meetings")
    if meetings is None or not (meetings.has("cell_code") and meetings.has("meeting_date")):
        return []
    if not (tab.has("cell_code") and tab.has("visit_date")):
        return []
    m_keys, m_dates = row_code_keys(meetings), meetings.col("meeting_date")
    # (cell, date) of every meeting; pairs holding None are never looked up
    held: set[tuple[str | None, date | None]] = set(zip(m_keys, m_dates))
    undated: set[tuple[str, str | None]] = {  # (cell, Kỳ tháng) of rows without a date
        (k, m) for k, d, m in zip(m_keys, m_dates, meetings.col("month"))
        if d is None and k is not None}
    codes, keys, dates = tab.col("cell_code"), row_code_keys(tab), tab.col("visit_date")
    out = []
    for i in rows:
        code, key, d = codes[i], keys[i], dates[i]
        if key is None or d is None:
            continue
        if ctx.cells_known and key not in ctx.cells:
            continue  # DATA-UNKNOWN-CELL
        if (key, d) in held:
            continue
        if (key, month_key(d.year, d.month)) in undated or (key, None) in undated:
            continue  # a meeting of that month has no readable date: cannot be known
        out.append(tab.finding(
            i, "SUP-NO-MEETING", WARNING,
            f"Chi bộ {code} không có buổi sinh hoạt nào ghi ngày {fmt_date(d)} (tab Sinh hoạt)."))
    return out


# --- across units: SUP-MONTHLY -------------------------------------------------------------------

def _name_keys(name: str) -> tuple[str, str]:
    return normalize(name), fold(name)


def _unit_visits(ctx: UnitContext, year: int, roster: frozenset[str]
                 ) -> tuple[dict[str, set[int]], dict[str, set[int]]] | None:
    """Months of ``year`` with a counting visit, by normalised and by folded visitor name;
    None when the unit has no usable attendance book (tab or name/date column missing).
    A name that matches a roster name exactly (``roster``: normalised names) is not also
    indexed without diacritics, so "Bình" is never credited to a "Bính" of the roster."""
    tab = ctx.tab("visits")
    if tab is None or not (tab.has("supervisor") and tab.has("visit_date")):
        return None
    by_norm: dict[str, set[int]] = defaultdict(set)
    by_fold: dict[str, set[int]] = defaultdict(set)
    names: dict[str, tuple[str, str]] = {}
    keys: dict[str, str] = {}
    check_cells = ctx.cells_known and tab.has("cell_code")
    for name, code, d in zip(tab.col("supervisor"), tab.col("cell_code"), tab.col("visit_date")):
        if name is None or d is None or d.year != year:
            continue
        if check_cells and code is not None:
            key = keys.get(code)
            if key is None:
                key = keys[code] = code_key(code)
            if key not in ctx.cells:
                continue  # a visit to an unknown cell does not count
        nk = names.get(name)
        if nk is None:
            nk = names[name] = _name_keys(name)
        by_norm[nk[0]].add(d.month)
        if nk[0] not in roster:
            by_fold[nk[1]].add(d.month)
    return by_norm, by_fold


def unit_groups(supervisors: Sequence[Supervisor], codes: Sequence[str]
                ) -> tuple[dict[str, str], dict[str, list[int]]]:
    """Units that SUP-MONTHLY ties together: two units are in one group when a supervisor
    follows both (transitively). Returns unit code -> group (a member code), and group -> the
    indexes in ``supervisors`` of those who follow one of its units (a supervisor following
    none of ``codes`` is in no group: with none of their units read, SUP-MONTHLY says nothing).
    """
    by_key = {normalize(c): c for c in codes}
    parent = {c: c for c in codes}

    def root(c: str) -> str:
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    followed = [[by_key[k] for k in (normalize(u) for u in sup.units) if k in by_key]
                for sup in supervisors]
    for units in followed:
        for other in units[1:]:
            parent[root(other)] = root(units[0])
    group_of = {c: root(c) for c in codes}
    by_group: dict[str, list[int]] = {}
    for i, units in enumerate(followed):
        if units:
            by_group.setdefault(group_of[units[0]], []).append(i)
    return group_of, by_group


def roster_names(supervisors: Iterable[Supervisor]) -> frozenset[str]:
    """Every name and alias of the roster, normalised."""
    return frozenset(normalize(n) for sup in supervisors for n in sup.names())


def check_parent(contexts: Mapping[str, UnitContext], unreadable: Iterable[str],
                 supervisors: Sequence[Supervisor], params: Mapping[str, Any], as_of: date,
                 year: int, roster: frozenset[str] | None = None) -> list[Finding]:
    """SUP-MONTHLY for every supervisor in ``supervisors`` (contexts keyed by unit code; a unit
    that is unreadable or simply absent from ``contexts`` counts as not read). ``roster``: the
    names of the whole roster when ``supervisors`` is only part of it."""
    months = [m for m in range(1, 13)
              if is_due(supervision_deadline(year, m, params), as_of)]
    if not months or not supervisors:
        return []
    by_key = {normalize(code): (code, ctx) for code, ctx in contexts.items()}
    unread = {normalize(code): code for code in unreadable}
    # normalised unit code -> _unit_visits
    visits: dict[str, tuple[dict[str, set[int]], dict[str, set[int]]] | None] = {}
    if roster is None:
        roster = roster_names(supervisors)
    out = []
    for sup in supervisors:
        if not sup.units:
            continue
        wanted = [_name_keys(n) for n in sup.names()]
        found: set[int] = set()
        blind = False  # one of the units could not be read / has no usable book
        for unit in sup.units:
            uk = normalize(unit)
            if uk in unread or uk not in by_key:
                blind = True
                continue
            if uk not in visits:
                visits[uk] = _unit_visits(by_key[uk][1], year, roster)
            got = visits[uk]
            if got is None:
                blind = True
                continue
            by_norm, by_fold = got
            for norm, folded in wanted:
                found |= by_norm.get(norm, set())
                found |= by_fold.get(folded, set())
        if blind:
            continue  # months without a found visit cannot be known; found ones comply
        first = normalize(sup.units[0])
        unit_code = by_key[first][0] if first in by_key else unread.get(first, sup.units[0])
        units_text = ", ".join(sup.units)
        for m in months:
            if m in found:
                continue
            period = month_key(year, m)
            out.append(Finding(
                unit=unit_code, tab=TAB, row=None, cell=None, period=period,
                rule="SUP-MONTHLY", severity=ERROR,
                message=(f"Đ/c {sup.name} chưa dự sinh hoạt chi bộ nào trong tháng "
                         f"{fmt_month(period)} (phụ trách {units_text}; hạn nhập "
                         f"{fmt_date(supervision_deadline(year, m, params))})."),
            ))
    return out

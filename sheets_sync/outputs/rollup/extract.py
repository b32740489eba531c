"""Values for the detail sheets (matrix, supervisors, annual ratings, halls), from the parsed
units and the findings. Pure functions: no workbook here."""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ...core.config import Supervisor
from ...core.findings import ERROR, WARNING, Finding
from ...core.grid import REGULAR_TYPES
from ...core.rules.annual import level_of_counts
from ...core.rules.base import (
    UnitContext,
    code_key,
    due_months,
    is_due,
    row_code_keys,
    supervision_deadline,
)
from ...core.rules.halls import hall_needs
from ...core.text import fold, normalize
from .indicators import TabIndex, UnitIndicators, month_slots

# Cell-month states of the matrix.
OK, ERR, WARN, EXPLAINED, ACCEPTED, MISSING, NONE = (
    "ok", "error", "warning", "explained", "accepted", "missing", "none")
RATING_SHORT = {"good": "T", "fair": "K", "average": "TB", "poor": "Kém"}
RANK = {"good": 0, "fair": 1, "average": 2, "poor": 3}


def findings_state(findings: Iterable[Finding]) -> str:
    """The state of a set of findings (errors and warnings only; info is advisory):
    an open error without explanation > an explained one > an open warning > all accepted."""
    flagged = open_ = explained = False
    for f in findings:
        severity = f.severity
        if severity != ERROR and severity != WARNING:
            continue
        flagged = True
        if f.accepted:
            continue
        open_ = True
        if f.explained:
            explained = True
        elif severity == ERROR:
            return ERR
    if not flagged:
        return OK
    if not open_:
        return ACCEPTED
    return EXPLAINED if explained else WARN


# --- matrix ------------------------------------------------------------------------------------

@dataclass
class MatrixRow:
    cell_code: str
    cell_name: str
    months: list[tuple[str, str | None]]  # (state, rating letter) for T1..T12


def matrix_rows(ctx: UnitContext, findings: list[Finding], meetings_tab: str,
                idx: TabIndex | None, names: Mapping[str, str]) -> list[MatrixRow]:
    """One row per cell of the register; a month shows the state of the cell's regular meeting
    rows of that month (all of them: a duplicate is a warning), "missing" when MEET-MISSING was
    reported, "none" otherwise (not due, not active, or not evaluable). ``idx``: the unit's
    ``index`` (its first regular meeting of each cell-month); ``names``: ``cell_names``."""
    tab = ctx.tab("meetings")
    first_of = idx.months if idx is not None else {}
    slot = month_slots(ctx.year)
    # The findings on regular meeting rows and MEET-MISSING, by cell key and month.
    found: dict[str, dict[int, list[Finding]]] = {}
    missing: dict[str, dict[int, list[Finding]]] = {}
    index_of: dict[int, int] | None = None  # sheet row -> row index
    for f in findings:
        if f.tab != meetings_tab:
            continue
        if f.row is not None:
            if tab is None or idx is None:
                continue
            if index_of is None:
                index_of = dict(zip(tab.rows, range(len(tab.rows))))
                keys, months, types = row_code_keys(tab), tab.col("month"), idx.types
            i = index_of.get(f.row)
            if i is None or types[i] not in REGULAR_TYPES:
                continue
            key, k = keys[i], slot.get(months[i])
            if key is not None and k is not None:  # a regular meeting of the year
                of_cell = found.get(key)
                if of_cell is None:
                    found[key] = {k: [f]}
                else:
                    of_month = of_cell.get(k)
                    if of_month is None:
                        of_cell[k] = [f]
                    else:
                        of_month.append(f)
        elif f.rule == "MEET-MISSING" and f.cell is not None and f.period:
            k = slot.get(f.period)
            if k is not None:
                missing.setdefault(code_key(f.cell), {}).setdefault(k, []).append(f)
    ratings = tab.col("rating") if tab is not None else []
    held = _HELD_MONTHS
    out = []
    for key, cell in ctx.cells.items():
        first = first_of.get(key)
        if first is None:
            states = [_NO_MONTH] * 12
        else:  # each month none, or held without a finding; then the others
            states = [_NO_MONTH if i is None else held.get(ratings[i]) or _held_month(ratings[i])
                      for i in first]
            for k, flagged in found.get(key, {}).items():
                i = first[k]
                if i is not None:  # a regular meeting of the month: its first row is ``i``
                    states[k] = (findings_state(flagged), RATING_SHORT.get(ratings[i]))
        for k, reported in missing.get(key, {}).items():
            state = findings_state(reported)
            states[k] = (MISSING if state != ACCEPTED else ACCEPTED, None)
        out.append(MatrixRow(cell.code, names.get(key, ""), states))
    return out


_NO_MONTH: tuple[str, str | None] = (NONE, None)
# A held month without a finding, by its rating (shared: a national matrix has a million).
_HELD_MONTHS: dict[Any, tuple[str, str | None]] = {
    None: (OK, None), **{rating: (OK, letter) for rating, letter in RATING_SHORT.items()}}


def _held_month(rating: Any) -> tuple[str, str | None]:
    got = _HELD_MONTHS.get(rating)
    return got if got is not None else (OK, RATING_SHORT.get(rating))


def cell_names(ctx: UnitContext) -> dict[str, str]:
    """Cell code key -> the cell's name in the register."""
    tab = ctx.tab("cells")
    if tab is None:
        return {}
    names = tab.col("cell_name")
    return {key: names[cell.row] or "" for key, cell in ctx.cells.items()}


# --- supervisors -------------------------------------------------------------------------------

@dataclass
class SupervisorRow:
    supervisor: Supervisor
    counts: list[int]  # visits per month T1..T12
    blind: bool  # one of the units could not be read / has no usable attendance book
    due: list[bool]  # month due for SUP-MONTHLY


def supervisor_rows(supervisors: Sequence[Supervisor], contexts: Mapping[str, UnitContext],
                    params: Mapping[str, Any], as_of: date, year: int) -> list[SupervisorRow]:
    """Visits per supervisor and month, counted as SUP-MONTHLY credits them: in the
    supervisor's own units, dated in the year, names matched after normalisation (then without
    diacritics, except for names that are exactly another roster name), visits to a cell code
    unknown in that unit not counted. ``contexts``: normalised unit code -> context."""
    due = [is_due(supervision_deadline(year, m, params), as_of) for m in range(1, 13)]
    roster = {normalize(n) for s in supervisors for n in s.names()}
    out = []
    for sup in supervisors:
        wanted_norm = {normalize(n) for n in sup.names()}
        wanted_fold = {fold(n) for n in sup.names()}
        counts, blind = [0] * 12, False
        for unit in sup.units:
            ctx = contexts.get(normalize(unit))
            tab = ctx.tab("visits") if ctx is not None else None
            if ctx is None or tab is None or not (tab.has("supervisor")
                                                  and tab.has("visit_date")):
                blind = True
                continue
            check_cells = ctx.cells_known and tab.has("cell_code")
            for name, code, d in zip(tab.col("supervisor"), tab.col("cell_code"),
                                     tab.col("visit_date")):
                if name is None or d is None or d.year != year:
                    continue
                if check_cells and code is not None and code_key(code) not in ctx.cells:
                    continue
                n = normalize(name)
                if n in wanted_norm or (n not in roster and fold(name) in wanted_fold):
                    counts[d.month - 1] += 1
        out.append(SupervisorRow(sup, counts, blind, due))
    return out


@dataclass
class Difficulty:
    unit_code: str
    unit_name: str
    visit_date: date | None
    supervisor: str
    cell: str
    text: str
    row: int


def difficulties(unit_code: str, unit_name: str, ctx: UnitContext) -> list[Difficulty]:
    """The "Khó khăn, kiến nghị" texts of the visits of the checked year (and of visits whose
    date cannot be read), in date order."""
    tab = ctx.tab("visits")
    if tab is None or not tab.has("difficulties"):
        return []
    out = []
    for i, (text, d, name, code) in enumerate(zip(tab.col("difficulties"), tab.col("visit_date"),
                                                  tab.col("supervisor"), tab.col("cell_code"))):
        if text is None or (d is not None and d.year != ctx.year):
            continue
        out.append(Difficulty(unit_code, unit_name, d, name or "", code or "", text,
                              tab.rows[i]))
    out.sort(key=lambda x: (x.visit_date is None, x.visit_date or date.min, x.row))
    return out


# --- annual ratings ----------------------------------------------------------------------------

@dataclass
class AnnualRow:
    cell_code: str
    cell_name: str
    months: int  # months counted for the derivation
    counts: dict[str, int] = field(default_factory=dict)  # good/fair/average/poor/none
    derived: str | None = None
    reported: str | None = None

    @property
    def comparison(self) -> str:
        if self.derived is None:
            return "no-derived"
        if self.reported is None:
            return "no-reported"
        if RANK[self.reported] < RANK[self.derived]:
            return "higher"
        if RANK[self.reported] > RANK[self.derived]:
            return "lower"
        return "same"


def annual_rows(ctx: UnitContext, cells: Mapping[str, UnitIndicators],
                names: Mapping[str, str]) -> list[AnnualRow]:
    """One row per cell of the register. ``cells``: the cells' indicators (``unit_and_cells``),
    whose held meetings are the months the derivation counts (``derive_annual``: the due months
    the cell was active; the rating of each month's first regular meeting, none without one);
    ``names``: ``cell_names``."""
    tab = ctx.tab("meetings")
    derivable = tab is not None and all(tab.has(c) for c in ("cell_code", "month", "rating"))
    min_tot, max_kem = ctx.params["annual_min_tot"], ctx.params["annual_max_kem"]
    months: list[int] | None = None  # due months, for cells without meeting figures
    reported: dict[str, str] = {}
    annual = ctx.tab("annual")
    if annual is not None and all(annual.has(c) for c in ("cell_code", "year", "self_rating")):
        for code, y, rating in zip(annual.col("cell_code"), annual.col("year"),
                                   annual.col("self_rating")):
            if code is not None and y == ctx.year and rating in RANK:
                reported.setdefault(code_key(code), rating)
    out = []
    for key, cell in ctx.cells.items():
        ind = cells[key]
        if ind.held is not None:  # the meetings were read: a month counts when it is held
            n, rated = ind.held.den, ind.ratings or {}
        else:
            if months is None:
                months = due_months(ctx)
            active = cell.months_active(ctx.year)
            n, rated = sum(1 for m in months if active[m]), {}
        good, fair = rated.get("good", 0), rated.get("fair", 0)
        average, poor = rated.get("average", 0), rated.get("poor", 0)
        none = n - good - fair - average - poor
        level = (level_of_counts(good, fair, average, poor + none, min_tot, max_kem)
                 if derivable else None)
        out.append(AnnualRow(cell.code, names.get(key, ""), n,
                             {"good": good, "fair": fair, "average": average, "poor": poor,
                              "none": none}, level, reported.get(key)))
    return out


# --- halls -------------------------------------------------------------------------------------

def hall_rows(unit_code: str, unit_name: str, ctx: UnitContext) -> list[dict[str, Any]]:
    return [{**need, "unit_code": unit_code, "unit_name": unit_name} for need in hall_needs(ctx)]


def sort_halls(rows: list[dict[str, Any]], unit_order: Mapping[str, int]) -> list[dict[str, Any]]:
    """By population, then members, largest first (unknown last), then unit and sheet order."""
    return sorted(rows, key=lambda d: (
        d["population"] is None, -(d["population"] or 0),
        d["members"] is None, -(d["members"] or 0),
        unit_order.get(d["unit_code"], 10**9), d["row"]))

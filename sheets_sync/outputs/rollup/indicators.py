"""The summary indicators of one unit (the `Tổng hợp` sheet), computed from its parsed data.

Everything here is pure: values in, values out, no workbook. Ratios keep their numerator and
denominator so that the total row pools them (Σ numerators / Σ denominators) instead of
averaging percentages.

Base of the meeting indicators: the *due active cell-months* of the checked year — a cell of
the register, active in month M (rules.md "Active cell"), M's regular meeting due by the as-of
date (``due_months``). The meeting of a cell-month is its first regular row (the one the rules
use; later ones are MEET-DUPLICATE). Each criterion of a held meeting is counted over the held
meetings where it can be read (a meeting without a readable date is neither in nor out of the
window: the data-completeness indicator shows what is missing).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from fractions import Fraction
from functools import lru_cache
from itertools import compress

from ...core.findings import ERROR, Finding, FindingCounts
from ...core.grid import REGULAR_TYPES, THEMATIC_TYPES, TabData, UnitData
from ...core.rules.base import (
    UnitContext,
    brief_deadline,
    brief_last_day,
    code_key,
    due_months,
    is_due,
    month_key,
    quarter_deadline,
    row_code_keys,
)

RATING_LEVELS = ("good", "fair", "average", "poor")
DATA_RULES = frozenset({"DATA-REQUIRED", "DATA-INVALID"})
MIN_ACTIVE_MONTHS_THEMATIC = 2  # rules.md THEME-QUARTERLY


@dataclass(frozen=True, slots=True)  # a value: instances are shared (``_SMALL``)
class Ratio:
    num: int = 0
    den: int = 0

    @property
    def value(self) -> float | None:
        return self.num / self.den if self.den else None

    def __add__(self, other: Ratio) -> Ratio:
        return Ratio(self.num + other.num, self.den + other.den)


@dataclass
class UnitIndicators:
    code: str
    name: str
    status: str
    message: str | None = None
    pulled_at: str | None = None
    has_data: bool = False
    cells: int | None = None
    members: int | None = None
    held: Ratio | None = None  # due active cell-months with a regular meeting
    window: Ratio | None = None  # held meetings dated inside the window of their month
    preferred: Ratio | None = None  # held meetings on the preferred day (None: rule off)
    duration: Ratio | None = None  # held meetings at least the minimum duration
    attendance: Ratio | None = None  # held meetings with present/required above the rate
    pooled: Ratio | None = None  # Σ present / Σ required over held meetings
    thematic: list[Ratio | None] = field(default_factory=lambda: [None] * 4)  # per quarter
    ratings: dict[str, int] | None = None  # monthly ratings of held meetings
    briefing: Ratio | None = None  # due months with an on-time briefing
    visits: int | None = None  # visit rows of the checked year
    completeness: Ratio | None = None  # data rows without DATA-REQUIRED / DATA-INVALID
    clean: Ratio | None = None  # held meetings without an error (accepted ones excepted)
    counts: FindingCounts = field(default_factory=FindingCounts)
    window_days: tuple[int, int] | None = None
    preferred_day: int | None = None
    # Month by month (index 0 = January): "held", "window", "attendance", "clean" and "good"
    # (meetings rated Tốt / rated meetings); empty when the meetings cannot be read, and for a
    # cell (the summary, its charts and the report show a unit's or the total's only).
    monthly: dict[str, list[Ratio]] = field(default_factory=dict)

    @property
    def good(self) -> Ratio | None:
        """Held meetings rated Tốt / held meetings with a rating."""
        if self.ratings is None:
            return None
        return _small_ratio(self.ratings.get("good", 0), sum(self.ratings.values()))

    @property
    def thematic_all(self) -> Ratio | None:
        """The due quarters pooled."""
        num = den = 0
        due = False
        for q in self.thematic:
            if q is not None:
                num, den, due = num + q.num, den + q.den, True
        return _small_ratio(num, den) if due else None


MONTHLY = ("held", "window", "attendance", "clean", "good")


_POOLED = ("held", "window", "preferred", "duration", "attendance", "pooled", "briefing",
           "completeness", "clean")
_ADDED = ("cells", "members", "visits")


def total(units: Iterable[UnitIndicators], name: str = "Tổng cộng") -> UnitIndicators:
    """Sums of counts; ratios pooled from numerators and denominators (None where no unit has
    a figure)."""
    out = UnitIndicators(code="", name=name, status="")
    pooled: dict[str, list[int]] = {}  # attribute -> [Σ numerators, Σ denominators]
    added: dict[str, int] = {}
    thematic: list[list[int] | None] = [None] * 4
    monthly: dict[str, tuple[list[int], list[int]]] = {}
    for u in units:
        out.has_data = out.has_data or u.has_data
        for attr in _POOLED:
            ratio = getattr(u, attr)
            if ratio is not None:
                got = pooled.get(attr)
                if got is None:
                    pooled[attr] = [ratio.num, ratio.den]
                else:
                    got[0] += ratio.num
                    got[1] += ratio.den
        for attr in _ADDED:
            value = getattr(u, attr)
            if value is not None:
                added[attr] = added.get(attr, 0) + value
        for q, ratio in enumerate(u.thematic):
            if ratio is not None:
                quarter = thematic[q]
                if quarter is None:
                    thematic[q] = [ratio.num, ratio.den]
                else:
                    quarter[0] += ratio.num
                    quarter[1] += ratio.den
        if u.ratings is not None:
            base = out.ratings or {k: 0 for k in RATING_LEVELS}
            out.ratings = {k: base[k] + u.ratings.get(k, 0) for k in RATING_LEVELS}
        out.counts = out.counts + u.counts
        for key, series in u.monthly.items():
            sums = monthly.get(key)
            if sums is None:
                sums = monthly[key] = ([0] * 12, [0] * 12)
            nums, dens = sums
            for k, ratio in enumerate(series):
                nums[k] += ratio.num
                dens[k] += ratio.den
    for attr in _POOLED:
        got = pooled.get(attr)
        setattr(out, attr, Ratio(got[0], got[1]) if got is not None else None)
    for attr in _ADDED:
        setattr(out, attr, added.get(attr))
    out.thematic = [Ratio(q[0], q[1]) if q is not None else None for q in thematic]
    out.monthly = {key: list(map(Ratio, nums, dens)) for key, (nums, dens) in monthly.items()}
    return out


# --- one unit ----------------------------------------------------------------------------------

@dataclass
class TabIndex:
    """What every cell of a unit shares, computed once per unit (``index``): the first regular
    meeting of each cell-month of the checked year, the meeting types, thematic meetings per
    cell and quarter."""
    months: dict[str, list[int | None]]  # cell code key -> first regular row per month (0 = Jan)
    types: list[str | None]
    thematic: dict[str, list[int]]  # cell code key -> thematic meetings per quarter (0 = Q1)
    rate: tuple[int, int]  # min_attendance_rate as an exact fraction


def index(ctx: UnitContext) -> TabIndex | None:
    tab = ctx.tab("meetings")
    if tab is None:
        return None
    types = tab.meeting_types()
    held: dict[str, list[int]] = {}
    if all(tab.has(c) for c in ("cell_code", "month", "meeting_type")):
        year = f"{ctx.year:04d}"
        keys, months = row_code_keys(tab), tab.col("month")
        for i in compress(range(len(types)), map(THEMATIC_TYPES.__contains__, types)):
            key, m = keys[i], months[i]
            if key is not None and m is not None and m[:4] == year:
                quarters = held.get(key)
                if quarters is None:
                    quarters = held[key] = [0] * 4
                quarters[(int(m[5:7]) - 1) // 3] += 1
    return TabIndex(first_meetings_by_month(tab, ctx.year, types), types, held,
                    _exact(ctx.params["min_attendance_rate"]))


def first_meetings_by_month(tab: TabData, year: int, types: list[str | None]
                            ) -> dict[str, list[int | None]]:
    """``first_regular_meetings`` of ``year`` by cell: code key -> the row index of the first
    regular meeting of each month (index 0 = January; None: no meeting that month), for the
    cells with one that year. ``types``: ``tab.meeting_types()``."""
    slot = month_slots(year)
    keys, months = row_code_keys(tab), tab.col("month")
    out: dict[str, list[int | None]] = {}
    for i in compress(range(len(types)), map(REGULAR_TYPES.__contains__, types)):
        k, key = slot.get(months[i]), keys[i]
        if k is None or key is None:
            continue
        got = out.get(key)
        if got is None:
            got = out[key] = [None] * 12
        if got[k] is None:
            got[k] = i
    return out


@lru_cache(maxsize=16)
def month_slots(year: int) -> Mapping[str, int]:
    """ "YYYY-MM" of each month of ``year`` -> its index (0 = January); read-only."""
    return {month_key(year, m): m - 1 for m in range(1, 13)}


@lru_cache(maxsize=64)
def _exact(rate: float | int | str) -> tuple[int, int]:
    """A rate as an exact fraction (numerator, denominator)."""
    exact = Fraction(str(rate))
    return exact.numerator, exact.denominator


def may_hold_year(data: UnitData, year: int) -> bool:
    """False when no row of the meetings tab is of a month of ``year``: then no cell-month of
    that year is held (``held`` is None or 0/n) and its indicators need not be computed."""
    tab = data.tab("meetings")
    if tab is None or not tab.has("month"):
        return False
    prefix = f"{year:04d}-"
    return any(m.startswith(prefix) for m in set(tab.col("month")) if m is not None)


def unit_indicators(ctx: UnitContext | None, result, findings: list[Finding],
                    idx: TabIndex | None = None, unit_level: bool = True) -> UnitIndicators:
    """``result``: the unit's ``UnitResult``; ``findings``: the unit's findings (any rule);
    ``idx``: the unit's ``index`` when already computed; ``unit_level``: also the criteria
    that belong to the unit (briefing, visits, data completeness)."""
    return _indicators(ctx, result, findings, idx, unit_level, with_cells=False)[0]


def unit_and_cells(ctx: UnitContext | None, result, findings: list[Finding],
                   idx: TabIndex | None = None
                   ) -> tuple[UnitIndicators, dict[str, UnitIndicators]]:
    """``unit_indicators`` and the ``cell_indicators`` of every cell of the unit (code key ->
    indicators), in one pass over its cells and meetings: each held meeting's criteria are
    read once, for its cell and its unit. The same values as those functions (a test holds
    them equal)."""
    return _indicators(ctx, result, findings, idx, True, with_cells=True)


def cell_indicators(ctx: UnitContext, key: str, result, findings: list[Finding],
                    idx: TabIndex | None = None) -> UnitIndicators:
    """The same indicators for one cell of a unit (``key``: its code key): a context holding
    only that cell, the cell's findings; the unit-level criteria (briefing, visits, data
    completeness) and the month-by-month series are left empty. ``idx``: the unit's ``index``
    when already computed."""
    one = replace(ctx, cells={key: ctx.cells[key]})
    ind = unit_indicators(one, result, findings, idx if idx is not None else index(ctx),
                          unit_level=False)
    ind.monthly = {}  # a cell's, as ``unit_and_cells`` gives them
    return ind


def _new(result, has_data: bool = False) -> UnitIndicators:
    """Indicators named after the unit's ``UnitResult``, no figure yet."""
    return UnitIndicators(result.code, result.name, result.status, result.message,
                          result.pulled_at, has_data=has_data)


def _indicators(ctx: UnitContext | None, result, findings: list[Finding],
                idx: TabIndex | None, unit_level: bool, with_cells: bool
                ) -> tuple[UnitIndicators, dict[str, UnitIndicators]]:
    ind = _new(result)
    ind.counts = FindingCounts.of(findings)
    cells: dict[str, UnitIndicators] = {}
    if ctx is None:
        return ind, cells
    p = ctx.params
    window_days, preferred = (p["window_start_day"], p["window_end_day"]), p["preferred_day"]
    ind.has_data, ind.window_days, ind.preferred_day = True, window_days, preferred
    idx = idx if idx is not None else index(ctx)
    months = ctx.months()
    last = months[-1] if months else 0  # 0: no month yet, every cell counts as active
    actives = {key: cell.months_active(ctx.year) for key, cell in ctx.cells.items()}
    if ctx.cells_known:
        live = [cell for key, cell in ctx.cells.items() if not last or actives[key][last]]
        ind.cells, ind.members = len(live), sum(c.members or 0 for c in live)
    by_cell: dict[str | None, list[Finding]] | None = None
    if with_cells:
        by_cell = _by_cell(findings)
        for key, cell in ctx.cells.items():  # cells exist only when the register was read
            one = cells[key] = _new(result, has_data=True)
            one.counts = FindingCounts.of(by_cell.get(key, ()))
            one.window_days, one.preferred_day = window_days, preferred
            one.cells, one.members = ((1, cell.members or 0) if not last or actives[key][last]
                                      else (0, 0))
    tab = ctx.tab("meetings")
    if (idx is not None and ctx.cells_known and tab is not None and tab.has("cell_code")
            and tab.has("month")):
        _meetings(ctx, tab, idx, actives, findings, by_cell, ind, cells)
    if unit_level:
        _briefing(ctx, ind)
        visits = ctx.tab("visits")
        if visits is not None and visits.has("visit_date"):
            ind.visits = sum(1 for d in visits.col("visit_date")
                             if d is not None and d.year == ctx.year)
        ind.completeness = completeness(ctx, findings)
    return ind, cells


def _by_cell(findings: list[Finding]) -> dict[str | None, list[Finding]]:
    """The findings by the code key of their cell (each distinct spelling keyed once)."""
    by_code: dict[str | None, list[Finding]] = {}
    for f in findings:
        got = by_code.get(f.cell)
        if got is None:
            by_code[f.cell] = [f]
        else:
            got.append(f)
    out: dict[str | None, list[Finding]] = {}
    for code, found in by_code.items():
        key = code_key(code)
        out[key] = out[key] + found if key in out else found
    return out


def _failed_rows(findings: Iterable[Finding], tab_name: str) -> set[int]:
    """Sheet rows of ``tab_name`` with an error that counts (not accepted)."""
    return {f.row for f in findings if f.severity == ERROR and not f.accepted
            and f.row is not None and f.tab == tab_name}


def _due_quarters(ctx: UnitContext) -> list[int]:
    return [q for q in range(1, 5) if is_due(quarter_deadline(ctx.year, q, ctx.params),
                                             ctx.as_of)]


# Shared Ratios of the small values a cell has (a cell has at most one meeting a month): a
# national roll-up holds some seven million of them (99,000 cells, five series of twelve months
# and their criteria), a hundred objects here.
_SMALL = {(n, d): Ratio(n, d) for d in range(13) for n in range(d + 1)}

_NO_MEETING: list[int | None] = [None] * 12  # a cell's first meetings when it has none; read-only
_NO_THEMATIC = (0, 0, 0, 0)  # a cell's thematic meetings per quarter when it has none
_THEMATIC_RATIO = (_SMALL[0, 1], _SMALL[1, 1])  # a counted quarter, not held / held

# A cell's month in a series: 0 not counted, 1 counted and not met, 2 counted and met.
NOT_COUNTED, MISSED, MET = 0, 1, 2


def _small_ratio(num: int, den: int) -> Ratio:
    """Ratio(num, den), shared when small."""
    return _SMALL.get((num, den)) or Ratio(num, den)


def _cell_ratio(months: list[int]) -> Ratio:
    """A cell's series (``MET``/``MISSED``/``NOT_COUNTED`` per month) pooled."""
    return _SMALL[months.count(MET), len(months) - months.count(NOT_COUNTED)]


def _unit_series(cells: list[list[int]]) -> tuple[list[int], list[int]]:
    """(numerators, denominators) month by month of the cells' series added up."""
    if not cells:
        return [0] * 12, [0] * 12
    months = list(zip(*cells))
    return ([m.count(MET) for m in months],
            [len(m) - m.count(NOT_COUNTED) for m in months])


def _meetings(ctx: UnitContext, tab: TabData, idx: TabIndex, actives: Mapping[str, tuple],
              findings: list[Finding], by_cell: Mapping[str | None, list[Finding]] | None,
              ind: UnitIndicators, cells: dict[str, UnitIndicators]) -> None:
    """The meeting criteria of the unit and, with ``by_cell`` (the findings by cell key), of
    each of its cells. The meeting of a due active cell-month is its first regular row
    (``idx.months``); each criterion counts the held meetings where it can be read; ``clean``:
    held meetings without an error that counts, the unit's errors for the unit, the cell's
    for the cell."""
    year, p = ctx.year, ctx.params
    name = tab.tab.name
    unit_failed = _failed_rows(findings, name)
    due = [(m, m - 1) for m in due_months(ctx)]
    first_of, types, (rate_num, rate_den) = idx.months, idx.types, idx.rate
    sheet_rows = tab.rows
    dates, ratings = tab.col("meeting_date"), tab.col("rating")
    starts, ends, minutes = tab.col("start_time"), tab.col("end_time"), tab.col("duration")
    required, present = tab.col("required_count"), tab.col("present")
    start, end, preferred = p["window_start_day"], p["window_end_day"], p["preferred_day"]
    min_combined, min_regular = p["min_minutes_combined"], p["min_minutes_regular"]
    small_members, small_min = p["small_cell_members"], p["min_minutes_small_cell"]
    small = small_members is not None and small_min is not None
    has_duration = tab.has("duration") or tab.has("start_time")
    has_attendance = tab.has("required_count") and tab.has("present")
    has_rating = tab.has("rating")
    quarters = _due_quarters(ctx) if tab.has("meeting_type") else None
    thematic_held, needed = idx.thematic, p["thematic_per_quarter"]
    # months_active -> (quarter index, active long enough to count) of each due quarter
    thematic_due: dict[tuple, list[tuple[int, bool]]] = {}

    # Each cell's series month by month (MET / MISSED / NOT_COUNTED); the unit's are their
    # sums, but for ``clean``: the unit's own errors.
    all_held: list[list[int]] = []
    all_window: list[list[int]] = []
    all_attendance: list[list[int]] = []
    all_good: list[list[int]] = []
    unit_clean_n = [0] * 12
    pref_n = pref_d = dur_n = dur_d = pooled_n = pooled_d = 0
    unit_ratings = {k: 0 for k in RATING_LEVELS}
    unit_thematic = [0] * 4, [0] * 4
    due_active: dict[tuple, list[tuple[int, int]]] = {}  # months_active -> its due months
    for key, act in actives.items():
        cell_failed = (_failed_rows(by_cell.get(key, ()), name) if by_cell is not None
                       else unit_failed)
        held, window, attendance, clean, good = [0] * 12, [0] * 12, [0] * 12, [0] * 12, [0] * 12
        pn = pd = dn = dd = qn = qd = 0
        counted = {k: 0 for k in RATING_LEVELS}
        first = first_of.get(key, _NO_MEETING)
        counted_months = due_active.get(act)
        if counted_months is None:
            counted_months = due_active[act] = [(m, k) for m, k in due if act[m]]
        for m, k in counted_months:
            i = first[k]
            if i is None:
                held[k] = MISSED
                continue
            held[k] = MET
            row = sheet_rows[i]
            clean[k] = MISSED if row in cell_failed else MET
            if row not in unit_failed:
                unit_clean_n[k] += 1
            rating = ratings[i]
            if rating in counted:
                good[k] = MET if rating == "good" else MISSED
                counted[rating] += 1
            d = dates[i]
            if d is not None:  # the month of a held meeting is its period: (year, m)
                same = d.year == year and d.month == m
                window[k] = MET if same and start <= d.day <= end else MISSED
                if preferred is not None:
                    pd += 1
                    if same and d.day == preferred:
                        pn += 1
            length = minutes[i]
            if length is None:
                s, e = starts[i], ends[i]
                if s is not None and e is not None and e > s:
                    length = e - s
            req = required[i]
            if length is not None:
                if types[i] == "combined":
                    minimum = min_combined
                elif small and req is not None and req <= small_members:
                    minimum = small_min
                else:
                    minimum = min_regular
                dd += 1
                if length >= minimum:
                    dn += 1
            pres = present[i]
            if req is not None and pres is not None and req > 0:
                attendance[k] = MET if pres * rate_den > rate_num * req else MISSED
                qn += pres
                qd += req
        all_held.append(held)
        all_window.append(window)
        all_attendance.append(attendance)
        all_good.append(good)
        pref_n, pref_d, dur_n, dur_d = pref_n + pn, pref_d + pd, dur_n + dn, dur_d + dd
        pooled_n, pooled_d = pooled_n + qn, pooled_d + qd
        for level, n in counted.items():
            unit_ratings[level] += n
        thematic: list[Ratio | None] = [None] * 4
        if quarters is not None:
            due_quarters = thematic_due.get(act)
            if due_quarters is None:
                due_quarters = thematic_due[act] = [
                    (q - 1, act[3 * q - 2] + act[3 * q - 1] + act[3 * q]
                     >= MIN_ACTIVE_MONTHS_THEMATIC) for q in quarters]
            held_in = thematic_held.get(key, _NO_THEMATIC)
            for j, counted_quarter in due_quarters:
                if counted_quarter:
                    ok = 1 if held_in[j] >= needed else 0
                    thematic[j] = _THEMATIC_RATIO[ok]
                    unit_thematic[0][j] += ok
                    unit_thematic[1][j] += 1
                else:
                    thematic[j] = _SMALL[0, 0]
        if by_cell is not None:
            one = cells[key]
            one.held = _cell_ratio(held)  # (no ``monthly``: a unit's only)
            _criteria(one, _cell_ratio(window), _cell_ratio(clean), _small_ratio(pn, pd),
                      _small_ratio(dn, dd), _cell_ratio(attendance), Ratio(qn, qd), counted,
                      preferred is not None, has_duration, has_attendance, has_rating)
            one.thematic = thematic
    series = {"held": _unit_series(all_held), "window": _unit_series(all_window),
              "attendance": _unit_series(all_attendance)}
    held_d = series["held"][1]
    series["clean"] = (unit_clean_n, series["held"][0])  # a held meeting is counted for clean
    series["good"] = _unit_series(all_good)
    ind.monthly = {key: list(map(Ratio, nums, dens)) for key, (nums, dens) in series.items()}
    ind.held = Ratio(sum(series["held"][0]), sum(held_d))
    window_n, window_d = series["window"]
    attendance_n, attendance_d = series["attendance"]
    _criteria(ind, Ratio(sum(window_n), sum(window_d)),
              Ratio(sum(unit_clean_n), sum(series["held"][0])), Ratio(pref_n, pref_d),
              Ratio(dur_n, dur_d), Ratio(sum(attendance_n), sum(attendance_d)),
              Ratio(pooled_n, pooled_d), unit_ratings, preferred is not None, has_duration,
              has_attendance, has_rating)
    if quarters is not None:
        for q in quarters:
            ind.thematic[q - 1] = Ratio(unit_thematic[0][q - 1], unit_thematic[1][q - 1])


def _criteria(ind: UnitIndicators, window: Ratio, clean: Ratio, preferred: Ratio,
              duration: Ratio, attendance: Ratio, pooled: Ratio, ratings: dict[str, int],
              has_preferred: bool, has_duration: bool, has_attendance: bool,
              has_rating: bool) -> None:
    """The criteria of the held meetings, None where the rule is off or the columns are
    missing."""
    ind.window, ind.clean = window, clean
    ind.preferred = preferred if has_preferred else None
    ind.duration = duration if has_duration else None
    ind.attendance = attendance if has_attendance else None
    ind.pooled = pooled if has_attendance else None
    ind.ratings = ratings if has_rating else None


def _briefing(ctx: UnitContext, ind: UnitIndicators) -> None:
    tab = ctx.tab("briefings")
    if tab is None or not tab.has("month"):
        return
    p = ctx.params
    due, last_days = _briefing_calendar(ctx.year, ctx.as_of, p["brief_deadline_day"],
                                        p["brief_deadline_inclusive"], p["report_grace_days"])
    year = f"{ctx.year:04d}"
    on_time: set[str] = set()
    for m, d in zip(tab.col("month"), tab.col("briefing_date")):
        if m is None or d is None or m[:4] != year:
            continue
        last = last_days.get(m)
        if last is None:
            last = brief_last_day(ctx.year, int(m[5:7]), p)
        if d <= last:
            on_time.add(m)
    ind.briefing = Ratio(sum(1 for month in due if month in on_time), len(due))


@lru_cache(maxsize=64)
def _briefing_calendar(year: int, as_of: date, day: int, inclusive: bool, grace: int
                       ) -> tuple[tuple[str, ...], Mapping[str, date]]:
    """(the months of ``year`` whose briefing is due, each month's last on-time day), the
    same for every unit with these parameters; read-only."""
    params = {"brief_deadline_day": day, "brief_deadline_inclusive": inclusive,
              "report_grace_days": grace}
    due = tuple(month_key(year, m) for m in range(1, 13)
                if is_due(brief_deadline(year, m, params), as_of))
    return due, {month_key(year, m): brief_last_day(year, m, params) for m in range(1, 13)}


def completeness(ctx: UnitContext, findings: list[Finding]) -> Ratio:
    """Data rows of every tab read, and those without a DATA-REQUIRED / DATA-INVALID finding."""
    names = {t.tab.name for t in ctx.unit.tabs.values()}
    bad = {(f.tab, f.row) for f in findings
           if f.rule in DATA_RULES and f.row is not None and f.tab in names}
    rows = sum(len(t.rows) for t in ctx.unit.tabs.values())
    return Ratio(rows - len(bad), rows)

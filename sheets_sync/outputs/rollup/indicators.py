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

from ...core.findings import ERROR, Finding, FindingCounts
from ...core.grid import THEMATIC_TYPES
from ...core.rules.base import (
    Cell,
    UnitContext,
    brief_deadline,
    brief_last_day,
    code_key,
    due_cell_months,
    due_months,
    first_regular_meetings,
    is_due,
    month_key,
    quarter_deadline,
)

RATING_LEVELS = ("good", "fair", "average", "poor")
DATA_RULES = frozenset({"DATA-REQUIRED", "DATA-INVALID"})
MIN_ACTIVE_MONTHS_THEMATIC = 2  # rules.md THEME-QUARTERLY


@dataclass(slots=True)  # some five million of them in a national roll-up's model
class Ratio:
    num: int = 0
    den: int = 0

    def add(self, ok: bool) -> None:
        self.den += 1
        self.num += 1 if ok else 0

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
    # (meetings rated Tốt / rated meetings); empty when the meetings cannot be read.
    monthly: dict[str, list[Ratio]] = field(default_factory=dict)

    @property
    def good(self) -> Ratio | None:
        """Held meetings rated Tốt / held meetings with a rating."""
        if self.ratings is None:
            return None
        return Ratio(self.ratings.get("good", 0), sum(self.ratings.values()))

    @property
    def thematic_all(self) -> Ratio | None:
        """The due quarters pooled."""
        got = [q for q in self.thematic if q is not None]
        return sum(got, Ratio()) if got else None


MONTHLY = ("held", "window", "attendance", "clean", "good")


def _add_opt(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return a + b


def total(units: Iterable[UnitIndicators], name: str = "Tổng cộng") -> UnitIndicators:
    """Sums of counts; ratios pooled from numerators and denominators."""
    out = UnitIndicators(code="", name=name, status="")
    for u in units:
        out.has_data = out.has_data or u.has_data
        for attr in ("cells", "members", "held", "window", "preferred", "duration",
                     "attendance", "pooled", "briefing", "visits", "completeness", "clean"):
            setattr(out, attr, _add_opt(getattr(out, attr), getattr(u, attr)))
        out.thematic = [_add_opt(a, b) for a, b in zip(out.thematic, u.thematic)]
        if u.ratings is not None:
            base = out.ratings or {k: 0 for k in RATING_LEVELS}
            out.ratings = {k: base[k] + u.ratings.get(k, 0) for k in RATING_LEVELS}
        out.counts = out.counts + u.counts
        for key, series in u.monthly.items():
            mine = out.monthly.setdefault(key, [Ratio() for _ in range(12)])
            out.monthly[key] = [a + b for a, b in zip(mine, series)]
    return out


# --- one unit ----------------------------------------------------------------------------------

@dataclass
class TabIndex:
    """What every cell of a unit shares, computed once per unit (``index``): the first regular
    meeting of each cell-month, the meeting types, thematic meetings per cell and quarter."""
    first: dict[tuple[str, str], int]
    types: list[str | None]
    thematic: dict[tuple[str, int], int]
    rate: tuple[int, int]  # min_attendance_rate as an exact fraction


def index(ctx: UnitContext) -> TabIndex | None:
    tab = ctx.tab("meetings")
    if tab is None:
        return None
    types = tab.meeting_types()
    held: dict[tuple[str, int], int] = {}
    if all(tab.has(c) for c in ("cell_code", "month", "meeting_type")):
        year = f"{ctx.year:04d}"
        for t, code, m in zip(types, tab.col("cell_code"), tab.col("month")):
            if t in THEMATIC_TYPES and code is not None and m is not None and m[:4] == year:
                k = (code_key(code), (int(m[5:7]) - 1) // 3 + 1)
                held[k] = held.get(k, 0) + 1
    exact = Fraction(str(ctx.params["min_attendance_rate"]))
    return TabIndex(first_regular_meetings(tab), types, held,
                    (exact.numerator, exact.denominator))


def unit_indicators(ctx: UnitContext | None, result, findings: list[Finding],
                    idx: TabIndex | None = None, unit_level: bool = True) -> UnitIndicators:
    """``result``: the unit's ``UnitResult``; ``findings``: the unit's findings (any rule);
    ``idx``: the unit's ``index`` when already computed; ``unit_level``: also the criteria
    that belong to the unit (briefing, visits, data completeness)."""
    ind = UnitIndicators(result.code, result.name, result.status, result.message,
                         result.pulled_at)
    for f in findings:
        ind.counts.add(f)
    if ctx is None:
        return ind
    ind.has_data = True
    p = ctx.params
    ind.window_days = (p["window_start_day"], p["window_end_day"])
    ind.preferred_day = p["preferred_day"]
    idx = idx if idx is not None else index(ctx)
    _register(ctx, ind)
    _meetings(ctx, ind, findings, idx)
    _thematic(ctx, ind, idx)
    if not unit_level:
        return ind
    _briefing(ctx, ind)
    visits = ctx.tab("visits")
    if visits is not None and visits.has("visit_date"):
        ind.visits = sum(1 for d in visits.col("visit_date")
                         if d is not None and d.year == ctx.year)
    ind.completeness = completeness(ctx, findings)
    return ind


def _register(ctx: UnitContext, ind: UnitIndicators) -> None:
    if not ctx.cells_known:
        return
    months = ctx.months()
    if months:
        active = [c for c in ctx.cells.values() if c.active(ctx.year, months[-1])]
    else:
        active = list(ctx.cells.values())
    ind.cells = len(active)
    ind.members = sum(c.members or 0 for c in active)


def held_meetings(ctx: UnitContext, first: dict[tuple[str, str], int] | None = None
                  ) -> tuple[Ratio, list[int]] | None:
    """(due active cell-months with a meeting, row indexes of those first regular meetings);
    None when the register or the meetings tab (cell, month) cannot be read."""
    tab = ctx.tab("meetings")
    if not ctx.cells_known or tab is None or not (tab.has("cell_code") and tab.has("month")):
        return None
    first = first if first is not None else first_regular_meetings(tab)
    ratio, rows = Ratio(), []
    for _, period, key, _ in due_cell_months(ctx):
        i = first.get((key, period))
        ratio.add(i is not None)
        if i is not None:
            rows.append(i)
    return ratio, rows


def cell_indicators(ctx: UnitContext, key: str, result, findings: list[Finding],
                    idx: TabIndex | None = None) -> UnitIndicators:
    """The same indicators for one cell of a unit (``key``: its code key): a context holding
    only that cell, the cell's findings; the unit-level criteria (briefing, visits, data
    completeness) are left empty. ``idx``: the unit's ``index``, computed once for all its
    cells."""
    one = replace(ctx, cells={key: ctx.cells[key]})
    return unit_indicators(one, result, findings, idx if idx is not None else index(ctx),
                           unit_level=False)


def cells_indicators(ctx: UnitContext, result, findings: list[Finding],
                     idx: TabIndex | None = None) -> dict[str, UnitIndicators]:
    """``cell_indicators`` of every cell of the unit (code key -> indicators) in one pass: the
    due months, the register and the meetings' columns are looked at once per unit, not once
    per cell. The same values as ``cell_indicators`` (a test holds them equal)."""
    idx = idx if idx is not None else index(ctx)
    out: dict[str, UnitIndicators] = {}
    p = ctx.params
    months = ctx.months()
    due = due_months(ctx)
    periods = [(m, month_key(ctx.year, m)) for m in due]
    tab = ctx.tab("meetings")
    readable = (idx is not None and ctx.cells_known and tab is not None
                and tab.has("cell_code") and tab.has("month"))
    by_cell: dict[str | None, list[Finding]] = {}
    for f in findings:
        by_cell.setdefault(code_key(f.cell), []).append(f)
    name = tab.tab.name if tab is not None else None
    for key, cell in ctx.cells.items():
        mine = by_cell.get(key, [])
        ind = UnitIndicators(result.code, result.name, result.status, result.message,
                             result.pulled_at, has_data=True)
        for f in mine:
            ind.counts.add(f)
        ind.window_days = (p["window_start_day"], p["window_end_day"])
        ind.preferred_day = p["preferred_day"]
        if ctx.cells_known:
            active = cell.active(ctx.year, months[-1]) if months else True
            ind.cells, ind.members = (1, cell.members or 0) if active else (0, 0)
        out[key] = ind
        if not readable:
            continue
        assert idx is not None  # readable
        held, monthly, rows = Ratio(), [Ratio() for _ in range(12)], []
        for m, period in periods:
            if cell.active(ctx.year, m):
                i = idx.first.get((key, period))
                held.add(i is not None)
                monthly[m - 1].add(i is not None)
                if i is not None:
                    rows.append(i)
        ind.held = held
        ind.monthly["held"] = monthly
        failed = {f.row for f in mine if f.severity == ERROR and not f.accepted
                  and f.row is not None and f.tab == name}
        _criteria(ctx, ind, rows, failed, idx)
        _thematic(ctx, ind, idx, {key: cell})
    return out


def _meetings(ctx: UnitContext, ind: UnitIndicators, findings: list[Finding],
              idx: TabIndex | None) -> None:
    got = held_meetings(ctx, idx.first if idx is not None else None)
    if got is None or idx is None:
        return
    ind.held, rows = got
    tab = ctx.tab("meetings")
    assert tab is not None  # held_meetings found it
    _monthly_held(ctx, ind, idx.first)
    failed = {f.row for f in findings if f.severity == ERROR and not f.accepted
              and f.row is not None and f.tab == tab.tab.name}
    _criteria(ctx, ind, rows, failed, idx)


def _criteria(ctx: UnitContext, ind: UnitIndicators, rows: list[int], failed: set[int],
              idx: TabIndex) -> None:
    """The criteria of the held meetings ``rows`` (indexes of their first regular rows);
    ``failed``: sheet rows with an error that counts."""
    tab = ctx.tab("meetings")
    assert tab is not None  # the caller found the held meetings in it
    sheet_rows = tab.rows
    p = ctx.params
    start, end, preferred = p["window_start_day"], p["window_end_day"], p["preferred_day"]
    months, dates = tab.col("month"), tab.col("meeting_date")
    types = idx.types
    starts, ends, minutes = tab.col("start_time"), tab.col("end_time"), tab.col("duration")
    required, present, ratings = tab.col("required_count"), tab.col("present"), tab.col("rating")
    rate_num, rate_den = idx.rate
    small_members, small_min = p["small_cell_members"], p["min_minutes_small_cell"]

    # Plain counters (numerator, denominator) month by month; the Ratios are built once at the
    # end (a national roll-up runs this over 2.4 million meeting rows).
    series = {key: ([0] * 12, [0] * 12) for key in ("window", "attendance", "clean", "good")}
    (win_n, win_d), (att_n, att_d) = series["window"], series["attendance"]
    (clean_n, clean_d), (good_n, good_d) = series["clean"], series["good"]
    pref_n = pref_d = dur_n = dur_d = pooled_n = pooled_d = 0
    counted = {k: 0 for k in RATING_LEVELS}
    for i in rows:
        d, m = dates[i], months[i]
        k = int(m[5:7]) - 1
        clean_d[k] += 1
        clean_n[k] += sheet_rows[i] not in failed
        rating = ratings[i]
        if rating in counted:
            good_d[k] += 1
            good_n[k] += rating == "good"
            counted[rating] += 1
        if d is not None and m is not None:
            same = d.year == int(m[:4]) and d.month == int(m[5:7])
            win_d[k] += 1
            win_n[k] += same and start <= d.day <= end
            if preferred is not None:
                pref_d += 1
                pref_n += same and d.day == preferred
        s, e, col = starts[i], ends[i], minutes[i]
        length = col if col is not None else (e - s if s is not None and e is not None
                                              and e > s else None)
        if length is not None:
            if types[i] == "combined":
                minimum = p["min_minutes_combined"]
            elif (small_members is not None and small_min is not None
                  and required[i] is not None and required[i] <= small_members):
                minimum = small_min
            else:
                minimum = p["min_minutes_regular"]
            dur_d += 1
            dur_n += length >= minimum
        req, pres = required[i], present[i]
        if req is not None and pres is not None and req > 0:
            att_d[k] += 1
            att_n[k] += pres * rate_den > rate_num * req
            pooled_n += pres
            pooled_d += req
    monthly = ind.monthly
    for key, (nums, dens) in series.items():
        monthly[key] = [Ratio(n, d) for n, d in zip(nums, dens)]
    clean = Ratio(sum(clean_n), sum(clean_d))
    window = Ratio(sum(win_n), sum(win_d))
    attendance = Ratio(sum(att_n), sum(att_d))
    pref, duration, pooled = Ratio(pref_n, pref_d), Ratio(dur_n, dur_d), Ratio(pooled_n, pooled_d)
    ind.window = window
    ind.clean = clean
    ind.preferred = pref if preferred is not None else None
    ind.duration = duration if tab.has("duration") or tab.has("start_time") else None
    ind.attendance = attendance if tab.has("required_count") and tab.has("present") else None
    ind.pooled = pooled if ind.attendance is not None else None
    ind.ratings = counted if tab.has("rating") else None


def _monthly_held(ctx: UnitContext, ind: UnitIndicators,
                  first: dict[tuple[str, str], int]) -> None:
    held = [Ratio() for _ in range(12)]
    for m, period, key, _ in due_cell_months(ctx):
        held[m - 1].add((key, period) in first)
    ind.monthly["held"] = held


def _thematic(ctx: UnitContext, ind: UnitIndicators, idx: TabIndex | None,
              cells: Mapping[str, Cell] | None = None) -> None:
    """Thematic meetings per due quarter over ``cells`` (code key -> cell; default: every cell
    of the unit)."""
    cells = ctx.cells if cells is None else cells
    tab = ctx.tab("meetings")
    if (not ctx.cells_known or tab is None or idx is None
            or not all(tab.has(c) for c in ("cell_code", "month", "meeting_type"))):
        return
    held = idx.thematic
    needed = ctx.params["thematic_per_quarter"]
    for q in range(1, 5):
        if not is_due(quarter_deadline(ctx.year, q, ctx.params), ctx.as_of):
            continue
        ratio = Ratio()
        for key, cell in cells.items():
            active = sum(cell.active(ctx.year, m) for m in range(3 * q - 2, 3 * q + 1))
            if active >= MIN_ACTIVE_MONTHS_THEMATIC:
                ratio.add(held.get((key, q), 0) >= needed)
        ind.thematic[q - 1] = ratio


def _briefing(ctx: UnitContext, ind: UnitIndicators) -> None:
    tab = ctx.tab("briefings")
    if tab is None or not tab.has("month"):
        return
    year = f"{ctx.year:04d}"
    on_time: set[str] = set()
    last_days: dict[str, date] = {}
    for m, d in zip(tab.col("month"), tab.col("briefing_date")):
        if m is None or d is None or m[:4] != year:
            continue
        last = last_days.get(m)
        if last is None:
            last = last_days[m] = brief_last_day(ctx.year, int(m[5:7]), ctx.params)
        if d <= last:
            on_time.add(m)
    ratio = Ratio()
    for month in range(1, 13):
        if is_due(brief_deadline(ctx.year, month, ctx.params), ctx.as_of):
            ratio.add(month_key(ctx.year, month) in on_time)
    ind.briefing = ratio


def completeness(ctx: UnitContext, findings: list[Finding]) -> Ratio:
    """Data rows of every tab read, and those without a DATA-REQUIRED / DATA-INVALID finding."""
    names = {t.tab.name for t in ctx.unit.tabs.values()}
    bad = {(f.tab, f.row) for f in findings
           if f.rule in DATA_RULES and f.row is not None and f.tab in names}
    rows = sum(len(t.rows) for t in ctx.unit.tabs.values())
    return Ratio(rows - len(bad), rows)

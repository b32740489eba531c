"""MEMBER-* rules: per-member attendance (`Điểm danh`, optional tab; rules.md "Members").

Only when the tab exists with its cell, month and status columns. Rows of the checked year
(by Kỳ tháng) are grouped per member: the cell code plus Mã đảng viên when the row has one,
else the normalised name within the cell (a row without an id whose name belongs to exactly one
id in the cell joins that id). A member's first row of a month is the one used; a row whose
status is empty or unreadable counts like a month without a row (DATA-* reports it).

- MEMBER-EXCUSED-STREAK: months in order; "Vắng có lý do" extends the streak, "Miễn sinh hoạt"
  or no row neither extends nor breaks it, any other status breaks it. A warning on the row where
  the streak reaches ``max_consecutive_excused``, an error on the row where it reaches one more.
  A streak that continues after that is not reported again (one violation per streak: the
  warning and the error already name the member); after a break a new streak is counted afresh.
- MEMBER-ABANDON: "Vắng không lý do" in at least ``abandon_months`` distinct months of the year:
  one finding per member and year (period = the year, no row, cell = the cell code).
"""
from __future__ import annotations

from collections import defaultdict

from ..findings import ERROR, WARNING, Finding
from ..grid import TabData
from ..text import normalize
from .base import UnitContext, code_key, fmt_month, row_code_keys

TAB = "Điểm danh"


def check(ctx: UnitContext) -> list[Finding]:
    tab = ctx.tab("attendance")
    if tab is None or not all(tab.has(c) for c in ("cell_code", "month", "status")):
        return []
    if not (tab.has("member_id") or tab.has("member_name")):
        return []
    members = _members(ctx, tab)
    who = _Who(tab)
    out: list[Finding] = []
    for rows in members.values():
        out += _streak(ctx, tab, rows, who)
    for rows in members.values():
        out += _abandon(ctx, tab, rows, who)
    return out


def _members(ctx: UnitContext, tab: TabData) -> dict[tuple[str | None, str, str | None],
                                                     list[int]]:
    """Member key -> the member's row indexes of the checked year, one per month, by month."""
    year = f"{ctx.year:04d}"
    cell_keys, months = row_code_keys(tab), tab.col("month")
    ids, names = tab.col("member_id"), tab.col("member_name")
    # each distinct id and name normalised once (a member has a row per month)
    id_key = {v: code_key(v) for v in set(ids) if v is not None}
    name_key = {v: normalize(v) for v in set(names) if v is not None}
    # (i, cell key, id key, name key)
    rows: list[tuple[int, str | None, str | None, str | None]] = []
    id_of_name: dict[tuple[str | None, str | None], set[str]] = defaultdict(set)
    for i, m in enumerate(months):
        if m is None or m[:4] != year:
            continue
        ck, idk, nk = cell_keys[i], id_key.get(ids[i]), name_key.get(names[i])
        if idk is None and nk is None:
            continue  # nobody to attribute the row to (DATA-REQUIRED)
        rows.append((i, ck, idk, nk))
        if idk is not None and nk is not None:
            id_of_name[(ck, nk)].add(idk)
    # key -> month -> first row
    grouped: dict[tuple[str | None, str, str | None], dict[str, int]] = defaultdict(dict)
    for i, ck, idk, nk in rows:
        if idk is None:
            known = id_of_name.get((ck, nk))
            idk = next(iter(known)) if known and len(known) == 1 else None
        key = (ck, "id", idk) if idk is not None else (ck, "name", nk)
        grouped[key].setdefault(months[i], i)
    return {key: [by_month[m] for m in sorted(by_month)] for key, by_month in grouped.items()}


class _Who:
    """How a message names the member of a row: "Đ/c Nguyễn Văn An (chi bộ CB01)"."""

    def __init__(self, tab: TabData):
        self.names, self.ids = tab.col("member_name"), tab.col("member_id")
        self.codes = tab.col("cell_code")

    def __call__(self, i: int) -> str:
        name = self.names[i]
        if name is None:
            name = f"mã {self.ids[i]}"
        code = self.codes[i]
        return f"Đ/c {name}" + (f" (chi bộ {code})" if code is not None else "")


def _streak(ctx: UnitContext, tab: TabData, rows: list[int], who: _Who) -> list[Finding]:
    limit = ctx.params["max_consecutive_excused"]
    status, months = tab.col("status"), tab.col("month")
    out = []
    streak: list[int] = []
    for i in rows:
        s = status[i]
        if s == "excused":
            streak.append(i)
        elif s is None or s == "exempt":
            continue
        else:
            streak = []
            continue
        n = len(streak)
        if n not in (limit, limit + 1):
            continue
        listed = ", ".join(fmt_month(months[j]) for j in streak)
        if n == limit:
            out.append(tab.finding(
                i, "MEMBER-EXCUSED-STREAK", WARNING,
                f"{who(i)} vắng có lý do {n} kỳ liên tiếp ({listed})."))
        else:
            out.append(tab.finding(
                i, "MEMBER-EXCUSED-STREAK", ERROR,
                f"{who(i)} vắng có lý do {n} kỳ liên tiếp ({listed}), quá {limit} kỳ."))
    return out


def _abandon(ctx: UnitContext, tab: TabData, rows: list[int], who: _Who) -> list[Finding]:
    status, months = tab.col("status"), tab.col("month")
    absent = [i for i in rows if status[i] == "unexcused"]  # one row per month already
    if not absent or len(absent) < ctx.params["abandon_months"]:
        return []
    first = absent[0]
    listed = ", ".join(fmt_month(months[i]) for i in absent)
    return [ctx.period_finding(
        TAB, "MEMBER-ABANDON", ERROR,
        f"{who(first)} vắng không lý do {len(absent)} tháng trong năm {ctx.year} "
        f"({listed}): chi bộ phải xem xét xóa tên.",
        f"{ctx.year:04d}", who.codes[first],
    )]

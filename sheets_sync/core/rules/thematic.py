"""THEME-QUARTERLY: at least ``thematic_per_quarter`` thematic (or combined) meetings per quarter.

A cell is expected in quarter Q of the checked year when Q is due (``report_grace_days`` after
its last day) and the cell was active (rules.md "Active cell") in at least 2 of its months.
A meeting counts for Q when its type is Chuyên đề or Thường kỳ kết hợp chuyên đề and its
Kỳ tháng falls in Q, whatever its date; extraordinary meetings do not count.
"""
from __future__ import annotations

from collections import Counter
from itertools import compress

from ..findings import ERROR, Finding
from .base import (
    UnitContext,
    fmt_date,
    is_due,
    quarter_deadline,
    quarter_key,
    row_code_keys,
    thematic_rows,
)

TAB = "Sinh hoạt"
MIN_ACTIVE_MONTHS = 2
ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}


def check(ctx: UnitContext) -> list[Finding]:
    tab = ctx.tab("meetings")
    # Without the cell, month or type column thematic meetings cannot be told apart: disabled.
    if tab is None or not all(tab.has(c) for c in ("cell_code", "month", "meeting_type")):
        return []
    quarters = [q for q in range(1, 5)
                if is_due(quarter_deadline(ctx.year, q, ctx.params), ctx.as_of)]
    if not quarters:
        return []
    year = f"{ctx.year:04d}"
    keys, months = row_code_keys(tab), tab.col("month")
    thematic = thematic_rows(tab)
    quarter_of = {m: (int(m[5:7]) - 1) // 3 + 1 for m in set(compress(months, thematic))
                  if m is not None and m[:4] == year}
    # thematic meetings per (cell key, quarter of the checked year); rows without a cell or
    # outside the year are counted under None, which is never looked up
    held = Counter(zip(compress(keys, thematic), map(quarter_of.get, compress(months, thematic))))
    needed = ctx.params["thematic_per_quarter"]
    deadlines = {q: fmt_date(quarter_deadline(ctx.year, q, ctx.params)) for q in quarters}
    # months_active -> active months of each quarter (index 1–4), once per distinct pattern
    active_in: dict[tuple[bool, ...], tuple[int, ...]] = {}
    out = []
    for key, cell in ctx.cells.items():
        months_active = cell.months_active(ctx.year)
        active = active_in.get(months_active)
        if active is None:
            active = active_in[months_active] = (
                0, *(sum(months_active[3 * q - 2:3 * q + 1]) for q in range(1, 5)))
        for q in quarters:
            if active[q] < MIN_ACTIVE_MONTHS:
                continue
            count = held[(key, q)]
            if count >= needed:
                continue
            out.append(ctx.period_finding(
                TAB, "THEME-QUARTERLY", ERROR,
                f"Chi bộ {cell.code} có {count} buổi sinh hoạt chuyên đề trong quý "
                f"{ROMAN[q]}/{ctx.year}, cần ít nhất {needed} (hạn nhập {deadlines[q]}).",
                quarter_key(ctx.year, q), cell.code,
            ))
    return out

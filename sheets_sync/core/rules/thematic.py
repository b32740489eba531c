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
    held: Counter[tuple[str, int]] = Counter()
    keys, months = row_code_keys(tab), tab.col("month")
    for i in compress(range(len(keys)), thematic_rows(tab)):
        key, m = keys[i], months[i]
        if key is not None and m is not None and m[:4] == year:
            held[(key, (int(m[5:7]) - 1) // 3 + 1)] += 1
    needed = ctx.params["thematic_per_quarter"]
    out = []
    for key, cell in ctx.cells.items():
        months_active = cell.months_active(ctx.year)
        for q in quarters:
            active = sum(months_active[3 * q - 2:3 * q + 1])
            count = held[(key, q)]
            if active < MIN_ACTIVE_MONTHS or count >= needed:
                continue
            out.append(ctx.period_finding(
                TAB, "THEME-QUARTERLY", ERROR,
                f"Chi bộ {cell.code} có {count} buổi sinh hoạt chuyên đề trong quý "
                f"{ROMAN[q]}/{ctx.year}, cần ít nhất {needed} "
                f"(hạn nhập {fmt_date(quarter_deadline(ctx.year, q, ctx.params))}).",
                quarter_key(ctx.year, q), cell.code,
            ))
    return out

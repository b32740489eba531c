"""BRIEF-DEADLINE: the unit committee briefs the cell secretaries on month M before day 30 of
M−1 (CT §4; rules.md "Commune duties").

- Row finding: a briefing whose Tháng áp dụng is a month M of the checked year and whose date is
  after ``brief_last_day(M)`` (day ≥ 30 of M−1 by default, or in M or later). A row whose date is
  empty or unreadable gets the DATA-* finding only.
- Period finding (unit + month, tab Triển khai): for each month M of the checked year whose
  deadline (last on-time day + ``report_grace_days``) has passed, no row for M at all. Any row
  for M, on time or not, dated or not, means the briefing was recorded; a late one is flagged
  on its row. The months are all twelve months of the year, filtered by their deadline only:
  the briefing for M is due while still in M−1 (the as-of month is not a limit).

Only when the tab and its Tháng áp dụng column exist.
"""
from __future__ import annotations

from datetime import date, timedelta

from ..findings import ERROR, Finding
from .base import (
    UnitContext,
    brief_deadline,
    brief_last_day,
    fmt_date,
    fmt_month,
    is_due,
    month_key,
)

TAB = "Triển khai"


def check(ctx: UnitContext) -> list[Finding]:
    tab = ctx.tab("briefings")
    if tab is None or not tab.has("month"):
        return []
    year = f"{ctx.year:04d}"
    months, dates = tab.col("month"), tab.col("briefing_date")
    recorded: set[str] = set()
    out: list[Finding] = []
    last_days: dict[str, date] = {}  # "YYYY-MM" -> last on-time day
    for i, m in enumerate(months):
        if m is None or m[:4] != year:
            continue
        recorded.add(m)
        d = dates[i]
        if d is None:
            continue
        last = last_days.get(m)
        if last is None:
            last = last_days[m] = brief_last_day(ctx.year, int(m[5:7]), ctx.params)
        if d > last:
            out.append(tab.finding(
                i, "BRIEF-DEADLINE", ERROR,
                f"Triển khai tháng {fmt_month(m)} ngày {fmt_date(d)}, muộn: phải trước ngày "
                f"{fmt_date(last + timedelta(days=1))}.",
            ))
    for month in range(1, 13):
        period = month_key(ctx.year, month)
        deadline = brief_deadline(ctx.year, month, ctx.params)
        if period in recorded or not is_due(deadline, ctx.as_of):
            continue
        last = brief_last_day(ctx.year, month, ctx.params)
        out.append(ctx.period_finding(
            TAB, "BRIEF-DEADLINE", ERROR,
            f"Chưa triển khai nhiệm vụ tháng {fmt_month(period)} cho bí thư chi bộ (phải trước "
            f"ngày {fmt_date(last + timedelta(days=1))}; hạn nhập {fmt_date(deadline)}).",
            period,
        ))
    return out

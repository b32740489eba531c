"""BRIEF-DEADLINE (sheets_sync.core.rules.briefing): exact flattened findings."""
from __future__ import annotations

from datetime import date

from helpers import TEMPLATE, context, flat, sheet
from sheets_sync.core.rules import briefing
from sheets_sync.core.rules.base import prev_month


def brief(year: int, month: int, d: date | None) -> dict:
    return {"month": f"{month:02d}/{year}", "briefing_date": d, "form": "Hội nghị"}


def on_time(year: int, months) -> list[dict]:
    """One briefing per month, on the 15th of the month before."""
    return [brief(year, m, date(*prev_month(year, m), 15)) for m in months]


def data_rules(ctx) -> list[str]:
    """The reader's DATA-* findings (the helpers' workbooks lack the other required tabs)."""
    return sorted(f.rule for f in ctx.unit.findings if f.rule.startswith("DATA-"))


def run(ctx):
    return flat(briefing.check(ctx))


def test_clean_year_and_pending_months():
    # As of 25/11/2026: December's briefing (by 29/11, entered by 04/12) is still pending.
    assert run(context(date(2026, 11, 25), briefings=on_time(2026, range(1, 12)))) == []


def test_missing_month_pending_until_deadline_plus_grace():
    rows = on_time(2026, range(1, 11))  # November missing: on time until 29/10, due after 03/11
    assert run(context(date(2026, 11, 3), briefings=rows)) == []
    ctx = context(date(2026, 11, 4), briefings=rows)
    assert run(ctx) == [("BRIEF-DEADLINE", None, "2026-11", "error")]
    (f,) = briefing.check(ctx)
    assert (f.unit, f.tab, f.row, f.cell) == ("NT", "Triển khai", None, None)
    assert f.message == ("Chưa triển khai nhiệm vụ tháng 11/2026 cho bí thư chi bộ (phải trước "
                         "ngày 30/10/2026; hạn nhập 03/11/2026).")


def test_due_before_the_month_itself_with_no_grace():
    # With no grace days December's briefing is due from 30/11, while still in November.
    rows = on_time(2026, range(1, 12))
    assert run(context(date(2026, 11, 29), params={"report_grace_days": 0}, briefings=rows)) == []
    assert run(context(date(2026, 11, 30), params={"report_grace_days": 0}, briefings=rows)) == [
        ("BRIEF-DEADLINE", None, "2026-12", "error")]


def test_day_boundaries():
    rows = on_time(2026, [1, 2, 6, 7, 8, 9, 10]) + [
        brief(2026, 3, date(2026, 2, 28)),  # row 9: last day of February: on time
        brief(2026, 4, date(2026, 3, 29)),  # row 10: 29th of a 31-day month: on time
        brief(2026, 5, date(2026, 4, 29)),  # row 11: 29th of a 30-day month: on time
        brief(2026, 11, date(2026, 10, 30)),  # row 12: the 30th: late
        brief(2026, 12, date(2026, 12, 2)),  # row 13: in the month itself: late
    ]
    ctx = context(date(2026, 12, 10), briefings=rows)
    assert run(ctx) == [("BRIEF-DEADLINE", 12, "2026-11", "error"),
                        ("BRIEF-DEADLINE", 13, "2026-12", "error")]
    msgs = {f.row: f.message for f in briefing.check(ctx)}
    assert msgs[12] == "Triển khai tháng 11/2026 ngày 30/10/2026, muộn: phải trước ngày 30/10/2026."
    assert msgs[13] == "Triển khai tháng 12/2026 ngày 02/12/2026, muộn: phải trước ngày 30/11/2026."


def test_february_deadline_in_a_leap_year():
    rows = [brief(2028, 1, date(2027, 12, 20)), brief(2028, 2, date(2028, 1, 29)),
            brief(2028, 3, date(2028, 2, 29))]
    assert run(context(date(2028, 3, 20), briefings=rows)) == []
    rows[2] = brief(2028, 3, date(2028, 3, 1))
    ctx = context(date(2028, 3, 20), briefings=rows)
    assert run(ctx) == [("BRIEF-DEADLINE", 4, "2028-03", "error")]
    assert briefing.check(ctx)[0].message.endswith("phải trước ngày 01/03/2028.")


def test_inclusive_deadline_makes_the_30th_on_time():
    rows = on_time(2026, range(1, 10)) + [
        brief(2026, 10, date(2026, 9, 30)),  # row 11: the 30th: on time
        brief(2026, 11, date(2026, 10, 31)),  # row 12: the 31st: late
    ]
    params = {"brief_deadline_inclusive": True}
    ctx = context(date(2026, 11, 20), params=params, briefings=rows)
    assert run(ctx) == [("BRIEF-DEADLINE", 12, "2026-11", "error")]
    assert briefing.check(ctx)[0].message.endswith("phải trước ngày 31/10/2026.")
    # Pending until the 30th + 5 days: November's briefing missing, due from 05/11.
    rows = rows[:-1]
    assert run(context(date(2026, 11, 4), params=params, briefings=rows)) == []
    assert run(context(date(2026, 11, 5), params=params, briefings=rows)) == [
        ("BRIEF-DEADLINE", None, "2026-11", "error")]


def test_one_on_time_row_makes_the_month_compliant_late_rows_still_flagged():
    rows = on_time(2026, range(1, 10)) + [
        brief(2026, 10, date(2026, 9, 30)),  # row 11: late, but the next row is on time
        brief(2026, 10, date(2026, 9, 10)),  # row 12
        brief(2026, 11, date(2026, 11, 2)),  # row 13: only a late row: no period finding
    ]
    assert run(context(date(2026, 11, 20), briefings=rows)) == [
        ("BRIEF-DEADLINE", 11, "2026-10", "error"),
        ("BRIEF-DEADLINE", 13, "2026-11", "error"),
    ]


def test_any_earlier_date_counts_and_undated_rows_are_recorded():
    rows = on_time(2026, range(1, 9)) + [
        brief(2026, 9, date(2026, 6, 1)),  # months ahead: on time
        brief(2026, 10, None),  # no date: DATA-REQUIRED only, the month is recorded
        brief(2026, 11, "30/10"),  # unreadable date: DATA-INVALID only
    ]
    ctx = context(date(2026, 11, 20), briefings=rows)
    assert run(ctx) == []
    assert data_rules(ctx) == ["DATA-INVALID", "DATA-REQUIRED"]


def test_only_the_checked_year():
    rows = [brief(2025, 12, date(2025, 12, 5)),  # late, but 2025
            brief(2026, 1, date(2025, 12, 29))]  # January 2026 briefed in December: on time
    assert run(context(date(2026, 2, 10), briefings=rows)) == [
        ("BRIEF-DEADLINE", None, "2026-02", "error")]
    # A past year: every month is due.
    ctx = context(date(2027, 3, 1), year=2026, briefings=on_time(2026, range(1, 12)))
    assert run(ctx) == [("BRIEF-DEADLINE", None, "2026-12", "error")]


def test_unreadable_month_row_is_not_attributed():
    rows = on_time(2026, range(1, 3)) + [{"month": "tháng ba", "briefing_date": date(2026, 3, 30)}]
    assert run(context(date(2026, 3, 10), briefings=rows)) == [
        ("BRIEF-DEADLINE", None, "2026-03", "error")]


def test_disabled_without_the_tab_or_the_month_column():
    assert run(context(date(2026, 11, 25), cells=[])) == []
    cols = [c.id for c in TEMPLATE.tab("briefings").columns if c.id != "month"]
    rows = [{"briefing_date": date(2026, 10, 30)}]
    assert run(context(date(2026, 11, 25), briefings=sheet("briefings", rows, cols))) == []


def test_without_the_date_column_only_missing_months():
    cols = [c.id for c in TEMPLATE.tab("briefings").columns if c.id != "briefing_date"]
    rows = [{"month": f"{m:02d}/2026"} for m in range(1, 11)]
    assert run(context(date(2026, 11, 25), briefings=sheet("briefings", rows, cols))) == [
        ("BRIEF-DEADLINE", None, "2026-11", "error")]

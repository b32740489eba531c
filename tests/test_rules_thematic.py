"""THEME-QUARTERLY (sheets_sync.core.rules.thematic): exact flattened findings."""
from __future__ import annotations

from datetime import date

from helpers import TEMPLATE, cell, context, flat, meeting, sheet
from sheets_sync.core.rules import thematic

COMBINED = "Thường kỳ kết hợp chuyên đề"


def themed(code: str, year: int, month: int, kind: str = "Chuyên đề", **extra) -> dict:
    return meeting(code, year, month, day=extra.pop("day", 15), meeting_type=kind, topic="Chủ đề",
                   **extra)


def run(ctx):
    return flat(thematic.check(ctx))


def cells_of(ctx, findings=None):
    return sorted((f.cell, f.period) for f in (findings or thematic.check(ctx)))


def test_pending_until_grace_days_after_the_quarter():
    # Q1 ends 31/03; deadline 31/03 + 5 = 05/04 (still pending), due from 06/04.
    assert run(context(date(2026, 4, 5), cells=[cell("CB01")], meetings=[])) == []
    ctx = context(date(2026, 4, 6), cells=[cell("CB01")], meetings=[])
    assert run(ctx) == [("THEME-QUARTERLY", None, "2026-Q1", "error")]
    (f,) = thematic.check(ctx)
    assert (f.tab, f.cell, f.row, f.unit) == ("Sinh hoạt", "CB01", None, "NT")
    assert f.message == ("Chi bộ CB01 có 0 buổi sinh hoạt chuyên đề trong quý I/2026, "
                         "cần ít nhất 1 (hạn nhập 05/04/2026).")


def test_what_counts_as_a_thematic_meeting():
    rows = [
        meeting("CB01", 2026, 1),  # regular only: does not count
        themed("CB02", 2026, 2),  # thematic
        themed("CB03", 2026, 3, COMBINED),  # combined counts
        themed("CB04", 2026, 2, "Bất thường"),  # extraordinary does not count
        themed("CB05", 2026, 3, meeting_date=date(2026, 4, 2)),  # Kỳ tháng 03: counts, any date
        themed("CB06", 2026, 4),  # April: quarter 2
        themed("cb07", 2026, 1),  # codes compared case-insensitively
        themed("CB08", 2025, 3),  # another year
    ]
    codes = [f"CB0{k}" for k in range(1, 9)]
    ctx = context(date(2026, 5, 1), cells=[cell(c) for c in codes], meetings=rows)
    assert cells_of(ctx) == [("CB01", "2026-Q1"), ("CB04", "2026-Q1"), ("CB06", "2026-Q1"),
                             ("CB08", "2026-Q1")]


def test_cell_dissolved_mid_quarter():
    cells = [cell("CB01", dissolved=date(2026, 2, 15)),  # active Jan, Feb: still expected
             cell("CB02", dissolved=date(2026, 1, 15))]  # active Jan only: not expected
    ctx = context(date(2026, 12, 31), cells=cells, meetings=[])
    assert run(ctx) == [("THEME-QUARTERLY", None, "2026-Q1", "error")]
    assert cells_of(ctx) == [("CB01", "2026-Q1")]


def test_cell_founded_mid_quarter():
    cells = [cell("CB01", founded=date(2026, 8, 2)),  # active Sep only in Q3
             cell("CB02", founded=date(2026, 8, 1))]  # active Aug, Sep
    ctx = context(date(2026, 10, 6), cells=cells, meetings=[])
    assert cells_of(ctx) == [("CB02", "2026-Q3")]


def test_every_due_quarter_of_a_past_year():
    ctx = context(date(2027, 1, 6), year=2026, cells=[cell("CB01")],
                  meetings=[themed("CB01", 2026, 5), themed("CB01", 2027, 1)])
    assert run(ctx) == [("THEME-QUARTERLY", None, "2026-Q1", "error"),
                        ("THEME-QUARTERLY", None, "2026-Q3", "error"),
                        ("THEME-QUARTERLY", None, "2026-Q4", "error")]
    # Q4 2026 is pending until 05/01/2027
    ctx = context(date(2027, 1, 5), year=2026, cells=[cell("CB01")],
                  meetings=[themed("CB01", 2026, 5)])
    assert [f[2] for f in run(ctx)] == ["2026-Q1", "2026-Q3"]


def test_thematic_per_quarter_parameter():
    rows = [themed("CB01", 2026, 1), themed("CB02", 2026, 1), themed("CB02", 2026, 3, COMBINED)]
    ctx = context(date(2026, 4, 6), params={"thematic_per_quarter": 2},
                  cells=[cell("CB01"), cell("CB02")], meetings=rows)
    assert cells_of(ctx) == [("CB01", "2026-Q1")]
    assert "có 1 buổi sinh hoạt chuyên đề trong quý I/2026, cần ít nhất 2" in \
        thematic.check(ctx)[0].message


def test_no_meetings_tab_or_no_type_column_disables_the_rule():
    assert run(context(date(2026, 4, 6), cells=[cell("CB01")])) == []
    cols = [c.id for c in TEMPLATE.tab("meetings").columns if c.id != "meeting_type"]
    rows = [{k: v for k, v in meeting("CB01", 2026, 1).items() if k != "meeting_type"}]
    ctx = context(date(2026, 4, 6), cells=[cell("CB01")], meetings=sheet("meetings", rows, cols))
    assert run(ctx) == []


def test_unknown_cells_and_unreadable_months_are_ignored():
    rows = [themed("CB09", 2026, 1), {**themed("CB01", 2026, 1), "month": "quý 1"}]
    ctx = context(date(2026, 4, 6), cells=[cell("CB01")], meetings=rows)
    assert cells_of(ctx) == [("CB01", "2026-Q1")]

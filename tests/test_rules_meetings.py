"""MEET-* rules (sheets_sync.core.rules.meetings): exact flattened findings."""
from __future__ import annotations

from datetime import date, timedelta

from helpers import TEMPLATE, cell, context, flat, meeting, only, sheet
from sheets_sync.core.rules import meetings
from sheets_sync.core.rules.base import first_regular_meetings, regular_duplicates

COMBINED = "Thường kỳ kết hợp chuyên đề"
ALL_COLUMNS = [c.id for c in TEMPLATE.tab("meetings").columns]


def meet(code: str, year: int, month: int, day: int = 3, **extra) -> dict:
    """helpers.meeting() with the pre-meeting on the day before (helpers.meeting() puts it on
    the 1st, which is more than 10 days before a meeting after the 11th)."""
    extra.setdefault("premeeting_date", date(year, month, day) - timedelta(days=1))
    return meeting(code, year, month, day, **extra)


def run(ctx):
    return flat(meetings.check(ctx))


def year_of(code: str, year: int, months, per_month: dict | None = None) -> list[dict]:
    """Clean regular meetings of ``code`` for ``months``; per_month[m] = overrides of month m."""
    return [meeting(code, year, m, **(per_month or {}).get(m, {})) for m in months]


def without(rows: list[dict], *cols: str) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in cols} for r in rows]


# --- clean data, deadlines, active cells ----------------------------------------------------------

def test_clean_year_has_no_findings():
    ctx = context(date(2026, 12, 31), cells=[cell("CB01")],
                  meetings=year_of("CB01", 2026, range(1, 13)))
    assert run(ctx) == []


def test_pending_on_deadline_day_and_due_the_day_after():
    rows = year_of("CB01", 2026, range(1, 10))
    assert run(context(date(2026, 10, 12), cells=[cell("CB01")], meetings=rows)) == []
    ctx = context(date(2026, 10, 13), cells=[cell("CB01")], meetings=rows)
    assert run(ctx) == [("MEET-MISSING", None, "2026-10", "error")]
    (f,) = meetings.check(ctx)
    assert (f.tab, f.cell, f.row) == ("Sinh hoạt", "CB01", None)
    assert f.message == ("Chi bộ CB01 chưa có buổi sinh hoạt thường kỳ tháng 10/2026 "
                         "(hạn nhập 12/10/2026).")


def test_missing_for_every_due_month_of_every_cell():
    ctx = context(date(2026, 3, 13), cells=[cell("CB01"), cell("CB02")],
                  meetings=[meeting("CB01", 2026, 2)])
    assert run(ctx) == [
        ("MEET-MISSING", None, "2026-01", "error"),
        ("MEET-MISSING", None, "2026-01", "error"),
        ("MEET-MISSING", None, "2026-02", "error"),
        ("MEET-MISSING", None, "2026-03", "error"),
        ("MEET-MISSING", None, "2026-03", "error"),
    ]
    assert sorted((f.cell, f.period) for f in meetings.check(ctx)) == [
        ("CB01", "2026-01"), ("CB01", "2026-03"),
        ("CB02", "2026-01"), ("CB02", "2026-02"), ("CB02", "2026-03"),
    ]


def test_cell_code_is_matched_case_insensitively():
    ctx = context(date(2026, 1, 20), cells=[cell("CB01")], meetings=[meeting("cb01", 2026, 1)])
    assert run(ctx) == []


def test_cell_founded_on_the_2nd_is_active_from_next_month():
    cells = [cell("CB01", founded=date(2026, 3, 2)), cell("CB02", founded=date(2026, 3, 1))]
    ctx = context(date(2026, 4, 20), cells=cells, meetings=[])
    assert sorted((f.cell, f.period) for f in meetings.check(ctx)) == [
        ("CB01", "2026-04"), ("CB02", "2026-03"), ("CB02", "2026-04"),
    ]


def test_cell_dissolved_is_not_expected_after_the_1st():
    # dissolved 1 Mar: still active in March (on the 1st); dissolved 31 Jan: January only.
    cells = [cell("CB01", dissolved=date(2026, 3, 1)), cell("CB02", dissolved=date(2026, 1, 31))]
    ctx = context(date(2026, 6, 30), cells=cells, meetings=[])
    assert sorted((f.cell, f.period) for f in meetings.check(ctx)) == [
        ("CB01", "2026-01"), ("CB01", "2026-02"), ("CB01", "2026-03"), ("CB02", "2026-01"),
    ]


def test_past_year_expects_twelve_months_and_ignores_other_years():
    ctx = context(date(2027, 2, 1), year=2026, cells=[cell("CB01")],
                  meetings=year_of("CB01", 2026, range(1, 12)) + [meeting("CB01", 2027, 1, day=20)])
    # December 2026 missing; the January 2027 row (outside the window) is not checked.
    assert run(ctx) == [("MEET-MISSING", None, "2026-12", "error")]


def test_future_year_expects_nothing():
    ctx = context(date(2026, 5, 1), year=2027, cells=[cell("CB01")], meetings=[])
    assert run(ctx) == []


def test_no_missing_without_the_tab_or_its_key_columns():
    assert run(context(date(2026, 5, 1), cells=[cell("CB01")])) == []
    cols = [c for c in ALL_COLUMNS if c != "month"]
    rows = without([meet("CB01", 2026, 1, day=20)], "month")
    ctx = context(date(2026, 5, 1), cells=[cell("CB01")], meetings=sheet("meetings", rows, cols))
    # no month: no MEET-MISSING, no MEET-WINDOW (needs the month); the meeting year is 2026
    assert run(ctx) == []


def test_empty_meetings_tab_still_expects_meetings():
    ctx = context(date(2026, 1, 13), cells=[cell("CB01")], meetings=[])
    assert run(ctx) == [("MEET-MISSING", None, "2026-01", "error")]


def test_thematic_or_extraordinary_row_is_not_the_regular_meeting():
    rows = [meeting("CB01", 2026, 1, meeting_type="Chuyên đề", topic="Nghị quyết"),
            meeting("CB01", 2026, 2, meeting_type="Bất thường"),
            meeting("CB01", 2026, 3, meeting_type=COMBINED, topic="Nghị quyết")]
    ctx = context(date(2026, 3, 31), cells=[cell("CB01")], meetings=rows)
    assert run(ctx) == [("MEET-MISSING", None, "2026-01", "error"),
                        ("MEET-MISSING", None, "2026-02", "error")]


def test_blank_type_is_regular():
    ctx = context(date(2026, 1, 31), cells=[cell("CB01")],
                  meetings=[meeting("CB01", 2026, 1, meeting_type=None, day=9)])
    assert run(ctx) == [("MEET-WINDOW", 2, "2026-01", "error")]


# --- window and preferred day ---------------------------------------------------------------------

def test_window_in_february():
    rows = [meeting("CB01", 2026, 2, day=7), meeting("CB02", 2026, 2, day=8),
            meeting("CB03", 2026, 2, day=1)]
    ctx = context(date(2026, 2, 28), cells=[cell("CB01"), cell("CB02"), cell("CB03")],
                  meetings=rows)
    assert run(ctx) == [
        ("MEET-MISSING", None, "2026-01", "error"),
        ("MEET-MISSING", None, "2026-01", "error"),
        ("MEET-MISSING", None, "2026-01", "error"),
        ("MEET-PREFERRED-DAY", 2, "2026-02", "info"),
        ("MEET-PREFERRED-DAY", 4, "2026-02", "info"),
        ("MEET-WINDOW", 3, "2026-02", "error"),
    ]
    (w,) = only(meetings.check(ctx), "MEET-WINDOW")
    assert w.message == "Sinh hoạt ngày 08/02/2026, ngoài khung ngày 1–7."
    assert w.cell == "CB02"


def test_window_end_beyond_february_clamps_the_deadline():
    params = {"window_end_day": 30, "preferred_day": None}
    rows = [meeting("CB01", 2026, 1), meet("CB01", 2026, 2, day=28)]
    cells = [cell("CB01"), cell("CB02")]
    # February's window ends on the 28th: deadline 28/02 + 5 = 05/03
    pending = context(date(2026, 3, 5), params=params, cells=cells, meetings=rows)
    assert run(pending) == [("MEET-MISSING", None, "2026-01", "error")]
    due = context(date(2026, 3, 6), params=params, cells=cells, meetings=rows)
    assert run(due) == [("MEET-MISSING", None, "2026-01", "error"),
                        ("MEET-MISSING", None, "2026-02", "error")]


def test_date_in_another_month_is_outside_the_window():
    row = meeting("CB01", 2026, 2, meeting_date=date(2026, 1, 30),
                  premeeting_date=date(2026, 1, 28), docs_date=date(2026, 1, 28))
    ctx = context(date(2026, 2, 10), cells=[cell("CB01")],
                  meetings=[meeting("CB01", 2026, 1), row])
    assert run(ctx) == [("MEET-WINDOW", 3, "2026-02", "error")]
    (f,) = meetings.check(ctx)
    assert f.message == "Sinh hoạt ngày 30/01/2026, ngoài khung ngày 1–7 của kỳ tháng 02/2026."


def test_reason_turns_window_into_a_warning():
    rows = [meet("CB01", 2026, 1, day=12, reason="Tết Nguyên đán"),
            meet("CB02", 2026, 1, day=12)]
    ctx = context(date(2026, 1, 31), cells=[cell("CB01"), cell("CB02")], meetings=rows)
    assert run(ctx) == [("MEET-WINDOW", 2, "2026-01", "warning"),
                        ("MEET-WINDOW", 3, "2026-01", "error")]
    msgs = {f.cell: f.message for f in meetings.check(ctx)}
    assert msgs["CB01"].startswith("Sinh hoạt ngày 12/01/2026, ngoài khung ngày 1–7.")
    assert "Tết Nguyên đán" in msgs["CB01"]


def test_unreadable_meeting_date_disables_date_rules_but_counts_as_the_meeting():
    row = meeting("CB01", 2026, 1, meeting_date="ngày 3", premeeting_date=date(2025, 11, 1))
    ctx = context(date(2026, 1, 31), cells=[cell("CB01")], meetings=[row])
    assert run(ctx) == []
    assert ("DATA-INVALID", 2, "2026-01", "warning") in flat(ctx.unit.findings)


def test_unreadable_month_skips_window_only():
    # helpers.meeting() cannot override the "month" column (its parameter has that name)
    row = {**meet("CB01", 2026, 1, day=20, unexcused=1, present=18), "month": "tháng giêng"}
    ctx = context(date(2026, 1, 31), cells=[cell("CB01")],
                  meetings=[meeting("CB01", 2026, 1), row])
    assert run(ctx) == [("MEET-RATING-INFLATED", 3, None, "warning"),
                        ("MEET-UNEXCUSED", 3, None, "error")]


def test_window_end_day_override_and_its_deadline():
    params = {"window_end_day": 10}
    rows = year_of("CB01", 2026, range(1, 10), {9: {"day": 9}})
    ctx = context(date(2026, 10, 15), params=params, cells=[cell("CB01")], meetings=rows)
    # the 9th is inside the window (only the advisory preferred day); October pending until 15/10
    assert run(ctx) == [("MEET-PREFERRED-DAY", 10, "2026-09", "info")]
    ctx = context(date(2026, 10, 16), params=params, cells=[cell("CB01")], meetings=rows)
    assert run(ctx) == [("MEET-MISSING", None, "2026-10", "error"),
                        ("MEET-PREFERRED-DAY", 10, "2026-09", "info")]
    (f,) = only(meetings.check(ctx), "MEET-MISSING")
    assert "hạn nhập 15/10/2026" in f.message


def test_preferred_day_unset_turns_the_rule_off():
    rows = [meeting("CB01", 2026, 1, day=5)]
    on = context(date(2026, 1, 31), cells=[cell("CB01")], meetings=rows)
    assert run(on) == [("MEET-PREFERRED-DAY", 2, "2026-01", "info")]
    assert meetings.check(on)[0].message == ("Sinh hoạt ngày 05/01/2026, trong khung nhưng không "
                                             "vào ngày ưu tiên (ngày 3).")
    off = context(date(2026, 1, 31), params={"preferred_day": None}, cells=[cell("CB01")],
                  meetings=rows)
    assert run(off) == []


# --- duration -------------------------------------------------------------------------------------

def test_combined_at_119_fails_and_120_passes():
    rows = [meeting("CB01", 2026, 1, meeting_type=COMBINED, topic="NQ", duration=119,
                    end_time="09:29"),
            meeting("CB02", 2026, 1, meeting_type=COMBINED, topic="NQ", duration=120)]
    ctx = context(date(2026, 1, 31), cells=[cell("CB01"), cell("CB02")], meetings=rows)
    assert run(ctx) == [("MEET-DURATION", 2, "2026-01", "error"),
                        ("MEET-RATING-INFLATED", 2, "2026-01", "warning")]
    f = only(meetings.check(ctx), "MEET-DURATION")[0]
    assert f.message == "Thời lượng 119 phút, dưới mức tối thiểu 120 phút (kết hợp chuyên đề)."


def test_regular_at_89_fails_and_90_passes():
    rows = [meeting("CB01", 2026, 1, duration=89, end_time="08:59", rating="Khá", score=80),
            meeting("CB02", 2026, 1, duration=90, end_time="09:00")]
    ctx = context(date(2026, 1, 31), cells=[cell("CB01"), cell("CB02")], meetings=rows)
    assert run(ctx) == [("MEET-DURATION", 2, "2026-01", "error")]


def test_duration_from_times_when_the_column_is_empty():
    rows = [meeting("CB01", 2026, 1, duration=None, start_time="7h30", end_time="8h45",
                    rating="Khá", score=80),
            meeting("CB02", 2026, 1, duration=None, start_time="07:30", end_time="09:00")]
    ctx = context(date(2026, 1, 31), cells=[cell("CB01"), cell("CB02")], meetings=rows)
    assert run(ctx) == [("MEET-DURATION", 2, "2026-01", "error")]
    assert "Thời lượng 75 phút" in meetings.check(ctx)[0].message


def test_times_disagreeing_with_the_column():
    rows = [meeting("CB01", 2026, 1, end_time="09:36"),  # 126 vs 120: 6 minutes
            meeting("CB02", 2026, 1, end_time="09:35"),  # 5 minutes: tolerated
            meeting("CB03", 2026, 1, duration=80, rating="Khá", score=80)]  # column used
    ctx = context(date(2026, 1, 31), cells=[cell(c) for c in ("CB01", "CB02", "CB03")],
                  meetings=rows)
    assert run(ctx) == [("DATA-INVALID", 2, "2026-01", "warning"),
                        ("DATA-INVALID", 4, "2026-01", "warning"),
                        ("MEET-DURATION", 4, "2026-01", "error")]
    msgs = [f.message for f in meetings.check(ctx)]
    assert "Thời lượng 120 phút khác giờ 07:30–09:36 (126 phút" in msgs[0]
    assert any("Thời lượng 80 phút, dưới mức tối thiểu 90 phút" in m for m in msgs)


def test_end_not_after_start():
    rows = [meeting("CB01", 2026, 1, start_time="09:30", end_time="07:30", duration=None),
            meeting("CB02", 2026, 1, start_time="09:30", end_time="09:30", duration=120)]
    ctx = context(date(2026, 1, 31), cells=[cell("CB01"), cell("CB02")], meetings=rows)
    # no duration for CB01 (no MEET-DURATION); CB02 uses its column, no disagreement finding
    assert run(ctx) == [("DATA-INVALID", 2, "2026-01", "warning"),
                        ("DATA-INVALID", 3, "2026-01", "warning")]
    f = meetings.check(ctx)[0]
    assert f.message == "Giờ kết thúc 07:30 không sau giờ bắt đầu 09:30."


def test_small_cell_minimum():
    params = {"small_cell_members": 10, "min_minutes_small_cell": 60}
    rows = [meeting("CB01", 2026, 1, required_count=8, present=8, excused=0, duration=70,
                    end_time="08:40"),
            meeting("CB02", 2026, 1, duration=70, end_time="08:40", rating="Khá", score=80),
            meeting("CB03", 2026, 1, meeting_type=COMBINED, topic="NQ", required_count=8,
                    present=8, excused=0, duration=100, end_time="09:10", rating="Khá", score=80)]
    ctx = context(date(2026, 1, 31), params=params,
                  cells=[cell(c) for c in ("CB01", "CB02", "CB03")], meetings=rows)
    assert run(ctx) == [("MEET-DURATION", 3, "2026-01", "error"),
                        ("MEET-DURATION", 4, "2026-01", "error")]


# --- attendance, absences, pre-meeting, flags -----------------------------------------------------

def test_attendance_17_of_20_fails_18_passes():
    rows = [meeting("CB01", 2026, 1, present=17, excused=3, rating="Khá", score=80),
            meeting("CB02", 2026, 1, present=18, excused=2),
            meeting("CB03", 2026, 1, required_count=0, present=0, excused=0),
            meeting("CB04", 2026, 1, present=None)]
    ctx = context(date(2026, 1, 31), cells=[cell(c) for c in ("CB01", "CB02", "CB03", "CB04")],
                  meetings=rows)
    assert run(ctx) == [("MEET-ATTENDANCE", 2, "2026-01", "error")]
    assert meetings.check(ctx)[0].message == "Tỷ lệ dự 17/20 = 85,0%, phải trên 85%."


def test_attendance_rate_parameter_is_exact():
    rows = [meeting("CB01", 2026, 1, required_count=8, present=7, excused=1)]  # 87.5 %
    ctx = context(date(2026, 1, 31), params={"min_attendance_rate": 0.875}, cells=[cell("CB01")],
                  meetings=rows)
    assert run(ctx) == [("MEET-ATTENDANCE", 2, "2026-01", "error"),
                        ("MEET-RATING-INFLATED", 2, "2026-01", "warning")]
    assert only(meetings.check(ctx), "MEET-ATTENDANCE")[0].message == (
        "Tỷ lệ dự 7/8 = 87,5%, phải trên 87,5%.")


def test_unexcused_absence():
    rows = [meeting("CB01", 2026, 1, present=19, excused=0, unexcused=1, rating="Khá", score=80)]
    ctx = context(date(2026, 1, 31), cells=[cell("CB01")], meetings=rows)
    assert run(ctx) == [("MEET-UNEXCUSED", 2, "2026-01", "error")]
    assert meetings.check(ctx)[0].message == "Có 1 đảng viên vắng không lý do."


def test_premeeting():
    rows = [meeting("CB01", 2026, 1, day=13, premeeting_date=None, reason="Bão"),  # empty
            meeting("CB02", 2026, 1, premeeting_date=date(2026, 1, 4)),  # after
            meeting("CB03", 2026, 1, day=5, premeeting_date=date(2025, 12, 25)),  # 11 days
            meeting("CB04", 2026, 1, day=3, premeeting_date=date(2025, 12, 24)),  # 10 days
            meeting("CB05", 2026, 1, premeeting_date=date(2026, 1, 3)),  # same day
            meeting("CB06", 2026, 1, premeeting_date="hôm qua")]  # unreadable
    cells = [cell(f"CB0{k}") for k in range(1, 7)]
    ctx = context(date(2026, 1, 12), params={"preferred_day": None}, cells=cells,
                  meetings=[{**r, "rating": "Khá", "score": 80} for r in rows])
    assert run(ctx) == [
        ("MEET-PREMEETING", 2, "2026-01", "error"),
        ("MEET-PREMEETING", 3, "2026-01", "error"),
        ("MEET-PREMEETING", 4, "2026-01", "error"),
        ("MEET-WINDOW", 2, "2026-01", "warning"),
    ]
    msgs = {f.cell: f.message for f in only(meetings.check(ctx), "MEET-PREMEETING")}
    assert msgs["CB01"] == "Chưa có ngày họp chi ủy chuẩn bị buổi sinh hoạt."
    assert msgs["CB02"] == "Họp chi ủy ngày 04/01/2026, sau buổi sinh hoạt ngày 03/01/2026."
    assert msgs["CB03"] == ("Họp chi ủy ngày 25/12/2025, trước buổi sinh hoạt ngày 05/01/2026 "
                            "11 ngày (tối đa 10 ngày).")
    assert ("DATA-INVALID", 7, "2026-01", "warning") in flat(ctx.unit.findings)


def test_missing_premeeting_column_gives_only_the_template_finding():
    cols = [c for c in ALL_COLUMNS if c != "premeeting_date"]
    rows = without([meeting("CB01", 2026, 1), meeting("CB02", 2026, 1, premeeting_date=None)],
                   "premeeting_date")
    ctx = context(date(2026, 1, 31), cells=[cell("CB01"), cell("CB02")],
                  meetings=sheet("meetings", rows, cols))
    assert run(ctx) == []
    assert [(f.rule, f.row) for f in ctx.unit.findings if f.tab == "Sinh hoạt"] == [
        ("TPL-COLUMN-MISSING", None)]


def test_minutes_criticism_only_on_explicit_no():
    rows = [meeting("CB01", 2026, 1, minutes_full="Không", criticism="Không", rating="Khá",
                    score=80),
            meeting("CB02", 2026, 1, minutes_full=None, criticism=None)]
    ctx = context(date(2026, 1, 31), cells=[cell("CB01"), cell("CB02")], meetings=rows)
    assert run(ctx) == [("MEET-CRITICISM", 2, "2026-01", "warning"),
                        ("MEET-MINUTES", 2, "2026-01", "error")]
    assert ("DATA-REQUIRED", 3, "2026-01", "warning") in flat(ctx.unit.findings)


def test_content_needs_one_yes_and_fires_on_a_no():
    cases = [(None, "Không"), ("Có", "Không"), (None, None), ("Không", "Không"), ("Không", "Có")]
    rows = [meeting(f"CB0{k}", 2026, 1, link_tw4=a, link_hcm=b)
            for k, (a, b) in enumerate(cases, 1)]
    ctx = context(date(2026, 1, 31), cells=[cell(f"CB0{k}") for k in range(1, 6)], meetings=rows)
    assert run(ctx) == [("MEET-CONTENT", 2, "2026-01", "warning"),
                        ("MEET-CONTENT", 5, "2026-01", "warning")]
    msgs = [f.message for f in meetings.check(ctx)]
    assert msgs[0] == ("Nội dung chưa ghi việc gắn Nghị quyết TW4, không gắn học tập, "
                       "làm theo Bác.")


# --- documents on the handbook app ----------------------------------------------------------------

def test_docs_app_before_and_after_effective_date():
    rows = [meeting("CB01", 2025, 10, docs_date=date(2025, 10, 3)),  # before 01/11/2025: off
            meeting("CB01", 2025, 11, docs_date=date(2025, 11, 3)),  # same day: late
            meeting("CB02", 2025, 11, docs_date=date(2025, 11, 2)),  # 1 day before: ok
            meeting("CB03", 2025, 11, docs_date=None),  # not recorded
            meeting("CB04", 2025, 11, docs_date="mai")]  # unreadable: DATA-INVALID only
    ctx = context(date(2025, 11, 30), cells=[cell(f"CB0{k}") for k in range(1, 5)], meetings=rows)
    got = flat(only(meetings.check(ctx), "MEET-DOCS-APP", "DATA-REQUIRED"))
    assert got == [("DATA-REQUIRED", 5, "2025-11", "warning"),
                   ("MEET-DOCS-APP", 3, "2025-11", "error")]
    msgs = {f.rule: f.message for f in meetings.check(ctx)}
    assert msgs["DATA-REQUIRED"] == "Chưa nhập \"Ngày đăng tài liệu lên Sổ tay đảng viên\"."
    assert msgs["MEET-DOCS-APP"] == ("Tài liệu đăng lên Sổ tay đảng viên ngày 03/11/2025, phải "
                                     "chậm nhất ngày 02/11/2025 (1 ngày trước buổi sinh hoạt "
                                     "03/11/2025).")


def test_docs_app_disabled_or_column_absent():
    rows = [meeting("CB01", 2026, 1, docs_date=date(2026, 1, 3)),
            meeting("CB02", 2026, 1, docs_date=None)]
    cells = [cell("CB01"), cell("CB02")]
    off = context(date(2026, 1, 31), params={"docs_app_enabled": False}, cells=cells, meetings=rows)
    assert run(off) == []
    cols = [c for c in ALL_COLUMNS if c != "docs_date"]
    absent = context(date(2026, 1, 31), cells=cells,
                     meetings=sheet("meetings", without(rows, "docs_date"), cols))
    assert run(absent) == []
    on = context(date(2026, 1, 31), cells=cells, meetings=rows)
    assert run(on) == [("DATA-REQUIRED", 3, "2026-01", "warning"),
                       ("MEET-DOCS-APP", 2, "2026-01", "error")]


# --- ratings --------------------------------------------------------------------------------------

def test_rating_missing_but_not_when_unreadable():
    rows = [meeting("CB01", 2026, 1, rating=None), meeting("CB02", 2026, 1, rating="Xuất sắc")]
    ctx = context(date(2026, 1, 31), cells=[cell("CB01"), cell("CB02")], meetings=rows)
    assert run(ctx) == [("MEET-RATING-MISSING", 2, "2026-01", "warning")]


def test_rating_inflated_by_score():
    cases = [(75, "Tốt"), (75, "Khá"), (40, "TB"), (90, "Tốt"), (69.5, "Khá"), (None, "Tốt"),
             (20, "Kém"), ("92,5", "tot")]
    rows = [meeting(f"CB{k:02d}", 2026, 1, score=s, rating=r) for k, (s, r) in enumerate(cases, 1)]
    ctx = context(date(2026, 1, 31), cells=[cell(f"CB{k:02d}") for k in range(1, 9)], meetings=rows)
    assert run(ctx) == [("MEET-RATING-INFLATED", 2, "2026-01", "warning"),
                        ("MEET-RATING-INFLATED", 4, "2026-01", "warning"),
                        ("MEET-RATING-INFLATED", 6, "2026-01", "warning")]
    msgs = [f.message for f in meetings.check(ctx)]
    assert msgs[0] == "Xếp loại Tốt nhưng điểm tự chấm 75 chỉ ứng với mức Khá."
    assert msgs[1] == "Xếp loại Trung bình nhưng điểm tự chấm 40 chỉ ứng với mức Kém."
    assert msgs[2] == "Xếp loại Khá nhưng điểm tự chấm 69,5 chỉ ứng với mức Trung bình."


def test_rating_thresholds_parameter():
    params = {"rating_thresholds": {"Tốt": 95, "Khá": 80, "Trung bình": 50}}
    rows = [meeting("CB01", 2026, 1, score=92)]
    ctx = context(date(2026, 1, 31), params=params, cells=[cell("CB01")], meetings=rows)
    assert run(ctx) == [("MEET-RATING-INFLATED", 2, "2026-01", "warning")]


def test_rating_inflated_by_failed_criteria():
    rows = [meeting("CB01", 2026, 1, present=17, excused=2, unexcused=1, minutes_full="Không",
                    score=75),
            meeting("CB02", 2026, 1, duration=60, end_time="08:30", rating="Khá", score=75)]
    ctx = context(date(2026, 1, 31), cells=[cell("CB01"), cell("CB02")], meetings=rows)
    assert run(ctx) == [
        ("MEET-ATTENDANCE", 2, "2026-01", "error"),
        ("MEET-DURATION", 3, "2026-01", "error"),
        ("MEET-MINUTES", 2, "2026-01", "error"),
        ("MEET-RATING-INFLATED", 2, "2026-01", "warning"),
        ("MEET-UNEXCUSED", 2, "2026-01", "error"),
    ]
    (f,) = only(meetings.check(ctx), "MEET-RATING-INFLATED")
    assert f.message == ("Xếp loại Tốt nhưng buổi sinh hoạt không đạt: tỷ lệ dự, vắng không lý do, "
                         "biên bản; điểm tự chấm 75 chỉ ứng với mức Khá.")


# --- duplicates, non-regular rows, other years ----------------------------------------------------

def test_duplicate_regular_meetings():
    rows = [meeting("CB01", 2026, 1),
            meeting("CB01", 2026, 1, meeting_type="Chuyên đề", topic="NQ"),
            meet("cb01", 2026, 1, day=20),  # duplicate: row rules still run on it
            meeting("CB01", 2026, 1, meeting_type=COMBINED, topic="NQ"),
            meeting("CB01", 2025, 1), meeting("CB01", 2025, 1)]  # other year: not checked
    ctx = context(date(2026, 1, 31), cells=[cell("CB01")], meetings=rows)
    assert run(ctx) == [("MEET-DUPLICATE", 4, "2026-01", "warning"),
                        ("MEET-DUPLICATE", 5, "2026-01", "warning"),
                        ("MEET-WINDOW", 4, "2026-01", "error")]
    f = only(meetings.check(ctx), "MEET-DUPLICATE")[0]
    assert f.message == ("Chi bộ cb01 đã có buổi sinh hoạt thường kỳ tháng 01/2026 ở dòng 2; "
                         "dòng này bị trùng.")
    assert (f.tab, f.cell) == ("Sinh hoạt", "cb01")


def test_rows_without_a_cell_or_a_month_are_neither_first_meetings_nor_duplicates():
    no_month = {**meeting("CB01", 2026, 1), "month": None}
    rows = [meeting("CB01", 2026, 1, cell_code=None), meeting("CB01", 2026, 1, cell_code=None),
            no_month, dict(no_month),
            meeting("CB01", 2026, 1, day=5), meeting("CB01", 2026, 1, day=6)]
    ctx = context(date(2026, 2, 28), cells=[cell("CB01")], meetings=rows)
    tab = ctx.tab("meetings")
    assert first_regular_meetings(tab) == {("cb01", "2026-01"): 4}  # code keys
    assert regular_duplicates(tab) == [5]
    (f,) = only(meetings.check(ctx), "MEET-DUPLICATE")
    assert f.row == 7 and "ở dòng 6;" in f.message
    assert [x.period for x in only(meetings.check(ctx), "MEET-MISSING")] == ["2026-02"]


def test_thematic_and_extraordinary_rows_get_no_meet_findings():
    bad = dict(day=20, duration=30, end_time="08:00", present=10, excused=7, unexcused=3,
               premeeting_date=None, docs_date=None, minutes_full="Không", criticism="Không",
               link_tw4="Không", link_hcm="Không", rating=None, score=10)
    rows = [meeting("CB01", 2026, 1),
            meeting("CB01", 2026, 1, meeting_type="Chuyên đề", topic="NQ", **bad),
            meeting("CB01", 2026, 1, meeting_type="Bất thường", **bad)]
    ctx = context(date(2026, 1, 31), cells=[cell("CB01")], meetings=rows)
    assert run(ctx) == []


def test_time_data_checks_apply_to_every_row():
    rows = [meeting("CB01", 2026, 1),
            meeting("CB01", 2026, 1, meeting_type="Chuyên đề", topic="NQ", start_time="10:00",
                    end_time="09:00"),
            meeting("CB01", 2025, 12, end_time="10:00")]  # other year: data rules still apply
    ctx = context(date(2026, 1, 31), cells=[cell("CB01")], meetings=rows)
    assert run(ctx) == [("DATA-INVALID", 3, "2026-01", "warning"),
                        ("DATA-INVALID", 4, "2025-12", "warning")]


def test_unreadable_type_counts_as_regular():
    rows = [meeting("CB01", 2026, 1, meeting_type="Họp thường", day=9)]
    ctx = context(date(2026, 1, 31), cells=[cell("CB01")], meetings=rows)
    assert run(ctx) == [("MEET-WINDOW", 2, "2026-01", "error")]


def test_findings_carry_the_explanation_flag():
    rows = [meeting("CB01", 2026, 1, day=10, explanation="Trùng lịch bầu cử")]
    ctx = context(date(2026, 1, 31), cells=[cell("CB01")], meetings=rows)
    (f,) = meetings.check(ctx)
    assert (f.rule, f.explained, f.severity) == ("MEET-WINDOW", True, "error")

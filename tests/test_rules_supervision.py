"""SUP-* rules (sheets_sync.core.rules.supervision): exact flattened findings."""
from __future__ import annotations

from datetime import date

from helpers import TEMPLATE, cell, context, flat, meeting, sheet
from sheets_sync.core.config import Supervisor
from sheets_sync.core.rules import data, supervision
from sheets_sync.core.rules import params as rule_params

PARAMS = rule_params.resolve()
BINH = "Trần Văn Bình"


def visit(name: str, code: str, d: date | None, **extra) -> dict:
    row = {"supervisor": name, "position": "Ủy viên Ban Thường vụ", "cell_code": code,
           "visit_date": d, "in_book": "Có", "cell_confirmed": "Có", "unit_confirmed": "Có"}
    row.update(extra)
    return row


def unit(as_of: date, code: str, visits: list[dict] | None, cells=("CB01", "CB02"),
         meetings: list[dict] | None = None, year: int | None = None):
    """A unit context whose cells met on the 3rd of every month up to the as-of date."""
    tabs = {"cells": [cell(c) for c in cells]}
    year = year or as_of.year
    if meetings is None:
        meetings = [meeting(c, year, m) for c in cells for m in range(1, 13)
                    if date(year, m, 3) <= as_of]
    tabs["meetings"] = meetings
    if visits is not None:
        tabs["visits"] = visits
    return context(as_of, year=year, code=code, **tabs)


def run(ctx):
    return flat(supervision.check(ctx))


def parent(contexts: list, supervisors, as_of: date, unreadable=(), year: int | None = None):
    return supervision.check_parent({c.unit.code: c for c in contexts}, set(unreadable),
                                    supervisors, PARAMS, as_of, year or as_of.year)


def monthly(findings, fields=("unit", "period", "cell", "row")):
    return flat(findings, fields)


# --- SUP-RECORD ---------------------------------------------------------------------------------

def test_record_on_explicit_no_only_and_says_which():
    rows = [
        visit(BINH, "CB01", date(2026, 3, 3)),  # row 2: clean
        visit(BINH, "CB01", date(2026, 4, 3), in_book="Không"),  # row 3
        visit(BINH, "CB01", date(2026, 5, 3), cell_confirmed="Không"),  # row 4
        visit(BINH, "CB02", date(2026, 6, 3), unit_confirmed="k"),  # row 5
        visit(BINH, "CB02", date(2026, 7, 3), cell_confirmed="Không",
              unit_confirmed="Không"),  # row 6
        visit(BINH, "CB02", date(2026, 8, 3), in_book="Không", unit_confirmed="Không"),  # row 7
        visit(BINH, "CB02", date(2026, 9, 3), in_book=None, cell_confirmed=None),  # row 8: empty
        visit(BINH, "CB02", date(2025, 9, 3), in_book="Không"),  # row 9: another year
    ]
    ctx = unit(date(2026, 11, 25), "NT", rows)
    assert run(ctx) == [("SUP-RECORD", 3, "2026-04", "warning"),
                        ("SUP-RECORD", 4, "2026-05", "warning"),
                        ("SUP-RECORD", 5, "2026-06", "warning"),
                        ("SUP-RECORD", 6, "2026-07", "warning"),
                        ("SUP-RECORD", 7, "2026-08", "warning")]
    msgs = {f.row: f.message for f in supervision.check(ctx)}
    assert msgs == {
        3: "Chưa ghi Sổ dự sinh hoạt.",
        4: "Chưa có xác nhận của chi ủy.",
        5: "Chưa có xác nhận của đảng ủy.",
        6: "Chưa có xác nhận của chi ủy và đảng ủy.",
        7: "Chưa ghi Sổ dự sinh hoạt; chưa có xác nhận của đảng ủy.",
    }
    f = supervision.check(ctx)[0]
    assert (f.unit, f.tab, f.cell) == ("NT", "Dự sinh hoạt", "CB01")


def test_record_without_a_confirmation_column():
    cols = [c.id for c in TEMPLATE.tab("visits").columns if c.id != "in_book"]
    rows = [{k: v for k, v in visit(BINH, "CB01", date(2026, 3, 3), cell_confirmed="Không").items()
             if k in cols}]
    ctx = unit(date(2026, 11, 25), "NT", sheet("visits", rows, cols))
    assert run(ctx) == [("SUP-RECORD", 2, "2026-03", "warning")]


# --- SUP-NO-MEETING -----------------------------------------------------------------------------

def test_visit_on_a_date_with_no_meeting():
    meetings = [
        meeting("CB01", 2026, 3, 3),
        meeting("CB01", 2026, 3, 20, meeting_type="Chuyên đề", topic="Chủ đề"),  # thematic
        meeting("CB02", 2026, 3, 5),
        meeting("CB02", 2026, 4, meeting_date=None),  # April meeting without a date
        meeting("CB01", 2026, 5, 4, meeting_date="04/05"),  # unreadable date
    ]
    rows = [
        visit(BINH, "CB01", date(2026, 3, 3)),  # row 2: on the meeting day
        visit(BINH, "CB01", date(2026, 3, 4)),  # row 3: the day after: no meeting
        visit(BINH, "CB01", date(2026, 3, 20)),  # row 4: thematic meeting: any type counts
        visit(BINH, "CB02", date(2026, 3, 3)),  # row 5: CB02 met on the 5th
        visit(BINH, "CB09", date(2026, 3, 3)),  # row 6: unknown cell: DATA-UNKNOWN-CELL instead
        visit(BINH, "cb02", date(2026, 4, 4)),  # row 7: CB02's April date unknown: cannot tell
        visit(BINH, "CB01", date(2026, 5, 4)),  # row 8: CB01's May date unreadable: cannot tell
        visit(BINH, "CB01", date(2026, 6, 3), in_book="Không"),  # row 9: both rules
        visit(BINH, "CB01", None),  # row 10: no date
        visit(BINH, "CB01", date(2025, 6, 3)),  # row 11: another year
    ]
    ctx = unit(date(2026, 11, 25), "NT", rows, meetings=meetings)
    assert run(ctx) == [("SUP-NO-MEETING", 3, "2026-03", "warning"),
                        ("SUP-NO-MEETING", 5, "2026-03", "warning"),
                        ("SUP-NO-MEETING", 9, "2026-06", "warning"),
                        ("SUP-RECORD", 9, "2026-06", "warning")]
    msgs = {f.row: f.message for f in supervision.check(ctx) if f.rule == "SUP-NO-MEETING"}
    assert msgs[3] == "Chi bộ CB01 không có buổi sinh hoạt nào ghi ngày 04/03/2026 (tab Sinh hoạt)."
    assert [(f.rule, f.row) for f in data.check(ctx)] == [("DATA-UNKNOWN-CELL", 6)]


def test_no_meeting_is_skipped_without_the_meetings_tab():
    ctx = context(date(2026, 11, 25), cells=[cell("CB01")],
                  visits=[visit(BINH, "CB01", date(2026, 3, 4))])
    assert run(ctx) == []


def test_no_meeting_without_the_register_checks_every_visit():
    ctx = context(date(2026, 11, 25), meetings=[meeting("CB01", 2026, 3)],
                  visits=[visit(BINH, "CB01", date(2026, 3, 3)),
                          visit(BINH, "CB09", date(2026, 3, 3))])
    assert run(ctx) == [("SUP-NO-MEETING", 3, "2026-03", "warning")]


# --- SUP-MONTHLY --------------------------------------------------------------------------------

def test_monthly_pending_on_the_deadline_day():
    # May ends 31/05; + 5 grace days = 05/06 is still pending; due from 06/06.
    sup = [Supervisor(BINH, ("NT",))]
    rows = [visit(BINH, "CB01", date(2026, m, 3)) for m in (1, 2, 3, 4)]
    assert parent([unit(date(2026, 6, 5), "NT", rows)], sup, date(2026, 6, 5)) == []
    found = parent([unit(date(2026, 6, 6), "NT", rows)], sup, date(2026, 6, 6))
    assert monthly(found) == [("NT", "2026-05", None, None)]
    (f,) = found
    assert (f.rule, f.severity, f.tab) == ("SUP-MONTHLY", "error", "Dự sinh hoạt")
    assert f.message == ("Đ/c Trần Văn Bình chưa dự sinh hoạt chi bộ nào trong tháng 05/2026 "
                         "(phụ trách NT; hạn nhập 05/06/2026).")


def test_one_visit_in_any_assigned_unit_is_enough():
    as_of = date(2026, 6, 10)
    sup = [Supervisor(BINH, ("NT", "NM"), role="Ủy viên Ban Thường vụ")]
    nt = unit(as_of, "NT", [visit(BINH, "CB01", date(2026, 1, 3)),
                            visit(BINH, "CB02", date(2026, 3, 3), in_book="Không")])
    nm = unit(as_of, "NM", [visit(BINH, "CB01", date(2026, 2, 3)),
                            visit(BINH, "CB01", date(2026, 4, 4))])  # no meeting that day: counts
    found = parent([nt, nm], sup, as_of)
    assert monthly(found) == [("NT", "2026-05", None, None)]
    assert found[0].message.endswith("(phụ trách NT, NM; hạn nhập 05/06/2026).")
    # The finding's unit is the first assigned unit, also when only the other one has visits.
    sup = [Supervisor(BINH, ("NM", "NT"))]
    assert monthly(parent([nt, nm], sup, as_of)) == [("NM", "2026-05", None, None)]


def test_unreadable_or_absent_unit_means_no_finding_without_a_visit():
    as_of = date(2026, 6, 10)
    sup = [Supervisor(BINH, ("NT", "NM"))]
    nt = unit(as_of, "NT", [visit(BINH, "CB01", date(2026, 2, 3))])
    # NM could not be read: February complies, the other months cannot be known.
    assert parent([nt], sup, as_of, unreadable={"NM"}) == []
    # NM not selected (absent from the contexts): the same.
    assert parent([nt], sup, as_of) == []
    # NM read but without a Dự sinh hoạt tab: the same.
    nm = unit(as_of, "NM", None)
    assert parent([nt, nm], sup, as_of) == []
    # NM read with a tab whose name/date columns are missing: the same.
    cols = [c.id for c in TEMPLATE.tab("visits").columns if c.id != "visit_date"]
    nm = unit(as_of, "NM", sheet("visits", [{"supervisor": BINH, "cell_code": "CB01"}], cols))
    assert parent([nt, nm], sup, as_of) == []
    # Both readable: every month without a visit.
    nm = unit(as_of, "NM", [])
    assert monthly(parent([nt, nm], sup, as_of)) == [
        ("NT", "2026-01", None, None), ("NT", "2026-03", None, None),
        ("NT", "2026-04", None, None), ("NT", "2026-05", None, None)]


def test_names_matched_through_aliases_case_spaces_and_missing_diacritics():
    as_of = date(2026, 5, 10)
    sups = [Supervisor(BINH, ("NT",), aliases=("Trần V. Bình",)),
            Supervisor("Lê Thị Hoa", ("NT",))]
    rows = [visit("Trần V. Bình", "CB01", date(2026, 1, 3)),  # alias
            visit("tran van binh", "CB01", date(2026, 2, 3)),  # no diacritics
            visit("  TRẦN   VĂN  BÌNH ", "CB01", date(2026, 3, 3)),  # case and spaces
            visit("Le Thi Hoa", "CB02", date(2026, 1, 3)),
            visit("Lê Thị Hoa", "CB02", date(2026, 2, 3)),
            visit("Lê Thị Hòa", "CB02", date(2026, 3, 3))]  # diacritics differ: still her
    found = parent([unit(as_of, "NT", rows)], sups, as_of)
    assert flat(found, ("period", "message")) == [
        ("2026-04", "Đ/c Lê Thị Hoa chưa dự sinh hoạt chi bộ nào trong tháng 04/2026 "
                    "(phụ trách NT; hạn nhập 05/05/2026)."),
        ("2026-04", "Đ/c Trần Văn Bình chưa dự sinh hoạt chi bộ nào trong tháng 04/2026 "
                    "(phụ trách NT; hạn nhập 05/05/2026)."),
    ]


def test_a_name_of_the_roster_is_not_credited_to_a_name_differing_only_in_diacritics():
    as_of = date(2026, 2, 10)
    sups = [Supervisor("Trần Văn Bình", ("NT",)), Supervisor("Trần Văn Bính", ("NT",))]
    rows = [visit("Trần Văn Bính", "CB01", date(2026, 1, 3))]
    found = parent([unit(as_of, "NT", rows)], sups, as_of)
    assert [f.message.split(" chưa")[0] for f in found] == ["Đ/c Trần Văn Bình"]


def test_visits_to_unknown_cells_other_years_and_other_names_do_not_count():
    as_of = date(2026, 3, 10)
    sup = [Supervisor(BINH, ("NT",))]
    rows = [visit(BINH, "CB09", date(2026, 1, 3)),  # unknown cell
            visit(BINH, "CB01", date(2025, 2, 3)),  # another year
            visit("Nguyễn Văn Bình", "CB01", date(2026, 2, 3)),  # someone else
            visit(BINH, "CB01", None)]  # no date
    assert monthly(parent([unit(as_of, "NT", rows)], sup, as_of)) == [
        ("NT", "2026-01", None, None), ("NT", "2026-02", None, None)]


def test_a_visit_with_an_empty_cell_code_counts():
    as_of = date(2026, 2, 10)
    sup = [Supervisor(BINH, ("NT",))]
    assert parent([unit(as_of, "NT", [visit(BINH, None, date(2026, 1, 3))])], sup, as_of) == []


def test_past_year_every_month_and_unit_codes_matched_case_insensitively():
    as_of = date(2027, 1, 6)
    sup = [Supervisor(BINH, ("nt",))]
    rows = [visit(BINH, "CB01", date(2026, m, 3)) for m in range(1, 12)]
    ctx = unit(as_of, "NT", rows, year=2026)
    assert monthly(parent([ctx], sup, as_of, year=2026)) == [("NT", "2026-12", None, None)]
    assert parent([ctx], sup, date(2027, 1, 5), year=2026) == []


def test_no_supervisors_or_no_units():
    as_of = date(2026, 6, 10)
    ctx = unit(as_of, "NT", [])
    assert parent([ctx], [], as_of) == []
    assert parent([ctx], [Supervisor(BINH, ())], as_of) == []


def test_check_does_not_emit_monthly():
    ctx = unit(date(2026, 6, 10), "NT", [])
    assert run(ctx) == []

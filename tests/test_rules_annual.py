"""ANNUAL-RATING (sheets_sync.core.rules.annual): derivation and exact flattened findings."""
from __future__ import annotations

from datetime import date

from helpers import TEMPLATE, cell, context, flat, meeting, sheet
from sheets_sync.core.rules import annual

TOT, KHA, TB, KEM = "Tốt", "Khá", "Trung bình", "Kém"
ELEVEN = date(2026, 12, 12)  # December's meeting still pending (deadline 12/12): 11 months
TWELVE = date(2026, 12, 13)


def rated(code: str, ratings: list[str | None], year: int = 2026, first: int = 1) -> list[dict]:
    """Regular meetings of consecutive months from ``first``; None = a month without a meeting,
    "" = a meeting without a rating."""
    out = []
    for k, r in enumerate(ratings):
        if r is None:
            continue
        out.append(meeting(code, year, first + k, rating=r or None))
    return out


def self_rating(code: str, level: str, year: int = 2026) -> dict:
    return {"cell_code": code, "year": year, "self_rating": level}


def run(ctx):
    return flat(annual.check(ctx))


def test_eleven_due_months_at_the_thresholds():
    # 11 months: the 7 scales to ceil(7 × 11 / 12) = 7.
    cells = [cell(f"CB0{k}") for k in range(1, 7)]
    meetings = (
        rated("CB01", [TOT] * 7 + [KHA] * 4)  # Tốt: 7 Tốt, all Khá or better
        + rated("CB02", [TOT] * 6 + [KHA] * 5)  # Khá: only 6 Tốt
        + rated("CB03", [TOT] * 10 + [TB])  # Khá: one Trung bình
        + rated("CB04", [KHA] * 7 + [TB] * 4)  # Khá: 7 Khá or better
        + rated("CB05", [KHA] * 6 + [TB] * 3 + [KEM] * 2)  # Trung bình: 2 Kém
        + rated("CB06", [TOT] * 8 + [KEM] + [None] + [""])  # Kém: Kém + missing + unrated
        + rated("CB01", [KEM], first=12)  # December: not counted yet
    )
    ctx = context(ELEVEN, cells=cells, meetings=meetings)
    assert annual.derive_annual(ctx) == {
        "CB01": ("good", 11), "CB02": ("fair", 11), "CB03": ("fair", 11), "CB04": ("fair", 11),
        "CB05": ("average", 11), "CB06": ("poor", 11)}
    # December counted once due: CB01's Kém makes it Trung bình.
    ctx = context(TWELVE, cells=cells, meetings=meetings)
    assert annual.derive_annual(ctx)["CB01"] == ("average", 12)
    assert annual.derive_annual(ctx)["CB06"] == ("poor", 12)


def test_twelve_months_threshold_is_not_scaled():
    meetings = rated("CB01", [TOT] * 7 + [KHA] * 5) + rated("CB02", [KHA] * 6 + [TB] * 6)
    ctx = context(TWELVE, cells=[cell("CB01"), cell("CB02")], meetings=meetings)
    assert annual.derive_annual(ctx) == {"CB01": ("good", 12), "CB02": ("average", 12)}


def test_cell_active_five_months():
    # Founded 01/08: active August–December; 5 months: ceil(7 × 5 / 12) = 3.
    cells = [cell("CB01", founded=date(2026, 8, 1)), cell("CB02", founded=date(2026, 7, 15)),
             cell("CB03", founded=date(2026, 8, 1)), cell("CB04", dissolved=date(2026, 5, 1)),
             cell("CB05", founded=date(2027, 1, 1))]
    meetings = (rated("CB01", [TOT] * 3 + [KHA] * 2, first=8)  # Tốt: 3 of 5
                + rated("CB02", [TOT] * 2 + [KHA] * 3, first=8)  # Khá: only 2 Tốt
                + rated("CB03", [KHA] * 2 + [TB] * 3, first=8)  # Trung bình: only 2 Khá
                + rated("CB04", [TOT] * 3 + [KHA] * 2)  # active January–May: Tốt
                + rated("CB01", [KEM] * 7))  # before its foundation: not counted
    ctx = context(TWELVE, cells=cells, meetings=meetings)
    assert annual.derive_annual(ctx) == {
        "CB01": ("good", 5), "CB02": ("fair", 5), "CB03": ("average", 5), "CB04": ("good", 5),
        "CB05": (None, 0)}


def test_first_regular_meeting_of_the_month_is_used():
    meetings = rated("CB01", [TOT] * 7 + [KHA] * 4) + [
        meeting("CB01", 2026, 1, day=5, rating=KEM),  # duplicate: ignored
        meeting("CB01", 2026, 2, day=20, meeting_type="Chuyên đề", topic="Chủ đề",
                rating=KEM)]  # thematic: ignored
    ctx = context(ELEVEN, cells=[cell("CB01")], meetings=meetings)
    assert annual.derive_annual(ctx) == {"CB01": ("good", 11)}
    # The duplicate written first in the sheet is the one used.
    ctx = context(ELEVEN, cells=[cell("CB01")], meetings=meetings[::-1])
    assert annual.derive_annual(ctx) == {"CB01": ("average", 11)}


def test_parameters():
    meetings = rated("CB01", [TOT] * 5 + [KHA] * 6) + rated("CB02", [KEM] * 3 + [TB] * 8)
    ctx = context(ELEVEN, params={"annual_min_tot": 5, "annual_max_kem": 3},
                  cells=[cell("CB01"), cell("CB02")], meetings=meetings)
    # ceil(5 × 11 / 12) = 5
    assert annual.derive_annual(ctx) == {"CB01": ("good", 11), "CB02": ("average", 11)}


def test_finding_when_self_rating_is_better():
    cells = [cell(f"CB0{k}") for k in range(1, 6)]
    meetings = (rated("CB01", [TOT] * 6 + [KHA] * 5)  # Khá
                + rated("CB02", [TOT] * 6 + [KHA] * 5)  # Khá
                + rated("CB03", [TOT] * 6 + [KHA] * 5)  # Khá
                + rated("CB04", [KEM] * 11))  # Kém
    annual_rows = [
        self_rating("CB01", TOT),  # row 2: better: warning
        self_rating("CB02", KHA),  # row 3: equal
        self_rating("CB03", TB),  # row 4: lower
        self_rating("cb04", "TB"),  # row 5: better than Kém (code case, TB abbreviation)
        self_rating("CB01", TOT, year=2025),  # row 6: another year
        self_rating("CB09", TOT),  # row 7: unknown cell (DATA-UNKNOWN-CELL)
        self_rating("CB05", TOT),  # row 8: CB05 has 11 Kém months (no meetings): better
        self_rating("CB02", None),  # row 9: empty (DATA-REQUIRED)
    ]
    ctx = context(ELEVEN, cells=cells, meetings=meetings, annual=annual_rows)
    assert run(ctx) == [("ANNUAL-RATING", 2, "2026", "warning"),
                        ("ANNUAL-RATING", 5, "2026", "warning"),
                        ("ANNUAL-RATING", 8, "2026", "warning")]
    f = annual.check(ctx)[0]
    assert (f.unit, f.tab, f.cell, f.row) == ("NT", "Đánh giá năm", "CB01", 2)
    assert f.message == ("Chi bộ CB01 tự xếp loại năm 2026 \"Tốt\", cao hơn mức suy ra từ xếp "
                         "loại 11 tháng: \"Khá\".")
    assert annual.check(ctx)[1].message == ("Chi bộ CB04 tự xếp loại năm 2026 "
                                            "\"Trung bình\", cao hơn mức suy ra từ xếp loại "
                                            "11 tháng: \"Kém\".")


def test_no_finding_without_counted_months_or_usable_meetings():
    annual_rows = [self_rating("CB01", TOT)]
    # January's meeting still pending: nothing counted.
    ctx = context(date(2026, 1, 12), cells=[cell("CB01")], meetings=[], annual=annual_rows)
    assert annual.derive_annual(ctx) == {"CB01": (None, 0)}
    assert run(ctx) == []
    # No meetings tab, or no rating column: nothing derived.
    ctx = context(ELEVEN, cells=[cell("CB01")], annual=annual_rows)
    assert annual.derive_annual(ctx) == {}
    assert run(ctx) == []
    cols = [c.id for c in TEMPLATE.tab("meetings").columns if c.id != "rating"]
    rows = [{k: v for k, v in m.items() if k in cols} for m in rated("CB01", [KEM] * 11)]
    ctx = context(ELEVEN, cells=[cell("CB01")], meetings=sheet("meetings", rows, cols),
                  annual=annual_rows)
    assert annual.derive_annual(ctx) == {}
    assert run(ctx) == []


def test_labels_come_from_the_template():
    column = TEMPLATE.tab("annual").column("self_rating")
    assert [column.label_of(level) for level in annual.LEVELS] == [TOT, KHA, TB, KEM]

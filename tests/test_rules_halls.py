"""HOUSE-NEED (sheets_sync.core.rules.halls): exact flattened findings and the roll-up list."""
from __future__ import annotations

from datetime import date

from helpers import cell, context, flat
from sheets_sync.core.rules import halls

AS_OF = date(2026, 11, 25)


def hall(hamlet: str, code: str | None, state: str | None, capacity: int | None = None,
         population: int | None = None, proposal: str | None = None) -> dict:
    return {"hamlet": hamlet, "cell_code": code, "population": population, "capacity": capacity,
            "state": state, "proposal": proposal}


CELLS = [cell("CB01", members=40), cell("CB02", members=25), cell("CB03", members=60),
         cell("CB04", members=30), cell("CB05", members=None)]
ROWS = [
    hall("Thôn Đông", "CB01", "Chưa có", 50, 1200, "Xây mới"),  # row 2: no hall (capacity ignored)
    hall("Thôn Tây", "CB02", "Xuống cấp", 100, 900, "Nâng cấp"),  # row 3: degraded
    hall("Thôn Nam", "CB03", "Tốt", 45, 2100, "Nâng cấp"),  # row 4: 45 seats < 60 members
    hall("Thôn Bắc", "CB04", "Tốt", 30, 1500, "Không"),  # row 5: exactly the members: fine
    hall("Thôn Trung", "CB04", "Xuống cấp", 20, 1500),  # row 6: degraded and too small
    hall("Thôn Thượng", "CB05", "Tốt", 10, 800),  # row 7: members unknown: fine
    hall("Thôn Hạ", "CB09", "Tốt", 10, None),  # row 8: unknown cell: capacity not compared
    hall("Thôn Mới", None, "Tốt", None, 700),  # row 9: fine
    hall("Xóm Chợ", "cb01", "Tốt", 39, None),  # row 10: 39 < 40 (code case-insensitive)
]


def test_house_need_rows():
    ctx = context(AS_OF, cells=CELLS, halls=ROWS)
    assert flat(halls.check(ctx)) == [("HOUSE-NEED", 10, None, "info"),
                                      ("HOUSE-NEED", 2, None, "info"),
                                      ("HOUSE-NEED", 3, None, "info"),
                                      ("HOUSE-NEED", 4, None, "info"),
                                      ("HOUSE-NEED", 6, None, "info")]
    msgs = {f.row: f.message for f in halls.check(ctx)}
    assert msgs == {
        2: "Chưa có nhà văn hóa.",
        3: "Nhà văn hóa xuống cấp.",
        4: "Sức chứa 45 chỗ, ít hơn 60 đảng viên của chi bộ CB03.",
        6: "Nhà văn hóa xuống cấp; sức chứa 20 chỗ, ít hơn 30 đảng viên của chi bộ CB04.",
        10: "Sức chứa 39 chỗ, ít hơn 40 đảng viên của chi bộ CB01.",
    }
    f = halls.check(ctx)[0]
    assert (f.unit, f.tab, f.cell, f.period) == ("NT", "Nhà văn hóa", "CB01", None)


def test_hall_needs_for_the_rollup_sorted_by_population_then_members():
    ctx = context(AS_OF, cells=CELLS, halls=ROWS)
    needs = halls.hall_needs(ctx)
    assert [(d["hamlet"], d["population"], d["members"]) for d in needs] == [
        ("Thôn Nam", 2100, 60),
        ("Thôn Trung", 1500, 30),
        ("Thôn Đông", 1200, 40),
        ("Thôn Tây", 900, 25),
        ("Xóm Chợ", None, 40),
    ]
    assert needs[0] == {"row": 4, "hamlet": "Thôn Nam", "cell": "CB03", "population": 2100,
                        "capacity": 45, "members": 60, "state": "Tốt", "proposal": "Nâng cấp",
                        "reason": "Sức chứa 45 chỗ, ít hơn 60 đảng viên của chi bộ CB03."}
    assert needs[1]["proposal"] is None


def test_ties_on_population_are_ordered_by_members():
    rows = [hall("A", "CB02", "Chưa có", population=1000),
            hall("B", "CB03", "Chưa có", population=1000),
            hall("C", None, "Chưa có", population=1000),
            hall("D", "CB01", "Chưa có", population=1000)]
    ctx = context(AS_OF, cells=CELLS, halls=rows)
    assert [d["hamlet"] for d in halls.hall_needs(ctx)] == ["B", "D", "A", "C"]


def test_without_the_register_only_the_state_counts():
    ctx = context(AS_OF, halls=[hall("Thôn Đông", "CB01", "Tốt", 5),
                                hall("Thôn Tây", "CB02", "Xuống cấp")])
    assert flat(halls.check(ctx)) == [("HOUSE-NEED", 3, None, "info")]


def test_unreadable_state_or_capacity():
    rows = [hall("Thôn Đông", "CB01", "hỏng", 100), hall("Thôn Tây", "CB01", "Tốt", "nhiều")]
    ctx = context(AS_OF, cells=CELLS, halls=rows)
    assert halls.check(ctx) == []
    assert halls.hall_needs(ctx) == []


def test_no_tab():
    ctx = context(AS_OF, cells=CELLS)
    assert halls.check(ctx) == [] and halls.hall_needs(ctx) == []

"""MEMBER-* rules (sheets_sync.core.rules.members): exact flattened findings."""
from __future__ import annotations

from datetime import date

from helpers import TEMPLATE, cell, context, flat, sheet
from sheets_sync.core.rules import members

AS_OF = date(2026, 12, 20)
PRESENT, EXCUSED = "Có mặt", "Vắng có lý do"
UNEXCUSED, EXEMPT = "Vắng không lý do", "Miễn sinh hoạt"


def mark(name: str | None, month: int, status: str | None, code: str = "CB01", year: int = 2026,
         member_id: str | None = None) -> dict:
    row = {"cell_code": code, "month": f"{month:02d}/{year}", "member_name": name,
           "status": status}
    if member_id is not None:
        row["member_id"] = member_id
    return row


def ctx_of(rows, **kw):
    return context(kw.pop("as_of", AS_OF), cells=[cell("CB01"), cell("CB02")], attendance=rows,
                   **kw)


def data_rules(ctx) -> list[str]:
    """The reader's DATA-* findings (the helpers' workbooks lack the other required tabs)."""
    return sorted(f.rule for f in ctx.unit.findings if f.rule.startswith("DATA-"))


def run(ctx):
    return flat(members.check(ctx))


def test_excused_streak_with_an_exempt_month_and_a_month_without_a_row():
    a = "Nguyễn Văn An"
    rows = [
        mark(a, 1, EXCUSED),  # row 2: 1
        mark(a, 2, EXCUSED),  # row 3: 2
        mark(a, 3, EXEMPT),  # row 4: neither extends nor breaks
        mark(a, 4, EXCUSED),  # row 5: 3 -> warning
        # May: no row (neither)
        mark(a, 6, EXCUSED),  # row 6: 4 -> error
        mark(a, 7, EXCUSED),  # row 7: 5 -> not reported again
        mark(a, 8, PRESENT),  # row 8: breaks
        mark(a, 9, EXCUSED),  # row 9: 1
        mark(a, 10, EXCUSED),  # row 10: 2
        mark(a, 11, EXCUSED),  # row 11: 3 -> warning again (a new streak)
        mark(a, 12, UNEXCUSED),  # row 12: breaks
    ]
    ctx = ctx_of(rows)
    assert run(ctx) == [("MEMBER-EXCUSED-STREAK", 11, "2026-11", "warning"),
                        ("MEMBER-EXCUSED-STREAK", 5, "2026-04", "warning"),
                        ("MEMBER-EXCUSED-STREAK", 6, "2026-06", "error")]
    msgs = {f.row: f.message for f in members.check(ctx)}
    assert msgs[5] == ("Đ/c Nguyễn Văn An (chi bộ CB01) vắng có lý do 3 kỳ liên tiếp "
                       "(01/2026, 02/2026, 04/2026).")
    assert msgs[6] == ("Đ/c Nguyễn Văn An (chi bộ CB01) vắng có lý do 4 kỳ liên tiếp "
                       "(01/2026, 02/2026, 04/2026, 06/2026), quá 3 kỳ.")
    f = next(f for f in members.check(ctx) if f.row == 6)
    assert (f.unit, f.tab, f.cell) == ("NT", "Điểm danh", "CB01")


def test_unexcused_and_present_break_the_streak():
    b = "Trần Thị Bình"
    rows = [mark(b, 1, EXCUSED), mark(b, 2, EXCUSED), mark(b, 3, UNEXCUSED),
            mark(b, 4, EXCUSED), mark(b, 5, EXCUSED), mark(b, 6, PRESENT), mark(b, 7, EXCUSED)]
    assert run(ctx_of(rows)) == []


def test_rows_in_any_sheet_order_and_only_the_checked_year():
    c = "Lê Văn Cường"
    rows = [mark(c, 3, EXCUSED),  # row 2
            mark(c, 1, EXCUSED, year=2026),  # row 3
            mark(c, 12, EXCUSED, year=2025),  # row 4: another year
            mark(c, 2, EXCUSED)]  # row 5
    assert run(ctx_of(rows)) == [("MEMBER-EXCUSED-STREAK", 2, "2026-03", "warning")]


def test_members_are_told_apart_by_cell_and_by_id():
    rows = [
        mark("Phạm Văn Dũng", 1, EXCUSED, "CB01"),  # row 2
        mark("Phạm Văn Dũng", 2, EXCUSED, "CB02"),  # row 3: same name, other cell
        mark("Phạm Văn Dũng", 3, EXCUSED, "CB01"),  # row 4
        mark("Hoàng Văn Em", 1, EXCUSED, "CB01", member_id="DV01"),  # row 5
        mark("Hoàng Văn Em", 2, EXCUSED, "CB01", member_id="DV02"),  # row 6: namesake
        mark("Hoàng Van Em", 3, EXCUSED, "CB01", member_id="dv01"),  # row 7: DV01, name mistyped
        mark("Hoàng Văn Em", 4, EXCUSED, "CB01", member_id="DV01"),  # row 8: DV01 3rd
        mark("  nguyễn  thị gấm ", 1, EXCUSED, "CB02"),  # row 9: names normalised
        mark("Nguyễn Thị Gấm", 2, EXCUSED, "CB02"),  # row 10
        mark("NGUYỄN THỊ GẤM", 3, EXCUSED, "cb02"),  # row 11: 3rd
    ]
    assert run(ctx_of(rows)) == [("MEMBER-EXCUSED-STREAK", 11, "2026-03", "warning"),
                                 ("MEMBER-EXCUSED-STREAK", 8, "2026-04", "warning")]


def test_a_row_without_id_joins_the_only_id_of_its_name():
    rows = [mark("Đỗ Văn Hải", 1, EXCUSED, member_id="DV07"),
            mark("Đỗ Văn Hải", 2, EXCUSED),  # no id: the same member
            mark("Đỗ Văn Hải", 3, EXCUSED, member_id="DV07")]
    assert run(ctx_of(rows)) == [("MEMBER-EXCUSED-STREAK", 4, "2026-03", "warning")]


def test_a_second_row_of_the_same_month_is_ignored():
    k = "Vũ Thị Khánh"
    rows = [mark(k, 1, EXCUSED), mark(k, 1, EXCUSED), mark(k, 2, EXCUSED)]
    assert run(ctx_of(rows)) == []


def test_unreadable_or_empty_status_neither_extends_nor_breaks():
    k = "Vũ Thị Khánh"
    rows = [mark(k, 1, EXCUSED), mark(k, 2, "ốm"), mark(k, 3, None), mark(k, 4, EXCUSED),
            mark(k, 5, EXCUSED)]
    ctx = ctx_of(rows)
    assert run(ctx) == [("MEMBER-EXCUSED-STREAK", 6, "2026-05", "warning")]
    assert data_rules(ctx) == ["DATA-INVALID", "DATA-REQUIRED"]


def test_streak_parameter():
    k = "Vũ Thị Khánh"
    rows = [mark(k, m, EXCUSED) for m in (1, 2, 3)]
    assert run(ctx_of(rows, params={"max_consecutive_excused": 2})) == [
        ("MEMBER-EXCUSED-STREAK", 3, "2026-02", "warning"),
        ("MEMBER-EXCUSED-STREAK", 4, "2026-03", "error")]


def test_abandon_three_unexcused_months():
    g = "Bùi Văn Giang"
    rows = [mark(g, 2, UNEXCUSED),  # row 2
            mark(g, 3, PRESENT),
            mark(g, 5, UNEXCUSED),
            mark(g, 5, UNEXCUSED),  # same month again: counted once
            mark(g, 9, UNEXCUSED),
            mark("Bùi Văn Hòa", 1, UNEXCUSED), mark("Bùi Văn Hòa", 2, UNEXCUSED),  # only 2 months
            mark("Bùi Văn Hòa", 2, UNEXCUSED, year=2025)]  # another year
    ctx = ctx_of(rows)
    assert run(ctx) == [("MEMBER-ABANDON", None, "2026", "error")]
    (f,) = members.check(ctx)
    assert (f.unit, f.tab, f.cell, f.row) == ("NT", "Điểm danh", "CB01", None)
    assert f.message == ("Đ/c Bùi Văn Giang (chi bộ CB01) vắng không lý do 3 tháng trong năm 2026 "
                         "(02/2026, 05/2026, 09/2026): chi bộ phải xem xét xóa tên.")
    assert run(ctx_of(rows, params={"abandon_months": 4})) == []


def test_abandon_and_streak_together():
    h = "Đinh Văn Hùng"
    rows = [mark(h, m, EXCUSED) for m in (1, 2, 3)] + [mark(h, m, UNEXCUSED) for m in (4, 5, 6)]
    assert run(ctx_of(rows)) == [("MEMBER-ABANDON", None, "2026", "error"),
                                 ("MEMBER-EXCUSED-STREAK", 4, "2026-03", "warning")]


def test_only_when_the_tab_exists_with_its_columns():
    assert run(context(AS_OF, cells=[cell("CB01")])) == []
    cols = [c.id for c in TEMPLATE.tab("attendance").columns if c.id != "status"]
    rows = [{"cell_code": "CB01", "month": f"{m:02d}/2026", "member_name": "A"} for m in (1, 2, 3)]
    assert run(context(AS_OF, attendance=sheet("attendance", rows, cols))) == []

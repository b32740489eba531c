"""CELL-* rules (sheets_sync.core.rules.cells): exact flattened findings."""
from __future__ import annotations

from datetime import date

from helpers import TEMPLATE, cell, context, flat, only, sheet
from sheets_sync.core.rules import cells

AS_OF = date(2026, 11, 25)
ALL_COLUMNS = [c.id for c in TEMPLATE.tab("cells").columns]


def run(ctx):
    return flat(cells.check(ctx))


def messages(ctx) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for f in cells.check(ctx):
        out.setdefault(f.row, []).append(f.message)
    return out


def test_clean_register_has_no_findings():
    assert run(context(AS_OF, cells=[cell("CB01"), cell("CB02", kind="Cơ quan")])) == []


def test_every_rule_on_its_row():
    rows = [
        cell("CB01"),  # row 2: clean
        cell("CB02", assignee=None),  # row 3: CELL-ASSIGNEE
        cell("CB03", assignee="   "),  # row 4: blank text is empty
        cell("CB04", official_members=2),  # row 5: CELL-SIZE
        cell("CB05", official_members=3),  # row 6: exactly the minimum
        cell("CB06", official_members=None),  # row 7: not filled: nothing
        cell("CB07", secretary_dual="Không"),  # row 8: Thôn
        cell("CB08", kind="Tổ dân phố", secretary_dual="k"),  # row 9
        cell("CB09", kind="Trường học", secretary_dual="Không"),  # row 10: agency kind
        cell("CB10", kind="Công an", secretary_dual="FALSE"),  # row 11: armed forces
        cell("CB11", kind="Doanh nghiệp", secretary_dual="Không"),  # row 12: not applicable
        cell("CB12", kind="Khác", secretary_dual="Không"),  # row 13: not applicable
        cell("CB13", secretary_dual=None),  # row 14: not recorded: nothing
        cell("CB14", official_members=0, assignee=None, secretary_dual="Không"),  # row 15
    ]
    ctx = context(AS_OF, cells=rows)
    assert run(ctx) == [
        ("CELL-ASSIGNEE", 15, None, "warning"),
        ("CELL-ASSIGNEE", 3, None, "warning"),
        ("CELL-ASSIGNEE", 4, None, "warning"),
        ("CELL-SECRETARY-DUAL", 10, None, "info"),
        ("CELL-SECRETARY-DUAL", 11, None, "info"),
        ("CELL-SECRETARY-DUAL", 15, None, "info"),
        ("CELL-SECRETARY-DUAL", 8, None, "info"),
        ("CELL-SECRETARY-DUAL", 9, None, "info"),
        ("CELL-SIZE", 15, None, "warning"),
        ("CELL-SIZE", 5, None, "warning"),
    ]
    msgs = messages(ctx)
    assert msgs[3] == ["Chi bộ CB02 chưa có đảng ủy viên phụ trách."]
    assert msgs[5] == ["Chi bộ CB04 có 2 đảng viên chính thức, ít hơn mức tối thiểu 3."]
    assert msgs[8] == ["Bí thư chi bộ CB07 chưa đồng thời là trưởng thôn/tổ trưởng dân phố."]
    assert msgs[9] == ["Bí thư chi bộ CB08 chưa đồng thời là trưởng thôn/tổ trưởng dân phố."]
    assert msgs[10] == ["Bí thư chi bộ CB09 chưa đồng thời là thủ trưởng cơ quan, đơn vị."]
    f = only(cells.check(ctx), "CELL-SIZE")[0]
    assert (f.unit, f.tab, f.cell, f.period) == ("NT", "Chi bộ", "CB04", None)


def test_the_reader_reports_the_empty_assignee_only_as_cell_assignee():
    ctx = context(AS_OF, cells=[cell("CB01", assignee=None)])
    assert [f.rule for f in ctx.unit.findings if f.rule.startswith("DATA-")] == []
    assert run(ctx) == [("CELL-ASSIGNEE", 2, None, "warning")]


def test_min_official_members_parameter():
    rows = [cell("CB01", official_members=4), cell("CB02", official_members=5)]
    assert run(context(AS_OF, params={"min_official_members": 5}, cells=rows)) == [
        ("CELL-SIZE", 2, None, "warning")]


def test_duplicated_code_is_checked_on_its_first_row_only():
    rows = [cell("CB01"), cell("cb01", assignee=None, official_members=1)]
    assert run(context(AS_OF, cells=rows)) == []
    rows = [cell("CB01", assignee=None), cell("CB01")]
    assert run(context(AS_OF, cells=rows)) == [("CELL-ASSIGNEE", 2, None, "warning")]


def test_row_without_code_is_still_checked_and_named_by_its_name():
    rows = [cell("CB01"), cell(None, cell_name="Chi bộ thôn Đông", assignee=None)]
    ctx = context(AS_OF, cells=rows)
    assert run(ctx) == [("CELL-ASSIGNEE", 3, None, "warning")]
    assert messages(ctx)[3] == ["Chi bộ thôn Đông chưa có đảng ủy viên phụ trách."]


def test_missing_columns_disable_only_their_rule():
    rows = [cell("CB01", official_members=1, assignee=None, secretary_dual="Không")]
    cols = [c for c in ALL_COLUMNS if c not in ("official_members", "secretary_dual")]
    ctx = context(AS_OF, cells=sheet("cells", [{k: v for k, v in r.items() if k in cols}
                                               for r in rows], cols))
    assert run(ctx) == [("CELL-ASSIGNEE", 2, None, "warning")]
    cols = [c for c in ALL_COLUMNS if c != "assignee"]
    ctx = context(AS_OF, cells=sheet("cells", [{k: v for k, v in r.items() if k in cols}
                                               for r in rows], cols))
    assert run(ctx) == [("CELL-SECRETARY-DUAL", 2, None, "info"), ("CELL-SIZE", 2, None, "warning")]


def test_unreadable_values_give_nothing_here():
    rows = [cell("CB01", official_members="hai", secretary_dual="có lẽ", kind="Làng")]
    ctx = context(AS_OF, cells=rows)
    assert run(ctx) == []
    assert {f.rule for f in ctx.unit.findings if f.rule.startswith("DATA-")} == {"DATA-INVALID"}


def test_no_register_tab():
    assert run(context(AS_OF, meetings=[])) == []

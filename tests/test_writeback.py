"""Write-back planning: row statuses, details, diff-only plans, tool columns by header, Kiểm tra."""
from __future__ import annotations

import copy
import unicodedata
from datetime import date

from helpers import TEMPLATE, cell, meeting, sheet
from sheets_sync.core.checker import UnitRead
from sheets_sync.core.config import UnitConfig
from sheets_sync.core.findings import ERROR, INFO, OK, WARNING, Finding, UnitResult
from sheets_sync.core.flagplan import LINE_HEIGHT, MAX_CELL_CHARS, FlagPlan
from sheets_sync.core.grid import parse_unit
from sheets_sync.core.raw import RawSheet, RawWorkbook
from sheets_sync.core.rules.catalog import RULES, rule_fix_vi
from sheets_sync.sync.writeplan import (
    CHANGED_DATE_PREFIX,
    CHECK_DATE_PREFIX,
    TODO_HEADER,
    check_tab,
    plan_unit,
    redated,
)

AS_OF = date(2026, 11, 25)
YEAR = 2026
LABELS = TEMPLATE.status_labels
STATUS, DETAILS = TEMPLATE.status_header, TEMPLATE.details_header
MEET = TEMPLATE.tab("meetings").name  # "Sinh hoạt"


def make_read(raw: RawWorkbook, as_of: date = AS_OF) -> UnitRead:
    data = parse_unit(TEMPLATE, raw, "NT", "Đảng ủy xã Nhân Thịnh", as_of)
    return UnitRead(UnitConfig("NT", "Đảng ủy xã Nhân Thịnh"),
                    UnitResult("NT", "Đảng ủy xã Nhân Thịnh", OK), data, raw)


def f(row, rule, severity=ERROR, tab=MEET, cell="CB01", period="2026-10", message=None,
      **kw) -> Finding:
    return Finding("NT", tab, row, cell, period, rule, severity,
                   message or f"Nội dung {rule}.", **kw)


def base_raw(meetings: list[dict] | None = None, meeting_sheet: RawSheet | None = None,
             **extra) -> RawWorkbook:
    sheets = [sheet("cells", [cell("CB01"), cell("CB02")]),
              meeting_sheet or sheet("meetings", meetings or [meeting("CB01", YEAR, 10)])]
    sheets += list(extra.values())
    return RawWorkbook(sheets)


def apply(raw: RawWorkbook, plan: FlagPlan) -> RawWorkbook:
    """What a writer does, on the raw grids (for rerun tests without files)."""
    out = copy.deepcopy(raw)

    def put(s: RawSheet, r: int, c: int, v: str):
        while len(s.rows) < r:
            s.rows.append([])
        row = s.rows[r - 1]
        while len(row) <= c:
            row.append(None)
        row[c] = v

    for title, cols in plan.new_columns.items():
        s = out.sheet(title)
        for c, header in cols:
            put(s, plan.tool_columns[title].header_row, c, header)
    for ch in plan.changes:
        s = out.sheet(ch.sheet)
        assert [(k, str(s.rows[ch.row - 1][k] or "")) for k, _ in ch.keys]  # keys exist
        put(s, ch.row, ch.col, ch.value)
    for title, grid in ((plan.check_sheet, plan.check_grid), (plan.guide_sheet, plan.guide_grid)):
        if grid is not None:
            s = out.sheet(title)
            if s is None:
                out.sheets.append(RawSheet(title, [list(r) for r in grid]))
            else:
                s.rows = [list(r) for r in grid]
    return out


def cell_value(plan: FlagPlan, sheet_title: str, row: int, col: int) -> str | None:
    got = [c.value for c in plan.changes if (c.sheet, c.row, c.col) == (sheet_title, row, col)]
    return got[0] if got else None


def test_row_statuses():
    rows = [meeting("CB01", YEAR, m) for m in (1, 2, 3, 4, 5, 6, 7)]
    raw = base_raw(rows)
    read = make_read(raw)
    findings = [
        f(3, "MEET-WINDOW"),                                            # error
        f(4, "MEET-CONTENT", WARNING),                                  # warning
        f(5, "MEET-WINDOW", explained=True),                            # explained
        f(6, "MEET-WINDOW", accepted=True), f(6, "MEET-CONTENT", WARNING, accepted=True),
        f(7, "MEET-PREFERRED-DAY", INFO),                               # info only -> ok
        f(8, "MEET-WINDOW", accepted=True), f(8, "MEET-CONTENT", WARNING),  # open warning
    ]
    plan = plan_unit(TEMPLATE, read, findings, AS_OF, YEAR)
    tc = plan.tool_columns[MEET]
    got = {r: cell_value(plan, MEET, r, tc.status_col) for r in range(2, 9)}
    assert got == {2: LABELS["ok"], 3: LABELS["error"], 4: LABELS["warning"],
                   5: LABELS["explained"], 6: LABELS["accepted"], 7: LABELS["ok"],
                   8: LABELS["warning"]}
    # notes are not written row by row by default: the info-only row stays empty
    assert cell_value(plan, MEET, 7, tc.details_col) is None
    accepted = cell_value(plan, MEET, 6, tc.details_col).split("\n")
    assert accepted == ["✔ Sinh hoạt ngoài ngày quy định: Nội dung MEET-WINDOW — đã chấp nhận "
                        "giải trình", "✔ Nội dung chưa gắn nghị quyết: Nội dung MEET-CONTENT — "
                        "đã chấp nhận giải trình"]
    assert cell_value(plan, MEET, 2, tc.details_col) is None  # "" vs empty: no change


def test_explanation_column_filled_gives_explained():
    rows = [meeting("CB01", YEAR, 10, explanation="Mưa bão, dời lịch")]
    read = make_read(base_raw(rows))
    plan = plan_unit(TEMPLATE, read, [f(2, "MEET-WINDOW")], AS_OF, YEAR)
    assert cell_value(plan, MEET, 2, plan.tool_columns[MEET].status_col) == LABELS["explained"]


def test_details_order_errors_then_warnings_then_info():
    read = make_read(base_raw())
    findings = [f(2, "MEET-PREFERRED-DAY", INFO, message="Lưu ý."),
                f(2, "MEET-CONTENT", WARNING, message="Cảnh báo."),
                f(2, "MEET-WINDOW", ERROR, message="Vi phạm."),
                f(2, "MEET-DURATION", ERROR, message="Thiếu giờ.")]
    plan = plan_unit(TEMPLATE, read, findings, AS_OF, YEAR)
    details = cell_value(plan, MEET, 2, plan.tool_columns[MEET].details_col)
    fix = {r.id: r.fix_vi for r in RULES}
    assert details.split("\n") == [
        f"Chưa đủ thời lượng: Thiếu giờ → {fix['MEET-DURATION']}",
        f"Sinh hoạt ngoài ngày quy định: Vi phạm → {fix['MEET-WINDOW']}",
        f"Nội dung chưa gắn nghị quyết: Cảnh báo → {fix['MEET-CONTENT']}"]
    # with [writeback] notes_per_row = true the note is written last
    plan = plan_unit(TEMPLATE, read, findings, AS_OF, YEAR, notes_per_row=True)
    details = cell_value(plan, MEET, 2, plan.tool_columns[MEET].details_col)
    assert details.split("\n")[3] == ("Không vào ngày sinh hoạt ưu tiên: Lưu ý → "
                                      f"{fix['MEET-PREFERRED-DAY']}")


def test_other_units_findings_ignored_and_long_details_capped():
    read = make_read(base_raw())
    other = Finding("NM", MEET, 2, "CB01", "2026-10", "MEET-WINDOW", ERROR, "Đơn vị khác.")
    huge = f(2, "MEET-WINDOW", message="x" * (MAX_CELL_CHARS + 100))
    plan = plan_unit(TEMPLATE, read, [other], AS_OF, YEAR)
    assert cell_value(plan, MEET, 2, plan.tool_columns[MEET].status_col) == LABELS["ok"]
    plan = plan_unit(TEMPLATE, read, [huge], AS_OF, YEAR)
    details = cell_value(plan, MEET, 2, plan.tool_columns[MEET].details_col)
    assert len(details) == MAX_CELL_CHARS and details.endswith("…")
    assert details.startswith("Sinh hoạt ngoài ngày quy định: xxx")


def test_missing_tool_columns_appended_after_the_last_column_holding_anything():
    ms = sheet("meetings", [meeting("CB01", YEAR, 10)])
    ms.rows[0] += [None, "Người nhập"]  # a staff column after a gap
    ms.rows[1] += [None, "Lan", None, "ghi chú lạc"]  # a stray value right of the header
    last = len(ms.rows[0]) - 1
    read = make_read(base_raw(meeting_sheet=ms))
    plan = plan_unit(TEMPLATE, read, [], AS_OF, YEAR)
    # column last+2 holds a stray staff value: both tool columns go after it (issue 11: never
    # between staff cells, whatever row they are in)
    assert plan.new_columns[MEET] == [(last + 3, STATUS), (last + 4, DETAILS)]
    assert plan.tool_columns[MEET].status_col == last + 3
    assert "thêm cột 'Kết quả kiểm tra', 'Chi tiết kiểm tra'" in " ".join(plan.describe())
    # every staff cell stays: no change touches a non-tool column
    assert {c.col for c in plan.changes if c.sheet == MEET} <= {last + 3, last + 4}


def test_formula_columns_are_never_free_space():
    """A staff formula column whose results are all empty (Google: ``formula_cols`` from the
    read) is not taken for the tool columns."""
    ms = sheet("meetings", [meeting("CB01", YEAR, 10)])
    last = len(ms.rows[0]) - 1
    raw = base_raw(meeting_sheet=ms)
    raw.meta["formula_cols"] = {MEET: last + 2}
    plan = plan_unit(TEMPLATE, make_read(raw), [], AS_OF, YEAR)
    assert plan.new_columns[MEET] == [(last + 3, STATUS), (last + 4, DETAILS)]


def test_tool_columns_found_by_header_when_moved():
    cols = [c.id for c in TEMPLATE.tab("meetings").columns]
    ms = sheet("meetings", [meeting("CB01", YEAR, 10), meeting("CB02", YEAR, 10)],
               title_rows=2)
    header_r = 2
    # staff moved the tool columns to the front (NFD, other case) and added a column after
    nfd = unicodedata.normalize("NFD", DETAILS.upper())
    ms.rows[header_r] = [" " + STATUS.lower(), nfd] + ms.rows[header_r] + ["Người nhập"]
    ms.rows[3] = [LABELS["ok"], ""] + ms.rows[3] + ["Lan"]
    ms.rows[4] = ["cũ", "[X] cũ"] + ms.rows[4] + ["Hoa"]
    read = make_read(base_raw(meeting_sheet=ms))
    assert read.data.tab("meetings").header_row == 3
    plan = plan_unit(TEMPLATE, read, [f(5, "MEET-WINDOW", cell="CB02")], AS_OF, YEAR)
    assert MEET not in plan.new_columns
    assert plan.tool_columns[MEET].status_col == 0 and plan.tool_columns[MEET].details_col == 1
    changes = {(c.row, c.col): c.value for c in plan.changes if c.sheet == MEET}
    assert changes == {(5, 0): LABELS["error"], (5, 1): (
        "Sinh hoạt ngoài ngày quy định: Nội dung MEET-WINDOW → "
        + rule_fix_vi("MEET-WINDOW"))}
    ch = next(c for c in plan.changes if (c.sheet, c.row, c.col) == (MEET, 5, 0))
    # keys: Mã chi bộ, Kỳ tháng, Loại sinh hoạt, Ngày sinh hoạt as read, by column index
    key_cols = [cols.index(k) + 2 for k in ("cell_code", "month", "meeting_type", "meeting_date")]
    assert ch.keys == tuple(zip(key_cols, ("CB02", "10/2026", "Thường kỳ", "2026-10-03")))
    assert ch.old == "cũ"


def test_stale_flags_on_rows_that_are_no_longer_data_rows_are_cleared():
    ms = sheet("meetings", [meeting("CB01", YEAR, 10)])
    n = len(ms.rows[0])
    ms.rows[0] += [STATUS, DETAILS]
    ms.rows[1] += [LABELS["ok"], None]
    ms.rows.append([None] * n + [LABELS["error"], "[MEET-WINDOW] cũ"])  # row emptied by staff
    plan = plan_unit(TEMPLATE, make_read(base_raw(meeting_sheet=ms)), [], AS_OF, YEAR)
    assert sorted((c.row, c.col, c.value) for c in plan.changes if c.sheet == MEET) == [
        (3, n, ""), (3, n + 1, "")]


def test_tab_without_header_row_is_skipped():
    briefings = RawSheet("Triển khai", [[None]] * 6 + [[c.header for c in
                                                       TEMPLATE.tab("briefings").columns]])
    read = make_read(base_raw(briefings=briefings))
    plan = plan_unit(TEMPLATE, read, [], AS_OF, YEAR)
    assert "Triển khai" in plan.skipped_tabs
    assert "Triển khai" not in plan.tool_columns
    assert not [c for c in plan.changes if c.sheet == "Triển khai"]
    assert any(line.startswith("Triển khai: bỏ qua") for line in plan.describe())


def test_rerun_plans_nothing_and_check_tab_is_stable():
    rows = [meeting("CB01", YEAR, m) for m in (9, 10)] + [meeting("CB02", YEAR, 9)]
    raw = base_raw(rows)
    findings = [f(3, "MEET-WINDOW"),
                f(None, "MEET-MISSING", cell="CB02", message="Chi bộ CB02 chưa sinh hoạt."),
                f(None, "BRIEF-DEADLINE", tab="Triển khai", cell=None, period="2026-09",
                  message="=IMPORTRANGE(\"x\";\"A1\")")]
    plan = plan_unit(TEMPLATE, make_read(raw), findings, AS_OF, YEAR)
    assert not plan.is_empty and plan.check_grid is not None and plan.guide_grid is not None
    assert not plan.check_exists
    assert plan.describe()[-2:] == ["Kiểm tra: tạo tab mới.", "Hướng dẫn: tạo tab mới."]
    raw2 = apply(raw, plan)
    again = plan_unit(TEMPLATE, make_read(raw2), findings, AS_OF, YEAR)
    assert again.is_empty and again.changes == [] and again.check_grid is None
    assert again.describe() == ["Không có gì cần ghi: các ô kiểm tra đã đúng."]

    grid = plan.check_grid
    assert grid[1] == [f"{CHECK_DATE_PREFIX}25/11/2026"]
    assert grid[2] == [f"{CHANGED_DATE_PREFIX}25/11/2026"]
    assert grid[3] == ["Vi phạm: 3 · Cảnh báo: 0 · Lưu ý: 0 · Đã chấp nhận giải trình: 0"]
    assert grid[4] == TODO_HEADER and plan.check_header_rows == 5
    header = grid.index(["Mã chi bộ", *[f"T{m}" for m in range(1, 13)]])
    cb01, cb02 = grid[header + 1], grid[header + 2]
    assert cb01[0] == "CB01" and cb01[9:12] == ["✔", "✖", "–"]
    assert cb02[0] == "CB02" and cb02[9:11] == ["✔", "✖ Thiếu"] and cb02[1] == "–"
    # the to-do list: by tab in template order, row findings in row order, then those of no row
    fix = {r.id: r.fix_vi[:1].upper() + r.fix_vi[1:] for r in RULES}
    assert grid[5:8] == [
        ["✖ Vi phạm", f"{MEET}, dòng 3", "CB01", "10/2026",
         "Sinh hoạt ngoài ngày quy định: Nội dung MEET-WINDOW.", fix["MEET-WINDOW"], "",
         "MEET-WINDOW"],
        ["✖ Vi phạm", MEET, "CB02", "10/2026", "Thiếu sinh hoạt thường kỳ: Chi bộ CB02 chưa "
         "sinh hoạt.", fix["MEET-MISSING"], "", "MEET-MISSING"],
        ["✖ Vi phạm", "Triển khai", "", "09/2026", "Triển khai muộn: =IMPORTRANGE(\"x\";\"A1\")",
         fix["BRIEF-DEADLINE"], "", "BRIEF-DEADLINE"]]
    # each links to its row (the tab's first row for a finding of no row); no tab, no link
    assert plan.check_links == {(5, 1): (MEET, 3), (6, 1): (MEET, 1)}
    # every row of the rewritten grid has a height entry; the wrapped to-do rows a height
    heights = plan.row_heights[plan.check_sheet]
    assert set(heights) == set(range(1, len(grid) + 1))
    assert heights[1] is None and heights[6] is not None and heights[6] >= 2 * LINE_HEIGHT

    # a later as-of date with the same data: only "Ngày kiểm tra" changes
    later = date(2026, 11, 26)
    plan3 = plan_unit(TEMPLATE, make_read(raw2, later), findings, later, YEAR)
    assert plan3.changes == [] and plan3.guide_grid is None
    assert plan3.check_grid[1] == [f"{CHECK_DATE_PREFIX}26/11/2026"]
    assert plan3.check_grid[2] == [f"{CHANGED_DATE_PREFIX}25/11/2026"]
    assert plan3.describe() == ["Kiểm tra: cập nhật nội dung."]
    # different findings: the content changed on the new date
    plan4 = plan_unit(TEMPLATE, make_read(raw2, later), findings[:2], later, YEAR)
    assert plan4.check_grid[2] == [f"{CHANGED_DATE_PREFIX}26/11/2026"]
    # the re-dated tab is the one check_tab builds with the new date (links, heights too)
    data = make_read(raw2, later).data
    direct = check_tab(TEMPLATE, "Đảng ủy xã Nhân Thịnh", data, findings[:2], later, YEAR, later)
    assert plan4.check_grid == direct.grid
    assert plan4.row_heights[plan4.check_sheet] == direct.heights
    assert redated(check_tab(TEMPLATE, "Đảng ủy xã Nhân Thịnh", data, findings[:2], later,
                             YEAR, AS_OF), later) == direct


def test_kiem_tra_matrix_warning_accepted_and_inactive():
    rows = [meeting("CB01", YEAR, 9), meeting("CB01", YEAR, 10),
            meeting("CB02", YEAR, 10, meeting_type="Chuyên đề")]
    raw = RawWorkbook([sheet("cells", [cell("CB01"), cell("CB02", founded=date(2026, 10, 1))]),
                       sheet("meetings", rows)])
    findings = [f(2, "MEET-CONTENT", WARNING, period="2026-09"),
                f(3, "MEET-WINDOW", accepted=True)]
    plan = plan_unit(TEMPLATE, make_read(raw), findings, AS_OF, YEAR)
    header = plan.check_grid.index(["Mã chi bộ", *[f"T{m}" for m in range(1, 13)]])
    cb01, cb02 = plan.check_grid[header + 1], plan.check_grid[header + 2]
    assert cb01[9:11] == ["⚠", "✔"]  # warning; accepted error counts as compliant
    assert cb02[1:13] == ["–"] * 12  # a thematic meeting only is not the regular one
    assert ["", "", "", "", "Không có."] in plan.check_grid  # no notes

"""Write-back planning: the minimal set of flag cells to change, backend-independent.

``plan_unit`` compares what the tool wants in its own cells (the two tool columns of every data
tab with their row heights, the ``Kiểm tra`` and ``Hướng dẫn`` tabs) with what the unit's
spreadsheet held when it was read, and returns a ``FlagPlan`` holding only the differences. A
writer (``sources.local_writer``, the Google writer) applies the plan; before writing a row it
checks that the row's key values (``CellChange.keys``) still equal those that were checked.

Rules kept here (design.md "Reliability invariants", template.md "Tool-owned tabs"):
- tool columns are found by header text, never by position; a missing one is appended after
  the last used column of the header row (staff columns never move);
- values are plain strings (writers store them as data, never as formulas);
- flag lines are written for people: the rule's short name, what is wrong, what to do; notes
  (info) are summarised in ``Kiểm tra`` unless ``notes_per_row``;
- a rerun with the same data and as-of date plans nothing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from ..core.findings import (
    ACCEPTED,
    ACCEPTED_VI,
    ERROR,
    INFO,
    SEVERITY_ORDER,
    SEVERITY_VI,
    WARNING,
    Finding,
    count_findings,
)
from ..core.flagplan import (
    NO_ROOM,
    CellChange,
    FlagPlan,
    ToolColumns,
    clean_text,
    current_text,
    flag_row_height,
    key_text,
    normalize_grid,
    row_height,
)
from ..core.periods import fmt_period
from ..core.raw import RawSheet
from ..core.rules.catalog import rule_fix_vi, rule_name_vi
from ..core.template import Template
from ..core.text import fold, normalize
from ..outputs.template_xlsx import guide_grid

MONTH_OK, MONTH_ERROR, MONTH_WARNING, MONTH_NONE, MONTH_MISSING = "✔", "✖", "⚠", "–", "✖ Thiếu"

CHECK_DATE_PREFIX = "Ngày kiểm tra: "
CHANGED_DATE_PREFIX = "Nội dung thay đổi lần cuối: "

_DMY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")


# --- row statuses ---------------------------------------------------------------------------------

def _by_severity(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (SEVERITY_ORDER[f.severity], f.sort_key()))


_LINE_ORDER = {ERROR: 0, WARNING: 1, ACCEPTED: 2, INFO: 3}


def _for_people(findings: list[Finding]) -> list[Finding]:
    """Errors, warnings, accepted explanations, then notes."""
    return sorted(findings, key=lambda f: (_LINE_ORDER[f.counts_as], f.sort_key()))


def row_status(template: Template, findings: list[Finding], explained: bool = False) -> str:
    """The "Kết quả kiểm tra" label of a row from its findings (rules.md)."""
    labels = template.status_labels
    flagged = [f for f in findings if f.severity in (ERROR, WARNING)]
    if not flagged:
        return labels["ok"]
    open_ = [f for f in flagged if not f.accepted]
    if not open_:
        return labels["accepted"]
    if explained or any(f.explained for f in flagged):
        return labels["explained"]
    if any(f.severity == ERROR for f in open_):
        return labels["error"]
    return labels["warning"]


def row_details(findings: list[Finding], notes_per_row: bool = False) -> str:
    """The "Chi tiết kiểm tra" text, one line per finding: errors, warnings, accepted
    explanations; notes (info) only when ``notes_per_row`` (else they are summarised in
    ``Kiểm tra``)."""
    shown = [f for f in findings if notes_per_row or f.severity != INFO]
    return clean_text("\n".join(f.flag_text for f in _for_people(shown)))


# --- locating tool columns ------------------------------------------------------------------------

def find_header(row: list[Any], header: str) -> int | None:
    target = normalize(header)
    for ci, v in enumerate(row):
        if isinstance(v, str) and v.strip() and normalize(v) == target:
            return ci
    target_f = fold(header)
    hits = [ci for ci, v in enumerate(row)
            if isinstance(v, str) and v.strip() and fold(v) == target_f]
    return hits[0] if len(hits) == 1 else None


MAX_COLUMNS = 16_384  # XFD, the last column Excel (and LibreOffice) can hold


def free_columns(rows: list[list[Any]], header_r: int, count: int,
                 occupied_to: int = -1, limit: int = MAX_COLUMNS) -> list[int]:
    """``count`` columns after the last column holding anything in any row (a value, or a
    formula up to ``occupied_to``, 0-based, even one whose result is empty); [] when they would
    not fit before column ``limit``."""
    last = occupied_to
    for row in rows:
        for ci in range(len(row) - 1, last, -1):
            if row[ci] is not None and row[ci] != "":
                last = ci
                break
    out = list(range(last + 1, last + 1 + count))
    return out if out[-1] < limit else []


# --- the Kiểm tra tab -----------------------------------------------------------------------------

def _period_month(period: str | None, year: int) -> int | None:
    if period and re.fullmatch(r"\d{4}-\d{2}", period) and int(period[:4]) == year:
        return int(period[5:7])
    return None


def _matrix(template: Template, data, unit_findings: list[Finding], year: int
            ) -> list[list[str]]:
    """Cell × month rows for ``year``."""
    cells_tab = data.tabs.get("cells")
    codes: dict[str, str] = {}
    if cells_tab is not None and "cell_code" in cells_tab.values:
        for code in cells_tab.values["cell_code"]:
            if code:
                codes.setdefault(normalize(str(code)), str(code))
    meetings = data.tabs.get("meetings")
    meetings_name = template.tab("meetings").name
    missing: set[tuple[str, int]] = set()
    by_row: dict[int, list[Finding]] = {}
    for f in unit_findings:
        if f.tab != meetings_name:
            continue
        if f.row is None:
            m = _period_month(f.period, year)
            if f.rule == "MEET-MISSING" and f.cell and m:
                missing.add((normalize(f.cell), m))
        else:
            by_row.setdefault(f.row, []).append(f)
    regular: set[tuple[str, int]] = set()
    rows_of: dict[tuple[str, int], list[int]] = {}
    if meetings is not None and "cell_code" in meetings.values and "month" in meetings.values:
        types = meetings.meeting_types()
        for i, (code, month) in enumerate(zip(meetings.values["cell_code"],
                                               meetings.values["month"])):
            m = _period_month(month, year) if isinstance(month, str) else None
            if not code or m is None:
                continue
            key = (normalize(str(code)), m)
            rows_of.setdefault(key, []).append(meetings.rows[i])
            if types[i] in ("regular", "combined"):
                regular.add(key)
    out = []
    for ck, code in codes.items():
        line = [code]
        for m in range(1, 13):
            key = (ck, m)
            if key in missing:
                line.append(MONTH_MISSING)
            elif key in regular:
                found = [f for r in rows_of[key] for f in by_row.get(r, ())
                         if not f.accepted]
                if any(f.severity == ERROR for f in found):
                    line.append(MONTH_ERROR)
                elif any(f.severity == WARNING for f in found):
                    line.append(MONTH_WARNING)
                else:
                    line.append(MONTH_OK)
            else:
                line.append(MONTH_NONE)
        out.append(line)
    return out


SEVERITY_MARKED = {ERROR: "✖ Vi phạm", WARNING: "⚠ Cảnh báo", ACCEPTED: "✔ Đã chấp nhận",
                   INFO: "ℹ Lưu ý"}
EXPLANATION_SHORT = {ACCEPTED: "Đã chấp nhận", "pending": "Chờ xem xét"}
TODO_HEADER = ["Mức độ", "Vị trí (bấm để tới dòng)", "Chi bộ", "Kỳ", "Nội dung",
               "Cách khắc phục", "Giải trình", "Quy tắc"]
# Kiểm tra columns A–M: the to-do list uses A–H, the month matrix A–M.
CHECK_WIDTHS: tuple[float, ...] = (15, 18, 8, 12, 42, 32, 13, 22, 7, 7, 7, 7, 7)
NOTE_ROWS_SHOWN = 30  # row numbers listed per note rule before "…"


@dataclass
class CheckTab:
    """The ``Kiểm tra`` tab: values, links, row heights and print titles."""

    grid: list[list[str]]
    links: dict[tuple[int, int], tuple[str, int]]
    heights: dict[int, float | None]  # 1-based row -> height (None = default), every row
    header_rows: int
    widths: list[float]


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _row_list(rows: list[int]) -> str:
    shown = ", ".join(str(r) for r in rows[:NOTE_ROWS_SHOWN])
    return shown + (", …" if len(rows) > NOTE_ROWS_SHOWN else "")


def _counts_line(findings: list[Finding]) -> str:
    c = count_findings(findings)
    pending = sum(1 for f in findings if f.counts_as in (ERROR, WARNING) and f.explained)
    line = (f"{SEVERITY_VI[ERROR]}: {c[ERROR]} · {SEVERITY_VI[WARNING]}: {c[WARNING]} · "
            f"{SEVERITY_VI[INFO]}: {c[INFO]} · {ACCEPTED_VI}: {c[ACCEPTED]}")
    if pending:
        line += f" (trong số vi phạm, cảnh báo có {pending} đã giải trình, chờ xem xét)"
    return line


def check_tab(template: Template, unit_name: str, data, unit_findings: list[Finding],
              as_of: date, year: int, changed_on: date,
              notes_per_row: bool = False) -> CheckTab:
    """The ``Kiểm tra`` tab: title, the two date lines (rows 2 and 3), the counts, the to-do
    list (every error, warning and accepted explanation, by tab in row order, each linked to its
    row), the notes summarised per rule, and the cell × month matrix."""
    titles: dict[str, str] = {}  # template tab name -> actual sheet title
    order: dict[str, int] = {}
    for n, tab in enumerate(template.tabs):
        order[tab.name] = n
    for tab in data.tabs.values():
        titles[tab.tab.name] = tab.title or tab.tab.name

    def tab_key(f: Finding) -> tuple:
        return (order.get(f.tab or "", len(order)), f.tab or "",
                f.row if f.row is not None else 10**9, _LINE_ORDER[f.counts_as], f.sort_key())

    grid: list[list[str]] = [
        [f"KẾT QUẢ KIỂM TRA — {unit_name}"],
        [f"{CHECK_DATE_PREFIX}{as_of:%d/%m/%Y}"],
        _changed_line(changed_on),
        [_counts_line(unit_findings)],
        list(TODO_HEADER),
    ]
    header_rows = len(grid)
    links: dict[tuple[int, int], tuple[str, int]] = {}
    todo = sorted((f for f in unit_findings if f.severity != INFO), key=tab_key)
    for f in todo:
        where = f.tab or ""
        if f.row is not None:
            where = f"{where}, dòng {f.row}" if where else f"dòng {f.row}"
        title = titles.get(f.tab or "")
        if title is not None:
            links[(len(grid), 1)] = (title, f.row if f.row is not None else 1)
        state = f.counts_as
        explanation = (EXPLANATION_SHORT[ACCEPTED] if state == ACCEPTED
                       else EXPLANATION_SHORT["pending"] if f.explained else "")
        fix = "" if state == ACCEPTED else _capital(rule_fix_vi(f.rule, f.severity))
        grid.append([SEVERITY_MARKED[state], where, f.cell or "", fmt_period(f.period),
                     f"{rule_name_vi(f.rule)}: {f.message}", fix, explanation, f.rule])
    if not todo:
        grid.append(["✔ Không có", "", "", "", "Không có vi phạm hay cảnh báo nào."])

    grid.append([])
    grid.append(["LƯU Ý (không phải vi phạm; " + ("ghi cả vào từng dòng)" if notes_per_row
                                                   else "không ghi vào từng dòng)")])
    notes: dict[str, list[Finding]] = {}
    for f in sorted((f for f in unit_findings if f.severity == INFO), key=tab_key):
        notes.setdefault(f.rule, []).append(f)
    for rule, found in notes.items():
        by_tab: dict[str, list[int]] = {}
        loose = 0
        for f in found:
            if f.row is None:
                loose += 1
            else:
                by_tab.setdefault(f.tab or "", []).append(f.row)
        parts = [f"{tab} dòng {_row_list(rows)}" if tab else f"dòng {_row_list(rows)}"
                 for tab, rows in by_tab.items()]
        if loose:
            parts.append(f"{loose} lần không gắn với dòng")
        tabs = list(dict.fromkeys(f.tab for f in found if f.tab))
        link_title = titles.get(tabs[0]) if len(tabs) == 1 else None
        first_row = min((f.row for f in found if f.row is not None), default=1)
        if link_title is not None:
            links[(len(grid), 1)] = (link_title, first_row)
        grid.append([SEVERITY_MARKED[INFO], ", ".join(tabs), "", "",
                     f"{rule_name_vi(rule)}: {len(found)} lần — " + "; ".join(parts),
                     _capital(rule_fix_vi(rule)), "", rule])
    if not notes:
        grid.append(["", "", "", "", "Không có."])

    grid.append([])
    grid.append([f"TÌNH HÌNH SINH HOẠT CHI BỘ NĂM {year}"])
    grid.append(["Mã chi bộ", *[f"T{m}" for m in range(1, 13)]])
    matrix = _matrix(template, data, unit_findings, year)
    grid.extend(matrix if matrix else [["Chưa có danh sách chi bộ (tab Chi bộ)."]])
    grid += [["Ký hiệu:"],
             [(f"{MONTH_OK} = đã sinh hoạt thường kỳ, không có vấn đề (hoặc giải trình đã "
               "được chấp nhận)")],
             [f"{MONTH_ERROR} = có vi phạm; {MONTH_WARNING} = có cảnh báo"],
             [f"{MONTH_MISSING} = chưa có buổi sinh hoạt thường kỳ (đã quá hạn)"],
             [f"{MONTH_NONE} = chưa đến hạn, chưa có số liệu hoặc chi bộ không hoạt động"]]
    grid = [[clean_text(v) for v in row] for row in grid]

    widths = list(CHECK_WIDTHS)
    heights: dict[int, float | None] = {}
    for r, row in enumerate(grid):
        # Only rows with more than one filled cell wrap: a lone text in column A (titles,
        # legend) runs over the empty cells to its right.
        multi = sum(1 for v in row if v) > 1
        heights[r + 1] = (row_height((v, widths[c]) for c, v in enumerate(row)
                                     if v and c < len(widths)) if multi else None)
    return CheckTab(grid, links, heights, header_rows, widths)


def _changed_line(changed_on: date) -> list[str]:
    """Row 3 of Kiểm tra: the date its content last changed."""
    return [f"{CHANGED_DATE_PREFIX}{changed_on:%d/%m/%Y}"]


def redated(tab: CheckTab, changed_on: date) -> CheckTab:
    """``tab`` as ``check_tab`` makes it with ``changed_on`` instead: only row 3 differs (a
    lone text, so no row height; no link), so the big tab is not built a second time."""
    grid = [*tab.grid[:2], [clean_text(v) for v in _changed_line(changed_on)], *tab.grid[3:]]
    return CheckTab(grid, tab.links, tab.heights, tab.header_rows, tab.widths)


def check_grid(template: Template, unit_name: str, data, unit_findings: list[Finding],
               as_of: date, year: int, changed_on: date,
               notes_per_row: bool = False) -> list[list[str]]:
    """The content of the ``Kiểm tra`` tab (rows 2 and 3 are the two date lines)."""
    return check_tab(template, unit_name, data, unit_findings, as_of, year, changed_on,
                     notes_per_row).grid


def _shown_changed_date(current: list[list[str]]) -> date | None:
    if len(current) < 3 or not current[2] or not current[2][0].startswith(CHANGED_DATE_PREFIX):
        return None
    m = _DMY.search(current[2][0])
    if not m:
        return None
    try:
        return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    except ValueError:
        return None


def _body(grid: list[list[str]]) -> list[list[str]]:
    """A normalised grid without its two date lines."""
    return grid[:1] + grid[3:]


# --- plan -----------------------------------------------------------------------------------------

def _find_sheet(raw, title: str):
    if raw is None:
        return None
    target = normalize(title)
    for s in raw.sheets:
        if normalize(s.title) == target:
            return s
    return None


def plan_unit(template: Template, read, findings: list[Finding], as_of: date,
              year: int, notes_per_row: bool = False) -> FlagPlan:
    """The flag cells, row heights and tool tabs of one unit that differ from what was read.

    ``read`` is a ``checker.UnitRead`` with data and raw; ``findings`` may hold other units'
    findings too (only this unit's are used). ``notes_per_row``: also write info findings in
    the rows (config ``[writeback] notes_per_row``); they are always summarised in Kiểm tra."""
    data, raw = read.data, read.raw
    if data is None or raw is None:
        raise ValueError(f"Đơn vị {read.config.code} chưa đọc được nên không thể lập kế hoạch ghi.")
    code = data.code
    mine = [f for f in findings if f.unit == code]
    plan = FlagPlan(unit=code, check_sheet=template.check_tab, guide_sheet=template.guide_tab)

    by_row: dict[tuple[str, int], list[Finding]] = {}
    for f in mine:
        if f.row is not None and f.tab is not None:
            by_row.setdefault((f.tab, f.row), []).append(f)

    for tab in data.tabs.values():
        title = tab.title or tab.tab.name
        sheet = raw.sheet(title)
        if tab.header_row is None or sheet is None or tab.header_row > len(sheet.rows):
            plan.skipped_tabs[title] = ("không tìm thấy dòng tiêu đề trong 5 dòng đầu nên "
                                        "không ghi được kết quả kiểm tra.")
            continue
        rows = sheet.rows
        header_r = tab.header_row - 1
        header = rows[header_r]
        status_col = find_header(header, template.status_header)
        details_col = find_header(header, template.details_header)
        wanted_new = [h for h, c in ((template.status_header, status_col),
                                     (template.details_header, details_col)) if c is None]
        if wanted_new:
            formula_to = (raw.meta.get("formula_cols") or {}).get(title, -1)
            spots = free_columns(rows, header_r, len(wanted_new), formula_to)
            if not spots:
                plan.skipped_tabs[title] = (f"{NO_ROOM}; hãy xóa các ô thừa ở bên phải bảng "
                                            "rồi chạy lại.")
                continue
            free = iter(spots)
            added = []
            if status_col is None:
                status_col = next(free)
                added.append((status_col, template.status_header))
            if details_col is None:
                details_col = next(free)
                added.append((details_col, template.details_header))
            plan.new_columns[title] = added
        assert status_col is not None and details_col is not None  # found or appended above
        plan.tool_columns[title] = ToolColumns(title, tab.header_row, status_col, details_col)

        # Row heights: what the sheet had is the height our last write gave the tool cells
        # read now, unless the backend reports the actual heights (``RawSheet.row_heights``).
        had_heights: dict[int, float] | None = getattr(sheet, "row_heights", None)
        heights: dict[int, float | None] = {}
        key_cols = [tab.col_index[c] for c in tab.tab.key_columns() if c in tab.col_index]
        if not key_cols:  # no key column: the whole row must be unchanged
            key_cols = sorted(tab.col_index.values())
        data_rows = {r: i for i, r in enumerate(tab.rows)}

        for r in range(header_r + 1, len(rows)):
            sheet_row = r + 1
            line = rows[r]
            i = data_rows.get(sheet_row)
            if i is None:  # not a data row: stale flags left there are cleared
                want_status = want_details = ""
            else:
                found = by_row.get((tab.tab.name, sheet_row), [])
                want_status = row_status(template, found, tab.explained(i))
                want_details = row_details(found, notes_per_row)
            cur_status = line[status_col] if status_col < len(line) else None
            cur_details = line[details_col] if details_col < len(line) else None
            want_h = flag_row_height(want_status, want_details)
            if had_heights is not None:
                had_h = had_heights.get(sheet_row)
            else:
                had_h = flag_row_height(cur_status if isinstance(cur_status, str) else "",
                                        cur_details if isinstance(cur_details, str) else "")
            if (want_h is None) != (had_h is None) or (
                    want_h is not None and had_h is not None and abs(want_h - had_h) > 0.5):
                heights[sheet_row] = want_h
            keys = None
            for col, want in ((status_col, want_status), (details_col, want_details)):
                current = line[col] if col < len(line) else None
                if current_text(current) == want:
                    continue
                if keys is None:
                    keys = tuple((kc, key_text(line[kc] if kc < len(line) else None))
                                 for kc in key_cols)
                plan.changes.append(CellChange(title, sheet_row, col, want, keys,
                                               key_text(current)))
        if heights:
            plan.row_heights[title] = heights

    # Kiểm tra: rewritten only when its content differs.
    current_sheet = _find_sheet(raw, template.check_tab)
    current = normalize_grid(current_sheet.rows) if current_sheet is not None else []
    if current_sheet is not None:
        plan.check_sheet, plan.check_exists = current_sheet.title, True
    shown = _shown_changed_date(current)
    tab_ = check_tab(template, read.config.name, data, mine, as_of, year, shown or as_of,
                     notes_per_row)
    wanted = normalize_grid(tab_.grid)
    # Shown with the date its content last changed: today's date when it changes now (with no
    # date shown, the tab above was already made with today's).
    if shown is not None and _body(wanted) != _body(current):
        tab_ = redated(tab_, as_of)
        wanted = normalize_grid(tab_.grid)
    plan.check_header_rows = tab_.header_rows
    plan.check_widths = tab_.widths
    if wanted != current:
        plan.check_grid = tab_.grid
        plan.check_links = tab_.links
        plan.row_heights[plan.check_sheet] = tab_.heights

    # Hướng dẫn: the template's guide.
    guide = [[clean_text(c) for c in row] for row in guide_grid(template, read.config.name)]
    guide_sheet = _find_sheet(raw, template.guide_tab)
    if guide_sheet is not None:
        plan.guide_sheet, plan.guide_exists = guide_sheet.title, True
    if guide_sheet is None or normalize_grid(guide_sheet.rows) != normalize_grid(guide):
        plan.guide_grid = guide
    return plan


def apply_to_raw(raw, plan: FlagPlan) -> None:
    """Update the raw grids in memory as if ``plan`` had been written (the stored pull then
    matches the spreadsheet our own write produced, so an unchanged unit plans nothing)."""
    def put(rows: list[list[Any]], r: int, c: int, value: Any) -> None:
        while len(rows) <= r:
            rows.append([])
        row = rows[r]
        while len(row) <= c:
            row.append(None)
        row[c] = value

    for title, cols in plan.new_columns.items():
        sheet = raw.sheet(title)
        for col, header in cols:
            put(sheet.rows, plan.tool_columns[title].header_row - 1, col, header)
    for c in plan.changes:
        put(raw.sheet(c.sheet).rows, c.row - 1, c.col, c.value)
    for title, heights in plan.row_heights.items():
        sheet = raw.sheet(title)
        had = getattr(sheet, "row_heights", None) if sheet is not None else None
        if isinstance(had, dict):  # a backend that reports heights: keep them in step
            for r, h in heights.items():
                if h is None:
                    had.pop(r, None)
                else:
                    had[r] = h
    for title, grid in ((plan.check_sheet, plan.check_grid), (plan.guide_sheet, plan.guide_grid)):
        if grid is None:
            continue
        sheet = raw.sheet(title)
        if sheet is None:
            raw.sheets.append(RawSheet(title, [list(r) for r in grid]))
        else:
            sheet.rows = [list(r) for r in grid]

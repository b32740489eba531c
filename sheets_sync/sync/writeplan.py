"""Write-back planning: the minimal set of flag cells to change, backend-independent.

``plan_unit`` compares what the tool wants in its own cells (the two tool columns of every data
tab, the ``Kiểm tra`` and ``Hướng dẫn`` tabs) with what the unit's spreadsheet held when it was
read, and returns a ``FlagPlan`` holding only the differences. A backend writer
(``backends.local_write``, the Google writer) applies the plan; before writing a row it checks
that the row's key values (``CellChange.keys``) still equal those that were checked.

Rules kept here (design.md "Reliability invariants", template.md "Tool-owned tabs"):
- tool columns are found by header text, never by position; a missing one is appended after
  the last used column of the header row (staff columns never move);
- values are plain strings (writers store them as data, never as formulas);
- a rerun with the same data and as-of date plans nothing.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Any

from ..core.findings import ERROR, INFO, SEVERITY_ORDER, SEVERITY_VI, WARNING, Finding
from ..core.flagplan import (
    CellChange,
    FlagPlan,
    ToolColumns,
    clean_text,
    current_text,
    key_text,
    normalize_grid,
)
from ..core.template import Template
from ..core.text import fold, normalize
from ..outputs.template_xlsx import guide_grid

MONTH_OK, MONTH_ERROR, MONTH_WARNING, MONTH_NONE, MONTH_MISSING = "✔", "✖", "⚠", "–", "✖ Thiếu"

CHECK_DATE_PREFIX = "Ngày kiểm tra: "
CHANGED_DATE_PREFIX = "Nội dung thay đổi lần cuối: "

_DMY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")


def fmt_period(period: str | None) -> str:
    """ "2026-10" -> "10/2026", "2026-Q3" -> "Quý 3/2026", "2026" -> "2026"."""
    if not period:
        return ""
    if re.fullmatch(r"\d{4}-\d{2}", period):
        return f"{period[5:7]}/{period[:4]}"
    m = re.fullmatch(r"(\d{4})-Q(\d)", period)
    if m:
        return f"Quý {m.group(2)}/{m.group(1)}"
    return period


# --- row statuses ---------------------------------------------------------------------------------

def _by_severity(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (SEVERITY_ORDER[f.severity], f.sort_key()))


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


def row_details(findings: list[Finding]) -> str:
    """The "Chi tiết kiểm tra" text: errors, then warnings, then info, one per line."""
    return clean_text("\n".join(f.flag_text for f in _by_severity(findings)))


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


def _is_empty(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _column_empty(rows: list[list[Any]], ci: int) -> bool:
    return all(ci >= len(r) or _is_empty(r[ci]) for r in rows)


def free_columns(rows: list[list[Any]], header_r: int, count: int,
                 occupied: Iterable[int] = ()) -> list[int]:
    """``count`` adjacent columns after the last column that holds anything in any row (a
    value in any row, or a column in ``occupied``: e.g. formulas whose results are empty), so
    tool columns never go over staff cells and inserting them moves no staff cell."""
    last = max([ci for row in rows for ci, v in enumerate(row) if v is not None and v != ""]
               + list(occupied), default=-1)
    return list(range(last + 1, last + 1 + count))


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


def check_grid(template: Template, unit_name: str, data, unit_findings: list[Finding],
               as_of: date, year: int, changed_on: date) -> list[list[str]]:
    """The content of the ``Kiểm tra`` tab (rows 2 and 3 are the two date lines)."""
    counts = {ERROR: 0, WARNING: 0, INFO: 0}
    for f in unit_findings:
        counts[f.severity] += 1
    grid: list[list[str]] = [
        [f"KẾT QUẢ KIỂM TRA — {unit_name}"],
        [f"{CHECK_DATE_PREFIX}{as_of:%d/%m/%Y}"],
        [f"{CHANGED_DATE_PREFIX}{changed_on:%d/%m/%Y}"],
        [],
        ["Số vấn đề theo mức độ"],
        *[[SEVERITY_VI[s], str(counts[s])] for s in (ERROR, WARNING, INFO)],
        [],
        [f"Tình hình sinh hoạt chi bộ năm {year}"],
        ["Mã chi bộ", *[f"T{m}" for m in range(1, 13)]],
    ]
    matrix = _matrix(template, data, unit_findings, year)
    grid.extend(matrix if matrix else [["Chưa có danh sách chi bộ (tab Chi bộ)."]])
    grid.append([f"Ký hiệu: {MONTH_OK} = đã sinh hoạt thường kỳ, không có vấn đề; "
                 f"{MONTH_ERROR} = có vi phạm; {MONTH_WARNING} = có cảnh báo; "
                 f"{MONTH_MISSING} = chưa có buổi sinh hoạt thường kỳ (đã quá hạn); "
                 f"{MONTH_NONE} = chưa đến hạn, chưa có số liệu hoặc chi bộ không hoạt động."])
    grid.append([])
    grid.append(["Các vấn đề không gắn với một dòng cụ thể"])
    loose = _by_severity([f for f in unit_findings if f.row is None])
    if loose:
        grid.append(["Mức độ", "Quy tắc", "Kỳ", "Chi bộ", "Tab", "Nội dung"])
        for f in loose:
            grid.append([SEVERITY_VI[f.severity], f.rule, fmt_period(f.period), f.cell or "",
                         f.tab or "", clean_text(f.message)])
    else:
        grid.append(["Không có."])
    return [[clean_text(v) for v in row] for row in grid]


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
              year: int) -> FlagPlan:
    """The flag cells and tool tabs of one unit that differ from what was read.

    ``read`` is a ``checker.UnitRead`` with data and raw; ``findings`` may hold other units'
    findings too (only this unit's are used)."""
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
            occupied = (raw.meta.get("formula_cols") or {}).get(title, ())
            free = iter(free_columns(rows, header_r, len(wanted_new), occupied))
            added = []
            if status_col is None:
                status_col = next(free)
                added.append((status_col, template.status_header))
            if details_col is None:
                details_col = next(free)
                added.append((details_col, template.details_header))
            plan.new_columns[title] = added
        assert status_col is not None and details_col is not None
        plan.tool_columns[title] = ToolColumns(title, tab.header_row, status_col, details_col)

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
                want_details = row_details(found)
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

    # Kiểm tra: rewritten only when its content differs.
    current_sheet = _find_sheet(raw, template.check_tab)
    current = normalize_grid(current_sheet.rows) if current_sheet is not None else []
    if current_sheet is not None:
        plan.check_sheet, plan.check_exists = current_sheet.title, True
    shown = _shown_changed_date(current)
    grid = check_grid(template, read.config.name, data, mine, as_of, year, shown or as_of)
    if shown is None or _body(normalize_grid(grid)) != _body(current):
        grid = check_grid(template, read.config.name, data, mine, as_of, year, as_of)
    if normalize_grid(grid) != current:
        plan.check_grid = grid

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
    from ..core.raw import RawSheet

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
    for title, grid in ((plan.check_sheet, plan.check_grid), (plan.guide_sheet, plan.guide_grid)):
        if grid is None:
            continue
        sheet = raw.sheet(title)
        if sheet is None:
            raw.sheets.append(RawSheet(title, [list(r) for r in grid]))
        else:
            sheet.rows = [list(r) for r in grid]

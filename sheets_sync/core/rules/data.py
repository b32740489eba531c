"""DATA-* rules that need more than one cell: unknown and duplicated cell codes, attendance sums."""
from __future__ import annotations

from ..findings import ERROR, WARNING, Finding
from .base import UnitContext, code_key, row_code_keys

# Tabs whose cell code must name a cell of the register.
CELL_REF_TABS = ("meetings", "visits", "attendance", "annual", "halls")


def check(ctx: UnitContext) -> list[Finding]:
    return [*_duplicate_cells(ctx), *_unknown_cells(ctx), *_attendance_sum(ctx)]


def _duplicate_cells(ctx: UnitContext) -> list[Finding]:
    tab = ctx.tab("cells")
    if tab is None:
        return []
    out: list[Finding] = []
    seen: dict[str, int] = {}
    for i, code in enumerate(tab.col("cell_code")):
        if code is None:
            continue
        key = code_key(code)
        if key in seen:
            out.append(tab.finding(i, "DATA-DUPLICATE-CELL", ERROR,
                                   f"Mã chi bộ \"{code}\" trùng với dòng {tab.rows[seen[key]]}."))
        else:
            seen[key] = i
    return out


def _unknown_cells(ctx: UnitContext) -> list[Finding]:
    if not ctx.cells_known:
        return []
    out = []
    for tab_id in CELL_REF_TABS:
        tab = ctx.tab(tab_id)
        if tab is None or not tab.has("cell_code"):
            continue
        codes, cells, keys = tab.col("cell_code"), ctx.cells, row_code_keys(tab)
        if cells.keys() >= set(keys) - {None}:  # every row's cell is known (the usual case)
            continue
        for i, key in enumerate(keys):
            if key is not None and key not in cells:
                out.append(tab.finding(i, "DATA-UNKNOWN-CELL", ERROR,
                                       f"Mã chi bộ \"{codes[i]}\" không có trong tab Chi bộ."))
    return out


def _attendance_sum(ctx: UnitContext) -> list[Finding]:
    tab = ctx.tab("meetings")
    if tab is None:
        return []
    out = []
    cols = [tab.col(c) for c in ("required_count", "present", "excused", "unexcused")]
    for i, (req, present, exc, unexc) in enumerate(zip(*cols)):
        if req is None or present is None:
            continue
        if present > req:
            out.append(tab.finding(i, "DATA-ATTENDANCE-SUM", WARNING,
                                   f"Số có mặt ({present}) lớn hơn số phải dự ({req})."))
        elif exc is not None and unexc is not None and present + exc + unexc != req:
            out.append(tab.finding(
                i, "DATA-ATTENDANCE-SUM", WARNING,
                f"Có mặt {present} + vắng có lý do {exc} + vắng không lý do {unexc} = "
                f"{present + exc + unexc}, khác số phải dự {req}."))
    return out

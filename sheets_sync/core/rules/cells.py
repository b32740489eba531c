"""CELL-* rules: the cell register (`Chi bộ`, rules.md "Cell registry").

Every non-empty row of the register is checked, except the second and later rows of a
duplicated cell code (DATA-DUPLICATE-CELL is reported there; the first row is the one the
rules use). A missing column disables only the rule that reads it.
"""
from __future__ import annotations

from ..findings import INFO, WARNING, Finding
from ..grid import TabData
from .base import UnitContext, code_key

# Cell kinds whose secretary should also lead the village / residential group (CT §3).
HAMLET_KINDS = frozenset({"village", "residential"})
# Administrative agencies, public service units, armed forces: secretary = head of the unit.
AGENCY_KINDS = frozenset({"agency", "school", "health", "military", "police"})


def check(ctx: UnitContext) -> list[Finding]:
    tab = ctx.tab("cells")
    if tab is None or not tab.rows:
        return []
    rows, names = _checked_rows(tab), _names(tab)
    return [*_assignee(tab, rows, names), *_size(ctx, tab, rows, names),
            *_secretary_dual(tab, rows, names)]


def _checked_rows(tab: TabData) -> list[int]:
    """Row indexes, without the repeated rows of a duplicated cell code."""
    seen: set[str] = set()
    out = []
    for i, code in enumerate(tab.col("cell_code")):
        if code is not None:
            key = code_key(code)
            if key in seen:
                continue
            seen.add(key)
        out.append(i)
    return out


def _names(tab: TabData) -> list[str]:
    """Per row: "chi bộ CB01" (the cell's name when the code is empty, else just "chi bộ")."""
    return [f"chi bộ {code}" if code is not None else (name if name is not None else "chi bộ")
            for code, name in zip(tab.col("cell_code"), tab.col("cell_name"))]


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _assignee(tab: TabData, rows: list[int], names: list[str]) -> list[Finding]:
    """CELL-ASSIGNEE: no commune committee member assigned (CT §4). The reader reports the
    empty cell with this rule instead of DATA-REQUIRED."""
    if not tab.has("assignee"):
        return []
    return [tab.finding(i, "CELL-ASSIGNEE", WARNING,
                        f"{_cap(names[i])} chưa có đảng ủy viên phụ trách.")
            for i in rows if tab.is_empty("assignee", i)]


def _size(ctx: UnitContext, tab: TabData, rows: list[int], names: list[str]) -> list[Finding]:
    """CELL-SIZE: fewer official members than ``min_official_members`` (only when filled)."""
    minimum = ctx.params["min_official_members"]
    official = tab.col("official_members")
    out = []
    for i in rows:
        n = official[i]
        if n is not None and n < minimum:
            out.append(tab.finding(
                i, "CELL-SIZE", WARNING,
                f"{_cap(names[i])} có {n} đảng viên chính thức, ít hơn mức tối thiểu {minimum}."))
    return out


def _secretary_dual(tab: TabData, rows: list[int], names: list[str]) -> list[Finding]:
    """CELL-SECRETARY-DUAL (advisory): only on an explicit "Không"."""
    if not tab.has("secretary_dual"):
        return []
    dual, kinds = tab.col("secretary_dual"), tab.col("kind")
    out = []
    for i in rows:
        if dual[i] is not False:
            continue
        if kinds[i] in HAMLET_KINDS:
            what = "trưởng thôn/tổ trưởng dân phố"
        elif kinds[i] in AGENCY_KINDS:
            what = "thủ trưởng cơ quan, đơn vị"
        else:
            continue
        out.append(tab.finding(i, "CELL-SECRETARY-DUAL", INFO,
                               f"Bí thư {names[i]} chưa đồng thời là {what}."))
    return out

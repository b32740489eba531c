"""HOUSE-NEED: village halls that need building or upgrading (`Nhà văn hóa`, CT §9).

A row needs a hall when its state is "Chưa có", when it is "Xuống cấp", or when its seating
capacity is filled and smaller than the number of members of its cell (Mã chi bộ → Số đảng viên
in `Chi bộ`). A hall that does not exist has no capacity to compare. One advisory finding per
row, naming every reason. ``hall_needs`` gives the same rows for the roll-up's budget list.
"""
from __future__ import annotations

from typing import Any

from ..findings import INFO, Finding
from ..grid import TabData
from .base import UnitContext, code_key


def _needs(ctx: UnitContext, tab: TabData) -> list[tuple[int, int | None, list[str]]]:
    """(row index, members of the cell or None, reasons) of every row with a need."""
    states, capacities, codes = tab.col("state"), tab.col("capacity"), tab.col("cell_code")
    out = []
    for i, state in enumerate(states):
        code = codes[i]
        cell = ctx.cells.get(code_key(code)) if code is not None else None
        members = cell.members if cell is not None else None
        reasons = []
        if state == "none":
            reasons.append("chưa có nhà văn hóa")
        else:
            if state == "degraded":
                reasons.append("nhà văn hóa xuống cấp")
            capacity = capacities[i]
            if (capacity is not None and cell is not None and members is not None
                    and capacity < members):
                reasons.append(f"sức chứa {capacity} chỗ, ít hơn {members} đảng viên của "
                               f"chi bộ {cell.code}")
        if reasons:
            out.append((i, members, reasons))
    return out


def _sentence(reasons: list[str]) -> str:
    text = "; ".join(reasons)
    return f"{text[0].upper()}{text[1:]}."


def check(ctx: UnitContext) -> list[Finding]:
    tab = ctx.tab("halls")
    if tab is None or not tab.rows:
        return []
    return [tab.finding(i, "HOUSE-NEED", INFO, _sentence(reasons))
            for i, _members, reasons in _needs(ctx, tab)]


def hall_needs(ctx: UnitContext) -> list[dict[str, Any]]:
    """The rows with a HOUSE-NEED, for the roll-up: hamlet, cell, population, capacity, members,
    state and proposal (Vietnamese labels), reason; by population, then members, largest first
    (unknown last), then sheet order."""
    tab = ctx.tab("halls")
    if tab is None or not tab.rows:
        return []
    hamlets, codes = tab.col("hamlet"), tab.col("cell_code")
    populations, capacities = tab.col("population"), tab.col("capacity")
    states, proposals = tab.col("state"), tab.col("proposal")
    state_col, proposal_col = tab.tab.column("state"), tab.tab.column("proposal")
    out = []
    for i, members, reasons in _needs(ctx, tab):
        out.append({
            "row": tab.rows[i],
            "hamlet": hamlets[i],
            "cell": codes[i],
            "population": populations[i],
            "capacity": capacities[i],
            "members": members,
            "state": state_col.label_of(states[i]),
            "proposal": proposal_col.label_of(proposals[i]),
            "reason": _sentence(reasons),
        })
    out.sort(key=lambda d: (d["population"] is None, -(d["population"] or 0),
                            d["members"] is None, -(d["members"] or 0)))
    return out

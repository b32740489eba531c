"""`sheets-sync rules`: the catalog with the parameters in force, as table, JSON or Markdown."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from types import MappingProxyType
from typing import Any

from ..findings import SEVERITY_VI
from .catalog import RULES


def _value(v: Any) -> Any:
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, MappingProxyType):
        return dict(v)
    return v


def _show(v: Any) -> str:
    v = _value(v)
    if v is None:
        return "(tắt)"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dict):
        return ", ".join(f"{k} = {x}" for k, x in v.items())
    return str(v)


def _severity(s: str) -> str:
    return " / ".join(SEVERITY_VI[p] for p in s.split("/"))


def as_json(params: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"id": r.id, "name_vi": r.name_vi, "fix_vi": r.fix_vi, "source": r.source,
             "severity": r.severity, "tab": r.tab, "description": r.description,
             "params": {p: _value(params[p]) for p in r.params}} for r in RULES]


def as_markdown(params: Mapping[str, Any]) -> str:
    lines = ["| Mã | Mức độ | Nguồn | Mô tả | Tham số |", "|---|---|---|---|---|"]
    for r in RULES:
        ps = "; ".join(f"`{p}` = {_show(params[p])}" for p in r.params)
        lines.append(f"| {r.id} | {_severity(r.severity)} | {r.source} | {r.description} | {ps} |")
    return "\n".join(lines) + "\n"


def as_table(params: Mapping[str, Any]) -> str:
    out = []
    for r in RULES:
        out.append(f"{r.name_vi} — {r.id}  [{_severity(r.severity)}]  ({r.source})")
        out.append(f"    {r.description}")
        out.append(f"    Cách khắc phục: {r.fix_vi}.")
        for p in r.params:
            out.append(f"    {p} = {_show(params[p])}")
    return "\n".join(out) + "\n"

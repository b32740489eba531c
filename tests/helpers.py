"""Test builders: unit workbooks from rows of column ids, synthetic datasets as read, flattened
findings."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sheets_sync.core.checker import UnitRead
from sheets_sync.core.config import Config
from sheets_sync.core.findings import OK, UnitResult
from sheets_sync.core.grid import UnitData, parse_unit
from sheets_sync.core.raw import RawSheet, RawWorkbook
from sheets_sync.core.rules import params as rule_params
from sheets_sync.core.rules.base import UnitContext, make_context
from sheets_sync.core.template import load_template

TEMPLATE = load_template()


def sheet(tab_id: str, rows: Iterable[dict[str, Any]], columns: list[str] | None = None,
          title_rows: int = 0) -> RawSheet:
    """A sheet of a template tab: header row (every template column unless ``columns``),
    then one row per dict of column id -> raw value."""
    tab = TEMPLATE.tab(tab_id)
    cols = columns or [c.id for c in tab.columns]
    grid: list[list[Any]] = [[f"Tiêu đề {k + 1}"] for k in range(title_rows)]
    grid.append([tab.column(c).header for c in cols])
    for row in rows:
        unknown = set(row) - set(cols)
        assert not unknown, f"columns not in sheet: {unknown}"
        grid.append([row.get(c) for c in cols])
    return RawSheet(tab.name, grid)


def workbook(**tabs: list[dict[str, Any]] | RawSheet) -> RawWorkbook:
    """workbook(cells=[...], meetings=[...]); tabs not given are absent."""
    sheets = [t if isinstance(t, RawSheet) else sheet(tab_id, t) for tab_id, t in tabs.items()]
    return RawWorkbook(sheets)


def unit_data(as_of: date, code: str = "NT", **tabs) -> UnitData:
    return parse_unit(TEMPLATE, workbook(**tabs), code, f"Đơn vị {code}", as_of)


def context(as_of: date, year: int | None = None, params: dict | None = None, code: str = "NT",
            **tabs) -> UnitContext:
    return make_context(unit_data(as_of, code, **tabs), rule_params.resolve(params or {}),
                        as_of, year or as_of.year)


def flat(findings, fields=("rule", "row", "period", "severity")) -> list[tuple]:
    """Findings as sorted tuples of the given fields (frictionless-style flat assertions)."""
    return sorted((tuple(getattr(f, k) for k in fields) for f in findings),
                  key=lambda t: tuple((x is None, str(x)) for x in t))


def only(findings, *rules: str) -> list:
    return [f for f in findings if f.rule in rules]


def cell(code: str = "CB01", **extra) -> dict[str, Any]:
    """A clean Chi bộ row."""
    row = {"cell_code": code, "cell_name": f"Chi bộ {code}", "kind": "Thôn", "members": 20,
           "official_members": 18, "secretary": "Nguyễn Văn An", "secretary_dual": "Có",
           "assignee": "Trần Thị Bình"}
    row.update(extra)
    return row


def meeting(code: str, year: int, month: int, day: int = 3, **extra) -> dict[str, Any]:
    """A clean regular meeting row (every MEET-* criterion met)."""
    row = {"cell_code": code, "month": f"{month:02d}/{year}", "meeting_type": "Thường kỳ",
           "meeting_date": date(year, month, day), "start_time": "07:30", "end_time": "09:30",
           "duration": 120, "premeeting_date": date(year, month, 1) if day > 1 else None,
           "docs_date": None, "required_count": 20, "present": 19, "excused": 1,
           "unexcused": 0, "link_tw4": "Có", "link_hcm": "Có", "criticism": "Có",
           "minutes_full": "Có", "score": 92, "rating": "Tốt"}
    if day > 1:
        row["docs_date"] = date(year, month, day - 1)
    else:
        prev = date(year, month, 1).toordinal() - 1
        row["premeeting_date"] = date.fromordinal(prev)
        row["docs_date"] = date.fromordinal(prev)
    row.update(extra)
    return row


def synthetic_reads(size: str) -> tuple[Config, list[UnitRead]]:
    """The synthetic dataset of ``benchmarks.synthetic`` of that size, every unit parsed as a
    successful read as of the benchmarks' date."""
    from benchmarks.synthetic import AS_OF, SIZES, dataset

    config, units = dataset(SIZES[size])
    return config, [UnitRead(unit, UnitResult(unit.code, unit.name, OK),
                             parse_unit(TEMPLATE, raw, unit.code, unit.name, AS_OF), raw)
                    for unit, raw in units]

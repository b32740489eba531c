"""Build spreadsheets from Python values or from an .xlsx file (openpyxl).

Seeded values keep their Python types: dates and datetimes become date serials (epoch
1899-12-30) with a date format, booleans stay booleans, formulas are stored as text
(``=...``) and evaluated on read. From Python values, every string starting with ``=``
is a formula; from .xlsx, only formula cells are. The grid is at least 1000 x 26 (a new
Google sheet) or larger to hold the data. From .xlsx, frozen panes and list validations
(``"a,b,c"`` or a cell range) are carried over.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from . import cells
from .cells import Cell
from .sheet import Sheet
from .spreadsheet import DEFAULT_COLUMNS, DEFAULT_ROWS, Spreadsheet, new_sheet_properties

Entry = tuple[Any, bool, dict | None]  # (value, is_formula, numberFormat)


def _add_sheet(ss: Spreadsheet, title: str, rows: list[list[Entry]], rng: random.Random) -> Sheet:
    width = max((len(row) for row in rows), default=0)
    sheet_id = 0 if not ss.sheets else ss.new_sheet_id(rng)
    sheet = ss.add_sheet(new_sheet_properties(sheet_id, title, len(ss.sheets),
                                              max(DEFAULT_ROWS, len(rows)),
                                              max(DEFAULT_COLUMNS, width)))
    for r, row in enumerate(rows):
        for c, (value, formula, number_format) in enumerate(row):
            if value is not None:
                sheet.put(r, c, cells.with_value(None, value, formula, number_format))
    return sheet


def from_values(spreadsheet_id: str, sheets: dict[str, Iterable[Iterable[Any]]], title: str,
                locale: str, time_zone: str, rng: random.Random) -> Spreadsheet:
    if not sheets:
        raise ValueError("a spreadsheet needs at least one sheet")
    ss = Spreadsheet(spreadsheet_id, title, locale, time_zone)
    for sheet_title, rows in sheets.items():
        _add_sheet(ss, sheet_title, [[cells.from_python(v) for v in row] for row in rows], rng)
    return ss


def _xlsx_entry(cell: Any) -> Entry:
    value = cell.value
    if cell.data_type == "f":
        text = getattr(value, "text", value)  # ArrayFormula keeps its text in .text
        return str(text), True, None
    if isinstance(value, str):
        return value or None, False, None
    return cells.from_python(value)


def _list_rule(validation: Any) -> dict | None:
    formula = (validation.formula1 or "").strip()
    if validation.type != "list" or not formula:
        return None
    if formula.startswith('"') and formula.endswith('"'):
        condition = {"type": "ONE_OF_LIST",
                     "values": [{"userEnteredValue": v.strip()} for v in formula[1:-1].split(",")]}
    else:
        condition = {"type": "ONE_OF_RANGE", "values": [{"userEnteredValue": "=" + formula}]}
    return {"condition": condition, "strict": bool(validation.showErrorMessage),
            "showCustomUi": True}


def from_xlsx(spreadsheet_id: str, path: str | Path, title: str | None, locale: str,
              time_zone: str, rng: random.Random) -> Spreadsheet:
    import openpyxl
    from openpyxl.utils.cell import column_index_from_string, coordinate_from_string

    workbook = openpyxl.load_workbook(path)
    ss = Spreadsheet(spreadsheet_id, title or Path(path).stem, locale, time_zone)
    for ws in workbook.worksheets:
        rows = [[_xlsx_entry(c) for c in row] for row in ws.iter_rows()]
        sheet = _add_sheet(ss, ws.title, rows, rng)
        if ws.freeze_panes:
            letters, row = coordinate_from_string(ws.freeze_panes)
            grid = sheet.properties["gridProperties"]
            if row > 1:
                grid["frozenRowCount"] = row - 1
            if column_index_from_string(letters) > 1:
                grid["frozenColumnCount"] = column_index_from_string(letters) - 1
        for validation in ws.data_validations.dataValidation:
            rule = _list_rule(validation)
            for cell_range in validation.sqref.ranges if rule else []:
                for r in range(cell_range.min_row - 1, min(cell_range.max_row, sheet.row_count)):
                    for c in range(cell_range.min_col - 1, min(cell_range.max_col,
                                                               sheet.column_count)):
                        old = sheet.cell(r, c) or Cell()
                        sheet.put(r, c, Cell(old.value, old.formula, old.format, old.note, rule))
    return ss

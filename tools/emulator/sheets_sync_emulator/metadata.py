"""The ``Spreadsheet`` resource as spreadsheets.get returns it (before ``fields``).

Per sheet: ``properties`` always; ``data`` only with grid data; ``merges``,
``conditionalFormats`` and ``protectedRanges`` only when non-empty. Proto3 defaults are
omitted, except ``SheetProperties.sheetId``/``index`` which Google always prints.
"""

from __future__ import annotations

import copy

from . import a1, cells, devmeta, grid, proto
from .formula import Evaluator
from .sheet import Sheet
from .spreadsheet import Spreadsheet

_PIXELS = {"ROWS": 21, "COLUMNS": 100}


def sheet_properties(sheet: Sheet) -> dict:
    rest = proto.prune(proto.normalise_colours(copy.deepcopy(sheet.properties)))
    return {"sheetId": sheet.sheet_id, "title": sheet.title, "index": sheet.properties["index"],
            **rest}


def grid_range(rng: dict) -> dict:
    return proto.prune(dict(rng))


def protected_range(stored: dict) -> dict:
    out = copy.deepcopy(stored)
    out["range"] = grid_range(stored["range"])
    return proto.prune(out)


def conditional_format(rule: dict) -> dict:
    out = proto.normalise_colours(copy.deepcopy(rule))
    out["ranges"] = [grid_range(r) for r in rule["ranges"]]
    return proto.prune(out)


def _cell_data(ss: Spreadsheet, sheet: Sheet, r: int, c: int, evaluator: Evaluator) -> dict:
    cell = sheet.cell(r, c)
    if cell is None:
        return {}
    out: dict = {}
    if cell.value is not None:
        effective = evaluator.value(sheet, r, c)
        out["userEnteredValue"] = ({"formulaValue": cell.value} if cell.formula
                                   else cells.extended_value(cell.value))
        out["effectiveValue"] = cells.extended_value(effective)
        formatted = cells.render(cell, effective, "FORMATTED_VALUE", "FORMATTED_STRING",
                                 ss.locale)
        out["formattedValue"] = str(formatted)
    if cell.format:
        out["userEnteredFormat"] = proto.normalise_colours(cell.format)
    if cell.note:
        out["note"] = cell.note
    if cell.validation:
        out["dataValidation"] = proto.prune(cell.validation)
    return out


def _dimension(sheet: Sheet, dimension: str, index: int) -> dict:
    props = sheet.dimension_props[dimension].get(index, {})
    out = proto.prune({"pixelSize": _PIXELS[dimension], **props})
    located = [devmeta.resource(m) for m in sheet.developer_metadata
               if m["location"].get("dimensionRange", {}).get("dimension") == dimension
               and m["location"]["dimensionRange"]["startIndex"] <= index
               < m["location"]["dimensionRange"]["endIndex"]]
    if located:
        out["developerMetadata"] = located
    return out


def grid_data(ss: Spreadsheet, sheet: Sheet, box: a1.Box, evaluator: Evaluator) -> dict:
    out: dict = {}
    if box.row0:
        out["startRow"] = box.row0
    if box.col0:
        out["startColumn"] = box.col0
    rows = []
    for r in range(box.row0, min(box.row1, len(sheet.rows))):
        values = [_cell_data(ss, sheet, r, c, evaluator)
                  for c in range(box.col0, min(box.col1, len(sheet.rows[r])))]
        while values and not values[-1]:
            values.pop()
        rows.append({"values": values} if values else {})
    while rows and not rows[-1]:
        rows.pop()
    if rows:
        out["rowData"] = rows
    out["rowMetadata"] = [_dimension(sheet, "ROWS", i) for i in range(box.row0, box.row1)]
    out["columnMetadata"] = [_dimension(sheet, "COLUMNS", i) for i in range(box.col0, box.col1)]
    return out


def render(ss: Spreadsheet, ranges: list[str] | None = None, include_grid: bool = False) -> dict:
    """The Spreadsheet resource; ``ranges`` limits sheets (and grid data) to those ranges."""
    selected: dict[int, list[a1.Box]] = {}
    for text in ranges or []:
        sheet, box = grid.read_box(ss, text)
        selected.setdefault(sheet.sheet_id, []).append(box)
    evaluator = Evaluator(ss)
    sheets = []
    for sheet in ss.sheets:
        if ranges and sheet.sheet_id not in selected:
            continue
        out: dict = {"properties": sheet_properties(sheet)}
        if include_grid:
            boxes = selected.get(sheet.sheet_id) or [sheet.whole()]
            out["data"] = [grid_data(ss, sheet, box, evaluator) for box in boxes]
        if sheet.merges:
            out["merges"] = [grid_range(m) for m in sheet.merges]
        if sheet.conditional_formats:
            out["conditionalFormats"] = [conditional_format(r) for r in sheet.conditional_formats]
        if sheet.protected_ranges:
            out["protectedRanges"] = [protected_range(p) for p in sheet.protected_ranges]
        on_sheet = [devmeta.resource(m) for m in sheet.developer_metadata
                    if "dimensionRange" not in m["location"]]
        if on_sheet:
            out["developerMetadata"] = on_sheet
        sheets.append(out)
    return {
        "spreadsheetId": ss.spreadsheet_id,
        "properties": copy.deepcopy(ss.properties),
        "sheets": sheets,
        "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{ss.spreadsheet_id}/edit",
    }

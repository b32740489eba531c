"""The ``Spreadsheet`` resource as spreadsheets.get returns it (before ``fields``).

Per sheet: ``properties`` always; ``data`` only with grid data; ``merges``,
``conditionalFormats`` and ``protectedRanges`` only when non-empty. Proto3 defaults are
omitted, except ``SheetProperties.sheetId``/``index`` which Google always prints.
"""

from __future__ import annotations

import copy

from . import a1, cells, devmeta, grid, proto
from .cells import Cell
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


def _link(runs: tuple) -> str | None:
    """CellData.hyperlink: the link of a cell whose runs carry exactly one."""
    uris = {r.get("format", {}).get("link", {}).get("uri") for r in runs
            if r.get("format", {}).get("link")}
    return uris.pop() if len(uris) == 1 else None


def _cell_link(cell: Cell, sheet: Sheet, r: int, c: int, evaluator: Evaluator) -> str | None:
    """CellData.hyperlink: the url of a ``=HYPERLINK(...)`` formula, or the one link of the
    cell's text runs."""
    if cell.formula:
        return getattr(evaluator.value(sheet, r, c), "uri", None)
    return _link(cell.runs) if cell.runs else None


def _wants(fields: dict | None, name: str) -> bool:
    return fields is None or "*" in fields or name in fields


def _cell_data(ss: Spreadsheet, sheet: Sheet, r: int, c: int, evaluator: Evaluator,
               fields: dict | None = None) -> dict:
    """One CellData; ``fields`` (a field-mask tree of CellData, None = all) limits the work to
    what the response keeps."""
    cell = sheet.cell(r, c)
    if cell is None:
        return {}
    out: dict = {}
    if cell.value is not None:
        effective = None
        if _wants(fields, "effectiveValue") or _wants(fields, "formattedValue"):
            effective = evaluator.value(sheet, r, c)
        if _wants(fields, "userEnteredValue"):
            sub = None if fields is None or "*" in fields else fields["userEnteredValue"]
            if cell.formula:
                out["userEnteredValue"] = {"formulaValue": cell.value}
            elif sub is None or set(sub) - {"formulaValue"}:
                out["userEnteredValue"] = cells.extended_value(cell.value)
        if _wants(fields, "effectiveValue"):
            out["effectiveValue"] = cells.extended_value(effective)
        if _wants(fields, "formattedValue"):
            formatted = cells.render(cell, effective, "FORMATTED_VALUE", "FORMATTED_STRING",
                                     ss.locale)
            out["formattedValue"] = str(formatted)
    if cell.format and _wants(fields, "userEnteredFormat"):
        out["userEnteredFormat"] = proto.normalise_colours(cell.format)
    if cell.note and _wants(fields, "note"):
        out["note"] = cell.note
    if cell.runs and _wants(fields, "textFormatRuns"):
        out["textFormatRuns"] = [copy.deepcopy(r) for r in cell.runs]
    if _wants(fields, "hyperlink"):
        link = _cell_link(cell, sheet, r, c, evaluator)
        if link:
            out["hyperlink"] = link
    if cell.validation and _wants(fields, "dataValidation"):
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


_FORMULA_ONLY = {"formulaValue": None}


def values_only_mask(cell_fields: dict | None) -> bool:
    """True for the common read mask ``values(effectiveValue,userEnteredValue/formulaValue)``
    (or a part of it), which has a fast path."""
    return (isinstance(cell_fields, dict) and bool(cell_fields)
            and set(cell_fields) <= {"effectiveValue", "userEnteredValue", "hyperlink"}
            and cell_fields.get("userEnteredValue", _FORMULA_ONLY) == _FORMULA_ONLY)


def _printed(extended: dict) -> dict:
    """An ExtendedValue with its number as Google prints it (``proto.json_numbers``)."""
    if "numberValue" in extended:
        extended["numberValue"] = proto.json_numbers(extended["numberValue"])
    return extended


def _values_only(sheet: Sheet, box: a1.Box, evaluator: Evaluator,
                 cell_fields: dict) -> list[dict]:
    """rowData with effective values and formula markers only (what the mask keeps), numbers
    as Google prints them."""
    effective, formulas = "effectiveValue" in cell_fields, "userEnteredValue" in cell_fields
    links = "hyperlink" in cell_fields
    rows: list[dict] = []
    for r in range(box.row0, min(box.row1, len(sheet.rows))):
        line = sheet.rows[r]
        values: list[dict] = []
        for c in range(box.col0, min(box.col1, len(line))):
            cell = line[c]
            if cell is None or cell.value is None:
                values.append({})
                continue
            out: dict = {}
            if cell.formula:
                if formulas:
                    out["userEnteredValue"] = {"formulaValue": cell.value}
                if effective:
                    out["effectiveValue"] = _printed(
                        cells.extended_value(evaluator.value(sheet, r, c)))
            elif effective:
                out["effectiveValue"] = _printed(cells.extended_value(cell.value))
            if links and (cell.runs or cell.formula):
                uri = _cell_link(cell, sheet, r, c, evaluator)
                if uri:
                    out["hyperlink"] = uri
            values.append(out)
        while values and not values[-1]:
            values.pop()
        rows.append({"values": values} if values else {})
    while rows and not rows[-1]:
        rows.pop()
    return rows


def grid_data(ss: Spreadsheet, sheet: Sheet, box: a1.Box, evaluator: Evaluator,
              fields: dict | None = None) -> dict:
    """GridData of ``box``; ``fields`` (a field-mask tree of GridData, None = all) skips the
    parts the response drops."""
    out: dict = {}
    if box.row0:
        out["startRow"] = box.row0
    if box.col0:
        out["startColumn"] = box.col0
    if _wants(fields, "rowData"):
        sub = fields.get("rowData") if fields is not None and "*" not in fields else None
        cell_fields = sub.get("values") if isinstance(sub, dict) and "*" not in sub else None
        if values_only_mask(cell_fields):
            rows = _values_only(sheet, box, evaluator, cell_fields)
        else:
            rows = []
            for r in range(box.row0, min(box.row1, len(sheet.rows))):
                values = [_cell_data(ss, sheet, r, c, evaluator, cell_fields)
                          for c in range(box.col0, min(box.col1, len(sheet.rows[r])))]
                while values and not values[-1]:
                    values.pop()
                rows.append({"values": values} if values else {})
            while rows and not rows[-1]:
                rows.pop()
        if rows:
            out["rowData"] = rows
    if _wants(fields, "rowMetadata"):
        out["rowMetadata"] = [_dimension(sheet, "ROWS", i) for i in range(box.row0, box.row1)]
    if _wants(fields, "columnMetadata"):
        out["columnMetadata"] = [_dimension(sheet, "COLUMNS", i)
                                 for i in range(box.col0, box.col1)]
    return out


def render(ss: Spreadsheet, ranges: list[str] | None = None, include_grid: bool = False,
           data_fields: dict | None = None) -> dict:
    """The Spreadsheet resource; ``ranges`` limits sheets (and grid data) to those ranges;
    ``data_fields`` (the ``fields`` tree under ``sheets.data``) limits the grid work."""
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
            out["data"] = [grid_data(ss, sheet, box, evaluator, data_fields) for box in boxes]
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

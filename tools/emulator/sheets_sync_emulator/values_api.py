"""spreadsheets.values.* : get, batchGet, update, batchUpdate, clear, batchClear, append."""

from __future__ import annotations

from collections import deque
from typing import Any

from . import a1, devmeta, errors, grid, schema
from .formula import Evaluator
from .sheet import Sheet
from .spreadsheet import MAX_CELLS, Spreadsheet
from .wire import HttpRequest

_DEFAULT_MAJOR = {None: "ROWS", "DIMENSION_UNSPECIFIED": "ROWS"}


def _major(value: str | None) -> str:
    return _DEFAULT_MAJOR.get(value, value)


def _read_options(req: HttpRequest, prefix: str = "") -> tuple[str, str]:
    def name(n: str) -> str:
        return prefix + n[0].upper() + n[1:] if prefix else n
    return (req.param(name("valueRenderOption")) or "FORMATTED_VALUE",
            req.param(name("dateTimeRenderOption")) or "SERIAL_NUMBER")


def _input_option(value: str | None) -> str:
    if value in (None, "", "INPUT_VALUE_OPTION_UNSPECIFIED"):
        raise errors.bad_request("'valueInputOption' is required but not specified")
    return value


def get(ss: Spreadsheet, req: HttpRequest, text: str) -> dict:
    sheet, box = grid.read_box(ss, text)
    value_option, datetime_option = _read_options(req)
    return grid.value_range(ss, sheet, box, value_option, datetime_option,
                            _major(req.param("majorDimension")))


def batch_get(ss: Spreadsheet, req: HttpRequest) -> dict:
    value_option, datetime_option = _read_options(req)
    major = _major(req.param("majorDimension"))
    evaluator = Evaluator(ss)
    ranges = []
    for text in req.query.get("ranges", []):
        sheet, box = grid.read_box(ss, text)
        ranges.append(grid.value_range(ss, sheet, box, value_option, datetime_option, major,
                                       evaluator))
    out: dict = {"spreadsheetId": ss.spreadsheet_id}
    if ranges:
        out["valueRanges"] = ranges
    return out


def _updated_data(ss: Spreadsheet, write: grid.Write, options: tuple[str, str]) -> dict:
    return grid.value_range(ss, write.sheet, write.box, *options, "ROWS")


def update(ss: Spreadsheet, req: HttpRequest, text: str) -> dict:
    option = _input_option(req.param("valueInputOption"))
    body = schema.validate_body("sheets.spreadsheets.values.update", req.json() or {}, "data")
    sheet, bounds = grid.resolve(ss, text)
    write = grid.plan_write(sheet, bounds, text, body.get("values"),
                            _major(body.get("majorDimension")))
    grid.apply_write(write, option, ss.locale)
    out = write.response(ss.spreadsheet_id)
    if req.flag("includeValuesInResponse"):
        out["updatedData"] = _updated_data(ss, write, _read_options(req, "response"))
    return out


def batch_update(ss: Spreadsheet, req: HttpRequest) -> dict:
    body = schema.validate_body("sheets.spreadsheets.values.batchUpdate", req.json() or {})
    option = _input_option(body.get("valueInputOption"))
    writes = []
    for i, item in enumerate(body.get("data") or []):
        text = item.get("range") or ""
        try:
            sheet, bounds = grid.resolve(ss, text)
            writes.append(grid.plan_write(sheet, bounds, text, item.get("values"),
                                          _major(item.get("majorDimension"))))
        except errors.ApiError as exc:
            raise errors.bad_request(f"Invalid data[{i}]: {exc.body['error']['message']}") from None
    for write in writes:
        grid.apply_write(write, option, ss.locale)
    out: dict = {"spreadsheetId": ss.spreadsheet_id}
    if not writes:
        return out
    cells = {(w.sheet.sheet_id, r, c) for w in writes for r, c, _ in w.cells}
    totals = {"totalUpdatedRows": len({(s, r) for s, r, _ in cells}),
              "totalUpdatedColumns": len({(s, c) for s, _, c in cells}),
              "totalUpdatedCells": len(cells),
              "totalUpdatedSheets": len({s for s, _, _ in cells})}
    out.update({k: v for k, v in totals.items() if v})
    options = (body.get("responseValueRenderOption") or "FORMATTED_VALUE",
               body.get("responseDateTimeRenderOption") or "SERIAL_NUMBER")
    responses = []
    for write in writes:
        response = write.response(ss.spreadsheet_id)
        if body.get("includeValuesInResponse"):
            response["updatedData"] = _updated_data(ss, write, options)
        responses.append(response)
    out["responses"] = responses
    return out


def batch_update_by_data_filter(ss: Spreadsheet, req: HttpRequest) -> dict:
    """Each DataFilterValueRange is written into every range its filter selects ("if the
    provided values exceed any of the ranges matched by the data filter then the request
    fails"); a filter that selects nothing writes nothing and has no entry in ``responses``."""
    body = schema.validate_body("sheets.spreadsheets.values.batchUpdateByDataFilter",
                                req.json() or {})
    option = _input_option(body.get("valueInputOption"))
    writes: list[tuple[dict, grid.Write]] = []
    for i, item in enumerate(body.get("data") or []):
        try:
            for sheet, _box, bounds in devmeta.filter_boxes(ss, item.get("dataFilter") or {}):
                text = a1.format_box(sheet.title, sheet.box(bounds))
                writes.append((item.get("dataFilter") or {}, grid.plan_write(
                    sheet, bounds, text, item.get("values"), _major(item.get("majorDimension")))))
        except errors.ApiError as exc:
            raise errors.bad_request(f"Invalid data[{i}]: {exc.body['error']['message']}") from None
    for _, write in writes:
        grid.apply_write(write, option, ss.locale)
    out: dict = {"spreadsheetId": ss.spreadsheet_id}
    cells = {(w.sheet.sheet_id, r, c) for _, w in writes for r, c, _ in w.cells}
    totals = {"totalUpdatedRows": len({(s, r) for s, r, _ in cells}),
              "totalUpdatedColumns": len({(s, c) for s, _, c in cells}),
              "totalUpdatedCells": len(cells),
              "totalUpdatedSheets": len({s for s, _, _ in cells})}
    out.update({k: v for k, v in totals.items() if v})
    responses = []
    for data_filter, write in writes:
        response = write.response(ss.spreadsheet_id)
        response.pop("spreadsheetId", None)
        response["dataFilter"] = data_filter
        responses.append(response)
    if responses:
        out["responses"] = responses
    return out


def clear(ss: Spreadsheet, req: HttpRequest, text: str) -> dict:
    schema.validate_body("sheets.spreadsheets.values.clear", req.json())
    sheet, box = grid.read_box(ss, text)
    grid.clear_box(sheet, box)
    return {"spreadsheetId": ss.spreadsheet_id, "clearedRange": a1.format_box(sheet.title, box)}


def batch_clear(ss: Spreadsheet, req: HttpRequest) -> dict:
    body = schema.validate_body("sheets.spreadsheets.values.batchClear", req.json() or {})
    boxes = [grid.read_box(ss, text) for text in body.get("ranges") or []]
    for sheet, box in boxes:
        grid.clear_box(sheet, box)
    out: dict = {"spreadsheetId": ss.spreadsheet_id}
    if boxes:
        out["clearedRanges"] = [a1.format_box(sheet.title, box) for sheet, box in boxes]
    return out


def _has_value(sheet: Sheet, r: int, c: int) -> bool:
    cell = sheet.cell(r, c)
    return cell is not None and cell.value is not None


def find_table(sheet: Sheet, box: a1.Box) -> a1.Box | None:
    """Google's append heuristic: the block of touching non-empty cells (8-neighbours)
    around the last non-empty cell of the range, row-major."""
    start = None
    for r in range(min(box.row1, len(sheet.rows)) - 1, box.row0 - 1, -1):
        line = sheet.rows[r]
        for c in range(min(box.col1, len(line)) - 1, box.col0 - 1, -1):
            if _has_value(sheet, r, c):
                start = (r, c)
                break
        if start:
            break
    if start is None:
        return None
    seen, queue = {start}, deque([start])
    while queue:
        r, c = queue.popleft()
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                n = (r + dr, c + dc)
                if n not in seen and n[0] >= 0 and n[1] >= 0 and _has_value(sheet, *n):
                    seen.add(n)
                    queue.append(n)
    rows, cols = [r for r, _ in seen], [c for _, c in seen]
    return a1.Box(min(rows), min(cols), max(rows) + 1, max(cols) + 1)


def _grow(ss: Spreadsheet, sheet: Sheet, rows: int, cols: int) -> None:
    extra = max(0, rows - sheet.row_count), max(0, cols - sheet.column_count)
    if extra[0]:
        sheet.insert("ROWS", sheet.row_count, extra[0])
    if extra[1]:
        sheet.insert("COLUMNS", sheet.column_count, extra[1])
    if ss.cell_count() > MAX_CELLS:
        raise errors.bad_request(f"This action would increase the number of cells in the "
                                 f"workbook above the limit of {MAX_CELLS} cells.")


def append(ss: Spreadsheet, req: HttpRequest, text: str) -> dict:
    option = _input_option(req.param("valueInputOption"))
    body = schema.validate_body("sheets.spreadsheets.values.append", req.json() or {}, "data")
    sheet, box = grid.read_box(ss, text)
    table = find_table(sheet, box)
    anchor = (table.row1, table.col0) if table else (box.row0, box.col0)
    values: Any = body.get("values") or []
    major = _major(body.get("majorDimension"))
    height = len(values) if major == "ROWS" else max((len(v) for v in values), default=0)
    width = max((len(v) for v in values), default=0) if major == "ROWS" else len(values)
    if height and req.param("insertDataOption") == "INSERT_ROWS":
        sheet.insert("ROWS", anchor[0], height)
    _grow(ss, sheet, anchor[0] + height, anchor[1] + width)
    write = grid.plan_write(sheet, None, text, values, major, anchor=anchor)
    grid.apply_write(write, option, ss.locale)
    out: dict = {"spreadsheetId": ss.spreadsheet_id}
    if table:
        out["tableRange"] = a1.format_box(sheet.title, table)
    out["updates"] = write.response(ss.spreadsheet_id)
    if req.flag("includeValuesInResponse"):
        out["updates"]["updatedData"] = _updated_data(ss, write, _read_options(req, "response"))
    return out


ACTIONS: dict[str, Any] = {
    "values.get": get, "values.batchGet": batch_get, "values.update": update,
    "values.batchUpdate": batch_update, "values.clear": clear,
    "values.batchClear": batch_clear, "values.append": append,
    "values.batchUpdateByDataFilter": batch_update_by_data_filter,
}

"""spreadsheets:batchUpdate - structural requests, applied atomically in order.

The caller runs :func:`run` on a clone of the spreadsheet and keeps the clone only when
every request succeeded. Failures are Google's ``Invalid requests[i].<kind>: <reason>``.
Schema-valid request kinds the emulator does not implement answer 400 and say so.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from . import cells, devmeta, errors, fieldmask, metadata, proto
from .cells import Cell
from .sheet import Sheet
from .spreadsheet import DEFAULT_COLUMNS, DEFAULT_ROWS, MAX_CELLS, Spreadsheet, new_sheet_properties

_SHEET_PROPERTY_KEYS = ("title", "index", "sheetType", "gridProperties", "hidden", "tabColor",
                        "tabColorStyle", "rightToLeft")


class _Invalid(Exception):
    """A request-level failure; run() prefixes it with ``Invalid requests[i].<kind>``."""


def _get_path(source: Any, path: list[str]) -> Any:
    for name in path:
        if not isinstance(source, dict):
            return None
        source = source.get(name)
    return source


def _set_path(target: dict, path: list[str], value: Any) -> None:
    for name in path[:-1]:
        target = target.setdefault(name, {})
    if value is None:
        target.pop(path[-1], None)
    else:
        target[path[-1]] = copy.deepcopy(value)


def _mask(request: dict) -> list[list[str]]:
    text = request.get("fields")
    if not text:
        raise _Invalid("At least one field must be specified in 'fields'.")
    try:
        return fieldmask.paths(text)
    except fieldmask.MaskSyntaxError:
        raise _Invalid(f"Invalid field mask: {text}") from None


def _cell_paths(request: dict) -> list[list[str]]:
    """The field mask of a request writing CellData, in the order its paths apply: "*" as
    every field, a new value first (it drops the old text's runs, which the same request may
    set again)."""
    paths = _mask(request)
    if any(path[0] == "*" for path in paths):
        paths = [["userEnteredValue"], ["userEnteredFormat"], ["note"], ["dataValidation"]]
    return sorted(paths, key=lambda p: p[0] != "userEnteredValue")


_BLANK = Cell()


class BatchUpdate:
    def __init__(self, spreadsheet: Spreadsheet, rng: random.Random, caller: str):
        self.ss = spreadsheet
        self.rng = rng
        self.caller = caller
        self.handlers: dict[str, Callable[[dict], dict | None]] = {
            "addSheet": self.add_sheet,
            "deleteSheet": self.delete_sheet,
            "updateSheetProperties": self.update_sheet_properties,
            "updateSpreadsheetProperties": self.update_spreadsheet_properties,
            "appendDimension": self.append_dimension,
            "insertDimension": self.insert_dimension,
            "deleteDimension": self.delete_dimension,
            "updateDimensionProperties": self.update_dimension_properties,
            "autoResizeDimensions": self.auto_resize_dimensions,
            "setDataValidation": self.set_data_validation,
            "repeatCell": self.repeat_cell,
            "updateCells": self.update_cells,
            "mergeCells": self.merge_cells,
            "unmergeCells": self.unmerge_cells,
            "addProtectedRange": self.add_protected_range,
            "updateProtectedRange": self.update_protected_range,
            "deleteProtectedRange": self.delete_protected_range,
            "addConditionalFormatRule": self.add_conditional_format_rule,
            "updateConditionalFormatRule": self.update_conditional_format_rule,
            "deleteConditionalFormatRule": self.delete_conditional_format_rule,
            "createDeveloperMetadata": self.create_developer_metadata,
            "deleteDeveloperMetadata": self.delete_developer_metadata,
        }

    def run(self, requests: list[dict]) -> list[dict]:
        replies = []
        for i, request in enumerate(requests):
            kinds = [k for k, v in (request or {}).items() if v is not None]
            if len(kinds) != 1:
                message = ("No request set." if not kinds else
                           f"Oneof field 'kind' is already set. Cannot set '{kinds[1]}'")
                raise errors.bad_request(f"Invalid requests[{i}]: {message}")
            kind = kinds[0]
            handler = self.handlers.get(kind)
            if handler is None:
                raise errors.bad_request(f"Invalid requests[{i}]: {kind} is not supported by "
                                         f"the sheets-sync emulator.")
            try:
                reply = handler(request[kind])
                if self.ss.cell_count() > MAX_CELLS:
                    raise _Invalid(f"This action would increase the number of cells in the "
                                   f"workbook above the limit of {MAX_CELLS} cells.")
            except _Invalid as exc:
                raise errors.bad_request(f"Invalid requests[{i}].{kind}: {exc}") from None
            replies.append({kind: reply} if reply is not None else {})
        return replies

    # --- lookups --------------------------------------------------------------------
    def sheet(self, sheet_id: Any, what: str = "sheet") -> Sheet:
        sheet = self.ss.sheet_by_id(int(sheet_id or 0))
        if sheet is None:
            raise _Invalid(f"No {what} with id: {sheet_id or 0}")
        return sheet

    def grid_sheet(self, rng: dict | None) -> Sheet:
        if not rng:
            raise _Invalid("range is required")
        return self.sheet(rng.get("sheetId"), "grid")

    def dimension_range(self, rng: dict | None,
                        need_end: bool = False) -> tuple[Sheet, str, int, int]:
        sheet = self.grid_sheet(rng)
        dimension = rng.get("dimension")
        if dimension not in ("ROWS", "COLUMNS"):
            raise _Invalid("dimension must be ROWS or COLUMNS")
        size = sheet.row_count if dimension == "ROWS" else sheet.column_count
        start = rng.get("startIndex") or 0
        end = rng.get("endIndex")
        if end is None:
            if need_end:
                raise _Invalid("endIndex is required")
            end = size
        if start < 0 or end <= start:
            raise _Invalid(f"Invalid dimension range: startIndex {start}, endIndex {end}")
        return sheet, dimension, start, end

    # --- sheets ---------------------------------------------------------------------
    def check_title(self, title: str, sheet: Sheet | None = None) -> None:
        if not title.strip():
            raise _Invalid("Sheet names must not be empty.")
        other = self.ss.sheet_by_title(title)
        if other is not None and other is not sheet and other.title.casefold() == title.casefold():
            raise _Invalid(f'A sheet with the name "{title}" already exists. '
                           f"Please enter another name.")

    def add_sheet(self, request: dict) -> dict:
        props = request.get("properties") or {}
        title = props.get("title")
        if title is None:
            n = len(self.ss.sheets) + 1
            while self.ss.sheet_by_title(f"Sheet{n}") is not None:
                n += 1
            title = f"Sheet{n}"
        self.check_title(title)
        sheet_id = props.get("sheetId")
        if sheet_id is not None and self.ss.sheet_by_id(sheet_id) is not None:
            raise _Invalid(f"A sheet with id {sheet_id} already exists.")
        grid_props = props.get("gridProperties") or {}
        stored = new_sheet_properties(
            self.ss.new_sheet_id(self.rng) if sheet_id is None else sheet_id, title,
            len(self.ss.sheets) if props.get("index") is None else props["index"],
            grid_props.get("rowCount") or DEFAULT_ROWS,
            grid_props.get("columnCount") or DEFAULT_COLUMNS)
        stored["sheetType"] = props.get("sheetType") or "GRID"
        grid = stored["gridProperties"]
        grid.update({k: v for k, v in grid_props.items() if v is not None and k not in grid})
        for key in ("hidden", "tabColor", "tabColorStyle", "rightToLeft"):
            if props.get(key) is not None:
                stored[key] = copy.deepcopy(props[key])
        sheet = self.ss.add_sheet(stored)
        return {"properties": metadata.sheet_properties(sheet)}

    def delete_sheet(self, request: dict) -> None:
        sheet = self.sheet(request.get("sheetId"))
        if len(self.ss.sheets) == 1:
            raise _Invalid("You can't remove all the sheets in a document.")
        self.ss.remove_sheet(sheet)

    def update_sheet_properties(self, request: dict) -> None:
        props = request.get("properties") or {}
        sheet = self.sheet(props.get("sheetId"))
        stored = copy.deepcopy(sheet.properties)
        paths = _mask(request)
        if ["*"] in paths:
            paths = [[k] for k in _SHEET_PROPERTY_KEYS]
        for path in paths:
            if path[0] == "sheetId":
                continue
            if path[0] not in _SHEET_PROPERTY_KEYS:
                raise _Invalid(f"Invalid field mask path: {'.'.join(path)}")
            _set_path(stored, path, _get_path(props, path))
            if path[0] in ("tabColor", "tabColorStyle"):
                stored.pop("tabColorStyle" if path[0] == "tabColor" else "tabColor", None)
        stored.setdefault("sheetType", "GRID")
        grid = stored.setdefault("gridProperties", {})
        for key in ("rowCount", "columnCount"):
            grid.setdefault(key, sheet.properties["gridProperties"][key])
        if stored.get("title") != sheet.title:
            self.check_title(stored.get("title") or "", sheet)
        if stored.get("hidden") and all(s.properties.get("hidden") for s in self.ss.sheets
                                        if s is not sheet):
            raise _Invalid("You can't hide all the sheets in a document.")
        if grid["rowCount"] < 1 or grid["columnCount"] < 1:
            raise _Invalid("The grid must have at least one row and one column.")
        index = stored.pop("index", sheet.properties["index"])
        sheet.properties = {**stored, "index": sheet.properties["index"]}
        sheet.resize(grid["rowCount"], grid["columnCount"])
        if index != sheet.properties["index"]:
            self.ss.move_sheet(sheet, index)

    def update_spreadsheet_properties(self, request: dict) -> None:
        props = request.get("properties") or {}
        paths = _mask(request)
        if ["*"] in paths:
            paths = [[k] for k in props]
        for path in paths:
            _set_path(self.ss.properties, path, _get_path(props, path))

    # --- dimensions -----------------------------------------------------------------
    def append_dimension(self, request: dict) -> None:
        sheet = self.sheet(request.get("sheetId"))
        dimension, length = request.get("dimension"), request.get("length") or 0
        if dimension not in ("ROWS", "COLUMNS") or length <= 0:
            raise _Invalid("length must be positive and dimension ROWS or COLUMNS")
        end = sheet.row_count if dimension == "ROWS" else sheet.column_count
        sheet.insert(dimension, end, length)

    def insert_dimension(self, request: dict) -> None:
        sheet, dimension, start, end = self.dimension_range(request.get("range"), need_end=True)
        size = sheet.row_count if dimension == "ROWS" else sheet.column_count
        if start > size:
            raise _Invalid(f"Cannot insert {dimension.lower()} at index {start}: the sheet "
                           f"has only {size}.")
        sheet.insert(dimension, start, end - start)

    def delete_dimension(self, request: dict) -> None:
        sheet, dimension, start, end = self.dimension_range(request.get("range"))
        size = sheet.row_count if dimension == "ROWS" else sheet.column_count
        end = min(end, size)
        if start >= size:
            raise _Invalid(f"Index {start} is out of the grid of {size} {dimension.lower()}.")
        if start == 0 and end == size:
            raise _Invalid(f"You can't delete all the {dimension.lower()} on the sheet.")
        sheet.delete(dimension, start, end)

    def update_dimension_properties(self, request: dict) -> None:
        sheet, dimension, start, end = self.dimension_range(request.get("range"))
        props = request.get("properties") or {}
        paths = _mask(request)
        for index in range(start, end):
            current = sheet.dimension_props[dimension].setdefault(index, {})
            for path in paths:
                for key in (props if path == ["*"] else [path[0]]):
                    _set_path(current, [key], props.get(key))

    def auto_resize_dimensions(self, request: dict) -> None:
        self.dimension_range(request.get("dimensions"))

    # --- cells ----------------------------------------------------------------------
    def _cells(self, rng: dict | None,
               change: Callable[[Cell | None, int, int], Cell | None]) -> None:
        sheet = self.grid_sheet(rng)
        box = sheet.grid_box(rng)
        for r in range(box.row0, box.row1):
            for c in range(box.col0, box.col1):
                new = change(sheet.cell(r, c), r - box.row0, c - box.col0)
                sheet.put(r, c, None if new is None or new.blank else new)

    def set_data_validation(self, request: dict) -> None:
        rule = proto.prune(request["rule"]) if request.get("rule") else None
        self._cells(request.get("range"),
                    lambda cell, *_: replace(cell or Cell(), validation=rule))

    @staticmethod
    def _apply_cell_data(old: Cell | None, data: dict, paths: list[list[str]]) -> Cell:
        """``old`` with the fields of ``data`` named by ``paths`` (``_cell_paths``: in the order
        they apply), as one new cell."""
        cell = old or _BLANK
        value, formula, fmt, note = cell.value, cell.formula, cell.format, cell.note
        validation, runs = cell.validation, cell.runs
        for path in paths:
            name = path[0]
            if name == "userEnteredValue":
                value, formula = cells.from_extended(data.get("userEnteredValue") or {})
                runs = None
            elif name == "userEnteredFormat":
                if len(path) == 1:
                    new = copy.deepcopy(data.get("userEnteredFormat") or {})
                else:
                    new = copy.deepcopy(fmt or {})
                    _set_path(new, path[1:], _get_path(data.get("userEnteredFormat"), path[1:]))
                fmt = new or None
            elif name == "note":
                note = data.get("note") or None
            elif name == "textFormatRuns":
                given = data.get("textFormatRuns") or None
                runs = tuple(proto.prune(copy.deepcopy(r)) for r in given) if given else None
            elif name == "dataValidation":
                rule = data.get("dataValidation")
                validation = proto.prune(rule) if rule else None
            else:
                raise _Invalid(f"Invalid field mask path: {'.'.join(path)}")
        return Cell(value, formula, fmt, note, validation, runs)

    def repeat_cell(self, request: dict) -> None:
        paths, data = _cell_paths(request), request.get("cell") or {}
        rng = request.get("range")
        sheet = self.grid_sheet(rng)
        # Every empty cell of the range becomes the same (immutable) cell, computed once.
        sheet.update_box(sheet.grid_box(rng),
                         lambda cell, *_: self._apply_cell_data(cell, data, paths),
                         self._apply_cell_data(None, data, paths))

    def update_cells(self, request: dict) -> None:
        paths, rows = _cell_paths(request), request.get("rows") or []

        def data(i: int, j: int) -> dict:
            values = (rows[i].get("values") or []) if i < len(rows) and rows[i] else []
            return (values[j] or {}) if j < len(values) else {}

        if request.get("range"):
            self._cells(request["range"],
                        lambda cell, i, j: self._apply_cell_data(cell, data(i, j), paths))
            return
        start = request.get("start") or {}
        sheet = self.sheet(start.get("sheetId"), "grid")
        row0, col0 = start.get("rowIndex") or 0, start.get("columnIndex") or 0
        for i, row in enumerate(rows):
            for j in range(len((row or {}).get("values") or [])):
                if row0 + i >= sheet.row_count or col0 + j >= sheet.column_count:
                    raise _Invalid("The update exceeds the grid limits of the sheet.")
                new = self._apply_cell_data(sheet.cell(row0 + i, col0 + j), data(i, j), paths)
                sheet.put(row0 + i, col0 + j, None if new.blank else new)

    def merge_cells(self, request: dict) -> None:
        rng = request.get("range")
        sheet = self.grid_sheet(rng)
        box = sheet.grid_box(rng)
        merge_type = request.get("mergeType") or "MERGE_ALL"
        if merge_type == "MERGE_ROWS":
            parts = [(r, box.col0, r + 1, box.col1) for r in range(box.row0, box.row1)]
        elif merge_type == "MERGE_COLUMNS":
            parts = [(box.row0, c, box.row1, c + 1) for c in range(box.col0, box.col1)]
        else:
            parts = [(box.row0, box.col0, box.row1, box.col1)]
        for r0, c0, r1, c1 in parts:
            for m in sheet.merges:
                mb = sheet.grid_box(m)
                if r0 < mb.row1 and mb.row0 < r1 and c0 < mb.col1 and mb.col0 < c1:
                    raise _Invalid("You can't merge cells that overlap an existing merge.")
            sheet.merges.append({"sheetId": sheet.sheet_id, "startRowIndex": r0, "endRowIndex": r1,
                                 "startColumnIndex": c0, "endColumnIndex": c1})
            for r in range(r0, r1):
                for c in range(c0, c1):
                    if (r, c) != (r0, c0) and sheet.cell(r, c) is not None:
                        sheet.put(r, c, cells.with_value(sheet.cell(r, c), None))

    def unmerge_cells(self, request: dict) -> None:
        rng = request.get("range")
        sheet = self.grid_sheet(rng)
        box = sheet.grid_box(rng)
        sheet.merges = [m for m in sheet.merges if not (
            box.row0 <= sheet.grid_box(m).row0 and sheet.grid_box(m).row1 <= box.row1
            and box.col0 <= sheet.grid_box(m).col0 and sheet.grid_box(m).col1 <= box.col1)]

    # --- protected ranges -----------------------------------------------------------
    def _protected(self, range_id: Any) -> tuple[Sheet, dict]:
        for sheet in self.ss.sheets:
            for stored in sheet.protected_ranges:
                if stored["protectedRangeId"] == range_id:
                    return sheet, stored
        raise _Invalid(f"No protected range with id: {range_id}")

    def add_protected_range(self, request: dict) -> dict:
        protected = copy.deepcopy(request.get("protectedRange") or {})
        if protected.get("namedRangeId"):
            raise _Invalid("Protecting named ranges is not supported by the emulator.")
        rng = {**(protected.get("range") or {})}
        sheet = self.grid_sheet(rng)
        rng["sheetId"] = sheet.sheet_id
        existing = {p["protectedRangeId"] for s in self.ss.sheets for p in s.protected_ranges}
        range_id = protected.get("protectedRangeId")
        if range_id in existing:
            raise _Invalid(f"A protected range with id {range_id} already exists.")
        while range_id is None or range_id in existing:
            range_id = self.rng.randint(1, 2 ** 31 - 1)
        editors = protected.get("editors") or {}
        protected.update(protectedRangeId=range_id, range=rng, requestingUserCanEdit=True)
        # Google makes the caller an editor of what it protects (seen in recordings).
        users = list(editors.get("users") or [])
        if self.caller not in users:
            users.append(self.caller)
        sheet.protected_ranges.append({**protected, "editors": {**editors, "users": users}})
        return {"protectedRange": metadata.protected_range({**protected, "editors": editors})}

    def update_protected_range(self, request: dict) -> None:
        changes = request.get("protectedRange") or {}
        sheet, stored = self._protected(changes.get("protectedRangeId"))
        for path in _mask(request):
            keys = list(changes) if path == ["*"] else [path[0]]
            for key in keys:
                if key != "protectedRangeId":
                    _set_path(stored, [key], changes.get(key))
        stored["range"] = {**stored.get("range", {}), "sheetId": sheet.sheet_id}

    def delete_protected_range(self, request: dict) -> None:
        sheet, stored = self._protected(request.get("protectedRangeId"))
        sheet.protected_ranges.remove(stored)

    # --- conditional formats --------------------------------------------------------
    def _rule_sheet(self, rule: dict) -> Sheet:
        ranges = rule.get("ranges") or []
        if not ranges:
            raise _Invalid("A conditional format rule needs at least one range.")
        sheets = {self.grid_sheet(r).sheet_id for r in ranges}
        if len(sheets) != 1:
            raise _Invalid("All ranges of a conditional format rule must be on one sheet.")
        if not (rule.get("booleanRule") or rule.get("gradientRule")):
            raise _Invalid("A conditional format rule needs a booleanRule or a gradientRule.")
        return self.sheet(sheets.pop())

    @staticmethod
    def _stored_rule(rule: dict, sheet: Sheet) -> dict:
        rule = copy.deepcopy(rule)
        rule["ranges"] = [{**r, "sheetId": sheet.sheet_id} for r in rule["ranges"]]
        return rule

    def add_conditional_format_rule(self, request: dict) -> None:
        rule = request.get("rule") or {}
        sheet = self._rule_sheet(rule)
        index = min(request.get("index") or 0, len(sheet.conditional_formats))
        sheet.conditional_formats.insert(index, self._stored_rule(rule, sheet))

    def _rule_at(self, sheet_id: Any, index: Any) -> tuple[Sheet, int]:
        sheet = self.sheet(sheet_id)
        index = index or 0
        if not 0 <= index < len(sheet.conditional_formats):
            raise _Invalid(f"No conditional format on sheet: {sheet.sheet_id} at index: {index}")
        return sheet, index

    def update_conditional_format_rule(self, request: dict) -> dict:
        sheet, index = self._rule_at(request.get("sheetId"), request.get("index"))
        old = sheet.conditional_formats[index]
        reply: dict = {"oldRule": metadata.conditional_format(old), "oldIndex": index}
        if request.get("rule"):
            if self._rule_sheet(request["rule"]) is not sheet:
                raise _Invalid("The new rule must stay on the same sheet.")
            sheet.conditional_formats[index] = self._stored_rule(request["rule"], sheet)
            new_index = index
        else:
            new_index = min(request.get("newIndex") or 0, len(sheet.conditional_formats) - 1)
            sheet.conditional_formats.insert(new_index, sheet.conditional_formats.pop(index))
        reply.update(newRule=metadata.conditional_format(sheet.conditional_formats[new_index]),
                     newIndex=new_index)
        return proto.prune(reply)

    def delete_conditional_format_rule(self, request: dict) -> dict:
        sheet, index = self._rule_at(request.get("sheetId"), request.get("index"))
        return {"rule": metadata.conditional_format(sheet.conditional_formats.pop(index))}

    # --- developer metadata ---------------------------------------------------------
    def create_developer_metadata(self, request: dict) -> dict:
        used = {m["metadataId"] for _, m in devmeta.all_metadata(self.ss)}
        new_id = self.rng.randrange(1, 2**31)
        while new_id in used:
            new_id = self.rng.randrange(1, 2**31)
        try:
            return {"developerMetadata": devmeta.create(self.ss, request, new_id)}
        except ValueError as exc:
            raise _Invalid(str(exc)) from None

    def delete_developer_metadata(self, request: dict) -> dict:
        try:
            deleted = devmeta.delete(self.ss, request.get("dataFilter") or {})
        except ValueError as exc:
            raise _Invalid(str(exc)) from None
        return {"deletedDeveloperMetadata": deleted} if deleted else {}

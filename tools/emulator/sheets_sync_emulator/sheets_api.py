"""Sheets v4 entry point: query validation, access control, atomic writes, ``fields``."""

from __future__ import annotations

import random
from typing import Any

from . import errors, fieldmask, metadata, proto, schema, values_api
from .batch_update import BatchUpdate
from .routes import Route
from .spreadsheet import Spreadsheet
from .store import Store
from .wire import HttpRequest


def _mask(req: HttpRequest) -> fieldmask.Tree:
    text = req.param("fields")
    try:
        return fieldmask.parse(text) if text else None
    except fieldmask.MaskSyntaxError:
        raise errors.bad_request(f"Invalid field selection {text}") from None


def _get(ss: Spreadsheet, req: HttpRequest) -> dict:
    tree = _mask(req)
    sheets_mask = tree.get("sheets") if tree else None
    wants_data = req.flag("includeGridData") or (
        isinstance(sheets_mask, dict) and "data" in sheets_mask)
    data_fields = None
    if isinstance(sheets_mask, dict) and "*" not in sheets_mask:
        data_fields = sheets_mask.get("data")
    out = metadata.render(ss, req.query.get("ranges"), wants_data, data_fields)
    cell_fields = ((data_fields or {}).get("rowData") or {}).get("values") \
        if isinstance((data_fields or {}).get("rowData"), dict) else None
    if not metadata.values_only_mask(cell_fields):
        return fieldmask.apply(out, tree)
    # The rowData are already exactly what the mask keeps, numbers printed (and most of the
    # bytes): mask and print the rest.
    kept = [[block.pop("rowData", None) for block in sheet.get("data", [])]
            for sheet in out.get("sheets", [])]
    out = proto.json_numbers(fieldmask.apply(out, tree))
    for sheet, rows in zip(out.get("sheets", []), kept):
        for block, grid in zip(sheet.get("data", []), rows):
            if grid is not None:
                block["rowData"] = grid
    return proto.Printed(out)


class SheetsApi:
    def __init__(self, store: Store, rng: random.Random):
        self.store = store
        self.rng = rng

    def handle(self, req: HttpRequest, route: Route, email: str) -> tuple[int, Any]:
        req.query = schema.validate_query(route.method_id, req.query)
        if route.action == "create":
            schema.validate_body(route.method_id, req.json() or {})
            # Service accounts own no Drive storage, so they cannot create spreadsheets.
            raise errors.permission_denied()
        file = self.store.spreadsheet_file(route.file_id, email, write=route.kind == "write")
        if route.kind == "read":
            result = _get(file.spreadsheet, req) if route.action == "get" else \
                values_api.ACTIONS[route.action](file.spreadsheet, req, *route.args)
        else:
            # Work on a copy so that a failing request leaves nothing behind (atomicity).
            copy = file.spreadsheet.clone()
            if route.action == "batchUpdate":
                result = self._batch_update(copy, req, email)
            else:
                result = values_api.ACTIONS[route.action](copy, req, *route.args)
            file.spreadsheet = copy
            self.store.touch(file)
        return 200, result if route.action == "get" else fieldmask.apply(result, _mask(req))

    def _batch_update(self, ss: Spreadsheet, req: HttpRequest, email: str) -> dict:
        body = schema.validate_body("sheets.spreadsheets.batchUpdate", req.json() or {})
        requests = body.get("requests") or []
        if not requests:
            raise errors.bad_request("Must specify at least one request.")
        replies = BatchUpdate(ss, self.rng, email).run(requests)
        out: dict = {"spreadsheetId": ss.spreadsheet_id, "replies": replies}
        if body.get("includeSpreadsheetInResponse"):
            out["updatedSpreadsheet"] = metadata.render(
                ss, body.get("responseRanges"), bool(body.get("responseIncludeGridData")))
        return out

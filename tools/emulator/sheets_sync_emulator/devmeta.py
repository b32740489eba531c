"""Developer metadata and DataFilters: what ``createDeveloperMetadata``,
``deleteDeveloperMetadata`` and ``values:batchUpdateByDataFilter`` need.

Metadata lives on its sheet (``Sheet.developer_metadata``); metadata on a row or column keeps
a ``dimensionRange`` that moves with inserted/deleted rows and columns and disappears with the
dimension (discovery ``DeveloperMetadata``). A DataFilter selects a1Range / gridRange cells
or the locations of the metadata a ``developerMetadataLookup`` matches (a whole row or column;
a whole sheet for SHEET metadata).

Supported lookup fields: metadataId, metadataKey, metadataValue, visibility, locationType and
``metadataLocation.sheetId`` with INTERSECTING matching (the default); others answer 400.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator

from . import a1, errors, grid
from .sheet import Sheet
from .spreadsheet import Spreadsheet

_LOCATION_TYPES = {"ROWS": "ROW", "COLUMNS": "COLUMN"}
_VISIBILITIES = ("DOCUMENT", "PROJECT")


def all_metadata(ss: Spreadsheet) -> Iterator[tuple[Sheet, dict]]:
    for sheet in ss.sheets:
        for item in sheet.developer_metadata:
            yield sheet, item


def resource(item: dict) -> dict:
    """The DeveloperMetadata resource as Google prints it (locationType filled in)."""
    out = copy.deepcopy(item)
    location = out["location"]
    rng = location.get("dimensionRange")
    location["locationType"] = _LOCATION_TYPES[rng["dimension"]] if rng else "SHEET"
    return out


def create(ss: Spreadsheet, request: dict, new_id: int) -> dict:
    """Validate and store one ``createDeveloperMetadata``; returns the stored resource.
    Raises ValueError with Google's reason."""
    meta = request.get("developerMetadata") or {}
    if not meta.get("metadataKey"):
        raise ValueError("developerMetadata.metadataKey is required.")
    if meta.get("visibility") not in _VISIBILITIES:
        raise ValueError("developerMetadata.visibility must be DOCUMENT or PROJECT.")
    metadata_id = meta.get("metadataId")
    if metadata_id is not None and any(m["metadataId"] == int(metadata_id)
                                       for _, m in all_metadata(ss)):
        raise ValueError(f"Developer metadata with id {metadata_id} already exists.")
    location = meta.get("location") or {}
    rng = location.get("dimensionRange")
    if rng is not None:
        sheet = ss.sheet_by_id(int(rng.get("sheetId") or 0))
        if sheet is None:
            raise ValueError(f"No grid with id: {rng.get('sheetId') or 0}")
        dimension = rng.get("dimension")
        if dimension not in _LOCATION_TYPES:
            raise ValueError("dimensionRange.dimension must be ROWS or COLUMNS.")
        size = sheet.row_count if dimension == "ROWS" else sheet.column_count
        start, end = int(rng.get("startIndex") or 0), rng.get("endIndex")
        end = size if end is None else int(end)
        if not 0 <= start < end <= size:
            raise ValueError(f"Invalid dimensionRange: startIndex {start}, endIndex {end}.")
        stored_location: dict = {"dimensionRange": {"sheetId": sheet.sheet_id,
                                                    "dimension": dimension,
                                                    "startIndex": start, "endIndex": end}}
    elif location.get("sheetId") is not None:
        sheet = ss.sheet_by_id(int(location["sheetId"]))
        if sheet is None:
            raise ValueError(f"No sheet with id: {location['sheetId']}")
        stored_location = {"sheetId": sheet.sheet_id}
    else:
        raise ValueError("developerMetadata.location must name a sheet, row or column "
                         "(spreadsheet-level metadata is not supported by the emulator).")
    item = {"metadataId": new_id if metadata_id is None else int(metadata_id),
            "metadataKey": meta["metadataKey"], "location": stored_location,
            "visibility": meta["visibility"]}
    if meta.get("metadataValue") is not None:
        item["metadataValue"] = meta["metadataValue"]
    sheet.developer_metadata.append(item)
    return resource(item)


def _matches(sheet: Sheet, item: dict, lookup: dict) -> bool:
    unsupported = set(lookup) - {"metadataId", "metadataKey", "metadataValue", "visibility",
                                 "locationType", "metadataLocation",
                                 "locationMatchingStrategy"}
    if unsupported:
        raise errors.bad_request(f"developerMetadataLookup.{sorted(unsupported)[0]} is not "
                                 "supported by the sheets-sync emulator.")
    if lookup.get("metadataId") is not None and int(lookup["metadataId"]) != item["metadataId"]:
        return False
    for key in ("metadataKey", "metadataValue", "visibility"):
        if lookup.get(key) is not None and lookup[key] != item.get(key):
            return False
    if lookup.get("locationType") is not None \
            and lookup["locationType"] != resource(item)["location"]["locationType"]:
        return False
    where = lookup.get("metadataLocation")
    if where is not None:
        if lookup.get("locationMatchingStrategy") == "EXACT_LOCATION" or set(where) != {"sheetId"}:
            raise errors.bad_request("Only metadataLocation.sheetId with INTERSECTING matching "
                                     "is supported by the sheets-sync emulator.")
        if int(where["sheetId"]) != sheet.sheet_id:
            return False
    return True


def lookup(ss: Spreadsheet, query: dict) -> list[tuple[Sheet, dict]]:
    if not query:
        raise errors.bad_request("developerMetadataLookup must specify at least one field.")
    return [(sheet, item) for sheet, item in all_metadata(ss) if _matches(sheet, item, query)]


def delete(ss: Spreadsheet, data_filter: dict) -> list[dict]:
    """``deleteDeveloperMetadata``: the matched metadata, removed."""
    query = (data_filter or {}).get("developerMetadataLookup")
    if query is None:
        raise ValueError("dataFilter.developerMetadataLookup is required.")
    found = lookup(ss, query)
    for sheet, item in found:
        sheet.developer_metadata.remove(item)
    return [resource(item) for _, item in found]


def filter_boxes(ss: Spreadsheet, data_filter: dict) -> list[tuple[Sheet, a1.Box, a1.Bounds]]:
    """The cell rectangles a DataFilter selects (possibly none)."""
    kinds = [k for k, v in (data_filter or {}).items() if v is not None]
    if len(kinds) != 1:
        raise errors.bad_request("A DataFilter must set exactly one of a1Range, gridRange, "
                                 "developerMetadataLookup.")
    kind = kinds[0]
    if kind == "a1Range":
        sheet, box = grid.read_box(ss, data_filter["a1Range"])
        return [(sheet, box, a1.Bounds(box.row0, box.col0, box.row1, box.col1))]
    if kind == "gridRange":
        rng = data_filter["gridRange"]
        sheet = ss.sheet_by_id(int(rng.get("sheetId") or 0))
        if sheet is None:
            raise errors.bad_request(f"No grid with id: {rng.get('sheetId') or 0}")
        box = sheet.grid_box(rng)
        return [(sheet, box, a1.Bounds(box.row0, box.col0, box.row1, box.col1))]
    out = []
    for sheet, item in lookup(ss, data_filter["developerMetadataLookup"]):
        rng = item["location"].get("dimensionRange")
        if rng is None:
            box = sheet.whole()
        elif rng["dimension"] == "ROWS":
            box = a1.Box(rng["startIndex"], 0, rng["endIndex"], sheet.column_count)
        else:
            box = a1.Box(0, rng["startIndex"], sheet.row_count, rng["endIndex"])
        out.append((sheet, box, a1.Bounds(box.row0, box.col0, box.row1, box.col1)))
    return out

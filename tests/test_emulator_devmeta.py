"""Emulator: developer metadata, ``values:batchUpdateByDataFilter`` and the one-request read,
through real gspread HTTP calls (what the Google writer and reader send)."""
from __future__ import annotations

from typing import Any

import gspread
import pytest

SID = "1devmetaxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
S = f"https://sheets.googleapis.com/v4/spreadsheets/{SID}"
ROWS = [["Mã", "Tên", "Ghi chú", "Kết quả"], ["A", "x", "n1", ""], ["B", "y", "n2", ""]]


@pytest.fixture
def sheet(emu, gc) -> tuple[Any, int]:
    emu.seed_values(SID, {"Sổ": ROWS}, shared_with=[gc.http_client.auth.service_account_email])
    sheet_id = emu.spreadsheet_meta(SID)["sheets"][0]["properties"]["sheetId"]
    return gc.http_client, sheet_id


def _create(http, sheet_id: int, col: int, metadata_id: int = 77) -> dict:
    return http.batch_update(SID, {"requests": [{"createDeveloperMetadata": {
        "developerMetadata": {"metadataId": metadata_id, "metadataKey": "sheets_sync.tool_column",
                              "metadataValue": "status", "visibility": "DOCUMENT",
                              "location": {"dimensionRange": {
                                  "sheetId": sheet_id, "dimension": "COLUMNS",
                                  "startIndex": col, "endIndex": col + 1}}}}}]})


def _write(http, values: list, metadata_id: int = 77) -> dict:
    return http.request("post", f"{S}/values:batchUpdateByDataFilter", json={
        "valueInputOption": "RAW", "data": [{
            "dataFilter": {"developerMetadataLookup": {"metadataId": metadata_id}},
            "majorDimension": "COLUMNS", "values": [values]}]}).json()


def _columns(http) -> list[dict]:
    got = http.request("get", S, params={
        "fields": "sheets.data.columnMetadata.developerMetadata"}).json()
    return got["sheets"][0]["data"][0]["columnMetadata"]


def test_column_metadata_moves_with_inserted_columns_and_anchors_the_write(emu, sheet):
    http, sheet_id = sheet
    reply = _create(http, sheet_id, 3)
    made = reply["replies"][0]["createDeveloperMetadata"]["developerMetadata"]
    assert made["location"]["locationType"] == "COLUMN" and made["metadataId"] == 77
    emu.edit(SID, "Sổ", {"op": "insert_columns", "index": 1})  # a person inserts column B
    found = [i for i, c in enumerate(_columns(http)) if c.get("developerMetadata")]
    assert found == [4]
    got = _write(http, [None, "✔ Đạt", "✖ Vi phạm"])
    assert got["totalUpdatedCells"] == 2
    assert got["responses"][0]["updatedRange"] == "Sổ!E1:E3"
    assert emu.get_values(SID, "Sổ") == [["Mã", None, "Tên", "Ghi chú", "Kết quả"],
                                         ["A", None, "x", "n1", "✔ Đạt"],
                                         ["B", None, "y", "n2", "✖ Vi phạm"]]


def test_a_deleted_column_takes_its_metadata_and_the_write_lands_nowhere(emu, sheet):
    http, sheet_id = sheet
    _create(http, sheet_id, 3)
    emu.edit(SID, "Sổ", {"op": "delete_columns", "index": 3})
    assert not any(c.get("developerMetadata") for c in _columns(http))
    before = emu.get_values(SID, "Sổ")
    got = _write(http, [None, "✔ Đạt"])
    assert "responses" not in got and "totalUpdatedCells" not in got
    assert emu.get_values(SID, "Sổ") == before


def test_values_longer_than_the_matched_range_fail_the_request(emu, sheet):
    http, sheet_id = sheet
    _create(http, sheet_id, 3)
    rows = emu.spreadsheet_meta(SID)["sheets"][0]["properties"]["gridProperties"]["rowCount"]
    before = emu.get_values(SID, "Sổ")
    with pytest.raises(gspread.exceptions.APIError) as e:
        _write(http, ["x"] * (rows + 1))
    assert e.value.response.status_code == 400
    assert emu.get_values(SID, "Sổ") == before


def test_bodies_are_validated_against_the_discovery_document(emu, sheet):
    http, sheet_id = sheet
    with pytest.raises(gspread.exceptions.APIError) as e:
        http.request("post", f"{S}/values:batchUpdateByDataFilter", json={
            "valueInputOption": "RAW",
            "data": [{"dataFilter": {"metadataLookup": {"metadataId": 1}}, "values": [["x"]]}]})
    assert e.value.response.status_code == 400
    assert 'Unknown name "metadataLookup"' in e.value.response.json()["error"]["message"]
    with pytest.raises(gspread.exceptions.APIError) as e:
        http.batch_update(SID, {"requests": [{"createDeveloperMetadata": {
            "developerMetadata": {"metadataKey": "k", "location": {"dimensionRange": {
                "sheetId": sheet_id, "dimension": "COLUMNS", "startIndex": 0, "endIndex": 1}},
                "visibility": "NOWHERE"}}}]})
    assert e.value.response.status_code == 400


def test_grid_read_gives_effective_values_formula_markers_and_error_types(emu, sheet):
    http, _ = sheet
    emu.edit(SID, "Sổ", {"op": "set", "range": "E2:F2", "values": [["=1/0", '=IF(1>2,"x","")']]})
    got = http.request("get", S, params={
        "fields": "sheets(properties(title),data(rowData(values(effectiveValue,"
                  "userEnteredValue/formulaValue))))"}).json()
    row = got["sheets"][0]["data"][0]["rowData"][1]["values"]
    assert row[0] == {"effectiveValue": {"stringValue": "A"}}
    assert row[4]["userEnteredValue"] == {"formulaValue": "=1/0"}
    assert row[4]["effectiveValue"]["errorValue"]["type"] == "DIVIDE_BY_ZERO"
    assert row[5]["userEnteredValue"] == {"formulaValue": '=IF(1>2,"x","")'}
    assert set(got["sheets"][0]) == {"properties", "data"}
    assert got["sheets"][0]["properties"] == {"title": "Sổ"}

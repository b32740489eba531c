"""Request validation against Google's discovery documents."""

from __future__ import annotations

import pytest

from sheets_sync_emulator import errors, schema

SID = "schemaSheet"
BASE = f"https://sheets.googleapis.com/v4/spreadsheets/{SID}"


@pytest.fixture
def session(emu, gc, service_account):
    emu.seed_values(SID, {"Sheet1": [["a", "b"]]}, shared_with=[service_account["client_email"]])
    return gc.http_client.session


def _error(response) -> dict:
    assert response.status_code == 400, response.text
    return response.json()["error"]


def test_unknown_nested_field_is_rejected_like_google(session):
    error = _error(session.post(f"{BASE}:batchUpdate", json={"requests": [
        {"addSheet": {"properties": {"title": "x", "colour": "red"}}}]}))
    message = ('Invalid JSON payload received. Unknown name "colour" at '
               "'requests[0].addSheet.properties': Cannot find field.")
    assert error == {"code": 400, "message": message, "status": "INVALID_ARGUMENT", "details": [{
        "@type": "type.googleapis.com/google.rpc.BadRequest",
        "fieldViolations": [{"field": "requests[0].addSheet.properties",
                             "description": message}]}]}


def test_unknown_request_kind_and_top_level_field(session):
    error = _error(session.post(f"{BASE}:batchUpdate", json={"requests": [{"DeleteRange": {}}]}))
    assert error["message"] == ('Invalid JSON payload received. Unknown name "DeleteRange" at '
                                "'requests[0]': Cannot find field.")
    error = _error(session.post(f"{BASE}/values:batchUpdate", json={
        "valueInputOption": "RAW", "data": [], "dryRun": True}))
    assert error["message"] == ('Invalid JSON payload received. Unknown name "dryRun": '
                                "Cannot find field.")


def test_every_violation_is_reported(session):
    error = _error(session.post(f"{BASE}:batchUpdate", json={"requests": [
        {"updateCells": {"rows": [{"values": [{}, {"userEnteredValue": {"numberValue": "abc"}}]}],
                         "fields": "userEnteredValue", "start": {"sheetId": 0, "row": 1}}},
        {"deleteSheet": {"sheetId": "zero"}},
        {"insertDimension": {"range": {"sheetId": 0, "dimension": "ROW", "startIndex": 0,
                                       "endIndex": 1}}}]}))
    assert [v["field"] for v in error["details"][0]["fieldViolations"]] == [
        "requests[0].updateCells.rows[0].values[1].userEnteredValue.numberValue",
        "requests[0].updateCells.start",
        "requests[1].deleteSheet.sheetId",
        "requests[2].insertDimension.range.dimension"]
    assert error["message"].splitlines() == [
        "Invalid value at 'requests[0].updateCells.rows[0].values[1].userEnteredValue."
        "numberValue' (TYPE_DOUBLE), \"abc\"",
        "Invalid JSON payload received. Unknown name \"row\" at 'requests[0].updateCells.start': "
        "Cannot find field.",
        "Invalid value at 'requests[1].deleteSheet.sheetId' (TYPE_INT32), \"zero\"",
        "Invalid value at 'requests[2].insertDimension.range.dimension' (TYPE_ENUM), \"ROW\""]


def test_values_must_be_a_list(session):
    response = session.put(f"{BASE}/values/%27Sheet1%27%21A1", params={"valueInputOption": "RAW"},
                           json={"values": "X", "majorDimension": None})
    assert _error(response)["message"] == (
        "Invalid value at 'data.values' (type.googleapis.com/google.protobuf.ListValue), \"X\"")


def test_nulls_strings_for_ints_and_snake_case_are_accepted(emu, session):
    response = session.post(f"{BASE}:batchUpdate", json={"requests": [
        {"add_sheet": {"properties": {"title": "Mới", "index": "1", "tabColor": None,
                                      "gridProperties": {"row_count": "5", "columnCount": 2}}}},
        {"addProtectedRange": {"protectedRange": {
            "range": {"sheetId": "0", "startRowIndex": 0, "endRowIndex": 1}, "description": None,
            "warningOnly": True, "requestingUserCanEdit": False, "editors": None}}},
        {"setDataValidation": {"range": {"sheetId": 0, "startColumnIndex": 1, "endColumnIndex": 2},
                               "rule": {"condition": {"type": "ONE_OF_LIST", "values": [
                                   {"userEnteredValue": "Có"}, {"userEnteredValue": "Không"}]},
                                   "showCustomUi": True, "strict": True, "inputMessage": None}}},
    ]})
    assert response.status_code == 200, response.text
    props = response.json()["replies"][0]["addSheet"]["properties"]
    assert props["index"] == 1 and props["gridProperties"] == {"rowCount": 5, "columnCount": 2}
    response = session.post(f"{BASE}/values:batchUpdate", json={
        "valueInputOption": "RAW", "includeValuesInResponse": None,
        "responseValueRenderOption": None, "responseDateTimeRenderOption": None,
        "data": [{"range": "Sheet1!A2", "values": [[None, "kept", 3, True]],
                  "majorDimension": None}]})
    assert response.status_code == 200, response.text
    assert emu.get_values(SID, "Sheet1") == [["a", "b", None, None], [None, "kept", 3, True]]


def test_valid_complex_batch_update_is_accepted(emu, session):
    grid = {"sheetId": 0, "startRowIndex": 1, "endRowIndex": 4, "startColumnIndex": 0,
            "endColumnIndex": 2}
    response = session.post(f"{BASE}:batchUpdate", json={"requests": [
        {"updateSpreadsheetProperties": {"properties": {"locale": "vi_VN",
                                                        "timeZone": "Asia/Ho_Chi_Minh"},
                                         "fields": "locale,timeZone"}},
        {"repeatCell": {"range": grid, "cell": {"userEnteredFormat": {
            "backgroundColor": {"red": 1, "green": 0.9, "blue": 0.8},
            "textFormat": {"bold": True, "foregroundColorStyle": {"rgbColor": {"red": 0.6}}},
            "numberFormat": {"type": "DATE", "pattern": "dd/mm/yyyy"}}},
            "fields": "userEnteredFormat(backgroundColor,textFormat,numberFormat)"}},
        {"updateCells": {"rows": [{"values": [{"userEnteredValue": {"numberValue": 45658},
                                               "note": "ngày họp"}]}],
                         "fields": "userEnteredValue,note",
                         "start": {"sheetId": 0, "rowIndex": 1, "columnIndex": 0}}},
        {"addConditionalFormatRule": {"index": 0, "rule": {"ranges": [grid], "booleanRule": {
            "condition": {"type": "CUSTOM_FORMULA",
                          "values": [{"userEnteredValue": '=$B2="Lỗi"'}]},
            "format": {"textFormat": {"foregroundColor": {"red": 0.8}}}}}}},
        {"updateDimensionProperties": {"range": {"sheetId": 0, "dimension": "COLUMNS",
                                                 "startIndex": 0, "endIndex": 1},
                                       "properties": {"pixelSize": 160}, "fields": "pixelSize"}},
        {"autoResizeDimensions": {"dimensions": {"sheetId": 0, "dimension": "COLUMNS",
                                                 "startIndex": 1, "endIndex": 2}}},
        {"insertDimension": {"range": {"sheetId": 0, "dimension": "ROWS", "startIndex": 0,
                                       "endIndex": 1}, "inheritFromBefore": False}},
        {"deleteConditionalFormatRule": {"sheetId": 0, "index": 0}},
    ], "includeSpreadsheetInResponse": False})
    assert response.status_code == 200, response.text
    replies = response.json()["replies"]
    assert replies[:7] == [{}] * 7
    assert replies[7]["deleteConditionalFormatRule"]["rule"]["ranges"] == [
        {"startRowIndex": 2, "endRowIndex": 5, "startColumnIndex": 0, "endColumnIndex": 2}]
    got = session.get(BASE, params={"ranges": "Sheet1!A3", "fields": (
        "properties(locale,timeZone),sheets(data(rowData/values(formattedValue,note,"
        "userEnteredFormat/backgroundColor),columnMetadata))")}).json()
    assert got["properties"] == {"locale": "vi_VN", "timeZone": "Asia/Ho_Chi_Minh"}
    data = got["sheets"][0]["data"][0]
    assert data["rowData"] == [{"values": [{"formattedValue": "01/01/2025", "note": "ngày họp",
                                            "userEnteredFormat": {"backgroundColor": {
                                                "red": 1, "green": 0.8980392, "blue": 0.8}}}]}]
    assert data["columnMetadata"] == [{"pixelSize": 160}]


def test_query_parameters_are_checked(session):
    error = _error(session.get(f"{BASE}/values/Sheet1", params={"valueRenderOption": "RAW"}))
    assert error["message"] == "Invalid value at 'value_render_option' (TYPE_ENUM), \"RAW\""
    error = _error(session.get(f"{BASE}/values/Sheet1", params={"colour": "red"}))
    assert error["message"].startswith('Invalid JSON payload received. Unknown name "colour": '
                                       "Cannot bind query parameter.")
    ok = session.get(f"{BASE}/values/Sheet1", params={"value_render_option": "FORMULA",
                                                      "prettyPrint": "false"})
    assert ok.json() == {"range": "Sheet1!A1:Z1000", "majorDimension": "ROWS",
                         "values": [["a", "b"]]}


def test_drive_bodies_and_parameters_are_lenient(session):
    response = session.get("https://www.googleapis.com/drive/v3/files",
                           params={"corpora": "user", "unknownFlag": "1", "fields": "files(id)"})
    assert response.json() == {"files": [{"id": SID}]}


def test_validate_body_normalises():
    body = schema.validate_body("sheets.spreadsheets.batchUpdate", {"requests": [
        {"delete_dimension": {"range": {"sheet_id": "7", "dimension": 1, "startIndex": 2.0}}}]})
    assert body == {"requests": [{"deleteDimension": {"range": {
        "sheetId": 7, "dimension": "ROWS", "startIndex": 2}}}]}
    with pytest.raises(errors.ApiError) as raised:
        schema.validate_body("sheets.spreadsheets.batchUpdate", {"requests": [
            {"deleteSheet": {"sheetId": 2 ** 40}}]})
    assert raised.value.status == 400

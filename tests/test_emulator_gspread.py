"""The emulator driven by the real gspread + google-auth over HTTP (no mocks)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import google.auth.exceptions
import gspread
import pytest
import requests
from gspread.utils import DateTimeOption, ValueRenderOption

from emulator_helpers import make_client
from sheets_sync_emulator import Emulator

SID = "1unitSpreadsheetId0000000000000000000000000"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def sheet(emu, service_account):
    emu.seed_values(SID, {
        "Sinh hoạt": [["Mã chi bộ", "Ngày họp", "Có mặt", "Đạt"],
                      ["CB01", dt.date(2025, 1, 3), 17, True],
                      ["CB02", dt.date(2025, 1, 5), 20, False]],
        "Kiểm tra": [],
    }, shared_with=[service_account["client_email"]], title="Đơn vị A")
    return SID


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _drive_file(gc, file_id, fields):
    url = f"https://www.googleapis.com/drive/v3/files/{file_id}"
    return gc.http_client.request("get", url, params={"fields": fields}).json()


def test_open_worksheets_and_typed_batch_get(gc, sheet):
    sh = gc.open_by_key(sheet)
    assert sh.title == "Đơn vị A"
    assert [ws.title for ws in sh.worksheets()] == ["Sinh hoạt", "Kiểm tra"]
    ws = sh.worksheet("Sinh hoạt")
    got = ws.batch_get(["A1:D3", "E1:E3"], value_render_option=ValueRenderOption.unformatted,
                       date_time_render_option=DateTimeOption.serial_number)
    assert got[0] == [["Mã chi bộ", "Ngày họp", "Có mặt", "Đạt"],
                      ["CB01", 45660, 17, True], ["CB02", 45662, 20, False]]
    assert got[1] == []
    assert ws.get("B2:B3") == [["2025-01-03"], ["2025-01-05"]]
    assert ws.get("D2") == [["TRUE"]]


def test_raw_writes_keep_formula_text(emu, gc, sheet):
    sh = gc.open_by_key(sheet)
    reply = sh.values_batch_update({"valueInputOption": "RAW", "data": [
        {"range": "'Kiểm tra'!A1:B1", "values": [['=IMPORTRANGE("x","A1")', "0042"]]},
        {"range": "'Sinh hoạt'!E2", "values": [["flag"]]}]})
    assert reply["totalUpdatedCells"] == 3 and reply["totalUpdatedSheets"] == 2
    ws = sh.worksheet("Kiểm tra")
    for option in (ValueRenderOption.formula, ValueRenderOption.unformatted):
        assert ws.get("A1:B1", value_render_option=option) == [['=IMPORTRANGE("x","A1")', "0042"]]
    assert emu.get_values(SID, "Kiểm tra") == [['=IMPORTRANGE("x","A1")', "0042"]]


def test_user_entered_parses_like_typing(emu, gc, sheet):
    ws = gc.open_by_key(sheet).worksheet("Kiểm tra")
    ws.update([["0042", "=3/2", "2020-01-01", "2,000,000.01", "text"]], "A1",
              value_input_option="USER_ENTERED")
    assert emu.get_values(SID, "Kiểm tra") == [[42, "=3/2", 43831, 2000000.01, "text"]]
    assert ws.get("A1:E1") == [["42", "1.5", "2020-01-01", "2,000,000.01", "text"]]
    assert ws.get("A1:E1", value_render_option=ValueRenderOption.formula) == [
        [42, "=3/2", 43831, 2000000.01, "text"]]


def test_structural_batch_update(emu, gc, sheet, service_account):
    sh = gc.open_by_key(sheet)
    ws = sh.worksheet("Sinh hoạt")
    reply = sh.batch_update({"requests": [
        {"addSheet": {"properties": {"title": "Nhật ký", "gridProperties": {
            "rowCount": 10, "columnCount": 3}}}},
        {"setDataValidation": {
            "range": {"sheetId": ws.id, "startRowIndex": 1, "endRowIndex": 3,
                      "startColumnIndex": 3, "endColumnIndex": 4},
            "rule": {"condition": {"type": "BOOLEAN"}, "strict": True}}},
        {"addProtectedRange": {"protectedRange": {
            "range": {"sheetId": ws.id, "startColumnIndex": 4, "endColumnIndex": 6},
            "description": "tool columns", "warningOnly": True, "editors": None}}},
        {"addConditionalFormatRule": {"index": 0, "rule": {
            "ranges": [{"sheetId": ws.id, "startColumnIndex": 4, "endColumnIndex": 5}],
            "booleanRule": {
                "condition": {"type": "TEXT_EQ", "values": [{"userEnteredValue": "Lỗi"}]},
                "format": {"backgroundColor": {"red": 1, "green": 0.5}}}}}},
        {"updateSheetProperties": {"properties": {"sheetId": ws.id, "gridProperties": {
            "frozenRowCount": 1}}, "fields": "gridProperties.frozenRowCount"}},
    ]})
    added = reply["replies"][0]["addSheet"]["properties"]
    assert added["title"] == "Nhật ký" and added["index"] == 2 and added["sheetId"] > 0
    protected = reply["replies"][2]["addProtectedRange"]["protectedRange"]
    assert protected["warningOnly"] is True and protected["requestingUserCanEdit"] is True
    assert reply["replies"][1] == reply["replies"][3] == reply["replies"][4] == {}

    meta = emu.spreadsheet_meta(SID)
    tab = meta["sheets"][0]
    assert tab["properties"]["gridProperties"]["frozenRowCount"] == 1
    assert tab["protectedRanges"][0]["editors"] == {"users": [service_account["client_email"]]}
    assert tab["protectedRanges"][0]["description"] == "tool columns"
    fmt = tab["conditionalFormats"][0]["booleanRule"]["format"]
    assert fmt["backgroundColor"] == {"red": 1, "green": 0.49803922}
    assert fmt["backgroundColorStyle"] == {"rgbColor": {"red": 1, "green": 0.49803922}}
    assert tab["dataValidations"] == [{"range": {
        "sheetId": ws.id, "startRowIndex": 1, "endRowIndex": 3, "startColumnIndex": 3,
        "endColumnIndex": 4}, "rule": {"condition": {"type": "BOOLEAN"}, "strict": True}}]

    # A person inserts a row above the data: values, validations and ranges move down.
    emu.edit(SID, "Sinh hoạt", {"op": "insert_rows", "index": 1, "values": [["CB00"]]})
    meta = emu.spreadsheet_meta(SID)["sheets"][0]
    assert meta["dataValidations"][0]["range"]["startRowIndex"] == 2
    assert emu.get_values(SID, "Sinh hoạt")[1][0] == "CB00"
    assert meta["properties"]["gridProperties"]["rowCount"] == 1001


def test_batch_update_is_atomic_and_errors_like_google(emu, gc, sheet):
    sh = gc.open_by_key(sheet)
    with pytest.raises(gspread.exceptions.APIError) as info:
        sh.batch_update({"requests": [
            {"addSheet": {"properties": {"title": "Tạm"}}},
            {"deleteSheet": {"sheetId": 999}}]})
    assert info.value.code == 400
    assert info.value.error["message"] == "Invalid requests[1].deleteSheet: No sheet with id: 999"
    assert [s["properties"]["title"] for s in emu.spreadsheet_meta(SID)["sheets"]] == [
        "Sinh hoạt", "Kiểm tra"]
    with pytest.raises(gspread.exceptions.APIError) as info:
        sh.values_get("'Không có'!A1")
    assert info.value.error["message"] == "Unable to parse range: 'Không có'!A1"
    with pytest.raises(gspread.exceptions.APIError) as info:
        sh.worksheet("Kiểm tra").update([["x"]], "A1001")
    assert info.value.error["message"] == (
        "Range ('Kiểm tra'!A1001) exceeds grid limits. Max rows: 1000, max columns: 26")
    with pytest.raises(gspread.exceptions.APIError) as info:
        sh.values_update("'Kiểm tra'!A1", params={}, body={"values": [["x"]]})
    assert "'valueInputOption' is required" in info.value.error["message"]


def test_access_control(emu, gc, service_account):
    emu.seed_values("private", {"Sheet1": [["x"]]}, shared_with=["someone@example.com"])
    with pytest.raises(PermissionError):
        gc.open_by_key("private")
    with pytest.raises(gspread.exceptions.SpreadsheetNotFound):
        gc.open_by_key("missing")
    emu.share("private", service_account["client_email"], role="reader")
    sh = gc.open_by_key("private")
    with pytest.raises(gspread.exceptions.APIError) as info:
        sh.sheet1.update([["y"]], "A1")
    assert info.value.code == 403
    assert info.value.error == {"code": 403, "message": "The caller does not have permission",
                                "status": "PERMISSION_DENIED"}


@pytest.mark.parametrize("retry_after", [False, True])
def test_quota_429_with_and_without_retry_after(service_account, retry_after):
    clock = Clock()
    with Emulator(read_quota=2, quota_window_s=10, quota_retry_after=retry_after,
                  clock=clock) as emu:
        info = emu.make_service_account()
        emu.seed_values(SID, {"Sheet1": [["a"]]}, shared_with=[info["client_email"]])
        sh = make_client(emu, info).open_by_key(SID)  # read 1
        sh.values_get("Sheet1!A1")  # read 2
        clock.now += 4
        with pytest.raises(gspread.exceptions.APIError) as raised:
            sh.values_get("Sheet1!A1")
        assert raised.value.code == 429
        assert raised.value.error["status"] == "RESOURCE_EXHAUSTED"
        assert "'Read requests per minute per user'" in raised.value.error["message"]
        header = raised.value.response.headers.get("Retry-After")
        assert header == ("6" if retry_after else None)
        assert emu.stats()["rejected_429"] == 1 and emu.stats()["sheets"]["reads"] == 2


def test_quota_buckets_are_fixed_windows(service_account):
    clock = Clock()
    with Emulator(read_quota=2, write_quota=1, quota_window_s=1.0, clock=clock) as emu:
        info = emu.make_service_account()
        emu.seed_values(SID, {"Sheet1": []}, shared_with=[info["client_email"]])
        gc = make_client(emu, info)
        sh = gc.open_by_key(SID)

        def outcome(call):
            try:
                call()
                return "ok"
            except gspread.exceptions.APIError as exc:
                return exc.code

        def read():
            sh.values_get("Sheet1!A1")

        def write():
            sh.values_update("Sheet1!A1", params={"valueInputOption": "RAW"},
                             body={"values": [["x"]]})

        # Window 0 already holds the open_by_key read.
        assert [outcome(read), outcome(read), outcome(write), outcome(write)] == [
            "ok", 429, "ok", 429]
        clock.now += 0.75
        assert outcome(read) == 429  # still window 0: rejections did not consume quota
        clock.now += 0.25
        assert [outcome(read), outcome(read), outcome(read), outcome(write)] == [
            "ok", "ok", 429, "ok"]
        drive = _drive_file(gc, SID, "version")  # Drive is not limited
        assert drive["version"] == "3"
        stats = emu.stats()
        assert stats["sheets"] == {"reads": 4, "writes": 2}
        assert stats["rejected_429"] == 4


def test_fault_delay_times_out_the_client(emu, service_account, sheet):
    gc = make_client(emu, service_account, timeout=(2, 0.2))
    sh = gc.open_by_key(sheet)
    emu.add_fault(path_regex=r"/values/", status=None, delay_s=0.6)
    with pytest.raises(requests.exceptions.ReadTimeout):
        sh.values_get("Kiểm tra!A1")
    assert sh.values_get("'Kiểm tra'!A1") == {"range": "'Kiểm tra'!A1",
                                              "majorDimension": "ROWS"}


def test_faults_status_bodies_and_apply_first(emu, gc, sheet):
    sh = gc.open_by_key(sheet)
    emu.add_fault(method="PUT", spreadsheet_id=SID, status=503, apply_first=True,
                  retry_after=7)
    with pytest.raises(gspread.exceptions.APIError) as info:
        sh.values_update("'Kiểm tra'!A1", params={"valueInputOption": "RAW"},
                         body={"values": [["applied"]]})
    assert info.value.code == 503 and info.value.error["status"] == "UNAVAILABLE"
    assert info.value.response.headers["Retry-After"] == "7"
    assert emu.get_values(SID, "Kiểm tra") == [["applied"]]  # the write went through

    emu.add_fault(kind="read", status=502, times=2)
    for _ in range(2):
        with pytest.raises(gspread.exceptions.APIError) as info:
            sh.values_get("'Kiểm tra'!A1")
        assert info.value.code == -1 and "502" in info.value.error["message"]
    assert sh.values_get("'Kiểm tra'!A1")["values"] == [["applied"]]
    assert emu.stats()["faults_injected"] == 3


def test_edit_hook_runs_between_two_requests(emu, gc, sheet):
    seen = []

    def person_inserts_a_row(emulator, request):
        seen.append((request.method, request.kind, request.status))
        emulator.edit(SID, "Sinh hoạt", {"op": "insert_rows", "index": 1,
                                         "values": [["CB99", "2025-02-01"]]})

    emu.on_request(person_inserts_a_row, after=2, spreadsheet_id=SID, kind="read")
    sh = gc.open_by_key(sheet)  # read 1
    ws = sh.worksheet("Sinh hoạt")  # read 2: the hook fires after it
    assert seen == [("GET", "read", 200)]
    assert ws.col_values(1) == ["Mã chi bộ", "CB99", "CB01", "CB02"]
    assert emu.get_values(SID, "Sinh hoạt")[1][:2] == ["CB99", 45689]


def test_stats_count_exactly(emu, gc, sheet):
    sh = gc.open_by_key(sheet)  # 1 read (+1 token request)
    sh.values_batch_get(["'Sinh hoạt'!A:D", "'Kiểm tra'!A:A"])  # 1 read
    sh.values_batch_update({"valueInputOption": "RAW", "data": [
        {"range": "'Kiểm tra'!A1", "values": [["x"]]}]})  # 1 write
    _drive_file(gc, SID, "version")  # 1 drive
    stats = emu.stats()
    assert stats["sheets"] == {"reads": 2, "writes": 1}
    assert stats["drive"] == 1 and stats["rejected_429"] == 0
    assert stats["total"] == 4 + stats["token"]
    assert stats["by_spreadsheet"][SID] == {"reads": 2, "writes": 1, "drive": 1,
                                            "rejected_429": 0}
    assert requests.get(emu.base_url + "/__emulator/stats", timeout=5).json() == emu.stats()


def test_drive_version_bumps_on_every_mutation(emu, gc, sheet):
    before = _drive_file(gc, SID, "id,name,version,modifiedTime,createdTime")
    assert before["name"] == "Đơn vị A" and before["version"] == "1"
    sh = gc.open_by_key(sheet)
    sh.sheet1.update([["x"]], "F1")
    after_write = _drive_file(gc, SID, "version,modifiedTime")
    assert int(after_write["version"]) == 2 and after_write["modifiedTime"] > before["modifiedTime"]
    sh.update_title("Đơn vị B")
    emu.edit(SID, "Sinh hoạt", {"op": "set", "range": "A2", "values": [["CB03"]]})
    final = _drive_file(gc, SID, "name,version")
    assert final == {"name": "Đơn vị B", "version": "4"}
    assert gc.list_spreadsheet_files() == [{
        "id": SID, "name": "Đơn vị B", "createdTime": before["createdTime"],
        "modifiedTime": _drive_file(gc, SID, "modifiedTime")["modifiedTime"]}]


def test_drive_list_query_and_permissions(emu, gc, service_account):
    me = service_account["client_email"]
    emu.seed_values("a", {"S": []}, shared_with=[me], title="Unit A", parents=["folder1"])
    emu.seed_values("b", {"S": []}, shared_with=[me], title="Unit B", parents=["folder2"])
    emu.seed_values("c", {"S": []}, shared_with=["other@example.com"], title="Hidden")
    emu.create_binary_file("rollup", "tong-hop.xlsx", shared_with=[me], parents=["folder1"])
    emu.share_anyone("b")
    url = "https://www.googleapis.com/drive/v3/files"
    listed = gc.http_client.request("get", url, params={
        "q": "'folder1' in parents and mimeType='application/vnd.google-apps.spreadsheet' "
             "and trashed=false", "fields": "files(id,name,version)"}).json()
    assert listed == {"files": [{"id": "a", "name": "Unit A", "version": "1"}]}
    assert [f["name"] for f in gspread.Client.list_spreadsheet_files(gc, folder_id="folder2")] == [
        "Unit B"]
    page = gc.http_client.request("get", url, params={"pageSize": 2}).json()
    assert len(page["files"]) == 2 and page["nextPageToken"]
    rest = gc.http_client.request("get", url, params={
        "pageSize": 2, "pageToken": page["nextPageToken"]}).json()
    assert len(rest["files"]) == 1 and "nextPageToken" not in rest
    permissions = gc.http_client.request("get", f"{url}/b/permissions").json()["permissions"]
    assert {(p["type"], p["role"], p.get("emailAddress")) for p in permissions} == {
        ("user", "owner", "owner@sheets-sync.example"), ("user", "writer", me),
        ("anyone", "reader", None)}


def test_drive_create_is_refused_for_service_accounts(gc):
    with pytest.raises(gspread.exceptions.APIError) as info:
        gc.create("Không được")
    assert info.value.code == 403
    assert info.value.error["errors"][0]["reason"] == "storageQuotaExceeded"
    assert info.value.error["message"] == "The user's Drive storage quota has been exceeded."


def test_media_upload_replaces_binary_content(emu, gc, service_account):
    emu.create_binary_file("rollup", "tong-hop.xlsx", shared_with=[service_account["client_email"]],
                           content=b"old")
    url = "https://www.googleapis.com/upload/drive/v3/files/rollup"
    reply = gc.http_client.request(
        "patch", url, params={"uploadType": "media", "fields": "id,version,md5Checksum,size"},
        data=b"new workbook bytes", headers={"Content-Type": XLSX}).json()
    assert reply == {"id": "rollup", "version": "2", "size": "18",
                     "md5Checksum": hashlib.md5(b"new workbook bytes").hexdigest()}
    assert emu.file_content("rollup") == b"new workbook bytes"
    boundary = "b0undary"
    body = (f"--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n"
            f'{json.dumps({"name": "tong-hop-2025.xlsx"})}\r\n--{boundary}\r\n'
            f"Content-Type: {XLSX}\r\n\r\nmulti\r\n--{boundary}--\r\n").encode()
    reply = gc.http_client.request(
        "patch", url, params={"uploadType": "multipart", "fields": "name,version"}, data=body,
        headers={"Content-Type": f"multipart/related; boundary={boundary}"}).json()
    assert reply == {"name": "tong-hop-2025.xlsx", "version": "3"}
    assert emu.file_content("rollup") == b"multi"


def test_token_signature_failure_is_a_refresh_error(emu, service_account, sheet):
    forged = dict(service_account)
    forged["private_key"] = emu.make_service_account(email="x@y.iam.gserviceaccount.com")[
        "private_key"]
    gc = make_client(emu, forged)
    with pytest.raises(google.auth.exceptions.RefreshError, match="Invalid JWT Signature"):
        gc.open_by_key(sheet)


def test_http_control_endpoints(emu, gc, sheet, service_account):
    base = emu.base_url + "/__emulator"
    fault = requests.post(base + "/faults", json={"kind": "read", "status": 500}, timeout=5)
    assert fault.json()["id"] > 0
    with pytest.raises(gspread.exceptions.APIError) as info:
        gc.open_by_key(sheet)
    assert info.value.error == {"code": 500, "message": "Internal error encountered.",
                                "status": "INTERNAL"}
    requests.post(base + "/faults", json={"kind": "read", "status": 500}, timeout=5)
    assert requests.delete(base + "/faults", timeout=5).status_code == 200
    sh = gc.open_by_key(sheet)
    edit = {"spreadsheet_id": SID, "sheet": "Kiểm tra", "op": "set", "range": "A1:B1",
            "values": [["typed", "12"]]}
    assert requests.post(base + "/edit", json=edit, timeout=5).status_code == 200
    assert emu.get_values(SID, "Kiểm tra") == [["typed", 12]]
    bad = requests.post(base + "/edit", json={**edit, "op": "explode"}, timeout=5)
    assert bad.status_code == 400 and "unknown edit op" in bad.json()["error"]
    revoke = {"spreadsheet_id": SID, "email": service_account["client_email"]}
    assert requests.post(base + "/revoke", json=revoke, timeout=5).status_code == 200
    with pytest.raises(gspread.exceptions.APIError) as info:
        sh.fetch_sheet_metadata()
    assert info.value.code == 403
    assert requests.post(base + "/reset", timeout=5).status_code == 200
    assert emu.stats()["total"] == 0
    with pytest.raises(gspread.exceptions.SpreadsheetNotFound):
        gc.open_by_key(sheet)


def test_seed_xlsx_types(emu, gc, service_account, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    from openpyxl.worksheet.datavalidation import DataValidation

    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Họp"
    ws.append(["Ngày", "Lúc", "Đạt", "Số", "Tổng", "Mã"])
    ws.append([dt.date(2025, 3, 3), dt.datetime(2025, 3, 3, 19, 30), True, 17, "=D2*2", "0042"])
    ws.freeze_panes = "A2"
    validation = DataValidation(type="list", formula1='"Có,Không"', showErrorMessage=True)
    ws.add_data_validation(validation)
    validation.add("C2:C5")
    book.create_sheet("Trống")
    path = tmp_path / "unit.xlsx"
    book.save(path)

    emu.seed_xlsx("x1", path, shared_with=[service_account["client_email"]])
    assert emu.get_values("x1", "Họp") == [["Ngày", "Lúc", "Đạt", "Số", "Tổng", "Mã"],
                                           [45719, 45719.8125, True, 17, "=D2*2", "0042"]]
    sh = gc.open_by_key("x1")
    assert sh.title == "unit" and [w.title for w in sh.worksheets()] == ["Họp", "Trống"]
    got = sh.worksheet("Họp").get("A2:F2", value_render_option=ValueRenderOption.unformatted)
    assert got == [[45719, 45719.8125, True, 17, 34, "0042"]]
    meta = emu.spreadsheet_meta("x1")["sheets"][0]
    assert meta["properties"]["gridProperties"]["frozenRowCount"] == 1
    assert meta["dataValidations"][0]["rule"]["condition"] == {
        "type": "ONE_OF_LIST",
        "values": [{"userEnteredValue": "Có"}, {"userEnteredValue": "Không"}]}

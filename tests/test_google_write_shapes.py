"""Issue 17: the write requests a unit costs, and what they carry. A first run is one
structural ``batchUpdate`` (tool columns inserted and filled in the same request, the tool tabs
added and filled); a later changed run is one ``values:batchUpdateByDataFilter`` that also
carries Kiểm tra, its row links as HYPERLINK formulas under USER_ENTERED, every other text sent
literal (``value_input``) so that Google stores exactly the text. Counted by the emulator; the
bodies are the ones gspread sent over HTTP."""
from __future__ import annotations

import json
from typing import Any

import pytest

from google_support import MEETINGS, TEMPLATE, TOOL_TABS
from sheets_sync.core.a1 import col_letter
from sheets_sync.sources.google_sheets import (
    VALUES_BY_FILTER_URL,
    CellLink,
    argument_separator,
    cell_data,
    link_formula,
    value_input,
)

# Texts staff type that USER_ENTERED would otherwise turn into formulas, numbers, dates,
# booleans or trim: each must come back exactly, as text.
STAFF_LIKE = ['=HYPERLINK("http://x";"y")', "=1+1", "+1", "-2", "@x", "0012", "1/2/2026",
              "2026-01-02", "TRUE", "false", "'quoted", "''", "  leading spaces", "trailing ",
              "12,5", "50%", "1e3", "$100", "(12)", "09:30", 'say "hi"', "Đảng ủy xã Nam Hà",
              "dòng 1\ndòng 2", "#REF!"]


def _record(backend) -> list[tuple[str, str, dict | None]]:
    """(method, url, JSON body) of every request the backend sends from now on."""
    sent: list[tuple[str, str, dict | None]] = []
    send = backend.transport.send

    def recording(request, *args, **kwargs):
        body = request.body
        if isinstance(body, bytes):
            body = body.decode("utf-8")
        sent.append((request.method, request.url, json.loads(body) if body else None))
        return send(request, *args, **kwargs)

    backend.transport.send = recording
    return sent


def _writes(sent: list[tuple[str, str, dict | None]], sid: str) -> list[tuple[str, dict]]:
    return [(url.split(sid, 1)[1], body) for method, url, body in sent
            if method == "POST" and sid in url and body is not None]


def test_value_input_sends_every_text_literal():
    for text in STAFF_LIKE:
        assert value_input(text, True) == "'" + text
        assert value_input(text, False) == text
    for value in (None, "", 3, 2.5, True):
        assert value_input(value, True) == value
    link = CellLink("#gid=7&range=A12", 'Sinh hoạt, dòng "12"')
    assert value_input(link, True) == '=HYPERLINK("#gid=7&range=A12";"Sinh hoạt, dòng ""12""")'
    assert cell_data(link) == {"userEnteredValue": {"formulaValue": link_formula(link)}}
    assert cell_data("=1+1") == {"userEnteredValue": {"stringValue": "=1+1"}}
    assert cell_data("") == {} and cell_data(None) == {}
    with pytest.raises(ValueError):
        value_input(link, False)  # a RAW write would store the formula as text


def test_link_formulas_use_the_argument_separator_of_the_spreadsheet_locale():
    assert [argument_separator(x) for x in ("vi_VN", "de_DE", "pt_BR", "en_US", "en_GB",
                                            "ja_JP", "es_MX", "de_CH", None)] == [
        ";", ";", ";", ",", ",", ",", ",", ",", ";"]
    link = CellLink("#gid=7&range=A12", "Sinh hoạt, dòng 12", ",")
    assert link_formula(link) == '=HYPERLINK("#gid=7&range=A12","Sinh hoạt, dòng 12")'


def test_user_entered_values_come_back_exactly(district):
    """Through the emulator (USER_ENTERED parsed as Sheets parses typed input): every
    staff-like text comes back as that text (no formula, number, date or boolean), and a link
    shows its label (the effective value a read gives) with its link."""
    backend = district.backend()
    sid = district.ids["NM"]
    http = backend.client.http_client
    meta = district.emu.spreadsheet_meta(sid)
    ids = {s["properties"]["title"]: s["properties"].get("sheetId", 0) for s in meta["sheets"]}
    http.batch_update(sid, {"requests": [{"addSheet": {"properties": {
        "sheetId": 4242, "title": "Thử", "gridProperties": {"rowCount": 40,
                                                           "columnCount": 2}}}}]})
    link = CellLink(f"#gid={ids[MEETINGS]}&range=A5", 'Sinh hoạt, dòng "5"')
    values: list[list[Any]] = [[value_input(t, True)] for t in STAFF_LIKE]
    values.append([value_input(link, True)])
    http.request("post", VALUES_BY_FILTER_URL.format(sid), json={
        "valueInputOption": "USER_ENTERED", "data": [{
            "dataFilter": {"gridRange": {"sheetId": 4242, "startRowIndex": 0,
                                         "endRowIndex": len(values), "startColumnIndex": 0,
                                         "endColumnIndex": 1}},
            "majorDimension": "ROWS", "values": values}]})
    got = http.request("get", f"https://sheets.googleapis.com/v4/spreadsheets/{sid}", params={
        "ranges": "'Thử'!A1:A40",
        "fields": "sheets.data.rowData.values(userEnteredValue,effectiveValue,hyperlink)"}).json()
    cells = [(r.get("values") or [{}])[0] for r in got["sheets"][0]["data"][0]["rowData"]]
    for text, cell in zip(STAFF_LIKE, cells, strict=False):
        assert cell["userEnteredValue"] == {"stringValue": text}, text
        assert cell["effectiveValue"] == {"stringValue": text}, text
        assert "hyperlink" not in cell, text
    last = cells[len(STAFF_LIKE)]
    assert last["userEnteredValue"] == {"formulaValue": link_formula(link)}
    assert last["effectiveValue"] == {"stringValue": link.label}
    assert last["hyperlink"] == link.uri
    # the one read the tool makes gives the label as the cell's text
    read = backend.read(district.config.unit("NM"))
    assert [r[0] for r in read.sheet("Thử").rows] == [*STAFF_LIKE, link.label]


def test_first_run_is_one_batch_update_and_a_changed_run_one_value_write(district):
    backend = district.backend()
    sent = _record(backend)
    outcome = district.run(backend)
    assert {w.unit: w.status for w in outcome.writes} == {c: "written" for c in district.ids}
    for code, sid in district.ids.items():
        writes = _writes(sent, sid)
        assert [path for path, _ in writes] == [":batchUpdate"], code
        requests = writes[0][1]["requests"]
        kinds = [next(iter(r)) for r in requests]
        assert "insertDimension" in kinds and kinds.count("addSheet") == len(TOOL_TABS)
        # each inserted block of tool columns is filled by the request right after it, from
        # its first column: headers and flags, nothing outside the inserted columns
        for i, r in enumerate(requests):
            if "insertDimension" in r:
                rng = r["insertDimension"]["range"]
                fill = requests[i + 1]["updateCells"]
                assert fill["start"]["sheetId"] == rng["sheetId"]
                assert fill["start"]["columnIndex"] == rng["startIndex"]
                assert {len(row["values"]) for row in fill["rows"]} == {
                    rng["endIndex"] - rng["startIndex"]}
                assert fill["fields"] == "userEnteredValue"
                # then their number format is reset (no inherited Plain text)
                reset = requests[i + 2]["repeatCell"]
                assert reset["range"] == {"sheetId": rng["sheetId"],
                                          "startColumnIndex": rng["startIndex"],
                                          "endColumnIndex": rng["endIndex"]}
                assert reset["cell"] == {} and reset["fields"] == "userEnteredFormat.numberFormat"
        # every tool tab is filled in the same request, by the id its addSheet asks for
        added = {r["addSheet"]["properties"]["title"]: r["addSheet"]["properties"]["sheetId"]
                 for r in requests if "addSheet" in r}
        filled = {r["updateCells"]["start"]["sheetId"] for r in requests
                  if "updateCells" in r and r["updateCells"]["start"]["columnIndex"] == 0
                  and r["updateCells"]["start"]["rowIndex"] == 0}
        assert set(added.values()) <= filled, code
        # and the flags are on the sheets
        grid = district.grids(code)[MEETINGS]
        assert sum(1 for row in grid for v in row if v == TEMPLATE.status_header) == 1

    # A person changes a value that changes NM's flags and its Kiểm tra list.
    grid = district.grids("NM")[MEETINGS]
    header_r = next(r for r, row in enumerate(grid[:6])
                    if TEMPLATE.tab("meetings").first_required.header in row)
    present = grid[header_r].index(next(c.header for c in TEMPLATE.tab("meetings").columns
                                        if c.id == "present"))
    district.emu.edit(district.ids["NM"], MEETINGS, {
        "op": "set", "input": "RAW", "values": [[-3]],
        "range": f"{col_letter(present)}{header_r + 2}"})
    backend = district.backend()
    sent = _record(backend)
    outcome = district.run(backend)
    assert {w.unit: w.status for w in outcome.writes}["NM"] == "written"
    writes = _writes(sent, district.ids["NM"])
    assert [path for path, _ in writes] == ["/values:batchUpdateByDataFilter"]
    body = writes[0][1]
    assert body["valueInputOption"] == "USER_ENTERED"
    anchored = [d for d in body["data"] if "developerMetadataLookup" in d["dataFilter"]]
    tabs = [d for d in body["data"] if "gridRange" in d["dataFilter"]]
    assert anchored and len(tabs) == 1  # the flags by metadata, Kiểm tra by sheet id
    links = 0
    for entry in body["data"]:
        for line in entry["values"]:
            for v in line:
                if isinstance(v, str) and v.startswith("=HYPERLINK(\"#gid="):
                    # the emulator's spreadsheets are en_US (provisioning sets vi_VN: ";")
                    assert '",\"' in v and '";\"' not in v, v
                    links += 1
                else:  # everything else literal: text after an apostrophe, or left/cleared
                    assert v is None or v == "" or (isinstance(v, str) and v[0] == "'"), v
    assert links
    for code in district.ids:
        if code != "NM":
            assert _writes(sent, district.ids[code]) == [], code

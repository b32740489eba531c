"""Issue 11, Google scenarios 1-2: a person inserts or deletes a column or a row between the
tool's read (and its write-time check) and its write. Staff cells are never changed; a flag a
racing row edit displaced inside the tool columns is repaired by the next run.

The person's edit is made by an emulator hook right after the write-time check (the unit's
Drive ``files.get``) has been answered — the check passes, the write follows the edit: the
worst moment. Everything runs the real gspread + google-auth over HTTP against the emulator.
"""
from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from chaos_support import expected_flags, flags_diff, snapshot
from google_support import (
    AS_OF,
    MEETINGS,
    TEMPLATE,
    YEAR,
    assert_staff_unchanged,
    cell_text,
    staff_only,
)
from sheets_sync.core.findings import OK, UNCHANGED
from sheets_sync.sources.google_http import Quota
from sheets_sync.sources.google_sheets import TOOL_KEY
from sheets_sync.sync import pipeline

EARLIER = date(2026, 11, 5)  # a first run at this date leaves flags that AS_OF changes
UNIT = "NM"
NOTE = next(c.header for c in TEMPLATE.tab("meetings").columns if c.id == "note")


def _run(district, as_of: date) -> pipeline.RunOutcome:
    backend = district.backend()
    return pipeline.run(district.config, lambda u: backend, as_of, YEAR)


def _after_check(district, op: dict) -> dict:
    """Apply ``op`` to the unit's meetings tab right after its write-time Drive check."""
    state = {"done": False}

    def hook(emu, info):
        state["done"] = True
        emu.edit(district.ids[UNIT], MEETINGS, op)

    district.emu.on_request(hook, spreadsheet_id=district.ids[UNIT], kind="drive")
    return state


def _insert_column(grid: list[list[Any]], index: int) -> list[list[Any]]:
    return [row[:index] + [None] + row[index:] if len(row) > index else list(row)
            for row in grid]


def _header_row(grid: list[list[Any]]) -> int:
    first = TEMPLATE.tab("meetings").first_required.header
    return next(r for r, row in enumerate(grid[:6]) if first in row)


def _converged(district, outcome) -> None:
    """Every data row of every unit carries exactly the flags its own data call for."""
    flags = expected_flags(outcome)
    for code in district.ids:
        diff = flags_diff(snapshot(district.grids(code)), flags[code])
        assert diff == [], (code, diff)


def _tool_metadata_columns(district) -> dict[str, int]:
    meta = district.emu.spreadsheet_meta(district.ids[UNIT])
    sheet_id = next(s["properties"]["sheetId"] for s in meta["sheets"]
                    if s["properties"]["title"] == MEETINGS)
    ss = district.emu._store.files[district.ids[UNIT]].spreadsheet  # inspection only
    sheet = ss.sheet_by_id(sheet_id)
    return {m["metadataValue"]: m["location"]["dimensionRange"]["startIndex"]
            for m in sheet.developer_metadata if m["metadataKey"] == TOOL_KEY}


@pytest.mark.parametrize("first_run", [False, True], ids=["flagged-before", "first-run"])
def test_column_inserted_between_check_and_write_never_redirects_flags(district, first_run):
    """Scenario 1: a column inserted left of the tool columns after the check: the staff column
    "Ghi chú" (header and notes) is untouched, the flags land in the tool columns."""
    if not first_run:
        _run(district, EARLIER)
    before = district.grids(UNIT)[MEETINGS]
    state = _after_check(district, {"op": "insert_columns", "index": 2})
    outcome = _run(district, AS_OF)
    assert state["done"]
    assert {w.unit: w.status for w in outcome.writes}[UNIT] == "written"
    after = district.grids(UNIT)
    # every staff cell holds what it held; the only columns added are the tool columns (on a
    # first run they may sit left of a column the person pushed right while they were added:
    # staff columns keep their order and values, nothing is written over)
    assert staff_only(after[MEETINGS]) == staff_only(_insert_column(before, 2))
    if not first_run:
        assert_staff_unchanged({MEETINGS: _insert_column(before, 2)}, {MEETINGS: after[MEETINGS]})
    header_r = _header_row(after[MEETINGS])
    header = after[MEETINGS][header_r]
    note = header.index(NOTE)
    was = before[header_r].index(NOTE) + 1
    assert note == was or (first_run and note == was + 2)
    for r, row in enumerate(_insert_column(before, 2)):
        if r >= header_r:
            assert cell_text(after[MEETINGS][r], note) == cell_text(row, was), r
    # the tool columns are where their headers are, and their metadata with them
    where = _tool_metadata_columns(district)
    assert header[where["status"]] == TEMPLATE.status_header
    assert header[where["details"]] == TEMPLATE.details_header
    assert any(row[where["status"]] for row in after[MEETINGS][header_r + 1:]
               if len(row) > where["status"])
    _converged(district, _run(district, AS_OF))


@pytest.mark.parametrize("op", [
    {"op": "insert_rows", "index": 4, "values": [["CB01", "08/2026", "Thường kỳ"]],
     "input": "RAW"},
    {"op": "delete_rows", "index": 3, "count": 1},
], ids=["row-inserted", "row-deleted"])
def test_row_edit_between_check_and_write_is_repaired_by_the_next_run(district, op):
    """Scenario 2: a row inserted or deleted after the check: flags may shift by a row inside
    the tool columns, never onto staff cells; the next run notices the spreadsheet moved by
    more than our own write, re-reads it and puts every flag on its row."""
    _run(district, EARLIER)
    before = district.grids(UNIT)[MEETINGS]
    state = _after_check(district, op)
    outcome = _run(district, AS_OF)
    assert state["done"]
    assert {w.unit: w.status for w in outcome.writes}[UNIT] == "written"
    after = district.grids(UNIT)[MEETINGS]
    expected = [list(r) for r in before]
    if op["op"] == "insert_rows":
        expected.insert(op["index"], op["values"][0])
    else:
        del expected[op["index"]]
    assert_staff_unchanged({MEETINGS: expected}, {MEETINGS: after})

    rerun = _run(district, AS_OF)
    statuses = {r.result.code: r.result.status for r in rerun.reads}
    assert statuses[UNIT] == OK  # re-read: the version moved by more than our write
    assert {s for c, s in statuses.items() if c != UNIT} == {UNCHANGED}
    _converged(district, rerun)
    assert_staff_unchanged({MEETINGS: expected}, {MEETINGS: district.grids(UNIT)[MEETINGS]})


def test_the_write_guard_is_asked_after_the_wait_for_a_write_slot(district):
    """With the write quota spent, a unit's write waits for the next window. Its Drive version
    guard is asked after that wait, right before the write: a person's row edit made during
    the wait is seen (the moved tab is not written, the next run writes it), where a guard
    asked before the wait would have let every later write go out a row off."""
    _run(district, EARLIER)
    backend = district.backend(quota=Quota(reads=10_000, writes=2, window=1.0))
    pacer_sleep = backend.transport.pacer.sleep
    edited: list[str] = []

    def sleep(seconds: float) -> None:  # the pacer waiting for a write slot
        if not edited:
            for code, sid in district.ids.items():
                district.emu.edit(sid, MEETINGS, {"op": "insert_rows", "index": 4, "values": [
                    ["CB01", "08/2026", "Thường kỳ"]], "input": "RAW"})
                edited.append(code)
        pacer_sleep(seconds)

    backend.transport.pacer.sleep = sleep
    outcome = pipeline.run(district.config, lambda unit: backend, AS_OF, YEAR)
    statuses = {w.unit: w.status for w in outcome.writes}
    # Only the two writes that found room at once may have been guarded before the edit.
    assert edited and list(statuses.values()).count("written") <= 2, statuses
    assert {s for s in statuses.values() if s != "written"} == {"skipped"}, statuses
    rerun = _run(district, AS_OF)
    assert {w.status for w in rerun.writes} <= {"written", "unchanged"}
    _converged(district, rerun)


def test_tool_column_deleted_between_check_and_write(district):
    """A person deletes the status column itself after the check: its metadata goes with it,
    nothing is written in its place (the write of that tab is reported as skipped), and the
    next run puts the column back after the staff columns."""
    _run(district, EARLIER)
    before = district.grids(UNIT)[MEETINGS]
    header_r = _header_row(before)
    status = before[header_r].index(TEMPLATE.status_header)
    state = _after_check(district, {"op": "delete_columns", "index": status})
    outcome = _run(district, AS_OF)
    assert state["done"]
    write = {w.unit: w for w in outcome.writes}[UNIT]
    assert write.status == "skipped" and "bị xóa" in write.message
    after = district.grids(UNIT)[MEETINGS]
    expected = [row[:status] + row[status + 1:] for row in before]
    assert_staff_unchanged({MEETINGS: expected}, {MEETINGS: after})
    assert TEMPLATE.status_header not in after[header_r]
    rerun = _run(district, AS_OF)
    assert {w.unit: w.status for w in rerun.writes}[UNIT] == "written"
    _converged(district, rerun)


def test_read_is_one_request_and_matches_the_values_api(district):
    """The one ``spreadsheets.get`` read gives the rows ``values:batchGet`` (UNFORMATTED_VALUE,
    SERIAL_NUMBER) gives, for every tab of every unit."""
    backend = district.backend()
    for code, sid in district.ids.items():
        unit = district.config.unit(code)
        s0 = district.emu.stats()
        raw = backend.read(unit)
        s1 = district.emu.stats()
        assert s1["sheets"]["reads"] - s0["sheets"]["reads"] == 1
        http = backend.client.http_client
        titles = [s.title for s in raw.sheets]
        got = http.values_batch_get(sid, [f"'{t}'" for t in titles], params={
            "valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "SERIAL_NUMBER"})
        for sheet, vr in zip(raw.sheets, got["valueRanges"]):
            assert sheet.rows == vr.get("values", []), (code, sheet.title)


def test_check_links_and_header_rows_on_google(district):
    """FlagPlan.check_links become ``=HYPERLINK("#gid=<sheetId>&range=A<row>","<text>")`` on the
    Kiểm tra cells (the text is what a read gives; the link is the cell's hyperlink), and
    check_header_rows its frozen rows — all inside the unit's one structural request."""
    from sheets_sync.core.checker import read_unit
    from sheets_sync.sync.writeplan import plan_unit

    backend = district.backend()
    unit = district.config.unit(UNIT)
    read = read_unit(backend, TEMPLATE, unit, AS_OF)
    read.raw.version = None  # no listing here: the write re-reads the keys
    plan = plan_unit(TEMPLATE, read, read.data.findings, AS_OF, YEAR)
    plan.check_links = {(0, 0): (MEETINGS, 3)}
    plan.check_header_rows = 2
    s0 = district.emu.stats()
    result = backend.writer().apply(unit, read, plan)
    s1 = district.emu.stats()
    assert result.status == "written"
    assert s1["sheets"]["writes"] - s0["sheets"]["writes"] == 1  # structure, columns and tabs
    meta = district.emu.spreadsheet_meta(district.ids[UNIT])
    ids = {s["properties"]["title"]: s["properties"] for s in meta["sheets"]}
    check = ids[TEMPLATE.check_tab]
    assert check["gridProperties"]["frozenRowCount"] == 2
    got = backend.client.http_client.request(
        "get", f"https://sheets.googleapis.com/v4/spreadsheets/{district.ids[UNIT]}",
        params={"ranges": f"'{TEMPLATE.check_tab}'!A1:B2",
                "fields": "sheets.data.rowData.values(userEnteredValue,effectiveValue,"
                          "hyperlink)"}).json()
    a1 = got["sheets"][0]["data"][0]["rowData"][0]["values"][0]
    uri = f"#gid={ids[MEETINGS]['sheetId']}&range=A3"
    label = plan.check_grid[0][0].replace('"', '""')
    # the spreadsheet's locale is en_US: "," separates the arguments (vi_VN: ";")
    assert a1["userEnteredValue"] == {"formulaValue": f'=HYPERLINK("{uri}","{label}")'}
    assert a1["effectiveValue"] == {"stringValue": plan.check_grid[0][0]}
    assert a1["hyperlink"] == uri
    assert district.grids(UNIT)[TEMPLATE.check_tab][1][0] == plan.check_grid[1][0]

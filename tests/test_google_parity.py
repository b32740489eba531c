"""The Google path gives the same findings and writes the same flags as the local backend on the
same .xlsx files (the demo district seeded into the emulator)."""
from __future__ import annotations

import json
import re

import openpyxl

from google_support import AS_OF, TOOL_TABS, YEAR, findings_tuples, tool_columns
from sheets_sync.core.findings import OK
from sheets_sync.core.flagplan import normalize_grid
from sheets_sync.outputs.check_formats import to_json
from sheets_sync.sources import backend_for
from sheets_sync.sync import pipeline


def test_check_gives_the_same_findings_as_local(district):
    local = pipeline.run_check(district.local, backend_for(district.local), AS_OF, YEAR,
                               history=False)
    # The production route: backend_for(config) builds the Google client from [google].
    google = pipeline.run_check(district.config, backend_for(district.config), AS_OF, YEAR)

    assert [u.status for u in google.report.units] == [OK] * len(district.ids)
    assert findings_tuples(google.report) == findings_tuples(local.report)
    assert len(local.report.findings) > 50
    as_json = json.loads(to_json(google.report))
    assert as_json["findings"] == json.loads(to_json(local.report))["findings"]


def _local_tool_cells(path) -> dict:
    """Tool-column cells and tool tabs of a written .xlsx, as normalised text grids."""
    wb = openpyxl.load_workbook(path)
    out = {}
    for ws in wb.worksheets:
        grid = [list(r) for r in ws.iter_rows(values_only=True)]
        out[ws.title] = _tool_part(ws.title, grid)
    return out


def _tool_part(title: str, grid: list[list]) -> list[list[str]]:
    if title in TOOL_TABS:
        return normalize_grid([["" if v is None else str(v) for v in row] for row in grid])
    cols = sorted(tool_columns(grid))
    return normalize_grid([[row[c] if c < len(row) and row[c] is not None else ""
                            for c in cols] for row in grid])


def test_run_writes_the_same_flags_as_local(district, local_copy):
    local = pipeline.run(local_copy, backend_for(local_copy), AS_OF, YEAR)
    google = district.run()

    assert findings_tuples(google.report) == findings_tuples(local.report)
    assert {w.unit: w.status for w in google.writes} == {c: "written" for c in district.ids}
    assert {w.unit: w.cells for w in google.writes} == {w.unit: w.cells for w in local.writes}
    for unit in local_copy.units:
        on_disk = _local_tool_cells(unit.path)
        on_google = {t: _tool_part(t, g)
                     for t, g in district.grids(unit.code, effective=True).items()}
        assert on_google.keys() == on_disk.keys(), unit.code
        assert sum(len(g) for t, g in on_disk.items() if t not in TOOL_TABS) > 10
        for title in on_disk:
            assert on_google[title] == on_disk[title], (unit.code, title)
        # the Kiểm tra cells link to the same rows (.xlsx: internal hyperlinks; Google:
        # HYPERLINK formulas to #gid=<sheetId>&range=A<row>)
        google_links = _google_links(district, unit.code)
        assert google_links and google_links == _local_links(unit.path), unit.code


def _local_links(path) -> dict[tuple[int, int], tuple[str, int]]:
    ws = openpyxl.load_workbook(path)["Kiểm tra"]
    out = {}
    for row in ws.iter_rows():
        for c in row:
            if c.hyperlink is not None and c.hyperlink.location:
                title, _, cell = c.hyperlink.location.rpartition("!")
                out[(c.row - 1, c.column - 1)] = (title.strip("'").replace("''", "'"),
                                                  int(cell.lstrip("A$")))
    return out


def _google_links(district, code: str) -> dict[tuple[int, int], tuple[str, int]]:
    meta = district.emu.spreadsheet_meta(district.ids[code])
    titles = {s["properties"].get("sheetId", 0): s["properties"]["title"] for s in meta["sheets"]}
    out = {}
    for r, row in enumerate(district.grids(code)["Kiểm tra"]):
        for c, v in enumerate(row):
            m = re.fullmatch(r'=HYPERLINK\("#gid=(\d+)&range=A(\d+)"[;,]"(?:[^"]|"")*"\)', str(v))
            if isinstance(v, str) and v.startswith("="):
                assert m, v  # the only formulas are the row links
                out[(r, c)] = (titles[int(m.group(1))], int(m.group(2)))
    return out

"""Unit tests of the emulator's building blocks (no HTTP)."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sheets_sync_emulator import (
    a1,
    cells,
    driveq,
    edits,
    errors,
    fieldmask,
    grid,
    metadata,
    numfmt,
    proto,
)
from sheets_sync_emulator.batch_update import BatchUpdate
from sheets_sync_emulator.formula import ErrorValue, Evaluator
from sheets_sync_emulator.quota import Quota
from sheets_sync_emulator.seed import from_values


def _spreadsheet(rows, rows_count=None):
    ss = from_values("s", {"Sheet1": rows, "Other tab": [[10, 20]]}, "T", "en_US", "Etc/GMT",
                     random.Random(1))
    if rows_count:
        ss.sheets[0].resize(rows_count, ss.sheets[0].column_count)
    return ss


@given(st.integers(min_value=0, max_value=18277))
def test_column_letters_round_trip(index):
    assert a1.column_index(a1.column_letters(index)) == index


@pytest.mark.parametrize("text, echo", [
    ("'Sheet1'", "Sheet1!A1:Z1000"), ("Sheet1!A1:C", "Sheet1!A1:C1000"),
    ("'Sheet1'!A1:1", "Sheet1!A1:Z1"), ("Sheet1!D4:A1", "Sheet1!A1:D4"),
    ("Sheet1!A1:A1", "Sheet1!A1"), ("sheet1!B:B", "Sheet1!B1:B1000"),
    ("A1:B2", "Sheet1!A1:B2"), ("Sheet1!A1:AB5000", "Sheet1!A1:Z1000"),
    ("'Other tab'!$B$2", "'Other tab'!B2"),
])
def test_range_echo(text, echo):
    ss = _spreadsheet([])
    sheet, box = grid.read_box(ss, text)
    assert a1.format_box(sheet.title, box) == echo


@pytest.mark.parametrize("text, message", [
    ("'all prompts'!A1:[5", "Unable to parse range: 'all prompts'!A1:[5"),
    ("Nope!A1", "Unable to parse range: Nope!A1"),
    ("Sheet1!A1001", "Range (Sheet1!A1001) exceeds grid limits. Max rows: 1000, max columns: 26"),
])
def test_range_errors(text, message):
    with pytest.raises(errors.ApiError) as raised:
        grid.read_box(_spreadsheet([]), text)
    assert raised.value.body["error"]["message"] == message


def test_trimming_and_columns():
    ss = _spreadsheet([["A1", "B1", "", "D1"], ["", "b2", "", ""], [], ["A4", "B4", "", "D4"]])
    sheet, box = grid.read_box(ss, "Sheet1")
    assert grid.render_values(ss, sheet, box, "FORMATTED_VALUE", "SERIAL_NUMBER", "ROWS") == [
        ["A1", "B1", "", "D1"], ["", "b2"], [], ["A4", "B4", "", "D4"]]
    assert grid.render_values(ss, sheet, box, "FORMATTED_VALUE", "SERIAL_NUMBER", "COLUMNS") == [
        ["A1", "", "", "A4"], ["B1", "b2", "", "B4"], [], ["D1", "", "", "D4"]]


def test_write_counting_and_bounds():
    ss = _spreadsheet([])
    sheet, bounds = grid.resolve(ss, "Sheet1!A1:D6")
    write = grid.plan_write(sheet, bounds, "Sheet1!A1:D6",
                            [["x", None], [None], [], [], [], [None, None, None, "y"]], "ROWS")
    assert write.response("s") == {"spreadsheetId": "s", "updatedRange": "Sheet1!A1:D6",
                                   "updatedRows": 2, "updatedColumns": 2, "updatedCells": 2}
    with pytest.raises(errors.ApiError) as raised:
        grid.plan_write(sheet, a1.parse_cells("A1:B2"), "Sheet1!A1:B2", [["a", "b", "c"]], "ROWS")
    assert raised.value.body["error"]["message"] == (
        "Requested writing within range [Sheet1!A1:B2], but tried writing to column [C]")


@pytest.mark.parametrize("typed, stored, formatted", [
    ("0042", 42, "42"), ("= 1 / 1024", "= 1 / 1024", "0.0009765625"),
    ("2,000,000.01", 2000000.01, "2,000,000.01"), ("3_1_0", "3_1_0", "3_1_0"),
    ("12.5%", 0.125, "12.5%"), ("true", True, "TRUE"), ("'=1+1", "=1+1", "=1+1"),
    ("1999-01-02", 36162, "1999-01-02"), ("3/4/2024", 45355, "3/4/2024"),
    ("2024-03-04 19:30", 45355.8125, "2024-03-04 19:30:00"), (53, 53, "53"),
])
def test_user_entered(typed, stored, formatted):
    value, formula, number_format = cells.user_entered(typed, "en_US")
    assert value == stored
    cell = cells.with_value(None, value, formula, number_format)
    ss = _spreadsheet([])
    ss.sheets[0].put(0, 0, cell)
    effective = Evaluator(ss).value(ss.sheets[0], 0, 0)
    assert cells.render(cell, effective, "FORMATTED_VALUE", "SERIAL_NUMBER", "en_US") == formatted


def test_vietnamese_locale_input_and_output():
    assert cells.user_entered("1.234,5", "vi_VN")[0] == 1234.5
    assert cells.user_entered("03/04/2024", "vi_VN")[0] == numfmt.to_serial(
        __import__("datetime").date(2024, 4, 3))
    assert numfmt.format_general(1234.5, "vi_VN") == "1234,5"


def test_formulas():
    ss = _spreadsheet([[1, 2, "=A1+B1*2", "=SUM(A1:C1)", "='Other tab'!B1/0", "=NOPE(1)",
                        '=IF(A1>0,"yes","no")&"!"', "=C1"]])
    evaluator = Evaluator(ss)
    sheet = ss.sheets[0]
    assert [evaluator.value(sheet, 0, c) for c in range(8)] == [
        1, 2, 5, 8, ErrorValue("#DIV/0!"), ErrorValue("#NAME?"), "yes!", 5]
    sheet.put(1, 0, cells.with_value(None, "=A2", True))
    assert evaluator.value(sheet, 1, 0) == ErrorValue("#REF!")


def test_hyperlink_formulas():
    """HYPERLINK(url; [label]) shows its label (the url without one) and carries the link
    (CellData.hyperlink); arguments separated by ";" or ","; a url with no protocol gets
    http:// (Google's HYPERLINK help), "#..." stays a place in this spreadsheet."""
    ss = _spreadsheet([['=HYPERLINK("#gid=5&range=A3";"Dòng ""3""")',
                        '=HYPERLINK("https://x.vn/a", "x")', '=HYPERLINK("x.vn")',
                        '=HYPERLINK("#gid=1";"")', '=HYPERLINK()']])
    evaluator = Evaluator(ss)
    sheet = ss.sheets[0]
    got = [evaluator.value(sheet, 0, c) for c in range(5)]
    assert got[:4] == ['Dòng "3"', "x", "x.vn", ""]
    assert [getattr(v, "uri", None) for v in got[:4]] == [
        "#gid=5&range=A3", "https://x.vn/a", "http://x.vn", "#gid=1"]
    assert got[4] == ErrorValue("#N/A")
    cell = metadata._cell_data(ss, sheet, 0, 0, evaluator)
    assert cell["effectiveValue"] == {"stringValue": 'Dòng "3"'}
    assert cell["hyperlink"] == "#gid=5&range=A3"
    assert cell["userEnteredValue"] == {
        "formulaValue": '=HYPERLINK("#gid=5&range=A3";"Dòng ""3""")'}
    assert "hyperlink" not in metadata._cell_data(ss, ss.sheets[1], 0, 0, evaluator)


def test_fieldmask():
    assert fieldmask.parse("sheets(properties,protectedRanges),sheets.data/rowData") == {
        "sheets": {"properties": None, "protectedRanges": None, "data": {"rowData": None}}}
    assert fieldmask.paths("gridProperties/rowCount,gridProperties(columnCount)") == [
        ["gridProperties", "rowCount"], ["gridProperties", "columnCount"]]
    value = {"sheets": [{"properties": {"title": "a", "index": 0}}], "spreadsheetId": "x"}
    assert fieldmask.apply(value, fieldmask.parse("sheets.properties.tabColorStyle")) == {
        "sheets": [{"properties": {}}]}
    assert fieldmask.apply(value, fieldmask.parse("namedRanges")) == {}
    with pytest.raises(fieldmask.MaskSyntaxError):
        fieldmask.parse("a(b")


def test_drive_query():
    files = [{"name": "A", "mimeType": "x", "parents": ["f1"], "trashed": False},
             {"name": "B's", "mimeType": "y", "parents": ["f2"], "trashed": True}]
    match = driveq.parse("'f1' in parents and mimeType = 'x' and trashed=false")
    assert [f["name"] for f in files if match(f)] == ["A"]
    match = driveq.parse('parents in "f2" or (name contains \'a\' and not trashed = true)')
    assert [f["name"] for f in files if match(f)] == ["A", "B's"]
    assert driveq.parse("name = 'B\\'s'")(files[1])
    with pytest.raises(driveq.QuerySyntaxError):
        driveq.parse("owner = 'x'")


def test_structural_shifts_and_errors():
    ss = _spreadsheet([["h"], ["r1"], ["r2"]])
    batch = BatchUpdate(ss, random.Random(2), "me@example.com")
    batch.run([{"addProtectedRange": {"protectedRange": {"range": {
        "sheetId": 0, "startRowIndex": 1, "endRowIndex": 3}}}}])
    batch.run([{"insertDimension": {"range": {"sheetId": 0, "dimension": "ROWS",
                                              "startIndex": 1, "endIndex": 3}}}])
    assert ss.sheets[0].protected_ranges[0]["range"]["startRowIndex"] == 3
    batch.run([{"deleteDimension": {"range": {"sheetId": 0, "dimension": "ROWS",
                                              "startIndex": 3, "endIndex": 5}}}])
    assert ss.sheets[0].protected_ranges == []
    with pytest.raises(errors.ApiError) as raised:
        batch.run([{"updateSheetProperties": {"properties": {"sheetId": s.sheet_id,
                                                             "hidden": True}, "fields": "hidden"}}
                   for s in ss.sheets])
    assert raised.value.body["error"]["message"] == (
        "Invalid requests[1].updateSheetProperties: You can't hide all the sheets in a document.")
    with pytest.raises(errors.ApiError) as raised:
        batch.run([{"mergeCells": {"range": {"sheetId": 0}}, "addSheet": {}}])
    assert "Oneof field 'kind' is already set" in raised.value.body["error"]["message"]
    with pytest.raises(errors.ApiError) as raised:
        batch.run([{"addBanding": {}}])
    assert "not supported by the sheets-sync emulator" in raised.value.body["error"]["message"]


def test_append_table_detection():
    from sheets_sync_emulator.values_api import find_table

    ss = _spreadsheet([["x", "", "z"]])
    sheet = ss.sheets[0]
    assert find_table(sheet, sheet.whole()) == a1.Box(0, 2, 1, 3)
    assert find_table(sheet, a1.Box(0, 0, 1, 1)) == a1.Box(0, 0, 1, 1)
    assert find_table(sheet, a1.Box(1, 0, 2, 1)) is None


def test_edits():
    ss = _spreadsheet([["h"], ["r1"]])
    edits.apply(ss, "Sheet1", {"op": "append_rows", "values": [["r2", "5"]]})
    edits.apply(ss, "Sheet1", {"op": "insert_rows", "index": 1, "count": 2})
    edits.apply(ss, "Sheet1", {"op": "delete_rows", "index": 1})
    edits.apply(ss, "Sheet1", {"op": "set", "range": "B1", "values": [["=1+1"]]})
    assert [[c.value if c else None for c in row] for row in ss.sheets[0].rows] == [
        ["h", "=1+1"], [], ["r1"], ["r2", 5]]
    with pytest.raises(ValueError, match="needs 'index'"):
        edits.apply(ss, "Sheet1", {"op": "delete_rows"})


def test_quota_windows():
    now = [0.0]
    quota = Quota(2, None, 10.0, lambda: now[0])
    assert [quota.admit("a", "read") for _ in range(3)] == [None, None, 10.0]
    assert quota.admit("b", "read") is None and quota.admit("a", "write") is None
    now[0] = 12.5
    assert quota.admit("a", "read") is None


@pytest.mark.parametrize("request_body", [
    {"range": {"sheetId": 0, "startColumnIndex": 1, "endColumnIndex": 3}, "cell": {},
     "fields": "userEnteredFormat.numberFormat"},
    {"range": {"sheetId": 0}, "fields": "userEnteredFormat(wrapStrategy,verticalAlignment)",
     "cell": {"userEnteredFormat": {"wrapStrategy": "WRAP", "verticalAlignment": "TOP"}}},
    {"range": {"sheetId": 0, "startRowIndex": 1, "endRowIndex": 4}, "fields": "userEnteredValue",
     "cell": {"userEnteredValue": {"stringValue": "x"}}},
])
def test_repeat_cell_matches_the_cell_by_cell_rule(request_body):
    """repeatCell computes an empty cell's result once: every cell of the range ends as the
    per-cell rule (``_apply_cell_data`` on each cell) makes it, and a later write to one of
    the cells that share that result changes that cell alone."""
    rows = [["h", "", "note"], [1, None, "=A2*2"], ["", "", ""], ["t", 2.5, None]]
    ss = _spreadsheet(rows, rows_count=8)
    expected = ss.clone()
    paths = fieldmask.paths(request_body["fields"])
    sheet = expected.sheets[0]
    box = sheet.grid_box(request_body["range"])
    for r in range(box.row0, box.row1):
        for c in range(box.col0, box.col1):
            new = BatchUpdate._apply_cell_data(sheet.cell(r, c), request_body["cell"], paths)
            sheet.put(r, c, None if new.blank else new)
    BatchUpdate(ss, random.Random(2), "me@example.com").run([{"repeatCell": request_body}])
    assert ss.sheets[0].rows == expected.sheets[0].rows
    BatchUpdate(ss, random.Random(2), "me@example.com").run([{"updateCells": {
        "start": {"sheetId": 0, "rowIndex": 6, "columnIndex": 1},
        "rows": [{"values": [{"userEnteredValue": {"stringValue": "only here"}}]}],
        "fields": "userEnteredValue"}}])
    assert ss.sheets[0].cell(6, 1).value == "only here"
    assert all(ss.sheets[0].cell(r, c) == expected.sheets[0].cell(r, c)
               for r in range(8) for c in range(3) if (r, c) != (6, 1))


def _json_numbers_reference(value):
    """json_numbers as it was written first (every node through isinstance checks)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2 ** 53:
        return int(value)
    if isinstance(value, dict):
        return {k: _json_numbers_reference(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_numbers_reference(v) for v in value]
    return value


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3)
    | st.floats(allow_nan=False) | st.sampled_from([2.0, -0.0, 2.0 ** 53, 1e300, 0.5]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner,
                                                                max_size=4), max_leaves=30)


@given(_JSON)
def test_json_numbers_matches_the_reference(value):
    got, want = proto.json_numbers(value), _json_numbers_reference(value)
    assert got == want
    assert repr(got) == repr(want)  # same types (2 not 2.0, True not 1)


def test_grid_read_prints_the_same_numbers_as_the_full_render():
    """The read the tool sends (``spreadsheets.get`` with the values-only mask) is printed
    without walking its grid again: rowData made with Google-printed numbers, the rest printed
    by ``json_numbers``. It reads back as printing the whole answer with the first
    ``json_numbers`` would (integral doubles without ``.0``, others as they are), and its cells
    hold the effective values of the full render."""
    from urllib.parse import urlencode

    from sheets_sync_emulator.sheets_api import _get
    from sheets_sync_emulator.wire import HttpRequest, Reply

    ss = _spreadsheet([["h", "n", "x"], [1, 1.5, "=B2*2"], [2.0, 2 ** 60 * 1.0, "=1/0"],
                       [True, "2.0", "=A3+0.25"], [None, 3, "=B4"]])
    fields = ("properties(locale),sheets(properties(sheetId,title,index,gridProperties("
              "rowCount,columnCount,frozenRowCount)),data(rowData(values(effectiveValue,"
              "userEnteredValue/formulaValue)),columnMetadata/developerMetadata))")
    request = HttpRequest.parse("GET", "/v4/spreadsheets/s?" + urlencode(
        {"includeGridData": "false", "fields": fields}), {}, b"")
    fast = Reply.json(200, _get(ss, request)).body
    answer = json.loads(fast)
    assert repr(answer) == repr(_json_numbers_reference(answer))  # 2, not 2.0, throughout
    full = fieldmask.apply(metadata.render(ss, None, True), fieldmask.parse(fields))
    full_cells = [[_json_numbers_reference(cell.get("effectiveValue")) for cell in row["values"]]
                  for row in full["sheets"][0]["data"][0]["rowData"]]
    fast_cells = [[cell.get("effectiveValue") for cell in row["values"]]
                  for row in answer["sheets"][0]["data"][0]["rowData"]]
    assert fast_cells == full_cells
    assert b'"numberValue":2}' in fast and b'"numberValue":3}' in fast  # 2.0 and =B2*2
    assert b'"numberValue":1.5}' in fast and b'"numberValue":2.25}' in fast


# --- a range written in one step (Sheet.update_box) ------------------------------------------

def _cell_by_cell(sheet, box, change, empty):
    """What ``Sheet.update_box`` does, one cell at a time (the emulator's former loop)."""
    for r in range(box.row0, box.row1):
        for c in range(box.col0, box.col1):
            old = sheet.cell(r, c)
            new = empty if old is None else change(old, r - box.row0, c - box.col0)
            sheet.put(r, c, None if new is None or new.blank else new)


def _stored(rows):
    """The cells a sheet holds, without the trailing empty ones (they hold nothing)."""
    out = []
    for line in rows:
        while line and line[-1] is None:
            line = line[:-1]
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return out


_A_CELL = st.one_of(st.none(), st.builds(cells.Cell, value=st.sampled_from(["a", 1, 2.5, True])))


@given(rows=st.lists(st.lists(_A_CELL, max_size=8), max_size=8),
       corners=st.tuples(*[st.integers(0, 10)] * 4),
       empty=st.sampled_from([None, cells.Cell(), cells.Cell(format={"wrapStrategy": "WRAP"})]),
       blanks=st.booleans())
def test_a_range_written_in_one_step_equals_cell_by_cell(rows, corners, empty, blanks):
    """repeatCell over a range: stored cells changed one by one, empty ones filled in a run
    (or left empty when the new cell is blank), exactly as the cell-by-cell loop did."""
    from sheets_sync_emulator.sheet import Sheet

    r0, r1 = sorted(corners[:2])
    c0, c1 = sorted(corners[2:])
    box = a1.Box(r0, c0, r1, c1)

    def change(cell, i, j):
        return cells.Cell() if blanks else cells.Cell(value=cell.value, format={"at": [i, j]})

    props = {"sheetId": 1, "title": "T", "gridProperties": {"rowCount": 10, "columnCount": 10}}
    one, other = Sheet(props), Sheet(props)
    one.rows = [line[:] for line in rows]
    other.rows = [line[:] for line in rows]
    _cell_by_cell(one, box, change, empty)
    other.update_box(box, change, empty)
    assert _stored(other.rows) == _stored(one.rows)

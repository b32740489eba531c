"""The exported .xlsx template: tabs, headers, validations, colours, guide, atomic write."""
from __future__ import annotations

import dataclasses
from datetime import date

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from sheets_sync.core.grid import parse_unit
from sheets_sync.core.template import load_template
from sheets_sync.outputs.template_xlsx import export_template, guide_grid
from sheets_sync.sources.local_reader import read_xlsx

TEMPLATE = load_template()
UNIT = "Đảng ủy xã Nhân Thịnh"
ROWS = 40


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    path = tmp_path_factory.mktemp("export") / "mau.xlsx"
    assert export_template(path, unit_name=UNIT, rows=ROWS) == path
    return openpyxl.load_workbook(path)


def _validations(ws) -> dict[int, object]:
    """Column index (1-based) -> the data validation covering it."""
    out = {}
    for dv in ws.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            for col in range(rng.min_col, rng.max_col + 1):
                out[col] = (dv, rng)
    return out


def _a4_fit_to_width(ws) -> bool:
    setup = ws.page_setup  # fitToWidth = 1 is the default, omitted in the file
    return (setup.paperSize == 9 and ws.sheet_properties.pageSetUpPr.fitToPage
            and setup.fitToWidth in (None, 1) and setup.fitToHeight == 0)


def _column_dim(ws, col: int):
    return next(d for d in ws.column_dimensions.values() if d.min <= col <= d.max)


def _widths(ws) -> dict[int, float]:
    out = {}
    for dim in ws.column_dimensions.values():
        if dim.min and dim.width:
            for col in range(dim.min, dim.max + 1):
                out[col] = dim.width
    return out


def test_tabs_in_order(book):
    assert book.sheetnames == [TEMPLATE.guide_tab, *(t.name for t in TEMPLATE.tabs),
                               TEMPLATE.check_tab]


@pytest.mark.parametrize("tab", TEMPLATE.tabs, ids=lambda t: t.id)
def test_headers_frozen_filtered(book, tab):
    ws = book[tab.name]
    expected = [c.header for c in tab.columns] + list(TEMPLATE.tool_headers)
    assert [c.value for c in ws[1]] == expected
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:{get_column_letter(len(expected))}{ROWS + 1}"
    assert ws.print_title_rows.replace("$", "") == "1:1"
    assert ws.page_setup.orientation == "landscape"
    assert _a4_fit_to_width(ws)


@pytest.mark.parametrize("tab", TEMPLATE.tabs, ids=lambda t: t.id)
def test_required_headers_have_their_own_fill(book, tab):
    ws = book[tab.name]
    fills = {col.required is not False: ws.cell(1, i).fill.fgColor.rgb
             for i, col in enumerate(tab.columns, start=1)}
    if len(fills) == 2:
        assert fills[True] != fills[False]
    assert ws.cell(1, 1).font.name == "Times New Roman" and ws.cell(1, 1).font.bold


@pytest.mark.parametrize("tab", TEMPLATE.tabs, ids=lambda t: t.id)
def test_widths_match_template(book, tab):
    widths = _widths(book[tab.name])
    for i, col in enumerate(tab.columns, start=1):
        assert widths[i] == pytest.approx(col.width, abs=1), col.header


@pytest.mark.parametrize("tab", TEMPLATE.tabs, ids=lambda t: t.id)
def test_validations(book, tab):
    found = _validations(book[tab.name])
    expected_type = {"choice": "list", "yesno": "list", "date": "date", "int": "whole",
                     "number": "decimal"}
    for i, col in enumerate(tab.columns, start=1):
        if col.kind not in expected_type:
            continue
        dv, rng = found[i]
        assert dv.type == expected_type[col.kind], col.header
        assert (rng.min_row, rng.max_row) == (2, ROWS + 1)
        if dv.type == "list":
            labels = col.choice_labels if col.kind == "choice" else ["Có", "Không"]
            assert dv.formula1 == '"' + ",".join(labels) + '"'
            assert dv.errorStyle == "warning"
        if col.input:
            assert dv.prompt.startswith(col.input[:40])
        for text, limit in ((dv.promptTitle, 32), (dv.errorTitle, 32), (dv.prompt, 255),
                            (dv.error, 255)):
            assert text is None or len(text) <= limit


def test_int_bounds_and_date_range(book):
    found = _validations(book[TEMPLATE.tab("meetings").name])
    cols = {c.id: i for i, c in enumerate(TEMPLATE.tab("meetings").columns, start=1)}
    duration, _ = found[cols["duration"]]
    # "between" is the default operator, omitted in the file
    assert (duration.operator, duration.formula1, duration.formula2) == (None, "0", "600")
    present, _ = found[cols["present"]]
    assert (present.operator, present.formula1) == ("greaterThanOrEqual", "0")
    day, _ = found[cols["meeting_date"]]
    assert day.operator is None and day.type == "date" and day.errorStyle == "warning"


def test_column_formats(book):
    tab = TEMPLATE.tab("meetings")
    ws = book[tab.name]
    cols = {c.id: i for i, c in enumerate(tab.columns, start=1)}
    formats = {c: _column_dim(ws, cols[c]).number_format for c in cols}
    assert formats["cell_code"] == "@" and formats["month"] == "@"
    assert formats["meeting_date"] == "dd/mm/yyyy" and formats["start_time"] == "hh:mm"


def test_tool_columns(book):
    tab = TEMPLATE.tab("meetings")
    ws = book[tab.name]
    status, details = len(tab.columns) + 1, len(tab.columns) + 2
    for c in (status, details):
        assert "không sửa" in ws.cell(1, c).comment.text
    letter = get_column_letter(status)
    rules = [(str(cf.sqref), rule) for cf in ws.conditional_formatting for rule in cf.rules]
    marks = {label.split()[0] for label in TEMPLATE.status_labels.values()}
    assert {rule.text for sqref, rule in rules if sqref.startswith(f"{letter}2:")} == marks
    assert all(rule.type == "beginsWith" for _, rule in rules)
    check_rules = [r for cf in book[TEMPLATE.check_tab].conditional_formatting for r in cf.rules]
    assert {r.text for r in check_rules} == marks


def test_guide(book):
    ws = book[TEMPLATE.guide_tab]
    texts = [c.value for row in ws.iter_rows() for c in row if c.value]
    assert texts[0] == f"{TEMPLATE.guide_title} — {UNIT}"
    for line in TEMPLATE.guide_lines:
        if line:
            assert line in texts
    for tab in TEMPLATE.tabs:
        assert tab.name in texts and tab.description in texts
        for col in tab.columns:
            assert col.header in texts
    assert "chọn: Tốt, Khá, Trung bình, Kém" in texts
    assert {"ngày (ngày/tháng/năm)", "tháng (MM/YYYY)", "Có/Không", "giờ (hh:mm)", "mã",
            "chữ"} <= set(texts)
    assert ws.page_setup.orientation == "portrait" and _a4_fit_to_width(ws)


def test_properties(book):
    props = book.properties
    assert UNIT in props.title
    assert props.subject == "Sinh hoạt chi bộ" and props.creator == "sheets-sync"


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path):
    target = tmp_path / "mau.xlsx"
    target.write_bytes(b"old")
    export_template(target, rows=5)
    assert [p.name for p in tmp_path.iterdir()] == ["mau.xlsx"]
    wb = openpyxl.load_workbook(target)
    assert wb[TEMPLATE.guide_tab]["A1"].value == TEMPLATE.guide_title


def test_bad_rows(tmp_path):
    with pytest.raises(ValueError):
        export_template(tmp_path / "x.xlsx", rows=0)
    assert not list(tmp_path.iterdir())


def test_guide_grid_is_the_guide_tab_text(book):
    """guide_grid() gives exactly the tab's text, so a write-back can compare against it."""
    ws = book[TEMPLATE.guide_tab]
    shown = [["" if v is None else v for v in row] for row in ws.iter_rows(values_only=True)]
    expected = guide_grid(TEMPLATE, UNIT)
    assert [row[:len(exp)] for row, exp in zip(shown, expected)] == expected
    assert all(not any(row[len(exp):]) for row, exp in zip(shown, expected))
    assert len(shown) == len(expected)


def test_long_texts_are_clipped_to_excel_limits(tmp_path):
    tab = TEMPLATE.tab("cells")
    long_col = dataclasses.replace(tab.columns[0], header="Mã chi bộ " + "rất dài " * 8,
                                   input="Hướng dẫn nhập " * 40)
    tabs = tuple(dataclasses.replace(t, columns=(long_col, *t.columns[1:])) if t is tab else t
                 for t in TEMPLATE.tabs)
    path = export_template(tmp_path / "mau.xlsx", dataclasses.replace(TEMPLATE, tabs=tabs),
                           rows=3)
    ws = openpyxl.load_workbook(path)[tab.name]
    assert ws["A1"].value == long_col.header
    dv, _ = _validations(ws)[1]
    assert len(dv.promptTitle) <= 32 and len(dv.prompt) <= 255 and dv.prompt.endswith("…")


def test_the_reader_accepts_the_exported_workbook(tmp_path):
    path = export_template(tmp_path / "mau.xlsx", unit_name=UNIT, rows=5)
    data = parse_unit(TEMPLATE, read_xlsx(path), "NT", UNIT, date(2026, 11, 25))
    assert data.findings == [] and not data.missing_tabs
    assert set(data.tabs) == {t.id for t in TEMPLATE.tabs}

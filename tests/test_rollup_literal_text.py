"""Text that looks like rich-text XML is written as text (``LiteralTextWorksheet``).

xlsxwriter writes any string that starts with ``<r>`` and ends with ``</r>`` unescaped, as
rich-text XML: a name typed in a sheet could otherwise add a formula or change other cells of
the roll-up."""
from __future__ import annotations

import dataclasses
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from benchmarks.synthetic import SIZES, dataset
from sheets_sync.core.checker import UnitRead, evaluate
from sheets_sync.core.findings import OK, UnitResult
from sheets_sync.core.grid import parse_unit
from sheets_sync.core.template import load_template
from sheets_sync.outputs.rollup import build_rollup
from sheets_sync.outputs.rollup.layout import Styles, Writer
from sheets_sync.outputs.rollup.literal_text import LiteralTextWorksheet, as_one_run
from sheets_sync.outputs.rollup.streamed import StreamedWorksheet

EVIL = '<r><t>a</t></r></si><si><t>b</t></si><r><t>c</t></r>'  # shared strings: one more
EVIL_INLINE = '<r><t>a</t></r></is></c><c r="B9"><f>HYPERLINK("http://x")</f></c><c><is><r></r>'
TEXTS = [EVIL, EVIL_INLINE, "<r></r>", "<r>\x01 & _x0041_ </r>", "<r>" + "é" * 40000 + "</r>"]


def _xml(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        return "".join(z.read(n).decode() for n in z.namelist() if n.endswith(".xml"))


@pytest.mark.parametrize("sheet_class", [LiteralTextWorksheet, StreamedWorksheet])
@pytest.mark.parametrize("constant_memory", [False, True])
def test_rich_looking_text_is_read_back_as_the_text(tmp_path, sheet_class, constant_memory):
    path = tmp_path / "t.xlsx"
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": constant_memory,
                                         "strings_to_formulas": False})
    ws = wb.add_worksheet("S", worksheet_class=sheet_class)
    w = Writer(ws, Styles(wb))
    for r, text in enumerate(TEXTS):
        w.text(r, 0, text, w.st.text())          # with a format
        ws.write_string(r, 1, text)               # without one (xlsxwriter's own path)
        ws.write_url(r, 2, "https://example.org/", string=text)  # a link's label
        ws.write_string(r, 3, "x" + text)  # not rich-looking: plain text as xlsxwriter writes it
    wb.close()
    assert "<f>" not in _xml(path)
    got = openpyxl.load_workbook(path)["S"]
    for r, text in enumerate(TEXTS, start=1):
        want = got.cell(r, 4).value[1:]  # as the same characters in any other text
        if len(text) > 32767:
            assert got.cell(r, 1).value == want[:32766] + "…"  # clip
            assert want.startswith(got.cell(r, 2).value[:32000])
            continue
        assert [got.cell(r, c).value for c in (1, 2, 3)] == [want] * 3, r
    assert got.max_row == len(TEXTS)


def test_a_run_never_exceeds_excels_cell_limit():
    run = as_one_run("<r>" + "<" * 40000 + "</r>", 32767)
    assert len(run) <= 32767 and run.endswith("</t></r>") and "&lt;" in run


def test_a_unit_name_shaped_like_rich_text_reaches_the_rollup_as_text(tmp_path):
    template = load_template()
    config, units = dataset(SIZES["small"])
    config = dataclasses.replace(config, units=[
        dataclasses.replace(u, name=EVIL if k == 0 else u.name)
        for k, u in enumerate(config.units)])
    as_of = date(2027, 1, 15)
    reads = []
    for (_unit, raw), named in zip(units, config.units):
        reads.append(UnitRead(named, UnitResult(named.code, named.name, OK),
                              parse_unit(template, raw, named.code, named.name, as_of), raw))
    report = evaluate(config, reads, as_of, 2026)
    path = build_rollup(config, report, reads, {}, tmp_path / "tong-hop.xlsx")
    assert "<f>" not in _xml(path).replace("<f>SUM", "")  # no formula but the summary's own
    names = {c.value for ws in openpyxl.load_workbook(path).worksheets
             for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    assert EVIL in names
    assert "b" not in names  # no extra string made of its XML

"""The package editor's row scan (``xlsx_patch.SheetDoc``): the unprefixed patterns it uses
when no element prefix can occur in the rows find exactly what the general patterns (any
prefix) find — the occupied columns, and the refusal of a cell without address —
on the tool's own workbooks, LibreOffice's, openpyxl's and hand-made prefixed parts."""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

from sheets_sync.sources.xlsx_patch import MAIN_NS, PackageError, SheetDoc, col_number
from xlsx_fixtures import LO_UNIT, unit_with_objects


def _general_scan(data: bytes) -> set[int] | str:
    """The occupied columns as the general patterns find them (the editor's
    patterns before the unprefixed ones), or "refused" for a cell without address."""
    sd = re.search(rb"<((?:[\w.-]+:)?)sheetData\b[^>]*?(/?)>", data)
    assert sd is not None
    if sd.group(2):
        return set()
    body = data[sd.end():data.find(b"</" + sd.group(1) + b"sheetData>", sd.end())]
    cell_tags = len(re.findall(rb"<(?:[\w.-]+:)?c\b", body))
    with_ref = re.findall(rb"<(?:[\w.-]+:)?c\b[^>]*?\sr=\"([A-Za-z]{1,3})\d+\"", body)
    if len(with_ref) != cell_tags:
        return "refused"
    full = rb"<(?:[\w.-]+:)?c\b[^>]*?\sr=\"([A-Za-z]{1,3})\d+\"[^>]*(?<!/)>\s*<(?:[\w.-]+:)?"
    return {col_number(c.decode()) for c in set(re.findall(full + rb"(?:v|f|is)\b", body))}


def _scan(data: bytes) -> set[int] | str:
    try:
        doc = SheetDoc(data, "xl/worksheets/sheet1.xml")
    except PackageError as e:
        assert "địa chỉ" in str(e)
        return "refused"
    return doc.occupied


def _part(rows: str, prefix: str = "") -> bytes:
    p = f"{prefix}:" if prefix else ""
    ns = f' xmlns:{prefix}="{MAIN_NS}"' if prefix else f' xmlns="{MAIN_NS}"'
    return (f'<?xml version="1.0" encoding="UTF-8"?><{p}worksheet{ns}><{p}sheetData>{rows}'
            f"</{p}sheetData></{p}worksheet>").encode()


HAND_MADE = [
    _part('<row r="1"><c r="A1" t="s"><v>0</v></c><c r="C1"><f>A1*2</f><v>4</v></c>'
          '<c r="E1" s="2"/></row><row r="3"><c r="B3" t="inlineStr"><is><t>x:c y</t></is></c>'
          "</row>"),
    _part('<x:row r="1"><x:c r="A1" t="s"><x:v>0</x:v></x:c><x:c r="D1"><x:f>1+1</x:f>'
          '<x:v>2</x:v></x:c></x:row><x:row r="2"><x:c r="B2" t="inlineStr"><x:is><x:t>a</x:t>'
          "</x:is></x:c></x:row>", prefix="x"),
    _part('<row r="1"><c r="A1"><v>1</v></c><c t="s"><v>0</v></c></row>'),  # no address
    _part('<row r="1"><c r="A1"><v>1</v></c></row><row r="2"><c r="B2" t="inlineStr"><is>'
          "<t>Ghi chú:f và :v, :is</t></is></c><c r=\"G2\"> <f>B2</f></c></row>"),
    _part('<row r="1"><c r="AB1" t="str"><f t="shared" ref="AB1:AB2" si="0">A1</f><v>x</v>'
          '</c></row><row r="2"><c r="AB2"><f t="shared" si="0"/></c></row>'),
]


def _workbook_parts(tmp_path: Path) -> list[bytes]:
    """The worksheet parts of LibreOffice's fixture, a workbook with objects and one saved by
    openpyxl."""
    books = [LO_UNIT, unit_with_objects(tmp_path / "objects.xlsx")]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Mã chi bộ", "Ghi chú: có", 3, "=C1*2"])
    ws.append([None, "x:c", None, None, 7])
    books.append(tmp_path / "openpyxl.xlsx")
    wb.save(books[-1])
    parts = []
    for book in books:
        with zipfile.ZipFile(book) as zf:
            parts += [zf.read(n) for n in zf.namelist() if n.startswith("xl/worksheets/sheet")]
    return parts


def test_the_row_scan_finds_what_the_general_patterns_find(tmp_path):
    parts = HAND_MADE + _workbook_parts(tmp_path)
    results = [_scan(data) for data in parts]
    assert results == [_general_scan(data) for data in parts]
    assert "refused" in results


@pytest.mark.parametrize("data", HAND_MADE[:2])
def test_prefixed_and_plain_parts_give_their_columns(data):
    # a formula's column is occupied; a cell with a style only (E1) is not
    assert _scan(data) == ({1, 2, 3} if b"<x:" not in data else {1, 2, 4})

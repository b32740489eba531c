"""Bounded work when reading local workbooks (issue 12 item 8): only regular files, cell text
capped at Excel's 32,767 characters while reading (shared strings streamed), the size caps
counted in staff cells (the tool's own columns never push a tab over), sheets that are not
template tabs kept only within their own small budget."""
from __future__ import annotations

import os
import tracemalloc
from datetime import date

import openpyxl
import pytest

from helpers import TEMPLATE
from sheets_sync.core.errors import UnitReadError
from sheets_sync.core.grid import parse_unit
from sheets_sync.sources import local_reader as local
from sheets_sync.sources.local_reader import MAX_CELL_CHARS, _capped_strings, read_xlsx

MEETINGS = TEMPLATE.tab("meetings")
HEADERS = [c.header for c in MEETINGS.columns]


def _meetings_book(path, n_rows: int, tool: bool = False, extra_sheets: int = 0,
                   extra_rows: int = 0) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = MEETINGS.name
    ws.append(HEADERS + (list(TEMPLATE.tool_headers) if tool else []))
    for i in range(n_rows):
        row = [f"CB{i % 30:02d}", f"{i % 12 + 1:02d}/2026"] + [None] * (len(HEADERS) - 2)
        ws.append(row + (["Lỗi: thiếu ngày", "x"] if tool else []))
    for k in range(extra_sheets):
        other = wb.create_sheet(f"Nháp {k}")
        for i in range(extra_rows):
            other.append([i, "ghi chú", None, 3])
    wb.save(path)


class _HugeStrings:
    """A sharedStrings.xml part streamed from a generator: one short string, one of
    ``chars`` characters in many <t> chunks of a rich-text run, one after it."""

    def __init__(self, chars: int):
        head = ('<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.'
                'org/spreadsheetml/2006/main"><si><t>Chi bộ 1</t></si><si><r><t>')
        chunk = "đ" * 65536
        self._parts = iter([head.encode(), *([chunk.encode()] * (chars // 65536)),
                            b"</t></r><r><t>tail</t></r><rPh><t>PHONETIC</t></rPh></si>",
                            "<si><t>sau x005F_đó</t></si></sst>".encode()])
        self._buf = b""

    def read(self, n: int = -1) -> bytes:
        while len(self._buf) < max(n, 1):
            try:
                self._buf += next(self._parts)
            except StopIteration:
                break
        out, self._buf = (self._buf, b"") if n < 0 else (self._buf[:n], self._buf[n:])
        return out


def test_a_huge_shared_string_is_capped_while_streaming():
    tracemalloc.start()
    try:
        strings = _capped_strings(_HugeStrings(64 * 2**20))  # 64 M characters (128 MB UTF-8)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert strings[0] == "Chi bộ 1"
    assert len(strings[1]) == MAX_CELL_CHARS == 32_767 and set(strings[1]) == {"đ"}
    assert strings[2] == "sau đó"  # openpyxl's x005F_ handling kept
    assert peak < 8 * 2**20  # never near the string's size


def test_long_text_in_a_workbook_is_cut_at_32767_characters(tmp_path):
    path = tmp_path / "dai.xlsx"
    _meetings_book(path, 2)
    wb = openpyxl.load_workbook(path)
    wb.active["D2"] = "Chủ đề " * 10_000  # 70,000 characters, a shared string
    wb.save(path)
    raw = read_xlsx(path)
    assert len(raw.sheets[0].rows[1][3]) == MAX_CELL_CHARS
    assert raw.sheets[0].rows[1][3].startswith("Chủ đề Chủ đề")


@pytest.mark.parametrize("kind", ["fifo", "dir", "device"])
def test_only_regular_files_are_opened(tmp_path, kind):
    if kind == "fifo":
        path = tmp_path / "ong.xlsx"
        os.mkfifo(path)  # opening it for reading would block forever
    elif kind == "dir":
        path = tmp_path / "thu-muc.xlsx"
        path.mkdir()
    else:
        path = "/dev/zero"  # reading it never ends
    with pytest.raises(UnitReadError) as err:
        read_xlsx(path)
    assert "không phải tệp .xlsx" in str(err.value) and "tệp cấu hình" in str(err.value)
    assert local.LocalBackend().version(type("U", (), {"path": path})()) is None


def test_the_cap_counts_staff_cells_only(tmp_path, monkeypatch):
    """A tab just under the cap stays under it once the tool adds its two columns."""
    width = len(HEADERS)
    monkeypatch.setattr(local, "MAX_SHEET_CELLS", width * 101 + 1)
    plain, tooled = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    _meetings_book(plain, 100)
    _meetings_book(tooled, 100, tool=True)
    assert "truncated" not in read_xlsx(plain).meta
    raw = read_xlsx(tooled)
    assert "truncated" not in raw.meta
    assert len(raw.sheets[0].rows) == 101
    # over the cap in staff cells: cut, and the parser says where
    monkeypatch.setattr(local, "MAX_SHEET_CELLS", width * 51)
    raw = read_xlsx(tooled)
    assert raw.meta["truncated"] == {MEETINGS.name: 51}
    unit = parse_unit(TEMPLATE, raw, "NT", "NT", date(2026, 12, 31))
    assert any("quá lớn" in f.message for f in unit.findings)


def test_other_sheets_are_kept_within_their_own_budget(tmp_path, monkeypatch):
    """Thirty large sheets that are not template tabs do not make reading slow: they are kept
    only up to MAX_OTHER_CELLS in all; the template tab is read in full whatever their size."""
    monkeypatch.setattr(local, "MAX_OTHER_CELLS", 4 * 250)
    path = tmp_path / "nhieu-tab.xlsx"
    _meetings_book(path, 20, extra_sheets=30, extra_rows=100)
    raw = read_xlsx(path)
    assert len(raw.sheets) == 31 and len(raw.sheets[0].rows) == 21
    assert "truncated" not in raw.meta  # the checked tab is whole: writing stays allowed
    kept = sum(len(s.rows) for s in raw.sheets[1:])
    assert kept == 250
    assert raw.meta["others_cut"]["Nháp 2"] == 50
    assert raw.meta["others_cut"]["Nháp 29"] == 0


def test_the_tools_own_tabs_are_read_whole_outside_the_other_sheets_budget(tmp_path,
                                                                          monkeypatch):
    """Kiểm tra and Hướng dẫn are compared with what `run` would write: cut by the budget of
    the other sheets, they would be rewritten on every run. They have their own cap."""
    monkeypatch.setattr(local, "MAX_OTHER_CELLS", 4 * 250)
    path = tmp_path / "cong-cu.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = MEETINGS.name
    wb.active.append(HEADERS)
    for title in ("Nháp", TEMPLATE.check_tab, TEMPLATE.guide_tab):
        ws = wb.create_sheet(title)
        for i in range(400):
            ws.append([f"dòng {i}", i, None, "x"])
    wb.save(path)
    raw = read_xlsx(path)
    assert [len(s.rows) for s in raw.sheets] == [1, 250, 400, 400]
    assert raw.meta["others_cut"] == {"Nháp": 250}
    monkeypatch.setattr(local, "MAX_TOOL_TAB_CELLS", 4 * 100)
    raw = read_xlsx(path)
    assert raw.meta["others_cut"] == {"Nháp": 250, TEMPLATE.check_tab: 100,
                                      TEMPLATE.guide_tab: 100}


def test_the_default_caps_fit_the_largest_realistic_unit():
    """1,500 members × 12 months × 3 years of attendance; 43,000 meeting rows (5 years of a
    merged commune) with every template column and two staff columns."""
    attendance = 1500 * 12 * 3 * (len(TEMPLATE.tab("attendance").columns) + 2)
    meetings = 43_000 * (len(HEADERS) + 2)
    assert meetings < local.MAX_SHEET_CELLS and attendance < local.MAX_SHEET_CELLS
    assert meetings + attendance + 100_000 < local.MAX_WORKBOOK_CELLS

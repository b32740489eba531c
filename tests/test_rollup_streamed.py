"""The streamed roll-up (``StreamedWorksheet``, used above ``STREAM_THRESHOLD`` findings) writes
the workbook xlsxwriter writes: on the synthetic province (100 units, 3,000 cells), every part
of the package is byte for byte xlsxwriter's own ``constant_memory`` output, and the workbook
opens cell by cell like the normal (shared strings) one: values, types, number formats,
fonts, fills, borders, alignment, merged ranges and row heights on every sheet. (One
difference from xlsxwriter's ``constant_memory`` output: xlsxwriter leaves out rows that have
a height but no cells, the two spacer rows of `Tổng hợp`; the streamed sheet writes them as
the normal workbook does.)"""
from __future__ import annotations

import csv
import functools
import random
import tempfile
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path
from unittest import mock

import openpyxl
import pytest
import xlsxwriter
from xlsxwriter.exceptions import OverlappingRange

from benchmarks.synthetic import AS_OF, YEAR
from helpers import synthetic_reads
from sheets_sync.core.checker import evaluate
from sheets_sync.core.csvtext import csv_safe
from sheets_sync.core.errors import SheetsSyncError
from sheets_sync.core.findings import (
    ERROR,
    INFO,
    SEVERITY_ORDER,
    WARNING,
    Finding,
)
from sheets_sync.outputs.rollup import (
    SHEETS,
    build_rollup,
    csv_path,
    streamed,
    threaded,
    violations,
)
from sheets_sync.outputs.rollup import build as build_mod
from sheets_sync.outputs.rollup.layout import Styles, Writer, clip
from sheets_sync.outputs.rollup.model import build_model
from sheets_sync.outputs.rollup.streamed import StreamedWorksheet

RUN_INFO = {"started": "2027-01-20T08:00:00", "finished": "2027-01-20T08:01:00"}


@pytest.fixture(scope="module")
def province(tmp_path_factory) -> dict[str, Path]:
    """The province roll-up written three ways: normal, streamed by xlsxwriter, streamed by
    ``StreamedWorksheet``."""
    config, reads = synthetic_reads("province")
    report = evaluate(config, reads, AS_OF, YEAR)
    model = build_model(config, report, reads)
    out = {}
    for name, threshold, fast in (("normal", 10**9, True),
                                  ("xlsxwriter", 0, False), ("streamed", 0, True)):
        path = tmp_path_factory.mktemp(name) / "tong-hop.xlsx"
        with mock.patch.object(build_mod, "STREAM_THRESHOLD", threshold), \
                mock.patch.object(build_mod, "FAST_STREAMING", fast):
            build_rollup(config, report, reads, RUN_INFO, path, model=model)
        out[name] = path
    return out


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


def test_streamed_package_is_xlsxwriters_byte_for_byte(province):
    ours, theirs = parts(province["streamed"]), parts(province["xlsxwriter"])
    assert list(ours) == list(theirs)
    summary = "xl/worksheets/sheet1.xml"  # Tổng hợp: its spacer rows, which xlsxwriter drops
    spacers = [b'<row r="5" ht="8.25" customHeight="1"/>',
               b'<row r="8" ht="8.25" customHeight="1"/>']
    assert all(ours[summary].count(spacer) == 1 for spacer in spacers)
    assert ours[summary].replace(spacers[0], b"").replace(spacers[1], b"") == theirs[summary]
    for name in theirs:
        if name != summary:
            assert ours[name] == theirs[name], name
    sheet = ours["xl/worksheets/sheet4.xml"]  # Ma trận, inline strings
    assert sheet.count(b't="inlineStr"') > 3000 * 12
    assert csv_path(province["streamed"]).read_bytes() == \
        csv_path(province["normal"]).read_bytes()


def _cell(c) -> tuple:
    font, fill, border, align = c.font, c.fill, c.border, c.alignment
    return (c.value, c.data_type, c.number_format,
            (font.name, font.sz, font.b, font.i, font.u, font.color and font.color.rgb),
            (fill.fill_type, fill.fgColor.rgb, fill.bgColor.rgb),
            tuple((s.style, s.color and s.color.rgb)
                  for s in (border.left, border.right, border.top, border.bottom)),
            (align.horizontal, align.vertical, align.wrap_text, align.indent))


def test_streamed_workbook_opens_like_the_normal_one_cell_by_cell(province):
    normal = openpyxl.load_workbook(province["normal"])
    streamed = openpyxl.load_workbook(province["streamed"])
    assert normal.sheetnames == streamed.sheetnames == list(SHEETS)
    compared = 0
    for name in SHEETS:
        a, b = normal[name], streamed[name]
        assert a.dimensions == b.dimensions, name
        assert sorted(map(str, a.merged_cells.ranges)) == \
            sorted(map(str, b.merged_cells.ranges)), name
        assert {r: d.height for r, d in a.row_dimensions.items() if d.height} == \
            {r: d.height for r, d in b.row_dimensions.items() if d.height}, name
        for row_a, row_b in zip(a.iter_rows(), b.iter_rows(), strict=True):
            for ca, cb in zip(row_a, row_b, strict=True):
                assert _cell(ca) == _cell(cb), (name, ca.coordinate)
                compared += 1
    assert compared > 3000 * 15 * 2  # the matrix and the annual ratings at least


def _sheet_xml(path: Path, write) -> str:
    """Sheet 1 of a one-sheet constant_memory workbook written by ``write(ws, writer)``."""
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True,
                                         "strings_to_formulas": False})
    ws = wb.add_worksheet("S", worksheet_class=StreamedWorksheet if "ours" in path.name
                          else None)
    write(ws, Writer(ws, Styles(wb)))
    wb.close()
    return parts(path)["xl/worksheets/sheet1.xml"].decode()


TEXTS = ["a\x01b", "_x0041_ literal", " leading space", "trailing space ", "a & b < c > d",
         '"quoted"', "Nguyễn Văn Ánh", "=1+1", "x" * 40000, "", None, "\x0bvertical tab",
         "form feed\x0c", "\x1f", "a\ufffe\uffffb", "_x00zz_ _X0041_ _x004_", "&", "\ttab\n"]


def test_every_kind_of_text_and_number_as_xlsxwriter_writes_it(tmp_path):
    def write(ws, w: Writer) -> None:
        fmt = w.st.text()
        for r, text in enumerate(TEXTS):
            w.text(r, 0, text, fmt)
            w.num(r, 1, [0, -2, 1.5, 1e-20, 12345678901234567890, 0.1 + 0.2, None][r % 7],
                  fmt)
        w.row(len(TEXTS), 20, [(t, fmt) for t in TEXTS] + [(3, fmt), (2.5, None), ("", None)])
        # the same numbers as int and float (1 == 1.0, 0 == -0.0), an int repeated
        w.row(len(TEXTS) + 2, None, [(0, fmt), (-0.0, fmt), (1, fmt), (1.0, fmt), (0, fmt),
                                     (10**17, fmt), (1e17, fmt), (-7, w.st.num())])
        w.merge(len(TEXTS) + 1, 0, 4, "gộp", fmt)

    assert _sheet_xml(tmp_path / "ours.xlsx", write) == _sheet_xml(tmp_path / "x.xlsx", write)
    got = openpyxl.load_workbook(tmp_path / "ours.xlsx")["S"]
    assert got.cell(1, 1).value == "a_x0001_b"  # Excel's escape (openpyxl leaves it as is)
    assert got.cell(len(TEXTS) + 1, 8).value == "=1+1"
    assert got.cell(len(TEXTS) + 1, 8).data_type == "s"  # text, never a formula
    assert len(got.cell(9, 1).value) == 32767


def test_text_shaped_like_rich_text_xml_stays_text(tmp_path):
    """xlsxwriter writes "<r>…</r>" unescaped, as rich-text XML: a name typed in a sheet
    could inject cells. The streamed sheet writes it as text."""
    evil = '<r><t>a</t></r></is></c><c r="B9"><f>HYPERLINK("http://x")</f></c><c><is><r></r>'
    path = tmp_path / "ours.xlsx"
    _sheet_xml(path, lambda ws, w: w.row(0, None, [(evil, w.st.text()), (1, w.st.num())]))
    ws = openpyxl.load_workbook(path)["S"]
    assert ws.cell(1, 1).value == clip(evil)
    assert [[c.value for c in row] for row in ws.iter_rows()] == [[evil, 1]]


# --- the findings CSV --------------------------------------------------------------------------

def reference_csv(path: Path, findings: list[Finding], ctx: violations.Context) -> None:
    """The CSV writer before it was made from cached pieces (commit a34d0ef): one
    ``csv.writer`` row per finding."""
    def rows():
        for f in findings:
            v = violations._fields(f, ctx)
            unit_links = ctx.links.get(f.unit)
            yield [csv_safe("" if x is None else x) for x in (
                *v[:6], f.rule, v[6], *v[7:11], violations.location(f, ctx.titles.get(f.unit, {})),
                unit_links.url(f) if unit_links is not None else "")]

    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(violations.CSV_HEADERS)
        out.writerows(rows())


AWKWARD = ["a, b", 'say "hi"', "line\nbreak", "cr\rhere", "=1+1", "+1", "-", "@SUM(1)",
           "\tTab", "\rCR", "", " lead", "Nguyễn Thị Ánh", "'quoted'", "x" * 300]


def test_csv_is_the_reference_writers_byte_for_byte(tmp_path, monkeypatch):
    """Written here, and on a thread (``ThreadedWriter``) in chunks of 2,000 characters."""
    monkeypatch.setattr(threaded.ThreadedWriter, "CHUNK", 2000)
    config, reads = synthetic_reads("tiny")
    findings = list(evaluate(config, reads, AS_OF, YEAR).findings)
    codes = [u.code for u in config.units]
    # Awkward texts in every field a sheet or the config can fill, Google links for half the
    # units, member names hidden and shown.
    for k, text in enumerate(AWKWARD * 3):
        findings.append(Finding(codes[k % len(codes)], [None, "meetings", text][k % 3],
                                [None, 7, 12000][k % 3], [None, "CB01", text][k % 3 - 1],
                                [None, "2026-04", "2026-Q3", text][k % 4],
                                ["MEET-LATE", "MEMBER-ABANDON", "DATA-DELETED"][k % 3],
                                [ERROR, WARNING, INFO][k % 3], text, explained=k % 2 == 0,
                                accepted=k % 5 == 0))
    # the same rules on another tab (names shown), then on the attendance tab (hidden)
    for tab in ("meetings", violations.MEMBER_TAB):
        for rule in ("DATA-DELETED", "DATA-CHANGED-CLOSED", "MEMBER-ABANDON"):
            findings.append(Finding(codes[0], tab, 5, "CB01", "2026-04", rule, WARNING,
                                    "Nguyễn Văn An: dòng đã bị xóa."))
    names = {c: n for c, n in zip(codes, AWKWARD * 2)}
    titles = {c: {"meetings": AWKWARD[k % len(AWKWARD)] or "Sinh hoạt"}
              for k, c in enumerate(codes)}
    links = {c: violations.UnitLinks(f"KEY-{c}", titles[c], {"meetings": 42 + k})
             for k, c in enumerate(codes) if k % 2}
    for show in (False, True):
        ctx = violations.Context(names, titles, links, show)
        ours, theirs = tmp_path / f"ours-{show}.csv", tmp_path / f"ref-{show}.csv"
        reference_csv(theirs, findings, ctx)
        violations.write_csv(ours, findings, ctx)
        assert ours.read_bytes() == theirs.read_bytes()
        with ThreadPoolExecutor(1) as thread:
            violations.write_csv(ours, findings, ctx, thread)
        assert ours.read_bytes() == theirs.read_bytes()
    table = violations.read_csv(ours)
    assert len(table) == len(findings) + 1
    assert {r[9] for r in table[1:]} >= {"'=1+1", "'+1", "'-", "'@SUM(1)", "line\nbreak"}


def test_findings_ordered_as_one_sort_on_severity_unit_and_sort_key():
    config, reads = synthetic_reads("tiny")
    findings = list(evaluate(config, reads, AS_OF, YEAR).findings)
    findings += [Finding("ZZZ", None, None, None, None, "X", s, "m") for s in (INFO, ERROR)]
    findings.reverse()
    order = {u.code: k for k, u in enumerate(reversed(config.units))}
    expected = sorted(findings, key=lambda f: (SEVERITY_ORDER[f.severity],
                                               order.get(f.unit, len(order)), f.sort_key()))
    got = violations.ordered(findings, order)
    assert [id(f) for f in got] == [id(f) for f in expected]
    assert len({f.severity for f in got}) == 3 and len({f.unit for f in got}) > 5


def test_overlapping_merges_are_refused_as_xlsxwriter_refuses_them(tmp_path):
    wb = xlsxwriter.Workbook(str(tmp_path / "o.xlsx"), {"constant_memory": True})
    ws = wb.add_worksheet("S", worksheet_class=StreamedWorksheet)
    fmt = wb.add_format({"bold": True})
    assert ws.merge_range(0, 0, 0, 3, "a", fmt) == 0
    with pytest.raises(OverlappingRange):
        ws.merge_range(0, 3, 0, 5, "b", fmt)
    assert ws.merge_range(1, 1, 1, 2, "c", fmt) == 0
    wb.close()
    got = openpyxl.load_workbook(tmp_path / "o.xlsx")["S"]
    assert sorted(map(str, got.merged_cells.ranges)) == ["A1:D1", "B2:C2"]


def _three_sheets(path: Path, close, deflated_rows: bool = False) -> Path:
    """Sheets A and B of 20,000 rows (and a merged range), C without rows, closed by
    ``close(wb)``; ``deflated_rows``: their rows deflated as written. The package, every
    part's CRC-32 and length checked."""
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    wb.set_properties({"created": datetime(2027, 1, 20)})
    st = Styles(wb)
    with ThreadPoolExecutor(1) as thread:
        for sheet in ("A", "B", "C"):
            ws = wb.add_worksheet(sheet, worksheet_class=StreamedWorksheet)
            if deflated_rows:
                ws.deflate_rows(build_mod.STREAMED_ZIP_LEVEL, thread)
            if sheet != "C":  # C: no rows
                w = Writer(ws, st)
                for r in range(20_000):
                    w.row(r, 18, [(f"dòng {r} của {sheet}", st.text()), (r, st.num())])
                w.merge(20_000, 0, 3, "cuối", st.text())
        close(wb)
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
    return path


def _copied(wb) -> None:
    """Closed by xlsxwriter alone: each worksheet's rows copied into its file."""
    level = functools.partial(zipfile.ZipFile, compresslevel=build_mod.STREAMED_ZIP_LEVEL)
    with mock.patch.object(xlsxwriter.workbook, "ZipFile", level):
        wb.close()


def _spliced(wb) -> None:
    build_mod._close_deflating(wb, build_mod.STREAMED_ZIP_LEVEL)


def test_rows_zipped_from_their_files_give_the_copied_package_byte_for_byte(tmp_path):
    """``SplicingZipFile`` (``build._close_deflating``) writes the same package file as
    rows copied into each worksheet's file first (``StreamedWorksheet`` closed alone)."""
    spliced = _three_sheets(tmp_path / "spliced.xlsx", _spliced)
    assert spliced.read_bytes() == _three_sheets(tmp_path / "copied.xlsx", _copied).read_bytes()
    assert len(parts(spliced)["xl/worksheets/sheet1.xml"]) > 1_000_000


def test_crc32_combine_agrees_with_zlib():
    rng = random.Random(7)
    for _ in range(200):
        a = rng.randbytes(rng.choice([0, 1, 7, 100, 5000]))
        b = rng.randbytes(rng.choice([0, 1, 3, 64, 70_000]))
        assert streamed.crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)


@pytest.mark.parametrize("chunk", [streamed.DeflatedRows.CHUNK, 1000])
def test_rows_deflated_as_written_give_the_parts_of_copied_rows(tmp_path, monkeypatch, chunk):
    """Rows deflated on a thread as they are written (``DeflatedRows``), zipped as they are
    between the deflated start and end of their worksheet: the package's parts are those of
    rows copied into each worksheet's file, its CRCs right; also in small chunks, where the
    rows run ahead of the thread."""
    monkeypatch.setattr(streamed.DeflatedRows, "CHUNK", chunk)
    copied = _three_sheets(tmp_path / "copied.xlsx", _copied)
    # zipped as they are, never inflated
    monkeypatch.setattr(streamed.DeflatedRows, "inflate_into",
                        mock.Mock(side_effect=AssertionError))
    deflated = _three_sheets(tmp_path / "deflated.xlsx", _spliced, deflated_rows=True)
    assert parts(deflated) == parts(copied)
    assert len(parts(deflated)["xl/worksheets/sheet1.xml"]) > 1_000_000
    # deflated in pieces, about as small as deflated in one stream
    assert deflated.stat().st_size < 1.05 * copied.stat().st_size


def test_rows_deflated_as_written_are_inflated_where_they_cannot_be_zipped_as_they_are(
        tmp_path, monkeypatch):
    """A workbook closed by xlsxwriter alone (as after a failed build), or by a zipfile whose
    entry writer is not the one known here, still gets its rows."""
    expected = parts(_three_sheets(tmp_path / "copied.xlsx", _copied))
    inflated = _three_sheets(tmp_path / "inflated.xlsx", _copied, deflated_rows=True)
    assert parts(inflated) == expected
    monkeypatch.setattr(streamed._Deflated, "WRITER_ATTRS", frozenset({"_not_there"}))
    unknown = _three_sheets(tmp_path / "unknown.xlsx", _spliced, deflated_rows=True)
    assert parts(unknown) == expected


@pytest.mark.parametrize("fails", [None, "zip", "thread"])
def test_streamed_rows_files_removed_once_zipped_or_when_the_close_fails(tmp_path, monkeypatch,
                                                                        fails):
    """The rows are deflated into files as they are streamed (``DeflatedRows``) and zipped
    from them (``SplicingZipFile``): none of those files is left behind, whether the package
    was written, its zip failed, or deflating the rows failed (the disk full, say); none is
    written to the system's temporary folder."""
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    full = OSError(28, "No space left on device")
    if fails == "zip":
        monkeypatch.setattr(streamed.shutil, "copyfileobj", mock.Mock(side_effect=full))
    elif fails == "thread":
        monkeypatch.setattr(streamed.DeflatedRows, "CHUNK", 100)
        monkeypatch.setattr(streamed.DeflatedRows, "_deflated", mock.Mock(side_effect=full))
    config, reads = synthetic_reads("tiny")
    report = evaluate(config, reads, AS_OF, YEAR)
    path = tmp_path / "out" / "tong-hop.xlsx"
    with mock.patch.object(build_mod, "STREAM_THRESHOLD", 0):
        if fails:
            with pytest.raises((SheetsSyncError, OSError)) as raised:
                build_rollup(config, report, reads, RUN_INFO, path)
            assert "28" in str(raised.value) or "đầy" in str(raised.value)
            assert not path.exists()
        else:
            build_rollup(config, report, reads, RUN_INFO, path)
            assert len(parts(path)) > 20
    assert list(temp.iterdir()) == []  # xlsxwriter's files go next to the workbook, not here
    assert sorted(p.name for p in path.parent.iterdir()) == (
        [] if fails else sorted([path.name, build_mod.csv_path(path).name]))  # nothing left


def test_rows_copied_without_sendfile_as_on_windows(tmp_path, monkeypatch):
    def write(ws, w: Writer) -> None:
        for r in range(3000):
            w.row(r, 18, [(f"dòng {r}", w.st.text()), (r, w.st.num())])

    expected = _sheet_xml(tmp_path / "x.xlsx", write)
    monkeypatch.delattr("os.sendfile", raising=False)
    assert _sheet_xml(tmp_path / "ours.xlsx", write) == expected


def test_merged_rows_as_xlsxwriter_writes_them(tmp_path):
    """``Writer.merged_row`` and merged ranges within a row (written as one run of blanks),
    also when cells are written into a merged range afterwards, as xlsxwriter allows."""
    def write(ws, w: Writer) -> None:
        fmt, bold = w.st.note(), w.st.note(bold=True)
        w.merged_row(0, 30, 0, 16, "Cách tính: <r>x</r> & y", bold)
        w.merged_row(1, None, 2, 5, None, fmt)
        w.merged_row(2, 14, 0, 16, "", fmt)
        w.merged_row(3, 20, 1, 1, "một ô", fmt)
        w.merge(4, 0, 3, "gộp", fmt)
        w.ws.write_string(4, 2, "giữa", fmt)  # over the merged range
        w.merge(4, 5, 8, "sau", bold)
        w.ws.write_number(4, 8, 7, fmt)
        w.merge(5, 1, 4, "đầu", fmt)
        w.ws.write_string(5, 2, "ghi đè", bold)
        w.ws.write_string(5, 0, "trái", w.st.text(bold=True))  # left of it, a new format
        w.merged_row(6, 16, 0, 3, 12.5, fmt)
        w.merge(7, 0, 1, "", fmt)
        w.ws.write_datetime(7, 1, datetime(2027, 1, 20), w.st.num("dd/mm/yyyy"))
        dates = w.st.num("dd/mm/yyyy hh:mm")
        w.row(8, None, [(date(2027, 1, 5), dates), (datetime(2027, 1, 5, 8, 30), dates),
                        (None, dates), (date(1900, 2, 28), w.st.num("dd/mm/yyyy"))])

    ours = _sheet_xml(tmp_path / "ours.xlsx", write)
    assert ours == _sheet_xml(tmp_path / "x.xlsx", write)
    assert ours.count("<mergeCell ") == 8
    got = openpyxl.load_workbook(tmp_path / "ours.xlsx")["S"]
    assert got.cell(1, 1).value == "Cách tính: <r>x</r> & y"
    assert '<c r="C5" s="2" t="inlineStr"><is><t>giữa</t></is></c><c r="D5" s="2"/>' in ours
    assert ">ghi đè<" in ours and ">trái<" in ours
    assert got.row_dimensions[1].height == 30
    assert [c.value for c in got[9]][:3] == [datetime(2027, 1, 5), datetime(2027, 1, 5, 8, 30),
                                              None]


def test_a_merge_over_another_still_raises(tmp_path):
    wb = xlsxwriter.Workbook(str(tmp_path / "o.xlsx"), {"constant_memory": True})
    ws = wb.add_worksheet("S", worksheet_class=StreamedWorksheet)
    w = Writer(ws, Styles(wb))
    w.merged_row(0, None, 0, 4, "a", w.st.note())
    with pytest.raises(OverlappingRange):
        ws.merge_range(0, 3, 0, 6, "b", w.st.note())
    ws.merge_range(1, 0, 2, 2, "rows", w.st.note())  # xlsxwriter's own, over two rows
    with pytest.raises(OverlappingRange):
        w.merged_row(2, None, 1, 5, "c", w.st.note())
    wb.close()


def test_cells_written_over_a_row_as_xlsxwriter_writes_them(tmp_path):
    """A row given by ``Writer.row`` is kept as one run of cells: cells written into it or
    beside it afterwards (as xlsxwriter allows) come out in column order, overwritten ones
    replaced."""
    def write(ws, w: Writer) -> None:
        fmt, bold = w.st.text(), w.st.text(bold=True)
        w.row(0, None, [("a", fmt), (1, fmt), ("c", fmt), (None, fmt)])
        w.ws.write_string(0, 2, "thay", bold)
        w.ws.write_number(0, 6, 6, fmt)
        w.row(1, 18, [("x", fmt), ("y", fmt)], first_col=3)
        w.ws.write_string(1, 0, "trước", bold)
        w.row(1, None, [("z", bold)], first_col=4)  # over the first run's second cell
        w.row(2, None, [("p", fmt), ("q", fmt), ("r", fmt)])
        w.row(2, None, [("s", bold), ("t", bold)], first_col=1)  # over two of them
        w.row(3, None, [("u", fmt), ("", None), (2, None), ("v", fmt)])
        w.row(4, None, [("a", fmt), ("b", fmt), ("c", fmt), ("d", fmt), ("e", fmt)])
        w.merge(4, 1, 3, "gộp", bold)  # over the row's cells
        w.ws.write_string(4, 3, "sau", fmt)
        w.ws.write_string(5, 2, "trước", fmt)
        w.merge(5, 1, 3, "", fmt)  # over a cell: a blank now
        w.ws.write_number(5, 5, 5, fmt)

    ours = _sheet_xml(tmp_path / "ours.xlsx", write)
    assert ours == _sheet_xml(tmp_path / "x.xlsx", write)
    assert '<c r="D5" s="1" t="inlineStr"><is><t>sau</t></is></c>' in ours
    assert '<c r="C6" s="1"/>' in ours
    got = openpyxl.load_workbook(tmp_path / "ours.xlsx")["S"]
    assert [[c.value for c in row] for row in got.iter_rows()] == [
        ["a", 1, "thay", None, None, None, 6],
        ["trước", None, None, "x", "z", None, None],
        ["p", "s", "t", None, None, None, None],
        ["u", None, 2, "v", None, None, None],
        ["a", "gộp", None, None, "e", None, None],  # D5 ("sau") hidden by the merge
        [None, None, None, None, None, 5, None]]


def test_overlaps_refused_with_xlsxwriters_message(tmp_path):
    """Ranges merged by the streamed sheet are not in xlsxwriter's per-cell ``merged_cells``;
    an overlap with one is refused all the same, with xlsxwriter's message."""
    messages = []
    for cls in (StreamedWorksheet, None):
        wb = xlsxwriter.Workbook(str(tmp_path / "o.xlsx"), {"constant_memory": True})
        ws = wb.add_worksheet("S", worksheet_class=cls)
        fmt = wb.add_format({"bold": True})
        ws.merge_range(2, 1, 2, 4, "a", fmt)
        for args in ((2, 4, 2, 6), (2, 2, 3, 1), ("B3:C3",)):
            with pytest.raises(OverlappingRange) as raised:
                ws.merge_range(*args, "b", fmt)
            messages.append(str(raised.value))
        assert ws.merge_range(2, 5, 3, 6, "c", fmt) == 0
        wb.close()
    assert messages[:3] == messages[3:]

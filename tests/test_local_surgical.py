"""Surgical local write-back (issue 11, local scenarios 3–10): what staff typed is never
changed. Workbooks saved by real LibreOffice (tests/fixtures/lo-unit.xlsx, see
tests/xlsx_fixtures.py) and Excel-like packages with formulas, a logo and a chart are flagged in
place; every non-tool cell keeps its exact XML (value, formula, cached value, style), every zip
part that is not a changed worksheet (or the few workbook parts a new tool tab needs) stays byte
for byte; a second run changes nothing (SHA-256 and mtime)."""
from __future__ import annotations

import os
import re
import shutil
import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from helpers import TEMPLATE
from sheets_sync.core.checker import read_unit
from sheets_sync.core.config import UnitConfig
from sheets_sync.core.findings import ERROR, WARNING, Finding
from sheets_sync.core.flagplan import COPY, SKIPPED, UNCHANGED, WRITTEN, FlagPlan
from sheets_sync.sources import xlsx_patch
from sheets_sync.sources.local_reader import LocalBackend, file_sha256
from sheets_sync.sources.local_writer import backups_of, write_local
from sheets_sync.sources.xlsx_patch import Package, PackageError, col_number
from sheets_sync.sync.writeplan import free_columns, plan_unit
from xlsx_fixtures import LO_UNIT, unit_with_objects

AS_OF = date(2026, 11, 25)
YEAR = 2026
NOW = datetime(2026, 11, 25, 6, 0, 0)
STATUS, DETAILS = TEMPLATE.status_header, TEMPLATE.details_header
# Parts a write may change besides the worksheets of the sheets it flags.
WORKBOOK_PARTS = {"xl/workbook.xml", "xl/_rels/workbook.xml.rels", "[Content_Types].xml",
                  "xl/styles.xml"}


def read(path: Path, code: str = "NT"):
    return read_unit(LocalBackend(), TEMPLATE, UnitConfig(code, f"Đơn vị {code}", path=path),
                     AS_OF)


def findings(code: str = "NT") -> list[Finding]:
    return [
        Finding(code, "Sinh hoạt", 3, "CB01", "2026-10", "MEET-WINDOW", ERROR,
                "Sinh hoạt ngày 12/10/2026, ngoài khung ngày 1–7."),
        Finding(code, "Chi bộ", 5, "CB02", None, "CELL-ASSIGNEE", WARNING, "Chưa phân công."),
        Finding(code, "Triển khai", None, None, "2026-11", "BRIEF-DEADLINE", ERROR, "=1+1"),
    ]


def plan_for(path: Path, code: str = "NT", found: list[Finding] | None = None):
    r = read(path, code)
    assert r.data is not None, r.result.message
    return r, plan_unit(TEMPLATE, r, found if found is not None else findings(code), AS_OF, YEAR)


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def sheet_parts(path: Path) -> dict[str, str]:
    """Sheet title -> worksheet part."""
    with Package(path) as pkg:
        return {s.title: s.part for s in pkg.sheets}


_CELL = re.compile(rb'<c r="([A-Z]+)(\d+)"[^>]*?(?:/>|>.*?</c>)', re.DOTALL)


def cell_xml(data: bytes) -> dict[tuple[int, int], bytes]:
    """(row, col) -> the cell's exact XML."""
    return {(int(m.group(2)), col_number(m.group(1).decode())): m.group(0)
            for m in _CELL.finditer(data)}


def tool_positions(plan: FlagPlan) -> dict[str, tuple[int, set[int]]]:
    return {t: (tc.header_row, {tc.status_col + 1, tc.details_col + 1})
            for t, tc in plan.tool_columns.items()}


def assert_only_tool_cells_changed(before: dict[str, bytes], after_path: Path,
                                   plan: FlagPlan) -> list[str]:
    """Every non-tool cell keeps its exact XML; every other part is byte-identical except the
    workbook parts a new tab needs. Returns the names of the parts compared."""
    after = parts(after_path)
    titles = sheet_parts(after_path)
    tool_tabs = {plan.check_sheet, plan.guide_sheet}
    tool = tool_positions(plan)
    flagged_parts = {titles[t] for t in tool} | {titles[t] for t in tool_tabs if t in titles}
    compared = []
    for name, data in before.items():
        assert name in after, f"part {name} lost"
        if name in WORKBOOK_PARTS:
            continue
        if name in flagged_parts:
            title = next(t for t, p in titles.items() if p == name)
            if title in tool_tabs:
                continue
            header_row, cols = tool[title]
            old, new = cell_xml(data), cell_xml(after[name])
            staff_old = {k: v for k, v in old.items() if not (k[1] in cols and k[0] >= header_row)}
            staff_new = {k: v for k, v in new.items() if not (k[1] in cols and k[0] >= header_row)}
            assert staff_new == staff_old, f"staff cells changed in {title}"
            # outside sheetData only <cols>, <dimension> and row attributes may differ
            strip = re.compile(rb"<sheetData>.*</sheetData>|<sheetData/>|<cols>.*?</cols>|"
                               rb"<dimension[^>]*/>", re.DOTALL)
            assert strip.sub(b"", data) == strip.sub(b"", after[name]), name
        else:
            assert after[name] == data, f"part {name} changed"
        compared.append(name)
    return compared


def values(path: Path, tool: dict[str, tuple[int, set[int]]], data_only: bool) -> dict:
    wb = openpyxl.load_workbook(path, data_only=data_only)
    out = {}
    for ws in wb.worksheets:
        if ws.title in (TEMPLATE.check_tab, TEMPLATE.guide_tab):
            continue
        header_row, cols = tool.get(ws.title, (0, set()))
        for (r, c), cell in ws._cells.items():
            if c in cols and r >= header_row:
                continue
            if cell.value is not None:
                out[(ws.title, r, c)] = cell.value
    return out


def stamp(path: Path) -> tuple[str, int]:
    return file_sha256(path), path.stat().st_mtime_ns


def cells_workbook(path: Path) -> Path:
    """A workbook with only the `Chi bộ` tab: its header and one cell, saved by openpyxl."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Chi bộ"
    ws.append([c.header for c in TEMPLATE.tab("cells").columns])
    ws.append(["CB01", "Chi bộ 1", "Thôn", 20, 18, "An", "Có", "Bình"])
    wb.save(path)
    return path


def lo_copy(folder: Path, name: str = "lo.xlsx") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copyfile(LO_UNIT, folder / name))


# --- scenario 9: LibreOffice-saved workbooks and workbooks with formulas, logo, chart -------------

@pytest.mark.parametrize("kind", ["libreoffice", "xlsxwriter"])
def test_workbook_with_objects_is_flagged_in_place_every_other_part_identical(tmp_path, kind):
    path = (lo_copy(tmp_path) if kind == "libreoffice"
            else unit_with_objects(tmp_path / "objects.xlsx"))
    before = parts(path)
    assert any(n.startswith("xl/charts/") for n in before)
    assert any(n.startswith("xl/media/") for n in before)
    assert any(n.startswith("xl/comments") for n in before)
    r, plan = plan_for(path)
    tool = tool_positions(plan)
    formulas, cached = values(path, tool, False), values(path, tool, True)

    res = write_local(path, plan, r.raw.meta, tmp_path / "out", tmp_path / "bk", now=NOW)
    assert res.status == WRITTEN and res.path == path, res.message
    assert not (tmp_path / "out").exists()  # no flagged copy
    compared = assert_only_tool_cells_changed(before, path, plan)
    assert {"xl/sharedStrings.xml", "xl/charts/chart1.xml", "xl/media/image1.png",
            "xl/drawings/drawing1.xml"} <= set(compared)
    assert values(path, tool, False) == formulas  # formulas as they were
    assert values(path, tool, True) == cached  # and their cached values
    after = parts(path)
    assert after["xl/sharedStrings.xml"] == before["xl/sharedStrings.xml"]
    assert [n for n in after if n in before] == list(before)  # same order

    wb = openpyxl.load_workbook(path)
    ws = wb["Sinh hoạt"]
    hdr = [c.value for c in ws[1]]
    st, de = hdr.index(STATUS) + 1, hdr.index(DETAILS) + 1
    assert st > hdr.index("Đã duyệt") + 1  # after the checkbox formula column
    assert ws.cell(3, st).value == TEMPLATE.status_labels["error"]
    assert "12/10/2026" in ws.cell(3, de).value
    assert ws.cell(3, de).alignment.wrap_text
    assert ws.cell(1, st).font.b
    assert wb.sheetnames[-2:] == [TEMPLATE.check_tab, TEMPLATE.guide_tab]
    check = wb[TEMPLATE.check_tab]
    assert check.page_setup.orientation == "landscape" and int(check.page_setup.paperSize) == 9
    assert check.sheet_properties.pageSetUpPr.fitToPage
    assert str(check.page_setup.fitToWidth) == "1" and str(check.page_setup.fitToHeight) == "0"
    cells = [c for row in check.iter_rows() for c in row
             if isinstance(c.value, str) and "=1+1" in c.value]
    assert cells and all(c.data_type == "s" for c in cells)  # text, never a formula

    # second run: nothing to write, the file keeps its SHA-256 and mtime
    s = stamp(path)
    r2, plan2 = plan_for(path)
    assert plan2.is_empty, plan2.describe()
    assert write_local(path, plan2, r2.raw.meta, tmp_path / "out", tmp_path / "bk").status \
        == UNCHANGED
    assert stamp(path) == s


def test_libreoffice_opens_and_converts_the_flagged_workbook(tmp_path):
    """The written package is one LibreOffice reads (the fixture's round trip, reversed): checked
    without LibreOffice by openpyxl and zipfile's CRCs; the rendered check is in the report."""
    path = lo_copy(tmp_path)
    r, plan = plan_for(path)
    assert write_local(path, plan, r.raw.meta, tmp_path / "o", tmp_path / "b").status == WRITTEN
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
    assert read(path).data is not None


# --- scenario 3: a helper formula column giving "" ------------------------------------------------

def test_a_lone_text_row_of_the_check_tab_drops_the_wrap_of_the_row_it_replaces(tmp_path):
    """The to-do list shrinks between two runs, so the notes heading moves up into what was a
    wrapped to-do row. It must run over the empty cells to its right, not wrap inside the
    narrow column A at one line's height (LibreOffice then draws it over the next row)."""
    path = lo_copy(tmp_path)
    more = [Finding("NT", "Triển khai", None, None, f"2026-0{m}", "BRIEF-DEADLINE", ERROR,
                    f"Triển khai tháng {m} muộn.") for m in (7, 8)]
    for found in (findings() + more, findings()):
        r, plan = plan_for(path, found=found)
        res = write_local(path, plan, r.raw.meta, tmp_path / "out", tmp_path / "bk", now=NOW)
        assert res.status == WRITTEN and res.path == path, res.message
    check = openpyxl.load_workbook(path)[TEMPLATE.check_tab]
    column_a = [str(check.cell(r, 1).value or "") for r in range(1, check.max_row + 1)]
    heading = next(r for r, v in enumerate(column_a, start=1) if v.startswith("LƯU Ý"))
    assert heading < len(findings() + more) + 6  # where the longer list had a to-do row
    assert not check.cell(heading, 1).alignment.wrap_text
    todo = [r for r in range(1, check.max_row + 1) if check.cell(r, 8).value == "MEET-WINDOW"]
    assert todo and all(check.cell(r, 5).alignment.wrap_text for r in todo)


def test_a_flagged_copy_drops_the_wrap_of_an_earlier_layout_on_lone_text_rows(tmp_path):
    """The same for a flagged copy (openpyxl), whose source had a Kiểm tra tab wrapped all
    over: lone texts run over, the to-do rows wrap."""
    from openpyxl.styles import Alignment

    from sheets_sync.sources import local_writer

    path = lo_copy(tmp_path)
    r, plan = plan_for(path)
    wb = openpyxl.load_workbook(path)
    old = wb.create_sheet(TEMPLATE.check_tab)
    for row in range(1, 40):
        for col in range(1, 9):
            old.cell(row, col).alignment = Alignment(wrap_text=True)
    local_writer._apply(wb, plan, local_writer._Cached(path))
    check = wb[TEMPLATE.check_tab]
    lone = [row for row in range(1, check.max_row + 1)
            if check.cell(row, 1).value and not check.cell(row, 2).value
            and not check.cell(row, 5).value]
    assert lone and not any(check.cell(row, 1).alignment.wrap_text for row in lone)
    todo = [row for row in range(1, check.max_row + 1) if check.cell(row, 8).value == "MEET-WINDOW"]
    assert todo and all(check.cell(row, 5).alignment.wrap_text for row in todo)


def test_tool_columns_go_after_a_formula_column_whose_result_is_empty(tmp_path):
    path = lo_copy(tmp_path)
    r, plan = plan_for(path)
    # Chi bộ: header in row 3 ends at K; the staff formula =IF(A4="";"thiếu mã";"") is in M
    # (cached ""), so the tool columns go to N and O.
    assert r.raw.meta["formula_cols"]["Chi bộ"] == 12
    assert plan.new_columns["Chi bộ"] == [(13, STATUS), (14, DETAILS)]
    before = parts(path)
    res = write_local(path, plan, r.raw.meta, tmp_path / "o", tmp_path / "b", now=NOW)
    assert res.status == WRITTEN, res.message
    ws = openpyxl.load_workbook(path)["Chi bộ"]
    assert ws["M4"].value == '=IF(A4="","thiếu mã","")'
    assert ws["N3"].value == STATUS
    assert_only_tool_cells_changed(before, path, plan)


def test_formula_without_cached_value_is_read_as_its_text_with_a_warning(tmp_path):
    """A script wrote the formula and nothing ever calculated it: it is neither empty (free
    space) nor evaluated."""
    path = cells_workbook(tmp_path / "script.xlsx")
    wb = openpyxl.load_workbook(path)
    wb["Chi bộ"].cell(2, 13).value = '=IF(A2="","thiếu","")'  # openpyxl stores no cached value
    wb.save(path)
    r, plan = plan_for(path, found=[])
    assert r.raw.sheet("Chi bộ").rows[1][12] == '=IF(A2="","thiếu","")'
    assert r.raw.meta["uncomputed"] == {"Chi bộ": [[2, 13]]}
    warn = [f for f in r.data.findings if f.rule == "DATA-INVALID" and "M2" in f.message]
    assert warn and warn[0].row == 2 and "mở và lưu lại tệp bằng Excel/LibreOffice" in \
        warn[0].message.replace("Hãy m", "m")
    assert plan.new_columns["Chi bộ"][0][0] == 13  # N: after the formula in M
    res = write_local(path, plan, r.raw.meta, tmp_path / "o", tmp_path / "b", now=NOW)
    assert res.status == WRITTEN
    assert openpyxl.load_workbook(path)["Chi bộ"]["M2"].value == '=IF(A2="","thiếu","")'


# --- scenario 6: no room before XFD ---------------------------------------------------------------

def test_stray_value_in_xfd_leaves_no_room_and_the_tab_is_skipped(tmp_path):
    assert free_columns([["a", None], [None, None, None, "x"]], 0, 2) == [4, 5]
    assert free_columns([["a"] + [None] * 16382 + ["x"]], 0, 2) == []
    path = cells_workbook(tmp_path / "xfd.xlsx")
    wb = openpyxl.load_workbook(path)
    wb["Chi bộ"]["XFD1"] = "lạc"
    wb.save(path)
    r, plan = plan_for(path, found=[])
    assert "Chi bộ" not in plan.new_columns and "Chi bộ" not in plan.tool_columns
    assert "XFD" in plan.skipped_tabs["Chi bộ"]
    assert not any(c.sheet == "Chi bộ" for c in plan.changes)
    s = stamp(path)
    res = write_local(path, plan, r.raw.meta, tmp_path / "o", tmp_path / "b", now=NOW)
    assert res.status == SKIPPED and not res.ok  # the operator must clear the far-right cells
    assert "quá cột XFD" in res.message and "Chi bộ" in res.message
    assert stamp(path) == s


def test_writer_refuses_columns_that_are_not_free(tmp_path):
    """Defence in depth: a plan placing tool columns over a cell that holds anything (here an
    empty-string formula result) is not written on that tab."""
    path = lo_copy(tmp_path)
    r, plan = plan_for(path)
    tc = plan.tool_columns["Chi bộ"]
    bad = [(12, STATUS), (13, DETAILS)]  # M holds the helper formula
    plan.new_columns["Chi bộ"] = bad
    plan.tool_columns["Chi bộ"] = type(tc)("Chi bộ", tc.header_row, 12, 13)
    plan.changes = [c if c.sheet != "Chi bộ" else type(c)(c.sheet, c.row, 12 if c.col == 13
                                                          else 13, c.value, c.keys)
                    for c in plan.changes]
    before = parts(path)
    res = write_local(path, plan, r.raw.meta, tmp_path / "o", tmp_path / "b", now=NOW)
    assert not res.ok and "Chi bộ" in res.message and "đã có dữ liệu" in res.message
    assert parts(path)[sheet_parts(path)["Chi bộ"]] == before[sheet_parts(path)["Chi bộ"]]


# --- scenario 4: two units whose files share a name -----------------------------------------------

def test_same_file_name_in_two_folders_gets_distinct_backups_and_copies(tmp_path):
    a = lo_copy(tmp_path / "xa-a", "so-theo-doi.xlsx")
    b = lo_copy(tmp_path / "xa-b", "so-theo-doi.xlsx")
    out, bk = tmp_path / "out", tmp_path / "bk"
    for code, path in (("A", a), ("B", b)):
        r, plan = plan_for(path, code)
        assert write_local(path, plan, r.raw.meta, out, bk, now=NOW).status == WRITTEN
    assert [p.name for p in backups_of(a, bk, "A")] == ["A-so-theo-doi-20261125-060000.xlsx"]
    assert [p.name for p in backups_of(b, bk, "B")] == ["B-so-theo-doi-20261125-060000.xlsx"]

    # workbooks the editor refuses get flagged copies: one per unit, never shared
    for code, path in (("A", a), ("B", b)):
        shutil.copyfile(no_refs(LO_UNIT, tmp_path / f"src-{code}.xlsx"), path)
        r, plan = plan_for(path, code)
        res = write_local(path, plan, r.raw.meta, out, bk, now=NOW)
        assert res.status == COPY, res.message
        assert res.path == out / "flagged" / f"{code}-so-theo-doi.xlsx"
        assert "ô không ghi địa chỉ" in res.message
    assert len(list((out / "flagged").glob("*.xlsx"))) == 2


def no_refs(src: Path, target: Path) -> Path:
    """A copy whose Sinh hoạt cells carry no "r" address (valid, rare): the editor refuses it."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "xl/worksheets/sheet2.xml":
                data = re.sub(rb'<c r="[A-Z]+\d+"', b"<c", data)
            zout.writestr(info, data, compresslevel=1)
    return target


def test_a_package_the_editor_refuses_is_left_alone_with_the_reason(tmp_path):
    path = no_refs(LO_UNIT, tmp_path / "u.xlsx")
    with pytest.raises(PackageError), Package(path) as pkg:
        pkg.sheet("Sinh hoạt")
    s = stamp(path)
    r, plan = plan_for(path)
    res = write_local(path, plan, r.raw.meta, tmp_path / "o", tmp_path / "b", now=NOW)
    assert res.status == COPY and res.reasons == ["ô không ghi địa chỉ"]
    assert stamp(path) == s


def test_the_reader_vouches_only_for_parts_read_whole_with_every_cell_addressed(tmp_path):
    good = lo_copy(tmp_path)
    vouched = read(good).raw.meta["checked_parts"]
    assert sorted(vouched) == sorted(sheet_parts(good).values())
    odd = no_refs(LO_UNIT, tmp_path / "u.xlsx")
    vouched = read(odd).raw.meta["checked_parts"]
    assert sheet_parts(odd)["Sinh hoạt"] not in vouched
    assert sheet_parts(odd)["Chi bộ"] in vouched


def test_the_editor_skips_its_own_checks_only_for_the_very_bytes_the_reader_saw(tmp_path):
    path = no_refs(LO_UNIT, tmp_path / "u.xlsx")
    part = sheet_parts(path)["Sinh hoạt"]
    for claim, digest in (([part], file_sha256(LO_UNIT)),  # other bytes
                          (["xl/worksheets/sheet1.xml"], file_sha256(path))):  # another part
        with Package(path) as pkg:
            pkg.trust(claim, digest)
            with pytest.raises(PackageError, match="địa chỉ"):
                pkg.sheet("Sinh hoạt")
    with Package(path) as pkg:  # a (here false) claim about these bytes is taken as it is
        pkg.trust([part], file_sha256(path))
        assert pkg.sheet("Sinh hoạt").rows


def test_a_file_too_big_to_hold_is_read_and_flagged_from_the_disk_and_trusted_for_nothing(
        tmp_path, monkeypatch):
    path = lo_copy(tmp_path)
    held = read(path).raw
    monkeypatch.setattr(xlsx_patch, "MAX_BUFFERED_FILE", 1024)
    r, plan = plan_for(path)
    assert r.raw.sheets == held.sheets and r.raw.meta["sha256"] == file_sha256(path)
    assert "checked_parts" not in r.raw.meta
    odd = no_refs(LO_UNIT, tmp_path / "u.xlsx")
    with Package(odd) as pkg:
        assert pkg.sha256 is None
        pkg.trust([sheet_parts(odd)["Sinh hoạt"]], file_sha256(odd))
        with pytest.raises(PackageError, match="địa chỉ"):
            pkg.sheet("Sinh hoạt")
    res = write_local(path, plan, r.raw.meta, tmp_path / "o", tmp_path / "b", now=NOW)
    assert res.status == WRITTEN, res.message


def test_strict_open_xml_is_reported_by_name(tmp_path):
    path = lo_copy(tmp_path)
    data = parts(path)
    strict = tmp_path / "strict.xlsx"
    with zipfile.ZipFile(strict, "w") as zf:
        for name, body in data.items():
            if name == "xl/workbook.xml":
                body = body.replace(b"http://schemas.openxmlformats.org/spreadsheetml/2006/main",
                                    b"http://purl.oclc.org/ooxml/spreadsheetml/main")
            zf.writestr(name, body)
    with pytest.raises(PackageError, match="Strict Open XML"):
        Package(strict)


# --- scenario 5: symlinks and other non-regular files ---------------------------------------------

def test_symlink_target_is_written_and_the_link_stays(tmp_path):
    real = lo_copy(tmp_path / "real")
    link = tmp_path / "link.xlsx"
    link.symlink_to(real)
    r, plan = plan_for(link)
    res = write_local(link, plan, r.raw.meta, tmp_path / "o", tmp_path / "b", now=NOW)
    assert res.status == WRITTEN, res.message
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert read(real).raw.sheet("Sinh hoạt").rows[0][-1] == DETAILS
    _, plan2 = plan_for(link)
    assert plan2.is_empty


def test_a_folder_or_pipe_is_refused(tmp_path):
    path = lo_copy(tmp_path)
    r, plan = plan_for(path)
    fifo = tmp_path / "pipe.xlsx"
    os.mkfifo(fifo)
    res = write_local(fifo, plan, r.raw.meta, tmp_path / "o", tmp_path / "b")
    assert res.status == SKIPPED and "không phải là một tệp thông thường" in res.message


# --- scenario 8: open in Excel/LibreOffice, read-only ---------------------------------------------

@pytest.mark.parametrize("lock", ["~$lo.xlsx", ".~lock.lo.xlsx#", None])
def test_open_or_read_only_workbook_is_skipped(tmp_path, lock):
    path = lo_copy(tmp_path)
    r, plan = plan_for(path)
    if lock:
        (tmp_path / lock).write_text("Lan,máy-xã,03.12.2026 09:00,", encoding="utf-8")
    else:
        path.chmod(0o444)
    s = stamp(path)
    res = write_local(path, plan, r.raw.meta, tmp_path / "o", tmp_path / "b", now=NOW)
    assert res.status == SKIPPED and not res.ok
    assert "đang mở / chỉ đọc — đóng tệp rồi chạy lại" in res.message
    if lock:
        assert lock in res.message
    assert stamp(path) == s and not (tmp_path / "b").exists()


def test_lock_file_appearing_during_a_run_exits_1(tmp_path):
    """Through the CLI: a person opens the workbook (lock file) → skipped, exit code 1."""
    from click.testing import CliRunner

    from sheets_sync.cli import cli

    lo_copy(tmp_path, "nt.xlsx")
    cfg = tmp_path / "config.toml"
    cfg.write_text('[parent]\nname = "Huyện"\n\n[[units]]\ncode = "NT"\nname = "Xã NT"\n'
                   'path = "nt.xlsx"\n', encoding="utf-8")
    (tmp_path / ".~lock.nt.xlsx#").write_text("x")
    s = stamp(tmp_path / "nt.xlsx")
    res = CliRunner().invoke(cli, ["run", "--config", str(cfg), "--as-of", "2026-11-25"])
    assert res.exit_code == 1, res.output
    assert stamp(tmp_path / "nt.xlsx") == s


# --- scenario 10: odd staff values, fsync ---------------------------------------------------------

def test_odd_staff_values_keep_their_exact_xml_and_the_file_is_fsynced(tmp_path, monkeypatch):
    path = lo_copy(tmp_path)
    part = sheet_parts(path)["Sinh hoạt"]
    data = parts(path)
    odd = (b'<c r="AE2" t="inlineStr"><is><t>d\xc3\xb2ng 1\r\nd\xc3\xb2ng 2</t></is></c>'
           b'<c r="AF2"><v>1E+999</v></c><c r="AG2"><v>12345678901234567890123</v></c>')
    xml = data[part]
    # append to row 2 (after its last cell)
    m = re.search(rb'<row r="2"[^>]*>.*?(</row>)', xml, re.DOTALL)
    data[part] = xml[:m.start(1)] + odd + xml[m.start(1):]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, body in data.items():
            zf.writestr(name, body)
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    r, plan = plan_for(path)
    before = parts(path)
    res = write_local(path, plan, r.raw.meta, tmp_path / "o", tmp_path / "b", now=NOW)
    assert res.status == WRITTEN, res.message
    cells = cell_xml(parts(path)[part])
    for ref, col in (("AE2", 31), ("AF2", 32), ("AG2", 33)):
        assert cells[(2, col)] == cell_xml(before[part])[(2, col)], ref
    assert b"\r\n" in cells[(2, 31)] and cells[(2, 32)].endswith(b"<v>1E+999</v></c>")
    assert len(synced) >= 3  # backup, temp file, folder


# --- row heights, links, print titles (plan fields filled by the planner) -------------------------

def test_row_heights_links_and_print_titles(tmp_path):
    path = lo_copy(tmp_path)
    r, plan = plan_for(path)
    plan.row_heights = {"Sinh hoạt": {3: 45.0, 2: None}}
    assert plan.check_grid is not None
    plan.check_links = {(0, 0): ("Sinh hoạt", 3)}
    plan.check_header_rows = 3
    res = write_local(path, plan, r.raw.meta, tmp_path / "o", tmp_path / "b", now=NOW)
    assert res.status == WRITTEN, res.message
    wb = openpyxl.load_workbook(path)
    ws = wb["Sinh hoạt"]
    assert ws.row_dimensions[3].height == 45 and ws.row_dimensions[3].customHeight
    assert not ws.row_dimensions[2].customHeight
    check = wb[TEMPLATE.check_tab]
    assert check["A1"].hyperlink.location == "'Sinh hoạt'!A3"
    assert check.print_title_rows == "$1:$3"

    # restoring the default height later
    r2, plan2 = plan_for(path)
    plan2.row_heights = {"Sinh hoạt": {3: None}}
    assert write_local(path, plan2, r2.raw.meta, tmp_path / "o", tmp_path / "b",
                       now=NOW.replace(minute=5)).status == WRITTEN
    ws = openpyxl.load_workbook(path)["Sinh hoạt"]
    assert not ws.row_dimensions[3].customHeight


# --- scenario 7: templates export / apply ---------------------------------------------------------

def _cli(*args: str):
    from click.testing import CliRunner

    from sheets_sync.cli import cli

    return CliRunner().invoke(cli, list(args))


def test_templates_export_never_overwrites_a_filled_workbook(tmp_path):
    filled = lo_copy(tmp_path, "nt.xlsx")
    s = stamp(filled)
    for extra in ((), ("--force",)):
        res = _cli("templates", "export", "--output", str(filled), *extra)
        assert res.exit_code == 2, res.output
        assert "đang có số liệu" in res.output and "templates apply" in res.output
        assert stamp(filled) == s
    blank = tmp_path / "mau.xlsx"
    assert _cli("templates", "export", "--output", str(blank)).exit_code == 0
    res = _cli("templates", "export", "--output", str(blank))
    assert res.exit_code == 2 and "--force" in res.output
    assert _cli("templates", "export", "--output", str(blank), "--force").exit_code == 0


def test_templates_apply_on_a_local_unit_adds_without_touching_data(tmp_path):
    path = lo_copy(tmp_path, "nt.xlsx")
    cfg = tmp_path / "config.toml"
    cfg.write_text('[parent]\nname = "Huyện"\n\n[[units]]\ncode = "NT"\nname = "Xã NT"\n'
                   'path = "nt.xlsx"\n', encoding="utf-8")
    before = parts(path)
    s = stamp(path)
    res = _cli("templates", "apply", "--config", str(cfg), "--dry-run")
    assert res.exit_code == 0 and "chạy thử" in res.output and stamp(path) == s
    res = _cli("templates", "apply", "--config", str(cfg))
    assert res.exit_code == 0, res.output
    assert "Thêm tab \"Điểm danh\"" in res.output and "cột N" in res.output
    after = parts(path)
    for name, data in before.items():
        if name.startswith("xl/worksheets/sheet") or name in WORKBOOK_PARTS:
            continue
        assert after[name] == data, name
    wb = openpyxl.load_workbook(path)
    ws = wb["Điểm danh"]
    assert ws["A1"].value == TEMPLATE.tab("attendance").columns[0].header
    assert ws.freeze_panes == "A2"
    assert any(dv.type == "list" for dv in ws.data_validations.dataValidation)
    assert wb["Chi bộ"]["N3"].value == STATUS and wb["Chi bộ"]["M4"].value.startswith("=IF(")
    # staff cells of an existing tab: exact XML
    part = sheet_parts(path)["Chi bộ"]
    old, new = cell_xml(before[part]), cell_xml(after[part])
    assert {k: v for k, v in new.items() if k[1] < 14} == old
    # idempotent
    s = stamp(path)
    res = _cli("templates", "apply", "--config", str(cfg))
    assert res.exit_code == 0 and "đã khớp mẫu" in res.output and stamp(path) == s


# --- formulas in tool cells, calcChain, .xlsm -----------------------------------------------------

def _repack(src: Path, dst: Path, change) -> Path:
    data = parts(src)
    change(data)
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, body in data.items():
            zf.writestr(name, body)
    return dst


def test_formula_in_a_tool_cell_is_replaced_and_the_calc_chain_dropped(tmp_path):
    """Excel "repairs" a workbook whose calcChain names a cell without a formula: when a tool
    cell held a formula, the (optional) chain goes with it."""
    src = lo_copy(tmp_path / "src")
    r0, plan0 = plan_for(src)
    write_local(src, plan0, r0.raw.meta, tmp_path / "o", tmp_path / "b0", now=NOW)
    tc = plan0.tool_columns["Sinh hoạt"]
    ref = f"{openpyxl.utils.get_column_letter(tc.status_col + 1)}2"
    part = sheet_parts(src)["Sinh hoạt"]

    def change(data: dict[str, bytes]) -> None:
        data[part] = re.sub(rb'<c r="' + ref.encode() + rb'"[^>]*?(/>|>.*?</c>)',
                            f'<c r="{ref}" t="str"><f>"x"</f><v>x</v></c>'.encode(),
                            data[part], count=1, flags=re.DOTALL)
        data["xl/calcChain.xml"] = (b'<?xml version="1.0" encoding="UTF-8"?><calcChain xmlns='
                                    b'"http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                                    b'<c r="' + ref.encode() + b'" i="2"/></calcChain>')
        data["xl/_rels/workbook.xml.rels"] = data["xl/_rels/workbook.xml.rels"].replace(
            b"</Relationships>", b'<Relationship Id="rIdCC" Type="http://schemas.openxmlformats'
            b'.org/officeDocument/2006/relationships/calcChain" Target="calcChain.xml"/>'
            b"</Relationships>")
        data["[Content_Types].xml"] = data["[Content_Types].xml"].replace(
            b"</Types>", b'<Override PartName="/xl/calcChain.xml" ContentType="application/vnd.'
            b'openxmlformats-officedocument.spreadsheetml.calcChain+xml"/></Types>')

    path = _repack(src, tmp_path / "cc.xlsx", change)
    r, plan = plan_for(path)
    assert any(c.sheet == "Sinh hoạt" and c.row == 2 for c in plan.changes)
    res = write_local(path, plan, r.raw.meta, tmp_path / "o", tmp_path / "b", now=NOW)
    assert res.status == WRITTEN, res.message
    after = parts(path)
    assert "xl/calcChain.xml" not in after
    assert b"calcChain" not in after["xl/_rels/workbook.xml.rels"]
    assert b"calcChain" not in after["[Content_Types].xml"]
    ws = openpyxl.load_workbook(path)["Sinh hoạt"]
    assert ws[ref].value == TEMPLATE.status_labels["ok"] and ws[ref].data_type == "s"


def test_xlsm_keeps_its_macros_and_content_type(tmp_path):
    macro_ct = b"application/vnd.ms-excel.sheet.macroEnabled.main+xml"

    def change(data: dict[str, bytes]) -> None:
        data["xl/vbaProject.bin"] = b"\xd0\xcf\x11\xe0 macro project"
        data["[Content_Types].xml"] = re.sub(
            rb"application/vnd\.openxmlformats-officedocument\.spreadsheetml\.sheet\.main\+xml",
            macro_ct, data["[Content_Types].xml"])

    path = _repack(LO_UNIT, tmp_path / "u.xlsm", change)
    before = parts(path)
    r, plan = plan_for(path)
    res = write_local(path, plan, r.raw.meta, tmp_path / "o", tmp_path / "b", now=NOW)
    assert res.status == WRITTEN and res.path == path, res.message
    after = parts(path)
    assert after["xl/vbaProject.bin"] == before["xl/vbaProject.bin"]
    assert macro_ct in after["[Content_Types].xml"]
    assert_only_tool_cells_changed(before, path, plan)


# --- unchanged members are copied compressed, after their CRC is checked --------------------------

def raw_members(path: Path) -> dict[str, tuple[int, int, int, bytes]]:
    """Member -> (compression, CRC, size, compressed bytes as stored), read from the local
    headers by hand (independently of the writer)."""
    blob = path.read_bytes()
    out = {}
    with zipfile.ZipFile(path) as zf:
        for i in zf.infolist():
            at = i.header_offset
            assert blob[at:at + 4] == b"PK\x03\x04"
            name_len = int.from_bytes(blob[at + 26:at + 28], "little")
            extra_len = int.from_bytes(blob[at + 28:at + 30], "little")
            start = at + 30 + name_len + extra_len
            out[i.filename] = (i.compress_type, i.CRC, i.file_size,
                               blob[start:start + i.compress_size])
    return out


def restored(src: Path, target: Path, stored: str) -> Path:
    """``src`` zipped again (deflate level 1, unlike the writer's 6) with the member
    ``stored`` not compressed."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(target, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            info.compress_type = zipfile.ZIP_STORED if info.filename == stored \
                else zipfile.ZIP_DEFLATED
            zout.writestr(info, data, compresslevel=1)
    return target


def test_unchanged_members_keep_their_compressed_bytes_and_the_zip_checks(tmp_path):
    path = restored(LO_UNIT, tmp_path / "u.xlsx", "docProps/app.xml")
    before = raw_members(path)
    r, plan = plan_for(path)
    assert write_local(path, plan, r.raw.meta, tmp_path / "o", tmp_path / "b",
                       now=NOW).status == WRITTEN
    after = raw_members(path)
    changed = set(sheet_parts(path).values()) | WORKBOOK_PARTS
    kept = [n for n in before if n not in changed]
    assert {"xl/sharedStrings.xml", "docProps/app.xml", "xl/media/image1.png"} <= set(kept)
    assert after["docProps/app.xml"][0] == zipfile.ZIP_STORED
    for name in kept:
        assert after[name] == before[name], name
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
    assert read(path).data is not None


@pytest.mark.parametrize("how", ["bytes", "crc"])
def test_a_damaged_unchanged_member_stops_the_save(tmp_path, how):
    path = lo_copy(tmp_path)
    info = zipfile.ZipFile(path).getinfo("xl/sharedStrings.xml")
    blob = bytearray(path.read_bytes())
    name_len = int.from_bytes(blob[info.header_offset + 26:info.header_offset + 28], "little")
    extra_len = int.from_bytes(blob[info.header_offset + 28:info.header_offset + 30], "little")
    if how == "bytes":  # a byte of the compressed data
        blob[info.header_offset + 30 + name_len + extra_len + info.compress_size // 2] ^= 0x55
    else:  # the CRC recorded in the central directory
        at = blob.index(b"PK\x01\x02")
        while blob[at + 46:at + 46 + name_len] != b"xl/sharedStrings.xml":
            at = blob.index(b"PK\x01\x02", at + 4)
        blob[at + 16] ^= 0x01
    path.write_bytes(bytes(blob))
    with Package(path) as pkg, pytest.raises(PackageError, match="sharedStrings.xml bị hỏng"):
        pkg.save(tmp_path / "out.xlsx")

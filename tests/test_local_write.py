"""Local write-back on real .xlsx files: staff cells untouched, flags on the right rows, no
rewrite when nothing changed, workbooks with charts, formulas or macros written in place, never
a write to a corrupt or changed file, backups rotated."""
from __future__ import annotations

import dataclasses
import os
import re
import unicodedata
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from openpyxl.chart import BarChart, Reference
from openpyxl.comments import Comment
from openpyxl.styles import Font
from openpyxl.worksheet.datavalidation import DataValidation

from helpers import TEMPLATE, cell, meeting
from sheets_sync.core.checker import read_unit
from sheets_sync.core.config import UnitConfig
from sheets_sync.core.findings import ERROR, INFO, WARNING, Finding
from sheets_sync.core.flagplan import (
    DRY_RUN,
    SKIPPED,
    UNCHANGED,
    WRITTEN,
    FlagPlan,
    flag_row_height,
)
from sheets_sync.core.rules.catalog import rule_fix_vi
from sheets_sync.sources.local_reader import LocalBackend, file_sha256, read_xlsx
from sheets_sync.sources.local_writer import backups_of, write_local
from sheets_sync.sync.writeplan import plan_unit

AS_OF = date(2026, 11, 25)
YEAR = 2026
LABELS = TEMPLATE.status_labels
STATUS, DETAILS = TEMPLATE.status_header, TEMPLATE.details_header
NOW = datetime(2026, 11, 25, 6, 0, 0)
INJECTION = '=IMPORTRANGE("https://docs.google.com/spreadsheets/d/x";"A1:B2")'


def headers(tab_id: str) -> list[str]:
    return [c.header for c in TEMPLATE.tab(tab_id).columns]


def ids(tab_id: str) -> list[str]:
    return [c.id for c in TEMPLATE.tab(tab_id).columns]


def messy_workbook(path: Path, chart: bool = False, formula: bool = False) -> Path:
    """A unit workbook filled the way staff fill it."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)

    # Chi bộ: title rows above an NFD header, no tool columns, widths, a merged title.
    ws = wb.create_sheet("Chi bộ")
    ws.append(["SỔ THEO DÕI CHI BỘ"])
    ws.merge_cells("A1:F1")
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([])
    ws.append([unicodedata.normalize("NFD", h) for h in headers("cells")])
    for code in ("CB01", "CB02"):
        ws.append([cell(code).get(c) for c in ids("cells")])
    ws.column_dimensions["A"].width = 11
    ws.column_dimensions["B"].width = 31
    for r in (4, 5):
        ws.cell(r, ids("cells").index("members") + 1).number_format = "0"

    # Sinh hoạt: extra staff columns in the middle, tool columns present but moved left of
    # "Ghi chú", dates formatted, a validation list, frozen header, a legacy comment.
    ws = wb.create_sheet("Sinh hoạt")
    cols = ids("meetings")
    order = cols[:3] + ["@who"] + cols[3:-1] + ["@status", "@details"] + cols[-1:] + ["@extra"]
    names = {"@who": "Người nhập", "@status": STATUS, "@details": DETAILS,
             "@extra": "Cột riêng của xã"}
    ws.append([names.get(c) or TEMPLATE.tab("meetings").column(c).header for c in order])
    rows = [meeting("CB01", YEAR, 9), meeting("CB01", YEAR, 10, meeting_date=date(2026, 10, 12)),
            meeting("CB02", YEAR, 10, note="=chuỗi, không phải công thức")]
    extra = {"@who": "Lan", "@status": None, "@details": None, "@extra": 7.5}
    for row in rows:
        ws.append([extra[c] if c in extra else row.get(c) for c in order])
    date_col = order.index("meeting_date") + 1
    for r in range(2, 5):
        ws.cell(r, date_col).number_format = "DD/MM/YYYY"
        ws.cell(r, order.index("score") + 1).number_format = "0.0"
    note = ws.cell(4, order.index("note") + 1)
    note.value, note.data_type = "=chuỗi, không phải công thức", "s"  # typed with a quote
    if formula:
        ws.cell(2, order.index("@extra") + 1).value = "=1+1"
    dv = DataValidation(type="list", formula1='"Tốt,Khá,Trung bình,Kém"', allow_blank=True)
    letter = openpyxl.utils.get_column_letter(order.index("rating") + 1)
    dv.add(f"{letter}2:{letter}200")
    ws.add_data_validation(dv)
    ws.column_dimensions["A"].width = 9
    ws.column_dimensions[openpyxl.utils.get_column_letter(order.index("@extra") + 1)].width = 22
    ws.freeze_panes = "A2"
    ws.cell(2, 1).comment = Comment("Đã kiểm tra", "Lan")

    # Triển khai: no tool columns; a grouped column range where they will be appended.
    ws = wb.create_sheet("Triển khai")
    ws.append(headers("briefings"))
    ws.append(["10/2026", date(2026, 9, 25), "Hội nghị", 12])
    ws.column_dimensions.group("H", "K", outline_level=1)

    # Dự sinh hoạt: header only.
    ws = wb.create_sheet("Dự sinh hoạt")
    ws.append(headers("visits"))

    if chart:
        ws = wb["Triển khai"]
        bar = BarChart()
        bar.add_data(Reference(ws, min_col=4, min_row=1, max_row=2), titles_from_data=True)
        ws.add_chart(bar, "J5")
    wb.save(path)
    return path


def findings_for(msg: str = "Sinh hoạt ngày 12/10/2026, ngoài khung ngày 1–7.") -> list[Finding]:
    return [
        Finding("NT", "Sinh hoạt", 3, "CB01", "2026-10", "MEET-WINDOW", ERROR, msg),
        Finding("NT", "Sinh hoạt", 4, "CB02", "2026-10", "MEET-PREFERRED-DAY", INFO, "Ngày 3."),
        Finding("NT", "Chi bộ", 5, "CB02", None, "CELL-ASSIGNEE", WARNING, "Chưa phân công."),
        Finding("NT", "Triển khai", None, None, "2026-11", "BRIEF-DEADLINE", ERROR, INJECTION),
        Finding("NT", "Sinh hoạt", None, "=1+1", "2026-11", "MEET-MISSING", ERROR, "#N/A"),
    ]


def read(path: Path):
    return read_unit(LocalBackend(), TEMPLATE, UnitConfig("NT", "Đảng ủy xã Nhân Thịnh",
                                                          path=path), AS_OF)


def plan_for(path: Path, findings: list[Finding]):
    r = read(path)
    assert r.data is not None, r.result.message
    return r, plan_unit(TEMPLATE, r, findings, AS_OF, YEAR)


def tool_cells(plan: FlagPlan) -> dict[str, tuple[int, set[int]]]:
    return {t: (tc.header_row, {tc.status_col + 1, tc.details_col + 1})
            for t, tc in plan.tool_columns.items()}


def snapshot(path: Path, plan: FlagPlan) -> dict:
    """Everything staff own: values, number formats, validations, widths, merges, panes."""
    wb = openpyxl.load_workbook(path)
    tool = tool_cells(plan)
    out = {"sheets": [], "cells": {}, "validations": {}, "widths": {}, "merged": {}, "panes": {},
           "comments": {}}
    for ws in wb.worksheets:
        if ws.title in (TEMPLATE.check_tab, TEMPLATE.guide_tab):
            continue
        out["sheets"].append(ws.title)
        header_row, cols = tool.get(ws.title, (None, set()))
        for row in ws.iter_rows():
            for c in row:
                if header_row is not None and c.column in cols and c.row >= header_row:
                    continue
                if c.value is not None or c.number_format != "General":
                    out["cells"][(ws.title, c.coordinate)] = (c.value, c.data_type,
                                                              c.number_format)
                if c.comment is not None:
                    out["comments"][(ws.title, c.coordinate)] = c.comment.text
        out["validations"][ws.title] = sorted(
            (str(dv.sqref), dv.type, dv.formula1) for dv in ws.data_validations.dataValidation)
        letters = {openpyxl.utils.get_column_letter(c) for c in cols}
        out["widths"][ws.title] = {k: (d.width, d.min, d.max, d.outlineLevel)
                                   for k, d in ws.column_dimensions.items()
                                   if k not in letters or d.min != d.max}
        out["merged"][ws.title] = sorted(str(m) for m in ws.merged_cells.ranges)
        out["panes"][ws.title] = ws.freeze_panes
    return out


def col_ranges_ok(path: Path) -> bool:
    """No two <col> ranges of a sheet overlap (Excel would refuse the file)."""
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if not name.startswith("xl/worksheets/sheet"):
                continue
            xml = zf.read(name).decode()
            spans = sorted((int(a), int(b)) for a, b in
                           re.findall(r'<col [^>]*?min="(\d+)" max="(\d+)"', xml))
            if any(b1 >= a2 for (_, b1), (a2, _) in zip(spans, spans[1:])):
                return False
    return True


def stamp(path: Path) -> tuple[str, int]:
    return file_sha256(path), path.stat().st_mtime_ns


def dirs(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "out", tmp_path / "backups"


# --- in place -------------------------------------------------------------------------------------

def test_flags_written_staff_cells_untouched_and_rerun_is_a_no_op(tmp_path):
    path = messy_workbook(tmp_path / "nhan-thinh.xlsx")
    out, backups = dirs(tmp_path)
    r, plan = plan_for(path, findings_for())
    before = snapshot(path, plan)
    original = path.read_bytes()
    assert plan.new_columns["Chi bộ"] == [(11, STATUS), (12, DETAILS)]
    assert "Sinh hoạt" not in plan.new_columns

    res = write_local(path, plan, r.raw.meta, out, backups, now=NOW)
    assert res.status == WRITTEN, res.message
    assert res.path == path and res.skipped_rows == []
    assert res.cells_written == len(plan.changes)
    assert "Đã ghi" in res.message and "Kiểm tra" in res.message
    assert snapshot(path, plan) == before
    assert col_ranges_ok(path)
    assert backups_of(path, backups, "NT")[0].read_bytes() == original
    assert backups_of(path, backups, "NT")[0].name == "NT-nhan-thinh-20261125-060000.xlsx"

    wb = openpyxl.load_workbook(path)
    ws = wb["Sinh hoạt"]
    hdr = [c.value for c in ws[1]]
    st, de = hdr.index(STATUS) + 1, hdr.index(DETAILS) + 1
    assert [ws.cell(r, st).value for r in (2, 3, 4)] == [LABELS["ok"], LABELS["error"],
                                                         LABELS["ok"]]
    assert ws.cell(3, de).value == ("Sinh hoạt ngoài ngày quy định: Sinh hoạt ngày 12/10/2026, "
                                     "ngoài khung ngày 1–7 → " + rule_fix_vi("MEET-WINDOW"))
    assert ws.cell(4, de).value is None  # a note is summarised in Kiểm tra, not in the row
    assert ws.cell(2, de).value is None
    # the flagged row is as tall as its wrapped tool cells; the others keep the default
    assert ws.row_dimensions[3].height == flag_row_height(LABELS["error"], ws.cell(3, de).value)
    assert ws.row_dimensions[3].height > 15 and ws.row_dimensions[4].height is None
    assert ws.cell(4, hdr.index("Ghi chú") + 1).data_type == "s"  # staff "=…" text stays text
    ws = wb["Chi bộ"]
    assert ws.cell(3, 12).value == STATUS and ws.cell(3, 13).value == DETAILS
    assert ws.cell(3, 12).font.b and ws.cell(3, 13).fill.fgColor.rgb.endswith("D9D9D9")
    assert ws.column_dimensions["M"].width == 50
    assert [ws.cell(r, 12).value for r in (4, 5)] == [LABELS["ok"], LABELS["warning"]]
    assert ws.cell(5, 13).value == ("Chưa phân công phụ trách: Chưa phân công → "
                                     + rule_fix_vi("CELL-ASSIGNEE"))
    assert ws.cell(5, 13).alignment.wrap_text
    ws = wb["Triển khai"]
    assert ws.cell(1, 7).value == STATUS and ws.cell(2, 7).value == LABELS["ok"]
    assert wb.sheetnames[-2:] == [TEMPLATE.check_tab, TEMPLATE.guide_tab]

    # Same data, same findings: nothing to write, the file keeps its SHA-256 and mtime.
    stamp1 = stamp(path)
    r2, plan2 = plan_for(path, findings_for())
    assert plan2.is_empty, plan2.describe()
    res2 = write_local(path, plan2, r2.raw.meta, out, backups, now=NOW + timedelta(hours=1))
    assert res2.status == UNCHANGED and stamp(path) == stamp1
    assert len(backups_of(path, backups, "NT")) == 1


def test_injection_like_messages_stay_strings(tmp_path):
    path = messy_workbook(tmp_path / "u.xlsx")
    out, backups = dirs(tmp_path)
    findings = findings_for(msg="=HYPERLINK(\"http://x\")") + [
        Finding("NT", "Sinh hoạt", 2, "CB01", "2026-09", "MEET-CONTENT", WARNING, "ok")]
    r, plan = plan_for(path, findings)
    assert write_local(path, plan, r.raw.meta, out, backups, now=NOW).status == WRITTEN
    wb = openpyxl.load_workbook(path)
    ws = wb[TEMPLATE.check_tab]
    cells = {c.value: c for row in ws.iter_rows() for c in row if c.value is not None}
    late, missing = f"Triển khai muộn: {INJECTION}", "Thiếu sinh hoạt thường kỳ: #N/A"
    assert cells[late].data_type == "s"
    assert cells["=1+1"].data_type == "s"
    assert cells[missing].data_type == "s"
    raw = read_xlsx(path)  # and values read back as the same strings (no formula, no error)
    flat = {v for row in raw.sheet(TEMPLATE.check_tab).rows for v in row}
    assert {late, "=1+1", missing} <= flat
    with zipfile.ZipFile(path) as zf:
        xml = "".join(zf.read(n).decode() for n in zf.namelist() if n.startswith("xl/worksheets"))
    assert "<f>" not in xml and "IMPORTRANGE" in xml


def test_changed_row_keys_skip_only_that_row(tmp_path):
    path = messy_workbook(tmp_path / "u.xlsx")
    out, backups = dirs(tmp_path)
    r, plan = plan_for(path, findings_for())
    target = next(c for c in plan.changes if c.sheet == "Sinh hoạt" and c.row == 3)
    moved = dataclasses.replace(target, keys=((target.keys[0][0], "CB09"), *target.keys[1:]))
    plan.changes = [moved if c is target else c for c in plan.changes]
    res = write_local(path, plan, r.raw.meta, out, backups, now=NOW)
    assert res.status == WRITTEN
    assert res.skipped_rows == [("Sinh hoạt", 3)]
    assert "dòng đã thay đổi, sẽ ghi ở lần sau" in res.message
    ws = openpyxl.load_workbook(path)["Sinh hoạt"]
    assert ws.cell(3, target.col + 1).value != LABELS["error"]


def test_rich_text_staff_cells_keep_formatting_and_still_match_keys(tmp_path):
    from openpyxl.cell.rich_text import CellRichText, TextBlock
    from openpyxl.cell.text import InlineFont

    path = messy_workbook(tmp_path / "u.xlsx")
    wb = openpyxl.load_workbook(path, rich_text=True)
    wb["Chi bộ"]["A5"] = CellRichText(["CB", TextBlock(InlineFont(b=True), "02")])
    wb.save(path)
    out, backups = dirs(tmp_path)
    r, plan = plan_for(path, findings_for())
    res = write_local(path, plan, r.raw.meta, out, backups, now=NOW)
    assert res.status == WRITTEN and res.skipped_rows == []
    wb = openpyxl.load_workbook(path, rich_text=True)
    value = wb["Chi bộ"]["A5"].value
    assert isinstance(value, CellRichText) and str(value) == "CB02"
    assert wb["Chi bộ"].cell(5, 12).value == LABELS["warning"]


def test_dry_run_writes_nothing(tmp_path):
    path = messy_workbook(tmp_path / "u.xlsx")
    out, backups = dirs(tmp_path)
    r, plan = plan_for(path, findings_for())
    s = stamp(path)
    res = write_local(path, plan, r.raw.meta, out, backups, now=NOW, dry_run=True)
    assert res.status == DRY_RUN and "sẽ ghi trực tiếp" in res.message
    assert stamp(path) == s and not backups.exists() and not out.exists()


def test_backups_rotate(tmp_path):
    path = messy_workbook(tmp_path / "u.xlsx")
    out, backups = dirs(tmp_path)
    (backups).mkdir()
    (backups / "u-extra-20200101-000000.xlsx").write_bytes(b"other file")  # not ours
    for k in range(4):
        r, plan = plan_for(path, findings_for(msg=f"Lần {k}."))
        res = write_local(path, plan, r.raw.meta, out, backups, backup_keep=2,
                          now=NOW + timedelta(minutes=k))
        assert res.status == WRITTEN
    assert [p.name for p in backups_of(path, backups, "NT")] == ["NT-u-20261125-060200.xlsx",
                                                           "NT-u-20261125-060300.xlsx"]
    assert (backups / "u-extra-20200101-000000.xlsx").exists()
    # same second twice: a second backup name, not an overwrite
    r, plan = plan_for(path, findings_for(msg="Lần 5."))
    write_local(path, plan, r.raw.meta, out, backups, backup_keep=5, now=NOW + timedelta(minutes=3))
    assert [p.name for p in backups_of(path, backups, "NT")][-2:] == ["NT-u-20261125-060300.xlsx",
                                                                "NT-u-20261125-060300-2.xlsx"]


# --- never written --------------------------------------------------------------------------------

def test_file_changed_between_read_and_write_is_skipped(tmp_path):
    path = messy_workbook(tmp_path / "u.xlsx")
    out, backups = dirs(tmp_path)
    r, plan = plan_for(path, findings_for())
    wb = openpyxl.load_workbook(path)  # a person saves the file meanwhile
    wb["Sinh hoạt"]["A2"] = "CB03"
    wb.save(path)
    s = stamp(path)
    res = write_local(path, plan, r.raw.meta, out, backups, now=NOW)
    assert res.status == SKIPPED and "đang mở hoặc vừa được sửa" in res.message
    assert stamp(path) == s and not backups.exists()
    assert not list(tmp_path.glob(".u.*"))  # no temp file left


def test_same_size_and_mtime_but_other_content_is_skipped(tmp_path):
    path = messy_workbook(tmp_path / "u.xlsx")
    out, backups = dirs(tmp_path)
    r, plan = plan_for(path, findings_for())
    data = bytearray(path.read_bytes())
    data[-30] ^= 0x01
    st = path.stat()
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    s = stamp(path)
    res = write_local(path, plan, r.raw.meta, out, backups, now=NOW)
    assert res.status == SKIPPED and stamp(path) == s


def test_corrupt_file_is_never_written(tmp_path):
    out, backups = dirs(tmp_path)
    good = messy_workbook(tmp_path / "good.xlsx")
    _, plan = plan_for(good, findings_for())

    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"PK\x03\x04 this is not really a workbook")
    r = read(junk)
    assert r.data is None and r.raw is None
    s = stamp(junk)
    res = write_local(junk, plan, {}, out, backups, now=NOW)
    assert res.status == SKIPPED and stamp(junk) == s

    broken = tmp_path / "broken.xlsx"  # a real zip, not a workbook, "read" with its own hash
    with zipfile.ZipFile(broken, "w") as zf:
        zf.writestr("[Content_Types].xml", "<không phải xml")
    st = broken.stat()
    meta = {"sha256": file_sha256(broken), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    s = stamp(broken)
    res = write_local(broken, plan, meta, out, backups, now=NOW)
    assert res.status == SKIPPED and "hỏng" in res.message
    assert stamp(broken) == s and not backups.exists() and not out.exists()


def test_a_zip_of_an_unsupported_version_is_reported_not_raised(tmp_path):
    """zipfile raises NotImplementedError (not BadZipFile) for a member needing a newer zip
    version (found by the fuzz suite): it is a damaged workbook like any other."""
    path = messy_workbook(tmp_path / "v64.xlsx")
    data = bytearray(path.read_bytes())
    at = data.index(b"PK\x01\x02")  # first central-directory entry: "version needed" at +6
    data[at + 6:at + 8] = (64).to_bytes(2, "little")
    path.write_bytes(bytes(data))

    r = read(path)
    assert r.data is None and r.result.status == "invalid"
    assert "bị hỏng" in r.result.message and "v64.xlsx" in r.result.message


# --- in place, whatever the workbook holds (issue 11) ---------------------------------------------

def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def test_workbook_with_chart_is_flagged_in_place(tmp_path):
    path = messy_workbook(tmp_path / "co-bieu-do.xlsx", chart=True)
    out, backups = dirs(tmp_path)
    before = _parts(path)
    r, plan = plan_for(path, findings_for())
    snap = snapshot(path, plan)
    res = write_local(path, plan, r.raw.meta, out, backups, now=NOW)
    assert res.status == WRITTEN and res.path == path, res.message
    assert not out.exists()
    after = _parts(path)
    for name in before:
        if name.startswith(("xl/charts/", "xl/drawings/", "xl/comments", "xl/sharedStrings")):
            assert after[name] == before[name], name
    assert snapshot(path, plan) == snap
    ws = openpyxl.load_workbook(path)["Sinh hoạt"]
    hdr = [c.value for c in ws[1]]
    assert ws.cell(3, hdr.index(STATUS) + 1).value == LABELS["error"]
    s = stamp(path)
    r2, plan2 = plan_for(path, findings_for())
    assert plan2.is_empty
    assert write_local(path, plan2, r2.raw.meta, out, backups, now=NOW).status == UNCHANGED
    assert stamp(path) == s


def test_formula_in_staff_cell_is_kept_and_written_in_place(tmp_path):
    path = messy_workbook(tmp_path / "u.xlsx", formula=True)
    out, backups = dirs(tmp_path)
    r, plan = plan_for(path, findings_for())
    res = write_local(path, plan, r.raw.meta, out, backups, now=NOW)
    assert res.status == WRITTEN, res.message
    ws = openpyxl.load_workbook(path)["Sinh hoạt"]
    hdr = [c.value for c in ws[1]]
    assert ws.cell(2, hdr.index("Cột riêng của xã") + 1).value == "=1+1"


def test_macro_part_survives_byte_for_byte(tmp_path):
    path = messy_workbook(tmp_path / "u.xlsx")
    with zipfile.ZipFile(path, "a") as zf:  # e.g. a macro project left by another tool
        zf.writestr("xl/vbaProject.bin", b"\x00\x01")
    out, backups = dirs(tmp_path)
    r, plan = plan_for(path, findings_for())
    res = write_local(path, plan, r.raw.meta, out, backups, now=NOW)
    assert res.status == WRITTEN, res.message
    assert _parts(path)["xl/vbaProject.bin"] == b"\x00\x01"


def test_empty_plan_touches_nothing_even_without_backup_dir(tmp_path):
    path = messy_workbook(tmp_path / "u.xlsx")
    r = read(path)
    s = stamp(path)
    res = write_local(path, FlagPlan("NT"), r.raw.meta, tmp_path / "o", tmp_path / "b")
    assert res.status == UNCHANGED and stamp(path) == s
    assert not (tmp_path / "o").exists() and not (tmp_path / "b").exists()


@pytest.mark.parametrize("meta", [{}, {"size": 1, "mtime_ns": 1}])
def test_refuses_without_a_successful_read(tmp_path, meta):
    path = messy_workbook(tmp_path / "u.xlsx")
    _, plan = plan_for(path, findings_for())
    s = stamp(path)
    res = write_local(path, plan, meta, tmp_path / "o", tmp_path / "b")
    assert res.status == SKIPPED and stamp(path) == s


def test_end_to_end_with_real_findings_is_idempotent(tmp_path):
    """check -> plan -> write, then the same again: the second run writes nothing."""
    from sheets_sync.core.checker import check
    from sheets_sync.core.config import load_config
    from sheets_sync.sources import backend_for

    path = messy_workbook(tmp_path / "nhan-thinh.xlsx")
    cfg = tmp_path / "config.toml"
    cfg.write_text('[parent]\nname = "Đảng bộ huyện Lý Nhân"\n\n[[units]]\ncode = "NT"\n'
                   'name = "Đảng ủy xã Nhân Thịnh"\npath = "nhan-thinh.xlsx"\n', encoding="utf-8")
    config = load_config(cfg)
    out, backups = dirs(tmp_path)

    report, reads = check(config, backend_for(config), AS_OF)
    assert report.findings and reads[0].data is not None
    plan = plan_unit(TEMPLATE, reads[0], report.findings, AS_OF, report.year)
    before = snapshot(path, plan)
    res = write_local(path, plan, reads[0].raw.meta, out, backups, now=NOW)
    assert res.status == WRITTEN, res.message
    assert snapshot(path, plan) == before

    report2, reads2 = check(config, backend_for(config), AS_OF)
    assert [f.to_json() for f in report2.sorted_findings()] == \
        [f.to_json() for f in report.sorted_findings()]  # tool columns change no finding
    plan2 = plan_unit(TEMPLATE, reads2[0], report2.findings, AS_OF, report2.year)
    assert plan2.is_empty, plan2.describe()
    s = stamp(path)
    assert write_local(path, plan2, reads2[0].raw.meta, out, backups).status == UNCHANGED
    assert stamp(path) == s

    # every row finding is on the row it names, in the Chi tiết column of that row
    wb = openpyxl.load_workbook(path)
    for f in report.findings:
        if f.row is None or f.severity == INFO:  # notes: summarised in Kiểm tra
            continue
        tc = plan.tool_columns[f.tab]
        details = wb[f.tab].cell(f.row, tc.details_col + 1).value or ""
        assert f.flag_text in details.split("\n")

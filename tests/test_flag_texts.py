"""Flags for people (issue 13): rule names and fixes, row heights, the Kiểm tra to-do list, one
meaning of accepted explanations, the terminal table, CSV neutralisation, periods."""
from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from sheets_sync.cli import cli
from sheets_sync.core.config import load_config
from sheets_sync.core.csvtext import csv_safe
from sheets_sync.core.errors import ConfigError
from sheets_sync.core.findings import (
    ACCEPTED,
    ERROR,
    INFO,
    OK,
    WARNING,
    Finding,
    Report,
    UnitResult,
)
from sheets_sync.core.flagplan import (
    DETAILS_WIDTH,
    LINE_HEIGHT,
    STATUS_WIDTH,
    flag_row_height,
    wrapped_lines,
)
from sheets_sync.core.periods import fmt_period
from sheets_sync.core.rules.catalog import RULES, rule_fix_vi, rule_name_vi
from sheets_sync.core.template import load_template
from sheets_sync.outputs.check_formats import run_summary, to_csv, to_table
from sheets_sync.sources import backend_for
from sheets_sync.sync.pipeline import run as run_job
from sheets_sync.sync.pipeline import run_check
from sheets_sync.sync.writeplan import (
    SEVERITY_MARKED,
    TODO_HEADER,
    plan_unit,
    row_details,
    row_status,
)
from sheets_sync_demo import generate_demo

TEMPLATE = load_template()
AS_OF = date(2026, 11, 25)


def has_diacritics(text: str) -> bool:
    return "đ" in text.lower() or any(unicodedata.combining(ch)
                                      for ch in unicodedata.normalize("NFD", text))


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    return generate_demo(tmp_path_factory.mktemp("texts"), 2026, AS_OF, 2026)


@pytest.fixture(scope="module")
def checked(demo):
    config = load_config(demo)
    return config, run_check(config, backend_for(config), AS_OF, None, (), history=False)


# --- rule names ----------------------------------------------------------------------------------

@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_every_rule_has_a_vietnamese_name_and_fix(rule):
    for text in (rule.name_vi, rule.fix_vi):
        assert text and text == unicodedata.normalize("NFC", text) and text.strip() == text
        assert has_diacritics(text), text  # written with diacritics
        assert not re.search(r"[A-Z]{3,}-[A-Z]", text)  # no rule ID inside
    assert rule.name_vi[0].isupper() and not rule.fix_vi[0].isupper()
    assert rule_name_vi(rule.id) == rule.name_vi and rule_fix_vi(rule.id) == rule.fix_vi


def test_rule_name_accessor_falls_back_to_the_id():
    assert rule_name_vi("MEET-PREMEETING") == "Thiếu họp chi ủy"
    assert rule_name_vi("NO-SUCH-RULE") == "NO-SUCH-RULE" and rule_fix_vi("NO-SUCH-RULE") == ""


def test_rules_command_shows_name_and_fix():
    doc = json.loads(CliRunner().invoke(cli, ["rules", "--format", "json"]).output)
    assert {r["id"]: (r["name_vi"], r["fix_vi"]) for r in doc} == {
        r.id: (r.name_vi, r.fix_vi) for r in RULES}
    table = CliRunner().invoke(cli, ["rules"]).output
    for r in RULES:
        assert f"{r.name_vi} — {r.id}" in table and f"Cách khắc phục: {r.fix_vi}." in table


def test_flag_line_starts_with_the_name_and_ends_with_the_fix():
    f = Finding("NT", "Sinh hoạt", 14, "CB01", "2026-10", "MEET-PREMEETING", ERROR,
                "Chưa có ngày họp chi ủy chuẩn bị buổi sinh hoạt.")
    assert f.flag_text == ("Thiếu họp chi ủy: Chưa có ngày họp chi ủy chuẩn bị buổi sinh hoạt "
                           "→ nhập ngày họp chi ủy chuẩn bị")
    warned = Finding("NT", "Sinh hoạt", 14, "CB01", "2026-10", "MEET-WINDOW", WARNING, "Lùi.")
    assert warned.flag_text.endswith("→ " + rule_fix_vi("MEET-WINDOW", WARNING))
    assert rule_fix_vi("MEET-WINDOW", WARNING) != rule_fix_vi("MEET-WINDOW", ERROR)


# --- accepted explanations: one meaning ----------------------------------------------------------

def _accepted_rows(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.accepted and f.severity != INFO]


def test_accepted_counts_agree_everywhere(demo, checked, tmp_path):
    config, outcome = checked
    report = outcome.report
    accepted = _accepted_rows(report.findings)
    assert accepted, "the demo accepts one explanation (NH, MEET-WINDOW)"
    counts = report.counts()
    assert counts[ACCEPTED] == len(accepted)
    assert counts[ERROR] == sum(1 for f in report.findings if f.severity == ERROR
                                and not f.accepted)
    # check --format json: per finding and in the counts
    r = CliRunner().invoke(cli, ["check", "--config", str(demo), "--as-of", AS_OF.isoformat(),
                                 "--format", "json", "--no-history"])
    doc = json.loads(r.stdout)
    assert doc["counts"] == counts
    assert sum(f["accepted"] for f in doc["findings"]) == len(accepted)
    # check --format csv: the "accepted" column
    rows = list(csv.DictReader(io.StringIO(to_csv(report).lstrip("\ufeff"))))
    assert sum(r["accepted"] == "true" for r in rows) == len(accepted)
    # the table: NH counts its accepted error apart, not as a violation
    table = to_table(report, limit=None, width=None)
    nh = next(line for line in table.splitlines() if line.startswith("NH "))
    nh_counts = report.counts([f for f in report.findings if f.unit == "NH"])
    assert nh.split()[-4:] == [str(nh_counts[k]) for k in (ERROR, WARNING, INFO, ACCEPTED)]
    line = next(line for line in table.splitlines() if "MEET-WINDOW" in line and "NH" in line
                and "chấp nhận" in line)
    assert "  ✔  Sinh hoạt ngoài ngày quy định: " in line and "(đã chấp nhận giải trình)" in line
    # the flag cell and Kiểm tra of that unit
    read = next(r for r in outcome.reads if r.config.code == "NH")
    plan = plan_unit(TEMPLATE, read, report.findings, AS_OF, report.year)
    f = next(f for f in accepted if f.unit == "NH")
    tc = plan.tool_columns[f.tab]
    cells = {(c.row, c.col): c.value for c in plan.changes if c.sheet == f.tab}
    assert cells[(f.row, tc.status_col)] == TEMPLATE.status_labels["accepted"]
    assert f"{f.flag_text}" in cells[(f.row, tc.details_col)].split("\n")
    assert f.flag_text.startswith("✔ ") and f.flag_text.endswith("đã chấp nhận giải trình")
    grid = plan.check_grid
    assert grid[3][0].startswith(f"Vi phạm: {nh_counts[ERROR]} · Cảnh báo: {nh_counts[WARNING]}")
    assert grid[3][0].endswith(f"Đã chấp nhận giải trình: {nh_counts[ACCEPTED]}")
    todo = [row for row in grid[5:] if row and row[-1] == f.rule and row[1].endswith(f"{f.row}")]
    assert todo and todo[0][0] == SEVERITY_MARKED[ACCEPTED] and todo[0][6] == "Đã chấp nhận"
    # the run summary: the same split
    out = run_job(config, backend_for(config), AS_OF, None, ("NH",), dry_run=True)
    summary = run_summary(out, "X").splitlines()
    nh_line = next(line for line in summary if line.startswith("NH "))
    assert nh_line.split()[-5:-2] == [str(nh_counts[k]) for k in (ERROR, WARNING, ACCEPTED)]


# --- row heights and the Kiểm tra to-do list, against the findings ------------------------------

def test_row_heights_and_todo_list_match_the_findings(checked):
    _config, outcome = checked
    report = outcome.report
    for read in outcome.reads:
        code = read.config.code
        mine = [f for f in report.findings if f.unit == code]
        plan = plan_unit(TEMPLATE, read, report.findings, AS_OF, report.year)
        # heights: every data row whose tool cells need more than one line, none other
        for tab in read.data.tabs.values():
            title = tab.title or tab.tab.name
            if title not in plan.tool_columns:
                continue
            heights = plan.row_heights.get(title, {})
            for i, row in enumerate(tab.rows):
                found = [f for f in mine if f.tab == tab.tab.name and f.row == row]
                status = row_status(TEMPLATE, found, tab.explained(i))
                details = row_details(found)
                want = flag_row_height(status, details)
                lines = max(wrapped_lines(status, STATUS_WIDTH),
                            wrapped_lines(details, DETAILS_WIDTH))
                assert want == (None if lines == 1 else lines * LINE_HEIGHT + 2)
                assert len(details.split("\n")) <= lines
                if want is not None:  # new flags on a workbook without them: all planned
                    assert heights.get(row) == want, (code, title, row)
                else:
                    assert row not in heights
                assert all(f.severity != INFO for f in found) or \
                    not any(f.flag_text in details for f in found if f.severity == INFO)
        # to-do list: each error and warning once, by tab order then row, linked to its row
        grid = plan.check_grid
        assert grid[4] == TODO_HEADER and plan.check_header_rows == 5
        end = grid.index([], 5)
        todo = grid[5:end]
        expected = [f for f in mine if f.severity != INFO]
        if not expected:
            assert todo == [["✔ Không có", "", "", "", "Không có vi phạm hay cảnh báo nào."]]
            continue
        assert len(todo) == len(expected)
        assert sorted((r[-1], r[1]) for r in todo) == sorted(
            (f.rule, f"{f.tab}, dòng {f.row}" if f.row is not None else f.tab or "")
            for f in expected)
        order = [t.name for t in TEMPLATE.tabs]
        keys = [(order.index(r[1].split(",")[0]) if r[1].split(",")[0] in order else 99,
                 int(r[1].rsplit(" ", 1)[1]) if ", dòng " in r[1] else 10**9) for r in todo]
        assert keys == sorted(keys)
        for k, r in enumerate(todo, start=5):
            assert r[4].startswith(rule_name_vi(r[-1]) + ": ")
            assert r[0] in SEVERITY_MARKED.values()
            if ", dòng " in r[1]:
                sheet, row = plan.check_links[(k, 1)]
                assert row == int(r[1].rsplit(" ", 1)[1])
                assert sheet in {s.title for s in read.raw.sheets}
        # notes: one summary line per info rule, with its count
        notes = {}
        for f in mine:
            if f.severity == INFO:
                notes[f.rule] = notes.get(f.rule, 0) + 1
        summary = [r for r in grid if r and r[0] == SEVERITY_MARKED[INFO]]
        assert {r[-1]: r[4] for r in summary}.keys() == notes.keys()
        for r in summary:
            assert r[4].startswith(f"{rule_name_vi(r[-1])}: {notes[r[-1]]} lần")


def test_row_heights_are_idempotent_and_restored_when_flags_clear(checked):
    from sheets_sync.sync.writeplan import apply_to_raw

    _config, outcome = checked
    read = next(r for r in outcome.reads if r.config.code == "NM")
    findings = outcome.report.findings
    plan = plan_unit(TEMPLATE, read, findings, AS_OF, outcome.report.year)
    tall = {(t, r) for t, hs in plan.data_row_heights().items() for r, h in hs.items() if h}
    assert tall
    import copy
    raw = copy.deepcopy(read.raw)
    apply_to_raw(raw, plan)
    from dataclasses import replace
    again = plan_unit(TEMPLATE, replace(read, raw=raw), findings, AS_OF, outcome.report.year)
    assert again.row_heights == {} and again.is_empty
    # the same sheet with every finding gone: each tall row goes back to the default height
    clean = plan_unit(TEMPLATE, replace(read, raw=raw), [], AS_OF, outcome.report.year)
    cleared = {(t, r) for t, hs in clean.data_row_heights().items() for r, h in hs.items()}
    assert cleared == tall
    assert all(h is None for hs in clean.data_row_heights().values() for h in hs.values())


def test_notes_per_row_switch(tmp_path, demo):
    text = demo.read_text(encoding="utf-8")
    cfg = tmp_path / "c.toml"
    cfg.write_text(text + "\n[writeback]\nnotes_per_row = true\n", encoding="utf-8")
    assert load_config(cfg).notes_per_row is True
    assert load_config(demo).notes_per_row is False
    cfg.write_text(text + "\n[writeback]\nnotes_per_row = \"có\"\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="writeback.notes_per_row"):
        load_config(cfg)


def test_local_workbook_gets_heights_links_and_print_setup(demo, tmp_path):
    import shutil

    shutil.copytree(demo.parent, tmp_path / "d")
    cfg = tmp_path / "d" / demo.name
    config = load_config(cfg)
    out = run_job(config, backend_for(config), AS_OF, None, ("NM",))
    assert {w.status for w in out.writes} == {"written"}
    wb = openpyxl.load_workbook(config.unit("NM").path)
    plan_rows = 0
    for f in out.report.findings:
        if f.unit != "NM" or f.row is None or f.severity == INFO or f.tab not in wb.sheetnames:
            continue
        ws = wb[f.tab]
        hdr = next(r for r in ws.iter_rows(max_row=5, values_only=True)
                   if TEMPLATE.details_header in r)
        de = hdr.index(TEMPLATE.details_header) + 1
        st = hdr.index(TEMPLATE.status_header) + 1
        want = flag_row_height(ws.cell(f.row, st).value, ws.cell(f.row, de).value)
        assert ws.row_dimensions[f.row].height == want
        plan_rows += 1
    assert plan_rows
    kt = wb[TEMPLATE.check_tab]
    assert kt.page_setup.orientation == "landscape" and kt.page_setup.fitToWidth == 1
    assert kt.print_title_rows == "$1:$5"
    links = [c.hyperlink.location for row in kt.iter_rows() for c in row if c.hyperlink]
    assert links and all(re.fullmatch(r"'[^']+'!A\d+", loc) for loc in links)


# --- terminal, CSV, periods ----------------------------------------------------------------------

def _report(messages: list[str]) -> Report:
    report = Report(AS_OF, 2026, [UnitResult("NT", "Đảng ủy xã Nhân Thịnh", OK)])
    report.findings = [Finding("NT", "Sinh hoạt", 10 + k, "CB01", "2026-04", "MEET-WINDOW",
                               ERROR, m) for k, m in enumerate(messages)]
    report.findings.append(Finding("NT", "Sinh hoạt", None, "CB02", "2026-Q3",
                                   "THEME-QUARTERLY", ERROR, "Thiếu chuyên đề."))
    return report


@pytest.mark.parametrize("width", [60, 80, 120])
def test_check_table_fits_the_terminal(width):
    long = "Sinh hoạt ngày 12/10/2026, ngoài khung ngày 1–7; " * 6
    text = to_table(_report([long, "Ngắn."]), "Đảng bộ huyện Lý Nhân", width=width)
    lines = text.splitlines()
    assert max(len(unicodedata.normalize("NFC", line)) for line in lines) <= width
    body = " ".join(line.strip() for line in lines)
    assert "ngoài khung ngày 1–7;" in body and "[MEET-WINDOW]" in body
    assert "04/2026" in body and "Quý III/2026" in body and "2026-04" not in text


def test_a_unit_message_wraps_without_cutting_its_path():
    """The message under the table of a unit that could not be read names its file: the path
    wraps whole, never at one of its hyphens."""
    path = "/srv/so-lieu/dang-bo/nhan-thinh-2026.xlsx"
    report = Report(AS_OF, 2026, [UnitResult("NT", "Đảng ủy xã Nhân Thịnh", "unreachable",
                                             f"Không tìm thấy tệp {path}. Dùng số liệu cũ.")])
    text = to_table(report, "Đảng bộ huyện Lý Nhân", width=60)
    assert any(line.strip().startswith(path) for line in text.splitlines()), text


def test_run_table_stays_a_table_at_80_columns_with_a_stale_unit():
    """A unit on its last good data ("Dùng số liệu cũ", "không ghi") still fits 80 columns
    as a table (the names wrapped), and its message wraps under it, its path whole."""
    from types import SimpleNamespace

    path = "/srv/so-lieu/dang-bo/hoa-ly.xlsx"
    units = [UnitResult("NT", "Đảng ủy thị trấn Vĩnh Trụ", OK),
             UnitResult("HL", "Đảng ủy xã Hòa Lý", "stale",
                        f"Không tìm thấy tệp {path}. Dùng số liệu đọc lúc 05:57 05/12/2026.")]
    report = Report(AS_OF, 2026, units)
    rollup = "/srv/sheets-sync/ket-qua/tong-hop-dang-bo-huyen-ly-nhan-2026-12.xlsx"
    outcome = SimpleNamespace(report=report, writes=[], requests={}, rollup=rollup,
                              published=None)
    text = run_summary(outcome, "Đảng bộ huyện Lý Nhân", width=80)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80, text
    assert lines[-2:] == ["Bảng tổng hợp:", rollup]  # too long for one line: the path alone
    assert any(line.startswith("HL  ") and "Dùng số liệu cũ" in line for line in lines), text
    assert any(path in line for line in lines)


def test_check_table_is_plain_lines_when_not_a_terminal():
    long = "x" * 300
    text = to_table(_report([long, "Ngắn."]), width=None)
    details = text.split("Chi tiết:\n", 1)[1].splitlines()
    assert len(details) == 3  # one line per finding, nothing wrapped
    assert details[0].startswith("NT  Sinh hoạt, dòng 10  CB01  04/2026  ✖  ")
    assert long in details[0]


def test_check_csv_neutralises_every_text_field():
    report = Report(AS_OF, 2026, [UnitResult("=NT", "@Đảng ủy", OK)])
    report.findings = [Finding("=NT", "+Sinh hoạt", 3, "-CB01", "2026-04", "MEET-WINDOW", ERROR,
                               '=HYPERLINK("http://x","bấm")'),
                       Finding("=NT", "\tTab", 4, "\rCB", None, "MEET-WINDOW", WARNING, "ok")]
    rows = list(csv.reader(io.StringIO(to_csv(report).lstrip("\ufeff"))))
    header = rows[0]
    by_row = {r[header.index("row")]: dict(zip(header, r)) for r in rows[1:]}
    got, second = by_row["3"], by_row["4"]
    assert got["unit"] == "'=NT" and got["tab"] == "'+Sinh hoạt" and got["cell"] == "'-CB01"
    assert got["message"] == "'=HYPERLINK(\"http://x\",\"bấm\")" and got["unit_name"] == "'@Đảng ủy"
    assert got["row"] == "3" and got["period"] == "2026-04" and got["explained"] == "false"
    assert second["tab"] == "'\tTab" and second["cell"] == "'\rCB"
    for row in rows[1:]:
        assert not any(v[:1] in ("=", "+", "-", "@", "\t", "\r") for v in row)
    assert csv_safe(42) == 42 and csv_safe("ok") == "ok" and csv_safe("-1") == "'-1"


def test_periods_for_people():
    assert fmt_period("2026-04") == "04/2026"
    assert fmt_period("2026-Q3") == "Quý III/2026"
    assert fmt_period("2026") == "2026" and fmt_period(None) == "" and fmt_period("") == ""


def test_cli_wraps_on_a_terminal_and_prints_plain_lines_otherwise(monkeypatch, demo):
    import os
    import shutil
    import sys

    import sheets_sync.cli as cli_module

    class Console(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdout", Console())
    monkeypatch.setattr(shutil, "get_terminal_size",
                        lambda fallback=(100, 24): os.terminal_size((72, 24)))
    assert cli_module._terminal_width() == 72
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert cli_module._terminal_width() is None
    monkeypatch.undo()
    # CliRunner's stdout is no terminal: one plain line per finding, periods for people
    r = CliRunner().invoke(cli, ["check", "--config", str(demo), "--as-of", AS_OF.isoformat(),
                                 "--no-history", "--limit", "0"])
    details = r.stdout.split("Chi tiết:\n", 1)[1].splitlines()
    assert all(line.split()[0] in {"NT", "NM", "VT", "NH", "HL", "NN"} for line in details)
    assert all(re.search(r"\[[A-Z]+(-[A-Z]+)+\]$", line) for line in details)
    assert not re.search(r"\b20\d\d-\d\d\b", r.stdout)  # no machine periods in the table

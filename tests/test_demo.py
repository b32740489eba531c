"""The demo district (sheets_sync.demo): valid config, every non-History rule fires once checked,
most due cell-months are still clean, and the same seed gives the same workbooks."""
from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from sheets_sync.core.template import load_template
from sheets_sync_demo import default_period, generate_demo, main

YEAR, AS_OF, SEED = 2026, date(2026, 11, 25), 2026
HISTORY_RULES = {"DATA-DELETED", "DATA-CHANGED-CLOSED"}
MIN_CLEAN_SHARE = 0.60


@pytest.fixture(scope="module")
def demo_config(tmp_path_factory) -> Path:
    return generate_demo(tmp_path_factory.mktemp("demo"), YEAR, AS_OF, SEED)


@pytest.fixture(scope="module")
def checked(demo_config):
    from sheets_sync.core.checker import check
    from sheets_sync.core.config import load_config
    from sheets_sync.sources.local_reader import LocalBackend

    config = load_config(demo_config)
    report, reads = check(config, lambda unit: LocalBackend(), AS_OF)
    return config, report, reads


def _values(config_path: Path) -> dict:
    """Every cell value of every workbook, plus the config text."""
    out = {"config.toml": config_path.read_text(encoding="utf-8")}
    for path in sorted((config_path.parent / "data").glob("*.xlsx")):
        wb = openpyxl.load_workbook(path, read_only=True)
        out[path.name] = [(ws.title, [list(r) for r in ws.iter_rows(values_only=True)])
                          for ws in wb.worksheets]
        wb.close()
    return out


# --- the files ----------------------------------------------------------------------------------

def test_config_shape(demo_config):
    raw = tomllib.loads(demo_config.read_text(encoding="utf-8"))
    assert raw["parent"]["name"] == "Đảng bộ huyện Lý Nhân"
    assert len(raw["units"]) == 6
    for unit in raw["units"]:
        assert unit["path"].startswith("data/") and unit["path"].endswith(".xlsx")
        assert unit["path"].isascii()
        assert (demo_config.parent / unit["path"]).is_file()
    assert [u["rules"] for u in raw["units"] if "rules" in u] == [{"window_end_day": 10}]
    sups = raw["supervisors"]
    assert 4 <= len(sups) <= 6
    assert any(len(s["units"]) == 2 for s in sups)
    assert sum(bool(s.get("aliases")) for s in sups) == 1
    assert len(raw["accepted"]) == 1
    assert set(raw["labels"]) == {"parent", "unit", "cell"}
    assert "rules" in raw


def test_config_loads(checked):
    config, _, _ = checked
    assert config.parent_name == "Đảng bộ huyện Lý Nhân"
    assert sum(1 for u in config.units if u.rules["window_end_day"] == 10) == 1


def test_about_thirty_cells(checked):
    _, _, reads = checked
    from sheets_sync.core.rules.base import build_cells

    total = sum(len(build_cells(r.data)[0]) for r in reads)
    assert 25 <= total <= 35


def test_deterministic(tmp_path):
    a = generate_demo(tmp_path / "a", YEAR, AS_OF, SEED)
    b = generate_demo(tmp_path / "b", YEAR, AS_OF, SEED)
    assert _values(a) == _values(b)
    c = generate_demo(tmp_path / "c", YEAR, AS_OF, SEED + 1)
    assert _values(c) != _values(a)


# --- checked ------------------------------------------------------------------------------------

def test_all_units_read(checked):
    _, report, _ = checked
    assert [(u.code, u.status) for u in report.units] == [
        (u.code, "ok") for u in report.units]
    assert len(report.units) == 6


def test_every_rule_fires(checked):
    from sheets_sync.core.rules.catalog import RULES

    _, report, _ = checked
    fired = {f.rule for f in report.findings}
    expected = {r.id for r in RULES} - HISTORY_RULES
    assert expected - fired == set()


def test_two_level_rules_fire_at_both_levels(checked):
    _, report, _ = checked
    for rule in ("MEET-WINDOW", "MEMBER-EXCUSED-STREAK"):
        assert {f.severity for f in report.findings if f.rule == rule} == {"error", "warning"}


def test_explained_and_accepted(checked):
    _, report, _ = checked
    explained = [f for f in report.findings if f.explained]
    assert explained, "one flagged row carries a Giải trình"
    accepted = [f for f in report.findings if f.accepted]
    assert [(f.unit, f.rule, f.cell) for f in accepted] == [("NH", "MEET-WINDOW", "CB03")]
    assert all(f.explained for f in accepted)


def test_supervisor_month_missed(checked):
    _, report, _ = checked
    sup = [f for f in report.findings if f.rule == "SUP-MONTHLY"]
    assert [(f.period, f.cell) for f in sup] == [("2026-05", None)]
    assert "Đỗ Thị Mai" in sup[0].message


def test_mostly_clean(checked):
    """At least 60% of the due cell-months are clean: the regular meeting exists and no error or
    warning finding is about that cell and month."""
    from sheets_sync.core.rules.base import (
        code_key,
        due_months,
        first_regular_meetings,
        make_context,
        month_key,
    )

    _, report, reads = checked
    flagged = {(f.unit, code_key(f.cell), f.period) for f in report.findings
               if f.severity in ("error", "warning") and f.cell is not None}
    due = clean = 0
    for r in reads:
        ctx = make_context(r.data, r.config.rules, AS_OF, YEAR)
        held = first_regular_meetings(ctx.tab("meetings"))
        for key, cell in ctx.cells.items():
            for m in due_months(ctx):
                if not cell.active(YEAR, m):
                    continue
                due += 1
                period = month_key(YEAR, m)
                if (key, period) in held and (r.config.code, key, period) not in flagged:
                    clean += 1
    assert due >= 300  # ~30 cells × 11 due months
    assert clean / due >= MIN_CLEAN_SHARE, f"{clean}/{due} = {clean / due:.0%} clean"


# --- command line -------------------------------------------------------------------------------

def test_default_period():
    assert default_period(date(2026, 11, 25), None) == (2026, date(2026, 11, 25))
    assert default_period(date(2026, 7, 1), None) == (2026, date(2026, 7, 1))
    assert default_period(date(2026, 3, 10), None) == (2025, date(2025, 12, 31))
    assert default_period(date(2026, 3, 10), 2026) == (2026, date(2026, 3, 10))


def test_main(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["--out", str(out), "--as-of", "2026-03-10", "--seed", "7"]) == 0
    printed = capsys.readouterr().out.strip()
    assert Path(printed) == out / "config.toml"
    assert Path(printed).is_file()
    wb = openpyxl.load_workbook(out / "data" / "nhan-thinh.xlsx", read_only=True)
    sheet = wb[load_template().tab("meetings").name]
    months = {str(r[1]) for r in sheet.iter_rows(min_row=3, values_only=True) if r[1]}
    wb.close()
    assert months and all(m.endswith("/2025") for m in months)


def test_config_example_is_a_real_parent_config():
    """config.example.toml is what `init` writes for a real parent: it loads, keeps state and
    output beside itself (never under demo/), and names every header label."""
    from sheets_sync.core.config import load_config
    from sheets_sync.ops.init import LABEL_QUESTIONS

    root = Path(__file__).resolve().parents[1]
    text = (root / "config.example.toml").read_text(encoding="utf-8")
    assert "demo/" not in text.replace("demo/config.toml", "")
    config = load_config(root / "config.example.toml")
    assert config.state_dir == root / "state" and config.out_dir == root / "out"
    assert set(config.labels) == set(LABEL_QUESTIONS)
    assert {u.is_google for u in config.units} == {True, False}
    assert all(u.path.parent == root / "data" for u in config.units if not u.is_google)

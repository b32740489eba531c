"""`sheets-sync run` end to end on the demo district (local .xlsx), through the console script."""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from sheets_sync_demo import generate_demo

AS_OF = "2026-11-25"
EXE = str(Path(sys.executable).parent / "sheets-sync")


def sheets_sync(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([EXE, *args], capture_output=True, text=True, timeout=300)


def digest(folder: Path) -> dict[str, tuple[str, int]]:
    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.glob("*.xlsx"))}


def staff_cells(path: Path) -> dict:
    """Every cell of every sheet except the tool columns and tool tabs."""
    wb = openpyxl.load_workbook(path)
    out = {}
    for ws in wb.worksheets:
        if ws.title in ("Kiểm tra", "Hướng dẫn"):
            continue
        header_cols = set()
        for row in ws.iter_rows(max_row=6):
            for c in row:
                if c.value in ("Kết quả kiểm tra", "Chi tiết kiểm tra"):
                    header_cols.add(c.column)
        for row in ws.iter_rows():
            for c in row:
                if c.column not in header_cols and c.value is not None:
                    out[(ws.title, c.coordinate)] = c.value
    return out


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("run")
    return generate_demo(root, 2026, date(2026, 11, 25), 2026)


def test_run_writes_flags_builds_rollup_and_is_idempotent(demo):
    data = demo.parent / "data"
    before = {p.name: staff_cells(p) for p in data.glob("*.xlsx")}

    dry = sheets_sync("run", "--config", str(demo), "--as-of", AS_OF, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "ô cần cập nhật" in dry.stdout
    assert not (demo.parent / "out").exists() and not (demo.parent / "state").exists()

    first = sheets_sync("run", "--config", str(demo), "--as-of", AS_OF)
    assert first.returncode == 0, first.stdout + first.stderr
    latest = json.loads((demo.parent / "out" / "latest.json").read_text(encoding="utf-8"))
    rollup = Path(latest["path"])
    assert rollup.exists() and rollup.name == "tong-hop-dang-bo-huyen-ly-nhan-2026-11.xlsx"
    after_first = digest(data)
    for p in data.glob("*.xlsx"):
        assert staff_cells(p) == before[p.name], p.name
    wb = openpyxl.load_workbook(data / "nhan-thinh.xlsx")
    assert "Kiểm tra" in wb.sheetnames and "Hướng dẫn" in wb.sheetnames

    second = sheets_sync("run", "--config", str(demo), "--as-of", AS_OF)
    assert second.returncode == 0
    assert digest(data) == after_first  # SHA-256 and mtime unchanged

    rolled = sheets_sync("rollup", "--config", str(demo), "--as-of", AS_OF)
    assert rolled.returncode == 0 and rollup.name in rolled.stdout


def test_run_reports_a_missing_unit_and_continues(demo, tmp_path):
    shutil.copytree(demo.parent / "data", tmp_path / "data")
    cfg = tmp_path / "config.toml"
    cfg.write_text(demo.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "data" / "hoa-ly.xlsx").unlink()
    r = sheets_sync("run", "--config", str(cfg), "--as-of", AS_OF)
    assert r.returncode == 1
    assert "hoa-ly.xlsx" in r.stdout
    assert (tmp_path / "out" / "latest.json").exists()
    wb = openpyxl.load_workbook(tmp_path / "data" / "nhan-thinh.xlsx")
    assert "Kiểm tra" in wb.sheetnames

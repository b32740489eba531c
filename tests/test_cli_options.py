"""Common options where people type them (before or after the subcommand), and --dry-run that
shows the change cell by cell while the log says "đã ghi" only when something was written."""
from __future__ import annotations

import hashlib
import re
import shutil
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from sheets_sync.cli import cli
from sheets_sync_demo import generate_demo

AS_OF = "2026-11-25"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    return generate_demo(tmp_path_factory.mktemp("demo"), 2026, date(2026, 11, 25), 2026)


@pytest.fixture
def demo(pristine, tmp_path):
    shutil.copytree(pristine.parent / "data", tmp_path / "data")
    cfg = tmp_path / "config.toml"
    cfg.write_text(pristine.read_text(encoding="utf-8"), encoding="utf-8")
    return cfg


def invoke(*args: str, env: dict | None = None):
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.glob("*.xlsx"))}


@pytest.mark.parametrize("args", [
    ["run", "--verbose", "--dry-run", "--config", "{cfg}", "--as-of", AS_OF, "--unit", "NT"],
    ["-v", "--config", "{cfg}", "run", "--dry-run", "--as-of", AS_OF, "--unit", "NT"],
    ["--as-of", AS_OF, "--unit", "NT", "run", "--dry-run", "--config", "{cfg}", "-v"],
    ["--config", "{cfg}", "--verbose", "--as-of", AS_OF, "run", "--unit", "NT", "--dry-run"],
])
def test_common_options_before_or_after_the_subcommand(demo, args):
    r = invoke(*[a.format(cfg=demo) for a in args])
    assert r.exit_code == 0, r.output
    assert "ngày kiểm tra 25/11/2026" in r.output  # --as-of reached the command
    assert "[1/1] Đã đọc NT" in r.output  # --verbose and --unit reached it too
    assert "Nhân Mỹ" not in r.output


def test_units_given_before_and_after_add_up(demo):
    r = invoke("--unit", "NT", "check", "--config", str(demo), "--as-of", AS_OF, "--unit", "NM",
               "--format", "json", "--no-history")
    assert r.exit_code == 0, r.output
    assert re.findall(r'"code": "(\w+)"', r.stdout)[:2] == ["NT", "NM"]


def test_config_from_the_environment_and_after_wins(demo, tmp_path):
    env = {"SHEETS_SYNC_CONFIG": str(demo)}
    assert invoke("check", "--as-of", AS_OF, "--no-history", env=env).exit_code == 0
    missing = str(tmp_path / "none.toml")
    r = invoke("--config", str(demo), "check", "--config", missing, "--no-history", env=env)
    assert r.exit_code == 2 and "none.toml" in r.output


def test_a_common_option_the_command_does_not_take_is_a_usage_error(demo):
    r = invoke("--as-of", AS_OF, "status", "--config", str(demo))
    assert r.exit_code == 2 and "không dùng tùy chọn --as-of" in r.output
    r = invoke("--json-log", "doctor", "--config", str(demo))
    assert r.exit_code == 2 and "--json-log" in r.output


def test_history_takes_its_unit_before_or_after(demo):
    assert invoke("check", "--config", str(demo), "--as-of", AS_OF).exit_code == 0
    after = invoke("history", "--config", str(demo), "--unit", "NT")
    before = invoke("--unit", "NT", "--config", str(demo), "history")
    assert after.exit_code == before.exit_code == 0 and after.output == before.output
    r = invoke("--unit", "NT", "history", "ack", "--config", str(demo), "--unit", "NM", "--all")
    assert r.exit_code == 2 and "đúng một --unit" in r.output


def test_dry_run_lists_cells_columns_and_tabs_and_writes_nothing(demo):
    data = demo.parent / "data"
    before = digests(data)
    r = invoke("run", "--config", str(demo), "--as-of", AS_OF, "--dry-run", "-v")
    assert r.exit_code == 0, r.output
    assert digests(data) == before
    assert not (demo.parent / "out").exists() and not (demo.parent / "state").exists()
    # per unit: columns and tabs to add, each cell "tab!A1: old → new", capped with a count
    assert re.search(r"^  NT: Sinh hoạt: thêm cột 'Kết quả kiểm tra', 'Chi tiết kiểm tra' "
                     r"\(cột [A-Z]+, [A-Z]+\)\.$", r.output, re.M)
    cells = re.findall(r"^  NT:   (\S[^!\n]*)![A-Z]+\d+: \(trống\) → \S", r.output, re.M)
    assert len(cells) == 20  # DESCRIBE_CELLS
    more = re.search(r"^  NT:   … và (\d+) ô khác của tab (.+)\.$", r.output, re.M)
    assert more and int(more.group(1)) > 0
    assert "NT: Kiểm tra: tạo tab mới." in r.output
    # the log never claims a write
    assert "Đã ghi kết quả" not in r.output
    assert "NT: chạy thử, không ghi gì." in r.output


def test_log_says_written_only_when_something_was_written(tmp_path):
    cfg = str(tmp_path / "config.toml")
    made = invoke("init", "--config", cfg, "--no-input", "--parent-name", "Đảng bộ huyện Lý Nhân",
                  "--unit-name", "Đảng ủy xã Nhân Thịnh", "--unit-name", "Đảng ủy xã Nhân Mỹ")
    assert made.exit_code == 0, made.output
    first = invoke("run", "--config", cfg, "--as-of", AS_OF, "-v")
    assert first.exit_code == 0, first.output
    assert "Đã ghi kết quả NT." in first.output
    again = invoke("run", "--config", cfg, "--as-of", AS_OF, "-v")
    assert again.exit_code == 0, again.output
    assert "Đã ghi" not in again.output.replace("Đã ghi tóm tắt lần chạy", "")
    assert "NT: không có gì thay đổi, không ghi." in again.output
    dry = invoke("run", "--config", cfg, "--as-of", AS_OF, "--dry-run")
    assert "NT: Không có gì cần ghi: các ô kiểm tra đã đúng." in dry.output


def test_help_fits_80_columns():
    from test_cli import command_paths

    for path in command_paths():
        r = CliRunner().invoke(cli, [*path, "--help"], terminal_width=80)
        assert r.exit_code == 0
        wide = [line for line in r.output.splitlines() if len(line) > 80]
        assert not wide, (path, wide)


def test_rollup_and_report_put_a_long_path_whole_on_its_own_line(demo, monkeypatch):
    """In a terminal narrower than "Bảng tổng hợp: <path>", the path goes whole onto the
    next line; redirected, it stays on the one line scripts read."""
    import sheets_sync.cli as cli_module

    assert invoke("run", "--config", str(demo), "--as-of", AS_OF).exit_code in (0, 1)
    redirected = invoke("rollup", "--config", str(demo), "--as-of", AS_OF)
    line = redirected.output.strip().splitlines()[-1]
    assert line.startswith("Bảng tổng hợp: ") and line.endswith(".xlsx")
    path = line.split(": ", 1)[1]
    monkeypatch.setattr(cli_module, "_terminal_width", lambda: 40)
    narrow = invoke("rollup", "--config", str(demo), "--as-of", AS_OF)
    assert narrow.output.strip().splitlines()[-2:] == ["Bảng tổng hợp:", path]
    report = invoke("report", "--config", str(demo), "--as-of", AS_OF)
    label, docx = report.output.strip().splitlines()[-2:]
    assert label == "Báo cáo (bản dự thảo):" and docx.endswith(".docx")

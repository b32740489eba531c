"""CLI: every command answers --help, check's outputs and exit codes, README stays true."""
from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from sheets_sync.cli import cli
from sheets_sync.core.findings import FINDING_FIELDS
from sheets_sync_demo import generate_demo

ROOT = Path(__file__).resolve().parents[1]
AS_OF = "2026-11-25"


def command_paths(group=cli, prefix=()):
    for name, cmd in group.commands.items():
        yield (*prefix, name)
        if hasattr(cmd, "commands"):
            yield from command_paths(cmd, (*prefix, name))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return generate_demo(tmp_path_factory.mktemp("demo"), 2026, date(2026, 11, 25), 2026)


@pytest.mark.parametrize("path", sorted(command_paths()))
def test_every_command_has_help_and_is_in_readme(path):
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Cách dùng:" in result.output and "In hướng dẫn này rồi thoát." in result.output
    assert "Usage" not in result.output and "Show this message" not in result.output
    assert f"sheets-sync {' '.join(path)}" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_command_table_names_only_real_commands_and_the_common_options():
    """The other direction: every `sheets-sync …` row of the README's command table is a
    command of --help, the table lists every command, and the common options are documented."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `sheets-sync ([a-z][a-z ]*?)(?: [\[(-]|`)", readme, re.M)
    paths = {" ".join(p) for p in command_paths()}
    assert rows and set(rows) <= paths, set(rows) - paths
    runnable = {p for p in paths if not isinstance(cli.get_command(None, p.split()[0]), click.Group)
                or " " in p or cli.get_command(None, p).invoke_without_command}
    assert runnable <= set(rows), runnable - set(rows)
    help_text = CliRunner().invoke(cli, ["--help"]).output
    for option in ("--config", "--verbose", "--as-of", "--unit", "--json-log"):
        assert option in help_text and f"`{option}" in readme


def test_readme_is_vietnamese_first():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", readme, re.M)
    assert headings[:2] == ["Bắt đầu nhanh (bản mẫu)", "Từ bản mẫu đến đảng bộ của bạn"]
    english = headings.index("For maintainers (English)")
    for title in ("Vận hành hằng ngày", "Các lệnh", "Mã thoát: người vận hành cần làm gì",
                  "Tệp cấu hình", "Chạy định kỳ (scheduled runs)"):
        assert headings.index(title) < english
    for text in ("py -m venv .venv", ".venv\\Scripts\\sheets-sync", "sheets-sync init",
                 "Task Scheduler", "| 75 |"):
        assert text in readme[:readme.index("## For maintainers")], text


def test_check_json_contract(demo):
    result = CliRunner().invoke(cli, ["check", "--config", str(demo), "--as-of", AS_OF,
                                      "--format", "json", "--no-history"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert list(doc) == ["as_of", "year", "units", "findings", "counts"]
    assert doc["as_of"] == AS_OF and doc["year"] == 2026
    assert all(list(u) == ["code", "name", "status", "message"] for u in doc["units"])
    assert {u["status"] for u in doc["units"]} == {"ok"}
    assert doc["findings"] and all(tuple(f) == FINDING_FIELDS for f in doc["findings"])
    assert not (demo.parent / "state").exists()


def test_check_csv_has_bom_and_unit_name(demo, tmp_path):
    out = tmp_path / "f.csv"
    result = CliRunner().invoke(cli, ["check", "--config", str(demo), "--as-of", AS_OF,
                                      "--format", "csv", "--output", str(out), "--no-history"])
    assert result.exit_code == 0
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == [*FINDING_FIELDS, "unit_name"]
    assert any(r[-1] == "Đảng ủy xã Nhân Thịnh" for r in rows[1:])


def test_check_records_history_and_unreadable_unit_exits_1(demo, tmp_path):
    import shutil

    cfg = tmp_path / "config.toml"
    shutil.copytree(demo.parent / "data", tmp_path / "data")
    cfg.write_text(demo.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "data" / "nhan-my.xlsx").unlink()
    result = CliRunner().invoke(cli, ["check", "--config", str(cfg), "--as-of", AS_OF])
    assert result.exit_code == 1
    assert "Không đọc được" in result.output and "nhan-my.xlsx" in result.output
    assert (tmp_path / "state" / "history.sqlite").exists()


def test_usage_and_config_errors_exit_2(tmp_path):
    r = CliRunner().invoke(cli, ["check", "--config", str(tmp_path / "none.toml")])
    assert r.exit_code == 2 and "Không tìm thấy tệp cấu hình" in r.output
    assert CliRunner().invoke(cli, ["check", "--format", "xml"]).exit_code == 2


def test_bad_as_of_is_a_usage_error(demo):
    r = CliRunner().invoke(cli, ["check", "--config", str(demo), "--as-of", "25/11/2026"])
    assert r.exit_code == 2 and "--as-of" in r.output


def test_rules_json_lists_every_rule_with_parameters(demo):
    r = CliRunner().invoke(cli, ["rules", "--format", "json", "--config", str(demo)])
    rules = json.loads(r.output)
    ids = [x["id"] for x in rules]
    assert "MEET-WINDOW" in ids and len(ids) == len(set(ids))
    window = next(x for x in rules if x["id"] == "MEET-WINDOW")
    assert window["params"] == {"window_start_day": 1, "window_end_day": 7}


def test_readme_rule_table_is_generated():
    r = CliRunner().invoke(cli, ["rules", "--format", "markdown"])
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- rules-table:start.*?-->\n(.*?)<!-- rules-table:end -->", readme, re.S)
    assert block and block.group(1) == r.output, "regenerate: sheets-sync rules --format markdown"


def test_installed_console_script(demo):
    exe = Path(sys.executable).parent / "sheets-sync"
    r = subprocess.run([str(exe), "check", "--config", str(demo), "--as-of", AS_OF,
                        "--format", "json", "--no-history"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["year"] == 2026
    r = subprocess.run([sys.executable, "-m", "sheets_sync", "--help"], capture_output=True,
                       text=True)
    assert r.returncode == 0 and "sheets-sync" in r.stdout

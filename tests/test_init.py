"""`sheets-sync init` end to end (flags mode and prompts): the config it writes loads and names the
units, templates are exported only where no file exists, Google units get the template through
the emulator (real gspread + google-auth over HTTP), doctor runs at the end, and an existing
config is never overwritten."""
from __future__ import annotations

import hashlib
import shutil
import tomllib
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from sheets_sync.cli import cli
from sheets_sync.core.config import load_config
from sheets_sync.core.errors import ConfigError
from sheets_sync.core.template import load_template
from sheets_sync.ops import init as setup
from sheets_sync_demo import generate_demo

PARENT = "Đảng bộ huyện Lý Nhân"
EMAIL = "init-bot@test-project.iam.gserviceaccount.com"
TEMPLATE = load_template()


def invoke(*args: str, input: str | None = None):
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- pure helpers -------------------------------------------------------------------------------

def test_codes_and_places_from_names():
    assert setup.short_place("Đảng ủy xã Nhân Thịnh") == "Nhân Thịnh"
    assert setup.short_place("Đảng ủy thị trấn Vĩnh Trụ") == "Vĩnh Trụ"
    assert setup.unit_code("Đảng ủy xã Nhân Thịnh", []) == "NT"
    assert setup.unit_code("Đảng ủy xã Nhân Thành", ["NT"]) == "NT2"
    assert setup.unit_code("Đảng ủy phường 12", []) == "12"
    units = setup.units_from_names(["Đảng ủy xã Nhân Thịnh", "HN=Đảng ủy xã Hòa Hậu",
                                    "Đảng ủy xã Nhân Thành"])
    assert [(u.code, u.path) for u in units] == [("NT", "data/nhan-thinh.xlsx"),
                                                 ("HN", "data/hoa-hau.xlsx"),
                                                 ("NT2", "data/nhan-thanh.xlsx")]


def test_labels_follow_the_parent_level():
    district = setup.suggested_labels("Đảng bộ huyện Lý Nhân")
    assert district["committee"] == "HUYỆN ỦY LÝ NHÂN" and district["symbol"] == "BC/BTCHU"
    assert district["parent"] == "Huyện ủy" and district["place"] == "Lý Nhân"
    province = setup.suggested_labels("Đảng bộ tỉnh Ninh Bình")
    assert province["committee"] == "TỈNH ỦY NINH BÌNH" and province["parent"] == "Tỉnh ủy"
    assert province["unit"] == "Đảng ủy xã, phường"


def test_google_entries_and_supervisors_are_parsed_or_refused_with_the_fix():
    key = "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdEF"
    units = setup.units_from_google([
        f"Đảng ủy xã Nhân Mỹ=https://docs.google.com/spreadsheets/d/{key}/edit?usp=sharing#gid=0",
        f"XY=Đảng ủy xã Nhân Hậu={key[::-1]}"])
    assert [(u.code, u.name, u.spreadsheet) for u in units] == [
        ("NM", "Đảng ủy xã Nhân Mỹ", key), ("XY", "Đảng ủy xã Nhân Hậu", key[::-1])]
    with pytest.raises(ConfigError, match="Tên đơn vị=địa chỉ"):
        setup.units_from_google([f"https://docs.google.com/spreadsheets/d/{key}/edit"])
    with pytest.raises(ConfigError, match="không phải địa chỉ"):
        setup.units_from_google(["Xã A=không phải khóa"])
    s = setup.parse_supervisor("Trần Văn Bình; Ủy viên BTV; NM, Nhân Hậu", units)
    assert s.units == ("NM", "XY") and s.role == "Ủy viên BTV"
    assert setup.parse_supervisor("Lê Văn Cường; XY", units).role == ""
    with pytest.raises(ConfigError, match="không có đơn vị 'ZZ'.*NM, XY"):
        setup.parse_supervisor("Lê Văn Cường; ; ZZ", units)


# --- local units, flags mode --------------------------------------------------------------------

def test_init_local_units_end_to_end_then_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    kept = tmp_path / "data" / "nhan-my.xlsx"  # a commune's workbook that is already there
    demo = generate_demo(tmp_path / "demo", 2026, date(2026, 11, 25), 2026)
    kept.parent.mkdir()
    shutil.copy(demo.parent / "data" / "nhan-my.xlsx", kept)
    before = sha(kept)

    r = invoke("init", "--no-input", "--parent-name", PARENT,
               "--unit-name", "Đảng ủy xã Nhân Thịnh", "--unit-name", "Đảng ủy xã Nhân Mỹ",
               "--unit-name", "VT=Đảng ủy thị trấn Vĩnh Trụ",
               "--label", "symbol=BC/BTCHU-TEST",
               "--supervisor", "Trần Văn Bình; Ủy viên Ban Thường vụ; NT, Nhân Mỹ",
               "--supervisor", "Đỗ Thị Mai; ; VT")
    # doctor, at the end, finds the existing (messy demo) workbook off the template: exit 1
    assert r.exit_code == 1, r.output
    config = load_config(tmp_path / "config.toml")
    assert config.parent_name == PARENT
    assert [(u.code, u.name) for u in config.units] == [
        ("NT", "Đảng ủy xã Nhân Thịnh"), ("NM", "Đảng ủy xã Nhân Mỹ"),
        ("VT", "Đảng ủy thị trấn Vĩnh Trụ")]
    assert dict(config.labels) == {
        "parent": "Huyện ủy", "unit": "Đảng ủy xã, thị trấn", "cell": "Chi bộ",
        "committee": "HUYỆN ỦY LÝ NHÂN", "board": "BAN TỔ CHỨC", "symbol": "BC/BTCHU-TEST",
        "place": "Lý Nhân"}
    assert [(s.name, s.units) for s in config.supervisors] == [
        ("Trần Văn Bình", ("NT", "NM")), ("Đỗ Thị Mai", ("VT",))]
    assert config.state_dir == tmp_path / "state" and config.out_dir == tmp_path / "out"
    # a template per unit without a file; the existing workbook is untouched
    assert sha(kept) == before
    assert "NM: đã có tệp nhan-my.xlsx, giữ nguyên." in r.output
    for name in ("nhan-thinh", "vinh-tru"):
        wb = openpyxl.load_workbook(tmp_path / "data" / f"{name}.xlsx", read_only=True)
        assert {t.name for t in TEMPLATE.tabs} <= set(wb.sheetnames)
        wb.close()
    # doctor ran at the end, with the rerun hint's config path
    assert "KIỂM TRA CÀI ĐẶT SHEETS-SYNC" in r.output and "1 mục cần sửa" in r.output
    assert "✖ Cần sửa  NM — mẫu bảng tính" in r.output
    assert "chạy lại: sheets-sync doctor --config config.toml" in r.output
    assert "sheets-sync run --config config.toml" in r.output

    run = invoke("run", "--as-of", "2026-11-25", "--verbose")
    assert run.exit_code == 0, run.output
    assert "Đã ghi kết quả NT." in run.output
    assert list((tmp_path / "out").glob("tong-hop-*.xlsx"))
    # the run (not init) writes NM's flags: in place, or as a flagged copy when the writer
    # cannot round-trip the workbook
    assert sha(kept) != before or list((tmp_path / "out" / "flagged").glob("*nhan-my.xlsx"))


def test_init_refuses_an_existing_config(tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text("# mine\n", encoding="utf-8")
    r = invoke("init", "--config", str(cfg), "--no-input", "--parent-name", PARENT,
               "--unit-name", "Đảng ủy xã Nhân Thịnh")
    assert r.exit_code == 2
    assert "không ghi đè" in r.output and cfg.read_text(encoding="utf-8") == "# mine\n"
    assert not (tmp_path / "data").exists()


def test_init_flags_mode_missing_values_are_usage_errors(tmp_path):
    cfg = str(tmp_path / "c.toml")
    r = invoke("init", "--config", cfg, "--no-input", "--unit-name", "Xã A")
    assert r.exit_code == 2 and "--parent-name" in r.output
    r = invoke("init", "--config", cfg, "--no-input", "--parent-name", PARENT)
    assert r.exit_code == 2 and "--unit-name" in r.output
    r = invoke("init", "--config", cfg, "--no-input", "--parent-name", PARENT,
               "--unit-name", "Xã A", "--label", "nope=x")
    assert r.exit_code == 2 and "KHÓA=giá trị" in r.output
    assert not Path(cfg).exists()


def test_init_from_a_folder_of_workbooks(tmp_path):
    folder = tmp_path / "nop"
    setup_dir = tmp_path / "site"
    from sheets_sync.outputs.template_xlsx import export_template

    export_template(folder / "xa-a.xlsx", unit_name="Đảng ủy xã Nhân Nghĩa", rows=5)
    shutil.copy(folder / "xa-a.xlsx", folder / "hoa-ly.xlsx")
    (folder / "~$hoa-ly.xlsx").write_bytes(b"lock")
    cfg = setup_dir / "config.toml"
    r = invoke("init", "--config", str(cfg), "--no-input", "--parent-name", PARENT,
               "--xlsx-folder", str(folder))
    assert r.exit_code == 0, r.output
    raw = tomllib.loads(cfg.read_text(encoding="utf-8"))
    # named from the workbook's title; codes unique; absolute paths outside the config folder
    assert [(u["code"], u["name"]) for u in raw["units"]] == [
        ("NN", "Đảng ủy xã Nhân Nghĩa"), ("NN2", "Đảng ủy xã Nhân Nghĩa")]
    assert [Path(u["path"]).name for u in raw["units"]] == ["hoa-ly.xlsx", "xa-a.xlsx"]
    assert not (setup_dir / "data").exists()


def test_init_by_prompts(tmp_path):
    cfg = tmp_path / "config.toml"
    answers = "\n".join([
        "Đảng bộ tỉnh Ninh Bình",  # parent
        "", "", "", "", "", "", "",  # seven labels: keep the suggestions
        "1",  # new .xlsx files from a list of names
        "Đảng ủy xã Gia Viễn", "Đảng ủy phường Hoa Lư", "",
        "Phạm Đức Thắng; Tỉnh ủy viên; GV, HL", "",
        "y",
    ]) + "\n"
    r = invoke("init", "--config", str(cfg), input=answers)
    assert r.exit_code == 0, r.output
    config = load_config(cfg)
    assert config.labels["parent"] == "Tỉnh ủy"
    assert config.labels["committee"] == "TỈNH ỦY NINH BÌNH"
    assert [u.code for u in config.units] == ["GV", "HL"]
    assert config.supervisors[0].units == ("GV", "HL")
    assert (tmp_path / "data" / "hoa-lu.xlsx").is_file()


# --- Google units on the emulator ---------------------------------------------------------------

def test_init_google_units_applies_the_template_then_doctor(tmp_path, emu):
    key_file = tmp_path / "key.json"
    emu.make_service_account(key_file, email=EMAIL)
    good, unshared = "1initGoogleUnitOk" + "x" * 27, "1initGoogleUnitNo" + "x" * 27
    emu.seed_values(good, {"Sinh hoạt": [["Mã chi bộ", "Kỳ tháng"], ["CB01", "10/2026"]]},
                    shared_with=[EMAIL], title="Nhân Thịnh")
    emu.seed_values(unshared, {"Sheet1": []}, shared_with=[], title="Nhân Mỹ")
    cfg = tmp_path / "config.toml"
    r = invoke("init", "--config", str(cfg), "--no-input", "--parent-name", PARENT,
               "--google", f"Đảng ủy xã Nhân Thịnh=https://docs.google.com/spreadsheets/d/{good}"
                           "/edit#gid=0",
               "--google", f"Đảng ủy xã Nhân Mỹ={unshared}",
               "--credentials", "key.json", "--google-endpoint", emu.base_url,
               "--supervisor", "Trần Văn Bình; ; NT, NM")
    assert r.exit_code == 1, r.output  # one spreadsheet is not shared: doctor says how to fix
    config = load_config(cfg)
    assert [(u.code, u.spreadsheet) for u in config.units] == [("NT", good), ("NM", unshared)]
    assert config.google.credentials == key_file
    assert "NT: đã áp dụng mẫu:" in r.output
    assert EMAIL in r.output  # "share with <client_email>"
    assert f"sheets-sync doctor --config {cfg}" in r.output
    titles = {s["properties"]["title"] for s in emu.spreadsheet_meta(good)["sheets"]}
    assert {t.name for t in TEMPLATE.tabs} <= titles
    values = emu.get_values(good, "Sinh hoạt")
    assert values[1][:2] == ["CB01", "10/2026"]  # staff data untouched


def test_doctor_rerun_hint_names_the_config_it_was_given(tmp_path):
    from sheets_sync.ops.doctor import rerun_command, run_doctor

    assert rerun_command("config.toml") == "sheets-sync doctor --config config.toml"
    assert rerun_command("C:\\cau hinh\\config.toml") == \
        'sheets-sync doctor --config "C:\\cau hinh\\config.toml"'
    broken = tmp_path / "hỏng.toml"
    broken.write_text("[parent\n", encoding="utf-8")
    checks = run_doctor(str(broken))
    assert checks[0].fix.endswith(f"sheets-sync doctor --config {broken}")
    r = invoke("doctor", "--config", str(broken))
    assert r.exit_code == 1 and f"sheets-sync doctor --config {broken}" in r.output

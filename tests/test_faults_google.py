"""Google faults through the CLI (a subprocess, real gspread and google-auth against the
emulator): "try later" faults exit 75, faults a person must fix exit 1, publishing fails
cleanly, and the run summary is always written — never a traceback."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from faults_support import AS_OF, assert_no_traceback, cli, district, summaries
from sheets_sync_emulator import Emulator

SID = "1GGfaultsxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
FILE_ID = "1ROLLUPfaultsxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"


@pytest.fixture(scope="module")
def emulator():
    with Emulator(seed=12) as emu:
        yield emu


@pytest.fixture
def google(emulator, tmp_path):
    """A district of one local and one Google unit, the roll-up published to Drive."""
    emulator.reset()
    key = tmp_path / "key.json"
    info = emulator.make_service_account(key)
    cfg = district(tmp_path, units=(
        '[[units]]\ncode = "NT"\nname = "Đảng ủy xã Nhân Thịnh"\npath = "a.xlsx"\n\n'
        f'[[units]]\ncode = "GG"\nname = "Đảng ủy xã Gia Giang"\nspreadsheet = "{SID}"\n'),
        extra=(f'[google]\ncredentials = "{key.as_posix()}"\nendpoint = "{emulator.base_url}"\n'
               'timeout_s = 3\nmax_attempts = 2\nmax_retry_wait_s = 1\n\n'
               f'[output]\ndrive_file_id = "{FILE_ID}"\n'))
    emulator.seed_xlsx(SID, tmp_path / "a.xlsx", shared_with=[info["client_email"]])
    emulator.create_binary_file(FILE_ID, "tong-hop.xlsx", shared_with=[info["client_email"]])
    yield emulator, info, key, cfg
    emulator.reset()


def _units(stdout: str) -> dict[str, dict]:
    return {u["code"]: u for u in json.loads(stdout)["units"]}


def test_token_endpoint_503_is_try_later_not_a_wrong_key(google, tmp_path):
    emu, _info, _key, cfg = google
    emu.add_fault(kind="token", status=503, times=None)
    checked = cli("check", "--config", str(cfg), "--as-of", AS_OF, "--format", "json",
                  cwd=tmp_path)
    assert checked.returncode == 75, checked.stderr
    units = _units(checked.stdout)
    assert units["NT"]["status"] == "ok"
    assert "thử lại sau" in units["GG"]["message"].lower()
    assert "khóa sai" not in units["GG"]["message"]
    ran = cli("run", "--config", str(cfg), "--as-of", AS_OF, cwd=tmp_path)
    assert ran.returncode == 75, ran.stderr
    assert "hãy chạy lại sau" in ran.stderr
    last = summaries(tmp_path / "state")[-1]
    assert last["exit_code"] == 75
    assert_no_traceback(ran, tmp_path / "state")


def test_drive_5xx_while_publishing_is_try_later(google, tmp_path):
    emu, _info, _key, cfg = google
    emu.add_fault(kind="drive", path_regex="upload", status=503, times=None)
    ran = cli("run", "--config", str(cfg), "--as-of", AS_OF, cwd=tmp_path)
    assert ran.returncode == 75, ran.stdout + ran.stderr
    assert_no_traceback(ran, tmp_path / "state")


def test_revoked_key_with_drive_output_fails_units_and_publishing_cleanly(google, tmp_path):
    emu, info, key, cfg = google
    other = emu.make_service_account(email="other@faults.iam.gserviceaccount.com")
    revoked = {**info, "private_key": other["private_key"]}  # Google: invalid_grant
    key.write_text(json.dumps(revoked), encoding="utf-8")
    ran = cli("run", "--config", str(cfg), "--as-of", AS_OF, cwd=tmp_path)
    assert ran.returncode == 1, ran.stderr
    assert "khóa sai, đã bị xóa/thu hồi" in ran.stdout
    summary = summaries(tmp_path / "state")[-1]
    assert summary["exit_code"] == 1
    statuses = {u["code"]: u["status"] for u in summary["units"]}
    assert statuses == {"NT": "ok", "GG": "unreachable"}
    assert (tmp_path / "out").glob("tong-hop-*.xlsx")
    assert "RefreshError" not in ran.stdout + ran.stderr
    for text in (ran.stdout, ran.stderr, *(p.read_text(encoding="utf-8") for p in
                                           (tmp_path / "state").rglob("*.*")
                                           if p.suffix in (".log", ".json"))):
        assert "PRIVATE KEY" not in text and other["private_key"][40:80] not in text
    assert_no_traceback(ran, tmp_path / "state")
    status = cli("status", "--config", str(cfg), cwd=tmp_path)
    assert status.returncode == 1 and "cần xử lý (1)" in status.stdout


def test_unit_not_shared_is_exit_1_even_beside_a_try_later(google, tmp_path):
    """A fault a person must fix wins over a passing one: exit 1."""
    emu, info, _key, cfg = google
    emu.add_fault(kind="drive", path_regex="upload", status=503, times=None)
    emu.revoke(SID, info["client_email"])
    ran = cli("run", "--config", str(cfg), "--as-of", AS_OF, cwd=tmp_path)
    assert ran.returncode == 1, ran.stderr
    assert f"chia sẻ bảng tính với {info['client_email']}" in ran.stdout
    assert_no_traceback(ran, tmp_path / "state")


def test_key_file_path_missing_stops_google_units_only(google, tmp_path):
    _emu, _info, key, cfg = google
    key.unlink()
    ran = cli("check", "--config", str(cfg), "--as-of", AS_OF, "--format", "json",
              cwd=tmp_path)
    assert ran.returncode == 1
    units = _units(ran.stdout)
    assert units["NT"]["status"] == "ok"
    assert "Không tìm thấy tệp khóa tài khoản dịch vụ" in units["GG"]["message"]
    assert_no_traceback(ran, Path(tmp_path / "state"))


def test_an_uploaded_excel_file_not_converted_says_how_to_convert_it(google, tmp_path):
    """A commune uploads its .xlsx to Drive and shares that: Google's web UI opens it, the
    Sheets API answers 400 FAILED_PRECONDITION. The unit's message says to save it as Google
    Sheets and put the new address in the config; the other unit runs; exit 1."""
    emu, info, _key, cfg = google
    uploaded = "1UPLOADEDxlsxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    emu.create_binary_file(uploaded, "so-theo-doi.xlsx", shared_with=[info["client_email"]],
                           content=(tmp_path / "a.xlsx").read_bytes())
    cfg.write_text(cfg.read_text(encoding="utf-8").replace(SID, uploaded), encoding="utf-8")
    ran = cli("run", "--config", str(cfg), "--as-of", AS_OF, cwd=tmp_path)
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert "chưa chuyển sang Google Trang tính" in ran.stdout
    assert "Lưu dưới dạng Google Trang tính" in ran.stdout
    assert f"chia sẻ bảng tính mới với {info['client_email']}" in ran.stdout
    units = {u["code"]: u["status"] for u in summaries(tmp_path / "state")[-1]["units"]}
    assert units == {"NT": "ok", "GG": "unreachable"}
    assert "400" not in ran.stdout and "FAILED_PRECONDITION" not in ran.stdout
    assert_no_traceback(ran, tmp_path / "state")

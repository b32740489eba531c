"""``doctor``: credentials, access, sharing, template drift — over HTTP against the emulator."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sheets_sync.core.config import load_config
from sheets_sync.ops.doctor import (
    Check,
    _key_permissions,
    doctor_exit_code,
    render_checks,
    run_doctor,
)
from sheets_sync.outputs.template_xlsx import export_template

EMAIL = "doctor-bot@test-project.iam.gserviceaccount.com"
POSIX = os.name != "nt"


@pytest.fixture(scope="module")
def template_xlsx(tmp_path_factory):
    return export_template(tmp_path_factory.mktemp("doctor") / "mau.xlsx", unit_name="Mẫu",
                           rows=20)


def _write_config(tmp_path, emu, units: str, extra: str = "") -> str:
    path = tmp_path / "config.toml"
    path.write_text(f"""
[parent]
name = "Đảng bộ huyện Lý Nhân"

[google]
credentials = "key.json"
endpoint = "{emu.base_url}"
{extra}
{units}
""", encoding="utf-8")
    return str(path)


def _key(tmp_path, emu, mode=0o600) -> dict:
    path = tmp_path / "key.json"
    info = emu.make_service_account(path, email=EMAIL)
    os.chmod(path, mode)
    return info


def _by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def test_doctor_finds_every_problem(tmp_path, emu, template_xlsx):
    info = _key(tmp_path, emu, mode=0o644)
    emu.seed_xlsx("OK1", template_xlsx, shared_with=[EMAIL])
    emu.seed_xlsx("REV1", template_xlsx, shared_with=[EMAIL])
    emu.revoke("REV1", EMAIL)
    emu.seed_xlsx("PUB1", template_xlsx, shared_with=[EMAIL])
    emu.share_anyone("PUB1", role="reader")
    emu.seed_values("DRIFT1", {"Sinh hoạt": [["Mã chi bộ", "Kỳ tháng"]]}, shared_with=[EMAIL])
    emu.seed_xlsx("RO1", template_xlsx, shared_with=[])
    emu.share("RO1", EMAIL, role="reader")
    local_ok = tmp_path / "ok.xlsx"
    local_ok.write_bytes(template_xlsx.read_bytes())
    emu.create_binary_file("ROLLUP", "tong-hop.xlsx", shared_with=[EMAIL], content=b"x")
    config = _write_config(tmp_path, emu, """
[[units]]
code = "OK"
name = "Xã Ổn"
spreadsheet = "https://docs.google.com/spreadsheets/d/OK1/edit#gid=0"

[[units]]
code = "REV"
name = "Xã Thu Hồi"
spreadsheet = "REV1"

[[units]]
code = "PUB"
name = "Xã Công Khai"
spreadsheet = "PUB1"

[[units]]
code = "DRIFT"
name = "Xã Thiếu"
spreadsheet = "DRIFT1"

[[units]]
code = "RO"
name = "Xã Chỉ Xem"
spreadsheet = "RO1"

[[units]]
code = "LOC"
name = "Xã Tệp"
path = "thieu.xlsx"

[[units]]
code = "LOK"
name = "Xã Tệp Tốt"
path = "ok.xlsx"
""", extra='[output]\ndrive_file_id = "ROLLUP"\n')
    stats0 = emu.stats()

    checks = run_doctor(config)
    got = _by_name(checks)

    assert got["Cấu hình"].ok and "7 đơn vị" in got["Cấu hình"].message
    assert got["Khóa tài khoản dịch vụ"].ok and EMAIL in got["Khóa tài khoản dịch vụ"].message
    if POSIX:
        perm = got["Quyền tệp khóa"]
        assert not perm.ok and "0644" in perm.message and "mọi người dùng khác" in perm.message
        assert perm.fix == f"chmod 600 {tmp_path / 'key.json'}"
    assert got["Mã truy cập Google"].ok

    assert got["OK — truy cập"].ok and not got["OK — truy cập"].warning
    assert got["OK — chia sẻ"].ok
    assert got["OK — mẫu bảng tính"].ok and not got["OK — mẫu bảng tính"].warning

    rev = got["REV — truy cập"]
    assert not rev.ok and f"Chia sẻ bảng tính với {EMAIL} quyền Người chỉnh sửa" in rev.fix
    assert "REV — mẫu bảng tính" not in got and "REV — chia sẻ" not in got

    pub = got["PUB — chia sẻ"]
    assert not pub.ok
    assert "đang chia sẻ công khai cho bất kỳ ai có đường liên kết" in pub.message
    assert got["PUB — truy cập"].ok and got["PUB — mẫu bảng tính"].ok

    drift = got["DRIFT — mẫu bảng tính"]
    assert not drift.ok and "Thiếu tab bắt buộc: \"Chi bộ\", \"Triển khai\"" in drift.message
    assert "Tab \"Sinh hoạt\" thiếu cột bắt buộc: \"Chủ đề chuyên đề\", \"Ngày sinh hoạt\"" \
        in drift.message
    assert "Không bắt buộc: tab \"Điểm danh\"" in drift.message
    assert "tab \"Sinh hoạt\" thiếu cột \"Loại sinh hoạt\"" in drift.message
    assert "sheets-sync templates apply --unit DRIFT" in drift.fix

    ro = got["RO — truy cập"]
    assert not ro.ok and "Người xem" in ro.message and EMAIL in ro.fix

    loc = got["LOC — tệp"]
    assert not loc.ok and "thieu.xlsx" in loc.message
    assert got["LOK — tệp"].ok and got["LOK — mẫu bảng tính"].ok
    assert got["Tệp tổng hợp trên Drive"].ok

    assert doctor_exit_code(checks) == 1
    # doctor never writes: no Sheets write, and Drive content untouched
    stats = emu.stats()
    assert stats["sheets"]["writes"] == stats0["sheets"]["writes"]
    assert emu.file_content("ROLLUP") == b"x"

    text = render_checks(checks)
    assert "✖ Cần sửa" in text and "✔ Đạt" in text and "→ Cách sửa:" in text
    assert "Tổng cộng:" in text
    for secret in (info["private_key"], "PRIVATE KEY", info["private_key_id"]):
        assert secret not in text
        assert all(secret not in f"{c.message} {c.fix}" for c in checks)
    for line in info["private_key"].splitlines()[1:-1]:
        assert line not in text


def test_doctor_all_good_exits_zero(tmp_path, emu, template_xlsx):
    _key(tmp_path, emu)
    emu.seed_xlsx("OK1", template_xlsx, shared_with=[EMAIL])
    config = _write_config(tmp_path, emu, """
[[units]]
code = "OK"
name = "Xã Ổn"
spreadsheet = "OK1"
""")
    checks = run_doctor(load_config(config))
    assert all(c.ok for c in checks), render_checks(checks)
    assert doctor_exit_code(checks) == 0
    if POSIX:
        assert _by_name(checks)["Quyền tệp khóa"].ok


def test_doctor_with_a_key_google_does_not_know(tmp_path, emu):
    info = emu.make_service_account(email=EMAIL)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    info["private_key"] = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    key = tmp_path / "key.json"
    key.write_text(json.dumps(info), encoding="utf-8")
    os.chmod(key, 0o600)
    emu.seed_values("X1", {"Chi bộ": [["Mã chi bộ"]]}, shared_with=[EMAIL])
    config = _write_config(tmp_path, emu, """
[[units]]
code = "X"
name = "Xã X"
spreadsheet = "X1"
""")
    checks = run_doctor(config)
    got = _by_name(checks)
    token = got["Mã truy cập Google"]
    assert not token.ok and "invalid_grant" in token.message and "khóa mới" in token.fix
    assert not got["X — truy cập"].ok and "chưa dùng được" in got["X — truy cập"].message
    text = render_checks(checks)
    assert info["private_key"] not in text and "PRIVATE KEY" not in text


def test_doctor_broken_key_and_config(tmp_path, emu):
    (tmp_path / "key.json").write_text("{không phải json", encoding="utf-8")
    config = _write_config(tmp_path, emu, """
[[units]]
code = "X"
name = "Xã X"
spreadsheet = "X1"
""")
    checks = run_doctor(config)
    key = _by_name(checks)["Khóa tài khoản dịch vụ"]
    assert not key.ok and "không đọc được" in key.message
    assert doctor_exit_code(checks) == 1

    bad = tmp_path / "bad.toml"
    bad.write_text("[parent\nname=", encoding="utf-8")
    checks = run_doctor(str(bad))
    assert [c.name for c in checks] == ["Cấu hình"] and not checks[0].ok
    assert doctor_exit_code(checks) == 1

    missing_key = _write_config(tmp_path, emu, """
[[units]]
code = "X"
name = "Xã X"
spreadsheet = "X1"
""")
    (tmp_path / "key.json").unlink()
    got = _by_name(run_doctor(missing_key))
    assert not got["Khóa tài khoản dịch vụ"].ok
    assert "Không tìm thấy tệp khóa" in got["Khóa tài khoản dịch vụ"].message


def _local_config(folder: Path, *units: tuple[str, str, str]) -> Path:
    """A config of local units (code, name, path) in ``folder``."""
    path = folder / "config.toml"
    path.write_text('[parent]\nname = "Huyện"\n' + "".join(
        f'\n[[units]]\ncode = "{code}"\nname = "{name}"\npath = "{file}"\n'
        for code, name, file in units), encoding="utf-8")
    return path


def test_local_only_config_needs_no_credentials(tmp_path, template_xlsx):
    (tmp_path / "a.xlsx").write_bytes(template_xlsx.read_bytes())
    (tmp_path / "hong.xlsx").write_bytes(b"not a zip")
    path = _local_config(tmp_path, ("A", "Xã A", "a.xlsx"), ("H", "Xã Hỏng", "hong.xlsx"))
    checks = run_doctor(str(path))
    got = _by_name(checks)
    assert not any("Khóa" in c.name for c in checks)
    assert got["A — tệp"].ok and got["A — mẫu bảng tính"].ok
    assert not got["H — tệp"].ok and "không phải là sổ tính Excel" in got["H — tệp"].message
    assert doctor_exit_code(checks) == 1


def test_key_permissions_on_windows_is_a_note(tmp_path):
    key = tmp_path / "key.json"
    key.write_text("{}", encoding="utf-8")
    check = _key_permissions(key, platform="nt")
    assert check.ok and check.warning and "Windows" in check.message
    if POSIX:
        os.chmod(key, 0o640)
        check = _key_permissions(key, platform="posix")
        assert not check.ok and "nhóm" in check.message


def test_render_checks_is_a_readable_table():
    checks = [Check("Cấu hình", True, "Đọc được config.toml."),
              Check("NT — chia sẻ", False, "Bảng tính đang chia sẻ công khai cho bất kỳ ai có "
                    "đường liên kết (quyền Người xem). " * 3, "Chọn \"Bị hạn chế\"."),
              Check("NT — mẫu bảng tính", True, "Thiếu phần không bắt buộc.", "Chạy apply.",
                    warning=True)]
    text = render_checks(checks, width=80)
    lines = text.splitlines()
    assert lines[0] == "KIỂM TRA CÀI ĐẶT SHEETS-SYNC"
    assert all(len(line) <= 80 for line in lines)
    assert "⚠ Lưu ý" in text and "→ Cách sửa: Chạy apply." in text
    assert "Tổng cộng: 1 mục đạt, 1 mục cần sửa, 1 mục cần lưu ý." in text
    path = "/srv/so-lieu/dang-bo/nhan-thinh-2026.xlsx"  # hyphens: never a break there
    opened = render_checks([Check("NT — tệp", True, f"Mở được {path}.")], width=64)
    assert path in opened


def test_doctor_unit_selection(tmp_path, template_xlsx):
    (tmp_path / "a.xlsx").write_bytes(template_xlsx.read_bytes())
    path = _local_config(tmp_path, ("A", "Xã A", "a.xlsx"), ("B", "Xã B", "b.xlsx"))
    checks = run_doctor(str(path), units=["a"])
    assert [c.name for c in checks] == ["Cấu hình", "A — tệp", "A — mẫu bảng tính"]
    assert doctor_exit_code(checks) == 0
    bad = run_doctor(str(path), units=["Z"])
    assert not bad[0].ok and "'Z'" in bad[0].message

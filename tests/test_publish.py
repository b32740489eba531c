"""Publishing the roll-up to an existing Drive file, over HTTP against the emulator."""
from __future__ import annotations

import hashlib

import pytest

from sheets_sync.outputs.publish import UNCHANGED, UPLOADED, XLSX_MIME, PublishError, publish_rollup
from sheets_sync.outputs.template_xlsx import export_template
from sheets_sync.sources.google_sheets import GoogleBackend

FILE_ID = "1rollupFileOnDrive0000000000000000"


@pytest.fixture
def backend(emu, service_account):
    return GoogleBackend(service_account, endpoint=emu.base_url)


@pytest.fixture
def workbook(tmp_path):
    return export_template(tmp_path / "tong-hop-ly-nhan-2026-11.xlsx", unit_name="Tổng hợp",
                           rows=5)


def _drive(emu) -> int:
    return emu.stats()["drive"]


def test_publish_replaces_the_content_then_skips_identical_bytes(emu, backend, workbook,
                                                                  service_account):
    emu.create_binary_file(FILE_ID, "tong-hop.xlsx", shared_with=[service_account["client_email"]],
                           content=b"old content")
    created = emu.file_meta(FILE_ID)
    drive0, writes0 = _drive(emu), emu.stats()["sheets"]["writes"]

    result = publish_rollup(backend, FILE_ID, workbook)

    local = workbook.read_bytes()
    assert result.status == UPLOADED and result.drive_requests == 2
    assert result.md5 == hashlib.md5(local).hexdigest() and result.size == len(local)
    assert "Đã tải bảng tổng hợp lên tệp Drive \"tong-hop.xlsx\"" in result.message
    assert emu.file_content(FILE_ID) == local
    meta = emu.file_meta(FILE_ID)
    assert meta["id"] == FILE_ID and meta["name"] == "tong-hop.xlsx"  # same file, same name
    assert meta["mimeType"] == XLSX_MIME and meta["md5Checksum"] == result.md5
    assert int(meta["version"]) > int(created["version"])
    assert [p["emailAddress"] for p in meta["permissions"] if p["type"] == "user"] == \
        [p["emailAddress"] for p in created["permissions"] if p["type"] == "user"]
    assert _drive(emu) - drive0 == 2
    assert emu.stats()["sheets"]["writes"] == writes0

    version = meta["version"]
    again = publish_rollup(backend, FILE_ID, workbook)
    assert again.status == UNCHANGED and again.drive_requests == 1
    assert "không tải lại" in again.message
    assert _drive(emu) - drive0 == 3  # one files.get, no upload
    assert emu.file_meta(FILE_ID)["version"] == version


def test_publish_without_edit_permission_says_how_to_fix(emu, backend, workbook,
                                                          service_account):
    email = service_account["client_email"]
    emu.create_binary_file(FILE_ID, "tong-hop.xlsx", content=b"old")
    emu.share(FILE_ID, email, role="reader")
    with pytest.raises(PublishError) as e:
        publish_rollup(backend, FILE_ID, workbook)
    message = str(e.value)
    assert f"không có quyền sửa tệp Drive {FILE_ID}" in message
    assert f"chia sẻ tệp với {email} quyền Người chỉnh sửa" in message
    assert str(workbook) in message  # the local file is still there
    assert emu.file_content(FILE_ID) == b"old"


def test_publish_to_a_file_not_shared_says_not_found(emu, backend, workbook, service_account):
    emu.create_binary_file(FILE_ID, "tong-hop.xlsx", content=b"old")
    drive0 = _drive(emu)
    with pytest.raises(PublishError) as e:
        publish_rollup(backend, FILE_ID, workbook)
    message = str(e.value)
    assert f"Không tìm thấy tệp Drive {FILE_ID}" in message
    assert service_account["client_email"] in message and "[output] drive_file_id" in message
    assert _drive(emu) - drive0 == 1  # never retried, never files.create
    assert emu.file_content(FILE_ID) == b"old"


def test_publish_refuses_a_google_sheets_file(emu, backend, workbook, service_account):
    emu.seed_values(FILE_ID, {"Sheet1": [["a"]]}, shared_with=[service_account["client_email"]])
    with pytest.raises(PublishError) as e:
        publish_rollup(backend, FILE_ID, workbook)
    assert "là tệp Google" in str(e.value)


def test_publish_missing_local_file(emu, backend, tmp_path):
    with pytest.raises(PublishError) as e:
        publish_rollup(backend, FILE_ID, tmp_path / "khong-co.xlsx")
    assert "Không đọc được bảng tổng hợp" in str(e.value)


def test_publish_retries_a_transient_error(emu, backend, workbook, service_account):
    emu.create_binary_file(FILE_ID, "tong-hop.xlsx", shared_with=[service_account["client_email"]])
    backend.transport.policy.base_delay = 0.01
    emu.add_fault(method="PATCH", status=503, times=1)
    result = publish_rollup(backend, FILE_ID, workbook)
    assert result.status == UPLOADED
    assert emu.file_content(FILE_ID) == workbook.read_bytes()

"""Publish the roll-up workbook: replace the content of an existing Drive file.

Service accounts own no Drive storage, so the tool never creates a file: a person uploads any
.xlsx once, shares it with the service account as Người chỉnh sửa and puts its id in
``[output] drive_file_id``. Each publish is then:

1. ``GET https://www.googleapis.com/drive/v3/files/{id}?fields=id,name,mimeType,md5Checksum``
   (one Drive request); when ``md5Checksum`` equals the local file's MD5, nothing is sent;
2. otherwise ``PATCH https://www.googleapis.com/upload/drive/v3/files/{id}?uploadType=media
   &supportsAllDrives=true`` with the bytes and the .xlsx content type (keeps the file's id,
   name, links and sharing).

Both go through ``backend.client.http_client.request`` so the redirect (emulator), the token,
timeouts, retries and request counts of the Google transport apply. The local .xlsx is always
written before and independently of this step.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import SheetsSyncError
from ..core.faults import os_reason

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DRIVE_FILES_URL = "https://www.googleapis.com/drive/v3/files"
DRIVE_UPLOAD_URL = "https://www.googleapis.com/upload/drive/v3/files"
UPLOADED, UNCHANGED = "uploaded", "unchanged"


class PublishError(SheetsSyncError):
    """The roll-up could not be published to Drive (the local file is still there).
    ``try_later``: a passing fault (Drive 5xx, timeouts, the token endpoint down)."""

    def __init__(self, message: str, try_later: bool = False):
        super().__init__(message)
        self.try_later = try_later


@dataclass(frozen=True)
class PublishResult:
    status: str  # "uploaded" | "unchanged"
    file_id: str
    name: str | None
    md5: str
    size: int
    message: str  # Vietnamese
    drive_requests: int


def _md5(path: Path) -> tuple[bytes, str]:
    try:
        content = Path(path).read_bytes()
    except OSError as e:
        raise PublishError(f"Không đọc được bảng tổng hợp {path}: {os_reason(e)}.") from None
    return content, hashlib.md5(content).hexdigest()


def _reason(error) -> str:
    try:
        errors = error.response.json().get("error", {}).get("errors") or []
        return errors[0].get("reason", "") if errors else ""
    except (ValueError, AttributeError):
        return ""


def _failure(backend, file_id: str, path: Path, error: Exception) -> PublishError:
    import google.auth.exceptions as auth_errors
    import requests

    email = backend.client_email
    if isinstance(error, auth_errors.GoogleAuthError):
        if getattr(error, "retryable", False) or isinstance(error, auth_errors.TransportError):
            return PublishError(
                "Máy chủ xác thực của Google tạm thời không trả lời nên chưa tải được bảng tổng "
                f"hợp lên Drive; bảng tổng hợp vẫn được ghi trên máy: {path}. Thử lại sau.",
                try_later=True)
        return PublishError(
            f"Google không cấp quyền truy cập cho tài khoản dịch vụ {email} (khóa sai, đã bị "
            "xóa/thu hồi, hoặc đồng hồ máy tính lệch giờ) nên chưa tải được bảng tổng hợp lên "
            f"Drive. Hãy kiểm tra tệp khóa ở [google] credentials. Bảng tổng hợp vẫn được ghi "
            f"trên máy: {path}.")
    code = getattr(getattr(error, "response", None), "status_code", None)
    if code == 404:
        return PublishError(
            f"Không tìm thấy tệp Drive {file_id} ([output] drive_file_id): mã sai, tệp đã bị xóa, "
            f"hoặc chưa chia sẻ với {email}. Hãy kiểm tra mã tệp và chia sẻ tệp với {email} "
            f"quyền Người chỉnh sửa. Bảng tổng hợp vẫn được ghi trên máy: {path}.")
    if code == 403 and _reason(error) == "storageQuotaExceeded":
        return PublishError(
            "Tài khoản dịch vụ không có dung lượng Drive riêng nên không tạo/sở hữu được tệp. "
            f"Hãy dùng một tệp do người dùng sở hữu, chia sẻ với {email} quyền Người chỉnh sửa. "
            f"Bảng tổng hợp vẫn được ghi trên máy: {path}.")
    if code == 403:
        return PublishError(
            f"Tài khoản dịch vụ {email} không có quyền sửa tệp Drive {file_id}. Hãy chia sẻ tệp "
            f"với {email} quyền Người chỉnh sửa. Bảng tổng hợp vẫn được ghi trên máy: {path}.")
    if isinstance(error, requests.RequestException) and code is None:
        return PublishError(
            f"Không kết nối được Google Drive ({type(error).__name__}); bảng tổng hợp vẫn được "
            f"ghi trên máy: {path}. Sẽ tải lên ở lần chạy sau.", try_later=True)
    return PublishError(
        f"Google Drive trả lỗi {code} khi tải bảng tổng hợp lên tệp {file_id}; bảng tổng hợp vẫn "
        f"được ghi trên máy: {path}. Sẽ thử lại ở lần chạy sau.",
        try_later=code is not None and (code >= 500 or code in (408, 429)))


def publish_rollup(backend, file_id: str, path: Path) -> PublishResult:
    """Upload ``path`` as the new content of Drive file ``file_id`` unless it is identical.

    ``backend`` is a ``GoogleBackend`` (its ``client.http_client`` and ``client_email`` are
    used). Raises ``PublishError`` with a Vietnamese, actionable message."""
    import google.auth.exceptions as auth_errors
    import gspread
    import requests

    path = Path(path)
    content, md5 = _md5(path)
    http = backend.client.http_client
    sent = 0
    try:
        sent += 1
        meta = http.request("get", f"{DRIVE_FILES_URL}/{file_id}",
                            params={"fields": "id,name,mimeType,md5Checksum",
                                    "supportsAllDrives": "true"}).json()
        name = meta.get("name")
        mime = meta.get("mimeType", "")
        if mime.startswith("application/vnd.google-apps."):
            raise PublishError(
                f"Tệp Drive {file_id} (\"{name}\") là tệp Google, không thay nội dung bằng .xlsx "
                f"được. Hãy tải một tệp .xlsx bất kỳ lên Drive, chia sẻ với "
                f"{backend.client_email} quyền Người chỉnh sửa và ghi mã tệp đó vào [output] "
                f"drive_file_id.")
        if meta.get("md5Checksum") == md5:
            return PublishResult(UNCHANGED, file_id, name, md5, len(content),
                                 f"Tệp Drive \"{name}\" đã giống bảng tổng hợp, không tải lại.",
                                 sent)
        sent += 1
        got = http.request("patch", f"{DRIVE_UPLOAD_URL}/{file_id}",
                           params={"uploadType": "media", "supportsAllDrives": "true",
                                   "fields": "id,name,md5Checksum"},
                           data=content, headers={"Content-Type": XLSX_MIME}).json()
    except (gspread.exceptions.APIError, requests.RequestException,
            auth_errors.GoogleAuthError) as e:
        raise _failure(backend, file_id, path, e) from None
    remote = got.get("md5Checksum")
    if remote is not None and remote != md5:
        raise PublishError(
            f"Tải bảng tổng hợp lên tệp Drive {file_id} không trọn vẹn (mã kiểm tra khác nhau); "
            f"sẽ tải lại ở lần chạy sau. Bảng tổng hợp vẫn được ghi trên máy: {path}.")
    name = got.get("name", name)
    size = f"{len(content):,}".replace(",", ".")
    return PublishResult(UPLOADED, file_id, name, md5, len(content),
                         f"Đã tải bảng tổng hợp lên tệp Drive \"{name}\" ({size} byte).", sent)

"""Drive v3 subset: files.get/list/delete, permissions.list, media/multipart upload (PATCH).

Service accounts own no Drive storage: files.create, uploads of new files and
files.copy answer 403 ``storageQuotaExceeded``. Bodies are read leniently (no schema).
"""

from __future__ import annotations

import base64
import json
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from . import driveq, errors, fieldmask
from .routes import Route
from .store import DriveFile, Store
from .wire import HttpRequest

_DEFAULT_FILE_FIELDS = "kind,id,name,mimeType"
_DEFAULT_LIST_FIELDS = "kind,incompleteSearch,nextPageToken,files(kind,id,name,mimeType)"
_DEFAULT_PERMISSION_FIELDS = ("kind,nextPageToken,"
                              "permissions(kind,id,type,role,emailAddress,allowFileDiscovery)")


def _masked(value: dict, req: HttpRequest, default: str) -> dict:
    text = req.param("fields") or default
    try:
        return fieldmask.apply(value, fieldmask.parse(text))
    except fieldmask.MaskSyntaxError:
        raise errors.drive_error(400, f"Invalid field selection {text}", "invalidParameter",
                                 location="fields") from None


def _page(items: list, req: HttpRequest, default_size: int,
          max_size: int) -> tuple[list, str | None]:
    try:
        size = min(int(req.param("pageSize") or default_size), max_size)
        start = int(base64.urlsafe_b64decode(req.param("pageToken") or "MA==").decode() or 0)
    except ValueError:
        raise errors.drive_error(400, "Invalid Value", "invalid", location="pageToken") from None
    end = start + max(size, 1)
    token = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(items) else None
    return items[start:end], token


def _multipart(req: HttpRequest) -> tuple[dict, bytes]:
    """(metadata, content) of a ``multipart/related`` upload body."""
    head = f"Content-Type: {req.headers.get('content-type', '')}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + req.body)
    parts = list(message.iter_parts()) if message.is_multipart() else []
    if len(parts) != 2:
        raise errors.drive_error(400, "Bad multipart request", "badRequest")
    metadata = json.loads(parts[0].get_payload(decode=True) or b"{}")
    return metadata, parts[1].get_payload(decode=True) or b""


class DriveApi:
    def __init__(self, store: Store):
        self.store = store

    def handle(self, req: HttpRequest, route: Route, email: str) -> tuple[int, Any]:
        if route.action == "files.create":
            raise errors.storage_quota_exceeded()
        if route.action == "files.list":
            return 200, self.list(req, email)
        file = self.store.drive_file(route.file_id, email,
                                     write=route.action == "files.upload",
                                     owner=route.action == "files.delete")
        if route.action == "files.copy":
            raise errors.storage_quota_exceeded()
        if route.action == "files.delete":
            del self.store.files[file.id]
            return 204, None
        if route.action == "permissions.list":
            items, token = _page(file.permissions, req, 100, 100)
            out: dict[str, Any] = {"kind": "drive#permissionList", "permissions": items}
            if token:
                out["nextPageToken"] = token
            return 200, _masked(out, req, _DEFAULT_PERMISSION_FIELDS)
        if route.action == "files.upload":
            self.upload(file, req)
        return 200, _masked(file.resource(), req, _DEFAULT_FILE_FIELDS)

    def list(self, req: HttpRequest, email: str) -> dict:
        try:
            match = driveq.parse(req.param("q")) if req.param("q") else (lambda f: True)
        except driveq.QuerySyntaxError:
            raise errors.drive_error(400, "Invalid Value", "invalid", location="q") from None
        resources = [f.resource() for f in self.store.visible(email)]
        items, token = _page([r for r in resources if match(r)], req, 100, 1000)
        out: dict[str, Any] = {"kind": "drive#fileList", "incompleteSearch": False, "files": items}
        if token:
            out["nextPageToken"] = token
        return _masked(out, req, _DEFAULT_LIST_FIELDS)

    def upload(self, file: DriveFile, req: HttpRequest) -> None:
        if file.spreadsheet is not None:
            raise errors.drive_error(400, "Uploading content to a Google Sheets file is not "
                                          "supported by the emulator.", "badRequest")
        kind = req.param("uploadType") or "media"
        if kind == "media":
            content, metadata = req.body, {}
        elif kind == "multipart":
            metadata, content = _multipart(req)
        else:
            raise errors.drive_error(400, f"Unsupported uploadType: {kind}", "invalid",
                                     location="uploadType")
        file.content = content
        if metadata.get("name"):
            file.name = metadata["name"]
        if metadata.get("mimeType"):
            file.mime_type = metadata["mimeType"]
        self.store.touch(file)

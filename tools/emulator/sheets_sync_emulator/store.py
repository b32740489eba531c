"""Drive files (spreadsheets and binary files), their permissions and versions.

The Drive ``name`` of a spreadsheet *is* its Sheets title. Every mutation calls
:meth:`Store.touch`, which bumps the monotonic ``version`` and ``modifiedTime``.
Permission changes do not bump the version (documented emulator choice).
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime

from . import errors
from .spreadsheet import Spreadsheet

SPREADSHEET_MIME = "application/vnd.google-apps.spreadsheet"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
OFFICE_SPREADSHEET_MIMES = frozenset({XLSX_MIME, "application/vnd.ms-excel",
                                      "application/vnd.oasis.opendocument.spreadsheet"})
OWNER_EMAIL = "owner@sheets-sync.example"
_WRITE_ROLES = {"owner", "organizer", "fileOrganizer", "writer"}


def rfc3339(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def permission(email: str | None, role: str) -> dict:
    if email is None:
        return {"kind": "drive#permission", "id": "anyoneWithLink", "type": "anyone",
                "role": role, "allowFileDiscovery": False}
    digest = int(hashlib.sha1(email.lower().encode()).hexdigest()[:15], 16)
    return {"kind": "drive#permission", "id": str(digest), "type": "user", "role": role,
            "emailAddress": email}


class DriveFile:
    def __init__(self, file_id: str, mime_type: str, now_ms: int, name: str = "",
                 spreadsheet: Spreadsheet | None = None, content: bytes | None = None,
                 parents: list[str] | None = None):
        self.id = file_id
        self.mime_type = mime_type
        self.created_ms = self.modified_ms = now_ms
        self.version = 1
        self.parents = list(parents or [])
        self.trashed = False
        self.permissions = [permission(OWNER_EMAIL, "owner")]
        self.spreadsheet = spreadsheet
        self.content = content
        self._name = name

    @property
    def name(self) -> str:
        return self.spreadsheet.title if self.spreadsheet is not None else self._name

    @name.setter
    def name(self, value: str) -> None:
        if self.spreadsheet is not None:
            self.spreadsheet.properties["title"] = value
        else:
            self._name = value

    def role_of(self, email: str) -> str | None:
        user = next((p["role"] for p in self.permissions
                     if p["type"] == "user" and p["emailAddress"].lower() == email.lower()), None)
        anyone = next((p["role"] for p in self.permissions if p["type"] == "anyone"), None)
        return user or anyone

    def share(self, email: str | None, role: str) -> None:
        """Grant ``role``; a new owner demotes the previous one to writer (one owner)."""
        self.revoke(email)
        if role == "owner":
            self.permissions = [{**p, "role": "writer"} if p["role"] == "owner" else p
                                for p in self.permissions]
        self.permissions.append(permission(email, role))

    def revoke(self, email: str | None) -> None:
        self.permissions = [
            p for p in self.permissions
            if not (p["type"] == "anyone" if email is None
                    else p["type"] == "user" and p["emailAddress"].lower() == email.lower())]

    def resource(self) -> dict:
        """The full Drive v3 File resource (``fields`` filters it)."""
        out = {"kind": "drive#file", "id": self.id, "name": self.name,
               "mimeType": self.mime_type, "parents": self.parents, "trashed": self.trashed,
               "version": str(self.version), "createdTime": rfc3339(self.created_ms),
               "modifiedTime": rfc3339(self.modified_ms),
               "owners": [{"kind": "drive#user", "emailAddress": p["emailAddress"]}
                          for p in self.permissions if p["role"] == "owner"]}
        if self.spreadsheet is not None:
            out["webViewLink"] = f"https://docs.google.com/spreadsheets/d/{self.id}/edit"
        if self.content is not None:
            out.update(md5Checksum=hashlib.md5(self.content).hexdigest(),
                       size=str(len(self.content)), headRevisionId=f"rev{self.version}")
        return out


class Store:
    def __init__(self) -> None:
        self.files: dict[str, DriveFile] = {}

    @staticmethod
    def now_ms() -> int:
        return int(time.time() * 1000)

    def add(self, file: DriveFile) -> DriveFile:
        self.files[file.id] = file
        return file

    def touch(self, file: DriveFile) -> None:
        """Record a mutation: version + 1, modifiedTime strictly later than before."""
        file.version += 1
        file.modified_ms = max(self.now_ms(), file.modified_ms + 1)

    def require(self, file_id: str) -> DriveFile:
        """For the Python API: the file or KeyError."""
        if file_id not in self.files:
            raise KeyError(f"no such file: {file_id}")
        return self.files[file_id]

    def spreadsheet_file(self, spreadsheet_id: str, email: str, write: bool) -> DriveFile:
        """Sheets access control: 404 unknown, 403 not shared (or read-only for a write), 400
        an Office file the caller can see."""
        file = self.files.get(spreadsheet_id)
        if file is None:
            raise errors.spreadsheet_not_found()
        if file.spreadsheet is None:
            # An Office workbook uploaded to Drive and never saved as Google Sheets: Google
            # answers 400 FAILED_PRECONDITION to whoever can see it (its web UI still opens it).
            if file.mime_type in OFFICE_SPREADSHEET_MIMES and file.role_of(email) is not None:
                raise errors.not_supported_document()
            raise errors.spreadsheet_not_found()
        role = file.role_of(email)
        if role is None or (write and role not in _WRITE_ROLES):
            raise errors.permission_denied()
        return file

    def drive_file(self, file_id: str, email: str, write: bool = False,
                   owner: bool = False) -> DriveFile:
        """Drive access control: files the caller cannot see are "not found"."""
        file = self.files.get(file_id)
        role = file.role_of(email) if file is not None else None
        if role is None:
            raise errors.file_not_found(file_id)
        if (write and role not in _WRITE_ROLES) or (owner and role != "owner"):
            raise errors.insufficient_file_permissions()
        return file

    def visible(self, email: str) -> list[DriveFile]:
        return [f for f in self.files.values() if f.role_of(email) is not None]

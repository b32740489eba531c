"""Map (HTTP method, raw path) to an emulator route.

The ``:verb`` suffix is split off the *raw* path before percent-decoding, because a
range's own ``:`` arrives encoded as ``%3A`` (``/values/%27S%27%21A1%3AB2:append``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

_ID = r"([^/:]+)"
_SHEETS = [
    # (http method, raw path regex, action, kind)
    ("POST", r"/v4/spreadsheets", "create", "write"),
    ("GET", rf"/v4/spreadsheets/{_ID}", "get", "read"),
    ("POST", rf"/v4/spreadsheets/{_ID}:batchUpdate", "batchUpdate", "write"),
    ("GET", rf"/v4/spreadsheets/{_ID}/values:batchGet", "values.batchGet", "read"),
    ("POST", rf"/v4/spreadsheets/{_ID}/values:batchUpdate", "values.batchUpdate", "write"),
    ("POST", rf"/v4/spreadsheets/{_ID}/values:batchClear", "values.batchClear", "write"),
    ("POST", rf"/v4/spreadsheets/{_ID}/values:batchUpdateByDataFilter",
     "values.batchUpdateByDataFilter", "write"),
    ("POST", rf"/v4/spreadsheets/{_ID}/values/([^/]+):append", "values.append", "write"),
    ("POST", rf"/v4/spreadsheets/{_ID}/values/([^/]+):clear", "values.clear", "write"),
    ("GET", rf"/v4/spreadsheets/{_ID}/values/([^/]+)", "values.get", "read"),
    ("PUT", rf"/v4/spreadsheets/{_ID}/values/([^/]+)", "values.update", "write"),
]
_DRIVE = [
    ("GET", r"/drive/v3/files", "files.list"),
    ("POST", r"/drive/v3/files", "files.create"),
    ("POST", r"/upload/drive/v3/files", "files.create"),
    ("GET", rf"/drive/v3/files/{_ID}", "files.get"),
    ("DELETE", rf"/drive/v3/files/{_ID}", "files.delete"),
    ("POST", rf"/drive/v3/files/{_ID}/copy", "files.copy"),
    ("GET", rf"/drive/v3/files/{_ID}/permissions", "permissions.list"),
    ("PATCH", rf"/upload/drive/v3/files/{_ID}", "files.upload"),
    ("PUT", rf"/upload/drive/v3/files/{_ID}", "files.upload"),
]


@dataclass(frozen=True)
class Route:
    api: str  # "sheets" | "drive" | "token" | "control"
    action: str  # e.g. "values.get", "files.list", "stats"
    kind: str  # "read" | "write" (Sheets) | "drive" | "token" | "control"
    file_id: str | None = None  # spreadsheet / Drive file id
    args: tuple = ()  # the decoded range of /values/{range} routes

    @property
    def method_id(self) -> str:
        """The discovery method id of a Sheets route (``sheets.spreadsheets.values.get``)."""
        return f"sheets.spreadsheets.{self.action}"


@dataclass
class RequestInfo:
    """What faults, hooks and statistics know about one API request."""

    method: str
    path: str
    query: dict[str, list[str]]
    route: Route
    email: str | None = None
    status: int | None = None

    @property
    def kind(self) -> str:
        return self.route.kind

    @property
    def spreadsheet_id(self) -> str | None:
        return self.route.file_id


def resolve(method: str, raw_path: str) -> Route | None:
    if raw_path == "/token" and method == "POST":
        return Route("token", "token", "token")
    if raw_path.startswith("/__emulator/"):
        return Route("control", raw_path[len("/__emulator/"):], "control")
    for verb, pattern, action, kind in _SHEETS:
        m = re.fullmatch(pattern, raw_path)
        if m and verb == method:
            ids = [unquote(g, errors="replace") for g in m.groups()]
            return Route("sheets", action, kind, ids[0] if ids else None, tuple(ids[1:]))
    for verb, pattern, action in _DRIVE:
        m = re.fullmatch(pattern, raw_path)
        if m and verb == method:
            file_id = unquote(m.group(1)) if m.groups() else None
            return Route("drive", action, "drive", file_id)
    return None

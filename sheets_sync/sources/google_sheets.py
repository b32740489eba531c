"""Google Sheets backend (gspread): the same interface as the local one.

Read = one ``spreadsheets.get`` whose field mask returns the sheet properties, every cell's
effective value, the formula markers and the tool columns' developer metadata (``READ_FIELDS``),
flattened to the rows ``values:batchGet`` with UNFORMATTED_VALUE + SERIAL_NUMBER gives. One
Drive ``files.list`` per run (``list_versions``) gives every spreadsheet's ``version``: an
unchanged one is not read. Write (``GoogleWriter``) = a Drive ``version`` check + one write
request in the common case: a ``values:batchUpdateByDataFilter`` anchored on the tool columns'
developer metadata (with the Kiểm tra tab, its row links as HYPERLINK formulas), or, when tool
columns/tabs/metadata are missing or frozen rows change, one structural ``batchUpdate`` that
also carries the new columns' values and the tool tabs (a value write follows only for tool
columns that already existed); the key columns are re-read only when the version moved. Every
request goes through ``google_http.GoogleTransport`` (timeouts, retries, pacing, counts).
Failures become ``UnitReadError`` with a Vietnamese message a person can act on, never with
credentials.
"""
from __future__ import annotations

import json
import random
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import google.auth.exceptions as auth_errors
import gspread
import requests
from google.auth import crypt

from ..core import jsonread
from ..core.a1 import a1
from ..core.config import Config, GoogleConfig, UnitConfig
from ..core.errors import ConfigError, UnitReadError
from ..core.faults import os_reason
from ..core.findings import UNREACHABLE
from ..core.flagplan import WriteResult, key_text
from ..core.raw import RawSheet, RawWorkbook
from ..core.text import without_lone_surrogates
from .google_http import Quota, RequestStats, RetryPolicy, make_client

DRIVE_FILES_URL = "https://www.googleapis.com/drive/v3/files"
METADATA_FIELDS = ("spreadsheetId,properties(title,locale,timeZone),sheets.properties(sheetId,"
                   "title,index,gridProperties(rowCount,columnCount,frozenRowCount))")
VALUE_PARAMS = {"valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "SERIAL_NUMBER",
                "majorDimension": "ROWS"}
_URL_KEY = re.compile(r"/spreadsheets/d/([a-zA-Z0-9-_]+)")


def spreadsheet_key(value: str | None) -> str:
    """A spreadsheet key from a key or a full URL (``UnitConfig.spreadsheet``)."""
    if value is None:
        raise ConfigError("Đơn vị này không có khóa 'spreadsheet' (bảng tính Google) trong tệp "
                          "cấu hình.")
    m = _URL_KEY.search(value)
    return m.group(1) if m else value.strip()


def quote_title(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


KEY_FIX = ("Hãy tải lại tệp khóa JSON của tài khoản dịch vụ từ Google Cloud Console (IAM → "
           "Tài khoản dịch vụ → Khóa → Thêm khóa → JSON) và ghi đường dẫn vào [google] "
           "credentials.")


def load_service_account(path: Path) -> dict:
    """The service-account key as a dict, checked: JSON object, the fields google-auth needs
    as text, a private key that can be loaded. Every fault is a ``ConfigError`` naming the
    file and the field — never the key's content."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"Không tìm thấy tệp khóa tài khoản dịch vụ {path}. {KEY_FIX}") from None
    except IsADirectoryError:
        raise ConfigError(f"[google] credentials = {path} là một thư mục, không phải tệp khóa "
                          f"JSON. {KEY_FIX}") from None
    except OSError as e:
        raise ConfigError(f"Không đọc được tệp khóa tài khoản dịch vụ {path} ({os_reason(e)}).") \
            from None
    try:
        info = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        raise ConfigError(f"Tệp khóa tài khoản dịch vụ {path} không đọc được (cần JSON). "
                          f"{KEY_FIX}") from None
    if not isinstance(info, dict):
        raise ConfigError(f"Tệp khóa {path} không phải khóa tài khoản dịch vụ (nội dung là "
                          f"{type(info).__name__ if info is not None else 'null'}, cần một đối "
                          f"tượng JSON có client_email, private_key, token_uri). {KEY_FIX}")
    missing = [k for k in ("client_email", "private_key", "token_uri") if k not in info]
    if missing:
        raise ConfigError(f"Tệp khóa {path} thiếu trường {', '.join(missing)}. {KEY_FIX}")
    wrong = [k for k in ("client_email", "private_key", "token_uri", "private_key_id")
             if k in info and not (isinstance(info[k], str) and info[k].strip())]
    if wrong:
        raise ConfigError(f"Tệp khóa {path}: trường {', '.join(wrong)} phải là chuỗi không rỗng. "
                          f"{KEY_FIX}")
    try:
        crypt.RSASigner.from_service_account_info(info)
    except (ValueError, TypeError, IndexError):
        raise ConfigError(f"Khóa riêng (private_key) trong tệp khóa {path} bị hỏng hoặc không "
                          f"phải khóa PEM hợp lệ. {KEY_FIX}") from None
    return info


def _policy_from(google: GoogleConfig) -> tuple[RetryPolicy, Quota]:
    """Retry policy and pacer quota from the optional ``[google]`` settings."""
    policy, quota = RetryPolicy(), Quota()
    if google.timeout_s:
        policy.timeout = (min(10.0, float(google.timeout_s)), float(google.timeout_s))
    if google.max_attempts:
        policy.max_attempts = google.max_attempts
    if google.max_retry_wait_s is not None:
        policy.max_total_sleep = google.max_retry_wait_s
    if google.reads_per_minute:
        quota.reads = google.reads_per_minute
    if google.writes_per_minute:
        quota.writes = google.writes_per_minute
    return policy, quota


class GoogleBackend:
    """One gspread client (real google-auth service-account credentials) for every Google unit
    of a run; ``stats`` counts every request it sent (reads, writes, Drive, retries, waits)."""

    def __init__(self, info: dict, endpoint: str | None = None, policy: RetryPolicy | None = None,
                 quota: Quota | None = None, stats: RequestStats | None = None):
        self.client_email = info["client_email"]
        self.client, self.transport = make_client(info, endpoint, policy, quota, stats)

    @classmethod
    def from_config(cls, config: Config) -> GoogleBackend:
        if config.google.problem:
            raise ConfigError(config.google.problem)
        if config.google.credentials is None:
            raise ConfigError(
                "Có đơn vị dùng Google Sheets nhưng chưa khai báo [google] credentials "
                "(hoặc biến môi trường GOOGLE_APPLICATION_CREDENTIALS).")
        policy, quota = _policy_from(config.google)
        return cls(load_service_account(config.google.credentials), config.google.endpoint,
                   policy, quota)

    def writer(self) -> GoogleWriter:
        return GoogleWriter(self)

    @property
    def stats(self) -> RequestStats:
        return self.transport.stats

    # --- errors --------------------------------------------------------------------------------
    # Messages never include the error text itself (it may echo request details); only the
    # spreadsheet key, the service account's e-mail and the HTTP status.

    def _share_hint(self) -> str:
        return f"Hãy chia sẻ bảng tính với {self.client_email} quyền Người chỉnh sửa."

    def _failure(self, unit: UnitConfig, error: Exception, action: str = "đọc") -> UnitReadError:
        key = spreadsheet_key(unit.spreadsheet)
        code = getattr(getattr(error, "response", None), "status_code", None)
        if isinstance(error, auth_errors.GoogleAuthError) and (
                getattr(error, "retryable", False)
                or isinstance(error, auth_errors.TransportError)):
            return UnitReadError(
                "Máy chủ xác thực của Google tạm thời không trả lời (lỗi máy chủ hoặc hết thời "
                "gian chờ); khóa không sai. Thử lại sau.", UNREACHABLE, try_later=True)
        if isinstance(error, auth_errors.RefreshError):
            return UnitReadError(
                f"Google không cấp quyền truy cập cho tài khoản dịch vụ {self.client_email} "
                "(khóa sai, đã bị xóa/thu hồi, hoặc đồng hồ máy tính lệch giờ). Hãy kiểm tra tệp "
                "khóa ở [google] credentials.", UNREACHABLE)
        if isinstance(error, auth_errors.GoogleAuthError):
            return UnitReadError("Không kết nối được máy chủ xác thực của Google; thử lại sau.",
                                 UNREACHABLE, try_later=True)
        if isinstance(error, PermissionError) or code == 403:
            return UnitReadError(
                f"Không có quyền {action} bảng tính {key}. {self._share_hint()}", UNREACHABLE)
        if code == 400 and _google_status(error) == "FAILED_PRECONDITION":
            return UnitReadError(
                f"Bảng tính {key} là tệp Excel (.xlsx, .xls) hoặc .ods tải lên Google Drive, chưa "
                "chuyển sang Google Trang tính, nên Google không cho đọc/ghi qua API. Hãy mở tệp "
                "trên Drive, chọn Tệp → Lưu dưới dạng Google Trang tính, rồi ghi địa chỉ bảng "
                "tính mới vào cấu hình (spreadsheet = …) và chia sẻ bảng tính mới với "
                f"{self.client_email} quyền Người chỉnh sửa.", UNREACHABLE)
        if code == 404:
            return UnitReadError(
                f"Không tìm thấy bảng tính {key}: đã bị xóa hoặc sai mã trong cấu hình. Nếu bảng "
                f"tính vẫn còn, hãy chia sẻ bảng tính với {self.client_email} quyền Người chỉnh "
                "sửa.", UNREACHABLE)
        if code == 429:
            return UnitReadError(
                f"Google báo vượt hạn mức truy cập khi {action} bảng tính {key} dù đã thử lại "
                "nhiều lần; thử lại sau.", UNREACHABLE, try_later=True)
        if isinstance(error, requests.Timeout):
            return UnitReadError(f"Google không trả lời kịp khi {action} bảng tính {key} "
                                 "(hết thời gian chờ); thử lại sau.", UNREACHABLE,
                                 try_later=True)
        if isinstance(error, requests.RequestException) and code is None:
            return UnitReadError(f"Không kết nối được Google khi {action} bảng tính {key} "
                                 f"({type(error).__name__}); thử lại sau.", UNREACHABLE,
                                 try_later=True)
        if code is not None and code >= 500:
            return UnitReadError(f"Google đang gặp sự cố (lỗi {code}) khi {action} bảng tính "
                                 f"{key}; thử lại sau.", UNREACHABLE, try_later=True)
        return UnitReadError(f"Google trả lỗi {code or ''} khi {action} bảng tính {key}.",
                             UNREACHABLE)

    def _call(self, unit: UnitConfig, fn, action: str = "đọc"):
        outer = self.transport.unit  # a nested call (the write's guard) keeps the unit counted
        self.transport.unit = unit.code
        try:
            return fn()
        except (gspread.exceptions.GSpreadException, PermissionError, requests.RequestException,
                auth_errors.GoogleAuthError) as e:
            raise self._failure(unit, e, action) from None
        finally:
            self.transport.unit = outer

    # --- interface -----------------------------------------------------------------------------

    def version(self, unit: UnitConfig) -> str | None:
        """Drive ``version`` of the spreadsheet (one Drive request).

        Drive answers 404 both for a deleted file and for one not shared with the service
        account; only then one Sheets metadata request tells the two apart (403 = not shared).
        """
        key = spreadsheet_key(unit.spreadsheet)
        http = self.client.http_client

        def get():
            try:
                r = http.request("get", f"{DRIVE_FILES_URL}/{key}",
                                 params={"fields": "id,version,modifiedTime",
                                         "supportsAllDrives": True})
            except gspread.exceptions.APIError as e:
                if e.response.status_code not in (403, 404):
                    raise
                http.fetch_sheet_metadata(key, params={"fields": "spreadsheetId"})
                return None  # Sheets can read it (Drive API refused): no change token
            return r.json().get("version")

        return self._call(unit, get)

    def list_versions(self) -> dict[str, str]:
        """Drive ``version`` of every spreadsheet the service account can see: one
        ``files.list`` (1,000 files a page) for the whole run, instead of one ``files.get`` per
        unit. Raises ``UnitReadError`` when Drive cannot be listed."""
        http = self.client.http_client
        versions: dict[str, str] = {}
        token: str | None = None

        def page() -> dict:
            params = {"q": LIST_QUERY, "fields": "nextPageToken,files(id,version)",
                      "pageSize": 1000, "supportsAllDrives": True,
                      "includeItemsFromAllDrives": True}
            if token:
                params["pageToken"] = token
            return http.request("get", DRIVE_FILES_URL, params=params).json()

        import google.auth.exceptions as auth_errors
        import gspread
        import requests

        while True:
            try:
                got = page()
            except (gspread.exceptions.GSpreadException, requests.RequestException,
                    auth_errors.GoogleAuthError, ValueError) as e:
                raise UnitReadError(f"Không liệt kê được các bảng tính trên Google Drive "
                                    f"({type(e).__name__}).", UNREACHABLE) from None
            for f in got.get("files", []):
                if f.get("id") and f.get("version") is not None:
                    versions[f["id"]] = str(f["version"])
            token = got.get("nextPageToken")
            if not token:
                return versions

    def read(self, unit: UnitConfig) -> RawWorkbook:
        """One ``spreadsheets.get`` whose field mask returns the sheet properties, every cell's
        effective value (serial dates/times, numbers, booleans, strings, errors), which cells
        hold formulas and the developer metadata of the columns (where the tool columns are),
        flattened to the rows ``values:batchGet`` with UNFORMATTED_VALUE + SERIAL_NUMBER gives."""
        key = spreadsheet_key(unit.spreadsheet)

        def get() -> RawWorkbook:
            response = self.client.http_client.request(
                "get", SPREADSHEET_URL.format(key),
                params={"includeGridData": "false", "fields": READ_FIELDS})
            content = response.content
            try:  # every cell of the spreadsheet: read by orjson where it reads as json does
                got = jsonread.loads(content)
            except ValueError:  # not JSON: requests' own error, as for any other request
                got = response.json()
            if b"\\ud" in content or b"\\uD" in content:  # maybe half an emoji (escaped)
                got = _without_lone_surrogates(got)
            return flatten_spreadsheet(key, got)

        return self._call(unit, get)


def _google_status(error: Exception) -> str | None:
    """The ``status`` of Google's JSON error answer ("FAILED_PRECONDITION", …), if any."""
    response: Any = getattr(error, "response", None)
    try:
        status = response.json()["error"]["status"]  # (None has no .json: AttributeError)
    except (AttributeError, ValueError, KeyError, TypeError):
        return None
    return status if isinstance(status, str) else None


SPREADSHEET_URL = "https://sheets.googleapis.com/v4/spreadsheets/{}"
LIST_QUERY = "mimeType='application/vnd.google-apps.spreadsheet' and trashed=false"
# One read: the locale + sheet properties + effective values + formula markers + column metadata.
READ_FIELDS = ("properties(locale),"
               "sheets(properties(sheetId,title,index,gridProperties(rowCount,columnCount,"
               "frozenRowCount)),data(rowData(values(effectiveValue,userEnteredValue/"
               "formulaValue)),columnMetadata/developerMetadata))")
TOOL_KEY = "sheets_sync.tool_column"  # developer metadata on each tool column: value status/details
ROLES = ("status", "details")
# ErrorValue.type -> what the values API shows for the cell (UNFORMATTED_VALUE)
ERROR_CODES = {"NULL_VALUE": "#NULL!", "DIVIDE_BY_ZERO": "#DIV/0!", "VALUE": "#VALUE!",
               "REF": "#REF!", "NAME": "#NAME?", "NUM": "#NUM!", "N_A": "#N/A",
               "ERROR": "#ERROR!", "LOADING": "Loading..."}


def _without_lone_surrogates(doc: Any) -> Any:
    """A decoded answer with every text ``text.without_lone_surrogates``: what is read is then
    text any file can hold (the sheet itself is not changed)."""
    if isinstance(doc, str):
        return without_lone_surrogates(doc)
    if isinstance(doc, list):
        return [_without_lone_surrogates(v) for v in doc]
    if isinstance(doc, dict):
        return {_without_lone_surrogates(k): _without_lone_surrogates(v) for k, v in doc.items()}
    return doc


def cell_value(cell: dict) -> Any:
    """A CellData's effective value as the values API renders it with UNFORMATTED_VALUE."""
    value = cell.get("effectiveValue")
    if not value:
        return None
    if "stringValue" in value:
        return value["stringValue"]
    if "numberValue" in value:
        return value["numberValue"]
    if "boolValue" in value:
        return value["boolValue"]
    if "errorValue" in value:
        return ERROR_CODES.get((value["errorValue"] or {}).get("type", "ERROR"), "#ERROR!")
    return None


def flatten_grid(data: list[dict]) -> tuple[list[list[Any]], list[int]]:
    """(rows, formula columns) of a sheet's GridData (one block from A1): trailing empty cells
    and rows trimmed, inner empty cells "" and inner empty rows [] (the values API's shape)."""
    rows: list[list[Any]] = []
    formulas: set[int] = set()
    block = data[0] if data else {}
    rows.extend([] for _ in range(block.get("startRow", 0)))
    for row in block.get("rowData", []) or []:
        line = []
        for c, cell in enumerate((row or {}).get("values", []) or []):
            cell = cell or {}
            if (cell.get("userEnteredValue") or {}).get("formulaValue") is not None:
                formulas.add(c)
            line.append(cell_value(cell))
        while line and line[-1] in (None, ""):
            line.pop()
        rows.append(["" if v is None else v for v in line])
    while rows and not rows[-1]:
        rows.pop()
    return rows, sorted(formulas)


def tool_metadata(data: list[dict]) -> dict[str, list[int]]:
    """role -> [column, metadataId] of the tool columns' developer metadata (first found)."""
    out: dict[str, list[int]] = {}
    block = data[0] if data else {}
    for c, props in enumerate(block.get("columnMetadata", []) or []):
        for m in (props or {}).get("developerMetadata", []) or []:
            role = m.get("metadataValue")
            if m.get("metadataKey") == TOOL_KEY and role in ROLES and role not in out:
                rng = (m.get("location") or {}).get("dimensionRange") or {}
                out[role] = [int(rng.get("startIndex", c)), int(m["metadataId"])]
    return out


def metadata_id(sheet_id: int, role: str, col: int) -> int:
    """A deterministic metadataId (a dry run plans the requests a real run sends)."""
    return zlib.crc32(f"{TOOL_KEY}:{sheet_id}:{role}:{col}".encode()) % (2**31 - 1) + 1


def anchor_requests(sheet_id: int, have: dict[str, list[int]], wanted: dict[str, int]
                    ) -> tuple[list[dict], dict[str, int]]:
    """``batchUpdate`` requests that put the tool-column developer metadata on the columns
    ``wanted`` (role -> 0-based column) of a sheet whose metadata is ``have`` (role ->
    [column, metadataId]), and the metadataId of each role afterwards."""
    requests: list[dict] = []
    ids: dict[str, int] = {}
    for role, col in wanted.items():
        found = have.get(role)
        if found and found[0] == col:
            ids[role] = found[1]
            continue
        if found:  # on another column (the header was renamed or retyped elsewhere)
            requests.append({"deleteDeveloperMetadata": {"dataFilter": {
                "developerMetadataLookup": {"metadataId": found[1]}}}})
        new_id = metadata_id(sheet_id, role, col)
        requests.append({"createDeveloperMetadata": {"developerMetadata": {
            "metadataId": new_id, "metadataKey": TOOL_KEY, "metadataValue": role,
            "location": {"dimensionRange": {"sheetId": sheet_id, "dimension": "COLUMNS",
                                            "startIndex": col, "endIndex": col + 1}},
            "visibility": "DOCUMENT"}}})
        ids[role] = new_id
    return requests, ids


def flatten_spreadsheet(key: str, got: dict) -> RawWorkbook:
    """The RawWorkbook of one ``spreadsheets.get`` answer (``READ_FIELDS``); ``meta`` keeps the
    locale, sheet ids, grid sizes, frozen rows, formula columns and the tool columns' metadata."""
    sheets: list[RawSheet] = []
    meta: dict[str, Any] = {"spreadsheet": key, "sheet_ids": {}, "grid": {}, "frozen": {},
                            "formula_cols": {}, "tool_meta": {}}
    locale = got.get("properties", {}).get("locale")
    if locale:
        meta["locale"] = locale
    for sheet in got.get("sheets", []):
        p = sheet.get("properties", {})
        title = p["title"]
        rows, formulas = flatten_grid(sheet.get("data", []))
        sheets.append(RawSheet(title, rows))
        grid = p.get("gridProperties", {})
        meta["sheet_ids"][title] = p.get("sheetId", 0)
        meta["grid"][title] = [grid.get("rowCount", 0), grid.get("columnCount", 0)]
        meta["frozen"][title] = grid.get("frozenRowCount", 0)
        if formulas:  # the last column holding a formula (core: tool columns go after it)
            meta["formula_cols"][title] = max(formulas)
        found = tool_metadata(sheet.get("data", []))
        if found:
            meta["tool_meta"][title] = found
    return RawWorkbook(sheets, meta=meta)


# --- write-back --------------------------------------------------------------------------------

def _padded(grid: list[list[str]], old_rows: list[list]) -> list[list[str]]:
    """``grid`` padded with "" so that it also clears what the old content covered."""
    height = max(len(grid), len(old_rows))
    width = max([len(r) for r in grid] + [len(r) for r in old_rows] + [1])
    return [[*(grid[r] if r < len(grid) else []),
             *[""] * (width - len(grid[r] if r < len(grid) else []))] for r in range(height)]


@dataclass(frozen=True)
class CellLink:
    """A tool-tab cell showing ``label`` that links to ``uri`` (a place in the spreadsheet);
    ``separator`` is the formula argument separator of the spreadsheet's locale."""

    uri: str
    label: str
    separator: str = ";"


# Languages whose locales write a decimal comma: Sheets then separates formula arguments with
# ";" (a "," would be read as a decimal comma). Spain's and Portugal's languages keep the
# comma in most of their locales; the exceptions are the dot-decimal ones below.
_DECIMAL_COMMA_LANGUAGES = frozenset(
    "vi de fr es it pt ru uk be id nl tr pl cs sk sl hr sr bs bg ro hu da nb nn no sv fi et lv "
    "lt el ca gl eu az kk ka hy mn is sq mk af".split())
_DECIMAL_POINT_LOCALES = frozenset({"es_MX", "es_US", "es_419", "de_CH", "fr_CH", "it_CH"})


def argument_separator(locale: str | None) -> str:
    """The formula argument separator of a spreadsheet locale (``vi_VN`` → ``;``, ``en_US`` →
    ``,``); ``;`` when the locale is not known (the locale provisioning sets is vi_VN)."""
    if not locale:
        return ";"
    if locale in _DECIMAL_POINT_LOCALES:
        return ","
    return ";" if locale.split("_")[0].lower() in _DECIMAL_COMMA_LANGUAGES else ","


def link_formula(link: CellLink) -> str:
    """``=HYPERLINK("<uri>";"<label>")`` with the locale's argument separator: both arguments
    inside string literals (quotes doubled), so any label text stays text."""
    return ('=HYPERLINK("' + link.uri.replace('"', '""') + '"' + link.separator + '"'
            + link.label.replace('"', '""') + '")')


def cell_data(value: Any) -> dict:
    """The CellData an ``updateCells`` (fields ``userEnteredValue``) writes for a tool value:
    text as ``stringValue`` (never parsed), a ``CellLink`` as its HYPERLINK formula (as a
    value write sends it), numbers and booleans as such; None or "" clears the cell."""
    if isinstance(value, CellLink):
        return {"userEnteredValue": {"formulaValue": link_formula(value)}}
    if value is None or value == "":
        return {}
    if isinstance(value, bool):
        return {"userEnteredValue": {"boolValue": value}}
    if isinstance(value, (int, float)):
        return {"userEnteredValue": {"numberValue": value}}
    return {"userEnteredValue": {"stringValue": str(value)}}


def value_input(value: Any, user_entered: bool) -> Any:
    """A tool value as a values write sends it so that Google stores exactly that value.
    RAW stores text as given. USER_ENTERED parses input "as if typed into the UI", so every
    non-empty text is sent with a leading apostrophe, the way a person types ``'=x`` to get
    the text ``=x`` (Sheets keeps what follows the apostrophe as text: no formula, number,
    date or boolean); a ``CellLink`` becomes its HYPERLINK formula. None leaves the cell, ""
    clears it, numbers and booleans stay as they are."""
    if isinstance(value, CellLink):
        if not user_entered:
            raise ValueError("a link formula needs valueInputOption USER_ENTERED")
        return link_formula(value)
    if user_entered and isinstance(value, str) and value:
        return "'" + value
    return value


MOVED = "đang có người sửa (các dòng đã thay đổi), sẽ ghi ở lần sau."
COLUMN_GONE = ("cột kiểm tra vừa bị xóa trong lúc ghi nên không ghi vào đó; sẽ ghi lại ở lần "
               "sau.")
UNSURE = ("Google trả lời chậm nên chưa chắc lần ghi cấu trúc đã xong; sẽ đọc lại và ghi ở lần "
          "sau.")
VALUES_BY_FILTER_URL = ("https://sheets.googleapis.com/v4/spreadsheets/{}"
                        "/values:batchUpdateByDataFilter")


class GoogleWriter:
    """Applies a ``FlagPlan`` to a spreadsheet with one write request in the common case.

    Later runs (tool columns anchored, tabs present): one ``values:batchUpdateByDataFilter``
    with the changed tool-column cells and the rewritten tool tabs; RAW, or USER_ENTERED with
    every text sent literal (``value_input``) when it carries Kiểm tra's row links as
    HYPERLINK formulas. First run (or anything structural missing): one ``batchUpdate`` that
    inserts the tool columns and writes their headers and values by position (the columns it
    just inserted: atomic, in order), anchors them, adds the tool tabs and writes their cells
    by sheet id; a value write follows only for changes in tool columns that already existed.

    Anchoring: each tool column carries developer metadata (key ``TOOL_KEY``, value
    status/details) on its COLUMN location, and its cells are written through a DataFilter on
    that metadata: Google resolves the column when it applies the write, so a column a person
    inserted or deleted anywhere between our read and our write cannot redirect flags onto a
    staff column (a deleted tool column takes its metadata with it: nothing is written there).
    Tool tabs are addressed by sheet id. Rows stay positional inside the column: a person
    inserting or deleting rows in the instant between the write-time check and the write can
    shift flags by a row *inside the tool column*; the Drive version then differs from ours
    alone, so the next run re-reads and rewrites them.

    Write-time check: Drive ``version`` (one Drive request) still equal to the version whose
    data were checked; otherwise the key columns and header rows are re-read
    (``key_mismatches``) and a tab whose rows moved is skipped."""

    def __init__(self, backend: GoogleBackend):
        self.backend = backend
        self.rng = random.Random()

    def guard(self, unit: UnitConfig, read) -> bool:
        """True when Drive's version is still the one of the data that were checked."""
        seen = read.raw.version
        if seen is None:
            return False
        try:
            now = self.backend.version(unit)
        except UnitReadError:
            return False
        return now is not None and str(now) == str(seen)

    def key_mismatches(self, key: str, read, plan) -> dict[str, str]:
        """Tabs whose rows moved since they were checked (one ``values:batchGet``).

        For every tab with flag changes, the key columns of the changed rows are re-read from
        row 1 down to the last changed row: each changed row must still hold the keys that were
        checked, and the header cell of each key column must still be where it was. A tab that
        only gets its tool-column headers has its header row compared instead."""
        spans: dict[tuple[str, int], int] = {}
        for c in plan.changes:
            if c.sheet in plan.skipped_tabs:
                continue
            for col, _text in c.keys:
                spans[(c.sheet, col)] = max(spans.get((c.sheet, col), 0), c.row)
        with_changes = {s for s, _ in spans}
        header_only = [t for t in plan.new_columns
                       if t not in with_changes and t not in plan.skipped_tabs
                       and t in plan.tool_columns]
        ranges = [f"{quote_title(s)}!{a1(1, col)}:{a1(last, col)}"
                  for (s, col), last in spans.items()]
        ranges += [f"{quote_title(t)}!{plan.tool_columns[t].header_row}:"
                   f"{plan.tool_columns[t].header_row}" for t in header_only]
        if not ranges:
            return {}
        got = _without_lone_surrogates(self.backend.client.http_client.values_batch_get(
            key, ranges, params={**VALUE_PARAMS, "majorDimension": "COLUMNS"}))  # as ``read``
        value_ranges = got.get("valueRanges", [])

        def read_cell(title: str, row: int, col: int) -> str:
            sheet = read.raw.sheet(title)
            line = sheet.rows[row - 1] if sheet is not None and row - 1 < len(sheet.rows) else []
            return key_text(line[col] if col < len(line) else None)

        moved: dict[str, str] = {}
        columns: dict[tuple[str, int], list] = {}
        for (title, col), vr in zip(spans, value_ranges):
            values = vr.get("values", [])
            column = columns[(title, col)] = values[0] if values else []
            header_row = plan.tool_columns[title].header_row if title in plan.tool_columns else None
            if header_row is not None:
                now = column[header_row - 1] if header_row - 1 < len(column) else None
                if key_text(now) != read_cell(title, header_row, col):
                    moved[title] = MOVED
        for c in plan.changes:
            for col, text in c.keys:
                column = columns.get((c.sheet, col))
                if column is None:
                    continue
                now = column[c.row - 1] if c.row - 1 < len(column) else None
                if key_text(now) != text:
                    moved[c.sheet] = MOVED
        for title, vr in zip(header_only, value_ranges[len(spans):]):
            header_row = plan.tool_columns[title].header_row
            now = [key_text(v[0] if v else None) for v in vr.get("values", [])]
            sheet = read.raw.sheet(title)
            then = [key_text(v) for v in (sheet.rows[header_row - 1]
                                          if sheet is not None and header_row - 1 < len(sheet.rows)
                                          else [])]
            while now and not now[-1]:
                now.pop()
            while then and not then[-1]:
                then.pop()
            if now != then:
                moved[title] = MOVED
        return moved

    def structure(self, read, plan, skip: dict[str, str] | None = None) -> list[dict]:
        """addSheet / insertDimension / appendDimension requests the write needs first. New
        tool columns are inserted and filled in the same request: their headers and every
        planned value of theirs (``inserted_cells`` finds those values again)."""
        skip = skip or {}
        sheet_ids = read.raw.meta.get("sheet_ids", {})
        grid = read.raw.meta.get("grid", {})
        requests = []
        changes = plan.changes_by_sheet()
        for title, cols in plan.new_columns.items():
            if title in skip or title not in sheet_ids:
                continue
            # New tool columns are inserted (not taken from the grid), then written by
            # position in the same atomic request: the columns this request made, empty and
            # ours whatever a person did to the sheet's columns since our read (the
            # developer metadata created next in the request sits on them too).
            first, last = min(c for c, _ in cols), max(c for c, _ in cols)
            requests.append({"insertDimension": {
                "range": {"sheetId": sheet_ids[title], "dimension": "COLUMNS",
                          "startIndex": first, "endIndex": last + 1},
                "inheritFromBefore": False}})
            # Headers and values together: if this request is retried after being applied,
            # the next run finds the columns by header, already filled.
            header_row = plan.tool_columns[title].header_row
            cells: dict[int, dict[int, Any]] = {header_row: dict(cols)}
            for c in changes.get(title, []):
                if first <= c.col <= last:
                    cells.setdefault(c.row, {})[c.col] = c.value
            top = min(cells)
            requests.append({"updateCells": {
                "start": {"sheetId": sheet_ids[title], "rowIndex": top - 1,
                          "columnIndex": first},
                "rows": [{"values": [cell_data(cells.get(r, {}).get(c))
                                     for c in range(first, last + 1)]}
                         for r in range(top, max(cells) + 1)],
                "fields": "userEnteredValue"}})
            # The inserted columns inherit the number format of the column to their right: a
            # sheet formatted as Plain text would keep the apostrophe that later USER_ENTERED
            # writes put before every text (``value_input``). Reset to the default format.
            requests.append({"repeatCell": {
                "range": {"sheetId": sheet_ids[title], "startColumnIndex": first,
                          "endColumnIndex": last + 1},
                "cell": {}, "fields": "userEnteredFormat.numberFormat"}})
        for title, content, exists in ((plan.check_sheet, plan.check_grid, plan.check_exists),
                                       (plan.guide_sheet, plan.guide_grid, plan.guide_exists)):
            if content is None:
                continue
            rows = len(content)
            cols = max([len(r) for r in content] + [1])
            if not exists:
                size = {"rowCount": max(rows + 20, 100), "columnCount": max(cols, 26)}
                frozen = getattr(plan, "check_header_rows", 0) or 0
                if title == plan.check_sheet and frozen:
                    size["frozenRowCount"] = frozen  # printed on every page (layout)
                requests.append({"addSheet": {"properties": {
                    "sheetId": self.rng.randrange(1, 2**31), "title": title,
                    "gridProperties": size}}})
                continue
            have_rows, have_cols = grid.get(title, [0, 0])
            old = read.raw.sheet(title)
            old_rows = old.rows if old is not None else []
            rows = max([rows, len(old_rows)])
            cols = max([cols] + [len(r) for r in old_rows])
            for dim, need, have in (("ROWS", rows, have_rows), ("COLUMNS", cols, have_cols)):
                if need > have and title in sheet_ids:
                    requests.append({"appendDimension": {"sheetId": sheet_ids[title],
                                                         "dimension": dim,
                                                         "length": need - have}})
        return requests

    @staticmethod
    def inserted_columns(read, plan, skip: dict[str, str]) -> set[tuple[str, int]]:
        """(sheet title, 0-based column) of the tool columns ``structure`` inserts and fills."""
        sheet_ids = read.raw.meta.get("sheet_ids", {})
        return {(title, col) for title, cols in plan.new_columns.items()
                if title not in skip and title in sheet_ids for col, _header in cols}

    def anchors(self, read, plan, skip: dict[str, str]) -> tuple[list[dict], dict]:
        """Developer-metadata requests for tool columns that have none where the plan puts
        them (a stale one elsewhere is deleted first), and the metadataId of every tool
        column to write: ``{title: {role: id}}``."""
        tool_meta = read.raw.meta.get("tool_meta", {})
        sheet_ids = read.raw.meta.get("sheet_ids", {})
        requests: list[dict] = []
        ids: dict[str, dict[str, int]] = {}
        for title, cols in plan.tool_columns.items():
            if title in skip or title not in sheet_ids:
                continue
            wanted = {"status": cols.status_col, "details": cols.details_col}
            more, ids[title] = anchor_requests(sheet_ids[title], tool_meta.get(title, {}),
                                               wanted)
            requests += more
        return requests, ids

    def layout(self, read, plan, skip: dict[str, str],
               requests: list[dict] | None = None) -> list[dict]:
        """Kiểm tra: its header rows frozen (Google's print dialog repeats frozen rows; the
        Sheets API has no page setup, so A4 landscape / fit to width cannot be set); when the
        tab is created by ``requests``, its cells wrap, top-aligned, and its columns get the
        planned widths (Google then sizes each row to its text: ``row_heights`` are not sent,
        as a fixed height would stop Google's own fitting when the text changes)."""
        rows = getattr(plan, "check_header_rows", 0) or 0
        title = plan.check_sheet
        if plan.check_grid is None or title in skip:
            return []
        out: list[dict] = []
        created = next((r["addSheet"]["properties"]["sheetId"] for r in requests or []
                        if r.get("addSheet", {}).get("properties", {}).get("title") == title),
                       None)
        if created is not None:
            out.append({"repeatCell": {
                "range": {"sheetId": created},
                "cell": {"userEnteredFormat": {"wrapStrategy": "WRAP",
                                               "verticalAlignment": "TOP"}},
                "fields": "userEnteredFormat(wrapStrategy,verticalAlignment)"}})
            for c, width in enumerate(getattr(plan, "check_widths", None) or []):
                out.append({"updateDimensionProperties": {
                    "range": {"sheetId": created, "dimension": "COLUMNS", "startIndex": c,
                              "endIndex": c + 1},
                    "properties": {"pixelSize": max(40, round(float(width) * 7 + 10))},
                    "fields": "pixelSize"}})
            return out  # frozen rows were set by addSheet
        if not rows:
            return out
        sheet_id = read.raw.meta.get("sheet_ids", {}).get(title)
        if sheet_id is None or read.raw.meta.get("frozen", {}).get(title, 0) == rows:
            return []
        return [{"updateSheetProperties": {
            "properties": {"sheetId": sheet_id, "gridProperties": {"frozenRowCount": rows}},
            "fields": "gridProperties.frozenRowCount"}}]

    @staticmethod
    def tab_grids(read, plan, skip: dict[str, str], sheet_ids: dict[str, int]
                  ) -> list[tuple[str, list[list[Any]]]]:
        """(title, cells) of the tool tabs to write (Kiểm tra, Hướng dẫn): the new content
        padded with "" over what the old content covered; a Kiểm tra cell that links to a sheet
        row (``plan.check_links``) is a ``CellLink`` to ``#gid=<sheetId>&range=A<row>``.
        ``sheet_ids`` includes the ids of the tabs the write creates."""
        out: list[tuple[str, list[list[Any]]]] = []
        separator = argument_separator(read.raw.meta.get("locale"))
        for title, content in ((plan.check_sheet, plan.check_grid),
                               (plan.guide_sheet, plan.guide_grid)):
            if content is None or title in skip or title not in sheet_ids:
                continue
            old = read.raw.sheet(title)
            grid: list[list[Any]] = [list(r) for r in _padded(content, old.rows if old else [])]
            if title == plan.check_sheet:
                for (gr, gc), (target, row) in (getattr(plan, "check_links", None) or {}).items():
                    text = grid[gr][gc] if gr < len(grid) and gc < len(grid[gr]) else ""
                    if text and target in sheet_ids:
                        grid[gr][gc] = CellLink(f"#gid={sheet_ids[target]}&range=A{int(row)}",
                                                text, separator)
            out.append((title, grid))
        return out

    def tab_cells(self, read, plan, skip: dict[str, str], requests: list[dict]) -> list[dict]:
        """``updateCells`` writing the tool tabs (``tab_grids``) by sheet id, in the structural
        request ``requests`` (a tab it adds gets the id its addSheet asks for)."""
        sheet_ids = dict(read.raw.meta.get("sheet_ids", {}))
        for r in requests:
            props = r.get("addSheet", {}).get("properties", {})
            if "title" in props and "sheetId" in props:
                sheet_ids[props["title"]] = props["sheetId"]
        return [{"updateCells": {
            "start": {"sheetId": sheet_ids[title], "rowIndex": 0, "columnIndex": 0},
            "rows": [{"values": [cell_data(v) for v in row]} for row in grid],
            "fields": "userEnteredValue"}}
            for title, grid in self.tab_grids(read, plan, skip, sheet_ids)]

    @staticmethod
    def _record_structure(read, requests: list[dict], reply: dict) -> None:
        """Keep ``read.raw.meta`` (sheet ids, grid sizes, tool-column metadata) in step with
        the structural change, so a later write planned from the stored pull is right."""
        sheet_ids = read.raw.meta.setdefault("sheet_ids", {})
        grid = read.raw.meta.setdefault("grid", {})
        tool_meta = read.raw.meta.setdefault("tool_meta", {})
        frozen = read.raw.meta.setdefault("frozen", {})
        titles = {v: k for k, v in sheet_ids.items()}
        for request, answer in zip(requests, reply.get("replies", [])):
            if "addSheet" in request:
                props = (answer or {}).get("addSheet", {}).get("properties", {})
                asked = request["addSheet"]["properties"]
                title = props.get("title", asked["title"])
                size = props.get("gridProperties", asked["gridProperties"])
                sheet_ids[title] = props.get("sheetId", asked.get("sheetId", 0))
                titles[sheet_ids[title]] = title
                grid[title] = [size.get("rowCount", 0), size.get("columnCount", 0)]
                frozen[title] = size.get("frozenRowCount", 0)
            elif "appendDimension" in request:
                a = request["appendDimension"]
                title = titles.get(a["sheetId"])
                if title in grid:
                    grid[title][0 if a["dimension"] == "ROWS" else 1] += a["length"]
            elif "insertDimension" in request:
                r = request["insertDimension"]["range"]
                title = titles.get(r["sheetId"])
                if title in grid:
                    grid[title][0 if r["dimension"] == "ROWS" else 1] += (r["endIndex"]
                                                                         - r["startIndex"])
            elif "createDeveloperMetadata" in request:
                m = request["createDeveloperMetadata"]["developerMetadata"]
                rng = m["location"]["dimensionRange"]
                title = titles.get(rng["sheetId"])
                if title is not None:
                    tool_meta.setdefault(title, {})[m["metadataValue"]] = [rng["startIndex"],
                                                                           m["metadataId"]]
            elif "updateSheetProperties" in request:
                p = request["updateSheetProperties"]["properties"]
                title = titles.get(p["sheetId"])
                if title is not None:
                    frozen[title] = p["gridProperties"]["frozenRowCount"]

    def values(self, read, plan, skip: dict[str, str], ids: dict,
               done: set[tuple[str, int]], tabs: bool
               ) -> tuple[list[dict], int, dict[int, str], bool]:
        """The DataFilterValueRanges: one per tool column (its metadata; the column from row 1,
        ``None`` = leave the cell) and, when ``tabs``, one per tool tab (its sheet id); the
        columns in ``done`` were written by the structural request. Also the cell count, the
        metadataId -> sheet title of the anchored entries, and whether the write must be
        USER_ENTERED (it carries link formulas; every other value is then sent literal)."""
        columns: dict[tuple[str, str], dict[int, str]] = {}
        cells = 0
        for c in plan.changes:
            if c.sheet in skip or c.sheet not in ids or (c.sheet, c.col) in done:
                continue
            role = "status" if c.col == plan.tool_columns[c.sheet].status_col else "details"
            columns.setdefault((c.sheet, role), {})[c.row] = c.value
            cells += 1
        sheet_ids = read.raw.meta.get("sheet_ids", {})
        grids = self.tab_grids(read, plan, skip, sheet_ids) if tabs else []
        user_entered = any(isinstance(v, CellLink) for _, grid in grids for row in grid
                           for v in row)
        data: list[dict] = []
        anchored: dict[int, str] = {}
        for (title, role), by_row in columns.items():
            metadata_id = ids[title][role]
            anchored[metadata_id] = title
            data.append({"dataFilter": {"developerMetadataLookup": {"metadataId": metadata_id}},
                         "majorDimension": "COLUMNS",
                         "values": [[value_input(by_row.get(r), user_entered)
                                     for r in range(1, max(by_row) + 1)]]})
        for title, grid in grids:
            data.append({"dataFilter": {"gridRange": {
                "sheetId": sheet_ids[title], "startRowIndex": 0, "endRowIndex": len(grid),
                "startColumnIndex": 0, "endColumnIndex": len(grid[0]) if grid else 1}},
                "majorDimension": "ROWS",
                "values": [[value_input(v, user_entered) for v in row] for row in grid]})
        return data, cells, anchored, user_entered

    def apply(self, unit: UnitConfig, read, plan):
        if plan.is_empty:
            return WriteResult("unchanged", "Không có gì thay đổi.")
        key = spreadsheet_key(unit.spreadsheet)
        http = self.backend.client.http_client

        def go():
            with self.backend.transport.write_slot():  # the guard after any quota wait
                return guarded()

        def guarded():
            import gspread

            skip = dict(plan.skipped_tabs)
            if not self.guard(unit, read):
                skip.update(self.key_mismatches(key, read, plan))
            requests = self.structure(read, plan, skip)
            anchors, ids = self.anchors(read, plan, skip)
            requests += anchors
            requests += self.layout(read, plan, skip, requests)
            done: set[tuple[str, int]] = set()
            if requests:
                # A structural request is needed: the new tool columns' values (``structure``)
                # and the tool tabs go in it, so that often nothing is left for a value write.
                done = self.inserted_columns(read, plan, skip)
                requests += self.tab_cells(read, plan, skip, requests)
                retried = self.backend.transport.retried_here
                try:
                    reply = http.batch_update(key, {"requests": requests})
                except gspread.exceptions.APIError as e:
                    if e.response.status_code != 400 \
                            or self.backend.transport.retried_here == retried:
                        raise
                    # Retried after a timeout: the first attempt was applied (the columns, their
                    # headers and metadata exist), the replay was refused. The next run reads
                    # the spreadsheet again and writes the flags.
                    return WriteResult("skipped", UNSURE, skipped_rows=[
                        (c.sheet, c.row) for c in plan.changes], mutations=1)
                self._record_structure(read, requests, reply)
            data, cells, anchored, user_entered = self.values(read, plan, skip, ids, done,
                                                              tabs=not requests)
            cells += sum(1 for c in plan.changes if (c.sheet, c.col) in done)
            mutations = 1 if requests else 0
            if data:
                try:
                    got = http.request("post", VALUES_BY_FILTER_URL.format(key), json={
                        "valueInputOption": "USER_ENTERED" if user_entered else "RAW",
                        "data": data}).json()
                except gspread.exceptions.APIError as e:
                    if e.response.status_code != 400:
                        raise
                    # The grid shrank under the write (rows deleted): nothing was written.
                    skip.update({t: MOVED for t in plan.tool_columns if t not in skip})
                    got = None
                else:
                    mutations += 1
                    reached = {((r.get("dataFilter") or {}).get("developerMetadataLookup")
                                or {}).get("metadataId") for r in got.get("responses", [])}
                    for metadata_id, title in anchored.items():
                        if metadata_id not in reached:
                            skip.setdefault(title, COLUMN_GONE)
            skipped_rows = [(c.sheet, c.row) for c in plan.changes if c.sheet in skip]
            moved = {s: r for s, r in skip.items() if s not in plan.skipped_tabs}
            if not mutations or (moved and not data and not done):
                return WriteResult("skipped", "; ".join(f"{s}: {r}" for s, r in skip.items()),
                                   skipped_rows=skipped_rows, mutations=mutations)
            status = "skipped" if moved else "written"
            message = f"Đã ghi {cells} ô kiểm tra."
            if moved:
                message += " " + "; ".join(f"{s}: {r}" for s, r in moved.items())
            return WriteResult(status, message, cells_written=cells, skipped_rows=skipped_rows,
                               mutations=mutations)

        return self.backend._call(unit, go, "ghi")

"""Google Sheets backend (gspread): the same interface as the local one.

Read = one metadata request + one ``values:batchGet`` covering every tab (UNFORMATTED_VALUE +
SERIAL_NUMBER). The Drive ``version`` (one Drive request) tells whether a spreadsheet changed
since the last pull. Write (``GoogleWriter``) = one key-column ``values:batchGet`` + at most one
structural ``batchUpdate`` + one ``values:batchUpdate`` (RAW). Every request goes through
``google_http.GoogleTransport`` (timeouts, retries, pacing, counts). Failures become
``UnitReadError`` with a Vietnamese message a person can act on, never with credentials.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import google.auth.exceptions as auth_errors
import gspread
import requests
from google.auth import crypt

from ..core.a1 import a1
from ..core.config import Config, GoogleConfig, UnitConfig
from ..core.errors import ConfigError, UnitReadError
from ..core.findings import UNREACHABLE
from ..core.flagplan import WriteResult, key_text
from ..core.raw import RawSheet, RawWorkbook
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
        raise ConfigError(f"Không đọc được tệp khóa tài khoản dịch vụ {path} ({e.strerror}).") \
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
        self.transport.unit = unit.code
        try:
            return fn()
        except (gspread.exceptions.GSpreadException, PermissionError, requests.RequestException,
                auth_errors.GoogleAuthError) as e:
            raise self._failure(unit, e, action) from None
        finally:
            self.transport.unit = None

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

    def read(self, unit: UnitConfig) -> RawWorkbook:
        """One metadata request + one ``values:batchGet`` of every tab."""
        key = spreadsheet_key(unit.spreadsheet)

        def get() -> RawWorkbook:
            http = self.client.http_client
            meta = http.fetch_sheet_metadata(key, params={"fields": METADATA_FIELDS})
            props = [s["properties"] for s in meta.get("sheets", [])]
            ranges = [quote_title(p["title"]) for p in props]
            sheets = []
            if ranges:
                got = http.values_batch_get(key, ranges, params=dict(VALUE_PARAMS))
                for p, vr in zip(props, got.get("valueRanges", [])):
                    sheets.append(RawSheet(p["title"], vr.get("values", [])))
            return RawWorkbook(sheets, meta={
                "spreadsheet": key,
                "sheet_ids": {p["title"]: p.get("sheetId", 0) for p in props},
                "grid": {p["title"]: [p.get("gridProperties", {}).get("rowCount", 0),
                                      p.get("gridProperties", {}).get("columnCount", 0)]
                         for p in props},
            })

        return self._call(unit, get)


# --- write-back --------------------------------------------------------------------------------

def _padded(grid: list[list[str]], old_rows: list[list]) -> list[list[str]]:
    """``grid`` padded with "" so that it also clears what the old content covered."""
    height = max(len(grid), len(old_rows))
    width = max([len(r) for r in grid] + [len(r) for r in old_rows] + [1])
    return [[*(grid[r] if r < len(grid) else []),
             *[""] * (width - len(grid[r] if r < len(grid) else []))] for r in range(height)]


MOVED = "đang có người sửa (các dòng đã thay đổi), sẽ ghi ở lần sau."


class GoogleWriter:
    """Applies a ``FlagPlan`` to a spreadsheet: 1 key re-read (``values:batchGet``), at most 1
    structural ``batchUpdate`` (only when tool columns/tabs must be added or grown) and 1
    ``values:batchUpdate`` (RAW), only into tool columns and tool tabs."""

    def __init__(self, backend: GoogleBackend):
        self.backend = backend

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
        got = self.backend.client.http_client.values_batch_get(
            key, ranges, params={**VALUE_PARAMS, "majorDimension": "COLUMNS"})
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
        """addSheet / appendDimension requests needed before the values can be written."""
        skip = skip or {}
        sheet_ids = read.raw.meta.get("sheet_ids", {})
        grid = read.raw.meta.get("grid", {})
        requests = []
        for title, cols in plan.new_columns.items():
            if title in skip:
                continue
            need = max(c for c, _ in cols) + 1
            have = grid.get(title, [0, 0])[1]
            if need > have and title in sheet_ids:
                requests.append({"appendDimension": {"sheetId": sheet_ids[title],
                                                     "dimension": "COLUMNS",
                                                     "length": need - have}})
        for title, content, exists in ((plan.check_sheet, plan.check_grid, plan.check_exists),
                                       (plan.guide_sheet, plan.guide_grid, plan.guide_exists)):
            if content is None:
                continue
            rows = len(content)
            cols = max([len(r) for r in content] + [1])
            if not exists:
                requests.append({"addSheet": {"properties": {
                    "title": title, "gridProperties": {"rowCount": max(rows + 20, 100),
                                                       "columnCount": max(cols, 26)}}}})
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
    def _record_structure(read, requests: list[dict], reply: dict) -> None:
        """Keep ``read.raw.meta`` (sheet ids, grid sizes) in step with the structural change,
        so a later write planned from the stored pull sizes the grid right."""
        sheet_ids = read.raw.meta.setdefault("sheet_ids", {})
        grid = read.raw.meta.setdefault("grid", {})
        titles = {v: k for k, v in sheet_ids.items()}
        for request, answer in zip(requests, reply.get("replies", [])):
            if "addSheet" in request:
                props = (answer or {}).get("addSheet", {}).get("properties", {})
                title = props.get("title", request["addSheet"]["properties"]["title"])
                size = props.get("gridProperties", request["addSheet"]["properties"]
                                 ["gridProperties"])
                sheet_ids[title] = props.get("sheetId", 0)
                grid[title] = [size.get("rowCount", 0), size.get("columnCount", 0)]
            elif "appendDimension" in request:
                a = request["appendDimension"]
                title = titles.get(a["sheetId"])
                if title in grid:
                    grid[title][0 if a["dimension"] == "ROWS" else 1] += a["length"]

    def values(self, read, plan, skip: dict[str, str]) -> tuple[list[dict], int]:
        data, cells = [], 0
        for title, cols in plan.new_columns.items():
            if title in skip:
                continue
            header_row = plan.tool_columns[title].header_row
            for col, header in cols:
                data.append({"range": f"{quote_title(title)}!{a1(header_row, col)}",
                             "values": [[header]]})
        for c in plan.changes:
            if c.sheet in skip:
                continue
            data.append({"range": f"{quote_title(c.sheet)}!{c.a1}", "values": [[c.value]]})
            cells += 1
        for title, content in ((plan.check_sheet, plan.check_grid),
                               (plan.guide_sheet, plan.guide_grid)):
            if content is None:
                continue
            old = read.raw.sheet(title)
            data.append({"range": f"{quote_title(title)}!A1",
                         "values": _padded(content, old.rows if old else [])})
        return data, cells

    def apply(self, unit: UnitConfig, read, plan):
        if plan.is_empty:
            return WriteResult("unchanged", "Không có gì thay đổi.")
        key = spreadsheet_key(unit.spreadsheet)
        http = self.backend.client.http_client

        def go():
            skip = dict(plan.skipped_tabs)
            skip.update(self.key_mismatches(key, read, plan))
            data, cells = self.values(read, plan, skip)
            skipped_rows = [(c.sheet, c.row) for c in plan.changes if c.sheet in skip]
            if not data:
                return WriteResult("skipped", "; ".join(f"{s}: {r}" for s, r in skip.items()),
                                   skipped_rows=skipped_rows)
            requests = self.structure(read, plan, skip)
            if requests:
                reply = http.batch_update(key, {"requests": requests})
                self._record_structure(read, requests, reply)
            http.values_batch_update(key, {"valueInputOption": "RAW", "data": data})
            mutations = 2 if requests else 1
            moved = {s: r for s, r in skip.items() if s not in plan.skipped_tabs}
            status = "skipped" if moved else "written"
            message = f"Đã ghi {cells} ô kiểm tra."
            if moved:
                message += " " + "; ".join(f"{s}: {r}" for s, r in moved.items())
            return WriteResult(status, message, cells_written=cells, skipped_rows=skipped_rows,
                               mutations=mutations)

        return self.backend._call(unit, go, "ghi")

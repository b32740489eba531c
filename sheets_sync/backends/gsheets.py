"""Google Sheets backend (gspread): the same interface as the local one.

Read = one metadata request + one ``values:batchGet`` covering every tab (UNFORMATTED_VALUE +
SERIAL_NUMBER). The Drive ``version`` tells whether a spreadsheet changed since the last pull.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from ..config import Config, UnitConfig
from ..errors import ConfigError, UnitReadError
from ..findings import UNREACHABLE
from .base import RawSheet, RawWorkbook
from .google_http import Quota, RequestStats, RetryPolicy, make_client

DRIVE_FILES_URL = "https://www.googleapis.com/drive/v3/files"
METADATA_FIELDS = "spreadsheetId,properties(title,locale,timeZone),sheets.properties(sheetId,title,index,gridProperties(rowCount,columnCount,frozenRowCount))"
VALUE_PARAMS = {"valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "SERIAL_NUMBER",
                "majorDimension": "ROWS"}
_URL_KEY = re.compile(r"/spreadsheets/d/([a-zA-Z0-9-_]+)")


def spreadsheet_key(value: str) -> str:
    """A spreadsheet key from a key or a full URL."""
    m = _URL_KEY.search(value)
    return m.group(1) if m else value.strip()


def quote_title(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


def load_service_account(path: Path) -> dict:
    try:
        with open(path, encoding="utf-8") as fh:
            info = json.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"Không tìm thấy tệp khóa tài khoản dịch vụ {path}.") from None
    except (OSError, ValueError):
        raise ConfigError(f"Tệp khóa tài khoản dịch vụ {path} không đọc được (cần JSON).") from None
    missing = [k for k in ("client_email", "private_key", "token_uri") if k not in info]
    if missing:
        raise ConfigError(f"Tệp khóa {path} thiếu trường {', '.join(missing)}.")
    return info


class GoogleBackend:
    def __init__(self, info: dict, endpoint: str | None = None, policy: RetryPolicy | None = None,
                 quota: Quota | None = None, stats: RequestStats | None = None):
        self.client_email = info["client_email"]
        self.client, self.transport = make_client(info, endpoint, policy, quota, stats)

    @classmethod
    def from_config(cls, config: Config) -> "GoogleBackend":
        if config.google.credentials is None:
            raise ConfigError(
                "Có đơn vị dùng Google Sheets nhưng chưa khai báo [google] credentials "
                "(hoặc biến môi trường GOOGLE_APPLICATION_CREDENTIALS).")
        return cls(load_service_account(config.google.credentials), config.google.endpoint)

    def writer(self) -> "GoogleWriter":
        return GoogleWriter(self)

    @property
    def stats(self) -> RequestStats:
        return self.transport.stats

    # --- errors --------------------------------------------------------------------------------

    def _failure(self, unit: UnitConfig, error: Exception) -> UnitReadError:
        import gspread
        import requests

        key = spreadsheet_key(unit.spreadsheet)
        code = getattr(getattr(error, "response", None), "status_code", None)
        if isinstance(error, PermissionError) or code == 403:
            return UnitReadError(
                f"Không có quyền đọc bảng tính {key}. Hãy chia sẻ bảng tính với "
                f"{self.client_email} quyền Người chỉnh sửa.", UNREACHABLE)
        if isinstance(error, gspread.exceptions.SpreadsheetNotFound) or code == 404:
            return UnitReadError(
                f"Không tìm thấy bảng tính {key}: đã bị xóa, sai mã, hoặc chưa chia sẻ với "
                f"{self.client_email}.", UNREACHABLE)
        if code == 429:
            return UnitReadError("Google báo vượt hạn mức truy cập dù đã thử lại nhiều lần; "
                                 "thử lại sau.", UNREACHABLE)
        if isinstance(error, requests.RequestException):
            return UnitReadError(f"Không kết nối được Google ({type(error).__name__}); thử lại sau.",
                                 UNREACHABLE)
        return UnitReadError(f"Google trả lỗi {code or ''} khi đọc bảng tính {key}; thử lại sau.",
                             UNREACHABLE)

    def _call(self, unit: UnitConfig, fn):
        import gspread
        import requests

        self.transport.unit = unit.code
        try:
            return fn()
        except (gspread.exceptions.GSpreadException, PermissionError,
                requests.RequestException) as e:
            raise self._failure(unit, e) from None
        finally:
            self.transport.unit = None

    # --- interface -----------------------------------------------------------------------------

    def version(self, unit: UnitConfig) -> str | None:
        """Drive ``version`` of the spreadsheet (one Drive request)."""
        key = spreadsheet_key(unit.spreadsheet)

        def get():
            r = self.client.http_client.request(
                "get", f"{DRIVE_FILES_URL}/{key}",
                params={"fields": "id,version,modifiedTime", "supportsAllDrives": True})
            return r.json().get("version")

        return self._call(unit, get)

    def read(self, unit: UnitConfig) -> RawWorkbook:
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
                "sheet_ids": {p["title"]: p["sheetId"] for p in props},
                "grid": {p["title"]: [p.get("gridProperties", {}).get("rowCount", 0),
                                      p.get("gridProperties", {}).get("columnCount", 0)]
                         for p in props},
            })

        return self._call(unit, get)


# --- write-back --------------------------------------------------------------------------------

def _a1(col: int, row: int) -> str:
    from ..writeback import col_letter

    return f"{col_letter(col)}{row}"


def _padded(grid: list[list[str]], old_rows: list[list]) -> list[list[str]]:
    """``grid`` padded with "" so that it also clears what the old content covered."""
    height = max(len(grid), len(old_rows))
    width = max([len(r) for r in grid] + [len(r) for r in old_rows] + [1])
    return [[*(grid[r] if r < len(grid) else []),
             *[""] * (width - len(grid[r] if r < len(grid) else []))] for r in range(height)]


class GoogleWriter:
    """Applies a ``FlagPlan`` to a spreadsheet: ≤ 1 key re-read, ≤ 1 structural batchUpdate,
    ≤ 1 values:batchUpdate (RAW), only into tool columns and tool tabs."""

    def __init__(self, backend: "GoogleBackend"):
        self.backend = backend

    def key_mismatches(self, key: str, plan) -> dict[str, str]:
        """Sheets whose checked rows no longer hold the same key values (one batchGet)."""
        from ..writeback import key_text

        wanted: dict[tuple[str, int], int] = {}
        for c in plan.changes:
            for col, _text in c.keys:
                wanted[(c.sheet, col)] = max(wanted.get((c.sheet, col), 0), c.row)
        if not wanted:
            return {}
        ranges = [f"{quote_title(s)}!{_a1(col, 1)}:{_a1(col, last)}"
                  for (s, col), last in wanted.items()]
        got = self.backend.client.http_client.values_batch_get(
            key, ranges, params={**VALUE_PARAMS, "majorDimension": "COLUMNS"})
        columns = {}
        for (s, col), vr in zip(wanted, got.get("valueRanges", [])):
            values = vr.get("values", [])
            columns[(s, col)] = values[0] if values else []
        moved: dict[str, str] = {}
        for c in plan.changes:
            for col, text in c.keys:
                column = columns[(c.sheet, col)]
                now = column[c.row - 1] if c.row - 1 < len(column) else None
                if key_text(now) != text:
                    moved[c.sheet] = "đang có người sửa (các dòng đã thay đổi), sẽ ghi ở lần sau."
        return moved

    def structure(self, read, plan) -> list[dict]:
        """addSheet / appendDimension requests needed before the values can be written."""
        sheet_ids = read.raw.meta.get("sheet_ids", {})
        grid = read.raw.meta.get("grid", {})
        requests = []
        for title, cols in plan.new_columns.items():
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
            for dim, need, have in (("ROWS", rows, have_rows), ("COLUMNS", cols, have_cols)):
                if need > have and title in sheet_ids:
                    requests.append({"appendDimension": {"sheetId": sheet_ids[title],
                                                         "dimension": dim,
                                                         "length": need - have}})
        return requests

    def values(self, read, plan, skip: dict[str, str]) -> tuple[list[dict], int]:
        data, cells = [], 0
        for title, cols in plan.new_columns.items():
            if title in skip:
                continue
            header_row = plan.tool_columns[title].header_row
            for col, header in cols:
                data.append({"range": f"{quote_title(title)}!{_a1(col, header_row)}",
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
        from .local_write import WriteResult

        if plan.is_empty:
            return WriteResult("unchanged", "Không có gì thay đổi.")
        key = spreadsheet_key(unit.spreadsheet)
        http = self.backend.client.http_client

        def go():
            skip = dict(plan.skipped_tabs)
            skip.update(self.key_mismatches(key, plan))
            data, cells = self.values(read, plan, skip)
            if not data:
                return WriteResult("skipped", "; ".join(f"{s}: {r}" for s, r in skip.items()))
            requests = self.structure(read, plan)
            if requests:
                http.batch_update(key, {"requests": requests})
            http.values_batch_update(key, {"valueInputOption": "RAW", "data": data})
            skipped_rows = [(c.sheet, c.row) for c in plan.changes if c.sheet in skip]
            moved = {s: r for s, r in skip.items() if s not in plan.skipped_tabs}
            status = "skipped" if moved else "written"
            message = f"Đã ghi {cells} ô kiểm tra."
            if moved:
                message += " " + "; ".join(f"{s}: {r}" for s, r in moved.items())
            return WriteResult(status, message, cells_written=cells, skipped_rows=skipped_rows)

        return self.backend._call(unit, go)

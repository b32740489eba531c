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

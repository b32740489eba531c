"""Local .xlsx backend (openpyxl)."""
from __future__ import annotations

import hashlib
import warnings
import zipfile
from pathlib import Path

from ..config import UnitConfig
from ..errors import UnitReadError
from ..findings import INVALID, UNREACHABLE
from .base import RawSheet, RawWorkbook


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_xlsx(path: Path) -> RawWorkbook:
    """Values of every sheet of an .xlsx file (formulas as their cached values)."""
    import openpyxl

    path = Path(path)
    if not path.exists():
        raise UnitReadError(f"Không tìm thấy tệp {path}.", UNREACHABLE)
    try:
        stat = path.stat()
        digest = file_sha256(path)
    except OSError as e:
        raise UnitReadError(f"Không mở được tệp {path}: {e.strerror}.", UNREACHABLE) from None
    if not zipfile.is_zipfile(path):
        raise UnitReadError(f"Tệp {path.name} không phải là sổ tính Excel (.xlsx).", INVALID)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
            try:
                sheets = []
                for ws in wb.worksheets:
                    rows = [list(r) for r in ws.iter_rows(values_only=True)]
                    while rows and not any(v not in (None, "") for v in rows[-1]):
                        rows.pop()
                    sheets.append(RawSheet(ws.title, rows))
            finally:
                wb.close()
    except UnitReadError:
        raise
    except Exception as e:  # openpyxl raises many kinds on damaged files
        raise UnitReadError(
            f"Tệp {path.name} bị hỏng hoặc không đọc được ({type(e).__name__}).", INVALID
        ) from None
    return RawWorkbook(
        sheets=sheets,
        version=digest,
        meta={"path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
              "sha256": digest, "warnings": [str(w.message) for w in caught]},
    )


class LocalBackend:
    def read(self, unit: UnitConfig) -> RawWorkbook:
        return read_xlsx(unit.path)

    def version(self, unit: UnitConfig) -> str | None:
        try:
            return file_sha256(unit.path)
        except OSError:
            return None

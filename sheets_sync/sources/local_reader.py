"""Local .xlsx backend (openpyxl)."""
from __future__ import annotations

import hashlib
import warnings
import zipfile
from pathlib import Path

from ..core.config import UnitConfig
from ..core.errors import UnitReadError
from ..core.faults import not_regular_file
from ..core.findings import INVALID, UNREACHABLE
from ..core.raw import RawSheet, RawWorkbook


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# Cells read per sheet at most, empty formatted cells included (a commune's largest tab holds
# a few hundred thousand). Beyond it the sheet is cut (meta "truncated": title -> last sheet row
# read), a finding says so and the workbook is not rewritten: reading 100,000 formatted empty
# rows takes seconds, rewriting them with openpyxl more than a gigabyte.
MAX_SHEET_CELLS = 1_000_000

# Other formats saved under an .xlsx name (zip members that tell them apart).
_OTHER_FORMATS = (("word/document.xml", "Word (.docx)"), ("ppt/presentation.xml",
                                                          "PowerPoint (.pptx)"),
                  ("content.xml", "OpenDocument (.ods/.odt)"))


def _other_format(path: Path) -> str | None:
    """The kind of a zip file that is not an Excel workbook (None: it may be one)."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = {n.lower() for n in zf.namelist()}
    except (OSError, zipfile.BadZipFile, ValueError, NotImplementedError):
        return None  # damaged: the reader below reports it (NotImplementedError: zip version)
    if any(n.startswith("xl/") for n in names):
        return None
    return next((kind for member, kind in _OTHER_FORMATS if member in names), "không rõ")


def _sheet_rows(ws) -> tuple[list[list], int | None]:
    """A sheet's rows (trailing empty rows dropped) and, when it was cut after
    ``MAX_SHEET_CELLS`` cells with more rows following, the last sheet row read."""
    ws.reset_dimensions()  # the declared size may be anything, e.g. A1:XFD1048576
    rows: list[list] = []
    cells = 0
    truncated = None
    it = ws.iter_rows(values_only=True)
    for r in it:
        rows.append(list(r))
        cells += len(r)
        if cells >= MAX_SHEET_CELLS:
            if next(it, None) is not None:
                truncated = len(rows)
            break
    while rows and not any(v not in (None, "") for v in rows[-1]):
        rows.pop()
    return rows, truncated


def read_xlsx(path: Path) -> RawWorkbook:
    """Values of every sheet of an .xlsx file (formulas as their cached values)."""
    import openpyxl


    path = Path(path)
    odd = not_regular_file(path)  # before any open: a FIFO or /dev/zero would block or never end
    if odd is not None:
        raise UnitReadError(f"Không đọc tệp {path}: đường dẫn {odd}. Hãy sửa 'path' của đơn vị "
                            "trong tệp cấu hình thành tệp .xlsx của đơn vị.", INVALID)
    if not path.exists():
        raise UnitReadError(f"Không tìm thấy tệp {path}.", UNREACHABLE)
    try:
        stat = path.stat()
        digest = file_sha256(path)
    except OSError as e:
        raise UnitReadError(f"Không mở được tệp {path}: {e.strerror}.", UNREACHABLE) from None
    if not zipfile.is_zipfile(path):
        raise UnitReadError(f"Tệp {path.name} không phải là sổ tính Excel (.xlsx).", INVALID)
    other = _other_format(path)
    if other is not None:
        raise UnitReadError(
            f"Tệp {path.name} không phải là sổ tính Excel (.xlsx)"
            + (f" mà là tệp {other}" if other != "không rõ" else "")
            + "; hãy mở tệp bằng Excel hoặc LibreOffice rồi lưu lại dưới dạng .xlsx.", INVALID)
    truncated: dict[str, int] = {}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
            try:
                sheets = []
                for ws in wb.worksheets:
                    rows, cut = _sheet_rows(ws)
                    if cut is not None:
                        truncated[ws.title] = cut
                    sheets.append(RawSheet(ws.title, rows))
            finally:
                wb.close()
    except UnitReadError:
        raise
    except Exception as e:  # noqa: BLE001 - openpyxl raises many kinds on damaged files
        raise UnitReadError(
            f"Tệp {path.name} bị hỏng hoặc không đọc được ({type(e).__name__}).", INVALID
        ) from None
    return RawWorkbook(
        sheets=sheets,
        version=digest,
        meta={"path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
              "sha256": digest, "warnings": [str(w.message) for w in caught],
              **({"truncated": truncated} if truncated else {})},
    )


class LocalBackend:
    def read(self, unit: UnitConfig) -> RawWorkbook:
        assert unit.path is not None, "a local unit has a path (config)"
        return read_xlsx(unit.path)

    def version(self, unit: UnitConfig) -> str | None:
        assert unit.path is not None, "a local unit has a path (config)"
        if not_regular_file(unit.path) is not None:
            return None
        try:
            return file_sha256(unit.path)
        except OSError:
            return None

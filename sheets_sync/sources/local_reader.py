"""Local .xlsx/.xlsm backend: the workbook's structure through openpyxl, the worksheets' values
through the streaming reader ``xlsx_cells`` (openpyxl for the parts it does not handle)."""
from __future__ import annotations

import hashlib
import io
import logging
import warnings
import zipfile
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from xml.parsers import expat

from ..core.config import UnitConfig
from ..core.errors import UnitReadError
from ..core.faults import not_regular_file, os_reason
from ..core.findings import INVALID, UNREACHABLE
from ..core.grid import match_name
from ..core.raw import RawSheet, RawWorkbook
from ..core.template import load_template
from ..core.text import normalize
from .xlsx_cells import PartScan, Unsupported, iter_rows
from .xlsx_patch import PackageError, held_bytes, scan_formulas

log = logging.getLogger(__name__)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# Bounded work (issue 12). Sizes are counted in *staff cells*: cells read in columns that are
# not the tool's own (the two flag columns the tool appends never push a unit over a cap).
# Empty formatted cells count: reading 100,000 formatted empty rows takes seconds and rewriting
# them with openpyxl more than a gigabyte.
#
# Set for the largest realistic unit, a merged commune: 1,500 members × 12 months × 3 years of
# "Điểm danh" = 54,000 rows × 6–8 columns ≈ 0.45 million cells, and 5 years of meetings — up to
# 43,000 rows × 27 template columns (+ a staff column or two) ≈ 1.2 million cells — with about
# 70 % to spare:
MAX_SHEET_CELLS = 2_000_000  # per template tab; beyond it the tab is cut (meta "truncated")
MAX_WORKBOOK_CELLS = 3_000_000  # all template tabs together
# Sheets that are not template tabs are never checked; they are kept (history store, restore)
# only up to this many cells in all (meta "others_cut": title -> last row kept).
MAX_OTHER_CELLS = 200_000
# The tool's own tabs (Kiểm tra, Hướng dẫn) are read whole up to this many cells each, outside
# the staff caps: `run` compares them with what it would write, and a tab cut short would be
# rewritten on every run (a Kiểm tra of 25,000 lines is 200,000 cells by itself).
MAX_TOOL_TAB_CELLS = MAX_SHEET_CELLS
MAX_CELL_CHARS = 32_767  # Excel's own limit on the text of a cell; longer text is cut on reading
# The tool columns are recognised by their header in the first rows (as the parser does).
HEADER_ROWS = 5

# Other formats saved under an .xlsx name (zip members that tell them apart).
_OTHER_FORMATS = (("word/document.xml", "Word (.docx)"), ("ppt/presentation.xml",
                                                          "PowerPoint (.pptx)"),
                  ("content.xml", "OpenDocument (.ods/.odt)"))


def _other_format(book: IO[bytes] | Path) -> str | None:
    """The kind of a zip file that is not an Excel workbook (None: it may be one)."""
    try:
        with zipfile.ZipFile(book) as zf:
            names = {n.lower() for n in zf.namelist()}
    except (OSError, zipfile.BadZipFile, ValueError, NotImplementedError):
        return None  # damaged: the reader below reports it (NotImplementedError: zip version)
    if any(n.startswith("xl/") for n in names):
        return None
    return next((kind for member, kind in _OTHER_FORMATS if member in names), "không rõ")


# An OLE compound file: an Excel 97–2003 workbook (.xls), or an .xlsx whose opening is
# protected by a password (Office keeps the encrypted package in such a file, as the stream
# "EncryptedPackage", its name in UTF-16 in the file's directory).
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")


def _not_a_package(name: str, source: bytes | Path) -> str:
    """Why a file that is not a zip package cannot be read, and what to do."""
    try:
        if isinstance(source, bytes):
            data = source
        else:
            with open(source, "rb") as fh:
                data = fh.read(1 << 20)  # an OLE directory sits near the start of such a file
    except OSError:
        data = b""
    if data.startswith(_OLE_MAGIC) and _ENCRYPTED_STREAM in data:
        return (f"Tệp {name} được đặt mật khẩu mở tệp nên không đọc được. Hãy mở tệp bằng Excel, "
                "bỏ mật khẩu (Tệp → Thông tin → Bảo vệ sổ làm việc → Mã hóa bằng mật khẩu: xóa "
                "trống) rồi lưu lại.")
    if data.startswith(_OLE_MAGIC):
        return (f"Tệp {name} là sổ tính Excel 97–2003 (.xls), không phải .xlsx; hãy mở tệp bằng "
                "Excel hoặc LibreOffice rồi lưu lại dưới dạng .xlsx (Excel Workbook).")
    return f"Tệp {name} không phải là sổ tính Excel (.xlsx)."


def _tool_columns(row: list, tool_headers: frozenset[str]) -> set[int]:
    return {i for i, v in enumerate(row) if isinstance(v, str) and normalize(v) in tool_headers}


def _sheet_rows(it: Iterator[Sequence], limit: int, tool_headers: frozenset[str],
                cap_text: bool) -> tuple[list[list], int | None, int]:
    """A sheet's rows from ``it`` (trailing empty rows dropped; text capped at
    ``MAX_CELL_CHARS`` here when ``cap_text``, else by the reader), the last sheet row read when
    it was cut after ``limit`` staff cells with more rows following (else None), and the staff
    cells read."""
    rows: list[list] = []
    cells = 0
    truncated = None
    tool: set[int] = set()
    tool_cols: list[int] = []  # ``tool`` in order: the tool cells of a row are bisected
    for r in it:
        row = list(r)
        if cap_text:
            for i, v in enumerate(row):
                if v.__class__ is str and len(v) > MAX_CELL_CHARS:
                    row[i] = v[:MAX_CELL_CHARS]
        if len(rows) < HEADER_ROWS:
            tool |= _tool_columns(row, tool_headers)
            tool_cols = sorted(tool)
        rows.append(row)
        width = len(row)
        cells += width - bisect_left(tool_cols, width) if tool_cols else width
        if cells >= limit:
            if next(it, None) is not None:
                truncated = len(rows)
            break
    while rows and not any(v not in (None, "") for v in rows[-1]):
        rows.pop()
    return rows, truncated, cells


def _capped_strings(src: IO[bytes]) -> list[str]:
    """The shared strings of a workbook (as openpyxl's ``read_string_table`` returns them:
    each ``<si>``'s text runs joined, phonetic runs left out), streamed so that no string
    longer than ``MAX_CELL_CHARS`` is ever held: a 300 MB string costs 32,767 characters."""
    strings: list[str] = []
    parts: list[str] = []
    state = {"si": False, "t": 0, "rph": 0, "size": 0}

    def start(name: str, _attrs: dict) -> None:
        local = name.rpartition("}")[2]
        if local == "si":
            state["si"], state["size"] = True, 0
            parts.clear()
        elif local == "rPh":
            state["rph"] += 1
        elif local == "t" and state["si"] and not state["rph"]:
            state["t"] += 1

    def end(name: str) -> None:
        local = name.rpartition("}")[2]
        if local == "si":
            strings.append("".join(parts).replace("x005F_", ""))
            state["si"] = False
        elif local == "rPh":
            state["rph"] -= 1
        elif local == "t" and state["t"]:
            state["t"] -= 1

    def text(data: str) -> None:
        if state["t"] and state["size"] < MAX_CELL_CHARS:
            data = data[:MAX_CELL_CHARS - state["size"]]
            state["size"] += len(data)
            parts.append(data)

    parser = expat.ParserCreate(namespace_separator="}")
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    parser.ParseFile(src)
    return strings


@dataclass
class _Part:
    title: str
    path: str  # zip member of the worksheet
    scan: PartScan | None = None  # what the streaming reader saw (None: read by openpyxl)

    @property
    def formula_free(self) -> bool:
        """Read whole by the streaming reader, and no formula among its cells."""
        return self.scan is not None and self.scan.whole and not self.scan.formulas


def _load_workbook(book: IO[bytes] | Path) -> tuple[Any, list[_Part]]:
    """openpyxl's reader of the workbook's structure (``ExcelReader(path, read_only=True,
    data_only=True)``: sheet names and order, chart sheets, the date system, the cell styles
    whose number format is a date, time or duration) with the shared strings streamed and
    capped (``_capped_strings``), and the worksheet parts in workbook order. The worksheets'
    cells are not read here (``_rows_of``)."""
    from openpyxl.packaging.relationship import get_dependents, get_rels_path
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.xml.constants import SHARED_STRINGS

    parts: list[_Part] = []

    class Reader(ExcelReader):
        def read_strings(self) -> None:
            ct = self.package.find(SHARED_STRINGS)
            if ct is not None:
                with self.archive.open(ct.PartName[1:]) as src:
                    self.shared_strings = _capped_strings(src)

        def read_worksheets(self) -> None:
            # ExcelReader.read_worksheets in read-only mode, without opening each worksheet
            # to size it (a sheet without a <dimension> is parsed whole for that).
            for sheet, rel in self.parser.find_sheets():
                if rel.target not in self.valid_files:
                    continue
                if "chartsheet" in rel.Type:
                    self.read_chartsheet(sheet, rel)  # type: ignore[arg-type]  # as openpyxl
                    continue
                rels_path = get_rels_path(rel.target)
                if rels_path in self.valid_files:
                    get_dependents(self.archive, rels_path)  # openpyxl fails on damaged ones
                parts.append(_Part(sheet.name, rel.target))

    reader = Reader(book, read_only=True, data_only=True)
    try:
        reader.read()
    except BaseException:
        reader.archive.close()
        raise
    return reader, parts


def _rows_of(reader: Any, part: _Part) -> tuple[Iterator[Sequence], bool, IO[bytes] | None]:
    """The rows of one worksheet (``xlsx_cells.iter_rows``, what it saw goes to
    ``part.scan``), whether text still has to be capped, and the open member to close after
    use. ``xlsx_cells.Unsupported`` from the iterator: read it again with ``_openpyxl_rows``."""
    wb = reader.wb
    src = reader.archive.open(part.path)
    part.scan = PartScan()
    return (iter_rows(src, reader.shared_strings, wb.epoch, wb._date_formats,
                      wb._timedelta_formats, MAX_CELL_CHARS, part.scan), False, src)


def _openpyxl_rows(reader: Any, part: _Part) -> tuple[Iterator[Sequence], bool, IO[bytes] | None]:
    """The rows of one worksheet as openpyxl reads them (``iter_rows(values_only=True)`` of a
    read-only worksheet, declared size ignored): the fallback for parts ``xlsx_cells`` does
    not handle."""
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    part.scan = None
    reader.wb._archive = reader.archive
    ws: Any = ReadOnlyWorksheet(reader.wb, part.title, part.path, reader.shared_strings)
    ws.reset_dimensions()  # the declared size may be anything, e.g. A1:XFD1048576
    return iter(ws.iter_rows(values_only=True)), True, None


def _read_sheet(reader: Any, part: _Part, limit: int, tool_headers: frozenset[str]
                ) -> tuple[list[list], int | None, int]:
    """``_sheet_rows`` of one worksheet, read by ``xlsx_cells``, or by openpyxl when that
    reader does not handle the part (the reason is logged)."""
    it, cap, src = _rows_of(reader, part)
    try:
        return _sheet_rows(it, limit, tool_headers, cap)
    except Unsupported as e:
        log.info("Tab \"%s\" được đọc bằng openpyxl: %s.", part.title, e)
    finally:
        if src is not None:
            src.close()
    it, cap, _ = _openpyxl_rows(reader, part)
    return _sheet_rows(it, limit, tool_headers, cap)


def _template_titles() -> tuple[dict[str, str], frozenset[str], frozenset[str]]:
    """Normalised template tab names -> tab id, the normalised tool headers and the
    normalised names of the tool's own tabs."""
    template = load_template()
    return ({normalize(t.name): t.id for t in template.tabs},
            frozenset(normalize(h) for h in template.tool_headers),
            frozenset(normalize(t) for t in (template.check_tab, template.guide_tab)))


def read_xlsx(path: Path) -> RawWorkbook:
    """Values of every sheet of an .xlsx file (formulas as their cached values), within the
    bounds above; only regular files are opened."""
    path = Path(path)
    odd = not_regular_file(path)  # before any open: a FIFO or /dev/zero would block or never end
    if odd is not None:
        raise UnitReadError(f"Không đọc tệp {path}: đường dẫn {odd}. Hãy sửa 'path' của đơn vị "
                            "trong tệp cấu hình thành tệp .xlsx của đơn vị.", INVALID)
    if not path.exists():
        raise UnitReadError(f"Không tìm thấy tệp {path}.", UNREACHABLE)
    try:
        stat = path.stat()
        # Read once, into memory: the SHA-256 is of the very bytes parsed (the writer trusts
        # what this read saw of a part only in a file with that digest: ``checked_parts``).
        # A file too big for that is hashed, then parsed, from the disk.
        held = held_bytes(path)
        digest = hashlib.sha256(held).hexdigest() if held is not None else file_sha256(path)
    except OSError as e:
        raise UnitReadError(f"Không mở được tệp {path}: {os_reason(e)}.", UNREACHABLE) from None
    source: bytes | Path = held if held is not None else path
    book: IO[bytes] | Path = io.BytesIO(held) if held is not None else path
    if not zipfile.is_zipfile(book):
        raise UnitReadError(_not_a_package(path.name, source), INVALID)
    other = _other_format(book)
    if other is not None:
        raise UnitReadError(
            f"Tệp {path.name} không phải là sổ tính Excel (.xlsx)"
            + (f" mà là tệp {other}" if other != "không rõ" else "")
            + "; hãy mở tệp bằng Excel hoặc LibreOffice rồi lưu lại dưới dạng .xlsx.", INVALID)
    truncated: dict[str, int] = {}
    others_cut: dict[str, int] = {}
    tabs, tool_headers, tool_tabs = _template_titles()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            reader, parts = _load_workbook(book)
            try:
                # Template tabs first (they are what is checked), each at most once; the tool's
                # own tabs, each at most once, within their own cap; then the other sheets
                # with what is left of their own budget.
                seen: set[str] = set()
                first, tool, rest = [], [], []
                for n, part in enumerate(parts):
                    tab_id = match_name(part.title, tabs)
                    name = normalize(part.title)
                    if tab_id is not None and tab_id not in seen:
                        seen.add(tab_id)
                        first.append(n)
                    elif name in tool_tabs and name not in seen:
                        seen.add(name)
                        tool.append(n)
                    else:
                        rest.append(n)
                rows_of: dict[int, list[list]] = {}
                budget = MAX_WORKBOOK_CELLS
                for n in first:
                    part = parts[n]
                    rows, cut, used = _read_sheet(reader, part,
                                                  max(1, min(MAX_SHEET_CELLS, budget)),
                                                  tool_headers)
                    budget -= used
                    if cut is not None:
                        truncated[part.title] = cut
                    rows_of[n] = rows
                for n in tool:
                    part = parts[n]
                    rows, cut, _ = _read_sheet(reader, part, MAX_TOOL_TAB_CELLS, tool_headers)
                    if cut is not None:
                        others_cut[part.title] = cut
                    rows_of[n] = rows
                budget = MAX_OTHER_CELLS
                for n in rest:
                    part = parts[n]
                    if budget <= 0:
                        rows_of[n] = []
                        others_cut[part.title] = 0
                        continue
                    rows, cut, used = _read_sheet(reader, part, budget, tool_headers)
                    budget -= used
                    if cut is not None:
                        others_cut[part.title] = cut
                    rows_of[n] = rows
                sheets = [RawSheet(part.title, rows_of[n]) for n, part in enumerate(parts)]
            finally:
                reader.archive.close()
    except UnitReadError:
        raise
    except Exception as e:  # noqa: BLE001 - openpyxl raises many kinds on damaged files
        raise UnitReadError(
            f"Tệp {path.name} bị hỏng hoặc không đọc được ({type(e).__name__}).", INVALID
        ) from None
    extra = _formulas(source, sheets, {p.title for p in parts if p.formula_free})
    # the parts read whole with every cell addressed, from bytes held (so of that digest)
    checked = [] if held is None else sorted(
        p.path.lstrip("/") for p in parts if p.scan is not None and p.scan.whole
        and p.scan.addressed)
    return RawWorkbook(
        sheets=sheets,
        version=digest,
        meta={"path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
              "sha256": digest, "warnings": [str(w.message) for w in caught],
              **({"truncated": truncated} if truncated else {}),
              **({"others_cut": others_cut} if others_cut else {}),
              **({"checked_parts": checked} if checked else {}), **extra},
    )


def _formulas(source: bytes | Path, sheets: list[RawSheet], formula_free: set[str]) -> dict:
    """Meta about formula cells: ``formula_cols`` (title -> last 0-based column holding a
    formula, even one whose result is empty: tool columns never go there) and ``uncomputed``
    (title -> [[row, col], …] 1-based: formulas without a cached value, written by a script and
    never calculated). An uncomputed formula is read as its text (never evaluated) instead of
    as an empty cell."""
    try:
        scans = scan_formulas(source, skip=formula_free)
    except (PackageError, OSError):
        return {}  # the workbook was read; only the formula details are missing
    by_title = {s.title: s for s in sheets}
    cols: dict[str, int] = {}
    missing: dict[str, list[list[int]]] = {}
    for title, scan in scans.items():
        cols[title] = scan.last_col
        sheet = by_title.get(title)
        for row, col, text in scan.uncomputed:
            missing.setdefault(title, []).append([row, col])
            if sheet is None:
                continue
            while len(sheet.rows) < row:
                sheet.rows.append([])
            line = sheet.rows[row - 1]
            while len(line) < col:
                line.append(None)
            if line[col - 1] in (None, ""):
                line[col - 1] = text
    out: dict = {}
    if cols:
        out["formula_cols"] = cols
    if missing:
        out["uncomputed"] = missing
    return out


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

"""Apply a ``FlagPlan`` to a local .xlsx workbook, safely.

Safety rules (design.md "Reliability invariants"):
- an empty plan touches nothing (SHA-256 and mtime stay);
- the file is changed in place only when openpyxl can round-trip everything in it: no drawings,
  charts, images, pivot tables, macros, slicers, threaded comments, controls, external links,
  unknown parts, load warnings, nor formulas in staff cells. Otherwise a flagged copy is written
  to ``out_dir/flagged/`` and the original stays byte-identical;
- each flag goes to its row only if the row's key values still equal those that were checked;
- the new workbook is written to a temporary file in the same folder, the original is compared
  with what was read (size, mtime, SHA-256) right before it is replaced, a timestamped backup is
  kept, and ``os.replace`` swaps the files (a reader never sees a half-written workbook);
- strings are stored as strings: a value starting with "=" never becomes a formula.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import warnings
import zipfile
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.atomic import replace_durably, write_text_atomic
from ..core.flagplan import (
    COPY,
    DETAILS_WIDTH,
    DRY_RUN,
    SKIPPED,
    STATUS_WIDTH,
    UNCHANGED,
    WRITTEN,
    FlagPlan,
    WriteResult,
    clean_text,
    key_text,
)
from .local_reader import file_sha256

if TYPE_CHECKING:
    from openpyxl.workbook.workbook import Workbook

FLAGGED_DIR = "flagged"
HEADER_FILL = "D9D9D9"

# Zip parts openpyxl reads and writes back faithfully (case-insensitive full match).
_SAFE_PARTS = [re.compile(p, re.IGNORECASE) for p in (
    r"\[Content_Types\]\.xml",
    r"_rels/\.rels",
    r"docProps/(app|core|custom)\.xml",
    r"docProps/thumbnail\.(jpe?g|png|wmf|emf)",  # dropped on save; shows nothing staff typed
    r"xl/workbook\.xml",
    r"xl/_rels/workbook\.xml\.rels",
    r"xl/styles\.xml",
    r"xl/sharedStrings\.xml",
    r"xl/theme/theme\d*\.xml",
    r"xl/worksheets/[^/]+\.xml",
    r"xl/worksheets/_rels/[^/]+\.xml\.rels",
    r"xl/calcChain\.xml",
    r"xl/tables/[^/]+\.xml",
    r"xl/comments[^/]*\.xml",
    r"xl/comments/[^/]+\.xml",
    r"xl/printerSettings/[^/]+\.bin",  # dropped on save; the page setup itself is kept
    r"xl/drawings/[^/]+\.vml",  # legacy comment boxes; checked by _vml_problem
)]

# Known parts openpyxl cannot round-trip, with the Vietnamese name shown to the operator.
_UNSAFE_PREFIXES = (
    ("xl/charts/", "biểu đồ"),
    ("xl/chartsheets/", "biểu đồ"),
    ("xl/media/", "hình ảnh"),
    ("xl/drawings/", "hình vẽ hoặc hình ảnh"),
    ("xl/pivottables/", "bảng tổng hợp (PivotTable)"),
    ("xl/pivotcache/", "bảng tổng hợp (PivotTable)"),
    ("xl/vbaproject.bin", "macro (VBA)"),
    ("xl/macrosheets/", "macro"),
    ("xl/dialogsheets/", "macro"),
    ("xl/slicers/", "bộ lọc slicer"),
    ("xl/slicercaches/", "bộ lọc slicer"),
    ("xl/timelines/", "bộ lọc timeline"),
    ("xl/timelinecaches/", "bộ lọc timeline"),
    ("xl/threadedcomments/", "ghi chú dạng hội thoại"),
    ("xl/persons/", "ghi chú dạng hội thoại"),
    ("xl/ctrlprops/", "nút điều khiển (form control)"),
    ("xl/activex/", "điều khiển ActiveX"),
    ("xl/externallinks/", "liên kết tới tệp khác"),
    ("xl/embeddings/", "đối tượng nhúng"),
    ("xl/diagrams/", "sơ đồ SmartArt"),
    ("xl/querytables/", "kết nối dữ liệu"),
    ("xl/connections.xml", "kết nối dữ liệu"),
    ("xl/model/", "mô hình dữ liệu"),
    ("xl/richdata/", "hình ảnh trong ô"),
)

_DRAWINGS = "hình vẽ hoặc hình ảnh"

# openpyxl load warnings that lose nothing staff typed.
_BENIGN_WARNINGS = ("contains no default style",)


class _Unreadable(Exception):
    pass


# --- inspection -----------------------------------------------------------------------------------

def _vml_problem(data: bytes) -> bool:
    """A VML part holding anything besides comment boxes (controls, header/footer pictures)."""
    text = data.decode("utf-8", "replace")
    if "imagedata" in text.lower():
        return True
    kinds = set(re.findall(r'ObjectType\s*=\s*"([^"]*)"', text))
    return bool(kinds - {"Note"})


def unsupported_parts(path: Path) -> list[str]:
    """Vietnamese names of what openpyxl cannot round-trip in this workbook (zip parts)."""
    found: list[str] = []
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                name = info.filename
                if name.endswith("/"):
                    continue
                lower = name.lower()
                if any(p.fullmatch(name) for p in _SAFE_PARTS):
                    if lower.endswith(".vml") and _vml_problem(zf.read(info)):
                        found.append("nút điều khiển hoặc hình ảnh đầu/cuối trang")
                    continue
                label = next((lbl for prefix, lbl in _UNSAFE_PREFIXES if lower.startswith(prefix)),
                             None)
                found.append(label or f"thành phần không hỗ trợ ({name})")
            try:
                types = zf.read("[Content_Types].xml").decode("utf-8", "replace")
            except KeyError:
                types = ""
            if "macroEnabled" in types:
                found.append("macro (VBA)")
            if "template.main" in types:
                found.append("định dạng mẫu (template)")
    except Exception as e:  # noqa: BLE001 - BadZipFile, OSError, zlib errors on damaged members
        raise _Unreadable(str(e)) from None
    found = list(dict.fromkeys(found))
    if _DRAWINGS in found and ({"biểu đồ", "hình ảnh"} & set(found)):
        found.remove(_DRAWINGS)  # the drawing part only anchors the chart or picture
    return found


def _load(path: Path, data_only: bool = False):
    """openpyxl workbook (styles, validations, widths, rich text kept) and its load warnings."""
    import openpyxl

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            wb = openpyxl.load_workbook(path, data_only=data_only, keep_links=True,
                                        rich_text=not data_only)
        except Exception as e:  # noqa: BLE001 - openpyxl raises many kinds on damaged files
            raise _Unreadable(f"{type(e).__name__}: {e}") from None
    notes = [str(w.message) for w in caught
             if not any(b in str(w.message) for b in _BENIGN_WARNINGS)]
    return wb, notes


EXCEL_MAX_COLUMN = 16_384  # XFD


def _blocked(wb, plan: FlagPlan, name: str) -> str | None:
    """Why the plan cannot be written into this workbook at all (None: it can): a chart sheet
    holding the name of a tab the tool writes, or tool columns beyond Excel's last column."""
    charts = {ws.title for ws in getattr(wb, "chartsheets", [])}
    for title in (plan.check_sheet, plan.guide_sheet):
        if title in charts:
            return (f"Không ghi vào tệp {name}: trang \"{title}\" là trang biểu đồ (chart "
                    f"sheet), trùng tên tab mà công cụ ghi kết quả. Hãy đổi tên trang biểu đồ "
                    f"đó (ví dụ \"Biểu đồ\") rồi chạy lại.")
    for title, tc in plan.tool_columns.items():
        if max(tc.status_col, tc.details_col) + 1 > EXCEL_MAX_COLUMN:
            return (f"Không ghi vào tệp {name}: tab \"{title}\" có ô ở quá cột XFD (16.384 cột, "
                    "giới hạn của Excel) nên không còn chỗ cho hai cột kết quả. Hãy xóa các ô "
                    "thừa ở bên phải bảng rồi chạy lại.")
    return None


def _tool_cells(plan: FlagPlan) -> dict[str, tuple[int, set[int]]]:
    """sheet title -> (header row, 1-based tool column numbers)."""
    return {t: (tc.header_row, {tc.status_col + 1, tc.details_col + 1})
            for t, tc in plan.tool_columns.items()}


def _formula_cells(wb, plan: FlagPlan, limit: int = 3) -> list[str]:
    """Up to ``limit`` staff cells holding formulas ("Sheet!A1"); openpyxl would drop their
    cached values."""
    tool = _tool_cells(plan)
    tool_tabs = {plan.check_sheet, plan.guide_sheet}
    out: list[str] = []
    for ws in wb.worksheets:
        if ws.title in tool_tabs:
            continue
        header_row, cols = tool.get(ws.title, (None, set()))
        # The cells that exist, in sheet order: ws.iter_rows() would create every cell of the
        # used range (a stray value in column XFD, or 100,000 formatted rows, gives millions).
        for (r, c), cell in sorted(ws._cells.items()):
            if cell.data_type != "f":
                continue
            if header_row is not None and c in cols and r > header_row:
                continue
            out.append(f"{ws.title}!{cell.coordinate}")
            if len(out) >= limit:
                return out
    return out


# --- file checks ----------------------------------------------------------------------------------

def changed_since_read(path: Path, read_meta: dict[str, Any], hash_check: bool = True) -> bool:
    """True when the file is not the one that was read (size, mtime_ns, SHA-256)."""
    try:
        st = path.stat()
    except OSError:
        return True
    if "size" in read_meta and st.st_size != read_meta["size"]:
        return True
    if "mtime_ns" in read_meta and st.st_mtime_ns != read_meta["mtime_ns"]:
        return True
    if not hash_check:
        return False
    try:
        return file_sha256(path) != read_meta.get("sha256")
    except OSError:
        return True


def _backup(path: Path, backup_dir: Path, now: datetime) -> Path:
    backup_dir.mkdir(parents=True, exist_ok=True)
    base = f"{path.stem}-{now:%Y%m%d-%H%M%S}"
    target, n = backup_dir / f"{base}{path.suffix}", 1
    while target.exists():
        n += 1
        target = backup_dir / f"{base}-{n}{path.suffix}"
    partial = target.with_name(f".{target.name}.partial")
    shutil.copy2(path, partial)  # copied aside, then renamed: a kill never leaves half a backup
    replace_durably(partial, target)
    return target


def backups_of(path: Path, backup_dir: Path) -> list[Path]:
    """The backups of ``path`` in ``backup_dir``, oldest first."""
    pattern = re.compile(rf"{re.escape(path.stem)}-(\d{{8}}-\d{{6}})(?:-(\d+))?"
                         rf"{re.escape(path.suffix)}")
    found = []
    if backup_dir.is_dir():
        for p in backup_dir.iterdir():
            m = pattern.fullmatch(p.name)
            if m and p.is_file():
                found.append(((m.group(1), int(m.group(2) or 1)), p))
    return [p for _, p in sorted(found)]


def rotate_backups(path: Path, backup_dir: Path, keep: int) -> None:
    olds = backups_of(path, backup_dir)
    for p in olds[: max(0, len(olds) - max(keep, 1))]:
        try:
            p.unlink()
        except OSError:
            pass


def _unlink(p: Path | None) -> None:
    if p is not None:
        try:
            p.unlink()
        except OSError:
            pass


# --- applying the plan ----------------------------------------------------------------------------

def set_text(cell, text: str) -> None:
    """Store ``text`` as a string cell (never a formula or an error code); "" clears."""
    text = clean_text(text)
    if text == "":
        cell.value = None
        return
    cell.value = text
    cell.data_type = "s"  # openpyxl turns "=…" into a formula and "#N/A" into an error


def _is_merged(cell) -> bool:
    from openpyxl.cell.cell import MergedCell

    return isinstance(cell, MergedCell)


def _in_column_range(ws, col: int) -> bool:
    """The column already belongs to a multi-column width definition (setting its own width
    would write overlapping <col> ranges, which Excel rejects)."""
    return any(d.min and d.max and d.min <= col <= d.max and d.min != d.max
               for d in ws.column_dimensions.values())


class _Cached:
    """Cached values of formula cells, loaded only if a key cell holds a formula."""

    def __init__(self, path: Path):
        self.path = path
        self.wb: Workbook | None = None

    def value(self, sheet: str, row: int, col: int) -> Any:
        if self.wb is None:
            self.wb, _ = _load(self.path, data_only=True)
        return self.wb[sheet].cell(row, col).value


def _style_header(ws, cell, col: int, width: int) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    cell.font = Font(bold=True)
    cell.fill = PatternFill("solid", start_color=HEADER_FILL, end_color=HEADER_FILL)
    cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
    if not _in_column_range(ws, col):
        ws.column_dimensions[get_column_letter(col)].width = width


def _apply_changes(wb, plan: FlagPlan, cached: _Cached) -> tuple[int, list[tuple[str, int]]]:
    from openpyxl.styles import Alignment

    written = 0
    skipped: list[tuple[str, int]] = []
    blocked: set[str] = set()
    for title, cols in plan.new_columns.items():
        if title not in wb.sheetnames:
            blocked.add(title)
            continue
        ws = wb[title]
        tc = plan.tool_columns[title]
        cells = [ws.cell(tc.header_row, col + 1) for col, _ in cols]
        if any(_is_merged(c) or c.value not in (None, "") for c in cells):
            blocked.add(title)  # the target is no longer empty: never overwrite staff cells
            continue
        for (col, header), cell in zip(cols, cells):
            set_text(cell, header)
            width = DETAILS_WIDTH if col == tc.details_col else STATUS_WIDTH
            _style_header(ws, cell, col + 1, width)
    for ch in plan.changes:
        if ch.sheet in blocked or ch.sheet not in wb.sheetnames:
            skipped.append((ch.sheet, ch.row))
            continue
        ws = wb[ch.sheet]
        same = True
        for col, want in ch.keys:
            cell = ws.cell(ch.row, col + 1)
            value = cell.value
            if cell.data_type == "f":
                value = cached.value(ch.sheet, ch.row, col + 1)
            if key_text(value) != want:
                same = False
                break
        cell = ws.cell(ch.row, ch.col + 1)
        if not same or _is_merged(cell):
            skipped.append((ch.sheet, ch.row))
            continue
        set_text(cell, ch.value)
        tool = plan.tool_columns.get(ch.sheet)
        if tool is not None and ch.col in (tool.details_col, tool.status_col) and ch.value:
            al = cell.alignment
            if not al.wrap_text:
                cell.alignment = Alignment(horizontal=al.horizontal, vertical="top",
                                           wrap_text=True, indent=al.indent)
        written += 1
    return written, list(dict.fromkeys(skipped))


def _write_grid(wb: Workbook, title: str, grid: list[list[str]],
                widths: Mapping[str, float]) -> None:
    """Replace the values of a tool-owned tab (formats and conditional rules are kept)."""
    from openpyxl.styles import Font

    created = title not in wb.sheetnames
    ws = wb.create_sheet(title) if created else wb[title]
    if not created:
        needed = {(r + 1, c + 1) for r, row in enumerate(grid) for c, v in enumerate(row) if v}
        for rng in list(ws.merged_cells.ranges):
            inside = {(r, c) for r, c in needed
                      if rng.min_row <= r <= rng.max_row and rng.min_col <= c <= rng.max_col}
            if inside - {(rng.min_row, rng.min_col)}:
                ws.unmerge_cells(str(rng))
        for row in ws.iter_rows():
            for cell in row:
                if not _is_merged(cell) and cell.value is not None:
                    cell.value = None
    for r, row in enumerate(grid, start=1):
        for c, text in enumerate(row, start=1):
            if text:
                set_text(ws.cell(r, c), text)
    if created:
        ws.cell(1, 1).font = Font(bold=True, size=13)
        for letter, width in widths.items():
            ws.column_dimensions[letter].width = width


def _apply(wb, plan: FlagPlan, cached: _Cached) -> tuple[int, list[tuple[str, int]]]:
    written, skipped = _apply_changes(wb, plan, cached)
    if plan.check_grid is not None:
        widths = {"A": 16, **{chr(ord("B") + k): 9 for k in range(12)}}
        _write_grid(wb, plan.check_sheet, plan.check_grid, widths)
        _check_layout(wb, plan)
    if plan.guide_grid is not None:
        _write_grid(wb, plan.guide_sheet, plan.guide_grid, {"A": 120})
    _row_heights(wb, plan, set(skipped))
    return written, skipped


def _row_heights(wb, plan: FlagPlan, skipped: set[tuple[str, int]]) -> None:
    """Heights of flagged data rows (None = default) and the tool columns' fixed widths."""
    from openpyxl.utils import get_column_letter

    for title, heights in plan.data_row_heights().items():
        if title not in wb.sheetnames:
            continue
        ws = wb[title]
        for row, height in heights.items():
            if (title, row) not in skipped:
                ws.row_dimensions[row].height = height
        tc = plan.tool_columns.get(title)
        if tc is not None:
            for col, width in ((tc.status_col, STATUS_WIDTH), (tc.details_col, DETAILS_WIDTH)):
                if not _in_column_range(ws, col + 1):
                    ws.column_dimensions[get_column_letter(col + 1)].width = width


def _check_layout(wb, plan: FlagPlan) -> None:
    """Kiểm tra: column widths, wrapped rows and their heights, links to the rows, A4
    landscape one page wide with the header rows repeated."""
    from openpyxl.styles import Alignment
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.hyperlink import Hyperlink
    from openpyxl.worksheet.properties import PageSetupProperties

    ws = wb[plan.check_sheet]
    for c, width in enumerate(plan.check_widths, start=1):
        ws.column_dimensions[get_column_letter(c)].width = width
    for row in ws.iter_rows():
        for cell in row:
            if cell.hyperlink is not None:
                cell.hyperlink = None
    heights = plan.row_heights.get(plan.check_sheet, {})
    for r, height in heights.items():
        ws.row_dimensions[r].height = height
        if height is not None and plan.check_grid is not None:
            for c in range(1, len(plan.check_grid[r - 1]) + 1):
                ws.cell(r, c).alignment = Alignment(wrap_text=True, vertical="top")
    for (gr, gc), (title, row) in plan.check_links.items():
        cell = ws.cell(gr + 1, gc + 1)
        quoted = "'" + title.replace("'", "''") + "'"
        cell.hyperlink = Hyperlink(ref=cell.coordinate, location=f"{quoted}!A{row}")
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    if ws.sheet_properties.pageSetUpPr is None:
        ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    else:
        ws.sheet_properties.pageSetUpPr.fitToPage = True
    if plan.check_header_rows:
        ws.print_title_rows = f"1:{plan.check_header_rows}"


def _plan_digest(plan: FlagPlan, source_sha: str) -> str:
    doc = {
        "source": source_sha,
        "changes": [[c.sheet, c.row, c.col, c.value, c.keys] for c in plan.changes],
        "new_columns": plan.new_columns,
        "check": plan.check_grid,
        "guide": plan.guide_grid,
    }
    return hashlib.sha256(json.dumps(doc, ensure_ascii=False, sort_keys=True,
                                     default=str).encode()).hexdigest()


def _remove_stale_temps(target: Path) -> None:
    """Delete the temporary files of earlier saves of ``target`` that never reached their
    rename (the process was killed, the power failed): half-written workbooks beside the
    unit's own file. A run holds the lock, so no other save of ``target`` is under way; were
    one, its rename would fail and its write be skipped, never leaving a damaged workbook."""
    stale = re.compile(rf"\.{re.escape(target.stem)}\.[a-z0-9_]{{8}}\.tmp\.xlsx")
    try:
        names = [p for p in target.parent.iterdir() if stale.fullmatch(p.name)]
    except OSError:
        return
    for p in names:
        _unlink(p)


def _save_atomic(wb, target: Path, mode_from: Path | None = None) -> Path:
    """Save to a temporary file next to ``target``; returns the temp path (caller replaces)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(target)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".tmp.xlsx",
                                    dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        wb.save(tmp)
        if mode_from is not None:
            shutil.copymode(mode_from, tmp)
    except BaseException:
        _unlink(tmp)
        raise
    return tmp


def _rows_note(skipped: list[tuple[str, int]]) -> str:
    if not skipped:
        return ""
    where = ", ".join(f"{s}!{r}" for s, r in skipped[:10])
    more = f" và {len(skipped) - 10} dòng khác" if len(skipped) > 10 else ""
    return f" Bỏ qua {len(skipped)} dòng ({where}{more}): dòng đã thay đổi, sẽ ghi ở lần sau."


# --- entry point ----------------------------------------------------------------------------------

def write_local(path: Path, plan: FlagPlan, read_meta: dict, out_dir: Path, backup_dir: Path,
                backup_keep: int = 5, now: datetime | None = None,
                dry_run: bool = False) -> WriteResult:
    """Apply ``plan`` to the workbook at ``path`` (see the module docstring)."""
    path = Path(path)
    name = path.name
    busy = f"Tệp {name} đang mở hoặc vừa được sửa, sẽ ghi ở lần sau."
    if not read_meta or not read_meta.get("sha256"):
        return WriteResult(SKIPPED, f"Không ghi vào tệp {name}: tệp chưa được đọc thành công "
                                    "nên không thể ghi an toàn.")
    if plan.is_empty:
        return WriteResult(UNCHANGED, f"Tệp {name}: kết quả kiểm tra đã đúng, không cần ghi.")
    if read_meta.get("truncated"):  # backends.local.MAX_SHEET_CELLS: too big to rewrite
        big = ", ".join(f'"{t}"' for t in read_meta["truncated"])
        return WriteResult(SKIPPED, f"Không ghi vào tệp {name}: tab {big} quá lớn (quá nhiều "
                                    "dòng, cột trống đã định dạng) nên không được đọc hết; hãy "
                                    "xóa các dòng, cột trống thừa rồi chạy lại.")
    if changed_since_read(path, read_meta):
        return WriteResult(SKIPPED, busy)
    try:
        reasons = unsupported_parts(path)
        wb, notes = _load(path)
    except _Unreadable:
        return WriteResult(SKIPPED, f"Không ghi vào tệp {name}: tệp bị hỏng hoặc không mở được.")
    blocked = _blocked(wb, plan, name)
    if blocked:
        return WriteResult(SKIPPED, blocked)
    reasons += [f"cảnh báo khi mở tệp ({n})" for n in notes]
    formulas = _formula_cells(wb, plan)
    if formulas:
        reasons.append(f"ô có công thức ({', '.join(formulas)})")
    if path.suffix.lower() != ".xlsx":  # openpyxl saves plain .xlsx content
        reasons.append(f"định dạng {path.suffix or '(không có đuôi)'}")
    copy_target = Path(out_dir) / FLAGGED_DIR / f"{path.stem}.xlsx"

    if dry_run:
        lines = " ".join(plan.describe())
        where = (f"sẽ ghi bản có cờ vào {copy_target} (tệp có {', '.join(reasons)})"
                 if reasons else "sẽ ghi trực tiếp vào tệp")
        return WriteResult(DRY_RUN, f"Tệp {name}: {where}. {lines}",
                           path=copy_target if reasons else path, reasons=reasons)

    cached = _Cached(path)
    if reasons:
        return _write_copy(wb, plan, read_meta, path, copy_target, reasons, cached)

    written, skipped = _apply(wb, plan, cached)
    try:
        tmp = _save_atomic(wb, path, mode_from=path)
    except OSError as e:
        return WriteResult(SKIPPED, f"Không ghi được tệp {name}: {e.strerror or e}.",
                           skipped_rows=skipped)
    backup = None
    try:
        if changed_since_read(path, read_meta):
            _unlink(tmp)
            return WriteResult(SKIPPED, busy)
        backup = _backup(path, Path(backup_dir), now or datetime.now())
        if changed_since_read(path, read_meta, hash_check=False):
            raise PermissionError
        replace_durably(tmp, path)
    except OSError:  # PermissionError on Windows while Excel holds the file
        _unlink(tmp)
        _unlink(backup)
        return WriteResult(SKIPPED, busy)
    rotate_backups(path, Path(backup_dir), backup_keep)
    msg = f"Đã ghi {written} ô kết quả kiểm tra vào tệp {name}"
    tabs = [t for t, g in ((plan.check_sheet, plan.check_grid),
                           (plan.guide_sheet, plan.guide_grid)) if g is not None]
    if tabs:
        msg += f"; cập nhật tab {', '.join(tabs)}"
    msg += f" (bản sao lưu: {backup.name})." + _rows_note(skipped)
    return WriteResult(WRITTEN, msg, written, path, skipped, backup)


def _write_copy(wb, plan: FlagPlan, read_meta: dict, path: Path, target: Path,
                reasons: list[str], cached: _Cached) -> WriteResult:
    """The flagged copy for a workbook openpyxl cannot round-trip; rewritten only when the
    source or the plan changed (the sidecar records both)."""
    name = path.name
    why = ", ".join(reasons)
    sidecar = target.parent / f".{target.name}.sheets-sync.json"
    digest = _plan_digest(plan, read_meta["sha256"])
    try:
        recorded = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        recorded = {}
    if (recorded.get("digest") == digest and target.exists()
            and recorded.get("sha256") == file_sha256(target)):
        return WriteResult(UNCHANGED, f"Tệp {name} có {why} nên không ghi trực tiếp; bản có cờ "
                                      f"{target} đã đúng, không cần ghi.",
                           path=target, reasons=reasons)
    written, skipped = _apply(wb, plan, cached)
    try:
        tmp = _save_atomic(wb, target)
        replace_durably(tmp, target)
    except OSError as e:
        return WriteResult(SKIPPED, f"Không ghi được bản có cờ {target}: {e.strerror or e}.",
                           reasons=reasons)
    try:
        if skipped:  # rows still to write: the next run must not count the copy as up to date
            _unlink(sidecar)
        else:
            write_text_atomic(sidecar, json.dumps({"digest": digest,
                                                   "sha256": file_sha256(target)}))
    except OSError:
        pass
    msg = (f"Tệp {name} có {why} nên không ghi trực tiếp; đã ghi bản có cờ vào {target}."
           + _rows_note(skipped))
    return WriteResult(COPY, msg, written, target, skipped, reasons=reasons)

"""Apply a ``FlagPlan`` to a local .xlsx/.xlsm workbook, in place and surgically.

Safety rules (design.md "Reliability invariants"):
- an empty plan touches nothing (SHA-256 and mtime stay);
- the workbook is edited as a package (``sources.xlsx_patch``): every zip part stays byte for
  byte as it was except the worksheets whose tool cells change (only those cells, rows and
  elements are spliced) and the few parts a new tool tab or style needs. Staff cells, cached
  formula values, charts, pictures, pivots, macros, comments, validations survive untouched;
- a workbook the package editor cannot edit with certainty (encrypted, Strict Open XML, …) is
  never changed: a flagged copy is written to ``out_dir/flagged/`` (named by unit code) with a
  message naming the reason;
- each flag goes to its row only if the row's key values still equal those that were checked;
- the unit file must be a regular file (a symlink's target is written; the link stays), not
  open in Excel/LibreOffice (no lock file beside it) and not read-only;
- the new workbook is written to a temporary file in the same folder and fsynced, the original
  is compared with what was read (size, mtime, SHA-256) right before it is replaced, a
  timestamped backup is kept (named by unit code), ``os.replace`` swaps the files and the folder
  is fsynced (a reader never sees a half-written workbook, a power cut never an empty one);
- strings are stored as strings: a value starting with "=" never becomes a formula.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
import warnings
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.atomic import fsync_folder, fsync_path, replace_durably, write_text_atomic
from ..core.errors import UnitReadError
from ..core.faults import os_reason
from ..core.flagplan import (
    COPY,
    DETAILS_WIDTH,
    DRY_RUN,
    NO_ROOM,
    SKIPPED,
    STATUS_WIDTH,
    UNCHANGED,
    WRITTEN,
    CellChange,
    FlagPlan,
    WriteResult,
    clean_text,
    key_text,
)
from ..core.raw import RawWorkbook
from .local_reader import file_sha256, read_xlsx
from .xlsx_patch import MAX_COL, CellWrite, Package, PackageError, SheetDoc

if TYPE_CHECKING:
    from openpyxl.workbook.workbook import Workbook

FLAGGED_DIR = "flagged"
HEADER_FILL = "D9D9D9"

# openpyxl load warnings that lose nothing staff typed.
_BENIGN_WARNINGS = ("contains no default style",)


class _Unreadable(Exception):
    pass


# --- the openpyxl fallback (flagged copies only) ----------------------------------------------

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


def _base(path: Path, unit: str) -> str:
    """File-name stem of a unit's backups and flagged copy: the unit code first, so two units
    whose files share a name (every commune's "so-theo-doi.xlsx") never share one."""
    code = re.sub(r"[^\w.-]+", "_", unit, flags=re.UNICODE).strip("._")
    return f"{code}-{path.stem}" if code else path.stem


def _backup(path: Path, backup_dir: Path, now: datetime, unit: str = "") -> Path:
    backup_dir.mkdir(parents=True, exist_ok=True)
    base = f"{_base(path, unit)}-{now:%Y%m%d-%H%M%S}"
    target, n = backup_dir / f"{base}{path.suffix}", 1
    while target.exists():
        n += 1
        target = backup_dir / f"{base}-{n}{path.suffix}"
    partial = target.with_name(f".{target.name}.partial")
    shutil.copy2(path, partial)  # copied aside, then renamed: a kill never leaves half a backup
    replace_durably(partial, target)
    return target


def backups_of(path: Path, backup_dir: Path, unit: str = "") -> list[Path]:
    """The backups of ``path`` (of unit ``unit``) in ``backup_dir``, oldest first."""
    pattern = re.compile(rf"{re.escape(_base(path, unit))}-(\d{{8}}-\d{{6}})(?:-(\d+))?"
                         rf"{re.escape(path.suffix)}")
    found = []
    if backup_dir.is_dir():
        for p in backup_dir.iterdir():
            m = pattern.fullmatch(p.name)
            if m and p.is_file():
                found.append(((m.group(1), int(m.group(2) or 1)), p))
    return [p for _, p in sorted(found)]


def rotate_backups(path: Path, backup_dir: Path, keep: int, unit: str = "") -> None:
    olds = backups_of(path, backup_dir, unit)
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
    grid = plan.check_grid or []
    for r, height in heights.items():
        ws.row_dimensions[r].height = height
        if height is not None and r <= len(grid):
            for c in range(1, len(grid[r - 1]) + 1):
                ws.cell(r, c).alignment = Alignment(wrap_text=True, vertical="top")
        elif r <= len(grid):  # a lone text runs over, even where a wrapped row was before
            for c, text in enumerate(grid[r - 1], start=1):
                al = ws.cell(r, c).alignment
                if text and al.wrap_text:
                    ws.cell(r, c).alignment = Alignment(
                        horizontal=al.horizontal, vertical=al.vertical, indent=al.indent)
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




# --- unit files -----------------------------------------------------------------------------------

def lock_file(path: Path) -> Path | None:
    """The Office/LibreOffice lock file beside ``path`` (the workbook is open), if any."""
    name = path.name
    for cand in (f"~${name}", f"~${name[2:]}", f".~lock.{name}#"):
        p = path.with_name(cand)
        if p.exists():
            return p
    return None


def _refusal(path: Path, real: Path) -> str | None:
    """Why the unit file must not be written now (Vietnamese), or None."""
    name = path.name
    try:
        st = real.stat()
    except OSError as e:
        return f"Không ghi vào tệp {name}: không mở được tệp ({os_reason(e)})."
    if not stat.S_ISREG(st.st_mode):
        return (f"Không ghi vào tệp {name}: đây không phải là một tệp thông thường (thư mục, "
                "thiết bị hoặc đường ống); hãy trỏ cấu hình tới chính tệp .xlsx.")
    for candidate in dict.fromkeys((path, real)):
        lock = lock_file(candidate)
        if lock is not None:
            return (f"Không ghi vào tệp {name}: tệp đang mở / chỉ đọc — đóng tệp rồi chạy lại "
                    f"(có tệp khóa {lock.name} của Excel/LibreOffice bên cạnh).")
    if not st.st_mode & 0o222 or not os.access(real, os.W_OK):
        return (f"Không ghi vào tệp {name}: tệp đang mở / chỉ đọc — đóng tệp rồi chạy lại "
                "(tệp được đặt chỉ đọc; bỏ thuộc tính chỉ đọc nếu muốn công cụ ghi kết quả).")
    return None


# --- surgical write -------------------------------------------------------------------------------

CHECK_WIDTHS = {1: 16.0, **{c: 9.0 for c in range(2, 14)}}
GUIDE_WIDTHS = {1: 120.0}


def _key_ok(rows: list[list[Any]] | None, ch: CellChange) -> bool:
    """The change's row still holds its keys in ``rows`` (its sheet's rows, None: no such
    sheet)."""
    if rows is None:
        return False
    line = rows[ch.row - 1] if ch.row - 1 < len(rows) else []
    return all(key_text(line[c] if c < len(line) else None) == want for c, want in ch.keys)


def _sheet_rows(plan: FlagPlan) -> dict[str, set[int]]:
    rows: dict[str, set[int]] = {}
    for title, tc in plan.tool_columns.items():
        rows.setdefault(title, set()).add(tc.header_row)
    for ch in plan.changes:
        rows.setdefault(ch.sheet, set()).add(ch.row)
    for title, heights in plan.row_heights.items():
        rows.setdefault(title, set()).update(heights)
    return rows


def _patch(pkg: Package, plan: FlagPlan, raw: RawWorkbook
           ) -> tuple[int, list[tuple[str, int]], list[str]]:
    """Record the plan's edits in ``pkg``. Returns (flag cells set, rows skipped, notes)."""
    written = 0
    skipped: list[tuple[str, int]] = []
    notes: list[str] = []
    blocked: set[str] = set()
    wanted_rows = _sheet_rows(plan)

    docs: dict[str, SheetDoc | None] = {}

    def doc_of(title: str) -> SheetDoc | None:
        """The tab's part, parsed once (asked for once per change: 198,000 in a big unit)."""
        if title not in docs:
            docs[title] = (None if pkg.entry(title) is None
                           else pkg.sheet(title, wanted_rows.get(title, set())))
        return docs[title]

    for title, cols in plan.new_columns.items():
        doc = doc_of(title)
        tc = plan.tool_columns[title]
        if doc is None or any(
                col + 1 > MAX_COL or (col + 1) in doc.occupied
                or doc.merged_hidden(tc.header_row, col + 1) for col, _ in cols):
            blocked.add(title)
            skipped.append((title, tc.header_row))
            notes.append(f"tab \"{title}\": chỗ định thêm cột kết quả kiểm tra đã có dữ liệu "
                         "hoặc vượt quá cột XFD, không ghi tab này")
            continue
        header = pkg.styles.header()
        for col, text in cols:
            doc.cells[(tc.header_row, col + 1)] = CellWrite(clean_text(text), header)
            doc.widths[col + 1] = DETAILS_WIDTH if col == tc.details_col else STATUS_WIDTH
    keys_ok: dict[tuple[str, int, tuple[tuple[int, str], ...]], bool] = {}
    sheet_rows: dict[str, list[list[Any]] | None] = {}

    def row_keys_ok(ch: CellChange) -> bool:
        """``_key_ok`` once per row and keys (a row's two tool cells share them)."""
        ok = keys_ok.get(row_keys := (ch.sheet, ch.row, ch.keys))
        if ok is None:
            if ch.sheet not in sheet_rows:
                sheet = raw.sheet(ch.sheet)
                sheet_rows[ch.sheet] = sheet.rows if sheet is not None else None
            ok = keys_ok[row_keys] = _key_ok(sheet_rows[ch.sheet], ch)
        return ok

    for ch in plan.changes:
        doc = None if ch.sheet in blocked else doc_of(ch.sheet)
        if doc is None or not row_keys_ok(ch) or doc.merged_hidden(ch.row, ch.col + 1):
            skipped.append((ch.sheet, ch.row))
            continue
        style = None
        tools = plan.tool_columns.get(ch.sheet)
        text = clean_text(ch.value)
        if tools is not None and ch.col in (tools.details_col, tools.status_col) and text:
            style = pkg.styles.wrapped_top(doc.style_at(ch.row, ch.col + 1))
        doc.cells[(ch.row, ch.col + 1)] = CellWrite(text, style)
        written += 1
    skipped = list(dict.fromkeys(skipped))
    for title, heights in plan.data_row_heights().items():
        doc = None if title in blocked else doc_of(title)
        if doc is None:
            continue
        for row, height in heights.items():
            if (title, row) not in skipped:
                doc.heights[row] = height
    for title, tc in plan.tool_columns.items():  # the tool columns' widths, where unset
        doc = pkg.docs.get(title)
        if doc is not None and title not in blocked and (doc.cells or doc.heights):
            doc.widths.setdefault(tc.status_col + 1, float(STATUS_WIDTH))
            doc.widths.setdefault(tc.details_col + 1, float(DETAILS_WIDTH))
    if plan.check_grid is not None:
        links = {(r + 1, c + 1): "'" + sheet.replace("'", "''") + f"'!A{row}"
                 for (r, c), (sheet, row) in plan.check_links.items()}
        widths = ({c: float(w) for c, w in enumerate(plan.check_widths, start=1)}
                  if plan.check_widths else CHECK_WIDTHS)
        doc = _tool_tab(pkg, plan.check_sheet, plan.check_grid, widths, links)
        doc.print_setup = True
        doc.replace_widths = bool(plan.check_widths)
        for row, height in plan.row_heights.get(plan.check_sheet, {}).items():
            doc.heights[row] = height
            if row > len(plan.check_grid):
                continue
            # a row with a height wraps; a lone text (height None) runs over the empty cells to
            # its right, even where the tab's last layout had a wrapped row
            for c in range(1, len(plan.check_grid[row - 1]) + 1):
                cell = doc.cells.get((row, c))
                if height is None and cell is None:
                    continue
                base = cell.style if cell is not None and cell.style is not None \
                    else doc.style_at(row, c)
                style = (pkg.styles.wrapped_top(base) if height is not None
                         else pkg.styles.unwrapped(base))
                doc.cells[(row, c)] = CellWrite(cell.text if cell else "",
                                                style if style is not None else base)
        pkg.set_print_titles(plan.check_sheet, plan.check_header_rows)
    if plan.guide_grid is not None:
        _tool_tab(pkg, plan.guide_sheet, plan.guide_grid, GUIDE_WIDTHS, None)
    return written, skipped, notes


def _tool_tab(pkg: Package, title: str, grid: list[list[str]], widths: dict[int, float],
              links: dict[tuple[int, int], str] | None) -> SheetDoc:
    """Create or refill a tool-owned tab: its cells become ``grid`` (inline strings), other
    values are cleared, cell formats, widths and conditional formats stay."""
    created = pkg.entry(title) is None
    doc = pkg.add_sheet(title) if created else pkg.sheet(title)
    doc.clear_others = True
    for r, row in enumerate(grid, start=1):
        for c, text in enumerate(row, start=1):
            if text:
                doc.cells[(r, c)] = CellWrite(clean_text(text))
    if created:
        if grid and grid[0] and grid[0][0]:
            doc.cells[(1, 1)] = CellWrite(clean_text(grid[0][0]), pkg.styles.title())
        doc.widths.update(widths)
    else:
        doc.widths.update(widths)  # kept where the tab already sets them (unless replaced)
    if links is not None:
        doc.links = links
    return doc


def _temp_for(target: Path) -> Path:
    _remove_stale_temps(target)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".tmp.xlsx",
                                    dir=target.parent)
    os.close(fd)
    return Path(tmp_name)


def save_in_place(pkg: Package, path: Path, real: Path, read_meta: dict, backup_dir: Path,
                  unit: str, now: datetime, written: dict[str, Any] | None = None
                  ) -> Path | str:
    """Write the edited package over ``real``: temp file beside it (fsynced), the original
    checked again (unchanged since read, not open, not read-only), a backup, ``os.replace``,
    the folder fsynced. Returns the backup, or why nothing was written (Vietnamese).
    ``written``: filled with the size, mtime_ns and SHA-256 of the file put in place, taken
    from the temporary file before it replaces the original (a rename keeps them), so an
    edit made right after is never taken for our write.
    Raises ``PackageError`` (nothing written) and ``OSError`` (temp file not writable)."""
    busy = f"Tệp {path.name} đang mở hoặc vừa được sửa, sẽ ghi ở lần sau."
    tmp = _temp_for(real)
    try:
        pkg.save(tmp)
        shutil.copymode(real, tmp)
        fsync_path(tmp)
        if written is not None:
            st = tmp.stat()
            written.update(size=st.st_size, mtime_ns=st.st_mtime_ns, sha256=file_sha256(tmp))
    except BaseException:
        _unlink(tmp)
        raise
    backup = None
    try:
        refusal = _refusal(path, real)
        if changed_since_read(real, read_meta) or refusal is not None:
            _unlink(tmp)
            return refusal or busy
        backup = _backup(real, backup_dir, now, unit)
        if changed_since_read(real, read_meta, hash_check=False):
            raise PermissionError
        os.replace(tmp, real)
        fsync_folder(real.parent)
    except OSError:  # PermissionError on Windows while Excel holds the file
        _unlink(tmp)
        _unlink(backup)
        return busy
    return backup


def write_local(path: Path, plan: FlagPlan, read_meta: dict, out_dir: Path, backup_dir: Path,
                backup_keep: int = 5, now: datetime | None = None,
                dry_run: bool = False, raw: RawWorkbook | None = None) -> WriteResult:
    """Apply ``plan`` to the workbook at ``path`` (see the module docstring). ``raw``: the
    ``RawWorkbook`` the plan was made from, if at hand (row keys are checked against it when
    it is the file's current content, SHA-256 compared; otherwise the file is read again)."""
    path = Path(path)
    name = path.name
    busy = f"Tệp {name} đang mở hoặc vừa được sửa, sẽ ghi ở lần sau."
    if not read_meta or not read_meta.get("sha256"):
        return WriteResult(SKIPPED, f"Không ghi vào tệp {name}: tệp chưa được đọc thành công "
                                    "nên không thể ghi an toàn.")
    if plan.is_empty:
        return WriteResult(UNCHANGED, f"Tệp {name}: kết quả kiểm tra đã đúng, không cần ghi.")
    if read_meta.get("truncated"):  # local_reader.MAX_SHEET_CELLS: too big to check fully
        big = ", ".join(f'"{t}"' for t in read_meta["truncated"])
        return WriteResult(SKIPPED, f"Không ghi vào tệp {name}: tab {big} quá lớn (quá nhiều "
                                    "dòng, cột trống đã định dạng) nên không được đọc hết; hãy "
                                    "xóa các dòng, cột trống thừa rồi chạy lại.")
    full = [t for t, why in plan.skipped_tabs.items() if why.startswith(NO_ROOM)]
    if full:
        tabs = ", ".join(f'"{t}"' for t in full)
        return WriteResult(SKIPPED, f"Không ghi vào tệp {name}: tab {tabs} {NO_ROOM}. Hãy xóa "
                                    "các ô thừa ở bên phải bảng rồi chạy lại.")
    real = path.resolve() if path.is_symlink() else path
    refusal = _refusal(path, real)
    if refusal is not None:
        return WriteResult(SKIPPED, refusal)
    if changed_since_read(real, read_meta):
        return WriteResult(SKIPPED, busy)
    copy_target = Path(out_dir) / FLAGGED_DIR / f"{_base(path, plan.unit)}.xlsx"
    try:
        pkg = Package(real)
    except PackageError as e:
        return _fallback(path, real, plan, read_meta, copy_target, str(e), dry_run)
    with pkg:
        pkg.trust(read_meta.get("checked_parts", ()), read_meta["sha256"])
        charts = pkg.other_sheet_titles()
        for title in (plan.check_sheet, plan.guide_sheet):
            if title in charts:
                return WriteResult(SKIPPED, f"Không ghi vào tệp {name}: trang \"{title}\" là "
                                            "trang biểu đồ (chart sheet), trùng tên tab mà công "
                                            "cụ ghi kết quả. Hãy đổi tên trang biểu đồ đó (ví dụ "
                                            "\"Biểu đồ\") rồi chạy lại.")
        if dry_run:
            lines = " ".join(plan.describe())
            return WriteResult(DRY_RUN, f"Tệp {name}: sẽ ghi trực tiếp vào tệp. {lines}",
                               path=path)
        try:
            if raw is None or raw.version != read_meta.get("sha256"):
                raw = read_xlsx(real)
        except UnitReadError:
            return WriteResult(SKIPPED, f"Không ghi vào tệp {name}: tệp bị hỏng hoặc không mở "
                                        "được.")
        if raw.version != read_meta.get("sha256"):
            return WriteResult(SKIPPED, busy)
        skipped: list[tuple[str, int]] = []
        written_meta: dict[str, Any] = {}
        try:
            written, skipped, notes = _patch(pkg, plan, raw)
            changed = any(d.changed for d in pkg.docs.values()) or bool(pkg.new_sheets)
            if not changed:
                msg = f"Không ghi vào tệp {name}"
                msg += f": {'; '.join(notes)}." if notes else "."
                return WriteResult(SKIPPED, msg + _rows_note(skipped), skipped_rows=skipped)
            saved = save_in_place(pkg, path, real, read_meta, Path(backup_dir), plan.unit,
                                  now or datetime.now(), written_meta)
        except PackageError as e:
            pkg.close()
            return _fallback(path, real, plan, read_meta, copy_target, str(e), dry_run)
        except OSError as e:
            return WriteResult(SKIPPED, f"Không ghi được tệp {name}: {os_reason(e)}.",
                               skipped_rows=skipped)
    if isinstance(saved, str):
        return WriteResult(SKIPPED, saved)
    backup = saved
    rotate_backups(real, Path(backup_dir), backup_keep, plan.unit)
    msg = f"Đã ghi {written} ô kết quả kiểm tra vào tệp {name}"
    tool_tabs = [t for t, g in ((plan.check_sheet, plan.check_grid),
                                (plan.guide_sheet, plan.guide_grid)) if g is not None]
    if tool_tabs:
        msg += f"; cập nhật tab {', '.join(tool_tabs)}"
    msg += f" (bản sao lưu: {backup.name})."
    if notes:
        msg += " Lưu ý: " + "; ".join(notes) + "."
    msg += _rows_note([s for s in skipped if not any(f'"{s[0]}"' in n for n in notes)])
    return WriteResult(WRITTEN, msg, written, real, skipped, backup,
                       written_meta=written_meta if not skipped and not notes else None)


def _fallback(path: Path, real: Path, plan: FlagPlan, read_meta: dict, target: Path,
              reason: str, dry_run: bool) -> WriteResult:
    """The workbook cannot be edited with certainty: the original stays as it is; a flagged
    copy is written when openpyxl can read it."""
    name = path.name
    reasons = [reason]
    if dry_run:
        return WriteResult(DRY_RUN, f"Tệp {name}: {reason} nên sẽ không ghi trực tiếp; sẽ ghi "
                                    f"bản có cờ vào {target}. {' '.join(plan.describe())}",
                           path=target, reasons=reasons)
    try:
        wb, _ = _load(real)
        blocked = _blocked(wb, plan, name)
        if blocked:
            return WriteResult(SKIPPED, blocked, reasons=reasons)
    except _Unreadable:
        return WriteResult(SKIPPED, f"Không ghi vào tệp {name}: tệp bị hỏng hoặc công cụ không "
                                    f"sửa được ({reason}). Hãy mở tệp bằng Excel hoặc "
                                    "LibreOffice và lưu lại dạng .xlsx thông thường (không đặt "
                                    "mật khẩu).",
                           reasons=reasons)
    return _write_copy(wb, plan, read_meta, path, target, reasons, _Cached(real))
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
        return WriteResult(UNCHANGED, f"Tệp {name}: {why} nên không ghi trực tiếp; bản có cờ "
                                      f"{target} đã đúng, không cần ghi.",
                           path=target, reasons=reasons)
    written, skipped = _apply(wb, plan, cached)
    try:
        tmp = _save_atomic(wb, target)
        replace_durably(tmp, target)
    except OSError as e:
        return WriteResult(SKIPPED, f"Không ghi được bản có cờ {target}: {os_reason(e)}.",
                           reasons=reasons)
    try:
        if skipped:  # rows still to write: the next run must not count the copy as up to date
            _unlink(sidecar)
        else:
            write_text_atomic(sidecar, json.dumps({"digest": digest,
                                                   "sha256": file_sha256(target)}))
    except OSError:
        pass
    msg = (f"Tệp {name}: {why} nên không ghi trực tiếp; đã ghi bản có cờ vào {target}."
           + _rows_note(skipped))
    return WriteResult(COPY, msg, written, target, skipped, reasons=reasons)

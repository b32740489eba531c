"""``templates apply`` for local .xlsx/.xlsm units.

The same additions ``provision.apply_template`` makes on Google, made with the surgical package
editor (``sources.xlsx_patch``): missing data tabs (header row, widths, frozen header, value
checks), missing template columns and tool columns (after the last column holding anything, as
the run places them), their value checks, and the ``Hướng dẫn`` tab. No staff cell is touched;
every other zip part stays byte for byte; the file is replaced like a run replaces it (temp file,
fsync, backup, unchanged since read, not open, not read-only). Running it twice changes nothing
the second time.
"""
from __future__ import annotations

import zipfile
from datetime import datetime
from pathlib import Path

from ..core.config import UnitConfig
from ..core.errors import UnitReadError
from ..core.findings import INVALID, UNREACHABLE
from ..core.flagplan import DETAILS_WIDTH, STATUS_WIDTH, clean_text
from ..core.grid import locate_columns, locate_header_row, match_name
from ..core.template import Column, Tab, Template, load_template
from ..core.text import normalize
from ..outputs.template_xlsx import column_validation, guide_grid
from ..sources.local_reader import read_xlsx
from ..sources.local_writer import _refusal, rotate_backups, save_in_place
from ..sources.xlsx_patch import (
    MAX_COL,
    CellWrite,
    Package,
    PackageError,
    col_letter,
    validation_xml,
)
from ..sync.writeplan import find_header, free_columns
from .template_plan import ApplyResult, missing_columns, template_tabs

CHECKED_ROWS = 500  # data rows given value checks (as ``templates export``)


def apply_template_local(unit: UnitConfig, backup_dir: Path, template: Template | None = None,
                         dry_run: bool = False, backup_keep: int = 5,
                         now: datetime | None = None) -> ApplyResult:
    """Make the unit's workbook match the template without touching any data cell.

    Raises ``UnitReadError`` (Vietnamese, with the fix) when the file cannot be read or
    written."""
    template = template or load_template()
    if unit.path is None:
        raise ValueError(f"Đơn vị {unit.code} không dùng tệp .xlsx.")
    path = Path(unit.path)
    raw = read_xlsx(path)
    result = ApplyResult(unit.code, str(path), dry_run)
    real = path.resolve() if path.is_symlink() else path
    try:
        pkg = Package(real)
    except PackageError as e:
        raise UnitReadError(f"Không áp dụng mẫu cho tệp {path.name}: {e}. Hãy mở tệp bằng Excel "
                            "hoặc LibreOffice và lưu lại dạng .xlsx thông thường.",
                            INVALID) from None
    with pkg:
        try:
            _Planner(template, unit, raw, pkg, result).plan()
        except PackageError as e:
            raise UnitReadError(f"Không áp dụng mẫu cho tệp {path.name}: {e}.", INVALID) from None
        if dry_run or not result.changed:
            return result
        refusal = _refusal(path, real)
        if refusal is not None:
            raise UnitReadError(refusal, UNREACHABLE)
        try:
            saved = save_in_place(pkg, path, real, raw.meta, backup_dir, unit.code,
                                  now or datetime.now())
        except (PackageError, OSError) as e:
            raise UnitReadError(f"Không ghi được tệp {path.name}: {e}.", UNREACHABLE) from None
    if isinstance(saved, str):
        raise UnitReadError(saved, UNREACHABLE)
    rotate_backups(real, backup_dir, backup_keep, unit.code)
    result.actions.append(f"Bản sao lưu trước khi sửa: {saved}.")
    return result


class _Planner:
    def __init__(self, template: Template, unit: UnitConfig, raw, pkg: Package,
                 result: ApplyResult):
        self.template, self.unit, self.raw, self.pkg, self.result = (template, unit, raw, pkg,
                                                                     result)

    def plan(self) -> None:
        template = self.template
        for tab, sheet in template_tabs(template, self.raw, self.result.warnings):
            if sheet is not None:
                self.existing_tab(tab, sheet)
            else:
                self.new_tab(tab)
        by_name = {normalize(s.title): s.title for s in self.raw.sheets}
        if match_name(template.guide_tab, by_name) is None:
            doc = self.pkg.add_sheet(template.guide_tab)
            grid = guide_grid(template, self.unit.name)
            for r, row in enumerate(grid, start=1):
                for c, text in enumerate(row, start=1):
                    if text:
                        doc.cells[(r, c)] = CellWrite(clean_text(text))
            if grid and grid[0] and grid[0][0]:
                doc.cells[(1, 1)] = CellWrite(clean_text(grid[0][0]), self.pkg.styles.title())
            doc.widths.update({1: 120.0})
            self.note(template.guide_tab, 1, 0, [grid[0][0] if grid and grid[0] else ""])
            self.result.actions.append(f"Thêm tab \"{template.guide_tab}\" (nội dung hướng dẫn).")

    def note(self, title: str, row: int, col: int, texts: list[str]) -> None:
        """Record a write (what ``ApplyResult`` counts and shows)."""
        self.result.data.append({"range": f"'{title}'!{col_letter(col + 1)}{row}",
                                 "values": [texts]})

    def _validations(self, doc, header_row: int, cols: list[tuple[int, Column]]) -> None:
        for ci, col in cols:
            rule = column_validation(col)
            if rule is None:
                continue
            letter = col_letter(ci + 1)
            sqref = f"{letter}{header_row + 1}:{letter}{header_row + CHECKED_ROWS}"
            doc.validations.append(validation_xml(doc.prefix, sqref, rule))

    def new_tab(self, tab: Tab) -> None:
        doc = self.pkg.add_sheet(tab.name, frozen_rows=1)
        header = self.pkg.styles.header()
        headers = [c.header for c in tab.columns] + list(self.template.tool_headers)
        for ci, text in enumerate(headers):
            doc.cells[(1, ci + 1)] = CellWrite(clean_text(text), header)
        for ci, col in enumerate(tab.columns):
            doc.widths[ci + 1] = float(col.width)
        doc.widths[len(tab.columns) + 1] = float(STATUS_WIDTH)
        doc.widths[len(tab.columns) + 2] = float(DETAILS_WIDTH)
        self._validations(doc, 1, list(enumerate(tab.columns)))
        self.note(tab.name, 1, 0, headers)
        self.result.actions.append(f"Thêm tab \"{tab.name}\" với {len(headers)} cột tiêu đề, "
                                   "danh sách chọn, kiểm tra ngày/số, dòng tiêu đề cố định.")

    def existing_tab(self, tab: Tab, sheet) -> None:
        title = sheet.title
        header_r = locate_header_row(tab, sheet)
        if header_r is None:
            self.result.warnings.append(
                f"Tab \"{title}\": không tìm thấy dòng tiêu đề (cột "
                f"\"{tab.first_required.header}\") trong 5 dòng đầu nên không thêm cột hay danh "
                f"sách chọn — hãy sửa tiêu đề rồi chạy lại.")
            return
        col_index, extra = locate_columns(self.unit.code, self.template, tab, sheet, header_r, [])
        missing = missing_columns(self.template, tab, title, col_index, extra,
                                  self.result.warnings)
        header = sheet.rows[header_r] if header_r < len(sheet.rows) else []
        tool_new = [h for h in (self.template.status_header, self.template.details_header)
                    if find_header(header, h) is None]
        count = len(missing) + len(tool_new)
        if not count:
            return
        formula_to = (self.raw.meta.get("formula_cols") or {}).get(title, -1)
        spots = free_columns(sheet.rows, header_r, count, formula_to)
        doc = self.pkg.sheet(title, {header_r + 1})
        if not spots or any(ci + 1 > MAX_COL or ci + 1 in doc.occupied for ci in spots):
            self.result.warnings.append(
                f"Tab \"{title}\": không còn cột trống sau cột cuối cùng có dữ liệu (tối đa đến "
                f"cột XFD) nên không thêm cột — hãy xóa giá trị thừa ở các cột xa bên phải.")
            return
        style = self.pkg.styles.header()
        free = iter(spots)
        added = [(next(free), c) for c in missing]
        tool_added = [(next(free), h) for h in tool_new]
        for ci, text in [(ci, c.header) for ci, c in added] + tool_added:
            doc.cells[(header_r + 1, ci + 1)] = CellWrite(clean_text(text), style)
        for ci, col in added:
            doc.widths[ci + 1] = float(col.width)
        for ci, text in tool_added:
            doc.widths[ci + 1] = float(DETAILS_WIDTH if text == self.template.details_header
                                       else STATUS_WIDTH)
        self._validations(doc, header_r + 1, added)
        named = ", ".join(f"\"{text}\" (cột {col_letter(ci + 1)})" for ci, text in
                          sorted([(ci, c.header) for ci, c in added] + tool_added))
        self.note(title, header_r + 1, spots[0], [t for _, t in sorted(
            [(ci, c.header) for ci, c in added] + tool_added)])
        self.result.actions.append(f"Tab \"{title}\": thêm cột {named} sau cột cuối đang dùng.")


# --- templates export: never over a filled workbook --------------------------------------------

class ExportRefused(UnitReadError):
    """``templates export`` would overwrite something it must not (exit code 2)."""

    exit_code = 2


def holds_data(path: Path, template: Template | None = None) -> bool:
    """True when the workbook at ``path`` has anything below a header row (a data row in any
    tab but the tool tabs), or is a workbook that cannot be read (it may hold data)."""
    template = template or load_template()
    try:
        raw = read_xlsx(path)
    except UnitReadError:
        return zipfile.is_zipfile(path)
    tool = {normalize(template.guide_tab), normalize(template.check_tab)}
    for sheet in raw.sheets:
        if normalize(sheet.title) in tool:
            continue
        filled = [r for r in sheet.rows if any(v not in (None, "") for v in r)]
        if len(filled) > 1:
            return True
    return False


def check_export_target(path: Path, force: bool) -> None:
    """Raise ``ExportRefused`` unless ``templates export`` may write ``path``."""
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        return
    if holds_data(path):
        raise ExportRefused(
            f"Không ghi đè tệp {path}: tệp đang có số liệu (kể cả khi dùng --force). Muốn bổ "
            f"sung tab/cột còn thiếu cho tệp này, hãy dùng 'sheets-sync templates apply "
            f"--unit <mã đơn vị>'; muốn có mẫu trống, hãy xuất ra một tên tệp mới.")
    if not force:
        raise ExportRefused(
            f"Tệp {path} đã có. Hãy chọn tên tệp khác, hoặc thêm --force để ghi đè (tệp này "
            f"không có số liệu).")

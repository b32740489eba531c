"""Apply the unit template to an existing Google spreadsheet, without touching data.

A person creates the spreadsheet and shares it with the service account (service accounts own
no Drive storage); ``apply_template`` then makes it match ``templates/commune.toml``:

- missing tabs are added (data tabs with their header row, ``Hướng dẫn`` with the guide text,
  ``Kiểm tra`` empty — the next ``run`` fills it);
- missing template columns and the two tool columns are appended after the last used column of
  the header row, in wholly empty columns (staff columns are never inserted, moved or renamed;
  existing columns are located by normalised header exactly like the reader, title rows above
  the header are allowed);
- dropdowns (ONE_OF_LIST, not strict, custom UI) for choice and Có/Không columns, DATE_IS_VALID
  for dates, number checks for int/number columns, all with the exporter's Vietnamese input
  messages; frozen header row; status colours (conditional formats); warning-only protection
  of the tool columns and the tool tabs; spreadsheet locale ``vi_VN``, time zone
  ``Asia/Ho_Chi_Minh``.

Requests: one metadata read, at most one ``values:batchGet`` (the data tabs found), at most one
structural ``batchUpdate`` and at most one ``values:batchUpdate`` (RAW, headers and the guide
of a new ``Hướng dẫn`` tab only). A second apply sends no write.

Idempotence without reading cell validations: the Sheets API has no sheet-level list of data
validations (they are per cell), and reading them needs grid data for known rows, i.e. a third
read. Instead the warning-only protection of each tab's tool columns carries a fingerprint of
the validation rules the template wants for that tab (``description``); when the protection is
there with the current fingerprint, the validations were installed by an earlier apply and
Google keeps them attached to their columns when staff move columns or insert rows. A changed
template (new fingerprint), a removed protection or ``refresh_validations=True`` re-sends every
validation of the tab (``setDataValidation`` replaces, so this is harmless); a column added by
this apply always gets its validation.
"""
from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass

import google.auth.exceptions
import gspread
import requests as _requests

from ..core.a1 import col_letter
from ..core.config import UnitConfig
from ..core.errors import UnitReadError
from ..core.findings import UNREACHABLE
from ..core.flagplan import DETAILS_WIDTH, STATUS_WIDTH, clean_text
from ..core.grid import find_sheets, locate_columns, locate_header_row, match_name
from ..core.raw import RawSheet, RawWorkbook
from ..core.template import Column, Tab, Template, load_template
from ..core.text import normalize
from ..core.values import is_empty
from ..outputs.template_xlsx import (
    FILL_OPTIONAL,
    FILL_REQUIRED,
    FILL_TOOL_CELLS,
    FILL_TOOL_HEADER,
    GUIDE_WIDTHS,
    STATUS_FILLS,
    TOOL_NOTE,
    YES_NO,
    column_validation,
    guide_grid,
)
from ..sources.google_sheets import (
    VALUE_PARAMS,
    GoogleBackend,
    anchor_requests,
    quote_title,
    spreadsheet_key,
    tool_metadata,
)
from ..sync.writeplan import find_header, free_columns
from .template_plan import ApplyResult, missing_columns, template_tabs

LOCALE = "vi_VN"
TIME_ZONE = "Asia/Ho_Chi_Minh"
MARKER = "sheets-sync"
NEW_TAB_ROWS = 1000
NEW_TAB_COLUMNS = 26
PIXELS_PER_CHAR = 8
MIN_PIXELS = 60

METADATA_FIELDS = (
    "properties(locale,timeZone),"
    "sheets(properties(sheetId,title,index,gridProperties(rowCount,columnCount,frozenRowCount)),"
    "protectedRanges(protectedRangeId,range,description,warningOnly),"
    "conditionalFormats(ranges,booleanRule(condition)),"
    "data(columnMetadata(developerMetadata)))"
)
TOOL_TAB_NOTE = "Tab do phần mềm ghi — không sửa"
NUMBER_FORMATS = {
    "code": {"type": "TEXT", "pattern": "@"},
    "text": {"type": "TEXT", "pattern": "@"},
    "month": {"type": "TEXT", "pattern": "@"},
    "date": {"type": "DATE", "pattern": "dd/mm/yyyy"},
    "time": {"type": "TIME", "pattern": "hh:mm"},
}


# --- small helpers ------------------------------------------------------------------------------

def _rgb(hex_colour: str) -> dict:
    h = hex_colour.lstrip("#")
    return {k: int(h[i:i + 2], 16) / 255 for k, i in (("red", 0), ("green", 2), ("blue", 4))}


def _pixels(chars: float) -> int:
    return max(MIN_PIXELS, int(round(chars * PIXELS_PER_CHAR)))


def _grid(sheet_id: int, row0: int | None = None, col0: int | None = None,
          col1: int | None = None, row1: int | None = None) -> dict:
    out: dict = {"sheetId": sheet_id}
    for key, value in (("startRowIndex", row0), ("endRowIndex", row1),
                       ("startColumnIndex", col0), ("endColumnIndex", col1)):
        if value is not None:
            out[key] = value
    return out


def _same_range(a: dict, b: dict) -> bool:
    """GridRanges equal after proto3 default omission (0 start indexes disappear)."""
    for key in ("sheetId", "startRowIndex", "startColumnIndex"):
        if (a.get(key) or 0) != (b.get(key) or 0):
            return False
    return all(a.get(key) == b.get(key) for key in ("endRowIndex", "endColumnIndex"))


def _covers(rng: dict, sheet_id: int, row: int, col: int | None) -> bool:
    """Whether a GridRange contains the cell (row, col) of ``sheet_id`` (col None = any)."""
    if (rng.get("sheetId") or 0) != sheet_id:
        return False
    if not (rng.get("startRowIndex") or 0) <= row < (rng.get("endRowIndex") or 1 << 40):
        return False
    if col is None:
        return True
    return (rng.get("startColumnIndex") or 0) <= col < (rng.get("endColumnIndex") or 1 << 40)


def _status_marks(template: Template) -> list[tuple[str, str]]:
    """(mark, fill) per distinct first character of the status labels: ✔ green, ✖ red, ⚠ amber."""
    out, seen = [], set()
    for key, label in template.status_labels.items():
        mark = label.split()[0]
        if mark in seen or key not in STATUS_FILLS:
            continue
        seen.add(mark)
        out.append((mark, STATUS_FILLS[key]))
    return out


def _labels(col: Column) -> list[str]:
    return list(YES_NO) if col.kind == "yesno" else col.choice_labels


def validation_rule(col: Column) -> dict | None:
    """The Google DataValidationRule of a template column (None: no check for this type).

    Choice and yes/no columns get the same dropdown as the .xlsx template (Có/Không rather
    than checkboxes: the parser and the exported template use the words); nothing is strict,
    so a value the tool also accepts ("tot", "x") is only marked, never refused."""
    xlsx = column_validation(col) or {}
    message = xlsx.get("input_message")
    if col.kind in ("choice", "yesno"):
        rule = {"condition": {"type": "ONE_OF_LIST",
                              "values": [{"userEnteredValue": v} for v in _labels(col)]},
                "showCustomUi": True}
    elif col.kind == "date":
        rule = {"condition": {"type": "DATE_IS_VALID"}}
    elif col.kind in ("int", "number"):
        low = col.min if col.min is not None else 0
        if col.max is not None:
            condition = {"type": "NUMBER_BETWEEN",
                         "values": [{"userEnteredValue": f"{low:g}"},
                                    {"userEnteredValue": f"{col.max:g}"}]}
        else:
            condition = {"type": "NUMBER_GREATER_THAN_EQ",
                         "values": [{"userEnteredValue": f"{low:g}"}]}
        rule = {"condition": condition}
    else:
        return None
    rule["strict"] = False
    if message:
        rule["inputMessage"] = message
    return rule


def validation_fingerprint(tab: Tab) -> str:
    """A short hash of the validation rules the template wants on ``tab``."""
    rules = [(c.id, validation_rule(c)) for c in tab.columns]
    text = json.dumps([r for r in rules if r[1] is not None], sort_keys=True, ensure_ascii=False)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:10]


def _description(note: str, fingerprint: str | None = None) -> str:
    return f"{note} ({MARKER}{', mẫu ' + fingerprint if fingerprint else ''})"


def _is_ours(protected: dict) -> bool:
    return MARKER in (protected.get("description") or "")


# --- state read from the spreadsheet ------------------------------------------------------------

@dataclass
class _Sheet:
    sheet_id: int
    title: str
    rows: int
    cols: int
    frozen: int
    protected: list[dict]
    formats: list[dict]

    @classmethod
    def from_meta(cls, sheet: dict) -> _Sheet:
        p = sheet.get("properties", {})
        grid = p.get("gridProperties", {})
        return cls(p.get("sheetId", 0), p.get("title", ""), grid.get("rowCount", 0),
                   grid.get("columnCount", 0), grid.get("frozenRowCount", 0),
                   list(sheet.get("protectedRanges", [])),
                   list(sheet.get("conditionalFormats", [])))


# --- the planner --------------------------------------------------------------------------------

class _Planner:
    """Builds the structural requests, the values and the Vietnamese report of one apply."""

    def __init__(self, template: Template, unit: UnitConfig, meta: dict, raw: RawWorkbook,
                 refresh_validations: bool):
        self.template, self.unit, self.meta, self.raw = template, unit, meta, raw
        self.refresh = refresh_validations
        self.sheets = [_Sheet.from_meta(s) for s in meta.get("sheets", [])]
        self.by_title = {s.title: s for s in self.sheets}
        self.used_ids = {s.sheet_id for s in self.sheets}
        # developer metadata anchoring each tab's tool columns (backends.gsheets.TOOL_KEY)
        self.tool_meta = {s.get("properties", {}).get("sheetId", 0):
                          tool_metadata(s.get("data", [])) for s in meta.get("sheets", [])}
        self.head: list[dict] = []  # spreadsheet properties, addSheet, appendDimension
        self.props: list[dict] = []  # frozen rows, column widths
        self.formats: list[dict] = []  # repeatCell on cells the tool added
        self.validations: list[dict] = []
        self.colours: list[dict] = []
        self.protection: list[dict] = []
        self.data: list[dict] = []
        self.actions: list[str] = []
        self.warnings: list[str] = []

    @property
    def requests(self) -> list[dict]:
        return [*self.head, *self.props, *self.formats, *self.validations, *self.colours,
                *self.protection]

    # --- spreadsheet ----------------------------------------------------------------------------
    def spreadsheet_properties(self) -> None:
        current = self.meta.get("properties", {})
        wanted = {"locale": LOCALE, "timeZone": TIME_ZONE}
        changed = {k: v for k, v in wanted.items() if current.get(k) != v}
        if changed:
            self.head.append({"updateSpreadsheetProperties": {
                "properties": changed, "fields": ",".join(changed)}})
            self.actions.append(f"Bảng tính: đặt ngôn ngữ {LOCALE} và múi giờ {TIME_ZONE}.")

    def new_sheet_id(self, title: str) -> int:
        sheet_id = zlib.crc32(title.encode("utf-8")) & 0x7FFFFFFF or 1
        while sheet_id in self.used_ids:
            sheet_id = (sheet_id * 1103515245 + 12345) & 0x7FFFFFFF or 1
        self.used_ids.add(sheet_id)
        return sheet_id

    def add_sheet(self, title: str, columns: int, frozen: int) -> int:
        sheet_id = self.new_sheet_id(title)
        grid: dict = {"rowCount": NEW_TAB_ROWS, "columnCount": max(columns, NEW_TAB_COLUMNS)}
        if frozen:
            grid["frozenRowCount"] = frozen
        self.head.append({"addSheet": {"properties": {
            "sheetId": sheet_id, "title": title, "gridProperties": grid}}})
        return sheet_id

    # --- data tabs ------------------------------------------------------------------------------
    def data_tabs(self) -> None:
        for tab, sheet in template_tabs(self.template, self.raw, self.warnings,
                                         [s.title for s in self.sheets]):
            if sheet is not None:
                self.existing_tab(tab, sheet)
            else:
                self.new_tab(tab)

    def new_tab(self, tab: Tab) -> None:
        headers = [c.header for c in tab.columns] + list(self.template.tool_headers)
        sheet_id = self.add_sheet(tab.name, len(headers), frozen=1)
        self.data.append({"range": f"{quote_title(tab.name)}!A1",
                          "values": [[clean_text(h) for h in headers]]})
        added = [(ci, c) for ci, c in enumerate(tab.columns)]
        status = len(tab.columns)
        self.format_new_columns(sheet_id, 0, added, status, status + 1)
        self.install_validations(tab, sheet_id, 0, {c.id: ci for ci, c in added})
        self.install_colours(sheet_id, 0, status)
        self.install_tool_protection(tab, sheet_id, [], 0, status, status + 1)
        self.actions.append(f"Thêm tab \"{tab.name}\" với {len(headers)} cột tiêu đề, danh sách "
                            f"chọn, kiểm tra ngày/số, dòng tiêu đề cố định.")

    def existing_tab(self, tab: Tab, raw_sheet: RawSheet) -> None:
        state = self.by_title[raw_sheet.title]
        title = raw_sheet.title
        rows = raw_sheet.rows
        if not any(not is_empty(v) for row in rows for v in row):
            header_r = 0  # an empty tab: lay the header out on row 1
            col_index: dict[str, int] = {}
            extra: dict[str, int] = {}
            rows = [[]]
        else:
            found = locate_header_row(tab, raw_sheet)
            if found is None:
                self.warnings.append(
                    f"Tab \"{title}\": không tìm thấy dòng tiêu đề (cột "
                    f"\"{tab.first_required.header}\") trong 5 dòng đầu nên không thêm cột, danh "
                    f"sách chọn hay bảo vệ — hãy sửa tiêu đề rồi chạy lại.")
                return
            header_r = found
            col_index, extra = locate_columns(self.unit.code, self.template, tab, raw_sheet,
                                               header_r, [])
        header = rows[header_r] if header_r < len(rows) else []
        missing = missing_columns(self.template, tab, title, col_index, extra, self.warnings)
        status = find_header(header, self.template.status_header)
        details = find_header(header, self.template.details_header)
        new_headers: list[str] = [c.header for c in missing]
        new_headers += [h for h, ci in ((self.template.status_header, status),
                                        (self.template.details_header, details)) if ci is None]
        spots = free_columns(rows, header_r, len(new_headers)) if new_headers else []
        if new_headers and not spots:
            self.warnings.append(
                f"Tab \"{title}\": không còn cột trống sau cột cuối cùng có dữ liệu nên không "
                f"thêm cột — hãy xóa giá trị thừa ở các cột xa bên phải rồi chạy lại.")
            return
        free = iter(spots)
        added: list[tuple[int, Column]] = [(next(free), c) for c in missing]
        tool_added: list[tuple[int, str]] = []
        if status is None:
            status = next(free)
            tool_added.append((status, self.template.status_header))
        if details is None:
            details = next(free)
            tool_added.append((details, self.template.details_header))

        all_new = [ci for ci, _ in added] + [ci for ci, _ in tool_added]
        if all_new and max(all_new) + 1 > state.cols:
            self.head.append({"appendDimension": {"sheetId": state.sheet_id,
                                                  "dimension": "COLUMNS",
                                                  "length": max(all_new) + 1 - state.cols}})
            state.cols = max(all_new) + 1
        runs: list[tuple[int, list[str]]] = []
        for ci, text in sorted([(ci, c.header) for ci, c in added] + tool_added):
            if runs and runs[-1][0] + len(runs[-1][1]) == ci:
                runs[-1][1].append(clean_text(text))
            else:
                runs.append((ci, [clean_text(text)]))
        for ci, texts in runs:
            self.data.append({"range": f"{quote_title(title)}!{col_letter(ci)}{header_r + 1}",
                              "values": [texts]})
        if added or tool_added:
            named = ", ".join(f"\"{text}\" (cột {col_letter(ci)})" for ci, text in
                              sorted([(ci, c.header) for ci, c in added] + tool_added))
            self.actions.append(f"Tab \"{title}\": thêm cột {named} sau cột cuối đang dùng.")
        self.format_new_columns(state.sheet_id, header_r, added,
                                status if (status, self.template.status_header) in tool_added
                                else None,
                                details if (details, self.template.details_header) in tool_added
                                else None)

        if state.frozen < header_r + 1:
            self.props.append({"updateSheetProperties": {
                "properties": {"sheetId": state.sheet_id,
                               "gridProperties": {"frozenRowCount": header_r + 1}},
                "fields": "gridProperties.frozenRowCount"}})
            state.frozen = header_r + 1
            self.actions.append(f"Tab \"{title}\": cố định dòng tiêu đề (dòng {header_r + 1}).")

        positions = dict(col_index)
        positions.update({c.id: ci for ci, c in added})
        fingerprint = validation_fingerprint(tab)
        ours = [p for p in state.protected if _is_ours(p) and p.get("warningOnly")
                and (p.get("range") or {}).get("endColumnIndex") is not None]
        installed = bool(ours) and all(fingerprint in (p.get("description") or "") for p in ours)
        if installed and not self.refresh:
            self.install_validations(tab, state.sheet_id, header_r,
                                     {c.id: ci for ci, c in added}, title, " mới")
        else:
            self.install_validations(tab, state.sheet_id, header_r, positions, title)
        self.install_colours(state.sheet_id, header_r, status, state.formats, title)
        self.install_tool_protection(tab, state.sheet_id, ours, header_r, status, details,
                                     title)

    # --- pieces ---------------------------------------------------------------------------------
    def format_new_columns(self, sheet_id: int, header_r: int, added: list[tuple[int, Column]],
                           status: int | None, details: int | None) -> None:
        """Widths, header look and number formats of columns the tool adds (never staff's)."""
        header_fields = ("userEnteredFormat(textFormat.bold,backgroundColor,wrapStrategy,"
                         "horizontalAlignment,verticalAlignment)")

        def header_cell(ci: int, fill: str) -> None:
            self.formats.append({"repeatCell": {
                "range": _grid(sheet_id, header_r, ci, ci + 1, header_r + 1),
                "cell": {"userEnteredFormat": {
                    "textFormat": {"bold": True}, "backgroundColor": _rgb(fill),
                    "wrapStrategy": "WRAP", "horizontalAlignment": "CENTER",
                    "verticalAlignment": "MIDDLE"}},
                "fields": header_fields}})

        def width(ci: int, chars: float) -> None:
            self.props.append({"updateDimensionProperties": {
                "range": {"sheetId": sheet_id, "dimension": "COLUMNS", "startIndex": ci,
                          "endIndex": ci + 1},
                "properties": {"pixelSize": _pixels(chars)}, "fields": "pixelSize"}})

        for ci, col in added:
            width(ci, col.width)
            header_cell(ci, FILL_REQUIRED if col.required is not False else FILL_OPTIONAL)
            fmt = NUMBER_FORMATS.get(col.kind)
            if fmt:
                self.formats.append({"repeatCell": {
                    "range": _grid(sheet_id, header_r + 1, ci, ci + 1),
                    "cell": {"userEnteredFormat": {"numberFormat": fmt}},
                    "fields": "userEnteredFormat.numberFormat"}})
        for tool_ci, chars, wrap in ((status, STATUS_WIDTH, False), (details, DETAILS_WIDTH, True)):
            if tool_ci is None:
                continue
            width(tool_ci, chars)
            header_cell(tool_ci, FILL_TOOL_HEADER)
            cell: dict = {"backgroundColor": _rgb(FILL_TOOL_CELLS)}
            fields = "userEnteredFormat.backgroundColor"
            if wrap:
                cell.update(wrapStrategy="WRAP", verticalAlignment="TOP")
                fields = "userEnteredFormat(backgroundColor,wrapStrategy,verticalAlignment)"
            self.formats.append({"repeatCell": {
                "range": _grid(sheet_id, header_r + 1, tool_ci, tool_ci + 1),
                "cell": {"userEnteredFormat": cell}, "fields": fields}})

    def install_validations(self, tab: Tab, sheet_id: int, header_r: int,
                            positions: dict[str, int], title: str | None = None,
                            note: str = "") -> None:
        count = 0
        for col in tab.columns:
            ci = positions.get(col.id)
            rule = validation_rule(col)
            if ci is None or rule is None:
                continue
            self.validations.append({"setDataValidation": {
                "range": _grid(sheet_id, header_r + 1, ci, ci + 1), "rule": rule}})
            count += 1
        if count and title is not None:
            self.actions.append(f"Tab \"{title}\": cài danh sách chọn và kiểm tra ngày/số cho "
                                f"{count} cột{note}.")

    def install_colours(self, sheet_id: int, header_r: int | None, status: int | None,
                        existing: list[dict] | None = None, title: str | None = None) -> None:
        """TEXT_STARTS_WITH rules on the status column (or a whole tool tab: status None)."""
        row = 0 if header_r is None else header_r + 1
        added = []
        for mark, fill in _status_marks(self.template):
            have = any(
                (r.get("booleanRule") or {}).get("condition", {}).get("type") == "TEXT_STARTS_WITH"
                and [v.get("userEnteredValue") for v in
                     (r.get("booleanRule") or {}).get("condition", {}).get("values", [])] == [mark]
                and any(_covers(g, sheet_id, row, status) for g in r.get("ranges", []))
                for r in existing or [])
            if have:
                continue
            rng = (_grid(sheet_id, row, status, status + 1) if status is not None
                   else _grid(sheet_id))
            self.colours.append({"addConditionalFormatRule": {"index": 0, "rule": {
                "ranges": [rng],
                "booleanRule": {"condition": {"type": "TEXT_STARTS_WITH",
                                              "values": [{"userEnteredValue": mark}]},
                                "format": {"backgroundColor": _rgb(fill)}}}}})
            added.append(mark)
        if added and title is not None:
            where = "cột Kết quả kiểm tra" if status is not None else "cả tab"
            self.actions.append(f"Tab \"{title}\": tô màu {where} theo kết quả "
                                f"({', '.join(added)}).")

    def install_tool_protection(self, tab: Tab, sheet_id: int, ours: list[dict], header_r: int,
                                status: int, details: int, title: str | None = None) -> None:
        anchors, _ = anchor_requests(sheet_id, self.tool_meta.get(sheet_id, {}),
                                     {"status": status, "details": details})
        self.protection.extend(anchors)
        fingerprint = validation_fingerprint(tab)
        description = _description(TOOL_NOTE, fingerprint)
        cols = sorted({status, details})
        runs: list[tuple[int, int]] = []
        for ci in cols:
            if runs and runs[-1][1] == ci:
                runs[-1] = (runs[-1][0], ci + 1)
            else:
                runs.append((ci, ci + 1))
        wanted = [_grid(sheet_id, header_r, c0, c1) for c0, c1 in runs]
        changed = False
        remaining = list(ours)
        for rng in wanted:
            same = next((p for p in remaining if _same_range(p.get("range") or {}, rng)), None)
            if same is not None:
                remaining.remove(same)
                if same.get("description") != description:
                    self.protection.append({"updateProtectedRange": {
                        "protectedRange": {"protectedRangeId": same["protectedRangeId"],
                                           "description": description},
                        "fields": "description"}})
                    changed = True
                continue
            if remaining:  # our protection whose columns moved: follow them
                old = remaining.pop(0)
                self.protection.append({"updateProtectedRange": {
                    "protectedRange": {"protectedRangeId": old["protectedRangeId"],
                                       "range": rng, "description": description,
                                       "warningOnly": True},
                    "fields": "range,description,warningOnly"}})
            else:
                self.protection.append({"addProtectedRange": {"protectedRange": {
                    "range": rng, "description": description, "warningOnly": True}}})
            changed = True
        for old in remaining:
            self.protection.append({"deleteProtectedRange": {
                "protectedRangeId": old["protectedRangeId"]}})
            changed = True
        if changed and title is not None:
            self.actions.append(f"Tab \"{title}\": bảo vệ (chỉ cảnh báo) cột "
                                f"{', '.join(self.template.tool_headers)}.")

    # --- tool tabs ------------------------------------------------------------------------------
    def tool_tabs(self) -> None:
        by_name = {normalize(s.title): s.title for s in self.sheets}
        for name, is_guide in ((self.template.guide_tab, True), (self.template.check_tab, False)):
            title = match_name(name, by_name)
            if title is None:
                self.new_tool_tab(name, is_guide)
                continue
            state = self.by_title[title]
            ours = [p for p in state.protected if _is_ours(p) and p.get("warningOnly")]
            whole = _grid(state.sheet_id)
            if not any(_same_range(p.get("range") or {}, whole) for p in ours):
                self.protection.append({"addProtectedRange": {"protectedRange": {
                    "range": whole, "description": _description(TOOL_TAB_NOTE),
                    "warningOnly": True}}})
                self.actions.append(f"Tab \"{title}\": bảo vệ (chỉ cảnh báo) cả tab.")
            if not is_guide:
                self.install_colours(state.sheet_id, None, None, state.formats, title)

    def new_tool_tab(self, name: str, is_guide: bool) -> None:
        sheet_id = self.add_sheet(name, NEW_TAB_COLUMNS, frozen=0)
        if is_guide:
            grid = [[clean_text(c) for c in row] for row in guide_grid(self.template,
                                                                       self.unit.name)]
            self.data.append({"range": f"{quote_title(name)}!A1", "values": grid})
            for ci, chars in enumerate(GUIDE_WIDTHS):
                self.props.append({"updateDimensionProperties": {
                    "range": {"sheetId": sheet_id, "dimension": "COLUMNS", "startIndex": ci,
                              "endIndex": ci + 1},
                    "properties": {"pixelSize": _pixels(chars)}, "fields": "pixelSize"}})
            self.formats.append({"repeatCell": {
                "range": _grid(sheet_id, 0, 0, len(GUIDE_WIDTHS)),
                "cell": {"userEnteredFormat": {"wrapStrategy": "WRAP",
                                               "verticalAlignment": "TOP"}},
                "fields": "userEnteredFormat(wrapStrategy,verticalAlignment)"}})
            self.formats.append({"repeatCell": {
                "range": _grid(sheet_id, 0, 0, 1, 1),
                "cell": {"userEnteredFormat": {"textFormat": {"bold": True, "fontSize": 14}}},
                "fields": "userEnteredFormat.textFormat(bold,fontSize)"}})
            what = "nội dung hướng dẫn"
        else:
            self.install_colours(sheet_id, None, None)
            what = "màu theo kết quả; phần mềm ghi nội dung ở lần chạy tới"
        self.protection.append({"addProtectedRange": {"protectedRange": {
            "range": _grid(sheet_id), "description": _description(TOOL_TAB_NOTE),
            "warningOnly": True}}})
        self.actions.append(f"Thêm tab \"{name}\" ({what}), bảo vệ chỉ cảnh báo.")


# --- entry point --------------------------------------------------------------------------------

def _write_failure(backend: GoogleBackend, key: str, error: Exception) -> UnitReadError:
    code = getattr(getattr(error, "response", None), "status_code", None)
    if code == 403:
        return UnitReadError(
            f"Không có quyền sửa bảng tính {key} (có thể chỉ được xem). Hãy chia sẻ bảng tính "
            f"với {backend.client_email} quyền Người chỉnh sửa.", UNREACHABLE)
    return UnitReadError(f"Google trả lỗi {code or ''} khi áp dụng mẫu cho bảng tính {key}; "
                         f"hãy chạy lại lệnh sau ít phút — phần đã áp dụng không bị làm lại hay "
                         f"nhân đôi, dữ liệu không bị đụng tới.", UNREACHABLE)


def apply_template(backend: GoogleBackend, unit: UnitConfig, template: Template | None = None,
                   dry_run: bool = False, *, refresh_validations: bool = False) -> ApplyResult:
    """Make the unit's Google spreadsheet match the template without touching any data cell.

    Raises ``UnitReadError`` (Vietnamese message with the fix) when the spreadsheet cannot be
    read or written."""
    if not unit.is_google:
        raise ValueError(f"Đơn vị {unit.code} không dùng Google Sheets.")
    template = template or load_template()
    key = spreadsheet_key(unit.spreadsheet)
    result = ApplyResult(unit.code, key, dry_run)

    def plan() -> _Planner:
        http = backend.client.http_client
        meta = http.fetch_sheet_metadata(key, params={"fields": METADATA_FIELDS})
        result.reads += 1
        titles = [s.get("properties", {}).get("title", "") for s in meta.get("sheets", [])]
        skeleton = RawWorkbook([RawSheet(t, []) for t in titles])
        found = find_sheets(template, skeleton)
        wanted = [s.title for s in found.values()]
        sheets = {t: RawSheet(t, []) for t in titles}
        if wanted:
            got = http.values_batch_get(key, [quote_title(t) for t in wanted],
                                        params=dict(VALUE_PARAMS))
            result.reads += 1
            for t, vr in zip(wanted, got.get("valueRanges", [])):
                sheets[t] = RawSheet(t, vr.get("values", []))
        raw = RawWorkbook([sheets[t] for t in titles])
        planner = _Planner(template, unit, meta, raw, refresh_validations)
        planner.spreadsheet_properties()
        planner.data_tabs()
        planner.tool_tabs()
        return planner

    planner = backend._call(unit, plan)
    result.requests, result.data = planner.requests, planner.data
    result.actions, result.warnings = planner.actions, planner.warnings
    if dry_run or not result.changed:
        return result

    http = backend.client.http_client
    backend.transport.unit = unit.code
    try:
        if result.requests:
            http.batch_update(key, {"requests": result.requests})
            result.writes += 1
        if result.data:
            http.values_batch_update(key, {"valueInputOption": "RAW", "data": result.data})
            result.writes += 1
    except (gspread.exceptions.GSpreadException, PermissionError, _requests.RequestException,
            google.auth.exceptions.GoogleAuthError) as e:
        raise _write_failure(backend, key, e) from None
    finally:
        backend.transport.unit = None
    return result

"""Helpers of the chaos suite (test_chaos.py) and of the input hardening (test_fuzz_inputs.py).

A *small district*: three units (two on the Google emulator, one local .xlsx), each with a
handful of cells, meetings, briefings and visits — enough for most rule families to flag
something, small enough for hundreds of runs. Workbooks are built with openpyxl from the
template's headers.

Snapshots of a unit (``snapshot`` -> ``UnitState``) are backend-independent: per data tab, the
staff cells and the tool cells (found by header text, never by position) of every row, plus the
``Kiểm tra`` grid. The invariants are checked on snapshots:

- ``staff_diff``: every non-empty cell outside the tool columns and tool tabs, compared;
- ``flag_violations``: every data row's (status, details) pair is the row's previous pair or the
  one a clean run computes for that row's data (``expected_flags``: derived from the run's
  findings, not from what the writers wrote) — never another row's flags;
- ``converge_diff``: tool cells, staff cells and ``Kiểm tra`` of two states.

``malformed_corpus`` builds the malformed workbooks of test_fuzz_inputs.py.
"""
from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl

from sheets_sync.core.config import Config, load_config
from sheets_sync.core.template import load_template
from sheets_sync.core.text import normalize
from sheets_sync.sources.local_reader import LocalBackend

TEMPLATE = load_template()
STATUS_H, DETAILS_H = TEMPLATE.status_header, TEMPLATE.details_header
TOOL_HEADERS = {normalize(STATUS_H), normalize(DETAILS_H)}
TOOL_TABS = {TEMPLATE.check_tab, TEMPLATE.guide_tab}
DATA_TABS = ("cells", "meetings", "briefings", "visits")
TAB_NAMES = {t: TEMPLATE.tab(t).name for t in DATA_TABS}
YEAR = 2026

# --- the small district ---------------------------------------------------------------------

UNITS = (("GA", "Đảng ủy xã Gia An", "google"), ("GB", "Đảng ủy xã Gia Bình", "google"),
         ("LC", "Đảng ủy xã Lộc Châu", "local"))
SUPERVISOR = "Trần Văn Bình"


def _cell_row(code: str, k: int) -> dict[str, Any]:
    return {"cell_code": code, "cell_name": f"Chi bộ thôn {k + 1}", "kind": "Thôn",
            "members": 18 + k, "official_members": 16 + k, "secretary": f"Nguyễn Văn {'ABC'[k]}",
            "secretary_dual": "Có" if k % 2 else "Không", "assignee": "Lê Thị Hoa"}


def _meeting_row(code: str, month: int, day: int, variant: int) -> dict[str, Any]:
    d = date(YEAR, month, day)
    row = {"cell_code": code, "month": f"{month:02d}/{YEAR}", "meeting_type": "Thường kỳ",
           "meeting_date": d, "start_time": "07:30", "end_time": "09:30",
           "premeeting_date": date(YEAR, month, 1) if day > 1 else None,
           "docs_date": date(YEAR, month, max(1, day - 1)), "required_count": 20,
           "present": 19, "excused": 1, "unexcused": 0, "link_tw4": "Có", "link_hcm": "Có",
           "criticism": "Có", "minutes_full": "Có", "score": 90, "rating": "Tốt"}
    if variant == 1:  # late and short of members: errors
        row.update(meeting_date=date(YEAR, month, 12), present=15, excused=2, unexcused=3)
    elif variant == 2:  # missing required values: warnings
        row.update(minutes_full=None, rating=None, end_time=None)
    elif variant == 3:  # thematic
        row.update(meeting_type="Chuyên đề", topic="Học tập và làm theo tư tưởng Hồ Chí Minh",
                   meeting_date=date(YEAR, month, 20))
    return row


def unit_rows(code: str, seed: int) -> dict[str, list[dict[str, Any]]]:
    """Rows of the four required tabs, varied by ``seed``."""
    cells = [f"CB{k + 1:02d}" for k in range(2 + seed % 2)]
    meetings = []
    for k, cell in enumerate(cells):
        for month in (9, 10, 11):
            if (k + month + seed) % 5 == 0:
                continue  # a missing month (MEET-MISSING)
            meetings.append(_meeting_row(cell, month, 2 + (k + seed) % 4,
                                         (k * 3 + month + seed) % 4))
    # "Trực tiếp" is not one of the choices: a DATA-INVALID warning on every briefing row
    briefings = [{"month": f"{m:02d}/{YEAR}",
                  "briefing_date": date(YEAR, m - 1, 25 + (m + seed) % 5),
                  "form": "Trực tiếp", "secretaries": 3} for m in (9, 10, 11)]
    visits = [{"supervisor": SUPERVISOR, "position": "Ủy viên Ban Thường vụ",
               "cell_code": cells[(seed + 1) % len(cells)], "visit_date": date(YEAR, 10, 3),
               "in_book": "Có", "cell_confirmed": "Có", "unit_confirmed": "Không"}]
    return {"cells": [_cell_row(c, k) for k, c in enumerate(cells)], "meetings": meetings,
            "briefings": briefings, "visits": visits}


def write_unit_workbook(path: Path, code: str, seed: int) -> Path:
    """The unit's workbook: one sheet per required tab, header in row 1 (row 2 for
    ``Sinh hoạt`` under a title line, as units often do)."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for tab_id, rows in unit_rows(code, seed).items():
        tab = TEMPLATE.tab(tab_id)
        ws = wb.create_sheet(tab.name)
        if tab_id == "meetings":
            ws.append([f"SỔ THEO DÕI SINH HOẠT CHI BỘ — {code}"])
        ws.append([c.header for c in tab.columns])
        for row in rows:
            ws.append([row.get(c.id) for c in tab.columns])
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def config_text(ids: dict[str, str], local_paths: dict[str, Path], key_file: Path | None,
                endpoint: str | None) -> str:
    lines = ['[parent]', 'name = "Đảng bộ huyện Thử Nghiệm"', '']
    if key_file is not None:
        lines += ['[google]', f'credentials = "{key_file.as_posix()}"',
                  f'endpoint = "{endpoint}"', 'timeout_s = 5', 'max_attempts = 3',
                  'max_retry_wait_s = 1', '']
    for code, name, kind in UNITS:
        lines += ['[[units]]', f'code = "{code}"', f'name = "{name}"']
        if kind == "google":
            lines.append(f'spreadsheet = "{ids[code]}"')
        else:
            lines.append(f'path = "{local_paths[code].as_posix()}"')
        lines.append('')
    lines += ['[[supervisors]]', f'name = "{SUPERVISOR}"', 'role = "Ủy viên Ban Thường vụ"',
              f'units = [{", ".join(repr(c).replace(chr(39), chr(34)) for c, _, _ in UNITS)}]',
              '']
    return "\n".join(lines)


def with_dirs(config: Config, root: Path, local_paths: dict[str, Path]) -> Config:
    """``config`` with its state/out folders under ``root`` and local units at ``local_paths``."""
    units = tuple(dataclasses.replace(u, path=local_paths[u.code]) if u.code in local_paths
                  else u for u in config.units)
    return dataclasses.replace(config, units=units, state_dir=root / "state",
                               out_dir=root / "out")


# --- snapshots ------------------------------------------------------------------------------

def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, datetime):
        return v.isoformat()
    return str(v)


@dataclass
class TabState:
    header_row: int  # 0-based
    header: tuple[str, ...]
    tool_cols: tuple[int | None, int | None]
    rows: list[tuple[tuple[Any, ...], tuple[str, str]]]  # (staff cells, (status, details))


@dataclass
class UnitState:
    tabs: dict[str, TabState] = field(default_factory=dict)
    check: list[list[str]] | None = None
    staff: dict[tuple[str, int, int], Any] = field(default_factory=dict)
    titles: tuple[str, ...] = ()


def _find_header_row(grid: list[list[Any]], tab_id: str) -> int | None:
    first = normalize(TEMPLATE.tab(tab_id).first_required.header)
    for r, row in enumerate(grid[:5]):
        if any(isinstance(v, str) and normalize(v) == first for v in row):
            return r
    return None


def snapshot(grids: dict[str, list[list[Any]]]) -> UnitState:
    """A unit's state from its sheets' value grids (row 0 = sheet row 1)."""
    state = UnitState(titles=tuple(grids))
    for title, grid in grids.items():
        if title in TOOL_TABS:
            if title == TEMPLATE.check_tab:
                state.check = _trim([[_text(v) for v in row] for row in grid])
            continue
        tab_id = next((t for t, n in TAB_NAMES.items() if n == title), None)
        header_r = _find_header_row(grid, tab_id) if tab_id else None
        tool: set[int] = set()
        cols: list[int | None] = [None, None]
        if header_r is not None:
            for c, v in enumerate(grid[header_r]):
                if isinstance(v, str) and normalize(v) in TOOL_HEADERS:
                    tool.add(c)
                    cols[0 if normalize(v) == normalize(STATUS_H) else 1] = c
        for r, row in enumerate(grid):
            for c, v in enumerate(row):
                if c not in tool and v not in (None, ""):
                    state.staff[(title, r, c)] = _text(v)
        if tab_id is None or header_r is None:
            continue
        width = max((c for r in grid for c, v in enumerate(r) if c not in tool
                     and v not in (None, "")), default=-1) + 1
        rows = []
        for row in grid[header_r + 1:]:
            staff = tuple(_text(row[c]) if c < len(row) else "" for c in range(width)
                          if c not in tool)
            flags = tuple(_text(row[c]) if c is not None and c < len(row) else ""
                          for c in cols)
            rows.append((staff, flags))
        while rows and not any(rows[-1][0]) and not any(rows[-1][1]):
            rows.pop()
        state.tabs[tab_id] = TabState(header_r, tuple(_text(v) for v in grid[header_r]),
                                      tuple(cols), rows)
    return state


def _trim(grid: list[list[str]]) -> list[list[str]]:
    out = []
    for row in grid:
        row = list(row)
        while row and row[-1] == "":
            row.pop()
        out.append(row)
    while out and not out[-1]:
        out.pop()
    return out


def xlsx_grids(path: Path) -> dict[str, list[list[Any]]]:
    """Value grids of a local workbook, read the way the tool reads it."""
    from sheets_sync.sources.local_reader import read_xlsx

    return {s.title: [list(r) for r in s.rows] for s in read_xlsx(path).sheets}


def emu_grids(emu, sid: str) -> dict[str, list[list[Any]]]:
    meta = emu.spreadsheet_meta(sid)
    titles = [s["properties"]["title"] for s in meta["sheets"]]
    # Kiểm tra as a read gives it (its row links are HYPERLINK formulas: their labels)
    return {t: emu.get_values(sid, t, effective=t == TEMPLATE.check_tab) for t in titles}


# --- invariants -----------------------------------------------------------------------------

def staff_diff(expected: UnitState, actual: UnitState, limit: int = 5) -> list[str]:
    """Staff cells that differ (``[]`` = identical)."""
    out = []
    keys = sorted(set(expected.staff) | set(actual.staff), key=repr)
    for k in keys:
        if expected.staff.get(k) != actual.staff.get(k):
            out.append(f"{k}: {expected.staff.get(k)!r} -> {actual.staff.get(k)!r}")
            if len(out) >= limit:
                break
    return out


Flags = dict[str, dict[int, tuple[str, str]]]  # tab id -> data row index -> (status, details)


def expected_flags(outcome) -> dict[str, Flags]:
    """Per unit, the flags each data row must carry after ``outcome`` (a clean run), derived
    from the run's findings and parsed rows alone — not from what the writers wrote. Row index
    0 = the row under the header; rows that are not data rows must be empty."""
    from sheets_sync.sync.writeplan import row_details, row_status

    out: dict[str, Flags] = {}
    for read in outcome.reads:
        if read.data is None:
            continue
        code = read.config.code
        mine = [f for f in outcome.report.findings if f.unit == code and f.row is not None]
        per: Flags = {}
        for tab_id, tab in read.data.tabs.items():
            if tab.header_row is None:
                continue
            on_row: dict[int, list] = {}
            for f in mine:
                if f.tab == tab.tab.name:
                    on_row.setdefault(f.row, []).append(f)
            per[tab_id] = {
                r - tab.header_row - 1: (row_status(TEMPLATE, on_row.get(r, []), tab.explained(i)),
                                         row_details(on_row.get(r, [])))
                for i, r in enumerate(tab.rows)}
        out[code] = per
    return out


def flags_diff(state: UnitState, flags: Flags, limit: int = 5) -> list[str]:
    """Rows of a unit whose flags are not the expected ones."""
    out = []
    for tab_id, tab in state.tabs.items():
        want = flags.get(tab_id, {})
        for i, (_staff, got) in enumerate(tab.rows):
            if got != want.get(i, ("", "")):
                out.append(f"{TAB_NAMES[tab_id]}[{i}]: {got!r} != {want.get(i, ('', ''))!r}")
                if len(out) >= limit:
                    return out
    return out


def flag_violations(final: UnitState, origin: Callable[[str, int], int | None],
                    previous: UnitState,
                    expected: list[tuple[Flags, Callable[[str, int], int | None]]]) -> list[str]:
    """Rows whose (status, details) pair is neither their previous pair nor the one a clean run
    computes for that row's data. ``origin`` maps a row of ``final`` to its row in ``previous``
    (None: a row a person inserted); each ``expected`` entry is a clean run's flags with the map
    from a row of ``final`` to the row of that run holding the same data."""
    out = []
    for tab_id, tab in final.tabs.items():
        prev_tab = previous.tabs.get(tab_id)
        for i, (_staff, flags) in enumerate(tab.rows):
            allowed = set()
            o = origin(tab_id, i)
            if o is None or prev_tab is None or o >= len(prev_tab.rows):
                allowed.add(("", ""))
            else:
                allowed.add(prev_tab.rows[o][1])
            for want, where in expected:
                j = where(tab_id, i)
                if j is not None:
                    allowed.add(want.get(tab_id, {}).get(j, ("", "")))
            if flags not in allowed:
                out.append(f"{TAB_NAMES[tab_id]} dòng {tab.header_row + i + 2}: {flags!r} "
                           f"không thuộc {sorted(allowed)!r}")
    return out


def converge_diff(ref: UnitState, got: UnitState, limit: int = 5) -> list[str]:
    """Differences of tool cells (per data row), staff cells and the Kiểm tra grid."""
    out = staff_diff(ref, got, limit)
    for tab_id in sorted(set(ref.tabs) | set(got.tabs)):
        a, b = ref.tabs.get(tab_id), got.tabs.get(tab_id)
        if a is None or b is None:
            out.append(f"{tab_id}: tab {'thiếu' if b is None else 'thừa'}")
            continue
        if len(a.rows) != len(b.rows):
            out.append(f"{tab_id}: {len(a.rows)} dòng != {len(b.rows)}")
        for i, (x, y) in enumerate(zip(a.rows, b.rows)):
            if x != y:
                out.append(f"{tab_id}[{i}]: {x[1]!r} != {y[1]!r}")
                if len(out) >= limit:
                    return out
    if ref.check != got.check:
        out.append("Kiểm tra: nội dung khác")
    return out[:limit]


# --- local wrapper --------------------------------------------------------------------------

class EditingLocalBackend(LocalBackend):
    """A local backend after whose read of ``code`` a person edits the file (``edit(path)``)."""

    def __init__(self, code: str, edit: Callable[[Path], None]):
        self.code, self.edit, self.done = code, edit, False

    def read(self, unit):
        raw = super().read(unit)
        if unit.code == self.code and not self.done:
            self.done = True
            self.edit(unit.path)
        return raw


def copy_tree(src: Path, dst: Path) -> None:
    if dst.exists():
        shutil.rmtree(dst)
    if src.exists():
        shutil.copytree(src, dst)


def load(path: Path) -> Config:
    return load_config(path)


# --- malformed workbooks (test_fuzz_inputs.py) ----------------------------------------------

def _rezip(src: Path, dst: Path, replace: dict[str, bytes | Callable[[bytes], bytes]],
           drop: tuple[str, ...] = ()) -> Path:
    """Copy the zip ``src`` to ``dst`` with some members replaced (bytes, or a function of the
    old bytes) or dropped."""
    import zipfile

    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename in drop:
                continue
            data = zin.read(info)
            if info.filename in replace:
                new = replace[info.filename]
                data = new(data) if callable(new) else new
            zout.writestr(info.filename, data)
    return dst


def sheet_part(path: Path, title: str) -> str:
    """The zip member holding the sheet ``title`` (openpyxl numbers them in order)."""
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        return f"xl/worksheets/sheet{wb.sheetnames.index(title) + 1}.xml"
    finally:
        wb.close()


def _minimal_zip(dst: Path, members: dict[str, bytes | str]) -> Path:
    import zipfile

    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return dst


DOCX = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
        'package/2006/content-types"><Default Extension="rels" ContentType="application/'
        'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
        '"application/xml"/><Override PartName="/word/document.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
        'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
        'schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target='
        '"word/document.xml"/></Relationships>'),
    "word/document.xml": (
        '<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.'
        'openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Biên bản'
        '</w:t></w:r></w:p></w:body></w:document>'),
}
ODS = {
    "mimetype": "application/vnd.oasis.opendocument.spreadsheet",
    "META-INF/manifest.xml": (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:'
        'names:tc:opendocument:xmlns:manifest:1.0"><manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '</manifest:manifest>'),
    "content.xml": (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:'
        'names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:'
        'xmlns:table:1.0"><office:body><office:spreadsheet><table:table table:name="Sinh hoạt"/>'
        '</office:spreadsheet></office:body></office:document-content>'),
}


def _add_rows(xml: bytes, rows: str) -> bytes:
    """Append raw ``<row>`` XML at the end of a sheet's ``sheetData`` (and drop the
    ``dimension`` so that it does not contradict the rows)."""
    import re

    text = xml.decode("utf-8")
    text = re.sub(r"<dimension [^>]*/>", "", text)
    if "<sheetData/>" in text:
        text = text.replace("<sheetData/>", f"<sheetData>{rows}</sheetData>")
    else:
        text = text.replace("</sheetData>", rows + "</sheetData>")
    return text.encode("utf-8")


def _empty_rows(first: int, count: int, columns: int, style: int, cells: bool) -> str:
    from openpyxl.utils import get_column_letter

    letters = [get_column_letter(c + 1) for c in range(columns)]
    out = []
    for r in range(first, first + count):
        if cells:
            out.append(f'<row r="{r}">' + "".join(f'<c r="{x}{r}" s="{style}"/>' for x in letters)
                       + "</row>")
        else:
            out.append(f'<row r="{r}" s="{style}" customFormat="1"/>')
    return "".join(out)


def _cell_xml(ref: str, kind: str, value: str, formula: str | None = None) -> str:
    f = f"<f>{formula}</f>" if formula else ""
    t = f' t="{kind}"' if kind != "n" else ""
    return f'<c r="{ref}"{t}>{f}<v>{value}</v></c>'


def malformed_corpus(folder: Path, base: Path) -> dict[str, Path]:
    """Malformed workbooks built from ``base`` (a valid unit workbook of write_unit_workbook):
    name -> file. Each must end as a unit status or findings, never as a traceback."""
    import re

    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    data = base.read_bytes()
    meetings = sheet_part(base, TAB_NAMES["meetings"])
    cells_part = sheet_part(base, TAB_NAMES["cells"])

    def put(name: str, content: bytes) -> None:
        out[name] = folder / f"{name}.xlsx"
        out[name].write_bytes(content)

    put("truncated-zip", data[: len(data) // 2])
    put("empty-file", b"")
    put("not-a-zip", b"Day khong phai so tinh\n" * 40)
    out["docx"] = _minimal_zip(folder / "docx.xlsx", DOCX)
    out["ods"] = _minimal_zip(folder / "ods.xlsx", ODS)
    out["bogus-content-types"] = _rezip(base, folder / "bogus-content-types.xlsx",
                                        {"[Content_Types].xml": b"<Types><Override PartName="})
    out["no-workbook-part"] = _rezip(base, folder / "no-workbook-part.xlsx", {},
                                     drop=("xl/workbook.xml",))
    out["corrupt-sheet-xml"] = _rezip(base, folder / "corrupt-sheet-xml.xlsx",
                                      {meetings: lambda x: x[: len(x) // 2]})
    out["bad-cell-ref"] = _rezip(base, folder / "bad-cell-ref.xlsx", {
        meetings: lambda x: _add_rows(x, '<row r="40"><c r="ZZZZ40"><v>1</v></c></row>')})

    # 50,000-character cells: a code, a month, a date, a number and a note
    wb = openpyxl.load_workbook(base)
    ws = wb[TAB_NAMES["meetings"]]
    long = ("Nguyễn Văn A phát biểu ý kiến; " * 1700)[:50_000]
    for col_id in ("cell_code", "month", "meeting_date", "present", "note"):
        ws.cell(3, _col_of("meetings", col_id) + 1).value = long
    ws2 = wb[TAB_NAMES["cells"]]
    ws2.cell(2, _col_of("cells", "cell_name") + 1).value = "A" * 50_000
    out["50k-char-cells"] = folder / "50k-char-cells.xlsx"
    wb.save(out["50k-char-cells"])

    # booleans in number, date, time, month and code columns
    wb = openpyxl.load_workbook(base)
    ws = wb[TAB_NAMES["meetings"]]
    for k, col_id in enumerate(("present", "required_count", "meeting_date", "start_time",
                                "month", "cell_code", "score", "duration")):
        ws.cell(3 + k % 3, _col_of("meetings", col_id) + 1).value = bool(k % 2)
    ws2 = wb[TAB_NAMES["cells"]]
    ws2.cell(2, _col_of("cells", "members") + 1).value = True
    out["booleans"] = folder / "booleans.xlsx"
    wb.save(out["booleans"])

    # merged header cells (a two-line header and header cells merged across columns)
    wb = openpyxl.load_workbook(base)
    ws = wb[TAB_NAMES["cells"]]
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=3)
    ws = wb[TAB_NAMES["meetings"]]
    ws.merge_cells(start_row=1, start_column=1, end_row=2, end_column=2)
    ws.merge_cells(start_row=2, start_column=5, end_row=2, end_column=7)
    out["merged-headers"] = folder / "merged-headers.xlsx"
    wb.save(out["merged-headers"])

    # formulas whose cached values are errors (#REF!, #DIV/0!, #N/A, #VALUE!, #NAME?) in key,
    # date and number columns; a number too large to be a date; numbers beyond float range
    from openpyxl.utils import get_column_letter as L

    def with_errors(xml: bytes) -> bytes:
        text = xml.decode("utf-8")
        cells = []
        for _k, (col_id, err) in enumerate((("cell_code", "#REF!"), ("month", "#N/A"),
                                           ("meeting_date", "#VALUE!"), ("present", "#DIV/0!"),
                                           ("duration", "#NAME?"), ("rating", "#REF!"))):
            ref = f"{L(_col_of('meetings', col_id) + 1)}3"
            text = re.sub(rf'<c r="{ref}"[^>]*?(/>|>.*?</c>)', "", text)
            cells.append((ref, _cell_xml(ref, "e", err, "Sheet9!A1+1")))
        row3 = re.search(r'<row r="3"[^>]*>', text)
        text = text[: row3.end()] + "".join(c for _, c in cells) + text[row3.end():]
        return text.encode("utf-8")

    out["ref-errors"] = _rezip(base, folder / "ref-errors.xlsx", {meetings: with_errors})
    out["odd-numbers"] = _rezip(base, folder / "odd-numbers.xlsx", {meetings: lambda x: _add_rows(
        x, '<row r="30">' + _cell_xml("A30", "str", "CB01") + _cell_xml("B30", "str", "11/2026")
        + _cell_xml(f"{L(_col_of('meetings', 'meeting_date') + 1)}30", "n", "1E+300")
        + _cell_xml(f"{L(_col_of('meetings', 'present') + 1)}30", "n", "1E+999")
        + _cell_xml(f"{L(_col_of('meetings', 'required_count') + 1)}30", "n",
                    "99999999999999999999999")
        + _cell_xml(f"{L(_col_of('meetings', 'duration') + 1)}30", "n", "-0.0000001")
        + "</row>")})

    # a dimension claiming the whole grid (A1:XFD1048576) over a few real rows
    out["dimension-whole-grid"] = _rezip(base, folder / "dimension-whole-grid.xlsx", {
        cells_part: lambda x: re.sub(rb"<dimension [^>]*/>", b'<dimension ref="A1:XFD1048576"/>',
                                     x)})
    # a stray value in the last column of the sheet
    out["value-in-column-XFD"] = _rezip(base, folder / "value-in-column-XFD.xlsx", {
        meetings: lambda x: _add_rows(x, '<row r="50">' + _cell_xml("XFD50", "str", "x")
                                      + "</row>")})

    # 100,000 formatted but empty rows under the data, then the same with a value below them
    ncols = len(TEMPLATE.tab("meetings").columns)
    styled = _rezip(base, folder / "_styled.xlsx", {})  # style 0 exists in every workbook
    rows = _empty_rows(100, 100_000, ncols, 0, cells=True)
    out["100k-empty-rows"] = _rezip(styled, folder / "100k-empty-rows.xlsx",
                                    {meetings: lambda x: _add_rows(x, rows)})
    tail = ('<row r="100100">' + _cell_xml("A100100", "str", "CB01")
            + _cell_xml("B100100", "str", "11/2026") + "</row>")
    out["100k-empty-rows-then-value"] = _rezip(
        styled, folder / "100k-empty-rows-then-value.xlsx",
        {meetings: lambda x: _add_rows(x, rows + tail)})
    rows_only = _empty_rows(100, 100_000, ncols, 0, cells=False)
    out["100k-formatted-rows"] = _rezip(styled, folder / "100k-formatted-rows.xlsx",
                                        {meetings: lambda x: _add_rows(x, rows_only + tail)})
    (folder / "_styled.xlsx").unlink()

    # entity expansion ("billion laughs") in a sheet
    bomb = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lolololololololololol">'
            + "".join(f'<!ENTITY lol{k} "{("&lol" + (str(k - 1) if k > 1 else "") + ";") * 10}">'
                      for k in range(1, 10))
            + ']><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
            '</sheetData></worksheet>')
    out["entity-expansion"] = _rezip(base, folder / "entity-expansion.xlsx",
                                     {cells_part: bomb.encode()})
    return out


def _col_of(tab_id: str, col_id: str) -> int:
    return [c.id for c in TEMPLATE.tab(tab_id).columns].index(col_id)

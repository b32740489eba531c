"""`sheets-sync history` and `history export`: how a row looked at each pull, and the last good
pull of a unit written back as .xlsx (to restore rows deleted by mistake)."""
from __future__ import annotations

import json
import os
import tempfile
from datetime import date, datetime
from pathlib import Path

from ..core.atomic import atomic_path
from ..core.errors import SheetsSyncError
from ..core.grid import find_sheets, parse_unit
from ..core.template import load_template
from ..core.text import fold, normalize
from ..outputs.check_formats import indented
from .history import fmt_keys, load_state, value_diffs
from .store import (
    Store,
)

# --- history listing -----------------------------------------------------------------------------

def _tab_matches(tab_filter: str | None, tab_id: str, name: str) -> bool:
    if tab_filter is None:
        return True
    return tab_filter == tab_id or normalize(tab_filter) == normalize(name) or \
        fold(tab_filter) == fold(name)


def rows_history(store: Store, unit: str, tab: str | None = None,
                 changed_only: bool = True) -> list[dict]:
    """What each row looked like at each pull (for ``sheets-sync history --unit CODE``).

    One entry per key: ``ref``, ``tab``, ``keys`` ([[header, value], …]), ``period``, ``cell``,
    ``first_seen``/``last_seen`` (ISO), ``last_row``, ``state`` ("present", "deleted" or
    "replaced"), ``replaced_by`` (ref), ``replaces`` (refs), ``acknowledged`` (rules), and
    ``versions``: the successive contents, each with ``first_seen``, ``last_seen`` (the first
    and last pull that saw it), ``row``, ``values`` ({header: value}) and ``changes`` (from the
    previous version, "header: old → new"). ``changed_only``: only keys that changed, were
    edited in place or are gone. ``tab``: a tab name or id."""
    state = load_state(store, unit)
    by_id = {k.id: k for k in state.known}
    out = []
    for k in state.known:
        if not _tab_matches(tab, k.tab_id, k.tab):
            continue
        versions = state.versions.get(k.id, [])
        if k.last_pull == state.last_pull:
            status = "present"
        elif k.replaced_by is not None:
            status = "replaced"
        else:
            status = "deleted"
        if changed_only and status == "present" and len(versions) <= 1 and k.id not in state.preds:
            continue
        headers = state.header_map(k.tab_id)
        acked = sorted(rule for (rule, t, rk) in state.acks if t == k.tab_id and rk == k.rkey)
        shown = []
        for n, v in enumerate(versions):
            shown.append({
                "first_seen": v.first_seen.isoformat(), "last_seen": v.last_seen.isoformat(),
                "row": v.sheet_row,
                "values": {headers.get(c, c): v.vals[c][1] for c in _sheet_order(v.vals, headers)},
                "changes": value_diffs(versions[n - 1].vals, v.vals, headers) if n else [],
            })
        out.append({
            "ref": k.ref, "tab": k.tab, "keys": k.keys, "period": k.period, "cell": k.cell,
            "first_seen": k.first_seen.isoformat(), "last_seen": k.last_seen.isoformat(),
            "last_row": k.last_row, "state": status,
            "replaced_by": by_id[k.replaced_by].ref if k.replaced_by in by_id else None,
            "replaces": [p.ref for p in state.preds.get(k.id, ())],
            "acknowledged": acked,
            "versions": shown,
        })
    return out


def _sheet_order(vals: dict, headers: dict[str, str]) -> list[str]:
    """The column ids of ``vals`` in the tab's column order (as the sheet shows them), then any
    column the template no longer has."""
    return [c for c in headers if c in vals] + [c for c in vals if c not in headers]


def _dt(iso: str) -> str:
    return f"{datetime.fromisoformat(iso):%H:%M %d/%m/%Y}"


def render_history(entries: list[dict], unit: str, unit_name: str | None = None,
                   width: int | None = None) -> str:
    """Vietnamese text of ``rows_history``. ``width``: a terminal's width, to which each row's
    line and each version's line (a version lists every value of the row: hundreds of
    characters) are wrapped, indented under their start; None: one line each (a file, a pipe).
    """
    title = f"Lịch sử dòng — {unit}" + (f" ({unit_name})" if unit_name else "")
    if not entries:
        return f"{title}\nKhông có dòng nào bị sửa hoặc bị xóa.\n"
    states = {"present": "còn", "deleted": "ĐÃ XÓA", "replaced": "đã sửa khóa"}
    lines = [title, f"{len(entries)} dòng.", ""]
    for e in entries:
        where = f"{e['tab']}: {fmt_keys(e['keys'])}" if e["keys"] else e["tab"]
        head = f"[{e['ref']}] {where} — {states[e['state']]}"
        if e["state"] == "deleted":
            head += f" (dòng {e['last_row']}, thấy lần cuối {_dt(e['last_seen'])})"
        if e["replaced_by"]:
            head += f", thành dòng [{e['replaced_by']}]"
        if e["replaces"]:
            head += f" (sửa khóa từ dòng {', '.join('[' + r + ']' for r in e['replaces'])})"
        if e["acknowledged"]:
            head += " — đã xác nhận"
        lines += indented(head, width, "", "    ")
        for n, v in enumerate(e["versions"]):
            span = f"{_dt(v['first_seen'])} → {_dt(v['last_seen'])}"
            if n == 0:
                values = "; ".join(f"{h}: {x}" for h, x in v["values"].items())
            else:
                values = "; ".join(v["changes"]) or "như trên"
            lines += indented(f"{span} (dòng {v['row']}): {values}", width, "    ", "        ")
        lines.append("")
    return "\n".join(lines)


def history_json(entries: list[dict]) -> str:
    return json.dumps(entries, ensure_ascii=False, indent=2)


# --- restore: the last good pull as .xlsx --------------------------------------------------------

def export_last_pull(store: Store, unit: str, path: Path) -> Path:
    """Write a unit's last stored pull to ``path`` (.xlsx): every sheet and every value as read,
    tool columns included — the restore path when rows were deleted by mistake. Text is always
    written as text (a value starting with "=" is never a formula). Date and time columns of the
    template that arrived as spreadsheet serial numbers keep their value and get a date/time
    format. Written to a temporary file and renamed."""
    import openpyxl
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, TYPE_STRING
    from openpyxl.utils import get_column_letter

    last = store.last_pull(unit)
    if last is None:
        raise SheetsSyncError(f"Chưa có lần đọc nào của đơn vị {unit} trong kho lịch sử.")
    template = load_template()
    parsed = parse_unit(template, last.raw, unit, unit, last.as_of)
    found = find_sheets(template, last.raw)
    formats: dict[str, dict[int, tuple[int, str]]] = {}  # title -> col -> (header row, fmt)
    for tab_id, sheet in found.items():
        data = parsed.tabs.get(tab_id)
        if data is None or data.header_row is None:
            continue
        cols = {}
        for col_id, ci in data.col_index.items():
            kind = data.tab.column(col_id).kind
            if kind == "date":
                cols[ci] = (data.header_row, "DD/MM/YYYY")
            elif kind == "time":
                cols[ci] = (data.header_row, "HH:MM")
        formats[sheet.title] = cols

    wb = openpyxl.Workbook()
    for blank in wb.worksheets:  # the default empty sheet
        wb.remove(blank)
    for sheet in last.raw.sheets:
        ws = wb.create_sheet(_safe_title(sheet.title, wb.sheetnames))
        fmts = formats.get(sheet.title, {})
        width: dict[int, int] = {}
        for r, row in enumerate(sheet.rows, start=1):
            for c, v in enumerate(row):
                if v is None or v == "":
                    continue
                cell = ws.cell(row=r, column=c + 1)
                if isinstance(v, str):
                    cell.value = ILLEGAL_CHARACTERS_RE.sub("", v)
                    cell.data_type = TYPE_STRING
                else:
                    cell.value = v
                    f = fmts.get(c)
                    if f is not None and r > f[0] and isinstance(v, (int, float)) \
                            and not isinstance(v, bool):
                        cell.number_format = f[1]
                    elif isinstance(v, (datetime, date)):
                        cell.number_format = "DD/MM/YYYY"
                width[c] = max(width.get(c, 0), min(len(str(v)), 50))
        for c, w in width.items():
            ws.column_dimensions[get_column_letter(c + 1)].width = max(8, w + 2)
        ws.freeze_panes = None
    if not wb.sheetnames:
        wb.create_sheet("Trống")
    wb.properties.creator = "sheets-sync"
    wb.properties.title = f"{unit} — bản đọc lúc {last.pulled_at:%H:%M %d/%m/%Y}"
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    with atomic_path(path, Path(tmp)):
        wb.save(tmp)
    return path


def _safe_title(title: str, taken: list[str]) -> str:
    bad = '[]:*?/\\'
    t = "".join("_" if ch in bad else ch for ch in title)[:31] or "Sheet"
    base, n = t, 1
    while t in taken:
        n += 1
        t = f"{base[:28]}~{n}"
    return t

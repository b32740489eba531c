"""History rules (rules.md "History") and the `sheets-sync history` queries.

Rows are identified by their key values (template.md "Key columns"), never by sheet row numbers:
rows move when staff insert or delete rows above them. The store (``sheets_sync.sync.store``) keeps,
per unit, every key ever seen with the successive versions of its values.

* **DATA-DELETED** (warning): a key seen at an earlier pull is absent now. Reported on every run
  while its period is in the checked year (rows without a period — ``Chi bộ``, ``Nhà văn hóa`` —
  always), until the operator acknowledges it. ``row`` is None: the row no longer exists, and a
  sheet row number would now point at another row (write-back would flag the wrong row); the
  finding goes to the ``Kiểm tra`` tab. The message quotes the key values, the sheet row it was
  last seen at and the date it was last seen. ``cell`` and ``period`` are the deleted row's.
  Not reported for a tab whose key columns are not all found now (TPL-COLUMN-MISSING says why);
  a tab that is gone entirely gives one DATA-DELETED for the whole tab.
* **Keys edited in place**: when a key disappears and a new key appears at the same sheet row of
  the same tab, with the same period and cell, between two consecutive pulls, the row was edited
  (a corrected meeting date), not deleted: no DATA-DELETED. If its period was closed, that edit
  is a DATA-CHANGED-CLOSED (old → new shows the key columns that changed).
* **DATA-CHANGED-CLOSED** (warning, on the current row): a row whose period's deadline had passed
  before an earlier pull (that pull's as-of date is after the deadline) now differs from what
  that first pull after the deadline saw. Deadlines per tab: Sinh hoạt and Điểm danh →
  ``meeting_deadline`` of Kỳ tháng; Triển khai → ``brief_deadline`` of Tháng áp dụng; Dự sinh
  hoạt → ``supervision_deadline`` of the visit month; Đánh giá năm → 31 December of Năm. The
  ``Giải trình`` and ``Ghi chú`` columns are ignored (explaining a flag afterwards is expected).
  Reported on every run until acknowledged; an acknowledgement accepts the values of that moment
  (a later change is reported again, from the acknowledged values).

Every finding carries a short reference ``[mã …]`` (stable: a hash of unit, tab and key) used by
``sheets-sync history ack --unit CODE --key REF``.
"""
from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ..core.atomic import atomic_path
from ..core.errors import SheetsSyncError
from ..core.findings import WARNING, Finding
from ..core.grid import UnitData, find_sheets, parse_unit
from ..core.rules.base import brief_deadline, meeting_deadline, supervision_deadline
from ..core.template import load_template
from ..core.text import fold, normalize
from .store import (
    IndexedTab,
    KnownRow,
    RowVersion,
    Store,
    index_unit,
    pair_replacements,
    release_index,
    row_ref,
)

DELETED = "DATA-DELETED"
CHANGED = "DATA-CHANGED-CLOSED"
RULES = (DELETED, CHANGED)
TAB_KEY = "*"  # rkey of a whole-tab deletion
MAX_DIFFS = 6
MAX_EXAMPLES = 3


# --- deadlines -----------------------------------------------------------------------------------

def closing_date(tab_id: str, period: str | None, params: Mapping[str, Any]) -> date | None:
    """The deadline after which a row of this tab and period is closed (None: never)."""
    if not period:
        return None
    try:
        year = int(period[:4])
        if tab_id == "annual":
            return date(year, 12, 31) if len(period) == 4 else None
        if len(period) != 7 or period[4] != "-":
            return None
        month = int(period[5:7])
        if tab_id in ("meetings", "attendance"):
            return meeting_deadline(year, month, params)
        if tab_id == "briefings":
            return brief_deadline(year, month, params)
        if tab_id == "visits":
            return supervision_deadline(year, month, params)
    except (ValueError, OverflowError):
        return None
    return None


def _in_year(period: str | None, year: int) -> bool:
    return period is None or period[:4] == f"{year:04d}"


# --- wording -------------------------------------------------------------------------------------

def _fmt_period(period: str | None) -> str:
    if not period:
        return ""
    if len(period) == 7:
        return f"{period[5:7]}/{period[:4]}"
    return f"năm {period}"


def _fmt_keys(keys: list) -> str:
    return ", ".join(f"{h} {v}" if v else f"{h} (trống)" for h, v in keys)


def _d(at: datetime | date) -> str:
    return f"{at:%d/%m/%Y}"


def _headers(tab_id: str) -> dict[str, str]:
    try:
        return {c.id: c.header for c in load_template().tab(tab_id).columns}
    except KeyError:
        return {}


def _diffs(old: dict, new: dict, headers: dict[str, str]) -> list[str]:
    out = []
    order = list(headers) + [c for c in (*old, *new) if c not in headers]
    for col in dict.fromkeys(order):
        a, b = old.get(col), new.get(col)
        if (a[0] if a else None) == (b[0] if b else None):
            continue
        out.append(f"{headers.get(col, col)}: {(a[1] if a else '') or '(trống)'} → "
                   f"{(b[1] if b else '') or '(trống)'}")
    return out


def _diff_text(diffs: list[str]) -> str:
    if len(diffs) > MAX_DIFFS:
        return "; ".join(diffs[:MAX_DIFFS]) + f"; và {len(diffs) - MAX_DIFFS} cột khác"
    return "; ".join(diffs)


# --- the state of a unit -------------------------------------------------------------------------

@dataclass
class _State:
    unit: str
    known: list[KnownRow]
    by_key: dict[tuple[str, str], KnownRow]
    versions: dict[int, list[RowVersion]]
    preds: dict[int, list[KnownRow]]  # key id -> keys it replaced
    acks: dict[tuple[str, str, str], Any]  # (rule, tab_id, rkey) -> latest Ack
    last_pull: int | None
    headers: dict[str, dict[str, str]] = field(default_factory=dict)

    def chain(self, key: KnownRow | None, extra_preds: Iterable[KnownRow] = ()) -> list[RowVersion]:
        """The versions of a key and of the keys it replaced, oldest first."""
        out: list[RowVersion] = []
        todo = list(extra_preds)
        if key is not None:
            out.extend(self.versions.get(key.id, ()))
            todo.extend(self.preds.get(key.id, ()))
        seen: set[int] = set()
        while todo:
            k = todo.pop()
            if k.id in seen:
                continue
            seen.add(k.id)
            out.extend(self.versions.get(k.id, ()))
            todo.extend(self.preds.get(k.id, ()))
        return sorted(out, key=lambda v: v.id)

    def header_map(self, tab_id: str) -> dict[str, str]:
        if tab_id not in self.headers:
            self.headers[tab_id] = _headers(tab_id)
        return self.headers[tab_id]


def _load_state(store: Store, unit: str) -> _State:
    known = store.known_rows(unit)
    preds: dict[int, list[KnownRow]] = {}
    for k in known:
        if k.replaced_by is not None:
            preds.setdefault(k.replaced_by, []).append(k)
    acks = {(a.rule, a.tab_id, a.rkey): a for a in store.acks(unit)}  # latest wins (ordered)
    last = store.last_pull_info(unit)
    return _State(unit, known, {(k.tab_id, k.rkey): k for k in known},
                  store.row_versions(unit) if known else {}, preds, acks,
                  last.id if last else None)


# --- the History rules ---------------------------------------------------------------------------

def history_findings(store: Store, unit_code: str, current: UnitData, as_of: date, year: int,
                     params: Mapping[str, Any], source: str | None = None,
                     keep_index: bool = True) -> list[Finding]:
    """DATA-DELETED and DATA-CHANGED-CLOSED of one unit: ``current`` (its data as used by this
    run — a fresh read, or the stored pull of an unchanged/stale unit) against every earlier
    pull in ``store``. Works whether or not ``current`` has been recorded yet.

    ``source``: the version (Drive) or SHA-256 (local file) of the data ``current`` was parsed
    from. With it, the findings are kept in the store and reused while neither the unit's stored
    history, its acknowledgements, the data, the year nor the rule parameters changed — an
    unchanged unit costs a few indexed queries instead of decoding its whole history.

    ``keep_index``: keep the key index computed here on ``current`` (recording its pull next
    reuses, then releases it); False when ``current`` is already recorded."""
    token = store.history_token(unit_code, source, {"year": year, "params": dict(params)})
    if token is not None:
        cached = store.cached_history(unit_code, token)
        if cached is not None:
            return [Finding(**f) for f in cached]
    had_index = current.key_index is not None
    try:
        findings = _history_findings(store, unit_code, current, year, params)
    finally:
        if not keep_index and not had_index:
            release_index(current)
    if token is not None:
        store.cache_history(unit_code, token, [asdict(f) for f in findings])
    return findings


def _history_findings(store: Store, unit_code: str, current: UnitData, year: int,
                      params: Mapping[str, Any]) -> list[Finding]:
    state = _load_state(store, unit_code)
    if not state.known:
        return []
    idx = index_unit(current)
    present = {(t.tab_id, r.rkey) for t in idx.values() for r in t.rows}

    # Keys edited in place since the last recorded pull when ``current`` is not recorded (once
    # recorded, ``record_pull`` has paired them and stored ``replaced_by``).
    gone = [(k.id, k.tab_id, k.cols, k.last_row, k.period, k.cell) for k in state.known
            if (k.tab_id, k.rkey) not in present and k.replaced_by is None
            and k.last_pull == state.last_pull]
    new_rows = {(t.tab_id, r.rkey): r for t in idx.values() for r in t.rows
                if (t.tab_id, r.rkey) not in state.by_key}
    new = [((tab_id, rkey), tab_id, idx[tab_id].cols, r.sheet_row, r.period, r.cell)
           for (tab_id, rkey), r in new_rows.items()]
    fly = pair_replacements(gone, new) if gone and new else {}
    fly_preds: dict[tuple[str, str], list[KnownRow]] = {}
    by_id = {k.id: k for k in state.known}
    for old_id, new_key in fly.items():
        fly_preds.setdefault(new_key, []).append(by_id[old_id])

    findings = _deleted(state, current, idx, present, set(fly), year)
    findings += _changed(state, current, idx, fly_preds, params)
    return findings


def _deleted(state: _State, current: UnitData, idx: dict[str, IndexedTab],
             present: set[tuple[str, str]], paired: set[int], year: int) -> list[Finding]:
    out: list[Finding] = []
    gone_tabs: dict[str, list[KnownRow]] = {}
    for k in state.known:
        if ((k.tab_id, k.rkey) in present or k.replaced_by is not None or k.id in paired
                or not _in_year(k.period, year)):
            continue
        tab = idx.get(k.tab_id)
        if tab is None:
            if k.tab_id in current.missing_tabs:
                gone_tabs.setdefault(k.tab_id, []).append(k)
            continue
        if tab.cols != k.cols:
            continue  # a key column is missing now: TPL-COLUMN-MISSING, not deletions
        ack = state.acks.get((DELETED, k.tab_id, k.rkey))
        if ack is not None and ack.state == str(k.last_pull):
            continue
        out.append(Finding(
            unit=state.unit, tab=k.tab, row=None, cell=k.cell, period=k.period, rule=DELETED,
            severity=WARNING,
            message=(f"Dòng đã bị xóa khỏi bảng tính: {_fmt_keys(k.keys)} (dòng {k.last_row}, "
                     f"thấy lần cuối ngày {_d(k.last_seen)}) [mã {k.ref}]."),
        ))
    for tab_id, keys in gone_tabs.items():
        last_pull = max(k.last_pull for k in keys)
        ack = state.acks.get((DELETED, tab_id, TAB_KEY))
        if ack is not None and ack.state == str(last_pull):
            continue
        # Keys acknowledged one by one before the tab went away stay acknowledged.
        keys = [k for k in keys if not (
            (a := state.acks.get((DELETED, k.tab_id, k.rkey))) and a.state == str(k.last_pull))]
        if not keys:
            continue
        last_seen = max(k.last_seen for k in keys)
        examples = "; ".join(_fmt_keys(k.keys) for k in keys[:MAX_EXAMPLES])
        more = "; …" if len(keys) > MAX_EXAMPLES else ""
        name = keys[0].tab
        out.append(Finding(
            unit=state.unit, tab=name, row=None, cell=None, period=None, rule=DELETED,
            severity=WARNING,
            message=(f"Tab \"{name}\" không còn trong bảng tính: {len(keys)} dòng đã đọc trước "
                     f"đây không còn (thấy lần cuối ngày {_d(last_seen)}), ví dụ {examples}{more} "
                     f"[mã {row_ref(state.unit, tab_id, TAB_KEY)}]."),
        ))
    return out


def _changed(state: _State, current: UnitData, idx: dict[str, IndexedTab],
             fly_preds: dict[tuple[str, str], list[KnownRow]],
             params: Mapping[str, Any]) -> list[Finding]:
    out: list[Finding] = []
    for tab_id, tab in idx.items():
        data = current.tabs[tab_id]
        for r in tab.rows:
            deadline = closing_date(tab_id, r.period, params)
            if deadline is None:
                continue
            key = state.by_key.get((tab_id, r.rkey))
            chain = state.chain(key, fly_preds.get((tab_id, r.rkey), ()))
            base = next((v for v in chain if v.max_as_of > deadline), None)
            if base is None:
                continue
            old_vals = base.vals
            ack = state.acks.get((CHANGED, tab_id, r.rkey))
            if ack is not None:
                if ack.state == r.vhash:
                    continue
                old_vals = ack.vals or old_vals
            elif base.vhash == r.vhash and (key is not None and base.key_id == key.id):
                continue
            diffs = _diffs(old_vals, r.vals, state.header_map(tab_id))
            if not diffs:
                continue
            since = _d(ack.acked_at) if ack is not None else _d(base.last_seen)
            what = "lần xác nhận" if ack is not None else "lần đọc"
            ref = key.ref if key is not None else row_ref(state.unit, tab_id, r.rkey)
            out.append(data.finding(
                r.index, CHANGED, WARNING,
                f"Dòng thuộc kỳ {_fmt_period(r.period)} đã khóa sổ (hạn {_d(deadline)}) bị sửa "
                f"sau {what} ngày {since}: {_diff_text(diffs)} [mã {ref}]."))
    return out


# --- acknowledgements ----------------------------------------------------------------------------

@dataclass
class AckResult:
    acked: list[dict]  # {"ref", "rule", "tab", "keys"} of every acknowledged item
    unknown: list[str]  # references given that match nothing open


def _ack_candidates(state: _State) -> list[dict]:
    """What can be acknowledged, relative to the unit's last recorded pull."""
    out: list[dict] = []
    in_last: dict[str, int] = {}
    gone_by_tab: dict[str, list[KnownRow]] = {}
    for k in state.known:
        if k.last_pull == state.last_pull:
            in_last[k.tab_id] = in_last.get(k.tab_id, 0) + 1
            chain = state.chain(k)
            if len(chain) > 1:
                latest = chain[-1]
                out.append({"rule": CHANGED, "tab_id": k.tab_id, "tab": k.tab, "rkey": k.rkey,
                            "ref": k.ref, "keys": k.keys, "state": latest.vhash,
                            "vals": latest.vals})
        elif k.replaced_by is None:
            gone_by_tab.setdefault(k.tab_id, []).append(k)
            out.append({"rule": DELETED, "tab_id": k.tab_id, "tab": k.tab, "rkey": k.rkey,
                        "ref": k.ref, "keys": k.keys, "state": str(k.last_pull), "vals": None})
    for tab_id, keys in gone_by_tab.items():
        if in_last.get(tab_id):
            continue
        out.append({"rule": DELETED, "tab_id": tab_id, "tab": keys[0].tab, "rkey": TAB_KEY,
                    "ref": row_ref(state.unit, tab_id, TAB_KEY), "keys": [],
                    "state": str(max(k.last_pull for k in keys)), "vals": None})
    return out


def ack(store: Store, unit: str, rule: str | None = None, keys: Iterable[str] | None = None,
        all: bool = False, tab: str | None = None, note: str = "",
        now: datetime | None = None) -> AckResult:
    """Acknowledge History findings of a unit (``sheets-sync history ack``).

    ``keys``: references (the ``[mã …]`` of a finding or of ``sheets-sync history``); ``all``:
    everything open (deleted rows, changed rows), optionally narrowed by ``rule`` and ``tab``
    (name or id). Acknowledges the state of the unit's last recorded pull. Already acknowledged
    items are acknowledged again (harmless)."""
    if rule is not None and rule not in RULES:
        raise SheetsSyncError(f"Quy tắc '{rule}' không phải quy tắc lịch sử "
                              f"({', '.join(RULES)}).")
    wanted = [k.strip().lower() for k in (keys or ()) if k.strip()]
    if not wanted and not all:
        raise SheetsSyncError("Cần chỉ rõ mã dòng (--key) hoặc --all.")
    state = _load_state(store, unit)
    candidates = _ack_candidates(state)
    if rule is not None:
        candidates = [c for c in candidates if c["rule"] == rule]
    if tab is not None:
        t = fold(tab)
        candidates = [c for c in candidates if fold(c["tab"]) == t or c["tab_id"] == tab]
    if wanted:
        chosen = [c for c in candidates if c["ref"] in wanted]
        unknown = [k for k in wanted if not any(c["ref"] == k for c in candidates)]
    else:
        chosen, unknown = candidates, []
    store.add_acks(unit, [(c["rule"], c["tab_id"], c["rkey"], c["state"], c["vals"])
                          for c in chosen],
                   (now or datetime.now()).replace(microsecond=0), note)
    return AckResult([{"ref": c["ref"], "rule": c["rule"], "tab": c["tab"], "keys": c["keys"]}
                      for c in chosen], unknown)


def render_ack(result: AckResult, unit: str) -> str:
    lines = [f"Đã xác nhận {len(result.acked)} mục lịch sử của đơn vị {unit}."]
    for a in result.acked:
        what = "dòng đã xóa" if a["rule"] == DELETED else "dòng sửa sau khi khóa sổ"
        keys = _fmt_keys(a["keys"]) if a["keys"] else "cả tab"
        lines.append(f"  [{a['ref']}] {a['tab']}: {what} — {keys}")
    for k in result.unknown:
        lines.append(f"  Không tìm thấy mục nào có mã {k} "
                     f"(xem 'sheets-sync history --unit {unit}').")
    return "\n".join(lines) + "\n"


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
    state = _load_state(store, unit)
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
                "values": {headers.get(c, c): d for c, (_, d) in v.vals.items()},
                "changes": _diffs(versions[n - 1].vals, v.vals, headers) if n else [],
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


def _dt(iso: str) -> str:
    return f"{datetime.fromisoformat(iso):%H:%M %d/%m/%Y}"


def render_history(entries: list[dict], unit: str, unit_name: str | None = None) -> str:
    """Vietnamese text of ``rows_history``."""
    title = f"Lịch sử dòng — {unit}" + (f" ({unit_name})" if unit_name else "")
    if not entries:
        return f"{title}\nKhông có dòng nào bị sửa hoặc bị xóa.\n"
    states = {"present": "còn", "deleted": "ĐÃ XÓA", "replaced": "đã sửa khóa"}
    lines = [title, f"{len(entries)} dòng.", ""]
    for e in entries:
        where = f"{e['tab']}: {_fmt_keys(e['keys'])}" if e["keys"] else e["tab"]
        head = f"[{e['ref']}] {where} — {states[e['state']]}"
        if e["state"] == "deleted":
            head += f" (dòng {e['last_row']}, thấy lần cuối {_dt(e['last_seen'])})"
        if e["replaced_by"]:
            head += f", thành dòng [{e['replaced_by']}]"
        if e["replaces"]:
            head += f" (sửa khóa từ dòng {', '.join('[' + r + ']' for r in e['replaces'])})"
        if e["acknowledged"]:
            head += " — đã xác nhận"
        lines.append(head)
        for n, v in enumerate(e["versions"]):
            span = f"{_dt(v['first_seen'])} → {_dt(v['last_seen'])}"
            if n == 0:
                values = "; ".join(f"{h}: {x}" for h, x in v["values"].items())
            else:
                values = "; ".join(v["changes"]) or "như trên"
            lines.append(f"    {span} (dòng {v['row']}): {values}")
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

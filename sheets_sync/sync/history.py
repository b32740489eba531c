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

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from ..core.findings import WARNING, Finding
from ..core.grid import UnitData
from ..core.periods import fmt_period
from ..core.rules.base import brief_deadline, meeting_deadline, supervision_deadline
from ..core.template import load_template
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
    """A period in a History message: "04/2026", "Quý III/2026", "năm 2026"."""
    text = fmt_period(period)
    return f"năm {text}" if period and period.isdigit() else text


def fmt_keys(keys: list) -> str:
    return ", ".join(f"{h} {v}" if v else f"{h} (trống)" for h, v in keys)


def _d(at: datetime | date) -> str:
    return f"{at:%d/%m/%Y}"


def _headers(tab_id: str) -> dict[str, str]:
    try:
        return {c.id: c.header for c in load_template().tab(tab_id).columns}
    except KeyError:
        return {}


def value_diffs(old: dict, new: dict, headers: dict[str, str]) -> list[str]:
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
class HistoryState:
    unit: str
    known: list[KnownRow]
    by_key: dict[tuple[str, str], KnownRow]
    versions: dict[int, list[RowVersion]]
    preds: dict[int, list[KnownRow]]  # key id -> keys it replaced
    acks: dict[tuple[str, str, str], Any]  # (rule, tab_id, rkey) -> latest Ack
    last_pull: int | None
    headers: dict[str, dict[str, str]] = field(default_factory=dict)

    def chain(self, key: KnownRow | None, extra_preds: Iterable[KnownRow] = ()) -> list[RowVersion]:
        """The versions of a key and of the keys it replaced, oldest first (read-only)."""
        out: list[RowVersion] = []
        todo = list(extra_preds)
        if key is not None:
            own = self.versions.get(key.id, [])
            todo.extend(self.preds.get(key.id, ()))
            if not todo:  # the usual case: the key's own versions, already oldest first
                return own
            out.extend(own)
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


def load_state(store: Store, unit: str) -> HistoryState:
    known = store.known_rows(unit)
    preds: dict[int, list[KnownRow]] = {}
    for k in known:
        if k.replaced_by is not None:
            preds.setdefault(k.replaced_by, []).append(k)
    acks = {(a.rule, a.tab_id, a.rkey): a for a in store.acks(unit)}  # latest wins (ordered)
    last = store.last_pull_info(unit)
    return HistoryState(unit, known, {(k.tab_id, k.rkey): k for k in known},
                  store.row_versions(unit) if known else {}, preds, acks,
                  last.id if last else None)


# --- the History rules ---------------------------------------------------------------------------

def history_findings(store: Store, unit_code: str, current: UnitData, as_of: date, year: int,
                     params: Mapping[str, Any], source: str | None = None,
                     keep_index: bool = True, recorded_as: int | None = None,
                     kept_under: dict[str, str] | None = None) -> list[Finding]:
    """DATA-DELETED and DATA-CHANGED-CLOSED of one unit: ``current`` (its data as used by this
    run — a fresh read, or the stored pull of an unchanged/stale unit) against every earlier
    pull in ``store``. Works whether or not ``current`` has been recorded yet.

    ``source``: the version (Drive) or SHA-256 (local file) of the data ``current`` was parsed
    from. With it, the findings are kept in the store and reused while neither the unit's stored
    history, its acknowledgements, the data, the year nor the rule parameters changed — an
    unchanged unit costs a few indexed queries instead of decoding its whole history.

    ``keep_index``: keep the key index computed here on ``current`` (recording its pull next
    reuses, then releases it); False when ``current`` is already recorded.

    ``recorded_as``: the pull ``current`` is stored as, when it is. When that pull is all the
    store knows of the unit (its first pull), there is nothing earlier to compare with: no
    finding, without decoding the pull just stored (a big unit: seconds).

    ``kept_under``: where to note the token the findings of a read not recorded yet were kept
    under (``keep_after_recording`` keeps them for the store with that read recorded)."""
    token = store.history_token(unit_code, source, _settings(year, params))
    if token is not None:
        cached = store.cached_history(unit_code, token)
        if cached is not None:
            return [Finding(**f) for f in cached]
    if recorded_as is not None and store.history_only_from(unit_code, recorded_as):
        findings: list[Finding] = []
        if token is not None:
            store.cache_history(unit_code, token, [])
        return findings
    had_index = current.key_index is not None
    try:
        findings = _history_findings(store, unit_code, current, year, params)
    finally:
        if not keep_index and not had_index:
            release_index(current)
    if token is not None:
        store.cache_history(unit_code, token, [asdict(f) for f in findings])
        if kept_under is not None and recorded_as is None:
            kept_under[unit_code] = token
    return findings


def keep_after_recording(store: Store, unit_code: str, source: str | None, year: int,
                         params: Mapping[str, Any], before: str) -> None:
    """The unit's read has just been recorded: its history findings, kept under ``before``
    (the token of the store without that pull), are also its findings against the store with
    it (``history_findings`` gives the same whether or not ``current`` is recorded; tested),
    so they are kept under the new token: the next `rollup` or `check` of an unchanged unit
    finds them instead of decoding its whole history again."""
    after = store.history_token(unit_code, source, _settings(year, params))
    if after is not None and after != before:
        store.keep_history_under(unit_code, before, after)


def keep_for_new_source(store: Store, unit_code: str, before: str, after: str, year: int,
                        params: Mapping[str, Any]) -> None:
    """The unit's history findings, kept for the data of source ``before``, kept for source
    ``after`` too: the same data as far as the history goes (our own write changed only tool
    cells and tabs), so the next run of the unchanged unit finds them."""
    kept = store.history_token(unit_code, before, _settings(year, params))
    if kept is not None:
        keep_after_recording(store, unit_code, after, year, params, kept)


def _settings(year: int, params: Mapping[str, Any]) -> dict[str, Any]:
    """What history findings depend on besides the data and the store."""
    return {"year": year, "params": dict(params)}


def _history_findings(store: Store, unit_code: str, current: UnitData, year: int,
                      params: Mapping[str, Any]) -> list[Finding]:
    state = load_state(store, unit_code)
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


def _deleted(state: HistoryState, current: UnitData, idx: dict[str, IndexedTab],
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
            message=(f"Dòng đã bị xóa khỏi bảng tính: {fmt_keys(k.keys)} (dòng {k.last_row}, "
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
        examples = "; ".join(fmt_keys(k.keys) for k in keys[:MAX_EXAMPLES])
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


def _changed(state: HistoryState, current: UnitData, idx: dict[str, IndexedTab],
             fly_preds: dict[tuple[str, str], list[KnownRow]],
             params: Mapping[str, Any]) -> list[Finding]:
    out: list[Finding] = []
    deadlines: dict[tuple[str, str | None], date | None] = {}  # one per tab and period
    for tab_id, tab in idx.items():
        data = current.tabs[tab_id]
        for r in tab.rows:
            if (tab_id, r.period) not in deadlines:
                deadlines[(tab_id, r.period)] = closing_date(tab_id, r.period, params)
            deadline = deadlines[(tab_id, r.period)]
            if deadline is None:
                continue
            key = state.by_key.get((tab_id, r.rkey))
            chain = state.chain(key, fly_preds.get((tab_id, r.rkey), ()))
            base = next((v for v in chain if v.max_as_of > deadline), None)
            if base is None:
                continue
            ack = state.acks.get((CHANGED, tab_id, r.rkey))
            if ack is not None:
                if ack.state == r.vhash:
                    continue
                old_vals = ack.vals or base.vals
            elif base.vhash == r.vhash and (key is not None and base.key_id == key.id):
                continue
            else:
                old_vals = base.vals  # decoded only for a row that may have changed
            diffs = value_diffs(old_vals, r.vals, state.header_map(tab_id))
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

"""History store (SQLite in the state folder): every pull of a unit and every run's summary.

A pull keeps the unit's raw grids (compressed JSON, so `rollup` and stale units can be rebuilt
without opening the spreadsheets). For the History rules (``sheets_sync.sync.history``) every data
row is also indexed by its **key values** (template.md "Key columns"; sheet row numbers are not an
identity, rows move):

* ``row_keys``: one row per (unit, tab, canonical key): when it was first and last seen, the
  sheet row it was last seen at, its period and cell, and ``replaced_by`` when its key values were
  edited in place (same tab, same sheet row, same period and cell, in the next pull).
* ``row_versions``: the successive contents of a key, one row per run of consecutive pulls with
  the same values (so "what a row looked like at each pull" costs one row per change, not one
  row per pull).
* ``acks``: the operator's acknowledgements (``sheets-sync history ack``).

Schema changes are migrations: ``_SCHEMA_V1`` is the first schema exactly as released, and every
later version is one entry of ``MIGRATIONS``. A new database runs the same path (v1 DDL, then
every migration), so the upgrade path is the one that is always exercised. A store written by a
newer version is refused rather than damaged. Before upgrading a store that holds data, a copy is
saved next to it (``history-v<N>-backup-<timestamp>.sqlite``).
"""
from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from ..core.errors import HistoryDamaged, SheetsSyncError
from ..core.faults import damaged_message, sqlite_error, sqlite_kind
from ..core.grid import UnitData, parse_unit
from ..core.raw import RawSheet, RawWorkbook
from ..core.template import load_template
from ..core.text import normalize
from ..core.values import display_raw, is_empty

SCHEMA_VERSION = 2
DB_NAME = "history.sqlite"

# Columns whose edits are not "changes" for DATA-CHANGED-CLOSED: staff are asked to explain
# flags after the fact, and notes are free text.
HISTORY_IGNORED_COLUMNS = frozenset({"explanation", "note"})

# The released v1 schema, verbatim. Never edit: later changes go into MIGRATIONS.
_SCHEMA_V1 = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pulls (
    id INTEGER PRIMARY KEY,
    unit TEXT NOT NULL,
    pulled_at TEXT NOT NULL,
    as_of TEXT NOT NULL,
    version TEXT,
    own_write_version TEXT,
    raw BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS pulls_unit ON pulls (unit, id);
CREATE TABLE IF NOT EXISTS pull_rows (
    pull_id INTEGER NOT NULL REFERENCES pulls (id) ON DELETE CASCADE,
    tab TEXT NOT NULL,
    sheet_row INTEGER NOT NULL,
    keys TEXT NOT NULL,
    vals TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS pull_rows_pull ON pull_rows (pull_id, tab);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    command TEXT NOT NULL,
    started TEXT NOT NULL,
    finished TEXT,
    summary TEXT NOT NULL
);
"""

_SCHEMA_V2 = """
CREATE TABLE row_keys (
    id INTEGER PRIMARY KEY,
    unit TEXT NOT NULL,
    tab_id TEXT NOT NULL,
    tab TEXT NOT NULL,
    rkey TEXT NOT NULL,
    cols TEXT NOT NULL,
    ref TEXT NOT NULL,
    keys TEXT NOT NULL,
    period TEXT,
    cell TEXT,
    first_pull INTEGER NOT NULL,
    first_seen TEXT NOT NULL,
    last_pull INTEGER NOT NULL,
    last_seen TEXT NOT NULL,
    last_row INTEGER NOT NULL,
    replaced_by INTEGER REFERENCES row_keys (id) ON DELETE SET NULL,
    UNIQUE (unit, tab_id, rkey)
);
CREATE INDEX row_keys_last ON row_keys (unit, last_pull);
CREATE INDEX row_keys_ref ON row_keys (unit, ref);
CREATE TABLE row_versions (
    id INTEGER PRIMARY KEY,
    key_id INTEGER NOT NULL REFERENCES row_keys (id) ON DELETE CASCADE,
    vhash TEXT NOT NULL,
    vals TEXT NOT NULL,
    first_pull INTEGER NOT NULL,
    first_seen TEXT NOT NULL,
    last_pull INTEGER NOT NULL,
    last_seen TEXT NOT NULL,
    max_as_of TEXT NOT NULL,
    sheet_row INTEGER NOT NULL
);
CREATE INDEX row_versions_key ON row_versions (key_id, id);
CREATE TABLE acks (
    id INTEGER PRIMARY KEY,
    unit TEXT NOT NULL,
    rule TEXT NOT NULL,
    tab_id TEXT NOT NULL,
    rkey TEXT NOT NULL,
    state TEXT NOT NULL,
    vals TEXT,
    acked_at TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX acks_unit ON acks (unit, rule, tab_id, rkey);
CREATE INDEX pulls_pulled_at ON pulls (pulled_at);
"""


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def _migrate_2(conn: sqlite3.Connection) -> None:
    """v1 -> v2: key-indexed row history, acknowledgements; ``pull_rows`` is replaced.

    The index is rebuilt from every stored pull's raw grids (parsed with the current template),
    in pull order, exactly as ``record_pull`` builds it; ``pull_rows`` (raw values keyed by
    column id, one copy per pull) then holds nothing the raw grids and the index do not, and is
    dropped.
    """
    for sql in _statements(_SCHEMA_V2):
        conn.execute(sql)
    template = load_template()
    previous: dict[str, int] = {}
    ids = [r[0] for r in conn.execute("SELECT id FROM pulls ORDER BY id")]
    for pull_id in ids:
        unit, pulled_at, as_of, blob = conn.execute(
            "SELECT unit, pulled_at, as_of, raw FROM pulls WHERE id = ?", (pull_id,)).fetchone()
        data = parse_unit(template, load_raw(blob), unit, unit, date.fromisoformat(as_of))
        _index_pull(conn, unit, pull_id, pulled_at, as_of, index_unit(data),
                    previous.get(unit))
        previous[unit] = pull_id
    conn.execute("DROP TABLE IF EXISTS pull_rows")


# (target version, migration). Each runs inside the upgrade transaction.
MIGRATIONS: list[tuple[int, Callable[[sqlite3.Connection], None]]] = [
    (2, _migrate_2),
]


# --- JSON for raw cell values (dates and times tagged) -----------------------------------------

def _encode(v: Any) -> Any:
    if isinstance(v, datetime):
        return {"dt": v.isoformat()}
    if isinstance(v, date):
        return {"d": v.isoformat()}
    if isinstance(v, time):
        return {"t": v.isoformat()}
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    return str(v)


def _decode(v: Any) -> Any:
    if isinstance(v, dict):
        if "dt" in v:
            return datetime.fromisoformat(v["dt"])
        if "d" in v:
            return date.fromisoformat(v["d"])
        if "t" in v:
            return time.fromisoformat(v["t"])
    return v


def dump_raw(raw: RawWorkbook) -> bytes:
    doc = {"version": raw.version,
           "sheets": [{"title": s.title, "rows": [[_encode(v) for v in r] for r in s.rows]}
                      for s in raw.sheets],
           "meta": {k: v for k, v in raw.meta.items() if isinstance(v, (str, int, float, dict))}}
    # ASCII JSON: a lone surrogate a cell may hold is escaped instead of failing to encode.
    return zlib.compress(json.dumps(doc).encode("ascii"))


def load_raw(blob: bytes) -> RawWorkbook:
    doc = json.loads(zlib.decompress(blob).decode("utf-8"))
    sheets = [RawSheet(s["title"], [[_decode(v) for v in r] for r in s["rows"]])
              for s in doc["sheets"]]
    return RawWorkbook(sheets, doc.get("version"), doc.get("meta") or {})


# --- key index: canonical keys and values of every data row -----------------------------------

def _canon(column, parsed: Any, raw: Any) -> Any:
    """A JSON value equal for equal cell contents, whatever their spelling or backend
    (a date typed as text or as a serial number, "tot" and "Tốt", "CB01" and "cb01")."""
    if parsed is None:
        if is_empty(raw):
            return column.blank  # "Loại sinh hoạt" blank = Thường kỳ; None elsewhere
        return "?" + normalize(str(raw))  # unreadable: compared as typed
    if isinstance(parsed, str):
        return normalize(parsed)
    if isinstance(parsed, (datetime, date, time)):
        return parsed.isoformat()
    if isinstance(parsed, float) and parsed.is_integer():
        return int(parsed)
    return parsed


def _display(tab, col_id: str, i: int) -> str:
    if tab.values.get(col_id, [None] * len(tab.rows))[i] is not None:
        return tab.display(col_id, i)
    raw = tab.raw.get(col_id, [None] * len(tab.rows))[i]
    return "" if is_empty(raw) else display_raw(raw)


class IndexedRow:
    """One data row of a tab, identified by its canonical key values."""

    __slots__ = ("index", "sheet_row", "rkey", "keys", "period", "cell", "vhash", "canon",
                 "_tab", "_vals")

    def __init__(self, tab, index: int, sheet_row: int, rkey: str, keys: list,
                 period: str | None, cell: str | None, vhash: str, canon: dict):
        self.index = index  # row index in the TabData
        self.sheet_row = sheet_row
        self.rkey = rkey  # canonical key values (JSON), "#n" appended for the n-th duplicate
        self.keys = keys  # [[header, display], ...] in key order
        self.period = period
        self.cell = cell
        self.vhash = vhash  # hash of ``canon``
        self.canon = canon  # column id -> canonical value (non-empty, ignored columns left out)
        self._tab = tab
        self._vals: dict | None = None

    @property
    def vals(self) -> dict:
        """column id -> [canonical, display] (display computed on demand: it is costly and
        only needed for a new version or a message)."""
        if self._vals is None:
            self._vals = {c: [v, _display(self._tab, c, self.index)] for c, v in self.canon.items()}
        return self._vals


@dataclass(slots=True)
class IndexedTab:
    tab_id: str
    name: str
    cols: str  # the key columns present, comma-joined
    rows: list[IndexedRow]


def index_unit(data: UnitData) -> dict[str, IndexedTab]:
    """The key index of every tab found in a parsed unit (tab id -> rows); computed once per
    parsed unit (recording a pull and its history findings both need it)."""
    if data.key_index is None:
        data.key_index = _index_tabs(data)
    return data.key_index


def _index_tabs(data: UnitData) -> dict[str, IndexedTab]:
    out: dict[str, IndexedTab] = {}
    for tab_id, tab in data.tabs.items():
        key_cols = [k for k in tab.tab.key_columns() if tab.has(k)]
        val_cols = [c for c in tab.raw if c not in HISTORY_IGNORED_COLUMNS]
        columns = {c: tab.tab.column(c) for c in tab.raw}
        headers = [columns[c].header for c in key_cols]
        rows: list[IndexedRow] = []
        seen: dict[str, int] = {}
        for i, sheet_row in enumerate(tab.rows):
            canon = {c: _canon(columns[c], tab.values[c][i], tab.raw[c][i]) for c in val_cols}
            keyvals = [canon[c] if c in canon else
                       _canon(columns[c], tab.values[c][i], tab.raw[c][i]) for c in key_cols]
            base = json.dumps(keyvals)
            n = seen.get(base, 0) + 1
            seen[base] = n
            rkey = base if n == 1 else f"{base}#{n}"
            canon = {c: v for c, v in canon.items() if v is not None}
            vhash = hashlib.sha1(json.dumps(canon, sort_keys=True)
                                 .encode()).hexdigest()
            keys = [[h, _display(tab, c, i)] for h, c in zip(headers, key_cols)]
            rows.append(IndexedRow(tab, i, sheet_row, rkey, keys, tab.period(i),
                                   tab.cell_code(i), vhash, canon))
        out[tab_id] = IndexedTab(tab_id, tab.tab.name, ",".join(key_cols), rows)
    return out


def row_ref(unit: str, tab_id: str, rkey: str) -> str:
    """The short reference shown in findings and used by ``history ack --key``."""
    return hashlib.sha1(f"{unit}\x1f{tab_id}\x1f{rkey}".encode()).hexdigest()[:10]


def pair_replacements(gone: Iterable[tuple[Any, str, str, int, str | None, str | None]],
                      new: Iterable[tuple[Any, str, str, int, str | None, str | None]]
                      ) -> dict[Any, Any]:
    """Keys edited in place (each tuple: id, tab_id, cols, row, period, cell).

    A key gone since the previous pull and a new key are the same row edited when they share
    the tab, key columns, period and cell and either sit at the same sheet row, or (rows may
    have moved in the same interval) are the only gone and the only new key of that tab, period
    and cell. Rows without a period need the same sheet row. Only one-to-one matches are
    paired. Returns gone id -> new id."""
    def group(items, with_row: bool):
        out: dict[tuple, list] = {}
        for ident, tab, cols, row, period, cell in items:
            if with_row or period is not None:
                out.setdefault((tab, cols, period, cell) + ((row,) if with_row else ()),
                               []).append(ident)
        return out

    gone, new = list(gone), list(new)
    pairs: dict[Any, Any] = {}
    for with_row in (True, False):
        old_by = group([g for g in gone if g[0] not in pairs], with_row)
        taken = set(pairs.values())
        new_by = group([n for n in new if n[0] not in taken], with_row)
        for where, olds in old_by.items():
            if len(olds) == 1 and len(new_by.get(where, ())) == 1:
                pairs[olds[0]] = new_by[where][0]
    return pairs


def _index_pull(conn: sqlite3.Connection, unit: str, pull_id: int, pulled_at: str, as_of: str,
                tabs: dict[str, IndexedTab], previous_pull: int | None) -> None:
    existing = {(t, k): i for i, t, k in conn.execute(
        "SELECT id, tab_id, rkey FROM row_keys WHERE unit = ?", (unit,))}
    latest = {key_id: (vid, vhash) for key_id, vid, vhash in conn.execute(
        "SELECT v.key_id, v.id, v.vhash FROM row_versions v JOIN row_keys k ON k.id = v.key_id "
        "WHERE k.unit = ? AND v.id = (SELECT max(id) FROM row_versions WHERE key_id = v.key_id)",
        (unit,))}
    new: list[tuple] = []
    for tab in tabs.values():
        for r in tab.rows:
            keys = json.dumps(r.keys)
            key_id = existing.get((tab.tab_id, r.rkey))
            if key_id is None:
                key_id = conn.execute(
                    "INSERT INTO row_keys (unit, tab_id, tab, rkey, cols, ref, keys, period, cell,"
                    " first_pull, first_seen, last_pull, last_seen, last_row)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (unit, tab.tab_id, tab.name, r.rkey, tab.cols,
                     row_ref(unit, tab.tab_id, r.rkey), keys, r.period, r.cell, pull_id,
                     pulled_at, pull_id, pulled_at, r.sheet_row)).lastrowid
                existing[(tab.tab_id, r.rkey)] = key_id
                new.append((key_id, tab.tab_id, tab.cols, r.sheet_row, r.period, r.cell))
            else:
                conn.execute(
                    "UPDATE row_keys SET tab = ?, keys = ?, period = ?, cell = ?, last_pull = ?,"
                    " last_seen = ?, last_row = ? WHERE id = ?",
                    (tab.name, keys, r.period, r.cell, pull_id, pulled_at, r.sheet_row, key_id))
            last = latest.get(key_id)
            if last is not None and last[1] == r.vhash:
                conn.execute(
                    "UPDATE row_versions SET last_pull = ?, last_seen = ?, sheet_row = ?,"
                    " max_as_of = max(max_as_of, ?) WHERE id = ?",
                    (pull_id, pulled_at, r.sheet_row, as_of, last[0]))
            else:
                vid = conn.execute(
                    "INSERT INTO row_versions (key_id, vhash, vals, first_pull, first_seen,"
                    " last_pull, last_seen, max_as_of, sheet_row)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (key_id, r.vhash, json.dumps(r.vals), pull_id, pulled_at,
                     pull_id, pulled_at, as_of, r.sheet_row)).lastrowid
                latest[key_id] = (vid, r.vhash)
    if previous_pull is None or not new:
        return
    gone = conn.execute(
        "SELECT id, tab_id, cols, last_row, period, cell FROM row_keys"
        " WHERE unit = ? AND last_pull = ? AND replaced_by IS NULL", (unit, previous_pull)
    ).fetchall()
    for old, replacement in pair_replacements(gone, new).items():
        conn.execute("UPDATE row_keys SET replaced_by = ? WHERE id = ?", (replacement, old))


# --- records -------------------------------------------------------------------------------------

@dataclass
class StoredPull:
    id: int
    unit: str
    pulled_at: datetime
    as_of: date
    version: str | None
    own_write_version: str | None
    raw: RawWorkbook


@dataclass(frozen=True)
class PullInfo:
    id: int
    unit: str
    pulled_at: datetime
    as_of: date


@dataclass(frozen=True)
class KnownRow:
    id: int
    tab_id: str
    tab: str
    rkey: str
    cols: str
    ref: str
    keys: list
    period: str | None
    cell: str | None
    first_pull: int
    first_seen: datetime
    last_pull: int
    last_seen: datetime
    last_row: int
    replaced_by: int | None


@dataclass(frozen=True)
class RowVersion:
    id: int
    key_id: int
    vhash: str
    vals: dict
    first_pull: int
    first_seen: datetime
    last_pull: int
    last_seen: datetime
    max_as_of: date
    sheet_row: int


@dataclass(frozen=True)
class Ack:
    id: int
    unit: str
    rule: str
    tab_id: str
    rkey: str
    state: str
    vals: dict | None
    acked_at: datetime
    note: str


class Store:
    """``with Store.open(state_dir) as store: ...``"""

    def __init__(self, conn: sqlite3.Connection, path: Path | None = None):
        self.conn = conn
        self.path = path

    @classmethod
    def open(cls, state_dir: Path) -> Store:
        """Open (creating or upgrading) the store of a state folder."""
        state_dir = Path(state_dir)
        state_dir.mkdir(parents=True, exist_ok=True)
        path = state_dir / DB_NAME
        try:
            conn = sqlite3.connect(path, timeout=60)
        except sqlite3.Error as e:
            raise _store_error(e, path) from None
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA journal_mode = WAL")
            store = cls(conn, path)
            store._upgrade()
        except sqlite3.DatabaseError as e:
            conn.close()
            if isinstance(e, sqlite3.OperationalError) and "locked" in str(e):
                raise
            raise _store_error(e, path) from None
        except BaseException:
            conn.close()
            raise
        return store

    @classmethod
    def open_readonly(cls, state_dir: Path) -> Store | None:
        """The store for reading only (``--dry-run``, ``--no-history``): None when there is
        none yet or it still needs an upgrade (only a writing open upgrades)."""
        path = Path(state_dir) / DB_NAME
        if not path.exists():
            return None
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=60)
        store = cls(conn, path)
        try:
            if store.schema_version() != SCHEMA_VERSION:
                conn.close()
                return None
        except sqlite3.DatabaseError:
            conn.close()
            return None
        return store

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.conn.close()

    # --- schema ------------------------------------------------------------------------------

    def schema_version(self) -> int:
        tables = {r[0] for r in self.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "meta" not in tables:
            return 1 if "pulls" in tables else 0
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row[0]) if row else (1 if "pulls" in tables else 0)

    def _upgrade(self) -> None:
        version = self.schema_version()
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise SheetsSyncError(
                f"Kho lịch sử {self.path} do phiên bản mới hơn của sheets-sync tạo "
                f"(lược đồ v{version}, phiên bản này chỉ đọc được đến v{SCHEMA_VERSION}); "
                "hãy cập nhật sheets-sync.")
        if version >= 1:
            self._backup(version)
        conn = self.conn
        conn.isolation_level = None  # explicit transaction: DDL and data move together
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                version = self.schema_version()  # another process may have upgraded meanwhile
                if version == 0:
                    for sql in _statements(_SCHEMA_V1):
                        conn.execute(sql)
                    conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', '1')")
                    version = 1
                for target, migrate in MIGRATIONS:
                    if target > version:
                        migrate(conn)
                        conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)",
                                     (str(target),))
                        version = target
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:  # SQLite already rolled back after "disk is full"
                    conn.execute("ROLLBACK")
                raise
        finally:
            conn.isolation_level = "DEFERRED"  # sqlite3's default: a plain BEGIN

    def _backup(self, version: int) -> Path | None:
        if self.path is None or not self.conn.execute("SELECT 1 FROM pulls LIMIT 1").fetchone():
            return None
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        target = self.path.with_name(f"history-v{version}-backup-{stamp}.sqlite")
        n = 1
        while target.exists():
            n += 1
            target = self.path.with_name(f"history-v{version}-backup-{stamp}-{n}.sqlite")
        dest = sqlite3.connect(target)
        try:
            self.conn.backup(dest)
        finally:
            dest.close()
        return target

    # --- pulls -------------------------------------------------------------------------------

    def record_pull(self, unit: str, raw: RawWorkbook, data: UnitData, pulled_at: datetime,
                    as_of: date) -> int:
        """Store a pull and index its rows by key (one transaction)."""
        at = pulled_at.isoformat(timespec="seconds")
        tabs = index_unit(data)
        with self.conn:
            previous = self.conn.execute("SELECT max(id) FROM pulls WHERE unit = ?",
                                         (unit,)).fetchone()[0]
            cur = self.conn.execute(
                "INSERT INTO pulls (unit, pulled_at, as_of, version, raw) VALUES (?, ?, ?, ?, ?)",
                (unit, at, as_of.isoformat(), raw.version, dump_raw(raw)))
            pull_id = cur.lastrowid
            assert pull_id is not None  # set by the INSERT
            _index_pull(self.conn, unit, pull_id, at, as_of.isoformat(), tabs, previous)
        return pull_id

    def set_own_write_version(self, pull_id: int, version: str | None,
                              raw: RawWorkbook) -> None:
        """After our own write: the version it produced and the grids as written."""
        with self.conn:
            self.conn.execute("UPDATE pulls SET own_write_version = ?, raw = ? WHERE id = ?",
                              (version, dump_raw(raw), pull_id))

    def last_pull(self, unit: str) -> StoredPull | None:
        row = self.conn.execute(
            "SELECT id, unit, pulled_at, as_of, version, own_write_version, raw FROM pulls "
            "WHERE unit = ? ORDER BY id DESC LIMIT 1", (unit,)).fetchone()
        if row is None:
            return None
        return StoredPull(row[0], row[1], datetime.fromisoformat(row[2]),
                          date.fromisoformat(row[3]), row[4], row[5], load_raw(row[6]))

    def last_versions(self, unit: str) -> tuple[str, ...]:
        """The Drive versions of the last pull: the one read and the one our own write made
        (either may be absent); empty when the unit was never pulled."""
        row = self.conn.execute(
            "SELECT version, own_write_version FROM pulls WHERE unit = ? ORDER BY id DESC "
            "LIMIT 1", (unit,)).fetchone()
        return () if row is None else tuple(v for v in row if v is not None)

    def last_pull_info(self, unit: str) -> PullInfo | None:
        row = self.conn.execute(
            "SELECT id, unit, pulled_at, as_of FROM pulls WHERE unit = ? ORDER BY id DESC LIMIT 1",
            (unit,)).fetchone()
        return None if row is None else _pull_info(row)

    def pulls(self, unit: str | None = None) -> list[PullInfo]:
        sql = "SELECT id, unit, pulled_at, as_of FROM pulls"
        args: tuple = ()
        if unit is not None:
            sql += " WHERE unit = ?"
            args = (unit,)
        return [_pull_info(r) for r in self.conn.execute(sql + " ORDER BY id", args)]

    # --- key index ---------------------------------------------------------------------------

    def known_rows(self, unit: str) -> list[KnownRow]:
        return [KnownRow(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]), r[7], r[8], r[9],
                         datetime.fromisoformat(r[10]), r[11], datetime.fromisoformat(r[12]),
                         r[13], r[14])
                for r in self.conn.execute(
                    "SELECT id, tab_id, tab, rkey, cols, ref, keys, period, cell, first_pull,"
                    " first_seen, last_pull, last_seen, last_row, replaced_by FROM row_keys"
                    " WHERE unit = ? ORDER BY id", (unit,))]

    def row_versions(self, unit: str) -> dict[int, list[RowVersion]]:
        """key id -> its versions, oldest first."""
        out: dict[int, list[RowVersion]] = {}
        for r in self.conn.execute(
                "SELECT v.id, v.key_id, v.vhash, v.vals, v.first_pull, v.first_seen, v.last_pull,"
                " v.last_seen, v.max_as_of, v.sheet_row FROM row_versions v"
                " JOIN row_keys k ON k.id = v.key_id WHERE k.unit = ? ORDER BY v.id", (unit,)):
            out.setdefault(r[1], []).append(RowVersion(
                r[0], r[1], r[2], json.loads(r[3]), r[4], datetime.fromisoformat(r[5]), r[6],
                datetime.fromisoformat(r[7]), date.fromisoformat(r[8]), r[9]))
        return out

    # --- acknowledgements --------------------------------------------------------------------

    def acks(self, unit: str) -> list[Ack]:
        return [Ack(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]) if r[6] else None,
                    datetime.fromisoformat(r[7]), r[8])
                for r in self.conn.execute(
                    "SELECT id, unit, rule, tab_id, rkey, state, vals, acked_at, note FROM acks"
                    " WHERE unit = ? ORDER BY id", (unit,))]

    def add_acks(self, unit: str, items: Iterable[tuple[str, str, str, str, dict | None]],
                 acked_at: datetime, note: str = "") -> int:
        """items: (rule, tab_id, rkey, state, vals)."""
        rows = [(unit, rule, tab_id, rkey, state,
                 json.dumps(vals) if vals is not None else None,
                 acked_at.isoformat(timespec="seconds"), note)
                for rule, tab_id, rkey, state, vals in items]
        with self.conn:
            self.conn.executemany(
                "INSERT INTO acks (unit, rule, tab_id, rkey, state, vals, acked_at, note)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        return len(rows)

    # --- retention ---------------------------------------------------------------------------

    def prune(self, retention_days: int, now: datetime | None = None,
              since: datetime | None = None) -> dict[str, int]:
        """Delete pulls and run records older than ``retention_days`` days, always keeping each
        unit's last pull (its raw grids are the fallback for stale units and `rollup`). Row keys
        last seen before the cutoff (and not in a unit's last pull) and row versions that ended
        before it go too; acknowledgements of deleted keys with them.

        The clock is not trusted: with ``since`` (the current run's start), the cutoff counts
        back from the newest pull stored *before* this run, or from ``now`` when that is
        earlier. A clock jumped forward (say to 2031 for one run) therefore deletes nothing that
        the correct clock would have kept — neither in that run nor in the next one, whose
        ``now`` is correct again while the stored 2031 pulls are newer."""
        if retention_days < 0:
            raise ValueError("retention_days must be >= 0")
        reference = now or datetime.now()
        if since is not None:
            before = self.conn.execute("SELECT max(pulled_at) FROM pulls WHERE pulled_at < ?",
                                       (since.isoformat(timespec="seconds"),)).fetchone()[0]
            if before is not None:
                reference = min(reference, datetime.fromisoformat(before))
        cutoff = (reference - timedelta(days=retention_days)).isoformat(timespec="seconds")
        last = "SELECT max(id) FROM pulls GROUP BY unit"
        with self.conn:
            pulls = self.conn.execute(
                f"DELETE FROM pulls WHERE pulled_at < ? AND id NOT IN ({last})", (cutoff,)
            ).rowcount
            keys = self.conn.execute(
                f"DELETE FROM row_keys WHERE last_seen < ? AND last_pull NOT IN ({last})",
                (cutoff,)).rowcount
            versions = self.conn.execute(
                "DELETE FROM row_versions WHERE last_seen < ? AND id NOT IN"
                " (SELECT max(id) FROM row_versions GROUP BY key_id)", (cutoff,)).rowcount
            acks = self.conn.execute(
                "DELETE FROM acks WHERE rkey != '*' AND NOT EXISTS (SELECT 1 FROM row_keys k"
                " WHERE k.unit = acks.unit AND k.tab_id = acks.tab_id AND k.rkey = acks.rkey)"
            ).rowcount
            runs = self.conn.execute("DELETE FROM runs WHERE started < ?", (cutoff,)).rowcount
        return {"pulls": pulls, "row_keys": keys, "row_versions": versions, "acks": acks,
                "runs": runs}

    # --- runs --------------------------------------------------------------------------------

    def record_run(self, command: str, started: datetime, finished: datetime,
                   summary: dict) -> int:
        with self.conn:
            cur = self.conn.execute(
                "INSERT INTO runs (command, started, finished, summary) VALUES (?, ?, ?, ?)",
                (command, started.isoformat(timespec="seconds"),
                 finished.isoformat(timespec="seconds"), json.dumps(summary)))
        assert cur.lastrowid is not None  # set by the INSERT
        return cur.lastrowid

    def runs(self, limit: int = 10) -> list[dict]:
        out = []
        for rid, command, started, finished, summary in self.conn.execute(
                "SELECT id, command, started, finished, summary FROM runs ORDER BY id DESC LIMIT ?",
                (limit,)):
            out.append({"id": rid, "command": command, "started": started, "finished": finished,
                        **json.loads(summary)})
        return out


def _pull_info(row) -> PullInfo:
    return PullInfo(row[0], row[1], datetime.fromisoformat(row[2]), date.fromisoformat(row[3]))


def _store_error(e: sqlite3.Error, path: Path) -> SheetsSyncError:
    """The operator's message for an SQLite failure: a full disk or a read-only folder names
    the folder and what to do; a damaged database is left untouched (``history repair``)."""
    known = sqlite_error(e, path)
    if known is not None:
        return known
    if _damaged(path):  # e.g. "table ... already exists": the schema pages are garbage
        return HistoryDamaged(damaged_message(path))
    return SheetsSyncError(f"Kho lịch sử {path} báo lỗi ({type(e).__name__}: {e}). Tệp được giữ "
                           "nguyên; hãy chạy 'sheets-sync history repair' nếu lỗi lặp lại.")


def _damaged(path: Path) -> bool:
    """SQLite's own quick check fails (only called after an unexplained error)."""
    try:
        conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True, timeout=10)
    except sqlite3.Error:
        return False
    try:
        return conn.execute("PRAGMA quick_check(1)").fetchone()[0] != "ok"
    except sqlite3.DatabaseError:
        return True
    finally:
        conn.close()


class GuardedStore(Store):
    """The store as the jobs use it: a damaged database never stops a job.

    ``guard`` gives a store whose ``damaged`` is the reason (Vietnamese) when the database is
    damaged — found when opening or by any later query. From then on nothing is read from or
    written to it (every method answers "nothing stored"), the file is left untouched, and the
    job checks and writes from the sheets alone (the history rules are reported unavailable).
    A full disk or a read-only folder raises ``StateFolderError``."""

    damaged: str | None = None

    @classmethod
    def guard(cls, state_dir: Path, readonly: bool = False) -> GuardedStore | None:
        """The store of a state folder (created or upgraded unless ``readonly``; None when
        ``readonly`` and there is none yet)."""
        path = Path(state_dir) / DB_NAME
        try:
            if readonly:
                plain = Store.open_readonly(state_dir)
                if plain is None:
                    return None
            else:
                plain = Store.open(state_dir)
        except HistoryDamaged as e:
            store = cls(None, path)  # type: ignore[arg-type]  # no connection: nothing is read
            store.damaged = str(e)
            return store
        return cls(plain.conn, plain.path)

    def __enter__(self) -> GuardedStore:
        return self

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


_NEUTRAL: dict[str, Any] = {
    "record_pull": None, "set_own_write_version": None, "last_pull": None,
    "last_versions": (), "last_pull_info": None, "pulls": [], "known_rows": [],
    "row_versions": {}, "acks": [], "add_acks": 0, "prune": {}, "record_run": None, "runs": [],
}


def _guarded(name: str) -> Callable[..., Any]:
    method = getattr(Store, name)

    def call(self: GuardedStore, *args: Any, **kwargs: Any) -> Any:
        if self.damaged or self.conn is None:
            return copy_neutral(name)
        try:
            return method(self, *args, **kwargs)
        except sqlite3.DatabaseError as e:
            if sqlite_kind(e) != "damaged":
                mapped = _store_error(e, self.path or Path(DB_NAME))
                if isinstance(e, sqlite3.OperationalError) and "locked" in str(e):
                    raise
                raise mapped from None
            self.damaged = damaged_message(self.path or DB_NAME)
            logging.getLogger(__name__).warning(f"Kho lịch sử bị hỏng ({e}) khi gọi {name}.")
            return copy_neutral(name)

    call.__name__ = name
    call.__doc__ = method.__doc__
    return call


def copy_neutral(name: str) -> Any:
    value = _NEUTRAL[name]
    return type(value)() if isinstance(value, (list, dict)) else value


for _name in _NEUTRAL:
    setattr(GuardedStore, _name, _guarded(_name))

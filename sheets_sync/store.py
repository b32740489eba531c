"""History store (SQLite in the state folder): every pull of a unit and every run's summary.

A pull keeps the unit's raw grids (compressed JSON, so `rollup` and stale units can be rebuilt
without opening the spreadsheets) and one row per data row (tab, sheet row, key values, values)
for history queries and the History rules.
"""
from __future__ import annotations

import json
import sqlite3
import zlib
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Iterator

from .backends.base import RawSheet, RawWorkbook
from .workbook import UnitData

SCHEMA_VERSION = 1
DB_NAME = "history.sqlite"

_SCHEMA = """
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
    return zlib.compress(json.dumps(doc, ensure_ascii=False).encode("utf-8"))


def load_raw(blob: bytes) -> RawWorkbook:
    doc = json.loads(zlib.decompress(blob).decode("utf-8"))
    sheets = [RawSheet(s["title"], [[_decode(v) for v in r] for r in s["rows"]])
              for s in doc["sheets"]]
    return RawWorkbook(sheets, doc.get("version"), doc.get("meta") or {})


@dataclass
class StoredPull:
    id: int
    unit: str
    pulled_at: datetime
    as_of: date
    version: str | None
    own_write_version: str | None
    raw: RawWorkbook


class Store:
    """``with Store.open(state_dir) as store: ...``"""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    @classmethod
    def open(cls, state_dir: Path) -> "Store":
        state_dir.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(state_dir / DB_NAME)
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.executescript(_SCHEMA)
        conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        conn.commit()
        return cls(conn)

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.conn.close()

    # --- pulls -------------------------------------------------------------------------------

    def record_pull(self, unit: str, raw: RawWorkbook, data: UnitData, pulled_at: datetime,
                    as_of: date) -> int:
        with self.conn:
            cur = self.conn.execute(
                "INSERT INTO pulls (unit, pulled_at, as_of, version, raw) VALUES (?, ?, ?, ?, ?)",
                (unit, pulled_at.isoformat(timespec="seconds"), as_of.isoformat(), raw.version,
                 dump_raw(raw)))
            pull_id = cur.lastrowid
            self.conn.executemany(
                "INSERT INTO pull_rows (pull_id, tab, sheet_row, keys, vals) VALUES (?, ?, ?, ?, ?)",
                ((pull_id, *row) for row in _rows_of(data)))
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

    def pull_rows(self, pull_id: int, tab: str | None = None) -> list[tuple[str, int, dict, dict]]:
        sql = "SELECT tab, sheet_row, keys, vals FROM pull_rows WHERE pull_id = ?"
        args: tuple = (pull_id,)
        if tab is not None:
            sql += " AND tab = ?"
            args += (tab,)
        return [(t, r, json.loads(k), json.loads(v))
                for t, r, k, v in self.conn.execute(sql + " ORDER BY tab, sheet_row", args)]

    # --- runs --------------------------------------------------------------------------------

    def record_run(self, command: str, started: datetime, finished: datetime,
                   summary: dict) -> int:
        with self.conn:
            cur = self.conn.execute(
                "INSERT INTO runs (command, started, finished, summary) VALUES (?, ?, ?, ?)",
                (command, started.isoformat(timespec="seconds"),
                 finished.isoformat(timespec="seconds"), json.dumps(summary, ensure_ascii=False)))
        return cur.lastrowid

    def runs(self, limit: int = 10) -> list[dict]:
        out = []
        for rid, command, started, finished, summary in self.conn.execute(
                "SELECT id, command, started, finished, summary FROM runs ORDER BY id DESC LIMIT ?",
                (limit,)):
            out.append({"id": rid, "command": command, "started": started, "finished": finished,
                        **json.loads(summary)})
        return out


def _rows_of(data: UnitData) -> Iterator[tuple[str, int, str, str]]:
    """(tab name, sheet row, keys JSON, values JSON) for every data row."""
    for tab in data.tabs.values():
        keys = [k for k in tab.tab.key_columns() if tab.has(k)]
        cols = list(tab.raw)
        for i, sheet_row in enumerate(tab.rows):
            k = {c: _encode(tab.raw[c][i]) for c in keys}
            v = {c: _encode(tab.raw[c][i]) for c in cols if tab.raw[c][i] not in (None, "")}
            yield (tab.tab.name, sheet_row, json.dumps(k, ensure_ascii=False),
                   json.dumps(v, ensure_ascii=False))


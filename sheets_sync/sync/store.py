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

Per row only what cannot be derived is stored (schema v4, ``_SCHEMA_V4``): a key names its unit
and tab through ``key_tabs`` and its tab name and key columns through ``key_labels``; times are
integers; a name is stored as typed (its canonical value is its normalized form).

Schema changes are migrations: ``_SCHEMA_V1`` is the first schema exactly as released, and every
later version is one entry of ``MIGRATIONS``. A new database runs the same path (v1 DDL, then
every migration; a v1 store's key index is then rebuilt from its pulls), so the upgrade path
is the one that is always exercised. A store written by a
newer version is refused rather than damaged. Before upgrading a store that holds data, a copy is
saved next to it (``history-v<N>-backup-<timestamp>.sqlite``).
"""
from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import zlib
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import partial
from itertools import repeat
from operator import eq, itemgetter
from pathlib import Path
from typing import Any

import orjson

from ..core import jsonread
from ..core.errors import HistoryDamaged, SheetsSyncError
from ..core.faults import damaged_message, sqlite_error, sqlite_kind
from ..core.grid import TabData, UnitData, display_value, parse_unit
from ..core.raw import RawSheet, RawWorkbook
from ..core.template import load_template
from ..core.text import normalize
from ..core.values import display_raw, format_value, is_empty

SCHEMA_VERSION = 5
DB_NAME = "history.sqlite"
# SQLite's page cache per connection (negative: KiB; SQLite's default is 2 MB). Recording a
# big unit's pull moves a hundred thousand keys and versions on to it: with 2 MB of cache the
# transaction spills its pages to the write-ahead log as it goes (1.0 s; 0.6 s with 32 MB).
# Used as needed, up to this.
CACHE_SIZE = -32768

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

    ``pull_rows`` (raw values keyed by column id, one copy per pull) holds nothing the raw grids
    do not, and is dropped. The key index is left empty here: once every migration has run,
    ``Store._upgrade`` rebuilds it from every stored pull's raw grids, in pull order, with
    ``record_pull``'s own code (``_reindex_pulls``), so it is written as the current schema
    wants it.
    """
    for sql in _statements(_SCHEMA_V2):
        conn.execute(sql)
    conn.execute("DROP TABLE IF EXISTS pull_rows")


def _reindex_pulls(conn: sqlite3.Connection) -> None:
    """The key index of every stored pull, rebuilt from its raw grids (parsed with the current
    template) in pull order, exactly as ``record_pull`` builds it (a store upgraded from v1)."""
    template = load_template()
    previous: dict[str, int] = {}
    ids = [r[0] for r in conn.execute("SELECT id FROM pulls ORDER BY id")]
    for pull_id in ids:
        unit, pulled_at, as_of, blob = conn.execute(
            "SELECT unit, pulled_at, as_of, raw FROM pulls WHERE id = ?", (pull_id,)).fetchone()
        data = parse_unit(template, load_raw(blob), unit, unit, date.fromisoformat(as_of))
        _index_pull(conn, unit, pull_id, datetime.fromisoformat(pulled_at),
                    date.fromisoformat(as_of), index_unit(data), previous.get(unit),
                    _select_rows(conn, unit))
        previous[unit] = pull_id


_SCHEMA_V3 = """
CREATE TABLE IF NOT EXISTS unit_history_cache (
    unit TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    findings TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS value_layouts (id INTEGER PRIMARY KEY, cols TEXT NOT NULL);
DROP INDEX IF EXISTS row_keys_ref
"""


def _migrate_3(conn: sqlite3.Connection) -> None:
    """v2 -> v3: compact canonical values, unchanged local files, cached history findings.

    * ``pulls`` gains ``fingerprint`` (a local file's size, mtime and SHA-256: an unchanged file
      is not stored again), ``seen_at`` / ``seen_as_of`` (when such a file was last read again:
      the keys and versions of that pull count as seen then).
    * Row keys (``row_keys.rkey``, ``acks.rkey``) are rewritten as compact JSON (no escaped
      Unicode, no spaces) and value hashes (``row_versions.vhash``, the state of DATA-CHANGED-
      CLOSED acknowledgements) recomputed from the stored canonical values with ``vhash_of``;
      new versions store their values compactly (``vals_entry``). Older ``vals`` and ``keys``
      forms stay readable as they are.
    * ``unit_history_cache``: the history findings of a unit, reused while neither the unit's
      stored history nor its data changed.
    * The index on ``row_keys.ref`` goes: references are matched in Python (``history ack``),
      never looked up by SQL.
    * (Both new tables sort after ``pulls`` and the key index by name, so that a dump that
      stops at a damaged page of theirs — ``history repair`` — has already kept the pulls.)
    * ``value_layouts``: the column ids of positional values: a version's ``vals`` is then
      ``[layout id, value, …]`` (each value canonical, or ``[canonical, display]``), a row
      key's ``keys`` is "" when its displays follow from its canonical key values.
    """
    # Columns added only when missing: a store recovered by `history repair` from a v3 file
    # is migrated again from v1 (its key index rebuilt) with these columns already there.
    have = {r[1] for r in conn.execute("PRAGMA table_info(pulls)")}
    for column in ("fingerprint", "seen_at", "seen_as_of"):
        if column not in have:
            conn.execute(f"ALTER TABLE pulls ADD COLUMN {column} TEXT")
    for sql in _statements(_SCHEMA_V3):
        conn.execute(sql)
    conn.execute("DELETE FROM unit_history_cache")  # the index may have been rebuilt: recompute
    conn.executemany("UPDATE row_keys SET rkey = ? WHERE id = ?", [
        (new, i) for i, rkey in conn.execute("SELECT id, rkey FROM row_keys").fetchall()
        if (new := compact_rkey(rkey)) != rkey])
    conn.executemany("UPDATE acks SET rkey = ? WHERE id = ?", [
        (new, i) for i, rkey in conn.execute("SELECT id, rkey FROM acks").fetchall()
        if (new := compact_rkey(rkey)) != rkey])
    layouts = {i: cols.split(",") if cols else []
               for i, cols in conn.execute("SELECT id, cols FROM value_layouts")}
    conn.executemany("UPDATE row_versions SET vhash = ? WHERE id = ?", [
        (vhash_of(canon_of_vals(json.loads(vals), layouts.__getitem__)), i)
        for i, vals in conn.execute("SELECT id, vals FROM row_versions").fetchall()])
    conn.executemany("UPDATE acks SET state = ? WHERE id = ?", [
        (vhash_of(canon_of_vals(json.loads(vals), layouts.__getitem__)), i)
        for i, vals in conn.execute(
            "SELECT id, vals FROM acks WHERE rule = 'DATA-CHANGED-CLOSED' AND vals IS NOT NULL"
        ).fetchall()])


# Schema v4: what a key or a version holds per row, without what can be derived. The unit,
# tab id, tab name and key columns of a key are two small integers (``key_tabs``: one row per
# unit and tab; ``key_labels``: one row per tab name and key columns); times are integer
# seconds (``seconds_of``), as-of dates day ordinals, value hashes 64-bit integers; a key's
# short reference is computed when read (``row_ref``), and stored (``ref``) only for keys
# whose reference was given before their key text was made compact (schema v3), since a
# reference is never changed. A key is unique in its unit and tab by a 64-bit hash of its key
# text (``key_hash``: an index a fifth the size of one on the text; a collision would be
# refused, never merged); a unit's keys are found through that index, none on the last pull.
_SCHEMA_V4 = """
CREATE TABLE key_tabs (
    id INTEGER PRIMARY KEY,
    unit TEXT NOT NULL,
    tab_id TEXT NOT NULL,
    UNIQUE (unit, tab_id)
);
CREATE TABLE key_labels (
    id INTEGER PRIMARY KEY,
    tab TEXT NOT NULL,
    cols TEXT NOT NULL,
    UNIQUE (tab, cols)
);
CREATE TABLE row_keys_v4 (
    id INTEGER PRIMARY KEY,
    tab INTEGER NOT NULL REFERENCES key_tabs (id),
    khash INTEGER NOT NULL,
    label INTEGER NOT NULL REFERENCES key_labels (id),
    rkey TEXT NOT NULL,
    keys TEXT NOT NULL,
    period TEXT,
    cell TEXT,
    first_pull INTEGER NOT NULL,
    first_seen INTEGER NOT NULL,
    last_pull INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    last_row INTEGER NOT NULL,
    replaced_by INTEGER REFERENCES row_keys (id) ON DELETE SET NULL,
    ref TEXT,
    UNIQUE (tab, khash)
);
CREATE TABLE row_versions_v4 (
    id INTEGER PRIMARY KEY,
    key_id INTEGER NOT NULL REFERENCES row_keys (id) ON DELETE CASCADE,
    vhash INTEGER NOT NULL,
    vals TEXT NOT NULL,
    first_pull INTEGER NOT NULL,
    first_seen INTEGER NOT NULL,
    last_pull INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    max_as_of INTEGER NOT NULL,
    sheet_row INTEGER NOT NULL
)
"""


def _migrate_4(conn: sqlite3.Connection) -> None:
    """v3 -> v4: row keys and versions without the per-row columns that can be derived
    (``_SCHEMA_V4``). Every key and version is copied with its id, its values and its history
    (first/last pull, first/last seen, as-of, sheet row, replacement) unchanged in meaning; the
    tables are rebuilt (SQLite cannot drop columns that are part of a constraint) with foreign
    key enforcement off for the upgrade, checked before it commits (``Store._upgrade``)."""
    for sql in _statements(_SCHEMA_V4):
        conn.execute(sql)
    conn.create_function("seconds_of", 1, seconds_of, deterministic=True)
    conn.create_function("day_of", 1, day_of, deterministic=True)
    conn.create_function("hash_int", 1, hash_int, deterministic=True)
    conn.create_function("row_ref", 3, row_ref, deterministic=True)
    conn.create_function("key_hash", 1, key_hash, deterministic=True)
    conn.execute("INSERT INTO key_tabs (unit, tab_id)"
                 " SELECT DISTINCT unit, tab_id FROM row_keys ORDER BY unit, tab_id")
    conn.execute("INSERT INTO key_labels (tab, cols)"
                 " SELECT DISTINCT tab, cols FROM row_keys ORDER BY tab, cols")
    conn.execute(
        "INSERT INTO row_keys_v4 (id, tab, khash, label, rkey, keys, period, cell, first_pull,"
        " first_seen, last_pull, last_seen, last_row, replaced_by, ref)"
        " SELECT k.id, t.id, key_hash(k.rkey), l.id, k.rkey, k.keys, k.period, k.cell,"
        " k.first_pull, seconds_of(k.first_seen), k.last_pull, seconds_of(k.last_seen), k.last_row,"
        " k.replaced_by, nullif(k.ref, row_ref(k.unit, k.tab_id, k.rkey)) FROM row_keys k"
        " JOIN key_tabs t ON t.unit = k.unit AND t.tab_id = k.tab_id"
        " JOIN key_labels l ON l.tab = k.tab AND l.cols = k.cols ORDER BY k.id")
    conn.execute(
        "INSERT INTO row_versions_v4 (id, key_id, vhash, vals, first_pull, first_seen,"
        " last_pull, last_seen, max_as_of, sheet_row)"
        " SELECT id, key_id, hash_int(vhash), vals, first_pull, seconds_of(first_seen),"
        " last_pull, seconds_of(last_seen), day_of(max_as_of), sheet_row FROM row_versions"
        " ORDER BY id")
    copied = [conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in
              ("row_keys", "row_keys_v4", "row_versions", "row_versions_v4")]
    if copied[0] != copied[1] or copied[2] != copied[3]:  # never: every key has its tab, label
        raise sqlite3.DatabaseError(f"schema v4: rows not all copied {copied}")
    conn.execute("DROP TABLE row_versions")
    conn.execute("DROP TABLE row_keys")
    conn.execute("ALTER TABLE row_keys_v4 RENAME TO row_keys")
    conn.execute("ALTER TABLE row_versions_v4 RENAME TO row_versions")
    conn.execute("CREATE INDEX row_versions_key ON row_versions (key_id, id)")
    conn.execute("DELETE FROM unit_history_cache")


def _migrate_5(conn: sqlite3.Connection) -> None:
    """v4 -> v5: ``live`` on row keys and versions (1: present in its unit's last pull, see
    "Live rows" at ``_index_pull``), so that recording a pull writes only what changed instead
    of moving every unchanged row on to it. Every row of a unit's last pull is live.

    The index of a unit's pulls also covers the times and as-of dates its live rows are read
    with (``UnitPulls``): ``seen_at`` and ``seen_as_of`` come after the
    raw grids in a pull's record, and reading them from the table walks every pull's grids."""
    last = "SELECT max(id) FROM pulls GROUP BY unit"
    for table in ("row_keys", "row_versions"):
        conn.execute(f"ALTER TABLE {table} ADD COLUMN live INTEGER NOT NULL DEFAULT 0")
        conn.execute(f"UPDATE {table} SET live = 1 WHERE last_pull IN ({last})")
    conn.execute("DROP INDEX IF EXISTS pulls_unit")
    conn.execute("CREATE INDEX pulls_unit_days ON pulls"
                 " (unit, id, pulled_at, as_of, seen_at, seen_as_of)")


# (target version, migration). Each runs inside the upgrade transaction.
MIGRATIONS: list[tuple[int, Callable[[sqlite3.Connection], None]]] = [
    (2, _migrate_2),
    (3, _migrate_3),
    (4, _migrate_4),
    (5, _migrate_5),
]


# --- compact per-row encodings (schema v4) -----------------------------------------------------

_EPOCH = datetime(1970, 1, 1)
_SECOND = timedelta(seconds=1)
_MASK64 = (1 << 64) - 1


def seconds_of(at: datetime | str) -> int:
    """A pull time (naive, as the tool records it; a datetime or its ISO text) as whole
    seconds since 1970-01-01 (an offset, never written by the tool, is dropped)."""
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return (at.replace(tzinfo=None) - _EPOCH) // _SECOND


def time_of(seconds: int) -> datetime:
    return _EPOCH + timedelta(seconds=seconds)


def day_of(day: date | str) -> int:
    """An as-of date (or its ISO text) as its proleptic ordinal."""
    return (date.fromisoformat(day) if isinstance(day, str) else day).toordinal()


def hash_int(vhash: str) -> int:
    """A value hash (16 hex digits) as the signed 64-bit integer SQLite stores."""
    value = int(vhash, 16)
    return value - (1 << 64) if value >> 63 else value


def hash_hex(value: int) -> str:
    """The 16 hex digits of a stored value hash (``hash_int`` back)."""
    return f"{value & _MASK64:016x}"  # 016: HASH_LEN (a nested {HASH_LEN}: 1.7x the time)


def key_hash(rkey: str) -> int:
    """A stored row key's 64-bit hash (signed, as SQLite stores it)."""
    return int.from_bytes(hashlib.blake2b(rkey.encode("utf-8", "surrogatepass"),
                                          digest_size=8).digest(), "big", signed=True)


# --- JSON for raw cell values (dates and times tagged) -----------------------------------------

def _encode(v: Any) -> Any:
    """``json.dumps`` default: what JSON has no type for (dates and times tagged)."""
    if isinstance(v, datetime):
        return {"dt": v.isoformat()}
    if isinstance(v, date):
        return {"d": v.isoformat()}
    if isinstance(v, time):
        return {"t": v.isoformat()}
    return str(v)


_TAGS = {"dt": datetime.fromisoformat, "d": date.fromisoformat, "t": time.fromisoformat}


def _decode(obj: dict) -> Any:
    """``json.loads`` object hook: a tagged date or time back to its type."""
    if len(obj) == 1:
        (tag, text), = obj.items()
        conv = _TAGS.get(tag)
        if conv is not None and isinstance(text, str):
            try:
                return conv(text)
            except ValueError:
                pass
    return obj


def dump_raw(raw: RawWorkbook) -> bytes:
    doc = {"version": raw.version,
           "sheets": [{"title": s.title, "rows": s.rows} for s in raw.sheets],
           "meta": {k: v for k, v in raw.meta.items() if isinstance(v, (str, int, float, dict))}}
    # UTF-8 JSON, Vietnamese text as it is (a fifth smaller than escaped, and read back faster:
    # `rollup` reads every unit's last pull), written by orjson in a tenth of json's time
    # (dates and times handed to ``_encode``). json writes the pull instead:
    # - when orjson wrote more nulls than the pull holds Nones: a float that is not finite,
    #   which orjson writes as null (an .xlsx number too large for a float reads as an
    #   infinity) — or, harmlessly, text holding "null";
    # - when orjson refuses it: an integer beyond 64 bits, or a lone surrogate, which UTF-8
    #   cannot encode — that pull as ASCII JSON (every non-ASCII character escaped, as pulls
    #   stored before were: ``load_raw`` reads both).
    try:
        data: bytes | None = orjson.dumps(doc, default=_encode,
                                          option=orjson.OPT_PASSTHROUGH_DATETIME)
    except orjson.JSONEncodeError:
        data = None
    if data is None or data.count(b"null") != _nones(doc):
        text = json.dumps(doc, default=_encode, ensure_ascii=False, separators=(",", ":"))
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:
            data = json.dumps(doc, default=_encode, separators=(",", ":")).encode("ascii")
    return zlib.compress(data)


def _nones(doc: dict) -> int:
    """How many Nones a stored pull holds, each grid row's counted in C (a None inside a
    cell that is itself a list is not counted: such a pull is written by json)."""
    return (sum(row.count(None) for sheet in doc["sheets"] for row in sheet["rows"])
            + _nones_in(doc["version"]) + _nones_in(doc["meta"]))


def _nones_in(value: Any) -> int:
    if value is None:
        return 1
    if isinstance(value, dict):
        return sum(map(_nones_in, value.values()))
    if isinstance(value, (list, tuple)):
        return sum(map(_nones_in, value))
    return 0


# How a tagged date or time starts in stored JSON (``_encode``). A quote inside a JSON string is
# always escaped, so these bytes can only be an object whose first key is the tag.
_TAG_STARTS = tuple(b'{"%s":' % tag.encode() for tag in _TAGS)


def load_raw(blob: bytes) -> RawWorkbook:
    doc = jsonread.loads(zlib.decompress(blob), _decode, _TAG_STARTS)
    sheets = [RawSheet(s["title"], s["rows"]) for s in doc["sheets"]]
    return RawWorkbook(sheets, doc.get("version"), doc.get("meta") or {})


# --- key index: canonical keys and values of every data row -----------------------------------
#
# Everything a pull stores per row is computed column by column, each distinct value once
# (a national first pull indexes ≈ 3 million rows), and stored as compact JSON (no escaped
# Unicode, no spaces). A row's value hash (``vhash``) covers its canonical values only.

HASH_LEN = 16  # hex digits of a value hash: 64 bits, compared within one key's history


def _jdump(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"))


_encode_str = json.encoder.encode_basestring  # C, Unicode kept


def _jscalar(v: Any) -> str:
    """Compact JSON of a cell-sized value, fast for the common types; text holding a lone
    surrogate (not UTF-8) is escaped instead."""
    cls = v.__class__
    if cls is str:
        if v.isascii():
            return _encode_str(v)
        try:
            v.encode("utf-8")
        except UnicodeEncodeError:
            return json.dumps(v)
        return _encode_str(v)
    if v is None:
        return "null"
    if cls is bool:
        return "true" if v else "false"
    if cls is int:
        return str(v)
    if cls is list:
        return "[" + ",".join(map(_jscalar, v)) + "]"
    return _jdump(v)


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:HASH_LEN]


def _hash_frag(col: str, canon: Any) -> str:
    return f"{_jscalar(col)}:{_jscalar(canon)},"


def vhash_of(canon: dict[str, Any]) -> str:
    """The hash of a row's canonical values (column id -> value; None values left out)."""
    return _digest("".join(_hash_frag(c, canon[c]) for c in sorted(canon)
                           if canon[c] is not None))


def canon_of_vals(vals: Any, layouts: Callable[[int], list[str]] | None = None
                  ) -> dict[str, Any]:
    """Column id -> canonical value of stored values (``[canonical, display]`` pairs or, for
    values whose display follows from them, the canonical value alone; a dict, or positional
    ``[layout id, value, …]`` decoded with ``layouts``)."""
    if isinstance(vals, list):
        if layouts is None:
            raise ValueError("positional values need their layout")
        vals = dict(zip(layouts(vals[0]), vals[1:]))
    return {c: (_pair(v)[0] if isinstance(v, list) else v) for c, v in vals.items()
            if v is not None}


def compact_rkey(rkey: str) -> str:
    """A stored row key in the compact form (keys written before schema v3 were spaced and
    ASCII-escaped); "#n" marks the n-th duplicate."""
    if rkey == "*":
        return rkey
    base, dup = (rkey, "") if rkey.endswith("]") else rkey.rsplit("#", 1)
    try:
        out = _jscalar(json.loads(base))
    except ValueError:
        return rkey
    return out if not dup else f"{out}#{dup}"


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


def derived_display(column, canon: Any) -> str:
    """The display a canonical value implies (stored values keep their own display only when
    it differs: typed capitals, an unreadable value, a blank)."""
    if canon is None:
        return ""
    kind = getattr(column, "kind", None)
    try:
        if kind == "date" and isinstance(canon, str):
            return format_value("date", date.fromisoformat(canon))
        if kind in ("month", "time", "yesno", "number", "int"):
            return format_value(kind, canon)
        if kind == "choice":
            return column.label_of(canon) or str(canon)
        if kind == "code" and isinstance(canon, str):
            return canon.upper()  # codes are typed in capitals ("CB01")
    except (TypeError, ValueError, IndexError):
        pass
    return str(canon)


def vals_entry(column, canon: Any, display: str) -> Any:
    """A stored value: the canonical value when the display follows from it; ``[display]``
    when the canonical value is the normalized display (names as typed); else
    ``[canonical, display]``."""
    if derived_display(column, canon) == display:
        return canon
    if display and canon.__class__ is str and normalize(display) == canon:
        return [display]
    return [canon, display]


def _pair(entry: list) -> list:
    """A stored ``[display]`` or ``[canonical, display]`` as ``[canonical, display]``."""
    return entry if len(entry) != 1 else [normalize(entry[0]), entry[0]]


# Types whose values compare equal across types (True == 1 == 1.0): a column holding more than
# one of them is mapped by (type, value); any other column by value alone (faster).
_CROSS_EQUAL = frozenset({bool, int, float})


def _mapped(values: list[Any], fn: Callable[[Any], Any], memo: dict | None = None,
            types: frozenset[type] | None = None) -> list[Any]:
    """``[fn(v) for v in values]``, ``fn`` called once per distinct (type, value); with
    ``memo`` (``_memo``: ``fn`` a pure function of the value), its results are kept for the
    next call (the same dates, codes and choices recur in every unit). ``types``: the types
    of ``values`` or more (``types_of``), when the caller knows them."""
    types = types_of(values) if types is None else types
    cross = types & _CROSS_EQUAL
    if len(cross) > 1 or not types <= _HASHED_ALONE:
        keys: list[Any] = list(zip(map(type, values), values))
        try:
            table = {k: fn(k[1]) for k in dict.fromkeys(keys)}
        except TypeError:  # unhashable (no reader produces one)
            return [fn(v) for v in values]
        return list(map(table.__getitem__, keys))
    if memo is None:
        by_value = {v: fn(v) for v in dict.fromkeys(values)}
    else:  # one table per numeric type, so that 1 and True never share a result
        numeric = next(iter(cross), None)
        by_value = memo.setdefault(numeric, {})
        try:  # every value met before (months, dates, choices): one pass
            return list(map(by_value.__getitem__, values))
        except KeyError:
            pass
        new = [v for v in dict.fromkeys(values) if v not in by_value]
        if len(by_value) + len(new) > _MEMO_LIMIT:  # a new table: one in use stays whole
            by_value = memo[numeric] = {}
            new = list(dict.fromkeys(values))
        for v in new:
            by_value[v] = fn(v)
    return list(map(by_value.__getitem__, values))


def types_of(values: list[Any]) -> frozenset[type]:
    """The types ``_mapped`` is given: one pass over a column mapped more than once."""
    return frozenset(map(type, values))


_STR_ONLY = frozenset({str})  # displays
_MEMO_LIMIT = 1 << 13  # distinct values kept per function and column (names churn: cleared)
_MEMOS: dict[tuple[str, int], tuple[Any, dict]] = {}
_UNSET = object()  # "no value parsed": the raw value decides


def _memo(purpose: str, owner: Any = None) -> dict:
    """The kept results of one pure function of a value (``purpose``) for one column
    (``owner``, held so that its id is not reused)."""
    key = (purpose, id(owner))
    entry = _MEMOS.get(key)
    if entry is None or entry[0] is not owner:
        entry = _MEMOS[key] = (owner, {})
    return entry[1]


# Types whose equal values are interchangeable for every ``fn`` (a str equals no other type;
# a date never equals a datetime).
_HASHED_ALONE = frozenset({type(None), str, bool, int, float, date, datetime, time})


def _by_cell(parsed: list[Any], raws: list[Any], of_parsed: Callable[[Any], Any],
             of_raw: Callable[[Any], Any], memos: tuple[dict, dict], types: frozenset[type]
             ) -> list[Any]:
    """``of_parsed`` of each parsed value; ``of_raw`` of the raw value of a cell left unparsed
    (None: blank or unreadable). Both pure functions of their value (``memos``: theirs);
    ``types``: those of ``parsed`` or more."""
    out = _mapped(parsed, lambda v: _UNSET if v is None else of_parsed(v), memos[0], types)
    holes = [i for i, v in enumerate(out) if v is _UNSET]
    if holes:
        for i, v in zip(holes, _mapped([raws[i] for i in holes], of_raw, memos[1])):
            out[i] = v
    return out


def _canon_column(column, parsed: list[Any], raws: list[Any], types: frozenset[type]
                  ) -> list[Any]:
    return _by_cell(parsed, raws, lambda p: _canon(column, p, None),
                    lambda r: _canon(column, None, r),
                    (_memo("canon", column), _memo("canon_raw", column)), types)


def _shown_raw(raw: Any) -> str:
    """The display of a cell left unparsed."""
    return "" if is_empty(raw) else display_raw(raw)


def _display_column(tab: TabData, col_id: str, types: frozenset[type]) -> list[str]:
    """``_display`` of every row of a column; ``types``: those of its parsed values."""
    column = tab.tab.column(col_id)
    return _by_cell(tab.values[col_id], tab.raw[col_id], partial(display_value, column), _shown_raw,
                    (_memo("display", column), _memo("display_raw")), types)


def _display(tab, col_id: str, i: int) -> str:
    if tab.values.get(col_id, [None] * len(tab.rows))[i] is not None:
        return tab.display(col_id, i)
    return _shown_raw(tab.raw.get(col_id, [None] * len(tab.rows))[i])


class IndexedRow:
    """One data row of a tab, identified by its canonical key values."""

    __slots__ = ("index", "sheet_row", "rkey", "keys_json", "period", "cell", "vhash", "_tab",
                 "_vals")

    def __init__(self, tab: IndexedTab, index: int, sheet_row: int, rkey: str,
                 keys_json: str, period: str | None, cell: str | None, vhash: str):
        self.index = index  # row index in the TabData
        self.sheet_row = sheet_row
        self.rkey = rkey  # canonical key values (compact JSON), "#n" for the n-th duplicate
        self.keys_json = keys_json  # the key columns' displays (compact JSON list)
        self.period = period
        self.cell = cell
        self.vhash = vhash  # hash of the canonical values (``vhash_of``)
        self._tab = tab
        self._vals: dict | None = None

    @property
    def keys(self) -> list[list[str]]:
        """[[header, display], ...] in key order."""
        shown = json.loads(self.keys_json) if self.keys_json else \
            [derived_display(self._tab.data.tab.column(c), self._tab.canon_of(c)[self.index])
             for c in self._tab.key_cols]
        return [[h, d] for h, d in zip(self._tab.headers, shown)]

    @property
    def vals(self) -> dict:
        """column id -> [canonical, display] (computed on demand: only needed for a message)."""
        if self._vals is None:
            t = self._tab
            self._vals = {c: [v, _display(t.data, c, self.index)]
                          for c in t.val_cols if (v := t.canon_of(c)[self.index]) is not None}
        return self._vals


class IndexedTab:
    """The key index of one tab: one ``IndexedRow`` per data row, plus what storing them
    needs (the stored values, computed for the rows that need them)."""

    def __init__(self, tab_id: str, name: str, cols: str, data: TabData,
                 key_cols: list[str], val_cols: list[str],
                 parsed_types: dict[str, frozenset[type]]):
        self.tab_id, self.name, self.cols, self.data = tab_id, name, cols, data
        self.key_cols, self.val_cols = key_cols, val_cols
        self.parsed_types = parsed_types  # column id -> ``types_of`` its parsed values
        self.canon: dict[str, list[Any]] = {}  # column id -> canonical values (``canon_of``)
        self.headers = [data.tab.column(c).header for c in key_cols]
        self.rows: list[IndexedRow] = []

    def canon_of(self, col_id: str) -> list[Any]:
        """The canonical value of every row of a column (the key columns' are computed with
        the index, the others when a message needs one)."""
        got = self.canon.get(col_id)
        if got is None:
            got = self.canon[col_id] = _canon_column(
                self.data.tab.column(col_id), self.data.values[col_id], self.data.raw[col_id],
                self.parsed_types[col_id])
        return got

    def vals_json_of(self, rows: Sequence[int], layout: int) -> list[str]:
        """The stored values of the rows at indices ``rows``, each ``[layout, value, …]`` in
        ``val_cols`` order (each a ``vals_entry``; trailing empty values left out), compact
        JSON. Computed column by column over those rows only (a pull that changed a few rows
        of a big tab pays for those rows)."""
        whole = list(rows) == list(range(len(self.rows)))
        frags = []
        for c in self.val_cols:
            column = self.data.tab.column(c)
            parsed, raws = self.data.values[c], self.data.raw[c]
            if not whole:
                parsed, raws = [parsed[i] for i in rows], [raws[i] for i in rows]
            # a stored value follows from the parsed value (its canonical value and display),
            # or from the raw value of a cell left unparsed
            frags.append(_by_cell(parsed, raws, partial(_vals_frag, column),
                                  partial(_vals_frag_raw, column),
                                  (_memo("vals_frag", column), _memo("vals_frag_raw", column)),
                                  self.parsed_types[c]))  # a subset's types are among them
        head = f"[{layout}"
        if not frags:
            return [head + "]"] * len(rows)
        return [head + _trim_nulls(t) + "]" for t in map("".join, zip(*frags))]


def _hash_frag_parsed(column, parsed: Any) -> str:
    """A row's value-hash fragment (``_hash_frag``) of a parsed value."""
    return _hash_frag(column.id, _canon(column, parsed, None))


def _hash_frag_raw(column, raw: Any) -> str:
    """``_hash_frag_parsed`` of a cell left unparsed, from its raw value."""
    canon = _canon(column, None, raw)
    return "" if canon is None else _hash_frag(column.id, canon)


def _vals_frag(column, parsed: Any) -> str:
    """``,`` and the stored value (``vals_entry``) of a parsed value."""
    entry = vals_entry(column, _canon(column, parsed, None), display_value(column, parsed))
    return "," + _jscalar(entry)


def _vals_frag_raw(column, raw: Any) -> str:
    """``_vals_frag`` of a cell left unparsed, from its raw value."""
    canon = _canon(column, None, raw)
    return ",null" if canon is None else "," + _jscalar(vals_entry(column, canon, _shown_raw(raw)))


def _trim_nulls(text: str) -> str:
    while text.endswith(",null"):
        text = text[:-5]
    return text


def release_index(data: UnitData) -> None:
    """Drop a parsed unit's key index (the largest thing it holds), breaking the row <-> tab
    references at once rather than leaving a national run's worth to the cyclic collector."""
    tabs = data.key_index
    data.key_index = None
    for tab in (tabs or {}).values():
        tab.rows = []
        tab.canon = {}
        tab.parsed_types = {}


def index_unit(data: UnitData) -> dict[str, IndexedTab]:
    """The key index of every tab found in a parsed unit (tab id -> rows); computed once per
    parsed unit (its history findings and recording its pull both need it; ``record_pull``
    releases it)."""
    if data.key_index is None:
        data.key_index = {tab_id: _index_tab(tab) for tab_id, tab in data.tabs.items()}
    return data.key_index


def _index_tab(tab: TabData) -> IndexedTab:
    n = len(tab.rows)
    key_cols = [k for k in tab.tab.key_columns() if tab.has(k)]
    val_cols = sorted(c for c in tab.raw if c not in HISTORY_IGNORED_COLUMNS)
    # each column's types, found once: every column is mapped more than once below
    parsed_types = {c: types_of(tab.values[c]) for c in dict.fromkeys([*val_cols, *key_cols])}
    out = IndexedTab(tab.tab.id, tab.tab.name, ",".join(key_cols), tab, key_cols, val_cols,
                     parsed_types)
    if not n:
        return out
    # value hashes: per column "col":canonical value, fragments, joined per row (a fragment
    # follows from the parsed value, or from the raw value of a cell left unparsed)
    frags = []
    for c in val_cols:
        column = tab.tab.column(c)
        frags.append(_by_cell(tab.values[c], tab.raw[c], partial(_hash_frag_parsed, column),
                              partial(_hash_frag_raw, column),
                              (_memo("hash_frag", column), _memo("hash_frag_raw", column)),
                              parsed_types[c]))
    hashes = list(map(_digest, map("".join, zip(*frags)))) if frags else [_digest("")] * n
    # keys: compact JSON of the key columns' canonical values; displays for messages
    if key_cols:
        canon = {c: out.canon_of(c) for c in key_cols}
        canon_types = {c: types_of(v) for c, v in canon.items()}
        kv = [_mapped(canon[c], _jscalar, _memo("json"), canon_types[c]) for c in key_cols]
        bases = ["[" + b + "]" for b in map(",".join, zip(*kv))]
        shown = [_display_column(tab, c, parsed_types[c]) for c in key_cols]
        kd = [_mapped(d, _jscalar, _memo("json"), _STR_ONLY) for d in shown]
        keys_json = ["[" + b + "]" for b in map(",".join, zip(*kd))]
        # "" when every display follows from the canonical key value
        same = []
        for c, d in zip(key_cols, shown):
            column = tab.tab.column(c)
            implied = _mapped(canon[c], partial(derived_display, column),
                              _memo("derived", column), canon_types[c])
            same.append(list(map(eq, implied, d)))
        keys_json = ["" if ok else k for ok, k in zip(map(all, zip(*same)), keys_json)]
    else:
        bases, keys_json = ["[]"] * n, ["[]"] * n
    periods = _period_column(tab)
    cells = tab.values.get("cell_code") or [None] * n
    seen: dict[str, int] = {}
    rows = out.rows
    for i, sheet_row in enumerate(tab.rows):
        base = bases[i]
        k = seen.get(base, 0) + 1
        seen[base] = k
        rows.append(IndexedRow(out, i, sheet_row, base if k == 1 else f"{base}#{k}",
                               keys_json[i], periods[i], cells[i], hashes[i]))
    return out


def _period_column(tab: TabData) -> list[str | None]:
    """``tab.period(i)`` of every row."""
    p = tab.tab.period
    n = len(tab.rows)
    if p is None or p not in tab.values:
        return [None] * n
    if tab.tab.column(p).kind == "date":
        return _mapped(tab.values[p], lambda v: None if v is None
                       else f"{v.year:04d}-{v.month:02d}")
    return _mapped(tab.values[p], lambda v: None if v is None else str(v))


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


def _unit_tabs(conn: sqlite3.Connection, unit: str, tab_ids: Iterable[str]) -> dict[str, int]:
    """``key_tabs`` ids of a unit's tabs (created when missing)."""
    conn.executemany("INSERT OR IGNORE INTO key_tabs (unit, tab_id) VALUES (?, ?)",
                     [(unit, t) for t in tab_ids])
    return dict(conn.execute("SELECT tab_id, id FROM key_tabs WHERE unit = ?", (unit,)))


def _label_ids(conn: sqlite3.Connection, labels: Iterable[tuple[str, str]]
               ) -> dict[tuple[str, str], int]:
    """``key_labels`` ids of (tab name, key columns) pairs (created when missing)."""
    out: dict[tuple[str, str], int] = {}
    for tab, cols in labels:
        conn.execute("INSERT OR IGNORE INTO key_labels (tab, cols) VALUES (?, ?)", (tab, cols))
        out[(tab, cols)] = conn.execute("SELECT id FROM key_labels WHERE tab = ? AND cols = ?",
                                        (tab, cols)).fetchone()[0]
    return out


_UNIT_KEYS = "tab IN (SELECT id FROM key_tabs WHERE unit = ?)"  # the row keys of a unit

# A unit's keys (``known_rows``, ``_index_pull``) and its versions (``row_versions``,
# ``_index_pull``). A key's tab and label are their ids (``UnitRows.tab_ids``, ``labels``): the
# same few texts on every row would cost a big unit's read 70 MB.
_UNIT_ROWS_SQL = (
    "SELECT id, tab, label, rkey, keys, period, cell, first_pull, first_seen, last_pull,"
    f" last_seen, last_row, replaced_by, ref, live FROM row_keys WHERE {_UNIT_KEYS}",
    "SELECT v.id, v.key_id, v.vhash, v.vals, v.first_pull, v.first_seen, v.last_pull,"
    " v.last_seen, v.max_as_of, v.sheet_row, k.tab, v.live FROM row_versions v"
    f" JOIN row_keys k ON k.id = v.key_id WHERE k.{_UNIT_KEYS}")
# positions in a key row and in a version row
K_ID, K_TAB, K_LABEL, K_RKEY, K_KEYS, K_PERIOD, K_CELL, K_FIRST_PULL, K_FIRST_SEEN, \
    K_LAST_PULL, K_LAST_SEEN, K_LAST_ROW, K_REPLACED_BY, K_REF, K_LIVE = range(15)
V_ID, V_KEY, V_VHASH, V_VALS, V_FIRST_PULL, V_FIRST_SEEN, V_LAST_PULL, V_LAST_SEEN, \
    V_MAX_AS_OF, V_SHEET_ROW, V_TAB, V_LIVE = range(12)


@dataclass
class UnitRows:
    """``_UNIT_ROWS_SQL``'s rows of a unit, by id, with the names of its tab and label ids."""
    keys: list[tuple]
    versions: list[tuple]
    tab_ids: dict[int, str]  # key_tabs id -> tab id
    labels: dict[int, tuple[str, str]]  # key_labels id -> (tab name, key columns)


def _select_rows(conn: sqlite3.Connection, unit: str) -> UnitRows:
    """The unit's keys and versions in id order (versions oldest first). Sorted here rather than
    by ``ORDER BY``: SQLite would sort whole rows, stored values included, in a temporary
    B-tree (a big unit: a third of the query's time)."""
    keys_sql, versions_sql = _UNIT_ROWS_SQL
    keys = conn.execute(keys_sql, (unit,)).fetchall()
    versions = conn.execute(versions_sql, (unit,)).fetchall()
    keys.sort(key=itemgetter(0))
    versions.sort(key=itemgetter(0))
    tab_ids = dict(conn.execute("SELECT id, tab_id FROM key_tabs WHERE unit = ?", (unit,)))
    labels = {i: (tab, cols) for i, tab, cols in conn.execute(  # a few, shared by every unit
        "SELECT id, tab, cols FROM key_labels")}
    return UnitRows(keys, versions, tab_ids, labels)


class UnitPulls:
    """A unit's pulls as its stored rows are read with them: the last pull and when it was made
    (a live row's, see "Live rows" at ``_index_pull``), the latest as-of day of the pulls from
    a given one on (a version live since that pull has been in each), and the re-reads of an
    unchanged local file (``pulls.seen_at`` / ``seen_as_of``: a row of that pull was seen
    then). ``before``: only the pulls before it."""

    def __init__(self, conn: sqlite3.Connection, unit: str, before: int | None = None):
        rows = conn.execute(
            "SELECT id, pulled_at, as_of, seen_at, seen_as_of FROM pulls WHERE unit = ?"
            " AND id < ? ORDER BY id", (unit, before if before is not None else 1 << 62)
        ).fetchall()
        self.ids = [r[0] for r in rows]
        self.last: int | None = rows[-1][0] if rows else None
        self.last_seen = seconds_of(rows[-1][1]) if rows else 0
        # pull id -> (seconds, day ordinal) of its last re-read, for the pulls that have one
        self.seen_again = {r[0]: (seconds_of(r[3]), day_of(r[4]) if r[4] else 0)
                           for r in rows if r[3] is not None}
        # latest as-of day of the pulls from each one on (an as-of date may go back: a run
        # with ``--as-of`` in the past)
        self._from: list[int] = []
        latest = 0
        for r in reversed(rows):
            latest = max(latest, day_of(r[2]), day_of(r[4]) if r[4] else 0)
            self._from.append(latest)
        self._from.reverse()

    def final_day(self, live: int, last_pull: int, max_as_of: int) -> int:
        """A version's latest as-of day over these pulls (live: counting those since
        ``last_pull``, the pull it was last written at)."""
        if not live:
            return max_as_of
        i = bisect_left(self.ids, last_pull)
        return max(max_as_of, self._from[i]) if i < len(self._from) else max_as_of

    def as_read(self, live: int, last_pull: int, last_seen: int, max_as_of: int = 0
                ) -> tuple[int, int, int]:
        """A stored row's (last pull, last seen, latest as-of day) as readers see them: a live
        row's are the last pull's, and a re-read of that pull's unchanged file counts."""
        if live:
            max_as_of = self.final_day(live, last_pull, max_as_of)
            last_pull, last_seen = self.last or last_pull, self.last_seen
        again = self.seen_again.get(last_pull)
        if again is not None:
            last_seen, max_as_of = max(last_seen, again[0]), max(max_as_of, again[1])
        return last_pull, last_seen, max_as_of


def _index_pull(conn: sqlite3.Connection, unit: str, pull_id: int, pulled_at: datetime,
                as_of: date, tabs: dict[str, IndexedTab], previous_pull: int | None,
                rows: UnitRows) -> bool:
    """Index a pull's rows, writing only what changed since the previous pull.

    Live rows: a key or version present in its unit's last pull is *live*; its stored
    ``last_pull``, ``last_seen`` and ``max_as_of`` are those of the pull it was last written
    at (it has been in every pull since), and readers take the last pull's (``UnitPulls``,
    ``Store.known_rows``, ``Store.row_versions``). So a row still there, unchanged and at the
    same sheet row, costs no write; a row that is gone, or whose values changed, is ended at the
    previous pull (its stored values made final, no longer live); new keys, new versions,
    moved rows and renamed displays are written with ``executemany``. ``rows``: the unit's keys
    and versions as stored before this pull (``_select_rows``). Returns whether the store held
    no key of the unit before (its first keys: every key and version of the unit is now first
    seen in this pull)."""
    seen, day = seconds_of(pulled_at), day_of(as_of)
    unit_tabs = _unit_tabs(conn, unit, tabs)
    labels = _label_ids(conn, {(tab.name, tab.cols) for tab in tabs.values()})
    keys, versions, tab_ids = rows.keys, rows.versions, rows.tab_ids
    # (id, tab, rkey, label, keys, period, cell, last_row, live) by (tab id, rkey)
    stored = {(tab_ids[k[K_TAB]], k[K_RKEY]): (
        k[K_ID], k[K_TAB], k[K_RKEY], k[K_LABEL], k[K_KEYS], k[K_PERIOD], k[K_CELL],
        k[K_LAST_ROW], k[K_LIVE]) for k in keys}
    latest: dict[int, tuple] = {}  # key id -> its latest version row
    for v in versions:  # oldest first: the last one of a key is its latest
        latest[v[V_KEY]] = v
    before = UnitPulls(conn, unit, before=pull_id)
    # where a row that ends now ends: the previous pull (None: kept as stored)
    ended_at = (previous_pull, before.last_seen if previous_pull is not None else None)

    def final_day(version: tuple) -> int:
        """A version's ``max_as_of`` before this pull."""
        return before.final_day(version[V_LIVE], version[V_LAST_PULL], version[V_MAX_AS_OF])

    next_key = (conn.execute("SELECT max(id) FROM row_keys").fetchone()[0] or 0) + 1
    next_version = (conn.execute("SELECT max(id) FROM row_versions").fetchone()[0] or 0) + 1
    layouts = {cols: i for i, cols in conn.execute("SELECT id, cols FROM value_layouts")}
    for tab in tabs.values():
        cols = ",".join(tab.val_cols)
        if cols not in layouts:
            layouts[cols] = conn.execute("INSERT INTO value_layouts (cols) VALUES (?)",
                                         (cols,)).lastrowid
    new_keys: list[Sequence] = []
    key_updates: list[tuple] = []
    new_versions: list[Sequence] = []
    version_updates: list[tuple] = []
    ended_versions: list[tuple] = []
    present: set[int] = set()
    new: list[tuple] = []
    for tab in tabs.values():
        layout = layouts[",".join(tab.val_cols)]
        tab_ref, label = unit_tabs[tab.tab_id], labels[(tab.name, tab.cols)]
        if not stored:  # the unit's first keys: every row a new key with its first version
            first_keys, first_versions = _first_rows(tab, tab_ref, label, layout, pull_id, seen,
                                                     day, next_key, next_version)
            new_keys += first_keys
            new_versions += first_versions
            if previous_pull is not None:
                new += [(k[0], tab.tab_id, tab.cols, k[12], k[6], k[7]) for k in first_keys]
            next_key += len(first_keys)
            next_version += len(first_versions)
            continue
        pending: list[tuple[list, int]] = []  # new versions waiting for their stored values
        for r in tab.rows:
            vhash = hash_int(r.vhash)
            s = stored.get((tab.tab_id, r.rkey))
            last = None
            if s is None:
                key_id = next_key
                next_key += 1
                new_keys.append((key_id, tab_ref, key_hash(r.rkey), label, r.rkey, r.keys_json,
                                 r.period, r.cell, pull_id, seen, pull_id, seen, r.sheet_row))
                new.append((key_id, tab.tab_id, tab.cols, r.sheet_row, r.period, r.cell))
            else:
                key_id = s[0]
                if not s[8] or s[3:8] != (label, r.keys_json, r.period, r.cell, r.sheet_row):
                    key_updates.append((label, r.keys_json, r.period, r.cell, pull_id, seen,
                                        r.sheet_row, key_id))
                last = latest.get(key_id)
            present.add(key_id)
            if last is not None and last[V_VHASH] == vhash:
                if not last[V_LIVE] or last[V_SHEET_ROW] != r.sheet_row:
                    version_updates.append((pull_id, seen, r.sheet_row,
                                            max(final_day(last), day), last[V_ID]))
            else:
                version = [next_version, key_id, vhash, None, pull_id, seen, pull_id, seen, day,
                           r.sheet_row]
                new_versions.append(version)
                pending.append((version, r.index))
                next_version += 1
                if last is not None and last[V_LIVE]:
                    ended_versions.append((*ended_at, final_day(last), last[V_ID]))
        if pending:
            for (version, _), vals in zip(pending, tab.vals_json_of([i for _, i in pending],
                                                                    layout)):
                version[3] = vals
    # Live keys of the previous pull that are gone now: ended there, with their live version.
    gone = [k for k in keys if k[K_LIVE] and k[K_ID] not in present]
    conn.executemany("UPDATE row_keys SET live = 0, last_pull = coalesce(?, last_pull),"
                     " last_seen = coalesce(?, last_seen) WHERE id = ?",
                     [(*ended_at, k[K_ID]) for k in gone])
    ended_versions += [(*ended_at, final_day(last), last[V_ID]) for k in gone
                       if (last := latest.get(k[K_ID])) is not None and last[V_LIVE]]
    conn.executemany("UPDATE row_versions SET live = 0, last_pull = coalesce(?, last_pull),"
                     " last_seen = coalesce(?, last_seen), max_as_of = ? WHERE id = ?",
                     ended_versions)
    conn.executemany(
        "INSERT INTO row_keys (id, tab, khash, label, rkey, keys, period, cell, first_pull,"
        " first_seen, last_pull, last_seen, last_row, live)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)", new_keys)
    conn.executemany(
        "UPDATE row_keys SET label = ?, keys = ?, period = ?, cell = ?, last_pull = ?,"
        " last_seen = ?, last_row = ?, live = 1 WHERE id = ?", key_updates)
    conn.executemany(
        "UPDATE row_versions SET last_pull = ?, last_seen = ?, sheet_row = ?, max_as_of = ?,"
        " live = 1 WHERE id = ?", version_updates)
    conn.executemany(
        "INSERT INTO row_versions (id, key_id, vhash, vals, first_pull, first_seen,"
        " last_pull, last_seen, max_as_of, sheet_row, live)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)", new_versions)
    if previous_pull is not None and new and gone:
        conn.executemany("UPDATE row_keys SET replaced_by = ? WHERE id = ?", [
            (replacement, old) for old, replacement in pair_replacements(
                [(k[K_ID], tab_ids[k[K_TAB]], rows.labels[k[K_LABEL]][1], k[K_LAST_ROW],
                  k[K_PERIOD], k[K_CELL]) for k in gone if k[K_REPLACED_BY] is None],
                new).items()])
    return not stored


def _first_rows(tab: IndexedTab, tab_ref: int, label: int, layout: int, pull_id: int,
                seen: int, day: int, first_key: int, first_version: int
                ) -> tuple[list[tuple], list[tuple]]:
    """The ``row_keys`` and ``row_versions`` rows of a tab whose keys are all new (the unit's
    first keys), built column by column: what ``_index_pull``'s row-by-row loop gives them."""
    rows = tab.rows
    n = len(rows)
    rkeys = [r.rkey for r in rows]
    sheet_rows = [r.sheet_row for r in rows]
    key_ids = range(first_key, first_key + n)
    keys = list(zip(key_ids, repeat(tab_ref), map(key_hash, rkeys), repeat(label), rkeys,
                    [r.keys_json for r in rows], [r.period for r in rows],
                    [r.cell for r in rows], repeat(pull_id), repeat(seen), repeat(pull_id),
                    repeat(seen), sheet_rows))
    versions = list(zip(range(first_version, first_version + n), key_ids,
                        [hash_int(r.vhash) for r in rows],
                        tab.vals_json_of([r.index for r in rows], layout), repeat(pull_id),
                        repeat(seen), repeat(pull_id), repeat(seen), repeat(day), sheet_rows))
    return keys, versions


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


@dataclass(slots=True)  # not frozen: a big unit's history builds 100,000 of them at a time
class KnownRow:
    id: int
    tab_id: str
    tab: str
    rkey: str
    cols: str
    unit: str = field(repr=False, compare=False)
    stored_ref: str | None = field(repr=False, compare=False)  # as stored: see ``ref``
    stored_keys: str = field(repr=False, compare=False)  # as stored: see ``keys``
    period: str | None
    cell: str | None
    first_pull: int
    first_seen: datetime
    last_pull: int
    last_seen: datetime
    last_row: int
    replaced_by: int | None

    @property
    def keys(self) -> list:
        """[[header, display], ...] in key order (decoded when asked for: only messages and
        listings need it)."""
        return _keys_of(self.tab_id, self.cols, self.stored_keys, self.rkey)

    @property
    def ref(self) -> str:
        """The short reference (``row_ref``; the stored one for keys referenced before their
        key text was made compact)."""
        return self.stored_ref or row_ref(self.unit, self.tab_id, self.rkey)


@dataclass(slots=True)  # as KnownRow
class RowVersion:
    id: int
    key_id: int
    vhash: str
    stored_vals: str = field(repr=False, compare=False)  # as stored: see ``vals``
    first_pull: int
    first_seen: datetime
    last_pull: int
    last_seen: datetime
    max_as_of: date
    sheet_row: int
    tab_id: str = ""
    layouts: Any = field(default=None, repr=False, compare=False)
    _vals: dict | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def vals(self) -> dict:
        """column id -> [canonical, display], decoded once when first asked for (only a
        finding's message or a listing needs it)."""
        if self._vals is None:
            self._vals = expand_vals(self.tab_id, json.loads(self.stored_vals), self.layouts)
        return self._vals


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
        self._history_pending: dict[str, tuple[str, str]] = {}  # unit -> (token, findings)
        # unit -> the pull recorded here that gave the unit its first keys (``record_pull``)
        self._first_keys: dict[str, int | None] = {}
        self._rows_of: tuple[tuple[str, int, int], UnitRows] | None = None  # ``_unit_rows``

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
            conn.execute(f"PRAGMA cache_size = {CACHE_SIZE}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode == "wal":
                # Under WAL, NORMAL syncs at checkpoints, not at every commit: a power cut can
                # lose the last commits (the next run reads those units again), never corrupt
                # the store. A run commits once per unit: FULL waited on the disk for each.
                conn.execute("PRAGMA synchronous = NORMAL")
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
        conn.execute(f"PRAGMA cache_size = {CACHE_SIZE}")
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
        self._write_history_cache()
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
        # Tables are rebuilt by migrations (SQLite's way to change a constraint): foreign key
        # actions stay off meanwhile (dropping a rebuilt table must not cascade) and every
        # reference is checked before the upgrade commits.
        conn.execute("PRAGMA foreign_keys = OFF")
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                version = self.schema_version()  # another process may have upgraded meanwhile
                start = version
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
                if start == 1:  # v1 kept no key index: build it from the stored pulls
                    _reindex_pulls(conn)
                broken = [r for t in ("row_keys", "row_versions")
                          for r in conn.execute(f"PRAGMA foreign_key_check({t})")]
                if broken:
                    raise sqlite3.IntegrityError(f"foreign key check failed: {broken}")
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:  # SQLite already rolled back after "disk is full"
                    conn.execute("ROLLBACK")
                raise
            # The pages of the tables that migrations replaced are given back to the disk (an
            # upgraded store would otherwise keep the old tables' size as free pages). Not
            # essential: when it cannot run now (disk full, another reader) the store is used
            # as it is and its free pages are reused by the next pulls.
            try:
                conn.execute("VACUUM")
            except sqlite3.OperationalError as e:
                logging.getLogger(__name__).info(f"VACUUM sau khi nâng cấp kho chưa chạy được: {e}")
        finally:
            conn.isolation_level = "DEFERRED"  # sqlite3's default: a plain BEGIN
            conn.execute("PRAGMA foreign_keys = ON")

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
        except BaseException:  # a full disk: no half copy left to look like a backup
            dest.close()
            for left in (target, target.with_name(target.name + "-journal")):
                left.unlink(missing_ok=True)
            raise
        dest.close()
        return target

    # --- pulls -------------------------------------------------------------------------------

    def record_pull(self, unit: str, raw: RawWorkbook, data: UnitData, pulled_at: datetime,
                    as_of: date) -> int:
        """Store a pull and index its rows by key (one transaction); the unit's key index is
        released afterwards. A local file whose size, modification time and SHA-256 equal
        those of the unit's last pull is not stored again: that pull is marked as seen now."""
        at = pulled_at.isoformat(timespec="seconds")
        fingerprint = file_fingerprint(raw)
        try:
            if fingerprint is not None:
                last = self.conn.execute(
                    "SELECT id, fingerprint FROM pulls WHERE unit = ? ORDER BY id DESC LIMIT 1",
                    (unit,)).fetchone()
                if last is not None and last[1] == fingerprint:
                    with self.conn:
                        self.conn.execute(
                            "UPDATE pulls SET seen_at = max(coalesce(seen_at, ''), ?),"
                            " seen_as_of = max(coalesce(seen_as_of, as_of), ?) WHERE id = ?",
                            (at, as_of.isoformat(), last[0]))
                    return last[0]
            tabs = index_unit(data)
            with self.conn:
                previous = self._last_pull_id(unit)
                rows = self._unit_rows(unit)
                cur = self.conn.execute(
                    "INSERT INTO pulls (unit, pulled_at, as_of, version, raw, fingerprint)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (unit, at, as_of.isoformat(), raw.version, dump_raw(raw), fingerprint))
                pull_id = cur.lastrowid
                assert pull_id is not None  # set by the INSERT
                self._drop_superseded_grids(unit)
                self._rows_of = None  # stale once the pull is indexed
                first = _index_pull(self.conn, unit, pull_id, pulled_at, as_of, tabs, previous,
                                    rows)
            self._first_keys[unit] = pull_id if first else None
            return pull_id
        finally:
            release_index(data)

    def _drop_superseded_grids(self, unit: str) -> None:
        """Empty the grids of the unit's pulls that nothing reads again. Grids are read from a
        unit's last pull (``last_pull``: stale units, `rollup`) and from its last pull checked
        as of each year (``last_pull_of_year``: the report's previous year); every other pull
        keeps its date, version and place in the key index, which holds all the history rules
        need. A changed pull of a big unit thus costs the store the rows that changed, not
        another copy of the whole workbook (a megabyte for a merged commune, every night it
        is edited). The pages freed are reused by later pulls."""
        self.conn.execute(
            "UPDATE pulls SET raw = x'' WHERE unit = ? AND length(raw) > 0 AND id NOT IN"
            " (SELECT max(id) FROM pulls WHERE unit = ? GROUP BY substr(as_of, 1, 4))",
            (unit, unit))

    def set_own_write_version(self, pull_id: int, raw: bytes, fingerprint: str | None,
                              version: str | None) -> None:
        """After our own write: the grids as written (``dump_raw``, ``file_fingerprint``) and
        the version the write produced (a Drive version, or a local file's SHA-256; None:
        unknown, the next run reads the unit again)."""
        with self.conn:
            self.conn.execute("UPDATE pulls SET own_write_version = ?, raw = ?, fingerprint = ?"
                              " WHERE id = ?", (version, raw, fingerprint, pull_id))

    def _last_pull_id(self, unit: str) -> int | None:
        return self.conn.execute("SELECT max(id) FROM pulls WHERE unit = ?",
                                 (unit,)).fetchone()[0]

    def last_pull(self, unit: str) -> StoredPull | None:
        row = self.conn.execute(
            "SELECT id, unit, pulled_at, as_of, version, own_write_version, raw FROM pulls "
            "WHERE unit = ? ORDER BY id DESC LIMIT 1", (unit,)).fetchone()
        return None if row is None else _stored_pull(row)

    def last_pull_of_year(self, unit: str, year: int) -> StoredPull | None:
        """The last pull checked as of a date in ``year`` (the previous year's comparison of
        the report, when the sheets no longer hold that year)."""
        row = self.conn.execute(
            "SELECT id, unit, pulled_at, as_of, version, own_write_version, raw FROM pulls "
            "WHERE unit = ? AND as_of >= ? AND as_of <= ? ORDER BY id DESC LIMIT 1",
            (unit, f"{year:04d}-01-01", f"{year:04d}-12-31")).fetchone()
        return None if row is None else _stored_pull(row)

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
        """Every key of the unit; ``last_seen`` counts a re-read of an unchanged file."""
        pulls = UnitPulls(self.conn, unit)
        at = _converted(time_of)
        out = []
        rows = self._unit_rows(unit)
        for r in rows.keys:
            last_pull, last_seen, _ = pulls.as_read(r[K_LIVE], r[K_LAST_PULL], r[K_LAST_SEEN])
            tab, cols = rows.labels[r[K_LABEL]]
            out.append(KnownRow(
                r[K_ID], rows.tab_ids[r[K_TAB]], tab, r[K_RKEY], cols, unit, r[K_REF],
                r[K_KEYS], r[K_PERIOD], r[K_CELL], r[K_FIRST_PULL], at(r[K_FIRST_SEEN]),
                last_pull, at(last_seen), r[K_LAST_ROW], r[K_REPLACED_BY]))
        return out

    def _unit_rows(self, unit: str) -> UnitRows:
        """Every stored key and version of ``unit`` as SQL rows (``_UNIT_ROWS_SQL``), selected
        once for the history findings of a read and the recording of that read right after
        (`run`, `check`: a big unit's keys and versions are a hundred thousand rows each).
        Kept for the last unit asked for, as long as nothing was written to the store since
        (by this connection: ``total_changes``; by another: ``PRAGMA data_version``)."""
        stamp = (unit, self.conn.total_changes,
                 self.conn.execute("PRAGMA data_version").fetchone()[0])
        if self._rows_of is not None and self._rows_of[0] == stamp:
            return self._rows_of[1]
        self._rows_of = None
        rows = _select_rows(self.conn, unit)
        self._rows_of = (stamp, rows)
        return rows

    def row_versions(self, unit: str) -> dict[int, list[RowVersion]]:
        """key id -> its versions, oldest first (values as ``[canonical, display]``)."""
        out: dict[int, list[RowVersion]] = {}
        layouts = {i: cols.split(",") if cols else []
                   for i, cols in self.conn.execute("SELECT id, cols FROM value_layouts")}
        pulls = UnitPulls(self.conn, unit)
        at, day = _converted(time_of), _converted(date.fromordinal)
        rows = self._unit_rows(unit)
        for r in rows.versions:
            last_pull, last_seen, max_as_of = pulls.as_read(
                r[V_LIVE], r[V_LAST_PULL], r[V_LAST_SEEN], r[V_MAX_AS_OF])
            out.setdefault(r[V_KEY], []).append(RowVersion(
                r[V_ID], r[V_KEY], hash_hex(r[V_VHASH]), r[V_VALS], r[V_FIRST_PULL],
                at(r[V_FIRST_SEEN]), last_pull, at(last_seen), day(max_as_of),
                r[V_SHEET_ROW], rows.tab_ids[r[V_TAB]], layouts.__getitem__))
        return out

    def _layouts(self, layout: int) -> list[str]:
        """The column ids of a stored layout (cached per store)."""
        cache = self.__dict__.setdefault("_layout_cache", {})
        if layout not in cache:
            row = self.conn.execute("SELECT cols FROM value_layouts WHERE id = ?",
                                    (layout,)).fetchone()
            cache[layout] = row[0].split(",") if row and row[0] else []
        return cache[layout]

    # --- history findings of unchanged units -------------------------------------------------

    def history_token(self, unit: str, source: str | None, settings: Any) -> str | None:
        """What the history findings of ``unit`` depend on: its stored history — its last pull
        (keys and versions are only ever added by recording a pull of the unit, in the same
        transaction), what retention removed or rewrote (``history_generation``) and its
        acknowledgements — the data checked (``source``: the version or file hash of the pull
        it came from) and ``settings`` (year, rule parameters). None when the data's source is
        unknown (then nothing is cached). A few indexed lookups, none over the unit's rows."""
        if source is None:
            return None
        acks = self.conn.execute("SELECT count(*), max(id) FROM acks WHERE unit = ?",
                                 (unit,)).fetchone()
        generation = self.conn.execute(
            "SELECT value FROM meta WHERE key = 'history_generation'").fetchone()
        state = [HISTORY_CACHE_VERSION, unit, source, self._last_pull_id(unit), *acks,
                 generation[0] if generation is not None else "0", settings]
        try:
            return _digest(json.dumps(state, default=str, sort_keys=True))
        except (TypeError, ValueError):  # settings that cannot be written down: no cache
            return None

    def history_only_from(self, unit: str, pull_id: int) -> bool:
        """True when everything the store holds of ``unit`` — every key, every version — was
        first seen in pull ``pull_id`` and nothing is acknowledged: there is no earlier data
        to compare that pull with (a unit's first pull). Known without a scan when this store
        recorded that pull and the unit had no key before it; when ``pull_id`` is the unit's
        last pull, from its keys alone (a version is first seen with or after its key, and
        only by a pull of the unit)."""
        if self._first_keys.get(unit) == pull_id:
            return not self.conn.execute("SELECT EXISTS (SELECT 1 FROM acks WHERE unit = ?)",
                                         (unit,)).fetchone()[0]
        versions = "" if self._last_pull_id(unit) == pull_id else (
            " OR EXISTS (SELECT 1 FROM row_versions v JOIN row_keys k ON k.id = v.key_id"
            "            JOIN key_tabs t ON t.id = k.tab WHERE t.unit = :unit"
            "            AND v.first_pull != :pull)")
        row = self.conn.execute(
            "SELECT EXISTS (SELECT 1 FROM row_keys k JOIN key_tabs t ON t.id = k.tab"
            "               WHERE t.unit = :unit AND k.first_pull != :pull)"
            f"{versions} OR EXISTS (SELECT 1 FROM acks WHERE unit = :unit)",
            {"unit": unit, "pull": pull_id}).fetchone()
        return not row[0]

    def cached_history(self, unit: str, token: str) -> list[dict] | None:
        pending = self._history_pending.get(unit)
        row = pending if pending is not None else self.conn.execute(
            "SELECT token, findings FROM unit_history_cache WHERE unit = ?", (unit,)).fetchone()
        return json.loads(row[1]) if row is not None and row[0] == token else None

    def cache_history(self, unit: str, token: str, findings: list[dict]) -> None:
        """Keep a unit's history findings: written with other units' (``HISTORY_CACHE_BATCH``
        units a transaction, the rest when the store is closed) rather than a commit per unit
        (a national `rollup`: 3,300); skipped on a read-only store."""
        self._history_pending[unit] = (token, _jdump(findings))
        if len(self._history_pending) >= HISTORY_CACHE_BATCH:
            self._write_history_cache()

    def keep_history_under(self, unit: str, before: str, after: str) -> None:
        """The history findings kept for ``unit`` under token ``before``, kept under ``after``
        instead (``history.keep_after_recording``); nothing when they are not ``before``'s."""
        kept = self._history_pending.get(unit) or self.conn.execute(
            "SELECT token, findings FROM unit_history_cache WHERE unit = ?", (unit,)).fetchone()
        if kept is not None and kept[0] == before:
            self._history_pending[unit] = (after, kept[1])
            if len(self._history_pending) >= HISTORY_CACHE_BATCH:
                self._write_history_cache()

    def _write_history_cache(self) -> None:
        """Write the history findings kept by ``cache_history`` and not written yet. Never
        fails: the cache only saves time (a read-only, locked or full store keeps none)."""
        pending, self._history_pending = self._history_pending, {}
        if not pending or self.conn is None:
            return
        try:
            with self.conn:
                self.conn.executemany("INSERT OR REPLACE INTO unit_history_cache VALUES (?, ?, ?)",
                                      [(unit, *kept) for unit, kept in pending.items()])
        except sqlite3.Error as e:  # read-only (--dry-run, --no-history), locked, disk full
            logging.getLogger(__name__).info(f"Chưa lưu được kết quả lịch sử vào kho: {e}")

    # --- acknowledgements --------------------------------------------------------------------

    def acks(self, unit: str) -> list[Ack]:
        return [Ack(r[0], r[1], r[2], r[3], r[4], r[5],
                    expand_vals(r[3], json.loads(r[6]), self._layouts) if r[6] else None,
                    datetime.fromisoformat(r[7]), r[8])
                for r in self.conn.execute(
                    "SELECT id, unit, rule, tab_id, rkey, state, vals, acked_at, note FROM acks"
                    " WHERE unit = ? ORDER BY id", (unit,))]

    def add_acks(self, unit: str, items: Iterable[tuple[str, str, str, str, dict | None]],
                 acked_at: datetime, note: str = "") -> int:
        """items: (rule, tab_id, rkey, state, vals)."""
        rows = [(unit, rule, tab_id, rkey, state,
                 _jdump(vals) if vals is not None else None,
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
        cutoff_at = reference - timedelta(days=retention_days)
        cutoff = cutoff_at.isoformat(timespec="seconds")
        last = "SELECT max(id) FROM pulls GROUP BY unit"
        with self.conn:
            rewritten = self._keep_live_days(cutoff, last)
            pulls = self.conn.execute(
                f"DELETE FROM pulls WHERE pulled_at < ? AND id NOT IN ({last})", (cutoff,)
            ).rowcount
            keys = self.conn.execute(
                "DELETE FROM row_keys WHERE live = 0 AND last_seen < ?"
                f" AND last_pull NOT IN ({last})", (seconds_of(cutoff_at),)).rowcount
            versions = self.conn.execute(
                "DELETE FROM row_versions WHERE last_seen < ? AND id NOT IN"
                " (SELECT max(id) FROM row_versions GROUP BY key_id)",
                (seconds_of(cutoff_at),)).rowcount
            acks = self.conn.execute(
                "DELETE FROM acks WHERE rkey != '*' AND NOT EXISTS (SELECT 1 FROM row_keys k"
                " JOIN key_tabs t ON t.id = k.tab WHERE t.unit = acks.unit"
                " AND t.tab_id = acks.tab_id AND k.rkey = acks.rkey)").rowcount
            runs = self.conn.execute("DELETE FROM runs WHERE started < ?", (cutoff,)).rowcount
            if rewritten or pulls or keys or versions or acks:  # cached history: recompute
                self.conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('history_generation', '1')"
                    " ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1")
        return {"pulls": pulls, "row_keys": keys, "row_versions": versions, "acks": acks,
                "runs": runs}

    def _keep_live_days(self, cutoff: str, last: str) -> int:
        """Before pulls older than ``cutoff`` are deleted: a live version counts the as-of
        days of the pulls since it was written (``UnitPulls.final_day``); one of those about
        to go whose as-of date is later than every later pull's (an as-of date that went back)
        is first written into the versions it counts for. The number of versions rewritten."""
        rewritten = 0
        doomed = self.conn.execute(
            f"SELECT DISTINCT unit FROM pulls WHERE pulled_at < ? AND id NOT IN ({last})",
            (cutoff,)).fetchall()
        for (unit,) in doomed:
            rows = self.conn.execute(
                "SELECT id, pulled_at < ?, max(as_of, coalesce(seen_as_of, as_of)) FROM pulls"
                " WHERE unit = ? ORDER BY id DESC", (cutoff, unit)).fetchall()
            later = rows[0][2]  # the latest as-of date of the pulls after (the last one stays)
            for pull_id, goes, as_of in rows[1:]:
                if goes and as_of > later:
                    rewritten += self.conn.execute(
                        "UPDATE row_versions SET max_as_of = max(max_as_of, ?) WHERE live = 1"
                        " AND last_pull <= ? AND key_id IN (SELECT id FROM row_keys WHERE"
                        f" {_UNIT_KEYS})", (day_of(as_of), pull_id, unit)).rowcount
                later = max(later, as_of)
        return rewritten

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


def _converted(convert: Callable[[int], Any]) -> Callable[[int], Any]:
    """``convert``, each distinct stored number converted once (the times and days of a unit's
    pulls recur on every one of its rows), the results shared."""
    done: dict[int, Any] = {}

    def get(n: int) -> Any:
        got = done.get(n)
        if got is None:
            got = done[n] = convert(n)
        return got
    return get


def _stored_pull(row: tuple) -> StoredPull:
    """A ``pulls`` row (id, unit, pulled_at, as_of, version, own_write_version, raw). Grids
    recorded as our own write left them carry the version that write produced: the data they
    hold is that version's (its history findings were kept under it, ``HistoryOf.rewritten``)."""
    raw = load_raw(row[6])
    if row[5] is not None:
        raw.version = row[5]
    return StoredPull(row[0], row[1], datetime.fromisoformat(row[2]),
                      date.fromisoformat(row[3]), row[4], row[5], raw)


def _pull_info(row) -> PullInfo:
    return PullInfo(row[0], row[1], datetime.fromisoformat(row[2]), date.fromisoformat(row[3]))


HISTORY_CACHE_VERSION = 1  # bump when the history findings' logic or wording changes
HISTORY_CACHE_BATCH = 1000  # units whose history findings are written in one transaction


def file_fingerprint(raw: RawWorkbook) -> str | None:
    """Size, modification time and SHA-256 of the local file a pull was read from (None for
    Google units)."""
    meta = raw.meta or {}
    if not meta.get("sha256") or "size" not in meta or "mtime_ns" not in meta:
        return None
    return f"{meta['size']}:{meta['mtime_ns']}:{meta['sha256']}"


def _template_tab(tab_id: str):
    try:
        return load_template().tab(tab_id)
    except KeyError:
        return None


def _keys_of(tab_id: str, cols: str, stored: str, rkey: str) -> list:
    """[[header, display], ...] of a row key: its stored displays (before schema v3: the pairs
    themselves), or "" when they follow from the canonical key values of ``rkey``."""
    tab = _template_tab(tab_id)
    ids = cols.split(",") if cols else []
    if stored:
        keys = json.loads(stored)
        if not keys or isinstance(keys[0], list):
            return keys
    else:
        base = rkey if rkey.endswith("]") else rkey.rsplit("#", 1)[0]
        values = json.loads(base)
        keys = [derived_display(tab.by_id.get(c) if tab is not None else None, v)
                for c, v in zip(ids, values)]
    headers = [tab.column(c).header if tab is not None and c in tab.by_id else c for c in ids]
    return [[h, d] for h, d in zip(headers, keys)]


def expand_vals(tab_id: str, vals: Any, layouts: Callable[[int], list[str]] | None = None
                ) -> dict[str, list]:
    """Stored values as column id -> [canonical, display] (``vals``: a dict, or positional
    ``[layout id, value, …]`` with ``layouts`` giving a layout's column ids)."""
    if isinstance(vals, list):
        if layouts is None:
            raise ValueError("positional values need their layout")
        vals = {c: v for c, v in zip(layouts(vals[0]), vals[1:]) if v is not None}
    tab = _template_tab(tab_id)
    out: dict[str, list] = {}
    for c, v in vals.items():
        if isinstance(v, list):
            out[c] = _pair(v)
        else:
            column = tab.by_id.get(c) if tab is not None else None
            out[c] = [v, derived_display(column, v)]
    return out


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
            if not self.damaged:
                self._write_history_cache()
            self.conn.close()


_NEUTRAL: dict[str, Any] = {
    "record_pull": None, "set_own_write_version": None, "last_pull": None,
    "last_pull_of_year": None,
    "last_versions": (), "last_pull_info": None, "pulls": [], "known_rows": [],
    "row_versions": {}, "acks": [], "add_acks": 0, "prune": {}, "record_run": None, "runs": [],
    "keep_history_under": None,
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

"""History store v4 (no per-row columns that can be derived): a real v3 store upgrades with
every finding, listing and reference unchanged, a store written by the v4 code from the same
pulls gives the same findings and listings as the v3 code did, and the key index of the
synthetic province (computed with results kept across units) equals the v3 code's.

GOLDEN_INDEX was computed with the schema-v3 code (commit 103d24a) by ``_index_digest``: per
indexed row its unit, tab, key columns, sheet row, key, key displays, period, cell, value hash
and its values as stored and read back (``expand_vals``) and as computed (``IndexedRow.vals``)."""
from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import sqlite3
from datetime import date, datetime
from pathlib import Path

import pytest

from benchmarks.synthetic import AS_OF, SIZES, dataset
from sheets_sync.core.grid import parse_unit
from sheets_sync.core.template import load_template
from sheets_sync.sync.history import history_findings
from sheets_sync.sync.history_ack import ack
from sheets_sync.sync.history_views import rows_history
from sheets_sync.sync.store import (
    DB_NAME,
    SCHEMA_VERSION,
    Store,
    day_of,
    expand_vals,
    hash_hex,
    hash_int,
    index_unit,
    release_index,
    seconds_of,
    time_of,
    vals_entry,
)

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "history-v3"
EXPECTED = json.loads((FIXTURE / "expected.json").read_text(encoding="utf-8"))


def _make_v3() -> dict:
    """The scenario of make_v3.py (its data and pulls: the module, imported without writing)."""
    spec = importlib.util.spec_from_file_location("make_v3_scenario", FIXTURE / "make_v3.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return vars(module)


def _findings_and_views(store: Store, s: dict) -> dict:
    current = s["parsed"](s["raw_of"](s["rows3"], s["ATT"][:1]), date(2026, 12, 5))
    found = history_findings(store, "NT", current, date(2026, 12, 5), 2026, s["PARAMS"])
    lx = s["parsed"](s["raw_of"](s["rows4"]), date(2026, 12, 5), "LX")
    found_lx = history_findings(store, "LX", lx, date(2026, 12, 5), 2026, s["PARAMS"])
    views = {u: rows_history(store, u, changed_only=False) for u in ("NT", "LX")}
    return json.loads(json.dumps(
        {"NT": [[f.rule, f.tab, f.row, f.cell, f.period, f.message] for f in found],
         "LX": [[f.rule, f.tab, f.row, f.cell, f.period, f.message] for f in found_lx],
         "views": views}, ensure_ascii=False, default=str))


def test_a_v3_store_upgrades_with_every_finding_listing_and_reference_unchanged(tmp_path):
    shutil.copy(FIXTURE / DB_NAME, tmp_path / DB_NAME)
    before = sqlite3.connect(tmp_path / DB_NAME)
    counts = [before.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
              for t in ("pulls", "row_keys", "row_versions", "acks")]
    refs = {(r[0], r[1], r[2]): r[3] for r in before.execute(
        "SELECT unit, tab_id, rkey, ref FROM row_keys")}
    before.close()
    with Store.open(tmp_path) as store:
        assert store.schema_version() == SCHEMA_VERSION == 5
        assert [store.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("pulls", "row_keys", "row_versions", "acks")] == counts
        got = _findings_and_views(store, _make_v3())
        known = {(u, k.tab_id, k.rkey): k.ref for u in ("NT", "LX") for k in store.known_rows(u)}
        columns = {r[1] for r in store.conn.execute("PRAGMA table_info(row_keys)")}
        # the replaced tables' pages went back to the disk
        assert store.conn.execute("PRAGMA freelist_count").fetchone()[0] == 0
    assert got == EXPECTED
    assert known == refs
    assert not {"unit", "tab_id", "first_seen_text"} & columns
    assert list(tmp_path.glob("history-v3-backup-*.sqlite"))  # the v3 file kept aside


def test_a_v4_store_written_from_the_same_pulls_gives_what_v3_gave(tmp_path):
    """The new write path (make_v3.py's pulls, recorded by this code) against the v3 code's
    output."""
    s = _make_v3()
    with Store.open(tmp_path) as store:
        for rows, at in ((s["rows1"], datetime(2026, 10, 20, 2)),
                         (s["rows2"], datetime(2026, 11, 20, 2))):
            raw = s["raw_of"](rows, s["ATT"] if rows is s["rows1"] else s["ATT"][:2])
            store.record_pull("NT", raw, s["parsed"](raw, at.date()), at, at.date())
        ack(store, "NT", all=True, now=datetime(2026, 11, 21, 9))
        local = s["LOCAL"]
        for rows, at, meta in ((s["rows1"], datetime(2026, 11, 1, 3), local),
                               (s["rows1"], datetime(2026, 11, 8, 3), local),
                               (s["rows4"], datetime(2026, 11, 15, 3), dict(local, mtime_ns=6))):
            raw = s["raw_of"](rows, meta=meta)
            store.record_pull("LX", raw, s["parsed"](raw, at.date(), "LX"), at, at.date())
        got = _findings_and_views(store, s)
    assert got == EXPECTED


def test_a_v3_store_whose_references_are_broken_is_not_upgraded(tmp_path):
    """A v3 store with a version of a key that does not exist: the upgrade stops (foreign key
    check) and leaves the store as it was."""
    shutil.copy(FIXTURE / DB_NAME, tmp_path / DB_NAME)
    conn = sqlite3.connect(tmp_path / DB_NAME)
    with conn:
        conn.execute("UPDATE row_versions SET key_id = 999999 WHERE id = 1")
    conn.close()
    with pytest.raises(Exception):  # noqa: B017 — the store's own error, in Vietnamese
        Store.open(tmp_path)
    conn = sqlite3.connect(tmp_path / DB_NAME)
    try:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'"
                            ).fetchone()[0] == "3"
        assert conn.execute("SELECT key_id FROM row_versions WHERE id = 1").fetchone()[0] \
            == 999999
    finally:
        conn.close()


def test_compact_encodings_round_trip():
    at = datetime(2026, 11, 20, 2, 3, 4)
    assert time_of(seconds_of(at)) == at
    assert seconds_of(at.isoformat()) == seconds_of(at)
    assert date.fromordinal(day_of("2026-12-05")) == date(2026, 12, 5)
    for h in ("0000000000000000", "7fffffffffffffff", "8000000000000000", "ffffffffffffffff",
              "8424f211a3019410"):
        assert -(1 << 63) <= hash_int(h) < 1 << 63
        assert hash_hex(hash_int(h)) == h


def test_a_name_is_stored_once_and_read_back_in_full():
    entry = vals_entry(None, "nguyễn văn ấn", "Nguyễn  Văn Ấn")
    assert entry == ["Nguyễn  Văn Ấn"]
    assert expand_vals("meetings", {"topic": entry}) == {
        "topic": ["nguyễn văn ấn", "Nguyễn  Văn Ấn"]}
    # a display whose normalized form is not the canonical value keeps both
    assert vals_entry(None, "?x", "y") == ["?x", "y"]
    assert expand_vals("meetings", {"topic": ["?x", "y"]}) == {"topic": ["?x", "y"]}


def test_mapping_each_distinct_value_once_equals_mapping_every_value():
    from sheets_sync.sync.store import _mapped

    def fn(v):
        return f"{type(v).__name__}:{v!r}"

    columns = [
        ["a", "a", None, "b", "a"],
        [True, 1, 1.0, False, 0, 0.0, None, True],  # equal across types: kept apart
        [1, 1, 2, None, 3, 1],
        [date(2026, 1, 1), datetime(2026, 1, 1), date(2026, 1, 1), None],
        [1.5, 1.5, float("nan"), 2.0],
        [["x"], ["x"], "x"],  # unhashable
    ]
    for values in columns:
        assert _mapped(values, fn) == [fn(v) for v in values]


GOLDEN_INDEX = ("a98cb403dd445a9fb37a54acf819eb8496c202e31ab13d64a014a85f0d81a49a", 57440)


def _index_digest(size_name: str) -> tuple[str, int]:
    template = load_template()
    _, units = dataset(SIZES[size_name])
    h, n = hashlib.sha256(), 0
    layouts: dict[str, int] = {}
    for unit, raw in units:
        data = parse_unit(template, raw, unit.code, unit.name, AS_OF)
        for tab_id, tab in index_unit(data).items():
            layout = layouts.setdefault(",".join(tab.val_cols), len(layouts) + 1)
            vals = tab.vals_json_of(range(len(tab.rows)), layout)
            for r in tab.rows:
                stored = expand_vals(tab_id, json.loads(vals[r.index]),
                                     lambda _, cols=tab.val_cols: cols)
                h.update(json.dumps([unit.code, tab_id, tab.name, tab.cols, r.sheet_row, r.rkey,
                                     r.keys, r.period, r.cell, r.vhash, stored, r.vals],
                                    ensure_ascii=False, sort_keys=True, default=str).encode())
                n += 1
        release_index(data)
    return h.hexdigest(), n


def test_the_province_key_index_equals_the_v3_codes():
    assert _index_digest("province") == GOLDEN_INDEX


def test_kept_results_stay_right_past_their_limit(monkeypatch):
    from sheets_sync.sync import store

    monkeypatch.setattr(store, "_MEMO_LIMIT", 4)
    memo: dict = {}
    for start in range(0, 30, 3):
        values = [start, start + 1, None, start + 2, start, True]  # ints and a bool: apart
        assert store._mapped(values, repr, memo) == [repr(v) for v in values]
        ints = list(range(start, start + 6))
        assert store._mapped(ints, repr, memo) == [repr(v) for v in ints]
        assert len(memo[int]) <= 6


def test_values_met_before_are_mapped_without_calling_the_function_again():
    from sheets_sync.sync import store

    calls: list = []

    def fn(v):
        calls.append(v)
        return f"{type(v).__name__}:{v!r}"

    memo: dict = {}
    assert store._mapped(["a", "b", "a", None], fn, memo) == [fn(v) for v in ["a", "b", "a", None]]
    calls.clear()
    assert store._mapped(["b", None, "a"], fn, memo) == ["str:'b'", "NoneType:None", "str:'a'"]
    assert calls == []  # all met before: taken from the kept results
    assert store._mapped([1, 2, 1], fn, memo) == ["int:1", "int:2", "int:1"]
    assert store._mapped([True, 1.0], fn, memo) == ["bool:True", "float:1.0"]  # not int:1
    assert store._mapped([2.0], fn, memo) == ["float:2.0"]
    assert store._mapped(["a", "c"], fn, memo) == ["str:'a'", "str:'c'"]
    assert calls.count("c") == 1 and "a" not in calls

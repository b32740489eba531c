"""Live rows (schema v5): recording a pull writes only the keys and versions that changed, and
the store still reads as if every row had been moved on to every pull it was in.

The reference is a model of what a key and a version mean (store.py's module docstring),
computed from the sequence of pulls alone: a key's first and last pull, last seen time and
last sheet row; a key's versions (a new one when its values differ from its latest), each
with its first and last pull, last seen time, latest as-of date and last sheet row."""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from helpers import TEMPLATE, cell, meeting, workbook
from sheets_sync.core.grid import parse_unit
from sheets_sync.sync.store import Store, hash_int, index_unit

CELLS = ("CB01", "CB02", "CB03")


def _raw(rows):
    return workbook(cells=[cell(c) for c in CELLS], meetings=rows)


def _pulls(seed: int, n: int = 12):
    """``n`` pulls of one unit: rows deleted, brought back, edited and reordered; the as-of
    date sometimes going back (a run with ``--as-of`` in the past)."""
    rng = random.Random(seed)
    pool = [meeting(c, 2026, m) for c in CELLS for m in range(1, 9)]
    rows = pool[:12]
    at, as_of = datetime(2026, 9, 1, 8), date(2026, 9, 1)
    out = []
    for _ in range(n):
        rows = [r for r in rows if rng.random() > 0.15]  # some deleted
        rows += [r for r in pool if r not in rows and rng.random() < 0.2]  # some (back) again
        rows = [dict(r, topic=rng.choice(("Chủ đề A", "Chủ đề B"))) if rng.random() < 0.2 else r
                for r in rows]  # some edited (possibly back to an earlier value)
        if rng.random() < 0.5:
            rng.shuffle(rows)  # every sheet row moves
        at += timedelta(days=1, seconds=rng.randrange(3600))
        as_of = as_of + timedelta(days=rng.choice((1, 30, -45)))
        out.append((list(rows), at, as_of))
    return out


def _model(pulls):
    """(tab id, rkey) -> key facts, and -> [version facts] from the pulls alone."""
    keys: dict = {}
    versions: dict = {}
    for pull_id, (rows, at, as_of) in enumerate(pulls, start=1):
        data = parse_unit(TEMPLATE, _raw(rows), "NT", "NT", as_of)
        for tab in index_unit(data).values():
            for r in tab.rows:
                key = (tab.tab_id, r.rkey)
                k = keys.setdefault(key, {"first_pull": pull_id})
                k.update(last_pull=pull_id, last_seen=at, last_row=r.sheet_row)
                chain = versions.setdefault(key, [])
                vhash = hash_int(r.vhash)
                if not chain or chain[-1]["vhash"] != vhash:
                    chain.append({"vhash": vhash, "first_pull": pull_id, "max_as_of": as_of})
                v = chain[-1]
                v.update(last_pull=pull_id, last_seen=at, sheet_row=r.sheet_row,
                         max_as_of=max(v["max_as_of"], as_of))
    return keys, versions


def _stored(store: Store):
    known = store.known_rows("NT")
    by_id = store.row_versions("NT")
    keys = {(k.tab_id, k.rkey): {"first_pull": k.first_pull, "last_pull": k.last_pull,
                                 "last_seen": k.last_seen, "last_row": k.last_row}
            for k in known}
    versions = {(k.tab_id, k.rkey): [
        {"vhash": hash_int(v.vhash), "first_pull": v.first_pull, "max_as_of": v.max_as_of,
         "last_pull": v.last_pull, "last_seen": v.last_seen, "sheet_row": v.sheet_row}
        for v in by_id.get(k.id, [])] for k in known}
    return keys, versions


def _record(store: Store, rows, at: datetime, as_of: date) -> int:
    raw = _raw(rows)
    return store.record_pull("NT", raw, parse_unit(TEMPLATE, raw, "NT", "NT", as_of), at, as_of)


def test_a_store_of_live_rows_reads_as_every_row_moved_on_to_every_pull(tmp_path):
    for seed in range(6):
        pulls = _pulls(seed)
        with Store.open(tmp_path / str(seed)) as store:
            for n, (rows, at, as_of) in enumerate(pulls, start=1):
                _record(store, rows, at, as_of)
                assert _stored(store) == _model(pulls[:n]), (seed, n)


def test_an_unchanged_pull_writes_no_row(tmp_path):
    rows = [meeting(c, 2026, m) for c in CELLS for m in range(1, 9)]
    with Store.open(tmp_path) as store:
        _record(store, rows, datetime(2026, 10, 1), date(2026, 10, 1))
        before = store.conn.total_changes
        _record(store, rows, datetime(2026, 10, 2), date(2026, 10, 2))
        written = store.conn.total_changes - before
        assert written <= 2  # the pull itself (and nothing per row)
        assert {k.last_pull for k in store.known_rows("NT")} == {2}


def test_pruning_keeps_a_live_versions_latest_as_of_date(tmp_path):
    """A pull whose as-of date is later than the pulls after it (a run with ``--as-of`` in the
    future, then normal runs) is pruned: the live versions it counted for keep that date."""
    rows = [meeting("CB01", 2026, m) for m in range(1, 4)]
    with Store.open(tmp_path) as store:
        _record(store, rows, datetime(2026, 1, 1), date(2026, 1, 1))
        _record(store, rows, datetime(2026, 1, 2), date(2026, 6, 30))  # the future as-of
        _record(store, rows, datetime(2026, 3, 1), date(2026, 3, 1))
        before = {v.id: v.max_as_of for vs in store.row_versions("NT").values() for v in vs}
        assert set(before.values()) == {date(2026, 6, 30)}
        gone = store.prune(30, now=datetime(2026, 3, 2))
        assert gone["pulls"] == 2
        after = {v.id: v.max_as_of for vs in store.row_versions("NT").values() for v in vs}
    assert after == before


def test_live_rows_are_read_without_reading_any_pulls_grids(tmp_path):
    """The pull times and as-of dates that live rows are read with come from an index: in a
    pull's record they follow its raw grids, which the table would walk for every pull."""
    rows = [meeting("CB01", 2026, m) for m in range(1, 4)]
    with Store.open(tmp_path) as store:
        for day in (1, 2, 3):
            _record(store, rows[:day], datetime(2026, 10, day), date(2026, 10, day))
        sql: list[str] = []
        store.conn.set_trace_callback(sql.append)
        store.known_rows("NT")
        store.row_versions("NT")
        store.conn.set_trace_callback(None)
        reads = [q for q in sql if " FROM pulls " in q]
        assert reads
        for q in reads:
            plan = " ".join(r[3] for r in store.conn.execute("EXPLAIN QUERY PLAN " + q))
            assert "COVERING INDEX" in plan, (q, plan)

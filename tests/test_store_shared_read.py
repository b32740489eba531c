"""A unit's stored keys and versions are selected once for the history findings of a read and
the recording of that read right after (``Store._unit_rows``), and never reused once anything
was written to the store since — by this connection or by another process."""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from sheets_sync.sync.history import history_findings
from sheets_sync.sync.store import Store
from test_store_speed import PARAMS, ROWS1, ROWS2, ROWS3, parsed, raw_of

AS_OF = date(2026, 10, 20)


def _at(day: int) -> datetime:
    return datetime(2026, 10, day, 8)


def _dump(store: Store) -> tuple[list, list]:
    """Everything the history knows of the unit, as values."""
    keys = [(k.tab_id, k.rkey, k.first_pull, k.last_pull, k.last_seen, k.last_row,
             k.replaced_by) for k in store.known_rows("NT")]
    versions = sorted((v.key_id, v.vhash, v.first_pull, v.last_pull, v.last_seen, v.max_as_of,
                       v.sheet_row) for vs in store.row_versions("NT").values() for v in vs)
    return keys, versions


def _trace(store: Store) -> list[str]:
    statements: list[str] = []
    store.conn.set_trace_callback(statements.append)
    return statements


def _key_selects(statements: list[str]) -> int:
    """SELECTs of the unit's keys themselves (not a count or an existence check)."""
    return sum(s.lstrip().startswith("SELECT") and "row_keys" in s and "rkey" in s
               for s in statements)


def test_recording_a_read_reuses_the_rows_its_history_findings_selected(tmp_path):
    with Store.open(tmp_path / "state") as store:
        store.record_pull("NT", raw_of(ROWS1), parsed(raw_of(ROWS1), AS_OF), _at(20), AS_OF)
        data = parsed(raw_of(ROWS2), AS_OF)
        statements = _trace(store)
        history_findings(store, "NT", data, AS_OF, 2026, PARAMS)
        selected = _key_selects(statements)
        store.record_pull("NT", raw_of(ROWS2), data, _at(21), AS_OF)
        store.conn.set_trace_callback(None)
    assert selected == 1  # the history findings read the keys...
    assert _key_selects(statements) == 1  # ...and recording the read did not read them again


def test_rows_changed_by_another_process_in_between_are_selected_again(tmp_path):
    """Another connection records a pull of the unit between the history findings and the
    recording: the recording indexes against the store as it is then, exactly as a store
    opened afresh does."""
    state = tmp_path / "state"
    reference = tmp_path / "reference"
    for folder in (state, reference):
        with Store.open(folder) as store:
            store.record_pull("NT", raw_of(ROWS1), parsed(raw_of(ROWS1), AS_OF), _at(20), AS_OF)
    with Store.open(state) as store, Store.open(state) as other:
        data = parsed(raw_of(ROWS3), AS_OF)
        history_findings(store, "NT", data, AS_OF, 2026, PARAMS)  # the unit's rows selected
        other.record_pull("NT", raw_of(ROWS2), parsed(raw_of(ROWS2), AS_OF), _at(21), AS_OF)
        store.record_pull("NT", raw_of(ROWS3), data, _at(22), AS_OF)
        got = _dump(store)
    with Store.open(reference) as store:
        store.record_pull("NT", raw_of(ROWS2), parsed(raw_of(ROWS2), AS_OF), _at(21), AS_OF)
    with Store.open(reference) as store:
        store.record_pull("NT", raw_of(ROWS3), parsed(raw_of(ROWS3), AS_OF), _at(22), AS_OF)
        assert got == _dump(store)


def test_rows_changed_by_this_connection_in_between_are_selected_again(tmp_path: Path):
    """The same store records two pulls in a row after its rows were selected: the second is
    indexed against the store with the first, as by a store opened afresh for each pull."""
    pulls = [(ROWS1, 20), (ROWS2, 21), (ROWS3, 22)]
    for rows, day in pulls:
        with Store.open(tmp_path / "reference") as store:
            store.record_pull("NT", raw_of(rows), parsed(raw_of(rows), AS_OF), _at(day), AS_OF)
    with Store.open(tmp_path / "reference") as store:
        expected = _dump(store)
    with Store.open(tmp_path / "state") as store:
        rows, day = pulls[0]
        store.record_pull("NT", raw_of(rows), parsed(raw_of(rows), AS_OF), _at(day), AS_OF)
        store.known_rows("NT")  # selected and kept
        for rows, day in pulls[1:]:
            store.record_pull("NT", raw_of(rows), parsed(raw_of(rows), AS_OF), _at(day), AS_OF)
        assert _dump(store) == expected
    assert len(expected[1]) > len(expected[0])  # the edited rows have two versions

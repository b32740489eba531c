"""History store v3: migration of a real v2 store, compact values, unchanged local files not
stored again, cached history findings equal to a full recomputation, index released."""
from __future__ import annotations

import json
import shutil
from datetime import date, datetime
from itertools import islice
from pathlib import Path

from benchmarks.synthetic import AS_OF, SIZES, dataset
from helpers import TEMPLATE, cell, meeting, workbook
from sheets_sync.core.grid import parse_unit
from sheets_sync.core.rules import params as rule_params
from sheets_sync.sync import history
from sheets_sync.sync.history import history_findings
from sheets_sync.sync.history_ack import ack
from sheets_sync.sync.store import (
    DB_NAME,
    SCHEMA_VERSION,
    Store,
    _canon,
    _display,
    compact_rkey,
    file_fingerprint,
    hash_int,
    index_unit,
    key_hash,
    vals_entry,
    vhash_of,
)

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "history-v2"
PARAMS = rule_params.resolve()
ATT = [{"cell_code": "CB01", "month": "03/2026", "member_name": n, "status": "Có mặt"}
       for n in ("Nguyễn Văn Ấn", "Phạm Thị Ðào", "Hồ Sĩ Đức")]


def raw_of(rows, att=ATT, meta=None):
    raw = workbook(cells=[cell("CB01", cell_name="Chi bộ Thôn Đông"),
                          cell("CB02", cell_name="Chi bộ Phước Hải")],
                   meetings=rows, attendance=att)
    if meta:
        raw.meta.update(meta)
    return raw


def parsed(raw, as_of):
    return parse_unit(TEMPLATE, raw, "NT", "Đơn vị NT", as_of)


ROWS1 = [meeting(c, 2026, m, topic="Nguyễn Văn Ấn") for c in ("CB01", "CB02") for m in range(1, 10)]
ROWS2 = [dict(r, topic="Trần Thị Bích") if (r["cell_code"], r["month"]) == ("CB01", "03/2026")
         else r for r in ROWS1 if (r["cell_code"], r["month"]) != ("CB02", "05/2026")]
ROWS3 = [dict(r, topic="Lê Văn Cường") if (r["cell_code"], r["month"]) == ("CB02", "02/2026")
         else r for r in ROWS2]


def test_a_v2_store_upgrades_without_changing_any_finding(tmp_path):
    """The fixture was written by the schema-v2 code (make_v2.py, commit 3c2927d): two pulls,
    an acknowledged deletion and an acknowledged change, Vietnamese keys. After the upgrade,
    the same current data gives exactly the findings v2 gave (no spurious change from the new
    value hashes, keys still found, acknowledgements still honoured)."""
    shutil.copy(FIXTURE / DB_NAME, tmp_path / DB_NAME)
    expected = json.loads((FIXTURE / "expected.json").read_text(encoding="utf-8"))
    with Store.open(tmp_path) as store:
        assert store.schema_version() == SCHEMA_VERSION
        current = parsed(raw_of(ROWS3, ATT[:1]), date(2026, 12, 5))
        found = history_findings(store, "NT", current, date(2026, 12, 5), 2026, PARAMS)
        rkeys = [r[0] for r in store.conn.execute("SELECT rkey FROM row_keys")]
        states = [r[0] for r in store.conn.execute(
            "SELECT state FROM acks WHERE rule = 'DATA-CHANGED-CLOSED'")]
    assert [[f.rule, f.tab, f.row, f.cell, f.period, f.message] for f in found] == expected
    assert all("\\u" not in k and ", " not in k for k in rkeys)
    assert any("nguyễn văn ấn" in k for k in rkeys)
    assert states and all(len(s) == 16 for s in states)
    assert list(tmp_path.glob("history-v2-backup-*.sqlite"))  # the v2 file kept aside


def test_compact_rkey():
    assert compact_rkey('["cb01", "2026-03", null, "h\\u1ed3 s\\u0129"]#2') == \
        '["cb01","2026-03",null,"hồ sĩ"]#2'
    assert compact_rkey('["a#b", 1.5]') == '["a#b",1.5]'
    assert compact_rkey("*") == "*"


def test_stored_values_are_compact(tmp_path):
    raw = raw_of(ROWS1)
    with Store.open(tmp_path) as store:
        store.record_pull("NT", raw, parsed(raw, date(2026, 10, 20)), datetime(2026, 10, 20),
                          date(2026, 10, 20))
        layouts = dict(store.conn.execute("SELECT id, cols FROM value_layouts"))
        vals = [r[0] for r in store.conn.execute(
            "SELECT vals FROM row_versions v JOIN row_keys k ON k.id = v.key_id"
            " JOIN key_tabs t ON t.id = k.tab WHERE t.tab_id = 'meetings'")]
        keys = [r[0] for r in store.conn.execute(
            "SELECT keys FROM row_keys k JOIN key_tabs t ON t.id = k.tab"
            " WHERE t.tab_id = 'meetings'")]
        known = store.known_rows("NT")
        versions = store.row_versions("NT")
    assert all("\\u" not in v and ", " not in v for v in vals + keys)
    # positional values; dates, numbers, codes and choices without their display, names with it
    first = json.loads(vals[0])
    meeting_vals = dict(zip(layouts[first[0]].split(","), first[1:]))
    assert meeting_vals["meeting_date"] == "2026-01-03" and meeting_vals["rating"] == "good"
    assert meeting_vals["cell_code"] == "cb01"
    assert meeting_vals["topic"] == ["Nguyễn Văn Ấn"]  # the canonical value is its normalized form
    # meeting keys follow from their canonical values ("" stored), and read back in full
    assert set(keys) == {""}
    jan = next(k for k in known if k.tab_id == "meetings")
    assert jan.keys == [["Mã chi bộ", "CB01"], ["Kỳ tháng", "01/2026"],
                        ["Loại sinh hoạt", "Thường kỳ"], ["Ngày sinh hoạt", "03/01/2026"]]
    # … and read back as [canonical, display]
    full = next(v.vals for vs in versions.values() for v in vs if "meeting_date" in v.vals)
    assert full["meeting_date"] == ["2026-01-03", "03/01/2026"]
    assert full["rating"] == ["good", "Tốt"]


LOCAL = {"path": "/x/nt.xlsx", "size": 1000, "mtime_ns": 5, "sha256": "ab" * 32}


def test_an_unchanged_local_file_is_not_stored_again(tmp_path):
    raw = raw_of(ROWS1, meta=LOCAL)
    assert file_fingerprint(raw) == f"1000:5:{'ab' * 32}"
    with Store.open(tmp_path) as store:
        first = store.record_pull("NT", raw, parsed(raw, date(2026, 10, 20)),
                                  datetime(2026, 10, 20), date(2026, 10, 20))
        size = store.conn.execute("SELECT count(*) FROM row_versions").fetchone()[0]
        again = raw_of(ROWS1, meta=LOCAL)
        data = parsed(again, date(2026, 11, 20))
        second = store.record_pull("NT", again, data, datetime(2026, 11, 20), date(2026, 11, 20))
        assert second == first and data.key_index is None
        assert store.conn.execute("SELECT count(*) FROM pulls").fetchone()[0] == 1
        assert store.conn.execute("SELECT count(*) FROM row_versions").fetchone()[0] == size
        # the rows count as seen by the re-read
        k = store.known_rows("NT")[0]
        assert k.last_seen == datetime(2026, 11, 20)
        v = next(iter(store.row_versions("NT").values()))[0]
        assert v.max_as_of == date(2026, 11, 20)
        # the same content in a file touched since (mtime) is stored again
        touched = raw_of(ROWS1, meta=dict(LOCAL, mtime_ns=6))
        third = store.record_pull("NT", touched, parsed(touched, date(2026, 11, 21)),
                                  datetime(2026, 11, 21), date(2026, 11, 21))
        assert third != first
        assert store.conn.execute("SELECT count(*) FROM row_versions").fetchone()[0] == size


def test_recording_releases_the_key_index(tmp_path):
    raw = raw_of(ROWS1)
    data = parsed(raw, date(2026, 10, 20))
    index_unit(data)
    assert data.key_index is not None
    with Store.open(tmp_path) as store:
        store.record_pull("NT", raw, data, datetime(2026, 10, 20), date(2026, 10, 20))
    assert data.key_index is None


def _history(store, rows, att, as_of, source):
    data = parsed(raw_of(rows, att), as_of)
    return history_findings(store, "NT", data, as_of, 2026, PARAMS, source)


def test_cached_history_findings_equal_a_full_recomputation(tmp_path, monkeypatch):
    calls = []
    real = history.load_state
    monkeypatch.setattr(history, "load_state", lambda s, u: calls.append(u) or real(s, u))
    with Store.open(tmp_path) as store:
        for rows, att, at in ((ROWS1, ATT, datetime(2026, 10, 20)),
                              (ROWS2, ATT[:2], datetime(2026, 11, 20))):
            raw = raw_of(rows, att)
            store.record_pull("NT", raw, parsed(raw, at.date()), at, at.date())
        as_of = date(2026, 12, 5)
        full = _history(store, ROWS3, ATT[:1], as_of, None)  # no source: never cached
        assert len(calls) == 1 and {f.rule for f in full} == {"DATA-DELETED",
                                                               "DATA-CHANGED-CLOSED"}
        first = _history(store, ROWS3, ATT[:1], as_of, "v3")
        again = _history(store, ROWS3, ATT[:1], date(2026, 12, 6), "v3")
        assert first == full and again == full
        assert len(calls) == 2  # the second run with the same source read the cache
        # anything the findings depend on invalidates the cache …
        ack(store, "NT", rule="DATA-DELETED", all=True, now=datetime(2026, 12, 6))
        calls.clear()
        after_ack = _history(store, ROWS3, ATT[:1], as_of, "v3")
        assert len(calls) == 1 and after_ack != full
        assert after_ack == _history(store, ROWS3, ATT[:1], as_of, None)
        calls.clear()
        other = _history(store, ROWS2, ATT[:2], as_of, "v2")  # other data
        assert len(calls) == 1
        assert other == _history(store, ROWS2, ATT[:2], as_of, None)
        year = history_findings(store, "NT", parsed(raw_of(ROWS3, ATT[:1]), as_of), as_of,
                                2025, PARAMS, "v3")
        assert year == history_findings(store, "NT", parsed(raw_of(ROWS3, ATT[:1]), as_of),
                                        as_of, 2025, PARAMS, None)


def test_cached_history_findings_are_recomputed_after_retention_removes_history(tmp_path,
                                                                             monkeypatch):
    """The cache's token reads no row of the unit: keys and versions come only with a pull of
    the unit (its last pull is in the token), and what retention removes or rewrites moves the
    store's ``history_generation``. A prune that removes nothing keeps every cached finding."""
    calls = []
    real = history.load_state
    monkeypatch.setattr(history, "load_state", lambda s, u: calls.append(u) or real(s, u))
    with Store.open(tmp_path) as store:
        for at in (datetime(2026, 3, 20), datetime(2026, 11, 20)):
            raw = raw_of(ROWS1)  # the same rows: retention removes a pull, no key, no version
            store.record_pull("NT", raw, parsed(raw, at.date()), at, at.date())
        as_of = date(2026, 12, 5)
        cached = _history(store, ROWS3, ATT[:1], as_of, "v3")
        assert not any(store.prune(365, now=datetime(2026, 12, 5)).values())
        calls.clear()
        assert _history(store, ROWS3, ATT[:1], as_of, "v3") == cached
        assert calls == []  # nothing removed: the cache holds
        gone = store.prune(200, now=datetime(2026, 12, 5))  # the March pull goes
        assert (gone["pulls"], gone["row_keys"], gone["row_versions"]) == (1, 0, 0)
        calls.clear()
        after = _history(store, ROWS3, ATT[:1], as_of, "v3")
        assert calls == ["NT"]  # recomputed from the store as it now is
        assert after == _history(store, ROWS3, ATT[:1], as_of, None)


def test_a_read_only_store_does_not_fail_on_the_cache(tmp_path):
    raw = raw_of(ROWS1)
    with Store.open(tmp_path) as store:
        store.record_pull("NT", raw, parsed(raw, date(2026, 10, 20)), datetime(2026, 10, 20),
                          date(2026, 10, 20))
    ro = Store.open_readonly(tmp_path)
    try:
        assert _history(ro, ROWS2, ATT, date(2026, 12, 5), "v2")
    finally:
        ro.close()


def test_changed_pull_updates_only_what_changed(tmp_path):
    """A second identical pull writes no key and no version; a pull with one row deleted and
    one cell edited writes only those rows (and the rows that moved up), while every key
    still there reads as seen in it."""
    def written(store: Store, pull_id: int) -> int:
        return sum(store.conn.execute(f"SELECT count(*) FROM {t} WHERE last_pull = ?",
                                      (pull_id,)).fetchone()[0]
                   for t in ("row_keys", "row_versions"))

    with Store.open(tmp_path) as store:
        for at in (datetime(2026, 10, 20), datetime(2026, 10, 21)):
            raw = raw_of(ROWS1)
            store.record_pull("NT", raw, parsed(raw, at.date()), at, at.date())
        assert written(store, 2) == 0
        n = store.conn.execute("SELECT count(*) FROM row_versions").fetchone()[0]
        raw = raw_of(ROWS2)
        store.record_pull("NT", raw, parsed(raw, date(2026, 10, 22)), datetime(2026, 10, 22),
                          date(2026, 10, 22))
        assert store.conn.execute("SELECT count(*) FROM row_versions").fetchone()[0] == n + 1
        known = store.known_rows("NT")
        rows = {tuple(v for _, v in k.keys)[:2]: k for k in known if k.tab_id == "meetings"}
        assert rows[("CB01", "01/2026")].last_seen == datetime(2026, 10, 22)
        assert rows[("CB02", "05/2026")].last_seen == datetime(2026, 10, 21)  # deleted
        assert rows[("CB02", "05/2026")].last_pull == 2
        present = [k for k in known if k.last_pull == 3]
        assert len(present) == len(ROWS2) + len(ATT) + 2
        assert 0 < written(store, 3) < len(present) / 2


def test_an_xlsx_file_read_again_unchanged_is_not_stored_again(tmp_path):
    """Through the local reader: the same file read twice is one pull; touched (same bytes,
    new modification time) it is stored again."""
    import os

    import openpyxl

    from sheets_sync.core.config import UnitConfig
    from sheets_sync.sources.local_reader import LocalBackend

    path = tmp_path / "nt.xlsx"
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for sheet in raw_of(ROWS1).sheets:
        ws = wb.create_sheet(sheet.title)
        for row in sheet.rows:
            ws.append(row)
    wb.save(path)
    unit = UnitConfig(code="NT", name="NT", path=path)
    with Store.open(tmp_path / "state") as store:
        ids = []
        for day in (20, 21):
            raw = LocalBackend().read(unit)
            at = datetime(2026, 10, day)
            ids.append(store.record_pull("NT", raw, parsed(raw, at.date()), at, at.date()))
        assert ids[0] == ids[1]
        st = os.stat(path)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
        raw = LocalBackend().read(unit)
        assert store.record_pull("NT", raw, parsed(raw, date(2026, 10, 22)),
                                 datetime(2026, 10, 22), date(2026, 10, 22)) != ids[0]
        assert store.conn.execute("SELECT count(*) FROM pulls").fetchone()[0] == 2


def test_history_of_a_recorded_read_releases_the_index(tmp_path):
    with Store.open(tmp_path) as store:
        raw = raw_of(ROWS1)
        store.record_pull("NT", raw, parsed(raw, date(2026, 10, 20)), datetime(2026, 10, 20),
                          date(2026, 10, 20))
        data = parsed(raw_of(ROWS2), date(2026, 11, 20))
        history_findings(store, "NT", data, date(2026, 11, 20), 2026, PARAMS)
        assert data.key_index is not None  # kept for the recording that follows
        store.record_pull("NT", raw_of(ROWS2), data, datetime(2026, 11, 20), date(2026, 11, 20))
        assert data.key_index is None
        again = parsed(raw_of(ROWS2), date(2026, 11, 21))
        found = history_findings(store, "NT", again, date(2026, 11, 21), 2026, PARAMS,
                                 keep_index=False)  # already recorded (`check`, `rollup`)
        assert found and again.key_index is None


def _index_tables(store: Store) -> list[list[tuple]]:
    return [store.conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall()
            for t in ("row_keys", "row_versions", "key_tabs", "key_labels", "value_layouts")]


def _row_by_row_first_rows(tab, tab_ref, label, layout, pull_id, seen, day, first_key,
                           first_version):
    """Reference for ``store._first_rows``: the rows ``_index_pull``'s general loop gives a tab
    whose keys are all new, one row at a time (each row's values computed on their own)."""
    keys, versions = [], []
    for n, r in enumerate(tab.rows):
        keys.append((first_key + n, tab_ref, key_hash(r.rkey), label, r.rkey, r.keys_json,
                     r.period, r.cell, pull_id, seen, pull_id, seen, r.sheet_row))
        versions.append((first_version + n, first_key + n, hash_int(r.vhash),
                         tab.vals_json_of([r.index], layout)[0], pull_id, seen, pull_id, seen,
                         day, r.sheet_row))
    return keys, versions


def test_a_first_pull_is_stored_as_the_row_by_row_loop_stores_it(tmp_path, monkeypatch):
    """The first keys of a unit are built column by column (``_first_rows``); the stored
    index equals the one built row by row, each row's values computed on their own — for
    units whose previous pulls stored no key as well as for units never pulled."""
    from sheets_sync.sync import store as store_module

    units = list(islice(dataset(SIZES["tiny"])[1], 4))
    dumps = []
    for name, first_rows in (("fast", store_module._first_rows),
                             ("reference", _row_by_row_first_rows)):
        monkeypatch.setattr(store_module, "_first_rows", first_rows)
        with Store.open(tmp_path / name) as store:
            empty = workbook(cells=[], meetings=[])
            store.record_pull("U0", empty, parsed(empty, AS_OF), datetime(2026, 10, 1), AS_OF)
            for n, (unit, raw) in enumerate(units):
                data = parse_unit(TEMPLATE, raw, unit.code if n else "U0", unit.name, AS_OF)
                store.record_pull(unit.code if n else "U0", raw, data,
                                  datetime(2026, 10, 2), AS_OF)
            dumps.append(_index_tables(store))
    assert dumps[0] == dumps[1]
    assert len(dumps[0][1]) > 1000


def test_stored_values_of_some_rows_equal_those_of_the_whole_tab():
    """``vals_json_of`` a subset of rows (a pull that changed a few rows) gives each row what
    computing the whole tab gives it."""
    unit, raw = next(iter(dataset(SIZES["one"])[1]))
    data = parse_unit(TEMPLATE, raw, unit.code, unit.name, AS_OF)
    checked = 0
    for tab in index_unit(data).values():
        n = len(tab.rows)
        whole = tab.vals_json_of(range(n), 3)
        for subset in ([], [n - 1], list(range(0, n, 7)), list(range(n - 1, -1, -3))):
            subset = [i for i in subset if 0 <= i < n]
            assert tab.vals_json_of(subset, 3) == [whole[i] for i in subset]
            checked += len(subset)
    assert checked > 200


def test_a_first_pull_is_known_to_be_all_the_store_holds_without_a_scan(tmp_path):
    """``history_only_from`` answers from what ``record_pull`` saw (the unit had no key
    before) as the full query answers: true for the first pull, false once an acknowledgement
    exists or for a later pull; another store on the same file (no such knowledge) agrees."""
    raw = raw_of(ROWS1)
    at = datetime(2026, 10, 20)
    with Store.open(tmp_path) as store:
        first = store.record_pull("NT", raw, parsed(raw, at.date()), at, at.date())
        assert store._first_keys["NT"] == first
        assert store.history_only_from("NT", first)
        with Store.open(tmp_path) as other:
            assert other.history_only_from("NT", first)
        raw2 = raw_of(ROWS2)
        second = store.record_pull("NT", raw2, parsed(raw2, date(2026, 10, 21)),
                                   datetime(2026, 10, 21), date(2026, 10, 21))
        assert store._first_keys["NT"] is None
        assert not store.history_only_from("NT", second)
        assert not store.history_only_from("NT", first)
    with Store.open(tmp_path / "acked") as store:
        first = store.record_pull("NT", raw, parsed(raw, at.date()), at, at.date())
        store.add_acks("NT", [("DATA-DELETED", "meetings", "x", "1", None)], at)
        assert not store.history_only_from("NT", first)
        with Store.open(tmp_path / "acked") as other:
            assert not other.history_only_from("NT", first)


MESSY = [meeting("CB01", 2026, 1, topic="Nguyen Van  An"),  # no diacritics, two spaces
         meeting("cb01", 2026, 2, rating="tot", meeting_type=None),  # typed code, blank type
         meeting("CB02", 2026, 3, meeting_date="32/13/2026", present="mười"),  # unreadable
         meeting("CB02", 2026, 4, meeting_date="05/04/2026", required_count=20.0,  # as text
                 present="19", topic="Nguye\u0302\u0303n Thi\u0323 Ho\u0300a"),  # NFD
         meeting("CB02", 2026, 5, duration="  ", rating=3, score=True)]  # blank, odd types


def test_stored_rows_follow_the_per_cell_definitions():
    """Computed column by column, every row's value hash and stored values are those the
    per-cell definitions give (``vhash_of`` the canonical values; ``vals_entry`` of each
    canonical value and display), for typed capitals, blanks, unreadable and NFD cells."""
    data = parsed(raw_of(MESSY), date(2026, 10, 20))
    checked = 0
    for tab in index_unit(data).values():
        t = tab.data
        for r in tab.rows:
            canon = {c: _canon(t.tab.column(c), t.values[c][r.index], t.raw[c][r.index])
                     for c in tab.val_cols}
            assert r.vhash == vhash_of(canon)
            stored = json.loads(tab.vals_json_of([r.index], 7)[0])
            entries = [None if v is None
                       else vals_entry(t.tab.column(c), v, _display(t, c, r.index))
                       for c, v in canon.items()]
            while entries and entries[-1] is None:
                entries.pop()
            assert stored == [7, *entries]
            assert r.vals == {c: [v, _display(t, c, r.index)] for c, v in canon.items()
                              if v is not None}
            checked += 1
    assert checked >= len(MESSY)

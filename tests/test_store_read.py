"""The read side of `rollup` (``pipeline.from_store`` and ``pipeline.history_of``): every unit's
last pull read back from the history store, checked, with its history findings. However the
read side is organised, the report is the same: computed the first time, found in the store the
second, equal to a full recomputation of the history findings, and equal to the digest taken
before the history findings' cache was written in batches (commit a34d0ef)."""
from __future__ import annotations

import hashlib
import json
import math
import sqlite3
import zlib
from dataclasses import asdict, replace
from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.synthetic import AS_OF, SIZES, YEAR, dataset
from sheets_sync.core.checker import UnitRead, evaluate
from sheets_sync.core.findings import OK, UnitResult
from sheets_sync.core.grid import parse_unit
from sheets_sync.core.raw import RawSheet, RawWorkbook
from sheets_sync.core.template import load_template
from sheets_sync.sync import history, pipeline
from sheets_sync.sync import store as store_module
from sheets_sync.sync.history import history_findings
from sheets_sync.sync.history_ack import ack
from sheets_sync.sync.store import DB_NAME, Store, _encode, dump_raw, load_raw

TEMPLATE = load_template()
# The report of `_history_store` as the read side gave it before the history findings' cache was
# written in batches: every finding in full (unit, tab, row, cell, period, rule, severity,
# message), in the report's order.
DIGEST_A34D0EF = "f9bfbb9dd0c0bc2820540331f32a414a3ebc679d92048bb18e8dbfb24849edf6"


def _edited(raw: RawWorkbook, version: str, drop: tuple[str, ...] = (),
            delete: dict[str, int] | None = None,
            change: dict[str, tuple[int, int, object]] | None = None) -> RawWorkbook:
    """A copy of ``raw`` as a later pull: sheets in ``drop`` gone, one data row of a sheet
    deleted (``delete``: title -> row index), one cell changed (``change``: title -> (row
    index, column index, value))."""
    sheets = []
    for s in raw.sheets:
        if s.title in drop:
            continue
        rows = [list(r) for r in s.rows]
        if change and s.title in change:
            i, c, value = change[s.title]
            rows[i][c] = value
        if delete and s.title in delete:
            del rows[delete[s.title]]
        sheets.append(RawSheet(s.title, rows))
    return RawWorkbook(sheets, version, dict(raw.meta))


def _history_store(tmp_path):
    """Five units: three pulls of edits (rows deleted, closed months changed, a key edited in
    place, a tab gone), an acknowledged deletion, and a unit pulled once."""
    config, units = dataset(SIZES["small"])
    config = replace(config, state_dir=tmp_path / "state", out_dir=tmp_path / "out")
    meetings, briefings = "Sinh hoạt", "Triển khai"
    with Store.open(config.state_dir) as db:
        for k, (unit, raw) in enumerate(units):
            pulls = [raw]
            if k < 4:
                pulls.append(_edited(raw, "v1", delete={meetings: 3 + k},
                                     change={meetings: (10 + k, 12, 7)}))
            if k < 3:
                pulls.append(_edited(pulls[-1], "v2", drop=(briefings,) if k == 0 else (),
                                     change={meetings: (20, 4, 46100 + k)}))
            for n, pull in enumerate(pulls):
                as_of = date(2027, 1, 5 + 5 * n)
                db.record_pull(unit.code, pull, parse_unit(TEMPLATE, pull, unit.code, unit.name,
                                                           as_of), datetime(2027, 1, 5 + 5 * n, 8),
                               as_of)
        ack(db, "U0003", rule="DATA-DELETED", all=True, now=datetime(2027, 1, 16))
    return config


def _report(config, full: bool = False):
    """`rollup`'s reading and checking; ``full``: history findings recomputed (never cached)."""
    with Store.open(config.state_dir) as db:
        reads = pipeline.from_store(config, db, AS_OF)
        if full:
            def of(r):
                return history_findings(db, r.config.code, r.data, AS_OF, YEAR, r.config.rules,
                                        None, keep_index=False)
        else:
            of = pipeline.history_of(config, db, AS_OF, YEAR)
        return evaluate(config, reads, AS_OF, YEAR, of)


def _digest(report) -> str:
    text = json.dumps([asdict(f) for f in report.findings], ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_rollup_from_the_store_gives_the_same_findings_first_time_again_and_recomputed(
        tmp_path, monkeypatch):
    config = _history_store(tmp_path)
    reference = _report(config, full=True)
    assert {f.rule for f in reference.findings} >= {"DATA-DELETED", "DATA-CHANGED-CLOSED"}
    computed = []
    real = history.load_state
    monkeypatch.setattr(history, "load_state", lambda s, u: computed.append(u) or real(s, u))
    first = _report(config)
    assert sorted(computed) == ["U0000", "U0001", "U0002", "U0003"]  # U0004: first pull only
    computed.clear()
    again = _report(config)
    assert computed == []  # every unit's findings kept by the first time
    assert first.findings == reference.findings and again.findings == reference.findings
    assert _digest(first) == _digest(again) == DIGEST_A34D0EF


def test_history_findings_are_written_in_batches_and_when_the_store_is_closed(tmp_path,
                                                                              monkeypatch):
    config = _history_store(tmp_path)
    monkeypatch.setattr(store_module, "HISTORY_CACHE_BATCH", 2)
    path = config.state_dir / DB_NAME

    def kept() -> list[str]:
        conn = sqlite3.connect(path)
        try:
            return [u for (u,) in conn.execute("SELECT unit FROM unit_history_cache ORDER BY unit")]
        finally:
            conn.close()

    with Store.open(config.state_dir) as db:
        reads = pipeline.from_store(config, db, AS_OF)
        of = pipeline.history_of(config, db, AS_OF, YEAR)
        found = [of(r) for r in reads[:3]]
        assert kept() == ["U0000", "U0001"]  # a batch of two written, the third kept back
        assert db.cached_history("U0002", db.history_token(  # … and found meanwhile
            "U0002", reads[2].raw.version, {"year": YEAR, "params": dict(reads[2].config.rules)}
        )) == [asdict(f) for f in found[2]]
    assert kept() == ["U0000", "U0001", "U0002"]  # written when the store was closed


@pytest.mark.parametrize("readonly", [True, False])
def test_a_store_that_cannot_keep_the_findings_still_gives_them(tmp_path, readonly):
    config = _history_store(tmp_path)
    reference = _report(config, full=True)
    if readonly:
        db = Store.open_readonly(config.state_dir)
    else:
        db = Store.open(config.state_dir)
        db.conn.execute("PRAGMA query_only = ON")  # every write refused, as on a full disk
    assert db is not None
    try:
        reads = pipeline.from_store(config, db, AS_OF)
        report = evaluate(config, reads, AS_OF, YEAR, pipeline.history_of(config, db, AS_OF, YEAR))
    finally:
        db.close()  # the findings kept back cannot be written: not an error
    assert report.findings == reference.findings


def test_raw_grids_are_stored_as_utf8_and_pulls_stored_escaped_read_back_the_same():
    raw = RawWorkbook([RawSheet("Sinh hoạt", [["Mã chi bộ", "Ngày sinh hoạt", "Giờ"],
                                              ["CB01", date(2026, 3, 7), 0.8125, None, 46028],
                                              ["Chi bộ Đông Hải", datetime(2026, 3, 7, 8)]])],
                      "v7", {"size": 12, "name": "Đơn vị"})
    blob = dump_raw(raw)
    assert "Chi bộ Đông Hải".encode() in zlib.decompress(blob)
    # As every pull was stored before: ASCII JSON, non-ASCII characters escaped.
    doc = {"version": raw.version, "sheets": [{"title": s.title, "rows": s.rows}
                                              for s in raw.sheets], "meta": raw.meta}
    escaped = zlib.compress(json.dumps(doc, default=_encode, separators=(",", ":"))
                            .encode("ascii"))
    assert len(zlib.decompress(blob)) < len(zlib.decompress(escaped))
    for back in (load_raw(blob), load_raw(escaped)):
        assert back == raw


# Every kind of value a reader hands over, and what only json reads: NaN and infinities, an
# integer beyond 64 bits, a lone surrogate (stored as ASCII JSON), text that looks like a tag.
_CELLS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12),
    st.dates(), st.datetimes(), st.times(),
    st.sampled_from(['{"d":"2026-03-07"}', '{"t":"08:00:00"}', "Chi bộ Đông Hải", "\ud800"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_CELLS, max_size=6), max_size=6))
def test_stored_grids_read_back_as_json_reads_them_whichever_reader_reads_them(rows):
    """``load_raw`` reads plain grids with orjson and the rest with json: whichever reads a
    pull, its values, types included, are those json reads (and were stored)."""
    raw = RawWorkbook([RawSheet("Sinh hoạt", rows)], "v1", {"size": 3})
    blob = dump_raw(raw)
    doc = json.loads(zlib.decompress(blob).decode(), object_hook=store_module._decode)
    back = load_raw(blob)
    assert repr(back.sheets[0].rows) == repr(doc["sheets"][0]["rows"])
    # ... and they are the values json writes and reads: whichever encoder wrote the pull
    # (orjson, or json where orjson refuses or would write null), nothing became null.
    assert repr(back.sheets[0].rows) == repr(json.loads(
        json.dumps(rows, default=_encode), object_hook=store_module._decode))
    assert (back.version, back.meta) == ("v1", {"size": 3})


def test_numbers_orjson_would_write_as_null_text_null_and_what_it_refuses_read_back():
    rows = [["CB01", math.inf, -math.inf, None], [math.nan, "null", 2 ** 70, "\ud800"]]
    back = load_raw(dump_raw(RawWorkbook([RawSheet("Sinh hoạt", rows)], "v1",
                                             {"tool_meta": {"T": None}})))
    assert repr(back.sheets[0].rows) == repr(rows)
    assert back.meta == {"tool_meta": {"T": None}}
    for row in rows:  # one at a time: each is caught on its own
        assert repr(load_raw(dump_raw(RawWorkbook([RawSheet("T", [row])], None))).sheets[0]
                    .rows) == repr([row])


def test_text_that_looks_like_a_tagged_date_stays_text():
    rows = [['{"d":"2026-03-07"}', "{\"dt\":1}", 46028.0], [date(2026, 3, 7)]]
    back = load_raw(dump_raw(RawWorkbook([RawSheet("Sinh hoạt", rows)], "v1")))
    assert back.sheets[0].rows == rows
    assert not any(map(zlib.decompress(dump_raw(RawWorkbook(
        [RawSheet("Sinh hoạt", rows[:1])], "v1"))).__contains__, store_module._TAG_STARTS))


def _later_pulls(tmp_path):
    """The store of ``_history_store`` and, per unit, a later pull not recorded yet (a row
    deleted, a closed month changed; for U0003 the same data again)."""
    config = _history_store(tmp_path)
    with Store.open(config.state_dir) as db:
        lasts = {u.code: db.last_pull(u.code) for u in config.units}
    later = []
    for k, unit in enumerate(config.units):
        raw = lasts[unit.code].raw
        if k != 3:
            raw = _edited(raw, "v9", delete={"Sinh hoạt": 5}, change={"Sinh hoạt": (8, 4, 46000)})
        later.append((unit, raw, parse_unit(TEMPLATE, raw, unit.code, unit.name, AS_OF)))
    return config, later


def test_history_findings_are_the_same_before_and_after_the_pull_is_recorded(tmp_path):
    """What makes ``keep_after_recording`` sound: a read's findings against the store without
    its pull equal its findings against the store with it."""
    config, later = _later_pulls(tmp_path)
    seen = set()
    with Store.open(config.state_dir) as db:
        for unit, raw, data in later:
            before = history_findings(db, unit.code, data, AS_OF, YEAR, unit.rules, None)
            pull_id = db.record_pull(unit.code, raw, data, datetime(2027, 1, 25, 8), AS_OF)
            again = parse_unit(TEMPLATE, raw, unit.code, unit.name, AS_OF)
            after = history_findings(db, unit.code, again, AS_OF, YEAR, unit.rules, None,
                                     keep_index=False, recorded_as=pull_id)
            assert after == before, unit.code
            seen.update(f.rule for f in before)
    assert seen >= {"DATA-DELETED", "DATA-CHANGED-CLOSED"}


def test_a_run_keeps_its_history_findings_for_the_next_rollup(tmp_path, monkeypatch):
    """As `run` does it: findings of a read not recorded yet, then its pull recorded; the next
    `rollup` finds every unit's findings kept instead of computing them again."""
    config, later = _later_pulls(tmp_path)
    with Store.open(config.state_dir) as db:
        of = pipeline.history_of(config, db, AS_OF, YEAR)
        assert of is not None
        ran = []
        for unit, raw, data in later:
            read = UnitRead(unit, UnitResult(unit.code, unit.name, OK), data, raw)
            ran += of(read)
            read.pull_id = db.record_pull(unit.code, raw, data, datetime(2027, 1, 25, 8), AS_OF)
            of.recorded(read)
    computed = []
    real = history.load_state
    monkeypatch.setattr(history, "load_state", lambda s, u: computed.append(u) or real(s, u))
    rollup = _report(config)
    assert computed == []
    monkeypatch.undo()
    kept = [f for f in rollup.findings if f.rule in ("DATA-DELETED", "DATA-CHANGED-CLOSED")]
    assert ran and sorted(map(asdict, kept), key=str) == sorted(map(asdict, ran), key=str)
    assert rollup.findings == _report(config, full=True).findings

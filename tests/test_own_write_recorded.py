"""A local file our `run` wrote in full is recorded as our write left it: the next `run` of
the unchanged file stores no new pull and finds the unit's history findings kept (they are the
same: our write changed only tool cells and tabs), and a file changed since is stored again."""
from __future__ import annotations

import os
from dataclasses import asdict

from google_support import AS_OF, YEAR
from sheets_sync.core.template import load_template
from sheets_sync.sources import backend_for
from sheets_sync.sync import history, pipeline
from sheets_sync.sync.store import Store


def _pulls(config) -> dict[str, int]:
    with Store.open(config.state_dir) as db:
        return dict(db.conn.execute("SELECT unit, count(*) FROM pulls GROUP BY unit"))


def _history_of(report) -> list[dict]:
    return sorted((asdict(f) for f in report.findings
                   if f.rule in ("DATA-DELETED", "DATA-CHANGED-CLOSED")), key=str)


def test_a_file_our_run_wrote_is_not_stored_again_and_keeps_its_history(local_copy,
                                                                         monkeypatch):
    config = local_copy
    first = pipeline.run(config, backend_for(config), AS_OF, YEAR)
    written = [w.unit for w in first.writes if w.status == "written"]
    assert written  # the demo's files get their flags
    pulls = _pulls(config)

    computed: list[str] = []
    real = history.load_state
    monkeypatch.setattr(history, "load_state", lambda s, u: computed.append(u) or real(s, u))
    again = pipeline.run(config, backend_for(config), AS_OF, YEAR)
    monkeypatch.undo()
    assert _pulls(config) == pulls  # the files as our write left them: nothing new to store
    assert computed == []  # every unit's history findings were kept
    assert {w.unit: w.status for w in again.writes} == {u.code: "unchanged"
                                                        for u in config.units}
    # the kept findings are those a full computation gives
    with Store.open(config.state_dir) as db:
        db.conn.execute("DELETE FROM unit_history_cache")
        db.conn.commit()
    recomputed = pipeline.run_check(config, backend_for(config), AS_OF, YEAR)
    assert _history_of(again.report) == _history_of(recomputed.report)


def test_rollup_from_the_store_after_our_write_finds_the_history_kept(local_copy, monkeypatch):
    """The stored pull is the file as our write left it, version included: `rollup` from the
    store asks for the same history findings the next `run` does, kept once."""
    config = local_copy
    pipeline.run(config, backend_for(config), AS_OF, YEAR)
    computed: list[str] = []
    real = history.load_state
    monkeypatch.setattr(history, "load_state", lambda s, u: computed.append(u) or real(s, u))
    pipeline.rollup_from_store(config, AS_OF, YEAR)
    pipeline.run(config, backend_for(config), AS_OF, YEAR)
    assert computed == []


def test_a_file_changed_after_our_write_is_stored_again(local_copy):
    config = local_copy
    pipeline.run(config, backend_for(config), AS_OF, YEAR)
    pulls = _pulls(config)
    unit = config.units[0]
    assert unit.path is not None
    st = unit.path.stat()
    os.utime(unit.path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # saved again
    pipeline.run(config, backend_for(config), AS_OF, YEAR)
    after = _pulls(config)
    assert after[unit.code] == pulls[unit.code] + 1
    assert {c: n for c, n in after.items() if c != unit.code} == {
        c: n for c, n in pulls.items() if c != unit.code}


def test_rollup_from_the_store_after_our_google_write_finds_the_history_kept(district,
                                                                             monkeypatch):
    """A Google unit's pull recorded as our write left it carries the version that write
    produced: `rollup` from the store and the next `run` (the unit unchanged since) ask for the
    history findings kept under it, instead of recomputing them one after the other."""
    config = district.config
    backend = district.backend()
    pipeline.run(config, lambda u: backend, AS_OF, YEAR)
    meetings = load_template().tab("meetings").name
    for sid in district.ids.values():  # a person's edit: each unit's second pull has history
        district.emu.edit(sid, meetings, {"op": "set", "range": "D3",
                                          "values": [["Chủ đề đã sửa"]]})
    second = pipeline.run(config, lambda u: backend, AS_OF, YEAR)
    assert {w.status for w in second.writes} == {"written"}
    computed: list[str] = []
    real = history.load_state
    monkeypatch.setattr(history, "load_state", lambda s, u: computed.append(u) or real(s, u))
    pipeline.rollup_from_store(config, AS_OF, YEAR)
    again = pipeline.run(config, lambda u: backend, AS_OF, YEAR)
    pipeline.rollup_from_store(config, AS_OF, YEAR)
    assert {r.result.status for r in again.reads} == {"unchanged"}
    assert computed == []

"""Units pulled and written at once (``[google] workers``): the same findings, flags and request
counts as one unit at a time, and a unit's flags written as soon as its supervision group is
read — so that writing overlaps pulling."""
from __future__ import annotations

import re
import sys
import threading
from dataclasses import replace
from datetime import datetime, time

import openpyxl
import pytest

from google_support import AS_OF, YEAR, findings_tuples, seed_district, tool_columns
from sheets_sync.core.checker import Evaluator, evaluate
from sheets_sync.core.config import Supervisor
from sheets_sync.core.errors import ConfigError
from sheets_sync.core.findings import OK
from sheets_sync.core.rules.supervision import unit_groups
from sheets_sync.sources import backend_for
from sheets_sync.sources.local_reader import LocalBackend
from sheets_sync.sync import pipeline


def test_unit_groups_join_units_that_share_a_supervisor():
    sups = [Supervisor("A", ("U1", "U2")), Supervisor("B", ("u3",)), Supervisor("C", ("U2", "U4")),
            Supervisor("D", ("X9",)), Supervisor("E", ())]
    group_of, by_group = unit_groups(sups, ["U1", "U2", "U3", "U4", "U5"])

    assert group_of["U1"] == group_of["U2"] == group_of["U4"]
    assert len({group_of["U1"], group_of["U3"], group_of["U5"]}) == 3
    # "u3" is U3 after normalisation; D follows no selected unit, E no unit at all
    assert by_group == {group_of["U1"]: [0, 2], group_of["U3"]: [1]}


def _demo_groups(config) -> list[list[str]]:
    group_of, _ = unit_groups(config.supervisors, [u.code for u in config.units])
    groups: dict[str, list[str]] = {}
    for u in config.units:
        groups.setdefault(group_of[u.code], []).append(u.code)
    return list(groups.values())


def test_evaluator_releases_a_group_with_its_last_unit_and_matches_evaluate(local_copy):
    config = local_copy
    reads = pipeline.pull(config, backend_for(config), AS_OF)
    expected = evaluate(config, reads, AS_OF, YEAR)
    assert {f.rule for f in expected.findings} >= {"SUP-MONTHLY", "MEET-MISSING"}
    groups = _demo_groups(config)
    assert sorted(map(len, groups)) == [1, 2, 3]  # NT+NM, VT, NH+HL+NN (Thắng, Mai)

    by_code = {r.config.code: r for r in reads}
    evaluator = Evaluator(config, config.units, AS_OF, YEAR)
    released = []
    for code in reversed([u.code for u in config.units]):  # any arrival order
        done = evaluator.add(by_code[code])
        assert not done or code in done
        released += [done] if done else []
    assert sorted(released) == sorted(groups)

    assert evaluator.report() == expected  # same findings, same order
    for code in by_code:
        mine = [f for f in evaluator.group_findings(code) if f.unit == code]
        assert sorted(mine, key=lambda f: f.sort_key()) == sorted(
            (f for f in expected.findings if f.unit == code), key=lambda f: f.sort_key())


def test_evaluator_report_needs_every_unit(local_copy):
    evaluator = Evaluator(local_copy, local_copy.units, AS_OF, YEAR)
    with pytest.raises(ValueError, match="not evaluated"):
        evaluator.report()


class _Watching(LocalBackend):
    """The local backend, noting before each read which workbooks hold flags already."""

    def __init__(self, config):
        self.config = config
        self.flagged_before: dict[str, set[str]] = {}

    def read(self, unit):
        self.flagged_before[unit.code] = {
            u.code for u in self.config.units
            if any(tool_columns(s.rows) for s in LocalBackend.read(self, u).sheets)}
        return super().read(unit)


def test_a_group_is_written_before_the_next_units_are_read(local_copy):
    backend = _Watching(local_copy)
    outcome = pipeline.run(local_copy, lambda unit: backend, AS_OF, YEAR)

    assert {w.status for w in outcome.writes} == {"written"}
    seen: set[str] = set()
    for unit in local_copy.units:  # one worker (local units): config order
        assert backend.flagged_before[unit.code] == seen, unit.code
        for group in _demo_groups(local_copy):
            if unit.code == group[-1]:
                seen |= set(group)


def _with_workers(config, n: int):
    return replace(config, google=replace(config.google, workers=n))


class _InFlight:
    """Counts the requests a transport has under way at once (wraps its ``send``)."""

    def __init__(self, transport):
        self.now = self.most = 0
        self.lock = threading.Lock()
        send = transport.send

        def counted(*args, **kwargs):
            with self.lock:
                self.now += 1
                self.most = max(self.most, self.now)
            try:
                return send(*args, **kwargs)
            finally:
                with self.lock:
                    self.now -= 1

        transport.send = counted


def test_workers_send_requests_of_several_units_at_once_with_the_same_results(
        emulator, demo_config, tmp_path):
    outcomes, most = [], []
    for workers in (1, 4):  # a fresh district and state folder for each
        folder = tmp_path / str(workers)
        folder.mkdir()
        district = seed_district(emulator, demo_config, folder)
        emulator.latency_ms = 20
        backend = district.backend()
        in_flight = _InFlight(backend.transport)
        outcomes.append(pipeline.run(_with_workers(district.config, workers),
                                     lambda unit, b=backend: b, AS_OF, YEAR))
        most.append(in_flight.most)
    emulator.latency_ms = 0
    sequential, concurrent = outcomes

    assert most[0] == 1 and most[1] > 1
    assert [r.result.status for r in concurrent.reads] == [OK] * len(district.ids)
    assert findings_tuples(concurrent.report) == findings_tuples(sequential.report)
    assert [(w.unit, w.status, w.cells) for w in concurrent.writes] == [
        (w.unit, w.status, w.cells) for w in sequential.writes]
    # The roll-up, built on its own thread while the writes end and are recorded, is the one
    # one unit at a time builds before them (the run's own times aside).
    assert _workbook_cells(concurrent.rollup) == _workbook_cells(sequential.rollup)
    for outcome in outcomes:  # counted per unit on every thread
        by_unit = outcome.requests["by_unit"]
        assert sum(c["reads"] for c in by_unit.values()) == outcome.requests["reads"]
        assert {c["reads"] for c in by_unit.values()} == {1}  # one spreadsheets.get per unit


_RUN_TIME = re.compile(r"\d{1,2}:\d{2}")


def _workbook_cells(path) -> dict[tuple[str, str], tuple]:
    """(sheet, cell) -> (value, link) of every non-empty cell of a workbook, but for the texts
    that show a time of day (when the run started and ended)."""
    book = openpyxl.load_workbook(path)
    out = {}
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                value = cell.value
                if value is None or (isinstance(value, str) and _RUN_TIME.search(value)) or (
                        isinstance(value, datetime) and value.time() != time()):
                    continue
                link = cell.hyperlink.target if cell.hyperlink is not None else None
                out[(sheet.title, cell.coordinate)] = (value, link)
    assert len(out) > 100
    return out


def test_workers_setting_is_checked(local_copy, tmp_path):
    from sheets_sync.core.config import load_config

    text = local_copy.path.read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("[parent]", "[google]\nworkers = 0\n\n[parent]", 1),
                   encoding="utf-8")
    # A wrong [google] setting stops the Google units only (issue 12): local units are checked.
    config = load_config(bad)
    assert "google.workers" in (config.google.problem or "")
    from sheets_sync.sources.google_sheets import GoogleBackend

    with pytest.raises(ConfigError, match="google.workers"):
        GoogleBackend.from_config(config)


def test_writes_run_on_twice_as_many_threads_as_pulls_and_the_interpreter_changes_hands_fast(
        emulator, demo_config, tmp_path):
    """A write is two requests in a row (Drive's version, then the batchUpdate): with twice
    as many writer threads as pullers, as many writes are under way as reads. While the
    threads wait on the network, a woken one gets the interpreter within 1 ms (restored
    afterwards; a sequential run leaves it alone)."""
    seen: dict[int, list[tuple[str, str, float]]] = {}
    for workers in (1, 2):
        folder = tmp_path / str(workers)
        folder.mkdir()
        district = seed_district(emulator, demo_config, folder)
        if workers > 1:  # slow writes pile up behind fast reads: every writer is called on
            emulator.add_fault(kind="write", status=None, delay_s=0.3, times=None)
        backend = district.backend()
        sent = seen[workers] = []
        send = backend.transport.send

        def noting(request, *args, _send=send, _sent=sent, **kwargs):
            _sent.append((request.method, threading.current_thread().name,
                          sys.getswitchinterval()))
            return _send(request, *args, **kwargs)

        backend.transport.send = noting
        before = sys.getswitchinterval()
        outcome = pipeline.run(_with_workers(district.config, workers),
                               lambda unit, b=backend: b, AS_OF, YEAR)
        assert sys.getswitchinterval() == before
        assert {w.status for w in outcome.writes} == {"written"}
        emulator.clear_faults()
    assert {interval for _, _, interval in seen[1]} == {sys.getswitchinterval()}
    assert {interval for _, _, interval in seen[2]} == {pipeline.NETWORK_SWITCH_INTERVAL_S}
    writers = {thread for method, thread, _ in seen[2] if method == "POST"}
    assert len(writers) == pipeline.writers_for(2) == 4

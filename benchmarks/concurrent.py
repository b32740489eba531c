"""Prototype: ``pipeline.run`` with its network phases on a small thread pool.

Not used by the tool; it measures what the change proposed in BENCHMARKS.md ("Proposed change
to pipeline.py") would give. Same steps, same order of effects on the history store:

1. the last stored pull of every unit is loaded on the calling thread (SQLite connections stay
   on the thread that opened them);
2. pull, on ``workers`` threads: the Drive version, then (when it moved) metadata +
   ``values:batchGet`` + parsing — or re-parsing the stored pull of an unchanged unit;
3. on the calling thread, in unit order: ``record_pull`` / stale fallback, ``evaluate``,
   history findings (all units are needed: SUP-MONTHLY spans units);
4. write-back, on ``workers`` threads: plan, key re-read, ``batchUpdate``s, the new Drive
   version; the store's ``set_own_write_version`` afterwards on the calling thread;
5. roll-up and run record, as ``pipeline.run``.

The request counts per unit (``RequestStats.by_unit``) need the transport's "current unit" to be
per thread: ``thread_local_units`` swaps it for a ``threading.local`` on this backend only.

``merged=True`` also uses ``MergedWriter``: when a unit needs a structural change (first run:
tool columns and tabs to add), the structure and every value go in ONE
``spreadsheets:batchUpdate`` (``updateCells`` with string values, stored as typed like RAW)
instead of a ``batchUpdate`` followed by a ``values:batchUpdate`` — 1 write per unit instead of 2.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Callable

from sheets_sync import pipeline
from sheets_sync.backends.google_http import GoogleTransport
from sheets_sync.backends.gsheets import GoogleWriter, _padded, spreadsheet_key
from sheets_sync.checker import UnitRead, evaluate, read_unit
from sheets_sync.errors import SheetsSyncError, UnitReadError
from sheets_sync.findings import READ_STATUSES, UNCHANGED, UnitResult
from sheets_sync.store import Store
from sheets_sync.template import load_template
from sheets_sync.workbook import parse_unit


class _ThreadLocalUnit(GoogleTransport):
    """``unit`` (the unit whose requests are being counted) kept per thread."""

    @property
    def unit(self):
        return getattr(self._units, "unit", None)

    @unit.setter
    def unit(self, value):
        self._units.unit = value


def thread_local_units(backend) -> None:
    transport = backend.transport
    if not isinstance(transport, _ThreadLocalUnit):
        transport._units = threading.local()
        transport.__class__ = _ThreadLocalUnit


def _read_google(unit, backend, last, template, as_of) -> UnitRead:
    """``pipeline._read_google`` with the last pull already loaded."""
    try:
        version = backend.version(unit)
    except UnitReadError as e:
        return UnitRead(unit, UnitResult(unit.code, unit.name, e.status, str(e)))
    if last is not None and version is not None and version in (last.version,
                                                                 last.own_write_version):
        data = parse_unit(template, last.raw, unit.code, unit.name, as_of)
        result = UnitResult(unit.code, unit.name, UNCHANGED,
                            pulled_at=last.pulled_at.isoformat(timespec="seconds"))
        return UnitRead(unit, result, data, last.raw, pull_id=last.id)
    read = read_unit(backend, template, unit, as_of)
    if read.raw is not None:
        read.raw.version = version
    return read


class MergedWriter(GoogleWriter):
    """``GoogleWriter`` sending structure + values in one request when the structure changes."""

    @staticmethod
    def _cell(value: str) -> dict:
        return {"userEnteredValue": {"stringValue": value}} if value != "" else {}

    def _cell_requests(self, read, plan, skip: dict, sheet_ids: dict) -> list[dict]:
        singles: dict[tuple[int, int], dict[int, str]] = {}  # (sheetId, col) -> row -> value
        for title, cols in plan.new_columns.items():
            if title not in skip:
                row = plan.tool_columns[title].header_row - 1
                for col, header in cols:
                    singles.setdefault((sheet_ids[title], col), {})[row] = header
        for c in plan.changes:
            if c.sheet not in skip:
                singles.setdefault((sheet_ids[c.sheet], c.col), {})[c.row - 1] = c.value
        requests = []
        for (sid, col), by_row in singles.items():
            rows = sorted(by_row)
            start = 0
            for k in range(1, len(rows) + 1):  # one updateCells per run of consecutive rows
                if k == len(rows) or rows[k] != rows[k - 1] + 1:
                    requests.append({"updateCells": {
                        "start": {"sheetId": sid, "rowIndex": rows[start], "columnIndex": col},
                        "rows": [{"values": [self._cell(by_row[r])]} for r in rows[start:k]],
                        "fields": "userEnteredValue"}})
                    start = k
        for title, content in ((plan.check_sheet, plan.check_grid),
                               (plan.guide_sheet, plan.guide_grid)):
            if content is None:
                continue
            old = read.raw.sheet(title)
            grid = _padded(content, old.rows if old else [])
            requests.append({"updateCells": {
                "start": {"sheetId": sheet_ids[title], "rowIndex": 0, "columnIndex": 0},
                "rows": [{"values": [self._cell(v) for v in row]} for row in grid],
                "fields": "userEnteredValue"}})
        return requests

    def apply(self, unit, read, plan):
        from sheets_sync.backends.local_write import WriteResult

        if plan.is_empty:
            return WriteResult("unchanged", "Không có gì thay đổi.")
        key = spreadsheet_key(unit.spreadsheet)
        http = self.backend.client.http_client

        def go():
            skip = dict(plan.skipped_tabs)
            skip.update(self.key_mismatches(key, read, plan))
            data, cells = self.values(read, plan, skip)
            skipped_rows = [(c.sheet, c.row) for c in plan.changes if c.sheet in skip]
            if not data:
                return WriteResult("skipped", "; ".join(f"{s}: {r}" for s, r in skip.items()),
                                   skipped_rows=skipped_rows)
            structure = self.structure(read, plan, skip)
            if structure:
                sheet_ids = dict(read.raw.meta.get("sheet_ids", {}))
                next_id = max(sheet_ids.values(), default=0) + 1
                for request in structure:
                    if "addSheet" in request:
                        props = request["addSheet"]["properties"]
                        props["sheetId"] = sheet_ids[props["title"]] = next_id
                        next_id += 1
                reply = http.batch_update(key, {"requests": structure + self._cell_requests(
                    read, plan, skip, sheet_ids)})
                self._record_structure(read, structure, reply)
            else:
                http.values_batch_update(key, {"valueInputOption": "RAW", "data": data})
            moved = {s: r for s, r in skip.items() if s not in plan.skipped_tabs}
            status = "skipped" if moved else "written"
            message = f"Đã ghi {cells} ô kiểm tra."
            if moved:
                message += " " + "; ".join(f"{s}: {r}" for s, r in moved.items())
            return WriteResult(status, message, cells_written=cells, skipped_rows=skipped_rows)

        return self.backend._call(unit, go, "ghi")


_NO_VERSION = object()


def _write_google(template, read: UnitRead, report, backend) -> tuple[pipeline.UnitWrite, object]:
    """``pipeline._write_unit`` for a Google unit, without the store: returns the write and
    the version to record (``_NO_VERSION`` when nothing is to be recorded)."""
    from sheets_sync.writeback import apply_to_raw, plan_unit

    code = read.config.code
    if read.result.status not in READ_STATUSES or read.data is None:
        return pipeline.UnitWrite(code, "not-read", "Không ghi: đơn vị không đọc được lúc này."), \
            _NO_VERSION
    plan = plan_unit(template, read, report.findings, report.as_of, report.year)
    lines = plan.describe()
    record = _NO_VERSION
    try:
        result = backend.writer().apply(read.config, read, plan)
    except SheetsSyncError as e:
        return pipeline.UnitWrite(code, "error", str(e)), _NO_VERSION
    if result.status == "written" and not result.skipped_rows and read.pull_id is not None:
        apply_to_raw(read.raw, plan)
        try:
            record = backend.version(read.config)
        except UnitReadError:
            record = None
    status = result.status if result.ok or result.status == "skipped" else "skipped"
    return pipeline.UnitWrite(code, status, result.message, lines, result.cells_written), record


def run(config, backend_for: Callable, as_of: date, year: int | None = None,
        workers: int = 8, merged: bool = False) -> pipeline.RunOutcome:
    """``pipeline.run`` (not dry-run, Google units) with pull and write-back on threads."""
    from sheets_sync.rollup import build_rollup, rollup_path, write_latest

    started = pipeline._now()
    template = load_template()
    store = Store.open(config.state_dir)
    try:
        units = list(config.select(()))
        for unit in units:
            backend = backend_for(unit)
            thread_local_units(backend)
            if merged:
                backend.writer = lambda backend=backend: MergedWriter(backend)
        last = {u.code: store.last_pull(u.code) for u in units}
        with ThreadPoolExecutor(workers) as pool:
            reads = list(pool.map(lambda u: _read_google(u, backend_for(u), last[u.code],
                                                         template, as_of), units))
        for n, read in enumerate(reads):
            if read.result.status == UNCHANGED:
                continue
            if read.data is not None:
                pulled_at = pipeline._now()
                read.result.pulled_at = pulled_at.isoformat(timespec="seconds")
                read.pull_id = store.record_pull(read.config.code, read.raw, read.data,
                                                 pulled_at, as_of)
            else:
                reads[n] = pipeline._stale(read.config, read, store, template, as_of)
        report = evaluate(config, reads, as_of, year or as_of.year)
        pipeline.add_history_findings(config, store, reads, report)
        with ThreadPoolExecutor(workers) as pool:
            done = list(pool.map(lambda r: _write_google(template, r, report,
                                                         backend_for(r.config)), reads))
        writes = []
        for read, (write, version) in zip(reads, done):
            writes.append(write)
            if version is not _NO_VERSION:
                store.set_own_write_version(read.pull_id, version, read.raw)
        outcome = pipeline.RunOutcome(report, reads, started, pipeline._now(), writes=writes,
                                      requests=pipeline._request_counts(reads, backend_for))
        path = rollup_path(config, as_of)
        build_rollup(config, report, reads, pipeline._run_info(outcome), path)
        write_latest(config, path, as_of)
        outcome.rollup = path
        outcome.finished = pipeline._now()
        store.prune(config.history_retention_days)
        store.record_run("run", started, outcome.finished,
                         pipeline.job_summary(outcome, pipeline.run_exit_code(outcome)))
        return outcome
    finally:
        store.close()

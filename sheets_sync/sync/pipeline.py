"""The jobs: pull (with the history store), check, write back, roll-up — unit by unit."""
from __future__ import annotations

import copy
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import (
    FIRST_COMPLETED,
    Executor,
    Future,
    ThreadPoolExecutor,
    as_completed,
    wait,
)
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path

from ..core.checker import Evaluator, UnitRead, evaluate, read_unit
from ..core.config import Config, UnitConfig
from ..core.errors import (
    EXIT_OK,
    EXIT_TRY_LATER,
    EXIT_UNITS_FAILED,
    HistoryDamaged,
    SheetsSyncError,
    UnitReadError,
)
from ..core.findings import (
    OK,
    READ_STATUSES,
    STALE,
    UNCHANGED,
    UNREACHABLE,
    Finding,
    Report,
    UnitResult,
)
from ..core.grid import UnitData, parse_unit, required_tabs_found
from ..core.raw import Backend, RawWorkbook
from ..core.template import Template, load_template
from ..outputs.publish import publish_rollup
from ..outputs.rollup import build_rollup, rollup_path, write_latest
from ..outputs.rollup.model import build_model
from ..sources.local_writer import write_local
from .history import history_findings, keep_after_recording, keep_for_new_source
from .store import GuardedStore, Store, dump_raw, file_fingerprint
from .writeplan import apply_to_raw, plan_unit

Progress = Callable[[str], None]
DEFAULT_WORKERS = 8  # threads pulling (and twice as many writing) when units are on Google
# How long a thread holding the interpreter keeps it from one that a network answer woke (the
# standard library's default: 5 ms), while a run's threads pull and write: see
# ``_threads_answering_fast``.
NETWORK_SWITCH_INTERVAL_S = 0.001


def _now() -> datetime:
    return datetime.now().replace(microsecond=0)


def _stale(unit: UnitConfig, failed: UnitRead, store: Store, template: Template,
           as_of: date) -> UnitRead:
    """A unit that cannot be read now falls back to its last good pull (status "stale")."""
    last = store.last_pull(unit.code)
    if last is None:
        return failed
    data = parse_unit(template, last.raw, unit.code, unit.name, as_of)
    if not required_tabs_found(template, data):
        return failed
    message = (f"{failed.result.message} Dùng số liệu đọc lúc "
               f"{last.pulled_at:%H:%M %d/%m/%Y}.")
    result = UnitResult(unit.code, unit.name, STALE, message,
                        pulled_at=last.pulled_at.isoformat(timespec="seconds"),
                        try_later=failed.result.try_later)
    return UnitRead(unit, result, data, last.raw)


_UNLISTED = object()  # no run-wide listing: ask Drive for this unit's version


def _fetch(unit: UnitConfig, backend: Backend, known: tuple | None, template: Template,
           as_of: date, listed: object = _UNLISTED) -> UnitRead | str:
    """The network part of pulling one unit (runs on a worker thread; no store access).

    ``listed``: the unit's Drive version from the run's one ``files.list`` (None when the
    listing does not show it); without a listing, one Drive request asks for it.
    ``known``: the Drive versions of the unit's last stored pull (the pulled one and the one our
    own last write produced), for a Google unit when there is a store. When the version is one
    of them, the version is returned and the stored pull is used (``_settle``); otherwise the
    unit is read and the version kept with the raw workbook (the write-time check compares it
    with Drive's version just before writing). The version is taken before the read: an edit
    in between makes the stored version older than the data, never newer."""
    if known is None and listed is _UNLISTED:
        return read_unit(backend, template, unit, as_of)
    if listed is _UNLISTED:
        try:
            version = backend.version(unit)
        except UnitReadError as e:
            return UnitRead(unit, UnitResult(unit.code, unit.name, e.status, str(e),
                                             try_later=e.try_later))
    else:
        version = listed  # type: ignore[assignment]
    if known is not None and version is not None and version in known:
        return version
    read = read_unit(backend, template, unit, as_of)
    if read.raw is not None:
        read.raw.version = version
    return read


def list_versions(backend_for: Callable[[UnitConfig], Backend],
                  units: tuple[UnitConfig, ...]) -> dict[str, str | None]:
    """unit code -> Drive version for every Google unit, from one ``files.list`` per backend
    (O(1) Drive requests per run instead of one per unit). Units of a backend that cannot list
    are left out (each then asks Drive itself)."""
    out: dict[str, str | None] = {}
    if not any(unit.is_google for unit in units):
        return out  # a local-only run never loads the Google libraries
    from ..sources.google_sheets import spreadsheet_key

    listed: dict[int, dict[str, str] | None] = {}
    for unit in units:
        if not unit.is_google:
            continue
        backend = backend_for(unit)
        lister = getattr(backend, "list_versions", None)
        if lister is None:
            continue
        if id(backend) not in listed:
            try:
                listed[id(backend)] = lister()
            except UnitReadError:
                listed[id(backend)] = None
        versions = listed[id(backend)]
        if versions is not None:
            out[unit.code] = versions.get(spreadsheet_key(unit.spreadsheet))
    return out


def _settle(unit: UnitConfig, got: UnitRead | str, store: Store | None, template: Template,
            as_of: date) -> UnitRead:
    """The store part of pulling one unit (calling thread): an unchanged spreadsheet is
    re-evaluated from its stored pull (deadlines move); a unit that cannot be read now falls
    back to its last good pull; a new read gets its time (``pull_each`` records it)."""
    if isinstance(got, str):
        last = store.last_pull(unit.code) if store is not None else None
        if last is None:  # the stored pull became unreadable (damaged history store)
            return UnitRead(unit, UnitResult(
                unit.code, unit.name, UNREACHABLE,
                "Bảng tính không đổi nhưng lần đọc đã lưu không đọc lại được (kho lịch sử bị "
                "hỏng); đơn vị sẽ được đọc lại ở lần chạy sau."))
        last.raw.version = got  # the stored grids are what this version holds
        data = parse_unit(template, last.raw, unit.code, unit.name, as_of)
        result = UnitResult(unit.code, unit.name, UNCHANGED,
                            pulled_at=last.pulled_at.isoformat(timespec="seconds"))
        return UnitRead(unit, result, data, last.raw, pull_id=last.id)
    if got.data is not None:
        got.result.pulled_at = _now().isoformat(timespec="seconds")
        return got
    return _stale(unit, got, store, template, as_of) if store is not None else got


class _Inline(Executor):
    """An executor running each job when submitted: one worker, the sequential order."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as e:  # noqa: BLE001 - handed to result()'s caller, like a pool
            future.set_exception(e)
        return future


def workers_for(config: Config, units: tuple[UnitConfig, ...]) -> int:
    """Threads pulling: ``[google] workers`` (default 8) when a unit is on Google — the time is
    spent waiting on the network and the quota; 1 otherwise (a local workbook is parsed by the
    CPU: threads would gain nothing)."""
    if not any(u.is_google for u in units):
        return 1
    return config.google.workers or DEFAULT_WORKERS


def writers_for(workers: int) -> int:
    """Threads writing beside ``workers`` pulling: twice as many, as a write is two requests in
    a row (Drive's version of the spreadsheet, then the ``batchUpdate``) where a read is one,
    so that as many requests are under way; one when pulling is sequential."""
    return workers if workers <= 1 else 2 * workers


def _executor(workers: int) -> Executor:
    return _Inline() if workers <= 1 else ThreadPoolExecutor(workers)


@contextmanager
def _threads_answering_fast(workers: int) -> Iterator[None]:
    """While several threads pull and write: a thread that a network answer woke gets the
    interpreter within ``NETWORK_SWITCH_INTERVAL_S`` rather than 5 ms. A response is read in
    many small pieces, each waiting for the thread that holds the interpreter (checking,
    recording) to let go: with the default, a unit's requests took longer the more units
    were being checked at the same time. The previous interval is restored afterwards."""
    if workers <= 1:
        yield
        return
    before = sys.getswitchinterval()
    sys.setswitchinterval(min(before, NETWORK_SWITCH_INTERVAL_S))
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def pull_each(backend_for: Callable[[UnitConfig], Backend], as_of: date,
              units: tuple[UnitConfig, ...], store: Store | None, record: bool,
              template: Template, pool: Executor, ahead: int = 1,
              progress: Progress | None = None,
              recorded: Callable[[UnitRead], None] | None = None) -> Iterator[UnitRead]:
    """Each unit's read as soon as it is done, in config order as far as the network allows;
    ``ahead`` units are pulled at once (on ``pool``; the store stays on the calling thread).
    With several workers, a finished fetch is replaced at once, before the caller evaluates,
    writes and records the finished reads (at most ``ahead`` finished reads wait for it), so
    the network and the quota never wait on that work; with one worker, the next unit is read
    once the caller has taken the previous one (the sequential order). One failure never stops
    the others."""
    waiting = list(reversed(units))
    position = {u.code: i for i, u in enumerate(units)}
    versions = list_versions(backend_for, units)
    running: dict[Future, UnitConfig] = {}
    n = 0

    def start_fetches() -> None:
        while waiting and len(running) < max(1, ahead):
            unit = waiting.pop()
            known = (store.last_versions(unit.code) if store is not None and unit.is_google
                     else None)
            running[pool.submit(_fetch, unit, backend_for(unit), known, template, as_of,
                                versions.get(unit.code, _UNLISTED))] = unit

    while waiting or running:
        start_fetches()
        done, _ = wait(running, return_when=FIRST_COMPLETED)
        finished = [(running.pop(job), job)
                    for job in sorted(done, key=lambda j: position[running[j].code])]
        if ahead > 1:
            start_fetches()
        for unit, job in finished:
            got = job.result()
            read = _settle(unit, got, store, template, as_of)
            n += 1
            if progress:
                progress(f"[{n}/{len(units)}] Đã đọc {unit.code} — {unit.name}")
            yield read
            # Recorded once the caller has evaluated the read (and perhaps started writing
            # its group): the history findings do not need it recorded, a write should not
            # wait for it.
            if record and store is not None and read is got and read.data is not None:
                read.pull_id = store.record_pull(unit.code, read.raw, read.data,
                                                 datetime.fromisoformat(read.result.pulled_at),
                                                 as_of)
                if recorded is not None:
                    recorded(read)


def pull(config: Config, backend_for: Callable[[UnitConfig], Backend], as_of: date,
         units: tuple[str, ...] = (), store: Store | None = None, record: bool = True,
         template: Template | None = None, progress: Progress | None = None) -> list[UnitRead]:
    """Read every selected unit (in config order); one failure never stops the others."""
    template = template or load_template()
    selected = config.select(units)
    workers = workers_for(config, selected)
    with _threads_answering_fast(workers), _executor(workers) as pool:
        got = {r.config.code: r for r in pull_each(backend_for, as_of, selected, store,
                                                   record, template, pool, workers, progress)}
    return [got[u.code] for u in selected]


def from_store(config: Config, store: Store, as_of: date, units: tuple[str, ...] = (),
               template: Template | None = None) -> list[UnitRead]:
    """The last stored pull of every unit, without opening any spreadsheet (`rollup`)."""
    template = template or load_template()
    reads = []
    for unit in config.select(units):
        last = store.last_pull(unit.code)
        if last is None:
            reads.append(UnitRead(unit, UnitResult(
                unit.code, unit.name, UNREACHABLE,
                "Chưa có lần đọc nào trong kho lịch sử (chạy 'sheets-sync run' hoặc 'check').")))
            continue
        data = parse_unit(template, last.raw, unit.code, unit.name, as_of)
        result = UnitResult(unit.code, unit.name, OK,
                            pulled_at=last.pulled_at.isoformat(timespec="seconds"))
        # Nothing is written back from here: the grids are let go once parsed (the version and
        # the links of the pull stay), and the next unit's pull reuses their memory (a national
        # `rollup` would otherwise hold every unit's grids as well as its parsed data).
        grids_gone = RawWorkbook([], last.raw.version, last.raw.meta)
        reads.append(UnitRead(unit, result, data, grids_gone, pull_id=last.id))
    return reads


@dataclass
class CheckOutcome:
    report: Report
    reads: list[UnitRead]
    started: datetime
    finished: datetime
    history_problem: str | None = None  # the history store could not be used (damaged)

    @property
    def all_read(self) -> bool:
        return all(r.result.status in READ_STATUSES for r in self.reads)


def run_check(config: Config, backend_for: Callable[[UnitConfig], Backend], as_of: date,
              year: int | None = None, units: tuple[str, ...] = (), history: bool = True,
              progress: Progress | None = None) -> CheckOutcome:
    """`check`: pull (recorded unless ``history`` is False), evaluate; never writes sheets."""
    started = _now()
    template = load_template()
    store = _open_store(config, write=history)
    try:
        reads = pull(config, backend_for, as_of, units, store, history, template, progress)
        year = year or as_of.year
        report = evaluate(config, reads, as_of, year, history_of(config, store, as_of, year))
        finished = _now()
        if history and store is not None:  # history: the store was opened for writing
            store.record_run("check", started, finished, summarize(report))
    finally:
        if store is not None:
            store.close()
    return CheckOutcome(report, reads, started, finished,
                        history_problem=store.damaged if store is not None else None)


def _open_store(config: Config, write: bool) -> GuardedStore | None:
    """The history store; read-only (None when absent) for --no-history and --dry-run.
    A damaged store is left untouched and the job goes on without history
    (``GuardedStore.damaged`` says why)."""
    return GuardedStore.guard(config.state_dir, readonly=not write)


class HistoryOf:
    """DATA-DELETED / DATA-CHANGED-CLOSED of a unit read, against its earlier pulls (the
    evaluator's ``History``); ``recorded`` after a read's pull is recorded keeps its findings
    for the store as it now is."""

    def __init__(self, store: Store, as_of: date, year: int):
        self.store, self.as_of, self.year = store, as_of, year
        self._kept_under: dict[str, str] = {}  # unit -> token of its findings, not recorded

    def __call__(self, r: UnitRead) -> list[Finding]:
        assert r.data is not None, "the evaluator asks only for reads with data"
        store = self.store
        if getattr(store, "damaged", None):
            return []
        # A read not recorded yet keeps the key index for its recording, which releases it.
        found = history_findings(store, r.config.code, r.data, self.as_of, self.year,
                                 r.config.rules, _source(r), keep_index=r.pull_id is None,
                                 recorded_as=r.pull_id, kept_under=self._kept_under)
        return [] if getattr(store, "damaged", None) else found  # half-read history: none

    def recorded(self, r: UnitRead) -> None:
        before = self._kept_under.pop(r.config.code, None)
        if before is not None and not getattr(self.store, "damaged", None):
            keep_after_recording(self.store, r.config.code, _source(r), self.year,
                                 r.config.rules, before)

    def rewritten(self, r: UnitRead, read_as: str | None, written_as: str) -> None:
        """Our own write changed the unit's version (``read_as`` -> ``written_as``: Drive
        versions, or a local file's SHA-256s) and nothing else the history sees."""
        if read_as is not None and not getattr(self.store, "damaged", None):
            keep_for_new_source(self.store, r.config.code, read_as, written_as, self.year,
                                r.config.rules)


def _source(r: UnitRead) -> str | None:
    return r.raw.version if r.raw is not None else None


def history_of(config: Config, store: Store | None, as_of: date, year: int) -> HistoryOf | None:
    """DATA-DELETED / DATA-CHANGED-CLOSED of a unit read, against its earlier pulls."""
    return HistoryOf(store, as_of, year) if store is not None else None


def summarize(report: Report, extra: dict | None = None) -> dict:
    """The run summary stored in the history and shown by `status`."""
    by_rule: dict[str, int] = {}
    for f in report.findings:
        by_rule[f.rule] = by_rule.get(f.rule, 0) + 1
    return {
        "as_of": report.as_of.isoformat(),
        "year": report.year,
        "units": [u.to_json() for u in report.units],
        "counts": report.counts(),
        "by_rule": dict(sorted(by_rule.items())),
        **(extra or {}),
    }



# --- run: pull -> check -> write back -> roll-up -----------------------------------------------

@dataclass
class UnitWrite:
    unit: str
    status: str  # written / unchanged / copy / skipped / dry-run / not-read / error
    message: str
    plan_lines: list[str] = field(default_factory=list)
    cells: int = 0
    try_later: bool = False  # failed for a passing reason (Google 5xx, timeouts)


@dataclass
class RunOutcome(CheckOutcome):
    writes: list[UnitWrite] = field(default_factory=list)
    rollup: Path | None = None
    requests: dict = field(default_factory=dict)
    published: str | None = None  # Vietnamese outcome of the Drive upload of the roll-up
    publish_failed: bool = False
    report_docx: Path | None = None  # the December report, when [report] enabled = true
    publish_try_later: bool = False  # the upload failed for a passing reason
    # why the roll-up / the December report could not be written (a file open, a full disk):
    # the sheets were read, checked and written all the same
    rollup_problem: str | None = None
    report_problem: str | None = None

    @property
    def writes_skipped(self) -> bool:
        return self.publish_failed or any(w.status in ("skipped", "error") for w in self.writes)


_WRITE_PROGRESS = {
    "written": "Đã ghi kết quả {unit}.",
    "copy": "Đã ghi bản sao có kết quả của {unit}.",
    "unchanged": "{unit}: không có gì thay đổi, không ghi.",
    "dry-run": "{unit}: chạy thử, không ghi gì.",
}


def write_progress_line(write: UnitWrite) -> str:
    """The -v log line of a unit's write: "đã ghi" only when something was written."""
    template = _WRITE_PROGRESS.get(write.status)
    if template is not None:
        return template.format(unit=write.unit)
    return f"{write.unit}: {write.message}"


def _write_unit(config: Config, template: Template, read: UnitRead, findings: list[Finding],
                as_of: date, year: int, backend: Backend, dry_run: bool
                ) -> tuple[UnitWrite, tuple | None]:
    """Write one unit's flags (runs on a worker thread; neither the store nor ``read`` is
    changed here). Returns the write and, for a unit written in full,
    ``(plan, version read, write requests, meta)`` (a local file: its SHA-256 read, no request,
    the meta of the file written): ``_record_own_writes`` records them from the calling
    thread."""
    code = read.config.code
    # UNCHANGED (Google units only): re-evaluated from the stored pull; written if flags differ.
    if read.result.status not in READ_STATUSES or read.data is None:
        return UnitWrite(code, "not-read", "Không ghi: đơn vị không đọc được lúc này."), None
    plan = plan_unit(template, read, findings, as_of, year,
                     notes_per_row=config.notes_per_row)
    lines = plan.describe()
    if dry_run:
        return UnitWrite(code, "dry-run", "Chạy thử: không ghi gì.", lines), None
    own = None
    raw = read.raw
    assert raw is not None, "a read with data has its raw grids"
    try:
        if read.config.is_google:
            # The writer keeps sheet ids and grid sizes in step with its structural changes: it
            # does so on a copy, as the calling thread may be recording the read meanwhile.
            mine_raw = replace(raw, meta=copy.deepcopy(raw.meta))
            mine = replace(read, raw=mine_raw)
            # Google units only: GoogleBackend.writer() (not part of the Backend protocol yet)
            result = backend.writer().apply(read.config, mine, plan)  # type: ignore[attr-defined]
            if result.status == "written" and not result.skipped_rows:
                # The version our write produced is learnt from one listing after every
                # write of the run (``_record_own_writes``).
                own = (plan, raw.version, result.mutations, mine_raw.meta)
        else:
            assert read.config.path is not None, "a local unit has a path"
            result = write_local(read.config.path, plan, raw.meta, config.out_dir,
                                 config.state_dir / "backups", config.backup_keep,
                                 raw=raw)
            if result.written_meta is not None:  # the whole plan written into the file
                own = (plan, raw.version, 0, {**raw.meta, **result.written_meta})
    except SheetsSyncError as e:
        return UnitWrite(code, "error", str(e),
                         try_later=bool(getattr(e, "try_later", False))), None
    status = result.status if result.ok or result.status == "skipped" else "skipped"
    return UnitWrite(code, status, result.message, lines, result.cells_written), own


_Written = tuple[int, bytes, str | None]  # a pull as our write left it (``_as_written``)


def _as_written(read: UnitRead, plan, meta: dict) -> _Written | None:
    """The pull of ``read`` as our write left the spreadsheet: its raw grids updated in memory
    with ``plan`` and ``meta`` (the next run finding the version our write produced re-evaluates
    them instead of reading), ready to store (``Store.set_own_write_version``). Made as each
    write ends, while others are under way; the version is known only after the run's writes."""
    if read.pull_id is None or read.raw is None:
        return None
    read.raw.meta = meta
    apply_to_raw(read.raw, plan)
    return read.pull_id, dump_raw(read.raw), file_fingerprint(read.raw)


def _record_own_writes(store: Store, backend_for: Callable[[UnitConfig], Backend],
                       reads: dict[str, UnitRead],
                       owns: dict[str, tuple[str | None, int, _Written | None]],
                       history: HistoryOf | None) -> None:
    """One Drive listing after the run's writes tells the version each write produced; a unit
    whose version moved by exactly our own write requests records it with the grids as written
    (``owns``: the version read, the write's requests, ``_as_written``). Any other move — a
    person edited between our read and our version request — records no version, so the next
    run re-reads the unit and repairs whatever the edit displaced. A local file written in full
    is recorded with its grids as written and the fingerprint our write left (the file is read
    again next run; only a file changed since is stored again).

    The unit's history findings are kept for the data our write produced too: it changed only
    tool cells and tabs, which the history does not index."""
    units = tuple(reads[code].config for code in owns if reads[code].config.is_google)
    versions = list_versions(backend_for, units)
    for code, (seen, mutations, written) in owns.items():
        if written is None:
            continue
        read = reads[code]
        if read.config.is_google:
            now = versions.get(code)
            produced = now if _only_our_write(seen, now, mutations) else None
        else:  # a local file's version is its SHA-256: the one our write left
            produced = read.raw.meta.get("sha256") if read.raw is not None else None
        store.set_own_write_version(*written, produced)
        if history is not None and produced is not None:
            history.rewritten(read, seen, produced)


def _only_our_write(seen: str | None, now: str | None, mutations: int) -> bool:
    """True when the Drive version moved from the one whose data was checked (``seen``) by
    exactly our own write requests. Otherwise a person edited the spreadsheet between our read
    and our version request: recording ``now`` as our own would hide that edit from every later
    run (the spreadsheet would look unchanged), so it is not recorded and the next run re-reads.
    """
    if now is None or seen is None:
        return False
    try:
        return int(now) - int(seen) == mutations
    except ValueError:
        return False


def run(config: Config, backend_for: Callable[[UnitConfig], Backend], as_of: date,
        year: int | None = None, units: tuple[str, ...] = (), dry_run: bool = False,
        progress: Progress | None = None) -> RunOutcome:
    """The main job. One unit's failure never stops the others; --dry-run writes nothing.

    Pulls run on ``workers_for`` threads; a unit's flags are written (on ``writers_for`` other
    threads) as soon as its findings are final — when every unit of its supervision group is read
    (``Evaluator``) — so that writing overlaps pulling and a run stays close to the quota's
    lower bound; the roll-up is built while the last writes finish. The history store is only
    used from this thread."""
    started = _now()
    year = year or as_of.year
    template = load_template()
    store = _open_store(config, write=not dry_run)
    try:
        selected = config.select(units)
        history = history_of(config, store, as_of, year)
        evaluator = Evaluator(config, selected, as_of, year, history)
        reads: dict[str, UnitRead] = {}
        jobs: dict[Future, str] = {}  # writes not collected yet
        writes: dict[str, UnitWrite] = {}
        owns: dict[str, tuple[str | None, int, _Written | None]] = {}

        def collect(job: Future) -> None:
            """A finished write; a Google unit written in full: its pull as written."""
            code = jobs.pop(job)
            write, own = job.result()
            writes[code] = write
            if own is not None and store is not None:
                plan, seen, mutations, meta = own
                owns[code] = (seen, mutations, _as_written(reads[code], plan, meta))
            if progress:
                progress(write_progress_line(write))

        workers = workers_for(config, selected)
        # outputs: one thread for the roll-up (inline, in the sequential order, with one worker)
        with _threads_answering_fast(workers), _executor(workers) as pullers, \
                _executor(writers_for(workers)) as writers, \
                (_Inline() if workers <= 1 else ThreadPoolExecutor(1)) as outputs:
            for read in pull_each(backend_for, as_of, selected, store, not dry_run,
                                  template, pullers, workers, progress,
                                  history.recorded if history is not None else None):
                # Writes already done (their reads, earlier ones, are recorded by now).
                for job in [j for j in jobs if j.done()]:
                    collect(job)
                reads[read.config.code] = read
                for code in evaluator.add(read):
                    jobs[writers.submit(_write_unit, config, template, reads[code],
                                        evaluator.group_findings(code), as_of, year,
                                        backend_for(reads[code].config), dry_run)] = code
            # Every unit is read and evaluated: the roll-up is built (on its own thread) while
            # the last writes are still under way and our own writes are recorded (it needs
            # findings, not writes; the store's commits wait on the disk meanwhile).
            ordered = [reads[u.code] for u in selected]
            outcome = RunOutcome(evaluator.report(), ordered, started, _now())
            built: Future | None = None
            if not dry_run:
                model = _model(config, outcome.report, ordered, store)  # the store: this thread
                built = outputs.submit(_build_outputs, config, outcome.report,
                                       _as_read(ordered), _run_info(outcome), model, as_of)
            for job in as_completed(list(jobs)):
                collect(job)
            if owns and store is not None:
                _record_own_writes(store, backend_for, reads, owns, history)
            if built is not None:
                # An output that cannot be written is a problem of the run, not its end: the
                # units' table, the writes and the run's record still matter.
                try:
                    outcome.rollup, outcome.report_docx, outcome.report_problem = built.result()
                except SheetsSyncError as e:
                    outcome.rollup_problem = str(e)
        outcome.writes = [writes[u.code] for u in selected]
        outcome.requests = _request_counts(ordered, backend_for)
        if outcome.rollup is not None and config.drive_file_id:
            _publish(config, backend_for, outcome)
        outcome.finished = _now()
        if store is not None:
            outcome.history_problem = store.damaged
        if not dry_run and store is not None:  # not a dry run: the store was opened for writing
            store.prune(config.history_retention_days, since=started)
            store.record_run("run", started, outcome.finished,
                             job_summary(outcome, run_exit_code(outcome)))
            outcome.history_problem = store.damaged
        return outcome
    finally:
        if store is not None:
            store.close()


def _as_read(reads: list[UnitRead]) -> list[UnitRead]:
    """The reads as they were read, for the roll-up built while our own writes are recorded:
    recording one gives its raw workbook the metadata and tool tabs our write produced
    (``_own_write``); these copies keep the metadata and the list of sheets that were read."""
    return [replace(r, raw=replace(r.raw, sheets=list(r.raw.sheets))) if r.raw is not None
            else r for r in reads]


def _build_outputs(config: Config, report: Report, reads: list[UnitRead], run_info: dict,
                   model, as_of: date) -> tuple[Path, Path | None, str | None]:
    """The roll-up workbook (and ``latest.json``) and, when enabled, the December report (or
    why it could not be written)."""
    path = rollup_path(config, as_of)
    build_rollup(config, report, reads, run_info, path, model=model)
    write_latest(config, path, as_of)
    try:
        return path, _report(config, model), None
    except SheetsSyncError as e:
        return path, None, str(e)


def _publish(config: Config, backend_for: Callable[[UnitConfig], Backend],
             outcome: RunOutcome) -> None:
    """Upload the roll-up over the existing Drive file ``[output] drive_file_id``."""
    from ..sources.google_sheets import GoogleBackend

    google = next((u for u in config.units if u.is_google), None)
    assert config.drive_file_id and outcome.rollup is not None, "checked by the caller"
    try:
        backend = backend_for(google) if google else GoogleBackend.from_config(config)
        problem = getattr(backend, "problem", None)  # backends.UnavailableBackend
        if problem:
            raise SheetsSyncError(f"Không tải bảng tổng hợp lên Drive: {problem} Bảng tổng hợp "
                                  f"vẫn được ghi trên máy: {outcome.rollup}.")
        result = publish_rollup(backend, config.drive_file_id, outcome.rollup)
        outcome.published = result.message
    except SheetsSyncError as e:
        outcome.published, outcome.publish_failed = str(e), True
        outcome.publish_try_later = bool(getattr(e, "try_later", False))


def _request_counts(reads: list[UnitRead], backend_for: Callable[[UnitConfig], Backend]) -> dict:
    """Requests sent to Google by this run's backends (``RequestStats.as_dict``; summed when
    there are several): reads, writes, drive, retries, waited_s, paced_s, quota_exhausted,
    by_unit. Empty when no unit is on Google."""
    total: dict = {}
    seen: set[int] = set()
    for read in reads:
        if not read.config.is_google:
            continue
        backend = backend_for(read.config)
        stats = getattr(backend, "stats", None)
        if stats is None or id(backend) in seen:
            continue
        seen.add(id(backend))
        for key, value in stats.as_dict().items():
            if key == "by_unit":
                total.setdefault(key, {}).update(value)
            elif isinstance(value, bool):
                total[key] = total.get(key, False) or value
            else:
                total[key] = round(total.get(key, 0) + value, 3)
    return total


def _summary_requests(counts: dict) -> dict:
    """The run-summary fields (runlog.py): ``requests`` {reads, writes, drive}, ``retries``,
    ``waited_s``, ``quota_exhausted``; nothing when no unit is on Google."""
    if not counts:
        return {}
    return {"requests": {k: counts.get(k, 0) for k in ("reads", "writes", "drive")},
            "retries": counts.get("retries", 0), "waited_s": counts.get("waited_s", 0.0),
            "quota_exhausted": counts.get("quota_exhausted", False)}


def _run_info(outcome: CheckOutcome) -> dict:
    read = sum(1 for r in outcome.reads if r.result.status in READ_STATUSES)
    return {"started": outcome.started.isoformat(timespec="seconds"),
            "finished": _now().isoformat(timespec="seconds"),
            "units_read": read, "units_failed": len(outcome.reads) - read}


def _model(config: Config, report: Report, reads: list[UnitRead], store: Store | None = None):
    """The values every output shows (roll-up, report), computed once; the previous year from
    the history store for a unit whose sheets no longer hold it."""
    template = load_template()

    def stored_year(code: str, year: int) -> UnitData | None:
        pull = store.last_pull_of_year(code, year) if store is not None else None
        if pull is None:
            return None
        unit = config.unit(code)
        return parse_unit(template, pull.raw, unit.code, unit.name, pull.as_of)

    return build_model(config, report, reads, stored_year)


def _report(config: Config, model) -> Path | None:
    """`run` writes the December report next to the roll-up when ``[report] enabled``."""
    if not config.report.enabled:
        return None
    from ..outputs.report import build_report

    return build_report(model)


def report_from_store(config: Config, as_of: date, year: int | None = None,
                      unit: str | None = None, output: Path | None = None) -> RunOutcome:
    """`report`: the December report (.docx) from the last stored pull of every unit (the same
    numbers as `rollup`); ``unit``: that unit's own report. Opens no spreadsheet."""
    from ..outputs.report import build_report

    started = _now()
    if unit is not None:
        config.unit(unit)  # a clear error for an unknown code
    guarded = GuardedStore.guard(config.state_dir)
    assert guarded is not None, "a store opened for writing always exists"
    with guarded as store:
        if store.damaged:  # the report is built from the store alone: nothing to build from
            raise HistoryDamaged(store.damaged)
        reads = from_store(config, store, as_of)
        year = year or as_of.year
        report = evaluate(config, reads, as_of, year, history_of(config, store, as_of, year))
        model = _model(config, report, reads, store)
    outcome = RunOutcome(report, reads, started, _now())
    outcome.report_docx = build_report(model, output, unit)
    return outcome


def rollup_from_store(config: Config, as_of: date, year: int | None = None,
                      units: tuple[str, ...] = ()) -> RunOutcome:
    """`rollup`: the workbook from the last stored pull of every unit; opens no spreadsheet."""
    started = _now()
    guarded = GuardedStore.guard(config.state_dir)
    assert guarded is not None, "a store opened for writing always exists"
    with guarded as store:
        if store.damaged:  # the roll-up is built from the store alone: nothing to build from
            raise HistoryDamaged(store.damaged)
        reads = from_store(config, store, as_of, units)
        year = year or as_of.year
        report = evaluate(config, reads, as_of, year, history_of(config, store, as_of, year))
        model = _model(config, report, reads, store)
    outcome = RunOutcome(report, reads, started, _now())
    path = rollup_path(config, as_of)
    build_rollup(config, report, reads, _run_info(outcome), path, model=model)
    write_latest(config, path, as_of)
    outcome.rollup = path
    return outcome


def run_exit_code(outcome: CheckOutcome) -> int:
    """0 when every unit was read and written (findings never change it); 1 when something
    needs a person (a unit unreachable or invalid for a lasting reason, a write skipped, the
    roll-up or the report not written, the roll-up not published, the history store damaged);
    75 when the only problems are passing ones — Google quota still exhausted after the retry
    budget, Google 5xx, timeouts, the token endpoint down — so the scheduler should simply try
    later."""
    later = bool(getattr(outcome, "requests", {}).get("quota_exhausted"))
    person = bool(getattr(outcome, "history_problem", None))
    for r in outcome.reads:
        if r.result.status not in READ_STATUSES:
            if r.result.try_later:
                later = True
            else:
                person = True
    for w in getattr(outcome, "writes", []):
        if w.status in ("skipped", "error"):
            if w.try_later:
                later = True
            else:
                person = True
    if getattr(outcome, "rollup_problem", None) or getattr(outcome, "report_problem", None):
        person = True
    if getattr(outcome, "publish_failed", False):
        if getattr(outcome, "publish_try_later", False):
            later = True
        else:
            person = True
    if person:
        return EXIT_UNITS_FAILED
    return EXIT_TRY_LATER if later else EXIT_OK


def job_summary(outcome: CheckOutcome, exit_code: int) -> dict:
    """The JSON run summary of state/runs (read by `status`)."""
    extra = {"exit_code": exit_code,
             "started": outcome.started.isoformat(timespec="seconds"),
             "finished": outcome.finished.isoformat(timespec="seconds")}
    if outcome.history_problem:
        extra["history"] = outcome.history_problem
    if isinstance(outcome, RunOutcome):
        extra.update({"writes": [w.__dict__ for w in outcome.writes],
                      "rollup": str(outcome.rollup) if outcome.rollup else None,
                      **{k: v for k, v in (("rollup_problem", outcome.rollup_problem),
                                           ("report_problem", outcome.report_problem)) if v},
                      **_summary_requests(outcome.requests)})
    return summarize(outcome.report, extra)

"""The jobs: pull (with the history store), check, write back, roll-up — unit by unit."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Callable

from .backends.base import Backend
from .checker import UnitRead, evaluate, read_unit
from .config import Config, UnitConfig
from .findings import OK, READ_STATUSES, STALE, UNREACHABLE, Report, UnitResult
from .store import Store
from .template import Template, load_template
from .workbook import parse_unit, required_tabs_found

Progress = Callable[[str], None]


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
                        pulled_at=last.pulled_at.isoformat(timespec="seconds"))
    return UnitRead(unit, result, data, last.raw)


def pull(config: Config, backend_for: Callable[[UnitConfig], Backend], as_of: date,
         units: tuple[str, ...] = (), store: Store | None = None, record: bool = True,
         template: Template | None = None, progress: Progress | None = None) -> list[UnitRead]:
    """Read every selected unit; one failure never stops the others."""
    template = template or load_template()
    reads = []
    selected = config.select(units)
    for n, unit in enumerate(selected, start=1):
        if progress:
            progress(f"[{n}/{len(selected)}] Đang đọc {unit.code} — {unit.name}")
        read = read_unit(backend_for(unit), template, unit, as_of)
        if read.data is not None:
            pulled_at = _now()
            read.result.pulled_at = pulled_at.isoformat(timespec="seconds")
            if store is not None and record:
                read.pull_id = store.record_pull(unit.code, read.raw, read.data, pulled_at, as_of)
        elif store is not None:
            read = _stale(unit, read, store, template, as_of)
        reads.append(read)
    return reads


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
        reads.append(UnitRead(unit, result, data, last.raw))
    return reads


@dataclass
class CheckOutcome:
    report: Report
    reads: list[UnitRead]
    started: datetime
    finished: datetime
    notes: list[str] = field(default_factory=list)

    @property
    def all_read(self) -> bool:
        return all(r.result.status in READ_STATUSES for r in self.reads)


def run_check(config: Config, backend_for: Callable[[UnitConfig], Backend], as_of: date,
              year: int | None = None, units: tuple[str, ...] = (), history: bool = True,
              progress: Progress | None = None) -> CheckOutcome:
    """`check`: pull (recorded unless ``history`` is False), evaluate; never writes sheets."""
    started = _now()
    template = load_template()
    store = Store.open(config.state_dir) if history else None
    try:
        reads = pull(config, backend_for, as_of, units, store, True, template, progress)
        report = evaluate(config, reads, as_of, year or as_of.year)
        finished = _now()
        if store is not None:
            store.record_run("check", started, finished, summarize(report))
    finally:
        if store is not None:
            store.close()
    return CheckOutcome(report, reads, started, finished)


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


"""Read units and evaluate every rule: the library behind `check` (and later `run`)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Callable, Iterable

from .backends.base import Backend, RawWorkbook
from .config import Config, UnitConfig
from .errors import UnitReadError
from .findings import INVALID, OK, Finding, Report, UnitResult, with_acceptance
from .rules import annual, briefing, cells, data, halls, meetings, members, supervision, thematic
from .rules.base import UnitContext, make_context
from .template import Template, load_template
from .workbook import UnitData, parse_unit, required_tabs_found

# Families evaluated unit by unit, in report order.
UNIT_FAMILIES = (data, cells, meetings, thematic, briefing, supervision, members, annual, halls)


@dataclass
class UnitRead:
    """One unit after reading: its parsed data (None when it could not be used)."""

    config: UnitConfig
    result: UnitResult
    data: UnitData | None = None
    raw: RawWorkbook | None = None
    pull_id: int | None = None  # the history-store pull this data was recorded as


def read_unit(backend: Backend, template: Template, unit: UnitConfig, as_of: date) -> UnitRead:
    """Read and parse one unit; failures become a unit status, never an exception."""
    try:
        raw = backend.read(unit)
    except UnitReadError as e:
        return UnitRead(unit, UnitResult(unit.code, unit.name, e.status, str(e)))
    parsed = parse_unit(template, raw, unit.code, unit.name, as_of)
    if not required_tabs_found(template, parsed):
        names = ", ".join(t.name for t in template.tabs if t.required)
        return UnitRead(unit, UnitResult(
            unit.code, unit.name, INVALID,
            f"Không phải sổ theo dõi của đơn vị: không có tab nào trong số {names}.",
        ), raw=raw)
    return UnitRead(unit, UnitResult(unit.code, unit.name, OK), parsed, raw)


def evaluate(config: Config, reads: Iterable[UnitRead], as_of: date, year: int) -> Report:
    """Every rule over the units that were read; SUP-MONTHLY across units; acceptances."""
    reads = list(reads)
    report = Report(as_of=as_of, year=year, units=[r.result for r in reads])
    contexts: dict[str, UnitContext] = {}
    for r in reads:
        if r.data is None:
            continue
        ctx = make_context(r.data, r.config.rules, as_of, year)
        contexts[r.config.code] = ctx
        report.findings.extend(r.data.findings)
        for family in UNIT_FAMILIES:
            report.findings.extend(family.check(ctx))
    unreadable = {r.config.code for r in reads if r.data is None}
    report.findings.extend(supervision.check_parent(
        contexts, unreadable, config.supervisors, config.rules, as_of, year))
    report.findings = apply_acceptances(report.findings, config)
    return report


def apply_acceptances(findings: list[Finding], config: Config) -> list[Finding]:
    if not config.accepted:
        return findings
    return [with_acceptance(f, any(a.matches(f) for a in config.accepted)) for f in findings]


def check(config: Config, backend_for: Callable[[UnitConfig], Backend], as_of: date,
          year: int | None = None, units: Iterable[str] | None = None,
          template: Template | None = None,
          progress: Callable[[UnitConfig], None] | None = None) -> tuple[Report, list[UnitRead]]:
    """Read the selected units (one failure never stops the others) and evaluate."""
    template = template or load_template()
    reads = []
    for unit in config.select(tuple(units or ())):
        if progress:
            progress(unit)
        reads.append(read_unit(backend_for(unit), template, unit, as_of))
    return evaluate(config, reads, as_of, year or as_of.year), reads

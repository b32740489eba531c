"""Read units and evaluate every rule: the library behind `check` and `run`."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from . import heap
from .config import Config, UnitConfig
from .errors import UnitReadError
from .findings import INVALID, OK, Finding, Report, UnitResult, with_acceptance
from .grid import UnitData, parse_unit, required_tabs_found
from .raw import Backend, RawWorkbook
from .rules import annual, briefing, cells, data, halls, meetings, members, supervision, thematic
from .rules.base import UnitContext, make_context
from .template import Template, load_template

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
        return UnitRead(unit, UnitResult(unit.code, unit.name, e.status, str(e),
                                         try_later=e.try_later))
    parsed = parse_unit(template, raw, unit.code, unit.name, as_of)
    if not required_tabs_found(template, parsed):
        names = ", ".join(t.name for t in template.tabs if t.required)
        return UnitRead(unit, UnitResult(
            unit.code, unit.name, INVALID,
            f"Không phải sổ theo dõi của đơn vị: không có tab nào trong số {names}.",
        ), raw=raw)
    return UnitRead(unit, UnitResult(unit.code, unit.name, OK), parsed, raw)


History = Callable[[UnitRead], list[Finding]]  # the history store's findings of a unit read


def evaluate(config: Config, reads: Iterable[UnitRead], as_of: date, year: int,
             history: History | None = None) -> Report:
    """Every rule over the units that were read; SUP-MONTHLY across units; acceptances;
    ``history``: the history store's findings of each unit read, after all others."""
    reads = list(reads)
    evaluator = Evaluator(config, [r.config for r in reads], as_of, year, history)
    for r in reads:
        evaluator.add(r)
    return evaluator.report()


class Evaluator:
    """``evaluate`` one unit at a time, so that a unit's findings are final — and its flags can
    be written — long before the last unit is read (``pipeline.run``).

    Unit rules run as each unit is added. SUP-MONTHLY spans the units a supervisor follows, so
    units sharing a supervisor (transitively) form a group: when the last unit of a group is
    added, the group's supervisors are evaluated and ``add`` returns the group's unit codes,
    whose findings (``group_findings``) are then final. ``report()`` is ``evaluate``'s report,
    in the same order: unit findings (unit order), SUP-MONTHLY (roster order), history."""

    def __init__(self, config: Config, units: Iterable[UnitConfig], as_of: date, year: int,
                 history: History | None = None):
        self.config, self.as_of, self.year, self.history = config, as_of, year, history
        self.order = list(dict.fromkeys(u.code for u in units))
        self.group_of, self.group_supervisors = supervision.unit_groups(
            config.supervisors, self.order)
        self._members: dict[str, list[str]] = {}
        for code in self.order:
            self._members.setdefault(self.group_of[code], []).append(code)
        self._left = {g: len(codes) for g, codes in self._members.items()}
        self._roster = supervision.roster_names(config.supervisors)
        self._results: dict[str, UnitResult] = {}
        self._contexts: dict[str, UnitContext] = {}
        self._own: dict[str, list[Finding]] = {}  # unit rules + reader findings
        self._history: dict[str, list[Finding]] = {}
        self._parent: dict[int, list[Finding]] = {}  # supervisor index -> SUP-MONTHLY

    def add(self, read: UnitRead) -> list[str]:
        """Evaluate one unit; the codes of its group once this was the group's last unit."""
        code = read.config.code
        self._results[code] = read.result
        found: list[Finding] = []
        if read.data is not None:
            with heap.unit_work():
                ctx = make_context(read.data, read.config.rules, self.as_of, self.year)
                self._contexts[code] = ctx
                found.extend(read.data.findings)
                for family in UNIT_FAMILIES:
                    found.extend(family.check(ctx))
                for tab in read.data.tabs.values():
                    tab.memo.clear()  # shared by this unit's rules only: not kept for the run
            if self.history is not None:
                self._history[code] = apply_acceptances(self.history(read), self.config)
        self._own[code] = apply_acceptances(found, self.config)
        group = self.group_of[code]
        self._left[group] -= 1
        if self._left[group]:
            return []
        members = self._members[group]
        contexts = {c: self._contexts[c] for c in members if c in self._contexts}
        unreadable = [c for c in members if c not in self._contexts]
        for i in self.group_supervisors.get(group, []):
            self._parent[i] = apply_acceptances(supervision.check_parent(
                contexts, unreadable, [self.config.supervisors[i]], self.config.rules,
                self.as_of, self.year, self._roster), self.config)
        return members

    def group_findings(self, code: str) -> list[Finding]:
        """Every final finding of the group of ``code`` (other units' included)."""
        group = self.group_of[code]
        members = self._members[group]
        return [*(f for c in members for f in self._own[c]),
                *(f for i in self.group_supervisors.get(group, []) for f in self._parent[i]),
                *(f for c in members for f in self._history.get(c, []))]

    def report(self) -> Report:
        missing = [c for c in self.order if c not in self._own]
        if missing:
            raise ValueError(f"units not evaluated: {', '.join(missing)}")
        return Report(as_of=self.as_of, year=self.year,
                      units=[self._results[c] for c in self.order],
                      findings=[*(f for c in self.order for f in self._own[c]),
                                *(f for i in sorted(self._parent) for f in self._parent[i]),
                                *(f for c in self.order for f in self._history.get(c, []))])


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

"""Findings and reports: plain values, never exceptions."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from .rules.catalog import rule_fix_vi, rule_name_vi
from .severity import ERROR as ERROR
from .severity import INFO as INFO
from .severity import SEVERITY_ORDER as SEVERITY_ORDER
from .severity import SEVERITY_VI as SEVERITY_VI
from .severity import WARNING as WARNING

ACCEPTED = "accepted"  # the count of findings whose explanation the Board accepted
ACCEPTED_VI = "Đã chấp nhận giải trình"
PENDING_VI = "Đã giải trình – chờ xem xét"

# Unit statuses (template.md): the same words in JSON, run summaries, status and the roll-up.
OK, UNCHANGED, STALE, UNREACHABLE, INVALID = "ok", "unchanged", "stale", "unreachable", "invalid"
READ_STATUSES = frozenset({OK, UNCHANGED})
STATUS_VI = {
    OK: "Đã đọc",
    UNCHANGED: "Không đổi",
    STALE: "Dùng số liệu cũ",
    UNREACHABLE: "Không đọc được",
    INVALID: "Không hợp lệ",
}

# JSON field order of a finding (template.md contract).
# ``accepted``: the Board accepted the explanation (config ``[[accepted]]``); such a finding is
# not counted as a violation or warning anywhere (PLAN_INTERFACES.md).
FINDING_FIELDS = ("unit", "tab", "row", "cell", "period", "rule", "severity", "explained",
                  "accepted", "message")


# Not ``frozen``: a frozen dataclass sets each field through ``object.__setattr__`` (≈ 3× the
# cost of building one; 581,000 findings at national size). Findings are still values: nothing
# changes one after it is built (``with_acceptance`` makes a new one), so the hash stays valid.
@dataclass(slots=True, unsafe_hash=True)
class Finding:
    unit: str
    tab: str | None
    row: int | None
    cell: str | None
    period: str | None
    rule: str
    severity: str
    message: str
    explained: bool = False
    accepted: bool = False

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in FINDING_FIELDS}

    def sort_key(self) -> tuple[Any, ...]:
        return (
            self.unit,
            self.tab or "",
            self.row if self.row is not None else 10**9,
            SEVERITY_ORDER[self.severity],
            self.rule,
            self.period or "",
            self.cell or "",
            self.message,
        )

    @property
    def counts_as(self) -> str:
        """The count this finding belongs to: "accepted" when the Board accepted its
        explanation (errors and warnings only), else its severity. A pending explanation still
        counts as its severity."""
        return ACCEPTED if self.accepted and self.severity != INFO else self.severity

    @property
    def explanation_vi(self) -> str:
        """"Đã chấp nhận giải trình", "Đã giải trình – chờ xem xét" or ""."""
        if self.severity == INFO:
            return ""
        if self.accepted:
            return ACCEPTED_VI
        return PENDING_VI if self.explained else ""

    @property
    def flag_text(self) -> str:
        """One line of the "Chi tiết kiểm tra" tool column, for people: the rule's short
        Vietnamese name, what is wrong with the row's own values, and what to do."""
        message = self.message.strip()
        message = message.removesuffix(".")
        line = f"{rule_name_vi(self.rule)}: {message}"
        if self.counts_as == ACCEPTED:
            return f"✔ {line} — đã chấp nhận giải trình"
        fix = rule_fix_vi(self.rule, self.severity)
        return f"{line} → {fix}" if fix else line


def with_acceptance(finding: Finding, accepted: bool) -> Finding:
    return replace(finding, accepted=accepted) if accepted != finding.accepted else finding


@dataclass
class UnitResult:
    code: str
    name: str
    status: str
    message: str | None = None
    pulled_at: str | None = None  # ISO timestamp of the data used (stale units: the old pull)
    try_later: bool = False  # not read for a passing reason (Google 5xx, timeouts): exit 75

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "status": self.status,
                "message": self.message}


@dataclass
class Report:
    as_of: date
    year: int
    units: list[UnitResult] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def sorted_findings(self) -> list[Finding]:
        return sorted(self.findings, key=Finding.sort_key)

    def to_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "year": self.year,
            "units": [u.to_json() for u in self.units],
            "findings": [f.to_json() for f in self.sorted_findings()],
            "counts": self.counts(),
        }

    @property
    def all_read(self) -> bool:
        return all(u.status in READ_STATUSES for u in self.units)

    def counts(self, findings: Iterable[Finding] | None = None) -> dict[str, int]:
        """Errors, warnings, notes and accepted explanations; each finding counted once
        (an accepted error or warning only under "accepted")."""
        return count_findings(self.findings if findings is None else findings)


def count_findings(findings: Iterable[Finding]) -> dict[str, int]:
    out = {ERROR: 0, WARNING: 0, INFO: 0, ACCEPTED: 0}
    for f in findings:
        out[f.counts_as] += 1
    return out


@dataclass
class FindingCounts:
    """``count_findings`` with one more figure, for the roll-up and the report: errors and
    warnings as ``Finding.counts_as`` puts them (an accepted explanation only under
    ``accepted``), and of those errors and warnings, how many carry a pending explanation
    (``explained``: still counted as their severity)."""

    errors: int = 0
    warnings: int = 0
    explained: int = 0
    accepted: int = 0
    info: int = 0

    @classmethod
    def of(cls, findings: Iterable[Finding]) -> FindingCounts:
        """The counts of ``findings``, each where ``Finding.counts_as`` puts it."""
        errors = warnings = explained = accepted = info = 0
        for f in findings:
            severity = f.severity
            if f.accepted and severity != INFO:
                accepted += 1
            elif severity == ERROR:
                errors += 1
                explained += 1 if f.explained else 0
            elif severity == WARNING:
                warnings += 1
                explained += 1 if f.explained else 0
            else:
                info += 1
        return cls(errors, warnings, explained, accepted, info)

    def as_dict(self) -> dict[str, int]:
        """``count_findings``'s keys, plus "explained"."""
        return {ERROR: self.errors, WARNING: self.warnings, INFO: self.info,
                ACCEPTED: self.accepted, "explained": self.explained}

    def __add__(self, other: FindingCounts) -> FindingCounts:
        return FindingCounts(self.errors + other.errors, self.warnings + other.warnings,
                             self.explained + other.explained, self.accepted + other.accepted,
                             self.info + other.info)

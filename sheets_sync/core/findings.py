"""Findings and reports: plain values, never exceptions."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

ERROR, WARNING, INFO = "error", "warning", "info"
SEVERITY_ORDER = {ERROR: 0, WARNING: 1, INFO: 2}
SEVERITY_VI = {ERROR: "Vi phạm", WARNING: "Cảnh báo", INFO: "Lưu ý"}

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
FINDING_FIELDS = ("unit", "tab", "row", "cell", "period", "rule", "severity", "explained",
                  "message")


@dataclass(frozen=True, slots=True)
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
    def flag_text(self) -> str:
        """One line of the "Chi tiết kiểm tra" tool column."""
        return f"[{self.rule}] {self.message}"


def with_acceptance(finding: Finding, accepted: bool) -> Finding:
    return replace(finding, accepted=accepted) if accepted != finding.accepted else finding


@dataclass
class UnitResult:
    code: str
    name: str
    status: str
    message: str | None = None
    pulled_at: str | None = None  # ISO timestamp of the data used (stale units: the old pull)

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
        }

    @property
    def all_read(self) -> bool:
        return all(u.status in READ_STATUSES for u in self.units)

    def counts(self, findings: Iterable[Finding] | None = None) -> dict[str, int]:
        out = {ERROR: 0, WARNING: 0, INFO: 0}
        for f in self.findings if findings is None else findings:
            out[f.severity] += 1
        return out

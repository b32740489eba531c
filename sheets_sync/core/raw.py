"""The small interface every backend implements (local .xlsx, Google Sheets).

A backend turns a unit's spreadsheet into a ``RawWorkbook`` (values only, A1-anchored grids) and
later writes flag cells back. Parsing, header location and checking are backend-independent
(``sheets_sync.core.grid``), so the same data gives the same findings on every backend.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from .config import UnitConfig


@dataclass
class RawSheet:
    title: str
    rows: list[list[Any]]  # row 0 = sheet row 1; ragged rows allowed; None/"" = empty


@dataclass
class RawWorkbook:
    sheets: list[RawSheet]
    version: str | None = None  # change token: Drive version, or the local file's SHA-256
    meta: dict[str, Any] = field(default_factory=dict)  # backend details (size, mtime, …)

    def sheet(self, title: str) -> RawSheet | None:
        return next((s for s in self.sheets if s.title == title), None)


class Backend(Protocol):
    def read(self, unit: UnitConfig) -> RawWorkbook:
        """Read every tab. Raises ``UnitReadError`` (status unreachable/invalid) on failure."""

    def version(self, unit: UnitConfig) -> str | None:
        """The current change token without reading the data (None when unknown)."""

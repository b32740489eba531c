"""Operational failures: exceptions with messages a person can act on (Vietnamese)."""
from __future__ import annotations

# Exit codes, the same for every command (design.md).
EXIT_OK = 0
EXIT_UNITS_FAILED = 1
EXIT_USAGE = 2
EXIT_TRY_LATER = 75


class SheetsSyncError(Exception):
    """Base class of every operational failure; ``str(e)`` is shown to the user as is."""

    exit_code = EXIT_UNITS_FAILED


class ConfigError(SheetsSyncError):
    exit_code = EXIT_USAGE


class UnitReadError(SheetsSyncError):
    """A unit's spreadsheet could not be read; ``status`` is "unreachable" or "invalid"."""

    def __init__(self, message: str, status: str = "unreachable"):
        super().__init__(message)
        self.status = status


class TryLater(SheetsSyncError):
    exit_code = EXIT_TRY_LATER

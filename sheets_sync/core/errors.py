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
    """A unit's spreadsheet could not be read; ``status`` is "unreachable" or "invalid".
    ``try_later``: a passing fault (Google 5xx, timeouts, the token endpoint down) — the run
    then exits 75 rather than 1 when nothing else needs a person."""

    def __init__(self, message: str, status: str = "unreachable", try_later: bool = False):
        super().__init__(message)
        self.status = status
        self.try_later = try_later


class TryLater(SheetsSyncError):
    exit_code = EXIT_TRY_LATER


class StateFolderError(SheetsSyncError):
    """The state folder (or the output folder) cannot be used: not a folder or read-only
    (exit 2, the setup must change), or the disk is full (exit 1). Nothing in it was renamed
    or deleted."""

    def __init__(self, message: str, exit_code: int = EXIT_USAGE):
        super().__init__(message)
        self.exit_code = exit_code


class HistoryDamaged(SheetsSyncError):
    """The history database is damaged; it is left untouched (``sheets-sync history repair``)."""


class Fault(SheetsSyncError):
    """An unexpected failure caught at the fault boundary: the message names what failed and
    the log file holding the (redacted) traceback."""

    def __init__(self, message: str, exit_code: int = EXIT_UNITS_FAILED):
        super().__init__(message)
        self.exit_code = exit_code

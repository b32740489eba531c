"""Backends: where a unit's spreadsheet lives (local .xlsx or Google Sheets)."""
from __future__ import annotations

from collections.abc import Callable

from ..core.config import Config, UnitConfig
from ..core.errors import ConfigError, UnitReadError
from ..core.findings import UNREACHABLE
from ..core.raw import Backend, RawWorkbook
from .local_reader import LocalBackend


class UnavailableBackend:
    """Stands for the Google backend when it cannot be built (no or a broken key file, a wrong
    ``[google]`` setting): each Google unit fails with the reason, the local units are still
    checked (exit 1, not 2)."""

    def __init__(self, problem: str):
        self.problem = problem

    def _fail(self) -> UnitReadError:
        return UnitReadError(self.problem, UNREACHABLE)

    def read(self, unit: UnitConfig) -> RawWorkbook:
        raise self._fail()

    def version(self, unit: UnitConfig) -> str | None:
        raise self._fail()

    def writer(self):
        raise self._fail()


def backend_for(config: Config) -> Callable[[UnitConfig], Backend]:
    """A function choosing the backend of each unit (Google clients are built once, lazily)."""
    local = LocalBackend()
    google: Backend | None = None

    def pick(unit: UnitConfig) -> Backend:
        nonlocal google
        if not unit.is_google:
            return local
        if google is None:
            from .google_sheets import GoogleBackend

            try:
                google = GoogleBackend.from_config(config)
            except ConfigError as e:
                google = UnavailableBackend(str(e))
        return google

    return pick

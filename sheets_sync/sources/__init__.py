"""Backends: where a unit's spreadsheet lives (local .xlsx or Google Sheets)."""
from __future__ import annotations

from collections.abc import Callable

from ..core.config import Config, UnitConfig
from ..core.raw import Backend
from .local_reader import LocalBackend


def backend_for(config: Config) -> Callable[[UnitConfig], Backend]:
    """A function choosing the backend of each unit (Google clients are built once, lazily)."""
    local = LocalBackend()
    google = None

    def pick(unit: UnitConfig) -> Backend:
        nonlocal google
        if not unit.is_google:
            return local
        if google is None:
            from .google_sheets import GoogleBackend

            google = GoogleBackend.from_config(config)
        return google

    return pick

"""Backends: where a unit's spreadsheet lives (local .xlsx or Google Sheets)."""
from __future__ import annotations

from typing import Callable

from ..config import Config, UnitConfig
from .base import Backend
from .local import LocalBackend


def backend_for(config: Config) -> Callable[[UnitConfig], Backend]:
    """A function choosing the backend of each unit (Google clients are built once, lazily)."""
    local = LocalBackend()
    google = None

    def pick(unit: UnitConfig) -> Backend:
        nonlocal google
        if not unit.is_google:
            return local
        if google is None:
            from .gsheets import GoogleBackend

            google = GoogleBackend.from_config(config)
        return google

    return pick

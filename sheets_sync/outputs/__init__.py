"""What the tool produces for people: the roll-up workbook, the December report, and for
analysts the checked data as pandas DataFrames (``frames``, imported on first use so that the
commands do not load pandas)."""
from __future__ import annotations

from typing import Any

__all__ = ["Frames", "frames"]


def __getattr__(name: str) -> Any:
    if name in ("frames", "Frames"):
        from importlib import import_module

        return getattr(import_module(f"{__name__}.dataframes"), name)
    raise AttributeError(name)

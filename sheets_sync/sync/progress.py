"""A progress bar on an interactive terminal, nothing otherwise."""
from __future__ import annotations

import sys
from typing import IO, TYPE_CHECKING, TextIO

import click

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar

from .runlog import RunLog

# --- progress ------------------------------------------------------------------------------------

class Progress:
    """A progress bar on an interactive stderr, silent otherwise.

    Usable as the pipeline's ``progress`` callback: each call advances the bar by one step and
    shows the line; the line also goes to the run log (``log``) when given.
    ``with Progress(total=2 * len(units), label="Đang chạy", log=log) as progress: …``"""

    def __init__(self, total: int, label: str = "", log: RunLog | None = None,
                 enabled: bool | None = None, file: TextIO | None = None):
        self.total = max(int(total), 0)
        self.label = label
        self.log = log
        self.file = file or sys.stderr
        if enabled is None:
            enabled = _isatty(self.file) and not (log is not None and log.verbose)
        self.enabled = enabled
        self._bar: ProgressBar[str | None] | None = None

    def __enter__(self) -> Progress:
        if self.enabled and self.total:
            self._bar = click.progressbar(length=self.total, label=self.label, file=self.file,
                                          item_show_func=lambda item: item, show_eta=True)
            self._bar.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
            self._bar = None

    def __call__(self, line: str) -> None:
        if self.log is not None:
            self.log.info(line)
        self.advance(1, line)

    def advance(self, steps: int = 1, item: str | None = None) -> None:
        if self._bar is not None:
            self._bar.update(steps, _short(item) if item else None)


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False

"""A progress bar on an interactive terminal, nothing otherwise."""
from __future__ import annotations

import shutil
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
        self._item_limit = _ITEM_LIMIT

    def __enter__(self) -> Progress:
        if self.enabled and self.total:
            # One line of the terminal: a line longer than it wraps, and each redraw (a carriage
            # return) then starts a new line instead of replacing the last one.
            columns = shutil.get_terminal_size((80, 24)).columns
            width = max(10, min(_BAR_WIDTH, columns // 4))
            self._item_limit = max(10, min(_ITEM_LIMIT,
                                           columns - 1 - len(self.label) - width - _CLUTTER))
            self._bar = click.progressbar(length=self.total, label=self.label, file=self.file,
                                          item_show_func=lambda item: item, show_eta=True,
                                          width=width)
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
            self._bar.update(steps, _short(item, self._item_limit) if item else None)


_BAR_WIDTH = 36  # click's own
_ITEM_LIMIT = 40  # characters of the line shown after the bar
# What click writes around the label, the bar and the line: "  [", "]  ", "100%  00:00:00  "
_CLUTTER = 3 + 3 + len("100%  00:00:00") + 2


def _short(text: str, limit: int = _ITEM_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False

"""A job's operational frame: the run log (redacted), the lock, and the summary file."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

from ..core.config import Config
from .lock import run_lock
from .runlog import Progress, RunLog, secrets_from_credentials


@contextmanager
def job(config: Config, command: str, verbose: bool = False, json_log: bool = False,
        lock: bool = True, steps: int = 0,
        record: bool = True) -> Iterator[tuple[RunLog | None, Progress]]:
    """``with job(config, "run") as (log, progress):`` — one UTF-8 log file per run in
    ``state/logs``, credentials masked; the state folder locked (``TryLater``, exit 75, when
    another run holds it); a progress bar on an interactive terminal. ``record=False`` (a run
    that must leave no trace, e.g. ``check --no-history``): no log, no lock, log is None."""
    if not record:
        with Progress(steps, "Đang chạy") as progress:
            yield None, progress
        return
    secrets = secrets_from_credentials(config.google.credentials)
    with RunLog(config.state_dir, command, verbose=verbose, json_lines=json_log,
                secrets=secrets) as log:
        with run_lock(config.state_dir, command) if lock else nullcontext():
            with Progress(steps, "Đang chạy", log=log) as progress:
                yield log, progress

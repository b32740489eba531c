"""A job's operational frame: the run log (redacted), the lock, and the summary file.

It is also the fault boundary of every job that keeps a log: whatever goes wrong inside, the
(redacted) traceback goes to the log only, a run summary with the exit code and the reason is
written (so `status` shows the run), and one ``SheetsSyncError`` with a Vietnamese message
naming the log file reaches the CLI."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

from ..core.config import Config
from ..core.errors import Fault, SheetsSyncError
from ..core.faults import describe, usable_folder
from .lock import run_lock
from .progress import Progress
from .redact import secrets_from_credentials
from .runlog import RunLog


def _failed(log: RunLog, exit_code: int, message: str) -> None:
    """The summary of a run that stopped (unless the command wrote its own already)."""
    if log.summary_path is not None:
        return
    try:
        log.write_summary({"exit_code": exit_code, "error": message})
    except OSError as e:  # e.g. the disk is full: the log line below is all that is left
        log.error(f"Không ghi được tóm tắt lần chạy: {describe(e)[0]}")


@contextmanager
def job(config: Config, command: str, verbose: bool = False, json_log: bool = False,
        lock: bool = True, steps: int = 0,
        record: bool = True) -> Iterator[tuple[RunLog | None, Progress]]:
    """``with job(config, "run") as (log, progress):`` — one UTF-8 log file per run in
    ``state/logs``, credentials masked; the state folder locked (``TryLater``, exit 75, when
    another run holds it); a progress bar on an interactive terminal. ``record=False`` (a run
    that must leave no trace, e.g. ``check --no-history``): no log, no lock, log is None.

    The state folder is probed first (``StateFolderError``: not a folder, read-only, full).
    An operational failure (``SheetsSyncError``) or any unexpected exception inside the block
    is logged (traceback redacted, in the log only), a summary with its exit code and reason
    is written, and a ``SheetsSyncError`` is raised (``Fault`` for the unexpected ones, its
    message naming the log file)."""
    if not record:
        with Progress(steps, "Đang chạy") as progress:
            yield None, progress
        return
    usable_folder(config.state_dir)
    secrets = secrets_from_credentials(config.google.credentials)
    with RunLog(config.state_dir, command, verbose=verbose, json_lines=json_log,
                secrets=secrets) as log:
        try:
            with (run_lock(config.state_dir, command) if lock else nullcontext(),
                  Progress(steps, "Đang chạy", log=log) as progress):
                yield log, progress
        except SheetsSyncError as e:
            _failed(log, e.exit_code, str(e))
            raise
        except Exception as e:
            message, code = describe(e)
            log.exception(f"Lỗi: {message}")
            message = f"{message} Chi tiết trong nhật ký {log.path}."
            _failed(log, code, message)
            raise Fault(message, code) from None

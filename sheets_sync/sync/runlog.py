"""Run log and run summaries (redaction: ``redact``; `status`: ``ops.status``; progress bar:
``progress``).

* ``RunLog(state_dir, command, …)``: one UTF-8 log file per run, ``<state>/logs/<YYYYmmdd-HHMMSS>-
  <command>.log`` (a counter is appended when two runs start in the same second; never a shared
  or rotating file). Lines are text, or JSON objects with ``--json-log``. ``verbose`` also
  prints them to stderr. While the context is open, everything logged under the
  ``sheets_sync`` logger (``logging.getLogger(__name__)`` in any module) lands in the same file.
  Every line goes through the redactor first.
* ``RunLog.write_summary(summary)``: the run summary as JSON, ``<state>/runs/<same stem>.json``,
  written to a temporary file and renamed (a reader never sees half a summary).
* ``last_runs(state_dir, n)`` / ``render_status(runs)``: `sheets-sync status`.
* ``Progress``: a progress bar on an interactive terminal, nothing otherwise.
* ``Redactor`` / ``redact``: given secrets (access tokens, a service-account private key — any
  32-character slice of its body —, private_key_id) plus generic patterns (Bearer tokens, PEM
  private-key blocks, ``"private_key": …``-style fields, Google access tokens, JWTs).

Summary fields understood by ``render_status`` (all optional): ``command``, ``started``,
``finished`` (ISO), ``exit_code``, ``as_of``, ``units`` ([{code, name, status, message}], statuses
as in template.md), ``writes`` ([{unit, status, message}], status "skipped"/"error" = problem),
``counts`` ({error, warning, info}), ``by_rule``, ``requests`` ({name: count}), ``retries``,
``waited_s``, ``rollup``, ``error`` (the message of a run that stopped: lock held, config).
"""
from __future__ import annotations

import json
import logging
import os
import re
import sys
import tempfile
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass

from ..core.atomic import write_text_atomic
from ..core.errors import SheetsSyncError
from .redact import RedactingFilter, Redactor

LOGS_DIR = "logs"
RUNS_DIR = "runs"
PACKAGE_LOGGER = "sheets_sync"
STEM = re.compile(r"^(\d{8}-\d{6})-(.+?)(?:-(\d+))?$")  # a log/summary file stem


# --- formatting ----------------------------------------------------------------------------------

def _field_text(v: Any) -> str:
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False) if (not v or re.search(r'[\s="]', v)) else v
    return json.dumps(v, ensure_ascii=False, default=str)


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        at = datetime.fromtimestamp(record.created).strftime("%Y-%m-%d %H:%M:%S")
        line = f"{at} {record.levelname:<7} {record.getMessage()}"
        fields = getattr(record, "fields", None)
        if fields:
            line += " " + " ".join(f"{k}={_field_text(v)}" for k, v in fields.items())
        if record.name != f"{PACKAGE_LOGGER}.run":
            line += f" [{record.name}]"
        if record.exc_text:
            line += "\n" + record.exc_text
        return line


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created).astimezone().isoformat(
                timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for k, v in (getattr(record, "fields", None) or {}).items():
            doc.setdefault(k, v)
        if record.exc_text:
            doc["exc"] = record.exc_text
        return json.dumps(doc, ensure_ascii=False, default=str)


# --- the run log ---------------------------------------------------------------------------------

class _QuietHandler(logging.StreamHandler):
    """A handler that never prints logging's own "--- Logging error ---" traceback (a full
    disk, a console that cannot encode a character): the run goes on, the line is lost."""

    def handleError(self, record: logging.LogRecord) -> None:
        pass


def _safe_command(command: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", command.lower()).strip("-") or "run"


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
    os.close(fd)  # mkstemp: the file is private to this user (0600), as the rename keeps it
    write_text_atomic(path, text, tmp=Path(tmp))


class RunLog:
    """``with RunLog(state_dir, "run", verbose=…, json_lines=…, secrets=…) as log: …``"""

    def __init__(self, state_dir: str | os.PathLike, command: str, verbose: bool = False,
                 json_lines: bool = False, secrets: Iterable[str] = (),
                 stream: IO[str] | None = None):
        self.state_dir = Path(state_dir)
        self.command = command
        self.verbose = verbose
        self.json_lines = json_lines
        self.redactor = Redactor(secrets)
        self.stream = stream
        self.started: datetime | None = None
        self.path: Path | None = None
        self.stem: str | None = None
        self.summary_path: Path | None = None
        self._handlers: list[logging.Handler] = []
        self._logger: logging.Logger | None = None
        self._saved: tuple[int, bool] | None = None

    # context -------------------------------------------------------------------------------
    def __enter__(self) -> RunLog:
        self.started = datetime.now()
        logs = self.state_dir / LOGS_DIR
        logs.mkdir(parents=True, exist_ok=True)
        base = f"{self.started:%Y%m%d-%H%M%S}-{_safe_command(self.command)}"
        n = 1
        while True:  # O_EXCL: unique even when two processes start in the same second
            stem = base if n == 1 else f"{base}-{n}"
            n += 1
            if (self.state_dir / RUNS_DIR / f"{stem}.json").exists():
                continue
            try:
                fd = os.open(logs / f"{stem}.log", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
                break
            except FileExistsError:
                continue
        self.stem, self.path = stem, logs / f"{stem}.log"
        file = open(fd, "w", encoding="utf-8", newline="\n", buffering=1)
        fmt = _JsonFormatter() if self.json_lines else _TextFormatter()
        redacting = RedactingFilter(self.redactor)
        handler = _QuietHandler(file)
        handler.setFormatter(fmt)
        handler.addFilter(redacting)
        self._handlers = [handler]
        if self.verbose:
            echo = _QuietHandler(self.stream or sys.stderr)
            echo.setFormatter(fmt)
            echo.addFilter(redacting)
            self._handlers.append(echo)
        package = logging.getLogger(PACKAGE_LOGGER)
        self._saved = (package.level, package.propagate)
        package.setLevel(logging.INFO)
        package.propagate = False  # nothing unredacted reaches handlers set up elsewhere
        for h in self._handlers:
            package.addHandler(h)
        self._logger = logging.getLogger(f"{PACKAGE_LOGGER}.run")
        self.info(f"Bắt đầu: sheets-sync {self.command}", pid=os.getpid())
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is not None:
                if issubclass(exc_type, KeyboardInterrupt):
                    self.error("Bị ngắt (Ctrl+C).")
                elif issubclass(exc_type, SystemExit):
                    self.info("Kết thúc.", exit_code=exc.code if exc is not None else None)
                elif isinstance(exc, SheetsSyncError):  # an operational failure: no traceback
                    self.error(f"Lỗi: {exc}", exit_code=exc.exit_code)
                else:
                    self._log(logging.ERROR, f"Lỗi: {exc}", {}, (exc_type, exc, tb))
            else:
                self.info("Kết thúc.")
        finally:
            package = logging.getLogger(PACKAGE_LOGGER)
            for h in self._handlers:
                package.removeHandler(h)
                h.close()
                if isinstance(h, logging.StreamHandler) and h.stream not in (
                        sys.stderr, sys.stdout, self.stream):
                    h.stream.close()
            if self._saved is not None:
                package.setLevel(self._saved[0])
                package.propagate = self._saved[1]
            self._handlers = []
            self._logger = None  # after the block nothing may go unredacted elsewhere

    # logging -------------------------------------------------------------------------------
    def add_secret(self, secret: str | None) -> None:
        """Mask this value from now on (an access token obtained during the run)."""
        self.redactor.add(secret)

    def _log(self, level: int, msg: str, fields: dict, exc_info=None) -> None:
        if self._logger is None:
            raise RuntimeError("RunLog used outside its with-block")
        self._logger.log(level, msg, extra={"fields": fields}, exc_info=exc_info)

    def debug(self, msg: str, **fields: Any) -> None:
        self._log(logging.DEBUG, msg, fields)

    def info(self, msg: str, **fields: Any) -> None:
        self._log(logging.INFO, msg, fields)

    def warning(self, msg: str, **fields: Any) -> None:
        self._log(logging.WARNING, msg, fields)

    def error(self, msg: str, **fields: Any) -> None:
        self._log(logging.ERROR, msg, fields)

    def exception(self, msg: str, **fields: Any) -> None:
        """An error with the current exception's traceback (redacted)."""
        self._log(logging.ERROR, msg, fields, sys.exc_info())

    def redact(self, text: str) -> str:
        return self.redactor(text)

    # summary -------------------------------------------------------------------------------
    def write_summary(self, summary: dict) -> Path:
        """``runs/<stem>.json`` (atomic). Adds command, started, finished and log when absent."""
        if self.stem is None or self.started is None:
            raise RuntimeError("RunLog.write_summary needs the with-block")
        doc = dict(summary)
        doc.setdefault("command", self.command)
        doc.setdefault("started", self.started.isoformat(timespec="seconds"))
        doc.setdefault("finished", datetime.now().isoformat(timespec="seconds"))
        doc["log"] = f"{LOGS_DIR}/{self.stem}.log"
        path = self.state_dir / RUNS_DIR / f"{self.stem}.json"
        _atomic_write(path, json.dumps(self.redactor.obj(doc), ensure_ascii=False, indent=2,
                                       default=str) + "\n")
        self.summary_path = path
        self.info("Đã ghi tóm tắt lần chạy.", summary=str(path))
        return path


def record_failure(state_dir: str | os.PathLike | None, command: str, message: str,
                   exit_code: int, error: BaseException,
                   secrets: Iterable[str] = ()) -> Path | None:
    """A run that failed outside a job's log (the CLI's fault boundary): its redacted traceback
    in a new log file of ``state/logs`` — or of the temporary folder when the state folder is
    unknown or unusable — and, in the state folder, a summary with the exit code and the
    reason. Returns the log file (None when nothing could be written)."""
    exc_info = (type(error), error, error.__traceback__)
    for folder in ([Path(state_dir)] if state_dir else []) + [
            Path(tempfile.gettempdir()) / "sheets-sync"]:
        try:
            with RunLog(folder, command, secrets=secrets) as log:
                log._log(logging.ERROR, f"Lỗi: {message}", {"exit_code": exit_code}, exc_info)
                if state_dir and folder == Path(state_dir):
                    log.write_summary({"exit_code": exit_code, "error": message})
            return log.path
        except OSError:
            continue
    return None


# --- housekeeping ---------------------------------------------------------------------------------

def stem_counter(stem: str) -> int:
    m = STEM.match(stem)
    return int(m[3]) if m and m[3] else 1



def prune_runs(state_dir: str | os.PathLike, retention_days: int, keep: int = 20,
               now: datetime | None = None) -> int:
    """Delete log and summary files older than ``retention_days`` (by the time in their name),
    always keeping the newest ``keep`` runs. Returns the number of files deleted."""
    state_dir = Path(state_dir)
    cutoff = (now or datetime.now()).timestamp() - retention_days * 86400
    files: dict[str, list[Path]] = {}
    for sub, ext in ((LOGS_DIR, "log"), (RUNS_DIR, "json")):
        for p in (state_dir / sub).glob(f"*.{ext}"):
            if STEM.match(p.stem):
                files.setdefault(p.stem, []).append(p)
    stems = sorted(files, key=lambda s: (s[:15], stem_counter(s)), reverse=True)
    deleted = 0
    for stem in stems[keep:]:
        at = datetime.strptime(stem[:15], "%Y%m%d-%H%M%S").timestamp()
        if at < cutoff:
            for p in files[stem]:
                p.unlink(missing_ok=True)
                deleted += 1
    return deleted



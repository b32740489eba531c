"""Run log, run summaries, `status`, progress bars — and redaction of credentials.

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
import traceback
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TextIO

import click

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar

from ..core.atomic import write_text_atomic
from ..core.errors import SheetsSyncError

LOGS_DIR = "logs"
RUNS_DIR = "runs"
MASK = "[đã ẩn]"
KEY_MASK = "[khóa riêng đã ẩn]"
SLICE = 32  # a private key is recognised from any 32-character slice of its body
PACKAGE_LOGGER = "sheets_sync"

# --- redaction -----------------------------------------------------------------------------------

_PEM_BLOCK = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)", re.S)
_PATTERNS: tuple[tuple[re.Pattern, str], ...] = (
    (re.compile(r"\b(Bearer)\s+[A-Za-z0-9\-._~+/]+=*", re.I), r"\1 " + MASK),
    (re.compile(r"(\"?\b(?:private_key_id|private_key|access_token|refresh_token|id_token|"
                r"client_secret|assertion|password|api_key)\b\"?\s*[:=]\s*\"?)(?!\[)"
                r"([^\"\s,&}]+)", re.I), r"\1" + MASK),
    (re.compile(r"\bya29\.[0-9A-Za-z\-_.]+"), MASK),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), MASK),
)
_B64 = re.compile(r"[A-Za-z0-9+/=]+")


def _key_body_parts(secret: str) -> list[str]:
    """Base64 runs of a PEM private key (its lines, and the lines joined)."""
    body = re.sub(r"-----(BEGIN|END) [A-Z0-9 ]*PRIVATE KEY-----", " ", secret)
    body = body.replace("\\n", " ")
    parts = [p for p in _B64.findall(body) if len(p) >= SLICE]
    joined = "".join(_B64.findall(body))
    if len(joined) >= SLICE:
        parts.append(joined)
    return parts


class Redactor:
    """Replaces secrets in text. ``add`` more at any time (an access token once obtained)."""

    def __init__(self, secrets: Iterable[str] = ()):
        self._literals: set[str] = set()
        self._slices: set[str] = set()
        self._literal_re: re.Pattern | None = None
        for s in secrets:
            self.add(s)

    def add(self, secret: str | None) -> None:
        if not secret or not isinstance(secret, str):
            return
        secret = secret.strip()
        if "PRIVATE KEY" in secret:
            for part in _key_body_parts(secret):
                for i in range(len(part) - SLICE + 1):
                    self._slices.add(part[i:i + SLICE])
            return
        if len(secret) < 8:  # too short to be a credential; masking it would garble text
            return
        self._literals.add(secret)
        self._literal_re = re.compile("|".join(
            re.escape(s) for s in sorted(self._literals, key=len, reverse=True)))

    def __call__(self, text: str) -> str:
        if not text:
            return text
        text = _PEM_BLOCK.sub(KEY_MASK, text)
        if self._literal_re is not None:
            text = self._literal_re.sub(MASK, text)
        if self._slices:
            text = self._mask_slices(text)
        for pattern, repl in _PATTERNS:
            text = pattern.sub(repl, text)
        return text

    def _mask_slices(self, text: str) -> str:
        spans: list[list[int]] = []
        slices = self._slices
        for i in range(len(text) - SLICE + 1):
            if text[i:i + SLICE] in slices:
                if spans and i <= spans[-1][1]:
                    spans[-1][1] = i + SLICE
                else:
                    spans.append([i, i + SLICE])
        if not spans:
            return text
        out, pos = [], 0
        for start, end in spans:
            out.append(text[pos:start])
            out.append(MASK)
            pos = end
        out.append(text[pos:])
        return "".join(out)

    def obj(self, value: Any) -> Any:
        """Redact every string inside a JSON-like value."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {k: self.obj(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.obj(v) for v in value]
        return value


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Generic patterns plus the given secrets (for one-off messages, e.g. the CLI's errors)."""
    return Redactor(secrets)(text)


def secrets_from_credentials(path: str | os.PathLike | None) -> list[str]:
    """The secret fields of a Google service-account (or OAuth client) JSON file; [] when it
    cannot be read (that error is reported elsewhere)."""
    if not path:
        return []
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(doc, dict):
        return []
    out = []
    for section in (doc, doc.get("installed") or {}, doc.get("web") or {}):
        if isinstance(section, dict):
            for field in ("private_key", "private_key_id", "client_secret", "refresh_token"):
                v = section.get(field)
                if isinstance(v, str) and v:
                    out.append(v)
    return out


class RedactingFilter(logging.Filter):
    """Rewrites a record's message, fields and traceback through a ``Redactor``."""

    def __init__(self, redactor: Redactor):
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        r = self.redactor
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not stop the run
            message = str(record.msg)
        record.msg, record.args = r(message), None
        fields = getattr(record, "fields", None)
        if fields:
            record.fields = r.obj(fields)
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        if record.exc_text:
            record.exc_text = r(record.exc_text)
        if record.stack_info:
            record.stack_info = r(record.stack_info)
        return True


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


# --- status --------------------------------------------------------------------------------------

def _parse_time(s: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(s).replace(tzinfo=None)
    except (TypeError, ValueError):
        return None


_STEM = re.compile(r"^(\d{8}-\d{6})-(.+?)(?:-(\d+))?$")


def last_runs(state_dir: str | os.PathLike, n: int = 10,
              commands: Iterable[str] | None = None) -> list[dict]:
    """The newest ``n`` runs, newest first: their summaries, plus ``{"incomplete": True, …}``
    entries for logs without a summary (still running, or interrupted)."""
    state_dir = Path(state_dir)
    wanted = set(commands) if commands else None
    entries: list[tuple[tuple, dict]] = []
    summarized: set[str] = set()
    for path in (state_dir / RUNS_DIR).glob("*.json"):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(doc, dict):
            continue
        summarized.add(path.stem)
        doc.setdefault("stem", path.stem)
        entries.append(((doc.get("started") or "", path.stem), doc))
    for path in (state_dir / LOGS_DIR).glob("*.log"):
        if path.stem in summarized:
            continue
        m = _STEM.match(path.stem)
        if not m:
            continue
        try:
            started = datetime.strptime(m[1], "%Y%m%d-%H%M%S").isoformat()
        except ValueError:
            continue
        doc = {"stem": path.stem, "command": m[2], "started": started, "incomplete": True,
               "log": f"{LOGS_DIR}/{path.name}"}
        reason = _last_error(path)
        if reason:
            doc["error"] = reason
        entries.append(((started, path.stem), doc))
    entries.sort(key=lambda e: (e[0][0], _stem_counter(e[0][1])), reverse=True)
    out = [doc for _, doc in entries if wanted is None or doc.get("command") in wanted]
    return out[:n]


def _last_error(log: Path, tail: int = 8192) -> str | None:
    """The last "Lỗi: …" line of a log without a summary (a run killed after an error)."""
    try:
        with open(log, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - tail))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return None
    found = None
    for line in text.splitlines():
        at = line.find("Lỗi: ")
        if at >= 0 and ("ERROR" in line[:at] or '"level": "error"' in line):
            found = line[at + 5:].strip().strip('"')
    return found


def last_exit_code(runs: list[dict]) -> int:
    """`status`'s own exit code: that of the newest run that ended (0 when none did)."""
    for run in runs:
        code = run.get("exit_code")
        if not run.get("incomplete") and isinstance(code, int) and code in _EXIT_VI:
            return code
    return 0


def _stem_counter(stem: str) -> int:
    m = _STEM.match(stem)
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
            if _STEM.match(p.stem):
                files.setdefault(p.stem, []).append(p)
    stems = sorted(files, key=lambda s: (s[:15], _stem_counter(s)), reverse=True)
    deleted = 0
    for stem in stems[keep:]:
        at = datetime.strptime(stem[:15], "%Y%m%d-%H%M%S").timestamp()
        if at < cutoff:
            for p in files[stem]:
                p.unlink(missing_ok=True)
                deleted += 1
    return deleted


_READ_OK = {"ok", "unchanged"}
_STATUS_VI = {"ok": "Đã đọc", "unchanged": "Không đổi", "stale": "Dùng số liệu cũ",
              "unreachable": "Không đọc được", "invalid": "Không hợp lệ"}
_EXIT_VI = {0: "xong", 1: "có đơn vị lỗi", 2: "lỗi cấu hình/lệnh", 75: "thử lại sau"}
_REQUESTS_VI = {"sheets_read": "đọc Sheets", "sheets_write": "ghi Sheets", "drive": "Drive",
                "token": "cấp token", "reads": "đọc Sheets", "writes": "ghi Sheets"}


def _when(run: dict) -> str:
    at = _parse_time(run.get("started"))
    return f"{at:%d/%m/%Y %H:%M}" if at else "?"


def _duration(run: dict) -> str:
    a, b = _parse_time(run.get("started")), _parse_time(run.get("finished"))
    if not a or not b:
        return ""
    s = int((b - a).total_seconds())
    if s < 60:
        return f"{s} giây"
    if s < 3600:
        return f"{s // 60} phút {s % 60} giây"
    return f"{s // 3600} giờ {s % 3600 // 60} phút"


def _units_ok(run: dict) -> tuple[int, int]:
    units = run.get("units") or []
    return sum(1 for u in units if u.get("status") in _READ_OK), len(units)


def _problems(run: dict) -> list[str]:
    out = [f"Lỗi: {run['error']}"] if run.get("error") else []
    if run.get("history"):
        out.append(f"Kho lịch sử: {run['history']}")
    for u in run.get("units") or []:
        if u.get("status") not in _READ_OK:
            name = u.get("name") or u.get("code") or "?"
            status = _STATUS_VI.get(u.get("status"), u.get("status") or "")
            msg = u.get("message") or ""
            out.append(f"{name} ({u.get('code')}): {status}" + (f" — {msg}" if msg else ""))
    names = {u.get("code"): u.get("name") for u in run.get("units") or []}
    for w in run.get("writes") or []:
        if w.get("status") in ("skipped", "error"):
            code = w.get("unit")
            out.append(f"{names.get(code) or code} ({code}): chưa ghi được kết quả — "
                       f"{w.get('message') or ''}".rstrip(" —"))
    return out


def _result(run: dict) -> str:
    if run.get("incomplete"):
        return "chưa xong (đang chạy hoặc bị ngắt)"
    code = run.get("exit_code")
    if code is not None:
        return f"{_EXIT_VI.get(code, 'mã thoát')} ({code})"
    ok, total = _units_ok(run)
    return "xong" if ok == total and not _problems(run) else "có đơn vị lỗi"


def _reason(run: dict, limit: int = 70) -> str:
    """Why a run did not end well, in a few words (the stop reason, else the first problem)."""
    if run.get("error"):
        text = str(run["error"])
    elif run.get("history"):
        text = str(run["history"])
    else:
        problems = _problems(run)
        text = problems[0] if problems else ""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_status(runs: list[dict]) -> str:
    """Vietnamese `status`: a table of the runs (newest first), then the newest finished run's
    failing units with their messages."""
    if not runs:
        return ("Chưa có lần chạy nào được ghi lại (thư mục state/runs trống). "
                "Chạy 'sheets-sync run' để bắt đầu.\n")
    header = ["Thời gian", "Lệnh", "Đơn vị đọc được", "Vi phạm", "Cảnh báo", "Thời lượng",
              "Kết quả (mã thoát)", "Lý do"]
    rows = []
    for r in runs:
        ok, total = _units_ok(r)
        counts = r.get("counts") or {}
        rows.append([_when(r), str(r.get("command") or ""),
                     f"{ok}/{total}" if total else "", str(counts.get("error", "")),
                     str(counts.get("warning", "")), _duration(r), _result(r), _reason(r)])
    widths = [max(len(x[i]) for x in [header, *rows]) for i in range(len(header))]
    lines = ["Các lần chạy gần nhất",
             "  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    latest = next((r for r in runs if not r.get("incomplete")), None)
    if latest is not None:
        ok, total = _units_ok(latest)
        problems = _problems(latest)
        head = f"Lần chạy {_when(latest)} ({latest.get('command')})"
        if total:
            head += f": {ok}/{total} đơn vị đọc được"
        if latest.get("as_of"):
            head += f", kiểm tra tính đến {_d_iso(latest['as_of'])}"
        lines += ["", head + ("." if not problems else ";")]
        lines += [f"  {p}" for p in problems]
        extra = _requests_line(latest)
        if extra:
            lines.append(extra)
        if latest.get("rollup"):
            lines.append(f"Bảng tổng hợp: {latest['rollup']}")
        if latest.get("log"):
            lines.append(f"Nhật ký: {latest['log']}")
    return "\n".join(lines) + "\n"


def _d_iso(s: str) -> str:
    at = _parse_time(s)
    return f"{at:%d/%m/%Y}" if at else s


def _requests_line(run: dict) -> str:
    parts = []
    req = run.get("requests")
    if isinstance(req, dict) and req:
        parts.append("Yêu cầu Google: " + ", ".join(
            f"{_REQUESTS_VI.get(k, k)} {v}" for k, v in req.items()))
    if run.get("retries"):
        parts.append(f"thử lại {run['retries']} lần")
    if run.get("waited_s"):
        parts.append(f"chờ {float(run['waited_s']):.1f} giây".replace(".", ","))
    return ("; ".join(parts) + ".") if parts else ""


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

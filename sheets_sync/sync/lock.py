"""One run at a time: an OS file lock in the state folder.

``run_lock(state_dir)`` takes an exclusive lock on ``<state>/sheets-sync.lock`` without waiting
(``filelock``: ``fcntl.flock`` on Linux/macOS, ``msvcrt.locking`` on Windows). A second run
gets ``TryLater`` (exit code 75) with a message naming the lock and, when known, who holds it.

The operating system releases the lock when the holding process ends, however it ends (crash,
kill, power loss of a Task Scheduler job), so a lock is never left stale and never needs
deleting by hand. The lock file itself stays (deleting it while held would split waiters).
Use a local disk for the state folder: network file systems (SMB shares, NFS) may not honour
these locks.

Who holds the lock is written to ``sheets-sync.lock.json`` next to it (pid, command, start time);
it is only a hint for the message, the lock file is the truth.
"""
from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from filelock import FileLock, Timeout

from ..core.atomic import write_text_atomic
from ..core.errors import TryLater

LOCK_NAME = "sheets-sync.lock"
INFO_NAME = "sheets-sync.lock.json"


def lock_path(state_dir: Path) -> Path:
    return Path(state_dir) / LOCK_NAME


def _holder(state_dir: Path) -> str:
    try:
        info = json.loads((Path(state_dir) / INFO_NAME).read_text(encoding="utf-8"))
        started = datetime.fromisoformat(info["started"])
        text = f"tiến trình {info['pid']}"
        if info.get("command"):
            text += f" (lệnh {info['command']})"
        if info.get("host") and info["host"] != socket.gethostname():
            text += f" trên máy {info['host']}"
        return f"{text}, từ {started:%H:%M %d/%m/%Y}"
    except (OSError, ValueError, KeyError, TypeError):
        return ""


@contextmanager
def run_lock(state_dir: Path, command: str = "") -> Iterator[Path]:
    """Hold the run lock for the body; raise ``TryLater`` at once when another run holds it."""
    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    path = lock_path(state_dir)
    lock = FileLock(str(path), timeout=0)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        holder = _holder(state_dir)
        where = f"khóa {path}" + (f", do {holder} giữ" if holder else "")
        raise TryLater(f"Đang có một lần chạy khác ({where}); thử lại sau.") from None
    info = state_dir / INFO_NAME
    try:
        try:
            write_text_atomic(info, json.dumps({
                "pid": os.getpid(), "command": command, "host": socket.gethostname(),
                "started": datetime.now().isoformat(timespec="seconds")}),
                newline="", tmp=info.with_name(f"{INFO_NAME}.{os.getpid()}.tmp"))
        except OSError:
            pass  # the hint is optional
        yield path
    finally:
        try:
            info.unlink(missing_ok=True)
        except OSError:
            pass
        lock.release()

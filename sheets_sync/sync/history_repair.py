"""`sheets-sync history repair`: recover a damaged history store, never throwing it away.

1. ``PRAGMA integrity_check`` on the store (read-only): a healthy store is left alone.
2. Recovery into a new file next to it, with SQLite's own tools: the ``.recover`` command of the
   ``sqlite3`` program when it is installed (it reads every page it can, the damaged ones
   skipped), else Python's ``iterdump`` (every row it can read until the damage).
3. When the recovered file opens as a store, the damaged file (with its ``-wal``/``-shm``) is
   renamed ``history-damaged-<time>.sqlite`` — kept, never deleted — and the recovered file takes
   its place.
4. When nothing could be recovered, a fresh, empty store is started only when the operator
   agrees (``--yes`` or the prompt); the damaged file is kept aside the same way.

The run lock is held throughout, so no run uses the store meanwhile.
"""
from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from ..core.atomic import replace_durably
from ..core.grid import parse_unit
from ..core.template import load_template
from .lock import run_lock
from .store import DB_NAME, SCHEMA_VERSION, Store, load_raw

log = logging.getLogger(__name__)
HEALTHY, RECOVERED, FRESH, DECLINED = "healthy", "recovered", "fresh", "declined"
RECOVER_TIMEOUT_S = 1800


@dataclass(frozen=True)
class RepairResult:
    status: str  # healthy / recovered / fresh / declined
    message: str  # Vietnamese
    kept: Path | None = None  # where the damaged store was kept
    pulls: int = 0  # pulls in the store now
    method: str = ""  # ".recover" / "iterdump" / ""

    @property
    def ok(self) -> bool:
        return self.status != DECLINED


def integrity_problem(path: Path) -> str | None:
    """None when the database passes SQLite's integrity check, else SQLite's first complaint."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=60)
    except sqlite3.Error as e:
        return str(e)
    try:
        rows = [r[0] for r in conn.execute("PRAGMA integrity_check(20)")]
    except sqlite3.DatabaseError as e:
        return str(e)
    finally:
        conn.close()
    return None if rows == ["ok"] else "; ".join(str(r) for r in rows[:3])


def _recover_cli(damaged: Path, target: Path) -> bool:
    exe = shutil.which("sqlite3")
    if exe is None:
        return False
    try:
        dump = subprocess.run([exe, str(damaged), ".recover"], capture_output=True,
                              timeout=RECOVER_TIMEOUT_S, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    if not dump.stdout:
        return False
    conn = sqlite3.connect(target)
    try:
        conn.executescript(dump.stdout.decode("utf-8", "replace"))
        conn.commit()
    except sqlite3.Error:
        return False
    finally:
        conn.close()
    return True


def _recover_dump(damaged: Path, target: Path) -> bool:
    src = sqlite3.connect(f"{damaged.resolve().as_uri()}?mode=ro", uri=True, timeout=60)
    dst = sqlite3.connect(target)
    copied = 0
    try:
        try:
            for statement in src.iterdump():
                if statement.startswith(("BEGIN", "COMMIT")):
                    continue
                try:
                    dst.execute(statement)
                    copied += 1
                except sqlite3.Error:
                    continue  # one unreadable statement: the rest may still be read
        except sqlite3.DatabaseError:
            pass  # the dump stops at the damage: keep what was read
        dst.commit()
    finally:
        src.close()
        dst.close()
    return copied > 0


def _rebuild_index(path: Path) -> None:
    """Make a recovered database a complete store of the current schema: a fresh store is
    created next to it and every pull whose grids still load is recorded into it again, in
    order, by ``Store.record_pull`` — the code that builds the key index — then the runs and
    the acknowledgements are copied. The recovered file is replaced by the rebuilt one. Only
    the pulls whose grids the store keeps (each unit's last pull and its last pull of each
    year) can be recorded again: the rebuilt history starts from those."""
    template = load_template()
    fresh_dir = path.parent / "fresh"
    fresh_dir.mkdir(exist_ok=True)
    src = sqlite3.connect(path)
    try:
        tables = {r[0] for r in src.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "pulls" not in tables:
            raise ValueError("no pulls table recovered")
        with Store.open(fresh_dir) as store:
            for unit, pulled_at, as_of, own, blob in src.execute(
                    "SELECT unit, pulled_at, as_of, own_write_version, raw FROM pulls "
                    "ORDER BY id").fetchall():
                if not blob:  # grids no longer kept (``Store._drop_superseded_grids``)
                    continue
                try:
                    raw = load_raw(blob)
                    day = date.fromisoformat(as_of)
                    data = parse_unit(template, raw, unit, unit, day)
                    pull_id = store.record_pull(unit, raw, data,
                                                datetime.fromisoformat(pulled_at), day)
                except Exception:  # noqa: BLE001 — a damaged pull is lost, the others kept
                    log.info("Một lần đọc của %s không khôi phục được.", unit)
                    continue
                if own is not None:
                    with store.conn:
                        store.conn.execute("UPDATE pulls SET own_write_version = ? WHERE id = ?",
                                           (own, pull_id))
            with store.conn:
                if "runs" in tables:
                    store.conn.executemany(
                        "INSERT INTO runs (command, started, finished, summary) "
                        "VALUES (?, ?, ?, ?)",
                        src.execute("SELECT command, started, finished, summary FROM runs "
                                    "ORDER BY id").fetchall())
                if "acks" in tables:
                    store.conn.executemany(
                        "INSERT INTO acks (unit, rule, tab_id, rkey, state, vals, acked_at, "
                        "note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        src.execute("SELECT unit, rule, tab_id, rkey, state, vals, acked_at, "
                                    "note FROM acks ORDER BY id").fetchall())
    finally:
        src.close()
    os.replace(fresh_dir / DB_NAME, path)
    shutil.rmtree(fresh_dir, ignore_errors=True)


def _usable(path: Path) -> int | None:
    """The number of pulls when ``path`` (named history.sqlite) opens as a store of this
    version (None otherwise)."""
    if integrity_problem(path) is not None:
        return None
    conn = sqlite3.connect(path)
    try:  # something was recovered: the store's own table, not a schema created anew
        if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'pulls'"
                        ).fetchone() is None:
            return None
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    try:
        with Store.open(path.parent) as store:
            if store.schema_version() != SCHEMA_VERSION:
                return None
            return len(store.pulls())
    except Exception:  # noqa: BLE001 — whatever fails, the file is not a usable store
        return None


def _set_aside(path: Path, stamp: str) -> Path:
    """Rename the damaged store (and its -wal/-shm) to history-damaged-<stamp>.sqlite."""
    kept = path.with_name(f"history-damaged-{stamp}.sqlite")
    n = 1
    while kept.exists():
        n += 1
        kept = path.with_name(f"history-damaged-{stamp}-{n}.sqlite")
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.replace(side, kept.with_name(kept.name + suffix))
    os.replace(path, kept)
    return kept


def repair(state_dir: Path, agree_fresh: Callable[[str], bool]) -> RepairResult:
    """Check, recover or (with the operator's agreement) restart the history store."""
    state_dir = Path(state_dir)
    path = state_dir / DB_NAME
    if not path.exists():
        return RepairResult(HEALTHY, f"Chưa có kho lịch sử {path}; không có gì để sửa.")
    with run_lock(state_dir, "history repair"):
        problem = integrity_problem(path)
        if problem is None:
            return RepairResult(HEALTHY, f"Kho lịch sử {path} không bị hỏng (SQLite kiểm tra "
                                         "toàn vẹn: ok); không cần sửa.")
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        work = state_dir / f".history-recover-{stamp}"
        work.mkdir(exist_ok=True)
        target = work / DB_NAME
        try:
            method = ""
            for name, recover in ((".recover", _recover_cli), ("iterdump", _recover_dump)):
                target.unlink(missing_ok=True)
                if not recover(path, target):
                    continue
                try:
                    _rebuild_index(target)
                except Exception:  # noqa: BLE001 — not a usable store: try the next way
                    log.info("Bản khôi phục (%s) chưa dùng được; thử cách khác.", name)
                    continue
                if _usable(target) is not None:
                    method = name
                    break
            if method:
                kept = _set_aside(path, stamp)
                replace_durably(target, path)  # the recovered store, flushed before the swap
                pulls = _usable(path) or 0
                return RepairResult(
                    RECOVERED, f"Đã khôi phục kho lịch sử {path} bằng công cụ của SQLite "
                               f"({method}): còn {pulls} lần đọc. Tệp hỏng được giữ lại tại "
                               f"{kept}.", kept, pulls, method)
            question = (f"Kho lịch sử {path} bị hỏng ({problem}) và không khôi phục được. Bắt "
                        "đầu một kho mới, trống? Tệp hỏng sẽ được giữ lại (đổi tên), các quy tắc "
                        "lịch sử bắt đầu lại từ lần đọc tới.")
            if not agree_fresh(question):
                return RepairResult(DECLINED, f"Không thay đổi gì: kho lịch sử {path} vẫn hỏng. "
                                              "Chạy lại với --yes để bắt đầu kho mới.")
            kept = _set_aside(path, stamp)
            with Store.open(state_dir):
                pass
            return RepairResult(FRESH, f"Đã bắt đầu kho lịch sử mới {path}. Tệp hỏng được giữ "
                                       f"lại tại {kept}.", kept)
        finally:
            shutil.rmtree(work, ignore_errors=True)

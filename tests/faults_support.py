"""Helpers of the fault tests: a small district on disk, the CLI in a subprocess, read-only and
full folders that work as root, and a scan of every output of a run.

Read-only and full folders: root ignores permission bits, so ``chmod`` cannot make a folder
read-only for a test running as root (containers, CI). Instead the CLI runs inside a private
mount namespace (``unshare --map-root-user --mount``, util-linux; unprivileged user namespaces
on Linux): a tmpfs is mounted over the state folder, either read-only (a real ``EROFS``) or
tiny and filled up (a real ``ENOSPC`` / SQLite's "database or disk is full"). The mounts vanish
with the process; it works the same for root and for a normal user.
"""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

from chaos_support import write_unit_workbook

EXE = str(Path(sys.executable).parent / "sheets-sync")
AS_OF = "2026-11-25"


def district(folder: Path, extra: str = "", units: str | None = None) -> Path:
    """``folder/config.toml`` with one local unit (``a.xlsx``, seeded) and ``extra`` TOML."""
    folder.mkdir(parents=True, exist_ok=True)
    book = folder / "a.xlsx"
    if not book.exists():
        write_unit_workbook(book, "NT", 1)
    text = ('[parent]\nname = "Đảng bộ Thử"\n\n'
            + (units if units is not None else
               '[[units]]\ncode = "NT"\nname = "Đảng ủy xã Nhân Thịnh"\npath = "a.xlsx"\n')
            + "\n" + extra + "\n")
    cfg = folder / "config.toml"
    cfg.write_text(text, encoding="utf-8")
    return cfg


def cli(*args: str, cwd: Path, env: dict | None = None, wrap: str | None = None,
        after: str = "true", timeout: float = 300,
        stdin: str | None = None, encoding: str = "utf-8") -> subprocess.CompletedProcess:
    """The installed ``sheets-sync`` in a subprocess; ``wrap``: a shell prefix run first in a
    private mount namespace (``read_only_mount``, ``full_mount``), ``after``: a shell command
    run in it afterwards (e.g. listing the mounted folder to stderr); ``encoding``: the one its
    output is read in."""
    full_env = {**os.environ, **(env or {})}
    command = [EXE, *args]
    if wrap is not None:
        script = (f"{wrap} && {{ {' '.join(shlex.quote(c) for c in command)}; rc=$?; "
                  f"{after}; exit $rc; }}")
        command = ["unshare", "--map-root-user", "--mount", "sh", "-c", script]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          env=full_env, input=stdin, encoding=encoding, errors="replace",
                          check=False)


def read_only_mount(folder: Path) -> str:
    """Shell: ``folder`` becomes a read-only file system (its content kept)."""
    q = shlex.quote(str(folder))
    return f"mount --bind {q} {q} && mount -o remount,bind,ro {q}"


def full_mount(folder: Path, size_kb: int = 96, leave_kb: int = 12,
               copy_from: Path | None = None) -> str:
    """Shell: ``folder`` becomes a tiny tmpfs (holding a copy of ``copy_from``) filled up to
    ``leave_kb`` KB of free space."""
    q = shlex.quote(str(folder))
    fill = shlex.quote(str(folder / "filler.bin"))
    copy = f"cp -a {shlex.quote(str(copy_from))}/. {q}/ && " if copy_from else ""
    return (f"mount -t tmpfs -o size={size_kb}k tmpfs {q} && {copy}"
            f"{{ dd if=/dev/zero of={fill} bs=1k count={size_kb} 2>/dev/null; "
            f"truncate -s -{leave_kb}k {fill}; true; }}")


def outputs(result: subprocess.CompletedProcess, *folders: Path) -> dict[str, str]:
    """Every output of a run: stdout, stderr, and every log and summary file in ``folders``."""
    out = {"stdout": result.stdout, "stderr": result.stderr}
    for folder in folders:
        for sub in ("logs", "runs"):
            for p in sorted((folder / sub).glob("*")) if (folder / sub).is_dir() else []:
                out[str(p)] = p.read_text(encoding="utf-8", errors="replace")
    return out


def assert_no_traceback(result: subprocess.CompletedProcess, *folders: Path) -> None:
    for where, text in outputs(result, *folders).items():
        assert "Traceback" not in text, (where, text[-3000:])


def summaries(state: Path) -> list[dict]:
    """Run summaries in the order they were written (file names sort by start second, then by
    command name, which is not the order of two runs started in the same second)."""
    return [json.loads(p.read_text(encoding="utf-8"))
            for p in sorted((state / "runs").glob("*.json"), key=lambda p: p.stat().st_mtime_ns)]


def one_line_error(result: subprocess.CompletedProcess) -> str:
    lines = [x for x in result.stderr.splitlines() if x.startswith("Lỗi: ")]
    assert len(lines) == 1, result.stderr
    return lines[0]

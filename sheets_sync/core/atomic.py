"""Atomic file replacement, the one home of "write aside, then rename".

A reader (Excel, the Board, the next run) sees either the old file or the whole new one, and
after a power cut the new file is either fully there or not at all: the temporary file is
flushed to disk (fsync) before ``os.replace`` renames it over the target, and the folder is
flushed after the rename so the new directory entry is durable too.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def temp_path(target: Path, suffix: str = ".tmp") -> Path:
    """A fresh hidden name next to ``target`` (same folder, so the rename stays atomic)."""
    return target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}{suffix}")


def fsync_path(path: Path) -> None:
    """Flush a written file's data to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_folder(folder: Path) -> None:
    """Flush a folder's entries (a rename inside it) to disk; a no-op where folders cannot be
    opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems do not support fsync on a folder
    finally:
        os.close(fd)


def replace_durably(tmp: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """fsync ``tmp``, rename it over ``target`` (``os.replace``), fsync the folder."""
    tmp, target = Path(tmp), Path(target)
    fsync_path(tmp)
    os.replace(tmp, target)
    fsync_folder(target.parent)


def discard(tmp: str | os.PathLike[str]) -> None:
    """Remove our own temporary file if it is there, without raising: a read-only file system
    answers even a missing file's removal with an error, which must not replace the error
    being handled."""
    try:
        Path(tmp).unlink(missing_ok=True)
    except OSError:
        pass


@contextmanager
def atomic_path(target: Path, tmp: Path | None = None) -> Iterator[Path]:
    """``with atomic_path(target) as tmp:`` write the whole file at ``tmp``; when the block ends
    without an error it replaces ``target`` durably, otherwise ``tmp`` is removed."""
    tmp = tmp if tmp is not None else temp_path(target)
    try:
        yield tmp
        replace_durably(tmp, target)
    except BaseException:
        discard(tmp)
        raise


def write_text_atomic(path: Path, text: str, encoding: str = "utf-8", newline: str = "\n",
                      tmp: Path | None = None) -> None:
    """Replace ``path`` with ``text`` atomically and durably."""
    with atomic_path(path, tmp) as t, open(t, "w", encoding=encoding, newline=newline) as fh:
        fh.write(text)

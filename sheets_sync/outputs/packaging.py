"""Zip packages (.xlsx, .docx) written by libraries that leave their zip open when writing
fails."""
from __future__ import annotations

import contextlib
import zipfile
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any


@contextlib.contextmanager
def zip_closed_on_failure(module: ModuleType,
                          make_zip: Callable[..., zipfile.ZipFile] = zipfile.ZipFile
                          ) -> Iterator[None]:
    """Inside, ``module`` (xlsxwriter's workbook, python-docx's package writer) packages with
    ``make_zip``. A package it could not finish (a full disk) has its file closed here: those
    libraries leave it open, and the garbage collector's close would fail again later and
    print a traceback to the person running the command."""
    opened: list[zipfile.ZipFile] = []

    def tracked(*args: Any, **kwargs: Any) -> zipfile.ZipFile:
        opened.append(make_zip(*args, **kwargs))
        return opened[-1]

    names = vars(module)  # where the module looks its ZipFile up
    original, names["ZipFile"] = names["ZipFile"], tracked
    try:
        yield
    except BaseException:
        for package in opened:
            fp, package.fp = package.fp, None  # ZipFile.close: nothing left to write
            if fp is not None:
                with contextlib.suppress(OSError):
                    fp.close()
        raise
    finally:
        names["ZipFile"] = original

"""The cyclic garbage collector while a command reads and checks many units.

A command keeps every unit's grids, parsed tabs and findings until it ends: at national size
(3,300 units) about 3 million objects the collector tracks (1.8 million of them the grids' row
lists). CPython's cyclic collector runs a full collection each time the objects that survived
younger collections grow by a quarter of the old ones, and each traverses every kept object and
every cell of every kept list — about a second each at that size (3 of them, 3.1 s of 24 s CPU,
in parse + check of the synthetic country), for nothing: what reading and checking keep is
plain data (lists, dicts, sets, tuples, ``TabData``, ``Finding``), never a reference cycle, so
reference counting frees all of it and the collector never finds garbage there.

``bulk()`` is the scope of a command (``cli.GuardedGroup``, the benchmarks). Inside it,
``unit_work()`` wraps the parsing or the checking of one unit: no collection while it allocates,
then whatever is alive is moved to the permanent generation (``gc.freeze``), where collections
no longer traverse it. Reference counting still frees frozen objects that are dropped; only
cyclic garbage frozen along the way (other code's, made between units) waits: leaving
``bulk()`` unfreezes everything, so the collector sees it again. Outside ``bulk()``, or when the
process already freezes objects itself, nothing changes.
"""
from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_active = False

# The cyclic garbage collector runs a young collection every this many new containers (Python's
# default: 700). A command builds millions of short-lived rows, tuples and findings that hold no
# cycles; at the default, collections cost ≈ 20 % of the CPU of `check` on a big unit. Cycles
# are still collected, in larger batches.
YOUNG_THRESHOLD = 100_000


def fewer_young_collections() -> None:
    """For a whole CLI process: young collections every ``YOUNG_THRESHOLD`` new containers."""
    gc.set_threshold(YOUNG_THRESHOLD, *gc.get_threshold()[1:])


@contextmanager
def bulk() -> Iterator[None]:
    """The scope of a command that reads and checks many units and keeps them until it ends."""
    global _active
    if _active or gc.get_freeze_count():  # nested, or the process freezes objects itself
        yield
        return
    _active = True
    try:
        yield
    finally:
        _active = False
        gc.unfreeze()


@contextmanager
def unit_work() -> Iterator[None]:
    """Parsing or checking one unit. Inside ``bulk()``: no collection meanwhile, and what is
    alive afterwards is frozen (kept for the run, never traversed again)."""
    if not _active or not gc.isenabled():  # outside bulk(), or another unit_work() holds it
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


@contextmanager
def paused() -> Iterator[None]:
    """No cyclic garbage collection while a large output (the roll-up's model and workbook) is
    built: it allocates millions of small objects while the parsed units of a whole run are
    alive, and every full collection would walk all of them again (half of the roll-up model's
    CPU at national size). What it builds holds no reference cycles worth collecting early
    (reference counting frees it); the collector runs again, as it was, afterwards. Inside
    ``bulk()``, what is alive then is frozen first, as after ``unit_work()``: otherwise the
    next young collection would walk every object the output made."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if _active:
                gc.freeze()
            gc.enable()

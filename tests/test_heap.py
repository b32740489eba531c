"""heap: while a command reads and checks units, what they keep is frozen, not re-traversed by
the cyclic collector — sound only because parsing and checking make no reference cycles."""
from __future__ import annotations

import gc

from benchmarks.synthetic import AS_OF, YEAR
from helpers import synthetic_reads
from sheets_sync.core import heap
from sheets_sync.core.checker import evaluate


def _parse_and_check() -> int:
    config, reads = synthetic_reads("tiny")
    return len(evaluate(config, reads, AS_OF, YEAR).findings)


def test_parsing_and_checking_make_no_reference_cycles() -> None:
    """Everything they allocate is freed by reference counting: the collector finds nothing."""
    _assert_no_cycles(_parse_and_check)


def test_bulk_freezes_what_units_keep_and_unfreezes_on_leaving() -> None:
    assert gc.get_freeze_count() == 0
    with heap.unit_work():  # outside bulk(): nothing changes
        kept = [[1], [2]]
    assert gc.get_freeze_count() == 0 and gc.isenabled()
    with heap.bulk():
        with heap.unit_work():
            assert not gc.isenabled()  # no collection while a unit allocates
            kept = [[3], [4]]
        assert gc.isenabled()
        assert gc.get_freeze_count() > 0  # kept, and everything older, is frozen
        with heap.bulk():  # nested: the outer scope decides
            pass
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0 and gc.isenabled()
    assert kept == [[3], [4]]


def test_bulk_leaves_a_process_that_freezes_on_its_own_alone() -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with heap.bulk(), heap.unit_work():
            assert gc.isenabled()  # not ours to manage
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def test_paused_freezes_what_the_output_made_only_inside_bulk() -> None:
    with heap.paused():
        assert not gc.isenabled()
        made = [[5], [6]]
    assert gc.isenabled() and gc.get_freeze_count() == 0  # outside bulk(): only paused
    with heap.bulk():
        frozen = gc.get_freeze_count()
        with heap.paused():
            made = [[7], [8]]
            assert not gc.isenabled()
        assert gc.isenabled()
        assert gc.get_freeze_count() > frozen  # the next young collection will not walk it
    assert gc.get_freeze_count() == 0
    assert made == [[7], [8]]


def _rollup_model() -> int:
    from sheets_sync.outputs.rollup.model import build_model

    config, reads = synthetic_reads("tiny")
    report = evaluate(config, reads, AS_OF, YEAR)
    return len(build_model(config, report, reads).cells)


def test_the_rollup_model_makes_no_reference_cycles() -> None:
    """What ``build_model`` built is frozen when its ``paused()`` ends inside ``bulk()``: sound
    because all it allocates is freed by reference counting."""
    _assert_no_cycles(_rollup_model)


def _assert_no_cycles(work) -> None:
    """``work`` (returning how much it made) leaves no garbage for the cyclic collector."""
    work()  # module-level caches filled
    gc.collect()
    gc.disable()
    try:
        assert work() > 0
        assert gc.collect() == 0
    finally:
        gc.enable()

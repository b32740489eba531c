"""Checking benchmark: parse + check and the roll-up, on synthetic data generated in memory.

Each measurement is a fresh subprocess (``python -m benchmarks.checking SIZE``) so that its
peak RSS (``VmHWM`` of /proc/self/status) is that of one size only. The worker:
1. generates every unit's raw workbook (values as Google returns them) — the input, kept in
   memory like the tool keeps each unit's pull;
2. parse + check: ``parse_unit`` for every unit, then ``evaluate`` (every rule, SUP-MONTHLY
   across units), timed (wall and CPU; ``check_s`` and ``check_cpu_s`` are parse + check);
3. roll-up: ``build_rollup`` into a temporary folder (workbook + CSV), timed (wall and CPU);
4. with ``--store``: the history store that `check` and `run` keep by default — ``record_pull``
   of every unit into a fresh SQLite store, then the history findings
   (``pipeline.history_of``) of every unit, timed apart (not part of "parse + check").
All of it runs as a ``sheets-sync`` command does (``worker``): the garbage collector set as
``cli.main`` sets it and the whole command inside ``heap.bulk()``, the roll-up included (until
2026-12-04 the roll-up ran outside it; in the same minutes that made no difference beyond this
machine's noise, but the benchmark now measures what the command runs).
It prints one JSON object: sizes, seconds, RSS after generating, peak RSS after checking and
after the roll-up (MB).
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .synthetic import AS_OF, SIZES, YEAR


def _rss_now_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mb() -> float:
    """Peak RSS of this process: VmHWM (per address space, so it starts afresh at exec).
    ``ru_maxrss`` is not used on Linux: it keeps the RSS the forked parent had before exec."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def worker(size_name: str, rollup: bool = True, store: bool = False) -> dict:
    """Every step as a ``sheets-sync`` command runs it: young collections every
    ``heap.YOUNG_THRESHOLD`` new containers (``cli.main``), the whole command inside
    ``heap.bulk()`` (``cli.GuardedGroup``), the roll-up included."""
    from sheets_sync.core import heap

    heap.fewer_young_collections()
    with heap.bulk():
        return _worker(size_name, rollup, store)


def _worker(size_name: str, rollup: bool, store: bool) -> dict:
    from sheets_sync.core.checker import UnitRead, evaluate
    from sheets_sync.core.findings import OK, UnitResult
    from sheets_sync.core.grid import parse_unit
    from sheets_sync.core.template import load_template

    from .synthetic import dataset

    size = SIZES[size_name]
    template = load_template()
    start = time.perf_counter()
    config, units = dataset(size)
    raws = list(units)
    generate_s = time.perf_counter() - start
    rows = sum(len(t.rows) for _, raw in raws for t in raw.sheets)
    rss_input = _rss_now_mb()

    start, cpu = time.perf_counter(), time.process_time()
    reads = []
    for unit, raw in raws:
        data = parse_unit(template, raw, unit.code, unit.name, AS_OF)
        reads.append(UnitRead(unit, UnitResult(unit.code, unit.name, OK), data, raw))
    parse_s, parse_cpu_s = time.perf_counter() - start, time.process_time() - cpu
    report = evaluate(config, reads, AS_OF, YEAR)
    check_s, check_cpu_s = time.perf_counter() - start, time.process_time() - cpu
    peak_check = _peak_mb()
    meeting_rows = sum(len(r.data.tabs["meetings"].rows) for r in reads
                       if "meetings" in r.data.tabs)
    out = {"size": size_name, "units": size.units, "cells": size.cells,
           "meeting_rows": meeting_rows, "rows": rows, "findings": len(report.findings),
           "generate_s": round(generate_s, 3), "parse_s": round(parse_s, 3),
           "check_s": round(check_s, 3), "parse_cpu_s": round(parse_cpu_s, 3),
           "check_cpu_s": round(check_cpu_s, 3), "rss_input_mb": round(rss_input, 1),
           "peak_check_mb": round(peak_check, 1)}
    if rollup:
        from sheets_sync.outputs.rollup import build_rollup

        with tempfile.TemporaryDirectory(prefix="bench-rollup-") as tmp:
            start, cpu = time.perf_counter(), time.process_time()
            build_rollup(config, report, reads, {}, Path(tmp) / "tong-hop.xlsx")
            out["rollup_s"] = round(time.perf_counter() - start, 3)
            out["rollup_cpu_s"] = round(time.process_time() - cpu, 3)
            out["rollup_mb"] = round((Path(tmp) / "tong-hop.xlsx").stat().st_size / 2**20, 1)
        out["peak_rollup_mb"] = round(_peak_mb(), 1)
    if store:
        from datetime import datetime

        from sheets_sync.sync import pipeline
        from sheets_sync.sync.store import Store

        with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
            start = time.perf_counter()
            with Store.open(Path(tmp)) as db:
                for r in reads:
                    r.pull_id = db.record_pull(r.config.code, r.raw, r.data,
                                               datetime(2027, 1, 20, 8), AS_OF)
                out["store_record_s"] = round(time.perf_counter() - start, 3)
                history = pipeline.history_of(config, db, AS_OF, YEAR)
                for r in reads:
                    history(r)
            out["store_s"] = round(time.perf_counter() - start, 3)
            out["store_file_mb"] = round(sum(p.stat().st_size for p in Path(tmp).rglob("*"))
                                         / 2**20, 1)
    return out


def store_worker(size_name: str, from_store: bool = True) -> dict:
    """The history store alone, in its own process: parse every unit, record it as a first pull
    into a fresh store (timed; peak RSS after it), the history findings of every unit, then
    `rollup` from the store (``pipeline.rollup_from_store``: every unit's last pull parsed
    again, every rule and the history findings, the roll-up workbook)."""
    from dataclasses import replace
    from datetime import datetime

    from sheets_sync.core.grid import parse_unit
    from sheets_sync.core.template import load_template
    from sheets_sync.sync import pipeline
    from sheets_sync.sync.store import Store

    from .synthetic import dataset

    size = SIZES[size_name]
    template = load_template()
    config, units = dataset(size)
    out: dict = {"size": size_name, "units": size.units}
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        config = replace(config, state_dir=Path(tmp) / "state", out_dir=Path(tmp) / "out")
        at = datetime(2027, 1, 20, 8)
        # As `check` holds them: every unit's raw workbook and parsed data in memory.
        reads = [(unit, raw, parse_unit(template, raw, unit.code, unit.name, AS_OF))
                 for unit, raw in units]
        out["indexed_rows"] = sum(len(t.rows) for _, _, d in reads for t in d.tabs.values())
        out["rss_parsed_mb"] = round(_rss_now_mb(), 1)
        start, cpu = time.perf_counter(), time.process_time()
        with Store.open(config.state_dir) as db:
            for unit, raw, data in reads:
                db.record_pull(unit.code, raw, data, at, AS_OF)
        out["store_record_s"] = round(time.perf_counter() - start, 3)
        out["store_record_cpu_s"] = round(time.process_time() - cpu, 3)
        out["peak_store_mb"] = round(_peak_mb(), 1)
        del reads
        out["store_file_mb"] = round(sum(p.stat().st_size for p in config.state_dir.rglob("*"))
                                     / 2**20, 1)
        # `rollup` from the store (pipeline.rollup_from_store, step by step): every unit's last
        # pull read back and parsed, every rule with the history findings, then the workbook
        # (``build_rollup``, timed apart: its cost is the roll-up's, measured above). The first
        # time computes every unit's history findings; the second finds them in the store.
        # As the `rollup` command runs (``cli.main``, ``cli.GuardedGroup``): young collections
        # every ``heap.YOUNG_THRESHOLD`` new containers, the command inside ``heap.bulk()``.
        from sheets_sync.core import heap
        from sheets_sync.core.checker import evaluate

        heap.fewer_young_collections()
        for key in ("rollup_from_store", "rollup_from_store_again"):
            with heap.bulk():
                start, cpu = time.perf_counter(), time.process_time()
                with Store.open(config.state_dir) as db:
                    reads = pipeline.from_store(config, db, AS_OF)
                    report = evaluate(config, reads, AS_OF, YEAR,
                                      pipeline.history_of(config, db, AS_OF, YEAR))
                out[f"{key}_read_s"] = round(time.perf_counter() - start, 3)
                out[f"{key}_read_cpu_s"] = round(time.process_time() - cpu, 3)
                if from_store:
                    from sheets_sync.outputs.rollup import build_rollup

                    build_rollup(config, report, reads, {}, Path(tmp) / "tong-hop.xlsx")
                    out[f"{key}_s"] = round(time.perf_counter() - start, 3)
                del reads, report
        out["peak_rollup_from_store_mb"] = round(_peak_mb(), 1)
    return out


def measure_store(size_name: str, from_store: bool = True, timeout: float = 3600) -> dict:
    """``store_worker`` in a fresh interpreter."""
    root = Path(__file__).resolve().parent.parent
    args = [sys.executable, "-m", "benchmarks.checking", size_name, "--store-only"]
    if not from_store:
        args.append("--no-rollup")
    done = subprocess.run(args, cwd=root, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"store benchmark {size_name} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(size_name: str, rollup: bool = True, store: bool = False,
            timeout: float = 3600) -> dict:
    """One measurement in a fresh interpreter."""
    root = Path(__file__).resolve().parent.parent
    args = [sys.executable, "-m", "benchmarks.checking", size_name]
    if not rollup:
        args.append("--no-rollup")
    if store:
        args.append("--store")
    done = subprocess.run(args, cwd=root, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"checking benchmark {size_name} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    if "--store-only" in sys.argv[2:]:
        print(json.dumps(store_worker(sys.argv[1], "--no-rollup" not in sys.argv[2:])))
    else:
        print(json.dumps(worker(sys.argv[1], "--no-rollup" not in sys.argv[2:],
                                "--store" in sys.argv[2:])))

"""Sync benchmark: the tool's `run` against the emulator with latency and per-window quotas.

Scenario for N units (fresh emulator process, fresh state folder):
1. first run (every unit read, checked and flagged);
2. second run, nothing changed;
3. a person edits 10% of the units (one "Biên bản ghi đầy đủ" cell set to "no": one more
   flag), third run.
Between runs the harness waits until the quota window of the previous run's last Sheets request
is over (a scheduled job runs minutes apart), so each run starts with a fresh bucket.

Lower bounds (seconds), from the emulator's documented bucket model:
- quota bound Q·W with Q = max over the read and write buckets of ceil(n / limit) − 1,
  n = the Sheets requests the run sent (W = the window);
- latency bound: the longest per-unit chain of dependent requests × the minimum latency (a unit's
  Drive check, reads and writes must follow each other; different units need not);
- lower bound = max(quota bound, latency bound): what a perfect client sending the same
  requests could achieve. ``wall / lower bound`` is the figure compared with the 1.2× target.

Variants: "concurrent" is ``pipeline.run`` as shipped (``workers`` threads pulling, as many
writing as soon as a unit's supervision group is read); "sequential" is the same with
``[google] workers = 1`` — one request at a time, the baseline of the same run.
"""
from __future__ import annotations

import gc
import math
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from sheets_sync.core import heap
from sheets_sync.core.config import GoogleConfig
from sheets_sync.core.grid import col_letter
from sheets_sync.core.template import load_template
from sheets_sync.sources.google_http import Quota, RetryPolicy, make_client, request_kind
from sheets_sync.sources.google_sheets import GoogleBackend
from sheets_sync.sync import pipeline

from . import naive
from .emu_proc import EmulatorProcess, account
from .synthetic import AS_OF, SIZES, YEAR, config_for, spreadsheet_id, unit_sheets


@dataclass
class SyncSettings:
    latency_ms: float = 150.0  # minimum simulated latency
    jitter_ms: float = 150.0  # + uniform 0..jitter
    reads: int = 60  # per window and service account
    writes: int = 60
    window_s: float = 20.0
    unit_size: str = "province"  # content of each unit (30 cells, ≈ 400 meeting rows)
    changed_fraction: float = 0.1
    workers: int = pipeline.DEFAULT_WORKERS  # the "concurrent" variant (the shipped default)
    data_seed: int = 1

    @property
    def margin(self) -> float:
        """Pacer margin: the window is stretched by at least the latency jitter (+0.1 s), so
        that requests sent a window apart never arrive inside one emulator window."""
        return max(0.02, (self.jitter_ms / 1000 + 0.1) / self.window_s)

    def spec(self, accounts: list[dict], latency: bool = True, quotas: bool = True) -> dict:
        return {"latency_ms": self.latency_ms if latency else 0,
                "jitter_ms": self.jitter_ms if latency else 0,
                "read_quota": self.reads if quotas else None,
                "write_quota": self.writes if quotas else None,
                "window_s": self.window_s, "seed": 7, "size": self.unit_size, "year": YEAR,
                "data_seed": self.data_seed, "accounts": accounts}

    def quota(self) -> Quota:
        return Quota(reads=self.reads, writes=self.writes, window=self.window_s,
                     margin=self.margin)


class Recorder:
    """Client-side timestamps of every request sent through a transport."""

    def __init__(self, transport):
        self.events: list[tuple[str, float, float]] = []
        send = transport.send

        def timed(request, *args, **kwargs):
            kind = request_kind(request.method, request.url)
            start = time.monotonic()
            try:
                return send(request, *args, **kwargs)
            finally:
                self.events.append((kind, start, time.monotonic()))

        transport.send = timed

    def last_sheets(self) -> float | None:
        ends = [end for kind, _, end in self.events if kind in ("read", "write")]
        return max(ends) if ends else None


def _diff(before: dict, after: dict, ids: list[str]) -> dict:
    out = {"reads": after["sheets"]["reads"] - before["sheets"]["reads"],
           "writes": after["sheets"]["writes"] - before["sheets"]["writes"],
           "drive": after["drive"] - before["drive"],
           "rejected_429": after["rejected_429"] - before["rejected_429"]}
    per_unit = []
    for sid in ids:
        a, b = after["by_spreadsheet"].get(sid, {}), before["by_spreadsheet"].get(sid, {})
        per_unit.append({k: a.get(k, 0) - b.get(k, 0) for k in ("reads", "writes", "drive")})
    out["max_unit_requests"] = max((sum(u.values()) for u in per_unit), default=0)
    out["max_unit_reads"] = max((u["reads"] for u in per_unit), default=0)
    out["max_unit_writes"] = max((u["writes"] for u in per_unit), default=0)
    out["max_unit_drive"] = max((u["drive"] for u in per_unit), default=0)
    return out


def bounds(counts: dict, s: SyncSettings) -> dict:
    q = max(0, math.ceil(counts["reads"] / s.reads) - 1 if counts["reads"] else 0,
            math.ceil(counts["writes"] / s.writes) - 1 if counts["writes"] else 0)
    quota_s = q * s.window_s
    chain_s = counts["max_unit_requests"] * s.latency_ms / 1000
    return {"quota_windows": q, "quota_bound_s": quota_s, "latency_bound_s": round(chain_s, 3),
            "lower_bound_s": max(quota_s, chain_s)}


def job_floor_s(changed_units: int, s: SyncSettings) -> float:
    """The job's floor under the emulator's bucket model: 1 Sheets read + 1 write per changed
    unit (``changed_units`` requests in each bucket: full windows before the last one), and at
    least one read then one write in a row (2 × the minimum latency)."""
    windows = max(math.ceil(changed_units / s.reads) - 1, math.ceil(changed_units / s.writes) - 1,
                  0)
    return max(windows * s.window_s, 2 * s.latency_ms / 1000)


@contextmanager
def as_the_command() -> Iterator[None]:
    """The garbage-collector settings `sheets-sync run` runs with: fewer young collections
    (``cli.main``) and the command's ``heap.bulk()`` scope (``cli.GuardedGroup``); the
    process's own thresholds come back afterwards."""
    thresholds = gc.get_threshold()
    heap.fewer_young_collections()
    try:
        with heap.bulk():
            yield
    finally:
        gc.set_threshold(*thresholds)


def _wait_fresh_window(last_sheets: float | None, s: SyncSettings) -> None:
    if last_sheets is None:
        return
    left = last_sheets + s.window_s * (1 + s.margin) + 0.2 - time.monotonic()
    if left > 0:
        time.sleep(left)


def _edit_cell(k: int, s: SyncSettings) -> tuple[str, str]:
    """(sheet, A1) of the "Biên bản ghi đầy đủ" cell of unit k's 5th meeting row."""
    template = load_template()
    meetings = template.tab("meetings")
    sheets = unit_sheets(k, SIZES[s.unit_size], YEAR, s.data_seed, template=template)
    rows = sheets[meetings.name]
    header_r = next(r for r, row in enumerate(rows[:5])
                    if meetings.column("cell_code").header in row)
    col = rows[header_r].index(meetings.column("minutes_full").header)
    target = header_r + 5
    return meetings.name, f"{col_letter(col)}{target + 1}"


def _run_once(variant: str, config, emu: EmulatorProcess, s: SyncSettings, ids: list[str]
              ) -> dict:
    backend = GoogleBackend(emu.info(0), emu.base_url, RetryPolicy(), s.quota())
    recorder = Recorder(backend.transport)
    before = emu.stats()
    emu_cpu_start = emu.cpu_s()
    start, cpu_start = time.monotonic(), time.process_time()
    workers = 1 if variant == "sequential" else s.workers
    config = replace(config, google=GoogleConfig(workers=workers))
    with as_the_command():
        outcome = pipeline.run(config, lambda unit: backend, AS_OF, YEAR)
    wall = time.monotonic() - start
    cpu = time.process_time() - cpu_start  # the tool's threads (the emulator runs apart)
    emu_cpu_end = emu.cpu_s()
    counts = _diff(before, emu.stats(), ids)
    statuses: dict[str, int] = {}
    for w in outcome.writes:
        statuses[w.status] = statuses.get(w.status, 0) + 1
    sheets = [e for e in recorder.events if e[0] in ("read", "write")]
    result = {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
              "emulator_cpu_s": round(emu_cpu_end - emu_cpu_start, 3)
              if emu_cpu_start is not None and emu_cpu_end is not None else None,
              "windows": round(wall / s.window_s, 3), **counts,
              **bounds(counts, s), "writes_by_status": statuses,
              "paced_s": outcome.requests.get("paced_s", 0.0),
              "retries": outcome.requests.get("retries", 0),
              "sheets_span_s": round(max(e[2] for e in sheets) - min(e[1] for e in sheets), 3)
              if sheets else 0.0}
    result["ratio"] = round(wall / result["lower_bound_s"], 3) if result["lower_bound_s"] else None
    return result, recorder.last_sheets()


def scenario(n: int, variant: str, s: SyncSettings, first_only: bool = False) -> dict:
    """First, unchanged and 10%-changed runs over n units with one variant of the tool
    (``first_only``: the first run alone, e.g. to check the bound at Google's real window)."""
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp:
        folder = Path(tmp)
        acct = account(folder, 0, n)
        with EmulatorProcess(s.spec([acct])) as emu:
            config = config_for(SIZES[s.unit_size], google=True, folder=folder, units=n,
                                prefix=acct["prefix"])
            ids = [spreadsheet_id(k, acct["prefix"]) for k in range(n)]
            first, last = _run_once(variant, config, emu, s, ids)
            if first_only:
                return {"units": n, "variant": variant, "first": first}
            _wait_fresh_window(last, s)
            second, last2 = _run_once(variant, config, emu, s, ids)
            _wait_fresh_window(last2 or last, s)
            changed = [k for k in range(n) if k % round(1 / s.changed_fraction) == 0]
            for k in changed:
                sheet, a1 = _edit_cell(k, s)
                emu.edit(ids[k], sheet, {"op": "set", "range": a1, "values": [[False]],
                                         "input": "RAW"})
            third, _ = _run_once(variant, config, emu, s, ids)
    return {"units": n, "variant": variant, "changed_units": len(changed),
            "first": first, "unchanged": second, "changed": third}


# --- the naive baseline ---------------------------------------------------------------------------

def naive_counts(n: int, s: SyncSettings) -> dict:
    """Requests of the naive script over n units (first and unchanged run): counted on an
    emulator without latency or quotas (the requests do not depend on either)."""
    with tempfile.TemporaryDirectory(prefix="bench-naive-") as tmp:
        folder = Path(tmp)
        acct = account(folder, 0, n)
        with EmulatorProcess(s.spec([acct], latency=False, quotas=False)) as emu:
            config = config_for(SIZES[s.unit_size], google=True, folder=folder, units=n,
                                prefix=acct["prefix"])
            ids = [spreadsheet_id(k, acct["prefix"]) for k in range(n)]
            gc, _ = make_client(emu.info(0), emu.base_url, RetryPolicy(),
                                Quota(reads=10**9, writes=10**9))
            out = {}
            for name, second in (("first", False), ("unchanged", True)):
                before = emu.stats()
                got = naive.run_naive(gc, config, ids, SIZES[s.unit_size], AS_OF, YEAR, second)
                counts = _diff(before, emu.stats(), ids)
                out[name] = {**counts, **bounds(counts, s), "flag_rows": got["flag_rows"]}
    return out


def naive_timed(sample: int, repeat: int, s: SyncSettings) -> list[dict]:
    """The naive first run over ``sample`` units with latency and quotas, ``repeat`` times side
    by side: each repetition is its own service account (own quota) and its own copies of the
    units, on its own thread; the naive script is sequential and waits on the network, so the
    repetitions do not slow each other down measurably (checked: per-request times match a
    single run's)."""
    with tempfile.TemporaryDirectory(prefix="bench-naive-") as tmp:
        folder = Path(tmp)
        accts = [account(folder, i, sample) for i in range(repeat)]
        with EmulatorProcess(s.spec(accts)) as emu:
            results: list[dict | None] = [None] * repeat

            def one(i: int) -> None:
                acct = accts[i]
                config = config_for(SIZES[s.unit_size], google=True, folder=folder / str(i),
                                    units=sample, prefix=acct["prefix"])
                ids = [spreadsheet_id(k, acct["prefix"]) for k in range(sample)]
                gc, transport = make_client(emu.info(i), emu.base_url, RetryPolicy(), s.quota())
                recorder = Recorder(transport)
                start = time.monotonic()
                naive.run_naive(gc, config, ids, SIZES[s.unit_size], AS_OF, YEAR)
                wall = time.monotonic() - start
                n_requests = len(recorder.events)
                results[i] = {"wall_s": round(wall, 3), "requests": n_requests,
                              "s_per_request": wall / n_requests,
                              "reads": transport.stats.reads, "writes": transport.stats.writes,
                              "drive": transport.stats.drive,
                              "paced_s": round(transport.stats.paced_s, 3)}

            threads = [threading.Thread(target=one, args=(i,)) for i in range(repeat)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            stats = emu.stats()
            for i, acct in enumerate(accts):
                results[i]["rejected_429"] = stats["by_account"].get(acct["email"], {}).get(
                    "rejected_429", 0)
    return results


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.sync --window 60 --units 100 --variants sequential,merged``:
    first runs only, medians of ``--repeat``; prints a table, optionally writes JSON."""
    import argparse
    import json
    import statistics

    p = argparse.ArgumentParser(prog="python -m benchmarks.sync")
    p.add_argument("--window", type=float, default=60.0)
    p.add_argument("--units", default="100")
    p.add_argument("--variants", default="sequential,concurrent")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--latency-ms", type=float, default=150.0)
    p.add_argument("--jitter-ms", type=float, default=150.0)
    p.add_argument("--json", metavar="FILE")
    p.add_argument("--all-runs", action="store_true",
                   help="first, unchanged and 10%%-changed runs (default: first runs only)")
    args = p.parse_args(argv)
    s = SyncSettings(latency_ms=args.latency_ms, jitter_ms=args.jitter_ms,
                     window_s=args.window)
    if args.all_runs:
        return _all_runs(args, s)
    results = []
    for n in (int(x) for x in args.units.split(",")):
        for variant in args.variants.split(","):
            runs = []
            for rep in range(args.repeat):
                print(f"[{time.strftime('%H:%M:%S')}] {variant}, {n} units, run {rep + 1}",
                      flush=True)
                runs.append(scenario(n, variant, s, first_only=True)["first"])
            med = {k: statistics.median(r[k] for r in runs) for k in
                   ("wall_s", "windows", "reads", "writes", "drive", "quota_windows",
                    "lower_bound_s", "ratio", "rejected_429")}
            results.append({"units": n, "variant": variant, "median": med, "runs": runs})
            print(f"  {variant}/{n}: wall {med['wall_s']:.1f} s = {med['windows']:.2f} windows,"
                  f" bound {med['quota_windows']} windows, wall/bound {med['ratio']:.3f}, "
                  f"429: {med['rejected_429']}", flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"settings": {**s.__dict__, "margin": s.margin, "repeat": args.repeat},
                       "results": results}, fh, indent=1)
    return 0


def _all_runs(args, s: SyncSettings) -> int:
    """First, unchanged and changed runs per N and variant (medians of ``--repeat``), each
    with the job's floor (1 read + 1 write per changed unit) and wall / floor."""
    import json
    import os
    import resource
    import statistics

    keys = ("wall_s", "cpu_s", "emulator_cpu_s", "windows", "reads", "writes", "drive",
            "quota_windows", "lower_bound_s", "rejected_429")
    results = []
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    load = os.getloadavg()
    for n in (int(x) for x in args.units.split(",")):
        for variant in args.variants.split(","):
            scenarios = []
            for rep in range(args.repeat):
                print(f"[{time.strftime('%H:%M:%S')}] {variant}, {n} units, run {rep + 1}",
                      flush=True)
                scenarios.append(scenario(n, variant, s))
            entry: dict = {"units": n, "variant": variant, "runs": scenarios}
            for run in ("first", "unchanged", "changed"):
                changed = n if run == "first" else 0 if run == "unchanged" else \
                    scenarios[0]["changed_units"]
                med = {k: statistics.median(sc[run][k] for sc in scenarios) for k in keys}
                med["job_floor_s"] = job_floor_s(changed, s)
                med["wall_to_job_floor_ratio"] = med["wall_s"] / med["job_floor_s"]
                med["changed_units"] = changed
                entry[run] = med
                print(f"  {variant}/{n} {run}: wall {med['wall_s']:.1f} s (CPU "
                      f"{med['cpu_s']:.1f} s, emulator CPU {med['emulator_cpu_s']} s) = "
                      f"{med['windows']:.2f} windows, {med['reads']:g} reads, "
                      f"{med['writes']:g} writes, {med['drive']:g} Drive, job floor "
                      f"{med['job_floor_s']:.2f} s, wall/floor "
                      f"{med['wall_to_job_floor_ratio']:.3f}, 429: {med['rejected_429']:g}",
                      flush=True)
            results.append(entry)
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    machine = {"load_average_at_start": load, "load_average_at_end": os.getloadavg(),
               "cpu_s_harness_and_tool": round(cpu1.ru_utime + cpu1.ru_stime
                                               - cpu0.ru_utime - cpu0.ru_stime, 2),
               "cpu_s_emulator_processes": round(kids.ru_utime + kids.ru_stime, 2)}
    print(f"  load average {load[0]:.2f} at the start; CPU {machine}", flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"settings": {**s.__dict__, "margin": s.margin, "repeat": args.repeat},
                       "machine": machine, "results": results}, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

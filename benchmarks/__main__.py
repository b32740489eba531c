"""``python -m benchmarks [--quick] [--json FILE] [--quota-window-s S] ...`` (``scripts/bench``).

Runs the sync benchmark (emulator), the naive gspread baseline and the checking benchmark,
prints the tables and writes the figures as JSON. Figures are medians over ``--repeat`` runs
and ratios measured in the same invocation. See BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime

from . import bigunit, checking, sync

QUICK = dict(sync_units=(5,), naive_units=5, naive_sample=1, repeat=1, latency_ms=20.0,
             jitter_ms=20.0, quota=12, window_s=1.0, unit_size="small",
             check_sizes=(("one", 1), ("tiny", 1), ("province", 1)),
             growth=("tiny", "province"), store_growth=("one", "tiny"), store_sizes=(),
             bigunit=False)
FULL = dict(sync_units=(25, 100), naive_units=25, naive_sample=3, repeat=3, latency_ms=150.0,
            jitter_ms=150.0, quota=60, window_s=20.0, unit_size="province",
            check_sizes=(("province", 5), ("province10", 3), ("national", 3)),
            growth=("province", "province10"), store_growth=("province", "province10"),
            store_sizes=("national",), bigunit=True)


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def median_of(runs: list[dict]) -> dict:
    """Field by field median of numeric fields (other fields from the first run)."""
    out = {}
    for key, value in runs[0].items():
        if isinstance(value, bool) or not isinstance(value, (int, float, dict)):
            out[key] = value
        elif isinstance(value, dict):
            if all(isinstance(v, (int, float)) for v in value.values()):
                out[key] = {k: _median([r.get(key, {}).get(k) for r in runs]) for k in value}
            else:
                out[key] = median_of([r[key] for r in runs])
        else:
            out[key] = _median([r.get(key) for r in runs])
    return out


def _log(msg: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {msg}", file=sys.stderr, flush=True)


def _table(title: str, header: list[str], rows: list[list]) -> str:
    cells = [header] + [["" if v is None else (f"{v:.3g}" if isinstance(v, float) else str(v))
                         for v in row] for row in rows]
    widths = [max(len(r[c]) for r in cells) for c in range(len(header))]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(cells[0], widths)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.rjust(w) for v, w in zip(r, widths)) for r in cells[1:]]
    return "\n".join(lines) + "\n"


def machine() -> dict:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")),
                       cpu)
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as fh:
            mem = int(fh.readline().split()[1]) / 2**20
    except (OSError, ValueError, IndexError):
        mem = None
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(mem, 1) if mem else None,
            "python": platform.python_version(), "system": platform.platform()}


# --- sync -----------------------------------------------------------------------------------------

def run_sync(cfg: dict, s: sync.SyncSettings, variants: list[str]) -> dict:
    out: dict = {}
    for n in cfg["sync_units"]:
        for variant in variants:
            runs = []
            for rep in range(cfg["repeat"]):
                _log(f"sync: {variant}, {n} units, run {rep + 1}/{cfg['repeat']}")
                runs.append(sync.scenario(n, variant, s))
            out[f"{variant}/{n}"] = {"median": median_of(runs), "runs": runs}
    return out


def run_naive(cfg: dict, s: sync.SyncSettings) -> dict:
    _log(f"naive: requests over {cfg['naive_units']} units")
    counts = sync.naive_counts(cfg["naive_units"], s)
    _log(f"naive: timing {cfg['naive_sample']} unit(s) × {cfg['repeat']} side by side")
    timed = sync.naive_timed(cfg["naive_sample"], cfg["repeat"], s)
    return {"counts": counts, "timed": timed}


# --- checking -------------------------------------------------------------------------------------

def run_checking(cfg: dict) -> dict:
    out = {}
    for size, repeat in cfg["check_sizes"]:
        runs = []
        for rep in range(repeat):
            _log(f"checking: {size}, run {rep + 1}/{repeat}")
            runs.append(checking.measure(size, store=size in cfg["store_growth"]))
        out[size] = {"median": median_of(runs), "runs": runs}
    return out


def run_scale(cfg: dict) -> dict:
    """The history store at national size (``checking.store_worker``: first pull, `rollup`
    from the store) and the big-unit benchmark (``bigunit``); full mode only."""
    out: dict = {"store": {}, "bigunit": None}
    for size in cfg.get("store_sizes", ()):
        _log(f"history store: {size}")
        out["store"][size] = checking.measure_store(size, timeout=7200)
    if cfg.get("bigunit"):
        _log("big unit")
        out["bigunit"] = bigunit.main()
    return out


def scale_figures(scale: dict | None) -> dict:
    """The national store and big-unit figures (None when not measured: quick mode)."""
    st = (scale or {}).get("store", {}).get("national")
    big = (scale or {}).get("bigunit")

    def pick(d: dict | None, *path: str):
        for key in path:
            if d is None:
                return None
            d = d.get(key)
        return d

    return {
        "national_store_first_pull_seconds": pick(st, "store_record_s"),
        "national_store_peak_rss_mb": pick(st, "peak_store_mb"),
        "national_store_file_mb": pick(st, "store_file_mb"),
        "national_rollup_from_store_seconds": pick(st, "rollup_from_store_s"),
        "national_rollup_from_store_again_seconds": pick(st, "rollup_from_store_again_s"),
        "bigunit_check_seconds": pick(big, "check_first", "seconds"),
        "bigunit_check_peak_rss_mb": pick(big, "check_first", "peak_rss_mb"),
        "bigunit_check_unchanged_seconds": pick(big, "check_unchanged", "seconds"),
        "bigunit_run_seconds": pick(big, "run_first", "seconds"),
        "bigunit_run_peak_rss_mb": pick(big, "run_first", "peak_rss_mb"),
        "bigunit_run_unchanged_seconds": pick(big, "run_unchanged", "seconds"),
        "bigunit_run_one_cell_edited_seconds": pick(big, "run_one_cell_edited", "seconds"),
    }


# --- figures --------------------------------------------------------------------------------------

def figures(cfg: dict, s: sync.SyncSettings, sync_res: dict, naive_res: dict, check: dict,
            quick: bool) -> dict:
    n_big, n_naive = max(cfg["sync_units"]), cfg["naive_units"]
    ours = sync_res[f"concurrent/{n_big}"]["median"]  # pipeline.run as shipped
    seq = sync_res[f"sequential/{n_big}"]["median"]  # the same, one request at a time
    ours_small = sync_res[f"concurrent/{min(cfg['sync_units'])}"]["median"]
    ours_at_naive = sync_res.get(f"concurrent/{n_naive}", {}).get("median", ours_small)
    first, unchanged, changed = ours["first"], ours["unchanged"], ours["changed"]
    k = ours["changed_units"]

    naive_first = naive_res["counts"]["first"]
    naive_requests = naive_first["reads"] + naive_first["writes"]
    ours_requests = ours_at_naive["first"]["reads"] + ours_at_naive["first"]["writes"]
    per_unit_s = _median([r["wall_s"] / cfg["naive_sample"] for r in naive_res["timed"]])
    writes_per_unit = naive_first["writes"] / n_naive
    reads_per_unit = naive_first["reads"] / n_naive

    def naive_bound_windows(n: int) -> int:  # requests rounded: 285.6 × 25 is 7140, not 7140.0…1
        return max(math.ceil(round(writes_per_unit * n) / s.writes) - 1,
                   math.ceil(round(reads_per_unit * n) / s.reads) - 1, 0)

    naive_s = {n: max(per_unit_s * n, naive_bound_windows(n) * s.window_s)
               for n in (n_naive, 100)}
    # ours at 100 units: measured in full mode; scaled linearly from the largest N otherwise
    ours_100_s = first["wall_s"] if n_big == 100 else first["wall_s"] * 100 / n_big
    g_small, g_big = cfg["growth"]
    small, big = check[g_small]["median"], check[g_big]["median"]
    store_small = check[cfg["store_growth"][0]]["median"]
    store_big = check[cfg["store_growth"][1]]["median"]
    data_ratio = big["meeting_rows"] / small["meeting_rows"]
    nat = check.get("national", {}).get("median")
    province = check["province"]["median"]

    f = {
        # contract
        "first_run_reads_per_unit": first["reads"] / n_big,
        "first_run_writes_per_unit": first["writes"] / n_big,
        "unchanged_run_sheets_requests_per_unit": (unchanged["reads"] + unchanged["writes"])
        / n_big,
        "wall_to_quota_bound_ratio": first["ratio"],
        "naive_to_ours_requests_ratio": naive_requests / ours_requests,
        "province_check_seconds": province["check_s"],
        "national_check_seconds": nat["check_s"] if nat else None,
        "national_peak_rss_mb": nat["peak_check_mb"] if nat else None,
        "national_rollup_seconds": nat["rollup_s"] if nat else None,
        # issue 17: requests at the job's floor
        "changed_run_sheets_requests_per_changed_unit": (changed["reads"] + changed["writes"])
        / k,
        "unchanged_run_drive_requests_total": unchanged["drive"],
        "wall_to_job_floor_ratio": first["wall_s"] / sync.job_floor_s(n_big, s),
        "first_run_job_floor_s": sync.job_floor_s(n_big, s),
        # sync, pipeline.run as shipped (concurrent), largest N
        "sync_units": n_big,
        "quota_window_s": s.window_s,
        "workers": s.workers,
        "first_run_drive_per_unit": first["drive"] / n_big,
        "first_run_max_unit_reads": first["max_unit_reads"],
        "first_run_max_unit_writes": first["max_unit_writes"],
        "first_run_wall_s": first["wall_s"],
        "first_run_wall_windows": first["windows"],
        "first_run_quota_bound_windows": first["quota_windows"],
        "first_run_lower_bound_s": first["lower_bound_s"],
        "unchanged_run_drive_per_unit": unchanged["drive"] / n_big,
        "unchanged_run_wall_s": unchanged["wall_s"],
        "unchanged_run_wall_windows": unchanged["windows"],
        "changed_units": k,
        "changed_run_reads_per_changed_unit": changed["reads"] / k,
        "changed_run_writes_per_changed_unit": changed["writes"] / k,
        "changed_run_drive_per_unit": changed["drive"] / n_big,
        "changed_run_wall_s": changed["wall_s"],
        "changed_run_wall_windows": changed["windows"],
        "changed_run_wall_to_lower_bound_ratio": changed["ratio"],
        "rejected_429": sum(ours[r]["rejected_429"] for r in ("first", "unchanged", "changed")),
        # sync, smaller N
        "small_sync_units": min(cfg["sync_units"]),
        "small_first_run_wall_to_quota_bound_ratio": ours_small["first"]["ratio"],
        # the sequential baseline ([google] workers = 1), largest N
        "sequential_first_run_wall_to_quota_bound_ratio": seq["first"]["ratio"],
        "sequential_first_run_wall_windows": seq["first"]["windows"],
        "sequential_unchanged_run_wall_s": seq["unchanged"]["wall_s"],
        "sequential_changed_run_wall_s": seq["changed"]["wall_s"],
        "speedup_over_sequential_first_run": seq["first"]["wall_s"] / first["wall_s"],
        "speedup_over_sequential_unchanged_run": seq["unchanged"]["wall_s"]
        / unchanged["wall_s"],
        "speedup_over_sequential_changed_run": seq["changed"]["wall_s"] / changed["wall_s"],
        # naive baseline
        "naive_units": n_naive,
        "naive_first_run_reads_per_unit": reads_per_unit,
        "naive_first_run_writes_per_unit": writes_per_unit,
        "naive_unchanged_run_reads_per_unit": naive_res["counts"]["unchanged"]["reads"] / n_naive,
        "naive_seconds_per_unit": per_unit_s,
        "naive_seconds": naive_s[n_naive],
        "naive_seconds_100_units": naive_s[100],
        "naive_quota_bound_windows": naive_bound_windows(n_naive),
        "naive_to_ours_time_ratio": naive_s[n_naive] / ours_at_naive["first"]["wall_s"],
        "naive_to_ours_time_ratio_100_units": naive_s[100] / ours_100_s,
        # checking
        "province_meeting_rows": province["meeting_rows"],
        "province_parse_seconds": province["parse_s"],
        "province_rollup_seconds": province["rollup_s"],
        "province_peak_rss_mb": province["peak_rollup_mb"],
        "growth_data_ratio": data_ratio,
        "growth_check_time_ratio": big["check_s"] / small["check_s"],
        "growth_rollup_time_ratio": big["rollup_s"] / small["rollup_s"],
        # history store (record_pull + history findings; `check` and `run` keep it by default)
        "store_growth_data_ratio": store_big["meeting_rows"] / store_small["meeting_rows"],
        "growth_store_time_ratio": store_big["store_s"] / store_small["store_s"],
        "store_seconds_per_unit_1x": store_small["store_s"] / store_small["units"],
        "store_seconds_per_unit_10x": store_big["store_s"] / store_big["units"],
    }
    return f


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="scripts/bench", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smoke run (< 1 minute), small sizes")
    p.add_argument("--json", metavar="FILE", help="write the figures and details here")
    p.add_argument("--quota-window-s", type=float, help="emulator quota window (seconds)")
    p.add_argument("--latency-ms", type=float, help="minimum simulated latency per request")
    p.add_argument("--jitter-ms", type=float, help="+ uniform 0..jitter per request")
    p.add_argument("--repeat", type=int, help="runs per measurement (medians)")
    p.add_argument("--workers", type=int, help="[google] workers of the shipped variant "
                   "(default: the tool's default)")
    p.add_argument("--refigure", metavar="FILE", help=argparse.SUPPRESS)
    p.add_argument("--reuse-sync", metavar="FILE",
                   help="take the sync and naive results from an earlier --json FILE (same "
                        "mode) and run only the checking benchmark")
    args = p.parse_args(argv)
    cfg = dict(QUICK if args.quick else FULL)
    for key, value in (("window_s", args.quota_window_s), ("latency_ms", args.latency_ms),
                       ("jitter_ms", args.jitter_ms), ("repeat", args.repeat)):
        if value is not None:
            cfg[key] = value
    s = sync.SyncSettings(latency_ms=cfg["latency_ms"], jitter_ms=cfg["jitter_ms"],
                          reads=cfg["quota"], writes=cfg["quota"], window_s=cfg["window_s"],
                          unit_size=cfg["unit_size"],
                          workers=args.workers or sync.SyncSettings.workers)
    if args.refigure:  # recompute the figures of an earlier --json FILE (no measurement)
        with open(args.refigure, encoding="utf-8") as fh:
            doc = json.load(fh)
        s = sync.SyncSettings(**{k: v for k, v in doc["meta"]["settings"].items()
                                 if k not in ("margin", "repeat")})
        det = doc["details"]
        f = figures(cfg, s, det["sync"], det["naive"], det["checking"], args.quick)
        f.update(scale_figures(det.get("scale")))
        doc = {**f, "meta": doc["meta"], "details": det}
        if args.json:
            with open(args.json, "w", encoding="utf-8") as fh:
                json.dump(doc, fh, ensure_ascii=False, indent=1)
        print(report(f, cfg, s, det["sync"], det["naive"], det["checking"]), flush=True)
        return 0
    started = time.monotonic()
    load_start = os.getloadavg()
    if args.reuse_sync:
        with open(args.reuse_sync, encoding="utf-8") as fh:
            earlier = json.load(fh)
        if earlier["meta"]["mode"] != ("quick" if args.quick else "full"):
            p.error("--reuse-sync: the file comes from the other mode")
        s = sync.SyncSettings(**{k: v for k, v in earlier["meta"]["settings"].items()
                                 if k not in ("margin", "repeat")})
        sync_res, naive_res = earlier["details"]["sync"], earlier["details"]["naive"]
        sync_reused = {"from": args.reuse_sync, "date": earlier["meta"]["date"]}
    else:
        sync_res = run_sync(cfg, s, ["concurrent", "sequential"])
        naive_res = run_naive(cfg, s)
        sync_reused = None
    check = run_checking(cfg)
    scale = run_scale(cfg)
    f = figures(cfg, s, sync_res, naive_res, check, args.quick)
    f.update(scale_figures(scale))
    doc = {**f, "meta": {"mode": "quick" if args.quick else "full",
                         "date": datetime.now(UTC).isoformat(timespec="seconds"),
                         "seconds": round(time.monotonic() - started, 1),
                         "loadavg_start": load_start, "loadavg_end": os.getloadavg(),
                         "sync_reused": sync_reused,
                         "machine": machine(), "settings": {**asdict(s), "margin": s.margin,
                                                            "repeat": cfg["repeat"]}},
           "details": {"sync": sync_res, "naive": naive_res, "checking": check,
                       "scale": scale}}
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, ensure_ascii=False, indent=1)
    print(report(f, cfg, s, sync_res, naive_res, check), flush=True)
    return 0


def report(f: dict, cfg: dict, s: sync.SyncSettings, sync_res: dict, naive_res: dict,
           check: dict) -> str:
    w = s.window_s
    out = [f"Settings: latency {s.latency_ms:g}–{s.latency_ms + s.jitter_ms:g} ms, "
           f"{s.reads} reads + {s.writes} writes per {w:g} s window, units of "
           f"'{s.unit_size}' size, medians of {cfg['repeat']} run(s)\n"]
    rows = []
    for key, res in sync_res.items():
        m = res["median"]
        for run in ("first", "unchanged", "changed"):
            r = m[run]
            n = m["units"]
            rows.append([key, run, r["reads"] / n, r["writes"] / n, r["drive"] / n,
                         r["wall_s"], r["windows"], r["quota_windows"], r["lower_bound_s"],
                         r["ratio"], r["rejected_429"]])
    out.append(_table("Sync (per unit: Sheets reads, writes, Drive; wall; bounds)",
                      ["variant/N", "run", "reads/u", "writes/u", "drive/u", "wall s",
                       "windows", "Q bound", "LB s", "wall/LB", "429"], rows))
    out.append(_table("Naive gspread baseline", ["N", "reads/u", "writes/u", "s/unit",
                                                 "seconds", "Q bound (windows)", "ratio req",
                                                 "ratio time"],
                      [[f["naive_units"], f["naive_first_run_reads_per_unit"],
                        f["naive_first_run_writes_per_unit"], f["naive_seconds_per_unit"],
                        f["naive_seconds"], f["naive_quota_bound_windows"],
                        f["naive_to_ours_requests_ratio"], f["naive_to_ours_time_ratio"]]]))
    rows = []
    for size, res in check.items():
        m = res["median"]
        rows.append([size, m["units"], m["cells"], m["meeting_rows"], m["findings"],
                     m["parse_s"], m["check_s"], m["peak_check_mb"], m["rollup_s"],
                     m["peak_rollup_mb"], m.get("store_s"), len(res["runs"])])
    out.append(_table("Checking (medians)", ["size", "units", "cells", "meeting rows",
                                             "findings", "parse s", "parse+check s",
                                             "peak MB", "roll-up s", "peak MB (+roll-up)",
                                             "history store s", "runs"], rows))
    out.append(f"Growth {cfg['growth'][0]} → {cfg['growth'][1]}: data ×"
               f"{f['growth_data_ratio']:.1f}, parse+check ×{f['growth_check_time_ratio']:.1f}, "
               f"roll-up ×{f['growth_rollup_time_ratio']:.1f}; history store "
               f"{' → '.join(cfg['store_growth'])}: data ×{f['store_growth_data_ratio']:.1f}, "
               f"time ×{f['growth_store_time_ratio']:.1f} "
               f"({f['store_seconds_per_unit_1x'] * 1000:.0f} "
               f"→ {f['store_seconds_per_unit_10x'] * 1000:.0f} ms per unit)\n")
    if f.get("national_store_first_pull_seconds") is not None:
        out.append(f"History store, national first pull: {f['national_store_first_pull_seconds']}"
                   f" s, peak {f['national_store_peak_rss_mb']} MB, "
                   f"{f['national_store_file_mb']} MB on disk; rollup from the store "
                   f"{f['national_rollup_from_store_seconds']} s (again: "
                   f"{f['national_rollup_from_store_again_seconds']} s)")
    if f.get("bigunit_check_seconds") is not None:
        out.append(f"Big unit: check {f['bigunit_check_seconds']} s, "
                   f"{f['bigunit_check_peak_rss_mb']} MB; run {f['bigunit_run_seconds']} s, "
                   f"{f['bigunit_run_peak_rss_mb']} MB; unchanged run "
                   f"{f['bigunit_run_unchanged_seconds']} s; one cell edited "
                   f"{f['bigunit_run_one_cell_edited_seconds']} s")
    return "\n".join(out)


if __name__ == "__main__":
    raise SystemExit(main())

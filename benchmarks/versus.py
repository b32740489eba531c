"""``python -m benchmarks.versus [--base REV] [--pairs N] [--store] [--size S] [--json FILE]``:
the national figures of issue 17 against the code they were first measured on, in the same
minutes.

Issue 17 states its national targets in seconds, beside the figures of the code before it
(``ISSUE_17``). This machine's speed drifts: the very same base code took 22 s for parse + check
when the issue was written and 32–41 s on later days. Seconds measured on different days say
little, so each target is also compared as the ratio it asks for (target ÷ the base figure
then) with the ratio measured now (this tree ÷ the base, back to back, same data). The base
runs from a temporary git worktree at ``--base``, with its own ``benchmarks.checking`` (parse +
check, roll-up) and, with ``--store``, ``STORE_DRIVER``, which records every unit's first pull
into a fresh history store and builds the roll-up from it with whichever API the tree has.
Each measurement is a fresh interpreter. Memory targets are absolute: RSS does not drift.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASE = "3c2927d"  # the last commit before issue 17 (BENCHMARKS.md, section 1a)


@dataclass(frozen=True)
class Target:
    key: str  # the figure in the benchmark's JSON
    label: str
    seconds: float  # the issue's target
    base_then: float  # the base figure the issue quotes (the slowest, where it gives a range)

    @property
    def ratio(self) -> float:
        return self.seconds / self.base_then


ISSUE_17 = (
    Target("check_s", "national parse + check", 10, 22),  # "parse 13 s + check 9 s"
    Target("rollup_s", "national roll-up", 15, 103),  # "roll-up 92–103 s"
    Target("first_pull_s", "history store, first pull", 60, 272),
    Target("rollup_from_store_s", "`rollup` from the store", 30, 352),
)
# Memory targets, absolute: RSS and disk do not drift with the machine's speed.
MEMORY_MB = (
    ("peak_check_mb", "peak RSS, parse + check", 1500),  # "≤ 1.5 GB peak"
    ("peak_first_pull_mb", "peak RSS, first pull", 2000),  # "≤ 2 GB peak"
    ("store_file_mb", "history store on disk", 600),  # "≤ 600 MB on disk"
)

# Another tree's measurements start with this, so that its package is its own, module by
# module. This tree's editable install (setuptools: a finder whose ``MAPPING`` gives each
# top-level package's folder) answers after the tree's directory for any module the tree lacks
# (``sheets_sync.core`` would be this tree's in a base without it), and maps
# ``sheets_sync.templates`` to this tree's templates/. Its folders are moved to the tree's.
ISOLATED = f"root = {str(ROOT)!r}" + """
import os, sys
for finder in list(sys.meta_path):
    name = getattr(finder, "__module__", "")
    if not name.startswith("__editable__"):
        continue
    mapping = getattr(sys.modules.get(name), "MAPPING", None)
    if isinstance(mapping, dict):
        mapping.update({k: os.path.join(os.getcwd(), os.path.relpath(v, root))
                        for k, v in mapping.items() if v.startswith(root + os.sep)})
    else:
        sys.meta_path.remove(finder)
"""
CHECKING = "import runpy; runpy.run_module('benchmarks.checking', run_name='__main__')"

# Run with the tree as the current directory (``python -c STORE_DRIVER SIZE``): the tree's own
# modules, old or new.
STORE_DRIVER = """
import contextlib, json, sys, tempfile, time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from benchmarks.checking import _peak_mb
from benchmarks.synthetic import AS_OF, SIZES, YEAR, dataset
try:
    from sheets_sync.core import heap
    from sheets_sync.core.grid import parse_unit
    from sheets_sync.core.template import load_template
    from sheets_sync.sync import pipeline
    from sheets_sync.sync.store import Store
    heap.fewer_young_collections()
    bulk = heap.bulk
except ImportError:  # before the layers of issue 16
    from sheets_sync import pipeline
    from sheets_sync.store import Store
    from sheets_sync.template import load_template
    from sheets_sync.workbook import parse_unit
    bulk = contextlib.nullcontext
out = {}
template = load_template()
config, units = dataset(SIZES[sys.argv[1]])
with tempfile.TemporaryDirectory(prefix="versus-store-") as tmp:
    config = replace(config, state_dir=Path(tmp) / "state", out_dir=Path(tmp) / "out")
    with bulk():
        reads = [(u, raw, parse_unit(template, raw, u.code, u.name, AS_OF)) for u, raw in units]
        start = time.perf_counter()
        with Store.open(config.state_dir) as db:
            for u, raw, data in reads:
                db.record_pull(u.code, raw, data, datetime(2027, 1, 20, 8), AS_OF)
        out["first_pull_s"] = round(time.perf_counter() - start, 3)
        out["peak_first_pull_mb"] = round(_peak_mb(), 1)
        del reads
    out["store_file_mb"] = round(
        sum(p.stat().st_size for p in config.state_dir.rglob("*")) / 2**20, 1)
    with bulk():
        start = time.perf_counter()
        pipeline.rollup_from_store(config, AS_OF, YEAR)
        out["rollup_from_store_s"] = round(time.perf_counter() - start, 3)
print(json.dumps(out))
"""


def _last_json(args: list[str], cwd: Path, timeout: float) -> dict:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:3])} in {cwd} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(tree: Path, store: bool, size: str = "national", timeout: float = 7200) -> dict:
    """The figures of one tree, each in a fresh interpreter."""
    prelude = "" if tree.resolve() == ROOT else ISOLATED
    got = _last_json([sys.executable, "-c", prelude + CHECKING, size], tree, timeout)
    if store:
        got |= _last_json([sys.executable, "-c", prelude + STORE_DRIVER, size], tree, timeout)
    return got


def compare(base: list[dict], now: list[dict], targets=ISSUE_17) -> list[dict]:
    """Per target measured in both: medians, this tree ÷ the base, and whether it is within
    the ratio the target asks for."""
    rows = []
    for t in targets:
        b = [r[t.key] for r in base if t.key in r]
        n = [r[t.key] for r in now if t.key in r]
        if not b or not n:
            continue
        ratios = [x / y for x, y in zip(n, b)]  # pair by pair: the same minutes
        ratio = statistics.median(ratios)
        rows.append({"figure": t.label, "key": t.key, "base_s": b, "now_s": n,
                     "ratios": [round(r, 3) for r in ratios], "ratio": round(ratio, 3),
                     "target_s": t.seconds, "base_then_s": t.base_then,
                     "target_ratio": round(t.ratio, 3), "met": ratio <= t.ratio})
    return rows


def within_limits(base: list[dict], now: list[dict], limits=MEMORY_MB) -> list[dict]:
    """Per memory target measured: every run of this tree at or under the limit?"""
    rows = []
    for key, label, limit in limits:
        n = [r[key] for r in now if key in r]
        if n:
            rows.append({"figure": label, "key": key, "base_mb": [r[key] for r in base if key in r],
                         "now_mb": n, "limit_mb": limit, "met": max(n) <= limit})
    return rows


def _worktree(rev: str, where: Path) -> Path:
    path = where / "base"
    subprocess.run(["git", "worktree", "add", "--detach", str(path), rev], cwd=ROOT,
                   check=True, capture_output=True)
    return path


def _joined(values: list[float], digits: int) -> str:
    return "/".join(f"{x:.{digits}f}" for x in values)


def _print_table(header: list[str], lines: list[list[str]]) -> None:
    """Left-aligned first column, right-aligned figures, then "met"."""
    for cells in (header, *lines):
        *values, met = cells
        print(" ".join(f"{v:<{w}}" if k == 0 else f"{v:>{w}}"
                       for k, (v, w) in enumerate(zip(values, (28, 14, 12, 9, 7)))) + f"  {met}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base", default=BASE)
    p.add_argument("--pairs", type=int, default=2)
    p.add_argument("--store", action="store_true", help="also the history store (slow: the "
                   "base records a national first pull in about ten minutes)")
    p.add_argument("--size", default="national", help="a size of benchmarks.synthetic")
    p.add_argument("--json")
    args = p.parse_args(argv)
    base_runs: list[dict] = []
    now_runs: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="versus-") as tmp:
        tree = _worktree(args.base, Path(tmp))
        try:
            for k in range(args.pairs):
                print(f"pair {k + 1}/{args.pairs}: {args.base} …", file=sys.stderr, flush=True)
                base_runs.append(measure(tree, args.store, args.size))
                print(f"pair {k + 1}/{args.pairs}: this tree …", file=sys.stderr, flush=True)
                now_runs.append(measure(ROOT, args.store, args.size))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT,
                           capture_output=True)
    rows, memory = compare(base_runs, now_runs), within_limits(base_runs, now_runs)
    _print_table(["figure", "base s", "now s", "now/base", "target", "met"], [
        [r["figure"], _joined(r["base_s"], 1), _joined(r["now_s"], 1), f"{r['ratio']:.3f}",
         f"{r['target_ratio']:.3f}", "yes" if r["met"] else "NO"] for r in rows])
    print()
    _print_table(["figure", "base MB", "now MB", "limit", "met"], [
        [r["figure"], _joined(r["base_mb"], 0), _joined(r["now_mb"], 0), str(r["limit_mb"]),
         "yes" if r["met"] else "NO"] for r in memory])
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"base": args.base, "base_runs": base_runs, "now_runs": now_runs, "compared": rows,
             "memory": memory},
            indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Chaos, Google path: a person inserts or deletes a column or a row between any two requests
of a unit (issue 11 item 6).

Each run starts from the small district of test_chaos (fresh, or flagged by a clean run at an
earlier as-of date), then runs `sheets-sync run` while a person edits one Google unit's tab:
before the run, or right after the unit's k-th request (its read, the write-time Drive check,
the structural request, the value write — whichever come). Invariants:

  staff      after the faulted run, every tab's staff cells (the grid without the tool
             columns, found by header text) are the start state with the person's edit — no
             value written over, none lost, order kept;
  wrong-row  after one clean rerun, every data row of every unit carries exactly the flags its
             own data call for (derived from the rerun's findings, not from what was written);
  exception  neither run raises.

Deterministic: ``CHAOS_SEED`` (default fixed), ``CHAOS_RACE_RUNS`` (default 40).
"""
from __future__ import annotations

import os
import random
import time
from collections import Counter
from typing import Any

import pytest

from chaos_support import TAB_NAMES, TEMPLATE, emu_grids, expected_flags, flags_diff, snapshot
from google_support import staff_only
from test_chaos import A0, A1, GOOGLE, harness  # noqa: F401

pytestmark = pytest.mark.chaos

RUNS = int(os.environ.get("CHAOS_RACE_RUNS", "40"))
ONLY = {int(x) for x in os.environ.get("CHAOS_ONLY", "").split(",") if x.strip()}
SEED = int(os.environ.get("CHAOS_SEED") or 20261203)
OPS = ("insert-column", "delete-column", "insert-row", "delete-row")


def edited(grid: list[list[Any]], op: dict) -> list[list[Any]]:
    """``grid`` with the person's edit applied the way the emulator applies it."""
    rows = [list(r) for r in grid]
    kind, i = op["op"], op["index"]
    if kind == "insert_columns":
        return [r[:i] + [None] + r[i:] if len(r) > i else r for r in rows]
    if kind == "delete_columns":
        return [r[:i] + r[i + 1:] for r in rows]
    if kind == "insert_rows":
        if i <= len(rows):
            rows.insert(i, list(op.get("values", [[]])[0]))
        return rows
    if i < len(rows):
        del rows[i]
    return rows


def race_once(h, n: int, rng: random.Random, counts: Counter, violations: Counter,
              details: list[str]) -> None:
    start = "a0" if rng.random() < 0.75 else "fresh"
    config = h.prepare(h.root / "race")
    if start == "a0":
        h.run(config, A0)
    code = rng.choice(GOOGLE)
    sid = h.ids[code]
    tab = rng.choice(["meetings", "meetings", "cells", "briefings"])
    title = TAB_NAMES[tab]
    grid = emu_grids(h.emu, sid)[title]
    header_r = 1 if tab == "meetings" else 0
    staff_cols = len(TEMPLATE.tab(tab).columns)
    data_rows = max(1, len(grid) - header_r - 1)
    kind = rng.choice(OPS)
    if kind == "insert-column":
        op = {"op": "insert_columns", "index": rng.randrange(0, staff_cols + 1)}
    elif kind == "delete-column":
        op = {"op": "delete_columns", "index": rng.randrange(0, staff_cols)}
    elif kind == "insert-row":
        row = ["CB01", "08/2026", "Thường kỳ"] if tab == "meetings" else ["x"]
        op = {"op": "insert_rows", "index": header_r + 1 + rng.randrange(0, data_rows + 1),
              "values": [row], "input": "RAW"}
    else:
        op = {"op": "delete_rows", "index": header_r + 1 + rng.randrange(0, data_rows)}
    # 0: before the run; else after the unit's k-th request (a flagged, unchanged unit sends
    # the write-time check and the write; a fresh one its read, the check, the structural
    # request and the write)
    k = rng.randrange(0, 3 if start == "a0" else 5)
    where = f"race {n} {start} {code} {title} {op['op']}@{op['index']} after request {k}"
    counts[kind] += 1

    before = emu_grids(h.emu, sid)
    fired = {"done": k == 0, "armed": k > 0}
    if k == 0:
        h.emu.edit(sid, title, op)
    else:
        def hook(emu, info):
            if fired["armed"]:
                fired["armed"], fired["done"] = False, True
                emu.edit(sid, title, op)

        h.emu.on_request(hook, spreadsheet_id=sid, after=k)
    others = {c: emu_grids(h.emu, h.ids[c]) for c in GOOGLE if c != code}
    outcome = None
    try:
        outcome = h.run(config, A1, google=h.fast)
    except Exception as e:  # noqa: BLE001 - the job must never raise
        violations["exception"] += 1
        details.append(f"[{where}] exception: {type(e).__name__}: {e}")
    h.emu.clear_faults()
    fired["armed"] = False
    if not fired["done"]:  # fewer requests than k: the person edits after the run
        h.emu.edit(sid, title, op)
        counts["edit after the run"] += 1
    after = emu_grids(h.emu, sid)
    for t, g in before.items():
        if t in (TEMPLATE.check_tab, TEMPLATE.guide_tab):
            continue
        want = staff_only(edited(g, op) if t == title else g)
        got = staff_only(after.get(t, []))
        if got != want:
            violations["staff"] += 1
            diff = next((f"row {r}: {a!r} != {b!r}" for r, (a, b) in enumerate(zip(got, want))
                         if a != b), f"{len(got)} rows != {len(want)}")
            writes = [(w.unit, w.status, w.message) for w in outcome.writes] if outcome else []
            details.append(f"[{where}] staff: {t} {diff} writes={writes}")
    for c, grids in others.items():
        now = emu_grids(h.emu, h.ids[c])
        for t, g in grids.items():
            if t in (TEMPLATE.check_tab, TEMPLATE.guide_tab):
                continue
            if staff_only(now.get(t, [])) != staff_only(g):
                violations["staff"] += 1
                details.append(f"[{where}] staff: {c} {t}")
    try:
        rerun = h.run(config, A1)
    except Exception as e:  # noqa: BLE001
        violations["exception"] += 1
        details.append(f"[{where}] exception (rerun): {type(e).__name__}: {e}")
        return
    flags = expected_flags(rerun)
    for c in GOOGLE:
        diff = flags_diff(snapshot(emu_grids(h.emu, h.ids[c])), flags.get(c, {}))
        if diff:
            violations["wrong-row"] += 1
            details.append(f"[{where}] wrong-row {c}: {' | '.join(diff[:3])}")


def test_chaos_column_and_row_races(harness, capsys):  # noqa: F811 - the fixture
    h = harness
    counts: Counter = Counter()
    violations: Counter = Counter()
    details: list[str] = []
    t0 = time.perf_counter()
    for n in range(RUNS):
        if ONLY and n not in ONLY:
            continue
        rng = random.Random(f"{SEED}-race-{n}")
        try:
            race_once(h, n, rng, counts, violations, details)
        except Exception as e:  # noqa: BLE001 - a harness failure is reported like the rest
            violations["exception"] += 1
            details.append(f"[race {n} (harness)] {type(e).__name__}: {e}")
    line = (f"CHAOS-RACES seed={SEED} runs={RUNS} "
            f"({', '.join(f'{k}={counts[k]}' for k in (*OPS, 'edit after the run'))}) in "
            f"{time.perf_counter() - t0:.0f}s; invariant violations={sum(violations.values())} "
            f"(staff={violations['staff']}, wrong-row={violations['wrong-row']}, "
            f"exception={violations['exception']})")
    with capsys.disabled():
        print(f"\n{line}")
    assert not violations, line + "\n" + "\n".join(details[:30])

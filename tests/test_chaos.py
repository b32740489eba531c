"""Chaos suite: randomised runs of the whole job with faults injected at random points, and the
reliability invariants (design.md) checked after every one of them.

Each run starts from a small district (two units on the Google emulator, one local .xlsx),
usually already flagged by a clean run at an earlier as-of date (previous flags, a previous
roll-up, a history store), then runs `sheets-sync run` at the as-of date with one fault:

  429-storm, 5xx-storm     answers 429 / 500-504 (optionally after applying a write), up to
                           beyond the retry budget, on reads, writes or Drive requests;
  timeout                  answers slower than the client's read timeout;
  person-edit              a person types a value or inserts a row, before the run or between
                           the unit's read and its write;
  header-renamed           a person renames a column header (before / between read and write);
  row-deleted              a person deletes a data row (before / between read and write);
  revoke                   the unit's spreadsheet stops being shared with the service account
                           (before the run / between read and write); shared again afterwards;
  file-opened              a person opens the local workbook in Excel/LibreOffice (its lock file
                           appears beside it) before the run or between its read and its write;
                           closed again before the clean rerun;
  kill                     the real console script `sheets-sync run` killed with SIGKILL at a
                           random moment.

Invariants after the faulted run (violations are counted, the test fails if any):

  staff       no staff cell differs from the start state plus the person's own edit;
  wrong-row   every data row's (status, details) flags are either the row's previous flags or
              those a clean run computes for the row's data (before or after the person's edit:
              the edit may come after the tool read the unit) — never another row's flags;
  rollup      the roll-up is the previous file (same bytes) or a complete new workbook;
  isolation   a fault on one unit never stops the others (read and written or unchanged; a
              write Google left uncertain is postponed to the next run, checked by converge);
  leftovers   in-process runs leave no temporary files;
  exception   the job never raises;
  converge    a clean rerun gives, per unit, the tool cells and staff cells of a reference
              run that never saw the fault (the person's edit applied at the same point);
  opened      a workbook open in Excel/LibreOffice is never written (same bytes), its unit is
              reported skipped (exit code 1).

Kill runs also check the local workbook (old bytes, or a complete workbook that opens with
openpyxl with every staff cell identical), the lock (the rerun takes it) and the backups.

``CHAOS_RUNS`` (default 80 in the suite, 200 per seed in ``scripts/soak``: 90 % in process,
10 % killed), ``CHAOS_SEED`` (printed; default the
fixed DEFAULT_SEED so the default suite is deterministic, ``random`` = a fresh one, as
``scripts/soak`` does) replays a whole session, ``CHAOS_ONLY=3,17`` replays single runs of it.
"""
from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from unittest import mock

import openpyxl
import pytest

from chaos_support import (
    TAB_NAMES,
    TEMPLATE,
    UNITS,
    EditingLocalBackend,
    Flags,
    UnitState,
    config_text,
    converge_diff,
    emu_grids,
    expected_flags,
    flag_violations,
    flags_diff,
    load,
    snapshot,
    staff_diff,
    with_dirs,
    write_unit_workbook,
    xlsx_grids,
)
from sheets_sync.core.a1 import col_letter
from sheets_sync.core.findings import READ_STATUSES
from sheets_sync.outputs.rollup import SHEETS, rollup_path
from sheets_sync.sources import google_sheets
from sheets_sync.sources.google_http import Quota, RequestStats, RetryPolicy
from sheets_sync.sources.google_sheets import GoogleBackend
from sheets_sync.sources.local_reader import LocalBackend
from sheets_sync.sync import pipeline
from sheets_sync.sync.session import job
from sheets_sync_emulator import Emulator

pytestmark = pytest.mark.chaos

A0, A1 = date(2026, 11, 5), date(2026, 11, 25)
RUNS = int(os.environ.get("CHAOS_RUNS", "80"))
KILLS = max(1, RUNS // 10) if RUNS >= 10 else 0
DEFAULT_SEED = 20261125


def _seed(value: str | None) -> int:
    if not value:
        return DEFAULT_SEED
    if value == "random":
        return random.SystemRandom().randrange(2**32)
    return int(value)


SEED = _seed(os.environ.get("CHAOS_SEED"))
ONLY = {int(x) for x in os.environ.get("CHAOS_ONLY", "").split(",") if x.strip()}
EXE = str(Path(sys.executable).parent / "sheets-sync")
KINDS = ("429-storm", "5xx-storm", "timeout", "person-edit", "header-renamed", "row-deleted",
         "revoke", "file-opened")
INVARIANTS = ("staff", "wrong-row", "rollup", "isolation", "leftovers", "exception", "converge",
              "kill-workbook", "kill-lock", "backups", "opened")
GOOGLE = [c for c, _, k in UNITS if k == "google"]
LOCAL = [c for c, _, k in UNITS if k == "local"]
READ_TIMEOUT = 0.25  # the faulted runs' read timeout; a slow answer takes 0.1 s more
SLOW = READ_TIMEOUT + 0.1


def fast_policy() -> RetryPolicy:
    return RetryPolicy(timeout=(2.0, READ_TIMEOUT), max_attempts=4, base_delay=0.001,
                       max_delay=0.004, max_total_sleep=0.05, jitter=0.1)


def clean_policy() -> RetryPolicy:
    return RetryPolicy(timeout=(5.0, 10.0), max_attempts=6, base_delay=0.01, max_delay=0.05,
                       max_total_sleep=5.0, jitter=0.1)


# --- a person's edits -----------------------------------------------------------------------

def _header_row(tab_id: str) -> int:
    """0-based row of the header in chaos_support.write_unit_workbook."""
    return 1 if tab_id == "meetings" else 0


def _col(tab_id: str, col_id: str) -> int:
    return [c.id for c in TEMPLATE.tab(tab_id).columns].index(col_id)


@dataclass(frozen=True)
class Edit:
    unit: str
    op: str  # set / insert / delete / rename
    tab: str
    k: int = 0  # data row index (0 = the row under the header)
    col: str | None = None
    value: Any = None
    row: tuple = ()

    @property
    def kind(self) -> str:
        return {"rename": "header-renamed", "delete": "row-deleted"}.get(self.op, "person-edit")

    def origin(self, unit: str, tab_id: str, i: int) -> int | None:
        """The row before the edit of the row at data index ``i`` after it (None: new)."""
        if unit != self.unit or tab_id != self.tab:
            return i
        if self.op == "insert":
            return i if i < self.k else (None if i == self.k else i - 1)
        if self.op == "delete":
            return i if i < self.k else i + 1
        return i

    def google_op(self) -> dict:
        hr = _header_row(self.tab)
        if self.op in ("set", "rename"):
            row = hr + 2 + self.k if self.op == "set" else hr + 1
            return {"op": "set", "range": f"{col_letter(_col(self.tab, self.col))}{row}",
                    "values": [[self.value]], "input": "RAW"}
        if self.op == "insert":
            return {"op": "insert_rows", "index": hr + 1 + self.k, "values": [list(self.row)],
                    "input": "RAW"}
        return {"op": "delete_rows", "index": hr + 1 + self.k, "count": 1}

    def apply_google(self, emu: Emulator, sid: str) -> None:
        emu.edit(sid, TAB_NAMES[self.tab], self.google_op())

    def apply_local(self, path: Path) -> None:
        wb = openpyxl.load_workbook(path)
        ws = wb[TAB_NAMES[self.tab]]
        hr = _header_row(self.tab) + 1  # 1-based
        if self.op == "set":
            ws.cell(hr + 1 + self.k, _col(self.tab, self.col) + 1).value = self.value
        elif self.op == "rename":
            ws.cell(hr, _col(self.tab, self.col) + 1).value = self.value
        elif self.op == "insert":
            ws.insert_rows(hr + 1 + self.k)
            for j, v in enumerate(self.row):
                ws.cell(hr + 1 + self.k, j + 1).value = v
        else:
            ws.delete_rows(hr + 1 + self.k)
        wb.save(path)


def _meeting_values(cell: str, month: int, day: int) -> tuple:
    """A new meeting row as a person types it (text dates, day first)."""
    v = {"cell_code": cell, "month": f"{month:02d}/2026", "meeting_type": "Thường kỳ",
         "meeting_date": f"{day:02d}/{month:02d}/2026", "start_time": "19:30",
         "end_time": "21:00", "premeeting_date": f"01/{month:02d}/2026", "required_count": 20,
         "present": 18, "excused": 2, "unexcused": 0, "minutes_full": "Có", "rating": "Khá"}
    return tuple(v.get(c.id) for c in TEMPLATE.tab("meetings").columns)


def edit_variants(unit: str, rows: dict[str, list[dict]]) -> list[Edit]:
    """A finite set of edits per unit (so that reference runs can be cached)."""
    n = {t: len(r) for t, r in rows.items()}
    last = n["meetings"] - 1
    return [
        Edit(unit, "set", "meetings", 0, "present", 12),
        Edit(unit, "set", "meetings", last, "present", 20),
        Edit(unit, "set", "meetings", 1, "note", "Đã bổ sung biên bản"),
        Edit(unit, "set", "meetings", last, "month", "08/2026"),  # a key column
        Edit(unit, "set", "cells", 0, "secretary_dual", "Có"),
        Edit(unit, "set", "briefings", 1, "form", "Hội nghị"),
        Edit(unit, "insert", "meetings", 1, row=_meeting_values("CB01", 8, 4)),
        Edit(unit, "insert", "meetings", n["meetings"], row=_meeting_values("CB02", 8, 12)),
        Edit(unit, "delete", "meetings", 0),
        Edit(unit, "delete", "meetings", last // 2 + 1),
        Edit(unit, "delete", "briefings", 0),
        Edit(unit, "delete", "cells", n["cells"] - 1),
        Edit(unit, "rename", "meetings", 0, "present", "Số có mặt (người)"),
        Edit(unit, "rename", "meetings", 0, "note", "Ghi chú khác"),
        Edit(unit, "rename", "meetings", 0, "month", "Tháng"),  # a key column
        Edit(unit, "rename", "briefings", 0, "form", "Hinh thuc"),  # same header without accents
    ]


# --- the harness ----------------------------------------------------------------------------

@dataclass
class Ref:
    pre: dict[str, Flags] | None  # flags of a clean run at A1 before the edit ("mid" edits)
    post: dict[str, Flags]  # flags of the converged state (from the run's findings)
    state: dict[str, UnitState]  # the converged spreadsheets


@dataclass
class Harness:
    emu: Emulator
    root: Path
    info: dict
    key_file: Path
    ids: dict[str, str]
    sources: dict[str, Path]
    base: Any  # Config
    rows: dict[str, dict]
    fast: GoogleBackend = None
    clean: GoogleBackend = None
    local: LocalBackend = field(default_factory=LocalBackend)
    refs: dict = field(default_factory=dict)
    staff_cache: dict = field(default_factory=dict)
    counts: Counter = field(default_factory=Counter)
    violations: Counter = field(default_factory=Counter)
    details: list = field(default_factory=list)
    notes: Counter = field(default_factory=Counter)
    kill_duration: float | None = None

    def __post_init__(self):
        self.fast = GoogleBackend(self.info, self.emu.base_url, fast_policy(),
                                  Quota(100_000, 100_000, 60.0))
        self.clean = GoogleBackend(self.info, self.emu.base_url, clean_policy(),
                                   Quota(100_000, 100_000, 60.0))

    # setup --------------------------------------------------------------------------------
    def prepare(self, folder: Path):
        """Fresh emulator files, a fresh local copy and state/out folders under ``folder``."""
        if folder.exists():
            shutil.rmtree(folder)
        (folder / "data").mkdir(parents=True)
        self.emu.reset()
        for code in GOOGLE:
            self.emu.seed_xlsx(self.ids[code], self.sources[code],
                               shared_with=[self.info["client_email"]])
        paths = {}
        for code in LOCAL:
            paths[code] = folder / "data" / f"{code}.xlsx"
            shutil.copyfile(self.sources[code], paths[code])
        return with_dirs(self.base, folder, paths)

    def run(self, config, as_of: date, google: GoogleBackend | None = None,
            local: LocalBackend | None = None) -> pipeline.RunOutcome:
        google = google or self.clean
        local = local or self.local
        google.transport.stats = RequestStats()
        return pipeline.run(config, lambda u: google if u.is_google else local, as_of)

    def states(self, config) -> dict[str, UnitState]:
        out = {code: snapshot(emu_grids(self.emu, self.ids[code])) for code in GOOGLE}
        for u in config.units:
            if u.code in LOCAL:
                out[u.code] = snapshot(xlsx_grids(u.path))
        return out

    def apply(self, edit: Edit, config) -> None:
        if edit.unit in GOOGLE:
            edit.apply_google(self.emu, self.ids[edit.unit])
        else:
            edit.apply_local(config.unit(edit.unit).path)

    # references ---------------------------------------------------------------------------
    def expected_staff(self, edit: Edit | None) -> dict[str, dict]:
        """Staff cells of the pristine workbooks with the person's edit (no run at all)."""
        key = edit
        if key not in self.staff_cache:
            folder = self.root / "scratch"
            config = self.prepare(folder)
            if edit is not None:
                self.apply(edit, config)
            self.staff_cache[key] = {c: s.staff for c, s in self.states(config).items()}
        return self.staff_cache[key]

    def reference(self, start: str, edit: Edit | None, timing: str | None) -> Ref:
        """Runs that never saw a fault: from the same start, the person's edit applied before
        the run ("before") or after a first clean run at A1 ("mid"). The converged spreadsheets
        must carry exactly the flags derived from the run's findings."""
        key = (start, edit, timing)
        if key not in self.refs:
            with mock.patch("sheets_sync.sync.pipeline.build_rollup"):  # unit workbooks only
                self.refs[key] = self._reference(start, edit, timing)
            for code, state in self.refs[key].state.items():
                diff = flags_diff(state, self.refs[key].post[code])
                if diff:
                    self.violation("wrong-row", f"reference {key} {code}", diff)
        return self.refs[key]

    def _reference(self, start: str, edit: Edit | None, timing: str | None) -> Ref:
        config = self.prepare(self.root / "ref")
        if start == "a0":
            self.run(config, A0)
        pre = None
        if edit is not None and timing == "mid":
            pre = expected_flags(self.run(config, A1))
        if edit is not None:
            self.apply(edit, config)
        post = expected_flags(self.run(config, A1))
        return Ref(pre, post, self.states(config))

    # bookkeeping --------------------------------------------------------------------------
    def violation(self, invariant: str, where: str, lines) -> None:
        self.violations[invariant] += 1
        lines = list(lines) if not isinstance(lines, str) else [lines]
        self.details.append(f"[{where}] {invariant}: " + " | ".join(lines[:4]))


def rollup_ok(path: Path, before: bytes | None) -> str | None:
    """None when the roll-up at ``path`` is the previous file or a complete new workbook."""
    if not path.exists():
        return None if before is None else "bảng tổng hợp biến mất"
    data = path.read_bytes()
    if before is not None and data == before:
        return None
    try:
        wb = openpyxl.load_workbook(path, read_only=True)
        names = wb.sheetnames
        wb.close()
    except Exception as e:  # noqa: BLE001 - any failure to open is the violation
        return f"bảng tổng hợp không mở được ({type(e).__name__})"
    return None if tuple(names) == SHEETS else f"thiếu sheet: {names}"


def leftovers(config) -> list[str]:
    found = []
    for folder in (config.out_dir, *(u.path.parent for u in config.units if u.path)):
        if Path(folder).is_dir():
            found += [p.name for p in Path(folder).iterdir() if ".tmp" in p.name]
    return sorted(set(found))


# --- one in-process run ---------------------------------------------------------------------

def chaos_once(h: Harness, n: int, rng: random.Random, kind: str) -> None:
    start = "a0" if rng.random() < 0.75 else "fresh"
    where = f"run {n} {kind} {start}"
    config = h.prepare(h.root / "run")
    if start == "a0":
        h.run(config, A0)
    prev = h.states(config)
    rpath = rollup_path(config, A1)
    prev_rollup = rpath.read_bytes() if rpath.exists() else None
    email = h.info["client_email"]

    edit: Edit | None = None
    timing: str | None = None
    target: str | None = None  # the one unit the fault is aimed at (None: every Google unit)
    revoked: str | None = None
    local = h.local
    hooks: list[dict] = []

    def at_read(code: str, action: Callable[[], None]) -> None:
        """Run ``action`` right after the tool has what it checks of ``code`` and before it
        writes: after the run's Drive listing when the stored pull will be used (an unchanged
        spreadsheet), after the unit's one read otherwise; local units: right after the file
        was read. (Edits right before a Google write: test_chaos_races.py.)"""
        nonlocal local
        if code in LOCAL:
            local = EditingLocalBackend(code, lambda _path: action())
            return
        state = {"armed": True}
        hooks.append(state)

        def hook(emu, info):
            if state["armed"]:
                state["armed"] = False
                action()

        if start == "a0":  # the run's one Drive listing, which gives every unit's version
            h.emu.on_request(hook, method="GET", path_regex=r"^/drive/v3/files$", kind="drive")
        else:  # the unit's one read (spreadsheets.get)
            h.emu.on_request(hook, spreadsheet_id=h.ids[code], kind="read")

    if kind in ("429-storm", "5xx-storm", "timeout"):
        target = rng.choice(GOOGLE) if rng.random() < 0.75 else None
        sid = h.ids[target] if target else None
        req = rng.choice(["read", "write", "drive", None])
        if kind == "timeout":
            times = rng.choice([1, 1, 2, 3, 4])
            h.emu.add_fault(spreadsheet_id=sid, kind=req, status=None, delay_s=SLOW,
                            times=times)
            where += f" x{times} {req or 'any'} {target or 'all'}"
        else:
            status = 429 if kind == "429-storm" else rng.choice([500, 502, 503, 504])
            times = rng.choice([1, 2, 3, 4, 6, None])
            retry_after = rng.choice([None, None, 0.002, 0.01, 0.2]) if status == 429 else None
            apply_first = req == "write" and status != 429 and rng.random() < 0.5
            h.emu.add_fault(spreadsheet_id=sid, kind=req, status=status, times=times,
                            retry_after=retry_after, apply_first=apply_first)
            where += (f" {status} x{times or '∞'} {req or 'any'} {target or 'all'}"
                      f"{' after-apply' if apply_first else ''}")
    elif kind == "revoke":
        target = revoked = rng.choice(GOOGLE)
        timing = rng.choice(["before", "mid"])
        action = lambda: h.emu.revoke(h.ids[revoked], email)  # noqa: E731
        if timing == "before":
            action()
        else:
            at_read(revoked, action)
        where += f" {revoked} {timing}"
        timing = None
    elif kind == "file-opened":
        target = LOCAL[0]
        book = Path(config.unit(target).path)
        opened_lock = book.with_name(rng.choice([f"~${book.name}", f".~lock.{book.name}#"]))
        opened_bytes = book.read_bytes()
        action = lambda: opened_lock.write_text("Lan,máy-xã,", encoding="utf-8")  # noqa: E731
        opened_timing = rng.choice(["before", "mid"])
        if opened_timing == "before":
            action()
        else:
            at_read(target, action)
        where += f" {target} {opened_lock.name} {opened_timing}"
    else:
        target = rng.choice([c for c, _, _ in UNITS])
        choices = [e for e in edit_variants(target, h.rows[target]) if e.kind == kind]
        edit = rng.choice(choices)
        timing = rng.choice(["before", "mid"])
        if timing == "before":
            h.apply(edit, config)
        else:
            at_read(target, lambda: h.apply(edit, config))
        where += f" {edit.op} {edit.tab}.{edit.col or ''}[{edit.k}]={edit.value!r} {timing}"

    try:
        outcome = h.run(config, A1, google=h.fast, local=local)
    except Exception as e:  # noqa: BLE001 - the job must never raise
        outcome = None
        h.violation("exception", where, f"{type(e).__name__}: {e}")
    if kind == "timeout":  # let the slow answers the client gave up on land before going on
        time.sleep(SLOW)
    for state in hooks:
        if state["armed"]:  # the moment never came: nothing was edited
            state["armed"] = False
            edit = None
    if isinstance(local, EditingLocalBackend) and not local.done:
        edit = None

    # what the faulted run left behind
    after = h.states(config)
    problem = rollup_ok(rpath, prev_rollup)
    if problem:
        h.violation("rollup", where, problem)
    if outcome is not None:
        affected = {target} if target else set(GOOGLE)
        for r, w in zip(outcome.reads, outcome.writes):
            if r.config.code in affected:
                continue
            if r.result.status in READ_STATUSES and w.status == "skipped" \
                    and w.message == google_sheets.UNSURE:
                # Google itself was slow for this unit too (a structural request retried by the
                # transport, its replay refused): postponed to the next run like any try-later,
                # which the "converge" invariant checks; not one unit's fault stopping another.
                h.notes["google-unsure (postponed)"] += 1
                continue
            if r.result.status not in READ_STATUSES or w.status not in ("written", "unchanged"):
                h.violation("isolation", f"{where} {r.config.code}",
                            f"{r.result.status}/{w.status}: {r.result.message} {w.message}")
        h.notes[f"exit {pipeline.run_exit_code(outcome)}"] += 1
    left = leftovers(config)
    if left:
        h.violation("leftovers", where, left)

    if kind == "file-opened":
        if not opened_lock.exists():
            pass  # the moment never came (the unit was not read): nothing to check
        elif book.read_bytes() != opened_bytes:
            h.violation("opened", where, "the open workbook was written")
        elif outcome is not None:
            w = next(w for r, w in zip(outcome.reads, outcome.writes)
                     if r.config.code == target)
            h.notes[f"file-opened: {w.status}"] += 1
            if w.status == "written" or (w.status != "unchanged"
                                         and pipeline.run_exit_code(outcome) != 1):
                h.violation("opened", where, f"{w.status}: {w.message}")
        opened_lock.unlink(missing_ok=True)  # the person closes the file

    # a clean rerun
    h.emu.clear_faults()
    if revoked:
        h.emu.share(h.ids[revoked], email, "writer")
    try:
        h.run(config, A1)
    except Exception as e:  # noqa: BLE001
        h.violation("exception", f"{where} (rerun)", f"{type(e).__name__}: {e}")
    final = h.states(config)

    # compared with runs that never saw the fault (these reset the emulator)
    staff = h.expected_staff(edit)
    ref = h.reference(start, edit, timing if edit is not None else None)
    ident = lambda tab, i: i  # noqa: E731
    for code, state in after.items():
        diff = staff_diff(UnitState(staff=staff[code]), state)
        if diff:
            h.violation("staff", f"{where} {code}", diff)
        origin = (lambda tab, i, c=code: edit.origin(c, tab, i)) if edit else ident
        expected = [(ref.post[code], ident)]
        if ref.pre is not None:
            expected.append((ref.pre[code], origin))
        bad = flag_violations(state, origin, prev[code], expected)
        if bad:
            h.violation("wrong-row", f"{where} {code}", bad)
    _check_converged(h, ref, final, where)


def _check_converged(h, ref, final: dict, where: str) -> None:
    """After the rerun every unit holds what a faultless run leaves (the reference state)."""
    for code, state in final.items():
        diff = converge_diff(ref.state[code], state)
        if diff:
            h.violation("converge", f"{where} {code}", diff)


# --- one killed run -------------------------------------------------------------------------

def kill_once(h: Harness, n: int, rng: random.Random) -> None:
    where = f"run {n} kill"
    folder = h.root / "kill"
    config = h.prepare(folder)
    h.run(config, A0)
    prev = h.states(config)
    lc = config.unit(LOCAL[0]).path
    prev_bytes = lc.read_bytes()
    rpath = rollup_path(config, A1)
    prev_rollup = rpath.read_bytes()
    cfg_file = folder / "config.toml"
    cfg_file.write_text(config_text(h.ids, {LOCAL[0]: lc}, h.key_file, h.emu.base_url)
                        + f'\n[state]\ndir = "{(folder / "state").as_posix()}"\n'
                        f'\n[output]\ndir = "{(folder / "out").as_posix()}"\n',
                        encoding="utf-8")
    cmd = [EXE, "run", "--config", str(cfg_file), "--as-of", A1.isoformat()]
    if h.kill_duration is None:  # calibrate once: how long an unkilled run takes
        t0 = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        h.kill_duration = time.perf_counter() - t0
        assert done.returncode == 0, done.stdout + done.stderr
        config = h.prepare(folder)
        h.run(config, A0)
        prev_bytes, prev_rollup = lc.read_bytes(), rpath.read_bytes()
    # When: at any moment of the run, or while the workbook or the roll-up is being saved
    # (as soon as its temporary file appears, plus up to 10 ms).
    mode = rng.choice(["anytime", "anytime", "workbook-save", "rollup-save"])
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if mode == "anytime":
            delay = rng.uniform(0.1, h.kill_duration * 1.05)
            where += f" {mode} after {delay:.2f}s"
            proc.wait(timeout=delay)
        else:
            folder_, pattern = ((lc.parent, f".{lc.stem}.*.tmp.xlsx") if mode == "workbook-save"
                                else (rpath.parent, f".{rpath.stem}.*.tmp.xlsx"))
            where += f" {mode}"
            deadline = time.monotonic() + 60
            while proc.poll() is None and time.monotonic() < deadline:
                if any(folder_.glob(pattern)):
                    time.sleep(rng.uniform(0, 0.01))
                    break
                time.sleep(0.0005)
            proc.wait(timeout=0)
        h.notes["kill: run had already ended"] += 1
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        h.notes[f"kill: killed ({mode})"] += 1

    # what the killed run left behind: the local workbook is the old bytes or a complete
    # new workbook; the roll-up is the previous one or a complete new one; backups open
    replaced = lc.read_bytes() != prev_bytes
    h.notes["kill: workbook " + ("replaced" if replaced else "untouched")] += 1
    opened = None
    if replaced:
        try:
            openpyxl.load_workbook(lc).close()
            opened = snapshot(xlsx_grids(lc))
        except Exception as e:  # noqa: BLE001
            h.violation("kill-workbook", where, f"{type(e).__name__}: {e}")
    after = h.states(config) if not replaced or opened else None
    problem = rollup_ok(rpath, prev_rollup)
    if problem:
        h.violation("rollup", where, problem)
    h.notes["kill: roll-up " + ("untouched" if rpath.read_bytes() == prev_rollup
                                else "replaced")] += 1
    if leftovers(config):
        h.notes["kill: temporary files left"] += 1
    for b in sorted((folder / "state" / "backups").glob("*.xlsx")):
        if not zipfile.is_zipfile(b) or zipfile.ZipFile(b).testzip() is not None:
            h.violation("backups", where, f"bản sao lưu hỏng: {b.name}")

    # the rerun takes the lock (the OS released it) and converges
    try:
        with job(config, "run") as (_log, _progress):
            h.run(config, A1)
    except Exception as e:  # noqa: BLE001
        h.violation("kill-lock" if "lock" in str(e).lower() or "khóa" in str(e) else "exception",
                    f"{where} (rerun)", f"{type(e).__name__}: {e}")
    final = h.states(config)
    problem = rollup_ok(rpath, None)
    if problem:
        h.violation("rollup", f"{where} (rerun)", problem)
    left = leftovers(config)
    if left:  # the rerun removes the half-written temporary files of the killed run
        h.violation("leftovers", f"{where} (rerun)", left)

    staff = h.expected_staff(None)
    ref = h.reference("a0", None, None)
    ident = lambda tab, i: i  # noqa: E731
    for code, state in (after or {}).items():
        diff = staff_diff(UnitState(staff=staff[code]), state)
        if diff:
            h.violation("kill-workbook" if code in LOCAL else "staff", f"{where} {code}", diff)
        bad = flag_violations(state, ident, prev[code], [(ref.post[code], ident)])
        if bad:
            h.violation("wrong-row", f"{where} {code}", bad)
    _check_converged(h, ref, final, where)


# --- the test -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    from chaos_support import unit_rows

    root = tmp_path_factory.mktemp("chaos")
    with Emulator(seed=SEED % 1000) as emu:
        key_file = root / "service-account.json"
        info = emu.make_service_account(key_file)
        ids = {c: f"1{c}chaos{'x' * 40}"[:44] for c in GOOGLE}
        sources, rows = {}, {}
        for n, (code, _, _) in enumerate(UNITS):
            sources[code] = write_unit_workbook(root / "src" / f"{code}.xlsx", code, n)
            rows[code] = unit_rows(code, n)
        cfg = root / "config.toml"
        cfg.write_text(config_text(ids, {c: sources[c] for c in LOCAL}, key_file, emu.base_url),
                       encoding="utf-8")
        yield Harness(emu, root, info, key_file, ids, sources, load(cfg), rows)


def test_chaos(harness, capsys):
    h = harness
    master = random.Random(SEED)
    schedule = ["kill"] * KILLS + [KINDS[i % len(KINDS)] for i in range(RUNS - KILLS)]
    master.shuffle(schedule)
    t0 = time.perf_counter()
    for n, kind in enumerate(schedule):
        if ONLY and n not in ONLY:
            continue
        rng = random.Random(f"{SEED}-{n}")
        h.counts[kind] += 1
        try:
            if kind == "kill":
                kill_once(h, n, rng)
            else:
                chaos_once(h, n, rng, kind)
        except Exception as e:  # noqa: BLE001 - a harness failure is reported like the rest
            h.violation("exception", f"run {n} {kind} (harness)", f"{type(e).__name__}: {e}")
    elapsed = time.perf_counter() - t0
    total = sum(h.counts.values())
    faults = ", ".join(f"{k}={h.counts[k]}" for k in (*KINDS, "kill") if h.counts[k])
    broken = ", ".join(f"{k}={h.violations[k]}" for k in INVARIANTS)
    line = (f"CHAOS seed={SEED} runs={total} ({faults}) in {elapsed:.0f}s; "
            f"invariant violations={sum(h.violations.values())} ({broken})")
    detail = ", ".join(f"{k}={v}" for k, v in sorted(h.notes.items()))
    with capsys.disabled():  # the summary line is shown even under -q
        print(f"\n{line}\nCHAOS outcomes: {detail}; reference runs cached: {len(h.refs)}")
    replay = f"CHAOS_SEED={SEED} CHAOS_RUNS={RUNS} scripts/test tests/test_chaos.py"
    assert not h.violations, line + f"\nreplay: {replay}\n" + "\n".join(h.details[:30])

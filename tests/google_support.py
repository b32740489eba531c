"""Shared helpers of the Google tests (``from google_support import ...``); the fixtures built on
them (``demo_config``, ``emulator``, ``district``, ``local_copy``) live in conftest.py.

The demo district is generated once per session; each test gets its six unit workbooks seeded
into the emulator (shared with a service account whose key file lives in the test's folder)
and a ``config.toml`` whose units use ``spreadsheet = <id>`` with ``[google] credentials`` and
``endpoint``. Everything runs the real gspread + google-auth over HTTP on 127.0.0.1; nothing
of gspread is mocked. Retries are made fast with a small ``RetryPolicy``.
"""
from __future__ import annotations

import sys
import types
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sheets_sync.core.config import Config, load_config
from sheets_sync.core.template import load_template
from sheets_sync.sources.google_http import Quota, RetryPolicy
from sheets_sync.sources.google_sheets import GoogleBackend
from sheets_sync.sync import pipeline
from sheets_sync_emulator import Emulator

AS_OF = date(2026, 11, 25)
YEAR = 2026
TEMPLATE = load_template()
TOOL_HEADERS = {TEMPLATE.status_header, TEMPLATE.details_header}
TOOL_TABS = {TEMPLATE.check_tab, TEMPLATE.guide_tab}
MEETINGS = TEMPLATE.tab("meetings").name


def fast_policy(**overrides) -> RetryPolicy:
    """Retry sleeps of a few milliseconds (the production defaults are seconds)."""
    values = dict(timeout=(2.0, 5.0), max_attempts=5, base_delay=0.01, max_delay=0.05,
                  max_total_sleep=3.0, jitter=0.1)
    values.update(overrides)
    return RetryPolicy(**values)


def roomy_quota() -> Quota:
    return Quota(reads=10_000, writes=10_000, window=60.0)


def ensure_rollup() -> None:
    """`pipeline.run` ends with the roll-up workbook. While ``sheets_sync.outputs.rollup`` cannot be
    imported yet (work in progress elsewhere), a no-op stand-in keeps these tests about the
    Google path; the real module is always used once it imports."""
    try:
        from sheets_sync.outputs.rollup import build_rollup, rollup_path, write_latest  # noqa: F401
        return
    except ImportError:
        pass
    stub = types.ModuleType("sheets_sync.outputs.rollup")
    stub.rollup_path = lambda config, as_of: config.out_dir / f"tong-hop-{as_of:%Y-%m}.xlsx"
    stub.build_rollup = lambda config, report, reads, info, path: None
    stub.write_latest = lambda config, path, as_of: None
    sys.modules["sheets_sync.outputs.rollup"] = stub


@dataclass
class District:
    """The demo district seeded into the emulator; one spreadsheet per unit."""

    emu: Emulator
    info: dict
    key_file: Path
    local: Config  # the demo's own config (units with local paths)
    config: Config  # the same units on Google
    ids: dict[str, str]  # unit code -> spreadsheet id

    def backend(self, policy: RetryPolicy | None = None, quota: Quota | None = None
                ) -> GoogleBackend:
        return GoogleBackend(self.info, self.emu.base_url, policy or fast_policy(),
                             quota or roomy_quota())

    def run(self, backend: GoogleBackend | None = None, **kwargs) -> pipeline.RunOutcome:
        backend = backend or self.backend()
        return pipeline.run(self.config, lambda unit: backend, AS_OF, YEAR, **kwargs)

    def check(self, backend: GoogleBackend | None = None, **kwargs) -> pipeline.CheckOutcome:
        backend = backend or self.backend()
        return pipeline.run_check(self.config, lambda unit: backend, AS_OF, YEAR, **kwargs)

    def titles(self, code: str) -> list[str]:
        meta = self.emu.spreadsheet_meta(self.ids[code])
        return [s["properties"]["title"] for s in meta["sheets"]]

    def grids(self, code: str, effective: bool = False) -> dict[str, list[list[Any]]]:
        """Every tab's stored values (formulas as their text; with ``effective``, as the
        values a read gives, e.g. a Kiểm tra link's label)."""
        return {t: self.emu.get_values(self.ids[code], t, effective) for t in self.titles(code)}

    def counts(self, before: dict, after: dict) -> dict[str, dict[str, int]]:
        """Emulator requests per unit between two ``emu.stats()`` snapshots."""
        out = {}
        for code, sid in self.ids.items():
            a = after["by_spreadsheet"].get(sid, {})
            b = before["by_spreadsheet"].get(sid, {})
            out[code] = {k: a.get(k, 0) - b.get(k, 0)
                         for k in ("reads", "writes", "drive", "rejected_429")}
        return out


def tool_columns(grid: list[list[Any]]) -> set[int]:
    """Columns whose header (within the first 6 rows) is a tool-column header."""
    return {c for row in grid[:6] for c, v in enumerate(row) if v in TOOL_HEADERS}


def cell_text(row: list[Any], c: int) -> Any:
    """A grid cell, "" when empty or beyond the row."""
    return "" if c >= len(row) or row[c] is None else row[c]


def staff_only(grid: list[list[Any]]) -> list[list[Any]]:
    """The grid without its tool columns (found by header text), "" for empty, trimmed."""
    tools = tool_columns(grid)
    out = []
    for row in grid:
        line = [cell_text(row, c) for c in range(len(row)) if c not in tools]
        while line and line[-1] == "":
            line.pop()
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return out


def staff_cells(grids: dict[str, list[list[Any]]], tool_cols: dict[str, set[int]]
                ) -> dict[tuple[str, int, int], Any]:
    """Every non-empty cell outside the tool tabs and tool columns."""
    out = {}
    for title, grid in grids.items():
        if title in TOOL_TABS:
            continue
        skip = tool_cols.get(title, set())
        for r, row in enumerate(grid):
            for c, v in enumerate(row):
                if c not in skip and v not in (None, ""):
                    out[(title, r, c)] = v
    return out


def assert_staff_unchanged(before: dict[str, list[list[Any]]],
                           after: dict[str, list[list[Any]]]) -> None:
    cols = {t: tool_columns(g) for t, g in after.items()}
    assert staff_cells(after, cols) == staff_cells(before, cols)


def findings_tuples(report) -> list[tuple]:
    return sorted((tuple(f.to_json().values()) for f in report.findings), key=repr)


def seed_district(emu: Emulator, demo_config: Path, folder: Path) -> District:
    """Seed every demo unit into ``emu`` and write ``folder/config.toml`` for the Google path."""
    emu.reset()
    local = load_config(demo_config)
    key_file = folder / "service-account.json"
    info = emu.make_service_account(key_file)
    text = demo_config.read_text(encoding="utf-8")
    ids = {}
    for unit in local.units:
        sid = f"1{unit.code}demo{'x' * 30}"[:44]
        ids[unit.code] = sid
        emu.seed_xlsx(sid, unit.path, shared_with=[info["client_email"]])
        line = f'path = "data/{unit.path.name}"'
        assert line in text
        # one unit is configured by its full URL, as operators often paste it
        where = (f"https://docs.google.com/spreadsheets/d/{sid}/edit#gid=0" if unit.code == "NN"
                 else sid)
        text = text.replace(line, f'spreadsheet = "{where}"')
    google = (f'[google]\ncredentials = "{key_file.as_posix()}"\n'
              f'endpoint = "{emu.base_url}"\n\n')
    config_path = folder / "config.toml"
    config_path.write_text(text.replace("[parent]", google + "[parent]", 1), encoding="utf-8")
    config = load_config(config_path)
    assert all(u.is_google for u in config.units)
    return District(emu, info, key_file, local, config, ids)

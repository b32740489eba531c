"""Big-unit benchmark (issue 12 item 8): one merged commune as a local .xlsx file — 43,000
meeting rows (5 years) and 54,000 attendance rows (1,500 members × 12 months × 3 years) — run
through the real CLI, each command in its own process (wall time and peak RSS from ``wait4``).

Sequence, on one state folder: ``check`` (first pull recorded), ``check`` again (file
unchanged: not stored again), ``run`` (writes the flags into the file, whose pull is then
recorded as our write left it), ``run`` again (the file our write produced: not stored again),
``run`` a third time (unchanged), then one cell edited by a person and ``run``. After each: the
history store's size on disk, its pulls and row versions.
``python -m benchmarks.bigunit [--keep DIR]`` prints one JSON object.
"""
from __future__ import annotations

import json
import os
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .synthetic import Size, unit_sheets

YEARS = (2022, 2023, 2024, 2025, 2026)
AS_OF = "2027-01-20"
CELLS = 650  # 650 cells × (12 + 4/3) meetings × 5 years ≈ 43,000 meeting rows
MEMBERS = 1500
ATT_YEARS = (2024, 2025, 2026)


def build(path: Path) -> dict[str, int]:
    """Write the big unit's workbook; returns rows per tab."""
    import xlsxwriter

    from sheets_sync.core.template import load_template

    template = load_template()
    size = Size("big", 1, CELLS, 4 / 3)
    tabs: dict[str, list[list[Any]]] = {}
    for year in YEARS:
        sheets = unit_sheets(0, size, year, template=template)
        for title, rows in sheets.items():
            if title not in tabs:
                tabs[title] = rows
            elif title in (template.tab("meetings").name, template.tab("briefings").name,
                           template.tab("visits").name):
                tabs[title].extend(rows[_data_start(rows, template, title):])
    att = template.tab("attendance")
    header = [c.header for c in att.columns]
    col = {c.id: i for i, c in enumerate(att.columns)}
    rng = random.Random("bigunit")
    rows: list[list[Any]] = [header]
    cells = [f"CB{c:02d}" for c in range(1, CELLS + 1)]  # the codes synthetic.unit_sheets gives
    for year in ATT_YEARS:
        for m in range(1, 13):
            for p in range(MEMBERS):
                row: list[Any] = [None] * len(header)
                row[col["cell_code"]] = cells[p % min(60, len(cells))]
                row[col["month"]] = f"{m:02d}/{year}"
                row[col["member_name"]] = f"Đảng viên {p + 1:04d}"
                row[col["member_id"]] = f"DV{p + 1:04d}"
                row[col["status"]] = "Có mặt" if rng.random() > 0.05 else "Vắng có lý do"
                rows.append(row)
    tabs[att.name] = rows
    # Shared strings, as Excel and LibreOffice save them (xlsxwriter's constant_memory mode
    # writes inline strings, which openpyxl reads several times more slowly).
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False,
                                         "strings_to_numbers": False})
    for title, grid in tabs.items():
        ws = wb.add_worksheet(title)
        for r, values in enumerate(grid):
            for c, v in enumerate(values):
                if v is not None:
                    ws.write(r, c, v)
    wb.close()
    return {title: len(grid) - 1 for title, grid in tabs.items()}


def _data_start(rows: list[list[Any]], template, title: str) -> int:
    """Index of the first data row (after the title row and the header)."""
    tab = next(t for t in template.tabs if t.name == title)
    first = tab.first_required.header
    for i, row in enumerate(rows[:5]):
        if first in [v for v in row if isinstance(v, str)]:
            return i + 1
    return 1


def _cli(args: list[str], cwd: Path) -> dict[str, Any]:
    """One CLI command in its own process: exit code, wall seconds, peak RSS (MB).

    The peak is ``wait4``'s ``ru_maxrss``, which on Linux starts from the RSS of the process
    that forked the child: the harness itself stays small (the workbook is built and edited in
    processes of their own, ``_in_own_process``), or its openpyxl workbook would be counted."""
    start = time.perf_counter()
    with open(cwd / "cli.log", "ab") as log:
        import subprocess

        proc = subprocess.Popen([sys.executable, "-m", "sheets_sync", *args], cwd=cwd,
                                stdout=log, stderr=log)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    return {"exit": proc.returncode, "seconds": round(time.perf_counter() - start, 2),
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def _store(state: Path) -> dict[str, Any]:
    db = state / "history.sqlite"
    if not db.exists():
        return {}
    conn = sqlite3.connect(db)
    try:
        pulls = conn.execute("SELECT count(*) FROM pulls").fetchone()[0]
        versions = conn.execute("SELECT count(*) FROM row_versions").fetchone()[0]
        keys = conn.execute("SELECT count(*) FROM row_keys").fetchone()[0]
    finally:
        conn.close()
    size = sum(p.stat().st_size for p in state.glob("history.sqlite*"))
    return {"pulls": pulls, "row_keys": keys, "row_versions": versions,
            "store_mb": round(size / 2**20, 1)}


def _edit_one_cell(path: Path) -> None:
    """A person changes one meeting's topic (openpyxl, as a script would)."""
    import openpyxl

    from sheets_sync.core.template import load_template

    name = load_template().tab("meetings").name
    wb = openpyxl.load_workbook(path)
    ws = wb[name]
    ws.cell(row=ws.max_row // 2, column=4).value = "Chủ đề đã sửa"
    wb.save(path)


def _in_own_process(step: str, path: Path) -> None:
    """Build or edit the workbook in a process of its own, as a person's program would: the
    harness never holds a workbook (see ``_cli``), and the memory that program used is returned
    to the system before the measured command starts."""
    import subprocess

    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [root, *filter(None, [os.environ.get("PYTHONPATH")])])}
    subprocess.run([sys.executable, "-m", "benchmarks.bigunit", f"--{step}", str(path)],
                   check=True, env=env)


def _byte_compile() -> None:
    """Byte-compile the package as ``pip install`` does, so each command's process loads it as
    an installed tool does: with PYTHONDONTWRITEBYTECODE set (as in some CI images) and an
    editable install, every process would otherwise compile every module again (≈ 0.25 s)."""
    import compileall

    import sheets_sync

    compileall.compile_dir(str(Path(sheets_sync.__file__).parent), quiet=1)


def main(keep: Path | None = None) -> dict[str, Any]:
    _byte_compile()
    with tempfile.TemporaryDirectory(prefix="bench-bigunit-") as tmp:
        root = keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        book = root / "big.xlsx"
        start = time.perf_counter()
        _in_own_process("build", book)
        rows = json.loads(book.with_suffix(".rows.json").read_text(encoding="utf-8"))
        out: dict[str, Any] = {"rows": rows, "file_mb": round(book.stat().st_size / 2**20, 2),
                               "build_s": round(time.perf_counter() - start, 1)}
        (root / "config.toml").write_text(
            '[parent]\nname = "Huyện Mẫu"\n\n[[units]]\ncode = "BIG"\n'
            'name = "Đảng ủy xã sau sáp nhập"\npath = "big.xlsx"\n\n'
            '[state]\ndir = "state"\n\n[output]\ndir = "out"\n', encoding="utf-8")
        common = ["--config", "config.toml", "--as-of", AS_OF]
        steps = [("check_first", ["check", *common, "--format", "json", "--output", "c.json"]),
                 ("check_unchanged", ["check", *common, "--format", "json", "--output",
                                      "c.json"]),
                 ("check_no_history", ["check", *common, "--no-history", "--format", "json",
                                       "--output", "c.json"]),
                 ("run_first", ["run", *common]),
                 ("run_after_own_write", ["run", *common]),
                 ("run_unchanged", ["run", *common]),
                 ("run_one_cell_edited", ["run", *common])]
        only = os.environ.get("BIGUNIT_STEPS")  # e.g. "check_first,run_first"
        if only:
            steps = [st for st in steps if st[0] in only.split(",")]
        for name, args in steps:
            if name == "run_one_cell_edited":
                _in_own_process("edit", book)
            got = _cli(args, root)
            got.update(_store(root / "state"))
            out[name] = got
            print(f"bigunit: {name}: {got}", file=sys.stderr, flush=True)
        return out


if __name__ == "__main__":
    if sys.argv[1:2] == ["--build"]:
        built = Path(sys.argv[2])
        built.with_suffix(".rows.json").write_text(json.dumps(build(built)), encoding="utf-8")
        sys.exit(0)
    if sys.argv[1:2] == ["--edit"]:
        _edit_one_cell(Path(sys.argv[2]))
        sys.exit(0)
    keep = Path(sys.argv[sys.argv.index("--keep") + 1]) if "--keep" in sys.argv else None
    print(json.dumps(main(keep)))

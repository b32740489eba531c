"""Smoke run of the benchmarks (``scripts/bench --quick --json FILE``): it runs end to end and
writes the figures with the agreed keys and types. Nothing about speed is asserted."""
from __future__ import annotations

import json
import numbers
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CONTRACT = ("first_run_reads_per_unit", "first_run_writes_per_unit",
            "unchanged_run_sheets_requests_per_unit", "wall_to_quota_bound_ratio",
            "naive_to_ours_requests_ratio", "province_check_seconds",
            "changed_run_sheets_requests_per_changed_unit", "unchanged_run_drive_requests_total",
            "wall_to_job_floor_ratio")
NULL_IN_QUICK = ("national_check_seconds", "national_peak_rss_mb", "national_rollup_seconds",
                 "national_store_first_pull_seconds", "national_store_peak_rss_mb",
                 "bigunit_check_seconds", "bigunit_run_seconds")


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def test_quick_benchmark_writes_the_figures(tmp_path):
    out = tmp_path / "bench.json"
    done = subprocess.run([str(ROOT / "scripts" / "bench"), "--quick", "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    doc = json.loads(out.read_text(encoding="utf-8"))
    for key in CONTRACT:
        assert _is_number(doc[key]), (key, doc[key])
    for key in NULL_IN_QUICK:
        assert key in doc and doc[key] is None, (key, doc.get(key))
    figures = {k: v for k, v in doc.items() if k not in ("meta", "details")}
    for key, value in figures.items():
        if key.startswith(("national_", "bigunit_")):  # measured in full mode only
            assert value is None, (key, value)
        else:
            assert _is_number(value), (key, value)
    assert doc["meta"]["mode"] == "quick"
    # the request budget the design asks for holds in the smoke run too (issue 17)
    # (fresh units: the one structural batchUpdate also fills the tool columns and tabs)
    assert doc["first_run_reads_per_unit"] <= 1 and doc["first_run_writes_per_unit"] <= 1
    assert doc["unchanged_run_sheets_requests_per_unit"] == 0
    # 1 read + the one value write (flags anchored, Kiểm tra with its HYPERLINK row links)
    assert doc["changed_run_sheets_requests_per_changed_unit"] <= 2
    assert doc["unchanged_run_drive_requests_total"] <= 2
    assert doc["wall_to_job_floor_ratio"] >= 1
    assert "Sync" in done.stdout and "Checking" in done.stdout
    # the shipped pipeline and its one-request-at-a-time baseline, measured side by side
    assert {"concurrent/5", "sequential/5"} <= doc["details"]["sync"].keys()

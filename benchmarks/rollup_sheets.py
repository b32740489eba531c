"""Roll-up writing, sheet by sheet: ``python -m benchmarks.rollup_sheets SIZE [--streamed]``.

Builds the synthetic data of SIZE, parses and checks it (in ``heap.bulk()``, as every command
runs) and builds the roll-up model once, then writes the roll-up with that model, timing the
CPU (``time.process_time``) of each sheet writer, of ``close()`` of a streamed workbook (XML
assembly and zip) and of the findings CSV. ``--streamed``: the streamed workbook
(``StreamedWorksheet``) whatever the number of findings (it is used above
``STREAM_THRESHOLD`` findings, as at national size). Prints one JSON object: seconds per
part, the total, wall time, load average, and a SHA-256 per part of the package and of the
CSV, to compare two versions' output.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from unittest import mock

from sheets_sync.core import heap
from sheets_sync.core.checker import UnitRead, evaluate
from sheets_sync.core.findings import OK, UnitResult
from sheets_sync.core.grid import parse_unit
from sheets_sync.core.template import load_template
from sheets_sync.outputs.rollup import build, ranking, sheets, summary, violations
from sheets_sync.outputs.rollup.model import build_model

from .synthetic import AS_OF, SIZES, YEAR, dataset

# (module, function, part name)
PARTS = ((summary, "write_summary", "Tổng hợp"), (summary, "write_charts", "Biểu đồ"),
         (ranking, "write_ranking", "Xếp thứ"), (sheets, "write_matrix", "Ma trận"),
         (violations, "write_violations", "Vi phạm"), (violations, "write_notes", "Lưu ý"),
         (sheets, "write_supervision", "Dự sinh hoạt"), (sheets, "write_annual", "Đánh giá năm"),
         (sheets, "write_halls", "Nhà văn hóa"), (sheets, "write_log", "Nhật ký"),
         (build, "_close_deflating", "close (XML assembly + zip)"),
         (violations, "write_csv", "CSV"))


def _timed(times: dict[str, float], name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        start = time.process_time()
        try:
            return func(*args, **kwargs)
        finally:
            times[name] = times.get(name, 0.0) + time.process_time() - start
    return run


def measure(size_name: str, streamed: bool) -> dict[str, Any]:
    template = load_template()
    config, units = dataset(SIZES[size_name])
    reads = []
    with heap.bulk():
        for unit, raw in units:
            data = parse_unit(template, raw, unit.code, unit.name, AS_OF)
            reads.append(UnitRead(unit, UnitResult(unit.code, unit.name, OK), data, raw))
        report = evaluate(config, reads, AS_OF, YEAR)
    start = time.process_time()
    model = build_model(config, report, reads)
    times = {"model": time.process_time() - start}
    with ExitStack() as patches, tempfile.TemporaryDirectory(prefix="bench-sheets-") as tmp:
        for module, name, part in PARTS:
            patches.enter_context(mock.patch.object(
                module, name, _timed(times, part, getattr(module, name))))
        if streamed:
            patches.enter_context(mock.patch.object(build, "STREAM_THRESHOLD", 0))
        path = Path(tmp) / "tong-hop.xlsx"
        load = os.getloadavg()[0]
        start, wall = time.process_time(), time.perf_counter()
        build.build_rollup(config, report, reads, {"started": "2027-01-20T08:00:00"}, path,
                           model=model)
        times["writing_total"] = time.process_time() - start
        times["writing_wall"] = time.perf_counter() - wall
        with zipfile.ZipFile(path) as z:
            digests = {name: hashlib.sha256(z.read(name)).hexdigest() for name in z.namelist()}
        digests["CSV"] = hashlib.sha256(build.csv_path(path).read_bytes()).hexdigest()
    return {"size": size_name, "findings": len(report.findings), "streamed": streamed,
            "load_average": [round(load, 2), round(os.getloadavg()[0], 2)],
            "cpu_s": {k: round(v, 3) for k, v in times.items()}, "sha256": digests}


if __name__ == "__main__":
    args = sys.argv[1:]
    print(json.dumps(measure(args[0] if args and args[0] in SIZES else "province",
                             "--streamed" in args), ensure_ascii=False, indent=1))

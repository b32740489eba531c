"""A realistic demo district: six commune workbooks (.xlsx) and a config, for trying the tool.

``generate_demo(out_dir, year, as_of, seed)`` writes ``out_dir/data/<commune>.xlsx`` (one per
commune party committee of "Đảng bộ huyện Lý Nhân", about 30 cells in total) and
``out_dir/config.toml``, and returns the config path. The data is what commune staff really
type: mostly good records, written in each commune's own habits (text dates, date serials,
"T11/2026", missing diacritics, TRUE/FALSE check boxes, title rows, an extra staff column, …),
with a small number of planted problems so that every rule of rules.md except the History
section fires at least once when checked as of ``as_of`` (see ``PLANTED``).

Everything comes from ``random.Random(seed)`` and ``as_of``: the same arguments give the same
cell values. Headers, tab names and choice labels are taken from the template, never typed here.

    python -m sheets_sync.demo --out demo --as-of 2026-11-25
"""
from __future__ import annotations

import random
from datetime import date
from pathlib import Path

from sheets_sync.core.template import load_template

from .builder import Builder
from .config_file import write_config
from .workbooks import write_workbook

# --- entry points -----------------------------------------------------------------------------

def generate_demo(out_dir: Path, year: int, as_of: date, seed: int = 2026) -> Path:
    """Write the demo district under ``out_dir`` and return the path of its config.toml."""
    out_dir = Path(out_dir)
    template = load_template()
    builder = Builder(template, year, as_of, seed)
    units = builder.build()
    data = out_dir / "data"
    data.mkdir(parents=True, exist_ok=True)
    render_rng = random.Random(builder.rng.getrandbits(64))
    for unit in units:
        write_workbook(data / f"{unit.slug}.xlsx", template, unit, builder,
                        random.Random(render_rng.getrandbits(64)))
    accepted = None
    mt = builder._find("NH", "CB03", builder.pm(7))
    if mt is not None and mt.explanation:
        accepted = {"unit": "NH", "rule": "MEET-WINDOW", "cell": "CB03",
                    "period": f"{year:04d}-{mt.month:02d}",
                    "note": "Chấp nhận: bí thư chi bộ đi tập huấn theo triệu tập của Tỉnh ủy."}
    config = out_dir / "config.toml"
    write_config(config, units, year, accepted)
    return config


def default_period(as_of: date, year: int | None) -> tuple[int, date]:
    """The demo shows a year with at least 6 due months: before July, the previous year."""
    if year is None:
        if as_of.month < 7:
            return as_of.year - 1, date(as_of.year - 1, 12, 31)
        return as_of.year, as_of
    return year, as_of

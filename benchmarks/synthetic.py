"""Synthetic district/province/national data generated in memory (RawWorkbooks), for benchmarks.

Values are typed as commune staff type them in Google Sheets (serial dates, text months, labels),
so parsing does real work. Deterministic for a seed.
"""
from __future__ import annotations

import random
from datetime import date

from sheets_sync.backends.base import RawSheet, RawWorkbook
from sheets_sync.config import Config, Supervisor, UnitConfig
from sheets_sync.rules import params as rule_params
from sheets_sync.template import load_template

EPOCH = date(1899, 12, 30)


def serial(d: date) -> int:
    return (d - EPOCH).days


def _sheet(tab, rows: list[dict]) -> RawSheet:
    cols = [c.id for c in tab.columns]
    return RawSheet(tab.name, [[tab.column(c).header for c in cols]]
                    + [[r.get(c) for c in cols] for r in rows])


def unit_workbook(rng: random.Random, code: str, cells: int, meetings_per_cell: int, year: int,
                  supervisors: list[str]) -> RawWorkbook:
    t = load_template()
    cell_rows, meeting_rows, brief_rows, visit_rows = [], [], [], []
    for c in range(1, cells + 1):
        cc = f"CB{c:03d}"
        members = rng.randint(8, 60)
        cell_rows.append({"cell_code": cc, "cell_name": f"Chi bộ thôn {c}", "kind": "Thôn",
                          "members": members, "official_members": members - 1,
                          "secretary": "Nguyễn Văn An", "secretary_dual": "Có",
                          "assignee": "Trần Thị Bình"})
        for k in range(meetings_per_cell):
            month = k % 12 + 1
            day = rng.choice((3, 3, 3, 2, 5, 9))
            d = date(year, month, day)
            required = members - rng.randint(0, 2)
            present = required - rng.randint(0, 4)
            meeting_rows.append({
                "cell_code": cc, "month": f"{month:02d}/{year}",
                "meeting_type": rng.choice(("Thường kỳ", "Thường kỳ", "", "Thường kỳ kết hợp chuyên đề")),
                "topic": "Học tập Nghị quyết", "meeting_date": serial(d),
                "start_time": 0.3125, "end_time": 0.3958, "duration": rng.choice((90, 120, 100, 80)),
                "premeeting_date": serial(d) - rng.randint(1, 12), "docs_date": serial(d) - 1,
                "required_count": required, "present": present, "excused": required - present,
                "unexcused": 0, "link_tw4": "Có", "link_hcm": rng.choice(("Có", "Không")),
                "criticism": "Có", "minutes_full": "Có", "score": rng.randint(60, 98),
                "rating": rng.choice(("Tốt", "Khá", "tot", "TB"))})
    for month in range(1, 13):
        brief_rows.append({"month": f"{month:02d}/{year}",
                           "briefing_date": serial(date(year, month, 1)) - rng.randint(1, 5)})
        visit_rows.append({"supervisor": rng.choice(supervisors), "cell_code": "CB001",
                           "visit_date": serial(date(year, month, 3)), "in_book": True,
                           "cell_confirmed": True, "unit_confirmed": True})
    sheets = [_sheet(t.tab("cells"), cell_rows), _sheet(t.tab("meetings"), meeting_rows),
              _sheet(t.tab("briefings"), brief_rows), _sheet(t.tab("visits"), visit_rows)]
    return RawWorkbook(sheets, version=code)


def dataset(units: int, cells_per_unit: int, meetings_per_cell: int, year: int = 2026,
            seed: int = 1) -> tuple[Config, dict[str, RawWorkbook]]:
    rng = random.Random(seed)
    unit_cfgs = tuple(UnitConfig(f"U{u:04d}", f"Đảng ủy xã {u}", spreadsheet=f"sheet{u}",
                                 rules=rule_params.resolve()) for u in range(units))
    supervisors = tuple(Supervisor(f"Cán bộ {s}", (unit_cfgs[s].code,))
                        for s in range(min(units, 50)))
    names = [s.name for s in supervisors]
    config = Config(path=__import__("pathlib").Path("bench.toml"), parent_name="Tỉnh ủy",
                    units=unit_cfgs, supervisors=supervisors)
    raws = {u.code: unit_workbook(rng, u.code, cells_per_unit, meetings_per_cell, year, names)
            for u in unit_cfgs}
    return config, raws

"""The baseline: the same job done the way a typical gspread script does it.

Per unit: ``gc.open_by_key`` (1 metadata read), ``sh.worksheet(name)`` for every template tab
(1 metadata read each, also for a tab that turns out to be missing), ``get_all_records`` per tab
found (1 ``values.get`` each; UNFORMATTED_VALUE so that the data, and hence the findings, are
exactly those of the tool), then one ``update_cell`` per flag cell: the two tool-column headers
of a tab (after ``add_cols`` when the grid is too narrow), and the status and details cells of
every row that has a finding. The `Kiểm tra` and `Hướng dẫn` tabs are written as blocks
(``add_worksheet`` + ``update``: 2 writes each) — generous to the baseline.

The findings come from the tool's own parser and rules, so both sides write the same flags.
The script runs on the tool's transport (``make_client``): its requests are counted and paced
like the tool's, so it never draws a 429 — a naive script with a perfect pacer, i.e. a lower
estimate of the naive time. A second, unchanged run re-reads everything and writes only cells
whose value differs (0 writes).
"""
from __future__ import annotations

from datetime import date

from sheets_sync.core.checker import UnitRead, evaluate
from sheets_sync.core.findings import OK, UnitResult
from sheets_sync.core.grid import parse_unit
from sheets_sync.core.raw import RawSheet, RawWorkbook
from sheets_sync.core.template import Template, load_template
from sheets_sync.sync.writeplan import check_grid, row_details, row_status

from .synthetic import Size, habits_of


def _records_to_rows(records: list[dict], head: int) -> list[list]:
    """The sheet's rows back from ``get_all_records`` (row ``head`` = the headers)."""
    if not records:
        return [[] for _ in range(head - 1)]
    headers = list(records[0])
    rows = [[] for _ in range(head - 1)] + [headers]
    rows += [[None if rec[h] == "" else rec[h] for h in headers] for rec in records]
    return rows


def naive_unit(gc, key: str, unit, head: int, template: Template, as_of: date, year: int,
               config, second_run: bool = False) -> dict:
    """One unit, the naive way. ``head``: the header row the script was written for."""
    import gspread

    sh = gc.open_by_key(key)
    sheets, worksheets, records_of = [], {}, {}
    for tab in template.tabs:
        try:
            ws = sh.worksheet(tab.name)
        except gspread.exceptions.WorksheetNotFound:
            continue
        records = ws.get_all_records(head=head, value_render_option="UNFORMATTED_VALUE")
        worksheets[tab.name] = ws
        records_of[tab.name] = records
        sheets.append(RawSheet(tab.name, _records_to_rows(records, head)))
    raw = RawWorkbook(sheets)
    data = parse_unit(template, raw, unit.code, unit.name, as_of)
    read = UnitRead(unit, UnitResult(unit.code, unit.name, OK), data, raw)
    report = evaluate(config, [read], as_of, year)
    by_row: dict[tuple[str, int], list] = {}
    for f in report.findings:
        if f.row is not None:
            by_row.setdefault((f.tab, f.row), []).append(f)
    writes = 0
    for name, ws in worksheets.items():
        rows = raw.sheet(name).rows
        header = rows[head - 1] if len(rows) >= head else []
        flagged = sorted(r for (t, r) in by_row if t == name)
        if not flagged:
            continue
        status_col = (header.index(template.status_header) + 1
                      if template.status_header in header else len(header) + 1)
        details_col = (header.index(template.details_header) + 1
                       if template.details_header in header else status_col + 1)
        if not second_run:
            if details_col > ws.col_count:
                ws.add_cols(details_col - ws.col_count)
                writes += 1
            ws.update_cell(head, status_col, template.status_header)
            ws.update_cell(head, details_col, template.details_header)
            writes += 2
        for r in flagged:
            found = by_row[(name, r)]
            current = rows[r - 1] if r - 1 < len(rows) else []
            for col, value in ((status_col, row_status(template, found)),
                               (details_col, row_details(found))):
                if second_run and col - 1 < len(current) and current[col - 1] == value:
                    continue
                ws.update_cell(r, col, value)
                writes += 1
    if not second_run:
        mine = [f for f in report.findings]
        grid = check_grid(template, unit.name, data, mine, as_of, year, as_of)
        ws = sh.add_worksheet(template.check_tab, rows=len(grid) + 20,
                              cols=max(26, max(len(r) for r in grid)))
        ws.update(grid, "A1", raw=True)
        from sheets_sync.outputs.template_xlsx import guide_grid
        guide = guide_grid(template, unit.name)
        ws = sh.add_worksheet(template.guide_tab, rows=len(guide) + 20,
                              cols=max(26, max(len(r) for r in guide)))
        ws.update([[str(c) for c in row] for row in guide], "A1", raw=True)
        writes += 4
    return {"flag_rows": len(by_row), "writes": writes}


def header_row(k: int, size: Size, seed: int = 1) -> int:
    """The header row of unit k's tabs (2 when its staff put a title line above)."""
    import random

    return 2 if habits_of(random.Random(f"{seed}:{k}")).title_row else 1


def run_naive(gc, config, keys: list[str], size: Size, as_of: date, year: int,
              second_run: bool = False) -> dict:
    template = load_template()
    flag_rows = writes = 0
    for k, (unit, key) in enumerate(zip(config.units, keys)):
        got = naive_unit(gc, key, unit, header_row(k, size), template, as_of, year, config,
                         second_run)
        flag_rows += got["flag_rows"]
        writes += got["writes"]
    return {"flag_rows": flag_rows, "writes": writes}

"""The batched parser (workbook._read_tab: columns transposed once, each distinct value parsed
once) gives exactly the output of the per-cell parser it replaced.

The golden digest below was computed with the per-cell parser (commit 3c2927d) over the
synthetic province of ``benchmarks.synthetic`` (100 units, ≈ 40,000 meeting rows): every parsed
tab (rows, column positions, parsed and raw values, unreadable cells of the columns that have
any) and every finding's identity (unit, tab, row, cell, period, rule, severity, explained — not
the message texts, which other work may reword)."""
from __future__ import annotations

import hashlib
from datetime import date, datetime, time

from benchmarks.synthetic import AS_OF, SIZES, YEAR, dataset
from sheets_sync.core.checker import UnitRead, evaluate
from sheets_sync.core.findings import OK, UnitResult
from sheets_sync.core.grid import parse_unit
from sheets_sync.core.raw import RawSheet, RawWorkbook
from sheets_sync.core.template import load_template
from sheets_sync.core.values import is_empty, parse

GOLDEN_PROVINCE = ("d44fc7c985865694977348fb6a5c06d2113ec907c6d6e0ccae44f0c1002401dd", 17616)
# Every finding in full (message and acceptance included; the reader's findings too), in
# report order, computed before the parse and rule loops were reworked (commit 103d24a).
GOLDEN_PROVINCE_FULL = "cc0692c80af7ef2a2b4e87848992c8f99e7e991377f8bd995f82d9b86bb45bf7"


def _digest(size_name: str) -> tuple[str, int]:
    template = load_template()
    config, units = dataset(SIZES[size_name])
    reads, h = [], hashlib.sha256()
    for unit, raw in units:
        data = parse_unit(template, raw, unit.code, unit.name, AS_OF)
        for tab_id, t in data.tabs.items():
            h.update(repr((tab_id, t.title, t.header_row, sorted(t.col_index.items()),
                           sorted(t.extra_headers.items()), t.rows,
                           sorted((k, repr(v)) for k, v in t.values.items()),
                           sorted((k, repr(v)) for k, v in t.raw.items()),
                           sorted((k, sorted(v)) for k, v in t.invalid.items() if v))).encode())
        reads.append(UnitRead(unit, UnitResult(unit.code, unit.name, OK), data, raw))
    report = evaluate(config, reads, AS_OF, YEAR)
    for f in report.findings:
        h.update(repr((f.unit, f.tab, f.row, f.cell, f.period, f.rule, f.severity,
                       f.explained)).encode())
    return h.hexdigest(), len(report.findings)


def test_province_output_equals_the_per_cell_parser() -> None:
    assert _digest("province") == GOLDEN_PROVINCE


def _full_digest(size_name: str) -> str:
    template = load_template()
    config, units = dataset(SIZES[size_name])
    reads = [UnitRead(unit, UnitResult(unit.code, unit.name, OK),
                      parse_unit(template, raw, unit.code, unit.name, AS_OF), raw)
             for unit, raw in units]
    h = hashlib.sha256()
    for f in evaluate(config, reads, AS_OF, YEAR).findings:
        h.update(repr(f).encode())
    return h.hexdigest()


def test_province_findings_in_full_are_unchanged() -> None:
    """Messages too: the rules' per-row loops and formatting caches change no text."""
    assert _full_digest("province") == GOLDEN_PROVINCE_FULL


def _per_cell(template, raw: RawWorkbook) -> dict:
    """The per-cell reference: kept rows and parsed values, one ``parse`` call per cell."""
    data = parse_unit(template, raw, "U", "U", date(2026, 12, 31))
    out = {}
    for tab_id, t in data.tabs.items():
        sheet = next(s for s in raw.sheets if s.title == t.title)
        cols = list(t.col_index.items())
        rows, values = [], {c: [] for c, _ in cols}
        for r in range(t.header_row, len(sheet.rows)):
            row = sheet.rows[r]
            cells = [row[ci] if ci < len(row) else None for _, ci in cols]
            if all(is_empty(v) for v in cells):
                continue
            rows.append(r + 1)
            for (c, _), v in zip(cols, cells):
                column = t.tab.column(c)
                value, reason = parse(column.kind, v, column.choices)
                lo, hi = column.min, column.max
                if reason is None and value is not None and (
                        (lo is not None and value < lo) or (hi is not None and value > hi)):
                    value = None
                values[c].append(value)
        out[tab_id] = (rows, values)
    return out


def test_mixed_types_in_one_column_are_parsed_apart() -> None:
    """True, 1 and 1.0 hash alike; a column mixing them must not share their parse."""
    template = load_template()
    tab = template.tab("meetings")
    headers = [c.header for c in tab.columns]
    idx = {c.id: i for i, c in enumerate(tab.columns)}
    rows: list[list] = [headers]
    mixed = [True, 1, 1.0, "1", "x", 0, False, 0.0, None, "  ", datetime(2026, 3, 5),
             date(2026, 3, 5), 46086, 46086.5, time(8, 30), "12/03/2026", "T3/2026"]
    for k, v in enumerate(mixed):
        row: list = [None] * len(headers)
        row[idx["cell_code"]] = f"CB{k:02d}"
        for col in ("month", "meeting_date", "start_time", "rating"):
            if col in idx:
                row[idx[col]] = v
        for c in tab.columns:
            if c.kind == "yesno":
                row[idx[c.id]] = v
        rows.append(row)
    rows.append([None] * len(headers))  # an empty row in between is skipped
    rows.append([None] * (len(headers) + 3) + ["tool"])  # non-empty only outside the columns
    raw = RawWorkbook([RawSheet(tab.name, rows)], None, {})
    data = parse_unit(template, raw, "U", "U", date(2026, 12, 31))
    ref = _per_cell(template, raw)
    t = data.tabs["meetings"]
    assert (t.rows, {c: t.values[c] for c in ref["meetings"][1]}) == ref["meetings"]
    yesno = next(c.id for c in tab.columns if c.kind == "yesno")
    assert t.values[yesno][:3] == [True, True, True]
    assert t.values[yesno][5:8] == [False, False, False]
    assert len(t.rows) == len(mixed)  # every row has a cell code; the last two are skipped


def test_units_typing_one_value_as_different_types_are_parsed_apart() -> None:
    """Parse tables are kept across units: a unit typing 1 where the previous typed True (or
    1.0, or a text) must still get its own type's parse, as the per-cell parser gives."""
    template = load_template()
    tab = template.tab("meetings")
    headers = [c.header for c in tab.columns]
    idx = {c.id: i for i, c in enumerate(tab.columns)}
    columns = [c.id for c in tab.columns if c.kind in ("yesno", "time", "date", "int", "text")]
    # a text column reads "x" as it is ("1" too): a later unit's 1 or True is not that text
    for k, values in enumerate((["x", "1", " y "], [True, False, "x"], [1, 0, "x"],
                                [1.0, 0.0, "1"], [True, 1, 1.0], ["Có", 0, None],
                                [1, False, 0.5], ["x", "1", None])):
        rows: list[list] = [headers]
        for j, v in enumerate(values):
            row: list = [None] * len(headers)
            row[idx["cell_code"]] = f"CB{j:02d}"
            for col in columns:
                row[idx[col]] = v
            rows.append(row)
        raw = RawWorkbook([RawSheet(tab.name, rows)], None, {})
        t = parse_unit(template, raw, f"U{k}", "U", date(2026, 12, 31)).tabs["meetings"]
        ref_rows, ref_values = _per_cell(template, raw)["meetings"]
        assert t.rows == ref_rows
        for c in columns:  # repr: True and 1 are equal, but not the same parse
            assert repr(t.values[c]) == repr(ref_values[c]), (values, c)


def test_a_swapped_date_typed_as_a_date_object_leaves_the_raw_value_alone() -> None:
    """A column whose values are read as they are shares one list for raw and parsed values;
    the day/month swap check clears the parsed date, never the raw one."""
    template = load_template()
    tab = template.tab("meetings")
    headers = [c.header for c in tab.columns]
    idx = {c.id: i for i, c in enumerate(tab.columns)}
    rows: list[list] = [headers]
    typed = (("2026-03", date(2026, 5, 3)), ("2026-04", date(2026, 4, 20)))
    for k, (month, day) in enumerate(typed):
        row: list = [None] * len(headers)
        row[idx["cell_code"]], row[idx["month"]], row[idx["meeting_date"]] = f"CB{k}", month, day
        rows.append(row)
    raw = RawWorkbook([RawSheet(tab.name, rows)], None, {})
    t = parse_unit(template, raw, "U", "U", date(2026, 12, 31)).tabs["meetings"]
    assert t.values["meeting_date"] == [None, date(2026, 4, 20)]  # 03/05 for March: swapped
    assert t.invalid["meeting_date"] == {0}
    assert t.raw["meeting_date"] == [date(2026, 5, 3), date(2026, 4, 20)]
    assert t.values["cell_code"] is t.raw["cell_code"]  # read as typed: one list

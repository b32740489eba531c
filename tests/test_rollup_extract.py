"""The roll-up's matrix and annual rows (``extract.matrix_rows``, ``extract.annual_rows``) read
each cell-month once, from the unit's ``index`` and the cells' indicators; they equal the rows
computed cell-month by cell-month from the meetings tab and the findings (the reference below,
the code they replaced), on units that each miss something, with some findings explained or
accepted, at the end of the year and mid-year."""
from __future__ import annotations

from dataclasses import replace
from datetime import date
from itertools import product
from typing import Any

import pytest

from benchmarks.synthetic import AS_OF, SIZES, YEAR, config_for, unit_sheets
from sheets_sync.core.checker import UnitRead, evaluate
from sheets_sync.core.findings import ERROR, INFO, OK, WARNING, Finding, UnitResult
from sheets_sync.core.grid import REGULAR_TYPES, parse_unit
from sheets_sync.core.rules.annual import derive_annual
from sheets_sync.core.rules.base import (
    UnitContext,
    code_key,
    due_months,
    first_regular_meetings,
    make_context,
    month_key,
)
from sheets_sync.core.template import load_template
from sheets_sync.outputs.rollup import extract
from sheets_sync.outputs.rollup.extract import (
    ACCEPTED,
    ERR,
    EXPLAINED,
    MISSING,
    NONE,
    RANK,
    RATING_SHORT,
    WARN,
    AnnualRow,
    MatrixRow,
    findings_state,
)
from sheets_sync.outputs.rollup.indicators import index, unit_and_cells
from test_rollup_model_digest import _drop_columns, _small_sheets, _workbook

MEETINGS = "Sinh hoạt"


def reference_matrix(ctx: UnitContext, findings: list[Finding]) -> list[MatrixRow]:
    year = ctx.year
    tab = ctx.tab("meetings")
    by_row: dict[int, list[Finding]] = {}
    missing: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        if f.tab != MEETINGS:
            continue
        if f.row is not None:
            by_row.setdefault(f.row, []).append(f)
        elif f.rule == "MEET-MISSING" and f.cell is not None and f.period:
            missing.setdefault((code_key(f.cell), f.period), []).append(f)
    rows_of: dict[tuple[str, str], list[int]] = {}
    first: dict[tuple[str, str], int] = {}
    ratings: list[Any] = []
    if tab is not None and tab.has("cell_code") and tab.has("month"):
        for i, (t, code, m) in enumerate(zip(tab.meeting_types(), tab.col("cell_code"),
                                             tab.col("month"))):
            if t in REGULAR_TYPES and code is not None and m is not None \
                    and m.startswith(f"{year:04d}-"):
                rows_of.setdefault((code_key(code), m), []).append(tab.rows[i])
        first = first_regular_meetings(tab)
        ratings = tab.col("rating")
    names = extract.cell_names(ctx)
    out = []
    for key, cell in ctx.cells.items():
        months: list[tuple[str, str | None]] = []
        for period in [month_key(year, m) for m in range(1, 13)]:
            if (key, period) in missing:
                state = findings_state(missing[(key, period)])
                months.append((MISSING if state != ACCEPTED else ACCEPTED, None))
                continue
            rows = rows_of.get((key, period))
            if not rows:
                months.append((NONE, None))
                continue
            found = [f for r in rows for f in by_row.get(r, ())]
            fi = first.get((key, period))
            letter = RATING_SHORT.get(ratings[fi]) if fi is not None and ratings else None
            months.append((findings_state(found), letter))
        out.append(MatrixRow(cell.code, names.get(key, ""), months))
    return out


def reference_annual(ctx: UnitContext) -> list[AnnualRow]:
    derived = derive_annual(ctx)
    tab = ctx.tab("meetings")
    first = first_regular_meetings(tab) if tab is not None else {}
    ratings = tab.col("rating") if tab is not None else []
    reported: dict[str, str] = {}
    annual = ctx.tab("annual")
    if annual is not None and all(annual.has(c) for c in ("cell_code", "year", "self_rating")):
        for code, y, rating in zip(annual.col("cell_code"), annual.col("year"),
                                   annual.col("self_rating")):
            if code is not None and y == ctx.year and rating in RANK:
                reported.setdefault(code_key(code), rating)
    names = extract.cell_names(ctx)
    out = []
    for key, cell in ctx.cells.items():
        counts = {k: 0 for k in (*RANK, "none")}
        n = 0
        for m in due_months(ctx):
            if not cell.active(ctx.year, m):
                continue
            n += 1
            i = first.get((key, month_key(ctx.year, m)))
            rating = ratings[i] if i is not None else None
            counts[rating if rating in RANK else "none"] += 1
        level, _ = derived.get(cell.code, (None, n))
        out.append(AnnualRow(cell.code, names.get(key, ""), n, counts, level,
                             reported.get(key)))
    return out


def _variants() -> list[dict[str, list[list[Any]]]]:
    """The digest test's small units (k = 0…4), then: a register without a meetings tab; the
    meetings without their cell codes; without their months; with some regular meetings
    typed twice (a duplicate's findings show in its cell-month)."""
    out = [_small_sheets(k) for k in range(5)]
    size = SIZES["small"]
    no_meetings = unit_sheets(5, size, YEAR)
    del no_meetings["Sinh hoạt"]
    out.append(no_meetings)
    for header in ("Mã chi bộ", "Kỳ tháng"):
        sheets = unit_sheets(6, size, YEAR)
        sheets["Sinh hoạt"] = _drop_columns(sheets["Sinh hoạt"], {header})
        out.append(sheets)
    twice = unit_sheets(7, size, YEAR)
    rows = twice["Sinh hoạt"]
    twice["Sinh hoạt"] = rows + rows[len(rows) // 3:len(rows) // 3 + 12]
    out.append(twice)
    return out


def _marked(findings: list[Finding]) -> list[Finding]:
    """Some findings explained, some accepted (the states the matrix tells apart)."""
    return [replace(f, explained=f.explained or k % 5 == 2, accepted=k % 7 == 3)
            for k, f in enumerate(findings)]


@pytest.mark.parametrize("as_of", [AS_OF, date(YEAR, 8, 20)])
def test_matrix_and_annual_rows_equal_the_cell_month_reference(as_of: date) -> None:
    template = load_template()
    config = config_for(SIZES["small"])
    states: set[str] = set()
    derived_none_with_months = 0
    for k, sheets in enumerate(_variants()):
        unit = config.units[k % len(config.units)]
        raw = _workbook(sheets, k)
        read = UnitRead(unit, UnitResult(unit.code, unit.name, OK),
                        parse_unit(template, raw, unit.code, unit.name, as_of), raw)
        report = evaluate(config, [read], as_of, YEAR)
        found = _marked([f for f in report.findings if f.unit == unit.code])
        assert read.data is not None
        ctx = make_context(read.data, unit.rules, as_of, YEAR)
        idx = index(ctx)
        _, cells = unit_and_cells(ctx, report.units[0], found, idx)
        names = extract.cell_names(ctx)

        matrix = extract.matrix_rows(ctx, found, MEETINGS, idx, names)
        assert matrix == reference_matrix(ctx, found), k
        annual = extract.annual_rows(ctx, cells, names)
        assert annual == reference_annual(make_context(read.data, unit.rules, as_of, YEAR)), k

        states |= {state for row in matrix for state, _ in row.months}
        derived_none_with_months += sum(1 for a in annual if a.derived is None and a.months)
    # the cases the comparison is about were there
    assert states == {"ok", "error", "warning", "explained", "accepted", "missing", "none"}
    assert derived_none_with_months > 0


def reference_state(findings: list[Finding]) -> str:
    """``findings_state`` as the rule reads: errors and warnings only; an open error without
    explanation > an explained one > an open warning > all accepted."""
    flagged = [f for f in findings if f.severity in (ERROR, WARNING)]
    if not flagged:
        return extract.OK
    open_ = [f for f in flagged if not f.accepted]
    if not open_:
        return ACCEPTED
    if any(f.severity == ERROR and not f.explained for f in open_):
        return ERR
    if any(f.explained for f in open_):
        return EXPLAINED
    return WARN


def test_findings_state_of_every_mix_of_up_to_three_findings() -> None:
    kinds = [Finding("U", MEETINGS, 5, "CB01", "2026-03", "MEET-WINDOW", severity, "m",
                     explained=explained, accepted=accepted)
             for severity, explained, accepted in product((ERROR, WARNING, INFO), (False, True),
                                                          (False, True))]
    seen = set()
    for n in range(4):
        for mix in product(kinds, repeat=n):
            state = findings_state(mix)
            assert state == reference_state(list(mix)), mix
            seen.add(state)
    assert seen == {extract.OK, ERR, EXPLAINED, WARN, ACCEPTED}

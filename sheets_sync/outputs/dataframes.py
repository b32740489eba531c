"""The checked data as pandas DataFrames, for analysts working in notebooks or Excel.

    from sheets_sync.core.config import load_config
    from sheets_sync.sources import backend_for
    from sheets_sync.sync.pipeline import run_check
    from sheets_sync.outputs import frames

    config = load_config("config.toml")
    outcome = run_check(config, backend_for(config), as_of, history=False)
    f = frames(config, outcome.report, outcome.reads)
    f.cell_months.groupby("unit")["held"].mean()
    f.meetings.to_excel("sinh-hoat.xlsx")

Three tables, one row each per:
- ``cell_months``: cell and due month of the checked year in which the cell was active (the base
  of the roll-up's meeting indicators): unit, cell, month, held, meeting row, the meeting's
  window/duration/attendance criteria, rating, errors on that meeting;
- ``meetings``: row of every unit's `Sinh hoạt` tab as read (all years, all types), typed;
- ``findings``: finding (the JSON fields plus accepted, unit name, the rule's Vietnamese name).

The tab data are already columnar (``TabData.values`` holds one list per column), so the
meetings frame is built column by column, without per-row objects; the cell-months come from
the same indicator code as the roll-up (``rollup.model``), so their means equal the roll-up's
ratios.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import pandas as pd  # type: ignore[import-untyped]  # no stubs installed

from ..core.config import Config
from ..core.findings import ERROR, FINDING_FIELDS, Report
from ..core.rules.base import due_cell_months, first_regular_meetings
from ..core.rules.catalog import rule_name_vi
from .rollup.model import Model, build_model

MEETING_COLUMNS = ("cell_code", "month", "meeting_type", "topic", "meeting_date", "start_time",
                   "end_time", "duration", "reason", "premeeting_date", "docs_date",
                   "required_count", "present", "excused", "unexcused", "speakers",
                   "link_tw4", "link_hcm", "criticism", "minutes_full", "score", "rating",
                   "upper_attendee", "explanation", "note")


@dataclass
class Frames:
    cell_months: pd.DataFrame
    meetings: pd.DataFrame
    findings: pd.DataFrame


def frames(config: Config, report: Report, reads: Sequence[Any],
           model: Model | None = None) -> Frames:
    """Cell-months, meetings and findings of one check as DataFrames (see the module)."""
    model = model if model is not None else build_model(config, report, reads)
    return Frames(_cell_months(model), _meetings(model), _findings(report))


def _meetings(model: Model) -> pd.DataFrame:
    """Every unit's columns appended to one list per column, then one DataFrame."""
    cols: dict[str, list[Any]] = {k: [] for k in ("unit", "row", *MEETING_COLUMNS)}
    for u in model.units:
        tab = u.ctx.tab("meetings") if u.ctx is not None else None
        if tab is None or not tab.rows:
            continue
        cols["unit"].extend([u.code] * len(tab.rows))
        cols["row"].extend(tab.rows)
        types = tab.meeting_types()
        for c in MEETING_COLUMNS:
            cols[c].extend(types if c == "meeting_type" else tab.col(c))
    out = pd.DataFrame(cols)
    for c in ("meeting_date", "premeeting_date", "docs_date"):
        out[c] = pd.to_datetime(out[c])
    for c in ("row", "duration", "required_count", "present", "excused", "unexcused",
              "speakers"):
        out[c] = out[c].astype("Int64")
    return out


def _cell_months(model: Model) -> pd.DataFrame:
    cols: dict[str, list[Any]] = {k: [] for k in (
        "unit", "cell", "month", "held", "row", "meeting_date", "in_window", "duration_ok",
        "attendance_ok", "rating", "errors")}
    for u in model.units:
        ctx = u.ctx
        tab = ctx.tab("meetings") if ctx is not None else None
        if ctx is None or tab is None or not ctx.cells_known or not (
                tab.has("cell_code") and tab.has("month")):
            continue
        first = first_regular_meetings(tab)
        p = ctx.params
        rate = Fraction(str(p["min_attendance_rate"]))
        dates, minutes, ratings = tab.col("meeting_date"), tab.col("duration"), tab.col("rating")
        starts, ends, types = tab.col("start_time"), tab.col("end_time"), tab.meeting_types()
        required, present = tab.col("required_count"), tab.col("present")
        errors: dict[int, int] = {}
        for f in u.findings:
            if f.row is not None and f.tab == tab.tab.name and f.severity == ERROR \
                    and not f.accepted:
                errors[f.row] = errors.get(f.row, 0) + 1
        for m, period, key, cell in due_cell_months(ctx):
            i = first.get((key, period))
            cols["unit"].append(u.code)
            cols["cell"].append(cell.code)
            cols["month"].append(period)
            cols["held"].append(i is not None)
            if i is None:
                for k in ("row", "meeting_date", "in_window", "duration_ok",
                          "attendance_ok", "rating", "errors"):
                    cols[k].append(None)
                continue
            d = dates[i]
            cols["row"].append(tab.rows[i])
            cols["meeting_date"].append(d)
            cols["in_window"].append(
                None if d is None else (d.year == ctx.year and d.month == m
                                        and p["window_start_day"] <= d.day
                                        <= p["window_end_day"]))
            length = minutes[i] if minutes[i] is not None else (
                ends[i] - starts[i] if starts[i] is not None and ends[i] is not None
                and ends[i] > starts[i] else None)
            small, small_min = p["small_cell_members"], p["min_minutes_small_cell"]
            if types[i] == "combined":
                minimum = p["min_minutes_combined"]
            elif (small is not None and small_min is not None and required[i] is not None
                  and required[i] <= small):
                minimum = small_min
            else:
                minimum = p["min_minutes_regular"]
            cols["duration_ok"].append(None if length is None else length >= minimum)
            req, pres = required[i], present[i]
            cols["attendance_ok"].append(
                None if req is None or pres is None or req <= 0
                else pres * rate.denominator > rate.numerator * req)
            cols["rating"].append(ratings[i])
            cols["errors"].append(errors.get(tab.rows[i], 0))
    out = pd.DataFrame(cols)
    out["meeting_date"] = pd.to_datetime(out["meeting_date"])
    for c in ("in_window", "duration_ok", "attendance_ok"):
        out[c] = out[c].astype("boolean")
    out["errors"] = out["errors"].astype("Int64")
    out["row"] = out["row"].astype("Int64")
    return out


def _findings(report: Report) -> pd.DataFrame:
    names = {u.code: u.name for u in report.units}
    fs = report.findings
    cols: dict[str, list[Any]] = {k: [getattr(f, k) for f in fs] for k in FINDING_FIELDS}
    cols["accepted"] = [f.accepted for f in fs]
    cols["unit_name"] = [names.get(f.unit, "") for f in fs]
    cols["rule_name"] = [rule_name_vi(f.rule) for f in fs]
    out = pd.DataFrame(cols)
    out["row"] = out["row"].astype("Int64")
    return out


__all__ = ["Frames", "frames"]

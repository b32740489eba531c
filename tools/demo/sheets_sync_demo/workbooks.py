"""Writing each commune's workbook the way its staff type: layouts, value rendering, rows."""
from __future__ import annotations

import random
from datetime import date
from pathlib import Path
from typing import Any

from sheets_sync.core.template import Template

from .builder import Builder
from .district import Unit, nfd, serial, strip_marks

# --- rendering values --------------------------------------------------------------------------

class _Render:
    def __init__(self, unit: Unit, rng: random.Random):
        self.unit, self.s, self.rng = unit, unit.style, rng

    def text(self, value: str, code: bool = False) -> str:
        s = self.s
        if s.nfd and not code and self.rng.random() < s.nfd:
            value = nfd(value)
        if s.spaces and self.rng.random() < s.spaces:
            value = f" {value} " if code else f"{value} "
        return value

    def date(self, d: date) -> Any:
        s = self.s
        if s.iso_dates and self.rng.random() < s.iso_dates:
            return d.isoformat()
        if s.dates == "date":
            return d
        if s.dates == "serial":
            return serial(d)
        if s.dates == "dash":
            return f"{d.day:02d}-{d.month:02d}-{d.year}"
        if s.padded and self.rng.random() < s.padded:
            return f"{d.day:02d}/{d.month:02d}/{d.year}"
        return f"{d.day}/{d.month}/{d.year}"

    def month(self, ym: tuple[int, int]) -> Any:
        y, m = ym
        kind = self.s.months
        if kind == "m/yyyy":
            return f"{y}-{m:02d}" if self.rng.random() < 0.1 else f"{m}/{y}"
        if kind == "T":
            return f"T{m}/{y}"
        if kind == "thang":
            return f"tháng {m}/{y}"
        if kind == "date":
            return date(y, m, 1)
        return f"{m:02d}/{y}"

    def yesno(self, v: bool) -> Any:
        if self.s.yesno == "bool":
            return v
        if self.s.yesno == "ascii":
            return "co" if v else "khong"
        return "Có" if v else "Không"

    def choice(self, column, choice_id: str) -> str:
        label = column.label_of(choice_id) or choice_id
        if self.s.ascii_choices:  # typed without a Vietnamese keyboard: "tot", "kha", "TB"
            if column.id in ("rating", "self_rating"):
                return "TB" if choice_id == "average" else strip_marks(label).lower()
            return strip_marks(label)
        return self.text(label)

    def time(self, minutes: int) -> str:
        h, m = divmod(minutes, 60)
        if self.s.times == "h":
            return f"{h}h{m:02d}" if m else f"{h}h"
        return f"{h:02d}:{m:02d}"

    def number(self, x: float) -> Any:
        if float(x).is_integer():
            return int(x)
        return f"{x:g}".replace(".", ",") if self.s.ascii_choices else x

    def value(self, column, v: Any) -> Any:
        if v is None:
            return None
        kind = column.kind
        if kind == "date":
            return self.date(v)
        if kind == "month":
            return self.month(v)
        if kind == "yesno":
            return self.yesno(v)
        if kind == "choice":
            return self.choice(column, v)
        if kind == "time":
            return self.time(v)
        if kind == "number":
            return self.number(v)
        if kind in ("text", "code"):
            return self.text(str(v), code=kind == "code")
        return v


# --- rows of each tab ----------------------------------------------------------------------------

def _cell_rows(unit: Unit) -> list[dict[str, Any]]:
    rows = []
    for c in unit.cells + unit.extra_cell_rows:
        rows.append({"cell_code": c.code, "cell_name": c.name, "kind": c.kind,
                     "members": len(c.members), "official_members": c.official,
                     "secretary": c.secretary, "secretary_dual": c.dual,
                     "assignee": c.assignee, "founded": c.founded, "dissolved": c.dissolved,
                     "note": c.note})
    return rows


def _meeting_rows(unit: Unit, year: int) -> list[tuple[tuple, dict[str, Any]]]:
    order = {c.code: i for i, c in enumerate(unit.cells)}
    rows = []
    for mt in unit.meetings:
        d = mt.day
        end = mt.start + mt.duration if mt.start is not None and mt.duration else None
        row = {"cell_code": mt.cell, "month": (year, mt.month), "meeting_type": mt.type,
               "topic": mt.topic, "meeting_date": d, "start_time": mt.start,
               "end_time": end, "duration": mt.duration, "reason": mt.reason,
               "premeeting_date": mt.premeeting, "docs_date": mt.docs,
               "required_count": mt.required, "present": mt.present, "excused": mt.excused,
               "unexcused": mt.unexcused, "speakers": mt.speakers, "link_tw4": mt.tw4,
               "link_hcm": mt.hcm, "criticism": mt.criticism, "minutes_full": mt.minutes,
               "score": mt.score, "rating": mt.rating, "upper_attendee": mt.upper,
               "explanation": mt.explanation, "note": mt.note}
        if mt.type == "regular" and unit.code in ("NT", "VT", "NN"):
            row["meeting_type"] = mt.type
        elif mt.type == "regular":
            row["meeting_type"] = None  # blank = Thường kỳ
        raw = dict(mt.raw)
        if unit.code == "NH":
            raw["+Người nhập"] = unit.staff.split()[-1]
        if unit.code == "NH":  # one block per cell
            key = (order[mt.cell], mt.month, d or date(year, mt.month, 1), mt.seq)
        else:
            key = (mt.month, d or date(year, mt.month, 1), order[mt.cell], mt.seq)
        rows.append((key, row | {"__raw": raw}))
    rows.sort(key=lambda kr: kr[0])
    return rows


def _attendance_rows(unit: Unit, year: int, builder: Builder) -> list[dict[str, Any]]:
    rows = []
    for cell in unit.cells:
        for m in builder.months:
            mt = builder._find(unit.code, cell.code, m)
            if mt is None:
                continue
            for mb, st, reason in mt.statuses:
                rows.append({"cell_code": cell.code, "month": (year, m),
                             "member_name": mb.name, "member_id": mb.mid, "status": st,
                             "reason": reason})
    return rows


def _briefing_rows(unit: Unit) -> list[dict[str, Any]]:
    return [{"month": b.month, "briefing_date": b.day, "form": b.form,
             "secretaries": b.secretaries, "explanation": b.explanation, "note": b.note}
            for b in sorted(unit.briefings, key=lambda b: (b.month, b.day))]


def _visit_rows(unit: Unit) -> list[dict[str, Any]]:
    return [{"supervisor": v.name, "position": v.role, "cell_code": v.cell, "visit_date": v.day,
             "in_book": v.in_book, "cell_confirmed": v.cell_ok, "unit_confirmed": v.unit_ok,
             "difficulties": v.difficulties, "note": v.note}
            for v in sorted(unit.visits, key=lambda v: (v.day, v.name))]


def _hall_rows(unit: Unit) -> list[dict[str, Any]]:
    return [{"hamlet": h.hamlet, "cell_code": h.cell, "population": h.population,
             "capacity": h.capacity, "state": h.state, "proposal": h.proposal, "note": h.note}
            for h in unit.halls]


# --- writing ------------------------------------------------------------------------------------

def write_workbook(path: Path, template: Template, unit: Unit, builder: Builder,
                    rng: random.Random) -> None:
    import openpyxl
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    year = builder.year
    render = _Render(unit, rng)
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    wb.properties.creator = unit.staff
    tab_rows = {
        "cells": _cell_rows(unit),
        "meetings": [r for _, r in _meeting_rows(unit, year)],
        "briefings": _briefing_rows(unit),
        "visits": _visit_rows(unit),
        "attendance": _attendance_rows(unit, year, builder),
        "annual": [{"cell_code": c, "year": year, "self_rating": r,
                    "note": "Dự kiến, hoàn thiện sau kỳ sinh hoạt tháng 12"}
                   for c, r in unit.annual.items()],
        "halls": _hall_rows(unit),
    }
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="DDEBF7")
    for tab in template.tabs:
        layout = unit.layouts.get(tab.id)
        if layout is None:
            continue
        ws = wb.create_sheet(tab.name)
        for title in layout.titles:
            ws.append([title])
            ws.cell(ws.max_row, 1).font = Font(bold=True, size=13)
        headers = []
        for col_id in layout.columns:
            if col_id.startswith("+"):
                headers.append(col_id[1:])
            else:
                headers.append(layout.headers.get(col_id, tab.column(col_id).header))
        ws.append(headers)
        header_row = ws.max_row
        for ci, col_id in enumerate(layout.columns, start=1):
            cell = ws.cell(header_row, ci)
            cell.font, cell.fill = bold, head_fill
            cell.alignment = Alignment(wrap_text=True, vertical="center")
            width = 14 if col_id.startswith("+") else tab.column(col_id).width
            ws.column_dimensions[get_column_letter(ci)].width = width + 2
        ws.freeze_panes = f"A{header_row + 1}"
        prev_group = None
        for row in tab_rows[tab.id]:
            raw = row.get("__raw", {})
            group = row.get("month") if tab.id == "meetings" else None
            if (layout.blank_rows and prev_group is not None and group != prev_group
                    and rng.random() < layout.blank_rows):
                ws.append([])
            prev_group = group
            values = []
            for col_id in layout.columns:
                if col_id in raw:
                    values.append(raw[col_id])
                elif col_id.startswith("+"):
                    values.append(None)
                else:
                    values.append(render.value(tab.column(col_id), row.get(col_id)))
            ws.append(values)
            r = ws.max_row
            for ci, col_id in enumerate(layout.columns, start=1):
                v = values[ci - 1]
                if isinstance(v, date):
                    kind = "month" if not col_id.startswith("+") and \
                        tab.column(col_id).kind == "month" else "date"
                    ws.cell(r, ci).number_format = "mm/yyyy" if kind == "month" else "dd/mm/yyyy"
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)

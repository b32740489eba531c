"""Synthetic unit spreadsheets generated in memory, for benchmarks.

A unit (commune party committee) holds ``cells`` cells; each cell has its 12 regular meetings
of the year (one per quarter combined with a thematic topic), plus separate thematic meetings
so that the meeting rows per cell match the requested size, a briefing row per month, the
supervisors' visits, an annual self-rating per cell, village halls, and — in one unit of
twenty — a per-member attendance tab for two cells.

The content is what staff really type into Google Sheets, read back with UNFORMATTED_VALUE +
SERIAL_NUMBER: dates as serial numbers (or as text in units that type them), times as
fractions of a day, months as "05/2026" / "T5/2026" / a date cell, check boxes as booleans or
"Có"/"x", choice labels with or without diacritics, a title row above the headers in some
units, a staff "STT" column in others. Most records are good; a few percent carry the problems
the rules look for (late or short meetings, low attendance, missing pre-meetings, inflated
ratings, late briefings, unconfirmed visits, typos), so checking and write-back do realistic
work. Every unit is generated from its own ``random.Random`` (seed, unit index): the same
arguments give the same values, in any process, and unit *k* is the same at every size.

Sizes (``SIZES``): ``province`` ≈ 100 units, 3,000 cells, 40,000 meeting rows; ``national``
≈ 3,300 units, 100,000 cells, 1.2 million meeting rows; ``province10`` is ten provinces.
"""
from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sheets_sync.core.config import Config, Supervisor, UnitConfig
from sheets_sync.core.raw import RawSheet, RawWorkbook
from sheets_sync.core.rules import params as rule_params
from sheets_sync.core.template import Template, load_template

EPOCH = date(1899, 12, 30)
YEAR = 2026
AS_OF = date(2027, 1, 20)  # every month, quarter, briefing and visit of YEAR is due


@dataclass(frozen=True)
class Size:
    name: str
    units: int
    cells_per_unit: int
    extra_thematic: float  # separate thematic meetings per cell and year, beyond the 12

    @property
    def cells(self) -> int:
        return self.units * self.cells_per_unit


SIZES = {
    "small": Size("small", 5, 6, 1 / 3),  # quick mode's sync units: 6 cells each
    "one": Size("one", 1, 30, 4 / 3),  # quick mode's 1× of the history store
    "tiny": Size("tiny", 10, 30, 4 / 3),  # quick mode's 1× (a tenth of a province)
    "province": Size("province", 100, 30, 4 / 3),  # 3,000 cells, ≈ 40,000 meeting rows
    "province10": Size("province10", 1000, 30, 4 / 3),  # 10× province
    "national": Size("national", 3300, 30, 1 / 3),  # 99,000 cells, ≈ 1.22 million rows
}

SURNAMES = ("Nguyễn", "Nguyễn", "Nguyễn", "Trần", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đỗ",
            "Bùi", "Đặng", "Ngô", "Phan", "Đinh", "Trịnh")
MIDDLE = ("Văn", "Thị", "Đức", "Minh", "Thu", "Hữu", "Ngọc", "Quang", "Thanh", "Xuân")
GIVEN = ("An", "Bình", "Cường", "Dũng", "Hà", "Hải", "Hạnh", "Hòa", "Hùng", "Lan", "Linh",
         "Long", "Mai", "Nam", "Nga", "Phúc", "Quân", "Sơn", "Tâm", "Thắng", "Thảo", "Trung",
         "Tuấn", "Yến")
TOPICS = ("Học tập, làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh",
          "Xây dựng nông thôn mới kiểu mẫu", "Chuyển đổi số ở thôn, tổ dân phố",
          "Bảo vệ nền tảng tư tưởng của Đảng", "Phòng, chống tham nhũng, tiêu cực")
DIFFICULTIES = ("Nhà văn hóa xuống cấp, đề nghị hỗ trợ kinh phí sửa chữa.",
                "Đảng viên cao tuổi đi lại khó khăn.", "Đề nghị cấp thêm tài liệu sinh hoạt.")


def serial(d: date) -> int:
    return (d - EPOCH).days


def person(rng: random.Random) -> str:
    return f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"


def unit_code(k: int) -> str:
    return f"U{k:04d}"


def spreadsheet_id(k: int, prefix: str = "bench") -> str:
    return f"1{prefix}{k:04d}" + "x" * 30


@dataclass(frozen=True)
class Habits:
    """How one unit's staff type their book."""

    title_row: bool  # a title line above the header row
    stt: bool  # a staff "STT" column before the template columns
    text_dates: bool  # dates typed as text "03/05/2026" (else date cells = serials)
    month_style: int  # 0 "05/2026", 1 "T5/2026", 2 a date cell (1st of the month)
    times: bool  # start/end times filled (else only the minutes column)
    yes: Any  # how "yes" is typed in yes/no columns
    no: Any
    plain: bool  # choice labels sometimes typed without diacritics
    evening: bool  # villages meeting in the evening


def habits_of(rng: random.Random) -> Habits:
    style = rng.random()
    return Habits(title_row=rng.random() < 0.3, stt=rng.random() < 0.25,
                  text_dates=rng.random() < 0.15, month_style=rng.choice((0, 0, 0, 1, 2)),
                  times=rng.random() < 0.8,
                  yes=True if style < 0.6 else ("Có" if style < 0.9 else "x"),
                  no=False if style < 0.6 else ("Không" if style < 0.9 else "k"),
                  plain=rng.random() < 0.2, evening=rng.random() < 0.4)


class _Unit:
    """One unit's rows, tab by tab, as ``{column id: raw value}``."""

    def __init__(self, k: int, size: Size, year: int, seed: int, supervisors: list[str]):
        self.rng = rng = random.Random(f"{seed}:{k}")
        self.k, self.year = k, year
        self.h = habits_of(rng)
        self.supervisors = supervisors
        self.cells: list[dict] = []
        self.meetings: list[dict] = []
        self.briefings: list[dict] = []
        self.visits: list[dict] = []
        self.annual: list[dict] = []
        self.halls: list[dict] = []
        self.attendance: list[dict] | None = [] if k % 20 == 7 else None
        self.held: dict[tuple[str, int], date] = {}  # (cell, month) -> regular meeting date
        for c in range(1, size.cells_per_unit + 1):
            self._cell(c, size.extra_thematic)
        self._briefings()
        self._visits()

    # --- typing habits -------------------------------------------------------------------------

    def date(self, d: date) -> Any:
        return f"{d:%d/%m/%Y}" if self.h.text_dates else serial(d)

    def month(self, m: int) -> Any:
        style = self.h.month_style
        if style == 1:
            return f"T{m}/{self.year}"
        if style == 2:
            return serial(date(self.year, m, 1))  # a date cell formatted as a month
        return f"{m:02d}/{self.year}"

    def yesno(self, value: bool) -> Any:
        return self.h.yes if value else self.h.no

    def label(self, text: str, plain: str) -> str:
        return plain if self.h.plain and self.rng.random() < 0.3 else text

    # --- tabs ----------------------------------------------------------------------------------

    def _cell(self, c: int, extra_thematic: float) -> None:
        rng = self.rng
        code = f"CB{c:02d}"
        r = rng.random()
        kind, plain_kind = (("Thôn", "Thon") if r < 0.62 else ("Tổ dân phố", "To dan pho")
                            if r < 0.72 else ("Trường học", "Truong hoc") if r < 0.82
                            else ("Y tế", "Y te") if r < 0.87 else ("Cơ quan", "Co quan")
                            if r < 0.94 else ("Công an", "Cong an") if r < 0.97
                            else ("Quân sự", "Quan su"))
        village = kind in ("Thôn", "Tổ dân phố")
        members = rng.randint(15, 80) if village else rng.randint(4, 25)
        name = f"Chi bộ {'thôn' if kind == 'Thôn' else kind.lower()} {c}"
        self.cells.append({
            "cell_code": code, "cell_name": name, "kind": self.label(kind, plain_kind),
            "members": members, "official_members": members - rng.choice((0, 0, 1, 2, 3)),
            "secretary": person(rng),
            "secretary_dual": self.yesno(rng.random() > 0.06),
            "assignee": person(rng) if rng.random() > 0.01 else None,
        })
        if village:
            state = rng.random()
            self.halls.append({
                "hamlet": f"Thôn {c}", "cell_code": code, "population": rng.randint(400, 3500),
                "capacity": rng.choice((60, 80, 100, 150, 200, 300)),
                "state": "Tốt" if state < 0.82 else ("Xuống cấp" if state < 0.96 else "Chưa có"),
                "proposal": "Không" if state < 0.82 else ("Nâng cấp" if state < 0.96
                                                          else "Xây mới")})
        combined = {3 * q + rng.randint(1, 3) for q in range(4)}  # one combined meeting a quarter
        ratings = []
        for m in range(1, 13):
            if rng.random() < 0.01:
                continue  # no meeting this month (MEET-MISSING)
            rating = self._meeting(code, members, m, "combined" if m in combined else "regular")
            ratings.append(rating)
            if rng.random() < 0.003:  # typed twice (MEET-DUPLICATE)
                self.meetings.append(dict(self.meetings[-1]))
        extra = int(extra_thematic) + (rng.random() < extra_thematic % 1)
        for _ in range(extra):
            self._meeting(code, members, rng.randint(1, 12), "thematic")
        good = sum(r == "Tốt" for r in ratings)
        self_rating = "Tốt" if good >= 7 else "Khá"
        if rng.random() < 0.03:
            self_rating = "Tốt"  # inflated (ANNUAL-RATING when derived lower)
        self.annual.append({"cell_code": code, "year": self.year, "self_rating": self_rating})
        if self.attendance is not None and c <= 2:
            self._attendance(code, members)

    def _meeting(self, code: str, members: int, m: int, kind: str) -> str:
        rng, h = self.rng, self.h
        r = rng.random()
        if kind == "thematic":
            day = rng.randint(10, 25)
        elif r < 0.80:
            day = 3
        elif r < 0.97:
            day = rng.choice((1, 2, 4, 5, 6, 7))  # MEET-PREFERRED-DAY (info)
        else:
            day = rng.randint(8, 15)  # MEET-WINDOW
        d = date(self.year, m, day)
        if kind != "thematic":
            self.held.setdefault((code, m), d)
        minimum = 120 if kind == "combined" else 90
        minutes = rng.choice((minimum, minimum, minimum + 30, minimum + 60))
        if rng.random() < 0.02:
            minutes = minimum - 15  # MEET-DURATION
        start = (19 * 60 + 30) if h.evening else (7 * 60 + 30)
        excused_rate = rng.random()
        exempt = rng.choice((0, 0, 0, 1, 2))
        required = max(3, members - exempt)
        absent = 0 if excused_rate < 0.5 else rng.randint(1, max(1, required // 8))
        if rng.random() < 0.03:
            absent = required // 4 + 1  # MEET-ATTENDANCE
        unexcused = 1 if absent and rng.random() < 0.05 else 0  # MEET-UNEXCUSED
        rating = ("Tốt" if r < 0.6 else "Khá") if rng.random() < 0.97 else "Trung bình"
        score = rng.randint(90, 99) if rating == "Tốt" else (rng.randint(70, 89) if rating == "Khá"
                                                            else rng.randint(50, 69))
        if rng.random() < 0.02:
            score = rng.randint(75, 85) if rating == "Tốt" else score  # MEET-RATING-INFLATED
        typed_rating = {"Tốt": self.label("Tốt", "tot"), "Khá": self.label("Khá", "kha"),
                        "Trung bình": "TB"}[rating]
        pre = d - timedelta(days=rng.randint(2, 7))
        row = {
            "cell_code": code, "month": self.month(m),
            "meeting_type": {"regular": self.label("Thường kỳ", "Thuong ky")
                             if rng.random() < 0.9 else None,
                             "combined": "Thường kỳ kết hợp chuyên đề",
                             "thematic": self.label("Chuyên đề", "Chuyen de")}[kind],
            "topic": rng.choice(TOPICS) if kind != "regular" else None,
            "meeting_date": self.date(d),
            "duration": minutes,
            "reason": "Trùng lịch lễ hội của thôn" if day > 7 and rng.random() < 0.3 else None,
            "premeeting_date": self.date(pre) if rng.random() > 0.01 else None,
            "docs_date": self.date(d - timedelta(days=rng.choice((1, 2, 3, 3, 5))))
            if rng.random() > 0.02 else self.date(d),  # MEET-DOCS-APP
            "required_count": required, "present": required - absent,
            "excused": absent - unexcused, "unexcused": unexcused,
            "speakers": rng.randint(3, 12),
            "link_tw4": self.yesno(rng.random() > 0.02), "link_hcm": self.yesno(True),
            "criticism": self.yesno(rng.random() > 0.01),
            "minutes_full": self.yesno(rng.random() > 0.01),
            "score": score, "rating": typed_rating,
        }
        if h.times:
            row["start_time"] = start / 1440
            row["end_time"] = (start + minutes) / 1440
            if h.evening is False and rng.random() < 0.1:
                row["start_time"], row["end_time"] = "7h30", f"{7 + (30 + minutes) // 60}h" \
                    f"{(30 + minutes) % 60:02d}"
        if rng.random() < 0.003:
            row["present"] = f"{required - absent} đ/c"  # DATA-INVALID
        self.meetings.append(row)
        return rating

    def _attendance(self, code: str, members: int) -> None:
        rng = self.rng
        for p in range(1, members + 1):
            name = f"{person(rng)} {p}"
            streak = rng.random() < 0.03
            for m in range(1, 13):
                status = "Có mặt"
                if streak and 3 <= m <= 6:
                    status = "Vắng có lý do"  # MEMBER-EXCUSED-STREAK
                elif rng.random() < 0.05:
                    status = "Vắng có lý do"
                self.attendance.append({"cell_code": code, "month": self.month(m),
                                        "member_name": name, "member_id": f"{code}-{p:03d}",
                                        "status": status})

    def _briefings(self) -> None:
        rng = self.rng
        for m in range(1, 13):
            py, pm = (self.year - 1, 12) if m == 1 else (self.year, m - 1)
            d = date(py, pm, rng.randint(20, 28))
            if rng.random() < 0.04:
                d = date(self.year, m, 1)  # BRIEF-DEADLINE
            self.briefings.append({"month": self.month(m), "briefing_date": self.date(d),
                                   "form": rng.choice(("Hội nghị", "Hội nghị", "Văn bản")),
                                   "secretaries": len(self.cells)})

    def _visits(self) -> None:
        rng = self.rng
        codes = [c["cell_code"] for c in self.cells]
        for m in range(1, 13):
            for name in self.supervisors:
                if rng.random() < 0.04:
                    continue  # no visit this month (SUP-MONTHLY when the other unit has none)
                self._visit(name, rng.choice(codes), m)
            for _ in range(rng.randint(1, 3)):  # the unit's own leaders (not in the roster)
                self._visit(person(rng), rng.choice(codes), m)

    def _visit(self, name: str, code: str, m: int) -> None:
        rng = self.rng
        d = self.held.get((code, m))
        if d is None or rng.random() < 0.02:
            d = date(self.year, m, 3) + timedelta(days=1)  # SUP-NO-MEETING
        self.visits.append({
            "supervisor": name, "position": "Ủy viên Ban Thường vụ", "cell_code": code,
            "visit_date": self.date(d), "in_book": self.yesno(True),
            "cell_confirmed": self.yesno(rng.random() > 0.02),
            "unit_confirmed": self.yesno(rng.random() > 0.02),
            "difficulties": rng.choice(DIFFICULTIES) if rng.random() < 0.1 else None})


def _grid(unit: _Unit, tab, rows: list[dict]) -> list[list[Any]]:
    cols = [c for c in tab.columns if any(c.id in r for r in rows[:50]) or c.required]
    header = [c.header for c in cols]
    body = [[r.get(c.id) for c in cols] for r in rows]
    if unit.h.stt:
        header = ["STT", *header]
        body = [[n, *line] for n, line in enumerate(body, start=1)]
    out = [header, *body]
    if unit.h.title_row:
        out.insert(0, [f"SỔ THEO DÕI — {tab.name.upper()} NĂM {unit.year}"])
    return out


def unit_sheets(k: int, size: Size, year: int = YEAR, seed: int = 1,
                supervisors: list[str] | None = None,
                template: Template | None = None) -> dict[str, list[list[Any]]]:
    """Unit *k*'s spreadsheet as ``{sheet title: rows}`` (row 0 = sheet row 1)."""
    t = template or load_template()
    unit = _Unit(k, size, year, seed, supervisors if supervisors is not None
                 else supervisor_names(k))
    tabs = [("cells", unit.cells), ("meetings", unit.meetings), ("briefings", unit.briefings),
            ("visits", unit.visits), ("attendance", unit.attendance),
            ("annual", unit.annual), ("halls", unit.halls)]
    return {t.tab(tab_id).name: _grid(unit, t.tab(tab_id), rows)
            for tab_id, rows in tabs if rows}


def unit_workbook(k: int, size: Size, year: int = YEAR, seed: int = 1,
                  template: Template | None = None) -> RawWorkbook:
    sheets = unit_sheets(k, size, year, seed, template=template)
    return RawWorkbook([RawSheet(title, rows) for title, rows in sheets.items()],
                       version=f"v{k}")


# --- the parent: units and supervisors ------------------------------------------------------------

def supervisor_name(s: int) -> str:
    return f"{SURNAMES[s % len(SURNAMES)]} {MIDDLE[(s // 7) % len(MIDDLE)]} Giám Sát {s}"


def supervisor_names(k: int) -> list[str]:
    """Every supervisor follows two neighbouring units: unit k is followed by supervisor k // 2."""
    return [supervisor_name(k // 2)]


def config_for(size: Size, google: bool = False, folder: Path | None = None,
               units: int | None = None, prefix: str = "bench", **config_fields) -> Config:
    """A parent config: units U0000…, supervisors following two units each. With ``google``
    the units are spreadsheets ``spreadsheet_id(k)``; ``folder`` holds state/ and out/."""
    n = size.units if units is None else units
    unit_cfgs = tuple(
        UnitConfig(unit_code(k), f"Đảng ủy xã {k}",
                   spreadsheet=spreadsheet_id(k, prefix) if google else None,
                   path=None if google else Path(f"{unit_code(k)}.xlsx"),
                   rules=rule_params.resolve())
        for k in range(n))
    supervisors = tuple(
        Supervisor(supervisor_name(s), tuple(unit_code(k) for k in (2 * s, 2 * s + 1) if k < n),
                   role="Ủy viên Ban Thường vụ")
        for s in range((n + 1) // 2))
    extra = {}
    if folder is not None:
        extra = {"state_dir": folder / "state", "out_dir": folder / "out"}
    return Config(path=(folder or Path(".")) / "bench.toml", parent_name="Tỉnh ủy Mẫu",
                  units=unit_cfgs, supervisors=supervisors, **extra, **config_fields)


def dataset(size: Size, seed: int = 1, year: int = YEAR) -> tuple[Config, Iterator[tuple[
        UnitConfig, RawWorkbook]]]:
    """The parent config and a generator of (unit, raw workbook), built one unit at a time."""
    config = config_for(size)
    template = load_template()

    def gen():
        for k, unit in enumerate(config.units):
            yield unit, unit_workbook(k, size, year, seed, template)

    return config, gen()

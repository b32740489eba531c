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

import argparse
import calendar
import math
import random
import sys
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Sequence

from sheets_sync.core.template import Template, load_template

PARENT_NAME = "Đảng bộ huyện Lý Nhân"
EXCEL_EPOCH = date(1899, 12, 30)

# Where each non-History rule is planted (the unit code, tab and what), for the report and docs.
PLANTED: tuple[tuple[str, str], ...] = (
    ("TPL-TAB-MISSING", "NM: no 'Triển khai' tab"),
    ("TPL-COLUMN-MISSING", "NN 'Dự sinh hoạt': no 'Ghi Sổ dự sinh hoạt' column"),
    ("TPL-COLUMN-DUPLICATE", "NN 'Chi bộ': 'Ghi chú' twice"),
    ("DATA-REQUIRED", "NT 'Sinh hoạt': CB04 thematic meeting of Q2 without a topic"),
    ("DATA-INVALID", "NN 'Sinh hoạt': CB02 May, date cell 05/03 (day/month swap); "
                     "NH 'Sinh hoạt': CB05 June, 'Số có mặt' = '<n> đ/c'"),
    ("DATA-FUTURE-DATE", "NT 'Triển khai': next month's briefing dated as-of + 3 days"),
    ("DATA-UNKNOWN-CELL", "NN 'Nhà văn hóa': a hall of cell code CB07"),
    ("DATA-DUPLICATE-CELL", "NN 'Chi bộ': CB05 listed twice"),
    ("DATA-ATTENDANCE-SUM", "NM 'Sinh hoạt': CB02 February, excused typed one short"),
    ("CELL-ASSIGNEE", "NH 'Chi bộ': CB04 without a committee member in charge"),
    ("CELL-SIZE", "NT 'Chi bộ': CB05 (health station) with 2 official members"),
    ("CELL-SECRETARY-DUAL", "VT 'Chi bộ': CB04 (agency) secretary not the head; some villages"),
    ("MEET-MISSING", "NM: CB01 has no meeting in June"),
    ("MEET-DUPLICATE", "VT 'Sinh hoạt': CB02 April typed twice"),
    ("MEET-WINDOW", "NH CB03 July on the 12th, no reason (error, explained, accepted); "
                    "NT CB02 September on the 10th, reason 'Mưa bão' (warning)"),
    ("MEET-PREFERRED-DAY", "every meeting on days 1–7 other than the 3rd"),
    ("MEET-DURATION", "NM CB03 March: 75 minutes"),
    ("MEET-ATTENDANCE", "VT CB03 August: 17 of 20"),
    ("MEET-UNEXCUSED", "NT CB03 April–June: one member absent without reason"),
    ("MEET-PREMEETING", "NM CB05 May: no pre-meeting date"),
    ("MEET-MINUTES", "NH CB01 September: minutes 'khong'"),
    ("MEET-CONTENT", "NM CB04 October: neither TW4 nor Bác"),
    ("MEET-CRITICISM", "NH CB04 August: no self-criticism"),
    ("MEET-DOCS-APP", "VT CB05 October: documents posted on the meeting day"),
    ("MEET-RATING-MISSING", "HL CB04 March: no rating"),
    ("MEET-RATING-INFLATED", "NH CB02 May: 'tot' with score 80"),
    ("THEME-QUARTERLY", "HL CB01: no thematic meeting in Q1"),
    ("BRIEF-DEADLINE", "NH 'Triển khai': October briefing dated 30 September"),
    ("SUP-MONTHLY", "Đỗ Thị Mai (HL, NN): no visit in May"),
    ("SUP-RECORD", "NT 'Dự sinh hoạt': a visit not confirmed by the commune committee"),
    ("SUP-NO-MEETING", "HL 'Dự sinh hoạt': a visit dated the day after the meeting"),
    ("MEMBER-EXCUSED-STREAK", "NT 'Điểm danh': a CB01 member excused March–June"),
    ("MEMBER-ABANDON", "NT 'Điểm danh': a CB03 member absent without reason April–June"),
    ("ANNUAL-RATING", "NM 'Đánh giá năm': CB02 self-rated Tốt, derived Khá"),
    ("HOUSE-NEED", "NT, NM, HL 'Nhà văn hóa': degraded / missing halls"),
)

# --- names ------------------------------------------------------------------------------------

SURNAMES = ("Nguyễn",) * 6 + ("Trần",) * 3 + ("Lê",) * 2 + (
    "Phạm", "Phạm", "Hoàng", "Vũ", "Vũ", "Đỗ", "Bùi", "Đặng", "Ngô", "Trịnh", "Đinh", "Lương",
    "Tạ", "Cao", "Phan", "Hà", "Mai", "Lưu", "Đào", "Chu")
MIDDLE_M = ("Văn", "Văn", "Văn", "Đức", "Minh", "Xuân", "Quang", "Hữu", "Đình", "Công",
            "Thanh", "Ngọc", "Mạnh", "Trọng", "Bá")
MIDDLE_F = ("Thị", "Thị", "Thị", "Thị", "Thu", "Thanh", "Ngọc", "Minh", "Hồng", "Kim")
GIVEN_M = ("An", "Bình", "Cường", "Dũng", "Đạt", "Giang", "Hải", "Hùng", "Huy", "Khánh",
           "Long", "Nam", "Phong", "Quân", "Sơn", "Tài", "Thắng", "Thành", "Tiến", "Toàn",
           "Trung", "Tuấn", "Việt", "Vinh", "Hòa", "Hiếu", "Lâm", "Lộc", "Phúc", "Quý", "Tâm",
           "Chiến", "Kiên", "Nghĩa", "Duy", "Thịnh", "Hưng", "Khoa", "Định", "Luận")
GIVEN_F = ("Anh", "Châu", "Dung", "Hà", "Hạnh", "Hằng", "Hiền", "Hoa", "Huyền", "Hương",
           "Lan", "Liên", "Linh", "Loan", "Mai", "Nga", "Ngân", "Nhung", "Oanh", "Phương",
           "Thảo", "Thủy", "Trang", "Tuyết", "Vân", "Yến", "Quyên", "Thơm", "Lý", "Xuân")

EXCUSE_REASONS = ("Ốm", "Đi công tác", "Việc gia đình", "Đi làm ăn xa", "Con ốm",
                  "Đi viện chăm người nhà", "Trực cơ quan")
THEMATIC_TOPICS = (
    "Học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh về tinh thần trách nhiệm",
    "Xây dựng nông thôn mới kiểu mẫu, khu dân cư kiểu mẫu",
    "Nâng cao chất lượng công tác phát triển đảng viên",
    "Phòng, chống tham nhũng, lãng phí, tiêu cực ở cơ sở",
    "Chuyển đổi số trong cộng đồng, sử dụng ứng dụng Sổ tay đảng viên điện tử",
    "Bảo vệ môi trường, thu gom, phân loại rác thải tại nguồn",
    "Phát huy vai trò nêu gương của cán bộ, đảng viên",
    "Dồn điền đổi thửa, phát triển sản xuất nông nghiệp hàng hóa",
    "Giữ gìn an ninh trật tự, phòng chống tội phạm và tệ nạn xã hội",
    "Thực hiện quy chế dân chủ ở cơ sở",
)
DIFFICULTIES = (
    "Nhà văn hóa xuống cấp, đề nghị hỗ trợ kinh phí sửa chữa.",
    "Nhiều đảng viên trẻ đi làm ăn xa, khó bố trí thời gian sinh hoạt.",
    "Đề nghị tăng cường tập huấn nghiệp vụ cho bí thư chi bộ.",
    "Kinh phí hoạt động của chi bộ còn hạn hẹp.",
    "Đề nghị hướng dẫn sử dụng ứng dụng Sổ tay đảng viên cho đảng viên cao tuổi.",
    "Việc thu gom rác thải còn khó khăn, đề nghị xã bố trí thêm điểm tập kết.",
    "Đường giao thông nội đồng xuống cấp, đề nghị đưa vào kế hoạch sửa chữa.",
)
MEETING_NOTES = (
    "Kết nạp 01 đảng viên mới", "Có đại diện đoàn thể dự", "Đảng viên đóng đảng phí đầy đủ",
    "Triển khai thu quỹ khuyến học", "Thông qua kế hoạch ra quân làm đường",
)

# --- the district ------------------------------------------------------------------------------
# (code, name, slug, cells: (kind id, cell name, members range))

UNITS = (
    ("NT", "Đảng ủy xã Nhân Thịnh", "nhan-thinh", (
        ("village", "Chi bộ thôn Đồng Phú", (30, 38)),
        ("village", "Chi bộ thôn Vũ Xá", (24, 32)),
        ("village", "Chi bộ thôn Thịnh Châu", (26, 34)),
        ("school", "Chi bộ Trường THCS Nhân Thịnh", (10, 14)),
        ("health", "Chi bộ Trạm Y tế xã", (4, 4)),
    )),
    ("NM", "Đảng ủy xã Nhân Mỹ", "nhan-my", (
        ("village", "Chi bộ thôn Mỹ Đô", (28, 36)),
        ("village", "Chi bộ thôn Nội Mỹ", (22, 30)),
        ("village", "Chi bộ thôn Văn Mỹ", (20, 28)),
        ("school", "Chi bộ Trường Tiểu học Nhân Mỹ", (9, 13)),
        ("police", "Chi bộ Công an xã", (6, 8)),
    )),
    ("VT", "Đảng ủy thị trấn Vĩnh Trụ", "vinh-tru", (
        ("residential", "Chi bộ Tổ dân phố số 1", (22, 30)),
        ("residential", "Chi bộ Tổ dân phố số 2", (18, 26)),
        ("residential", "Chi bộ Tổ dân phố số 3", (21, 21)),
        ("agency", "Chi bộ Cơ quan Ủy ban nhân dân thị trấn", (14, 20)),
        ("school", "Chi bộ Trường Mầm non Vĩnh Trụ", (9, 12)),
        ("military", "Chi bộ Quân sự thị trấn", (5, 7)),
    )),
    ("NH", "Đảng ủy xã Nhân Hậu", "nhan-hau", (
        ("village", "Chi bộ thôn Phú Đa", (26, 34)),
        ("village", "Chi bộ thôn Đồng Tâm", (22, 30)),
        ("village", "Chi bộ thôn Hoàng Xá", (24, 32)),
        ("agency", "Chi bộ Cơ quan Đảng ủy - Ủy ban nhân dân xã", (15, 20)),
        ("school", "Chi bộ Trường Tiểu học Nhân Hậu", (10, 14)),
    )),
    ("HL", "Đảng ủy xã Hòa Lý", "hoa-ly", (
        ("village", "Chi bộ thôn Mai Xá", (26, 34)),
        ("village", "Chi bộ thôn Hòa Ngãi", (24, 30)),
        ("village", "Chi bộ thôn Thọ Lão", (14, 18)),
        ("health", "Chi bộ Trạm Y tế xã Hòa Lý", (5, 8)),
        ("military", "Chi bộ Quân sự xã", (5, 7)),
    )),
    ("NN", "Đảng ủy xã Nhân Nghĩa", "nhan-nghia", (
        ("village", "Chi bộ thôn Tiến Thắng", (28, 36)),
        ("village", "Chi bộ thôn Đông Ngoại", (24, 32)),
        ("village", "Chi bộ thôn Nguyên Lý", (22, 28)),
        ("school", "Chi bộ Trường THCS Nhân Nghĩa", (11, 15)),
        ("health", "Chi bộ Trạm Y tế xã Nhân Nghĩa", (6, 8)),
    )),
)

# Supervisors of the district (CT §8): name, role, units, aliases, spelling used per unit book.
SUPERVISORS = (
    ("Trần Văn Bình", "Ủy viên Ban Thường vụ Huyện ủy", ("NT", "NM"), ()),
    ("Nguyễn Thị Hạnh", "Ủy viên Ban Thường vụ Huyện ủy", ("VT",), ()),
    ("Phạm Đức Thắng", "Huyện ủy viên", ("NH", "HL"), ("Phạm Đ. Thắng",)),
    ("Lê Văn Cường", "Huyện ủy viên", ("NN",), ()),
    ("Đỗ Thị Mai", "Huyện ủy viên", ("HL", "NN"), ()),
)
ALIAS_IN = {("Phạm Đức Thắng", "HL"): "Phạm Đ. Thắng"}  # how the HL book spells him
SUP_SKIP = ("Đỗ Thị Mai", 5)  # SUP-MONTHLY: no visit in May

WINDOW_END = {"VT": 10}  # per-unit rule override written into the config


# --- data model ----------------------------------------------------------------------------------

@dataclass
class Member:
    name: str
    mid: str
    exempt: bool = False


@dataclass
class CellSpec:
    code: str
    name: str
    kind: str  # template choice id (cell_kind)
    members: list[Member]
    official: int
    secretary: str
    dual: bool | None
    assignee: str | None
    founded: date | None = None
    dissolved: date | None = None
    habit_day: int = 3
    evening: bool = True
    note: str | None = None

    def active(self, year: int, month: int) -> bool:
        first = date(year, month, 1)
        return not ((self.founded and self.founded > first)
                    or (self.dissolved and self.dissolved < first))

    @property
    def required(self) -> int:
        return sum(not m.exempt for m in self.members)


@dataclass
class Meeting:
    cell: str
    month: int
    type: str  # choice id of meeting_type
    day: date | None
    topic: str | None = None
    start: int | None = None  # minutes after midnight
    duration: int | None = None
    reason: str | None = None
    premeeting: date | None = None
    docs: date | None = None
    required: int | None = None
    present: int | None = None
    excused: int | None = None
    unexcused: int | None = None
    speakers: int | None = None
    tw4: bool | None = None
    hcm: bool | None = None
    criticism: bool | None = None
    minutes: bool | None = None
    score: float | None = None
    rating: str | None = None
    upper: str | None = None
    explanation: str | None = None
    note: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)  # column id -> value written verbatim
    visitable: bool = True
    statuses: list[tuple[Member, str, str | None]] = field(default_factory=list)
    seq: int = 0

    @property
    def regular(self) -> bool:
        return self.type in ("regular", "combined")


@dataclass
class Briefing:
    month: tuple[int, int]
    day: date
    form: str
    secretaries: int | None
    note: str | None = None
    explanation: str | None = None


@dataclass
class Visit:
    name: str
    role: str
    cell: str
    day: date
    in_book: bool | None = True
    cell_ok: bool | None = True
    unit_ok: bool | None = True
    difficulties: str | None = None
    note: str | None = None


@dataclass
class Hall:
    hamlet: str
    cell: str | None
    population: int | None
    capacity: int | None
    state: str
    proposal: str | None
    note: str | None = None


@dataclass
class Style:
    """How a commune's staff type values."""
    dates: str = "date"  # date | dmy | dmy0 | dash | serial
    months: str = "mm/yyyy"  # mm/yyyy | m/yyyy | T | thang | date | iso
    yesno: str = "vi"  # vi | ascii | bool
    ascii_choices: bool = False  # "tot", "kha", "TB"
    times: str = "colon"  # colon (07:30) | h (7h30)
    nfd: float = 0.0  # share of text cells typed in NFD (decomposed) Unicode
    spaces: float = 0.0  # share of codes / values with stray spaces
    iso_dates: float = 0.0  # share of date cells typed as ISO text
    padded: float = 0.0  # share of "dmy" dates typed zero-padded


@dataclass
class Layout:
    """One tab as a commune laid it out."""
    columns: list[str]  # template column ids, or "+Header" for an extra staff column
    titles: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # column id -> header as typed
    blank_rows: float = 0.0  # chance of a blank row after a group


@dataclass
class Unit:
    code: str
    name: str
    slug: str
    style: Style
    cells: list[CellSpec] = field(default_factory=list)
    extra_cell_rows: list[CellSpec] = field(default_factory=list)  # duplicated register rows
    meetings: list[Meeting] = field(default_factory=list)
    briefings: list[Briefing] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)
    halls: list[Hall] = field(default_factory=list)
    annual: dict[str, str] = field(default_factory=dict)  # cell code -> self rating id
    layouts: dict[str, Layout] = field(default_factory=dict)  # tab id -> layout (absent = no tab)
    staff: str = ""
    committee: list[str] = field(default_factory=list)

    def cell(self, code: str) -> CellSpec:
        return next(c for c in self.cells if c.code == code)

    @property
    def window_end(self) -> int:
        return WINDOW_END.get(self.code, 7)


# --- helpers -------------------------------------------------------------------------------------

def _fold(text: str) -> str:
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch))


def _nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def _serial(d: date) -> int:
    return (d - EXCEL_EPOCH).days


def _last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def _prev(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


def _next(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def months_until(year: int, as_of: date) -> list[int]:
    """Months of ``year`` not after the as-of month."""
    if year > as_of.year:
        return []
    return list(range(1, (12 if year < as_of.year else as_of.month) + 1))


def meeting_due(year: int, month: int, as_of: date, window_end: int = 7, grace: int = 5) -> bool:
    deadline = date(year, month, min(window_end, _last_day(year, month))) + timedelta(days=grace)
    return as_of > deadline


def max_absent(required: int, rate: float = 0.85) -> int:
    """Largest number of absentees that keeps present / required strictly above ``rate``."""
    k = 0
    while k + 1 <= required and (required - k - 1) * 100 > round(rate * 100) * required:
        k += 1
    return k


RATING_RANK = {"good": 0, "fair": 1, "average": 2, "poor": 3}
RATING_BY_RANK = ("good", "fair", "average", "poor")


def derive_annual(ratings: Sequence[str | None], min_tot: int = 7, max_kem: int = 2) -> str | None:
    """rules.md "Annual rating" derivation over the counted months (None = missing = Kém)."""
    n = len(ratings)
    if n == 0:
        return None
    need = math.ceil(min_tot * n / 12) if n < 12 else min_tot
    ranks = [RATING_RANK.get(r, 3) if r else 3 for r in ratings]
    if all(r <= 1 for r in ranks) and sum(r == 0 for r in ranks) >= need:
        return "good"
    if all(r <= 2 for r in ranks) and sum(r <= 1 for r in ranks) >= need:
        return "fair"
    if sum(r == 3 for r in ranks) <= max_kem:
        return "average"
    return "poor"


class _Names:
    """Unique Vietnamese full names for the whole district."""

    def __init__(self, rng: random.Random, taken: Sequence[str] = ()):
        self.rng, self.used = rng, set(taken)

    def __call__(self, female: bool | None = None) -> str:
        rng = self.rng
        if female is None:
            female = rng.random() < 0.38
        for _ in range(1000):
            if female:
                name = f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE_F)} {rng.choice(GIVEN_F)}"
            else:
                name = f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE_M)} {rng.choice(GIVEN_M)}"
            if name not in self.used:
                self.used.add(name)
                return name
        raise RuntimeError("name pool exhausted")


# --- building the district ---------------------------------------------------------------------

class _Builder:
    def __init__(self, template: Template, year: int, as_of: date, seed: int):
        self.t, self.year, self.as_of = template, year, as_of
        self.rng = random.Random(seed)
        self.names = _Names(random.Random(self.rng.getrandbits(64)),
                            [s[0] for s in SUPERVISORS] + [a for s in SUPERVISORS for a in s[3]])
        self.months = months_until(year, as_of)
        due = [m for m in self.months if meeting_due(year, m, as_of)]
        self.last_due = due[-1] if due else (self.months[-1] if self.months else 1)
        self.units: list[Unit] = []
        self.seq = 0
        self.forced = _forced(self.pm)

    # months of planted problems, kept inside the due months of a short demo year
    def pm(self, preferred: int) -> int:
        return max(1, min(preferred, self.last_due))

    def build(self) -> list[Unit]:
        for code, name, slug, cells in UNITS:
            unit = Unit(code, name, slug, STYLES[code])
            unit.layouts = _layouts(self.t, code, self.year, name)
            self.units.append(unit)
            rng = random.Random(self.rng.getrandbits(64))
            self._cells(unit, cells, rng)
            self._meetings(unit, rng)
        self._plant_meetings()
        for unit in self.units:
            rng = random.Random(self.rng.getrandbits(64))
            self._briefings(unit, rng)
            self._halls(unit, rng)
        self._visits(random.Random(self.rng.getrandbits(64)))
        self._plant_visits()
        for unit in self.units:
            self._annual(unit)
        return self.units

    # --- cells --------------------------------------------------------------------------------

    def _cells(self, unit: Unit, specs, rng: random.Random) -> None:
        unit.committee = [self.names() for _ in range(4)]
        unit.staff = self.names(female=True)
        for i, (kind, cname, (lo, hi)) in enumerate(specs, start=1):
            code = f"CB{i:02d}"
            n = rng.randint(lo, hi)
            exempt = rng.randint(1, 3) if kind == "village" else (
                rng.randint(0, 2) if kind == "residential" else 0)
            if (unit.code, code) == ("VT", "CB03"):
                exempt = 1  # 20 required: MEET-ATTENDANCE 17/20 below
            members = []
            for j in range(n):
                female = rng.random() < (0.6 if kind in ("school", "health") else 0.3)
                members.append(Member(self.names(female), f"{unit.code}{code[2:]}{j + 1:03d}",
                                      exempt=j >= n - exempt))
            probationary = rng.choice((0, 0, 1, 1, 2)) if n > 6 else 0
            village = kind in ("village", "residential")
            secretary = members[0].name
            dual = rng.random() < 0.7 if village else True
            cell = CellSpec(code, cname, kind, members, n - probationary, secretary, dual,
                            assignee=rng.choice(unit.committee),
                            habit_day=3 if rng.random() < 0.75 else rng.choice((1, 2, 4, 5, 6, 7)),
                            evening=village)
            unit.cells.append(cell)
        cells = {c.code: c for c in unit.cells}
        if unit.code == "NT":
            cells["CB05"].official = 2  # CELL-SIZE: two probationary members in the station
            cells["CB05"].note = "02 đảng viên dự bị, chờ xét công nhận chính thức"
        if unit.code == "VT":
            cells["CB04"].dual = False  # CELL-SECRETARY-DUAL (agency secretary not the head)
            cells["CB01"].habit_day, cells["CB02"].habit_day = 8, 9  # the unit's window is 1–10
            mil = cells["CB06"]
            mil.founded = date(self.year, 4, 15)  # new cell: active from May
            mil.note = f"Thành lập theo Quyết định ngày {mil.founded:%d/%m/%Y} của Đảng ủy"
        if unit.code == "NH":
            cells["CB04"].assignee = None  # CELL-ASSIGNEE
        if unit.code == "HL":
            cells["CB03"].dissolved = date(self.year, 8, 1)  # merged: active until August
            cells["CB03"].note = "Sáp nhập vào Chi bộ thôn Hòa Ngãi từ 01/08"
        if unit.code == "NN":
            cells["CB01"].dual = False
            dup = cells["CB05"]
            unit.extra_cell_rows.append(CellSpec(
                dup.code, "Chi bộ Y tế", dup.kind, dup.members, dup.official, dup.secretary,
                dup.dual, dup.assignee, note="Nhập lại"))  # DATA-DUPLICATE-CELL

    # --- meetings -----------------------------------------------------------------------------

    def _meetings(self, unit: Unit, rng: random.Random) -> None:
        year, as_of = self.year, self.as_of
        forced = self.forced.get(unit.code, {})
        for cell in unit.cells:
            last_excused: set[str] = set()
            plan = self._thematic_plan(unit, cell, rng)
            for m in self.months:
                if not cell.active(year, m):
                    continue
                day = cell.habit_day if rng.random() < 0.88 else rng.randint(1, unit.window_end)
                day = min(day, _last_day(year, m))
                d = date(year, m, day)
                combined = plan.get(m) == "combined"
                if d <= as_of:
                    mt = self._regular(unit, cell, m, d, combined, rng, last_excused,
                                       forced.get((cell.code, m)))
                    unit.meetings.append(mt)
                    last_excused = {mb.name for mb, s, _ in mt.statuses if s == "excused"}
                if plan.get(m) == "thematic":
                    td = date(year, m, rng.randint(12, 25))
                    if td <= as_of:
                        unit.meetings.append(self._thematic(unit, cell, m, td, rng))
            # an extraordinary meeting now and then (admission of a new member)
            if cell.kind == "village" and rng.random() < 0.3 and self.months:
                m = rng.choice(self.months)
                d = date(year, m, rng.randint(14, 26))
                if cell.active(year, m) and d <= as_of:
                    self.seq += 1
                    unit.meetings.append(Meeting(
                        cell.code, m, "extraordinary", d, start=19 * 60 + 30, duration=60,
                        note=f"Xét đề nghị kết nạp quần chúng {self.names()} vào Đảng",
                        minutes=True, seq=self.seq))

    def _thematic_plan(self, unit: Unit, cell: CellSpec, rng: random.Random) -> dict[int, str]:
        plan: dict[int, str] = {}
        for q in range(1, 5):
            months = [m for m in range(3 * q - 2, 3 * q + 1) if cell.active(self.year, m)]
            if not months:
                continue
            if (unit.code, cell.code, q) in NO_THEMATIC:
                continue  # THEME-QUARTERLY
            if (unit.code, cell.code, q) in THEMATIC_ROW:
                plan[THEMATIC_ROW[(unit.code, cell.code, q)]] = "thematic"
                continue
            plan[rng.choice(months)] = "combined" if rng.random() < 0.5 else "thematic"
        return plan

    def _regular(self, unit: Unit, cell: CellSpec, m: int, d: date, combined: bool,
                 rng: random.Random, last_excused: set[str], forced) -> Meeting:
        self.seq += 1
        mt = Meeting(cell.code, m, "combined" if combined else "regular", d, seq=self.seq)
        if combined:
            mt.topic = rng.choice(THEMATIC_TOPICS)
            mt.duration = rng.choice((120, 120, 125, 130, 135, 150, 150, 165, 180))
        else:
            mt.duration = rng.choice((90, 90, 95, 100, 105, 110, 115, 120, 120, 120, 130, 150))
        if cell.evening:
            mt.start = rng.choice((19 * 60, 19 * 60 + 30, 19 * 60 + 30, 7 * 60 + 30))
        else:
            mt.start = rng.choice((7 * 60 + 30, 8 * 60, 14 * 60, 14 * 60, 16 * 60 + 30))
        gap = rng.randint(2, 6)
        mt.premeeting = d - timedelta(days=gap)
        if d >= date(2025, 11, 1):
            mt.docs = mt.premeeting + timedelta(days=rng.randint(0, gap - 1))
        self._attendance(cell, mt, rng, last_excused, forced)
        mt.speakers = max(3, min(mt.present, round(mt.present * rng.uniform(0.25, 0.55))))
        mt.tw4 = rng.random() < 0.85
        mt.hcm = True if not mt.tw4 else rng.random() < 0.8
        mt.criticism, mt.minutes = True, True
        r = rng.random()
        mt.rating = "good" if r < 0.62 else ("fair" if r < 0.97 else "average")
        if mt.unexcused:
            mt.rating = "fair"
        mt.score = _score_for(mt.rating, rng)
        if rng.random() < 0.06:
            mt.note = rng.choice(MEETING_NOTES)
        return mt

    def _thematic(self, unit: Unit, cell: CellSpec, m: int, d: date, rng) -> Meeting:
        self.seq += 1
        mt = Meeting(cell.code, m, "thematic", d, topic=rng.choice(THEMATIC_TOPICS),
                     seq=self.seq)
        mt.duration = rng.choice((120, 120, 135, 150, 150, 180))
        mt.start = 19 * 60 + 30 if cell.evening else 14 * 60
        mt.premeeting = d - timedelta(days=rng.randint(3, 7))
        if d >= date(2025, 11, 1):
            mt.docs = d - timedelta(days=rng.randint(1, 3))
        req = cell.required
        absent = rng.randint(0, max_absent(req))
        mt.required, mt.present, mt.excused, mt.unexcused = req, req - absent, absent, 0
        mt.speakers = max(3, min(mt.present, round(mt.present * 0.4)))
        mt.tw4, mt.hcm, mt.criticism, mt.minutes = True, True, None, True
        return mt

    def _attendance(self, cell: CellSpec, mt: Meeting, rng: random.Random,
                    last_excused: set[str], forced) -> None:
        """Per-member statuses; the meeting's counts are derived from them."""
        active = [mb for mb in cell.members if not mb.exempt]
        req = len(active)
        status: dict[str, tuple[str, str | None]] = {}
        members, exact = forced if forced else ((), False)
        for idx, st, reason in members:
            status[active[idx].name] = (st, reason)
        want = 0 if exact else rng.choices((0, 1, 2, 3), (35, 40, 20, 5))[0]
        want = max(0, min(want, max_absent(req) - len(status)))
        pool = [mb for mb in active if mb.name not in status and mb.name not in last_excused
                and mb.name != cell.secretary]
        for mb in rng.sample(pool, min(want, len(pool))):
            status[mb.name] = ("excused", rng.choice(EXCUSE_REASONS))
        mt.statuses = []
        for mb in cell.members:
            if mb.exempt:
                mt.statuses.append((mb, "exempt", "Tuổi cao, sức yếu"))
            else:
                st, reason = status.get(mb.name, ("present", None))
                mt.statuses.append((mb, st, reason))
        mt.required = req
        mt.excused = sum(s == "excused" for _, s, _ in mt.statuses)
        mt.unexcused = sum(s == "unexcused" for _, s, _ in mt.statuses)
        mt.present = req - mt.excused - mt.unexcused

    def _find(self, unit: str, cell: str, month: int, regular: bool = True) -> Meeting | None:
        u = self.unit(unit)
        for mt in sorted(u.meetings, key=lambda x: x.seq):
            if mt.cell == cell and mt.month == month and (mt.regular or not regular):
                return mt
        return None

    def unit(self, code: str) -> Unit:
        return next(u for u in self.units if u.code == code)

    def _plant_meetings(self) -> None:
        y = self.year
        pm = self.pm
        # MEET-WINDOW (warning): storm, with a reason.
        mt = self._find("NT", "CB02", pm(9))
        if mt:
            mt.day = date(y, mt.month, 10)
            mt.premeeting = mt.day - timedelta(days=3)
            mt.docs = mt.day - timedelta(days=2) if mt.docs else None
            mt.reason = "Mưa bão, ngập úng diện rộng; lùi lịch sinh hoạt"
            mt.visitable = False
        # MEET-WINDOW (error) with an explanation; accepted in the config.
        mt = self._find("NH", "CB03", pm(7))
        if mt:
            mt.day = date(y, mt.month, 12)
            mt.premeeting = mt.day - timedelta(days=2)
            mt.docs = mt.day - timedelta(days=1) if mt.docs else None
            mt.explanation = ("Bí thư chi bộ đi tập huấn theo triệu tập của Tỉnh ủy từ ngày 01 "
                              "đến 10, chi bộ lùi lịch sinh hoạt.")
            mt.rating, mt.score = "fair", 85
            mt.visitable = False
        # MEET-MISSING: no meeting of CB01 in June.
        u = self.unit("NM")
        mt = self._find("NM", "CB01", pm(6))
        if mt:
            if mt.type == "combined":  # keep the quarter's thematic meeting elsewhere
                other = self._find("NM", "CB01", pm(6) - 1)
                if other:
                    other.type, other.topic = "combined", mt.topic
                    other.duration = max(other.duration or 0, 120)
            u.meetings.remove(mt)
        # DATA-ATTENDANCE-SUM: one excused member left out of the count.
        mt = self._find("NM", "CB02", pm(2))
        if mt:
            mt.raw["excused"] = mt.excused - 1  # _forced(): two excused that month
        # MEET-DURATION.
        mt = self._find("NM", "CB03", pm(3))
        if mt:
            mt.type, mt.topic, mt.duration, mt.rating = "regular", None, 75, "fair"
            mt.note = "Đảng viên đi hỗ trợ chống hạn"
            self._keep_quarter_thematic("NM", "CB03", mt.month)
        # MEET-PREMEETING: no pre-meeting date.
        mt = self._find("NM", "CB05", pm(5))
        if mt:
            mt.premeeting, mt.rating = None, "fair"
        # MEET-CONTENT.
        mt = self._find("NM", "CB04", pm(10))
        if mt:
            mt.tw4, mt.hcm, mt.rating = False, False, "fair"
        # ANNUAL-RATING: CB02 of Nhân Mỹ has only three "Tốt" months, all others "Khá".
        for k, mt in enumerate(m for m in sorted(u.meetings, key=lambda x: x.seq)
                               if m.cell == "CB02" and m.regular):
            mt.rating = "good" if k < 3 else "fair"
        # MEET-DUPLICATE: April typed twice.
        mt = self._find("VT", "CB02", pm(4))
        if mt:
            self.seq += 1
            dup = Meeting(**{**mt.__dict__, "raw": dict(mt.raw), "seq": self.seq,
                             "statuses": [], "visitable": False, "type": "regular",
                             "topic": None})
            dup.day = mt.day + timedelta(days=1 if mt.day.day < 10 else -1)
            dup.premeeting = mt.premeeting
            dup.note = "Nhập lại"
            self.unit("VT").meetings.append(dup)
        # MEET-ATTENDANCE 17/20 (_forced(): three excused).
        mt = self._find("VT", "CB03", pm(8))
        if mt:
            mt.rating, mt.score = "fair", 78
        # MEET-DOCS-APP: documents posted on the meeting day.
        mt = self._find("VT", "CB05", pm(10) if y >= 2026 else self.last_due)
        if mt:
            mt.docs, mt.rating = mt.day, "fair"
        # MEET-MINUTES, MEET-CRITICISM, MEET-RATING-INFLATED, DATA-INVALID (count with "đ/c").
        mt = self._find("NH", "CB01", pm(9))
        if mt:
            mt.minutes, mt.rating, mt.score = False, "average", 65
        mt = self._find("NH", "CB04", pm(8))
        if mt:
            mt.criticism, mt.rating, mt.score = False, "fair", 80
        mt = self._find("NH", "CB02", pm(5))
        if mt:
            mt.rating, mt.score = "good", 80
        mt = self._find("NH", "CB05", pm(6))
        if mt:
            mt.raw["present"] = f"{mt.present} đ/c"
        # MEET-RATING-MISSING.
        mt = self._find("HL", "CB04", pm(3))
        if mt:
            mt.rating, mt.score = None, None
        # DATA-INVALID: day/month swap of a real date cell (typed 03/05, read as 5 March).
        mt = self._find("NN", "CB02", pm(5))
        if mt:
            mt.day = date(y, mt.month, 3 if mt.month != 3 else 4)
            mt.premeeting = mt.day - timedelta(days=2)
            if mt.docs:
                mt.docs = mt.day - timedelta(days=1)
            mt.raw["meeting_date"] = date(y, mt.day.day, mt.month)
            mt.visitable = False
        # DATA-REQUIRED: a thematic meeting without its topic (THEMATIC_ROW plans it).
        for mt in self.unit("NT").meetings:
            if mt.cell == "CB04" and mt.type == "thematic" and (mt.month - 1) // 3 == 1:
                mt.topic = None
                mt.note = "Chuyên đề quý II"

    def _keep_quarter_thematic(self, unit: str, cell: str, month: int) -> None:
        """After turning a combined meeting into a plain one, keep a thematic one in the quarter."""
        u = self.unit(unit)
        q = (month - 1) // 3
        if any(mt.cell == cell and mt.type in ("thematic", "combined") and (mt.month - 1) // 3 == q
               for mt in u.meetings):
            return
        for m in range(3 * q + 1, 3 * q + 4):
            mt = self._find(unit, cell, m)
            if mt and m != month:
                mt.type, mt.topic = "combined", THEMATIC_TOPICS[1]
                mt.duration = max(mt.duration or 0, 120)
                return

    # --- briefings, halls -----------------------------------------------------------------------

    def _briefings(self, unit: Unit, rng: random.Random) -> None:
        if "briefings" not in unit.layouts:
            return
        y, as_of = self.year, self.as_of
        n_cells = len(unit.cells)
        future_month = _next(as_of.year, as_of.month)
        for m in range(1, 13):
            py, pmo = _prev(y, m)
            d = date(py, pmo, rng.randint(20, min(28, _last_day(py, pmo))))
            if unit.code == "NT" and (y, m) == future_month:
                continue  # planted below
            if d > as_of:
                continue
            form = rng.choices(("conference", "document", "online"), (80, 12, 8))[0]
            active = sum(c.active(y, m) for c in unit.cells)
            sec = active - (1 if rng.random() < 0.2 else 0) if form == "conference" else None
            note = "Triển khai nhiệm vụ trọng tâm tháng" if rng.random() < 0.2 else None
            unit.briefings.append(Briefing((y, m), d, form, sec, note))
        if unit.code == "NT":  # DATA-FUTURE-DATE: planned date typed in advance
            unit.briefings.append(Briefing(future_month, as_of + timedelta(days=3), "conference",
                                           n_cells, "Dự kiến"))
        if unit.code == "NH":  # BRIEF-DEADLINE: held on the 30th of the previous month
            m = min(self.pm(10), 12)
            while m > 1:
                py, pmo = _prev(y, m)
                if _last_day(py, pmo) >= 30 and date(py, pmo, 30) <= as_of:
                    break
                m -= 1
            py, pmo = _prev(y, m)
            for b in unit.briefings:
                if b.month == (y, m) and _last_day(py, pmo) >= 30:
                    b.day = date(py, pmo, 30)
                    b.note = "Đồng chí Bí thư đi công tác, triển khai muộn"

    def _halls(self, unit: Unit, rng: random.Random) -> None:
        if "halls" not in unit.layouts:
            return
        for cell in unit.cells:
            if cell.kind not in ("village", "residential"):
                continue
            hamlet = cell.name.replace("Chi bộ ", "").replace("thôn", "Thôn", 1)
            population = rng.randrange(900, 2600, 10)
            capacity = rng.randrange(100, 260, 10)
            unit.halls.append(Hall(hamlet, cell.code, population, capacity, "good", "no"))
        if not unit.halls:
            return
        if unit.code == "NT":
            unit.halls[1].state, unit.halls[1].proposal = "degraded", "upgrade"
            unit.halls[1].note = "Mái dột, tường nứt"
        if unit.code == "NM":
            unit.halls[2].state, unit.halls[2].capacity = "none", None
            unit.halls[2].proposal, unit.halls[2].note = "build", "Mượn hội trường trường học"
        if unit.code == "HL":
            unit.halls[0].capacity = max(20, len(unit.cell("CB01").members) - 6)
            unit.halls[0].proposal, unit.halls[0].note = "upgrade", "Hội trường nhỏ, xây từ 1998"
        if unit.code == "NN":  # DATA-UNKNOWN-CELL: old code of a hamlet merged last year
            unit.halls.append(Hall("Thôn Tân Lý", "CB07", 640, 80, "degraded", "upgrade",
                                   "Thôn đã sáp nhập năm 2025"))

    # --- supervision ---------------------------------------------------------------------------

    def _visits(self, rng: random.Random) -> None:
        for name, role, units, _aliases in SUPERVISORS:
            for m in self.months:
                if (name, m) == (SUP_SKIP[0], self.pm(SUP_SKIP[1])):
                    continue
                order = list(units[(m - 1) % len(units):]) + list(units[:(m - 1) % len(units)])
                for code in order:
                    u = self.unit(code)
                    cands = [mt for mt in u.meetings if mt.month == m and mt.regular
                             and mt.visitable and mt.day is not None and mt.day <= self.as_of
                             and self._find(code, mt.cell, m) is mt]
                    if not cands:
                        continue
                    mt = rng.choice(cands)
                    mt.upper = name if not mt.upper else f"{mt.upper}, {name}"
                    diff = rng.choice(DIFFICULTIES) if rng.random() < 0.35 else None
                    u.visits.append(Visit(ALIAS_IN.get((name, code), name), role, mt.cell,
                                          mt.day, difficulties=diff))
                    break

    def _plant_visits(self) -> None:
        # SUP-RECORD: not confirmed by the commune committee (NT).
        nt = [v for v in self.unit("NT").visits]
        if nt:
            v = min(nt, key=lambda v: abs(v.day.month - self.pm(6)))
            v.unit_ok = False
            v.note = "Chưa trình Thường trực Đảng ủy ký xác nhận"
        # SUP-NO-MEETING: the day after the meeting (HL), still a visit for SUP-MONTHLY.
        hl = self.unit("HL")
        cands = [v for v in hl.visits if v.name == ALIAS_IN[("Phạm Đức Thắng", "HL")]]
        if cands:
            v = min(cands, key=lambda v: abs(v.day.month - self.pm(4)))
            taken = {mt.day for mt in hl.meetings if mt.cell == v.cell}
            d = v.day + timedelta(days=1)
            while d in taken:
                d += timedelta(days=1)
            if d <= self.as_of:
                v.day = d

    # --- annual self-assessment ----------------------------------------------------------------

    def _annual(self, unit: Unit) -> None:
        if "annual" not in unit.layouts:
            return
        for cell in unit.cells:
            months = [m for m in self.months if cell.active(self.year, m)
                      and meeting_due(self.year, m, self.as_of, unit.window_end)]
            ratings = []
            for m in months:
                mt = self._find(unit.code, cell.code, m)
                ratings.append(mt.rating if mt else None)
            derived = derive_annual(ratings)
            if derived is None:
                continue
            unit.annual[cell.code] = derived
        if unit.code == "NM" and "CB02" in unit.annual:
            unit.annual["CB02"] = "good"  # ANNUAL-RATING: better than derived


def _score_for(rating: str | None, rng: random.Random) -> float | None:
    if rating is None:
        return None
    lo, hi = {"good": (90, 98), "fair": (72, 89), "average": (55, 69), "poor": (35, 49)}[rating]
    score = rng.randint(lo, hi)
    return score + 0.5 if rng.random() < 0.15 and score < hi else float(score)


def _forced(pm) -> dict:
    """Planted per-member absences: unit -> (cell, month) -> ([(index among the members who
    must attend, status, reason)], exact). ``exact``: nobody else is absent that month."""
    out: dict[str, dict] = {"NT": {}, "NM": {}, "VT": {}}
    for m in (3, 4, 5, 6):  # MEMBER-EXCUSED-STREAK: member 5 of CB01, four months running
        out["NT"][("CB01", pm(m))] = ([(5, "excused", "Đi làm ăn xa (Bình Dương)")], False)
    for m in (4, 5, 6):  # MEMBER-ABANDON + MEET-UNEXCUSED: member 7 of CB03
        out["NT"][("CB03", pm(m))] = ([(7, "unexcused", None)], False)
    # DATA-ATTENDANCE-SUM: two excused, one of them left out of the typed count
    out["NM"][("CB02", pm(2))] = ([(3, "excused", "Ốm"), (4, "excused", "Đi công tác")], True)
    # MEET-ATTENDANCE: 17 of 20
    out["VT"][("CB03", pm(8))] = ([(2, "excused", "Ốm"), (4, "excused", "Đi công tác"),
                                   (6, "excused", "Việc gia đình")], True)
    return out


NO_THEMATIC = {("HL", "CB01", 1)}  # THEME-QUARTERLY
THEMATIC_ROW = {("NT", "CB04", 2): 5}  # a thematic-only row in May (its topic is then dropped)


# --- how each commune types ----------------------------------------------------------------------

STYLES = {
    "NT": Style(dates="date", months="mm/yyyy", yesno="vi", times="colon"),
    "NM": Style(dates="dmy", months="T", yesno="vi", padded=0.2),
    "VT": Style(dates="serial", months="mm/yyyy", yesno="vi", times="h"),
    "NH": Style(dates="dash", months="thang", yesno="ascii", ascii_choices=True, times="h"),
    "HL": Style(dates="date", months="m/yyyy", yesno="bool", nfd=0.3, spaces=0.25,
                iso_dates=0.15),
    "NN": Style(dates="date", months="date", yesno="vi", times="colon"),
}


def _layouts(t: Template, code: str, year: int, unit_name: str) -> dict[str, Layout]:
    def ids(tab_id: str, drop: Sequence[str] = ()) -> list[str]:
        return [c.id for c in t.tab(tab_id).columns if c.id not in drop]

    meet_title = f"SỔ THEO DÕI SINH HOẠT CHI BỘ NĂM {year}"
    out = {
        "cells": Layout(ids("cells")),
        "meetings": Layout(ids("meetings")),
        "briefings": Layout(ids("briefings")),
        "visits": Layout(ids("visits")),
    }
    if code == "NT":
        out["meetings"].titles = [meet_title]
        out["attendance"] = Layout(ids("attendance", ("member_id",)))
        out["annual"] = Layout(ids("annual"))
        out["halls"] = Layout(ids("halls"))
    elif code == "NM":
        del out["briefings"]  # TPL-TAB-MISSING
        out["meetings"] = Layout(ids("meetings", ("start_time", "end_time", "docs_date",
                                                  "score", "speakers")))
        out["cells"] = Layout(ids("cells", ("official_members",)))
        out["annual"] = Layout(ids("annual"))
        out["halls"] = Layout(ids("halls"))
    elif code == "VT":
        out["cells"].titles = [f"DANH SÁCH CHI BỘ TRỰC THUỘC {unit_name.upper()}"]
        out["meetings"] = Layout(ids("meetings", ("score",)))
        out["attendance"] = Layout(ids("attendance"))
    elif code == "NH":
        out["meetings"] = Layout(ids("meetings") + ["+Người nhập"],
                                 titles=[unit_name.upper(), meet_title],
                                 headers={"meeting_date": _fold(t.tab("meetings").column(
                                     "meeting_date").header)})
        out["annual"] = Layout(ids("annual"))
    elif code == "HL":
        rating = t.tab("meetings").column("rating").header
        out["meetings"] = Layout(ids("meetings", ("docs_date", "speakers")),
                                 headers={"rating": _nfd(rating)}, blank_rows=0.35)
        out["annual"] = Layout(ids("annual"))
        out["halls"] = Layout(ids("halls"))
    elif code == "NN":
        cols = ids("meetings")
        cols.remove("month")
        cols.insert(0, "month")
        out["meetings"] = Layout(cols)
        out["cells"] = Layout(ids("cells") + ["note"])  # TPL-COLUMN-DUPLICATE
        out["visits"] = Layout(ids("visits", ("in_book",)),  # TPL-COLUMN-MISSING
                               titles=["SỔ DỰ SINH HOẠT CHI BỘ CỦA CẤP ỦY CẤP TRÊN"])
        out["halls"] = Layout(ids("halls"))
    return out


# --- rendering values --------------------------------------------------------------------------

class _Render:
    def __init__(self, unit: Unit, rng: random.Random):
        self.unit, self.s, self.rng = unit, unit.style, rng

    def text(self, value: str, code: bool = False) -> str:
        s = self.s
        if s.nfd and not code and self.rng.random() < s.nfd:
            value = _nfd(value)
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
            return _serial(d)
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
                return "TB" if choice_id == "average" else _fold(label).lower()
            return _fold(label)
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


def _attendance_rows(unit: Unit, year: int, builder: _Builder) -> list[dict[str, Any]]:
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

def _write_workbook(path: Path, template: Template, unit: Unit, builder: _Builder,
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


def _toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _write_config(path: Path, units: list[Unit], year: int, accepted: dict | None) -> None:
    lines = [
        "# Cấu hình mẫu: Đảng bộ huyện Lý Nhân (dữ liệu demo do sheets_sync.demo tạo).",
        "# Đường dẫn tương đối tính từ thư mục chứa tệp này.",
        "",
        "[parent]",
        f"name = {_toml_str(PARENT_NAME)}",
        "",
        "[labels]",
        'parent = "Huyện ủy"',
        'unit = "Đảng ủy xã, thị trấn"',
        'cell = "Chi bộ"',
        "",
        "[rules]",
        "# Giữ các mức mặc định của rules.md; muốn đổi thì bỏ dấu # ở dòng tương ứng, ví dụ:",
        "# window_end_day = 7          # sinh hoạt thường kỳ từ ngày 1 đến ngày 7",
        "# preferred_day = 3           # ngày ưu tiên; false = không kiểm tra ngày ưu tiên",
        "# min_attendance_rate = 0.85  # tỷ lệ dự phải TRÊN mức này",
        "# brief_deadline_inclusive = false",
        "report_grace_days = 5",
        "",
    ]
    for u in units:
        lines += ["[[units]]", f"code = {_toml_str(u.code)}", f"name = {_toml_str(u.name)}",
                  f"path = {_toml_str(f'data/{u.slug}.xlsx')}"]
        if u.code in WINDOW_END:
            lines.append(f"rules = {{ window_end_day = {WINDOW_END[u.code]} }}"
                         "  # thị trấn: sinh hoạt từ ngày 1 đến ngày 10")
        lines.append("")
    for name, role, codes, aliases in SUPERVISORS:
        lines += ["[[supervisors]]", f"name = {_toml_str(name)}", f"role = {_toml_str(role)}",
                  "units = [" + ", ".join(_toml_str(c) for c in codes) + "]"]
        if aliases:
            lines.append("aliases = [" + ", ".join(_toml_str(a) for a in aliases) + "]")
        lines.append("")
    if accepted:
        lines += ["# Giải trình đã được Ban Tổ chức Huyện ủy xem xét và chấp nhận.", "[[accepted]]"]
        for k in ("unit", "rule", "cell", "period", "note"):
            lines.append(f"{k} = {_toml_str(accepted[k])}")
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")


# --- entry points -----------------------------------------------------------------------------

def generate_demo(out_dir: Path, year: int, as_of: date, seed: int = 2026) -> Path:
    """Write the demo district under ``out_dir`` and return the path of its config.toml."""
    out_dir = Path(out_dir)
    template = load_template()
    builder = _Builder(template, year, as_of, seed)
    units = builder.build()
    data = out_dir / "data"
    data.mkdir(parents=True, exist_ok=True)
    render_rng = random.Random(builder.rng.getrandbits(64))
    for unit in units:
        _write_workbook(data / f"{unit.slug}.xlsx", template, unit, builder,
                        random.Random(render_rng.getrandbits(64)))
    accepted = None
    mt = builder._find("NH", "CB03", builder.pm(7))
    if mt is not None and mt.explanation:
        accepted = {"unit": "NH", "rule": "MEET-WINDOW", "cell": "CB03",
                    "period": f"{year:04d}-{mt.month:02d}",
                    "note": "Chấp nhận: bí thư chi bộ đi tập huấn theo triệu tập của Tỉnh ủy."}
    config = out_dir / "config.toml"
    _write_config(config, units, year, accepted)
    return config


def default_period(as_of: date, year: int | None) -> tuple[int, date]:
    """The demo shows a year with at least 6 due months: before July, the previous year."""
    if year is None:
        if as_of.month < 7:
            return as_of.year - 1, date(as_of.year - 1, 12, 31)
        return as_of.year, as_of
    return year, as_of


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m sheets_sync.demo",
        description="Tạo dữ liệu demo: các sổ tính của đảng ủy xã và tệp config.toml.")
    p.add_argument("--out", default="demo", help="thư mục đích (mặc định: demo)")
    p.add_argument("--year", type=int, default=None,
                   help="năm của dữ liệu (mặc định: năm kiểm tra)")
    p.add_argument("--as-of", default=None, help="ngày kiểm tra YYYY-MM-DD (mặc định: hôm nay)")
    p.add_argument("--seed", type=int, default=2026)
    args = p.parse_args(argv)
    if args.as_of:
        try:
            as_of = date.fromisoformat(args.as_of)
        except ValueError:
            p.error(f"--as-of không hợp lệ: {args.as_of!r} (cần dạng YYYY-MM-DD)")
    elif args.year is not None and args.year < date.today().year:
        as_of = date(args.year, 12, 31)
    else:
        as_of = date.today()
    year, as_of = default_period(as_of, args.year)
    config = generate_demo(Path(args.out), year, as_of, args.seed)
    print(config)
    return 0


if __name__ == "__main__":
    sys.exit(main())

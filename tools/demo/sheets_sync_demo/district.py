"""The demo district: its communes, cells, members and the planted problems (the data model
and the constants every other module of the generator uses)."""
from __future__ import annotations

import calendar
import random
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sheets_sync.core.rules.annual import POOR, RANK, derive_level
from sheets_sync.core.rules.base import is_due, meeting_deadline
from sheets_sync.core.rules.params import DEFAULTS
from sheets_sync.core.template import Template
from sheets_sync.core.text import strip_diacritics as strip_marks  # one home: core.text

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

def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def serial(d: date) -> int:
    return (d - EXCEL_EPOCH).days


def last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def prev_month(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


def next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def months_until(year: int, as_of: date) -> list[int]:
    """Months of ``year`` not after the as-of month."""
    if year > as_of.year:
        return []
    return list(range(1, (12 if year < as_of.year else as_of.month) + 1))


def meeting_due(year: int, month: int, as_of: date, window_end: int = 7) -> bool:
    """Whether the month's regular meeting is due as of ``as_of`` (the product's own rule)."""
    params = {**DEFAULTS, "window_end_day": window_end}
    return is_due(meeting_deadline(year, month, params), as_of)


def max_absent(required: int, rate: float = DEFAULTS["min_attendance_rate"]) -> int:
    """Largest number of absentees that keeps present / required strictly above ``rate``."""
    k = 0
    while k + 1 <= required and (required - k - 1) * 100 > round(rate * 100) * required:
        k += 1
    return k


def derive_annual(ratings: Sequence[str | None]) -> str | None:
    """The annual level the product derives from the counted months' ratings (None = missing)."""
    ranks = [RANK.get(r, POOR) if r else POOR for r in ratings]
    return derive_level(ranks, DEFAULTS["annual_min_tot"], DEFAULTS["annual_max_kem"])


class Names:
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


def layouts(t: Template, code: str, year: int, unit_name: str) -> dict[str, Layout]:
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
                                 headers={"meeting_date": strip_marks(t.tab("meetings").column(
                                     "meeting_date").header)})
        out["annual"] = Layout(ids("annual"))
    elif code == "HL":
        rating = t.tab("meetings").column("rating").header
        out["meetings"] = Layout(ids("meetings", ("docs_date", "speakers")),
                                 headers={"rating": nfd(rating)}, blank_rows=0.35)
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

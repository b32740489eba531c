"""Building the district year: meetings, attendance, briefings, visits, halls and annual
ratings, mostly good, with the planted problems of ``district.PLANTED``."""
from __future__ import annotations

import random
from datetime import date, timedelta

from sheets_sync.core.template import Template

from .district import (
    ALIAS_IN,
    DIFFICULTIES,
    EXCUSE_REASONS,
    MEETING_NOTES,
    STYLES,
    SUP_SKIP,
    SUPERVISORS,
    THEMATIC_TOPICS,
    UNITS,
    Briefing,
    CellSpec,
    Hall,
    Meeting,
    Member,
    Names,
    Unit,
    Visit,
    derive_annual,
    last_day,
    layouts,
    max_absent,
    meeting_due,
    months_until,
    next_month,
    prev_month,
)

# --- building the district ---------------------------------------------------------------------

class Builder:
    def __init__(self, template: Template, year: int, as_of: date, seed: int):
        self.t, self.year, self.as_of = template, year, as_of
        self.rng = random.Random(seed)
        self.names = Names(random.Random(self.rng.getrandbits(64)),
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
            unit.layouts = layouts(self.t, code, self.year, name)
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
                day = min(day, last_day(year, m))
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
        future_month = next_month(as_of.year, as_of.month)
        for m in range(1, 13):
            py, pmo = prev_month(y, m)
            d = date(py, pmo, rng.randint(20, min(28, last_day(py, pmo))))
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
                py, pmo = prev_month(y, m)
                if last_day(py, pmo) >= 30 and date(py, pmo, 30) <= as_of:
                    break
                m -= 1
            py, pmo = prev_month(y, m)
            for b in unit.briefings:
                if b.month == (y, m) and last_day(py, pmo) >= 30:
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

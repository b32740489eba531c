"""MEET-* rules: regular monthly meetings of the cells (rules.md "Regular monthly meetings").

Period rules (MEET-MISSING, MEET-DUPLICATE) look at the checked year only. Row rules look at
every regular row (Thường kỳ, kết hợp chuyên đề; blank or unreadable type = Thường kỳ) whose
Kỳ tháng is in the checked year, duplicates included. The time-consistency DATA-INVALID checks
(end ≤ start, minutes column disagreeing with the times) are data rules: every row, any year.
Each rule is one linear pass over the parsed column lists.
"""
from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction
from functools import lru_cache
from typing import Any

from ..findings import ERROR, INFO, WARNING, Finding
from ..grid import REGULAR_TYPES, TabData
from ..template import Column
from .base import (
    UnitContext,
    due_months,
    first_regular_meetings,
    fmt_date,
    fmt_month,
    meeting_deadline,
    month_key,
    regular_duplicates,
    row_code_keys,
)

TAB = "Sinh hoạt"

# Rating levels, best first (choice ids of the template's "rating" set).
RATING_ORDER = ("good", "fair", "average", "poor")
RATING_RANK = {r: k for k, r in enumerate(RATING_ORDER)}

# Short Vietnamese names of the criteria that make a "Tốt" rating inflated.
CRITERIA_VI = {
    "MEET-ATTENDANCE": "tỷ lệ dự",
    "MEET-UNEXCUSED": "vắng không lý do",
    "MEET-DURATION": "thời lượng",
    "MEET-PREMEETING": "họp chi ủy",
    "MEET-MINUTES": "biên bản",
}


def check(ctx: UnitContext) -> list[Finding]:
    tab = ctx.tab("meetings")
    if tab is None or not tab.rows:
        return _missing(ctx, tab)
    types = tab.meeting_types()
    rows = _checked_rows(ctx, tab, types)
    failed: dict[int, list[str]] = {}  # row index -> criteria rules failed (for RATING-INFLATED)
    out: list[Finding] = []
    out += _missing(ctx, tab)
    out += _duplicates(ctx, tab)
    out += _window(ctx, tab, rows)
    out += _time_consistency(ctx, tab)
    out += _duration(ctx, tab, types, rows, failed)
    out += _attendance(ctx, tab, rows, failed)
    out += _unexcused(tab, rows, failed)
    out += _premeeting(ctx, tab, rows, failed)
    out += _flags(tab, rows, failed)
    out += _docs_app(ctx, tab, rows)
    out += _rating(ctx, tab, rows, failed)
    return out


# --- which rows ----------------------------------------------------------------------------------

def _checked_rows(ctx: UnitContext, tab: TabData, types: list[str | None]) -> list[int]:
    """Indexes of the regular rows of the checked year. A row whose Kỳ tháng is unreadable or
    empty belongs to the year of its meeting date; with neither, it is checked (its year cannot
    be known, and its other values can still be wrong)."""
    year = f"{ctx.year:04d}"
    months, dates = tab.col("month"), tab.col("meeting_date")
    out = []
    for i, t in enumerate(types):
        if t not in REGULAR_TYPES:
            continue
        m = months[i]
        if m is not None:
            if m[:4] == year:
                out.append(i)
        elif dates[i] is None or dates[i].year == ctx.year:
            out.append(i)
    return out


# --- period rules --------------------------------------------------------------------------------

def _missing(ctx: UnitContext, tab: TabData | None) -> list[Finding]:
    """MEET-MISSING: an active cell without a regular meeting for a due month."""
    if tab is None or not (tab.has("cell_code") and tab.has("month")):
        return []
    months = due_months(ctx)
    if not months:
        return []
    held = first_regular_meetings(tab)
    periods = [(m, month_key(ctx.year, m), fmt_date(meeting_deadline(ctx.year, m, ctx.params)))
               for m in months]
    out = []
    for key, cell in ctx.cells.items():
        active = cell.months_active(ctx.year)
        for m, period, deadline in periods:
            if (key, period) in held or not active[m]:
                continue
            out.append(ctx.period_finding(
                TAB, "MEET-MISSING", ERROR,
                f"Chi bộ {cell.code} chưa có buổi sinh hoạt thường kỳ tháng {fmt_month(period)} "
                f"(hạn nhập {deadline}).",
                period, cell.code,
            ))
    return out


def _duplicates(ctx: UnitContext, tab: TabData) -> list[Finding]:
    """MEET-DUPLICATE: second and later regular rows of the same cell and month."""
    year = f"{ctx.year:04d}"
    codes, keys, months = tab.col("cell_code"), row_code_keys(tab), tab.col("month")
    first: dict[Any, int] = first_regular_meetings(tab)
    out = []
    for i in regular_duplicates(tab):
        m = months[i]
        if m[:4] != year:
            continue
        out.append(tab.finding(
            i, "MEET-DUPLICATE", WARNING,
            f"Chi bộ {codes[i]} đã có buổi sinh hoạt thường kỳ tháng {fmt_month(m)} ở dòng "
            f"{tab.rows[first[(keys[i], m)]]}; dòng này bị trùng.",
        ))
    return out


# --- row rules -----------------------------------------------------------------------------------

def _window(ctx: UnitContext, tab: TabData, rows: list[int]) -> list[Finding]:
    """MEET-WINDOW (outside days start..end of the row's month) and MEET-PREFERRED-DAY."""
    start, end = ctx.params["window_start_day"], ctx.params["window_end_day"]
    preferred = ctx.params["preferred_day"]
    months, dates, reasons = tab.col("month"), tab.col("meeting_date"), tab.col("reason")
    parsed: dict[str, tuple[int, int]] = {}  # "YYYY-MM" -> (year, month), parsed once each
    out = []
    for i in rows:
        d, m = dates[i], months[i]
        if d is None or m is None:
            continue
        ym = parsed.get(m)
        if ym is None:
            ym = parsed[m] = (int(m[:4]), int(m[5:7]))
        y, mo = ym
        if d.year == y and d.month == mo and start <= d.day <= end:
            if preferred is not None and d.day != preferred:
                out.append(tab.finding(i, "MEET-PREFERRED-DAY", INFO,
                                       _preferred_day_message(d, preferred)))
            continue
        msg = f"Sinh hoạt ngày {fmt_date(d)}, ngoài khung ngày {start}–{end}"
        if (d.year, d.month) != (y, mo):
            msg += f" của kỳ tháng {fmt_month(m)}"
        msg += "."
        reason = reasons[i]
        if reason is None:
            out.append(tab.finding(i, "MEET-WINDOW", ERROR, msg))
        else:
            out.append(tab.finding(i, "MEET-WINDOW", WARNING,
                                   f"{msg} Có ghi lý do: \"{reason}\" — chờ xem xét."))
    return out


@lru_cache(maxsize=1 << 12)
def _preferred_day_message(d: date, preferred: int) -> str:
    """One text per date (a third of all findings at national size: formatted and kept once)."""
    return (f"Sinh hoạt ngày {fmt_date(d)}, trong khung nhưng không vào ngày ưu tiên "
            f"(ngày {preferred}).")


def _time_consistency(ctx: UnitContext, tab: TabData) -> list[Finding]:
    """DATA-INVALID on every row (any type, any year): end ≤ start, or the minutes column
    disagreeing with the times by more than the tolerance (the column is then used)."""
    if not (tab.has("start_time") and tab.has("end_time")):
        return []
    tolerance = ctx.params["duration_tolerance_minutes"]
    starts, ends, minutes = tab.col("start_time"), tab.col("end_time"), tab.col("duration")
    out = []
    for i in range(len(tab.rows)):
        s, e, col = starts[i], ends[i], minutes[i]
        if s is None or e is None:
            continue
        if e <= s:
            out.append(tab.finding(
                i, "DATA-INVALID", WARNING,
                f"Giờ kết thúc {_fmt_time(e)} không sau giờ bắt đầu {_fmt_time(s)}.",
            ))
        elif col is not None and abs(col - (e - s)) > tolerance:
            out.append(tab.finding(
                i, "DATA-INVALID", WARNING,
                f"Thời lượng {col} phút khác giờ {_fmt_time(s)}–{_fmt_time(e)} "
                f"({e - s} phút, lệch quá {tolerance} phút); dùng {col} phút.",
            ))
    return out


def _duration(ctx: UnitContext, tab: TabData, types: list[str | None], rows: list[int],
              failed: dict[int, list[str]]) -> list[Finding]:
    """MEET-DURATION: the minutes column (else end − start) below the minimum for the row."""
    p = ctx.params
    small_members, small_min = p["small_cell_members"], p["min_minutes_small_cell"]
    starts, ends, minutes = tab.col("start_time"), tab.col("end_time"), tab.col("duration")
    required = tab.col("required_count")
    out = []
    for i in rows:
        s, e, col = starts[i], ends[i], minutes[i]
        from_times = e - s if s is not None and e is not None and e > s else None
        duration = col if col is not None else from_times
        if duration is None:
            continue
        if types[i] == "combined":
            minimum, what = p["min_minutes_combined"], "kết hợp chuyên đề"
        elif (small_members is not None and small_min is not None
              and required[i] is not None and required[i] <= small_members):
            minimum, what = small_min, f"chi bộ nhỏ, {required[i]} đảng viên phải dự"
        else:
            minimum, what = p["min_minutes_regular"], "thường kỳ"
        if duration < minimum:
            failed.setdefault(i, []).append("MEET-DURATION")
            out.append(tab.finding(
                i, "MEET-DURATION", ERROR,
                f"Thời lượng {duration} phút, dưới mức tối thiểu {minimum} phút ({what}).",
            ))
    return out


def _attendance(ctx: UnitContext, tab: TabData, rows: list[int],
                failed: dict[int, list[str]]) -> list[Finding]:
    """MEET-ATTENDANCE: present / required strictly above the rate (exact fractions)."""
    rate = ctx.params["min_attendance_rate"]
    exact = Fraction(str(rate))  # 0.85 -> 17/20 exactly, so 17 of 20 fails
    num, den = exact.numerator, exact.denominator
    required, present = tab.col("required_count"), tab.col("present")
    minimum = _fmt_pct(exact)
    out = []
    for i in rows:
        req, pres = required[i], present[i]
        if req is None or pres is None or req == 0:
            continue
        if pres * den <= num * req:  # present / required <= rate, in integers
            failed.setdefault(i, []).append("MEET-ATTENDANCE")
            out.append(tab.finding(
                i, "MEET-ATTENDANCE", ERROR,
                f"Tỷ lệ dự {pres}/{req} = {_fmt_ratio(pres, req)}, phải trên {minimum}.",
            ))
    return out


def _unexcused(tab: TabData, rows: list[int], failed: dict[int, list[str]]) -> list[Finding]:
    """MEET-UNEXCUSED: any member absent without reason."""
    unexcused = tab.col("unexcused")
    out = []
    for i in rows:
        n = unexcused[i]
        if n is not None and n > 0:
            failed.setdefault(i, []).append("MEET-UNEXCUSED")
            out.append(tab.finding(i, "MEET-UNEXCUSED", ERROR,
                                   f"Có {n} đảng viên vắng không lý do."))
    return out


def _premeeting(ctx: UnitContext, tab: TabData, rows: list[int],
                failed: dict[int, list[str]]) -> list[Finding]:
    """MEET-PREMEETING: no pre-meeting date, after the meeting, or too early."""
    if not tab.has("premeeting_date"):
        return []  # TPL-COLUMN-MISSING was reported by the reader
    max_days = ctx.params["premeeting_max_days"]
    pre, dates = tab.col("premeeting_date"), tab.col("meeting_date")
    out = []
    for i in rows:
        p, d = pre[i], dates[i]
        msg = None
        if p is None:
            if tab.is_empty("premeeting_date", i):
                msg = "Chưa có ngày họp chi ủy chuẩn bị buổi sinh hoạt."
            # unreadable: DATA-INVALID only
        elif d is not None:
            if p > d:
                msg = f"Họp chi ủy ngày {fmt_date(p)}, sau buổi sinh hoạt ngày {fmt_date(d)}."
            elif (d - p).days > max_days:
                msg = (f"Họp chi ủy ngày {fmt_date(p)}, trước buổi sinh hoạt ngày {fmt_date(d)} "
                       f"{(d - p).days} ngày (tối đa {max_days} ngày).")
        if msg is not None:
            failed.setdefault(i, []).append("MEET-PREMEETING")
            out.append(tab.finding(i, "MEET-PREMEETING", ERROR, msg))
    return out


def _flags(tab: TabData, rows: list[int], failed: dict[int, list[str]]) -> list[Finding]:
    """MEET-MINUTES, MEET-CRITICISM (explicit "no"), MEET-CONTENT (no "yes", at least one "no")."""
    minutes, criticism = tab.col("minutes_full"), tab.col("criticism")
    tw4, hcm = tab.col("link_tw4"), tab.col("link_hcm")
    out = []
    for i in rows:
        if minutes[i] is False:
            failed.setdefault(i, []).append("MEET-MINUTES")
            out.append(tab.finding(i, "MEET-MINUTES", ERROR, "Biên bản không ghi đầy đủ."))
        if tw4[i] is not True and hcm[i] is not True and (tw4[i] is False or hcm[i] is False):
            out.append(tab.finding(
                i, "MEET-CONTENT", WARNING,
                f"Nội dung {_link_vi(tw4[i])} Nghị quyết TW4, {_link_vi(hcm[i])} học tập, "
                f"làm theo Bác.",
            ))
        if criticism[i] is False:
            out.append(tab.finding(i, "MEET-CRITICISM", WARNING,
                                   "Không tiến hành tự phê bình và phê bình."))
    return out


def _docs_app(ctx: UnitContext, tab: TabData, rows: list[int]) -> list[Finding]:
    """MEET-DOCS-APP: documents on the handbook app at least ``lead`` days before (HD42)."""
    p = ctx.params
    if not p["docs_app_enabled"] or not tab.has("docs_date"):
        return []
    since, lead = p["docs_app_effective_from"], p["docs_app_lead_days"]
    docs, dates = tab.col("docs_date"), tab.col("meeting_date")
    header = tab.tab.column("docs_date").header
    out = []
    for i in rows:
        d, posted = dates[i], docs[i]
        if d is None or d < since:
            continue
        if posted is None:
            if tab.is_empty("docs_date", i):
                out.append(tab.finding(i, "DATA-REQUIRED", WARNING, f"Chưa nhập \"{header}\"."))
        elif d.toordinal() - posted.toordinal() < lead:  # posted after d − lead days
            latest = d - timedelta(days=lead)
            out.append(tab.finding(
                i, "MEET-DOCS-APP", ERROR,
                f"Tài liệu đăng lên Sổ tay đảng viên ngày {fmt_date(posted)}, phải chậm nhất "
                f"ngày {fmt_date(latest)} ({lead} ngày trước buổi sinh hoạt {fmt_date(d)}).",
            ))
    return out


def _rating(ctx: UnitContext, tab: TabData, rows: list[int],
            failed: dict[int, list[str]]) -> list[Finding]:
    """MEET-RATING-MISSING and MEET-RATING-INFLATED (failed criteria, or a lower score level)."""
    if not tab.has("rating"):
        return []  # TPL-COLUMN-MISSING was reported by the reader
    column = tab.tab.column("rating")
    levels = _score_levels(ctx.params["rating_thresholds"], column)
    ratings, scores = tab.col("rating"), tab.col("score")
    level_of: dict[float, str] = {}  # score -> level, once per distinct score
    out = []
    for i in rows:
        rating = ratings[i]
        if rating is None:
            if tab.is_empty("rating", i):
                out.append(tab.finding(i, "MEET-RATING-MISSING", WARNING,
                                       "Chưa xếp loại chất lượng buổi sinh hoạt."))
            continue
        parts = []
        if rating == "good" and i in failed:
            names = ", ".join(CRITERIA_VI[r] for r in failed[i])
            parts.append(f"buổi sinh hoạt không đạt: {names}")
        score = scores[i]
        if score is not None and rating in RATING_RANK:
            level = level_of.get(score)
            if level is None:
                level = level_of[score] = _score_level(score, levels)
            if RATING_RANK[level] > RATING_RANK[rating]:
                parts.append(f"điểm tự chấm {_fmt_number(score)} chỉ ứng với mức "
                             f"{column.label_of(level) or level}")
        if parts:
            label = column.label_of(rating) or rating
            out.append(tab.finding(i, "MEET-RATING-INFLATED", WARNING,
                                   f"Xếp loại {label} nhưng {'; '.join(parts)}."))
    return out


def _score_levels(thresholds: Any, column: Column) -> list[tuple[float, str]]:
    """rating_thresholds (label -> minimum score) as (minimum, choice id), highest first.
    Labels are matched through the template's rating choices; unknown labels are ignored."""
    out = []
    for label, minimum in thresholds.items():
        choice = column.choices.match(label) if column.choices is not None else None
        choice_id = getattr(choice, "id", choice)
        if choice_id in RATING_RANK:
            out.append((float(minimum), choice_id))
    return sorted(out, key=lambda t: (-t[0], RATING_RANK[t[1]]))


def _score_level(score: float, levels: list[tuple[float, str]]) -> str:
    for minimum, level in levels:
        if score >= minimum:
            return level
    return RATING_ORDER[-1]


# --- formatting ----------------------------------------------------------------------------------

def _fmt_time(minutes: int) -> str:
    h, m = divmod(int(minutes), 60)
    return f"{h:02d}:{m:02d}"


def _fmt_number(x: float) -> str:
    x = float(x)
    return str(int(x)) if x.is_integer() else f"{x:g}".replace(".", ",")


@lru_cache(maxsize=1 << 12)
def _fmt_ratio(part: int, whole: int) -> str:
    """part / whole as a percent with one decimal (the same few pairs recur in every unit)."""
    return _fmt_pct(Fraction(part, whole), 1)


def _fmt_pct(x: Fraction, decimals: int | None = None) -> str:
    """Percent with a decimal comma: fixed decimals, or the shortest exact form (85%, 87,5%)."""
    value = float(x * 100)
    if decimals is not None:
        text = f"{value:.{decimals}f}"
    else:
        text = f"{value:.4f}".rstrip("0").rstrip(".")
    return text.replace(".", ",") + "%"


def _link_vi(value: bool | None) -> str:
    return "không gắn" if value is False else "chưa ghi việc gắn"

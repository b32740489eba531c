"""`Vi phạm`: every finding, errors first, with a link to the exact row of a Google unit; the
full list also as CSV next to the workbook. Member names only when the config allows it."""
from __future__ import annotations

import csv
import heapq
import io
import os
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ...core.atomic import atomic_path
from ...core.csvtext import FORMULA_START
from ...core.findings import (
    ERROR,
    INFO,
    SEVERITY_ORDER,
    SEVERITY_VI,
    WARNING,
    Finding,
    FindingCounts,
)
from ...core.periods import fmt_period
from ...core.rules.catalog import rule_name_vi
from .layout import INT, Writer, clip, page_setup, row_height
from .threaded import ThreadedWriter

SHEET = "Vi phạm"
MAX_ROWS = 1_000_000  # findings rows on the sheet (Excel holds 1,048,576)
MAX_LINKS = 65_000  # hyperlinks per sheet (Excel's limit is 65,530)
MEMBER_TAB = "Điểm danh"

HEADERS = ("STT", "Mã đơn vị", "Tên đơn vị", "Chi bộ", "Tab", "Dòng", "Kỳ", "Nội dung", "Mức độ",
           "Chi tiết", "Đã giải trình", "Đã chấp nhận", "Vị trí", "Mã quy tắc")
WIDTHS = (5, 6, 19, 7, 10, 6, 8, 22, 8, 50, 7, 7, 15, 14)
CSV_HEADERS = ("Mã đơn vị", "Tên đơn vị", "Chi bộ", "Tab", "Dòng", "Kỳ", "Quy tắc", "Tên quy tắc",
               "Mức độ", "Nội dung", "Đã giải trình", "Đã chấp nhận", "Vị trí", "Liên kết")
SEVERITY_STATE = {ERROR: "error", WARNING: "warning", INFO: "none"}

_KEY = re.compile(r"/spreadsheets/d/([a-zA-Z0-9-_]+)")


def nvi(n: int) -> str:
    """1234567 -> "1.234.567" (Vietnamese thousands separator)."""
    return f"{n:,}".replace(",", ".")


def spreadsheet_key(value: str) -> str:
    m = _KEY.search(value)
    return m.group(1) if m else value.strip()


@dataclass
class UnitLinks:
    """Where a Google unit's rows are: the spreadsheet key, sheet titles and ids by tab name."""
    key: str
    titles: dict[str, str]  # template tab name -> sheet title as found
    sheet_ids: dict[str, int]  # template tab name -> sheetId (when known)

    def url(self, f: Finding) -> str:
        base = f"https://docs.google.com/spreadsheets/d/{quote(self.key, safe='-_')}/edit"
        gid = self.sheet_ids.get(f.tab or "")
        if gid is None:
            return base
        url = f"{base}#gid={gid}"
        return f"{url}&range=A{f.row}" if f.row is not None else url


def location(f: Finding, titles: Mapping[str, str]) -> str:
    title = titles.get(f.tab or "", f.tab or "")
    if f.row is not None and title:
        return f"{title}!A{f.row}"
    return title


# --- member names ------------------------------------------------------------------------------

_STREAK = re.compile(r"vắng có lý do (\d+) kỳ liên tiếp \(([0-9/, ]+)\)(, quá (\d+) kỳ)?\.$")
_ABANDON = re.compile(r"vắng không lý do (\d+) tháng trong năm (\d{4}) \(([0-9/, ]+)\): "
                      r"chi bộ phải xem xét xóa tên\.$")
HIDDEN = "(họ tên không hiển thị)"


def hides_names(f: Finding) -> bool:
    """Findings whose message names a party member (MEMBER-*, and history findings quoting
    rows of the per-member attendance tab)."""
    return f.rule.startswith("MEMBER-") or (
        f.tab == MEMBER_TAB and f.rule in ("DATA-DELETED", "DATA-CHANGED-CLOSED"))


def display_message(f: Finding, show_member_names: bool) -> str:
    """The message, or a count-only text built from the message's numbers (never its names)."""
    if show_member_names or not hides_names(f):
        return f.message
    where = f" (chi bộ {f.cell})" if f.cell else ""
    m = _STREAK.search(f.message)
    if f.rule == "MEMBER-EXCUSED-STREAK" and m:
        over = f", quá {m.group(4)} kỳ" if m.group(3) else ""
        return (f"1 đảng viên{where} vắng có lý do {m.group(1)} kỳ liên tiếp ({m.group(2)})"
                f"{over} {HIDDEN}.")
    m = _ABANDON.search(f.message)
    if f.rule == "MEMBER-ABANDON" and m:
        return (f"1 đảng viên{where} vắng không lý do {m.group(1)} tháng trong năm "
                f"{m.group(2)} ({m.group(3)}): chi bộ phải xem xét xóa tên {HIDDEN}.")
    if f.rule == "DATA-DELETED":
        return f"1 dòng điểm danh{where} đã bị xóa khỏi sổ {HIDDEN}."
    if f.rule == "DATA-CHANGED-CLOSED":
        return f"1 dòng điểm danh{where} của tháng đã qua hạn bị sửa {HIDDEN}."
    return f"1 đảng viên{where}: {f.rule} {HIDDEN}."


# --- ordering and rows -------------------------------------------------------------------------

def ordered(findings: Sequence[Finding], unit_order: Mapping[str, int]) -> list[Finding]:
    """Errors, then warnings, then info; within a severity by unit (config order), tab, row."""
    big = len(unit_order)
    # Grouped by severity and unit first, each group sorted on its own: the same order as one
    # sort on (severity, unit, sort key), in half the time (581,000 findings at national size).
    groups: dict[tuple[int, int], list[Finding]] = {}
    for f in findings:
        key = (SEVERITY_ORDER[f.severity], unit_order.get(f.unit, big))
        group = groups.get(key)
        if group is None:
            groups[key] = [f]
        else:
            group.append(f)
    out: list[Finding] = []
    for key in sorted(groups):
        out += sorted(groups[key], key=Finding.sort_key)
    return out


@dataclass
class Context:
    unit_names: Mapping[str, str]
    titles: Mapping[str, Mapping[str, str]]  # unit code -> tab name -> sheet title
    links: Mapping[str, UnitLinks]  # Google units only
    show_member_names: bool


_period_text = lru_cache(maxsize=4096)(fmt_period)  # a few hundred periods, 581,000 findings


def _fields(f: Finding, ctx: Context) -> tuple:
    return (f.unit, ctx.unit_names.get(f.unit, ""), f.cell or "", f.tab or "", f.row,
            _period_text(f.period), rule_name_vi(f.rule), SEVERITY_VI.get(f.severity, f.severity),
            display_message(f, ctx.show_member_names), "Có" if f.explained else "",
            "Có" if f.accepted else "", f.rule)


def listed(findings: Sequence[Finding]) -> list[Finding]:
    """What `Vi phạm` lists, in order: open errors, open warnings, then the accepted ones
    (``findings`` already ordered by ``ordered``); info is summarised on `Lưu ý`."""
    shown = [f for f in findings if f.severity != INFO]
    return [f for f in shown if not f.accepted] + [f for f in shown if f.accepted]


def fair_share(rows: Sequence[Finding], limit: int) -> list[Finding]:
    """At most ``limit`` of ``rows`` (``listed`` order), kept in that order: section by section
    (open errors, open warnings, accepted), every unit gets its first rows of a section before
    any unit gets more, so a capped sheet still shows each unit's first errors rather than
    the first units' every error."""
    if len(rows) <= limit:
        return list(rows)
    seen: dict[tuple, int] = {}
    keys = []
    for i, f in enumerate(rows):
        section = (f.accepted, SEVERITY_ORDER[f.severity])
        rank = seen[(section, f.unit)] = seen.get((section, f.unit), -1) + 1
        keys.append((section, rank, i))
    keep = sorted(i for _, _, i in heapq.nsmallest(limit, keys))
    return [rows[i] for i in keep]


def write_violations(ws, w: Writer, findings: list[Finding], ctx: Context, year: int,
                     as_of: date, csv_name: str, max_rows: int | None = None,
                     max_links: int | None = None, counts: FindingCounts | None = None) -> dict:
    """``findings`` already ordered (``ordered``): the errors and warnings (``listed``), at
    most ``max_rows`` of them, what was left out said on top; the CSV keeps everything.
    ``counts``: the model's counts (the same as `Tổng hợp`). Returns what was written."""
    max_rows = MAX_ROWS if max_rows is None else min(max_rows, MAX_ROWS)
    max_links = MAX_LINKS if max_links is None else max_links
    st = w.st
    last = len(HEADERS) - 1
    for c, width in enumerate(WIDTHS):
        ws.set_column(c, c, width)
    rows = listed(findings)
    n = len(rows)
    shown = fair_share(rows, max_rows)
    counts = counts if counts is not None else FindingCounts.of(findings)
    ws.set_row(0, 24)
    w.merge(0, 0, last, f"DANH SÁCH VI PHẠM, CẢNH BÁO NĂM {year}", st.title())
    subtitle = (
        f"Số liệu đến ngày {as_of:%d/%m/%Y}: {nvi(counts.errors)} vi phạm, "
        f"{nvi(counts.warnings)} cảnh báo (trong đó {nvi(counts.explained)} đã giải trình, chờ "
        f"xem xét), {nvi(counts.accepted)} trường hợp đã chấp nhận giải trình (xếp cuối, không "
        f"tính là vi phạm); như trang \"Tổng hợp\". Vi phạm xếp trước. {nvi(counts.info)} lưu ý "
        f"(khuyến nghị) tổng hợp ở trang \"Lưu ý\". Danh sách đầy đủ: tệp {csv_name}.")
    ws.set_row(1, row_height([(subtitle, sum(WIDTHS))], size=11, minimum=18))
    w.merge(1, 0, last, subtitle, st.subtitle())
    notes = []
    if len(shown) < n:
        kept = {id(f) for f in shown}
        left = FindingCounts.of([f for f in rows if id(f) not in kept])
        notes.append(
            f"Trang này chỉ in {nvi(len(shown))} trong tổng số {nvi(n)} dòng (vi phạm trước, "
            f"mỗi đơn vị những dòng đầu của mình); "
            f"{nvi(n - len(shown))} dòng không in "
            f"({nvi(left.errors)} vi phạm, {nvi(left.warnings)} cảnh báo, {nvi(left.accepted)} "
            f"đã chấp nhận giải trình) — tệp {csv_name} có đủ mọi dòng.")
    linkable = sum(1 for f in shown if f.unit in ctx.links)
    if linkable > max_links:
        notes.append(f"Chỉ {nvi(max_links)} dòng đầu có liên kết đến bảng tính; "
                     f"{nvi(linkable - max_links)} dòng sau chỉ ghi vị trí.")
    ws.set_row(2, row_height([(" ".join(notes), sum(WIDTHS))], size=11, bold=True, minimum=18)
               if notes else 6)
    w.merge(2, 0, last, " ".join(notes), st.get(bold=True, font_color="#C00000",
                                                 align="center", text_wrap=True))
    header = 3
    ws.set_row(header, row_height(list(zip(HEADERS, WIDTHS)), minimum=30, bold=True))
    for c, text in enumerate(HEADERS):
        w.text(header, c, text, st.head())
    text, centre = st.text(), st.text(align="center")
    small = st.text(align="center", font_size=7, font_color="#595959")
    num = st.num(INT, align="center")
    link_fmt = st.text(font_color="#0563C1", underline=1)
    sev_fmt = {s: st.state(state) for s, state in SEVERITY_STATE.items()}
    accepted_fmt = st.state("accepted")
    links = 0
    r = header
    for k, f in enumerate(shown, start=1):
        r = header + k
        values = _fields(f, ctx)
        where = location(f, ctx.titles.get(f.unit, {}))
        ws.set_row(r, row_height([(values[1], WIDTHS[2]), (values[3], WIDTHS[4]),
                                  (values[6], WIDTHS[7]), (values[8], WIDTHS[9]),
                                  (where, WIDTHS[12])]))
        w.num(r, 0, k, num)
        w.text(r, 1, values[0], centre)
        w.text(r, 2, values[1], text)
        w.text(r, 3, values[2], centre)
        w.text(r, 4, values[3], text)
        w.num(r, 5, values[4], num)
        w.text(r, 6, values[5], centre)
        w.text(r, 7, values[6], text)
        w.text(r, 8, values[7], accepted_fmt if f.accepted else sev_fmt.get(f.severity, centre))
        w.text(r, 9, values[8], text)
        w.text(r, 10, values[9], centre)
        w.text(r, 11, values[10], centre)
        unit_links = ctx.links.get(f.unit)
        if unit_links is not None and links < max_links:
            ws.write_url(r, 12, unit_links.url(f), link_fmt, string=clip(where or "Mở bảng tính"),
                         tip="Mở đúng dòng trên Google Sheets")
            links += 1
        else:
            w.text(r, 12, where, text)
        w.text(r, 13, values[11], small)
    if not shown:
        r = header + 1
        w.merge(r, 0, last, "Không có vi phạm, cảnh báo.", text)
    ws.freeze_panes(header + 1, 0)
    ws.autofilter(header, 0, max(r, header), last)
    page_setup(ws, repeat=(header, header))
    return {"rows": len(shown), "links": links, "left_out": n - len(shown)}


def write_notes(ws, w: Writer, notes: Sequence[Any], units: Sequence[Any], year: int,
                as_of: date, csv_name: str) -> None:
    """`Lưu ý`: the info findings (advice, never counted as non-compliance) as one table, a
    row per rule and a column per unit; the rule ID in a narrow last column."""
    st = w.st
    heads = ["STT", "Lưu ý", *(u.code for u in units), "Cộng", "Mã quy tắc"]
    widths = [5, 40, *([6.5] * len(units)), 7, 20]
    last = len(heads) - 1
    for c, width in enumerate(widths):
        ws.set_column(c, c, width)
    ws.set_row(0, 24)
    w.merge(0, 0, last, f"TỔNG HỢP CÁC LƯU Ý NĂM {year}", st.title())
    sub = (f"Số liệu đến ngày {as_of:%d/%m/%Y}. Lưu ý là khuyến nghị, không tính là vi phạm, "
           f"cảnh báo; số trường hợp theo từng nội dung và đơn vị. Từng trường hợp: tệp "
           f"{csv_name} (cột Mức độ = Lưu ý). Mã đơn vị: "
           + "; ".join(f"{u.code} = {u.name}" for u in units) + ".")
    ws.set_row(1, row_height([(sub, sum(widths))], size=11, minimum=18))
    w.merge(1, 0, last, sub, st.subtitle())
    header = 3
    ws.set_row(header, row_height(list(zip(heads, widths)), minimum=30, bold=True))
    for c, text in enumerate(heads):
        w.text(header, c, text, st.head())
    num, text = st.num(INT, align="center"), st.text()
    small = st.text(align="center", font_size=7, font_color="#595959")
    row = header + 1
    for k, rc in enumerate(notes, start=1):
        ws.set_row(row, row_height([(rc.name, widths[1])]))
        w.num(row, 0, k, num)
        w.text(row, 1, rc.name, text)
        for c, u in enumerate(units, start=2):
            w.num(row, c, rc.by_unit.get(u.code, 0) or None, num)
        w.num(row, 2 + len(units), rc.total, st.num(INT, align="center", bold=True))
        w.text(row, 3 + len(units), rc.rule, small)
        row += 1
    if not notes:
        w.merge(row, 0, last, "Không có lưu ý.", text)
        row += 1
    ws.freeze_panes(header + 1, 2)
    page_setup(ws, repeat=(header, header))


# --- CSV ---------------------------------------------------------------------------------------

_CSV_SPECIAL = re.compile(r'[,"\r\n]')  # what makes the csv module quote a field


_EXPLAINED = {False: b",,", True: ",Có,".encode()}  # the field and the commas around it
_ACCEPTED = {False: b",", True: "Có,".encode()}


class _CsvLine:
    """The CSV's lines as ``csv.writer`` writes them (``QUOTE_MINIMAL``: a field with a comma,
    a quote or a line break in quotes, quotes doubled; lines end with CR LF), in UTF-8, made
    from pieces kept encoded per distinct unit/cell/tab, period, rule and message; a text field
    that a spreadsheet would read as a formula gets a leading apostrophe
    (``core.csvtext.csv_safe``). A national roll-up writes 581,000 lines of 14 fields."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        # (unit, tab) -> the unit's two fields; the tab's field; the sheet title's field; the
        # location up to the row number when no field rule applies to it (else None)
        self._unit_tab: dict[tuple[str, str | None],
                             tuple[bytes, bytes, bytes, bytes | None]] = {}
        # (unit, cell, tab) -> its four fields; the sheet title's field; the location head
        self._place: dict[tuple, tuple[bytes, bytes, bytes | None]] = {}
        self._period: dict[str | None, bytes] = {}
        # (rule, severity, tab) -> the rule's three fields; whether the message names members
        self._rule: dict[tuple[str, str, str | None], tuple[bytes, bool]] = {}
        self._message: dict[str, bytes] = {}  # a few thousand distinct messages at most

    @staticmethod
    def text(value: str) -> str:
        """One text field."""
        if value.startswith(FORMULA_START):
            value = "'" + value
        if _CSV_SPECIAL.search(value):
            return '"' + value.replace('"', '""') + '"'
        return value

    def fields(self, values: Sequence[str]) -> str:
        """Text fields as one CSV line without its end."""
        return ",".join(map(self.text, values))

    def field(self, value: str) -> bytes:
        """One text field, encoded."""
        return self.text(value).encode()

    def _unit_tab_of(self, unit: str, tab: str | None
                     ) -> tuple[bytes, bytes, bytes, bytes | None]:
        ctx = self.ctx
        title = location(Finding(unit, tab, None, None, None, "", "", ""),
                         ctx.titles.get(unit, {}))
        head = title + "!A"
        return (self.fields((unit, ctx.unit_names.get(unit, ""))).encode(),
                self.field(tab or ""), self.field(title),
                head.encode() if title and self.text(head) == head else None)

    def _place_of(self, f: Finding) -> tuple[bytes, bytes, bytes | None]:
        unit_tab = self._unit_tab.get((f.unit, f.tab))
        if unit_tab is None:
            unit_tab = self._unit_tab[f.unit, f.tab] = self._unit_tab_of(f.unit, f.tab)
        unit, tab, title, where = unit_tab
        return b"%s,%s,%s" % (unit, self.field(f.cell or ""), tab), title, where

    def __call__(self, f: Finding) -> bytes:
        ctx = self.ctx
        place = self._place.get((f.unit, f.cell, f.tab))
        if place is None:
            place = self._place[f.unit, f.cell, f.tab] = self._place_of(f)
        fields, title, where = place
        period = self._period.get(f.period)
        if period is None:
            period = self._period[f.period] = self.field(_period_text(f.period))
        rule_fields = self._rule.get((f.rule, f.severity, f.tab))
        if rule_fields is None:
            rule_fields = self._rule[f.rule, f.severity, f.tab] = (self.fields(
                (f.rule, rule_name_vi(f.rule), SEVERITY_VI.get(f.severity, f.severity))
            ).encode(), hides_names(f))
        rule, hides = rule_fields
        if ctx.show_member_names or not hides:
            message = self._message.get(f.message)
            if message is None:
                if len(self._message) > 100_000:
                    self._message.clear()
                message = self._message[f.message] = self.field(f.message)
        else:
            message = self.field(display_message(f, False))
        row = f.row
        line: tuple[bytes, ...]
        if row is None:
            line = (fields, b",,", period, b",", rule, b",", message, _EXPLAINED[f.explained],
                    _ACCEPTED[f.accepted], title, b",")
        else:
            number = str(row).encode()
            line = (fields, b",", number, b",", period, b",", rule, b",", message,
                    _EXPLAINED[f.explained], _ACCEPTED[f.accepted],
                    self.field(location(f, ctx.titles.get(f.unit, {})))
                    if where is None else where + number, b",")
        unit_links = ctx.links.get(f.unit)
        if unit_links is None:
            return b"".join(line) + b"\r\n"
        return b"".join(line) + self.field(unit_links.url(f)) + b"\r\n"


def write_csv(path: Path, findings: list[Finding], ctx: Context,
              thread: Executor | None = None) -> None:
    """Every finding (same order and fields as the sheet, plus the link), UTF-8 with BOM,
    written to a temporary file and renamed; 500 lines made at a time (100 kB: pieces of some
    MB are memory the system maps and unmaps for each, 1 s of system time for the 581,000
    lines of a national roll-up against 0.1 s). ``thread``: where the lines are written, in
    bigger pieces (``ThreadedWriter``: the system's part of writing, ≈ 0.5 s at national
    size, then overlaps making the next lines)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    line = _CsvLine(ctx)
    with atomic_path(path, tmp), open(tmp, "wb") as fh:
        def sink(data: bytes, last: bool) -> None:
            fh.write(data)

        out = ThreadedWriter(sink, thread, text=False) if thread is not None else None
        write = out.write if out is not None else fh.write
        try:
            write(("\ufeff" + line.fields(CSV_HEADERS) + "\r\n").encode())
            for k in range(0, len(findings), 500):
                write(b"".join(map(line, findings[k:k + 500])))
        finally:
            if out is not None:
                out.close()


def read_csv(path: Path) -> list[list[str]]:
    """The CSV back (tests, tools)."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(io.StringIO(fh.read())))

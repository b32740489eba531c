"""`Vi phạm`: every finding, errors first, with a link to the exact row of a Google unit; the
full list also as CSV next to the workbook. Member names only when the config allows it."""
from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import quote

from ...core.atomic import atomic_path
from ...core.findings import ERROR, INFO, SEVERITY_ORDER, SEVERITY_VI, WARNING, Finding
from .layout import INT, Writer, clip, fmt_period, page_setup, row_height

SHEET = "Vi phạm"
MAX_ROWS = 1_000_000  # findings rows on the sheet (Excel holds 1,048,576)
MAX_LINKS = 65_000  # hyperlinks per sheet (Excel's limit is 65,530)
MEMBER_TAB = "Điểm danh"

HEADERS = ("STT", "Mã đơn vị", "Tên đơn vị", "Chi bộ", "Tab", "Dòng", "Kỳ", "Quy tắc", "Mức độ",
           "Nội dung", "Đã giải trình", "Đã chấp nhận", "Vị trí")
WIDTHS = (5, 6, 21, 7, 11, 6, 9, 26, 8, 63, 7, 7, 16)
CSV_HEADERS = (*HEADERS[1:-1], "Vị trí", "Liên kết")
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
    return sorted(findings, key=lambda f: (SEVERITY_ORDER[f.severity],
                                           unit_order.get(f.unit, big), f.sort_key()))


@dataclass
class Context:
    unit_names: Mapping[str, str]
    titles: Mapping[str, Mapping[str, str]]  # unit code -> tab name -> sheet title
    links: Mapping[str, UnitLinks]  # Google units only
    show_member_names: bool


def _fields(f: Finding, ctx: Context) -> tuple:
    return (f.unit, ctx.unit_names.get(f.unit, ""), f.cell or "", f.tab or "", f.row,
            fmt_period(f.period), f.rule, SEVERITY_VI.get(f.severity, f.severity),
            display_message(f, ctx.show_member_names), "Có" if f.explained else "",
            "Có" if f.accepted else "")


def write_violations(ws, w: Writer, findings: list[Finding], ctx: Context, year: int,
                     as_of: date, csv_name: str, max_rows: int | None = None,
                     max_links: int | None = None) -> dict:
    """``findings`` already ordered. Returns what was written (rows, links, left out)."""
    max_rows = MAX_ROWS if max_rows is None else max_rows
    max_links = MAX_LINKS if max_links is None else max_links
    st = w.st
    last = len(HEADERS) - 1
    for c, width in enumerate(WIDTHS):
        ws.set_column(c, c, width)
    n = len(findings)
    shown = findings[:max_rows]
    counts = {s: 0 for s in (ERROR, WARNING, INFO)}
    for f in findings:
        counts[f.severity] = counts.get(f.severity, 0) + 1
    left = {s: 0 for s in (ERROR, WARNING, INFO)}
    for f in findings[max_rows:]:
        left[f.severity] += 1
    ws.set_row(0, 24)
    w.merge(0, 0, last, f"DANH SÁCH VI PHẠM, CẢNH BÁO VÀ LƯU Ý NĂM {year}", st.title())
    subtitle = (
        f"Số liệu đến ngày {as_of:%d/%m/%Y}. Tổng số {nvi(n)} phát hiện: {nvi(counts[ERROR])} vi "
        f"phạm, {nvi(counts[WARNING])} cảnh báo, {nvi(counts[INFO])} lưu ý (vi phạm xếp trước). "
        f"Danh sách đầy đủ: tệp {csv_name}.")
    ws.set_row(1, row_height([(subtitle, sum(WIDTHS))], size=11, minimum=18))
    w.merge(1, 0, last, subtitle, st.subtitle())
    notes = []
    if len(shown) < n:
        notes.append(
            f"Sheet này chỉ hiển thị {nvi(len(shown))} dòng đầu; {nvi(n - len(shown))} phát hiện "
            f"không hiển thị ({nvi(left[ERROR])} vi phạm, {nvi(left[WARNING])} cảnh báo, "
            f"{nvi(left[INFO])} lưu ý) — xem tệp {csv_name}.")
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
    num = st.num(INT, align="center")
    link_fmt = st.text(font_color="#0563C1", underline=1)
    sev_fmt = {s: st.state(state) for s, state in SEVERITY_STATE.items()}
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
        w.text(r, 8, values[7], sev_fmt.get(f.severity, centre))
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
    ws.freeze_panes(header + 1, 0)
    ws.autofilter(header, 0, max(r, header), last)
    page_setup(ws, repeat=(header, header))
    return {"rows": len(shown), "links": links, "left_out": n - len(shown)}


# --- CSV ---------------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_safe(value) -> object:
    """A text field that a spreadsheet would read as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def write_csv(path: Path, findings: list[Finding], ctx: Context) -> None:
    """Every finding (same order and fields as the sheet, plus the link), UTF-8 with BOM,
    written to a temporary file and renamed."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with atomic_path(path, tmp), open(tmp, "w", encoding="utf-8-sig", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(CSV_HEADERS)
        for f in findings:
            fields = list(_fields(f, ctx))
            unit_links = ctx.links.get(f.unit)
            fields.append(location(f, ctx.titles.get(f.unit, {})))
            fields.append(unit_links.url(f) if unit_links is not None else "")
            out.writerow([_csv_safe(v) if v is not None else "" for v in fields])


def read_csv(path: Path) -> list[list[str]]:
    """The CSV back (tests, tools)."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(io.StringIO(fh.read())))

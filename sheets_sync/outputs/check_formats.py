"""Render a ``Report``: Vietnamese table, JSON (template.md contract), CSV (UTF-8 with BOM).

The table fits the terminal: ``width`` (columns) wraps the widest text column; ``width=None``
gives plain lines, one per finding, for output that is not a terminal (a file, a pipe, a log).
"""
from __future__ import annotations

import csv
import io
import json
import textwrap
import unicodedata
from typing import Any

from ..core.csvtext import csv_safe
from ..core.findings import (
    ACCEPTED,
    ERROR,
    FINDING_FIELDS,
    INFO,
    SEVERITY_VI,
    STATUS_VI,
    WARNING,
    Finding,
    Report,
    count_findings,
)
from ..core.periods import fmt_period
from ..core.rules.catalog import rule_fix_vi, rule_name_vi

SEVERITY_MARK = {ERROR: "✖", WARNING: "⚠", INFO: "ℹ", ACCEPTED: "✔"}
ACCEPTED_SHORT = "Đã chấp nhận"  # column header of accepted explanations
MIN_WRAP = 14  # a wrapped column is never narrower than this


def to_json(report: Report) -> str:
    return json.dumps(report.to_json(), ensure_ascii=False, indent=2)


def to_csv(report: Report) -> str:
    """Every finding, the JSON fields in order plus ``unit_name``; text fields that a
    spreadsheet would read as a formula get a leading apostrophe (as in the roll-up CSV)."""
    names = {u.code: u.name for u in report.units}
    buf = io.StringIO()
    buf.write("\ufeff")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([*FINDING_FIELDS, "unit_name"])
    for f in report.sorted_findings():
        row = f.to_json()
        writer.writerow([_csv_value(row[k]) for k in FINDING_FIELDS]
                        + [_csv_value(names.get(f.unit, ""))])
    return buf.getvalue()


def _csv_value(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return str(csv_safe(v))
    return str(v)


def _width(s: str) -> int:
    return sum(0 if unicodedata.combining(ch) else 1 for ch in s)


def _pad(s: str, n: int) -> str:
    return s + " " * max(0, n - _width(s))


def _wrap(text: str, width: int, break_long_words: bool = True) -> list[str]:
    out: list[str] = []
    for paragraph in text.split("\n"):
        out += textwrap.wrap(paragraph, width, break_long_words=break_long_words,
                             break_on_hyphens=False) or [""]
    return out


def _table(headers: list[str], rows: list[list[str]], max_width: int | None = None,
           wrap: int | None = None) -> list[str]:
    """An aligned table; with ``max_width`` the column ``wrap`` is narrowed (its text wrapped
    onto continuation lines) so that each line fits."""
    widths = [max(_width(x) for x in col) for col in zip(headers, *rows)]
    if max_width is not None and wrap is not None:
        total = sum(widths) + 2 * (len(widths) - 1)
        if total > max_width:
            widths[wrap] = max(MIN_WRAP, widths[wrap] - (total - max_width))
            if sum(widths) + 2 * (len(widths) - 1) > max_width:
                return _stacked(headers, rows, max_width)
    lines = ["  ".join(_pad(h, w) for h, w in zip(headers, widths)).rstrip()]
    lines.append("  ".join("─" * w for w in widths))
    for r in rows:
        cells = [_wrap(c, w) if k == wrap and _width(c) > w else [c]
                 for k, (c, w) in enumerate(zip(r, widths))]
        for n in range(max(len(c) for c in cells)):
            lines.append("  ".join(_pad(c[n] if n < len(c) else "", w)
                                   for c, w in zip(cells, widths)).rstrip())
    return lines


def _stacked(headers: list[str], rows: list[list[str]], max_width: int) -> list[str]:
    """A terminal too narrow for the columns: each row as one wrapped paragraph of
    "header: value" parts."""
    out: list[str] = []
    for r in rows:
        parts = [f"{h}: {c}" if h else c for h, c in zip(headers, r) if c]
        out += textwrap.wrap(" · ".join(parts), max_width, subsequent_indent="    ",
                             break_long_words=True, break_on_hyphens=False) or [""]
    return out


def counts_by_unit(report: Report) -> dict[str, dict[str, int]]:
    """Per unit: errors, warnings, notes and accepted explanations (each finding once)."""
    by_unit: dict[str, list[Finding]] = {u.code: [] for u in report.units}
    for f in report.findings:
        by_unit.setdefault(f.unit, []).append(f)
    return {code: count_findings(found) for code, found in by_unit.items()}


def where(f: Finding) -> str:
    parts = [f.tab or ""]
    if f.row is not None:
        parts.append(f"dòng {f.row}")
    return ", ".join(p for p in parts if p)


def finding_text(f: Finding) -> str:
    """A finding for the operator: short name, the message, the explanation's state, what to
    do, and the rule ID last."""
    message = f.message.strip()
    text = f"{rule_name_vi(f.rule)}: {message.removesuffix('.')}"
    if f.counts_as == ACCEPTED:
        text += " (đã chấp nhận giải trình)"
    else:
        if f.explained and f.severity != INFO:
            text += " (đã giải trình, chờ xem xét)"
        fix = rule_fix_vi(f.rule, f.severity)
        if fix:
            text += f" → {fix}"
    return f"{text} [{f.rule}]"


def _ordered(report: Report) -> list[Finding]:
    order = {u.code: n for n, u in enumerate(report.units)}
    rank = {ERROR: 0, WARNING: 1, ACCEPTED: 2, INFO: 3}
    return sorted(report.sorted_findings(),
                  key=lambda f: (rank[f.counts_as], order.get(f.unit, len(order))))


def to_table(report: Report, title: str = "", limit: int | None = 200,
             width: int | None = None) -> str:
    """The `check` table. ``width``: the terminal's columns (wrap to fit); None = plain
    lines, one per finding (not a terminal)."""
    lines = []
    if title:
        lines.append(title)
    lines.append(f"Ngày kiểm tra {report.as_of:%d/%m/%Y} — năm {report.year}")
    lines.append("")
    by_unit = counts_by_unit(report)
    rows = []
    for u in report.units:
        c = by_unit[u.code]
        rows.append([u.code, u.name, STATUS_VI.get(u.status, u.status),
                     str(c[ERROR]), str(c[WARNING]), str(c[INFO]), str(c[ACCEPTED])])
    total = report.counts()
    rows.append(["", "Tổng cộng", "", str(total[ERROR]), str(total[WARNING]), str(total[INFO]),
                 str(total[ACCEPTED])])
    lines += _table(["Mã", "Đơn vị", "Trạng thái", SEVERITY_VI[ERROR], SEVERITY_VI[WARNING],
                     SEVERITY_VI[INFO], ACCEPTED_SHORT], rows, width, wrap=1)
    failed = [u for u in report.units if u.message]
    if failed:
        lines.append("")
        lines += _notes([f"  {u.code}: {u.message}" for u in failed], width)
    findings = _ordered(report)
    if findings:
        lines.append("")
        lines.append("Chi tiết:")
        shown = findings if limit is None else findings[:limit]
        if width is None:
            for f in shown:
                parts = [f.unit, where(f), f.cell or "", fmt_period(f.period),
                         SEVERITY_MARK[f.counts_as], finding_text(f)]
                lines.append("  ".join(p for p in parts if p))
        else:
            detail = [[f.unit, where(f), f.cell or "", fmt_period(f.period),
                       SEVERITY_MARK[f.counts_as], finding_text(f)] for f in shown]
            lines += _table(["Đơn vị", "Vị trí", "Chi bộ", "Kỳ", "", "Nội dung"], detail,
                            width, wrap=5)
        if limit is not None and len(findings) > limit:
            lines.append(f"… và {len(findings) - limit} phát hiện khác "
                         "(dùng --format json/csv hoặc --limit 0 để xem hết).")
    return "\n".join(lines) + "\n"


WRITE_VI = {"written": "đã ghi", "unchanged": "không đổi", "copy": "ghi bản sao",
            "skipped": "bỏ qua", "dry-run": "chạy thử", "not-read": "không ghi", "error": "lỗi"}


def _notes(notes: list[str], width: int | None) -> list[str]:
    """Indented notes under a table, each wrapped to ``width`` (None: one line each) with its
    continuation lines indented further; a path is never cut."""
    return [line for note in notes for line in indented(note, width, "", "    ")]


def indented(text: str, width: int | None, first: str, rest: str) -> list[str]:
    """``text`` after ``first``, wrapped to ``width`` columns with each further line after
    ``rest`` (None: one line); paths and commands kept whole, never cut at a hyphen."""
    if width is None:
        return [first + text]
    return textwrap.wrap(text, width, initial_indent=first, subsequent_indent=rest,
                         break_long_words=False, break_on_hyphens=False) or [first]


def paragraph(text: str, width: int | None) -> list[str]:
    """``text`` wrapped to ``width`` columns (None: one line), paths and commands kept whole."""
    return [text] if width is None else _wrap(text, width, break_long_words=False)


def run_summary(outcome: Any, title: str, width: int | None = None) -> str:
    """What `run` prints: per unit, read status, findings and what was written; the roll-up.
    Accepted explanations are counted apart, never as violations or warnings."""
    report = outcome.report
    writes = {w.unit: w for w in outcome.writes}
    counts = counts_by_unit(report)
    rows = []
    for u in report.units:
        w = writes.get(u.code)
        c = counts[u.code]
        rows.append([u.code, u.name, STATUS_VI.get(u.status, u.status), str(c[ERROR]),
                     str(c[WARNING]), str(c[ACCEPTED]),
                     WRITE_VI.get(w.status, w.status) if w else ""])
    lines = [f"{title} — ngày kiểm tra {report.as_of:%d/%m/%Y}", ""]
    lines += _table(["Mã", "Đơn vị", "Đọc", SEVERITY_VI[ERROR], SEVERITY_VI[WARNING],
                     ACCEPTED_SHORT, "Ghi"], rows, width, wrap=1)
    notes = [f"  {u.code}: {u.message}" for u in report.units if u.message]
    for w in outcome.writes:
        if w.status in ("copy", "skipped", "error"):
            notes.append(f"  {w.unit}: {w.message}")
        if w.status == "dry-run":
            notes += [f"  {w.unit}: {line}" for line in w.plan_lines]
    if notes:
        lines += ["", *_notes(notes, width)]
    if outcome.requests:
        r = outcome.requests
        lines += ["", (f"Yêu cầu Google: {r.get('reads', 0)} đọc, {r.get('writes', 0)} ghi, "
                       f"{r.get('drive', 0)} Drive; thử lại {r.get('retries', 0)} lần, "
                       f"chờ {r.get('waited_s', 0)} giây.")]
    if outcome.rollup:
        lines += ["", *paragraph(f"Bảng tổng hợp: {outcome.rollup}", width)]
    elif getattr(outcome, "rollup_problem", None):
        lines += ["", *paragraph(
            f"Bảng tổng hợp: chưa lập được. {outcome.rollup_problem} Kết quả kiểm tra đã ghi vào "
            "các bảng tính; khi sửa xong, lập bảng tổng hợp bằng lệnh sheets-sync rollup.", width)]
    if getattr(outcome, "report_docx", None):
        lines += paragraph(f"Báo cáo năm (bản dự thảo): {outcome.report_docx}", width)
    elif getattr(outcome, "report_problem", None):
        lines += paragraph(f"Báo cáo năm: chưa lập được. {outcome.report_problem} Khi sửa xong, "
                           "lập báo cáo bằng lệnh sheets-sync report.", width)
    if outcome.published:
        lines += paragraph(f"Drive: {outcome.published}", width)
    return "\n".join(lines) + "\n"

"""Render a ``Report``: Vietnamese table, JSON (template.md contract), CSV (UTF-8 with BOM)."""
from __future__ import annotations

import csv
import io
import json
import unicodedata

from ..core.findings import (
    ERROR,
    FINDING_FIELDS,
    INFO,
    SEVERITY_ORDER,
    SEVERITY_VI,
    STATUS_VI,
    WARNING,
    Finding,
    Report,
)

SEVERITY_MARK = {ERROR: "✖", WARNING: "⚠", INFO: "ℹ"}


def to_json(report: Report) -> str:
    return json.dumps(report.to_json(), ensure_ascii=False, indent=2)


def to_csv(report: Report) -> str:
    names = {u.code: u.name for u in report.units}
    buf = io.StringIO()
    buf.write("\ufeff")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([*FINDING_FIELDS, "unit_name"])
    for f in report.sorted_findings():
        row = f.to_json()
        writer.writerow([_csv_value(row[k]) for k in FINDING_FIELDS] + [names.get(f.unit, "")])
    return buf.getvalue()


def _csv_value(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _width(s: str) -> int:
    return sum(0 if unicodedata.combining(ch) else 1 for ch in s)


def _pad(s: str, n: int) -> str:
    return s + " " * max(0, n - _width(s))


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(_width(x) for x in col) for col in zip(headers, *rows)]
    lines = ["  ".join(_pad(h, w) for h, w in zip(headers, widths)).rstrip()]
    lines.append("  ".join("─" * w for w in widths))
    lines += ["  ".join(_pad(c, w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return lines


def counts_by_unit(report: Report) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {u.code: {ERROR: 0, WARNING: 0, INFO: 0}
                                      for u in report.units}
    for f in report.findings:
        out.setdefault(f.unit, {ERROR: 0, WARNING: 0, INFO: 0})[f.severity] += 1
    return out


def where(f: Finding) -> str:
    parts = [f.tab or ""]
    if f.row is not None:
        parts.append(f"dòng {f.row}")
    return ", ".join(p for p in parts if p)


def to_table(report: Report, title: str = "", limit: int | None = 200) -> str:
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
                     str(c[ERROR]), str(c[WARNING]), str(c[INFO])])
    total = report.counts()
    rows.append(["", "Tổng cộng", "", str(total[ERROR]), str(total[WARNING]), str(total[INFO])])
    lines += _table(["Mã", "Đơn vị", "Trạng thái", SEVERITY_VI[ERROR], SEVERITY_VI[WARNING],
                     SEVERITY_VI[INFO]], rows)
    failed = [u for u in report.units if u.message]
    if failed:
        lines.append("")
        lines += [f"  {u.code}: {u.message}" for u in failed]
    order = {u.code: n for n, u in enumerate(report.units)}
    findings = sorted(report.sorted_findings(),
                      key=lambda f: (SEVERITY_ORDER[f.severity], order.get(f.unit, len(order))))
    if findings:
        lines.append("")
        lines.append("Chi tiết:")
        shown = findings if limit is None else findings[:limit]
        detail = [[f.unit, where(f), f.cell or "", f.period or "",
                   f"{SEVERITY_MARK[f.severity]} {f.rule}", _state(f) + f.message]
                  for f in shown]
        lines += _table(["Đơn vị", "Vị trí", "Chi bộ", "Kỳ", "Quy tắc", "Nội dung"], detail)
        if limit is not None and len(findings) > limit:
            lines.append(f"… và {len(findings) - limit} phát hiện khác "
                         "(dùng --format json/csv hoặc --limit 0 để xem hết).")
    return "\n".join(lines) + "\n"


def _state(f: Finding) -> str:
    if f.accepted:
        return "(đã chấp nhận giải trình) "
    if f.explained:
        return "(đã giải trình) "
    return ""


WRITE_VI = {"written": "đã ghi", "unchanged": "không đổi", "copy": "ghi bản sao",
            "skipped": "bỏ qua", "dry-run": "chạy thử", "not-read": "không ghi", "error": "lỗi"}


def run_summary(outcome, title: str) -> str:
    """What `run` prints: per unit, read status, findings and what was written; the roll-up."""
    report = outcome.report
    writes = {w.unit: w for w in outcome.writes}
    counts = counts_by_unit(report)
    rows = []
    for u in report.units:
        w = writes.get(u.code)
        c = counts[u.code]
        rows.append([u.code, u.name, STATUS_VI.get(u.status, u.status), str(c[ERROR]),
                     str(c[WARNING]), WRITE_VI.get(w.status, w.status) if w else ""])
    lines = [f"{title} — ngày kiểm tra {report.as_of:%d/%m/%Y}", ""]
    lines += _table(["Mã", "Đơn vị", "Đọc", SEVERITY_VI[ERROR], SEVERITY_VI[WARNING], "Ghi"], rows)
    notes = [f"  {u.code}: {u.message}" for u in report.units if u.message]
    for w in outcome.writes:
        if w.status in ("copy", "skipped", "error"):
            notes.append(f"  {w.unit}: {w.message}")
        if w.status == "dry-run":
            notes += [f"  {w.unit}: {line}" for line in w.plan_lines]
    if notes:
        lines += ["", *notes]
    if outcome.requests:
        r = outcome.requests
        lines += ["", f"Yêu cầu Google: {r.get('reads', 0)} đọc, {r.get('writes', 0)} ghi, "
                      f"{r.get('drive', 0)} Drive; thử lại {r.get('retries', 0)} lần, "
                      f"chờ {r.get('waited_s', 0)} giây."]
    if outcome.rollup:
        lines += ["", f"Bảng tổng hợp: {outcome.rollup}"]
    if outcome.published:
        lines.append(f"Drive: {outcome.published}")
    return "\n".join(lines) + "\n"

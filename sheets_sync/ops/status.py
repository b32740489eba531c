"""`sheets-sync status`: the last runs read back from their summaries and logs."""
from __future__ import annotations

import json
import os
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from ..outputs.check_formats import indented, paragraph
from ..sync.runlog import LOGS_DIR, RUNS_DIR, STEM, stem_counter

# --- status --------------------------------------------------------------------------------------

def _parse_time(s: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(s).replace(tzinfo=None)
    except (TypeError, ValueError):
        return None




def last_runs(state_dir: str | os.PathLike, n: int = 10,
              commands: Iterable[str] | None = None) -> list[dict]:
    """The newest ``n`` runs, newest first: their summaries, plus ``{"incomplete": True, …}``
    entries for logs without a summary (still running, or interrupted)."""
    state_dir = Path(state_dir)
    wanted = set(commands) if commands else None
    entries: list[tuple[tuple, dict]] = []
    summarized: set[str] = set()
    for path in (state_dir / RUNS_DIR).glob("*.json"):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(doc, dict):
            continue
        summarized.add(path.stem)
        doc.setdefault("stem", path.stem)
        entries.append(((doc.get("started") or "", path.stem), doc))
    for path in (state_dir / LOGS_DIR).glob("*.log"):
        if path.stem in summarized:
            continue
        m = STEM.match(path.stem)
        if not m:
            continue
        try:
            started = datetime.strptime(m[1], "%Y%m%d-%H%M%S").isoformat()
        except ValueError:
            continue
        doc = {"stem": path.stem, "command": m[2], "started": started, "incomplete": True,
               "log": f"{LOGS_DIR}/{path.name}"}
        reason = _last_error(path)
        if reason:
            doc["error"] = reason
        entries.append(((started, path.stem), doc))
    entries.sort(key=lambda e: (e[0][0], stem_counter(e[0][1])), reverse=True)
    out = [doc for _, doc in entries if wanted is None or doc.get("command") in wanted]
    return out[:n]


def _last_error(log: Path, tail: int = 8192) -> str | None:
    """The last "Lỗi: …" line of a log without a summary (a run killed after an error)."""
    try:
        with open(log, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - tail))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return None
    found = None
    for line in text.splitlines():
        at = line.find("Lỗi: ")
        if at >= 0 and ("ERROR" in line[:at] or '"level": "error"' in line):
            found = line[at + 5:].strip().strip('"')
    return found


def last_exit_code(runs: list[dict]) -> int:
    """`status`'s own exit code: that of the newest run that ended (0 when none did)."""
    for run in runs:
        code = run.get("exit_code")
        if not run.get("incomplete") and isinstance(code, int) and code in _EXIT_VI:
            return code
    return 0


_READ_OK = {"ok", "unchanged"}
_STATUS_VI = {"ok": "Đã đọc", "unchanged": "Không đổi", "stale": "Dùng số liệu cũ",
              "unreachable": "Không đọc được", "invalid": "Không hợp lệ"}
_EXIT_VI = {0: "xong", 1: "cần xử lý", 2: "lỗi cấu hình", 75: "thử lại sau"}
_REQUESTS_VI = {"sheets_read": "đọc Sheets", "sheets_write": "ghi Sheets", "drive": "Drive",
                "token": "cấp token", "reads": "đọc Sheets", "writes": "ghi Sheets"}


def _when(run: dict) -> str:
    at = _parse_time(run.get("started"))
    return f"{at:%d/%m/%Y %H:%M}" if at else "?"


def _duration(run: dict) -> str:
    a, b = _parse_time(run.get("started")), _parse_time(run.get("finished"))
    if not a or not b:
        return ""
    s = int((b - a).total_seconds())
    if s < 60:
        return f"{s} giây"
    if s < 3600:
        return f"{s // 60} phút {s % 60} giây"
    return f"{s // 3600} giờ {s % 3600 // 60} phút"


def _units_ok(run: dict) -> tuple[int, int]:
    units = run.get("units") or []
    return sum(1 for u in units if u.get("status") in _READ_OK), len(units)


def _problems(run: dict) -> list[str]:
    out = [f"Lỗi: {run['error']}"] if run.get("error") else []
    if run.get("history"):
        out.append(f"Kho lịch sử: {run['history']}")
    if run.get("rollup_problem"):
        out.append(f"Bảng tổng hợp chưa lập được: {run['rollup_problem']}")
    if run.get("report_problem"):
        out.append(f"Báo cáo năm chưa lập được: {run['report_problem']}")
    for u in run.get("units") or []:
        if u.get("status") not in _READ_OK:
            name = u.get("name") or u.get("code") or "?"
            status = _STATUS_VI.get(u.get("status"), u.get("status") or "")
            msg = u.get("message") or ""
            out.append(f"{name} ({u.get('code')}): {status}" + (f" — {msg}" if msg else ""))
    names = {u.get("code"): u.get("name") for u in run.get("units") or []}
    for w in run.get("writes") or []:
        if w.get("status") in ("skipped", "error"):
            code = w.get("unit")
            out.append(f"{names.get(code) or code} ({code}): chưa ghi được kết quả — "
                       f"{w.get('message') or ''}".rstrip(" —"))
    return out


def _result(run: dict) -> str:
    if run.get("incomplete"):
        return "chưa xong"
    code = run.get("exit_code")
    if code is not None:
        return f"{_EXIT_VI.get(code, 'mã thoát')} ({code})"
    ok, total = _units_ok(run)
    return "xong" if ok == total and not _problems(run) else "cần xử lý"


def _reason(run: dict) -> str:
    """Why a run did not end well (the stop reason, else the first problem), on one line."""
    if run.get("error"):
        text = str(run["error"])
    elif run.get("history"):
        text = str(run["history"])
    elif run.get("incomplete"):
        text = "đang chạy, hoặc đã bị ngắt giữa chừng (tắt máy, Ctrl+C)"
    else:
        problems = _problems(run)
        text = problems[0] if problems else ""
    return " ".join(text.split())


# A run's table row fits 80 columns: short headers, the day without its year (the newest run's
# line below the table gives it), the reason on a line of its own under the row.
_HEADER = ["Thời gian", "Lệnh", "Đọc", "Vi phạm", "Cảnh báo", "Thời lượng", "Kết quả"]
_REASON_INDENT = " " * 6
_REASON_MAX = 120  # characters of a reason in the table (the newest run's list has them all)


def render_status(runs: list[dict], width: int | None = None) -> str:
    """Vietnamese `status`: a table of the runs (newest first), each run that did not end well
    followed by its reason, then the newest finished run's failing units with their messages.
    ``width``: the terminal's columns, reasons wrapped to it (None: one line each)."""
    if not runs:
        return ("Chưa có lần chạy nào được ghi lại (thư mục state/runs trống). "
                "Chạy 'sheets-sync run' để bắt đầu.\n")
    rows = []
    for r in runs:
        ok, total = _units_ok(r)
        counts = r.get("counts") or {}
        at = _parse_time(r.get("started"))
        rows.append([f"{at:%d/%m %H:%M}" if at else "?", str(r.get("command") or ""),
                     f"{ok}/{total}" if total else "", str(counts.get("error", "")),
                     str(counts.get("warning", "")), _duration(r), _result(r)])
    widths = [max(len(x[i]) for x in [_HEADER, *rows]) for i in range(len(_HEADER))]
    lines = ["Các lần chạy gần nhất",
             "  ".join(h.ljust(w) for h, w in zip(_HEADER, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    for run, row in zip(runs, rows):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        reason = _reason(run)
        if reason:
            if len(reason) > _REASON_MAX:
                reason = reason[:_REASON_MAX - 1] + "…"
            lines += indented(f"Lý do: {reason}", width, _REASON_INDENT, _REASON_INDENT)
    latest = next((r for r in runs if not r.get("incomplete")), None)
    if latest is not None:
        ok, total = _units_ok(latest)
        problems = _problems(latest)
        head = f"Lần chạy {_when(latest)} ({latest.get('command')})"
        if total:
            head += f": {ok}/{total} đơn vị đọc được"
        if latest.get("as_of"):
            head += f", kiểm tra tính đến {_d_iso(latest['as_of'])}"
        lines += ["", *paragraph(head + ("." if not problems else ";"), width)]
        for p in problems:
            lines += indented(p, width, "  ", "  ")
        extra = _requests_line(latest)
        if extra:
            lines += paragraph(extra, width)
        if latest.get("rollup"):
            lines += paragraph(f"Bảng tổng hợp: {latest['rollup']}", width)
        if latest.get("log"):
            lines += paragraph(f"Nhật ký: {latest['log']}", width)
    return "\n".join(lines) + "\n"


def _d_iso(s: str) -> str:
    at = _parse_time(s)
    return f"{at:%d/%m/%Y}" if at else s


def _requests_line(run: dict) -> str:
    parts = []
    req = run.get("requests")
    if isinstance(req, dict) and req:
        parts.append("Yêu cầu Google: " + ", ".join(
            f"{_REQUESTS_VI.get(k, k)} {v}" for k, v in req.items()))
    if run.get("retries"):
        parts.append(f"thử lại {run['retries']} lần")
    if run.get("waited_s"):
        parts.append(f"chờ {float(run['waited_s']):.1f} giây".replace(".", ","))
    return ("; ".join(parts) + ".") if parts else ""

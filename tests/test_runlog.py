"""Run log files, run summaries, `status`, progress bars and credential redaction."""
from __future__ import annotations

import base64
import io
import json
import logging
import os
import random
import re
import select
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sheets_sync.ops.status import last_runs, render_status
from sheets_sync.sync.progress import Progress
from sheets_sync.sync.redact import MASK, Redactor, redact, secrets_from_credentials
from sheets_sync.sync.runlog import RunLog, prune_runs

NAME = re.compile(r"^\d{8}-\d{6}-[a-z0-9-]+\.log$")


def fake_private_key(seed: int = 1) -> str:
    body = base64.b64encode(random.Random(seed).randbytes(1200)).decode()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN PRIVATE KEY-----\n" + "\n".join(lines) + "\n-----END PRIVATE KEY-----\n"


KEY = fake_private_key()
KEY_BODY = "".join(KEY.splitlines()[1:-1])
KEY_ID = "3f1c0a9d2e7b4c5a8f6e1d2c3b4a59687f6e5d4c"
TOKEN = "ya29.c.b0AXv0zTPq1yQk9kz3sL4mF8nR2eW7uH5tJ6gB1vC0xZ"


@pytest.fixture
def key_file(tmp_path) -> Path:
    path = tmp_path / "service-account.json"
    path.write_text(json.dumps({
        "type": "service_account", "project_id": "so-lieu", "private_key_id": KEY_ID,
        "private_key": KEY, "client_email": "sheets-sync@so-lieu.iam.gserviceaccount.com",
        "token_uri": "https://oauth2.googleapis.com/token"}), encoding="utf-8")
    return path


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


# --- files ---------------------------------------------------------------------------------------

def test_one_utf8_log_file_per_run_with_unique_names(tmp_path):
    paths = []
    for _ in range(3):  # within the same second, mostly
        with RunLog(tmp_path, "run") as log:
            log.info("Đang đọc đơn vị Nhân Đạo", unit="ND")
        paths.append(log.path)
    assert len(set(paths)) == 3
    assert all(p.parent == tmp_path / "logs" and NAME.match(p.name) for p in paths)
    text = read(paths[0])
    assert "Đang đọc đơn vị Nhân Đạo unit=ND" in text
    assert "Bắt đầu: sheets-sync run" in text and text.rstrip().endswith("Kết thúc.")


def test_the_same_second_gets_a_counter(tmp_path):
    # Occupy the names of this second and the next ones: the run must get its own file and
    # leave the others untouched.
    now = datetime.now()
    (tmp_path / "logs").mkdir()
    taken = [tmp_path / "logs" / f"{now + timedelta(seconds=s):%Y%m%d-%H%M%S}-check.log"
             for s in range(3)]
    for p in taken:
        p.write_text("x", encoding="utf-8")
    with RunLog(tmp_path, "check") as log:
        log.info("riêng")
    assert log.path not in taken
    assert all(read(p) == "x" for p in taken)
    if log.path.with_name(log.path.name.replace("-check-2", "-check")) in taken:
        assert log.path.stem.endswith("-check-2")
    assert "riêng" in read(log.path)


def test_json_lines_and_verbose_echo(tmp_path):
    echo = io.StringIO()
    with RunLog(tmp_path, "check", verbose=True, json_lines=True, stream=echo) as log:
        log.warning("Hết hạn mức, chờ", seconds=12.5, unit="NT")
        logging.getLogger("sheets_sync.sources.google_sheets").info("yêu cầu %s", "values:batchGet")
    lines = [json.loads(x) for x in read(log.path).splitlines()]
    assert lines[1]["level"] == "warning" and lines[1]["msg"] == "Hết hạn mức, chờ"
    assert lines[1]["seconds"] == 12.5 and lines[1]["unit"] == "NT"
    assert lines[2]["logger"] == "sheets_sync.sources.google_sheets"
    assert lines[2]["msg"] == "yêu cầu values:batchGet"
    assert echo.getvalue().splitlines() == read(log.path).splitlines()


def test_quiet_by_default_and_logger_restored(tmp_path, capsys):
    package = logging.getLogger("sheets_sync")
    before = (package.level, package.propagate, list(package.handlers))
    with RunLog(tmp_path, "run") as log:
        log.info("không in ra màn hình")
    assert capsys.readouterr().err == ""
    assert (package.level, package.propagate, list(package.handlers)) == before
    with pytest.raises(RuntimeError):
        log.info("after the block")


def test_an_exception_ends_up_in_the_log_redacted(tmp_path, key_file):
    with pytest.raises(ValueError):
        with RunLog(tmp_path, "run", secrets=secrets_from_credentials(key_file)) as log:
            raise ValueError(f"token rejected: Bearer {TOKEN}; key id {KEY_ID}")
    text = read(log.path)
    assert "ERROR   Lỗi: token rejected" in text and "Traceback" in text
    assert TOKEN not in text and KEY_ID not in text


def test_summary_is_written_atomically_next_to_the_log(tmp_path):
    with RunLog(tmp_path, "run") as log:
        path = log.write_summary({"units": [{"code": "NT", "status": "ok"}], "exit_code": 0})
    assert path == tmp_path / "runs" / f"{log.path.stem}.json"
    doc = json.loads(read(path))
    assert doc["command"] == "run" and doc["exit_code"] == 0
    assert doc["log"] == f"logs/{log.path.name}"
    assert datetime.fromisoformat(doc["started"]) <= datetime.fromisoformat(doc["finished"])
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [path.name]  # no temp file left


# --- redaction -----------------------------------------------------------------------------------

def test_credentials_never_reach_the_log(tmp_path, key_file):
    secrets = secrets_from_credentials(key_file)
    assert KEY in secrets and KEY_ID in secrets
    with RunLog(tmp_path, "run", secrets=secrets, json_lines=True) as log:
        log.info("nội dung tệp khóa", content=read(key_file))
        log.info(f"một đoạn khóa: …{KEY_BODY[100:140]}…")
        log.info(f"khóa qua nhiều dòng: {KEY.splitlines()[3]}\n{KEY.splitlines()[4]}")
        log.add_secret(TOKEN)
        log.warning("gửi yêu cầu", headers={"Authorization": f"Bearer {TOKEN}"})
        log.error(f"token {TOKEN} bị từ chối",
                  assertion="eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln")
        logging.getLogger("sheets_sync.auth").error("private_key_id=%s", KEY_ID)
        log.write_summary({"units": [{"code": "NT", "status": "unreachable",
                                      "message": f"401 with token {TOKEN}"}]})
    texts = [read(log.path), read(log.summary_path)]
    for text in texts:
        assert TOKEN not in text and KEY_ID not in text
        for i in range(0, len(KEY_BODY) - 32, 7):
            assert KEY_BODY[i:i + 32] not in text
        assert "eyJpc3MiOiJ4In0" not in text
    assert MASK in texts[0] and MASK in texts[1]
    assert "client_email" in texts[0]  # not a secret: the operator needs it


def test_generic_patterns_without_known_secrets():
    text = redact(
        "Authorization: Bearer abc.DEF-123_x= then "
        + json.dumps({"private_key": KEY, "private_key_id": KEY_ID, "refresh_token": "1//0gAb"})
        + f" access_token={TOKEN}&x=1")
    assert "abc.DEF-123_x=" not in text and "BEGIN PRIVATE KEY" not in text
    assert KEY_BODY[:32] not in text and KEY_ID not in text and TOKEN not in text
    assert "1//0gAb" not in text
    assert "&x=1" in text


def test_redaction_leaves_ordinary_text_alone():
    r = Redactor([KEY, KEY_ID, "ngắn"])
    text = "Đơn vị Nhân Đạo: chưa chia sẻ bảng tính với sheets-sync@so-lieu.iam.gserviceaccount.com"
    assert r(text) == text
    assert r(r(f"Bearer {TOKEN}")) == f"Bearer {MASK}"  # idempotent


@settings(max_examples=200, deadline=None)
@given(start=st.integers(0, len(KEY_BODY) - 32), length=st.integers(32, 120),
       before=st.text(max_size=20), after=st.text(max_size=20))
def test_any_32_character_slice_of_the_key_is_masked(start, length, before, after):
    piece = KEY_BODY[start:start + length]
    out = Redactor([KEY])(before + piece + after)
    assert piece[:32] not in out and piece[-32:] not in out


# --- status --------------------------------------------------------------------------------------

def summary(ok: int, total: int, started: datetime, **extra) -> dict:
    units = [{"code": f"U{i:02d}", "name": f"Đảng ủy xã {i}", "status": "ok", "message": None}
             for i in range(ok)]
    units += [{"code": "ND", "name": "Nhân Đạo", "status": "unreachable",
               "message": "Chưa chia sẻ bảng tính với sheets-sync@so-lieu.iam.gserviceaccount.com."}
              ][: total - ok]
    return {"command": "run", "started": started.isoformat(timespec="seconds"),
            "finished": (started + timedelta(minutes=3, seconds=5)).isoformat(timespec="seconds"),
            "as_of": started.date().isoformat(), "units": units,
            "counts": {"error": 120, "warning": 45, "info": 3}, **extra}


def write_run(state: Path, doc: dict, stem: str) -> None:
    (state / "runs").mkdir(parents=True, exist_ok=True)
    (state / "runs" / f"{stem}.json").write_text(json.dumps(doc, ensure_ascii=False),
                                                 encoding="utf-8")


def test_status_shows_the_last_runs_and_the_failing_units(tmp_path):
    night = datetime(2026, 11, 25, 2, 0)
    write_run(tmp_path, summary(25, 25, night - timedelta(hours=12), exit_code=0),
              "20261124-140000-run")
    write_run(tmp_path, summary(23, 24, night, exit_code=1,
                                writes=[{"unit": "U03", "status": "skipped",
                                         "message": "Dòng đã thay đổi trong lúc kiểm tra."}],
                                requests={"sheets_read": 40, "sheets_write": 12, "drive": 25},
                                retries=2, waited_s=4.5),
              "20261125-020000-run")
    (tmp_path / "runs" / "20261125-030000-run.json").write_text("{bị hỏng", encoding="utf-8")
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "20261125-040000-check.log").write_text("", encoding="utf-8")

    runs = last_runs(tmp_path, 10)
    assert [r.get("started") for r in runs] == [
        "2026-11-25T04:00:00", "2026-11-25T02:00:00", "2026-11-24T14:00:00"]
    assert runs[0]["incomplete"] is True
    assert last_runs(tmp_path, 1, commands=["run"])[0]["started"] == "2026-11-25T02:00:00"

    text = render_status(runs)
    assert "25/11 02:00  run" in text and "23/24" in text and "25/25" in text
    assert "cần xử lý (1)" in text and "chưa xong" in text
    lines = text.splitlines()
    incomplete = next(k for k, x in enumerate(lines) if x.startswith("25/11 04:00"))
    assert lines[incomplete + 1].strip() == (
        "Lý do: đang chạy, hoặc đã bị ngắt giữa chừng (tắt máy, Ctrl+C)")
    failed = next(k for k, x in enumerate(lines) if x.startswith("25/11 02:00"))
    assert lines[failed + 1].strip().startswith("Lý do: Nhân Đạo (ND): Không đọc được")
    assert not lines[failed + 3].strip().startswith("Lý do")  # the run that ended well: none
    assert "Lần chạy 25/11/2026 02:00 (run): 23/24 đơn vị đọc được" in text
    assert "Nhân Đạo (ND): Không đọc được — Chưa chia sẻ bảng tính" in text
    assert "Đảng ủy xã 3 (U03): chưa ghi được kết quả — Dòng đã thay đổi" in text
    assert "đọc Sheets 40, ghi Sheets 12, Drive 25; thử lại 2 lần; chờ 4,5 giây" in text
    assert "3 phút 5 giây" in text
    assert "Chưa có lần chạy nào" in render_status([])


def test_status_fits_an_80_column_terminal(tmp_path):
    """The longest values a run can show (a 15-character duration, exit 75, the `rollup`
    command, a long reason naming a path) stay within 80 columns; redirected (no width), each
    reason is one line."""
    night = datetime(2026, 11, 25, 2, 0)
    path = "/srv/sheets-sync/out/tong-hop-dang-bo-huyen-ly-nhan-" + "rat-dai-" * 6 + "2026-11.xlsx"
    problem = (f"Không ghi được bảng tổng hợp {path} (tệp đang mở trong chương trình khác). "
               "Nếu tệp đang mở (ví dụ trong Excel), hãy đóng tệp rồi chạy lại.")
    runs = [summary(23, 24, night, exit_code=75, command="rollup", rollup_problem=problem,
                    finished=(night + timedelta(minutes=12, seconds=30)).isoformat()),
            summary(24, 24, night - timedelta(days=1), exit_code=2)]
    text = render_status(runs, 80)
    assert max(len(x) for x in text.splitlines() if path not in x) <= 80
    assert any(x.strip() == path for x in text.splitlines())  # on a line of its own, whole
    assert "thử lại sau (75)" in text and "lỗi cấu hình (2)" in text and "12 phút 30 giây" in text
    redirected = render_status(runs).splitlines()
    assert sum(x.lstrip().startswith("Lý do:") for x in redirected) == 1
    assert next(x for x in redirected if "Lý do:" in x).endswith("…")  # cut in the table


def test_prune_runs_keeps_the_newest(tmp_path):
    now = datetime(2026, 11, 25, 2, 0)
    for days in range(0, 100, 10):
        stem = f"{now - timedelta(days=days):%Y%m%d-%H%M%S}-run"
        write_run(tmp_path, {"command": "run"}, stem)
        (tmp_path / "logs").mkdir(exist_ok=True)
        (tmp_path / "logs" / f"{stem}.log").write_text("")
    assert prune_runs(tmp_path, retention_days=45, keep=3, now=now) == 10  # 5 runs × 2 files
    assert len(list((tmp_path / "runs").iterdir())) == 5
    assert prune_runs(tmp_path, retention_days=0, keep=2, now=now) == 6
    assert len(last_runs(tmp_path, 10)) == 2


# --- progress ------------------------------------------------------------------------------------

def test_progress_is_silent_when_not_a_terminal(tmp_path):
    out = io.StringIO()
    with RunLog(tmp_path, "run") as log:
        with Progress(3, "Đang đọc", log=log, file=out) as progress:
            for unit in ("NT", "ND", "NM"):
                progress(f"Đang đọc {unit}")
    assert out.getvalue() == ""
    assert "Đang đọc ND" in read(log.path)  # the lines still go to the log


def _drawn_on_a_pty(draw) -> str:
    """What ``draw(tty)`` writes to a pseudo-terminal, as the terminal receives it."""
    import pty

    master, slave = pty.openpty()
    tty = os.fdopen(slave, "w", encoding="utf-8")
    try:
        draw(tty)
        tty.flush()
        chunks = []
        while select.select([master], [], [], 0.5)[0]:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks).decode("utf-8", "replace")
    finally:
        tty.close()
        os.close(master)


@pytest.mark.skipif(sys.platform == "win32", reason="pty")
def test_progress_bar_on_a_terminal(tmp_path):
    def draw(tty):
        with Progress(2, "Đang đọc", file=tty) as progress:
            assert progress.enabled
            progress("NT")
            progress("ND")

    shown = _drawn_on_a_pty(draw)
    assert "Đang đọc" in shown and "100%" in shown
    # --verbose prints the lines themselves: no bar on top of them.
    assert not Progress(2, log=RunLog(tmp_path, "run", verbose=True), file=sys.stdin).enabled


@pytest.mark.skipif(sys.platform == "win32", reason="pty")
@pytest.mark.parametrize("columns", [80, 60, 120])
def test_progress_bar_fits_one_line_of_the_terminal(tmp_path, monkeypatch, columns):
    """A redraw longer than the terminal wraps, and the next one (after a carriage return)
    starts on a new line: every line drawn fits in the terminal's width."""
    monkeypatch.setenv("COLUMNS", str(columns))

    def draw(tty):
        with Progress(4, "Đang chạy", file=tty) as progress:
            for unit in ("NT — Đảng ủy xã Nhân Thịnh", "VT — Đảng ủy thị trấn Vĩnh Trụ",
                         "NT: không có gì thay đổi, không ghi.", "x" * 200):
                progress(f"[1/3] Đã đọc {unit}")

    shown = _drawn_on_a_pty(draw)
    lines = [re.sub(r"\x1b\[[?0-9;]*[a-zA-Z]", "", part)
             for part in re.split(r"[\r\n]", shown)]
    assert any("100%" in line for line in lines)
    assert max(map(len, lines)) < columns, max(lines, key=len)

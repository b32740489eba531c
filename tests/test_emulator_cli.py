"""``python -m sheets_sync_emulator`` as a separate process, used through gspread."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import select
import stat
import subprocess
import sys
from pathlib import Path

import gspread
import openpyxl
from gspread.utils import ValueRenderOption

from emulator_helpers import redirect

REPO = Path(__file__).resolve().parents[1]


def test_cli_serves_seeded_xlsx(tmp_path):
    book = openpyxl.Workbook()
    book.active.title = "Chi bộ"
    book.active.append(["Mã", "Ngày", "Đảng viên"])
    book.active.append(["CB01", dt.date(2025, 1, 3), 21])
    xlsx, key = tmp_path / "unit.xlsx", tmp_path / "key.json"
    book.save(xlsx)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-m", "sheets_sync_emulator", "--port", "0", "--key-file", str(key),
         "--seed", f"UNIT01={xlsx}", "--latency-ms", "1", "--read-quota", "50",
         "--write-quota", "50", "--quota-window-s", "2", "--share-with", "boss@example.com"],
        stdout=subprocess.PIPE, text=True, cwd=tmp_path, env=env)
    try:
        ready, _, _ = select.select([process.stdout], [], [], 20)
        assert ready, "the emulator printed nothing"
        base_url = process.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", base_url)
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        info = json.loads(key.read_text())
        assert info["token_uri"] == base_url + "/token"

        gc = gspread.service_account(filename=str(key))
        redirect(gc.http_client.session, base_url)
        gc.set_timeout((5, 10))
        ws = gc.open_by_key("UNIT01").worksheet("Chi bộ")
        assert ws.get_all_values(value_render_option=ValueRenderOption.unformatted) == [
            ["Mã", "Ngày", "Đảng viên"], ["CB01", 45660, 21]]
        permissions = gc.list_permissions("UNIT01")
        assert {p.get("emailAddress") for p in permissions} >= {info["client_email"],
                                                                "boss@example.com"}
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0

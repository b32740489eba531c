"""Credentials never appear in any output of a faulty run: console, run log, summary, roll-up."""
from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

from google_support import AS_OF

EXE = str(Path(sys.executable).parent / "sheets-sync")


def key_slices(private_key: str, width: int = 32) -> set[str]:
    body = "".join(line for line in private_key.splitlines() if "-----" not in line)
    return {body[i:i + width] for i in range(len(body) - width + 1)}


def texts_of(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` as text (.xlsx: every part of the zip)."""
    out = {}
    for p in folder.rglob("*"):
        if not p.is_file():
            continue
        if p.suffix == ".xlsx":
            with zipfile.ZipFile(p) as z:
                out[str(p)] = "".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
        else:
            out[str(p)] = p.read_bytes().decode("utf-8", "replace")
    return out


def test_faulty_run_leaks_no_token_key_slice_or_key_id(district):
    emu, info = district.emu, district.info
    codes = list(district.ids)
    emu.revoke(district.ids[codes[0]], info["client_email"])  # 403 on one unit
    emu.add_fault(kind="read", status=503, times=4)  # a 5xx burst on Sheets reads, retried
    emu.add_fault(spreadsheet_id=district.ids[codes[1]], status=400, times=1)  # a hard failure
    folder = district.config.path.parent
    result = subprocess.run(
        [EXE, "--verbose", "run", "--config", str(district.config.path), "--as-of",
         AS_OF.isoformat(), "--json-log"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"chia sẻ bảng tính với {info['client_email']}" in result.stdout  # actionable

    outputs = {"stdout": result.stdout, "stderr": result.stderr,
               **texts_of(folder / "state" / "logs"), **texts_of(folder / "state" / "runs"),
               **texts_of(folder / "out")}
    assert any("logs" in k for k in outputs) and any("runs" in k for k in outputs)
    tokens = set(emu._accounts._tokens)  # every access token the emulator issued
    assert tokens
    slices = key_slices(info["private_key"])
    for where, text in outputs.items():
        assert info["private_key_id"] not in text, where
        for token in tokens:
            assert token not in text, where
        flat = re.sub(r"\s", "", text)
        assert not any(flat[i:i + 32] in slices for i in range(len(flat) - 31)), where

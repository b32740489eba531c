"""The Google emulator in its own process, seeded with synthetic units.

The benchmarks measure a client; running the emulator in the same interpreter would make the
two share one GIL (and, on a 2-core machine, distort every timing). ``EmulatorProcess`` starts
``python -m benchmarks.emu_proc SPEC`` and talks to it over HTTP (the emulator's control API:
statistics, edits); the child exits when its stdin closes.

SPEC (JSON): latency_ms, jitter_ms, read_quota, write_quota, window_s, seed, size, year,
accounts: [{email, key_file, prefix, units}] — every account gets its own ``units``
spreadsheets ``spreadsheet_id(k, prefix)``, shared with it only (separate quotas).
"""
from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

from .synthetic import SIZES, spreadsheet_id, unit_sheets


def _serve(spec: dict) -> int:
    from sheets_sync.core.template import load_template
    from sheets_sync_emulator import Emulator

    emu = Emulator(latency_ms=spec["latency_ms"], jitter_ms=spec["jitter_ms"],
                   read_quota=spec["read_quota"], write_quota=spec["write_quota"],
                   quota_window_s=spec["window_s"], seed=spec.get("seed", 1))
    template = load_template()
    size = SIZES[spec["size"]]
    with emu:
        for account in spec["accounts"]:
            info = emu.make_service_account(account["key_file"], email=account["email"])
            for k in range(account["units"]):
                emu.seed_values(spreadsheet_id(k, account["prefix"]),
                                unit_sheets(k, size, spec["year"], spec.get("data_seed", 1),
                                            template=template),
                                shared_with=[info["client_email"]], title=f"Đảng ủy xã {k}",
                                locale="vi_VN", time_zone="Asia/Ho_Chi_Minh")
        # The seeded spreadsheets live until the process ends and hold no garbage: the cyclic
        # collector need not walk their million cells again at every full collection (as
        # Google's servers do not spend the operator's CPU, the stand-in should spend little).
        gc.freeze()
        gc.set_threshold(100_000, *gc.get_threshold()[1:])
        print(emu.base_url, flush=True)
        sys.stdin.read()  # until the parent closes stdin
    return 0


class EmulatorProcess:
    """``with EmulatorProcess(spec, folder) as emu:`` — ``emu.base_url``, ``emu.info(i)``,
    ``emu.stats()``, ``emu.edit(...)``."""

    def __init__(self, spec: dict):
        self.spec = spec
        self.proc: subprocess.Popen | None = None
        self.base_url = ""

    def __enter__(self) -> EmulatorProcess:
        root = Path(__file__).resolve().parent.parent
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.emu_proc", json.dumps(self.spec)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=root, text=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("http"):
            self.close()
            raise RuntimeError("the emulator process did not start")
        self.base_url = line
        return self

    def close(self) -> None:
        if self.proc is not None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def __exit__(self, *exc) -> None:
        self.close()

    def cpu_s(self) -> float | None:
        """CPU seconds (user + system) the emulator process has used so far, read from
        ``/proc`` (None where there is no ``/proc``): the servers' share of a run."""
        if self.proc is None:
            return None
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def info(self, index: int = 0) -> dict:
        return json.loads(Path(self.spec["accounts"][index]["key_file"]).read_text("utf-8"))

    def _control(self, method: str, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + "/__emulator/" + path, data=data,
                                         method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read().decode() or "{}")

    def stats(self) -> dict:
        return self._control("GET", "stats")

    def edit(self, spreadsheet: str, sheet: str, op: dict) -> None:
        self._control("POST", "edit", {"spreadsheet_id": spreadsheet, "sheet": sheet, **op})


def account(folder: Path, index: int, units: int) -> dict:
    """One service account of a SPEC (its own e-mail, key file and spreadsheet prefix)."""
    return {"email": f"bench-{index}@sheets-sync-bench.iam.gserviceaccount.com",
            "key_file": str(folder / f"key-{index}.json"), "prefix": f"b{index}u", "units": units}


if __name__ == "__main__":
    raise SystemExit(_serve(json.loads(sys.argv[1])))

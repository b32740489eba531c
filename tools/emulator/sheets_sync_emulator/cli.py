"""Command line: start the emulator, write a key file, seed .xlsx files, serve until a signal.

    python -m sheets_sync_emulator --port 0 --key-file KEY.json \
        [--seed SPREADSHEET_ID=FILE.xlsx ...] [--latency-ms N] \
        [--read-quota N --write-quota N] [--quota-window-s S] [--share-with EMAIL ...]

The first line of stdout is the base URL (``http://127.0.0.1:PORT``).
"""

from __future__ import annotations

import argparse
import signal
import threading

from .emulator import Emulator


def _seed(text: str) -> tuple[str, str]:
    spreadsheet_id, sep, path = text.partition("=")
    if not sep or not spreadsheet_id or not path:
        raise argparse.ArgumentTypeError(f"expected SPREADSHEET_ID=FILE.xlsx, got {text!r}")
    return spreadsheet_id, path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sheets-sync emulator",
        description="Local Google Sheets v4 / Drive v3 / OAuth2 token emulator.")
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0 = any)")
    parser.add_argument("--key-file", required=True,
                        help="write a service-account key (token_uri = this emulator) here")
    parser.add_argument("--seed", type=_seed, action="append", default=[],
                        metavar="SPREADSHEET_ID=FILE.xlsx", help="load an .xlsx as a spreadsheet")
    parser.add_argument("--latency-ms", type=float, default=0, help="added to every API request")
    parser.add_argument("--read-quota", type=int, help="Sheets read requests per window")
    parser.add_argument("--write-quota", type=int, help="Sheets write requests per window")
    parser.add_argument("--quota-window-s", type=float, default=60.0, help="quota window length")
    parser.add_argument("--share-with", action="append", default=[], metavar="EMAIL",
                        help="also share the seeded spreadsheets with this e-mail")
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    emulator = Emulator(latency_ms=args.latency_ms, read_quota=args.read_quota,
                        write_quota=args.write_quota, quota_window_s=args.quota_window_s)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with emulator.start(args.port):
        key = emulator.make_service_account(args.key_file)
        for spreadsheet_id, path in args.seed:
            emulator.seed_xlsx(spreadsheet_id, path,
                               shared_with=[key["client_email"], *args.share_with])
        print(emulator.base_url, flush=True)
        while not stop.wait(0.5):
            pass
    return 0

"""Helpers for the emulator tests (their fixtures live in conftest.py).

``RedirectAdapter`` is the recipe of sheets_sync/emulator/README.md: mounted on
``gc.http_client.session`` it sends Google's hosts to the local emulator, so the real
gspread and google-auth code runs unchanged.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path

import gspread
import requests

from sheets_sync_emulator import Emulator

# Google's recorded exchanges (gspread's cassettes, MIT) live in the repository: see
# tests/data/google-api-recordings/PROVENANCE.md. A clone placed anywhere runs every test.
TEST_DATA = Path(__file__).resolve().parent / "data"
RECORDINGS = TEST_DATA / "google-api-recordings"
GOOGLE_PREFIXES = ("https://sheets.googleapis.com/", "https://www.googleapis.com/")


class RedirectAdapter(requests.adapters.HTTPAdapter):
    """Send ``https://<google host>/<path>?<query>`` to ``http://127.0.0.1:PORT/<path>?<query>``."""

    def __init__(self, base_url: str, **kwargs):
        super().__init__(**kwargs)
        self.netloc = urllib.parse.urlsplit(base_url).netloc

    def send(self, request, **kwargs):
        url = urllib.parse.urlsplit(request.url)
        request.url = urllib.parse.urlunsplit(("http", self.netloc, url.path, url.query, ""))
        return super().send(request, **kwargs)


def redirect(session: requests.Session, base_url: str) -> None:
    adapter = RedirectAdapter(base_url)
    for prefix in GOOGLE_PREFIXES:
        session.mount(prefix, adapter)


def make_client(emu: Emulator, info: dict, timeout=(5, 30)) -> gspread.Client:
    gc = gspread.service_account_from_dict(info)
    redirect(gc.http_client.session, emu.base_url)
    gc.set_timeout(timeout)
    return gc

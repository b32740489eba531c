"""Fixtures shared by the test modules (pytest finds them here; never import them).

Plain helpers live in ``helpers.py``, ``emulator_helpers.py`` (gspread clients redirected to the
emulator) and ``google_support.py`` (the demo district seeded into the emulator).

The default run is deterministic: hypothesis is derandomised with no example database, so two
runs give the same tests and results; ``HYPOTHESIS_PROFILE=soak`` (scripts/soak) draws fresh
examples.
"""
from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gspread
import pytest
from hypothesis import settings

sys.path.insert(0, str(Path(__file__).resolve().parent))

from emulator_helpers import make_client
from google_support import AS_OF, YEAR, District, ensure_rollup, seed_district
from sheets_sync.core.config import Config, load_config
from sheets_sync_demo import generate_demo
from sheets_sync_emulator import Emulator

settings.register_profile("deterministic", derandomize=True, database=None, print_blob=True)
settings.register_profile("soak", derandomize=False, database=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))

# --- the emulator alone (tests of the emulator, provisioning, publishing, doctor) ----------------


@pytest.fixture(scope="module")
def emulator_server() -> Iterator[Emulator]:
    with Emulator(seed=1234) as emu:
        yield emu


@pytest.fixture(scope="module")
def service_account(emulator_server: Emulator) -> dict[str, Any]:
    return emulator_server.make_service_account()


@pytest.fixture
def emu(emulator_server: Emulator) -> Iterator[Emulator]:
    emulator_server.reset()
    yield emulator_server
    emulator_server.reset()


@pytest.fixture
def gc(emu: Emulator, service_account: dict[str, Any]) -> gspread.Client:
    return make_client(emu, service_account)


# --- the demo district on the emulator (the Google path end to end) ------------------------------


@pytest.fixture(scope="session")
def demo_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_demo(tmp_path_factory.mktemp("demo-google"), YEAR, AS_OF, 2026)


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    ensure_rollup()
    with Emulator(seed=2026) as emu:
        yield emu


@pytest.fixture
def district(emulator: Emulator, demo_config: Path, tmp_path: Path) -> Iterator[District]:
    yield seed_district(emulator, demo_config, tmp_path)
    emulator.reset()


@pytest.fixture
def local_copy(demo_config: Path, tmp_path: Path) -> Config:
    """A private copy of the demo district (local .xlsx) for runs that write."""
    folder = tmp_path / "local"
    shutil.copytree(demo_config.parent, folder)
    return load_config(folder / demo_config.name)

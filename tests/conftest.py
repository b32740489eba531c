"""Shared test setup: the tests folder on sys.path (conftest_emulator, helpers) and a
deterministic default: hypothesis derandomised with no example database, so two runs give the
same tests and results. ``HYPOTHESIS_PROFILE=soak`` (scripts/soak) draws fresh examples."""
import os
import sys
from pathlib import Path

from hypothesis import settings

sys.path.insert(0, str(Path(__file__).resolve().parent))

settings.register_profile("deterministic", derandomize=True, database=None, print_blob=True)
settings.register_profile("soak", derandomize=False, database=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))

"""Local units never load the Google libraries: every CLI process imports ``sheets_sync.cli``,
and gspread with google-auth cost ≈ 0.2 s of a big unit's 5-second `check`."""
from __future__ import annotations

import subprocess
import sys


def test_the_cli_module_loads_no_google_library():
    probe = ("import sys, sheets_sync.cli; "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('gspread', 'google')))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"

"""Local units never load the Google libraries: every CLI process imports ``sheets_sync.cli``,
and gspread with google-auth cost ≈ 0.2 s of a big unit's 5-second `check`."""
from __future__ import annotations

import subprocess
import sys

from google_support import AS_OF


def test_the_cli_module_loads_no_google_library():
    probe = ("import sys, sheets_sync.cli; "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('gspread', 'google')))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_a_local_run_loads_no_google_library(local_copy):
    """`run` of a district kept in local files (the demo's, as the operator's nightly job
    runs it) never imports gspread or google-auth: nothing of theirs is needed."""
    probe = (
        "import sys\n"
        "from sheets_sync.cli import main\n"
        f"code = main(['run', '--config', {str(local_copy.path)!r}, '--as-of',"
        f" {AS_OF.isoformat()!r}])\n"
        "print(code, sorted({m.split('.')[0] for m in sys.modules\n"
        "                    if m.split('.')[0] in ('gspread', 'google')}))\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout.strip().splitlines()[-1]
    assert out.split(" ", 1)[1] == "[]", out

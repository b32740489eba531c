"""``python -m sheets_sync_emulator``: see :func:`sheets_sync_emulator.cli.main`."""

import sys

from .cli import main

sys.exit(main(sys.argv[1:]))

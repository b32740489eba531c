"""``python -m sheets_sync.emulator``: see :func:`sheets_sync.emulator.cli.main`."""

import sys

from .cli import main

sys.exit(main(sys.argv[1:]))

"""``python -m sheets_sync_demo``: see :func:`sheets_sync_demo.cli.main`."""
import sys

from .cli import main

sys.exit(main())

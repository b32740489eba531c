"""``python -m sheets_sync_demo``: see :func:`sheets_sync_demo.generator.main`."""
import sys

from .generator import main

sys.exit(main())

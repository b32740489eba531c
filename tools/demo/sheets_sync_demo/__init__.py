"""The demo district generator (a development tool, not part of the product install).

``python -m sheets_sync_demo`` (or ``python -m sheets_sync.demo``) writes six commune workbooks and
a config: ``district`` (who and what), ``builder`` (the year's records, with planted problems),
``workbooks`` (each commune's typing habits), ``config_file``, ``generator`` (the entry point).
"""
from .cli import main
from .district import PLANTED
from .generator import default_period, generate_demo

__all__ = ["PLANTED", "default_period", "generate_demo", "main"]

"""The demo district generator (a development tool, not part of the product install).

``python -m sheets_sync_demo`` (or ``python -m sheets_sync.demo``) writes six commune workbooks and
a config; see :mod:`sheets_sync_demo.generator`.
"""
from .generator import PLANTED, default_period, generate_demo, main

__all__ = ["PLANTED", "default_period", "generate_demo", "main"]

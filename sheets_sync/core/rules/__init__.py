"""The directive's rules: a catalog (``catalog.py``) and one check module per family."""

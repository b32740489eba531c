"""sheets-sync: check Party cell meeting records against the district directive."""

__version__ = "0.1.0"

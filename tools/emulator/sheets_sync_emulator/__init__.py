"""Local emulator of the Google Sheets v4, Drive v3 and OAuth2 token endpoints.

Used by tests, benchmarks and offline demos; see README.md in this directory.
"""

from .emulator import DEFAULT_SERVICE_ACCOUNT, Emulator

__all__ = ["DEFAULT_SERVICE_ACCOUNT", "Emulator"]

"""Date serials, locale separators and number/date formatting (FORMATTED_VALUE).

Serial numbers count days since 1899-12-30 (Sheets' epoch); the fraction is the time.
Only the pattern features Sheets writes for typed input are supported: date/time parts
(``yyyy mm dd hh mm ss``), fixed decimals, grouping and percent.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, time, timedelta

EPOCH = datetime(1899, 12, 30)

# Locales whose decimal separator is a comma (and grouping a dot).
_DECIMAL_COMMA = {"vi_VN", "de_DE", "fr_FR", "es_ES", "it_IT", "pt_BR", "pt_PT", "ru_RU",
                  "id_ID", "nl_NL", "tr_TR", "pl_PL", "uk_UA"}
# Locales that write dates month first.
_MONTH_FIRST = {"en_US", "en_PH", "fil_PH"}

DATE_TYPES = ("DATE", "TIME", "DATE_TIME")

_TOKEN = re.compile(r'yyyy|yy|mmmm|mmm|mm|m|dddd|ddd|dd|d|hh|h|ss|s|"[^"]*"|\\.|.', re.I)
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def separators(locale: str) -> tuple[str, str]:
    """(decimal, grouping) separators of a spreadsheet locale."""
    return (",", ".") if locale in _DECIMAL_COMMA else (".", ",")


def month_first(locale: str) -> bool:
    return locale in _MONTH_FIRST


def to_serial(value: date | datetime | time) -> int | float:
    """A date becomes an int serial, a datetime/time a float (time = fraction of a day)."""
    if isinstance(value, datetime):
        delta = value.replace(tzinfo=None) - EPOCH
        return delta.days + delta.seconds / 86400 + delta.microseconds / 86_400_000_000
    if isinstance(value, date):
        return (value - EPOCH.date()).days
    return (value.hour * 3600 + value.minute * 60 + value.second) / 86400


def from_serial(serial: float) -> datetime:
    return EPOCH + timedelta(days=serial)


def _date_part(token: str, when: datetime, minutes: bool) -> str:
    t = token.lower()
    if t == "yyyy":
        return f"{when.year:04d}"
    if t == "yy":
        return f"{when.year % 100:02d}"
    if t in ("mm", "m") and minutes:
        return f"{when.minute:02d}" if t == "mm" else str(when.minute)
    if t == "mmmm":
        return _MONTHS[when.month - 1]
    if t == "mmm":
        return _MONTHS[when.month - 1][:3]
    if t == "mm":
        return f"{when.month:02d}"
    if t == "m":
        return str(when.month)
    if t == "dddd":
        return _DAYS[when.weekday()]
    if t == "ddd":
        return _DAYS[when.weekday()][:3]
    if t == "dd":
        return f"{when.day:02d}"
    if t == "d":
        return str(when.day)
    if t in ("hh", "h"):
        return f"{when.hour:02d}" if t == "hh" else str(when.hour)
    if t in ("ss", "s"):
        return f"{when.second:02d}" if t == "ss" else str(when.second)
    if token.startswith('"'):
        return token[1:-1]
    if token.startswith("\\"):
        return token[1:]
    return token


def format_date(serial: float, pattern: str) -> str:
    """Format a serial with a Sheets date pattern; ``m`` after ``h`` or before ``s`` is minutes."""
    # Round to the second like Sheets does when it prints times.
    when = from_serial(round(serial * 86400) / 86400)
    tokens = _TOKEN.findall(pattern)
    kinds = [t.lower()[0] if t[0].isalpha() else "" for t in tokens]
    out = []
    for i, token in enumerate(tokens):
        minutes = False
        if kinds[i] == "m":
            before = next((k for k in reversed(kinds[:i]) if k), "")
            after = next((k for k in kinds[i + 1:] if k), "")
            minutes = before == "h" or after == "s"
        out.append(_date_part(token, when, minutes))
    return "".join(out)


def _localise(text: str, locale: str) -> str:
    decimal, group = separators(locale)
    if decimal == ".":
        return text
    return text.translate(str.maketrans({".": decimal, ",": group}))


def format_general(number: float, locale: str) -> str:
    """The automatic format: integers plainly, up to 10 decimals, E notation when huge/tiny."""
    if isinstance(number, int) or (math.isfinite(number) and number.is_integer()
                                   and abs(number) < 1e15):
        return _localise(str(int(number)), locale)
    if abs(number) >= 1e15 or (number != 0 and abs(number) < 1e-9):
        mantissa, exponent = f"{number:.2E}".split("E")
        return _localise(f"{mantissa}E{exponent[0]}{int(exponent[1:]):02d}", locale)
    text = f"{number:.10f}".rstrip("0").rstrip(".")
    return _localise(text, locale)


def format_number(number: float, number_format: dict | None, locale: str) -> str:
    """FORMATTED_VALUE of a number under a cell's ``numberFormat``."""
    kind = (number_format or {}).get("type")
    pattern = (number_format or {}).get("pattern", "")
    if kind in DATE_TYPES and pattern:
        return format_date(number, pattern)
    if kind in ("NUMBER", "PERCENT", "CURRENCY", "SCIENTIFIC") and pattern:
        percent = "%" in pattern
        value = number * 100 if percent else number
        integer_part, _, fraction = pattern.replace("%", "").partition(".")
        decimals = sum(1 for ch in fraction if ch in "0#")
        grouping = "," in integer_part
        text = f"{value:,.{decimals}f}" if grouping else f"{value:.{decimals}f}"
        return _localise(text, locale) + ("%" if percent else "")
    return format_general(number, locale)

"""Vietnamese-aware value parsing (template.md "Value types").

``parse(kind, raw, choices)`` -> ``(value, None)`` on success, ``(None, None)`` for an empty cell,
``(None, reason)`` when the value cannot be read (reason: a short Vietnamese phrase). It never
raises. Raw values come from openpyxl (str, int, float, bool, datetime, date, time) or from
Google Sheets with UNFORMATTED_VALUE + SERIAL_NUMBER (dates as serial numbers).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Sequence

from .text import fold, nfc, normalize

KINDS = frozenset({"code", "text", "int", "number", "date", "month", "time", "choice", "yesno"})
EPOCH = date(1899, 12, 30)
MIN_SERIAL = (date(1900, 1, 1) - EPOCH).days
MAX_SERIAL = (date(2200, 12, 31) - EPOCH).days

R_INT = "không phải số nguyên"
R_NUMBER = "không phải số"
R_DATE = "không phải ngày hợp lệ (ngày/tháng/năm)"
R_MONTH = "không phải tháng hợp lệ (MM/YYYY)"
R_TIME = "không phải giờ hợp lệ (hh:mm)"
R_YESNO = "không phải Có/Không"
R_CODE = "không phải mã hợp lệ"

_YES = frozenset({"co", "c", "x", "yes", "y", "1", "true"})
_NO = frozenset({"khong", "k", "no", "n", "0", "false"})

_DATE_TEXT = re.compile(r"^(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_MONTH_TEXT = re.compile(r"^(?:thang|t)?\s*(\d{1,2})\s*[/.\-]\s*(\d{4})$")
_MONTH_ISO = re.compile(r"^(\d{4})\s*-\s*(\d{1,2})$")
_TIME_TEXT = re.compile(r"^(\d{1,2})\s*(?::|h|g|gio)\s*(\d{1,2})?\s*(?::\s*(\d{1,2}))?\s*(?:phut|p)?$")
_INT_TEXT = re.compile(r"^[+-]?\d+(?:[.,]0+)?$")
_NUMBER_TEXT = re.compile(r"^[+-]?(?:\d+(?:[.,]\d+)?|[.,]\d+)$")


@dataclass(frozen=True, slots=True)
class Choice:
    id: str
    label: str
    aliases: tuple[str, ...] = ()


class ChoiceSet:
    """The labels of a choice column, matched leniently (diacritics, case, spaces)."""

    def __init__(self, choices: Sequence[Choice]):
        self.choices = tuple(choices)
        self._exact: dict[str, str] = {}
        folded: dict[str, set[str]] = {}
        for c in self.choices:
            for name in (c.label, *c.aliases):
                self._exact[normalize(name)] = c.id
                folded.setdefault(fold(name), set()).add(c.id)
        self._folded = {k: next(iter(v)) for k, v in folded.items() if len(v) == 1}
        self._labels = {c.id: c.label for c in self.choices}
        self._cache: dict[str, str | None] = {}

    @property
    def labels(self) -> list[str]:
        return [c.label for c in self.choices]

    def label_of(self, choice_id: str) -> str | None:
        return self._labels.get(choice_id)

    def match(self, raw: str) -> str | None:
        try:
            return self._cache[raw]
        except KeyError:
            pass
        got = self._exact.get(normalize(raw))
        if got is None:
            got = self._folded.get(fold(raw))
        if len(self._cache) < 100_000:
            self._cache[raw] = got
        return got


def _empty(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def _is_number(raw: Any) -> bool:
    return isinstance(raw, (int, float)) and not isinstance(raw, bool)


def _finite(x: float) -> bool:
    return not (math.isnan(x) or math.isinf(x))


def code_key(s: str) -> str:
    return normalize(s)


def is_date_cell(raw: Any) -> bool:
    """A real date cell (date object, or a Google serial number), not text."""
    return isinstance(raw, (date, datetime)) or _is_number(raw)


# --- per-kind parsers (raw is never empty here) ------------------------------------------------

def _number_text(n: float) -> str:
    return str(int(n)) if float(n).is_integer() else repr(float(n))


def _code(raw):
    if isinstance(raw, bool):
        return None, R_CODE
    if isinstance(raw, float):
        if not _finite(raw):
            return None, R_CODE
        return _number_text(raw), None
    if isinstance(raw, (datetime, date)):
        return f"{raw:%d/%m/%Y}", None
    return nfc(str(raw)).strip(), None


def _text(raw):
    if isinstance(raw, float) and _finite(raw):
        return _number_text(raw), None
    if isinstance(raw, datetime) and raw.time() == time(0):
        return f"{raw:%d/%m/%Y}", None
    if isinstance(raw, date) and not isinstance(raw, datetime):
        return f"{raw:%d/%m/%Y}", None
    return nfc(str(raw)).strip(), None


def _int(raw):
    if isinstance(raw, bool):
        return None, R_INT
    if isinstance(raw, int):
        return raw, None
    if isinstance(raw, float):
        if _finite(raw) and raw.is_integer():
            return int(raw), None
        return None, R_INT
    if isinstance(raw, str):
        s = raw.strip()
        if _INT_TEXT.match(s):
            return int(re.split(r"[.,]", s)[0]), None
    return None, R_INT


def _number(raw):
    if isinstance(raw, bool):
        return None, R_NUMBER
    if _is_number(raw):
        return (float(raw), None) if _finite(float(raw)) else (None, R_NUMBER)
    if isinstance(raw, str):
        s = raw.strip()
        if _NUMBER_TEXT.match(s):
            return float(s.replace(",", ".")), None
    return None, R_NUMBER


def _serial_date(x: float) -> date | None:
    if not _finite(x) or not (MIN_SERIAL <= x <= MAX_SERIAL):
        return None
    return EPOCH + timedelta(days=int(x))


def _make_date(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _date(raw):
    if isinstance(raw, datetime):
        return raw.date(), None
    if isinstance(raw, date):
        return raw, None
    if isinstance(raw, bool):
        return None, R_DATE
    if _is_number(raw):
        d = _serial_date(float(raw))
        return (d, None) if d else (None, R_DATE)
    if isinstance(raw, str):
        s = raw.strip()
        m = _DATE_TEXT.match(s)
        if m:
            d = _make_date(int(m[3]), int(m[2]), int(m[1]))
        else:
            m = _ISO_DATE.match(s)
            d = _make_date(int(m[1]), int(m[2]), int(m[3])) if m else None
        if d is not None and 1900 <= d.year <= 2200:
            return d, None
    return None, R_DATE


def _month(raw):
    if isinstance(raw, bool):
        return None, R_MONTH
    if isinstance(raw, (datetime, date)) or _is_number(raw):
        d, _ = _date(raw)
        if d is not None and d.year >= 1990:
            return f"{d.year:04d}-{d.month:02d}", None
        return None, R_MONTH
    if isinstance(raw, str):
        s = fold(raw).replace(" ", "")
        m = _MONTH_TEXT.match(s)
        if m:
            month, year = int(m[1]), int(m[2])
        else:
            m = _MONTH_ISO.match(s)
            if not m:
                return None, R_MONTH
            year, month = int(m[1]), int(m[2])
        if 1 <= month <= 12 and 1900 <= year <= 2200:
            return f"{year:04d}-{month:02d}", None
    return None, R_MONTH


def _time(raw):
    if isinstance(raw, datetime):
        return raw.hour * 60 + raw.minute, None
    if isinstance(raw, time):
        return raw.hour * 60 + raw.minute, None
    if isinstance(raw, bool):
        return None, R_TIME
    if _is_number(raw):
        x = float(raw)
        if _finite(x) and 0 <= x < 1:
            return min(round(x * 1440), 1439), None
        return None, R_TIME
    if isinstance(raw, str):
        m = _TIME_TEXT.match(fold(raw))
        if m:
            h, mi = int(m[1]), int(m[2] or 0)
            if h <= 23 and mi <= 59 and (m[3] is None or int(m[3]) <= 59):
                return h * 60 + mi, None
    return None, R_TIME


def _yesno(raw):
    if isinstance(raw, bool):
        return raw, None
    if _is_number(raw):
        if raw == 1:
            return True, None
        if raw == 0:
            return False, None
        return None, R_YESNO
    if isinstance(raw, str):
        f = fold(raw)
        if f in _YES:
            return True, None
        if f in _NO:
            return False, None
    return None, R_YESNO


_PARSERS = {"code": _code, "text": _text, "int": _int, "number": _number, "date": _date,
            "month": _month, "time": _time, "yesno": _yesno}
_CACHE: dict[tuple, tuple] = {}
_CACHE_MAX = 500_000


def parse(kind: str, raw: Any, choices: ChoiceSet | None = None) -> tuple[Any, str | None]:
    """Parse one cell; see the module docstring. Never raises."""
    try:
        if _empty(raw):
            return None, None
        if kind == "choice":
            if choices is None or not isinstance(raw, str):
                return None, _choice_reason(choices)
            got = choices.match(raw)
            return (got, None) if got is not None else (None, _choice_reason(choices))
        key = (kind, type(raw), raw)
        try:
            return _CACHE[key]
        except (KeyError, TypeError):
            pass
        result = _PARSERS[kind](raw)
        if len(_CACHE) < _CACHE_MAX:
            try:
                _CACHE[key] = result
            except TypeError:
                pass
        return result
    except Exception:  # unexpected raw types: a finding, never a traceback
        return None, "không đọc được"


def _choice_reason(choices: ChoiceSet | None) -> str:
    if choices is None:
        return "không có trong danh sách"
    return "không có trong danh sách: " + ", ".join(choices.labels)


# --- display -------------------------------------------------------------------------------------

def format_value(kind: str, value: Any) -> str:
    """Vietnamese display of a parsed value."""
    if value is None:
        return ""
    if kind == "date":
        return f"{value:%d/%m/%Y}"
    if kind == "month":
        return f"{value[5:7]}/{value[:4]}"
    if kind == "time":
        return f"{value // 60:02d}:{value % 60:02d}"
    if kind == "yesno":
        return "Có" if value else "Không"
    if kind == "number":
        return _number_text(value).replace(".", ",")
    return str(value)


def display_raw(raw: Any, limit: int = 60) -> str:
    """A raw value quoted in a message."""
    if isinstance(raw, datetime):
        s = f"{raw:%d/%m/%Y}" if raw.time() == time(0) else f"{raw:%d/%m/%Y %H:%M}"
    elif isinstance(raw, date):
        s = f"{raw:%d/%m/%Y}"
    elif isinstance(raw, bool):
        s = "TRUE" if raw else "FALSE"
    elif isinstance(raw, float) and _finite(raw):
        s = _number_text(raw)
    else:
        s = nfc(str(raw)).strip()
    return s if len(s) <= limit else s[: limit - 1] + "…"

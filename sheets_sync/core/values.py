"""Vietnamese-aware cell value parsing (template.md "Value types").

``parse(kind, raw, choices)`` returns ``(value, None)`` when the cell is read, ``(None, None)`` when
it is empty (None, "" or whitespace only) and ``(None, reason)`` when it cannot be read; ``reason``
is a short Vietnamese phrase that follows the quoted value in a DATA-INVALID message. Whatever the
raw value, ``parse`` never raises; an unknown ``kind`` or a choice column without its ``ChoiceSet``
is a programming error (ValueError).

Raw values come from openpyxl (str, int, float, bool, datetime, date, time, timedelta for
``[h]:mm`` cells) or from Google Sheets with UNFORMATTED_VALUE + SERIAL_NUMBER (str, int, float,
bool; dates as serial numbers, times as fractions of a day).

Values by kind: code, text -> str; int -> int; number -> float; date -> datetime.date;
month -> "YYYY-MM"; time -> minutes since midnight (int); choice -> the choice id; yesno -> bool.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from .text import fold, nfc, normalize

KINDS = frozenset({"code", "text", "int", "number", "date", "month", "time", "choice", "yesno"})

EPOCH = date(1899, 12, 30)  # serial day 0 of Google Sheets and of Excel (after February 1900)
MIN_YEAR, MAX_YEAR = 1900, 2200  # dates outside these years are typing errors
MONTH_MIN_YEAR = 1990  # a month column's date cell before this is a bare number read as a serial
_MIN_SERIAL = (date(MIN_YEAR, 1, 1) - EPOCH).days
_MAX_SERIAL = (date(MAX_YEAR, 12, 31) - EPOCH).days
_CACHE_SIZE = 1 << 16


def is_empty(v: Any) -> bool:
    """A cell that holds nothing: None, or text that is only whitespace."""
    return v is None or (isinstance(v, str) and not v.strip())


R_CODE = "không phải mã hợp lệ"
R_INT = "không phải số nguyên"
R_NUMBER = "không phải số"
R_DATE = "không phải ngày hợp lệ (ngày/tháng/năm)"
R_MONTH = "không phải tháng hợp lệ (MM/YYYY)"
R_TIME = "không phải giờ hợp lệ (giờ:phút)"
R_YESNO = "không phải Có/Không"
R_UNREADABLE = "không đọc được"

_EMPTY = (None, None)

# Text forms. Date and int/number patterns see the trimmed text; month, time and yes/no patterns
# see its folded form (lower case, no diacritics, single spaces).
_TIME_TAIL = r"(?:(?:\s*T\s*|\s+)[0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?"  # dropped
_DMY = re.compile(r"([0-9]{1,2})\s*([/.-])\s*([0-9]{1,2})\s*\2\s*([0-9]{4})" + _TIME_TAIL)
_YMD = re.compile(r"([0-9]{4})\s*([/.-])\s*([0-9]{1,2})\s*\2\s*([0-9]{1,2})" + _TIME_TAIL)
_MONTH_MY = re.compile(r"(?:(?:thang|th|t) ?)?([0-9]{1,2}) ?(?:[/.-]|nam) ?([0-9]{4})")
_MONTH_YM = re.compile(r"([0-9]{4}) ?[/-] ?([0-9]{1,2})")
_CLOCK = re.compile(r"([0-9]{1,2}) ?: ?([0-9]{2})(?: ?: ?([0-9]{2}))?")
_HOURS = re.compile(r"([0-9]{1,2}) ?(?:h|g|gio) ?(?:([0-9]{1,2}) ?(?:phut|p)?)?")
_INT = re.compile(r"([+-]?[0-9]+)(?:[.,]0{1,2})?")  # "12,0" yes, "2.000" (thousands?) no
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:[.,][0-9]+)?|[.,][0-9]+)")
_YES = frozenset({"co", "c", "x", "yes", "y", "1", "true"})
_NO = frozenset({"khong", "k", "no", "n", "0", "false"})


# --- choices -------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Choice:
    """One label of a choice list; ``aliases`` are other accepted spellings ("TB")."""
    id: str
    label: str
    aliases: tuple[str, ...] = ()


class ChoiceSet:
    """The labels of a choice column, matched after normalisation, then without diacritics.

    The diacritic-preserving match wins; a diacritic-free form shared by several choices matches
    none of them. Two choices with the same normalised label are a template error (ValueError).
    """

    def __init__(self, choices: Sequence[Choice]):
        self.choices = tuple(choices)
        self._exact = _index(self.choices, normalize, strict=True)
        self._folded = _index(self.choices, fold, strict=False)
        self._labels = {c.id: c.label for c in self.choices}
        self.reason = "không có trong danh sách: " + ", ".join(self.labels)
        self._cache: dict[str, str | None] = {}

    @property
    def labels(self) -> list[str]:
        return [c.label for c in self.choices]

    def label_of(self, choice_id: str) -> str | None:
        return self._labels.get(choice_id)

    def match(self, raw: str) -> str | None:
        """The id of the choice ``raw`` names, or None."""
        try:
            return self._cache[raw]
        except KeyError:
            pass
        got = self._exact.get(normalize(raw))
        if got is None:
            got = self._folded.get(fold(raw))
        if len(self._cache) >= _CACHE_SIZE:
            self._cache.clear()
        self._cache[raw] = got
        return got


def _index(choices: tuple[Choice, ...], key: Callable[[str], str], strict: bool) -> dict[str, str]:
    """key(label or alias) -> choice id, keeping only keys that name a single choice."""
    ids: dict[str, set[str]] = {}
    for c in choices:
        for name in (c.label, *c.aliases):
            ids.setdefault(key(name), set()).add(c.id)
    shared = sorted(k for k, v in ids.items() if len(v) > 1)
    if strict and shared:
        raise ValueError(f"choice labels name several choices: {shared}")
    return {k: next(iter(v)) for k, v in ids.items() if len(v) == 1}


# --- helpers -------------------------------------------------------------------------------------

def code_key(s: str) -> str:
    """The form codes are compared in ("cb01" = "CB01 ")."""
    return normalize(s)


def is_date_cell(raw: Any) -> bool:
    """True for a real date cell: a date object (openpyxl) or a number (Google serial), not text."""
    return isinstance(raw, date) or _is_number(raw)


def _is_number(raw: Any) -> bool:
    return isinstance(raw, (int, float)) and not isinstance(raw, bool)


def _float_text(x: float) -> str:
    return str(int(x)) if x.is_integer() else f"{x:.15g}"


def _as_text(raw: Any) -> str | None:
    """A cell as text, the way the spreadsheet shows it; None for what no cell holds."""
    if isinstance(raw, str):
        return nfc(raw).strip()
    if isinstance(raw, bool):
        return "TRUE" if raw else "FALSE"
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, float):
        return _float_text(raw) if math.isfinite(raw) else None
    if isinstance(raw, datetime):
        return f"{raw:%d/%m/%Y}" if raw.time() == time() else f"{raw:%d/%m/%Y %H:%M}"
    if isinstance(raw, date):
        return f"{raw:%d/%m/%Y}"
    if isinstance(raw, time):
        return f"{raw:%H:%M}"
    return None


def _valid_date(year: int, month: int, day: int) -> date | None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _serial_date(x: int | float) -> date | None:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    days = int(x)  # the fraction is the time of day
    return EPOCH + timedelta(days=days) if _MIN_SERIAL <= days <= _MAX_SERIAL else None


def _text_date(s: str) -> date | None:
    m = _DMY.fullmatch(s)
    if m:
        return _valid_date(int(m[4]), int(m[3]), int(m[1]))
    m = _YMD.fullmatch(s)
    return _valid_date(int(m[1]), int(m[3]), int(m[4])) if m else None


def _to_date(raw: Any) -> date | None:
    if isinstance(raw, datetime):
        raw = raw.date()
    if isinstance(raw, date):
        return raw if MIN_YEAR <= raw.year <= MAX_YEAR else None
    if _is_number(raw):
        return _serial_date(raw)
    if isinstance(raw, str):
        return _text_date(raw.strip())
    return None


def _text_month(s: str) -> tuple[int, int] | None:
    f = fold(s)
    m = _MONTH_MY.fullmatch(f)
    if m:
        year, month = int(m[2]), int(m[1])
    elif m := _MONTH_YM.fullmatch(f):
        year, month = int(m[1]), int(m[2])
    else:
        return None
    return (year, month) if 1 <= month <= 12 and MIN_YEAR <= year <= MAX_YEAR else None


def _day_fraction_minutes(x: float) -> int | None:
    if not 0 <= x < 1:  # also rejects nan
        return None
    return min(round(x * 86400) // 60, 24 * 60 - 1)  # via seconds: 451/1440 is 450.99999… minutes


def _text_minutes(s: str) -> int | None:
    f = fold(s)
    m = _CLOCK.fullmatch(f)
    if m and (m[3] is None or int(m[3]) <= 59):
        hours, minutes = int(m[1]), int(m[2])
    elif m := _HOURS.fullmatch(f):
        hours, minutes = int(m[1]), int(m[2] or 0)
    else:
        return None
    return hours * 60 + minutes if hours <= 23 and minutes <= 59 else None


# --- one parser per kind (the raw value is never empty here) --------------------------------------

def _text(raw: Any) -> tuple[Any, str | None]:
    s = _as_text(raw)
    return (s, None) if s is not None else (None, R_UNREADABLE)


def _code(raw: Any) -> tuple[Any, str | None]:
    return (None, R_CODE) if isinstance(raw, bool) else _text(raw)


def _int(raw: Any) -> tuple[Any, str | None]:
    if isinstance(raw, bool):
        return None, R_INT
    if isinstance(raw, int):
        return raw, None
    if isinstance(raw, float) and raw.is_integer():  # False for nan and inf
        return int(raw), None
    m = _INT.fullmatch(raw.strip()) if isinstance(raw, str) else None
    if m is None or len(m[1]) > 30:  # int() refuses more than 4,300 digits; no count has 30
        return None, R_INT
    return int(m[1]), None


def _number(raw: Any) -> tuple[Any, str | None]:
    x = None
    if _is_number(raw):
        try:
            x = float(raw)
        except OverflowError:  # an int beyond float range
            pass
    elif isinstance(raw, str) and _NUMBER.fullmatch(s := raw.strip()):
        x = float(s.replace(",", "."))
    return (x, None) if x is not None and math.isfinite(x) else (None, R_NUMBER)


def _date(raw: Any) -> tuple[Any, str | None]:
    d = _to_date(raw)
    return (d, None) if d is not None else (None, R_DATE)


def _month(raw: Any) -> tuple[Any, str | None]:
    if isinstance(raw, str):
        ym = _text_month(raw)
    else:
        d = _to_date(raw)
        ym = (d.year, d.month) if d is not None and d.year >= MONTH_MIN_YEAR else None
    return (f"{ym[0]:04d}-{ym[1]:02d}", None) if ym else (None, R_MONTH)


def _time(raw: Any) -> tuple[Any, str | None]:
    minutes = None
    if isinstance(raw, time):
        minutes = raw.hour * 60 + raw.minute
    elif isinstance(raw, timedelta):
        minutes = _day_fraction_minutes(raw / timedelta(days=1))
    elif _is_number(raw):
        minutes = _day_fraction_minutes(raw)
    elif isinstance(raw, str):
        minutes = _text_minutes(raw)
    return (minutes, None) if minutes is not None else (None, R_TIME)


def _yesno(raw: Any) -> tuple[Any, str | None]:
    if isinstance(raw, bool):
        return raw, None
    if _is_number(raw) and raw in (0, 1):
        return raw == 1, None
    if isinstance(raw, str):
        f = fold(raw)
        if f in _YES:
            return True, None
        if f in _NO:
            return False, None
    return None, R_YESNO


def _choice(raw: Any, choices: ChoiceSet | None) -> tuple[Any, str | None]:
    if choices is None:
        raise ValueError("a choice column needs its ChoiceSet")
    s = raw if isinstance(raw, str) else _as_text(raw)
    got = choices.match(s) if s is not None else None
    return (got, None) if got is not None else (None, choices.reason)


def _memo(fn: Callable[[Any], tuple[Any, str | None]]) -> Callable[[Any], tuple[Any, str | None]]:
    # typed: True, 1 and 1.0 are equal keys but different cells
    return lru_cache(maxsize=_CACHE_SIZE, typed=True)(fn)


# code and text are cheaper to parse than to look up.
_PARSERS: dict[str, Callable[[Any], tuple[Any, str | None]]] = {
    "code": _code, "text": _text, "int": _memo(_int), "number": _memo(_number),
    "date": _memo(_date), "month": _memo(_month), "time": _memo(_time), "yesno": _memo(_yesno),
}


def parse(kind: str, raw: Any, choices: ChoiceSet | None = None) -> tuple[Any, str | None]:
    """Parse one cell: (value, None), (None, None) when empty, (None, reason) when unreadable."""
    if raw is None or (isinstance(raw, str) and (not raw or raw.isspace())):
        return _EMPTY
    if kind == "choice":
        return _choice(raw, choices)
    parser = _PARSERS.get(kind)
    if parser is None:
        raise ValueError(f"unknown value kind {kind!r}")
    try:
        return parser(raw)
    except TypeError:  # unhashable (list, dict…): not a cell value; parse it uncached
        return getattr(parser, "__wrapped__", parser)(raw)


# --- display -------------------------------------------------------------------------------------

def format_value(kind: str, value: Any) -> str:
    """Vietnamese display of a parsed value ("" for None)."""
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
        return _float_text(float(value)).replace(".", ",")
    return str(value)


def display_raw(raw: Any, limit: int = 60) -> str:
    """A raw value as quoted in a message: one line, at most ``limit`` characters."""
    if raw is None:
        return ""
    s = _as_text(raw)
    s = " ".join((str(raw) if s is None else s).split())
    return s if len(s) <= limit else s[: limit - 1] + "…"

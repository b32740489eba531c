"""The cell model: what a write stores (RAW / USER_ENTERED) and what a read renders.

A :class:`Cell` is immutable; writers replace cells, so a spreadsheet snapshot only
needs to copy its row lists (see ``Sheet.clone``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from typing import Any

from . import numfmt
from .formula import ErrorValue

Scalar = str | int | float | bool


@dataclass(frozen=True, slots=True)
class Cell:
    """One stored cell. ``value`` is the user-entered value (formula text when ``formula``)."""

    value: Scalar | None = None
    formula: bool = False
    format: dict | None = None  # userEnteredFormat, incl. numberFormat
    note: str | None = None
    validation: dict | None = None  # DataValidationRule
    runs: tuple | None = None  # textFormatRuns (rich text, links) of a string value

    @property
    def blank(self) -> bool:
        return (self.value is None and self.format is None and self.note is None
                and self.validation is None)

    @property
    def number_format(self) -> dict | None:
        return (self.format or {}).get("numberFormat")


def with_value(old: Cell | None, value: Scalar | None, formula: bool = False,
               number_format: dict | None = None) -> Cell | None:
    """``old`` with a new value, keeping its format/note/validation (rich-text runs belong to
    the old text: dropped); None when fully blank."""
    cell = replace(old or Cell(), value=value, formula=formula and value is not None, runs=None)
    if number_format is not None:
        cell = replace(cell, format={**(cell.format or {}), "numberFormat": number_format})
    return None if cell.blank else cell


def _dates(locale: str) -> list[tuple[re.Pattern, str, str]]:
    """(regex, group order, pattern) for typed dates; ISO first, then the locale's order."""
    order, pattern = ("mdy", "m/d/yyyy") if numfmt.month_first(locale) else ("dmy", "dd/mm/yyyy")
    return [
        (re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"), "ymd", "yyyy-mm-dd"),
        (re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})"), order, pattern),
    ]


_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")


def _seconds(match: re.Match | None) -> int | None:
    """Seconds since midnight of an ``hh:mm[:ss]`` match, None when not a valid time."""
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        return None
    return int(match.group(1)) * 3600 + int(match.group(2)) * 60 + int(match.group(3) or 0)


def _parse_date(text: str, locale: str) -> tuple[float, dict] | None:
    date_text, _, time_text = text.partition(" ")
    for regex, order, pattern in _dates(locale):
        m = regex.fullmatch(date_text)
        if not m:
            continue
        parts = dict(zip(order, map(int, m.groups())))
        try:
            serial = numfmt.to_serial(date(parts["y"], parts["m"], parts["d"]))
        except ValueError:
            return None
        if not time_text:
            return serial, {"type": "DATE", "pattern": pattern}
        seconds = _seconds(_TIME.fullmatch(time_text))
        if seconds is None:
            return None
        return serial + seconds / 86400, {"type": "DATE_TIME", "pattern": pattern + " hh:mm:ss"}
    time_match = _TIME.fullmatch(text)
    seconds = _seconds(time_match)
    if seconds is None:
        return None
    return seconds / 86400, {"type": "TIME",
                             "pattern": "hh:mm:ss" if time_match.group(3) else "hh:mm"}


def _parse_number(text: str, locale: str) -> tuple[float, dict | None] | None:
    decimal, group = numfmt.separators(locale)
    m = re.fullmatch(rf"([+-]?)(\d{{1,3}}(?:{re.escape(group)}\d{{3}})+|\d*)"
                     rf"(?:{re.escape(decimal)}(\d+))?([eE][+-]?\d+)?(%?)", text)
    if not m or not (m.group(2) or m.group(3)):
        return None
    sign, whole, fraction, exponent, percent = m.groups()
    digits = whole.replace(group, "") or "0"
    number: float = (int(digits) if fraction is None and not exponent
                     else float(f"{digits}.{fraction or 0}{exponent or ''}"))
    number = -number if sign == "-" else number
    decimals = "." + "0" * len(fraction) if fraction else ""
    if percent:
        return number / 100, {"type": "PERCENT", "pattern": f"0{decimals}%"}
    if group in whole:
        return number, {"type": "NUMBER", "pattern": f"#,##0{decimals}"}
    return number, None


def user_entered(value: Any, locale: str) -> tuple[Scalar | None, bool, dict | None]:
    """Parse a value "as if typed": (value, is_formula, numberFormat or None)."""
    if not isinstance(value, str):
        return value, False, None
    text = value
    if text == "":
        return None, False, None
    if text.startswith("=") and len(text) > 1:
        return text, True, None
    if text.startswith("'"):
        return text[1:] or None, False, None
    stripped = text.strip()
    if stripped.upper() in ("TRUE", "FALSE"):
        return stripped.upper() == "TRUE", False, None
    parsed = _parse_number(stripped, locale) or _parse_date(stripped, locale)
    if parsed:
        return parsed[0], False, parsed[1]
    return text, False, None


def from_python(value: Any) -> tuple[Scalar | None, bool, dict | None]:
    """A typed Python value from a seed: dates become serials with a date format,
    strings starting with ``=`` become formulas, everything else is stored as is."""
    if isinstance(value, datetime):
        return numfmt.to_serial(value), False, {"type": "DATE_TIME",
                                                "pattern": "yyyy-mm-dd hh:mm:ss"}
    if isinstance(value, date):
        return numfmt.to_serial(value), False, {"type": "DATE", "pattern": "yyyy-mm-dd"}
    if isinstance(value, time):
        return numfmt.to_serial(value), False, {"type": "TIME", "pattern": "hh:mm:ss"}
    if value == "":
        return None, False, None
    return value, isinstance(value, str) and value.startswith("=") and len(value) > 1, None


def render(cell: Cell | None, effective: Any, value_option: str, datetime_option: str,
           locale: str) -> Any:
    """One cell as values.get returns it; None means empty (trimmed by the caller)."""
    if cell is None or cell.value is None:
        return None
    if value_option == "FORMULA" and cell.formula:
        return cell.value
    if isinstance(effective, ErrorValue):
        return effective.code
    if isinstance(effective, bool):
        return ("TRUE" if effective else "FALSE") if value_option == "FORMATTED_VALUE" \
            else effective
    if isinstance(effective, (int, float)):
        number_format = cell.number_format
        is_date = (number_format or {}).get("type") in numfmt.DATE_TYPES
        if value_option == "FORMATTED_VALUE" or (is_date and datetime_option == "FORMATTED_STRING"):
            return numfmt.format_number(effective, number_format, locale)
        return effective
    return effective


# ErrorValue.type (discovery ``ErrorValue``) of each error code a cell can show.
ERROR_TYPES = {"#NULL!": "NULL_VALUE", "#DIV/0!": "DIVIDE_BY_ZERO", "#VALUE!": "VALUE",
               "#REF!": "REF", "#NAME?": "NAME", "#NUM!": "NUM", "#N/A": "N_A",
               "#ERROR!": "ERROR"}


def extended_value(value: Any) -> dict:
    """Sheets ``ExtendedValue`` of a stored or effective value."""
    kind = type(value)
    if kind is str:
        return {"stringValue": value}
    if kind is float or kind is int:
        return {"numberValue": value}
    if isinstance(value, ErrorValue):
        return {"errorValue": {"type": ERROR_TYPES.get(value.code, "ERROR"),
                               "message": f"Error {value.code} in this cell."}}
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, (int, float)):
        return {"numberValue": value}
    return {"stringValue": value}


def from_extended(value: dict) -> tuple[Scalar | None, bool]:
    """(value, is_formula) of an ``ExtendedValue`` sent in updateCells/repeatCell."""
    if value.get("formulaValue") is not None:
        return value["formulaValue"], True
    for key in ("stringValue", "numberValue", "boolValue"):
        if value.get(key) is not None:
            return value[key], False
    return None, False

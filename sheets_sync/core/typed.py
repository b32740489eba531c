"""Typed values of the configuration: a key's expected type and range, and the Vietnamese
sentence saying what is wrong. Shared by ``config`` and ``rules.params`` (it lives below both,
so neither imports the other to check a value)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

# --as-of, --year and date parameters: the calendar the rules compute with (month ends, grace
# days, previous months) stays well inside Python's dates.
FIRST_YEAR, LAST_YEAR = 1900, 2999

INT64_MAX = 2**63 - 1


@dataclass(frozen=True)
class Typed:
    """A config key's type and, for numbers, its allowed range (inclusive). A schema maps each
    key to a ``Typed`` or a bare type (a bare ``int`` means 0 … 2**63-1)."""

    kind: type
    lo: int | float | None = None
    hi: int | float | None = None


def spec(value: Typed | type) -> Typed:
    if isinstance(value, Typed):
        return value
    if value is int:
        return Typed(int, 0, INT64_MAX)
    return Typed(value)


_TYPE_VI = {str: "chuỗi", int: "số nguyên", float: "số", bool: "true/false", dict: "bảng",
            list: "danh sách", date: "ngày dạng YYYY-MM-DD (không kèm giờ)"}


def _num(v: float) -> str:
    return f"{v:,}".replace(",", ".") if isinstance(v, int) else f"{v:g}".replace(".", ",")


def _shown(value: Any) -> str:
    if isinstance(value, datetime):
        return f"ngày giờ {value.isoformat()}"
    if isinstance(value, date):
        return f"ngày {value.isoformat()}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"chuỗi \"{value[:40]}\""
    if isinstance(value, dict):
        return "một bảng"
    if isinstance(value, list):
        return "một danh sách"
    text = str(value)
    return text if len(text) <= 40 else text[:20] + "…" + text[-5:]


def check_value(value: Any, typed: Typed | type) -> str | None:
    """None when ``value`` fits, else what is wrong (Vietnamese, for "mục X: …")."""
    t = spec(typed)
    expected = t.kind
    ok = isinstance(value, expected) and not (expected in (int, float) and isinstance(value, bool))
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        ok = True
    if expected is date and isinstance(value, datetime):
        ok = False
    if not ok:
        return f"phải là {_TYPE_VI.get(expected, expected.__name__)}, không phải {_shown(value)}."
    if expected is str and not value.strip():
        return "không được để trống."
    if isinstance(value, float) and not math.isfinite(value):
        return f"phải là một số hữu hạn, không phải {_shown(value)}."
    if expected in (int, float) and (t.lo is not None or t.hi is not None):
        lo = -math.inf if t.lo is None else t.lo
        hi = math.inf if t.hi is None else t.hi
        if not lo <= value <= hi:
            if t.lo is not None and t.hi is not None:
                span = f"từ {_num(t.lo)} đến {_num(t.hi)}"
            elif t.lo is not None:
                span = f"từ {_num(t.lo)} trở lên"
            else:
                span = f"không quá {_num(hi)}"
            return f"phải {span}, không phải {_shown(value)}."
    return None

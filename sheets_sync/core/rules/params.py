"""Rule parameters: every default of rules.md, named in one place.

Overridable in the config's ``[rules]`` table (parent level) and per unit (``rules = {...}``).
A parameter whose default is None is unset (the rule part it drives is off); in TOML, which
has no null, ``false`` unsets an optional parameter.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from types import MappingProxyType
from typing import Any

from ..errors import ConfigError
from ..typed import FIRST_YEAR, LAST_YEAR, Typed, check_value

DEFAULTS = MappingProxyType({
    # Regular meeting window (CT §5)
    "window_start_day": 1,
    "window_end_day": 7,
    "preferred_day": 3,
    "report_grace_days": 5,
    # Thematic meetings (HD12)
    "thematic_per_quarter": 1,
    # Commune briefing (CT §4)
    "brief_deadline_day": 30,
    "brief_deadline_inclusive": False,
    # Duration (HD12, HD42)
    "min_minutes_regular": 90,
    "min_minutes_combined": 120,
    "small_cell_members": None,
    "min_minutes_small_cell": None,
    "duration_tolerance_minutes": 5,
    # Attendance (HD12)
    "min_attendance_rate": 0.85,
    # Pre-meeting of the cell committee (HD12, CT §4)
    "premeeting_max_days": 10,
    # Documents on the party-member handbook app (HD42)
    "docs_app_enabled": True,
    "docs_app_effective_from": date(2025, 11, 1),
    "docs_app_lead_days": 1,
    # Ratings (CT §2)
    "rating_thresholds": MappingProxyType({"Tốt": 90, "Khá": 70, "Trung bình": 50}),
    # Cell registry (ĐL)
    "min_official_members": 3,
    # Members (HD12, ĐL art. 8)
    "max_consecutive_excused": 3,
    "abandon_months": 3,
    # Annual derivation (CT §7)
    "annual_min_tot": 7,
    "annual_max_kem": 2,
})

# Parameters that may be unset (None / false in TOML).
OPTIONAL = frozenset({"preferred_day", "small_cell_members", "min_minutes_small_cell"})


# Allowed ranges (inclusive) of the numeric parameters: a value outside is a typo.
RANGES: dict[str, tuple[float, float]] = {
    "window_start_day": (1, 31), "window_end_day": (1, 31), "preferred_day": (1, 31),
    "report_grace_days": (0, 366), "thematic_per_quarter": (0, 12),
    "brief_deadline_day": (1, 31), "min_minutes_regular": (0, 1440),
    "min_minutes_combined": (0, 1440), "small_cell_members": (0, 10_000),
    "min_minutes_small_cell": (0, 1440), "duration_tolerance_minutes": (0, 1440),
    "min_attendance_rate": (0.0, 1.0), "premeeting_max_days": (0, 366),
    "docs_app_lead_days": (0, 366), "min_official_members": (0, 10_000),
    "max_consecutive_excused": (0, 120), "abandon_months": (0, 120),
    "annual_min_tot": (0, 12), "annual_max_kem": (0, 12),
}
SCORE_RANGE = (0, 100)  # rating_thresholds: a meeting's score


def _check(name: str, value: Any, where: str) -> object:
    if name not in DEFAULTS:
        raise ConfigError(f"{where}: tham số quy tắc không có: '{name}'. Xem 'sheets-sync rules'.")
    default = DEFAULTS[name]
    if name in OPTIONAL and (value is False or value is None):
        return None
    expected: type
    if name in OPTIONAL:
        expected = int
    elif isinstance(default, MappingProxyType):
        expected = dict
    else:
        expected = type(default)
    lo, hi = RANGES.get(name, (None, None))
    wrong = check_value(value, Typed(expected, lo, hi))
    if wrong is None and expected is date and not FIRST_YEAR <= value.year <= LAST_YEAR:
        wrong = f"phải là một ngày từ năm {FIRST_YEAR} đến {LAST_YEAR}."
    if wrong is None and expected is dict:
        for label, score in value.items():
            bad = check_value(score, Typed(float, *SCORE_RANGE))
            if bad:
                raise ConfigError(f"{where}: '{name}.{label}' (điểm tối thiểu) {bad}")
    if wrong:
        raise ConfigError(f"{where}: '{name}' {wrong}")
    if expected is float:
        value = float(value)
    if expected is dict:
        return MappingProxyType(dict(value))
    return value


def resolve(*layers: Mapping[str, Any] | None,
            where: str = "config") -> MappingProxyType[str, Any]:
    """Defaults overlaid by each layer (parent ``[rules]``, then the unit's ``rules``)."""
    merged: dict[str, Any] = dict(DEFAULTS)
    for layer in layers:
        for name, value in (layer or {}).items():
            merged[name] = _check(name, value, where)
    return MappingProxyType(merged)

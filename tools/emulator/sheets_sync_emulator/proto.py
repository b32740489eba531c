"""Proto3-JSON output conventions Google applies to what it stores and echoes.

* default scalars disappear (``false``, ``null``, ``""``, empty lists, and ``0`` for the
  fields listed in ``_ZERO_OMITTED``), while present messages stay (``"editors": {}``);
* colours are stored as 8-bit channels and printed as float32 (``0.5`` -> ``0.49803922``),
  zero channels omitted, and every ``xColor`` gets its ``xColorStyle`` twin (and back);
* integral doubles print without ``.0`` (see :func:`json_numbers`).
"""

from __future__ import annotations

import math
import struct
from typing import Any

_ZERO_OMITTED = {"red", "green", "blue", "alpha", "sheetId", "frozenRowCount",
                 "frozenColumnCount"}
_CHANNELS = ("red", "green", "blue", "alpha")


def prune(value: Any) -> Any:
    """Drop proto3 default scalars recursively (messages are kept even when empty)."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            item = prune(item)
            if item is None or item is False or item == "" or item == []:
                continue
            if item == 0 and key in _ZERO_OMITTED and not isinstance(item, bool):
                continue
            out[key] = item
        return out
    if isinstance(value, list):
        return [prune(item) for item in value]
    return value


def _float32(x: float) -> float:
    return struct.unpack("f", struct.pack("f", x))[0]


def quantise_channel(value: float) -> float:
    """An 8-bit colour channel printed as the shortest float32 repr (as Google does).

    Halves round down: Google stores 0.5 as 127/255 (printed 0.49803922).
    """
    q = math.floor(min(max(float(value), 0.0), 1.0) * 255 + 0.5 - 1e-9) / 255
    target = _float32(q)
    for digits in range(1, 10):
        candidate = float(f"{q:.{digits}g}")
        if _float32(candidate) == target:
            return candidate
    return q


def _colour(rgb: dict) -> dict:
    out = {}
    for channel in _CHANNELS:
        if rgb.get(channel) is not None:
            q = quantise_channel(rgb[channel])
            if q:
                out[channel] = q
    return out


def normalise_colours(value: Any) -> Any:
    """Quantise colours and add the ``...ColorStyle`` twin of every ``...Color`` (and back)."""
    if isinstance(value, list):
        return [normalise_colours(item) for item in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        if item is None:
            continue
        if key.endswith("Color") and isinstance(item, dict):
            out[key] = _colour(item)
        elif key.endswith("ColorStyle") and isinstance(item, dict):
            style = {k: v for k, v in item.items() if v is not None}
            if "rgbColor" in style:
                style["rgbColor"] = _colour(style["rgbColor"])
            if style:
                out[key] = style
        else:
            out[key] = normalise_colours(item)
    for key in list(out):
        if key.endswith("Color") and key + "Style" not in out:
            out[key + "Style"] = {"rgbColor": out[key]}
        elif key.endswith("ColorStyle") and "rgbColor" in out[key] and key[:-5] not in out:
            out[key[:-5]] = out[key]["rgbColor"]
    return out


_LEAVES = frozenset({str, int, bool, type(None)})  # printed as they are


class Printed(dict):
    """A payload whose numbers are already as Google prints them: ``json_numbers`` returns it
    as it is (a grid answer, made that way cell by cell, need not be walked again)."""


def json_numbers(value: Any) -> Any:
    """Integral floats as ints, the way Google prints doubles (``2`` not ``2.0``). Leaves
    other than floats are kept without a call (a grid answer holds tens of thousands)."""
    kind = type(value)
    if kind is dict:
        return {k: v if type(v) in _LEAVES else json_numbers(v) for k, v in value.items()}
    if kind is list:
        return [v if type(v) in _LEAVES else json_numbers(v) for v in value]
    if kind is Printed:
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 2 ** 53:
        return int(value)
    if isinstance(value, dict):
        return {k: json_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_numbers(v) for v in value]
    return value

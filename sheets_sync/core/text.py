"""Vietnamese-aware text normalisation for matching tab names, headers and choice labels."""
from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

_SPACES = re.compile(r"\s+")  # str patterns: Unicode whitespace, NBSP, tabs and newlines included
_NON_SLUG = re.compile(r"[^a-z0-9]+")
# Zero-width characters that copy-paste from Word or the web leaves in cells.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
MIN_SIMILARITY = 0.6
# Half of a UTF-16 surrogate pair, alone: Sheets' text functions count UTF-16 units, so LEFT()
# of an emoji can leave one. No UTF-8 file (workbook, CSV, report) can hold it.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def without_lone_surrogates(s: str) -> str:
    """``s`` with each lone surrogate replaced by U+FFFD (the replacement character)."""
    return _LONE_SURROGATE.sub("\ufffd", s)


def nfc(s: str) -> str:
    return unicodedata.normalize("NFC", s)


@lru_cache(maxsize=1 << 16)
def normalize(s: str) -> str:
    """NFC, trimmed, inner whitespace collapsed to one space, case-folded."""
    return nfc(_SPACES.sub(" ", s.translate(_INVISIBLE)).strip().casefold())


def strip_diacritics(s: str) -> str:
    """The text without Vietnamese diacritics, case kept: "Đảng ủy" -> "Dang uy"."""
    decomposed = unicodedata.normalize("NFD", s)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.replace("đ", "d").replace("Đ", "D")


@lru_cache(maxsize=1 << 16)
def fold(s: str) -> str:
    """``normalize`` without diacritics: "Mã chi bộ" -> "ma chi bo", "Đảng" -> "dang"."""
    return strip_diacritics(normalize(s))


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate most like ``name`` by folded form (ratio ≥ 0.6, first on ties), or None."""
    target = fold(name)
    best, best_ratio = None, 0.0
    for candidate in candidates:
        ratio = difflib.SequenceMatcher(None, target, fold(candidate)).ratio()
        if ratio > best_ratio:
            best, best_ratio = candidate, ratio
    return best if best_ratio >= MIN_SIMILARITY else None


def slug(s: str) -> str:
    """ASCII lowercase slug: "Đảng bộ huyện Lý Nhân" -> "dang-bo-huyen-ly-nhan"."""
    return _NON_SLUG.sub("-", fold(s)).strip("-")


def clean_text(raw: Any) -> str | None:
    """NFC and trimmed; None when nothing is left."""
    if raw is None:
        return None
    return nfc(str(raw)).strip() or None


_PLACE_PREFIXES = tuple(sorted((
    "đảng bộ", "đảng ủy", "đảng uỷ", "huyện ủy", "huyện uỷ", "tỉnh ủy", "tỉnh uỷ", "thành ủy",
    "thành uỷ", "thị ủy", "thị uỷ", "quận ủy", "quận uỷ", "huyện", "tỉnh", "thành phố", "thị xã",
    "thị trấn", "quận", "xã", "phường", "đặc khu",
), key=len, reverse=True))


def place_name(parent_name: str) -> str:
    """The place for the date line: "Đảng bộ huyện Lý Nhân" -> "Lý Nhân"."""
    s = unicodedata.normalize("NFC", parent_name).strip()
    while True:
        low = s.casefold()
        for p in _PLACE_PREFIXES:
            if low.startswith(p + " "):
                s = s[len(p):].strip()
                break
        else:
            break
    return s or parent_name.strip()

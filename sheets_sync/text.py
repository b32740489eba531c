"""Vietnamese-aware text normalisation for matching tabs, headers and choices."""
from __future__ import annotations

import difflib
import re
import unicodedata
from functools import lru_cache
from typing import Any, Iterable

_SPACE = re.compile(r"\s+")


def nfc(s: str) -> str:
    return unicodedata.normalize("NFC", s)


@lru_cache(maxsize=65536)
def normalize(s: str) -> str:
    """NFC, trimmed, inner whitespace collapsed, case-folded."""
    return _SPACE.sub(" ", nfc(s)).strip().casefold()


@lru_cache(maxsize=65536)
def fold(s: str) -> str:
    """``normalize`` without diacritics ("Mã chi bộ" -> "ma chi bo")."""
    decomposed = unicodedata.normalize("NFD", normalize(s).replace("đ", "d"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The most similar candidate (folded forms, ratio ≥ 0.6), or None."""
    target = fold(name)
    best, score = None, 0.6
    for c in candidates:
        r = difflib.SequenceMatcher(None, target, fold(c)).ratio()
        if r >= score:
            best, score = c, r
    return best


def slug(s: str) -> str:
    """ASCII lowercase slug: "Đảng bộ huyện Lý Nhân" -> "dang-bo-huyen-ly-nhan"."""
    return re.sub(r"[^a-z0-9]+", "-", fold(s)).strip("-")


def clean_text(raw: Any) -> str | None:
    if raw is None:
        return None
    s = nfc(str(raw)).strip()
    return s or None

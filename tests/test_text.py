"""sheets_sync.core.text: normalisation used to match tabs, headers and choices."""
from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sheets_sync.core.text import (
    clean_text,
    closest,
    fold,
    nfc,
    normalize,
    slug,
    without_lone_surrogates,
)

VIETNAMESE = ("aăâbcdđeêghiklmnoôơpqrstuưvxy"
              "àáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ")
vi_text = st.text(alphabet=VIETNAMESE + VIETNAMESE.upper() + " \t\n\u00a0.-/0123456789")


def nfd(s: str) -> str:
    return unicodedata.normalize("NFD", s)


def test_nfc_composes():
    assert nfc(nfd("Mã chi bộ")) == "Mã chi bộ"


@pytest.mark.parametrize("raw", [
    "Mã chi bộ", "  MÃ CHI BỘ ", "Mã\u00a0chi\tbộ", "Mã\nchi  bộ", nfd("MÃ CHI BỘ"),
    "Mã\u200b chi bộ",
])
def test_normalize(raw):
    assert normalize(raw) == "mã chi bộ"


@pytest.mark.parametrize("raw", ["Ma chi bo", "MÃ CHI BỘ", nfd("mã chi bộ"), " ma  CHI\u00a0bo "])
def test_fold(raw):
    assert fold(raw) == "ma chi bo"


def test_fold_maps_d_with_stroke():
    assert fold("Đảng ủy ĐỒNG") == "dang uy dong"


def test_closest():
    headers = ["Mã chi bộ", "Tên chi bộ", "Ngày sinh hoạt"]
    assert closest("Ma chi bo", headers) == "Mã chi bộ"
    assert closest("ngay sinh hoat ", headers) == "Ngày sinh hoạt"
    assert closest("Số đảng viên", headers) is None
    assert closest("anything", []) is None


def test_closest_prefers_the_first_on_ties():
    assert closest("abc", ["abd", "abe"]) == "abd"


@pytest.mark.parametrize("raw, expected", [
    ("Đảng bộ huyện Lý Nhân", "dang-bo-huyen-ly-nhan"),
    ("  Đảng ủy xã Nhân Thịnh!! ", "dang-uy-xa-nhan-thinh"),
    ("Chi bộ thôn 3 (cũ)", "chi-bo-thon-3-cu"),
    ("!!!", ""),
])
def test_slug(raw, expected):
    assert slug(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    (None, None), ("", None), ("  \u00a0\n", None), ("  Ghi chú ", "Ghi chú"), (nfd(" Tốt"), "Tốt"),
    (12, "12"),
])
def test_clean_text(raw, expected):
    assert clean_text(raw) == expected


@given(vi_text)
def test_normalize_is_idempotent_and_form_independent(s):
    n = normalize(s)
    assert normalize(n) == n
    assert normalize(nfd(s)) == n
    assert normalize(s.upper()) == normalize(s.lower())
    assert n == n.strip() and "  " not in n and unicodedata.is_normalized("NFC", n)


@given(vi_text)
def test_fold_has_no_diacritics(s):
    f = fold(s)
    assert fold(f) == f
    assert fold(nfd(s)) == f
    assert all(not unicodedata.combining(ch) for ch in nfd(f))
    assert "đ" not in f


@given(st.text())
def test_slug_is_ascii(s):
    assert re.fullmatch(r"(?:[a-z0-9]+(?:-[a-z0-9]+)*)?", slug(s))


def test_lone_surrogates_become_replacement_characters_and_the_rest_stays():
    assert without_lone_surrogates("CB\ud83d") == "CB\ufffd"
    assert without_lone_surrogates("\ude00 x \ud800\ud800") == "\ufffd x \ufffd\ufffd"
    kept = "Chi bộ 😀 \ud7ff \ue000"  # a whole emoji and the code points around the range
    assert without_lone_surrogates(kept) == kept
    without_lone_surrogates("CB\ud83d").encode("utf-8")  # any file can hold it now

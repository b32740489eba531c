"""sheets_sync.core.values: what each value type accepts (template.md "Value types")."""
from __future__ import annotations

import unicodedata
from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from sheets_sync.core.values import (
    KINDS,
    Choice,
    ChoiceSet,
    code_key,
    display_raw,
    format_value,
    is_date_cell,
    parse,
)

EPOCH = date(1899, 12, 30)
R_DATE = "không phải ngày hợp lệ (ngày/tháng/năm)"
R_MONTH = "không phải tháng hợp lệ (MM/YYYY)"
R_INT = "không phải số nguyên"

RATING = ChoiceSet([Choice("good", "Tốt"), Choice("fair", "Khá"),
                    Choice("average", "Trung bình", ("TB",)), Choice("poor", "Kém")])
MEETING_TYPE = ChoiceSet([Choice("regular", "Thường kỳ"), Choice("thematic", "Chuyên đề"),
                          Choice("combined", "Thường kỳ kết hợp chuyên đề"),
                          Choice("extraordinary", "Bất thường")])
ATTENDANCE = ChoiceSet([Choice("present", "Có mặt"), Choice("excused", "Vắng có lý do"),
                        Choice("unexcused", "Vắng không lý do"),
                        Choice("exempt", "Miễn sinh hoạt")])
CHOICE_SETS = [RATING, MEETING_TYPE, ATTENDANCE]


def nfd(s: str) -> str:
    return unicodedata.normalize("NFD", s)


def strip_marks(s: str) -> str:
    plain = "".join(ch for ch in nfd(s) if not unicodedata.combining(ch))
    return plain.replace("đ", "d").replace("Đ", "D")


def serial(d: date) -> int:
    return (d - EPOCH).days


# --- choices -------------------------------------------------------------------------------------

def _names(cs: ChoiceSet):
    return [(c.id, name) for c in cs.choices for name in (c.label, *c.aliases)]


@st.composite
def typed_choice(draw):
    """A label or alias as staff type it: any normal form, case, spacing, with or without marks."""
    cs = draw(st.sampled_from(CHOICE_SETS))
    choice_id, name = draw(st.sampled_from(_names(cs)))
    if draw(st.booleans()):
        name = strip_marks(name)
    name = "".join(ch.upper() if draw(st.booleans()) else ch.lower() for ch in name)
    spaces = st.text(alphabet=" \u00a0\t", min_size=1, max_size=3)
    name = draw(spaces) + name.replace(" ", draw(spaces)) + draw(spaces)
    name = nfd(name) if draw(st.booleans()) else unicodedata.normalize("NFC", name)
    return cs, choice_id, name


@given(typed_choice())
def test_every_label_matches_however_typed(case):
    cs, choice_id, typed = case
    assert parse("choice", typed, cs) == (choice_id, None)


@pytest.mark.parametrize("typed, expected", [
    ("Tốt", "good"), ("tot", "good"), (" KHÁ ", "fair"), ("trung binh", "average"),
    ("Trung  Bình", "average"), ("TB", "average"), ("tb", "average"), ("kem", "poor"),
])
def test_rating_examples(typed, expected):
    assert parse("choice", typed, RATING) == (expected, None)


@pytest.mark.parametrize("typed", ["Xuất sắc", "T", "Tot lam", "1", 1, True, "Trung"])
def test_choice_outside_the_list(typed):
    assert parse("choice", typed, RATING) == (
        None, "không có trong danh sách: Tốt, Khá, Trung bình, Kém")


def test_exact_match_wins_over_folded_and_folded_ambiguity_is_invalid():
    cs = ChoiceSet([Choice("has", "Có"), Choice("old", "Cố")])
    assert parse("choice", "có", cs) == ("has", None)
    assert parse("choice", nfd("CỐ"), cs) == ("old", None)
    assert parse("choice", "co", cs)[0] is None
    assert parse("choice", "co", cs)[1].startswith("không có trong danh sách")


def test_choice_set_api():
    assert RATING.labels == ["Tốt", "Khá", "Trung bình", "Kém"]
    assert RATING.label_of("average") == "Trung bình"
    assert RATING.match(" tb ") == "average" and RATING.match("?") is None
    with pytest.raises(ValueError):
        ChoiceSet([Choice("a", "Tốt"), Choice("b", " TỐT")])


def test_programming_errors_raise():
    with pytest.raises(ValueError):
        parse("choice", "Tốt")
    with pytest.raises(ValueError):
        parse("colour", "red")


# --- dates ---------------------------------------------------------------------------------------

dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))


@given(dates, st.floats(min_value=0, max_value=0.999), st.sampled_from(["", " ", "  "]))
def test_dates_round_trip_through_every_form(d, fraction, pad):
    forms = [
        f"{d.day}/{d.month}/{d.year}", f"{d:%d/%m/%Y}", f"{d:%d-%m-%Y}", f"{d:%d.%m.%Y}",
        d.isoformat(), f"{d:%d/%m/%Y} 00:00:00", f"{d.day} / {d.month} / {d.year}",
        serial(d), serial(d) + fraction, d, datetime.combine(d, time(7, 30)),
    ]
    for raw in forms:
        raw = f"{pad}{raw}{pad}" if isinstance(raw, str) else raw
        assert parse("date", raw) == (d, None), raw
    assert format_value("date", d) == f"{d:%d/%m/%Y}"


@pytest.mark.parametrize("raw", [
    "3/11", "26/11/26", "31/02/2026", "2026-02-30", "03/11/0026", "3/11/2026/1", "03/11-2026",
    "46329", "ngày 3", "11/3/2026 Thứ ba", True, False, -1, 0, 1e12, serial(date(2201, 1, 1)),
    float("nan"), float("inf"), time(7, 30), date(1800, 1, 1), timedelta(days=1),
])
def test_invalid_dates(raw):
    assert parse("date", raw) == (None, R_DATE)


def test_date_serial_bounds():
    assert parse("date", serial(date(1900, 1, 1))) == (date(1900, 1, 1), None)
    assert parse("date", serial(date(2200, 12, 31)) + 0.9) == (date(2200, 12, 31), None)


def test_is_date_cell():
    assert is_date_cell(date(2026, 3, 11)) and is_date_cell(datetime(2026, 3, 11))
    assert is_date_cell(46092) and is_date_cell(46092.0)
    assert not is_date_cell("11/03/2026") and not is_date_cell(True) and not is_date_cell(None)


# --- months --------------------------------------------------------------------------------------

@given(st.integers(1990, 2100), st.integers(1, 12), st.integers(1, 28))
def test_months_round_trip_through_every_form(y, m, day):
    forms = [
        f"{m:02d}/{y}", f"{m}/{y}", f"T{m}/{y}", f"t{m:02d}/{y}", f"tháng {m}/{y}",
        f"Tháng {m} / {y}", nfd(f"Tháng {m}/{y}"), f"thang {m}/{y}", f"THÁNG {m:02d}/{y}",
        f"{y}-{m:02d}", f"{y}-{m}", f"{m}-{y}", f"{m:02d}.{y}", f" {m}/{y} ",
        date(y, m, day), datetime(y, m, day, 8), serial(date(y, m, day)),
        serial(date(y, m, day)) + 0.5,
    ]
    expected = f"{y:04d}-{m:02d}"
    for raw in forms:
        assert parse("month", raw) == (expected, None), raw
    assert format_value("month", expected) == f"{m:02d}/{y}"


@pytest.mark.parametrize("raw", [
    "11", "13/2026", "0/2026", "11/26", "T13/2026", "2026", "tháng 11", "11/2026/1", "2026-13",
    11, 2026, 11.0, True, date(1989, 12, 1), serial(date(1989, 12, 31)), time(11, 0),
])
def test_invalid_months(raw):
    assert parse("month", raw) == (None, R_MONTH)


# --- times ---------------------------------------------------------------------------------------

@given(st.integers(0, 23), st.integers(0, 59))
def test_times_round_trip_through_every_form(h, m):
    minutes = h * 60 + m
    forms = [f"{h:02d}:{m:02d}", f"{h}:{m:02d}", f"{h:02d}:{m:02d}:00", f"{h}h{m:02d}",
             f"{h}H{m}", f"{h} giờ {m}", f"{h} gio {m} phút", f"{h}g{m:02d}", time(h, m),
             time(h, m, 59), minutes / 1440, timedelta(minutes=minutes)]
    for raw in forms:
        assert parse("time", raw) == (minutes, None), raw
    assert parse("time", f"{h}h") == (h * 60, None)
    assert format_value("time", minutes) == f"{h:02d}:{m:02d}"


@pytest.mark.parametrize("raw, expected", [
    ("07:30", 450), ("7:30", 450), ("7h30", 450), ("7h", 420), ("7 giờ 30", 450), ("19:00", 1140),
    ("07:30:00", 450), (0.3125, 450), (time(7, 30), 450), (0, 0), (0.99999999, 1439),
])
def test_time_examples(raw, expected):
    assert parse("time", raw) == (expected, None)


@pytest.mark.parametrize("raw", [
    "25:00", "24:00", "7:60", "07:30:61", "7", "7.30", "giờ", "7:5", 1, 1.25, -0.1, True,
    datetime(2026, 11, 3, 7, 30), timedelta(hours=25), float("nan"),
])
def test_invalid_times(raw):
    value, reason = parse("time", raw)
    assert value is None and reason == "không phải giờ hợp lệ (giờ:phút)"


# --- numbers -------------------------------------------------------------------------------------

@given(st.integers(-10**6, 10**6))
def test_ints_round_trip(n):
    for raw in (n, float(n), str(n), f" {n} ", f"{n}.0", f"{n},0", f"{n},00"):
        assert parse("int", raw) == (n, None), raw


@pytest.mark.parametrize("raw", [
    "12 đ/c", "12,5", "2.000", "1.250", "12a", "1e3", True, False, 12.5, float("nan"),
    float("inf"), date(2026, 1, 1), "mười hai",
])
def test_invalid_ints(raw):
    assert parse("int", raw) == (None, R_INT)


@given(st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False))
def test_numbers_round_trip_with_either_decimal_mark(x):
    text = f"{x:f}"
    assert parse("number", text) == (float(x), None)
    assert parse("number", text.replace(".", ",")) == (float(x), None)
    assert parse("number", float(x)) == (float(x), None)


@pytest.mark.parametrize("raw, expected", [
    ("92,5", 92.5), ("92.5", 92.5), (" 92 ", 92.0), (92, 92.0), (92.5, 92.5), (",5", 0.5),
])
def test_number_examples(raw, expected):
    assert parse("number", raw) == (expected, None)


@pytest.mark.parametrize("raw", ["92,5%", "1.234,5", "abc", "1e3", True, float("nan"),
                                 float("-inf"), 10**400, date(2026, 1, 1)])
def test_invalid_numbers(raw):
    assert parse("number", raw) == (None, "không phải số")


def test_format_number():
    assert format_value("number", 92.5) == "92,5"
    assert format_value("number", 92.0) == "92"
    assert format_value("number", 0.1 + 0.2) == "0,3"
    assert format_value("int", 12) == "12"


# --- yes/no --------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw", ["Có", "có", nfd("CÓ"), "co", "c", "x", "X", "yes", "Y", "1",
                                 "TRUE", "true", True, 1, 1.0, " có "])
def test_yes(raw):
    assert parse("yesno", raw) == (True, None)


@pytest.mark.parametrize("raw", ["Không", "KHÔNG", nfd("không"), "khong", "k", "no", "N", "0",
                                 "FALSE", False, 0, 0.0])
def test_no(raw):
    assert parse("yesno", raw) == (False, None)


@pytest.mark.parametrize("raw", ["có lẽ", "ok", "2", 2, 0.5, "không rõ", date(2026, 1, 1)])
def test_invalid_yesno(raw):
    assert parse("yesno", raw) == (None, "không phải Có/Không")


def test_format_yesno():
    assert (format_value("yesno", True), format_value("yesno", False)) == ("Có", "Không")


# --- code and text -------------------------------------------------------------------------------

@given(st.from_regex(r"\s*0[0-9]{0,5}\s*", fullmatch=True) | st.text())
def test_codes_are_never_numericised(s):
    assume(s.strip())
    assert parse("code", s) == (unicodedata.normalize("NFC", s).strip(), None)


@pytest.mark.parametrize("raw, expected", [
    ("01", "01"), (" CB01 ", "CB01"), (1, "1"), (12.0, "12"), (nfd("Thôn 1"), "Thôn 1"),
])
def test_code_examples(raw, expected):
    assert parse("code", raw) == (expected, None)


def test_code_rejects_booleans_and_keys_ignore_case():
    assert parse("code", True) == (None, "không phải mã hợp lệ")
    assert code_key(" cb01 ") == code_key("CB01") == "cb01"


@pytest.mark.parametrize("raw, expected", [
    ("  Nguyễn Văn An ", "Nguyễn Văn An"), (nfd("Bí thư"), "Bí thư"), (12.0, "12"), (12.5, "12.5"),
    (7, "7"), (date(2026, 11, 3), "03/11/2026"), ("dòng 1\ndòng 2", "dòng 1\ndòng 2"),
])
def test_text_examples(raw, expected):
    assert parse("text", raw) == (expected, None)


# --- any input -----------------------------------------------------------------------------------

MESSY_TEXT = st.one_of(
    st.text(),
    st.text(alphabet="0123456789/.-,:hHgTtđĐáàạ \u00a0"),
    st.from_regex(r"\s*[0-9]{1,4}\s*[/.,:h-]?\s*[0-9]{0,4}\s*[/.-]?\s*[0-9]{0,5}\s*",
                  fullmatch=True),
)
ANY_CELL = st.one_of(
    st.none(), st.booleans(), MESSY_TEXT, st.integers(), st.integers(-10**500, 10**500),
    st.floats(allow_nan=True, allow_infinity=True), st.datetimes(), st.dates(), st.times(),
)
ODD_VALUES = st.one_of(st.binary(), st.lists(st.integers(), max_size=2), st.decimals(),
                       st.timedeltas(), st.complex_numbers(), st.dictionaries(st.text(), st.text()))
VALUE_TYPES = {"code": str, "text": str, "int": int, "number": float, "date": date, "month": str,
               "time": int, "choice": str, "yesno": bool}


def _check_outcome(kind, raw, result):
    value, reason = result
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        assert result == (None, None)
    elif reason is None:
        assert type(value) is VALUE_TYPES[kind], (kind, raw, value)
    else:
        assert value is None and reason and unicodedata.is_normalized("NFC", reason)


@given(ANY_CELL | ODD_VALUES)
def test_any_value_parses_or_gives_a_reason(raw):
    for kind in KINDS:
        _check_outcome(kind, raw, parse(kind, raw, RATING if kind == "choice" else None))
    assert isinstance(display_raw(raw), str) and len(display_raw(raw)) <= 60


@given(MESSY_TEXT)
def test_any_text_is_a_text_or_code_value(s):
    assume(s.strip())
    assert parse("text", s)[1] is None and parse("code", s)[1] is None


def test_equal_raws_of_different_types_are_not_confused_by_the_cache():
    assert parse("int", 1) == (1, None)
    assert parse("int", True) == (None, R_INT)
    assert parse("int", 1.0) == (1, None)
    assert parse("yesno", True) == (True, None)
    assert parse("date", date(2026, 1, 1)) == (date(2026, 1, 1), None)
    assert parse("date", datetime(2026, 1, 1, 12)) == (date(2026, 1, 1), None)


@pytest.mark.parametrize("raw", [None, "", "   ", " \u00a0\t\n"])
def test_empty_cells(raw):
    for kind in KINDS:
        assert parse(kind, raw, RATING) == (None, None)


# --- display -------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    (datetime(2026, 11, 3), "03/11/2026"), (datetime(2026, 11, 3, 7, 30), "03/11/2026 07:30"),
    (date(2026, 11, 3), "03/11/2026"), (12.0, "12"), (12.5, "12.5"), (46329, "46329"),
    ("  12 đ/c ", "12 đ/c"), ("dòng 1\ndòng 2", "dòng 1 dòng 2"), (True, "TRUE"),
    (time(7, 30), "07:30"), (None, ""), ("x" * 60, "x" * 60), ("x" * 61, "x" * 59 + "…"),
    (float("nan"), "nan"),
])
def test_display_raw(raw, expected):
    assert display_raw(raw) == expected


def test_format_value_of_empty_and_plain_kinds():
    assert format_value("date", None) == ""
    assert format_value("text", "Ghi chú") == "Ghi chú"

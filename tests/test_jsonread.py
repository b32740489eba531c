"""``core.jsonread.loads`` reads what ``json.loads`` reads, with the same values and types,
whichever reader (orjson or json) it takes."""
from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from sheets_sync.core import jsonread

_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10),
    st.sampled_from([2**63, -(2**63) - 1, 2**64, 10**30, 1e16, 0.1 + 0.2, -0.0, "\ud800",
                     "Chi bộ Đông Hải", '{"d":"2026-03-07"}', "1234567890123456789"]),
)
_DOCS = st.recursive(_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=5), inner, max_size=5)),
    max_leaves=30)


@settings(max_examples=400, deadline=None)
@given(_DOCS, st.booleans(), st.sampled_from(["utf-8", "utf-16", "utf-32"]))
def test_loads_reads_what_json_reads(doc, ascii_only, encoding):
    text = json.dumps(doc, ensure_ascii=ascii_only)
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:  # a lone surrogate: only ASCII JSON can hold it
        data = json.dumps(doc).encode(encoding)
    assert repr(jsonread.loads(data)) == repr(json.loads(data))


def test_objects_the_hook_reads_go_to_json():
    def hook(obj):
        return ("date", obj["d"]) if list(obj) == ["d"] else obj

    data = json.dumps({"rows": [[1, {"d": "2026-03-07"}, "x"]]}).encode()
    assert jsonread.loads(data, hook, (b'{"d":',)) == {"rows": [[1, ("date", "2026-03-07"), "x"]]}
    assert jsonread.loads(data) == {"rows": [[1, {"d": "2026-03-07"}, "x"]]}  # no hook named


def test_integers_beyond_64_bits_stay_integers():
    data = b"[18446744073709551616, -9223372036854775809, 9223372036854775807]"
    assert jsonread.loads(data) == [2**64, -(2**63) - 1, 2**63 - 1]
    assert all(type(v) is int for v in jsonread.loads(data))

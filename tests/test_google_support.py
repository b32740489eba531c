"""Checks of the shared Google test helpers and fixtures themselves."""
from __future__ import annotations

import pytest

from google_support import MEETINGS, TEMPLATE, TOOL_TABS, assert_staff_unchanged


def test_seeded_district_mirrors_the_workbooks(district):
    assert set(district.ids) == {u.code for u in district.local.units}
    for unit in district.local.units:
        titles = district.titles(unit.code)
        assert MEETINGS in titles
        assert not TOOL_TABS & set(titles)
    stats = district.emu.stats()
    assert stats["sheets"] == {"reads": 0, "writes": 0}


def test_staff_cells_ignore_tool_columns_and_tabs():
    before = {"A": [["Mã", "x"], ["1", None]]}
    after = {"A": [["Mã", "x", TEMPLATE.status_header], ["1", None, "flag"]],
             TEMPLATE.check_tab: [["anything"]]}
    assert_staff_unchanged(before, after)
    with pytest.raises(AssertionError):
        assert_staff_unchanged(before, {"A": [["Mã", "y"], ["1", None]]})

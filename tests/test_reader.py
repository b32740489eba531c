"""Reader: workbooks broken the ways staff break them -> exact (tab, row, rule) findings."""
from __future__ import annotations

import unicodedata
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from helpers import TEMPLATE, cell, flat, meeting
from sheets_sync.core.errors import UnitReadError
from sheets_sync.core.grid import parse_unit
from sheets_sync.sources.local_reader import read_xlsx

AS_OF = date(2026, 11, 25)
FIELDS = ("tab", "row", "rule")


def headers(tab_id: str) -> list[str]:
    return [c.header for c in TEMPLATE.tab(tab_id).columns]


def ids(tab_id: str) -> list[str]:
    return [c.id for c in TEMPLATE.tab(tab_id).columns]


def write(path, tabs: dict[str, list[list]]):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in tabs.items():
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(r)
    wb.save(path)
    return path


def row_of(tab_id: str, values: dict, order: list[str] | None = None) -> list:
    return [values.get(c) for c in (order or ids(tab_id))]


def clean_tabs() -> dict[str, list[list]]:
    return {
        "Chi bộ": [headers("cells"), row_of("cells", cell("CB01")), row_of("cells", cell("CB02"))],
        "Sinh hoạt": [headers("meetings"), row_of("meetings", meeting("CB01", 2026, 10)),
                      row_of("meetings", meeting("CB02", 2026, 10))],
        "Triển khai": [headers("briefings"), ["10/2026", date(2026, 9, 25), "Hội nghị", 2]],
        "Dự sinh hoạt": [headers("visits")],
    }


def read(path):
    return parse_unit(TEMPLATE, read_xlsx(path), "NT", "Nhân Thịnh", AS_OF)


def test_clean_workbook_has_no_findings(tmp_path):
    unit = read(write(tmp_path / "u.xlsx", clean_tabs()))
    assert unit.findings == []
    meetings = unit.tab("meetings")
    assert meetings.rows == [2, 3]
    assert meetings.col("month") == ["2026-10", "2026-10"]
    assert meetings.col("meeting_date") == [date(2026, 10, 3)] * 2
    assert meetings.col("rating") == ["good", "good"]


def test_title_rows_nfd_headers_and_no_diacritics(tmp_path):
    tabs = clean_tabs()
    nfd = [unicodedata.normalize("NFD", h) for h in headers("cells")]
    tabs["Chi bộ"] = [["SỔ THEO DÕI CHI BỘ"], [], nfd, *tabs["Chi bộ"][1:]]
    plain = list(headers("meetings"))
    plain[ids("meetings").index("meeting_date")] = "Ngay sinh hoat"
    tabs["Sinh hoạt"][0] = plain
    unit = read(write(tmp_path / "u.xlsx", tabs))
    assert unit.findings == []
    assert unit.tab("cells").header_row == 3
    assert unit.tab("cells").rows == [4, 5]
    assert unit.tab("meetings").col("meeting_date")[0] == date(2026, 10, 3)


def test_extra_and_reordered_columns(tmp_path):
    tabs = clean_tabs()
    order = list(reversed(ids("meetings")))
    hdr = ["Người nhập"] + [TEMPLATE.tab("meetings").column(c).header for c in order]
    tabs["Sinh hoạt"] = [hdr] + [["Lan"] + row_of("meetings", meeting(c, 2026, 10), order)
                                 for c in ("CB01", "CB02")]
    unit = read(write(tmp_path / "u.xlsx", tabs))
    assert unit.findings == []
    assert unit.tab("meetings").extra_headers == {"Người nhập": 0}
    assert unit.tab("meetings").col("cell_code") == ["CB01", "CB02"]


def test_unreadable_cells_carry_their_rows_period_whatever_the_column_order(tmp_path):
    """Kỳ tháng moved to the right of the other columns: a DATA-INVALID finding of a cell
    left of it still belongs to its row's month, as the row's other findings do."""
    tabs = clean_tabs()
    order = [c for c in ids("meetings") if c != "month"] + ["month"]
    hdr = [TEMPLATE.tab("meetings").column(c).header for c in order]
    bad = meeting("CB01", 2026, 10, meeting_date="31/02/2026", present="nhiều")
    tabs["Sinh hoạt"] = [hdr, row_of("meetings", bad, order)]
    unit = read(write(tmp_path / "u.xlsx", tabs))
    invalid = [f for f in unit.findings if f.rule == "DATA-INVALID"]
    assert [(f.row, f.period) for f in invalid] == [(2, "2026-10"), (2, "2026-10")]
    assert "Ngày sinh hoạt" in invalid[0].message and "Số có mặt" in invalid[1].message


def test_duplicated_header_uses_first_and_missing_required_column(tmp_path):
    tabs = clean_tabs()
    hdr = headers("cells") + ["Mã chi bộ"]
    tabs["Chi bộ"] = [hdr] + [r + ["XX"] for r in tabs["Chi bộ"][1:]]
    keep = [c for c in ids("meetings") if c != "premeeting_date"]
    hdr = [TEMPLATE.tab("meetings").column(c).header for c in keep]
    hdr[keep.index("present")] = "So co mat nguoi"  # a near miss: suggested
    tabs["Sinh hoạt"] = [hdr, row_of("meetings", meeting("CB01", 2026, 10), keep)]
    unit = read(write(tmp_path / "u.xlsx", tabs))
    assert flat(unit.findings, FIELDS) == [
        ("Chi bộ", None, "TPL-COLUMN-DUPLICATE"),
        ("Sinh hoạt", None, "TPL-COLUMN-MISSING"),
        ("Sinh hoạt", None, "TPL-COLUMN-MISSING"),
    ]
    assert unit.tab("cells").col("cell_code") == ["CB01", "CB02"]
    messages = " ".join(f.message for f in unit.findings)
    assert "Ngày họp chi ủy" in messages and "So co mat nguoi" in messages


def test_missing_required_tab_and_optional_tab_absent(tmp_path):
    tabs = clean_tabs()
    del tabs["Triển khai"]
    tabs["Trien khai 2026"] = [["x"]]
    unit = read(write(tmp_path / "u.xlsx", tabs))
    assert flat(unit.findings, FIELDS) == [("Triển khai", None, "TPL-TAB-MISSING")]
    assert "Trien khai 2026" in unit.findings[0].message
    assert {"briefings", "attendance", "annual", "halls"} == unit.missing_tabs


def test_blank_rows_codes_with_spaces_and_booleans_in_numbers(tmp_path):
    tabs = clean_tabs()
    bad = meeting("  CB02 ", 2026, 10, present=True)
    tabs["Sinh hoạt"] = [headers("meetings"), row_of("meetings", meeting("CB01", 2026, 10)),
                         [None] * 5, [], row_of("meetings", bad)]
    unit = read(write(tmp_path / "u.xlsx", tabs))
    m = unit.tab("meetings")
    assert m.rows == [2, 5]
    assert m.col("cell_code") == ["CB01", "CB02"]
    assert flat(unit.findings, FIELDS) == [("Sinh hoạt", 5, "DATA-INVALID")]
    assert '"TRUE"' in unit.findings[0].message or '"True"' in unit.findings[0].message


def test_required_invalid_future_and_swap(tmp_path):
    tabs = clean_tabs()
    rows = [
        meeting("CB01", 2026, 10, rating=None, minutes_full=None),  # rating: own rule
        meeting("CB02", 2026, 10, meeting_date="3/10"),  # no year
        meeting("CB01", 2026, 11, meeting_date=date(2026, 12, 3)),  # future
        meeting("CB02", 2026, 5, meeting_date=datetime(2026, 3, 5)),  # Excel swapped 05/03
        meeting("CB02", 2026, 6, meeting_date="05/06/2026", duration="95 phút"),
        meeting("CB01", 2026, 9, meeting_type="Chuyên đề", topic=None, minutes_full=None,
                present=None, required_count=None, excused=None, unexcused=None, rating=None),
    ]
    tabs["Sinh hoạt"] = [headers("meetings")] + [row_of("meetings", r) for r in rows]
    unit = read(write(tmp_path / "u.xlsx", tabs))
    assert flat(unit.findings, FIELDS) == [
        ("Sinh hoạt", 2, "DATA-REQUIRED"),  # minutes_full
        ("Sinh hoạt", 3, "DATA-INVALID"),
        ("Sinh hoạt", 4, "DATA-FUTURE-DATE"),
        ("Sinh hoạt", 5, "DATA-INVALID"),
        ("Sinh hoạt", 6, "DATA-INVALID"),
        ("Sinh hoạt", 7, "DATA-REQUIRED"),  # topic of a thematic meeting
    ]
    by_row = {f.row: f for f in unit.findings}
    assert "nhầm ngày/tháng" in by_row[5].message
    assert '"3/10"' in by_row[3].message and "Ngày sinh hoạt" in by_row[3].message
    assert '"95 phút"' in by_row[6].message
    assert by_row[2].period == "2026-10" and by_row[2].cell == "CB01"


def test_no_header_row_in_first_five_rows(tmp_path):
    tabs = clean_tabs()
    tabs["Dự sinh hoạt"] = [[None]] * 6 + [headers("visits")]
    unit = read(write(tmp_path / "u.xlsx", tabs))
    required = [c for c in TEMPLATE.tab("visits").columns if c.required]
    expected = [("Dự sinh hoạt", None, "TPL-COLUMN-MISSING")] * len(required)
    assert flat(unit.findings, FIELDS) == expected


def test_duration_column_optional_when_both_times_exist(tmp_path):
    tabs = clean_tabs()
    keep = [c for c in ids("meetings") if c != "duration"]
    tabs["Sinh hoạt"] = [[TEMPLATE.tab("meetings").column(c).header for c in keep],
                         row_of("meetings", meeting("CB01", 2026, 10), keep)]
    assert read(write(tmp_path / "u.xlsx", tabs)).findings == []


def test_missing_file_and_not_a_workbook(tmp_path):
    with pytest.raises(UnitReadError) as e:
        read_xlsx(tmp_path / "none.xlsx")
    assert e.value.status == "unreachable"
    (tmp_path / "bad.xlsx").write_text("không phải excel")
    with pytest.raises(UnitReadError) as e:
        read_xlsx(tmp_path / "bad.xlsx")
    assert e.value.status == "invalid"


@pytest.mark.parametrize("fixture, words", [
    # an .xlsx with a password to open it (encrypted by msoffcrypto-tool, as Office does)
    ("unit-password.xlsx", ["được đặt mật khẩu mở tệp", "bỏ mật khẩu", "rồi lưu lại"]),
    # an Excel 97–2003 workbook saved by LibreOffice, given an .xlsx name
    ("unit-97-2003.xls", ["là sổ tính Excel 97–2003 (.xls)", "lưu lại dưới dạng .xlsx"]),
])
def test_a_password_or_an_old_format_says_what_to_do(tmp_path, fixture, words):
    """Both are OLE files, not zip packages: the message says which, and the fix."""
    path = tmp_path / "u.xlsx"
    path.write_bytes((Path(__file__).parent / "fixtures" / fixture).read_bytes())
    with pytest.raises(UnitReadError) as e:
        read_xlsx(path)
    assert e.value.status == "invalid"
    for w in words:
        assert w in str(e.value), str(e.value)

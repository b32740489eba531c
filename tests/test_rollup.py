"""The roll-up workbook, built from real unit workbooks read by the real checker."""
from __future__ import annotations

import dataclasses
import gc
import json
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from helpers import cell, meeting, sheet, workbook
from sheets_sync.core.checker import check
from sheets_sync.core.config import parse_config
from sheets_sync.core.errors import SheetsSyncError
from sheets_sync.core.findings import ERROR, INFO, WARNING, Finding
from sheets_sync.core.raw import RawWorkbook
from sheets_sync.core.rules.base import make_context
from sheets_sync.core.rules.catalog import rule_name_vi
from sheets_sync.outputs.rollup import SHEETS, build_rollup, csv_path, rollup_path, write_latest
from sheets_sync.outputs.rollup import build as build_mod
from sheets_sync.outputs.rollup import sheets as sheets_mod
from sheets_sync.outputs.rollup import violations as violations_mod
from sheets_sync.outputs.rollup.indicators import total, unit_indicators
from sheets_sync.outputs.rollup.layout import date_line, place_name
from sheets_sync.sources.local_reader import LocalBackend

AS_OF = date(2026, 11, 25)
YEAR = 2026
SECRET = "Nguyễn Văn Bí Mật"
INJECT_LINK = '=HYPERLINK("http://x")'
INJECT_SUM = "=1+1"
INJECT_AT = "@SUM(1+1)"
GOOGLE_KEY = "KEY123abc"
RUN_INFO = {"started": "2026-11-25T08:00:00", "finished": "2026-11-25T08:03:10",
            "units_read": 2, "units_failed": 1, "notes": ["Lần chạy thử."],
            "requests": {"reads": 3, "writes": 1, "drive": 2}, "retries": 1}


def save_xlsx(path: Path, **tabs) -> None:
    """A unit workbook on disk: every value typed as staff would (strings stay strings)."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for tab_id, rows in tabs.items():
        raw = sheet(tab_id, rows)
        ws = wb.create_sheet(raw.title)
        for r, values in enumerate(raw.rows, start=1):
            for c, value in enumerate(values, start=1):
                if value is None:
                    continue
                target = ws.cell(r, c, value)
                if isinstance(value, str):
                    target.data_type = "s"  # "=1+1" typed as text, not a formula
    wb.save(path)


def nt_tabs() -> dict:
    """Nhân Thịnh: two cells; CB02 misses November and met outside the window in March (with
    a reason); a member of CB02 absent without reason three months; injection texts."""
    meetings = [meeting("CB01", YEAR, m) for m in range(1, 12)]
    meetings += [meeting("CB02", YEAR, m) for m in range(1, 11) if m != 3]
    meetings.append(meeting("CB02", YEAR, 3, day=12, reason="Mưa bão",
                            premeeting_date=date(YEAR, 3, 10)))
    for q in range(1, 4):
        for code in ("CB01", "CB02"):
            meetings.append(meeting(code, YEAR, 3 * q - 1, day=20, meeting_type="Chuyên đề",
                                    topic="Học tập và làm theo Bác",
                                    premeeting_date=date(YEAR, 3 * q - 1, 15)))
    briefings = [{"month": f"{m:02d}/{YEAR}",
                  "briefing_date": date(YEAR - 1, 12, 20) if m == 1 else date(YEAR, m - 1, 20),
                  "form": "Hội nghị", "secretaries": 2} for m in range(1, 13)]
    visits = [{"supervisor": "Trần Văn Bình", "position": "Ủy viên Ban Thường vụ",
               "cell_code": "CB01", "visit_date": date(YEAR, m, 3), "in_book": "Có",
               "cell_confirmed": "Có", "unit_confirmed": "Có",
               "difficulties": INJECT_SUM if m == 2 else ("Kinh phí còn hạn hẹp." if m == 5
                                                          else None)}
              for m in range(1, 11)]
    attendance = [{"cell_code": "CB02", "month": f"{m:02d}/{YEAR}", "member_name": SECRET,
                   "status": "Vắng không lý do"} for m in (1, 2, 4)]
    attendance += [{"cell_code": "CB02", "month": f"{m:02d}/{YEAR}", "member_name": SECRET,
                    "status": "Có mặt"} for m in (3, 5, 6)]
    return dict(
        cells=[cell("CB01", cell_name=INJECT_LINK, members=20), cell("CB02", members=15)],
        meetings=meetings,
        briefings=briefings,
        visits=visits,
        attendance=attendance,
        annual=[{"cell_code": "CB01", "year": YEAR, "self_rating": "Tốt"},
                {"cell_code": "CB02", "year": YEAR, "self_rating": "Tốt"}],
        halls=[{"hamlet": INJECT_AT, "cell_code": "CB01", "population": 900, "capacity": 50,
                "state": "Chưa có", "proposal": "Xây mới"},
               {"hamlet": "Thôn Vũ Xá", "cell_code": "CB02", "population": 1500,
                "capacity": 10, "state": "Tốt", "proposal": "Nâng cấp"}],
    )


def nm_workbook() -> RawWorkbook:
    """Nhân Mỹ (a Google unit): no Triển khai / Dự sinh hoạt tabs; May is too short (accepted
    by the operator), June outside the window with an explanation."""
    meetings = [meeting("CB01", YEAR, m) for m in range(1, 12) if m not in (5, 6)]
    meetings.append(meeting("CB01", YEAR, 5, duration=60, start_time="07:30",
                            end_time="08:30", rating="Khá", score=75))
    meetings.append(meeting("CB01", YEAR, 6, day=15, premeeting_date=date(YEAR, 6, 10),
                            explanation="Trùng lịch bầu cử, đã báo cáo."))
    raw = workbook(cells=[cell("CB01", members=12)], meetings=meetings)
    raw.meta = {"spreadsheet": GOOGLE_KEY,
                "sheet_ids": {"Chi bộ": 222, "Sinh hoạt": 111}}
    return raw


class FakeGoogle:
    def read(self, unit):
        return nm_workbook()

    def version(self, unit):
        return "1"


def make_config(root: Path, show_member_names: bool = False):
    data = {
        "parent": {"name": "Đảng bộ huyện Lý Nhân"},
        "labels": {"parent": "Huyện ủy", "unit": "Đảng ủy xã, thị trấn", "cell": "Chi bộ"},
        "units": [
            {"code": "NT", "name": "Đảng ủy xã Nhân Thịnh", "path": "data/nt.xlsx"},
            {"code": "NM", "name": "Đảng ủy xã Nhân Mỹ",
             "spreadsheet": f"https://docs.google.com/spreadsheets/d/{GOOGLE_KEY}/edit",
             "rules": {"window_end_day": 10}},
            {"code": "XX", "name": "Đảng ủy xã Vắng Mặt", "path": "data/khong-co.xlsx"},
        ],
        "supervisors": [
            {"name": "Trần Văn Bình", "role": "Ủy viên Ban Thường vụ", "units": ["NT"]},
            {"name": "Lê Thị Hoa", "role": "Huyện ủy viên", "units": ["NM"]},
        ],
        "accepted": [{"unit": "NM", "rule": "MEET-DURATION"}],
        "rollup": {"show_member_names": show_member_names},
    }
    return parse_config(data, root / "config.toml")


def backend_for(unit):
    return FakeGoogle() if unit.is_google else LocalBackend()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("rollup")
    (root / "data").mkdir()
    save_xlsx(root / "data" / "nt.xlsx", **nt_tabs())
    config = make_config(root)
    report, reads = check(config, backend_for, AS_OF)
    return root, config, report, reads


def build(world, out: Path, run_info=None, config=None, reads=None) -> Path:
    root, base_config, report, base_reads = world
    config = config or base_config
    config = dataclasses.replace(config, out_dir=out)
    path = rollup_path(config, AS_OF)
    build_rollup(config, report, reads or base_reads, run_info or RUN_INFO, path)
    return path


@pytest.fixture(scope="module")
def built(world, tmp_path_factory):
    path = build(world, tmp_path_factory.mktemp("out"))
    return path, openpyxl.load_workbook(path)


def values(ws) -> list[list]:
    return [[c.value for c in row] for row in ws.iter_rows()]


def find_row(ws, col: int, value) -> int:
    for row in ws.iter_rows():
        if row[col - 1].value == value:
            return row[0].row
    raise AssertionError(f"{value!r} not in column {col} of {ws.title}")


def summary_table(ws):
    """(header row, {column label: column index}, unit rows, total row) of Tổng hợp."""
    head = find_row(ws, 1, "STT")
    cols = {ws.cell(head, c).value: c for c in range(1, ws.max_column + 1)}
    total_row = find_row(ws, 3, "Tổng cộng")
    return head, cols, list(range(head + 1, total_row)), total_row


# --- tests ---------------------------------------------------------------------------------------

def test_the_inputs_cover_what_the_roll_up_shows(world):
    _root, _config, report, reads = world
    assert [u.status for u in report.units] == ["ok", "ok", "unreachable"]
    rules = {f.rule for f in report.findings}
    assert {"MEET-MISSING", "MEET-WINDOW", "MEMBER-ABANDON", "MEET-DURATION",
            "TPL-TAB-MISSING", "ANNUAL-RATING", "HOUSE-NEED"} <= rules
    assert any(f.accepted for f in report.findings)
    assert any(f.explained and not f.accepted for f in report.findings)
    assert reads[0].data.tab("cells").col("cell_name")[0] == INJECT_LINK


def test_sheets_present_in_order_with_file_name_and_properties(built):
    path, wb = built
    assert wb.sheetnames == list(SHEETS) == [
        "Tổng hợp", "Biểu đồ", "Xếp thứ", "Ma trận", "Vi phạm", "Lưu ý", "Dự sinh hoạt",
        "Đánh giá năm", "Nhà văn hóa", "Nhật ký"]
    assert path.name == "tong-hop-dang-bo-huyen-ly-nhan-2026-11.xlsx"
    assert wb.properties.creator == "sheets-sync"
    assert wb.properties.created == datetime(2026, 11, 25)
    assert "2026" in wb.properties.title
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temp files


def test_party_document_layout_print_setup_and_font(built):
    _path, wb = built
    ws = wb["Tổng hợp"]
    texts = [v for row in values(ws) for v in row if isinstance(v, str)]
    # Hướng dẫn 36-HD/VPTW: the issuing committee, then the Board; from the config's labels
    # (derived defaults here).
    assert "HUYỆN ỦY LÝ NHÂN" in texts and "BAN TỔ CHỨC" in texts
    assert any(str(t).endswith("-BC/BTCHU") for t in texts)
    assert "ĐẢNG CỘNG SẢN VIỆT NAM" in texts
    assert "Lý Nhân, ngày 25 tháng 11 năm 2026" in texts
    assert "BÁO CÁO TỔNG HỢP CHẤT LƯỢNG SINH HOẠT CHI BỘ NĂM 2026" in texts
    # The head of a Board signs in his own name ("TRƯỞNG BAN", no "T/M" by default).
    assert "TRƯỞNG BAN" in texts and "Nơi nhận:" in texts
    assert "T/M BAN TỔ CHỨC" not in texts
    date_cell = next(c for row in ws.iter_rows() for c in row if c.value == texts[texts.index(
        "Lý Nhân, ngày 25 tháng 11 năm 2026")])
    assert date_cell.font.i
    assert ws["A1"].font.name == "Times New Roman"
    head, _cols, _rows, _total = summary_table(ws)
    assert ws.freeze_panes == f"D{head + 1}"
    for name in SHEETS:
        sheet_ = wb[name]
        assert sheet_.page_setup.orientation == "landscape"
        assert sheet_.page_setup.paperSize == 9
        assert sheet_.page_setup.fitToWidth in (None, 1)  # 1 is the default, left out
        assert sheet_.page_setup.fitToHeight == 0
        assert sheet_.sheet_properties.pageSetUpPr.fitToPage
        for row in sheet_.iter_rows():
            for c in row:
                if c.value is not None:
                    assert c.font.name == "Times New Roman", (name, c.coordinate)
    assert wb["Vi phạm"].auto_filter.ref and wb["Ma trận"].auto_filter.ref
    assert wb["Vi phạm"].print_title_rows


def test_totals_equal_the_sum_of_units(world, built):
    _root, config, report, reads = world
    _path, wb = built
    ws = wb["Tổng hợp"]
    _head, cols, rows, total_row = summary_table(ws)
    assert [ws.cell(r, 2).value for r in rows] == ["NT", "NM", "XX"]
    counted = ["Số chi bộ", "Số đảng viên", "Tốt", "Khá", "TB", "Kém", "Lượt cấp trên dự",
               "Vi phạm", "Cảnh báo", "Trong đó: đã giải trình, chờ xem xét",
               "Đã chấp nhận giải trình"]
    for label in counted:
        c = cols[label]
        assert ws.cell(total_row, c).value == sum(ws.cell(r, c).value or 0 for r in rows), label
    # Ratios: the units' values and the pooled total, recomputed from the indicators.
    inds = []
    for read, result in zip(reads, report.units):
        ctx = (make_context(read.data, read.config.rules, AS_OF, YEAR)
               if read.data is not None else None)
        inds.append(unit_indicators(ctx, result, [f for f in report.findings
                                                  if f.unit == result.code]))
    tot = total(inds)
    for label, attr in (("Có sinh hoạt", "held"), ("Đủ thời lượng", "duration"),
                        ("Tỷ lệ dự chung", "pooled"), ("Dữ liệu đầy đủ (tỷ lệ)", "completeness")):
        c = cols[label]
        for r, ind in zip(rows, inds):
            want = getattr(ind, attr)
            assert ws.cell(r, c).value == (want.value if want is not None else None), label
        pooled = getattr(tot, attr)
        assert ws.cell(total_row, c).value == pytest.approx(pooled.num / pooled.den)
    # NT: 2 cells × 11 due months, CB02 misses November.
    assert ws.cell(rows[0], cols["Có sinh hoạt"]).value == pytest.approx(21 / 22)
    assert ws.cell(total_row, cols["Có sinh hoạt"]).value == pytest.approx(32 / 33)
    # Errors: every error but those whose explanation was accepted (PLAN_INTERFACES.md: a
    # pending explanation still counts as its severity).
    open_errors = sum(1 for f in report.findings if f.severity == ERROR and not f.accepted)
    assert ws.cell(total_row, cols["Vi phạm"]).value == open_errors
    assert ws.cell(total_row, cols["Đã chấp nhận giải trình"]).value == sum(
        1 for f in report.findings if f.accepted and f.severity != INFO)


def test_numbers_are_numbers_with_formats(built):
    _path, wb = built
    ws = wb["Tổng hợp"]
    _head, cols, rows, total_row = summary_table(ws)
    for label in ("Có sinh hoạt", "Trong khung ngày", "Đúng ngày 3", "Quý I",
                  "Dữ liệu đầy đủ (tỷ lệ)"):
        c = ws.cell(rows[0], cols[label])
        assert isinstance(c.value, (int, float)) and c.data_type == "n", label
        assert "%" in c.number_format
    for label in ("Số chi bộ", "Số đảng viên", "Vi phạm"):
        c = ws.cell(rows[0], cols[label])
        assert isinstance(c.value, int) and c.data_type == "n"
    assert ws.cell(rows[0], cols["Số đảng viên"]).value == 35
    assert ws.cell(rows[0], cols["Quý IV"]).value is None  # quarter not due yet
    assert ws.cell(rows[1], cols["Triển khai đúng hạn (tỷ lệ)"]).value is None  # no tab
    vp = wb["Vi phạm"]
    rows_col = [c.value for c in vp["F"][4:] if c.value is not None]
    assert rows_col and all(isinstance(v, int) for v in rows_col)
    halls = wb["Nhà văn hóa"]
    assert [halls.cell(r, 5).value for r in (4, 5)] == [1500, 900]  # by population


def test_a_failed_unit_is_listed_with_status_and_message(world, built):
    _root, _config, report, _reads = world
    _path, wb = built
    failed = report.units[2]
    assert failed.status == "unreachable" and failed.message
    ws = wb["Tổng hợp"]
    _head, cols, rows, total_row = summary_table(ws)
    r = rows[2]
    assert ws.cell(r, 3).value == "Đảng ủy xã Vắng Mặt"
    assert ws.cell(r, cols["Tình trạng số liệu"]).value == "Không đọc được"
    assert ws.cell(r, cols["Có sinh hoạt"]).value is None
    assert ws.cell(total_row, cols["Tình trạng số liệu"]).value == "2/3 đơn vị có số liệu"
    notes = [v for row in values(ws) for v in row if isinstance(v, str) and "XX – " in v]
    assert notes and failed.message in notes[0] and "Không đọc được" in notes[0]
    log = values(wb["Nhật ký"])
    assert ["XX", "Đảng ủy xã Vắng Mặt", "Không đọc được", failed.message] in [
        row[:4] for row in log]
    matrix = values(wb["Ma trận"])
    assert any(row[0] == "XX – Đảng ủy xã Vắng Mặt" and "Không đọc được" in (row[1] or "")
               for row in matrix)


def test_stale_units_show_the_date_of_the_data_used(world, tmp_path):
    _root, _config, report, reads = world
    stale = dataclasses.replace(report.units[0], status="stale",
                                message="Không đọc được. Dùng số liệu đọc lúc 08:00 20/11/2026.",
                                pulled_at="2026-11-20T08:00:00")
    report2 = dataclasses.replace(report, units=[stale, *report.units[1:]])
    config = dataclasses.replace(world[1], out_dir=tmp_path)
    path = build_rollup(config, report2, reads, RUN_INFO, rollup_path(config, AS_OF))
    ws = openpyxl.load_workbook(path)["Tổng hợp"]
    _head, cols, rows, _total = summary_table(ws)
    assert ws.cell(rows[0], cols["Tình trạng số liệu"]).value == "Dùng số liệu cũ (đọc 20/11/2026)"
    assert isinstance(ws.cell(rows[0], cols["Có sinh hoạt"]).value, float)  # its data is used


def test_injection_strings_stay_plain_text(built):
    _path, wb = built
    found = {}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", (ws.title, c.coordinate, c.value)
                if isinstance(c.value, str) and (c.value.startswith(("=", "@"))
                                                 or INJECT_LINK in c.value):
                    assert c.data_type == "s"
                    found.setdefault(c.value, set()).add(ws.title)
    assert "Ma trận" in found[INJECT_LINK] and "Đánh giá năm" in found[INJECT_LINK]
    assert found[INJECT_SUM] == {"Dự sinh hoạt"}
    assert found[INJECT_AT] == {"Nhà văn hóa"}


def test_building_twice_gives_identical_sheets_except_the_run_time(world, tmp_path):
    _root, config, report, reads = world
    first = openpyxl.load_workbook(build(world, tmp_path / "a"))
    # The second run happens later, and the pipeline stamps the read time on every unit.
    later = {**RUN_INFO, "started": "2026-11-25T21:00:00", "finished": "2026-11-25T21:02:00",
             "requests": {"reads": 0, "writes": 0, "drive": 3}, "retries": 0}
    stamped = [dataclasses.replace(r, result=dataclasses.replace(
        r.result, pulled_at="2026-11-25T21:00:30" if r.data is not None else None))
        for r in reads]
    second = openpyxl.load_workbook(build(world, tmp_path / "b", later, reads=stamped))
    for name in SHEETS:
        a, b = values(first[name]), values(second[name])
        if name != "Nhật ký":
            assert a == b, name
            continue
        head = next(i for i, row in enumerate(a) if row[0] == "Mã")
        read_col = a[head].index("Số liệu đọc lúc")
        differ = {(i, j) for i, (ra, rb) in enumerate(zip(a, b))
                  for j, (x, y) in enumerate(zip(ra, rb)) if x != y}
        allowed = {(i, 1) for i, row in enumerate(a)
                   if row[0] in sheets_mod.RUN_TIME_LABELS}
        allowed |= {(i, read_col) for i in range(head + 1, len(a))}
        assert differ and differ <= allowed
    assert first.properties.created == second.properties.created == datetime(2026, 11, 25)


def test_streamed_workbook_has_the_same_values(world, tmp_path, monkeypatch):
    normal = openpyxl.load_workbook(build(world, tmp_path / "normal"))
    monkeypatch.setattr(build_mod, "STREAM_THRESHOLD", 0)  # constant_memory mode
    streamed = openpyxl.load_workbook(build(world, tmp_path / "streamed"))
    for name in SHEETS:
        assert values(normal[name]) == values(streamed[name]), name


def test_findings_sheet_has_every_finding_errors_first_and_the_csv_too(world, built):
    _root, _config, report, _reads = world
    path, wb = built
    ws = wb["Vi phạm"]
    head = find_row(ws, 1, "STT")
    header = [c.value for c in ws[head]]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=head + 1)]
    listed = [f for f in report.findings if f.severity != INFO]
    assert len(rows) == len(listed)  # errors and warnings; info is summarised on `Lưu ý`
    col = {h: i for i, h in enumerate(header)}
    assert header[-1] == "Mã quy tắc"  # the ID only in the narrow last column
    got = sorted((r[col["Mã đơn vị"]], r[col["Mã quy tắc"]], r[col["Dòng"]] or 0) for r in rows)
    assert got == sorted((f.unit, f.rule, f.row or 0) for f in listed)
    assert all(r[col["Nội dung"]] == rule_name_vi(r[col["Mã quy tắc"]]) for r in rows)
    assert all(not r[col["Nội dung"]].startswith(("MEET-", "DATA-")) for r in rows)
    # Open errors, then open warnings, then the accepted ones.
    order = {"Vi phạm": 0, "Cảnh báo": 1}
    accepted = [r for r in rows if r[col["Đã chấp nhận"]] == "Có"]
    open_rows = [r for r in rows if r[col["Đã chấp nhận"]] != "Có"]
    assert rows == open_rows + accepted and accepted
    sev = [order[r[col["Mức độ"]]] for r in open_rows]
    assert sev == sorted(sev)
    assert sev.count(0) == sum(f.severity == ERROR and not f.accepted for f in report.findings)
    assert sev.count(1) == sum(f.severity == WARNING and not f.accepted for f in report.findings)
    explained = [r for r in rows if r[col["Đã giải trình"]] == "Có"]
    assert explained
    csv_file = csv_path(path)
    assert csv_file.name == "tong-hop-dang-bo-huyen-ly-nhan-2026-11-vi-pham.csv"
    assert csv_file.read_bytes().startswith(b"\xef\xbb\xbf")
    table = violations_mod.read_csv(csv_file)
    assert table[0][:3] == ["Mã đơn vị", "Tên đơn vị", "Chi bộ"]
    assert table[0][6:8] == ["Quy tắc", "Tên quy tắc"]
    assert len(table) - 1 == len(report.findings)  # the CSV keeps everything, info too
    assert sorted(r[6] for r in table[1:]) == sorted(f.rule for f in report.findings)


def test_google_units_link_to_the_exact_row(world, built):
    _root, _config, report, _reads = world
    _path, wb = built
    ws = wb["Vi phạm"]
    head = find_row(ws, 1, "STT")
    links = {}
    for r in ws.iter_rows(min_row=head + 1):
        if r[1].value == "NM":
            link = r[12].hyperlink  # xlsxwriter stores the URL fragment as the location
            links[(r[13].value, r[5].value)] = link.target + (
                f"#{link.location}" if link.location else "")
        elif r[1].value == "NT":
            assert r[12].hyperlink is None  # local units: location text only
            if r[5].value is not None:
                assert r[12].value == f"{r[4].value}!A{r[5].value}"
    window = next(f for f in report.findings if f.unit == "NM" and f.rule == "MEET-WINDOW")
    base = f"https://docs.google.com/spreadsheets/d/{GOOGLE_KEY}/edit"
    assert links[("MEET-WINDOW", window.row)] == f"{base}#gid=111&range=A{window.row}"
    assert links[("TPL-TAB-MISSING", None)] == base  # the tab has no sheet id


def test_limits_on_rows_and_links_say_what_was_left_out(world, tmp_path, monkeypatch):
    _root, _config, report, _reads = world
    monkeypatch.setattr(violations_mod, "MAX_ROWS", 5)
    monkeypatch.setattr(violations_mod, "MAX_LINKS", 2)
    path = build(world, tmp_path)
    ws = openpyxl.load_workbook(path)["Vi phạm"]
    head = find_row(ws, 1, "STT")
    rows = list(ws.iter_rows(min_row=head + 1))
    assert len(rows) == 5
    assert all(r[8].value == "Vi phạm" for r in rows)  # errors first
    note = ws.cell(3, 1).value
    listed = sum(1 for f in report.findings if f.severity != INFO)
    assert listed > 5
    assert (f"Trang này chỉ in 5 trong tổng số {listed} dòng" in note
            and f"{listed - 5} dòng không in" in note
            and f"tệp {csv_path(path).name} có đủ mọi dòng" in note)
    # a fair share: each unit with errors shows its first ones before any unit shows more
    with_errors = {f.unit for f in report.findings if f.severity == ERROR and not f.accepted}
    assert len({r[1].value for r in rows}) == min(5, len(with_errors))
    assert "Chỉ 2 dòng đầu có liên kết" in note
    assert sum(1 for r in rows if r[12].hyperlink is not None) <= 2
    table = violations_mod.read_csv(csv_path(path))  # every finding, info too
    assert sorted((r[0], r[6], r[4]) for r in table[1:]) == sorted(
        (f.unit, f.rule, str(f.row) if f.row is not None else "") for f in report.findings)


def test_the_csv_keeps_text_that_looks_like_a_formula_as_text(tmp_path):
    found = [Finding("=NT", "+Sinh hoạt", 3, "-CB01", "2026-04", "MEET-WINDOW", ERROR,
                     "ok", explained=True),
             Finding("NT", "\tTab", None, "@CB02", None, "MEET-WINDOW", WARNING, "ok")]
    ctx = violations_mod.Context({"=NT": "@Đảng ủy"}, {}, {}, show_member_names=True)
    violations_mod.write_csv(tmp_path / "x.csv", found, ctx)
    head, first, second = violations_mod.read_csv(tmp_path / "x.csv")
    got = dict(zip(head, first))
    assert (got["Mã đơn vị"], got["Tên đơn vị"], got["Tab"], got["Chi bộ"]) == (
        "'=NT", "'@Đảng ủy", "'+Sinh hoạt", "'-CB01")
    assert (got["Dòng"], got["Kỳ"], got["Đã giải trình"]) == ("3", "04/2026", "Có")
    got = dict(zip(head, second))
    assert (got["Tab"], got["Chi bộ"], got["Dòng"], got["Kỳ"]) == ("'\tTab", "'@CB02", "", "")


def all_text(path: Path) -> str:
    wb = openpyxl.load_workbook(path)
    parts = [str(v) for ws in wb.worksheets for row in values(ws) for v in row if v is not None]
    return "\n".join(parts) + csv_path(path).read_text(encoding="utf-8-sig")


def test_member_names_hidden_unless_allowed(world, tmp_path):
    root, _config, report, reads = world
    assert any(SECRET in f.message for f in report.findings)
    hidden = build(world, tmp_path / "hidden")
    text = all_text(hidden)
    assert SECRET not in text
    assert "1 đảng viên (chi bộ CB02) vắng không lý do 3 tháng trong năm 2026" in text
    shown = build(world, tmp_path / "shown", config=make_config(root, show_member_names=True))
    assert SECRET in all_text(shown)


def test_member_messages_are_rebuilt_from_numbers_only():
    streak = Finding("NT", "Điểm danh", 9, "CB02", "2026-04", "MEMBER-EXCUSED-STREAK", ERROR,
                     f"Đ/c {SECRET} (chi bộ CB02) vắng có lý do 4 kỳ liên tiếp (01/2026, "
                     f"02/2026, 03/2026, 04/2026), quá 3 kỳ.")
    assert violations_mod.display_message(streak, False) == (
        "1 đảng viên (chi bộ CB02) vắng có lý do 4 kỳ liên tiếp (01/2026, 02/2026, 03/2026, "
        "04/2026), quá 3 kỳ (họ tên không hiển thị).")
    assert violations_mod.display_message(streak, True) == streak.message
    odd = dataclasses.replace(streak, message=f"Đ/c {SECRET}: nội dung khác.")
    deleted = dataclasses.replace(streak, rule="DATA-DELETED", severity=WARNING,
                                  message=f"Dòng ({SECRET}, 03/2026) đã bị xóa.")
    for f in (odd, deleted):
        assert SECRET not in violations_mod.display_message(f, False)
    other = dataclasses.replace(streak, tab="Sinh hoạt", rule="MEET-WINDOW")
    assert violations_mod.display_message(other, False) == other.message


def test_matrix_states_and_legend(built):
    _path, wb = built
    ws = wb["Ma trận"]
    head = find_row(ws, 1, "Đơn vị")
    months = {ws.cell(head, c).value: c for c in range(4, 16)}
    rows = {(ws.cell(r, 1).value, ws.cell(r, 2).value): r for r in range(head + 1, ws.max_row + 1)}
    nt2 = rows[("NT – Đảng ủy xã Nhân Thịnh", "CB02")]
    assert ws.cell(nt2, months["T11"]).value == "Thiếu"
    assert ws.cell(nt2, months["T11"]).fill.fgColor.rgb.endswith("C00000")
    assert ws.cell(nt2, months["T1"]).value == "✔ T"
    assert ws.cell(nt2, months["T3"]).value == "⚠ T"  # outside the window, with a reason
    assert ws.cell(nt2, months["T12"]).value == "–"
    nm = rows[("NM – Đảng ủy xã Nhân Mỹ", "CB01")]
    assert ws.cell(nm, months["T6"]).value == "✖ T"  # explained: orange, not compliant
    assert ws.cell(nm, months["T6"]).fill.fgColor.rgb.endswith("F8CBAD")
    assert ws.cell(nm, months["T5"]).value.startswith("✔")  # accepted by the operator
    tail = [(ws.cell(r, 2).value, ws.cell(r, 3).value) for r in range(head, ws.max_row + 1)]
    legend = {symbol: meaning for symbol, meaning in tail if symbol and meaning}
    assert "thời hạn" in legend["Thiếu"] and "Chưa đến hạn" in legend["–"]
    assert not any("MEET-" in m for m in legend.values())  # no rule IDs for the Board
    assert any(symbol and "T = Tốt" in symbol for symbol, _ in tail)


def test_supervisors_annual_and_halls(built):
    _path, wb = built
    sup = values(wb["Dự sinh hoạt"])
    binh = next(r for r in sup if r[1] == "Trần Văn Bình")
    # T1–T10 visited; November is not due before 30/11 + 5 days.
    assert binh[4:14] == [1] * 10 and binh[14:16] == ["–", "–"] and binh[16] == 10
    hoa = next(r for r in sup if r[1] == "Lê Thị Hoa")
    assert hoa[4] == "?"  # NM has no attendance book: unknown, not zero
    notes = [r for r in sup if r[1] == "NT – Đảng ủy xã Nhân Thịnh" and r[6]]
    assert [r[6] for r in notes] == [INJECT_SUM, "Kinh phí còn hạn hẹp."]
    assert notes[0][2] == datetime(2026, 2, 3)
    annual = values(wb["Đánh giá năm"])
    cb02 = next(r for r in annual if r[2] == "CB02")
    assert cb02[4] == 11 and cb02[5:10] == [10, 0, 0, 0, 1]  # November missing
    assert cb02[10] == "Trung bình" and cb02[11] == "Tốt"
    assert cb02[12] == "Tự xếp loại cao hơn mức suy ra"
    halls = values(wb["Nhà văn hóa"])
    assert [r[2] for r in halls[3:5]] == ["Thôn Vũ Xá", INJECT_AT]


def test_log_shows_run_parameters_and_overrides(built):
    _path, wb = built
    log = values(wb["Nhật ký"])
    flat = {row[0]: row[1] for row in log if row[0]}
    assert flat["Ngày kiểm tra (as-of)"] == datetime(2026, 11, 25)
    assert flat["Bắt đầu chạy"] == datetime(2026, 11, 25, 8, 0)
    assert flat["Số đơn vị không đọc được"] == 1
    assert flat["Số yêu cầu đọc Google Sheets"] == 3 and flat["Ghi chú"] == "Lần chạy thử."
    assert flat["window_end_day"] == "7"
    assert ["NM", "window_end_day", "10"] == next(r[:3] for r in log if r[0] == "NM"
                                                  and r[1] == "window_end_day")
    assert flat["Phiên bản sheets-sync"]


def test_latest_json_is_written_atomically(world, tmp_path):
    path = build(world, tmp_path)
    config = dataclasses.replace(world[1], out_dir=tmp_path)
    latest = write_latest(config, path, AS_OF)
    assert latest == tmp_path / "latest.json"
    doc = json.loads(latest.read_text(encoding="utf-8"))
    assert doc == {"path": str(path.resolve()), "as_of": "2026-11-25", "file": path.name}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [path.name, csv_path(path).name, "latest.json"])


def test_a_failed_build_leaves_the_previous_workbook(world, tmp_path, monkeypatch):
    path = build(world, tmp_path)
    before = path.read_bytes()

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(sheets_mod, "write_halls", boom)
    with pytest.raises(RuntimeError):
        build(world, tmp_path)
    assert path.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_the_cyclic_collector_is_paused_only_while_building(world, tmp_path, monkeypatch):
    seen = []
    real = sheets_mod.write_halls

    def spy(*a, **k):
        seen.append(gc.isenabled())
        return real(*a, **k)

    monkeypatch.setattr(sheets_mod, "write_halls", spy)
    build(world, tmp_path)
    assert seen == [False] and gc.isenabled()

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(sheets_mod, "write_halls", boom)
    with pytest.raises(RuntimeError):
        build(world, tmp_path)
    assert gc.isenabled()
    gc.disable()  # a caller that had switched it off keeps it off
    try:
        monkeypatch.setattr(sheets_mod, "write_halls", real)
        build(world, tmp_path)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_workbook_open_in_excel_gives_an_actionable_error(world, tmp_path, monkeypatch):
    path = build(world, tmp_path)
    before = path.read_bytes()
    real_replace = build_mod.os.replace

    def locked(src, dst):
        if str(dst).endswith(".xlsx"):
            raise PermissionError(13, "Permission denied")
        return real_replace(src, dst)

    monkeypatch.setattr(build_mod.os, "replace", locked)
    with pytest.raises(SheetsSyncError, match="đang mở"):
        build(world, tmp_path)
    assert path.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_place_and_date_line():
    assert place_name("Đảng bộ huyện Lý Nhân") == "Lý Nhân"
    assert place_name("Đảng bộ tỉnh Ninh Bình") == "Ninh Bình"
    assert place_name("Đảng ủy xã Nhân Thịnh") == "Nhân Thịnh"
    assert date_line("Lý Nhân", date(2026, 11, 25)) == "Lý Nhân, ngày 25 tháng 11 năm 2026"
    assert date_line("Lý Nhân", date(2026, 2, 5)) == "Lý Nhân, ngày 05 tháng 02 năm 2026"


def test_rollup_path(world):
    config = world[1]
    assert rollup_path(config, date(2026, 1, 31)) == (
        config.out_dir / "tong-hop-dang-bo-huyen-ly-nhan-2026-01.xlsx")


def test_a_capped_findings_list_gives_every_unit_its_first_rows_in_order():
    def f(unit: str, row: int, severity: str = ERROR, accepted: bool = False) -> Finding:
        return Finding(unit, "Sinh hoạt", row, "CB01", "2026-04", "MEET-WINDOW", severity, "x",
                       accepted=accepted)

    rows = [f("A", 1), f("A", 2), f("A", 3), f("B", 1), f("C", 1), f("C", 2),
            f("A", 9, WARNING), f("B", 9, WARNING), f("A", 10, accepted=True)]
    assert violations_mod.fair_share(rows, 100) == rows
    assert violations_mod.fair_share(rows, 4) == [rows[0], rows[1], rows[3], rows[4]]
    assert violations_mod.fair_share(rows, 7) == rows[:6] + [rows[6]]
    assert violations_mod.fair_share(rows, 0) == []

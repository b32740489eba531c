"""Applying the template to an existing Google spreadsheet, over HTTP against the emulator
(real gspread + google-auth; nothing mocked)."""
from __future__ import annotations

import datetime as dt

import pytest

from sheets_sync.core.a1 import col_letter
from sheets_sync.core.config import UnitConfig
from sheets_sync.core.errors import UnitReadError
from sheets_sync.core.flagplan import clean_text, normalize_grid
from sheets_sync.core.grid import parse_unit
from sheets_sync.core.template import load_template
from sheets_sync.core.text import fold
from sheets_sync.ops.provision import LOCALE, TIME_ZONE, apply_template, validation_rule
from sheets_sync.outputs.template_xlsx import YES_NO, guide_grid
from sheets_sync.sources.google_sheets import GoogleBackend

TEMPLATE = load_template()
SID = "1provisionTestSpreadsheet000000000000000000"
UNIT = UnitConfig("NT", "Đảng ủy xã Nhân Thịnh", spreadsheet=SID)
TOOL_MARKS = {"✔", "✖", "⚠"}

# A layout a person made by hand: a title row, reordered columns, an extra staff column, a
# stray note to the right of the header in a data row, a tab whose name lacks diacritics, a
# staff tab unknown to the template, and no Triển khai / Dự sinh hoạt / tool tabs at all.
MEETINGS = [
    ["SỔ THEO DÕI SINH HOẠT CHI BỘ NĂM 2026"],
    ["Ngày sinh hoạt", "Mã chi bộ", "Kỳ tháng", "Cột riêng của xã", "Số có mặt", None],
    [dt.date(2026, 10, 3), "CB01", "10/2026", "ghi chép riêng", 17],
    [dt.date(2026, 10, 5), "CB02", "10/2026", None, 20],
    ["04/11/2026", "01", "11/2026", 3.5, 18, "ghi chú lạc ngoài bảng"],
]
CELLS = [
    ["ma chi bo", "Tên chi bộ", "Số đảng viên"],
    ["CB01", "Chi bộ thôn 1", 20],
    ["CB02", "Chi bộ thôn 2", 22],
]
OTHER = [["Sổ tay riêng"], ["không liên quan", 1, True]]


@pytest.fixture
def backend(emu, service_account):
    return GoogleBackend(service_account, endpoint=emu.base_url)


@pytest.fixture
def seeded(emu, service_account):
    emu.seed_values(SID, {"Sinh hoạt": MEETINGS, "chi bo": CELLS, "Sổ tay": OTHER},
                    shared_with=[service_account["client_email"]], title="Nhân Thịnh")
    return SID


def _writes(emu) -> int:
    return emu.stats()["sheets"]["writes"]


def _reads(emu) -> int:
    return emu.stats()["sheets"]["reads"]


def _sheet(meta: dict, title: str) -> dict:
    return next(s for s in meta["sheets"] if s["properties"]["title"] == title)


def _header_cols(values: list[list], row: int) -> dict[str, int]:
    """Folded header text -> 0-based column."""
    return {fold(v): c for c, v in enumerate(values[row]) if isinstance(v, str) and v}


def test_apply_adds_tabs_columns_and_never_touches_staff_cells(emu, backend, seeded):
    before = {t: emu.get_values(SID, t) for t in ("Sinh hoạt", "chi bo", "Sổ tay")}
    reads0, writes0 = _reads(emu), _writes(emu)

    result = apply_template(backend, UNIT)

    assert result.changed and not result.warnings
    assert _reads(emu) - reads0 == 2  # metadata + one values:batchGet
    assert _writes(emu) - writes0 == 2  # one structural batchUpdate + one values:batchUpdate
    assert result.reads == 2 and result.writes == 2
    text = result.describe()
    assert "Thêm tab \"Triển khai\"" in text and "Thêm tab \"Hướng dẫn\"" in text

    # every tab of the template is there; the staff tab is untouched
    titles = [s["properties"]["title"] for s in emu.spreadsheet_meta(SID)["sheets"]]
    for name in [t.name for t in TEMPLATE.tabs if t.id != "cells"]:
        assert name in titles
    assert "chi bo" in titles and "Chi bộ" not in titles  # found by folded name, not duplicated
    assert TEMPLATE.guide_tab in titles and TEMPLATE.check_tab in titles
    assert emu.get_values(SID, "Sổ tay") == before["Sổ tay"]

    # every cell typed by staff is unchanged; new values only in the header row
    for title, header_row in (("Sinh hoạt", 1), ("chi bo", 0)):
        old, new = before[title], emu.get_values(SID, title)
        for r, line in enumerate(old):
            for c, value in enumerate(line):
                assert new[r][c] == value, (title, r, c)
        for r, line in enumerate(new):
            for c, value in enumerate(line):
                was = old[r][c] if r < len(old) and c < len(old[r]) else None
                if value is not None and was is None:
                    assert r == header_row, (title, r, c, value)

    # the reader now finds every column; tool columns sit after the last used column and skip
    # the column holding the stray note (F)
    raw = backend.read(UNIT)
    data = parse_unit(TEMPLATE, raw, UNIT.code, UNIT.name, dt.date(2026, 11, 25))
    assert not [f for f in data.findings if f.rule.startswith("TPL-")]
    assert not data.missing_tabs
    meetings = data.tabs["meetings"]
    assert meetings.header_row == 2
    assert set(meetings.col_index) == {c.id for c in TEMPLATE.tab("meetings").columns}
    assert meetings.col_index["meeting_date"] == 0 and meetings.col_index["cell_code"] == 1
    assert "Cột riêng của xã" in meetings.extra_headers
    header = _header_cols(emu.get_values(SID, "Sinh hoạt"), 1)
    assert min(header[fold(c.header)] for c in TEMPLATE.tab("meetings").columns
               if c.id not in ("meeting_date", "cell_code", "month", "present")) == 6
    status = header[fold(TEMPLATE.status_header)]
    details = header[fold(TEMPLATE.details_header)]
    assert details == status + 1 and status > 6
    assert emu.get_values(SID, "Sinh hoạt")[1][5] is None  # F2 stays empty

    # the guide is the exporter's text, exactly as write-back compares it
    guide = [[clean_text(c) for c in row] for row in guide_grid(TEMPLATE, UNIT.name)]
    assert normalize_grid(emu.get_values(SID, TEMPLATE.guide_tab)) == normalize_grid(guide)
    assert emu.get_values(SID, TEMPLATE.check_tab) == []


def test_apply_installs_validations_protection_colours_frozen_rows_and_locale(
        emu, backend, seeded):
    apply_template(backend, UNIT)
    meta = emu.spreadsheet_meta(SID)
    assert meta["properties"]["locale"] == LOCALE
    assert meta["properties"]["timeZone"] == TIME_ZONE
    email = backend.client_email

    for tab in TEMPLATE.tabs:
        title = "chi bo" if tab.id == "cells" else tab.name
        sheet = _sheet(meta, title)
        values = emu.get_values(SID, title)
        header_r = 1 if title == "Sinh hoạt" else 0
        cols = _header_cols(values, header_r)
        sheet_id = sheet["properties"]["sheetId"]
        assert sheet["properties"]["gridProperties"].get("frozenRowCount") == header_r + 1

        by_col = {}
        for v in sheet["dataValidations"]:
            rng = v["range"]
            for c in range(rng["startColumnIndex"], rng["endColumnIndex"]):
                by_col.setdefault(c, []).append(v)
        for col in tab.columns:
            want = validation_rule(col)
            ci = cols[fold(col.header)]
            if want is None:
                assert ci not in by_col, (title, col.header)
                continue
            (got,) = by_col[ci]
            assert got["range"]["startRowIndex"] == header_r + 1
            assert got["range"]["endRowIndex"] == sheet["properties"]["gridProperties"]["rowCount"]
            rule = got["rule"]
            assert not rule.get("strict")
            if col.kind in ("choice", "yesno"):
                labels = [x["userEnteredValue"] for x in rule["condition"]["values"]]
                assert rule["condition"]["type"] == "ONE_OF_LIST" and rule["showCustomUi"]
                assert labels == (list(YES_NO) if col.kind == "yesno" else col.choice_labels)
                assert "Chọn trong danh sách" in rule["inputMessage"]
            elif col.kind == "date":
                assert rule["condition"]["type"] == "DATE_IS_VALID"
                assert rule["inputMessage"]
        status = cols[fold(TEMPLATE.status_header)]
        details = cols[fold(TEMPLATE.details_header)]
        assert status not in by_col and details not in by_col

        (protected,) = sheet["protectedRanges"]
        assert protected["warningOnly"] is True
        rng = protected["range"]
        assert (rng.get("startRowIndex", 0), rng["startColumnIndex"], rng["endColumnIndex"]) == \
            (header_r, status, details + 1)
        assert email in protected["editors"]["users"]

        marks = {}
        for rule in sheet["conditionalFormats"]:
            cond = rule["booleanRule"]["condition"]
            assert cond["type"] == "TEXT_STARTS_WITH"
            (rng,) = rule["ranges"]
            assert (rng.get("startRowIndex", 0), rng["startColumnIndex"],
                    rng["endColumnIndex"]) == (header_r + 1, status, status + 1)
            marks[cond["values"][0]["userEnteredValue"]] = rule["booleanRule"]["format"]
        assert set(marks) == TOOL_MARKS
        assert marks["✔"]["backgroundColor"]["green"] > marks["✔"]["backgroundColor"]["red"]
        assert marks["✖"]["backgroundColor"]["red"] > marks["✖"]["backgroundColor"]["green"]
        assert sheet_id == sheet["properties"]["sheetId"]

    for title in (TEMPLATE.guide_tab, TEMPLATE.check_tab):
        sheet = _sheet(meta, title)
        (protected,) = sheet["protectedRanges"]
        assert protected["warningOnly"] is True
        assert set(protected["range"]) <= {"sheetId"}  # the whole tab
    check = _sheet(meta, TEMPLATE.check_tab)
    assert {r["booleanRule"]["condition"]["values"][0]["userEnteredValue"]
            for r in check["conditionalFormats"]} == TOOL_MARKS
    other = _sheet(meta, "Sổ tay")
    assert not other.get("protectedRanges") and not other.get("conditionalFormats")
    assert not other["dataValidations"]
    assert not other["properties"]["gridProperties"].get("frozenRowCount")


def test_second_apply_sends_no_write(emu, backend, seeded):
    apply_template(backend, UNIT)
    version = emu.file_meta(SID)["version"]
    writes, reads = _writes(emu), _reads(emu)
    again = apply_template(backend, UNIT)
    assert not again.changed and again.requests == [] and again.data == []
    assert _writes(emu) == writes and _reads(emu) - reads == 2
    assert emu.file_meta(SID)["version"] == version
    assert "đã khớp mẫu" in again.describe()


def test_staff_edits_after_apply_keep_it_idempotent(emu, backend, seeded):
    apply_template(backend, UNIT)
    # a person inserts a row above the header and types data; Google moves the header,
    # validations, protections and colours with it
    emu.edit(SID, "Sinh hoạt", {"op": "insert_rows", "index": 0, "values": [["Đơn vị: xã"]]})
    emu.edit(SID, "Sinh hoạt", {"op": "append_rows", "values": [["05/12/2026", "CB03"]]})
    writes = _writes(emu)
    again = apply_template(backend, UNIT)
    assert _writes(emu) - writes == (1 if again.changed else 0)
    # only the frozen header row has to follow the header down
    assert [next(iter(r)) for r in again.requests] == ["updateSheetProperties"]
    assert again.data == []
    meta = emu.spreadsheet_meta(SID)
    assert _sheet(meta, "Sinh hoạt")["properties"]["gridProperties"]["frozenRowCount"] == 3
    assert not apply_template(backend, UNIT).changed


def test_dry_run_sends_nothing(emu, backend, seeded):
    before = emu.spreadsheet_meta(SID)
    values = emu.get_values(SID, "Sinh hoạt")
    writes = _writes(emu)
    result = apply_template(backend, UNIT, dry_run=True)
    assert result.dry_run and result.changed and result.requests and result.data
    assert result.writes == 0 and _writes(emu) == writes
    assert emu.spreadsheet_meta(SID) == before and emu.get_values(SID, "Sinh hoạt") == values
    assert result.describe().splitlines()[0].endswith("chạy thử — sẽ thực hiện (chưa ghi gì):")
    # the plan is what a real apply then sends
    real = apply_template(backend, UNIT)
    assert real.requests == result.requests and real.data == result.data


def test_refresh_validations_resends_only_validations(emu, backend, seeded):
    apply_template(backend, UNIT)
    result = apply_template(backend, UNIT, refresh_validations=True)
    kinds = {next(iter(r)) for r in result.requests}
    assert kinds == {"setDataValidation"} and result.data == []
    assert result.writes == 1
    assert not apply_template(backend, UNIT).changed


def test_new_template_column_gets_added_with_its_validation(emu, backend, seeded):
    apply_template(backend, UNIT)
    # a person clears the "Xếp loại" header; the next apply adds the column again (after the
    # tool columns: staff columns never move) and gives it its dropdown
    values = emu.get_values(SID, "Sinh hoạt")
    ci = _header_cols(values, 1)[fold("Xếp loại")]
    emu.edit(SID, "Sinh hoạt", {"op": "set", "range": f"{col_letter(ci)}2", "values": [[""]]})
    result = apply_template(backend, UNIT)
    assert any("Xếp loại" in a for a in result.actions), result.actions
    added = [d for d in result.data if d["values"] == [["Xếp loại"]]]
    assert len(added) == 1
    validations = [r["setDataValidation"] for r in result.requests if "setDataValidation" in r]
    assert len(validations) == 1
    assert [v["userEnteredValue"] for v in validations[0]["rule"]["condition"]["values"]] == \
        TEMPLATE.tab("meetings").column("rating").choice_labels


def test_similar_names_and_missing_headers_are_reported_not_duplicated(emu, backend,
                                                                       service_account):
    emu.seed_values(SID, {
        "Sinh hoạt": [["Mã chi bộ", "Kỳ tháng", "Ngày sinh hoạt", "Xếp loại chi bộ"],
                      ["CB01", "10/2026", dt.date(2026, 10, 3), "Tốt"]],
        "Triển khai": [["Báo cáo tháng"], ["tháng 10", "đã làm"]],
        "Du sinh hoat chi bo": [["Họ và tên", "Mã chi bộ"]],
    }, shared_with=[service_account["client_email"]])
    result = apply_template(backend, UNIT)
    text = " ".join(result.warnings)
    assert "không thêm cột \"Xếp loại\"" in text and "\"Xếp loại chi bộ\"" in text
    assert "Tab \"Triển khai\": không tìm thấy dòng tiêu đề" in text
    assert "Không thêm tab \"Dự sinh hoạt\"" in text and "\"Du sinh hoat chi bo\"" in text
    titles = [s["properties"]["title"] for s in emu.spreadsheet_meta(SID)["sheets"]]
    assert "Dự sinh hoạt" not in titles
    assert emu.get_values(SID, "Triển khai") == [["Báo cáo tháng", None], ["tháng 10", "đã làm"]]
    header = emu.get_values(SID, "Sinh hoạt")[0]
    assert "Xếp loại" not in header and header[3] == "Xếp loại chi bộ"
    assert "Kết quả kiểm tra" in header


def test_empty_existing_tab_gets_the_header_row(emu, backend, service_account):
    emu.seed_values(SID, {"Chi bộ": [], "Trang tính1": [["x"]]},
                    shared_with=[service_account["client_email"]])
    apply_template(backend, UNIT)
    headers = [c.header for c in TEMPLATE.tab("cells").columns] + list(TEMPLATE.tool_headers)
    assert emu.get_values(SID, "Chi bộ") == [headers]
    assert emu.get_values(SID, "Trang tính1") == [["x"]]
    assert not apply_template(backend, UNIT).changed


def test_read_only_sharing_gives_the_fix(emu, backend, service_account):
    emu.seed_values(SID, {"Chi bộ": CELLS}, shared_with=[])
    emu.share(SID, service_account["client_email"], role="reader")
    with pytest.raises(UnitReadError) as e:
        apply_template(backend, UNIT)
    assert service_account["client_email"] in str(e.value)
    assert "quyền Người chỉnh sửa" in str(e.value)
    assert emu.get_values(SID, "Chi bộ") == CELLS


def test_not_shared_gives_the_fix(emu, backend, service_account):
    emu.seed_values(SID, {"Chi bộ": CELLS}, shared_with=[])
    with pytest.raises(UnitReadError) as e:
        apply_template(backend, UNIT)
    assert f"chia sẻ bảng tính với {service_account['client_email']} quyền Người chỉnh sửa" \
        in str(e.value)


def test_run_after_apply_needs_no_structural_write(emu, backend, seeded):
    from sheets_sync.core.checker import read_unit
    from sheets_sync.sync.writeplan import plan_unit

    apply_template(backend, UNIT)
    as_of = dt.date(2026, 11, 25)
    read = read_unit(backend, TEMPLATE, UNIT, as_of)
    plan = plan_unit(TEMPLATE, read, read.data.findings, as_of, 2026)
    assert not plan.new_columns and not plan.skipped_tabs
    assert plan.guide_grid is None and plan.check_exists and plan.guide_exists
    writer = backend.writer()
    assert writer.structure(read, plan) == []
    assert writer.anchors(read, plan, {})[0] == []  # apply anchored the tool columns
    before = emu.get_values(SID, "Sinh hoạt")
    writes = _writes(emu)
    result = writer.apply(UNIT, read, plan)
    # the value write, + the Kiểm tra link cells (updateCells) when the grid has links
    assert result.status == "written"
    assert _writes(emu) - writes == (2 if plan.check_links else 1)
    after = emu.get_values(SID, "Sinh hoạt")
    status = _header_cols(after, 1)[fold(TEMPLATE.status_header)]
    assert after[2][status] and after[2][status][0] in TOOL_MARKS  # written under protection
    for r, line in enumerate(before):
        for c, value in enumerate(line):
            if c < status:
                assert after[r][c] == value

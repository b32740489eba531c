"""History rules (DATA-DELETED, DATA-CHANGED-CLOSED), acknowledgements, `history` queries and
the restore export — on real SQLite stores and real .xlsx files."""
from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from helpers import TEMPLATE, cell, meeting, sheet, workbook
from sheets_sync.core.config import UnitConfig
from sheets_sync.core.errors import SheetsSyncError
from sheets_sync.core.grid import parse_unit
from sheets_sync.core.raw import RawSheet, RawWorkbook
from sheets_sync.core.rules import params as rule_params
from sheets_sync.sources.local_reader import LocalBackend
from sheets_sync.sync.history import closing_date, history_findings
from sheets_sync.sync.history_ack import ack, render_ack
from sheets_sync.sync.history_views import export_last_pull, render_history, rows_history
from sheets_sync.sync.store import Store

PARAMS = rule_params.resolve()
UNIT = "NT"


def cells_rows():
    return [cell("CB01"), cell("CB02")]


def year_meetings(last_month=10):
    return [meeting(c, 2026, m) for c in ("CB01", "CB02") for m in range(1, last_month + 1)]


class Unit:
    """One unit's successive pulls into a real store."""

    def __init__(self, store: Store, code: str = UNIT):
        self.store, self.code = store, code

    def data(self, at: datetime, raw: RawWorkbook):
        return parse_unit(TEMPLATE, raw, self.code, "Đảng ủy xã Nhân Thịnh", at.date())

    def pull(self, at: datetime, record: bool = True, raw: RawWorkbook | None = None, **tabs):
        raw = raw or workbook(**tabs)
        data = self.data(at, raw)
        if record:
            self.store.record_pull(self.code, raw, data, at, at.date())
        return data

    def findings(self, data, at: datetime, year: int = 2026):
        return history_findings(self.store, self.code, data, at.date(), year, PARAMS)


@pytest.fixture
def unit(tmp_path):
    with Store.open(tmp_path / "state") as store:
        yield Unit(store)


def without(rows, code, month):
    return [r for r in rows if not (r["cell_code"] == code and r["month"] == f"{month:02d}/2026")]


def changed(rows, code, month, **values):
    return [dict(r, **values) if (r["cell_code"] == code and r["month"] == f"{month:02d}/2026")
            else r for r in rows]


T1 = datetime(2026, 10, 20, 2, 0)
T2 = datetime(2026, 10, 21, 2, 0)
T3 = datetime(2026, 10, 22, 2, 0)


# --- DATA-DELETED --------------------------------------------------------------------------------

def test_row_deleted_between_two_runs_is_reported_with_its_old_keys(unit):
    """The contract: after a row is deleted between two runs, the second run reports
    DATA-DELETED on that unit, tab "Sinh hoạt", with the old key values in the message."""
    rows = year_meetings()
    unit.pull(T1, cells=cells_rows(), meetings=rows)
    data = unit.pull(T2, cells=cells_rows(), meetings=without(rows, "CB02", 7))

    found = unit.findings(data, T2)

    assert [(f.unit, f.tab, f.row, f.cell, f.period, f.rule, f.severity) for f in found] == [
        (UNIT, "Sinh hoạt", None, "CB02", "2026-07", "DATA-DELETED", "warning")]
    message = found[0].message
    for key_value in ("CB02", "07/2026", "Thường kỳ", "03/07/2026"):
        assert key_value in message
    assert "thấy lần cuối ngày 20/10/2026" in message
    assert "dòng 18" in message  # the sheet row it was last seen at
    assert "[mã " in message


def test_deleted_row_is_reported_on_every_run_until_acknowledged(unit):
    rows = year_meetings()
    unit.pull(T1, cells=cells_rows(), meetings=rows)
    unit.pull(T2, cells=cells_rows(), meetings=without(rows, "CB01", 3))
    data = unit.pull(T3, cells=cells_rows(), meetings=without(rows, "CB01", 3))
    first = unit.findings(data, T3)
    assert [f.rule for f in first] == ["DATA-DELETED"]
    assert unit.findings(data, T3) == first  # stable: the same finding every run

    ref = first[0].message.split("[mã ")[1].rstrip("].")
    result = ack(unit.store, UNIT, keys=[ref.upper()])
    assert [a["ref"] for a in result.acked] == [ref] and result.unknown == []
    assert "Đã xác nhận 1 mục" in render_ack(result, UNIT)
    assert unit.findings(data, T3) == []

    # Typed again, then deleted again: a new deletion, reported again.
    unit.pull(datetime(2026, 10, 23), cells=cells_rows(), meetings=rows)
    at = datetime(2026, 10, 24)
    data = unit.pull(at, cells=cells_rows(), meetings=without(rows, "CB01", 3))
    assert [f.rule for f in unit.findings(data, at)] == ["DATA-DELETED"]


def test_deleted_rows_outside_the_checked_year_are_not_reported(unit):
    rows = year_meetings()
    unit.pull(T1, cells=cells_rows(), meetings=rows)
    data = unit.pull(T2, cells=cells_rows(), meetings=without(rows, "CB01", 3))
    assert unit.findings(data, T2, year=2027) == []
    assert len(unit.findings(data, T2, year=2026)) == 1


def test_rows_moving_is_not_a_deletion(unit):
    rows = year_meetings()
    unit.pull(T1, cells=cells_rows(), meetings=rows)
    data = unit.pull(T2, cells=list(reversed(cells_rows())), meetings=list(reversed(rows)))
    assert unit.findings(data, T2) == []


def test_deleted_cell_of_the_register_has_no_period_and_is_reported(unit):
    unit.pull(T1, cells=cells_rows() + [cell("CB03")], meetings=year_meetings())
    data = unit.pull(T2, cells=cells_rows(), meetings=year_meetings())
    found = unit.findings(data, T2, year=2030)  # no period: whatever the checked year
    assert [(f.tab, f.cell, f.period) for f in found] == [("Chi bộ", "CB03", None)]
    assert "Mã chi bộ CB03" in found[0].message


def test_missing_key_column_does_not_turn_every_row_into_a_deletion(unit):
    rows = year_meetings(3)
    unit.pull(T1, cells=cells_rows(), meetings=rows)
    cols = [c.id for c in TEMPLATE.tab("meetings").columns if c.id != "meeting_type"]
    trimmed = [{k: v for k, v in r.items() if k != "meeting_type"} for r in rows]
    data = unit.pull(T2, raw=workbook(cells=cells_rows(),
                                      meetings=sheet("meetings", trimmed, columns=cols)))
    assert unit.findings(data, T2) == []


def test_a_tab_gone_entirely_gives_one_finding(unit):
    rows = year_meetings(3)
    briefings = [{"month": f"{m:02d}/2026", "briefing_date": date(2026, m - 1 or 1, 25)}
                 for m in (2, 3)]
    unit.pull(T1, cells=cells_rows(), meetings=rows, briefings=briefings)
    data = unit.pull(T2, cells=cells_rows(), meetings=rows)
    found = unit.findings(data, T2)
    assert [(f.rule, f.tab, f.row, f.period) for f in found] == [
        ("DATA-DELETED", "Triển khai", None, None)]
    assert "2 dòng" in found[0].message and "Tháng áp dụng 02/2026" in found[0].message

    result = ack(unit.store, UNIT, all=True)
    assert {a["tab"] for a in result.acked} == {"Triển khai"}
    assert unit.findings(data, T2) == []


# --- keys edited in place ------------------------------------------------------------------------

def test_corrected_meeting_date_in_an_open_month_is_an_edit_not_a_deletion(unit):
    rows = year_meetings(11)
    at1, at2 = datetime(2026, 11, 5), datetime(2026, 11, 6)  # November: not yet closed
    unit.pull(at1, cells=cells_rows(), meetings=rows)
    edited = changed(rows, "CB01", 11, meeting_date=date(2026, 11, 4))
    data = unit.pull(at2, cells=cells_rows(), meetings=edited)
    assert unit.findings(data, at2) == []
    entries = rows_history(unit.store, UNIT)
    assert {e["state"] for e in entries} == {"replaced", "present"}


def test_corrected_key_in_a_closed_month_while_rows_moved(unit):
    rows = year_meetings()
    unit.pull(T1, cells=cells_rows(), meetings=rows)
    # One row deleted above, and the date of CB02's October meeting corrected (so it moved up
    # one sheet row and changed its key in the same interval).
    edited = changed(without(rows, "CB01", 2), "CB02", 10, meeting_date=date(2026, 10, 4))
    data = unit.pull(T2, cells=cells_rows(), meetings=edited)
    found = sorted(unit.findings(data, T2), key=lambda f: f.rule)
    assert [(f.rule, f.cell, f.period, f.row) for f in found] == [
        ("DATA-CHANGED-CLOSED", "CB02", "2026-10", 20),
        ("DATA-DELETED", "CB01", "2026-02", None)]
    assert "Ngày sinh hoạt: 03/10/2026 → 04/10/2026" in found[0].message


def test_unrecorded_current_data_gives_the_same_findings(unit):
    """`--dry-run` / `--no-history`: the current read is compared without being stored."""
    rows = year_meetings()
    unit.pull(T1, cells=cells_rows(), meetings=rows)
    edited = changed(without(rows, "CB01", 2), "CB02", 10, meeting_date=date(2026, 10, 4))
    edited = changed(edited, "CB01", 5, present=15, excused=5)
    dry = unit.findings(unit.pull(T2, record=False, cells=cells_rows(), meetings=edited), T2)
    real = unit.findings(unit.pull(T2, cells=cells_rows(), meetings=edited), T2)
    assert sorted(dry, key=lambda f: f.sort_key()) == sorted(real, key=lambda f: f.sort_key())
    assert len(real) == 3


def test_a_first_pull_has_no_history_findings_without_decoding_it(unit, monkeypatch):
    """A unit's first pull, recorded: nothing earlier to compare with, so no finding — the
    same as the full computation gives — and the stored pull is not decoded. A second pull
    (or an acknowledgement) makes the full computation run again."""
    import sheets_sync.sync.history as history

    rows = year_meetings()
    data = unit.pull(T1, cells=cells_rows(), meetings=rows)
    pull = unit.store.last_pull_info(unit.code).id
    assert unit.store.history_only_from(unit.code, pull)
    full = history._history_findings(unit.store, unit.code, data, 2026, PARAMS)
    assert full == []
    calls: list[str] = []
    real = history._history_findings
    monkeypatch.setattr(history, "_history_findings",
                        lambda *a, **k: calls.append("full") or real(*a, **k))
    assert history_findings(unit.store, unit.code, data, T1.date(), 2026, PARAMS,
                            keep_index=False, recorded_as=pull) == full
    assert calls == []
    edited = changed(rows, "CB01", 5, present=15, excused=5)
    data = unit.pull(T2, cells=cells_rows(), meetings=edited)
    second = unit.store.last_pull_info(unit.code).id
    assert not unit.store.history_only_from(unit.code, second)
    found = history_findings(unit.store, unit.code, data, T2.date(), 2026, PARAMS,
                             keep_index=False, recorded_as=second)
    assert calls == ["full"] and [f.rule for f in found] == ["DATA-CHANGED-CLOSED"]


# --- DATA-CHANGED-CLOSED -------------------------------------------------------------------------

def test_change_to_a_closed_month_shows_old_and_new(unit):
    rows = year_meetings()
    unit.pull(T1, cells=cells_rows(), meetings=rows)
    edited = changed(rows, "CB01", 5, present=15, excused=5, rating="Khá")
    data = unit.pull(T2, cells=cells_rows(), meetings=edited)
    found = unit.findings(data, T2)
    assert [(f.rule, f.tab, f.row, f.cell, f.period, f.severity) for f in found] == [
        ("DATA-CHANGED-CLOSED", "Sinh hoạt", 6, "CB01", "2026-05", "warning")]
    msg = found[0].message
    assert "Số có mặt: 19 → 15" in msg and "Số vắng có lý do: 1 → 5" in msg
    assert "Xếp loại: Tốt → Khá" in msg
    assert "hạn 12/05/2026" in msg and "sau lần đọc ngày 20/10/2026" in msg
    assert unit.findings(unit.pull(T3, cells=cells_rows(), meetings=edited), T3) == found


def test_change_before_the_month_closed_is_not_reported(unit):
    rows = year_meetings(11)
    unit.pull(datetime(2026, 11, 5), cells=cells_rows(), meetings=rows)  # before 12/11
    at = datetime(2026, 11, 20)
    data = unit.pull(at, cells=cells_rows(),
                     meetings=changed(rows, "CB01", 11, present=18, excused=2))
    assert unit.findings(data, at) == []


def test_explaining_a_flag_afterwards_is_not_a_change(unit):
    rows = year_meetings()
    unit.pull(T1, cells=cells_rows(), meetings=rows)
    data = unit.pull(T2, cells=cells_rows(),
                     meetings=changed(rows, "CB01", 5, explanation="Bí thư đi tập huấn",
                                      note="Đã báo cáo"))
    assert unit.findings(data, T2) == []


def test_acknowledged_change_is_silent_until_the_row_changes_again(unit):
    rows = year_meetings()
    unit.pull(T1, cells=cells_rows(), meetings=rows)
    v2 = changed(rows, "CB01", 5, present=15, excused=5)
    data = unit.pull(T2, cells=cells_rows(), meetings=v2)
    assert len(unit.findings(data, T2)) == 1
    result = ack(unit.store, UNIT, rule="DATA-CHANGED-CLOSED", all=True, note="Đã kiểm tra")
    assert [a["rule"] for a in result.acked] == ["DATA-CHANGED-CLOSED"]
    assert unit.findings(data, T2) == []

    v3 = changed(rows, "CB01", 5, present=14, excused=6)
    data = unit.pull(T3, cells=cells_rows(), meetings=v3)
    found = unit.findings(data, T3)
    assert len(found) == 1
    assert "Số có mặt: 15 → 14" in found[0].message  # from the acknowledged values
    assert "lần xác nhận" in found[0].message


@pytest.mark.parametrize("tab_id, period, expected", [
    ("meetings", "2026-10", date(2026, 10, 12)),
    ("attendance", "2026-02", date(2026, 2, 12)),
    ("briefings", "2026-03", date(2026, 3, 5)),  # 29/02 does not exist: 28/02 + 5
    ("visits", "2026-04", date(2026, 5, 5)),
    ("annual", "2026", date(2026, 12, 31)),
    ("cells", None, None),
    ("halls", None, None),
    ("meetings", None, None),
])
def test_closing_dates(tab_id, period, expected):
    assert closing_date(tab_id, period, PARAMS) == expected


def test_briefing_changed_after_its_deadline(unit):
    briefings = [{"month": "03/2026", "briefing_date": date(2026, 2, 25), "form": "Hội nghị"}]
    rows = year_meetings(3)
    at1, at2 = datetime(2026, 3, 10), datetime(2026, 3, 11)
    unit.pull(at1, cells=cells_rows(), meetings=rows, briefings=briefings)
    data = unit.pull(at2, cells=cells_rows(), meetings=rows,
                     briefings=[dict(briefings[0], form="Văn bản")])
    found = unit.findings(data, at2)
    assert [(f.rule, f.tab, f.period) for f in found] == [
        ("DATA-CHANGED-CLOSED", "Triển khai", "2026-03")]
    assert "Hình thức: Hội nghị → Văn bản" in found[0].message


# --- acknowledgements and listing ----------------------------------------------------------------

def test_ack_needs_keys_or_all_and_reports_unknown_refs(unit):
    unit.pull(T1, cells=cells_rows(), meetings=year_meetings())
    with pytest.raises(SheetsSyncError):
        ack(unit.store, UNIT)
    with pytest.raises(SheetsSyncError):
        ack(unit.store, UNIT, rule="MEET-MISSING", all=True)
    result = ack(unit.store, UNIT, keys=["0123456789"])
    assert result.acked == [] and result.unknown == ["0123456789"]
    assert "Không tìm thấy mục nào có mã 0123456789" in render_ack(result, UNIT)


def test_rows_history_shows_each_version(unit):
    rows = year_meetings()
    unit.pull(T1, cells=cells_rows(), meetings=rows)
    unit.pull(T2, cells=cells_rows(), meetings=changed(without(rows, "CB02", 1), "CB01", 5,
                                                         present=15, excused=5))
    entries = rows_history(unit.store, UNIT, tab="sinh hoat")
    by_state = {e["state"]: e for e in entries}
    assert set(by_state) == {"present", "deleted"}
    edited = by_state["present"]
    assert [v["first_seen"] for v in edited["versions"]] == [T1.isoformat(), T2.isoformat()]
    assert edited["versions"][0]["values"]["Số có mặt"] == "19"
    # values listed in the tab's column order, as the sheet shows them
    order = [c.header for c in TEMPLATE.tab("meetings").columns]
    shown = list(edited["versions"][0]["values"])
    assert shown == sorted(shown, key=order.index) and shown[:2] == ["Mã chi bộ", "Kỳ tháng"]
    assert edited["versions"][1]["changes"] == ["Số có mặt: 19 → 15", "Số vắng có lý do: 1 → 5"]
    assert by_state["deleted"]["last_row"] == 12

    assert len(rows_history(unit.store, UNIT, changed_only=False)) == len(rows) + 2
    assert rows_history(unit.store, UNIT, tab="Chi bộ") == []

    text = render_history(entries, UNIT, "Đảng ủy xã Nhân Thịnh")
    assert text.startswith("Lịch sử dòng — NT (Đảng ủy xã Nhân Thịnh)")
    assert "ĐÃ XÓA (dòng 12, thấy lần cuối 02:00 20/10/2026)" in text
    assert "Số có mặt: 19 → 15" in text
    assert "Không có dòng nào" in render_history([], UNIT)

    # In a terminal: each line wrapped to its width, indented under its start; the same words.
    wrapped = render_history(entries, UNIT, "Đảng ủy xã Nhân Thịnh", width=60)
    assert max(map(len, text.splitlines())) > 200  # a version lists every value of its row
    assert max(map(len, wrapped.splitlines())) <= 60
    assert wrapped.split() == text.split()
    starts = [line for line in wrapped.splitlines() if re.match(r" {4}\d\d:\d\d ", line)]
    assert len(starts) == sum(len(e["versions"]) for e in entries)  # one start per version


# --- real .xlsx files: local backend end to end, restore export ----------------------------------

def save_xlsx(path: Path, raw: RawWorkbook) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for s in raw.sheets:
        ws = wb.create_sheet(s.title)
        for r, row in enumerate(s.rows, start=1):
            for c, v in enumerate(row, start=1):
                if v is not None:
                    ws.cell(row=r, column=c).value = v
                    if isinstance(v, str):
                        ws.cell(row=r, column=c).data_type = "s"  # text typed by staff
    wb.save(path)
    return path


def test_deleting_a_row_in_an_xlsx_file_is_noticed_and_the_last_pull_can_be_restored(tmp_path):
    rows = year_meetings()
    raw = workbook(cells=cells_rows(), meetings=rows)
    raw.sheets[1].rows[0] += ["Kết quả kiểm tra", "Chi tiết kiểm tra"]
    raw.sheets[1].rows[1] += ["✔ Đạt", ""]
    raw.sheets[1].rows[2][raw.sheets[1].rows[0].index("Ghi chú")] = "=HYPERLINK(\"x\")"
    path = save_xlsx(tmp_path / "nt.xlsx", raw)
    unit_config = UnitConfig(code=UNIT, name="Đảng ủy xã Nhân Thịnh", path=path)
    backend = LocalBackend()

    with Store.open(tmp_path / "state") as store:
        first = backend.read(unit_config)
        store.record_pull(UNIT, first, parse_unit(TEMPLATE, first, UNIT, "NT", T1.date()),
                          T1, T1.date())

        # Staff delete sheet row 5 (CB01, April) in the file.
        wb = openpyxl.load_workbook(path)
        wb["Sinh hoạt"].delete_rows(5)
        wb.save(path)
        second = backend.read(unit_config)
        data = parse_unit(TEMPLATE, second, UNIT, "NT", T2.date())
        store.record_pull(UNIT, second, data, T2, T2.date())
        found = history_findings(store, UNIT, data, T2.date(), 2026, PARAMS)
        assert [(f.rule, f.tab, f.cell, f.period) for f in found] == [
            ("DATA-DELETED", "Sinh hoạt", "CB01", "2026-04")]
        assert "04/2026" in found[0].message and "03/04/2026" in found[0].message

        # Restore path: the staff get the last good pull (here: the second one) as a file.
        out = export_last_pull(store, UNIT, tmp_path / "restore" / "nt-ban-doc-cuoi.xlsx")
        with pytest.raises(SheetsSyncError):
            export_last_pull(store, "KHONG-CO", tmp_path / "x.xlsx")

    back = openpyxl.load_workbook(out)
    assert back.sheetnames == ["Chi bộ", "Sinh hoạt"]
    ws = back["Sinh hoạt"]
    header = [c.value for c in ws[1]]
    assert header[-2:] == ["Kết quả kiểm tra", "Chi tiết kiểm tra"]  # tool columns included
    note = ws.cell(row=3, column=header.index("Ghi chú") + 1)
    assert note.value == "=HYPERLINK(\"x\")" and note.data_type == "s"  # text, not a formula
    expected = openpyxl.load_workbook(path)["Sinh hoạt"]
    assert [[c.value for c in r] for r in ws.iter_rows()] == \
        [[c.value for c in r] for r in expected.iter_rows()]


def test_google_style_serial_dates_are_exported_as_values_with_a_date_format(tmp_path):
    rows = [meeting("CB01", 2026, 3)]
    raw = workbook(cells=cells_rows(), meetings=rows)
    grid = raw.sheets[1].rows
    col = grid[0].index("Ngày sinh hoạt")
    grid[1][col] = 46084  # what Sheets returns with SERIAL_NUMBER
    with Store.open(tmp_path / "state") as store:
        store.record_pull(UNIT, raw, parse_unit(TEMPLATE, raw, UNIT, "NT", T1.date()), T1,
                          T1.date())
        out = export_last_pull(store, UNIT, tmp_path / "nt.xlsx")
    c = openpyxl.load_workbook(out)["Sinh hoạt"].cell(row=2, column=col + 1)
    assert c.is_date and c.value == datetime(2026, 3, 3)


def test_unknown_sheets_are_exported_too(tmp_path):
    raw = workbook(cells=cells_rows(), meetings=year_meetings(1))
    raw.sheets.append(RawSheet("Sổ tay: ghi/chép?", [["a", 1], [None, "b"]]))
    with Store.open(tmp_path / "state") as store:
        store.record_pull(UNIT, raw, parse_unit(TEMPLATE, raw, UNIT, "NT", T1.date()), T1,
                          T1.date())
        out = export_last_pull(store, UNIT, tmp_path / "nt.xlsx")
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[-1] == "Sổ tay_ ghi_chép_"
    assert [[c.value for c in r] for r in wb.worksheets[-1].iter_rows()] == [["a", 1], [None, "b"]]

"""Faults on the Google path: transient errors are retried by our own policy, permanent ones are
not, every failure reads as something a person can act on, one unit's failure never stops the
others, and no staff cell is ever changed nor a flag written to a wrong row."""
from __future__ import annotations

import dataclasses
import re

from google_support import (
    AS_OF,
    MEETINGS,
    YEAR,
    assert_staff_unchanged,
    fast_policy,
    roomy_quota,
    tool_columns,
)
from sheets_sync.core.a1 import col_letter
from sheets_sync.core.findings import OK, UNCHANGED, UNREACHABLE
from sheets_sync.sources.google_sheets import GoogleBackend
from sheets_sync.sync import pipeline

WRITTEN_ALL = {"NT": "written", "NM": "written", "VT": "written", "NH": "written",
               "HL": "written", "NN": "written"}


def _statuses(outcome) -> dict[str, str]:
    return {r.result.code: r.result.status for r in outcome.reads}


def _writes(outcome) -> dict[str, str]:
    return {w.unit: w.status for w in outcome.writes}


def _snapshot(district) -> dict:
    return {code: district.grids(code) for code in district.ids}


def _assert_no_staff_change(district, before: dict) -> None:
    for code in district.ids:
        assert_staff_unchanged(before[code], district.grids(code))


def test_429_bursts_with_and_without_retry_after_are_retried(district):
    emu, ids = district.emu, district.ids
    before = _snapshot(district)
    emu.add_fault(spreadsheet_id=ids["NT"], kind="read", status=429, times=3)
    emu.add_fault(spreadsheet_id=ids["VT"], kind="write", status=429, times=2, retry_after=0.2)
    backend = district.backend()
    outcome = district.run(backend)

    assert set(_statuses(outcome).values()) == {OK}
    assert _writes(outcome) == WRITTEN_ALL
    req = outcome.requests
    assert req["retries"] == 5 and req["quota_exhausted"] is False
    assert req["waited_s"] >= 0.4  # Retry-After: 0.2 honoured twice
    stats = emu.stats()["by_spreadsheet"]
    assert stats[ids["NT"]]["reads"] == 3 + 1  # the three faulted attempts are counted too
    assert stats[ids["VT"]]["writes"] == 2 + 1  # the one structural batchUpdate
    _assert_no_staff_change(district, before)


def test_500_503_and_503_after_the_write_was_applied(district):
    emu, ids = district.emu, district.ids
    before = _snapshot(district)
    emu.add_fault(spreadsheet_id=ids["NM"], kind="read", status=500, times=2)
    emu.add_fault(spreadsheet_id=ids["NH"], kind="drive", status=503, times=1)
    emu.add_fault(spreadsheet_id=ids["NN"], kind="write", status=502, times=1)  # HTML body
    outcome = district.run()

    assert set(_statuses(outcome).values()) == {OK}
    assert _writes(outcome) == WRITTEN_ALL
    assert outcome.requests["retries"] == 4
    _assert_no_staff_change(district, before)

    # A later run's value write (flags + Kiểm tra) answered 503 after being applied: retried.
    grid = district.grids("HL")[MEETINGS]
    header_r = next(r for r, row in enumerate(grid) if "Ghi chú" in row)
    present = grid[header_r].index("Số có mặt")
    emu.edit(ids["HL"], MEETINGS, {"op": "set", "range": f"{col_letter(present)}{header_r + 2}",
                                   "values": [[-1]], "input": "RAW"})
    before = _snapshot(district)
    emu.add_fault(spreadsheet_id=ids["HL"], path_regex=r"values:batchUpdate", status=503,
                  times=1, apply_first=True)
    outcome = district.run()
    assert _writes(outcome)["HL"] == "written"
    assert outcome.requests["retries"] == 1
    _assert_no_staff_change(district, before)
    # the write retried after being applied left the same flags as a single write
    again = district.run()
    assert set(_statuses(again).values()) <= {OK, UNCHANGED}
    assert set(_writes(again).values()) == {"unchanged"}


def test_a_slow_answer_times_out_and_is_retried(district):
    emu, ids = district.emu, district.ids
    # generous margins: an ordinary answer on a busy machine stays far below the read timeout
    emu.add_fault(spreadsheet_id=ids["NT"], kind="read", status=None, delay_s=6.5, times=1)
    backend = district.backend(fast_policy(timeout=(2.0, 4.0)))
    outcome = district.run(backend)
    assert set(_statuses(outcome).values()) == {OK}
    assert outcome.requests["retries"] == 1
    assert emu.stats()["by_spreadsheet"][ids["NT"]]["reads"] == 2  # 1 + the timed-out one


def test_persistent_timeouts_give_an_actionable_message(district):
    emu, ids = district.emu, district.ids
    emu.add_fault(spreadsheet_id=ids["NT"], kind="read", status=None, delay_s=5.0, times=None)
    outcome = district.run(district.backend(fast_policy(timeout=(1.0, 3.0), max_attempts=2)))
    nt = next(r.result for r in outcome.reads if r.result.code == "NT")
    assert nt.status == UNREACHABLE and "thử lại sau" in nt.message
    assert "hết thời gian chờ" in nt.message
    assert {c: s for c, s in _statuses(outcome).items() if c != "NT"} == {
        c: OK for c in ids if c != "NT"}


def test_not_shared_and_deleted_units_are_reported_and_the_others_run(district):
    emu, ids, email = district.emu, district.ids, district.info["client_email"]
    before = _snapshot(district)
    emu.revoke(ids["VT"], email)
    emu.delete_spreadsheet(ids["HL"])
    s0 = emu.stats()
    outcome = district.run()
    used = district.counts(s0, emu.stats())

    results = {r.result.code: r.result for r in outcome.reads}
    assert results["VT"].status == UNREACHABLE
    assert f"Hãy chia sẻ bảng tính với {email} quyền Người chỉnh sửa" in results["VT"].message
    assert results["HL"].status == UNREACHABLE
    assert "Không tìm thấy bảng tính" in results["HL"].message
    assert "đã bị xóa" in results["HL"].message
    for code in ("NT", "NM", "NH", "NN"):
        assert results[code].status == OK
    writes = _writes(outcome)
    assert writes["VT"] == writes["HL"] == "not-read"
    assert {writes[c] for c in ("NT", "NM", "NH", "NN")} == {"written"}
    # 404/403 are never retried: the run's Drive listing does not show them, and the one read
    # tells them apart
    assert used["VT"] == {"reads": 1, "writes": 0, "drive": 0, "rejected_429": 0}
    assert used["HL"] == {"reads": 1, "writes": 0, "drive": 0, "rejected_429": 0}
    assert outcome.requests["retries"] == 0
    for code in ("NT", "NM", "NH", "NN"):
        assert_staff_unchanged(before[code], district.grids(code))
    _assert_no_secret(district, outcome)


def _assert_no_secret(district, outcome) -> None:
    messages = [r.result.message or "" for r in outcome.reads]
    messages += [w.message for w in outcome.writes]
    for message in messages:
        assert "PRIVATE KEY" not in message and "private_key" not in message
        assert district.info["private_key_id"] not in message
        assert "Bearer" not in message and "assertion" not in message


def test_a_wrong_key_is_reported_without_secrets(district):
    other = district.emu.make_service_account()
    bad = {**district.info, "private_key": other["private_key"]}  # signature will not verify
    backend = GoogleBackend(bad, district.emu.base_url, fast_policy(), roomy_quota())
    outcome = district.run(backend)
    assert set(_statuses(outcome).values()) == {UNREACHABLE}
    for r in outcome.reads:
        assert district.info["client_email"] in r.result.message
        assert "[google] credentials" in r.result.message
    assert outcome.requests["reads"] == outcome.requests["writes"] == 0
    _assert_no_secret(district, outcome)


def test_a_reader_only_share_cannot_be_written(district):
    emu, ids, email = district.emu, district.ids, district.info["client_email"]
    emu.share(ids["NN"], email, role="reader")
    outcome = district.run()
    assert _statuses(outcome)["NN"] == OK
    nn = next(w for w in outcome.writes if w.unit == "NN")
    assert nn.status == "error"
    assert f"Không có quyền ghi bảng tính {ids['NN']}" in nn.message
    assert f"Hãy chia sẻ bảng tính với {email} quyền Người chỉnh sửa" in nn.message
    assert {s for c, s in _writes(outcome).items() if c != "NN"} == {"written"}


def test_400_403_404_are_never_retried(district):
    emu, ids = district.emu, district.ids
    emu.add_fault(spreadsheet_id=ids["NT"], kind="read", status=400, times=None)
    emu.add_fault(spreadsheet_id=ids["NM"], kind="read", status=403, times=None)
    emu.add_fault(spreadsheet_id=ids["VT"], kind="read", status=404, times=None)
    emu.add_fault(spreadsheet_id=ids["NH"], kind="write", status=400, times=None)
    s0 = emu.stats()
    outcome = district.run()
    used = district.counts(s0, emu.stats())

    assert outcome.requests["retries"] == 0
    assert used["NT"]["reads"] == 1  # the refused read, once
    assert used["NM"]["reads"] == 1
    assert used["VT"]["reads"] == 1
    assert used["NH"]["writes"] == 1 and used["NH"]["reads"] == 1
    statuses = _statuses(outcome)
    assert statuses["NT"] == statuses["NM"] == statuses["VT"] == UNREACHABLE
    assert statuses["NH"] == OK and _writes(outcome)["NH"] == "error"
    assert {_writes(outcome)[c] for c in ("HL", "NN")} == {"written"}


def test_a_read_answered_with_a_page_instead_of_json_fails_that_unit_only(district):
    """A proxy or captive portal answering 200 with a web page: the unit cannot be read (a
    message, no traceback); the other units run."""
    emu, ids = district.emu, district.ids
    emu.add_fault(spreadsheet_id=ids["NT"], kind="read", status=200, times=None,
                  body="<html><body>Đăng nhập Wi-Fi</body></html>")
    outcome = district.run()
    nt = next(r.result for r in outcome.reads if r.result.code == "NT")
    assert nt.status == UNREACHABLE and nt.message
    assert {c: s for c, s in _statuses(outcome).items() if c != "NT"} == {
        c: OK for c in ids if c != "NT"}


def test_quota_still_exhausted_after_the_retry_budget(district):
    emu, ids = district.emu, district.ids
    emu.add_fault(spreadsheet_id=ids["NT"], kind="read", status=429, times=None)
    outcome = district.run(district.backend(fast_policy(max_total_sleep=0.2)))
    nt = next(r.result for r in outcome.reads if r.result.code == "NT")
    assert nt.status == UNREACHABLE
    assert "vượt hạn mức" in nt.message and "thử lại sau" in nt.message
    assert outcome.requests["quota_exhausted"] is True
    assert {c: s for c, s in _statuses(outcome).items() if c != "NT"} == {
        c: OK for c in ids if c != "NT"}


def test_a_row_inserted_between_read_and_write(district):
    """A person inserts a row in `Sinh hoạt` right after the unit was read: that tab's flags are
    not written (the rows moved), the other tabs are; the next run writes them on the right
    rows; no staff cell is touched."""
    emu, ids = district.emu, district.ids
    sid = ids["VT"]
    seen: dict = {}

    def person_types(e, info):
        e.edit(sid, MEETINGS, {"op": "insert_rows", "index": 6,
                               "values": [["CB09", "11/2026", "Thường kỳ"]]})
        seen["grids"] = district.grids("VT")

    before = {code: district.grids(code) for code in ids}
    emu.on_request(person_types, after=1, spreadsheet_id=sid, kind="read")
    s0 = emu.stats()
    first = district.run()
    used = district.counts(s0, emu.stats())

    vt = next(w for w in first.writes if w.unit == "VT")
    assert vt.status == "skipped"
    assert f"{MEETINGS}: đang có người sửa" in vt.message and "sẽ ghi ở lần sau" in vt.message
    # the read, then (Drive's version moved) the key and header re-read
    assert used["VT"]["reads"] == 2 and used["VT"]["writes"] <= 2
    after = district.grids("VT")
    assert_staff_unchanged(seen["grids"], after)
    assert not tool_columns(after[MEETINGS])  # nothing written into the moved tab
    assert tool_columns(after["Chi bộ"])  # the other tabs were written
    for code in ids:
        if code != "VT":
            assert_staff_unchanged(before[code], district.grids(code))

    second = district.run()
    assert _statuses(second)["VT"] == OK  # re-read: our write was partial
    assert _writes(second)["VT"] == "written"
    final = district.grids("VT")
    assert_staff_unchanged(seen["grids"], final)
    cols = sorted(tool_columns(final[MEETINGS]))
    assert len(cols) == 2
    # the inserted row (sheet row 7) got its own flags; every flagged row still has its keys
    inserted = final[MEETINGS][6]
    assert inserted[:3] == ["CB09", "11/2026", "Thường kỳ"]
    assert inserted[cols[0]]

    # A fresh pull (new history store) of the final sheets plans no change: flags sit on the
    # rows they describe.
    config = dataclasses.replace(district.config,
                                 state_dir=district.key_file.parent / "fresh-state")
    backend = district.backend()
    fresh = pipeline.run(config, lambda u: backend, AS_OF, YEAR)
    assert set(_statuses(fresh).values()) == {OK}
    assert _writes(fresh) == {c: "unchanged" for c in ids}


def test_half_an_emoji_in_a_cell_is_read_as_a_replacement_character(district):
    """Sheets cuts text in UTF-16 units: LEFT() of an emoji leaves half of it, which no UTF-8
    file can hold. It is read as U+FFFD (the staff cell is not touched), so the flags, the
    history and the roll-up are written."""
    emu, sid = district.emu, district.ids["NT"]
    grid = district.grids("NT")[MEETINGS]
    header_r = next(r for r, row in enumerate(grid) if "Mã chi bộ" in row)
    col = grid[header_r].index("Mã chi bộ")
    cell = f"{col_letter(col)}{header_r + 2}"
    emu.edit(sid, MEETINGS, {"op": "set", "range": cell, "values": [["CB\ud83d"]],
                             "input": "RAW"})

    def person_types(e, info):  # elsewhere: Drive's version moves, the keys are read again
        e.edit(sid, MEETINGS, {"op": "set", "range": f"{col_letter(col)}{len(grid) + 5}",
                               "values": [["ghi nháp"]], "input": "RAW"})

    emu.on_request(person_types, after=1, spreadsheet_id=sid, kind="read")
    outcome = district.run()
    assert set(_statuses(outcome).values()) == {OK}
    assert outcome.rollup is not None and outcome.rollup.exists()
    assert _writes(outcome)["NT"] == "written"
    shown = [f.message for f in outcome.report.findings if f.cell == "CB\ufffd"]
    assert shown and all("\ud83d" not in m for m in shown)
    staff = district.backend().client.http_client.values_get(
        sid, f"'{MEETINGS}'!{cell}", params={"valueRenderOption": "UNFORMATTED_VALUE"})
    assert staff["values"] == [["CB\ud83d"]]  # what staff typed, unchanged


def test_formula_injection_stays_text_and_flags_are_raw(district):
    emu, sid = district.emu, district.ids["NT"]
    grid = district.grids("NT")[MEETINGS]
    header_r = next(r for r, row in enumerate(grid) if "Ghi chú" in row)
    col = grid[header_r].index("Ghi chú")
    evil = '=IMPORTRANGE("x","A1")'
    cell = f"{col_letter(col)}{header_r + 3}"
    emu.edit(sid, MEETINGS, {"op": "set", "range": cell, "values": [[evil]], "input": "RAW"})
    outcome = district.run()
    assert _writes(outcome)["NT"] == "written"

    backend = district.backend()
    http = backend.client.http_client
    rng = f"'{MEETINGS}'!{cell}"
    for render in ("FORMULA", "UNFORMATTED_VALUE", "FORMATTED_VALUE"):
        got = http.values_get(sid, rng, params={"valueRenderOption": render})
        assert got["values"] == [[evil]], render
    # Every tool cell reads back as text (RAW): counts in `Kiểm tra` are "0", not 0.
    sheets = http.values_batch_get(sid, [f"'{MEETINGS}'", "'Kiểm tra'"],
                                   params={"valueRenderOption": "UNFORMATTED_VALUE"})
    meetings, check = (vr.get("values", []) for vr in sheets["valueRanges"])
    cols = tool_columns(meetings)
    flags = [row[c] for row in meetings for c in cols if c < len(row) and row[c] != ""]
    assert len(flags) > 50 and all(isinstance(v, str) for v in flags)
    check_cells = [v for row in check for v in row]
    assert any(v.isdigit() for v in check_cells if isinstance(v, str))
    assert all(isinstance(v, str) for v in check_cells)
    _only_link_formulas(http, sid, check)

    # A later run writes Kiểm tra with the flags in one USER_ENTERED value write (every text
    # sent literal): still text everywhere, the row links the only formulas.
    present = grid[header_r].index("Số có mặt")
    emu.edit(sid, MEETINGS, {"op": "set", "range": f"{col_letter(present)}{header_r + 2}",
                             "values": [["=1+1"]], "input": "RAW"})
    s0 = emu.stats()
    assert _writes(district.run())["NT"] == "written"
    assert emu.stats()["by_spreadsheet"][sid]["writes"] - s0["by_spreadsheet"][sid]["writes"] == 1
    sheets = http.values_batch_get(sid, [f"'{MEETINGS}'", "'Kiểm tra'"],
                                   params={"valueRenderOption": "UNFORMATTED_VALUE"})
    meetings, check = (vr.get("values", []) for vr in sheets["valueRanges"])
    flags = [row[c] for row in meetings for c in cols if c < len(row) and row[c] != ""]
    assert len(flags) > 50 and all(isinstance(v, str) for v in flags)
    assert all(isinstance(v, str) for row in check for v in row)
    _only_link_formulas(http, sid, check)


def _only_link_formulas(http, sid: str, check: list[list]) -> None:
    """Kiểm tra's only formulas are its row links, each showing the text a read gives."""
    formulas = http.values_batch_get(sid, ["'Kiểm tra'"], params={"valueRenderOption": "FORMULA"})
    links = 0
    for row, got in zip(check, formulas["valueRanges"][0]["values"], strict=True):
        for shown, formula in zip(row, got, strict=True):
            if formula != shown:
                label = shown.replace('"', '""')
                assert re.fullmatch(rf'=HYPERLINK\("#gid=\d+&range=A\d+"[;,]"{re.escape(label)}"\)',
                                    formula), formula
                links += 1
    assert links

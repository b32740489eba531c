"""Request budget of the Google path (design.md "Performance targets", issue 17), counted by the
emulator: a first run costs ≤ 1 Sheets read and ≤ 2 writes per unit; later, a changed unit costs
≤ 2 Sheets requests (1 read + 1 write: the write-time check is a Drive request); a run in which
nothing changed costs 0 Sheets requests and ≤ 2 Drive requests in total (one ``files.list``)."""
from __future__ import annotations

import math
import time

from google_support import MEETINGS, TEMPLATE, fast_policy, seed_district
from sheets_sync.core.findings import OK, UNCHANGED
from sheets_sync.sources.google_http import Quota
from sheets_sync.sync.store import Store
from sheets_sync_emulator import Emulator


def _totals(counts: dict) -> dict:
    return {k: sum(c[k] for c in counts.values()) for k in ("reads", "writes", "drive")}


def test_first_run_second_run_and_one_edited_unit(district):
    emu = district.emu
    s0 = emu.stats()
    first = district.run()
    s1 = emu.stats()
    used = district.counts(s0, s1)
    assert [r.result.status for r in first.reads] == [OK] * 6
    assert {w.unit: w.status for w in first.writes} == {c: "written" for c in district.ids}
    for code, c in used.items():
        # one structural batchUpdate: tool columns inserted and filled, tabs added and filled
        assert c["reads"] == 1 and c["writes"] == 1, (code, c)
        # the write-time check; the versions before reading and after writing come from one
        # files.list each (not counted per spreadsheet)
        assert c["drive"] == 1, (code, c)
    assert s1["drive"] - s0["drive"] == len(district.ids) + 2
    # the outcome counts what the emulator saw (a fresh backend per run)
    assert {k: first.requests[k] for k in ("reads", "writes", "drive")} == {
        "reads": s1["sheets"]["reads"], "writes": s1["sheets"]["writes"], "drive": s1["drive"]}
    assert first.requests["retries"] == 0 and first.requests["quota_exhausted"] is False
    assert first.requests["by_unit"] == {code: {k: used[code][k] for k in ("reads", "writes",
                                                                          "drive")}
                                         for code in district.ids}

    with Store.open(district.config.state_dir) as store:
        summary = store.runs(1)[0]
    assert summary["requests"] == {k: first.requests[k] for k in ("reads", "writes", "drive")}
    assert summary["retries"] == 0 and summary["quota_exhausted"] is False

    second = district.run()
    s2 = emu.stats()
    used = district.counts(s1, s2)
    assert [r.result.status for r in second.reads] == [UNCHANGED] * 6
    assert {w.status for w in second.writes} == {"unchanged"}
    for code, c in used.items():
        assert c == {"reads": 0, "writes": 0, "drive": 0, "rejected_429": 0}, code
    assert s2["drive"] - s1["drive"] == 1 and second.requests["drive"] == 1  # one files.list
    assert s2["sheets"] == s1["sheets"]
    assert findings_of(second) == findings_of(first)

    # A person edits one unit (same value typed again: the version moves, the data does not).
    header = district.grids("NM")["Chi bộ"][0][0]
    emu.edit(district.ids["NM"], "Chi bộ", {"op": "set", "range": "A1", "values": [[header]],
                                            "input": "RAW"})
    third = district.run()
    used = district.counts(s2, emu.stats())
    assert {r.result.code: r.result.status for r in third.reads} == {
        code: OK if code == "NM" else UNCHANGED for code in district.ids}
    assert used["NM"] == {"reads": 1, "writes": 0, "drive": 0, "rejected_429": 0}
    assert _totals({c: v for c, v in used.items() if c != "NM"}) == {
        "reads": 0, "writes": 0, "drive": 0}
    assert {w.status for w in third.writes} == {"unchanged"}
    assert findings_of(third) == findings_of(first)

    s3 = emu.stats()
    fourth = district.run()
    assert [r.result.status for r in fourth.reads] == [UNCHANGED] * 6
    s4 = emu.stats()
    assert _totals(district.counts(s3, s4)) == {"reads": 0, "writes": 0, "drive": 0}
    assert s4["drive"] - s3["drive"] <= 2


def test_a_changed_unit_costs_one_read_and_one_write(district):
    """A person changes a value that changes the unit's flags: 1 Sheets read + the write for
    that unit (the write-time check is one Drive request), nothing for the others."""
    emu = district.emu
    district.run()
    grid = district.grids("NM")[MEETINGS]
    header_r = next(r for r, row in enumerate(grid[:6])
                    if TEMPLATE.tab("meetings").first_required.header in row)
    present = grid[header_r].index(next(c.header for c in TEMPLATE.tab("meetings").columns
                                        if c.id == "present"))
    from sheets_sync.core.grid import col_letter

    emu.edit(district.ids["NM"], MEETINGS, {"op": "set", "input": "RAW", "values": [[1]],
                                            "range": f"{col_letter(present)}{header_r + 2}"})
    s1 = emu.stats()
    outcome = district.run()
    s2 = emu.stats()
    used = district.counts(s1, s2)
    assert {w.unit: w.status for w in outcome.writes}["NM"] == "written"
    # 1 read + the anchored value write, which also carries Kiểm tra (its row links as
    # HYPERLINK formulas, USER_ENTERED)
    assert used["NM"] == {"reads": 1, "writes": 1, "drive": 1, "rejected_429": 0}
    assert _totals({c: v for c, v in used.items() if c != "NM"}) == {
        "reads": 0, "writes": 0, "drive": 0}
    assert s2["drive"] - s1["drive"] == 3  # list, check before writing, list after writing


def findings_of(outcome) -> list:
    return sorted((f.to_json() for f in outcome.report.findings), key=repr)


def test_a_later_as_of_date_rewrites_only_what_moved(district):
    """An unchanged spreadsheet is still re-evaluated: when the as-of date moves, flags that
    depend on deadlines are rewritten (key re-read + one write), with 0 reads of the data."""
    from datetime import date

    from sheets_sync.sync import pipeline

    district.run()
    s1 = district.emu.stats()
    backend = district.backend()
    later = pipeline.run(district.config, lambda u: backend, date(2026, 12, 9), 2026)
    used = district.counts(s1, district.emu.stats())
    assert {r.result.status for r in later.reads} == {UNCHANGED}
    for code, c in used.items():
        # no read (the Drive check passed); the one value write (flags and Kiểm tra)
        assert c["reads"] == 0 and c["writes"] <= 1 and c["drive"] <= 1, (code, c)
    written = [w.unit for w in later.writes if w.status == "written"]
    assert written, [w.__dict__ for w in later.writes]
    # and then nothing more to do at that date
    s2 = district.emu.stats()
    again = pipeline.run(district.config, lambda u: district.backend(), date(2026, 12, 9), 2026)
    assert {w.status for w in again.writes} == {"unchanged"}
    assert _totals(district.counts(s2, district.emu.stats())) == {"reads": 0, "writes": 0,
                                                                  "drive": 0}


def test_client_pacer_keeps_under_the_emulator_quota(demo_config, tmp_path):
    """With the emulator's per-window quotas (shrunk window) the client-side pacer waits instead
    of drawing 429s, and the run takes about the quota-imposed lower bound."""
    window, limit = 0.6, 5
    with Emulator(read_quota=limit, write_quota=limit, quota_window_s=window) as emu:
        district = seed_district(emu, demo_config, tmp_path)
        backend = district.backend(fast_policy(), Quota(reads=limit, writes=limit, window=window))
        started = time.monotonic()
        outcome = district.run(backend)
        elapsed = time.monotonic() - started
        stats = emu.stats()
    assert {w.status for w in outcome.writes} == {"written"}
    assert stats["rejected_429"] == 0
    reads, writes = stats["sheets"]["reads"], stats["sheets"]["writes"]
    assert reads == 6 and writes == 6  # one structural batchUpdate per unit
    lower = max(math.ceil(n / limit) - 1 for n in (reads, writes)) * window
    assert outcome.requests["paced_s"] > 0
    # waits for the quota, but not whole windows more than needed (the machine may be busy:
    # the upper margin is generous; speed itself is measured by scripts/bench)
    assert lower <= elapsed < lower + 10 * window + 5.0

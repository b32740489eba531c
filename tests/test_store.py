"""History store: schema versions and migrations, key index, retention (real SQLite files)."""
from __future__ import annotations

import json
import random
import sqlite3
import subprocess
import sys
import textwrap
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from helpers import TEMPLATE, cell, meeting, workbook
from sheets_sync.core.errors import SheetsSyncError
from sheets_sync.core.grid import parse_unit
from sheets_sync.core.raw import RawWorkbook
from sheets_sync.core.rules import params as rule_params
from sheets_sync.sync.history import history_findings
from sheets_sync.sync.store import (
    DB_NAME,
    MIGRATIONS,
    SCHEMA_VERSION,
    Store,
    dump_raw,
    index_unit,
    load_raw,
)

ROOT = Path(__file__).resolve().parent.parent
PARAMS = rule_params.resolve()

# The v1 schema exactly as released in sheets_sync/store.py v1 (frozen here on purpose).
V1_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pulls (
    id INTEGER PRIMARY KEY,
    unit TEXT NOT NULL,
    pulled_at TEXT NOT NULL,
    as_of TEXT NOT NULL,
    version TEXT,
    own_write_version TEXT,
    raw BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS pulls_unit ON pulls (unit, id);
CREATE TABLE IF NOT EXISTS pull_rows (
    pull_id INTEGER NOT NULL REFERENCES pulls (id) ON DELETE CASCADE,
    tab TEXT NOT NULL,
    sheet_row INTEGER NOT NULL,
    keys TEXT NOT NULL,
    vals TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS pull_rows_pull ON pull_rows (pull_id, tab);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    command TEXT NOT NULL,
    started TEXT NOT NULL,
    finished TEXT,
    summary TEXT NOT NULL
);
"""


def meetings_rows(months=range(1, 11), cells=("CB01", "CB02")) -> list[dict]:
    return [meeting(c, 2026, m) for c in cells for m in months]


def raw_of(rows: list[dict]) -> RawWorkbook:
    return workbook(cells=[cell("CB01"), cell("CB02")], meetings=rows)


def parsed(raw: RawWorkbook, as_of: date, code: str = "NT"):
    return parse_unit(TEMPLATE, raw, code, f"Đơn vị {code}", as_of)


def record(store: Store, rows: list[dict], at: datetime, code: str = "NT") -> int:
    raw = raw_of(rows)
    return store.record_pull(code, raw, parsed(raw, at.date(), code), at, at.date())


def make_v1_store(state: Path, rows: list[dict], at: datetime, unit: str = "NT") -> None:
    """A history store as v1 wrote it: its DDL, its meta row, a pull with v1 pull_rows."""
    state.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(state / DB_NAME)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.executescript(V1_DDL)
    conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", ("1",))
    raw = raw_of(rows)
    data = parsed(raw, at.date(), unit)
    with conn:
        pull_id = conn.execute(
            "INSERT INTO pulls (unit, pulled_at, as_of, version, raw) VALUES (?, ?, ?, ?, ?)",
            (unit, at.isoformat(timespec="seconds"), at.date().isoformat(), "sha-v1",
             dump_raw(raw))).lastrowid
        for tab in data.tabs.values():
            keys = [k for k in tab.tab.key_columns() if tab.has(k)]
            for i, sheet_row in enumerate(tab.rows):
                k = {c: str(tab.raw[c][i]) for c in keys}
                v = {c: str(tab.raw[c][i]) for c in tab.raw if tab.raw[c][i] not in (None, "")}
                conn.execute("INSERT INTO pull_rows VALUES (?, ?, ?, ?, ?)",
                             (pull_id, tab.tab.name, sheet_row, json.dumps(k), json.dumps(v)))
        conn.execute("INSERT INTO runs (command, started, finished, summary) VALUES "
                     "('check', ?, ?, '{\"counts\": {\"error\": 1}}')",
                     (at.isoformat(), at.isoformat()))
    conn.close()


def tables(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        conn.close()


# --- schema and migrations ---------------------------------------------------------------------

def test_new_store_is_at_the_current_version(tmp_path):
    with Store.open(tmp_path) as store:
        assert store.schema_version() == SCHEMA_VERSION == MIGRATIONS[-1][0]
    assert {"pulls", "runs", "row_keys", "row_versions", "acks"} <= tables(tmp_path / DB_NAME)
    assert not list(tmp_path.glob("history-v*-backup-*.sqlite"))  # nothing to back up


def test_v1_store_opens_upgrades_and_keeps_its_history(tmp_path):
    t1 = datetime(2026, 10, 20, 2, 0)
    rows = meetings_rows()
    make_v1_store(tmp_path, rows, t1)

    with Store.open(tmp_path) as store:
        assert store.schema_version() == SCHEMA_VERSION
        last = store.last_pull("NT")
        assert last.pulled_at == t1 and last.version == "sha-v1"
        assert len(last.raw.sheets) == 2
        known = store.known_rows("NT")
        assert len([k for k in known if k.tab == "Sinh hoạt"]) == len(rows)
        assert {k.tab for k in known} == {"Chi bộ", "Sinh hoạt"}
        assert store.runs()[0]["counts"] == {"error": 1}

        # The upgraded history works: a row deleted after the v1 pull is noticed, with the
        # date of the v1 pull as "last seen".
        t2 = datetime(2026, 10, 21, 2, 0)
        rows2 = [r for r in rows if not (r["cell_code"] == "CB01" and r["month"] == "03/2026")]
        record(store, rows2, t2)
        found = history_findings(store, "NT", parsed(raw_of(rows2), t2.date()), t2.date(), 2026,
                                 PARAMS)
    assert [(f.rule, f.tab, f.row, f.cell, f.period) for f in found] == [
        ("DATA-DELETED", "Sinh hoạt", None, "CB01", "2026-03")]
    assert "20/10/2026" in found[0].message and "03/03/2026" in found[0].message

    assert "pull_rows" not in tables(tmp_path / DB_NAME)
    backups = list(tmp_path.glob("history-v1-backup-*.sqlite"))
    assert len(backups) == 1 and "pull_rows" in tables(backups[0])  # the v1 file, intact

    with Store.open(tmp_path) as store:  # reopening: nothing left to do
        assert store.schema_version() == SCHEMA_VERSION
    assert len(list(tmp_path.glob("history-v1-backup-*.sqlite"))) == 1


def test_store_from_a_newer_version_is_refused_untouched(tmp_path):
    with Store.open(tmp_path):
        pass
    conn = sqlite3.connect(tmp_path / DB_NAME)
    with conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'",
                     (str(SCHEMA_VERSION + 1),))
    conn.close()
    with pytest.raises(SheetsSyncError, match="phiên bản mới hơn"):
        Store.open(tmp_path)
    conn = sqlite3.connect(tmp_path / DB_NAME)
    assert conn.execute("SELECT value FROM meta").fetchone()[0] == str(SCHEMA_VERSION + 1)
    conn.close()


def test_a_corrupt_store_gives_an_actionable_error(tmp_path):
    (tmp_path / DB_NAME).write_bytes(b"not a database at all" * 100)
    with pytest.raises(SheetsSyncError, match="bị hỏng"):
        Store.open(tmp_path)


def test_failed_migration_rolls_back_to_the_old_version(tmp_path, monkeypatch):
    make_v1_store(tmp_path, meetings_rows(months=[1]), datetime(2026, 2, 20))

    def broken(conn):
        conn.execute("CREATE TABLE half_done (x)")
        raise RuntimeError("disk full")

    # A migration list with one that fails half way (the list is data, patched for this test).
    monkeypatch.setattr("sheets_sync.sync.store.MIGRATIONS",
                        [*MIGRATIONS, (SCHEMA_VERSION + 1, broken)])
    monkeypatch.setattr("sheets_sync.sync.store.SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with pytest.raises(RuntimeError, match="disk full"):
        Store.open(tmp_path)
    names = tables(tmp_path / DB_NAME)
    assert "half_done" not in names and "row_keys" not in names and "pull_rows" in names
    monkeypatch.undo()
    with Store.open(tmp_path) as store:  # the real upgrade still works afterwards
        assert store.schema_version() == SCHEMA_VERSION
        assert store.known_rows("NT")


def test_two_processes_upgrading_the_same_v1_store_at_once(tmp_path):
    make_v1_store(tmp_path, meetings_rows(), datetime(2026, 10, 20, 2, 0))
    script = textwrap.dedent("""
        import sys
        from pathlib import Path
        from sheets_sync.sync.store import Store
        with Store.open(Path(sys.argv[1])) as s:
            print(s.schema_version(), len(s.known_rows("NT")))
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert len({o[0] for o in outs}) == 1  # all see the same upgraded store
    assert outs[0][0].split()[0] == str(SCHEMA_VERSION)


def test_open_readonly(tmp_path):
    assert Store.open_readonly(tmp_path) is None  # no store yet
    make_v1_store(tmp_path, meetings_rows(months=[1]), datetime(2026, 2, 20))
    assert Store.open_readonly(tmp_path) is None  # needs an upgrade first
    with Store.open(tmp_path):
        pass
    ro = Store.open_readonly(tmp_path)
    try:
        assert ro.last_pull("NT") is not None
        with pytest.raises(sqlite3.OperationalError):
            record(ro, meetings_rows(months=[1]), datetime(2026, 2, 21))
    finally:
        ro.close()


# --- the key index ------------------------------------------------------------------------------

def test_rows_are_identified_by_keys_not_sheet_rows(tmp_path):
    rows = meetings_rows(months=range(1, 4), cells=("CB01",))
    with Store.open(tmp_path) as store:
        record(store, rows, datetime(2026, 4, 20))
        # A new row typed at the top: every existing row moves down one sheet row.
        record(store, [meeting("CB02", 2026, 1), *rows], datetime(2026, 4, 21))
        known = {tuple(v for _, v in k.keys): k for k in store.known_rows("NT")
                 if k.tab == "Sinh hoạt"}
        versions = store.row_versions("NT")
    jan = known[("CB01", "01/2026", "Thường kỳ", "03/01/2026")]
    assert jan.first_seen == datetime(2026, 4, 20) and jan.last_seen == datetime(2026, 4, 21)
    assert jan.last_row == 3  # was 2
    assert len(versions[jan.id]) == 1  # same values: one version seen by both pulls
    assert len(known) == 4


def test_same_content_from_any_backend_has_the_same_key_and_values():
    """A date typed as a date, as a serial number (Google) or as text; "tot" vs "Tốt"."""
    as_of = date(2026, 4, 20)
    a = meeting("CB01", 2026, 3)
    b = dict(a, meeting_date=46084, premeeting_date="01/03/2026", rating="tot",
             cell_code="cb01", month="T3/2026")
    ia = index_unit(parsed(workbook(meetings=[a]), as_of))["meetings"].rows[0]
    ib = index_unit(parsed(workbook(meetings=[b]), as_of))["meetings"].rows[0]
    assert date(1899, 12, 30) + timedelta(days=46084) == date(2026, 3, 3)
    assert ia.rkey == ib.rkey
    assert ia.vhash == ib.vhash


def test_explanation_and_note_are_not_part_of_the_values():
    as_of = date(2026, 4, 20)
    a = meeting("CB01", 2026, 3)
    b = dict(a, explanation="Bí thư đi tập huấn", note="ghi chú")
    ia = index_unit(parsed(workbook(meetings=[a]), as_of))["meetings"].rows[0]
    ib = index_unit(parsed(workbook(meetings=[b]), as_of))["meetings"].rows[0]
    assert ia.vhash == ib.vhash


def test_raw_grids_round_trip():
    raw = raw_of(meetings_rows(months=[1]))
    back = load_raw(dump_raw(raw))
    assert [s.rows for s in back.sheets] == [s.rows for s in raw.sheets]


def _grids_kept(store: Store, unit: str = "NT") -> list[bool]:
    return [bool(n) for (n,) in store.conn.execute(
        "SELECT length(raw) FROM pulls WHERE unit = ? ORDER BY id", (unit,))]


def test_only_the_grids_read_again_are_kept(tmp_path):
    """Each unit's last pull and its last pull of each year keep their grids; the others give
    theirs up, and the key index still holds what the history rules need of them."""
    rows = meetings_rows(months=range(1, 4))
    dropped = meeting("CB02", 2026, 9)
    with Store.open(tmp_path) as store:
        record(store, [*rows, dropped], datetime(2026, 10, 20))
        record(store, rows, datetime(2026, 11, 20))  # the September row deleted
        record(store, rows, datetime(2026, 12, 20), code="NM")
        record(store, rows, datetime(2027, 1, 20))
        assert _grids_kept(store) == [False, True, True]
        assert _grids_kept(store, "NM") == [True]  # another unit's pulls are left alone
        last_2026 = store.last_pull_of_year("NT", 2026)
        assert last_2026 is not None and last_2026.pulled_at == datetime(2026, 11, 20)
        assert [s.rows for s in last_2026.raw.sheets] == [s.rows for s in raw_of(rows).sheets]
        last = store.last_pull("NT")
        assert last is not None and last.pulled_at == datetime(2027, 1, 20)
        current = parsed(raw_of(rows), date(2026, 11, 25))
        found = history_findings(store, "NT", current, date(2026, 11, 25), 2026, PARAMS)
    assert [f.rule for f in found] == ["DATA-DELETED"]  # known from the pull without grids
    assert "thấy lần cuối ngày 20/10/2026" in found[0].message


def test_repair_rebuilds_the_history_from_the_pulls_that_keep_their_grids(tmp_path, caplog):
    """`history repair` records again every pull whose grids are kept; a pull whose grids were
    given up is left out as such, not reported as lost to damage."""
    from sheets_sync.sync.history_repair import _rebuild_index

    rows = meetings_rows(months=range(1, 4))
    with Store.open(tmp_path / "a") as store:
        record(store, [*rows, meeting("CB02", 2026, 9)], datetime(2026, 10, 20))
        record(store, rows, datetime(2026, 11, 20))
        record(store, [*rows, meeting("CB01", 2026, 11)], datetime(2027, 1, 20))
    (tmp_path / "b").mkdir()
    copy = tmp_path / "b" / DB_NAME
    copy.write_bytes((tmp_path / "a" / DB_NAME).read_bytes())
    with caplog.at_level("INFO"):
        _rebuild_index(copy)
    assert "không khôi phục được" not in caplog.text
    with Store.open(tmp_path / "b") as store:
        assert [p.pulled_at for p in store.pulls("NT")] == [datetime(2026, 11, 20),
                                                            datetime(2027, 1, 20)]
        assert _grids_kept(store) == [True, True]
        assert len(store.known_rows("NT")) == len(rows) + 3  # cells, meetings, November's


def test_a_changed_pull_costs_the_store_what_changed_not_a_copy_of_the_unit(tmp_path):
    """Nightly pulls of a unit that a person edits a little each day: the store grows by the
    rows that changed, not by another copy of the grids each night."""
    rng = random.Random(12)
    rows = [dict(r, note=f"{rng.getrandbits(1024):0256x}")  # notes: grids that do not compress
            for r in meetings_rows(months=range(1, 13), cells=[f"CB{c:02d}" for c in range(20)])]
    grids = len(dump_raw(raw_of(rows)))
    assert grids > 6 * 4096  # several pages each

    def store_size(nights: int) -> int:
        state = tmp_path / f"s{nights}"
        with Store.open(state) as store:
            for night in range(nights):
                rows[night]["score"] = 80 + night  # one cell edited each day
                record(store, rows, datetime(2026, 12, 1 + night, 2))
        return sum(p.stat().st_size for p in state.glob(f"{DB_NAME}*"))

    assert store_size(12) - store_size(3) < 2 * grids  # 9 more copies without dropping


# --- retention ----------------------------------------------------------------------------------

def test_prune_deletes_old_pulls_but_keeps_each_units_last_pull(tmp_path):
    now = datetime(2026, 11, 25, 2, 0)
    rows = meetings_rows(months=range(1, 4))
    with Store.open(tmp_path) as store:
        old = now - timedelta(days=400)
        record(store, rows + [meeting("CB02", 2026, 9)], old)  # a row deleted long ago
        record(store, rows, old + timedelta(days=1))
        record(store, rows, now - timedelta(days=10))
        record(store, rows, old, code="NM")  # a unit not read for 400 days: only one pull
        store.record_run("run", old, old, {"units": []})
        store.record_run("run", now, now, {"units": []})

        counts = store.prune(retention_days=365, now=now)

        assert counts["pulls"] == 2 and counts["runs"] == 1 and counts["row_keys"] == 1
        assert [p.pulled_at for p in store.pulls("NT")] == [now - timedelta(days=10)]
        assert [p.pulled_at for p in store.pulls("NM")] == [old]  # kept: its last pull
        assert store.last_pull("NM") is not None
        assert store.known_rows("NM")  # rows of a unit's last pull are kept, however old
        assert len(store.runs()) == 1

        assert store.prune(retention_days=365, now=now) == {
            "pulls": 0, "row_keys": 0, "row_versions": 0, "acks": 0, "runs": 0}
        with pytest.raises(ValueError):
            store.prune(-1)


def test_raw_grids_with_a_lone_surrogate_round_trip():
    from sheets_sync.core.raw import RawSheet, RawWorkbook
    from sheets_sync.sync.store import dump_raw, load_raw

    raw = RawWorkbook([RawSheet("Sinh hoạt", [["Mã chi bộ"], ["CB\ud80001", 3.5, None]])], "v1")
    back = load_raw(dump_raw(raw))
    assert back.sheets[0].rows == raw.sheets[0].rows and back.version == "v1"

"""Bad input hardening: whatever a unit's spreadsheet holds, the outcome is a finding or a unit
status — never a traceback — in bounded time and memory.

- random grids of mixed values (hypothesis), as any backend hands them over, through the
  `check` job (``pipeline.run_check``: ``workbook.parse_unit``, the history store, every rule
  with ``checker.evaluate``) and the write-back planner; every awkward value in every column;
- random bytes and mutated real .xlsx files (zip bytes and the XML inside) through
  ``backends.local.read_xlsx`` and the whole read path;
- a corpus of malformed workbooks built here (chaos_support.malformed_corpus): truncated zip,
  Word/OpenDocument files and bogus content types, 50,000-character cells, 100,000 formatted
  empty rows (and a value below them), a dimension claiming the whole grid, merged header cells,
  cached #REF!/#N/A/... formula errors, booleans and out-of-range numbers in number and date
  columns, entity expansion — in process, through `sheets-sync check` and `sheets-sync run`
  (exit 0 or 1, no "Traceback"), and the worst case measured in a subprocess (time, peak RSS).
"""
from __future__ import annotations

import dataclasses
import io
import json
import subprocess
import sys
import tempfile
import zipfile
from datetime import date, datetime, time, timedelta
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from chaos_support import TEMPLATE, malformed_corpus, write_unit_workbook
from sheets_sync.core.checker import UnitRead, evaluate, read_unit
from sheets_sync.core.config import Config, Supervisor, UnitConfig
from sheets_sync.core.findings import ERROR, INFO, INVALID, OK, STALE, UNREACHABLE, WARNING
from sheets_sync.core.raw import RawSheet, RawWorkbook
from sheets_sync.core.rules.catalog import RULES
from sheets_sync.sources.local_reader import LocalBackend, read_xlsx
from sheets_sync.sync import pipeline
from sheets_sync.sync.history import RULES as HISTORY_RULES
from sheets_sync.sync.writeplan import plan_unit

EXE = str(Path(sys.executable).parent / "sheets-sync")
RULE_IDS = {r.id for r in RULES} | set(HISTORY_RULES)
SEVERITIES = {ERROR, WARNING, INFO}
MAX_SECONDS, MAX_RSS_MB = 60, 1536
UNIT = UnitConfig("FZ", "Đảng ủy xã Thử Nghiệm")
CONFIG = Config(path=Path("fuzz.toml"), parent_name="Đảng bộ Thử", units=(UNIT,),
                supervisors=(Supervisor("Trần Văn Bình", ("FZ",)),))


# --- the checks every outcome must pass -------------------------------------------------------

def check_read(read: UnitRead, findings: list, as_of: date, year: int) -> None:
    """Every finding well formed, every row-level finding on a data row of its tab, and the
    write-back plan only touches tool cells below the header."""
    assert read.result.status in (OK, STALE, INVALID, UNREACHABLE), read.result
    if read.data is None:
        assert read.result.status != OK and read.result.message
        return
    rows_of = {t.tab.name: set(t.rows) for t in read.data.tabs.values()}
    for f in findings:
        assert f.rule in RULE_IDS, f
        assert f.severity in SEVERITIES, f
        assert isinstance(f.message, str) and f.message, f
        if f.row is not None:
            assert f.row in rows_of.get(f.tab, set()), f  # never a flag on a non-data row
    plan = plan_unit(TEMPLATE, read, findings, as_of, year)
    plan.describe()
    for change in plan.changes:
        assert change.sheet in {s.title for s in read.raw.sheets}
        tc = plan.tool_columns[change.sheet]
        assert change.col in (tc.status_col, tc.details_col)  # only tool columns
        assert change.row > tc.header_row


class RawBackend:
    """A backend answering the same grids every time (what any backend hands to the parser)."""

    def __init__(self, raw: RawWorkbook):
        self.raw = raw

    def read(self, unit):
        return self.raw

    def version(self, unit):
        return None


@pytest.fixture(scope="module")
def state(tmp_path_factory) -> Path:
    """One history store for every example of the module."""
    return tmp_path_factory.mktemp("fuzz-state")


def check_raw(raw: RawWorkbook, state: Path, as_of: date, year: int = 2026) -> None:
    """The `check` job on these grids: pull (recorded in a history store shared by every
    example, so history rules see ever-changing pulls of the same unit), every rule, the
    history findings, then the write-back plan."""
    config = dataclasses.replace(CONFIG, state_dir=state, out_dir=state / "out")
    outcome = pipeline.run_check(config, lambda unit: RawBackend(raw), as_of, year)
    for read in outcome.reads:
        check_read(read, outcome.report.findings, as_of, year)


def read_path(path: Path, as_of: date = date(2026, 11, 25)) -> UnitRead:
    """The whole local read path of one file, evaluated and planned; never raises."""
    unit = UnitConfig(UNIT.code, UNIT.name, path=path)
    read = read_unit(LocalBackend(), TEMPLATE, unit, as_of)
    check_read(read, evaluate(CONFIG, [read], as_of, as_of.year).findings, as_of, as_of.year)
    return read


# --- random grids -----------------------------------------------------------------------------

TRICKY = ["01/11/2026", "1/11/26", "2026-11-03", "31/02/2026", "03/11/2026 19:30", "11/2026",
          "tháng 11/2026", "Tháng 13/2026", "2026-Q4", "Quý 4", "07:30", "7h30", "19h",
          "25:61", "Có", "không", "x", "Thường kỳ", "Chuyên đề", "Tốt", "Khá", "CB01", "cb01 ",
          "CB 01", "=SUM(A1:A3)", "=1/0", "#REF!", "#N/A", "#DIV/0!", "TRUE", "FALSE", "0",
          "-5", "1e9", "1,5", "1.000", "NaN", "inf", "   ", "\t", "\n", "Nguyễn Văn A",
          "Nguyễn Văn A", "\u200b", "\x00\x01", "9" * 5000, "1" + "0" * 4400, "٣", "Ⅻ",
          "A" * 50_000, "Trần Văn Bình", "Kết quả kiểm tra", "Chi tiết kiểm tra"]
HEADERS = sorted({c.header for t in TEMPLATE.tabs for c in t.columns}
                 | {TEMPLATE.status_header, TEMPLATE.details_header})

values = st.one_of(
    st.none(), st.just(""), st.booleans(),
    st.integers(min_value=-(10 ** 30), max_value=10 ** 30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=0, max_value=80_000),  # date serials and day fractions
    st.text(max_size=40), st.sampled_from(TRICKY), st.sampled_from(HEADERS),
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)),
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)),
    st.times(), st.timedeltas(min_value=timedelta(days=-5), max_value=timedelta(days=5)),
)


@st.composite
def sheets(draw) -> RawSheet:
    tab = draw(st.sampled_from(TEMPLATE.tabs))
    title = draw(st.sampled_from([tab.name, tab.name.upper(), f" {tab.name} ",
                                  tab.name.replace("ạ", "a"), "Sheet1", TEMPLATE.check_tab]))
    headers = [c.header for c in tab.columns]
    header = draw(st.lists(st.one_of(st.sampled_from(headers), st.sampled_from(HEADERS), values),
                           max_size=len(headers) + 3))
    if draw(st.booleans()):
        header = headers + header[:3]  # the whole template row, plus some noise
    above = draw(st.lists(st.lists(values, max_size=3), max_size=5))
    width = max(len(header), 1)
    rows = draw(st.lists(st.lists(values, min_size=0, max_size=width + 2), max_size=8))
    return RawSheet(title, above + [header] + rows)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.data_too_large])
@given(st.lists(sheets(), max_size=6),
       st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
       st.integers(min_value=2019, max_value=2031))
def test_random_grids_give_findings_never_exceptions(state, grids, as_of, year):
    check_raw(RawWorkbook(grids), state, as_of, year)


def _valid_grid_workbook(values_by_col: dict[str, object]) -> RawWorkbook:
    """A readable unit whose meeting row holds the given values (everything else valid)."""
    from helpers import cell, meeting, workbook

    row = meeting("CB01", 2026, 10)
    row.update(values_by_col)
    return workbook(cells=[cell("CB01")], meetings=[row, meeting("CB01", 2026, 9)],
                    briefings=[], visits=[])


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from([c.id for c in TEMPLATE.tab("meetings").columns]),
                       values, max_size=8))
def test_random_values_in_a_valid_unit(state, values_by_col):
    check_raw(_valid_grid_workbook(values_by_col), state, date(2026, 11, 25))


def test_every_tricky_value_in_every_column(state):
    """Each awkward value in every column of every tab at once (data row under the header)."""
    for value in [*TRICKY, True, False, 0, -1, 10 ** 30, 1e300, -1e-300, float("nan"),
                  float("inf"), float("-inf"), 46_000.5, date(1, 1, 1), date(9999, 12, 31),
                  datetime(2026, 2, 29 - 1, 23, 59), time(23, 59, 59), timedelta(days=2),
                  timedelta(hours=-3)]:
        sheets_ = []
        for tab in TEMPLATE.tabs:
            headers = [c.header for c in tab.columns]
            sheets_.append(RawSheet(tab.name, [headers, [value] * len(headers),
                                               [value, None, value]]))
        check_raw(RawWorkbook(sheets_), state, date(2026, 11, 25))


# --- random bytes and mutated workbooks -------------------------------------------------------

@pytest.fixture(scope="module")
def base_workbook(tmp_path_factory) -> Path:
    return write_unit_workbook(tmp_path_factory.mktemp("fuzz") / "base.xlsx", "FZ", 1)


def _read_bytes(data: bytes) -> UnitRead:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "unit.xlsx"
        path.write_bytes(data)
        return read_path(path)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=3000),
                 st.binary(max_size=3000).map(lambda b: b"PK\x03\x04" + b)))
def test_random_bytes_are_an_invalid_unit(data):
    read = _read_bytes(data)
    assert read.result.status == INVALID and read.data is None


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_mutated_workbooks(base_workbook, data):
    """Bytes of a real workbook flipped, cut or spliced; or the XML inside one of its parts
    edited (so that the zip stays valid and openpyxl's own parsing is exercised)."""
    blob = base_workbook.read_bytes()
    how = data.draw(st.sampled_from(["flip", "cut", "xml"]))
    if how == "flip":
        out = bytearray(blob)
        for _ in range(data.draw(st.integers(1, 8))):
            out[data.draw(st.integers(0, len(out) - 1))] = data.draw(st.integers(0, 255))
        blob = bytes(out)
    elif how == "cut":
        blob = blob[: data.draw(st.integers(0, len(blob)))]
    else:
        with zipfile.ZipFile(base_workbook) as zf:
            names = zf.namelist()
            parts = {n: zf.read(n) for n in names}
        name = data.draw(st.sampled_from([n for n in names if n.endswith((".xml", ".rels"))]))
        text = parts[name]
        start = data.draw(st.integers(0, len(text)))
        end = data.draw(st.integers(start, min(len(text), start + 200)))
        insert = data.draw(st.sampled_from([
            b"", b"<", b">", b"&amp;", b"&bogus;", b'"', b"<c r=\"A1\" t=\"s\"><v>999</v></c>",
            b"<c r=\"B2\" t=\"e\"><v>#REF!</v></c>", b"<row r=\"0\"/>", b"<row r=\"-3\">",
            b"<c r=\"A1048577\"><v>1</v></c>", b"<v>1E+999</v>", b"<v>NaN</v>",
            b'<c r="C3" t="b"><v>2</v></c>', b'<c r="D3" t="d"><v>2026-13-45</v></c>',
            b'<c r="E3" s="999"><v>3</v></c>', b"\xff\xfe", b"\x00"]))
        parts[name] = text[:start] + insert + text[end:]
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for n in names:
                zf.writestr(n, parts[n])
        blob = buf.getvalue()
    event(f"{how}: {_read_bytes(blob).result.status}")


# --- the corpus of malformed workbooks --------------------------------------------------------

EXPECT_INVALID = {"truncated-zip", "empty-file", "not-a-zip", "docx", "ods", "bogus-content-types",
                  "no-workbook-part", "corrupt-sheet-xml", "bad-cell-ref", "entity-expansion"}
HUGE = "100k-empty-rows-then-value"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, base_workbook) -> dict[str, Path]:
    return malformed_corpus(tmp_path_factory.mktemp("corpus"), base_workbook)


def test_corpus_in_process(corpus, base_workbook):
    as_of = date(2026, 11, 25)
    findings = {}
    for name, path in corpus.items():
        read = read_path(path, as_of)
        if name in EXPECT_INVALID:
            assert read.result.status == INVALID and read.data is None, (name, read.result)
            assert "Traceback" not in read.result.message
        else:
            assert read.result.status == OK, (name, read.result)
            findings[name] = evaluate(CONFIG, [read], as_of, 2026).findings
        if name == "docx":
            assert "Word" in read.result.message
        if name == "ods":
            assert "OpenDocument" in read.result.message

    for name in ("100k-empty-rows", HUGE):  # cut with a finding, not read for ever
        cut = [f for f in findings[name] if f.rule == "DATA-INVALID" and f.row is None]
        assert cut and "quá lớn" in cut[0].message, name
    long = [f for f in findings["50k-char-cells"] if f.rule == "DATA-INVALID"]
    assert long and all(len(f.message) < 500 for f in long)  # quoted values are shortened
    for name in ("booleans", "ref-errors", "odd-numbers"):
        assert any(f.rule == "DATA-INVALID" for f in findings[name]), name
    # the value below 100,000 formatted rows (no cells) is read and checked
    assert any(f.row == 100_100 for f in findings["100k-formatted-rows"])
    # a dimension claiming the whole grid (A1:XFD1048576) changes nothing that is read
    assert read_xlsx(corpus["dimension-whole-grid"]).sheets[0].rows == \
        read_xlsx(base_workbook).sheets[0].rows


def _cli(*args, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([EXE, *args], capture_output=True, text=True, timeout=300, cwd=cwd)


def _config_for(folder: Path, files: dict[str, Path]) -> Path:
    lines = ['[parent]', 'name = "Đảng bộ Thử"', '']
    for n, (name, path) in enumerate(files.items()):
        lines += ['[[units]]', f'code = "U{n:02d}"', f'name = "{name}"',
                  f'path = "{path.as_posix()}"', '']
    cfg = folder / "config.toml"
    cfg.write_text("\n".join(lines), encoding="utf-8")
    return cfg


def test_corpus_through_the_cli(corpus, tmp_path):
    """`check` (JSON) and then `run` over a district whose units are the whole corpus (the two
    cut at the cell limit apart: test_worst_case_time_and_memory runs them): exit 0 or 1, no
    traceback, every unit with a status, the readable ones read, every workbook still opens."""
    files = {n: p for n, p in corpus.items() if n not in ("100k-empty-rows", HUGE)}
    work = tmp_path / "cli"
    work.mkdir()
    copies = {}
    for name, path in files.items():
        copies[name] = work / path.name
        copies[name].write_bytes(path.read_bytes())
    cfg = _config_for(work, copies)
    checked = _cli("check", "--config", str(cfg), "--as-of", "2026-11-25", "--format", "json",
                   cwd=work)
    assert checked.returncode in (0, 1), checked.stderr
    assert "Traceback" not in checked.stderr and "Traceback" not in checked.stdout
    doc = json.loads(checked.stdout)
    statuses = {u["name"]: u["status"] for u in doc["units"]}
    assert set(statuses) == set(files)
    for name, status in statuses.items():
        assert status == (INVALID if name in EXPECT_INVALID else OK), (name, status)

    before = {n: openpyxl.load_workbook(p, read_only=True).sheetnames for n, p in copies.items()
              if n not in EXPECT_INVALID}
    ran = _cli("run", "--config", str(cfg), "--as-of", "2026-11-25", cwd=work)
    assert ran.returncode in (0, 1), ran.stderr
    assert "Traceback" not in ran.stderr and "Traceback" not in ran.stdout
    for name in before:  # written or flagged copy or skipped: the file still opens
        wb = openpyxl.load_workbook(copies[name], read_only=True)
        assert set(before[name]) <= set(wb.sheetnames)
        wb.close()


MEASURE = r"""
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
r = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(json.dumps({"exit": r.returncode, "seconds": time.perf_counter() - t0,
                  "rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                  "traceback": "Traceback" in r.stderr + r.stdout, "stderr": r.stderr[-2000:]}))
"""


@pytest.mark.skipif(sys.platform == "win32", reason="peak RSS via the resource module")
def test_worst_case_time_and_memory(corpus, tmp_path, capsys):
    """The largest malformed input (100,000 formatted empty rows of 25 cells, then a value):
    `check` and `run` each in a fresh subprocess, time and peak RSS measured."""
    path = tmp_path / "huge.xlsx"
    path.write_bytes(corpus[HUGE].read_bytes())
    cfg = _config_for(tmp_path, {HUGE: path})
    figures = {}
    for command in ("check", "run"):
        out = subprocess.run([sys.executable, "-c", MEASURE, EXE, command, "--config", str(cfg),
                              "--as-of", "2026-11-25"], capture_output=True, text=True,
                             timeout=600, cwd=tmp_path)
        got = json.loads(out.stdout)
        figures[command] = got
        assert got["exit"] in (0, 1) and not got["traceback"], got
        assert got["seconds"] < MAX_SECONDS and got["rss_mb"] < MAX_RSS_MB, got
    size = path.stat().st_size
    with capsys.disabled():
        print(f"\nFUZZ worst case {HUGE}.xlsx ({size / 1e6:.1f} MB, 100,000 formatted empty rows x "
              f"25 cells + a value at row 100,100): "
              + "; ".join(f"{c}: exit {g['exit']}, {g['seconds']:.1f} s, peak RSS "
                          f"{g['rss_mb']:.0f} MB" for c, g in figures.items()))


# --- config, key and state-folder mutations (issue 12) ----------------------------------------
# Whatever the operator's files hold — a mutated config.toml (values, types, bytes, encodings),
# a mutated service-account key, a state folder in any shape — every command ends with an exit
# code of 0/1/2/75 and a message, never an exception or a traceback (in process: the CLI's
# fault boundary is the only thing between a bug and the operator).

ALLOWED_EXITS = {0, 1, 2, 75}
FUZZ_UNITS = ('[[units]]\ncode = "NT"\nname = "Đảng ủy xã Nhân Thịnh"\npath = "a.xlsx"\n\n'
              '[[units]]\ncode = "GG"\nname = "Đảng ủy xã Google"\n'
              'spreadsheet = "1GGfuzzxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"\n')
BASE_CONFIG = ('[parent]\nname = "Đảng bộ Thử"\n\n{units}\n'
               '[google]\ncredentials = "key.json"\ntimeout_s = 1\nmax_attempts = 1\n'
               'max_retry_wait_s = 0\n\n'
               '[history]\nretention_days = {retention}\n\n'
               '[rules]\nwindow_end_day = {window}\nmin_attendance_rate = {rate}\n'
               'docs_app_effective_from = {effective}\nrating_thresholds = {thresholds}\n\n'
               '[state]\ndir = {state}\n\n[output]\ndir = "out"\n')
TOML_VALUES = st.sampled_from([
    "nan", "inf", "-inf", "-1", "0", "1", "7", "31", "32", "99999999999999999999",
    "9223372036854775807", "-9223372036854775808", "1e309", "0.5", "1.5", "true", '"7"', '""',
    "2025-11-01", "2025-11-01T08:00:00", "0001-01-01", "9999-12-31", "08:00:00", "[]", "[1, 2]",
    "{}", '{ "Tốt" = 90 }', '{ "Tốt" = "chín mươi" }', '{ "Tốt" = nan }', '"state"', '"a.xlsx"',
    '"a.xlsx/x"', '"/dev/null"'])


def _fuzz_folder() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="fuzz-ops-"))
    write_unit_workbook(folder / "a.xlsx", "NT", 1)
    return folder


@pytest.fixture(scope="module")
def ops_folder() -> Path:
    return _fuzz_folder()


def _invoke(args: list[str], cwd: Path):
    """The CLI in process; returns (exit code, output). Never lets an exception through."""
    import os

    from click.testing import CliRunner

    from sheets_sync.cli import cli as group

    old = os.getcwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(group, args, catch_exceptions=True)
    finally:
        os.chdir(old)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        args, repr(result.exception), result.output[-2000:])
    assert result.exit_code in ALLOWED_EXITS, (args, result.exit_code, result.output[-2000:])
    assert "Traceback" not in result.output, result.output[-3000:]
    return result.exit_code, result.output


def _scan_state(state: Path) -> None:
    """Every summary is JSON with an allowed exit code; no log holds an unredacted key."""
    if not state.is_dir():
        return
    runs = state / "runs"
    for p in runs.glob("*.json") if runs.is_dir() else []:
        if p.name == PLANTED:
            continue
        doc = json.loads(p.read_text(encoding="utf-8"))
        assert doc.get("exit_code", 0) in ALLOWED_EXITS, doc
        assert "Traceback" not in json.dumps(doc, ensure_ascii=False)
    logs = state / "logs"
    for p in logs.glob("*.log") if logs.is_dir() else []:
        assert "BEGIN PRIVATE KEY" not in p.read_text(encoding="utf-8", errors="replace")


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck),
          phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(values=st.fixed_dictionaries({k: TOML_VALUES for k in
                                     ("retention", "window", "rate", "effective", "thresholds",
                                      "state")}),
       units=st.sampled_from([FUZZ_UNITS, FUZZ_UNITS.split("\n\n")[0] + "\n"]))
def test_mutated_config_values_end_in_a_message(ops_folder, values, units):
    text = BASE_CONFIG.format(units=units, **values)
    (ops_folder / "config.toml").write_text(text, encoding="utf-8")
    code, output = _invoke(["check", "--config", "config.toml", "--as-of", "2026-11-25",
                            "--format", "json"], ops_folder)
    event(f"exit {code}")
    if code == 2:
        assert "config.toml" in output or "--as-of" in output, output
    _scan_state(ops_folder / "state")


VALID_CONFIG = BASE_CONFIG.format(units=FUZZ_UNITS, retention=800, window=7, rate=0.85,
                                  effective="2025-11-01", thresholds='{ "Tốt" = 90 }',
                                  state='"state"')


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck),
          phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(data=st.data())
def test_mutated_config_bytes_and_encodings_end_in_a_message(ops_folder, data):
    raw = VALID_CONFIG.encode("utf-8")
    how = data.draw(st.sampled_from(["flip", "truncate", "insert", "encoding", "bom"]))
    if how == "flip":
        at = data.draw(st.integers(0, len(raw) - 1))
        raw = raw[:at] + bytes([data.draw(st.integers(0, 255))]) + raw[at + 1:]
    elif how == "truncate":
        raw = raw[:data.draw(st.integers(0, len(raw)))]
    elif how == "insert":
        at = data.draw(st.integers(0, len(raw)))
        raw = raw[:at] + data.draw(st.binary(min_size=1, max_size=8)) + raw[at:]
    elif how == "encoding":
        enc = data.draw(st.sampled_from(["utf-16-le", "utf-16-be", "cp1258", "cp1252",
                                         "latin-1", "utf-32"]))
        raw = VALID_CONFIG.encode(enc, errors="replace")
    else:
        raw = data.draw(st.sampled_from([b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"])) + raw
    event(how)
    (ops_folder / "config.toml").write_bytes(raw)
    _invoke(["check", "--config", "config.toml", "--as-of", "2026-11-25", "--no-history"],
            ops_folder)


KEY_FIELDS = {"type": "service_account", "client_email": "fuzz@fuzz.iam.gserviceaccount.com",
              "token_uri": "http://127.0.0.1:9/token", "private_key_id": "0123456789abcdef",
              "private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC"
                             "\n-----END PRIVATE KEY-----\n"}
JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
                           lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                           max_leaves=6)


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck),
          phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(data=st.data())
def test_mutated_key_files_fail_google_units_only(ops_folder, data):
    how = data.draw(st.sampled_from(["value", "field", "drop", "raw"]))
    if how == "value":
        text = json.dumps(data.draw(JSON_VALUES))
    elif how in ("field", "drop"):
        doc = dict(KEY_FIELDS)
        name = data.draw(st.sampled_from(sorted(doc)))
        if how == "drop":
            doc.pop(name)
        else:
            doc[name] = data.draw(JSON_VALUES)
        text = json.dumps(doc)
    else:
        text = data.draw(st.binary(max_size=64)).decode("latin-1")
    event(how)
    (ops_folder / "key.json").write_text(text, encoding="utf-8", errors="surrogateescape")
    (ops_folder / "config.toml").write_text(VALID_CONFIG, encoding="utf-8")
    code, output = _invoke(["check", "--config", "config.toml", "--as-of", "2026-11-25",
                            "--format", "json", "--no-history"], ops_folder)
    assert code in (1, 75), output[-2000:]
    units = {u["code"]: u for u in json.loads(output[output.index("{"):])["units"]}
    assert units["NT"]["status"] == OK  # a broken key never stops a local unit
    assert units["GG"]["status"] == UNREACHABLE and units["GG"]["message"]
    assert "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" not in output


PLANTED = "20261125-020000-run.json"  # the garbage summary a state shape plants
STATE_SHAPES = ["db-random", "db-truncated", "db-folder", "logs-file", "runs-file", "lock-folder",
                "runs-garbage", "state-file", "db-zero", "wal-garbage"]


@pytest.fixture(scope="module")
def ran_folder() -> Path:
    """A district after one run (history store, logs, summaries, roll-up)."""
    folder = _fuzz_folder()
    (folder / "config.toml").write_text(
        VALID_CONFIG.replace(FUZZ_UNITS, FUZZ_UNITS.split("\n\n")[0] + "\n"), encoding="utf-8")
    _invoke(["run", "--config", "config.toml", "--as-of", "2026-11-25"], folder)
    return folder


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck),
          phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(shape=st.sampled_from(STATE_SHAPES), seed=st.integers(0, 2**16),
       command=st.sampled_from(["check", "run", "rollup", "status", "history"]))
def test_state_folder_in_any_shape_ends_in_a_message(ran_folder, shape, seed, command):
    import random
    import shutil

    folder = Path(tempfile.mkdtemp(prefix="fuzz-state-"))
    try:
        shutil.copytree(ran_folder, folder, dirs_exist_ok=True)
        state = folder / "state"
        db = state / "history.sqlite"
        rng = random.Random(seed)
        if shape == "db-random":
            blob = bytearray(db.read_bytes())
            for _ in range(rng.randint(1, 50)):
                blob[rng.randrange(len(blob))] = rng.randrange(256)
            db.write_bytes(bytes(blob))
        elif shape == "db-truncated":
            db.write_bytes(db.read_bytes()[:rng.randrange(max(1, db.stat().st_size))])
        elif shape == "db-folder":
            db.unlink()
            db.mkdir()
        elif shape == "db-zero":
            db.write_bytes(b"")
        elif shape == "wal-garbage":
            (state / "history.sqlite-wal").write_bytes(rng.randbytes(4096))
        elif shape == "logs-file":
            shutil.rmtree(state / "logs")
            (state / "logs").write_text("x")
        elif shape == "runs-file":
            shutil.rmtree(state / "runs")
            (state / "runs").write_text("x")
        elif shape == "lock-folder":
            (state / "sheets-sync.lock").unlink(missing_ok=True)
            (state / "sheets-sync.lock").mkdir()
        elif shape == "runs-garbage":
            (state / "runs" / PLANTED).write_bytes(rng.randbytes(64))
        elif shape == "state-file":
            shutil.rmtree(state)
            state.write_text("x")
        event(shape)
        args = {"check": ["check", "--as-of", "2026-11-25"],
                "run": ["run", "--as-of", "2026-11-25"],
                "rollup": ["rollup", "--as-of", "2026-11-25"], "status": ["status"],
                "history": ["history", "--unit", "NT"]}[command]
        _invoke([*args, "--config", "config.toml"], folder)
        _scan_state(state)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

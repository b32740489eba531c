"""Assemble the roll-up workbook: one pass over the units, then each sheet in order."""
from __future__ import annotations

import functools
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import xlsxwriter
import xlsxwriter.workbook
from xlsxwriter.exceptions import FileCreateError

from ... import __version__
from ...core import heap
from ...core.atomic import discard, replace_durably, write_text_atomic
from ...core.config import Config, document_labels
from ...core.faults import output_error
from ...core.findings import Finding, Report
from ...core.template import load_template
from ...core.text import slug
from ..packaging import zip_closed_on_failure
from . import ranking, sheets, summary, violations
from .layout import BASE_SIZE, FONT, Styles, Writer
from .literal_text import LiteralTextWorksheet
from .model import Model, build_model
from .streamed import Splices, SplicingZipFile, StreamedWorksheet

SHEETS = ("Tổng hợp", "Biểu đồ", "Xếp thứ", "Ma trận", "Vi phạm", "Lưu ý", "Dự sinh hoạt",
          "Đánh giá năm", "Nhà văn hóa", "Nhật ký")
# Above this many findings the workbook is written in xlsxwriter's constant_memory mode
# (rows streamed to disk; every sheet writer writes row by row), its worksheets
# ``StreamedWorksheet``s (the same XML without xlsxwriter's per-cell work) unless
# FAST_STREAMING is off (tests compare the two). A province (100 units, ≈ 17,600 findings)
# is streamed: its roll-up in half the time (0.40–0.56 s instead of 0.84–1.06 s), in a file
# opening cell for cell like the normal one (tests/test_rollup_streamed.py) with its text
# inline instead of shared (548 -> 700 KB). A district's stays in the normal mode.
STREAM_THRESHOLD = 5_000
FAST_STREAMING = True
# zlib level of a streamed workbook's parts (xlsxwriter: 6). National roll-up, 216 MB of XML:
# level 6 1.9 s and 15.6 MB, level 3 0.7 s and 19.4 MB, level 1 0.5 s and 22.5 MB.
STREAMED_ZIP_LEVEL = 3
MEETINGS_TAB = "Sinh hoạt"


def rollup_path(config: Config, as_of: date) -> Path:
    """out/tong-hop-<parent-slug>-<YYYY-MM>.xlsx (the as-of month)."""
    return Path(config.out_dir) / f"tong-hop-{slug(config.parent_name)}-{as_of:%Y-%m}.xlsx"


def csv_path(path: Path) -> Path:
    """The full findings list next to the workbook: <same stem>-vi-pham.csv."""
    path = Path(path)
    return path.with_name(f"{path.stem}-vi-pham.csv")


def _atomic_write_text(path: Path, text: str) -> None:
    write_text_atomic(path, text, tmp=path.with_name(f".{path.name}.{os.getpid()}.tmp"))


def write_latest(config: Config, path: Path, as_of: date) -> Path:
    """out/latest.json naming the newest roll-up, written atomically."""
    path = Path(path)
    out = Path(config.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    latest = out / "latest.json"
    doc = {"path": str(path.resolve()), "as_of": as_of.isoformat(), "file": path.name}
    _atomic_write_text(latest, json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    return latest


def _titles(read) -> dict[str, str]:
    if read is None or read.data is None:
        return {}
    return {t.tab.name: t.title or t.tab.name for t in read.data.tabs.values()}


def _links(read, titles: Mapping[str, str]) -> violations.UnitLinks | None:
    if read is None or not read.config.is_google:
        return None
    meta = read.raw.meta if read.raw is not None else {}
    key = meta.get("spreadsheet") or violations.spreadsheet_key(read.config.spreadsheet)
    ids = meta.get("sheet_ids") or {}
    sheet_ids = {name: ids[title] for name, title in titles.items()
                 if isinstance(ids.get(title), int)}
    return violations.UnitLinks(str(key), dict(titles), sheet_ids)


def _source(read) -> str:
    if read is None:
        return ""
    cfg = read.config
    if cfg.is_google:
        return f"Google Sheets: {violations.spreadsheet_key(cfg.spreadsheet)}"
    return str(cfg.path) if cfg.path is not None else ""


def _overrides(config: Config) -> list[tuple[str, str, Any]]:
    out = []
    for unit in config.units:
        for name, value in unit.rules.items():
            if config.rules.get(name) != value:
                out.append((unit.code, name, value))
    return out


# --- build -------------------------------------------------------------------------------------

def build_rollup(config: Config, report: Report, reads: Sequence[Any], run_info: dict,
                 path: Path, model: Model | None = None) -> Path:
    """Write the roll-up workbook to ``path`` (via a temporary file in the same folder and a
    rename) and the full findings CSV next to it. Every sheet but `Nhật ký` depends only on
    the data, the config and the as-of date, so a rerun gives identical sheets. ``model``: the
    values already computed for the report (``model.build_model``), so both show one set of
    numbers."""
    with heap.paused():
        return _build_rollup(config, report, reads, run_info, Path(path), model)


def _build_rollup(config: Config, report: Report, reads: Sequence[Any], run_info: dict,
                  path: Path, model: Model | None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    model = model if model is not None else build_model(config, report, reads)
    run_info = dict(run_info or {})
    units = model.units
    order = {u.code: k for k, u in enumerate(units)}
    titles = {u.code: _titles(u.read) for u in units}
    links = {}
    for u in units:
        got = _links(u.read, titles[u.code])
        if got is not None:
            links[u.code] = got
    vctx = violations.Context(
        unit_names={u.code: u.name for u in units},
        titles=titles, links=links, show_member_names=config.show_member_names)
    all_findings = violations.ordered(report.findings, order)
    csv_file = csv_path(path)

    # Both files are written to temporary names first; the CSV is renamed just before the
    # workbook, so a failure leaves the previous pair in place.
    _remove_stale_temps(path, csv_file)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.xlsx")
    with _scratch_folder(path) as scratch:
        _write_files(model, all_findings, vctx, run_info, path, csv_file, tmp, scratch)
    return path


@contextmanager
def _scratch_folder(path: Path) -> Iterator[Path]:
    """A new folder next to the workbook for xlsxwriter's temporary files (the rows of streamed
    sheets, each part of the package), removed afterwards: not the system's temporary folder
    (%TEMP%, often a small C: drive), so the only disk that needs room is the one a full-disk
    message names."""
    try:
        scratch = Path(tempfile.mkdtemp(prefix=f".{path.stem}.{os.getpid()}.", suffix=".tmp",
                                        dir=path.parent))
    except OSError as e:
        raise output_error(e, "bảng tổng hợp", path, "Excel") from None
    try:
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _write_files(model: Model, all_findings: list[Finding], vctx: violations.Context,
                 run_info: dict, path: Path, csv_file: Path, tmp: Path, scratch: Path) -> None:
    streamed = len(all_findings) > STREAM_THRESHOLD
    wb = xlsxwriter.Workbook(str(tmp), {
        "tmpdir": str(scratch),
        "strings_to_formulas": False,
        "strings_to_urls": False,
        "strings_to_numbers": False,
        "constant_memory": streamed,
        "default_format_properties": {"font_name": FONT, "font_size": BASE_SIZE},
    })
    sheet_class = StreamedWorksheet if streamed and FAST_STREAMING else LiteralTextWorksheet
    # Streamed worksheets' rows are deflated, and the CSV written, on this thread while the
    # next rows and lines are made (``threaded``).
    with ThreadPoolExecutor(1, thread_name_prefix="rollup-write") as writing:
        try:
            _write_workbook(wb, model, all_findings, vctx, run_info, path, csv_file,
                            sheet_class, writing)
        except BaseException:
            try:
                with zip_closed_on_failure(xlsxwriter.workbook):
                    wb.close()
            except Exception:  # noqa: BLE001 - the original error is what gets raised
                pass
            discard(tmp)  # (rows files the close did not take: in ``scratch``)
            raise
        try:
            if streamed:
                _close_deflating(wb, STREAMED_ZIP_LEVEL)
            else:
                with zip_closed_on_failure(xlsxwriter.workbook):
                    wb.close()
            violations.write_csv(csv_file, all_findings, vctx, writing)
            replace_durably(tmp, path)
        except (OSError, FileCreateError) as e:
            raise output_error(e, "bảng tổng hợp", path, "Excel") from None
        finally:
            discard(tmp)


def _close_deflating(wb: xlsxwriter.Workbook, level: int) -> None:
    """``wb.close()`` with its zip parts deflated at ``level``, the rows of its
    ``StreamedWorksheet``s zipped from the files they were streamed to (``SplicingZipFile``):
    xlsxwriter has no option for either, so its ``ZipFile`` is replaced while the package is
    written (an xlsxwriter workbook closed by another thread meanwhile would only be deflated
    at this level too)."""
    splices: Splices = {}
    for ws in wb.worksheets():
        if isinstance(ws, StreamedWorksheet):
            ws.splices = splices
    try:
        with zip_closed_on_failure(xlsxwriter.workbook, functools.partial(
                SplicingZipFile, compresslevel=level, splices=splices)):
            wb.close()
    finally:
        for _, rows, _ in splices.values():  # not zipped: the close failed
            Path(rows).unlink(missing_ok=True)


def _remove_stale_temps(path: Path, csv_file: Path) -> None:
    """Temporary files and scratch folders of an earlier build that was killed before its
    renames (half-written workbooks nobody should open). Only those whose process has ended are
    removed (and, where that cannot be told, those older than a day): another process's build
    is never touched; a link is removed, never followed."""
    stem = re.escape(path.stem)
    stale = re.compile(rf"\.(?:{stem}\.(\d+)\.tmp\.xlsx|{re.escape(csv_file.name)}\.(\d+)\.tmp"
                       rf"|{stem}\.(\d+)\.[a-z0-9_]{{8}}\.tmp)")  # (the last: a scratch folder)
    try:
        for p in path.parent.iterdir():
            m = stale.fullmatch(p.name)
            if not m or not _abandoned(p, int(m[1] or m[2] or m[3])):
                continue
            if m[3] and not p.is_symlink() and p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
    except OSError:
        pass


def _abandoned(temp: Path, pid: int) -> bool:
    """True when the process that wrote ``temp`` is gone (POSIX: signal 0; elsewhere, or when
    the pid may have been reused, the file must also be a day old)."""
    if pid == os.getpid():
        return False
    try:
        old = time.time() - temp.stat().st_mtime > 86400
    except OSError:
        return False
    if os.name != "posix":
        return old  # os.kill(pid, 0) would end the process on Windows
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, owned by another user
        return False
    return False


def _write_workbook(wb, model: Model, all_findings: list[Finding], vctx, run_info: dict,
                    path: Path, csv_file: Path, sheet_class: type, writing: Executor) -> None:
    config, report = model.config, model.report
    as_of, year = report.as_of, report.year
    labels = document_labels(config.parent_name, model.labels)
    cell_label = labels.get("cell", "Chi bộ")
    wb.set_properties({
        "title": f"Báo cáo tổng hợp chất lượng sinh hoạt chi bộ năm {year} – "
                 f"{config.parent_name}",
        "subject": f"Số liệu đến ngày {as_of:%d/%m/%Y}",
        "author": "sheets-sync",
        "company": config.parent_name,
        "comments": "Tạo tự động bởi sheets-sync từ sổ theo dõi sinh hoạt chi bộ của các đơn vị.",
        "created": datetime(as_of.year, as_of.month, as_of.day),
    })
    st = Styles(wb)
    ws = {name: wb.add_worksheet(name, worksheet_class=sheet_class) for name in SHEETS}
    for sheet in ws.values():
        if isinstance(sheet, StreamedWorksheet):
            sheet.deflate_rows(STREAMED_ZIP_LEVEL, writing)
    units = model.units
    blocks = [u.block for u in units]
    indicators = [u.ind for u in units]

    layout = summary.write_summary(ws["Tổng hợp"], Writer(ws["Tổng hợp"], st), indicators,
                                   model.total, config.parent_name, labels, as_of, year,
                                   csv_file.name, previous=model.previous)
    summary.write_charts(wb, ws["Biểu đồ"], Writer(ws["Biểu đồ"], st), layout, model, labels)
    ranking.write_ranking(ws["Xếp thứ"], Writer(ws["Xếp thứ"], st), model, labels)

    sheets.write_matrix(ws["Ma trận"], Writer(ws["Ma trận"], st), model.matrix, year, as_of,
                        cell_label)

    violations.write_violations(ws["Vi phạm"], Writer(ws["Vi phạm"], st), all_findings, vctx,
                                year, as_of, csv_file.name,
                                max_rows=config.report.findings_rows, counts=model.counts)
    violations.write_notes(ws["Lưu ý"], Writer(ws["Lưu ý"], st), model.notes_by_rule, units,
                           year, as_of, csv_file.name)

    sheets.write_supervision(ws["Dự sinh hoạt"], Writer(ws["Dự sinh hoạt"], st),
                             model.supervisors, model.difficulties, blocks, year, as_of,
                             labels.get("parent", ""))
    sheets.write_annual(ws["Đánh giá năm"], Writer(ws["Đánh giá năm"], st), model.annual, year,
                        as_of, cell_label, config.rules["annual_min_tot"],
                        config.rules["annual_max_kem"])
    sheets.write_halls(ws["Nhà văn hóa"], Writer(ws["Nhà văn hóa"], st), model.halls, blocks,
                       year, as_of)

    template_path = run_info.get("template") or str(load_template().path)
    sheets.write_log(
        ws["Nhật ký"], Writer(ws["Nhật ký"], st), as_of=as_of, year=year, run_info=run_info,
        units=[u.result for u in units],
        sources={u.code: _source(u.read) for u in units},
        counts=model.counts.as_dict(), parent_rules=config.rules, overrides=_overrides(config),
        template_path=str(template_path), version=__version__,
        files=[("Tệp tổng hợp", path.name), ("Danh sách phát hiện đầy đủ (CSV)", csv_file.name)],
        parent_label=labels.get("parent", ""))

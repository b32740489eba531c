"""Thin click layer: parse options, call the library, print, pick the exit code."""
from __future__ import annotations

import codecs
import functools
import json
import os
import shutil
import sys
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

import click

from . import __version__, _click_vi
from .core import heap
from .core.config import Config, check_year, load_config, parse_as_of
from .core.errors import (
    EXIT_OK,
    EXIT_TRY_LATER,
    EXIT_UNITS_FAILED,
    EXIT_USAGE,
    Fault,
    SheetsSyncError,
)
from .core.faults import describe
from .core.rules import listing
from .core.rules import params as rule_params
from .ops import init as setup
from .ops.doctor import doctor_exit_code, render_checks, run_doctor
from .ops.provision_local import apply_template_local, check_export_target
from .ops.status import last_exit_code, last_runs, render_status
from .outputs.check_formats import paragraph, run_summary, to_csv, to_json, to_table
from .outputs.template_xlsx import export_template
from .sources import backend_for
from .sync.history_ack import ack, render_ack
from .sync.history_repair import repair
from .sync.history_views import export_last_pull, history_json, render_history, rows_history
from .sync.pipeline import (
    RunOutcome,
    job_summary,
    report_from_store,
    rollup_from_store,
    run_check,
    run_exit_code,
)
from .sync.pipeline import run as run_job
from .sync.redact import redact, secrets_from_credentials
from .sync.runlog import record_failure
from .sync.session import job
from .sync.store import Store

_click_vi.install()  # before the commands below are declared

EXIT_CODES_HELP = (
    "Mã thoát: 0 = đọc được mọi đơn vị (phát hiện vi phạm không đổi mã thoát); "
    "1 = có đơn vị không đọc được / dùng số liệu cũ, có lần ghi bị bỏ qua, hoặc chưa lập được "
    "bảng tổng hợp / báo cáo năm; "
    "2 = sai cú pháp lệnh hoặc lỗi cấu hình; 75 = thử lại sau (đang có lần chạy khác, "
    "hoặc hết hạn mức Google)."
)

DEFAULT_CONFIG = "config.toml"
CONFIG_ENV = "SHEETS_SYNC_CONFIG"

# The common options: accepted before the subcommand (`sheets-sync -v run`) and after it
# (`sheets-sync run --verbose`); a value given after the subcommand wins, --unit values add up.
_COMMON_OPTIONS: dict[str, Callable[[Any], Any]] = {
    "config": click.option(
        "--config", "config_path", type=click.Path(dir_okay=False), default=None,
        metavar="FILE",
        help=f"Tệp cấu hình TOML (đơn vị, người phụ trách, tham số quy tắc). Mặc định: "
             f"${CONFIG_ENV} nếu có, không thì {DEFAULT_CONFIG}."),
    "as_of": click.option(
        "--as-of", "as_of", metavar="YYYY-MM-DD", default=None,
        help="Kiểm tra tính đến ngày này (mặc định: hôm nay). Các tháng sau ngày này không "
             "được yêu cầu."),
    "unit": click.option(
        "--unit", "units", multiple=True, metavar="CODE",
        help="Chỉ xử lý đơn vị có mã này (lặp lại được)."),
    "json_log": click.option(
        "--json-log", is_flag=True, default=False,
        help="Ghi nhật ký chạy (state/logs) dạng JSON, mỗi dòng một sự kiện."),
    "verbose": click.option(
        "--verbose", "-v", is_flag=True, default=False, help="In thêm chi tiết quá trình chạy."),
}
_PARAM = {"config": "config_path", "as_of": "as_of", "unit": "units", "json_log": "json_log",
          "verbose": "verbose"}
_FLAG = {"config": "--config", "as_of": "--as-of", "unit": "--unit", "json_log": "--json-log",
         "verbose": "--verbose"}

def _year(ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
    try:
        return check_year(value)
    except SheetsSyncError as e:
        raise click.BadParameter(str(e)) from None


YEAR_OPTION = click.option(
    "--year", type=int, default=None, callback=_year, metavar="NĂM",
    help="Năm kiểm tra (mặc định: năm của --as-of).")


@dataclass
class Ctx:
    """The common options as given before the subcommand (then merged with those after it)."""

    config_path: str | None = None
    verbose: bool = False
    as_of: str | None = None
    units: tuple[str, ...] = ()
    json_log: bool = False


def common(*names: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Add the named common options (and --verbose) to a command; its callback receives the
    merged values. A common option given before a subcommand that does not take it is a usage
    error."""
    accepted = (*names, "verbose")

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            ctx = click.get_current_context()
            obj = ctx.find_object(Ctx) or Ctx()
            if getattr(ctx, "invoked_subcommand", None) is None:
                for name in _COMMON_OPTIONS:
                    if name not in accepted and getattr(obj, _PARAM[name]) not in (None, False, ()):
                        raise click.UsageError(
                            f"Lệnh '{ctx.command_path}' không dùng tùy chọn {_FLAG[name]}.")
            verbose = kwargs.pop("verbose")
            obj.verbose = obj.verbose or verbose
            if "config" in names:
                kwargs["config_path"] = (kwargs["config_path"] or obj.config_path
                                         or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)
            if "as_of" in names:
                kwargs["as_of"] = kwargs["as_of"] or obj.as_of
            if "unit" in names:
                kwargs["units"] = tuple(dict.fromkeys((*obj.units, *kwargs["units"])))
            if "json_log" in names:
                kwargs["json_log"] = kwargs["json_log"] or obj.json_log
            return f(*args, **kwargs)

        for name in reversed(accepted):
            wrapper = _COMMON_OPTIONS[name](wrapper)
        return wrapper

    return decorate


def fail(e: SheetsSyncError) -> NoReturn:
    click.echo(f"Lỗi: {redact(str(e), _CURRENT.get('secrets') or ())}", err=True)
    sys.exit(e.exit_code)


# What the fault boundary knows of the command being run (set once its config is loaded).
_CURRENT: dict[str, Any] = {}


def _load(config_path: str):
    try:
        config = load_config(config_path)
    except SheetsSyncError as e:
        fail(e)
    _CURRENT.update(state_dir=config.state_dir,
                    secrets=secrets_from_credentials(config.google.credentials))
    if config.google.problem and not any(u.is_google for u in config.units):
        click.echo(f"Cảnh báo: {config.google.problem} (không ảnh hưởng lần chạy này vì không có "
                   "đơn vị nào dùng Google Sheets).", err=True)
    return config


def _one_unit(units: tuple[str, ...]) -> str:
    if len(units) != 1:
        raise click.UsageError("Cần đúng một --unit CODE.")
    return units[0]


def crash(e: BaseException, command: str) -> NoReturn:
    """The fault boundary's net: one Vietnamese line naming what failed and the log file
    holding the redacted traceback; a run summary (exit code, reason) when the state folder
    is known; an exit code of 0/1/2/75."""
    message, code = describe(e)
    log = record_failure(_CURRENT.get("state_dir"), command or "sheets-sync", message, code, e,
                         _CURRENT.get("secrets") or ())
    where = f" Chi tiết trong nhật ký {log}." if log else ""
    fail(Fault(f"{message}{where}", code))


class GuardedGroup(click.Group):
    """The top-level group: every command runs inside the fault boundary."""

    def invoke(self, ctx: click.Context) -> Any:
        _CURRENT.clear()  # nothing known yet of this invocation's config
        try:
            with heap.bulk():  # a command keeps every unit it reads until it ends
                return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except SheetsSyncError as e:
            fail(e)
        except Exception as e:  # noqa: BLE001 — the fault boundary: every bug ends here
            crash(e, " ".join(_command_path(ctx)))


def _command_path(ctx: click.Context) -> list[str]:
    names, sub = [], ctx.invoked_subcommand
    if sub:
        names.append(sub)
    return names


@click.group(cls=GuardedGroup,
             help="sheets-sync — kiểm tra chất lượng sinh hoạt chi bộ theo Chỉ thị, ghi kết quả "
                  "vào bảng tính của đơn vị và lập bảng tổng hợp cho Ban Tổ chức.\n\n"
                  "Các tùy chọn chung --config, --verbose, --as-of, --unit, --json-log đặt trước "
                  "hay sau tên lệnh đều được.\n\n" + EXIT_CODES_HELP,
             context_settings={"max_content_width": 100})
@click.version_option(__version__, prog_name="sheets-sync")
@_COMMON_OPTIONS["config"]
@_COMMON_OPTIONS["verbose"]
@_COMMON_OPTIONS["as_of"]
@_COMMON_OPTIONS["unit"]
@_COMMON_OPTIONS["json_log"]
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: bool, as_of: str | None,
        units: tuple[str, ...], json_log: bool) -> None:
    ctx.obj = Ctx(config_path, verbose, as_of, units, json_log)


@cli.command(short_help="Đọc và kiểm tra mọi đơn vị; không ghi gì vào bảng tính.",
             help="Đọc bảng tính của các đơn vị và kiểm tra theo quy tắc; không ghi gì vào bảng "
                  "tính.\n\nVí dụ: sheets-sync check --config config.toml --as-of 2026-11-25 "
                  "--format json\n\n" + EXIT_CODES_HELP)
@common("config", "as_of", "unit", "json_log")
@YEAR_OPTION
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True,
              help="table = bảng tóm tắt tiếng Việt; json, csv = danh sách đầy đủ.")
@click.option("--output", "output", type=click.Path(dir_okay=False),
              help="Ghi kết quả vào tệp thay vì in ra màn hình.")
@click.option("--limit", type=int, default=200, show_default=True, metavar="SỐ",
              help="Số phát hiện tối đa in trong bảng (0 = tất cả).")
@click.option("--no-history", is_flag=True, help="Không lưu lần đọc này vào kho lịch sử.")
@click.pass_obj
def check(obj: Ctx, config_path, as_of, year, units, fmt, output, limit, no_history,
          json_log) -> None:
    config = _load(config_path)
    try:
        # (the date is checked inside the job: a wrong one is a run `status` lists, with why)
        with job(config, "check", obj.verbose, json_log, record=not no_history,
                 steps=len(config.select(units))) as (log, progress):
            as_of_date = parse_as_of(as_of)
            outcome = run_check(config, backend_for(config), as_of_date, year, units,
                                history=not no_history, progress=progress)
            code = run_exit_code(outcome)
            if log is not None:
                log.write_summary(job_summary(outcome, code))
    except SheetsSyncError as e:
        fail(e)
    _history_warning(outcome.history_problem)
    report = outcome.report
    if fmt == "json":
        text = to_json(report) + "\n"
    elif fmt == "csv":
        text = to_csv(report)
    else:
        text = to_table(report, f"{config.parent_name} — kiểm tra sinh hoạt chi bộ",
                        limit=None if limit == 0 else limit,
                        width=None if output else _terminal_width())
    _emit(text, output, fmt)
    sys.exit(code)


def _terminal_width() -> int | None:
    """The terminal's width in columns, or None when stdout is not a terminal (plain lines)."""
    try:
        if not sys.stdout.isatty():
            return None
    except (AttributeError, ValueError):  # replaced or closed stream
        return None
    return max(40, shutil.get_terminal_size((100, 24)).columns)
def _history_warning(problem: str | None) -> None:
    if problem:
        click.echo(f"Cảnh báo: {problem}", err=True)


def _progress(obj: Ctx):
    if not obj.verbose:
        return None
    return lambda line: click.echo(line, err=True)


def _emit(text: str, output: str | None, fmt: str) -> None:
    if output:
        Path(output).write_text(text, encoding="utf-8", newline="" if fmt == "csv" else None)
        click.echo(f"Đã ghi {output}", err=True)
    else:
        click.echo(text, nl=False)


@cli.command(short_help="Công việc chính: đọc, kiểm tra, ghi kết quả, lập bảng tổng hợp.",
             help="Công việc chính: đọc mọi đơn vị, kiểm tra, ghi kết quả vào hai cột công cụ và "
                  "tab Kiểm tra của bảng tính, rồi lập bảng tổng hợp cho Ban Tổ chức.\n\n"
                  "Ví dụ: sheets-sync run --config config.toml\n\n"
                  "Chỉ ghi vào cột/tab của công cụ; "
                  "dòng nào không chắc chắn thì bỏ qua và báo lại. "
                  "--dry-run: chỉ cho biết sẽ ghi gì, không ghi gì.\n\n" + EXIT_CODES_HELP)
@common("config", "as_of", "unit", "json_log")
@YEAR_OPTION
@click.option("--dry-run", is_flag=True, help="Không ghi gì (bảng tính, bảng tổng hợp, lịch sử); "
                                               "chỉ in những gì sẽ thay đổi.")
@click.pass_obj
def run(obj: Ctx, config_path, as_of, year, units, dry_run, json_log) -> None:
    config = _load(config_path)
    try:
        if dry_run:  # writes nothing: no log, no lock
            outcome = run_job(config, backend_for(config), parse_as_of(as_of), year, units,
                              dry_run=True, progress=_progress(obj))
            code = run_exit_code(outcome)
        else:
            # (the date is checked inside the job: a wrong one is a run `status` lists)
            with job(config, "run", obj.verbose, json_log,
                     steps=2 * len(config.select(units))) as (log, progress):
                as_of_date = parse_as_of(as_of)
                outcome = run_job(config, backend_for(config), as_of_date, year, units,
                                  progress=progress)
                code = run_exit_code(outcome)
                assert log is not None  # a recorded job always has its log
                log.write_summary(job_summary(outcome, code))
    except SheetsSyncError as e:
        fail(e)
    click.echo(run_summary(outcome, config.parent_name, _terminal_width()), nl=False)
    _history_warning(outcome.history_problem)
    if code == EXIT_TRY_LATER:
        click.echo("Google tạm thời không đáp ứng (hết hạn mức, lỗi máy chủ hoặc hết thời gian "
                   "chờ) sau khi đã thử lại; hãy chạy lại sau.", err=True)
    sys.exit(code)


@cli.command(short_help="Lập lại bảng tổng hợp từ lần đọc gần nhất đã lưu.",
             help="Lập lại bảng tổng hợp từ lần đọc gần nhất đã lưu trong kho lịch sử; không mở "
                  "bảng tính nào.\n\nVí dụ: sheets-sync rollup --config config.toml\n\n"
                  + EXIT_CODES_HELP)
@common("config", "as_of", "unit")
@YEAR_OPTION
def rollup(config_path, as_of, year, units) -> None:
    config = _load(config_path)
    outcome, code = _from_store(config, "rollup", as_of,
                                lambda day: rollup_from_store(config, day, year, units))
    _say_path("Bảng tổng hợp", outcome.rollup)
    sys.exit(code)


def _say_path(what: str, path: Path | None) -> None:
    """"<what>: <path>", the path whole on a line of its own when the terminal is too narrow."""
    click.echo("\n".join(paragraph(f"{what}: {path}", _terminal_width())))


def _from_store(config: Config, command: str, as_of: str | None,
                build: Callable[[date], RunOutcome]) -> tuple[RunOutcome, int]:
    """``rollup`` and ``report``: build from the stored pulls under the job's lock (never beside
    a run), write the summary, print each unit's problem; the outcome and the exit code."""
    try:
        as_of_date = parse_as_of(as_of)
        with job(config, command) as (log, _):
            outcome = build(as_of_date)
            code = EXIT_OK if outcome.all_read else EXIT_UNITS_FAILED
            if log is not None:
                log.write_summary(job_summary(outcome, code))
    except SheetsSyncError as e:
        fail(e)
    for r in outcome.reads:
        if r.result.message:
            click.echo(f"  {r.result.code}: {r.result.message}", err=True)
    return outcome, code


@cli.command(short_help="Dự thảo báo cáo năm (Word .docx), cùng số liệu với bảng tổng hợp.",
             help="Dự thảo Báo cáo tình hình, chất lượng sinh hoạt chi bộ năm (Word .docx, "
                  "thể thức văn bản của Đảng) từ lần đọc gần nhất đã lưu trong kho lịch sử; "
                  "cùng số liệu với bảng tổng hợp; không mở bảng tính nào. --unit CODE: báo cáo "
                  "riêng của một đơn vị (theo từng chi bộ của đơn vị).\n\n"
                  "Ví dụ: sheets-sync report --config config.toml --year 2026\n\n"
                  + EXIT_CODES_HELP)
@common("config", "as_of", "unit")
@YEAR_OPTION
@click.option("--output", "output", type=click.Path(dir_okay=False), default=None,
              help="Tệp .docx sẽ ghi (mặc định: out/bao-cao-<cấp trên>[-<đơn vị>]-<năm>.docx).")
def report(config_path, as_of, year, units, output) -> None:
    if len(units) > 1:
        raise click.UsageError("Lệnh 'report' nhận nhiều nhất một --unit (báo cáo của một đơn vị).")
    config = _load(config_path)
    outcome, code = _from_store(
        config, "report", as_of,
        lambda day: report_from_store(config, day, year, units[0] if units else None,
                                      Path(output) if output else None))
    _say_path("Báo cáo (bản dự thảo)", outcome.report_docx)
    sys.exit(code)


@cli.command(short_help="Các lần chạy gần nhất và lý do từng đơn vị lỗi.",
             help="Các lần chạy gần nhất: thời gian, số đơn vị đọc được, vi phạm/cảnh báo, mã "
                  "thoát và lý do (kể cả lần dừng sớm), lý do từng đơn vị lỗi — để biết ngay "
                  "lần chạy đêm qua có ổn không. Mã thoát của lệnh là mã thoát của lần chạy gần "
                  "nhất đã kết thúc.\n\n"
                  "Ví dụ: sheets-sync status --config config.toml")
@common("config")
@click.option("--limit", type=click.IntRange(min=1), default=10, show_default=True, metavar="SỐ",
              help="Số lần chạy hiển thị.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
def status(config_path, limit, fmt) -> None:
    config = _load(config_path)
    runs = last_runs(config.state_dir, limit)
    if fmt == "json":
        click.echo(json.dumps(runs, ensure_ascii=False, indent=2))
    else:
        click.echo(render_status(runs, _terminal_width()), nl=False)
    sys.exit(last_exit_code(runs))


@cli.group(short_help="Lịch sử các lần đọc; xác nhận; xuất để khôi phục; sửa kho.",
           invoke_without_command=True,
           help="Lịch sử các lần đọc: một dòng trông thế nào ở mỗi lần đọc; xác nhận dòng đã "
                "xóa / sửa sau khóa sổ (ack); xuất lần đọc tốt gần nhất ra .xlsx để khôi phục "
                "(export).\n\nVí dụ: sheets-sync history --config config.toml --unit NT "
                "--tab \"Sinh hoạt\"")
@common("config", "unit")
@click.option("--tab", default=None, metavar="TAB", help="Chỉ một tab, ví dụ \"Sinh hoạt\".")
@click.option("--all-rows", is_flag=True, help="Cả những dòng không thay đổi.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.pass_context
def history(ctx: click.Context, config_path, units, tab, all_rows, fmt) -> None:
    if ctx.invoked_subcommand is not None:
        return

    unit = _one_unit(units)
    config = _load(config_path)
    with _store(config) as store:
        u = _unit(config, unit)
        entries = rows_history(store, u.code, tab, changed_only=not all_rows)
    click.echo(history_json(entries) if fmt == "json"
               else render_history(entries, u.code, u.name, _terminal_width()), nl=fmt != "text")


def _unit(config, code: str):
    try:
        return config.unit(code)
    except SheetsSyncError as e:
        fail(e)


def _store(config):
    try:
        return Store.open(config.state_dir)
    except SheetsSyncError as e:
        fail(e)


@history.command("ack", help="Xác nhận (đã biết) các mục DATA-DELETED / DATA-CHANGED-CLOSED để "
                             "không báo lại nữa.\n\nVí dụ: sheets-sync history ack --config "
                             "config.toml --unit NT --key a1b2c3d4e5")
@common("config", "unit")
@click.option("--key", "keys", multiple=True, metavar="REF",
              help="Mã tham chiếu [mã …] trong nội dung cảnh báo (lặp lại được).")
@click.option("--all", "all_", is_flag=True, help="Xác nhận mọi mục hiện có của đơn vị.")
@click.option("--rule", type=click.Choice(["DATA-DELETED", "DATA-CHANGED-CLOSED"]), default=None)
@click.option("--tab", default=None, metavar="TAB")
@click.option("--note", default="", metavar="GHI_CHÚ", help="Ghi chú của người xác nhận.")
def history_ack(config_path, units, keys, all_, rule, tab, note) -> None:
    unit = _one_unit(units)
    if not keys and not all_:
        raise click.UsageError("Cần --key REF hoặc --all.")
    config = _load(config_path)
    with _store(config) as store:
        u = _unit(config, unit)
        result = ack(store, u.code, rule=rule, keys=keys or None, all=all_, tab=tab, note=note)
    click.echo(render_ack(result, u.code), nl=False)
    sys.exit(EXIT_USAGE if result.unknown else EXIT_OK)


@history.command("export", help="Xuất lần đọc tốt gần nhất của một đơn vị ra tệp .xlsx (để khôi "
                                "phục dòng bị xóa nhầm).\n\nVí dụ: sheets-sync history export "
                                "--config config.toml --unit NT --output nt-khoi-phuc.xlsx")
@common("config", "unit")
@click.option("--output", required=True, type=click.Path(dir_okay=False))
def history_export(config_path, units, output) -> None:
    unit = _one_unit(units)
    config = _load(config_path)
    with _store(config) as store:
        u = _unit(config, unit)
        try:
            path = export_last_pull(store, u.code, Path(output))
        except SheetsSyncError as e:
            fail(e)
    click.echo(f"Đã xuất: {path}")


@history.command("repair", help="Sửa kho lịch sử bị hỏng: kiểm tra toàn vẹn, khôi phục bằng công "
                                "cụ của SQLite (.recover của chương trình sqlite3 nếu có, nếu "
                                "không thì iterdump); tệp hỏng luôn được giữ lại (đổi tên). Chỉ "
                                "bắt đầu kho mới, trống khi không khôi phục được và bạn đồng ý "
                                "(--yes hoặc trả lời câu hỏi).\n\nVí dụ: sheets-sync history "
                                "repair --config config.toml")
@common("config")
@click.option("--yes", is_flag=True, help="Đồng ý bắt đầu kho mới nếu không khôi phục được.")
def history_repair(config_path, yes) -> None:
    config = _load(config_path)

    def agree(question: str) -> bool:
        if yes:
            return True
        if not sys.stdin or not sys.stdin.isatty():
            click.echo(question, err=True)
            return False
        return click.confirm(question, default=False, err=True)

    try:
        result = repair(config.state_dir, agree)
    except SheetsSyncError as e:
        fail(e)
    click.echo(result.message)
    sys.exit(EXIT_OK if result.ok else EXIT_UNITS_FAILED)


@cli.command(short_help="Liệt kê mọi quy tắc và tham số đang áp dụng.",
             help="Liệt kê mọi quy tắc: mã, nguồn, mức độ, mô tả và tham số đang áp dụng "
                  "(theo tệp cấu hình nếu có).")
@common("config")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown"]),
              default="table", show_default=True)
def rules(config_path, fmt) -> None:
    params = rule_params.resolve()
    if config_path and Path(config_path).exists():
        params = _load(config_path).rules
    if fmt == "json":
        click.echo(json.dumps(listing.as_json(params), ensure_ascii=False, indent=2))
    elif fmt == "markdown":
        click.echo(listing.as_markdown(params), nl=False)
    else:
        click.echo(listing.as_table(params), nl=False)


@cli.group(short_help="Mẫu bảng tính: xuất tệp .xlsx; áp dụng cho bảng tính Google.",
           help="Mẫu bảng tính của đơn vị: xuất tệp .xlsx mẫu; áp dụng mẫu cho bảng tính Google "
                "có sẵn.")
def templates() -> None:
    pass


@templates.command("export", help="Xuất bảng tính mẫu (.xlsx) có tiêu đề tiếng Việt, danh sách "
                                  "chọn, kiểm tra ngày/số và tab Hướng dẫn.\n\nVí dụ: sheets-sync "
                                  "templates export --output mau.xlsx --unit-name \"Đảng ủy xã "
                                  "Nhân Thịnh\"")
@click.option("--output", required=True, type=click.Path(dir_okay=False),
              help="Đường dẫn tệp .xlsx sẽ tạo.")
@click.option("--unit-name", default=None, metavar="TÊN",
              help="Tên đơn vị ghi trên tab Hướng dẫn.")
@click.option("--force", is_flag=True,
              help="Ghi đè tệp đã có (không bao giờ ghi đè tệp đang có số liệu).")
def templates_export(output, unit_name, force) -> None:
    try:
        check_export_target(Path(output), force)
    except SheetsSyncError as e:
        fail(e)
    path = export_template(Path(output), unit_name=unit_name)
    click.echo(f"Đã xuất mẫu: {path}")


@templates.command("apply", help="Làm cho bảng tính của đơn vị (Google hoặc tệp .xlsx) khớp "
                                 "mẫu mà không động đến số liệu: thêm tab, cột "
                                 "còn thiếu, danh sách chọn, cố định dòng tiêu đề, tô màu "
                                 "và bảo vệ "
                                 "(chỉ cảnh báo) các cột của công cụ, ngôn ngữ vi_VN. Chạy lại "
                                 "nhiều lần không sao.\n\nVí dụ: sheets-sync templates apply "
                                 "--config config.toml --unit NT --dry-run")
@common("config", "unit")
@click.option("--dry-run", is_flag=True, help="Chỉ cho biết sẽ thay đổi gì.")
@click.option("--refresh-validations", is_flag=True,
              help="Gửi lại toàn bộ danh sách chọn/kiểm tra dữ liệu (khi ai đó đã xóa tay).")
def templates_apply(config_path, units, dry_run, refresh_validations) -> None:
    from .ops.provision import apply_template
    from .sources.google_sheets import GoogleBackend

    config = _load(config_path)
    try:
        selected = config.select(units)
        backend = (GoogleBackend.from_config(config) if any(u.is_google for u in selected)
                   else None)
    except SheetsSyncError as e:
        fail(e)
    failed = False
    for unit in selected:
        try:
            if unit.is_google:
                assert backend is not None
                result = apply_template(backend, unit, dry_run=dry_run,
                                        refresh_validations=refresh_validations)
            else:
                result = apply_template_local(unit, config.state_dir / "backups",
                                              dry_run=dry_run, backup_keep=config.backup_keep)
        except SheetsSyncError as e:
            click.echo(f"{unit.code}: Lỗi: {e}", err=True)
            failed = True
            continue
        click.echo(result.describe(), nl=False)
        failed |= bool(result.warnings)
    sys.exit(EXIT_UNITS_FAILED if failed else EXIT_OK)


@cli.command(short_help="Kiểm tra cài đặt, quyền truy cập và bảng tính, kèm cách sửa.",
             help="Kiểm tra cài đặt: tệp cấu hình, tệp khóa (không được để người khác đọc), "
                  "đăng nhập Google, quyền truy cập từng bảng tính (kèm cách sửa), bảng tính lệch "
                  "mẫu, chia sẻ quá rộng. Mã thoát 1 nếu có điều cần sửa.\n\nVí dụ: sheets-sync "
                  "doctor --config config.toml")
@common("config", "unit")
def doctor(config_path, units) -> None:
    checks = run_doctor(config_path, units=units or None)
    click.echo(render_checks(checks, _width(), config_path), nl=False)
    sys.exit(doctor_exit_code(checks))


def _width() -> int:
    return min(100, max(60, shutil.get_terminal_size((80, 24)).columns))


@cli.command(help="Thiết lập lần đầu cho đảng bộ của bạn: hỏi tên đảng bộ, tên gọi các cấp và "
                  "tiêu đề văn bản, các đơn vị (danh sách tên, thư mục tệp .xlsx, hoặc địa chỉ "
                  "Google Sheets), người phụ trách; ghi tệp cấu hình (không bao giờ ghi đè tệp "
                  "đã có), tạo tệp mẫu .xlsx cho đơn vị chưa có tệp (không động đến tệp đã có) "
                  "hoặc áp dụng mẫu cho bảng tính Google, rồi chạy doctor.\n\n"
                  "Hỏi từng bước; hoặc đưa đủ tùy chọn kèm --no-input để chạy bằng lệnh, ví dụ: "
                  "sheets-sync init --config config.toml --no-input --parent-name \"Đảng bộ "
                  "huyện Lý Nhân\" --unit-name \"Đảng ủy xã Nhân Thịnh\" --supervisor "
                  "\"Trần Văn Bình; Ủy viên Ban Thường vụ; NT\"\n\n"
                  "Mã thoát: 0 = đã thiết lập, doctor không thấy gì cần sửa; 1 = đã ghi cấu hình "
                  "nhưng doctor (hoặc bước tạo mẫu) thấy điều cần sửa: làm theo hướng dẫn rồi chạy "
                  "lại doctor; 2 = tùy chọn hoặc câu trả lời sai, hoặc đã có tệp cấu hình (không "
                  "ghi gì).",
             short_help="Thiết lập lần đầu: tạo config.toml, tệp mẫu, rồi chạy doctor.")
@common("config")
@click.option("--parent-name", metavar="TÊN", help="Tên đảng bộ, ví dụ \"Đảng bộ huyện Lý Nhân\".")
@click.option("--label", "labels", multiple=True, metavar="KHÓA=TÊN",
              help="Tên gọi/tiêu đề (lặp lại được): parent, unit, cell, committee, board, symbol, "
                   "place. Bỏ trống = gợi ý theo tên đảng bộ.")
@click.option("--unit-name", "unit_names", multiple=True, metavar="[MÃ=]TÊN",
              help="Một đơn vị dùng tệp .xlsx mới tạo từ mẫu (lặp lại được).")
@click.option("--xlsx-folder", type=click.Path(file_okay=False, path_type=Path),
              metavar="THƯ-MỤC",
              help="Thư mục có sẵn các tệp .xlsx, mỗi tệp một đơn vị.")
@click.option("--google", "google", multiple=True, metavar="[MÃ=]TÊN=URL",
              help="Một đơn vị dùng Google Sheets: tên và địa chỉ (hoặc khóa) bảng tính.")
@click.option("--supervisor", "supervisors", multiple=True, metavar="\"HỌ TÊN; CHỨC VỤ; MÃ,…\"",
              help="Người phụ trách dự sinh hoạt và các đơn vị được phân công (lặp lại được).")
@click.option("--credentials", metavar="KEY.json", help="Tệp khóa tài khoản dịch vụ Google.")
@click.option("--google-endpoint", hidden=True, help="Máy giả lập Google (thử nghiệm).")
@click.option("--data-dir", default="data", show_default=True, metavar="THƯ-MỤC",
              help="Thư mục (cạnh tệp cấu hình) chứa tệp .xlsx tạo mới cho các đơn vị.")
@click.option("--no-input", is_flag=True, help="Không hỏi gì: chỉ dùng các tùy chọn đã đưa.")
def init(config_path, parent_name, labels, unit_names, xlsx_folder, google, supervisors,
         credentials, google_endpoint, data_dir, no_input) -> None:
    target = Path(config_path)
    answers = setup.Answers(target, parent_name, {}, list(unit_names), xlsx_folder, list(google),
                            list(supervisors), credentials, google_endpoint, data_dir, no_input)
    try:
        setup.refuse_existing(target)
        answers.labels = setup.parse_labels(labels)
        plan = setup.interview(
            answers, lambda q, d: click.prompt(q, default=d, show_default=bool(d)), click.echo)
        click.echo(setup.describe_plan(plan), nl=False)
        if not no_input and not click.confirm("Ghi tệp cấu hình này?", default=True):
            sys.exit(EXIT_USAGE)
        config = setup.write_config(target, setup.render_config(plan))
        click.echo(f"Đã ghi tệp cấu hình {target}.")
        result = setup.prepare_units(config)
    except SheetsSyncError as e:
        fail(e)
    for line in result.actions:
        click.echo(line)
    for line in result.problems:
        click.echo(f"Lỗi: {line}", err=True)
    click.echo()
    checks = run_doctor(config)
    click.echo(render_checks(checks, _width(), config_path), nl=False)
    click.echo(f"\nBước tiếp theo: sheets-sync run --config {target}")
    sys.exit(max(doctor_exit_code(checks), EXIT_UNITS_FAILED if result.problems else EXIT_OK))


@cli.command(short_help="Máy giả lập Google Sheets/Drive (thử nghiệm, demo).",
             context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
             help="Chạy máy giả lập Google Sheets/Drive trên 127.0.0.1 "
                  "(cho thử nghiệm và demo).\n\n"
                  "sheets-sync emulator --port 0 --key-file KEY.json [--seed ID=FILE.xlsx ...] "
                  "[--latency-ms N] [--read-quota N --write-quota N] [--quota-window-s S]\n\n"
                  "Dòng đầu tiên in ra là địa chỉ gốc http://127.0.0.1:PORT.")
@click.pass_context
def emulator(ctx: click.Context) -> None:
    try:  # a development tool, not part of a production install
        from sheets_sync_emulator.cli import main as emulator_main
    except ModuleNotFoundError:
        click.echo("Máy giả lập chưa được cài (gói sheets-sync-emulator, chỉ dùng để thử nghiệm). "
                   "Trong thư mục mã nguồn, chạy: pip install -e tools/emulator", err=True)
        sys.exit(EXIT_USAGE)
    sys.exit(emulator_main(list(ctx.args)))


CONSOLE_ERRORS = "sheets_sync_console"


_NO_MARKS = {"Đ": "D", "đ": "d", "—": "-", "–": "-", "…": "...", "─": "-", "│": "|"}
# The five Vietnamese tone marks, which cp1258 holds as combining characters (the other marks
# only precomposed: â ê ô ă ơ ư).
_TONES = frozenset("\u0300\u0301\u0303\u0309\u0323")


def _console_forms(ch: str) -> list[str]:
    """What to write for ``ch`` where a code page lacks it, best first: decomposed; the letter
    with its other marks and the tone as a combining mark ("ệ" -> "ê" + dot below, as cp1258
    writes it); without the tone ("ê"); without any mark ("e"); a plain stand-in."""
    decomposed = unicodedata.normalize("NFD", ch)
    base, marks = decomposed[:1], decomposed[1:]
    letter = unicodedata.normalize("NFC", base + "".join(m for m in marks if m not in _TONES))
    tones = "".join(m for m in marks if m in _TONES)
    return [decomposed, letter + tones, letter, base, _NO_MARKS.get(ch, "?")]


def _console_fallback(encoding: str, error: UnicodeError) -> tuple[str, int]:
    """Codec error handler for a stream in ``encoding`` (the error itself only says
    "charmap"): each character the code page lacks is written in the first of its
    ``_console_forms`` the code page holds, else as "?"."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    out = []
    for ch in error.object[error.start:error.end]:
        for candidate in _console_forms(ch):
            try:
                candidate.encode(encoding)
            except UnicodeEncodeError:
                continue
            out.append(candidate)
            break
        else:
            out.append("?")
    return "".join(out), error.end


def safe_console() -> None:
    """Console output never crashes: text a code page cannot encode (cp1252, cp1258, a
    redirected Windows console) is written as ``_console_fallback`` says."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        encoding = getattr(stream, "encoding", None) or ""
        if reconfigure is None or encoding.lower().replace("-", "") in ("", "utf8", "utf8sig"):
            continue
        try:
            codecs.lookup(encoding)
        except LookupError:
            continue
        name = f"{CONSOLE_ERRORS}-{encoding.lower()}"
        try:
            codecs.lookup_error(name)
        except LookupError:
            codecs.register_error(name, functools.partial(_console_fallback, encoding))
        try:
            reconfigure(errors=name)
        except (ValueError, OSError):
            pass


def main(argv: list[str] | None = None) -> int:
    safe_console()
    heap.fewer_young_collections()
    try:
        cli.main(args=argv, prog_name="sheets-sync", standalone_mode=True)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (EXIT_OK if e.code is None else EXIT_USAGE)
    return EXIT_OK

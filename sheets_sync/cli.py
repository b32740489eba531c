"""Thin click layer: parse options, call the library, print, pick the exit code."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from . import __version__
from .core.errors import (
    EXIT_OK,
    EXIT_TRY_LATER,
    EXIT_UNITS_FAILED,
    EXIT_USAGE,
    ConfigError,
    SheetsSyncError,
)

EXIT_CODES_HELP = (
    "Mã thoát: 0 = đọc được mọi đơn vị (phát hiện vi phạm không đổi mã thoát); "
    "1 = có đơn vị không đọc được / dùng số liệu cũ, hoặc có lần ghi bị bỏ qua; "
    "2 = sai cú pháp lệnh hoặc lỗi cấu hình; 75 = thử lại sau (đang có lần chạy khác, "
    "hoặc hết hạn mức Google)."
)

CONFIG_OPTION = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False), default="config.toml",
    show_default=True, envvar="SHEETS_SYNC_CONFIG",
    help="Tệp cấu hình TOML (đơn vị, người phụ trách, tham số quy tắc).")
AS_OF_OPTION = click.option(
    "--as-of", "as_of", metavar="YYYY-MM-DD",
    help="Kiểm tra tính đến ngày này (mặc định: hôm nay). "
         "Các tháng sau ngày này không được yêu cầu.")
UNIT_OPTION = click.option(
    "--unit", "units", multiple=True, metavar="CODE",
    help="Chỉ xử lý đơn vị có mã này (lặp lại được).")
JSON_LOG_OPTION = click.option(
    "--json-log", is_flag=True,
    help="Ghi nhật ký chạy (state/logs) dạng JSON, mỗi dòng một sự kiện.")
YEAR_OPTION = click.option(
    "--year", type=int, default=None, help="Năm kiểm tra (mặc định: năm của --as-of).")


class Ctx:
    def __init__(self, verbose: bool):
        self.verbose = verbose


def fail(e: SheetsSyncError) -> None:
    from .sync.runlog import redact

    click.echo(f"Lỗi: {redact(str(e))}", err=True)
    sys.exit(e.exit_code)


def _load(config_path: str):
    from .core.config import load_config

    try:
        return load_config(config_path)
    except SheetsSyncError as e:
        fail(e)


@click.group(help="sheets-sync — kiểm tra chất lượng sinh hoạt chi bộ theo Chỉ thị, ghi kết quả "
                  "vào bảng tính của đơn vị và lập bảng tổng hợp cho Ban Tổ chức.\n\n"
                  + EXIT_CODES_HELP)
@click.version_option(__version__, prog_name="sheets-sync")
@click.option("--verbose", "-v", is_flag=True, help="In thêm chi tiết quá trình chạy.")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    ctx.obj = Ctx(verbose)


@cli.command(help="Đọc bảng tính của các đơn vị và kiểm tra theo quy tắc; không ghi gì vào bảng "
                  "tính.\n\nVí dụ: sheets-sync check --config config.toml --as-of 2026-11-25 "
                  "--format json\n\n" + EXIT_CODES_HELP)
@CONFIG_OPTION
@AS_OF_OPTION
@YEAR_OPTION
@UNIT_OPTION
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True,
              help="table = bảng tóm tắt tiếng Việt; json, csv = danh sách đầy đủ.")
@click.option("--output", "output", type=click.Path(dir_okay=False),
              help="Ghi kết quả vào tệp thay vì in ra màn hình.")
@click.option("--limit", type=int, default=200, show_default=True,
              help="Số phát hiện tối đa in trong bảng (0 = tất cả).")
@click.option("--no-history", is_flag=True, help="Không lưu lần đọc này vào kho lịch sử.")
@JSON_LOG_OPTION
@click.pass_obj
def check(obj: Ctx, config_path, as_of, year, units, fmt, output, limit, no_history,
          json_log) -> None:
    from .core.config import parse_as_of
    from .outputs.check_formats import to_csv, to_json, to_table
    from .sources import backend_for
    from .sync.pipeline import job_summary, run_check
    from .sync.session import job

    config = _load(config_path)
    try:
        as_of_date = parse_as_of(as_of)
        with job(config, "check", obj.verbose, json_log, record=not no_history,
                 steps=len(config.select(units))) as (log, progress):
            outcome = run_check(config, backend_for(config), as_of_date, year, units,
                                history=not no_history, progress=progress)
            code = EXIT_OK if outcome.all_read else EXIT_UNITS_FAILED
            if log is not None:
                log.write_summary(job_summary(outcome, code))
    except SheetsSyncError as e:
        fail(e)
    report = outcome.report
    if fmt == "json":
        text = to_json(report) + "\n"
    elif fmt == "csv":
        text = to_csv(report)
    else:
        text = to_table(report, f"{config.parent_name} — kiểm tra sinh hoạt chi bộ",
                        limit=None if limit == 0 else limit)
    _emit(text, output, fmt)
    sys.exit(code)


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


@cli.command(help="Công việc chính: đọc mọi đơn vị, kiểm tra, ghi kết quả vào hai cột công cụ và "
                  "tab Kiểm tra của bảng tính, rồi lập bảng tổng hợp cho Ban Tổ chức.\n\n"
                  "Ví dụ: sheets-sync run --config config.toml\n\n"
                  "Chỉ ghi vào cột/tab của công cụ; "
                  "dòng nào không chắc chắn thì bỏ qua và báo lại. "
                  "--dry-run: chỉ cho biết sẽ ghi gì, không ghi gì.\n\n" + EXIT_CODES_HELP)
@CONFIG_OPTION
@AS_OF_OPTION
@YEAR_OPTION
@UNIT_OPTION
@click.option("--dry-run", is_flag=True, help="Không ghi gì (bảng tính, bảng tổng hợp, lịch sử); "
                                               "chỉ in những gì sẽ thay đổi.")
@JSON_LOG_OPTION
@click.pass_obj
def run(obj: Ctx, config_path, as_of, year, units, dry_run, json_log) -> None:
    from .core.config import parse_as_of
    from .outputs.check_formats import run_summary
    from .sources import backend_for
    from .sync.pipeline import job_summary, run_exit_code
    from .sync.pipeline import run as run_job
    from .sync.session import job

    config = _load(config_path)
    try:
        as_of_date = parse_as_of(as_of)
        if dry_run:  # writes nothing: no log, no lock
            outcome = run_job(config, backend_for(config), as_of_date, year, units,
                              dry_run=True, progress=_progress(obj))
            code = run_exit_code(outcome)
        else:
            with job(config, "run", obj.verbose, json_log,
                     steps=2 * len(config.select(units))) as (log, progress):
                outcome = run_job(config, backend_for(config), as_of_date, year, units,
                                  progress=progress)
                code = run_exit_code(outcome)
                assert log is not None  # a recorded job always has its log
                log.write_summary(job_summary(outcome, code))
    except SheetsSyncError as e:
        fail(e)
    click.echo(run_summary(outcome, config.parent_name), nl=False)
    if code == EXIT_TRY_LATER:
        click.echo("Google vẫn báo hết hạn mức sau khi đã thử lại; hãy chạy lại sau.", err=True)
    sys.exit(code)


@cli.command(help="Lập lại bảng tổng hợp từ lần đọc gần nhất đã lưu trong kho lịch sử; không mở "
                  "bảng tính nào.\n\nVí dụ: sheets-sync rollup --config config.toml\n\n"
                  + EXIT_CODES_HELP)
@CONFIG_OPTION
@AS_OF_OPTION
@YEAR_OPTION
@UNIT_OPTION
def rollup(config_path, as_of, year, units) -> None:
    from .core.config import parse_as_of
    from .sync.pipeline import rollup_from_store

    config = _load(config_path)
    try:
        outcome = rollup_from_store(config, parse_as_of(as_of), year, units)
    except SheetsSyncError as e:
        fail(e)
    for r in outcome.reads:
        if r.result.message:
            click.echo(f"  {r.result.code}: {r.result.message}", err=True)
    click.echo(f"Bảng tổng hợp: {outcome.rollup}")
    sys.exit(EXIT_OK if outcome.all_read else EXIT_UNITS_FAILED)


@cli.command(help="Các lần chạy gần nhất: thời gian, số đơn vị đọc được, vi phạm/cảnh báo, và lý "
                  "do từng đơn vị lỗi — để biết ngay lần chạy đêm qua có ổn không.\n\n"
                  "Ví dụ: sheets-sync status --config config.toml")
@CONFIG_OPTION
@click.option("--limit", type=int, default=10, show_default=True, help="Số lần chạy hiển thị.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
def status(config_path, limit, fmt) -> None:
    from .sync.runlog import last_runs, render_status

    config = _load(config_path)
    runs = last_runs(config.state_dir, limit)
    if fmt == "json":
        click.echo(json.dumps(runs, ensure_ascii=False, indent=2))
    else:
        click.echo(render_status(runs), nl=False)


@cli.group(invoke_without_command=True,
           help="Lịch sử các lần đọc: một dòng trông thế nào ở mỗi lần đọc; xác nhận dòng đã "
                "xóa / sửa sau khóa sổ (ack); xuất lần đọc tốt gần nhất ra .xlsx để khôi phục "
                "(export).\n\nVí dụ: sheets-sync history --config config.toml --unit NT "
                "--tab \"Sinh hoạt\"")
@CONFIG_OPTION
@click.option("--unit", "unit", metavar="CODE", help="Mã đơn vị (bắt buộc khi xem lịch sử).")
@click.option("--tab", default=None, help="Chỉ một tab, ví dụ \"Sinh hoạt\".")
@click.option("--all-rows", is_flag=True, help="Cả những dòng không thay đổi.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.pass_context
def history(ctx: click.Context, config_path, unit, tab, all_rows, fmt) -> None:
    if ctx.invoked_subcommand is not None:
        return
    from .sync.history import history_json, render_history, rows_history

    if not unit:
        raise click.UsageError("Cần --unit CODE.")
    config = _load(config_path)
    with _store(config) as store:
        u = _unit(config, unit)
        entries = rows_history(store, u.code, tab, changed_only=not all_rows)
    click.echo(history_json(entries) if fmt == "json" else render_history(entries, u.code, u.name),
               nl=fmt != "text")


def _unit(config, code: str):
    try:
        return config.unit(code)
    except SheetsSyncError as e:
        fail(e)


def _store(config):
    from .sync.store import Store

    try:
        return Store.open(config.state_dir)
    except SheetsSyncError as e:
        fail(e)


@history.command("ack", help="Xác nhận (đã biết) các mục DATA-DELETED / DATA-CHANGED-CLOSED để "
                             "không báo lại nữa.\n\nVí dụ: sheets-sync history ack --config "
                             "config.toml --unit NT --key a1b2c3d4e5")
@CONFIG_OPTION
@click.option("--unit", "unit", metavar="CODE", required=True)
@click.option("--key", "keys", multiple=True, metavar="REF",
              help="Mã tham chiếu [mã …] trong nội dung cảnh báo (lặp lại được).")
@click.option("--all", "all_", is_flag=True, help="Xác nhận mọi mục hiện có của đơn vị.")
@click.option("--rule", type=click.Choice(["DATA-DELETED", "DATA-CHANGED-CLOSED"]), default=None)
@click.option("--tab", default=None)
@click.option("--note", default="", help="Ghi chú của người xác nhận.")
def history_ack(config_path, unit, keys, all_, rule, tab, note) -> None:
    from .sync.history import ack, render_ack

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
@CONFIG_OPTION
@click.option("--unit", "unit", metavar="CODE", required=True)
@click.option("--output", required=True, type=click.Path(dir_okay=False))
def history_export(config_path, unit, output) -> None:
    from .sync.history import export_last_pull

    config = _load(config_path)
    with _store(config) as store:
        u = _unit(config, unit)
        try:
            path = export_last_pull(store, u.code, Path(output))
        except SheetsSyncError as e:
            fail(e)
    click.echo(f"Đã xuất: {path}")


@cli.command(help="Liệt kê mọi quy tắc: mã, nguồn, mức độ, mô tả và tham số đang áp dụng "
                  "(theo tệp cấu hình nếu có).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              envvar="SHEETS_SYNC_CONFIG", help="Tệp cấu hình; bỏ trống = tham số mặc định.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown"]),
              default="table", show_default=True)
def rules(config_path, fmt) -> None:
    from .core.rules import listing
    from .core.rules import params as rule_params

    params = rule_params.resolve()
    if config_path and Path(config_path).exists():
        params = _load(config_path).rules
    if fmt == "json":
        click.echo(json.dumps(listing.as_json(params), ensure_ascii=False, indent=2))
    elif fmt == "markdown":
        click.echo(listing.as_markdown(params), nl=False)
    else:
        click.echo(listing.as_table(params), nl=False)


@cli.group(help="Mẫu bảng tính của đơn vị: xuất tệp .xlsx mẫu; áp dụng mẫu cho bảng tính Google "
                "có sẵn.")
def templates() -> None:
    pass


@templates.command("export", help="Xuất bảng tính mẫu (.xlsx) có tiêu đề tiếng Việt, danh sách "
                                  "chọn, kiểm tra ngày/số và tab Hướng dẫn.\n\nVí dụ: sheets-sync "
                                  "templates export --output mau.xlsx --unit-name \"Đảng ủy xã "
                                  "Nhân Thịnh\"")
@click.option("--output", required=True, type=click.Path(dir_okay=False),
              help="Đường dẫn tệp .xlsx sẽ tạo.")
@click.option("--unit-name", default=None, help="Tên đơn vị ghi trên tab Hướng dẫn.")
def templates_export(output, unit_name) -> None:
    from .outputs.template_xlsx import export_template

    path = export_template(Path(output), unit_name=unit_name)
    click.echo(f"Đã xuất mẫu: {path}")


@templates.command("apply", help="Làm cho bảng tính Google có sẵn (do người tạo và chia sẻ với tài "
                                 "khoản dịch vụ) khớp mẫu mà không động đến số liệu: thêm tab, cột "
                                 "còn thiếu, danh sách chọn, cố định dòng tiêu đề, tô màu "
                                 "và bảo vệ "
                                 "(chỉ cảnh báo) các cột của công cụ, ngôn ngữ vi_VN. Chạy lại "
                                 "nhiều lần không sao.\n\nVí dụ: sheets-sync templates apply "
                                 "--config config.toml --unit NT --dry-run")
@CONFIG_OPTION
@UNIT_OPTION
@click.option("--dry-run", is_flag=True, help="Chỉ cho biết sẽ thay đổi gì.")
@click.option("--refresh-validations", is_flag=True,
              help="Gửi lại toàn bộ danh sách chọn/kiểm tra dữ liệu (khi ai đó đã xóa tay).")
def templates_apply(config_path, units, dry_run, refresh_validations) -> None:
    from .ops.provision import apply_template
    from .sources.google_sheets import GoogleBackend

    config = _load(config_path)
    try:
        selected = config.select(units)
        local = [u.code for u in selected if not u.is_google]
        if units and local:
            raise ConfigError(f"Đơn vị {', '.join(local)} dùng tệp .xlsx: hãy dùng "
                              "'sheets-sync templates export'.")
        backend = GoogleBackend.from_config(config)
    except SheetsSyncError as e:
        fail(e)
    failed = False
    for unit in (u for u in selected if u.is_google):
        try:
            result = apply_template(backend, unit, dry_run=dry_run,
                                    refresh_validations=refresh_validations)
        except SheetsSyncError as e:
            click.echo(f"{unit.code}: Lỗi: {e}", err=True)
            failed = True
            continue
        click.echo(result.describe(), nl=False)
        failed |= bool(result.warnings)
    sys.exit(EXIT_UNITS_FAILED if failed else EXIT_OK)


@cli.command(help="Kiểm tra cài đặt: tệp cấu hình, tệp khóa (không được để người khác đọc), "
                  "đăng nhập Google, quyền truy cập từng bảng tính (kèm cách sửa), bảng tính lệch "
                  "mẫu, chia sẻ quá rộng. Mã thoát 1 nếu có điều cần sửa.\n\nVí dụ: sheets-sync "
                  "doctor --config config.toml")
@CONFIG_OPTION
@UNIT_OPTION
def doctor(config_path, units) -> None:
    from .ops.doctor import doctor_exit_code, render_checks, run_doctor

    checks = run_doctor(config_path, units=units or None)
    click.echo(render_checks(checks), nl=False)
    sys.exit(doctor_exit_code(checks))


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
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


def main(argv: list[str] | None = None) -> int:
    try:
        cli.main(args=argv, prog_name="sheets-sync", standalone_mode=True)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (EXIT_OK if e.code is None else EXIT_USAGE)
    return EXIT_OK

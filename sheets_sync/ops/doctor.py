"""``sheets-sync doctor``: is everything in place for a run, and what exactly to fix.

Checks, in order (each one a ``Check`` with a Vietnamese message and fix):
- the config loads;
- Google (when a unit uses Google Sheets or ``[output] drive_file_id`` is set): the key file
  exists, parses, is readable by its owner only (POSIX; skipped with a note on Windows), a token
  can be obtained from its ``token_uri``;
- per Google unit: access (Drive ``permissions.list``: not found = not shared; the service
  account's own role must be Người chỉnh sửa), sharing that is too open (an ``anyone``
  permission), template drift (one read of the spreadsheet through the backend, parsed by the
  reader; nothing is written);
- per local unit: the file exists and opens, template drift;
- the roll-up's Drive file (``[output] drive_file_id``) is reachable and is a binary file.

Credentials never appear in the output: messages name files, e-mail addresses and spreadsheet
keys only; error texts from google-auth are reduced to their reason.
"""
from __future__ import annotations

import os
import re
import stat
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ..core.config import Config, UnitConfig, load_config
from ..core.errors import SheetsSyncError
from ..core.grid import _required_column, parse_unit
from ..core.template import Template, load_template
from ..core.text import closest, normalize
from ..sources.local_reader import LocalBackend

DRIVE_FILES_URL = "https://www.googleapis.com/drive/v3/files"
ROLE_VI = {"owner": "Chủ sở hữu", "organizer": "Người quản lý", "fileOrganizer": "Người quản lý",
           "writer": "Người chỉnh sửa", "commenter": "Người nhận xét", "reader": "Người xem"}
EDIT_ROLES = frozenset({"owner", "organizer", "fileOrganizer", "writer"})
_PEM = re.compile(r"-----BEGIN [A-Z ]+-----.*?-----END [A-Z ]+-----", re.S)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    message: str
    fix: str = ""
    unit: str | None = None
    warning: bool = False  # ok, but worth a look (shown as "Lưu ý")

    @property
    def status(self) -> str:
        if not self.ok:
            return "✖ Cần sửa"
        return "⚠ Lưu ý" if self.warning else "✔ Đạt"


def _scrub(text: str) -> str:
    """Remove anything that looks like key material from a message (defence in depth)."""
    text = _PEM.sub("[đã ẩn]", str(text))
    return re.sub(r"(private_key\S*\s*[:=]\s*)\S+", r"\1[đã ẩn]", text)


def _reason(error: Exception) -> str:
    """A short, credential-free reason of a google-auth / requests error."""
    first = error.args[0] if error.args else ""
    text = first if isinstance(first, str) else type(error).__name__
    text = _scrub(text).strip() or type(error).__name__
    return text if len(text) <= 200 else text[:199] + "…"


def _default_backend(config: Config):
    from ..sources.google_sheets import GoogleBackend

    return GoogleBackend.from_config(config)


def run_doctor(config: Config | str | os.PathLike, backend_factory: Callable | None = None,
               template: Template | None = None, as_of: date | None = None,
               units: Iterable[str] | None = None) -> list[Check]:
    """Every check, in order. ``config`` is a loaded ``Config`` or the path of the TOML file
    (a file that does not load gives one failed check). ``backend_factory(config) ->
    GoogleBackend`` builds the Google backend (default ``GoogleBackend.from_config``).
    ``units`` limits the per-unit checks to those codes. Reads only; never writes."""
    checks: list[Check] = []
    if not isinstance(config, Config):
        path = config
        try:
            config = load_config(path)
        except SheetsSyncError as e:
            checks.append(Check("Cấu hình", False, _scrub(str(e)),
                                "Sửa tệp cấu hình theo thông báo rồi chạy lại: "
                                + rerun_command(path)))
            return checks
    try:
        selected = config.select(tuple(units or ()))
    except SheetsSyncError as e:
        checks.append(Check("Cấu hình", False, _scrub(str(e)), "Kiểm tra mã đơn vị ở --unit."))
        return checks
    google_units = [u for u in selected if u.is_google]
    local_units = [u for u in selected if not u.is_google]
    checks.append(Check("Cấu hình", True,
                        f"Đọc được {config.path}: {len(config.units)} đơn vị ({len(google_units)} "
                        f"Google Sheets, {len(local_units)} tệp .xlsx"
                        + (" được kiểm tra" if units else "") + ")."))
    template = template or load_template()
    as_of = as_of or date.today()

    backend = None
    if google_units or config.drive_file_id:
        backend = _google_checks(config, backend_factory or _default_backend, checks)
    for unit in google_units:
        if backend is None:
            checks.append(Check(f"{unit.code} — truy cập", False,
                                "Chưa kiểm tra được vì khóa tài khoản dịch vụ chưa dùng được.",
                                "Sửa các mục về khóa ở trên rồi chạy lại.", unit.code))
            continue
        _google_unit(backend, unit, template, as_of, checks)
    for unit in local_units:
        _local_unit(unit, template, as_of, checks)
    if config.drive_file_id and backend is not None:
        _drive_file(backend, config.drive_file_id, checks)
    return checks


# --- Google credentials --------------------------------------------------------------------------

def _google_checks(config: Config, factory: Callable, checks: list[Check]):
    """Key file checks and a token; the backend when every one passed, else None."""
    from ..sources.google_sheets import load_service_account

    path = config.google.credentials
    if path is None:
        checks.append(Check(
            "Khóa tài khoản dịch vụ", False,
            "Có đơn vị dùng Google Sheets (hoặc có [output] drive_file_id) nhưng chưa khai báo "
            "tệp khóa.",
            "Thêm credentials = \"đường/dẫn/khoa.json\" vào mục [google] của tệp cấu hình (hoặc "
            "đặt biến môi trường GOOGLE_APPLICATION_CREDENTIALS)."))
        return None
    path = Path(path)
    if not path.is_file():
        checks.append(Check(
            "Khóa tài khoản dịch vụ", False, f"Không tìm thấy tệp khóa {path}.",
            "Tải khóa JSON của tài khoản dịch vụ (Google Cloud Console → IAM → Tài khoản dịch "
            "vụ → Khóa → Thêm khóa) và đặt đúng đường dẫn khai báo ở [google] credentials."))
        return None
    try:
        info = load_service_account(path)
        from google.oauth2.service_account import Credentials

        Credentials.from_service_account_info(info)
    except SheetsSyncError as e:
        checks.append(Check("Khóa tài khoản dịch vụ", False, _scrub(str(e)),
                            "Tải lại khóa JSON gốc từ Google Cloud Console (không sửa tay tệp)."))
        return None
    except (ValueError, TypeError, KeyError):
        checks.append(Check("Khóa tài khoản dịch vụ", False,
                            f"Tệp khóa {path} có khóa riêng (private_key) không hợp lệ.",
                            "Tải lại khóa JSON gốc từ Google Cloud Console (không sửa tay tệp)."))
        return None
    email = info["client_email"]
    checks.append(Check("Khóa tài khoản dịch vụ", True,
                        f"Đọc được {path} (tài khoản dịch vụ {email})."))
    checks.append(_key_permissions(path))

    try:
        backend = factory(config)
    except SheetsSyncError as e:
        checks.append(Check("Kết nối Google", False, _scrub(str(e)),
                            "Sửa mục [google] của tệp cấu hình theo thông báo."))
        return None
    try:
        import google.auth.exceptions
        from google.auth.transport.requests import Request

        http = backend.client.http_client
        credentials = getattr(http, "auth", None) or http.session.credentials
        credentials.refresh(Request())
    except google.auth.exceptions.RefreshError as e:
        checks.append(Check(
            "Mã truy cập Google", False,
            f"Google từ chối cấp mã truy cập cho {email}: {_reason(e)}",
            "Kiểm tra khóa còn hiệu lực (chưa bị xóa trong Google Cloud Console → IAM → Tài "
            "khoản dịch vụ → Khóa) và đồng hồ máy tính đúng giờ; nếu cần, tạo khóa mới."))
        return None
    except google.auth.exceptions.TransportError as e:
        checks.append(Check(
            "Mã truy cập Google", False,
            f"Không kết nối được máy chủ cấp mã truy cập ({_reason(e)}).",
            "Kiểm tra kết nối Internet, tường lửa/proxy của máy chạy phần mềm."))
        return None
    checks.append(Check("Mã truy cập Google", True, f"Lấy được mã truy cập cho {email}."))
    return backend


def _key_permissions(path: Path, platform: str = os.name) -> Check:
    if platform == "nt":
        return Check("Quyền tệp khóa", True,
                     "Bỏ qua trên Windows (không có quyền kiểu POSIX).",
                     "Đảm bảo chỉ tài khoản chạy phần mềm đọc được tệp khóa (Properties → "
                     "Security).", warning=True)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        who = []
        if mode & 0o070:
            who.append("nhóm")
        if mode & 0o007:
            who.append("mọi người dùng khác trên máy")
        return Check("Quyền tệp khóa", False,
                     f"Tệp khóa {path} có quyền {mode:04o}: {' và '.join(who)} đọc được.",
                     f"chmod 600 {path}")
    return Check("Quyền tệp khóa", True, f"Chỉ chủ tệp đọc được {path} (quyền {mode:04o}).")


# --- Google units -------------------------------------------------------------------------------

def _status_code(error: Exception) -> int | None:
    return getattr(getattr(error, "response", None), "status_code", None)


def _google_unit(backend, unit: UnitConfig, template: Template, as_of: date,
                 checks: list[Check]) -> None:
    import gspread
    import requests

    from ..sources.google_sheets import spreadsheet_key

    key = spreadsheet_key(unit.spreadsheet)
    email = backend.client_email
    share_fix = f"Chia sẻ bảng tính với {email} quyền Người chỉnh sửa."
    name = f"{unit.code} — truy cập"
    http = backend.client.http_client
    backend.transport.unit = unit.code
    try:
        got = http.request("get", f"{DRIVE_FILES_URL}/{key}/permissions",
                           params={"supportsAllDrives": "true", "pageSize": 100,
                                   "fields": "permissions(id,type,role,emailAddress,domain)"})
        permissions = got.json().get("permissions", [])
    except gspread.exceptions.APIError as e:
        code = _status_code(e)
        if code in (403, 404):
            checks.append(Check(name, False,
                                f"Tài khoản dịch vụ {email} không mở được bảng tính {key} (Google "
                                f"báo {'không có quyền' if code == 403 else 'không tìm thấy'}).",
                                share_fix + " Nếu đã chia sẻ, kiểm tra lại mã bảng tính "
                                            "(spreadsheet) trong tệp cấu hình.", unit.code))
        else:
            checks.append(Check(name, False, f"Google Drive trả lỗi {code} khi kiểm tra bảng "
                                             f"tính {key}.", "Thử lại sau ít phút.", unit.code))
        return
    except requests.RequestException as e:
        checks.append(Check(name, False, f"Không kết nối được Google ({type(e).__name__}).",
                            "Kiểm tra kết nối Internet rồi thử lại.", unit.code))
        return
    finally:
        backend.transport.unit = None

    mine = next((p for p in permissions if p.get("type") == "user"
                 and (p.get("emailAddress") or "").lower() == email.lower()), None)
    try:
        raw = backend.read(unit)
    except SheetsSyncError as e:
        checks.append(Check(name, False, _scrub(str(e)), share_fix, unit.code))
        raw = None
    if raw is not None:
        if mine is not None and mine.get("role") not in EDIT_ROLES:
            role = ROLE_VI.get(mine.get("role"), mine.get("role"))
            checks.append(Check(name, False,
                                f"{email} chỉ có quyền {role} trên bảng tính {key}: đọc được nhưng "
                                f"không ghi được kết quả.", share_fix, unit.code))
        elif mine is None:
            checks.append(Check(name, True,
                                f"Đọc được bảng tính {key}, nhưng {email} không có tên trong danh "
                                f"sách chia sẻ (đang mở được nhờ chia sẻ chung hoặc nhóm).",
                                share_fix, unit.code, warning=True))
        else:
            checks.append(Check(name, True, f"Đọc được bảng tính {key} ({email}: "
                                            f"{ROLE_VI.get(mine['role'], mine['role'])}).",
                                unit=unit.code))
    checks.append(_sharing(unit, key, permissions))
    if raw is not None:
        checks.append(_drift(unit, raw, template, as_of, google=True))


def _sharing(unit: UnitConfig, key: str, permissions: list[dict]) -> Check:
    name = f"{unit.code} — chia sẻ"
    anyone = [p for p in permissions if p.get("type") == "anyone"]
    if anyone:
        role = anyone[0].get("role")
        role = ROLE_VI.get(role, role) if isinstance(role, str) else role
        return Check(name, False,
                     f"Bảng tính {key} đang chia sẻ công khai cho bất kỳ ai có đường liên kết "
                     f"(quyền {role}).",
                     "Trong Google Sheets: Chia sẻ → Quyền truy cập chung → chọn \"Bị hạn chế\"; "
                     "chỉ chia sẻ với từng người cần thiết.", unit.code)
    domains = [p.get("domain") or "?" for p in permissions if p.get("type") == "domain"]
    if domains:
        return Check(name, True,
                     f"Bảng tính {key} chia sẻ cho mọi người trong miền {', '.join(domains)}.",
                     "Nếu không cần, đổi Quyền truy cập chung thành \"Bị hạn chế\".", unit.code,
                     warning=True)
    people = sum(1 for p in permissions if p.get("type") in ("user", "group"))
    return Check(name, True, f"Chỉ chia sẻ với {people} người/tài khoản/nhóm cụ thể.",
                 unit=unit.code)


# --- local units --------------------------------------------------------------------------------

def _local_unit(unit: UnitConfig, template: Template, as_of: date, checks: list[Check]) -> None:
    name = f"{unit.code} — tệp"
    if unit.path is None or not Path(unit.path).exists():
        checks.append(Check(name, False, f"Không tìm thấy tệp {unit.path}.",
                            "Kiểm tra đường dẫn path của đơn vị trong tệp cấu hình (đường dẫn "
                            "tương đối tính từ thư mục chứa tệp cấu hình), hoặc tạo tệp từ mẫu: "
                            "sheets-sync templates export --output <tệp>.xlsx", unit.code))
        return
    try:
        raw = LocalBackend().read(unit)
    except SheetsSyncError as e:
        checks.append(Check(name, False, _scrub(str(e)),
                            "Mở thử tệp bằng Excel/LibreOffice; nếu hỏng, khôi phục bản sao lưu "
                            "gần nhất. Tệp phải là .xlsx.", unit.code))
        return
    checks.append(Check(name, True, f"Mở được {unit.path}.", unit=unit.code))
    checks.append(_drift(unit, raw, template, as_of, google=False))


# --- template drift -----------------------------------------------------------------------------

def template_drift(template: Template, raw, unit: UnitConfig, as_of: date | None = None
                   ) -> tuple[list[str], list[str]]:
    """(problems that break checking, missing optional parts), Vietnamese, from one read."""
    data = parse_unit(template, raw, unit.code, unit.name, as_of or date.today())
    problems: list[str] = []
    optional: list[str] = []
    taken = {td.title for td in data.tabs.values()}
    free_titles = [s.title for s in raw.sheets if s.title not in taken]
    missing_tabs = []
    for tab in template.tabs:
        if tab.id not in data.missing_tabs:
            continue
        if not tab.required:
            optional.append(f"tab \"{tab.name}\"")
            continue
        hint = closest(tab.name, free_titles)
        missing_tabs.append(f"\"{tab.name}\"" + (f" (có tab \"{hint}\" gần giống)" if hint else ""))
    if missing_tabs:
        problems.append(f"Thiếu tab bắt buộc: {', '.join(missing_tabs)}.")
    tool = {normalize(h) for h in template.tool_headers}
    for tab in template.tabs:
        td = data.tabs.get(tab.id)
        if td is None:
            continue
        if td.header_row is None:
            problems.append(f"Tab \"{td.title}\": không tìm thấy dòng tiêu đề (cột "
                            f"\"{tab.first_required.header}\") trong 5 dòng đầu.")
            continue
        present = set(td.col_index)
        unknown = [h for h in td.extra_headers if normalize(h) not in tool]
        required, extra = [], []
        for col in tab.columns:
            if col.id in present:
                continue
            if _required_column(tab, col, present):
                hint = closest(col.header, unknown)
                required.append(f"\"{col.header}\""
                                + (f" (có cột \"{hint}\" gần giống)" if hint else ""))
            else:
                extra.append(f"\"{col.header}\"")
        if required:
            problems.append(f"Tab \"{td.title}\" thiếu cột bắt buộc: {', '.join(required)}.")
        if extra:
            optional.append(f"tab \"{td.title}\" thiếu cột {', '.join(extra)}")
    problems += [f"Tab \"{f.tab}\": {f.message}" for f in data.findings
                 if f.rule == "TPL-COLUMN-DUPLICATE"]
    return problems, optional


def _drift(unit: UnitConfig, raw, template: Template, as_of: date, google: bool) -> Check:
    name = f"{unit.code} — mẫu bảng tính"
    problems, optional = template_drift(template, raw, unit, as_of)
    # both kinds: templates apply edits a local workbook surgically too (issue 11)
    fix = (f"Chạy: sheets-sync templates apply --unit {unit.code} (thêm tab/cột còn thiếu, "
           f"không đụng dữ liệu); tab/cột có tên gần giống thì sửa lại tên cho đúng mẫu.")
    if problems:
        message = " ".join(problems)
        if optional:
            message += " Không bắt buộc: " + "; ".join(optional) + "."
        return Check(name, False, message, fix, unit.code)
    if optional:
        return Check(name, True, "Đủ tab và cột bắt buộc; còn thiếu phần không bắt buộc: "
                     + "; ".join(optional) + ".", fix, unit.code, warning=True)
    return Check(name, True, "Đủ mọi tab và cột của mẫu.", unit=unit.code)


# --- roll-up file on Drive ----------------------------------------------------------------------

def _drive_file(backend, file_id: str, checks: list[Check]) -> None:
    import gspread
    import requests

    email = backend.client_email
    name = "Tệp tổng hợp trên Drive"
    try:
        meta = backend.client.http_client.request(
            "get", f"{DRIVE_FILES_URL}/{file_id}",
            params={"fields": "id,name,mimeType", "supportsAllDrives": "true"}).json()
    except gspread.exceptions.APIError as e:
        checks.append(Check(name, False,
                            f"Không mở được tệp Drive {file_id} ([output] drive_file_id; Google "
                            f"báo lỗi {_status_code(e)}).",
                            f"Kiểm tra mã tệp; chia sẻ tệp với {email} quyền Người chỉnh sửa."))
        return
    except requests.RequestException as e:
        checks.append(Check(name, False, f"Không kết nối được Google Drive ({type(e).__name__}).",
                            "Kiểm tra kết nối Internet rồi thử lại."))
        return
    mime = meta.get("mimeType", "")
    if mime.startswith("application/vnd.google-apps."):
        checks.append(Check(name, False,
                            f"Tệp Drive {file_id} (\"{meta.get('name')}\") là tệp Google, không "
                            f"thay nội dung bằng .xlsx được.",
                            f"Tải một tệp .xlsx bất kỳ lên Drive, chia sẻ với {email} quyền Người "
                            f"chỉnh sửa và ghi mã tệp đó vào [output] drive_file_id."))
        return
    checks.append(Check(name, True, f"Mở được tệp Drive \"{meta.get('name')}\" ({file_id})."))


# --- output -------------------------------------------------------------------------------------

def doctor_exit_code(checks: list[Check]) -> int:
    """1 when anything needs fixing, else 0."""
    return 1 if any(not c.ok for c in checks) else 0


def rerun_command(config_path: str | os.PathLike | None = None) -> str:
    """ "sheets-sync doctor --config <path>" (quoted when the path has spaces)."""
    if config_path is None:
        return "sheets-sync doctor"
    text = str(config_path)
    if not text or any(ch.isspace() or ch in "'\"&;|" for ch in text):
        text = '"' + text.replace('"', '\\"') + '"'
    return f"sheets-sync doctor --config {text}"


def render_checks(checks: list[Check], width: int = 100,
                  config_path: str | os.PathLike | None = None) -> str:
    """A Vietnamese table a person can act on: result, item, details and the fix."""
    status_w = max([len(c.status) for c in checks] + [len("Kết quả")])
    name_w = min(max([len(c.name) for c in checks] + [len("Hạng mục")]), 32)
    text_w = max(width - status_w - name_w - 4, 30)
    lines = ["KIỂM TRA CÀI ĐẶT SHEETS-SYNC", "",
             f"{'Kết quả':<{status_w}}  {'Hạng mục':<{name_w}}  Chi tiết / cách khắc phục",
             f"{'-' * status_w}  {'-' * name_w}  {'-' * min(text_w, 40)}"]
    for c in checks:
        body = textwrap.wrap(_scrub(c.message), text_w, break_on_hyphens=False) or [""]
        if c.fix and (not c.ok or c.warning):
            body += textwrap.wrap("→ Cách sửa: " + _scrub(c.fix), text_w,
                                  break_on_hyphens=False)
        name_lines = textwrap.wrap(c.name, name_w) or [""]
        for i in range(max(len(body), len(name_lines))):
            left = c.status if i == 0 else ""
            mid = name_lines[i] if i < len(name_lines) else ""
            right = body[i] if i < len(body) else ""
            lines.append(f"{left:<{status_w}}  {mid:<{name_w}}  {right}".rstrip())
    failed = sum(1 for c in checks if not c.ok)
    noted = sum(1 for c in checks if c.ok and c.warning)
    passed = len(checks) - failed - noted
    lines += ["", f"Tổng cộng: {passed} mục đạt, {failed} mục cần sửa, {noted} mục cần lưu ý."]
    if failed:
        lines.append("Sửa các mục \"Cần sửa\" theo hướng dẫn rồi chạy lại: "
                     + rerun_command(config_path))
    return "\n".join(lines) + "\n"

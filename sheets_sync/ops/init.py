"""`sheets-sync init`: the first setup of a real parent committee.

The library half: turn what the operator gave (answers or flags) into an ``InitPlan``, render it
as a commented ``config.toml`` (never over an existing file), then make the units' spreadsheets
ready — one template .xlsx per local unit that has no file yet (an existing file is never
touched), ``templates apply`` for Google units — and hand back what was done. The click layer
asks the questions and runs ``doctor`` at the end.
"""
from __future__ import annotations

import re
import textwrap
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from xml.etree import ElementTree

from ..core.config import Config, load_config
from ..core.errors import ConfigError, SheetsSyncError
from ..core.faults import os_reason
from ..core.text import fold, nfc, normalize, slug
from ..outputs.rollup.layout import place_name
from ..outputs.template_xlsx import export_template

# [labels] keys written by init, with the question asked for each (config.py `_LABELS`).
LABEL_QUESTIONS: dict[str, str] = {
    "parent": "Tên gọi cấp ủy cấp trên (dùng trong thông báo và bảng tổng hợp)",
    "unit": "Tên gọi cấp đơn vị (mỗi đơn vị một bảng tính)",
    "cell": "Tên gọi cấp chi bộ",
    "committee": "Dòng 1 tiêu đề văn bản: tên cấp ủy (chữ in hoa)",
    "board": "Dòng 2 tiêu đề văn bản: cơ quan ban hành (chữ in hoa)",
    "symbol": "Ký hiệu văn bản (sau \"Số   -\")",
    "place": "Địa danh ở dòng ngày tháng",
}
DATA_DIR = "data"
_CODE = re.compile(r"^[A-Za-z0-9_-]{1,12}$")
_LEVEL_WORDS = ("đảng ủy", "đảng uỷ", "đảng bộ", "chi bộ", "thị trấn", "thành phố", "thị xã",
                "đặc khu", "phường", "xã", "quận", "huyện", "tỉnh", "cơ quan", "trường")
# parent level (first words of the parent's name, folded) -> (label, committee prefix, symbol)
_LEVELS = (
    ("dang bo tinh", "Tỉnh ủy", "TỈNH ỦY", "BC/BTCTU", "Đảng ủy xã, phường"),
    ("dang bo thanh pho", "Thành ủy", "THÀNH ỦY", "BC/BTCThU", "Đảng ủy xã, phường"),
    ("dang bo huyen", "Huyện ủy", "HUYỆN ỦY", "BC/BTCHU", "Đảng ủy xã, thị trấn"),
    ("dang bo quan", "Quận ủy", "QUẬN ỦY", "BC/BTCQU", "Đảng ủy phường"),
    ("dang bo thi xa", "Thị ủy", "THỊ ỦY", "BC/BTCTU", "Đảng ủy xã, phường"),
    ("dang bo xa", "Đảng ủy xã", "ĐẢNG ỦY XÃ", "BC/ĐU", "Chi bộ"),
    ("dang bo phuong", "Đảng ủy phường", "ĐẢNG ỦY PHƯỜNG", "BC/ĐU", "Chi bộ"),
)


@dataclass(frozen=True)
class UnitEntry:
    code: str
    name: str
    path: str | None = None  # as written in the config (relative to its folder)
    spreadsheet: str | None = None


@dataclass(frozen=True)
class SupervisorEntry:
    name: str
    role: str
    units: tuple[str, ...]  # unit codes


@dataclass
class InitPlan:
    parent_name: str
    labels: dict[str, str]
    units: list[UnitEntry]
    supervisors: list[SupervisorEntry] = field(default_factory=list)
    credentials: str | None = None
    endpoint: str | None = None  # [google] endpoint (the local emulator in tests and demos)


@dataclass
class InitResult:
    config: Config
    actions: list[str] = field(default_factory=list)  # Vietnamese, one line each
    problems: list[str] = field(default_factory=list)


# --- suggestions --------------------------------------------------------------------------------

def suggested_labels(parent_name: str) -> dict[str, str]:
    """Labels for a parent named like "Đảng bộ huyện Lý Nhân" (the operator may change each)."""
    place = place_name(parent_name)
    folded = fold(parent_name)
    for prefix, label, committee, symbol, unit in _LEVELS:
        if folded.startswith(prefix + " "):
            return {"parent": label, "unit": unit, "cell": "Chi bộ",
                    "committee": f"{committee} {place.upper()}", "board": "BAN TỔ CHỨC",
                    "symbol": symbol, "place": place}
    return {"parent": "Cấp ủy", "unit": "Đảng ủy cơ sở", "cell": "Chi bộ",
            "committee": nfc(parent_name).upper(), "board": "BAN TỔ CHỨC", "symbol": "BC/BTC",
            "place": place}


def short_place(unit_name: str) -> str:
    """ "Đảng ủy xã Nhân Thịnh" -> "Nhân Thịnh" (level words removed from the front)."""
    s = " ".join(nfc(unit_name).split())
    while True:
        low = s.casefold()
        for word in _LEVEL_WORDS:
            if low.startswith(word + " "):
                s = s[len(word):].strip(" ,")
                break
        else:
            return s or unit_name.strip()


def unit_code(name: str, taken: Iterable[str]) -> str:
    """Initials of the unit's place, upper-case ASCII ("Nhân Thịnh" -> "NT"), made unique."""
    words = re.findall(r"[0-9A-Za-z]+", fold(short_place(name)))
    base = "".join(w if w.isdigit() else w[0] for w in words).upper()[:8] or "DV"
    used = {normalize(t) for t in taken}
    code, n = base, 1
    while normalize(code) in used:
        n += 1
        code = f"{base}{n}"
    return code


# --- parsing what the operator typed ------------------------------------------------------------

def _split_code(text: str) -> tuple[str | None, str]:
    """ "NT=Đảng ủy xã Nhân Thịnh" -> ("NT", "Đảng ủy xã Nhân Thịnh"); no code -> (None, text)."""
    head, sep, rest = text.partition("=")
    if sep and _CODE.match(head.strip()) and rest.strip() and "/" not in head:
        return head.strip(), rest.strip()
    return None, text.strip()


def units_from_names(names: Iterable[str], taken: Iterable[str] = (),
                     data_dir: str = DATA_DIR) -> list[UnitEntry]:
    """One local unit per name ("Tên" or "MÃ=Tên"); its file goes to ``data_dir/<slug>.xlsx``."""
    codes = list(taken)
    files: set[str] = set()
    out = []
    for raw in names:
        code, name = _split_code(raw)
        if not name:
            continue
        code = code or unit_code(name, codes)
        file = slug(short_place(name)) or code.lower()
        while file in files:
            file += "-" + code.lower()
        files.add(file)
        codes.append(code)
        out.append(UnitEntry(code, name, path=f"{data_dir}/{file}.xlsx"))
    return out


def _xlsx_unit_name(path: Path) -> str:
    """The unit's name from the workbook's title ("Sổ … — Đảng ủy xã X", as `templates
    export` writes it), else from the file name."""
    try:
        with zipfile.ZipFile(path) as z:
            root = ElementTree.fromstring(z.read("docProps/core.xml"))
        title = next((e.text for e in root if e.tag.endswith("}title") and e.text), "")
    except (OSError, KeyError, zipfile.BadZipFile, ElementTree.ParseError):
        title = ""
    if " — " not in title:
        title = _guide_title(path)
    if " — " in title:
        return nfc(title.rsplit(" — ", 1)[1].strip())
    return path.stem.replace("-", " ").replace("_", " ").strip().title()


def _guide_title(path: Path) -> str:
    """A1 of the `Hướng dẫn` tab ("Hướng dẫn … — Đảng ủy xã X" in exported templates)."""
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True)
    except Exception:  # noqa: BLE001 - any unreadable file: the name comes from the file name
        return ""
    try:
        for ws in wb.worksheets:
            if normalize(ws.title) == normalize("Hướng dẫn"):
                for row in ws.iter_rows(min_row=1, max_row=1, max_col=1, values_only=True):
                    return str(row[0] or "")
        return ""
    finally:
        wb.close()


def units_from_folder(folder: Path, config_dir: Path, taken: Iterable[str] = ()
                      ) -> list[UnitEntry]:
    """One local unit per .xlsx file of ``folder`` (sorted by name; Excel's ~$ lock files and
    hidden files skipped); paths relative to the config's folder when inside it."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"Không có thư mục {folder} (tùy chọn --xlsx-folder).")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".xlsx" and p.is_file()
                   and not p.name.startswith(("~$", ".")))
    if not files:
        raise ConfigError(f"Thư mục {folder} không có tệp .xlsx nào.")
    codes = list(taken)
    out = []
    for p in files:
        name = _xlsx_unit_name(p)
        code = unit_code(name, codes)
        codes.append(code)
        out.append(UnitEntry(code, name, path=_relative(p, config_dir)))
    return out


def _relative(path: Path, base: Path) -> str:
    path, base = path.resolve(), base.resolve()
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return path.as_posix()


def units_from_google(entries: Iterable[str], taken: Iterable[str] = ()) -> list[UnitEntry]:
    """One Google unit per "Tên=URL-hoặc-khóa" (or "MÃ=Tên=URL")."""
    from ..sources.google_sheets import spreadsheet_key

    codes = list(taken)
    out = []
    for raw in entries:
        code, rest = _split_code(raw)
        name, sep, target = rest.partition("=")
        if not sep or "/" in name or not target.strip():
            if code is not None:  # "Tên=URL" whose name looked like a code
                name, target, code = code, rest, None
            else:
                raise ConfigError(f"Đơn vị Google '{raw}': cần dạng \"Tên đơn vị=địa chỉ hoặc "
                                  "khóa bảng tính\".")
        name, target = name.strip(), target.strip()
        key = spreadsheet_key(target)
        if not re.fullmatch(r"[A-Za-z0-9_-]{10,}", key):
            raise ConfigError(f"Đơn vị Google '{name}': '{target}' không phải địa chỉ hay khóa "
                              "bảng tính Google (dạng https://docs.google.com/spreadsheets/d/…).")
        code = code or unit_code(name, codes)
        codes.append(code)
        out.append(UnitEntry(code, name, spreadsheet=key))
    return out


def parse_supervisor(text: str, units: list[UnitEntry]) -> SupervisorEntry:
    """ "Họ tên; chức vụ; NT, NM" — units by code, full name or place ("Nhân Thịnh")."""
    parts = [p.strip() for p in text.split(";")]
    if len(parts) == 2:
        parts.insert(1, "")
    if len(parts) != 3 or not parts[0] or not parts[2]:
        raise ConfigError(f"Người phụ trách '{text}': cần dạng \"Họ tên; chức vụ; mã đơn vị, "
                          "mã đơn vị…\" (chức vụ có thể bỏ trống).")
    by_key: dict[str, str] = {}
    for u in units:
        for k in (u.code, u.name, short_place(u.name)):
            by_key.setdefault(normalize(k), u.code)
    codes = []
    for ref in (r.strip() for r in parts[2].split(",")):
        if not ref:
            continue
        code = by_key.get(normalize(ref))
        if code is None:
            known = ", ".join(u.code for u in units)
            raise ConfigError(f"Người phụ trách {parts[0]}: không có đơn vị '{ref}' (các mã đơn "
                              f"vị: {known}).")
        codes.append(code)
    return SupervisorEntry(nfc(parts[0]), nfc(parts[1]), tuple(dict.fromkeys(codes)))


# --- the config text ----------------------------------------------------------------------------

def _q(s: str) -> str:
    return '"' + nfc(s).replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_config(plan: InitPlan) -> str:
    """The commented config.toml of ``plan`` (Vietnamese comments, keys of config.py)."""
    if not plan.units:
        raise ConfigError("Cần ít nhất một đơn vị.")
    seen: set[str] = set()
    for u in plan.units:
        if normalize(u.code) in seen:
            raise ConfigError(f"Mã đơn vị '{u.code}' bị trùng.")
        seen.add(normalize(u.code))
    lines = [
        f"# Cấu hình sheets-sync của {nfc(plan.parent_name)} (tạo bằng 'sheets-sync init').",
        "# Đường dẫn tương đối tính từ thư mục chứa tệp này. Sửa xong thì chạy",
        "# 'sheets-sync doctor' để kiểm tra lại.",
        "",
        "[parent]",
        f"name = {_q(plan.parent_name)}",
        "",
        "# Tên gọi các cấp và các dòng tiêu đề văn bản (bảng tổng hợp, báo cáo).",
        "[labels]",
    ]
    lines += [f"{k} = {_q(v)}" for k, v in plan.labels.items() if v.strip()]
    lines += [
        "",
        "[rules]",
        "# Giữ các mức mặc định (xem 'sheets-sync rules'); muốn đổi thì bỏ dấu # ở dòng tương",
        "# ứng, ví dụ:",
        "# window_end_day = 7          # sinh hoạt thường kỳ từ ngày 1 đến ngày 7",
        "# preferred_day = 3           # ngày ưu tiên; false = không kiểm tra ngày ưu tiên",
        "# min_attendance_rate = 0.85  # tỷ lệ dự phải TRÊN mức này",
        "",
    ]
    if any(u.spreadsheet for u in plan.units) or plan.credentials:
        lines += ["# Tài khoản dịch vụ Google: mỗi bảng tính phải được chia sẻ với địa chỉ",
                  "# client_email trong tệp khóa này, quyền Người chỉnh sửa.", "[google]"]
        lines.append(f"credentials = {_q(plan.credentials)}" if plan.credentials else
                     '# credentials = "khoa-tai-khoan-dich-vu.json"')
        if plan.endpoint:
            lines.append(f"endpoint = {_q(plan.endpoint)}")
        lines.append("")
    lines.append("# Các đơn vị: mỗi đơn vị một bảng tính (path = tệp .xlsx, spreadsheet = Google).")
    for u in plan.units:
        lines += ["[[units]]", f"code = {_q(u.code)}", f"name = {_q(u.name)}"]
        lines.append(f"path = {_q(u.path)}" if u.path
                     else f"spreadsheet = {_q(u.spreadsheet or '')}")
        lines.append("")
    if plan.supervisors:
        lines.append("# Đồng chí cấp ủy cấp trên được phân công dự sinh hoạt chi bộ (CT §8).")
    else:
        lines += ["# Đồng chí cấp ủy cấp trên được phân công dự sinh hoạt chi bộ (CT §8), ví dụ:",
                  "# [[supervisors]]", '# name = "Trần Văn Bình"',
                  '# role = "Ủy viên Ban Thường vụ"',
                  f"# units = [{_q(plan.units[0].code)}]", ""]
    for s in plan.supervisors:
        lines += ["[[supervisors]]", f"name = {_q(s.name)}"]
        if s.role:
            lines.append(f"role = {_q(s.role)}")
        lines += ["units = [" + ", ".join(_q(c) for c in s.units) + "]", ""]
    lines += [
        "# Giải trình được Ban Tổ chức chấp nhận, ví dụ:",
        "# [[accepted]]",
        f"# unit = {_q(plan.units[0].code)}",
        '# rule = "MEET-WINDOW"',
        '# cell = "CB03"',
        '# period = "2026-07"',
        '# note = "Chấp nhận: bí thư chi bộ đi tập huấn."',
        "",
        "# Kho lịch sử, nhật ký (state/) và bảng tổng hợp (out/), cạnh tệp này.",
        "[state]",
        'dir = "state"',
        "",
        "[output]",
        'dir = "out"',
        "",
    ]
    return "\n".join(lines)


def write_config(path: Path, text: str) -> Config:
    """Create ``path`` with ``text`` (never over an existing file) and load it back."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(path, "x", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
    except FileExistsError:
        raise ConfigError(f"Đã có tệp cấu hình {path}; 'init' không ghi đè. Sửa trực tiếp tệp đó, "
                          "hoặc chọn tên khác bằng --config.") from None
    try:
        return load_config(path)
    except SheetsSyncError:
        path.unlink(missing_ok=True)  # never leave a config that does not load
        raise


def refuse_existing(path: Path) -> None:
    if Path(path).exists():
        raise ConfigError(f"Đã có tệp cấu hình {path}; 'init' không ghi đè. Sửa trực tiếp tệp đó, "
                          "hoặc chọn tên khác bằng --config.")


# --- making the spreadsheets ready --------------------------------------------------------------

def prepare_units(config: Config) -> InitResult:
    """A template .xlsx for each local unit without a file (existing files untouched), the
    template applied to each Google unit. A unit that fails is reported, the others go on."""
    result = InitResult(config)
    for unit in config.units:
        if unit.is_google or unit.path is None:
            continue
        if unit.path.exists():
            result.actions.append(f"{unit.code}: đã có tệp {unit.path.name}, giữ nguyên.")
            continue
        try:
            export_template(unit.path, unit_name=unit.name)
        except OSError as e:
            result.problems.append(f"{unit.code}: không tạo được tệp {unit.path}: "
                                   f"{os_reason(e)}.")
            continue
        result.actions.append(f"{unit.code}: đã tạo tệp mẫu {unit.path}.")
    google = [u for u in config.units if u.is_google]
    if not google:
        return result
    from ..sources.google_sheets import GoogleBackend
    from .provision import apply_template

    try:
        backend = GoogleBackend.from_config(config)
    except SheetsSyncError as e:
        result.problems.append(f"Chưa áp dụng mẫu cho bảng tính Google: {e}")
        return result
    for unit in google:
        try:
            applied = apply_template(backend, unit)
        except SheetsSyncError as e:
            result.problems.append(f"{unit.code}: {e}")
            continue
        result.actions += applied.describe().rstrip("\n").splitlines()
        result.problems += [f"{unit.code}: {w}" for w in applied.warnings]
    return result


# --- the questions ------------------------------------------------------------------------------

@dataclass
class Answers:
    """What the operator gave as flags; ``interview`` asks for the rest (unless ``no_input``)."""

    config_path: Path
    parent_name: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    unit_names: list[str] = field(default_factory=list)
    xlsx_folder: Path | None = None
    google: list[str] = field(default_factory=list)
    supervisors: list[str] = field(default_factory=list)
    credentials: str | None = None
    endpoint: str | None = None
    data_dir: str = DATA_DIR
    no_input: bool = False


Ask = Callable[[str, "str | None"], str]


def parse_labels(pairs: Iterable[str]) -> dict[str, str]:
    """ "--label parent=Tỉnh ủy" -> {"parent": "Tỉnh ủy"} (keys of LABEL_QUESTIONS only)."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or key not in LABEL_QUESTIONS or not value.strip():
            raise ConfigError(f"--label '{pair}': cần dạng KHÓA=giá trị, KHÓA là một trong "
                              f"{', '.join(LABEL_QUESTIONS)}.")
        out[key] = nfc(value.strip())
    return out


def _lines_until_empty(ask: Ask, question: str) -> list[str]:
    out: list[str] = []
    while True:
        line = ask(f"{question} (Enter để kết thúc)", "").strip()
        if not line:
            return out
        out.append(line)


def interview(a: Answers, ask: Ask, say: Callable[[str], None]) -> InitPlan:
    """The plan from the flags, asking (``ask(question, default)``) for whatever is missing."""
    config_dir = Path(a.config_path).resolve().parent
    interactive = not a.no_input
    parent = (a.parent_name or "").strip()
    if not parent and interactive:
        say("Bước 1/4 — Đảng bộ của bạn (cấp tổng hợp số liệu).")
        parent = ask("Tên đảng bộ, ví dụ \"Đảng bộ huyện Lý Nhân\"", None).strip()
    if not parent:
        raise ConfigError("Cần tên đảng bộ: --parent-name \"Đảng bộ …\".")
    labels = dict(suggested_labels(parent))
    if interactive:
        say("Bước 2/4 — Tên gọi các cấp và tiêu đề văn bản (Enter = giữ gợi ý trong ngoặc).")
    for key, question in LABEL_QUESTIONS.items():
        if key in a.labels:
            labels[key] = a.labels[key]
        elif interactive:
            labels[key] = ask(question, labels[key]).strip() or labels[key]

    names, folder, google = list(a.unit_names), a.xlsx_folder, list(a.google)
    credentials = a.credentials
    if not (names or folder or google) and interactive:
        say("Bước 3/4 — Các đơn vị. Bảng tính của đơn vị để ở đâu?\n"
            "  1 = tạo tệp .xlsx mới theo mẫu cho từng đơn vị (nhập danh sách tên)\n"
            "  2 = một thư mục đã có sẵn các tệp .xlsx của đơn vị\n"
            "  3 = Google Sheets (mỗi đơn vị một bảng tính đã chia sẻ với tài khoản dịch vụ)")
        choice = ask("Chọn 1, 2 hoặc 3", "1").strip()
        if choice == "2":
            folder = Path(ask("Thư mục chứa các tệp .xlsx", None).strip())
        elif choice == "3":
            google = _lines_until_empty(ask, "Đơn vị: Tên=địa chỉ bảng tính")
        else:
            names = _lines_until_empty(ask, "Tên đơn vị, ví dụ \"Đảng ủy xã Nhân Thịnh\"")
    units: list[UnitEntry] = []
    if folder is not None:
        units += units_from_folder(folder if folder.is_absolute() else Path.cwd() / folder,
                                   config_dir)
        if interactive:  # a name guessed from a file name lacks its diacritics: confirm each
            units = [replace(u, name=ask(f"Tên đơn vị của tệp {u.path}", u.name).strip() or u.name)
                     for u in units]
    units += units_from_names(names, [u.code for u in units], a.data_dir)
    units += units_from_google(google, [u.code for u in units])
    if not units:
        raise ConfigError("Cần ít nhất một đơn vị: --unit-name, --xlsx-folder hoặc --google.")
    if any(u.spreadsheet for u in units) and not credentials and interactive:
        credentials = ask("Tệp khóa tài khoản dịch vụ Google (.json)", "khoa-google.json").strip()

    sups = list(a.supervisors)
    if not sups and interactive:
        say("Bước 4/4 — Đồng chí cấp ủy cấp trên được phân công dự sinh hoạt chi bộ.\n"
            + textwrap.fill("Các đơn vị: " + ", ".join(f"{u.code} = {u.name}" for u in units),
                            78, initial_indent="  ", subsequent_indent="    ",
                            break_on_hyphens=False))
        sups = _lines_until_empty(ask, "Họ tên; chức vụ; mã đơn vị, mã đơn vị")
    supervisors = [parse_supervisor(s, units) for s in sups]
    return InitPlan(parent, labels, units, supervisors, credentials, a.endpoint)


def describe_plan(plan: InitPlan) -> str:
    """What the config will hold, for the operator to confirm."""
    lines = [f"Đảng bộ: {plan.parent_name}", f"Tiêu đề văn bản: {plan.labels.get('committee', '')}"
             f" / {plan.labels.get('board', '')}", f"Đơn vị ({len(plan.units)}):"]
    for u in plan.units:
        where = u.path if u.path else f"Google {u.spreadsheet}"
        lines.append(f"  {u.code:<6} {u.name} — {where}")
    lines.append(f"Người phụ trách: {len(plan.supervisors)}")
    lines += [f"  {s.name} ({s.role or 'chưa ghi chức vụ'}): {', '.join(s.units)}"
              for s in plan.supervisors]
    return "\n".join(lines) + "\n"

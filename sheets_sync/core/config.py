"""TOML config -> typed settings. Wrong types and unknown keys are rejected with the key and
file."""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .errors import ConfigError
from .faults import os_reason
from .findings import Finding
from .rules import params as rule_params
from .text import fold, nfc, normalize, place_name
from .toml_errors import toml_error_vi
from .typed import FIRST_YEAR, LAST_YEAR, Typed, check_value

DEFAULT_LABELS = {"parent": "Huyện ủy", "unit": "Đảng ủy xã, thị trấn", "cell": "Chi bộ"}
# Lines of the Party document header and signature (Hướng dẫn 36-HD/VPTW) of the roll-up and
# the report. Empty here = derived from the parent's name and the labels above
# (``document_labels``), e.g. committee "HUYỆN ỦY LÝ NHÂN", symbol "-BC/BTCHU". The keys
# committee, board, symbol and place are the ones `sheets-sync init` writes.
DOCUMENT_LABELS = {
    "committee": "",  # the issuing committee, top left: "HUYỆN ỦY LÝ NHÂN"
    "board": "BAN TỔ CHỨC",  # the issuing body under it (bold)
    "place": "",  # the place of the date line: "Lý Nhân"
    "symbol": "",  # số ký hiệu after "Số": "-BC/BTCHU" (the dash is added when missing)
    "signer_for": "",  # "T/M …" / "K/T …" line above the title, when the signer signs for
    "signer_title": "TRƯỞNG BAN",
    "signer_name": "",  # printed under the signature space when given
    # A unit's own report (`report --unit`): the unit's committee issues it.
    "unit_committee": "",  # the level above the unit: "ĐẢNG BỘ HUYỆN LÝ NHÂN"
    "unit_symbol": "-BC/ĐU",
    "unit_signer_for": "T/M ĐẢNG ỦY",
    "unit_signer_title": "BÍ THƯ",
}


@dataclass(frozen=True)
class UnitConfig:
    code: str
    name: str
    path: Path | None = None
    spreadsheet: str | None = None
    rules: MappingProxyType[str, Any] = field(default_factory=lambda: rule_params.resolve())

    @property
    def is_google(self) -> bool:
        return self.spreadsheet is not None


@dataclass(frozen=True)
class Supervisor:
    name: str
    units: tuple[str, ...]
    role: str = ""
    aliases: tuple[str, ...] = ()
    code: str | None = None

    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass(frozen=True)
class Accepted:
    """An operator's acceptance of an explanation: matches findings on every given field."""

    unit: str | None = None
    rule: str | None = None
    cell: str | None = None
    period: str | None = None
    row: int | None = None
    tab: str | None = None
    note: str = ""

    def matches(self, finding: Finding) -> bool:
        for name in ("unit", "rule", "cell", "period", "row", "tab"):
            want = getattr(self, name)
            if want is None:
                continue
            got = getattr(finding, name)
            if name in ("unit", "cell"):
                if got is None or normalize(str(got)) != normalize(str(want)):
                    return False
            elif got != want:
                return False
        return True


@dataclass(frozen=True)
class GoogleConfig:
    credentials: Path | None = None
    endpoint: str | None = None  # e.g. the local emulator "http://127.0.0.1:PORT"
    timeout_s: int | None = None  # read timeout of every request
    max_attempts: int | None = None  # per request, retries included
    max_retry_wait_s: int | None = None  # total backoff sleep per run
    reads_per_minute: int | None = None  # client-side pacer (Google: 60 per service account)
    writes_per_minute: int | None = None
    # units pulled at once (twice as many written); default pipeline.DEFAULT_WORKERS
    workers: int | None = None
    # A wrong [google] setting (type, range): reported for the Google units only, so that the
    # local units are still checked (``GoogleBackend.from_config`` raises it).
    problem: str | None = None


@dataclass(frozen=True)
class ReportConfig:
    """``[report]``: the December report and the §6 proposals (commendation / correction)."""
    enabled: bool = False  # `run` also writes the report
    commend_unit_min_score: float = 95.0  # composite score (0–100) at or above: commend …
    commend_unit_max_errors: int = 2  # … with at most this many violations
    correct_unit_max_score: float = 85.0  # below: needs correction
    correct_unit_min_errors: int = 10  # or at least this many violations
    correct_cell_min_errors: int = 3  # a cell with this many violations needs correction
    findings_rows: int = 500  # rows of errors and warnings on the roll-up's `Vi phạm` sheet
    recipients: tuple[str, ...] = ()  # "Nơi nhận" lines; empty = derived from the labels


@dataclass(frozen=True)
class Config:
    path: Path
    parent_name: str
    units: tuple[UnitConfig, ...]
    supervisors: tuple[Supervisor, ...] = ()
    labels: MappingProxyType[str, str] = field(
        default_factory=lambda: MappingProxyType(dict(DEFAULT_LABELS)))
    rules: MappingProxyType[str, Any] = field(default_factory=lambda: rule_params.resolve())
    accepted: tuple[Accepted, ...] = ()
    state_dir: Path = Path("state")
    out_dir: Path = Path("out")
    drive_file_id: str | None = None
    google: GoogleConfig = GoogleConfig()
    show_member_names: bool = False
    backup_keep: int = 5
    history_retention_days: int = 800
    notes_per_row: bool = False  # [writeback] notes_per_row: write info findings in each row
    report: ReportConfig = ReportConfig()

    def unit(self, code: str) -> UnitConfig:
        for u in self.units:
            if normalize(u.code) == normalize(code):
                return u
        raise ConfigError(f"{self.path}: không có đơn vị mã '{code}' trong [[units]].")

    def select(self, codes: tuple[str, ...] | list[str] | None) -> tuple[UnitConfig, ...]:
        if not codes:
            return self.units
        return tuple(self.unit(c) for c in dict.fromkeys(codes))


# --- schema ---------------------------------------------------------------------------------

# Each table: key -> expected type (or Typed with its range). Anything else is rejected.
_TOP = {"parent", "units", "supervisors", "labels", "rules", "accepted", "state", "output",
        "google", "rollup", "writeback", "history", "report"}
_PARENT = {"name": str}
# What a backslash inside a TOML double-quoted string turns into ("D:\\new\\table.xlsx"): never
# part of a real path.
_ESCAPED_CONTROLS = frozenset("\n\t\r\b\f")
_UNIT = {"code": str, "name": str, "path": str, "spreadsheet": str, "rules": dict}
_SUPERVISOR = {"name": str, "role": str, "units": list, "aliases": list, "code": str}
# committee/board/symbol/place: the Party document header ("HUYỆN ỦY LÝ NHÂN" / "BAN TỔ CHỨC",
# "Số   -BC/BTCHU", "Lý Nhân, ngày …"), written by `sheets-sync init`; with the signer and the
# unit report's lines (DOCUMENT_LABELS), derived when absent (``document_labels``).
_LABELS = {"parent": str, "unit": str, "cell": str, **{k: str for k in DOCUMENT_LABELS}}
_ACCEPTED = {"unit": str, "rule": str, "cell": str, "period": str,
             "row": Typed(int, 1, 1_048_576), "tab": str, "note": str}
_REPORT = {"enabled": bool, "commend_unit_min_score": Typed(float, 0, 100),
           "commend_unit_max_errors": Typed(int, 0, 1_000_000),
           "correct_unit_max_score": Typed(float, 0, 100),
           "correct_unit_min_errors": Typed(int, 0, 1_000_000),
           "correct_cell_min_errors": Typed(int, 0, 1_000_000),
           "findings_rows": Typed(int, 0, 1_000_000), "recipients": list}
_STATE = {"dir": str}
_OUTPUT = {"dir": str, "drive_file_id": str}
_GOOGLE = {"credentials": str, "endpoint": str, "timeout_s": Typed(int, 1, 3600),
           "max_attempts": Typed(int, 1, 20), "max_retry_wait_s": Typed(int, 0, 86_400),
           "reads_per_minute": Typed(int, 1, 60_000), "writes_per_minute": Typed(int, 1, 60_000),
           "workers": Typed(int, 1, 16)}
_ROLLUP = {"show_member_names": bool}
_WRITEBACK = {"backup_keep": Typed(int, 0, 1000), "notes_per_row": bool}
_HISTORY = {"retention_days": Typed(int, 1, 36_500)}


class _Reader:
    def __init__(self, path: Path):
        self.path = path

    def fail(self, where: str, msg: str) -> ConfigError:
        return ConfigError(f"Lỗi cấu hình {self.path}, mục {where}: {msg}")

    def table(self, data: Any, schema: dict[str, Any], where: str,
              required: tuple[str, ...] = ()) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise self.fail(where, "phải là một bảng (table).")
        for key, value in data.items():
            if key not in schema:
                raise self.fail(where,
                                f"khóa không hợp lệ '{key}' (cho phép: {', '.join(schema)}).")
            wrong = check_value(value, schema[key])
            if wrong:
                raise self.fail(f"{where}.{key}", wrong)
        for key in required:
            if key not in data:
                raise self.fail(where, f"thiếu khóa bắt buộc '{key}'.")
        return data

    def strings(self, value: list[Any], where: str) -> tuple[str, ...]:
        if not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(where, "phải là danh sách chuỗi.")
        return tuple(v.strip() for v in value)

    def resolve_path(self, value: str, where: str) -> Path:
        if any(c in value for c in _ESCAPED_CONTROLS):
            raise self.fail(where, f"đường dẫn {value!r} chứa ký tự xuống dòng/tab: trong dấu "
                                   "nháy kép, '\\n', '\\t' … là ký tự đặc biệt. Đường dẫn "
                                   "Windows hãy viết bằng dấu '/' (ví dụ \"D:/so-lieu/a.xlsx\") "
                                   "hoặc đặt trong dấu nháy đơn ('D:\\so-lieu\\a.xlsx').")
        p = Path(os.path.expanduser(value))
        return p if p.is_absolute() else (self.path.parent / p)

    def folder(self, value: str, where: str) -> Path:
        """A folder the job writes into: neither it nor a parent may be an existing file."""
        path = self.resolve_path(value, where)
        probe = path
        while True:
            if probe.exists():
                if not probe.is_dir():
                    what = "là một tệp" if probe == path else f"nằm dưới tệp {probe}"
                    raise self.fail(where, f"'{value}' ({path}) {what}, không phải thư mục. Hãy "
                                           "ghi đường dẫn tới một thư mục (sẽ được tạo nếu "
                                           "chưa có).")
                return path
            if probe.parent == probe:
                return path
            probe = probe.parent


def parse_config(data: dict[str, Any], path: Path) -> Config:
    r = _Reader(path)
    for key in data:
        if key not in _TOP:
            raise r.fail(key, f"mục không hợp lệ (cho phép: {', '.join(sorted(_TOP))}).")
    parent = r.table(data.get("parent"), _PARENT, "parent", ("name",))
    parent_rules = rule_params.resolve(data.get("rules") or {}, where=f"{path} [rules]")
    raw_parent_rules = data.get("rules") or {}

    units_raw = data.get("units")
    if not isinstance(units_raw, list) or not units_raw:
        raise r.fail("units", "cần ít nhất một [[units]].")
    units, seen = [], set()
    for i, u in enumerate(units_raw, start=1):
        where = f"units[{i}]"
        r.table(u, _UNIT, where, ("code", "name"))
        if ("path" in u) == ("spreadsheet" in u):
            raise r.fail(where, "cần đúng một trong hai khóa 'path' (tệp .xlsx) "
                                "hoặc 'spreadsheet' (Google).")
        code = u["code"].strip()
        if normalize(code) in seen:
            raise r.fail(where, f"mã đơn vị '{code}' bị trùng.")
        seen.add(normalize(code))
        units.append(UnitConfig(
            code=code,
            name=u["name"].strip(),
            path=r.resolve_path(u["path"], f"{where}.path") if "path" in u else None,
            spreadsheet=u.get("spreadsheet"),
            rules=rule_params.resolve(raw_parent_rules, u.get("rules") or {},
                                      where=f"{path} {where}.rules"),
        ))

    supervisors = []
    for i, s in enumerate(data.get("supervisors") or [], start=1):
        where = f"supervisors[{i}]"
        r.table(s, _SUPERVISOR, where, ("name", "units"))
        unit_codes = r.strings(s["units"], f"{where}.units")
        for c in unit_codes:
            if normalize(c) not in seen:
                raise r.fail(f"{where}.units", f"không có đơn vị mã '{c}'.")
        supervisors.append(Supervisor(
            name=s["name"].strip(), units=unit_codes, role=s.get("role", ""),
            aliases=r.strings(s.get("aliases", []), f"{where}.aliases"), code=s.get("code"),
        ))

    labels = dict(DEFAULT_LABELS)
    labels.update(r.table(data.get("labels") or {}, _LABELS, "labels"))

    accepted = []
    for i, a in enumerate(data.get("accepted") or [], start=1):
        r.table(a, _ACCEPTED, f"accepted[{i}]")
        if not (set(a) - {"note"}):
            raise r.fail(f"accepted[{i}]",
                         "cần ít nhất một khóa unit, rule, cell, period, row hoặc tab.")
        accepted.append(Accepted(**a))

    state = r.table(data.get("state") or {}, _STATE, "state")
    output = r.table(data.get("output") or {}, _OUTPUT, "output")
    google_problem = None
    try:
        google = r.table(data.get("google") or {}, _GOOGLE, "google")
    except ConfigError as e:  # reported by the Google units only; local units are checked
        google, google_problem = {}, str(e)
    rollup = r.table(data.get("rollup") or {}, _ROLLUP, "rollup")
    writeback = r.table(data.get("writeback") or {}, _WRITEBACK, "writeback")
    history = r.table(data.get("history") or {}, _HISTORY, "history")
    report = _report_config(r, data.get("report") or {})
    credentials = google.get("credentials") or os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")

    return Config(
        path=path,
        parent_name=parent["name"].strip(),
        units=tuple(units),
        supervisors=tuple(supervisors),
        labels=MappingProxyType(labels),
        rules=parent_rules,
        accepted=tuple(accepted),
        state_dir=r.folder(state.get("dir", "state"), "state.dir"),
        out_dir=r.folder(output.get("dir", "out"), "output.dir"),
        drive_file_id=output.get("drive_file_id"),
        google=GoogleConfig(
            credentials=r.resolve_path(credentials, "google.credentials") if credentials else None,
            **{k: v for k, v in google.items() if k != "credentials"},
            problem=google_problem,
        ),
        show_member_names=rollup.get("show_member_names", False),
        backup_keep=writeback.get("backup_keep", 5),
        notes_per_row=writeback.get("notes_per_row", False),
        history_retention_days=history.get("retention_days", 800),
        report=report,
    )


def _report_config(r: _Reader, data: Any) -> ReportConfig:
    """``[report]``: types and ranges checked by the schema; scores as floats."""
    got = dict(r.table(data, _REPORT, "report"))
    for key in ("commend_unit_min_score", "correct_unit_max_score"):
        if key in got:
            got[key] = float(got[key])
    if "recipients" in got:
        got["recipients"] = r.strings(got["recipients"], "report.recipients")
    return ReportConfig(**got)


def document_labels(parent_name: str, labels: Any) -> dict[str, str]:
    """The document labels with the derived defaults filled in: committee "<PARENT LABEL> <PLACE>"
    in capitals, place from the parent's name, symbol "-BC/" + initials of the body and of
    the parent label ("BAN TỔ CHỨC", "Huyện ủy" -> "-BC/BTCHU"), unit committee = the parent's
    name in capitals."""
    out = {**DEFAULT_LABELS, **DOCUMENT_LABELS, **dict(labels)}
    place = out["place"] or place_name(parent_name)
    out["place"] = place
    if not out["committee"]:
        out["committee"] = f"{out['parent']} {place}".upper()
    if not out["symbol"]:
        out["symbol"] = f"BC/{_initials(out['board'])}{_initials(out['parent'])}"
    out["symbol"] = "-" + out["symbol"].lstrip("-")
    if not out["unit_committee"]:
        out["unit_committee"] = parent_name.upper()
    out["unit_symbol"] = "-" + out["unit_symbol"].lstrip("-")
    return out


def _initials(text: str) -> str:
    return "".join("Đ" if w[0] in "đĐ" else fold(w[0]).upper() for w in nfc(text).split())


UTF8_HINT = ("Hãy mở tệp bằng Notepad, chọn File → Save As…, ở ô Encoding chọn UTF-8, rồi "
             "lưu lại tệp cấu hình dạng UTF-8.")


def decode_text(raw: bytes, path: Path, what: str = "Tệp cấu hình") -> str:
    """UTF-8 (with or without BOM) or UTF-16 with BOM, as Notepad saves them; anything else
    (ANSI / cp1258, UTF-16 without BOM) is refused with the way to fix it."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            raise ConfigError(f"{what} {path} bị hỏng (UTF-16 không hợp lệ). {UTF8_HINT}") \
                from None
    if b"\x00" in raw:
        raise ConfigError(f"{what} {path} không phải văn bản UTF-8 (có thể là UTF-16 không có "
                          f"BOM). {UTF8_HINT}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise ConfigError(f"{what} {path} không phải UTF-8 (dòng {line} có ký tự lưu theo bảng "
                          f"mã khác, ví dụ ANSI/Windows-1258). {UTF8_HINT}") from None


def load_config(path: str | os.PathLike[str]) -> Config:
    path = Path(path).resolve()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"Không tìm thấy tệp cấu hình {path}.") from None
    except IsADirectoryError:
        raise ConfigError(f"{path} là một thư mục, không phải tệp cấu hình (.toml).") from None
    except OSError as e:
        raise ConfigError(f"Không đọc được tệp cấu hình {path}: {os_reason(e)}.") from None
    text = decode_text(raw, path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"Tệp cấu hình {path} không đúng cú pháp TOML, "
                          f"{toml_error_vi(str(e), text)}") from None
    return parse_config(data, path)




def parse_as_of(value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"Ngày --as-of không hợp lệ: '{value}' (cần dạng YYYY-MM-DD).") from None
    if isinstance(day, datetime) or len(value.strip()) != 10:
        raise ConfigError(f"Ngày --as-of không hợp lệ: '{value}' (cần dạng YYYY-MM-DD, không kèm "
                          "giờ).")
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ConfigError(f"Ngày --as-of '{value}' nằm ngoài khoảng cho phép (01/01/{FIRST_YEAR} – "
                          f"31/12/{LAST_YEAR}); hãy kiểm tra lại năm.")
    return day


def check_year(year: int | None) -> int | None:
    """``--year``: None, or a year from FIRST_YEAR to LAST_YEAR."""
    if year is not None and not FIRST_YEAR <= year <= LAST_YEAR:
        raise ConfigError(f"Năm --year {year} nằm ngoài khoảng cho phép ({FIRST_YEAR}–"
                          f"{LAST_YEAR}).")
    return year

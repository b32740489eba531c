"""TOML config -> typed settings. Wrong types and unknown keys are rejected with the key and
file."""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .errors import ConfigError
from .findings import Finding
from .rules import params as rule_params
from .text import normalize

DEFAULT_LABELS = {"parent": "Huyện ủy", "unit": "Đảng ủy xã, thị trấn", "cell": "Chi bộ"}


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
    # units pulled (and written) at once; default pipeline.DEFAULT_WORKERS
    workers: int | None = None


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
# Each table: key -> expected Python type(s). Anything else is rejected.
_TOP = {"parent", "units", "supervisors", "labels", "rules", "accepted", "state", "output",
        "google", "rollup", "writeback", "history"}
_PARENT = {"name": str}
_UNIT = {"code": str, "name": str, "path": str, "spreadsheet": str, "rules": dict}
_SUPERVISOR = {"name": str, "role": str, "units": list, "aliases": list, "code": str}
_LABELS = {"parent": str, "unit": str, "cell": str}
_ACCEPTED = {"unit": str, "rule": str, "cell": str, "period": str, "row": int, "tab": str,
             "note": str}
_STATE = {"dir": str}
_OUTPUT = {"dir": str, "drive_file_id": str}
_GOOGLE = {"credentials": str, "endpoint": str, "timeout_s": int, "max_attempts": int,
           "max_retry_wait_s": int, "reads_per_minute": int, "writes_per_minute": int,
           "workers": int}
_ROLLUP = {"show_member_names": bool}
_WRITEBACK = {"backup_keep": int}
_HISTORY = {"retention_days": int}


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
            expected = schema[key]
            if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
                raise self.fail(f"{where}.{key}",
                                f"phải là {_TYPE_VI[expected]}, không phải {value!r}.")
            if expected is str and not value.strip():
                raise self.fail(f"{where}.{key}", "không được để trống.")
        for key in required:
            if key not in data:
                raise self.fail(where, f"thiếu khóa bắt buộc '{key}'.")
        return data

    def strings(self, value: list[Any], where: str) -> tuple[str, ...]:
        if not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(where, "phải là danh sách chuỗi.")
        return tuple(v.strip() for v in value)

    def resolve_path(self, value: str) -> Path:
        p = Path(os.path.expanduser(value))
        return p if p.is_absolute() else (self.path.parent / p)


_TYPE_VI = {str: "chuỗi", int: "số nguyên", bool: "true/false", dict: "bảng", list: "danh sách"}


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
            path=r.resolve_path(u["path"]) if "path" in u else None,
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
    google = r.table(data.get("google") or {}, _GOOGLE, "google")
    if not 1 <= google.get("workers", 1) <= 16:
        raise r.fail("google.workers",
                     "cần một số nguyên từ 1 đến 16 (số đơn vị đọc/ghi cùng lúc).")
    rollup = r.table(data.get("rollup") or {}, _ROLLUP, "rollup")
    writeback = r.table(data.get("writeback") or {}, _WRITEBACK, "writeback")
    history = r.table(data.get("history") or {}, _HISTORY, "history")
    credentials = google.get("credentials") or os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")

    return Config(
        path=path,
        parent_name=parent["name"].strip(),
        units=tuple(units),
        supervisors=tuple(supervisors),
        labels=MappingProxyType(labels),
        rules=parent_rules,
        accepted=tuple(accepted),
        state_dir=r.resolve_path(state.get("dir", "state")),
        out_dir=r.resolve_path(output.get("dir", "out")),
        drive_file_id=output.get("drive_file_id"),
        google=GoogleConfig(
            credentials=r.resolve_path(credentials) if credentials else None,
            **{k: v for k, v in google.items() if k != "credentials"},
        ),
        show_member_names=rollup.get("show_member_names", False),
        backup_keep=writeback.get("backup_keep", 5),
        history_retention_days=history.get("retention_days", 800),
    )


def load_config(path: str | os.PathLike[str]) -> Config:
    path = Path(path).resolve()
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"Không tìm thấy tệp cấu hình {path}.") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"Tệp cấu hình {path} không đúng cú pháp TOML: {e}") from None
    return parse_config(data, path)


def parse_as_of(value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"Ngày --as-of không hợp lệ: '{value}' (cần dạng YYYY-MM-DD).") from None

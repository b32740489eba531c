"""The demo district's config.toml."""
from __future__ import annotations

from pathlib import Path

from .district import PARENT_NAME, SUPERVISORS, WINDOW_END, Unit


def _toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_config(path: Path, units: list[Unit], year: int, accepted: dict | None) -> None:
    lines = [
        "# Cấu hình mẫu: Đảng bộ huyện Lý Nhân (dữ liệu demo do sheets_sync.demo tạo).",
        "# Đường dẫn tương đối tính từ thư mục chứa tệp này.",
        "",
        "[parent]",
        f"name = {_toml_str(PARENT_NAME)}",
        "",
        "[labels]",
        'parent = "Huyện ủy"',
        'unit = "Đảng ủy xã, thị trấn"',
        'cell = "Chi bộ"',
        "",
        "[rules]",
        "# Giữ các mức mặc định của rules.md; muốn đổi thì bỏ dấu # ở dòng tương ứng, ví dụ:",
        "# window_end_day = 7          # sinh hoạt thường kỳ từ ngày 1 đến ngày 7",
        "# preferred_day = 3           # ngày ưu tiên; false = không kiểm tra ngày ưu tiên",
        "# min_attendance_rate = 0.85  # tỷ lệ dự phải TRÊN mức này",
        "# brief_deadline_inclusive = false",
        "report_grace_days = 5",
        "",
    ]
    for u in units:
        lines += ["[[units]]", f"code = {_toml_str(u.code)}", f"name = {_toml_str(u.name)}",
                  f"path = {_toml_str(f'data/{u.slug}.xlsx')}"]
        if u.code in WINDOW_END:
            lines.append(f"rules = {{ window_end_day = {WINDOW_END[u.code]} }}"
                         "  # thị trấn: sinh hoạt từ ngày 1 đến ngày 10")
        lines.append("")
    for name, role, codes, aliases in SUPERVISORS:
        lines += ["[[supervisors]]", f"name = {_toml_str(name)}", f"role = {_toml_str(role)}",
                  "units = [" + ", ".join(_toml_str(c) for c in codes) + "]"]
        if aliases:
            lines.append("aliases = [" + ", ".join(_toml_str(a) for a in aliases) + "]")
        lines.append("")
    if accepted:
        lines += ["# Giải trình đã được Ban Tổ chức Huyện ủy xem xét và chấp nhận.", "[[accepted]]"]
        for k in ("unit", "rule", "cell", "period", "note"):
            lines.append(f"{k} = {_toml_str(accepted[k])}")
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")

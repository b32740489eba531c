"""What applying the template to a unit's workbook adds, whatever holds it (a Google
spreadsheet: ``provision``; an .xlsx file: ``provision_local``) — kept apart from ``provision``
so that local units never load the Google libraries."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ..core.grid import find_sheets
from ..core.raw import RawSheet, RawWorkbook
from ..core.template import Column, Tab, Template
from ..core.text import closest, normalize


@dataclass
class ApplyResult:
    """What ``apply_template`` did (or, with ``dry_run``, would do), in Vietnamese."""

    unit: str
    spreadsheet: str
    dry_run: bool
    actions: list[str] = field(default_factory=list)  # what was (would be) added or set
    warnings: list[str] = field(default_factory=list)  # what could not be done, and why
    requests: list[dict] = field(default_factory=list)  # the structural batchUpdate requests
    data: list[dict] = field(default_factory=list)  # the values:batchUpdate ranges (RAW)
    reads: int = 0
    writes: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.requests or self.data)

    def describe(self) -> str:
        """A Vietnamese report a person can read."""
        if not self.changed:
            head = f"{self.unit}: bảng tính đã khớp mẫu, không cần thay đổi."
        elif self.dry_run:
            head = f"{self.unit}: chạy thử — sẽ thực hiện (chưa ghi gì):"
        else:
            head = f"{self.unit}: đã áp dụng mẫu:"
        lines = [head]
        lines += [f"  • {a}" for a in self.actions]
        lines += [f"  ⚠ {w}" for w in self.warnings]
        return "\n".join(lines) + "\n"


def template_tabs(template: Template, raw: RawWorkbook, warnings: list[str],
                  titles: list[str] | None = None) -> list[tuple[Tab, RawSheet | None]]:
    """Each template tab with its sheet, or None when the tab is to be added. A missing tab whose
    name is close to a sheet already there (a typo, missing diacritics) is not added: a warning
    asks to rename that sheet instead. ``titles``: every sheet of the spreadsheet (default: the
    sheets read)."""
    found = find_sheets(template, raw)
    tool_titles = {normalize(template.guide_tab), normalize(template.check_tab)}
    taken = {s.title for s in found.values()}
    free_titles = [t for t in (titles if titles is not None else [s.title for s in raw.sheets])
                   if t not in taken and normalize(t) not in tool_titles]
    out: list[tuple[Tab, RawSheet | None]] = []
    for tab in template.tabs:
        sheet = found.get(tab.id)
        hint = closest(tab.name, free_titles) if sheet is None else None
        if hint:
            warnings.append(
                f"Không thêm tab \"{tab.name}\" vì đã có tab \"{hint}\" gần giống tên — hãy "
                f"đổi tên tab đó thành \"{tab.name}\" (nếu đúng là nó) rồi chạy lại.")
            continue
        out.append((tab, sheet))
    return out


def missing_columns(template: Template, tab: Tab, title: str, col_index: dict[str, int],
                    extra: Iterable[str], warnings: list[str]) -> list[Column]:
    """The template columns a tab lacks. A column whose header is close to one already there
    (a typo, missing diacritics) is not added: a warning asks to fix that header instead."""
    tool_norm = {normalize(h) for h in template.tool_headers}
    unknown = [h for h in extra if normalize(h) not in tool_norm]
    missing: list[Column] = []
    for col in tab.columns:
        if col.id in col_index:
            continue
        hint = closest(col.header, unknown)
        if hint:
            warnings.append(
                f"Tab \"{title}\": không thêm cột \"{col.header}\" vì đã có cột \"{hint}\" "
                f"gần giống — hãy sửa tiêu đề cột đó thành \"{col.header}\" (nếu đúng là nó) "
                f"rồi chạy lại.")
            continue
        missing.append(col)
    return missing

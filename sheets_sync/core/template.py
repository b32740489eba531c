"""The unit spreadsheet template, loaded from ``templates/commune.toml``.

The TOML file is the single source of truth for tab names, headers, value types, requirement
flags, choices and key columns. Code refers to tabs and columns by their stable ``id``.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from .values import Choice, ChoiceSet

# templates/ at the top of the repository is the package sheets_sync.templates (pyproject
# package-dir), installed as package data; always a plain directory (no zipped installs).
TEMPLATE_DIR = Path(str(files("sheets_sync.templates")))
DEFAULT_TEMPLATE = TEMPLATE_DIR / "commune.toml"

# Conditional requirement names allowed in the template (see the TOML header comment).
CONDITIONS = frozenset({"regular", "thematic", "regular_without_times"})


@dataclass(frozen=True)
class Column:
    id: str
    header: str
    kind: str
    required: bool | str = False
    missing_rule: str | None = None
    past: bool = False
    min: float | None = None
    max: float | None = None
    choices: ChoiceSet | None = None
    blank: str | None = None
    column_optional_if: tuple[str, ...] = ()
    width: int = 12
    input: str | None = None

    @property
    def choice_labels(self) -> list[str]:
        return self.choices.labels if self.choices else []

    def label_of(self, choice_id: str | None) -> str | None:
        """The Vietnamese label of a parsed choice id."""
        if choice_id is None or self.choices is None:
            return None
        return self.choices.label_of(choice_id)


@dataclass(frozen=True)
class Tab:
    id: str
    name: str
    required: bool
    columns: tuple[Column, ...]
    keys: tuple[str, ...]
    period: str | None = None
    description: str = ""
    by_id: dict[str, Column] = field(default_factory=dict, compare=False, repr=False)

    def column(self, col_id: str) -> Column:
        return self.by_id[col_id]

    @property
    def first_required(self) -> Column:
        """The header used to locate the header row (template.md)."""
        return next(c for c in self.columns if c.required is True)

    def key_columns(self) -> list[str]:
        """Key column ids, with "a|b" alternatives flattened (a preferred, b fallback)."""
        out: list[str] = []
        for key in self.keys:
            out.extend(key.split("|"))
        return out


@dataclass(frozen=True)
class Template:
    tabs: tuple[Tab, ...]
    status_header: str
    details_header: str
    check_tab: str
    guide_tab: str
    status_labels: dict[str, str]
    guide_title: str
    guide_lines: tuple[str, ...]
    path: Path

    def tab(self, tab_id: str) -> Tab:
        for t in self.tabs:
            if t.id == tab_id:
                return t
        raise KeyError(tab_id)

    @property
    def tool_headers(self) -> tuple[str, str]:
        return (self.status_header, self.details_header)


def _column(raw: dict[str, Any], choice_sets: dict[str, ChoiceSet], where: str) -> Column:
    required = raw.get("required", False)
    if isinstance(required, str) and required not in CONDITIONS:
        raise ValueError(f"{where}: unknown requirement condition {required!r}")
    choices = None
    if raw["type"] == "choice":
        choices = choice_sets[raw["choices"]]
    return Column(
        id=raw["id"],
        header=raw["header"],
        kind=raw["type"],
        required=required,
        missing_rule=raw.get("missing_rule"),
        past=raw.get("past", False),
        min=raw.get("min"),
        max=raw.get("max"),
        choices=choices,
        blank=raw.get("blank"),
        column_optional_if=tuple(raw.get("column_optional_if", ())),
        width=raw.get("width", 12),
        input=raw.get("input"),
    )


def parse_template(data: dict[str, Any], path: Path) -> Template:
    choice_sets = {
        name: ChoiceSet([Choice(c["id"], c["label"], tuple(c.get("aliases", ()))) for c in items])
        for name, items in data["choice_sets"].items()
    }
    tabs = []
    for t in data["tabs"]:
        cols = tuple(_column(c, choice_sets, f"{path}: {t['name']}") for c in t["columns"])
        tab = Tab(
            id=t["id"],
            name=t["name"],
            required=t.get("required", False),
            columns=cols,
            keys=tuple(t.get("keys", ())),
            period=t.get("period"),
            description=t.get("description", ""),
            by_id={c.id: c for c in cols},
        )
        tabs.append(tab)
    return Template(
        tabs=tuple(tabs),
        status_header=data["tool_status_header"],
        details_header=data["tool_details_header"],
        check_tab=data["check_tab"],
        guide_tab=data["guide_tab"],
        status_labels=dict(data["status_labels"]),
        guide_title=data["guide"]["title"],
        guide_lines=tuple(data["guide"]["lines"]),
        path=path,
    )


@cache
def load_template(path: Path = DEFAULT_TEMPLATE) -> Template:
    with open(path, "rb") as fh:
        return parse_template(tomllib.load(fh), Path(path))

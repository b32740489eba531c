"""The product wheel's package list (pyproject [tool.setuptools] packages) names every package of
sheets_sync, the template ships as package data, and the development tools stay out of it."""
from __future__ import annotations

import tomllib
from pathlib import Path

from sheets_sync.core.template import DEFAULT_TEMPLATE, load_template

ROOT = Path(__file__).resolve().parents[1]


def _declared() -> set[str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return set(data["tool"]["setuptools"]["packages"])


def test_every_package_is_declared_and_no_tool_is():
    found = {".".join(p.parent.relative_to(ROOT).parts)
             for p in (ROOT / "sheets_sync").rglob("__init__.py")}
    declared = _declared()
    assert found | {"sheets_sync.templates"} == declared
    assert not any(name.startswith(("sheets_sync_emulator", "sheets_sync_demo"))
                   for name in declared)


def test_template_is_read_as_package_data():
    assert DEFAULT_TEMPLATE.name == "commune.toml" and DEFAULT_TEMPLATE.is_file()
    assert DEFAULT_TEMPLATE.resolve() == (ROOT / "templates" / "commune.toml").resolve()
    assert load_template().tabs

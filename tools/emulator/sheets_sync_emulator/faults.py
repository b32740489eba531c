"""Injected faults and request hooks, both selected by a :class:`Matcher`."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .routes import RequestInfo

Hook = Callable[[Any, RequestInfo], None]


@dataclass
class Matcher:
    """Selects API requests; every given criterion must match (None = any)."""

    method: str | None = None
    path_regex: str | None = None  # searched in the raw path
    spreadsheet_id: str | None = None  # spreadsheet or Drive file id
    kind: str | None = None  # "read" | "write" | "drive" | "token"

    def matches(self, info: RequestInfo) -> bool:
        return ((self.method is None or self.method.upper() == info.method)
                and (self.path_regex is None or re.search(self.path_regex, info.path) is not None)
                and (self.spreadsheet_id is None or self.spreadsheet_id == info.spreadsheet_id)
                and (self.kind is None or self.kind == info.kind))


@dataclass
class Fault:
    matcher: Matcher
    status: int | None = 503  # None: answer normally (after delay_s)
    times: int | None = 1  # None: every matching request
    retry_after: float | None = None
    delay_s: float = 0.0
    body: dict | str | None = None
    apply_first: bool = False
    id: int = 0


@dataclass
class _Hook:
    hook: Hook
    matcher: Matcher
    after: int
    seen: int = 0
    id: int = 0


@dataclass
class Injector:
    faults: list[Fault] = field(default_factory=list)
    hooks: list[_Hook] = field(default_factory=list)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def clear(self) -> None:
        self.faults.clear()
        self.hooks.clear()

    def add_fault(self, fault: Fault) -> int:
        fault.id = next(self._ids)
        self.faults.append(fault)
        return fault.id

    def take_fault(self, info: RequestInfo) -> Fault | None:
        """The first fault matching this request, using up one of its ``times``."""
        for fault in self.faults:
            if fault.matcher.matches(info):
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                return fault
        return None

    def add_hook(self, hook: Hook, after: int, matcher: Matcher) -> int:
        entry = _Hook(hook, matcher, after, id=next(self._ids))
        self.hooks.append(entry)
        return entry.id

    def due_hooks(self, info: RequestInfo) -> list[Hook]:
        """Hooks whose ``after``-th matching request this is (each fires once)."""
        due = []
        for entry in list(self.hooks):
            if entry.matcher.matches(info):
                entry.seen += 1
                if entry.seen == entry.after:
                    self.hooks.remove(entry)
                    due.append(entry.hook)
        return due

"""The subset of Drive's ``q`` search language used by gspread and sheets-sync.

``mimeType = '...'``, ``name = "..."`` / ``name contains '...'``, ``'X' in parents`` and
gspread's ``parents in "X"``, ``trashed = false``, ``modifiedTime > '2024-01-01T00:00:00'``,
combined with ``and``, ``or``, ``not`` and parentheses. Strings use ``'`` or ``"``
with backslash escapes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Predicate = Callable[[dict], bool]

_TOKEN = re.compile(r"""\s*(?:
    (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<op>!=|<=|>=|=|<|>|\(|\))
  | (?P<word>[A-Za-z_][\w.]*)
)""", re.X)
_FIELDS = {"name", "mimeType", "trashed", "parents", "modifiedTime", "createdTime"}


class QuerySyntaxError(ValueError):
    pass


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos, text = [], 0, text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise QuerySyntaxError(text)
        value = m.group(m.lastgroup)
        if m.lastgroup == "str":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        out.append((m.lastgroup, value))
        pos = m.end()
    return out


def _compare(field: str, op: str, value: Any) -> Predicate:
    if field not in _FIELDS or field == "parents":
        raise QuerySyntaxError(field)
    ops: dict[str, Callable[[Any, Any], bool]] = {
        "=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
        "contains": lambda a, b: str(b).lower() in str(a).lower(),
    }
    return lambda f: ops[op](f.get(field), value)


def parse(text: str) -> Predicate:
    tokens = _tokens(text)
    pos = 0

    def peek(kind: str | None = None, value: str | None = None) -> bool:
        if pos >= len(tokens):
            return False
        k, v = tokens[pos]
        return (kind is None or k == kind) and (value is None or v.lower() == value)

    def take() -> tuple[str, str]:
        nonlocal pos
        if pos >= len(tokens):
            raise QuerySyntaxError(text)
        pos += 1
        return tokens[pos - 1]

    def value() -> Any:
        kind, v = take()
        if kind == "str":
            return v
        if kind == "word" and v.lower() in ("true", "false"):
            return v.lower() == "true"
        raise QuerySyntaxError(text)

    def condition() -> Predicate:
        if peek("op", "("):
            take()
            inner = expression()
            if take()[1] != ")":
                raise QuerySyntaxError(text)
            return inner
        if peek("word", "not"):
            take()
            inner = condition()
            return lambda f: not inner(f)
        kind, first = take()
        if kind == "str":  # 'X' in parents
            if take()[1].lower() != "in" or take()[1] != "parents":
                raise QuerySyntaxError(text)
            return lambda f: first in f["parents"]
        if first == "parents" and peek("word", "in"):  # gspread: parents in "X"
            take()
            folder = value()
            return lambda f: folder in f["parents"]
        op = take()[1]
        if op.lower() == "contains":
            op = "contains"
        return _compare(first, op, value())

    def conjunction() -> Predicate:
        parts = [condition()]
        while peek("word", "and"):
            take()
            parts.append(condition())
        return lambda f: all(p(f) for p in parts)

    def expression() -> Predicate:
        parts = [conjunction()]
        while peek("word", "or"):
            take()
            parts.append(conjunction())
        return lambda f: any(p(f) for p in parts)

    predicate = expression()
    if pos != len(tokens):
        raise QuerySyntaxError(text)
    return predicate

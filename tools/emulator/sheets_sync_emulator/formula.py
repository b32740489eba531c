"""A small formula evaluator for USER_ENTERED ``=...`` cells.

Enough of Sheets' language for typed sheets: numbers, strings, TRUE/FALSE, ``+ - * / ^ & %``,
comparisons, parentheses, cell and range references (``A1``, ``$B$2``, ``'Other tab'!A1:B5``)
and SUM, AVERAGE, MIN, MAX, COUNT, COUNTA, IF, AND, OR, NOT, ROUND, ABS, LEN, CONCATENATE,
HYPERLINK. Arguments are separated by ``,`` or ``;`` (the separator of comma-decimal locales
such as vi_VN, which Sheets also takes in other locales). Anything else evaluates to an error
value (``#NAME?``, ``#ERROR!``...), as Sheets shows it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from . import a1

_TOKEN = re.compile(r"""\s*(?:
    (?P<num>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<str>"(?:[^"]|"")*")
  | (?P<ref>(?:(?:'(?:[^']|'')+'|[^\W\d][\w.]*)!)?\$?[A-Za-z]{1,3}\$?\d+
            (?::\$?[A-Za-z]{1,3}\$?\d+)?)(?![\w(])
  | (?P<name>[^\W\d][\w.]*)
  | (?P<op><>|<=|>=|[-+*/^&=<>(),;%])
)""", re.X)

_MAX_DEPTH = 64


class ErrorValue:
    """A Sheets error value such as ``#DIV/0!``; renders as its code."""

    __slots__ = ("code",)

    def __init__(self, code: str):
        self.code = code

    def __str__(self) -> str:
        return self.code

    def __repr__(self) -> str:
        return f"ErrorValue({self.code!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ErrorValue) and other.code == self.code

    def __hash__(self) -> int:
        return hash(self.code)


class Linked(str):
    """The value of a ``HYPERLINK(url; label)`` cell: its label (the cell's effective value)
    carrying the link (``CellData.hyperlink``)."""

    __slots__ = ("uri",)

    def __new__(cls, label: str, uri: str) -> Linked:
        value = super().__new__(cls, label)
        value.uri = uri
        return value


# Link types HYPERLINK keeps as given (Google's HYPERLINK help: any other url without a
# protocol gets "http://" prepended); "#" = a place in this spreadsheet (``#gid=<sheetId>``).
_LINK_PREFIXES = ("http://", "https://", "mailto:", "aim:", "ftp://", "gopher://", "telnet://",
                  "news://", "#")


def _hyperlink(args: list) -> Linked:
    """HYPERLINK(url, [link_label]): the label (the url when absent) shown, linked to url."""
    if not 1 <= len(args) <= 2:
        raise _Fail("#N/A")
    for arg in args:
        if isinstance(arg, ErrorValue):
            raise _Fail(arg.code)
    url = _text(args[0])
    uri = url if url.lower().startswith(_LINK_PREFIXES) else "http://" + url
    return Linked(_text(args[1]) if len(args) == 2 else url, uri)


class _Fail(Exception):
    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


class _Range(list):
    """Values of a referenced range (only meaningful as a function argument)."""


def _number(value: Any) -> float:
    if isinstance(value, _Range):
        if len(value) != 1:
            raise _Fail("#VALUE!")
        value = value[0]
    if isinstance(value, ErrorValue):
        raise _Fail(value.code)
    if value is None:
        return 0
    if isinstance(value, bool):
        return 1 if value else 0
    if isinstance(value, (int, float)):
        return value
    try:
        return float(value)
    except ValueError:
        raise _Fail("#VALUE!") from None


def _text(value: Any) -> str:
    if isinstance(value, _Range):
        value = value[0] if len(value) == 1 else _fail("#VALUE!")
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _fail(code: str) -> Any:
    raise _Fail(code)


def _flat_numbers(args: list) -> list[float]:
    numbers = []
    for arg in args:
        if isinstance(arg, _Range):
            numbers += [v for v in arg if isinstance(v, (int, float)) and not isinstance(v, bool)]
            for v in arg:
                if isinstance(v, ErrorValue):
                    raise _Fail(v.code)
        else:
            numbers.append(_number(arg))
    return numbers


def _flat(args: list) -> list:
    return [v for arg in args for v in (arg if isinstance(arg, _Range) else [arg])]


def _average(args: list) -> float:
    numbers = _flat_numbers(args)
    return sum(numbers) / len(numbers) if numbers else _fail("#DIV/0!")


def _if(args: list) -> Any:
    if not 2 <= len(args) <= 3:
        raise _Fail("#N/A")
    return args[1] if _number(args[0]) else (args[2] if len(args) == 3 else False)


def _round(args: list) -> float:
    digits = int(_number(args[1])) if len(args) > 1 else 0
    value = _number(args[0])
    shifted = abs(value) * 10 ** digits
    rounded = int(shifted + 0.5) / 10 ** digits  # half away from zero, like Sheets
    return rounded if value >= 0 else -rounded


_FUNCTIONS: dict[str, Callable[[list], Any]] = {
    "SUM": lambda a: sum(_flat_numbers(a)),
    "AVERAGE": _average,
    "MIN": lambda a: min(_flat_numbers(a), default=0),
    "MAX": lambda a: max(_flat_numbers(a), default=0),
    "COUNT": lambda a: len([v for v in _flat(a) if isinstance(v, (int, float))
                            and not isinstance(v, bool)]),
    "COUNTA": lambda a: len([v for v in _flat(a) if v not in (None, "")]),
    "IF": _if,
    "AND": lambda a: all(_number(v) for v in _flat(a)),
    "OR": lambda a: any(_number(v) for v in _flat(a)),
    "NOT": lambda a: not _number(a[0]),
    "ROUND": _round,
    "ABS": lambda a: abs(_number(a[0])),
    "LEN": lambda a: len(_text(a[0])),
    "CONCATENATE": lambda a: "".join(_text(v) for v in _flat(a)),
    "HYPERLINK": _hyperlink,
}


class Evaluator:
    """Effective values of one spreadsheet's cells, evaluating formulas on demand.

    ``spreadsheet`` needs ``sheet_by_title(title)``; sheets need ``cell(row, col)``
    and ``sheet_id``. Results are memoised for the life of the evaluator (one request).
    """

    def __init__(self, spreadsheet: Any):
        self._spreadsheet = spreadsheet
        self._cache: dict[tuple[int, int, int], Any] = {}
        self._active: set[tuple[int, int, int]] = set()

    def value(self, sheet: Any, row: int, col: int) -> Any:
        cell = sheet.cell(row, col)
        if cell is None or cell.value is None:
            return None
        if not cell.formula:
            return cell.value
        key = (sheet.sheet_id, row, col)
        if key not in self._cache:
            if key in self._active or len(self._active) >= _MAX_DEPTH:
                return ErrorValue("#REF!")
            self._active.add(key)
            try:
                self._cache[key] = _Parser(cell.value[1:], self, sheet).run()
            finally:
                self._active.discard(key)
        return self._cache[key]

    def reference(self, sheet: Any, text: str) -> _Range:
        title, cells = a1.split_sheet(text)
        target = sheet if title is None else self._spreadsheet.sheet_by_title(title)
        if target is None:
            raise _Fail("#REF!")
        bounds = a1.parse_cells(cells)
        return _Range(self.value(target, r, c)
                      for r in range(bounds.row0, bounds.row1)
                      for c in range(bounds.col0, bounds.col1))


class _Parser:
    def __init__(self, text: str, evaluator: Evaluator, sheet: Any):
        self.tokens: list[tuple[str, str]] = []
        pos, text = 0, text.rstrip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m:
                raise _Fail("#ERROR!")
            self.tokens.append((m.lastgroup, m.group(m.lastgroup)))
            pos = m.end()
        self.pos = 0
        self.evaluator = evaluator
        self.sheet = sheet

    def run(self) -> Any:
        try:
            value = self.comparison()
            if self.pos != len(self.tokens):
                raise _Fail("#ERROR!")
            if isinstance(value, _Range):
                value = value[0] if len(value) == 1 else _fail("#VALUE!")
            return "" if value is None else value
        except _Fail as failure:
            return ErrorValue(failure.code)
        except (ZeroDivisionError, OverflowError):
            return ErrorValue("#DIV/0!")
        except (a1.RangeSyntaxError, IndexError, TypeError):
            return ErrorValue("#ERROR!")

    def peek(self) -> str | None:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise _Fail("#ERROR!")
        self.pos += 1
        return self.tokens[self.pos - 1]

    def comparison(self) -> Any:
        left = self.concat()
        while self.peek() in ("=", "<>", "<", ">", "<=", ">="):
            op, right = self.take()[1], self.concat()
            a, b = (_number(left), _number(right)) if not (
                isinstance(left, str) or isinstance(right, str)) else (_text(left), _text(right))
            left = {"=": a == b, "<>": a != b, "<": a < b, ">": a > b,
                    "<=": a <= b, ">=": a >= b}[op]
        return left

    def concat(self) -> Any:
        left = self.additive()
        while self.peek() == "&":
            self.take()
            left = _text(left) + _text(self.additive())
        return left

    def additive(self) -> Any:
        left = self.term()
        while self.peek() in ("+", "-"):
            op, right = self.take()[1], self.term()
            left = _number(left) + _number(right) if op == "+" else _number(left) - _number(right)
        return left

    def term(self) -> Any:
        left = self.power()
        while self.peek() in ("*", "/"):
            op, right = self.take()[1], self.power()
            if op == "*":
                left = _number(left) * _number(right)
            else:
                divisor = _number(right)
                left = _number(left) / divisor if divisor else _fail("#DIV/0!")
        return left

    def power(self) -> Any:
        left = self.unary()
        while self.peek() == "^":
            self.take()
            left = _number(left) ** _number(self.unary())
        return left

    def unary(self) -> Any:
        if self.peek() in ("+", "-"):
            sign = self.take()[1]
            value = _number(self.unary())
            return -value if sign == "-" else value
        value = self.primary()
        while self.peek() == "%":
            self.take()
            value = _number(value) / 100
        return value

    def primary(self) -> Any:
        kind, text = self.take()
        if kind == "num":
            return float(text) if any(ch in text for ch in ".eE") else int(text)
        if kind == "str":
            return text[1:-1].replace('""', '"')
        if kind == "ref":
            return self.evaluator.reference(self.sheet, text)
        if kind == "name":
            if self.peek() == "(":
                return self.call(text.upper())
            if text.upper() in ("TRUE", "FALSE"):
                return text.upper() == "TRUE"
            raise _Fail("#NAME?")
        if text == "(":
            value = self.comparison()
            if self.take()[1] != ")":
                raise _Fail("#ERROR!")
            return value
        raise _Fail("#ERROR!")

    def call(self, name: str) -> Any:
        self.take()  # "("
        args: list = []
        if self.peek() != ")":
            args.append(self.comparison())
            while self.peek() in (",", ";"):
                self.take()
                args.append(self.comparison())
        if self.take()[1] != ")":
            raise _Fail("#ERROR!")
        function = _FUNCTIONS.get(name)
        if function is None:
            raise _Fail("#NAME?")
        return function(args)

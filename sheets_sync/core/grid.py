"""Header location and typed rows, the same for every backend.

``parse_unit`` turns a ``RawWorkbook`` into a ``UnitData``: for every template tab found, the
sheet row numbers of the non-empty data rows and, per column id, the parsed values (column
lists, cheap to scan), plus the TPL-* and cell-level DATA-* findings of reading.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from itertools import compress, repeat, zip_longest
from operator import is_, itemgetter, not_
from typing import Any

from . import heap
from .a1 import col_letter
from .findings import ERROR, WARNING, Finding
from .raw import RawSheet, RawWorkbook
from .template import Column, Tab, Template
from .text import closest, fold, normalize
from .values import display_raw, format_value, is_date_cell, is_empty, parse

HEADER_SEARCH_ROWS = 5
REGULAR_TYPES = frozenset({"regular", "combined"})
THEMATIC_TYPES = frozenset({"thematic", "combined"})


@dataclass
class TabData:
    """One tab as read: typed columns over the non-empty data rows."""

    unit: str
    tab: Tab
    title: str | None  # the sheet title as found
    header_row: int | None  # sheet row number of the header (1-based)
    col_index: dict[str, int]  # column id -> 0-based sheet column index
    extra_headers: dict[str, int]  # headers not in the template (tool columns included)
    rows: list[int] = field(default_factory=list)  # sheet row numbers
    values: dict[str, list[Any]] = field(default_factory=dict)  # parsed (None = empty/invalid)
    # as read; the same list as ``values`` when every value was read as it is: never changed
    raw: dict[str, list[Any]] = field(default_factory=dict)
    invalid: dict[str, set[int]] = field(default_factory=dict)  # column id -> row indexes, if any
    # results derived once and shared by several rules (rules.base), never mutated
    memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def has(self, col_id: str) -> bool:
        return col_id in self.col_index

    def col(self, col_id: str) -> list[Any]:
        """Parsed values of a column; all None when the column is absent."""
        got = self.values.get(col_id)
        return got if got is not None else [None] * len(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def is_empty(self, col_id: str, i: int) -> bool:
        return col_id not in self.raw or is_empty(self.raw[col_id][i])

    def cell_code(self, i: int) -> str | None:
        return self.values["cell_code"][i] if "cell_code" in self.values else None

    def explained(self, i: int) -> bool:
        return "explanation" in self.values and self.values["explanation"][i] is not None

    def period(self, i: int) -> str | None:
        """The period a row belongs to (rules.md "Finding fields")."""
        p = self.tab.period
        if p is None or p not in self.values:
            return None
        v = self.values[p][i]
        if v is None:
            return None
        if self.tab.column(p).kind == "date":
            return f"{v.year:04d}-{v.month:02d}"
        return str(v)

    def display(self, col_id: str, i: int) -> str:
        v = self.values.get(col_id, [None] * len(self.rows))[i]
        return "" if v is None else display_value(self.tab.column(col_id), v)

    def finding(self, i: int, rule: str, severity: str, message: str,
                period: str | None = None) -> Finding:
        """A finding on data row ``i`` (row number, cell, period and explanation filled in)."""
        values = self.values
        codes, explanations = values.get("cell_code"), values.get("explanation")
        return Finding(  # positional: hundreds of thousands at national size
            self.unit, self.tab.name, self.rows[i], codes[i] if codes is not None else None,
            period if period is not None else self.period(i), rule, severity, message,
            explanations is not None and explanations[i] is not None,
        )

    def meeting_types(self) -> list[str | None]:
        """Meeting type per row, blank = regular; an unreadable type counts as regular.
        Computed once while ``memo`` is kept (parsing and the unit's rules); read-only."""
        types: list[str | None] | None = self.memo.get("meeting_types")
        if types is not None:
            return types
        column = self.tab.by_id.get("meeting_type")
        if column is None or "meeting_type" not in self.values:
            types = ["regular"] * len(self.rows)
        else:
            values = self.values["meeting_type"]
            types = list(map({None: column.blank}.get, values, values))  # v, or the blank
        self.memo["meeting_types"] = types
        return types


def display_value(column: Column, value: Any) -> str:
    """How a parsed value (not None) is shown: a choice's label, else the formatted value."""
    if column.kind == "choice":
        return column.label_of(value) or str(value)
    return format_value(column.kind, value)


@dataclass
class UnitData:
    code: str
    name: str
    tabs: dict[str, TabData] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    missing_tabs: set[str] = field(default_factory=set)  # template tab ids not found
    key_index: Any = field(default=None, repr=False, compare=False)  # store.index_unit's, cached

    def tab(self, tab_id: str) -> TabData | None:
        return self.tabs.get(tab_id)


# --- locating tabs and headers ---------------------------------------------------------------

def match_name(name: str, candidates: dict[str, str]) -> str | None:
    """candidates: normalised name -> value. Exact normalised match first, then folded."""
    n = normalize(name)
    if n in candidates:
        return candidates[n]
    f = fold(name)
    hits = {v for k, v in candidates.items() if fold(k) == f}
    return hits.pop() if len(hits) == 1 else None


def find_sheets(template: Template, raw: RawWorkbook) -> dict[str, RawSheet]:
    by_name = {normalize(t.name): t.id for t in template.tabs}
    found: dict[str, RawSheet] = {}
    for sheet in raw.sheets:
        tab_id = match_name(sheet.title, by_name)
        if tab_id and tab_id not in found:
            found[tab_id] = sheet
    return found


def locate_header_row(tab: Tab, sheet: RawSheet) -> int | None:
    """0-based index of the header row among the first rows, or None."""
    first = tab.first_required.header
    target, target_f = normalize(first), fold(first)
    for r, row in enumerate(sheet.rows[:HEADER_SEARCH_ROWS]):
        for v in row:
            if isinstance(v, str) and (normalize(v) == target or fold(v) == target_f):
                return r
    return None


def _required_column(tab: Tab, column: Column, present: set[str]) -> bool:
    if column.required is False:
        return False
    if column.column_optional_if and all(c in present for c in column.column_optional_if):
        return False
    return True


def locate_columns(unit: str, template: Template, tab: Tab, sheet: RawSheet,
                    header_r: int | None, findings: list[Finding]
                   ) -> tuple[dict[str, int], dict[str, int]]:
    col_index: dict[str, int] = {}
    extra: dict[str, int] = {}
    if header_r is not None:
        by_header = {normalize(c.header): c.id for c in tab.columns}
        tool = {normalize(h) for h in template.tool_headers}
        for ci, v in enumerate(sheet.rows[header_r]):
            if is_empty(v):
                continue
            text = str(v)
            col_id = None if normalize(text) in tool else match_name(text, by_header)
            if col_id is None:
                extra.setdefault(text.strip(), ci)
            elif col_id in col_index:
                findings.append(Finding(
                    unit, tab.name, None, None, None, "TPL-COLUMN-DUPLICATE", ERROR,
                    f"Cột \"{tab.column(col_id).header}\" xuất hiện hai lần (cột "
                    f"{col_letter(col_index[col_id])} và {col_letter(ci)}); dùng cột "
                    f"{col_letter(col_index[col_id])}.",
                ))
            else:
                col_index[col_id] = ci
    present = set(col_index)
    tool_norm = {normalize(h) for h in template.tool_headers}
    unknown = [h for h in extra if normalize(h) not in tool_norm]
    for column in tab.columns:
        if column.id in present or not _required_column(tab, column, present):
            continue
        hint = closest(column.header, unknown)
        msg = f"Thiếu cột bắt buộc \"{column.header}\""
        msg += f" (có cột \"{hint}\" — có phải là \"{column.header}\"?)." if hint else "."
        findings.append(Finding(unit, tab.name, None, None, None, "TPL-COLUMN-MISSING", ERROR, msg))
    return col_index, extra


# --- typed rows --------------------------------------------------------------------------------

def _read_tab(unit: str, template: Template, tab: Tab, sheet: RawSheet, as_of: date,
              findings: list[Finding]) -> TabData:
    header_r = locate_header_row(tab, sheet)
    col_index, extra = locate_columns(unit, template, tab, sheet, header_r, findings)
    data = TabData(unit, tab, sheet.title, None if header_r is None else header_r + 1,
                   col_index, extra)
    if header_r is None:
        return data
    # Batched, column by column: the data rows are transposed once (C-level zip), emptiness is
    # decided once per distinct value of a column, and each distinct value is parsed once.
    columns, keep = _transpose(sheet.rows[header_r + 1:], list(col_index.values()))
    data.rows = [header_r + 2 + i for i in keep]
    pick = _picker(keep, len(sheet.rows) - header_r - 1)
    unreadable: list[tuple[int, str]] = []  # (row index, message): reported once all is read
    for col_id, ci in col_index.items():
        column = tab.column(col_id)
        raws = pick(columns[ci])
        parsed, bad = _parse_column(column, raws)
        if parsed is not raws and all(map(is_, parsed, raws)):  # every value read as it is:
            parsed = raws  # one list for both (``_check_swaps`` copies before changing one)
        data.raw[col_id] = raws
        data.values[col_id] = parsed
        if bad:
            data.invalid[col_id] = set(bad)
        unreadable += ((i, f"Cột \"{column.header}\": giá trị \"{display_raw(raws[i])}\" {reason}.")
                       for i, reason in bad.items())
    # after every column is read: a row's period is known whatever the order of the columns
    for i, message in unreadable:
        findings.append(data.finding(i, "DATA-INVALID", WARNING, message))
    _check_swaps(data, findings)
    _check_required(data, findings)
    _check_future(data, as_of, findings)
    return data


def _empty_values(values: Iterable[Any]) -> set[Any]:
    return {v for v in values if is_empty(v)}


def _empty_mask(raws: list[Any]) -> list[bool] | None:
    """Per cell: empty (None, "" or whitespace only)? Decided once per distinct value; None
    when no cell is empty."""
    try:
        empties = _empty_values(set(raws))
    except TypeError:  # an unhashable value (no reader produces one): cell by cell
        mask = [is_empty(v) for v in raws]
        return mask if any(mask) else None
    if not empties:
        return None
    return list(map(empties.__contains__, raws))


def _transpose(rows: list[list[Any]], data_cols: list[int]
               ) -> tuple[dict[int, list[Any]], list[int]]:
    """The columns ``data_cols`` of ``rows`` (None where a row is short) and the indexes of the
    rows holding at least one non-empty value in them."""
    if not rows or not data_cols:
        return {ci: [] for ci in data_cols}, []
    width = max(data_cols) + 1
    if max(map(len, rows)) > width:
        rows = [r[:width] for r in rows]
    table = list(zip_longest(*rows))
    cols = {ci: list(table[ci]) if ci < len(table) else [None] * len(rows) for ci in data_cols}
    masks = []
    for col in cols.values():
        mask = _empty_mask(col)
        if mask is None:  # a column without an empty cell: every row is kept
            return cols, list(range(len(rows)))
        masks.append(mask)
    # a row is kept unless every one of its cells is empty: min() of its flags is False
    return cols, list(compress(range(len(rows)), map(not_, map(min, zip(*masks)))))


def _picker(keep: list[int], n: int) -> Callable[[list[Any]], list[Any]]:
    """A C-level ``lambda col: [col[i] for i in keep]`` for columns of ``n`` rows (the column
    itself when every row is kept: the columns are fresh lists, owned by the caller)."""
    if len(keep) == n:
        return lambda col: col
    if not keep:
        return lambda col: []
    if len(keep) == 1:
        i = keep[0]
        return lambda col: [col[i]]
    get = itemgetter(*keep)
    return lambda col: list(get(col))


def _parse_one(column: Column, raw: Any) -> tuple[Any, str | None]:
    value, reason = parse(column.kind, raw, column.choices)
    lo, hi = column.min, column.max
    if reason is None and value is not None and (lo is not None or hi is not None):
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            return None, f"ngoài khoảng cho phép ({_fmt_range(lo, hi)})"
    return value, reason


def _parse_column(column: Column, raws: list[Any]) -> tuple[list[Any], dict[int, str]]:
    """Parsed values and (row index -> reason) of the unreadable ones. Each distinct value is
    parsed once, then looked up for every cell in C (``map`` over a dict) in a table kept
    across units (the same codes, dates, counts and labels recur in every unit). True,
    1 and 1.0 are equal keys but different cells: a table never holds two numeric types, and a
    column mixing them is keyed by (type, value). The table of columns without a numeric value
    holds no numeric key, so a column whose values are all in it has none: it is looked up
    there first, without finding the column's types. A column whose every value is read as it
    is (codes, texts, counts, booleans) is ``raws`` itself, found in one pass (``_read_as_is``).
    """
    text = _table(column, None)
    if _read_as_is(text, raws):
        return raws, {}
    try:
        return list(map(text.values.__getitem__, raws)), _reasons(text, raws)
    except (KeyError, TypeError):  # a value not met yet, a number, or unhashable
        pass
    numeric = set(map(type, raws)) & _NUMERIC
    keys: list[Any] = raws
    if len(numeric) > 1:
        keys = list(zip(map(type, raws), raws))
        table = _ParseTable()
    else:
        number = numeric.pop() if numeric else None
        table = _table(column, number)
        if number is not None and _read_as_is(table, raws):
            return raws, {}
    try:
        values = table.look_up(column, keys, keys is not raws)
    except TypeError:  # an unhashable value (no reader produces one): cell by cell
        results = [_parse_one(column, raw) for raw in raws]
        return ([v for v, _ in results],
                {i: reason for i, (_, reason) in enumerate(results) if reason is not None})
    return values, _reasons(table, keys)


def _reasons(table: _ParseTable, keys: list[Any]) -> dict[int, str]:
    """Row index -> reason of each key the table could not read."""
    reasons = table.reasons
    if not reasons or not any(map(reasons.__contains__, keys)):
        return {}
    return {i: reasons[keys[i]]
            for i in compress(range(len(keys)), map(reasons.__contains__, keys))}


def _read_as_is(table: _ParseTable, raws: list[Any]) -> bool:
    """Every value of ``raws`` is in the table (of raw values) and read as it is: the very
    object, without a reason. False as soon as one is not (or is not yet in the table)."""
    try:
        return all(map(table.as_is.__getitem__, raws))
    except (KeyError, TypeError):  # a value not met yet, or unhashable
        return False


class _ParseTable:
    """One column's parsed value of each raw value (or (type, value) key) met, and the reason
    of those that cannot be read. Shared by threads: an entry is added to ``reasons`` before
    ``values`` and never removed (a full table is replaced), so a key found in ``values`` has
    its reason, if any, in ``reasons``. ``as_is``: whether each raw value (not a (type, value)
    key) met is read as it is — parsed to the very same object, without a reason."""

    __slots__ = ("values", "reasons", "as_is")

    def __init__(self) -> None:
        self.values: dict[Any, Any] = {}
        self.reasons: dict[Any, str] = {}
        self.as_is: dict[Any, bool] = {}

    def look_up(self, column: Column, keys: list[Any], keyed: bool) -> list[Any]:
        """The parsed value of every key, after parsing the keys not yet in the table
        (``keyed``: the keys are (type, value) pairs)."""
        values = self.values
        try:
            return list(map(values.__getitem__, keys))
        except KeyError:
            pass
        new_values, new_reasons, new_as_is = {}, {}, {}
        # the column's new keys (not ``keys - values.keys()``: that walks the whole table)
        for k in [k for k in dict.fromkeys(keys) if k not in values]:
            value, reason = _parse_one(column, k[1] if keyed else k)
            new_values[k] = value
            if reason is not None:
                new_reasons[k] = reason
            if not keyed:
                new_as_is[k] = value is k and reason is None
        self.reasons.update(new_reasons)
        values.update(new_values)
        self.as_is.update(new_as_is)
        return list(map(values.__getitem__, keys))


_NUMERIC = frozenset({bool, int, float})
# Parsed values kept per column and numeric type, across units: codes, names, labels, dates
# and counts recur from unit to unit; a column of mostly distinct texts fills its table, which
# is then started afresh (at most ≈ 1 MB per column).
_SHARED_MAX = 1 << 13
# id(column) -> (the column, kept alive so that its id is never reused; numeric type -> table):
# a template column's hash covers all its fields, an id costs nothing.
_SHARED: dict[int, tuple[Column, dict[type | None, _ParseTable]]] = {}


def _table(column: Column, numeric: type | None) -> _ParseTable:
    """The parse table, kept across units, of a column whose only numeric type (if any) is
    ``numeric``."""
    entry = _SHARED.get(id(column))
    if entry is None:
        entry = _SHARED[id(column)] = (column, {})
    tables = entry[1]
    got = tables.get(numeric)
    if got is None or len(got.values) > _SHARED_MAX:
        got = tables[numeric] = _ParseTable()
    return got


def _fmt_range(lo: float | None, hi: float | None) -> str:
    def f(x: float) -> str:
        return str(int(x)) if float(x).is_integer() else str(x).replace(".", ",")
    if lo is not None and hi is not None:
        return f"{f(lo)}–{f(hi)}"
    if lo is not None:
        return f"≥ {f(lo)}"
    assert hi is not None, "a range has at least one bound"
    return f"≤ {f(hi)}"


def _check_swaps(data: TabData, findings: list[Finding]) -> None:
    """A real date cell whose day and month look swapped (rules.md "Day/month swaps")."""
    if "meeting_date" not in data.values or "month" not in data.values:
        return
    dates, months = data.values["meeting_date"], data.values["month"]
    raws = data.raw["meeting_date"]
    column = data.tab.column("meeting_date")
    # a swap needs day == the period's month (≤ 12) and day != month: decided per distinct
    # (date, period) pair -> (the period's year, month)
    swaps = {(d, m): (y, mo) for d, m in set(zip(dates, months))
             if d is not None and m is not None and d.day <= 12 and d.day != d.month
             and d.year == (y := int(m[:4])) and d.day == (mo := int(m[5:7]))}
    if not swaps:
        return
    for i in list(compress(range(len(dates)), map(swaps.__contains__, zip(dates, months)))):
        if not is_date_cell(raws[i]):
            continue
        d, (y, mo) = dates[i], swaps[(dates[i], months[i])]
        if dates is raws:  # date objects read as they are: the raw values stay unchanged
            dates = data.values["meeting_date"] = list(raws)
        dates[i] = None
        data.invalid.setdefault("meeting_date", set()).add(i)
        findings.append(data.finding(
            i, "DATA-INVALID", WARNING,
            f"Cột \"{column.header}\": ngày {d:%d/%m/%Y} không thuộc kỳ tháng "
            f"{mo:02d}/{y} — có thể nhầm ngày/tháng (ngày {d.month:02d}/{d.day:02d}/{y}?).",
        ))


def _row_condition(data: TabData) -> dict[str, list[bool]]:
    """Per-row truth of each requirement condition of the template."""
    n = len(data.rows)
    types = data.meeting_types() if data.tab.id == "meetings" else ["regular"] * n
    regular = [t in REGULAR_TYPES or t is None for t in types]
    starts, ends = data.col("start_time"), data.col("end_time")
    return {
        "regular": regular,
        "thematic": [t in THEMATIC_TYPES for t in types],
        "regular_without_times": [
            regular[i] and not (starts[i] is not None and ends[i] is not None) for i in range(n)
        ],
    }


def _check_required(data: TabData, findings: list[Finding]) -> None:
    conditions: dict[str, list[bool]] | None = None  # computed when first needed
    for col_id, values in data.values.items():
        column = data.tab.column(col_id)
        if column.required is False or column.missing_rule or None not in values:
            continue
        # empty cells: parsed as None without being unreadable (values and invalid are final)
        empty: Iterable[int] = compress(range(len(values)), map(is_, values, repeat(None)))
        invalid = data.invalid.get(col_id)
        if invalid:
            empty = [i for i in empty if i not in invalid]
        empty = list(empty)
        if not empty:
            continue
        if isinstance(column.required, str):
            if conditions is None:
                conditions = _row_condition(data) if data.tab.id == "meetings" else {}
            applies = conditions.get(column.required)
            if applies is not None:
                empty = list(compress(empty, map(applies.__getitem__, empty)))
        message = f"Chưa nhập \"{column.header}\"."
        for i in empty:
            findings.append(data.finding(i, "DATA-REQUIRED", WARNING, message))


def _check_future(data: TabData, as_of: date, findings: list[Finding]) -> None:
    for col_id, values in data.values.items():
        column = data.tab.column(col_id)
        if not column.past:
            continue
        if not any(v is not None and v > as_of for v in set(values)):
            continue
        for i, v in enumerate(values):
            if v is not None and v > as_of:
                findings.append(data.finding(
                    i, "DATA-FUTURE-DATE", WARNING,
                    f"Cột \"{column.header}\": ngày {v:%d/%m/%Y} sau ngày kiểm tra "
                    f"{as_of:%d/%m/%Y}.",
                ))


def parse_unit(template: Template, raw: RawWorkbook, code: str, name: str,
               as_of: date) -> UnitData:
    """Locate tabs and headers, parse every value; TPL-* and cell-level DATA-* findings."""
    with heap.unit_work():
        return _parse_unit(template, raw, code, name, as_of)


def _parse_unit(template: Template, raw: RawWorkbook, code: str, name: str,
                as_of: date) -> UnitData:
    unit = UnitData(code, name)
    sheets = find_sheets(template, raw)
    titles = [s.title for s in raw.sheets]
    for tab in template.tabs:
        sheet = sheets.get(tab.id)
        if sheet is None:
            unit.missing_tabs.add(tab.id)
            if tab.required:
                hint = closest(tab.name, [t for t in titles if t not in
                                          {s.title for s in sheets.values()}])
                msg = f"Thiếu tab bắt buộc \"{tab.name}\""
                msg += f" (có tab \"{hint}\" — có phải là \"{tab.name}\"?)." if hint else "."
                unit.findings.append(Finding(code, tab.name, None, None, None,
                                             "TPL-TAB-MISSING", ERROR, msg))
            continue
        unit.tabs[tab.id] = _read_tab(code, template, tab, sheet, as_of, unit.findings)
        cut = (raw.meta.get("truncated") or {}).get(sheet.title)
        if cut is not None:  # the local reader stopped early (backends.local.MAX_SHEET_CELLS)
            unit.findings.append(Finding(
                code, tab.name, None, None, None, "DATA-INVALID", WARNING,
                f"Tab \"{sheet.title}\" quá lớn (quá nhiều ô, kể cả ô trống đã định dạng): chỉ "
                f"đọc đến dòng {cut}, các dòng bên dưới không được kiểm tra. Hãy xóa các dòng, "
                f"cột trống thừa ở cuối tab."))
        _uncomputed(unit, unit.tabs[tab.id], raw.meta.get("uncomputed", {}).get(sheet.title))
    return unit


def _uncomputed(unit: UnitData, data: TabData, cells: list[list[int]] | None) -> None:
    """DATA-INVALID for formula cells that were never calculated (the local reader took their
    formula text, never evaluated, instead of an empty value)."""
    if not cells:
        return
    by_row: dict[int, list[str]] = {}
    for row, col in cells:
        by_row.setdefault(row, []).append(f"{col_letter(col - 1)}{row}")
    index = {r: i for i, r in enumerate(data.rows)}
    for row, refs in by_row.items():
        msg = (f"Ô {', '.join(refs)} có công thức chưa từng được tính (tệp do chương trình tạo, "
               "chưa mở bằng Excel/LibreOffice): công cụ đọc nội dung công thức thay cho giá trị. "
               "Hãy mở và lưu lại tệp bằng Excel/LibreOffice.")
        i = index.get(row)
        if i is not None:
            unit.findings.append(data.finding(i, "DATA-INVALID", WARNING, msg))
        else:
            unit.findings.append(Finding(unit.code, data.tab.name, None, None, None,
                                         "DATA-INVALID", WARNING, msg))


def required_tabs_found(template: Template, unit: UnitData) -> bool:
    return any(t.id in unit.tabs for t in template.tabs if t.required)


def iter_rows(data: TabData, *col_ids: str) -> Iterator[tuple[Any, ...]]:
    """(index, value, value, …) for each data row."""
    cols = [data.col(c) for c in col_ids]
    for i in range(len(data.rows)):
        yield (i, *(c[i] for c in cols))

"""Reading and writing cell values through A1 ranges, with Google's rules.

* Reads echo the requested range clamped to the grid (open ends closed at its edge);
  a range that starts outside the grid is 400 "exceeds grid limits".
* Read values are trimmed: trailing empty cells of each row and trailing empty rows go,
  inner empty rows become ``[]``, an all-empty range has no ``values``.
* Writes start at the range's top-left cell; the written box is as wide as the longest
  row. ``null`` leaves a cell unchanged and is not counted; ``""`` clears and counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import a1, cells, errors
from .formula import Evaluator
from .sheet import Sheet
from .spreadsheet import Spreadsheet


def resolve(spreadsheet: Spreadsheet, text: str) -> tuple[Sheet, a1.Bounds | None]:
    """The sheet and cell bounds a range names (bounds None = the whole sheet)."""
    try:
        title, cell_text = a1.split_sheet(text)
        if title is None:
            sheet = spreadsheet.sheet_by_title(cell_text)
            if sheet is not None:
                return sheet, None
            first = next((s for s in spreadsheet.sheets if not s.properties.get("hidden")),
                         spreadsheet.sheets[0])
            return first, a1.parse_cells(cell_text)
        sheet = spreadsheet.sheet_by_title(title)
        if sheet is None:
            raise a1.RangeSyntaxError(text)
        return sheet, a1.parse_cells(cell_text) if cell_text is not None else None
    except a1.RangeSyntaxError:
        raise errors.unparsable_range(text) from None


def grid_limit_error(sheet: Sheet, text: str) -> errors.ApiError:
    return errors.bad_request(f"Range ({text}) exceeds grid limits. Max rows: "
                              f"{sheet.row_count}, max columns: {sheet.column_count}")


def read_box(spreadsheet: Spreadsheet, text: str) -> tuple[Sheet, a1.Box]:
    """Resolve a range for reading or clearing: clamp to the grid, reject a start outside."""
    sheet, bounds = resolve(spreadsheet, text)
    if bounds is None:
        return sheet, sheet.whole()
    if bounds.row0 >= sheet.row_count or bounds.col0 >= sheet.column_count:
        raise grid_limit_error(sheet, text)
    return sheet, sheet.box(bounds)


def _trim(lines: list[list[Any]]) -> list[list[Any]]:
    out = []
    for line in lines:
        while line and line[-1] is None:
            line.pop()
        out.append(["" if v is None else v for v in line])
    while out and not out[-1]:
        out.pop()
    return out


def render_values(spreadsheet: Spreadsheet, sheet: Sheet, box: a1.Box, value_option: str,
                  datetime_option: str, major: str, evaluator: Evaluator | None = None) -> list:
    """The trimmed ``values`` of a box (an empty list when nothing is there)."""
    evaluator = evaluator or Evaluator(spreadsheet)
    locale = spreadsheet.locale
    matrix = []
    for r in range(box.row0, min(box.row1, len(sheet.rows))):
        line = []
        for c in range(box.col0, min(box.col1, len(sheet.rows[r]))):
            cell = sheet.rows[r][c]
            effective = evaluator.value(sheet, r, c) if cell is not None else None
            line.append(cells.render(cell, effective, value_option, datetime_option, locale))
        matrix.append(line)
    if major == "COLUMNS":
        width = max((len(line) for line in matrix), default=0)
        matrix = [[line[c] if c < len(line) else None for line in matrix] for c in range(width)]
    return _trim(matrix)


def value_range(spreadsheet: Spreadsheet, sheet: Sheet, box: a1.Box, value_option: str,
                datetime_option: str, major: str, evaluator: Evaluator | None = None) -> dict:
    """A ``ValueRange`` reply: echoed range, majorDimension, and values when non-empty."""
    out: dict = {"range": a1.format_box(sheet.title, box), "majorDimension": major}
    values = render_values(spreadsheet, sheet, box, value_option, datetime_option, major,
                           evaluator)
    if values:
        out["values"] = values
    return out


@dataclass
class Write:
    """A validated write: the target sheet, the covered box and the non-null cells."""

    sheet: Sheet
    box: a1.Box
    cells: list[tuple[int, int, Any]] = field(default_factory=list)

    @property
    def rows(self) -> set[int]:
        return {r for r, _, _ in self.cells}

    @property
    def columns(self) -> set[int]:
        return {c for _, c, _ in self.cells}

    def response(self, spreadsheet_id: str) -> dict:
        out: dict = {"spreadsheetId": spreadsheet_id,
                     "updatedRange": a1.format_box(self.sheet.title, self.box)}
        counts = {"updatedRows": len(self.rows), "updatedColumns": len(self.columns),
                  "updatedCells": len(self.cells)}
        out.update({k: v for k, v in counts.items() if v})
        return out


def _matrix(values: Any, major: str) -> list[list[Any]]:
    rows = [list(line) if isinstance(line, list) else [line] for line in (values or [])]
    if major != "COLUMNS":
        return rows
    height = max((len(col) for col in rows), default=0)
    return [[col[r] if r < len(col) else None for col in rows] for r in range(height)]


def plan_write(sheet: Sheet, bounds: a1.Bounds | None, text: str, values: Any,
               major: str, anchor: tuple[int, int] | None = None) -> Write:
    """Check a write of ``values`` into ``text`` and list the cells it sets.

    ``anchor`` overrides the start cell (append writes below the detected table).
    """
    matrix = _matrix(values, major)
    row0, col0 = anchor or ((bounds.row0, bounds.col0) if bounds else (0, 0))
    height, width = len(matrix), max((len(line) for line in matrix), default=0)
    if not height or not width:
        return Write(sheet, sheet.box(bounds) if bounds else sheet.whole())
    box = a1.Box(row0, col0, row0 + height, col0 + width)
    if anchor is None and bounds is not None and not bounds.is_single_cell:
        if bounds.row1 is not None and box.row1 > bounds.row1:
            raise errors.bad_request(f"Requested writing within range [{text}], but tried "
                                     f"writing to row [{box.row1}]")
        if bounds.col1 is not None and box.col1 > bounds.col1:
            raise errors.bad_request(f"Requested writing within range [{text}], but tried "
                                     f"writing to column [{a1.column_letters(box.col1 - 1)}]")
    if box.row1 > sheet.row_count or box.col1 > sheet.column_count:
        raise grid_limit_error(sheet, text)
    write = Write(sheet, box)
    for i, line in enumerate(matrix):
        for j, value in enumerate(line):
            if value is None:
                continue
            if isinstance(value, (dict, list)):
                raise errors.bad_request(f"Invalid values[{i}][{j}]: "
                                         f"{'struct' if isinstance(value, dict) else 'list'}_value")
            write.cells.append((row0 + i, col0 + j, value))
    return write


def apply_write(write: Write, input_option: str, locale: str) -> None:
    """Store the planned cells as RAW or USER_ENTERED input (formats/notes are kept)."""
    for r, c, value in write.cells:
        if input_option == "RAW":
            stored, formula, number_format = (None if value == "" else value), False, None
        else:
            stored, formula, number_format = cells.user_entered(value, locale)
        write.sheet.put(r, c, cells.with_value(write.sheet.cell(r, c), stored, formula,
                                               number_format))


def clear_box(sheet: Sheet, box: a1.Box) -> None:
    """Clear values only (formats, notes and validation stay, as values:clear does)."""
    for r in range(box.row0, min(box.row1, len(sheet.rows))):
        for c in range(box.col0, min(box.col1, len(sheet.rows[r]))):
            if sheet.rows[r][c] is not None:
                sheet.put(r, c, cells.with_value(sheet.rows[r][c], None))

"""Edits "by a person typing" (``emu.edit`` and ``POST /__emulator/edit``).

Ops (a dict with ``"op"``; indexes are 0-based like the Sheets API, values are parsed
as typed input, i.e. USER_ENTERED, unless ``"input": "RAW"``):

* ``{"op": "set", "range": "B2:C3", "values": [[...], ...]}`` - write at an A1 range
  of the sheet (``null`` leaves a cell unchanged, ``""`` clears it);
* ``{"op": "insert_rows", "index": 5, "count": 1, "values": [[...]]}`` - insert rows
  before row index 5 (the 6th row); ``values`` (optional) fill the new rows;
  ``count`` defaults to the number of value rows, else 1;
* ``{"op": "delete_rows", "index": 5, "count": 1}``;
* ``{"op": "insert_columns", "index": 2, "count": 1}`` / ``{"op": "delete_columns", ...}``
  - insert before / delete from column index 2 (column C);
* ``{"op": "append_rows", "values": [[...]]}`` - write below the last row holding a value.

Rows/columns inserted/deleted shift values, validations, protected ranges, conditional formats
and developer metadata.
"""

from __future__ import annotations

from typing import Any

from . import a1, errors, grid
from .spreadsheet import Spreadsheet


def _write(ss: Spreadsheet, sheet_title: str, row: int, values: list, option: str) -> None:
    sheet = ss.sheet_by_title(sheet_title)
    text = f"{a1.quote_title(sheet.title)}!{a1.cell_name(row, 0)}"
    write = grid.plan_write(sheet, a1.Bounds(row, 0, row + 1, 1), text, values, "ROWS")
    grid.apply_write(write, option, ss.locale)


def apply(ss: Spreadsheet, sheet_title: str, op: dict[str, Any]) -> None:
    """Apply one edit; raises ValueError (bad op, unknown sheet, out of grid)."""
    sheet = ss.sheet_by_title(sheet_title)
    if sheet is None:
        raise ValueError(f"no sheet titled {sheet_title!r}")
    kind, values = op.get("op"), op.get("values") or []
    option = op.get("input", "USER_ENTERED")
    try:
        if kind == "set":
            text = f"{a1.quote_title(sheet.title)}!{op['range']}"
            _, bounds = grid.resolve(ss, text)
            grid.apply_write(grid.plan_write(sheet, bounds, text, values, "ROWS"), option,
                             ss.locale)
        elif kind == "insert_rows":
            index, count = int(op["index"]), int(op.get("count") or len(values) or 1)
            sheet.insert("ROWS", index, count)
            if values:
                _write(ss, sheet_title, index, values, option)
        elif kind == "delete_rows":
            index, count = int(op["index"]), int(op.get("count") or 1)
            if index < 0 or index + count > sheet.row_count or count >= sheet.row_count:
                raise ValueError(f"cannot delete rows {index}..{index + count - 1}")
            sheet.delete("ROWS", index, index + count)
        elif kind in ("insert_columns", "delete_columns"):
            index, count = int(op["index"]), int(op.get("count") or 1)
            if kind == "insert_columns":
                if not 0 <= index <= sheet.column_count:
                    raise ValueError(f"cannot insert columns at {index}")
                sheet.insert("COLUMNS", index, count)
            else:
                if index < 0 or index + count > sheet.column_count \
                        or count >= sheet.column_count:
                    raise ValueError(f"cannot delete columns {index}..{index + count - 1}")
                sheet.delete("COLUMNS", index, index + count)
        elif kind == "append_rows":
            row = sheet.value_extent()[0]
            if row + len(values) > sheet.row_count:
                sheet.insert("ROWS", sheet.row_count, row + len(values) - sheet.row_count)
            _write(ss, sheet_title, row, values, option)
        else:
            raise ValueError(f"unknown edit op: {kind!r}")
    except errors.ApiError as exc:
        raise ValueError(exc.body["error"]["message"]) from None
    except KeyError as exc:
        raise ValueError(f"edit op {kind!r} needs {exc}") from None

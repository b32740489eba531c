"""One tab of a spreadsheet: properties, the cell grid and range-anchored objects.

Rows are lists of immutable :class:`Cell` (or None) and only extend as far as data does;
``gridProperties`` holds the logical size. Inserting/deleting rows or columns shifts the
cells (values, formats, notes, validations) and every range-anchored object: protected
ranges, conditional-format ranges, merges and dimension properties.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable

from .a1 import Bounds, Box
from .cells import Cell

_KEYS = {"ROWS": ("startRowIndex", "endRowIndex"),
         "COLUMNS": ("startColumnIndex", "endColumnIndex")}


class Sheet:
    def __init__(self, properties: dict):
        self.properties = properties
        self.rows: list[list[Cell | None]] = []
        self.protected_ranges: list[dict] = []
        self.conditional_formats: list[dict] = []
        self.merges: list[dict] = []
        self.dimension_props: dict[str, dict[int, dict]] = {"ROWS": {}, "COLUMNS": {}}
        # DeveloperMetadata resources located on this sheet or on its rows/columns
        # (``location.dimensionRange`` moves with inserted/deleted rows and columns).
        self.developer_metadata: list[dict] = []

    # --- properties -----------------------------------------------------------------
    @property
    def sheet_id(self) -> int:
        return self.properties["sheetId"]

    @property
    def title(self) -> str:
        return self.properties["title"]

    @property
    def row_count(self) -> int:
        return self.properties["gridProperties"]["rowCount"]

    @property
    def column_count(self) -> int:
        return self.properties["gridProperties"]["columnCount"]

    def clone(self) -> Sheet:
        """A copy safe to mutate (cells are immutable, so rows are copied shallowly)."""
        other = Sheet(copy.deepcopy(self.properties))
        other.rows = [row[:] for row in self.rows]
        other.protected_ranges = copy.deepcopy(self.protected_ranges)
        other.conditional_formats = copy.deepcopy(self.conditional_formats)
        other.merges = copy.deepcopy(self.merges)
        other.dimension_props = copy.deepcopy(self.dimension_props)
        other.developer_metadata = copy.deepcopy(self.developer_metadata)
        return other

    # --- cells ----------------------------------------------------------------------
    def cell(self, row: int, col: int) -> Cell | None:
        if row < len(self.rows) and col < len(self.rows[row]):
            return self.rows[row][col]
        return None

    def update_box(self, box: Box, change: Callable[[Cell, int, int], Cell | None],
                   empty: Cell | None) -> None:
        """Every cell of ``box``: a stored one becomes ``change(cell, row offset, column
        offset)``, an empty one ``empty``; a blank result is stored as empty. Row by row, a run
        of empty cells filled in one step (a repeatCell over a whole new sheet)."""
        if empty is not None and empty.blank:
            empty = None
        width = box.col1 - box.col0
        for r in range(box.row0, box.row1):
            if r >= len(self.rows):
                if empty is None:
                    break  # no stored cell below: nothing changes
                self.rows.extend([] for _ in range(r + 1 - len(self.rows)))
            line = self.rows[r]
            if empty is not None and len(line) < box.col1:
                line.extend([None] * (box.col1 - len(line)))
            part = line[box.col0:box.col1]  # without empty: only the stored part of the row
            if part.count(None) == len(part):
                if empty is not None:
                    line[box.col0:box.col1] = [empty] * width
                continue
            for k, old in enumerate(part):
                if old is None:
                    new = empty
                else:
                    new = change(old, r - box.row0, k)
                    if new is not None and new.blank:
                        new = None
                line[box.col0 + k] = new

    def put(self, row: int, col: int, cell: Cell | None) -> None:
        if cell is None and self.cell(row, col) is None:
            return
        while len(self.rows) <= row:
            self.rows.append([])
        line = self.rows[row]
        if len(line) <= col:
            line.extend([None] * (col + 1 - len(line)))
        line[col] = cell

    def box(self, bounds: Bounds) -> Box:
        """Close open ends and clamp explicit ends at the grid edge."""
        row1 = self.row_count if bounds.row1 is None else min(bounds.row1, self.row_count)
        col1 = self.column_count if bounds.col1 is None else min(bounds.col1, self.column_count)
        return Box(bounds.row0, bounds.col0, max(row1, bounds.row0), max(col1, bounds.col0))

    def whole(self) -> Box:
        return Box(0, 0, self.row_count, self.column_count)

    def grid_box(self, grid_range: dict) -> Box:
        """A GridRange (absent indexes = unbounded) as a box clamped to the grid."""
        def index(key: str, default: int, limit: int) -> int:
            value = grid_range.get(key)
            return min(default if value is None else int(value), limit)
        return Box(index("startRowIndex", 0, self.row_count),
                   index("startColumnIndex", 0, self.column_count),
                   index("endRowIndex", self.row_count, self.row_count),
                   index("endColumnIndex", self.column_count, self.column_count))

    def value_extent(self) -> tuple[int, int]:
        """(rows, cols) spanned by cells that hold a value."""
        rows = cols = 0
        for r, line in enumerate(self.rows):
            for c in range(len(line) - 1, -1, -1):
                if line[c] is not None and line[c].value is not None:
                    rows, cols = r + 1, max(cols, c + 1)
                    break
        return rows, cols

    # --- structure ------------------------------------------------------------------
    def resize(self, row_count: int, column_count: int) -> None:
        grid = self.properties["gridProperties"]
        grid["rowCount"], grid["columnCount"] = row_count, column_count
        del self.rows[row_count:]
        for line in self.rows:
            del line[column_count:]

    def insert(self, dimension: str, start: int, count: int) -> None:
        grid = self.properties["gridProperties"]
        if dimension == "ROWS":
            grid["rowCount"] += count
            if start < len(self.rows):
                self.rows[start:start] = [[] for _ in range(count)]
        else:
            grid["columnCount"] += count
            for line in self.rows:
                if start < len(line):
                    line[start:start] = [None] * count
        low, high = _KEYS[dimension]
        for rng in self._ranges():
            # A range starting at the insertion point moves; one ending there does not grow.
            if rng.get(low) is not None and rng[low] >= start:
                rng[low] += count
            if rng.get(high) is not None and rng[high] > start:
                rng[high] += count
        self._shift_dimension_props(dimension, lambda i: i + count if i >= start else i)
        for rng in self._metadata_ranges(dimension):
            if rng["startIndex"] >= start:
                rng["startIndex"] += count
                rng["endIndex"] += count
            elif rng["endIndex"] > start:
                rng["endIndex"] += count

    def delete(self, dimension: str, start: int, end: int) -> None:
        count = end - start
        grid = self.properties["gridProperties"]
        if dimension == "ROWS":
            grid["rowCount"] -= count
            del self.rows[start:end]
        else:
            grid["columnCount"] -= count
            for line in self.rows:
                del line[start:end]

        def moved(i: int) -> int:
            return i if i <= start else (start if i <= end else i - count)

        low, high = _KEYS[dimension]
        for rng in self._ranges():
            for key in (low, high):
                if rng.get(key) is not None:
                    rng[key] = moved(rng[key])
        self.protected_ranges = [p for p in self.protected_ranges if _non_empty(p["range"])]
        self.merges = [m for m in self.merges if _non_empty(m)]
        for rule in self.conditional_formats:
            rule["ranges"] = [r for r in rule["ranges"] if _non_empty(r)]
        self.conditional_formats = [r for r in self.conditional_formats if r["ranges"]]
        self._shift_dimension_props(
            dimension, lambda i: None if start <= i < end else (i - count if i >= end else i))
        for rng in self._metadata_ranges(dimension):
            rng["startIndex"], rng["endIndex"] = moved(rng["startIndex"]), moved(rng["endIndex"])
        # "If the associated object is deleted then its metadata is deleted too."
        self.developer_metadata = [
            m for m in self.developer_metadata
            if "dimensionRange" not in m["location"]
            or m["location"]["dimensionRange"]["startIndex"]
            < m["location"]["dimensionRange"]["endIndex"]]

    def _ranges(self) -> list[dict]:
        return ([p["range"] for p in self.protected_ranges] + self.merges
                + [r for rule in self.conditional_formats for r in rule["ranges"]])

    def _metadata_ranges(self, dimension: str) -> list[dict]:
        return [m["location"]["dimensionRange"] for m in self.developer_metadata
                if m["location"].get("dimensionRange", {}).get("dimension") == dimension]

    def _shift_dimension_props(self, dimension: str, move) -> None:
        props = self.dimension_props[dimension]
        self.dimension_props[dimension] = {
            move(i): p for i, p in props.items() if move(i) is not None}

    # --- data validation ------------------------------------------------------------
    def validation_ranges(self) -> list[dict]:
        """Per-cell validation rules merged into rectangles: [{"range", "rule"}]."""
        runs: dict[str, list[tuple[int, int, int]]] = {}  # rule -> (row, col0, col1)
        rules: dict[str, dict] = {}
        for r, line in enumerate(self.rows):
            c = 0
            while c < len(line):
                rule = line[c].validation if line[c] is not None else None
                if rule is None:
                    c += 1
                    continue
                key = json.dumps(rule, sort_keys=True)
                start = c
                while c < len(line) and line[c] is not None and line[c].validation == rule:
                    c += 1
                runs.setdefault(key, []).append((r, start, c))
                rules[key] = rule
        out = []
        for key, spans in runs.items():
            open_boxes: dict[tuple[int, int], list[int]] = {}  # (col0, col1) -> [row0, row1]
            for r, c0, c1 in spans:
                current = open_boxes.get((c0, c1))
                if current and current[1] == r:
                    current[1] = r + 1
                    continue
                if current:
                    out.append(_validation_entry(self.sheet_id, current, c0, c1, rules[key]))
                open_boxes[(c0, c1)] = [r, r + 1]
            for (c0, c1), rows in open_boxes.items():
                out.append(_validation_entry(self.sheet_id, rows, c0, c1, rules[key]))
        return out


def _validation_entry(sheet_id: int, rows: list[int], c0: int, c1: int, rule: dict) -> dict:
    return {"range": {"sheetId": sheet_id, "startRowIndex": rows[0], "endRowIndex": rows[1],
                      "startColumnIndex": c0, "endColumnIndex": c1}, "rule": rule}


def _non_empty(rng: dict) -> bool:
    for low, high in _KEYS.values():
        if rng.get(low) is not None and rng.get(high) is not None and rng[low] >= rng[high]:
            return False
    return True

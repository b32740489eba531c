"""A spreadsheet: properties (Google's defaults for a new file) and its sheets."""

from __future__ import annotations

import copy
import random

from .sheet import Sheet

# Verbatim from a recorded spreadsheets.get of a new spreadsheet (en_US, Etc/GMT).
DEFAULT_FORMAT = {
    "backgroundColor": {"red": 1, "green": 1, "blue": 1},
    "padding": {"top": 2, "right": 3, "bottom": 2, "left": 3},
    "verticalAlignment": "BOTTOM",
    "wrapStrategy": "OVERFLOW_CELL",
    "textFormat": {
        "foregroundColor": {}, "fontFamily": "arial,sans,sans-serif", "fontSize": 10,
        "bold": False, "italic": False, "strikethrough": False, "underline": False,
        "foregroundColorStyle": {"rgbColor": {}},
    },
    "backgroundColorStyle": {"rgbColor": {"red": 1, "green": 1, "blue": 1}},
}

_THEME_COLOURS = [
    ("TEXT", {}),
    ("BACKGROUND", {"red": 1, "green": 1, "blue": 1}),
    ("ACCENT1", {"red": 0.25882354, "green": 0.52156866, "blue": 0.95686275}),
    ("ACCENT2", {"red": 0.91764706, "green": 0.2627451, "blue": 0.20784314}),
    ("ACCENT3", {"red": 0.9843137, "green": 0.7372549, "blue": 0.015686275}),
    ("ACCENT4", {"red": 0.20392157, "green": 0.65882355, "blue": 0.3254902}),
    ("ACCENT5", {"red": 1, "green": 0.42745098, "blue": 0.003921569}),
    ("ACCENT6", {"red": 0.27450982, "green": 0.7411765, "blue": 0.7764706}),
    ("LINK", {"red": 0.06666667, "green": 0.33333334, "blue": 0.8}),
]
DEFAULT_THEME = {
    "primaryFontFamily": "Arial",
    "themeColors": [{"colorType": t, "color": {"rgbColor": c}} for t, c in _THEME_COLOURS],
}

DEFAULT_ROWS, DEFAULT_COLUMNS = 1000, 26
MAX_CELLS = 10_000_000


def new_sheet_properties(sheet_id: int, title: str, index: int,
                         rows: int = DEFAULT_ROWS, cols: int = DEFAULT_COLUMNS) -> dict:
    return {"sheetId": sheet_id, "title": title, "index": index, "sheetType": "GRID",
            "gridProperties": {"rowCount": rows, "columnCount": cols}}


class Spreadsheet:
    def __init__(self, spreadsheet_id: str, title: str, locale: str = "en_US",
                 time_zone: str = "Etc/GMT"):
        self.spreadsheet_id = spreadsheet_id
        self.properties = {
            "title": title, "locale": locale, "autoRecalc": "ON_CHANGE", "timeZone": time_zone,
            "defaultFormat": copy.deepcopy(DEFAULT_FORMAT),
            "spreadsheetTheme": copy.deepcopy(DEFAULT_THEME),
        }
        self.sheets: list[Sheet] = []

    @property
    def title(self) -> str:
        return self.properties["title"]

    @property
    def locale(self) -> str:
        return self.properties["locale"]

    def clone(self) -> Spreadsheet:
        other = Spreadsheet.__new__(Spreadsheet)
        other.spreadsheet_id = self.spreadsheet_id
        other.properties = copy.deepcopy(self.properties)
        other.sheets = [sheet.clone() for sheet in self.sheets]
        return other

    def sheet_by_title(self, title: str) -> Sheet | None:
        for sheet in self.sheets:
            if sheet.title == title:
                return sheet
        folded = title.casefold()
        return next((s for s in self.sheets if s.title.casefold() == folded), None)

    def sheet_by_id(self, sheet_id: int) -> Sheet | None:
        return next((s for s in self.sheets if s.sheet_id == sheet_id), None)

    def new_sheet_id(self, rng: random.Random) -> int:
        while True:
            candidate = rng.randint(1, 2 ** 31 - 1)
            if self.sheet_by_id(candidate) is None:
                return candidate

    def add_sheet(self, properties: dict) -> Sheet:
        sheet = Sheet(properties)
        index = min(properties.get("index", len(self.sheets)), len(self.sheets))
        self.sheets.insert(index, sheet)
        self.reindex()
        return sheet

    def move_sheet(self, sheet: Sheet, index: int) -> None:
        self.sheets.remove(sheet)
        self.sheets.insert(min(index, len(self.sheets)), sheet)
        self.reindex()

    def remove_sheet(self, sheet: Sheet) -> None:
        self.sheets.remove(sheet)
        self.reindex()

    def reindex(self) -> None:
        for i, sheet in enumerate(self.sheets):
            sheet.properties["index"] = i

    def cell_count(self) -> int:
        return sum(s.row_count * s.column_count for s in self.sheets)

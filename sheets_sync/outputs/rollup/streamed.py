"""A worksheet for xlsxwriter's ``constant_memory`` mode that writes text, numbers and
formatted blanks without xlsxwriter's per-cell work.

xlsxwriter keeps each cell as an object, then writes it out with attribute lists, a regular
expression per escape and a file write per cell: about 6 µs a cell, ≈ 20 s for the 3.3 million
cells of a national roll-up. Here a cell is kept as its format and the ready-made end of its
XML element (a string's escaped text is made once per distinct string; ``write_row_cells``
makes a whole row's cells at once and keeps them as one run; a merged range's blanks are one
run too, checked for overlaps against the row's own ranges rather than a table entry per cell),
a row is written with one file write, row heights skip xlsxwriter's option handling, and the
rows are copied into the sheet as bytes. The XML is byte for byte what xlsxwriter writes
(``tests/test_rollup_streamed.py``), with two deliberate differences: xlsxwriter writes a
string that starts with ``<r>`` and ends with ``</r>`` unescaped, as rich-text XML, so text
from a sheet could inject XML (a formula, say); here every string is escaped text (and what
goes through xlsxwriter is made literal by ``LiteralTextWorksheet``). And rows with a height
but no cells are written, as outside ``constant_memory`` mode (xlsxwriter leaves them out).

Anything else — dates, formulas, links, cells without a format — goes through xlsxwriter as
before, and rows are written by the same rules (``constant_memory``: in increasing order).
"""
from __future__ import annotations

import os
import re
import shutil
import zlib
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from datetime import date, datetime
from functools import cache
from io import StringIO
from itertools import repeat
from math import isfinite
from typing import Any
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

from xlsxwriter.exceptions import OverlappingRange
from xlsxwriter.format import Format
from xlsxwriter.utility import (
    _preserve_whitespace,
    _utf16_len,
    _utf16_truncate,
    xl_col_to_name,
    xl_range,
)
from xlsxwriter.worksheet import RowInfo, Worksheet, convert_range_args

from .literal_text import LiteralTextWorksheet
from .threaded import ThreadedWriter

_BLANK = "/>"
# What xlsxwriter's _escape_control_characters and _escape_data change in a string: text
# without any of it is written as it is.
_ESCAPED = re.compile(r"[\x00-\x08\x0b-\x1f\ufffe\uffff&<>]|_x[0-9a-fA-F]{4}_")


@cache
def _column_names() -> tuple[str, ...]:
    """A, B, …, XFD."""
    return tuple(xl_col_to_name(c) for c in range(Worksheet().xls_colmax))


def _send_file(source: int, target: int) -> None:
    """All of file ``source`` appended to ``target`` at its position (``os.sendfile``)."""
    size, offset = os.fstat(source).st_size, 0
    while offset < size:
        sent = os.sendfile(target, source, offset, size - offset)
        if sent == 0:
            raise OSError(f"sendfile stopped at {offset} of {size} bytes")
        offset += sent


def _as_datetime(value: date) -> datetime:
    """A date as midnight of that day (as ``layout.Writer.date`` writes it)."""
    if isinstance(value, datetime):
        return value
    return datetime(value.year, value.month, value.day)


class _BlankRun:
    """Formatted blanks in a row from the column where it is stored to ``last``: the cells of
    a merged range after its first, written out as one piece."""

    __slots__ = ("fmt", "last")

    def __init__(self, fmt: Format, last: int) -> None:
        self.fmt, self.last = fmt, last


class _CellRun:
    """The cells ``write_row_cells`` wrote into a row, from the column where it is stored on:
    their XML, one string per column, written out together."""

    __slots__ = ("cells",)

    def __init__(self, cells: list[str]) -> None:
        self.cells = cells


class DeflatedRows(ThreadedWriter):
    """The rows file of a ``StreamedWorksheet`` whose rows are deflated as they are written
    (``StreamedWorksheet.deflate_rows``): on the writer's thread, each chunk is deflated (raw
    deflate, ending byte-aligned and not final: a piece of the worksheet's zip entry) into the
    file, its CRC-32 and length kept. Only the compressed bytes reach the disk."""

    def __init__(self, path: str, level: int, thread: Executor) -> None:
        super().__init__(self._deflated, thread)
        self.name = path
        self._file = open(path, "wb")  # closed by close()
        self._deflate = zlib.compressobj(level, zlib.DEFLATED, -15)
        self.crc = 0  # of the XML (final once closed)
        self.length = 0  # bytes of XML

    def _deflated(self, data: bytes, last: bool) -> None:
        self.crc = zlib.crc32(data, self.crc)
        self.length += len(data)
        out = self._deflate.compress(data)
        if last:
            out += self._deflate.flush(zlib.Z_SYNC_FLUSH)
        self._file.write(out)

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._file.close()

    def inflate_into(self, target: Any) -> None:
        """The rows as XML, appended to binary file ``target``."""
        inflate = zlib.decompressobj(-15)
        with open(self.name, "rb") as rows:
            while chunk := rows.read(1 << 20):
                target.write(inflate.decompress(chunk))
        target.write(inflate.flush())


def _multmodp(a: int, b: int) -> int:
    """a × b modulo the CRC-32 polynomial (reflected), as zlib's crc32.c."""
    m, p = 1 << 31, 0
    while True:
        if a & m:
            p ^= b
            if not a & (m - 1):
                return p
        m >>= 1
        b = (b >> 1) ^ 0xEDB88320 if b & 1 else b >> 1


def _x2n_table() -> list[int]:
    table = [1 << 30]  # x^1
    for _ in range(31):
        table.append(_multmodp(table[-1], table[-1]))
    return table


_X2N = _x2n_table()


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """The CRC-32 of A + B from A's (``crc1``), B's (``crc2``) and B's length, as zlib's
    ``crc32_combine`` (which Python 3.11's ``zlib`` module does not offer)."""
    p, k = 1 << 31, 3  # x^0; x^(8 × len2): a byte is 2^3 bits
    while len2:
        if len2 & 1:
            p = _multmodp(_X2N[k & 31], p)
        len2 >>= 1
        k += 1
    return _multmodp(p, crc1) ^ crc2


class _Deflated:
    """The compressor of a zip entry whose data is deflated already: passed through. Set on
    ``zipfile``'s entry writer (``_ZipWriteFile``, whose ``_compressor``, ``_crc`` and
    ``_file_size`` are the same from Python 3.11 to 3.13), with the CRC and size of the data
    set before it closes; a writer without them gets the rows inflated instead."""

    WRITER_ATTRS = frozenset({"_compressor", "_crc", "_file_size"})

    @staticmethod
    def compress(data: bytes) -> bytes:
        return data

    @staticmethod
    def flush() -> bytes:
        return b""


# A worksheet's file -> where its rows go in it, the file holding them, and that file when its
# rows are deflated already (``DeflatedRows``)
Splices = dict[str, tuple[int, str, DeflatedRows | None]]


class SplicingZipFile(ZipFile):
    """The ``ZipFile`` a workbook of ``StreamedWorksheet``s is packaged with when their
    ``splices`` are this file's ``splices``: a worksheet's rows go into the zip from the file
    they were streamed to, read where the worksheet's file leaves them out, rather than copied
    into that file first (216 MB at national size); each rows file is removed once zipped.
    Rows deflated already (``DeflatedRows``) are copied as they are, between the deflated
    start and end of the worksheet's file. The zip holds the same parts either way."""

    def __init__(self, *args: Any, splices: Splices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.splices = splices

    def write(self, filename: Any, arcname: Any = None, compress_type: int | None = None,
              compresslevel: int | None = None) -> None:
        splice = self.splices.get(filename) if isinstance(filename, str) else None
        if splice is None:
            super().write(filename, arcname, compress_type, compresslevel)
            return
        offset, rows, deflated = splice
        # as ZipFile.write, with the size of the whole worksheet
        strict = self._strict_timestamps  # type: ignore[attr-defined]
        info = ZipInfo.from_file(filename, arcname, strict_timestamps=strict)
        info.file_size += os.path.getsize(rows) if deflated is None else deflated.length
        info.compress_type = self.compression if compress_type is None else compress_type
        level = self.compresslevel if compresslevel is None else compresslevel
        info._compresslevel = level  # type: ignore[attr-defined]
        with open(filename, "rb") as sheet, open(rows, "rb") as data, \
                self.open(info, "w") as dest:
            if deflated is None:
                dest.write(sheet.read(offset))
                shutil.copyfileobj(data, dest, 1 << 16)
                shutil.copyfileobj(sheet, dest, 1 << 16)
            elif (info.compress_type == ZIP_DEFLATED
                  and _Deflated.WRITER_ATTRS <= vars(dest).keys()):
                head, tail = sheet.read(offset), sheet.read()
                # each piece a raw deflate stream of its own: the start and the rows end
                # byte-aligned and not final, so the three are read as one
                zlevel = level if level is not None else zlib.Z_DEFAULT_COMPRESSION
                start = zlib.compressobj(zlevel, zlib.DEFLATED, -15)
                end = zlib.compressobj(zlevel, zlib.DEFLATED, -15)
                dest._compressor = _Deflated  # type: ignore[attr-defined]
                dest.write(start.compress(head) + start.flush(zlib.Z_SYNC_FLUSH))
                shutil.copyfileobj(data, dest, 1 << 16)
                dest.write(end.compress(tail) + end.flush())
                crc = crc32_combine(zlib.crc32(head), deflated.crc, deflated.length)
                dest._crc = zlib.crc32(tail, crc)  # type: ignore[attr-defined]
                dest._file_size = info.file_size  # type: ignore[attr-defined]
            else:  # a zip not deflated, or an entry writer not known here
                dest.write(sheet.read(offset))
                deflated.inflate_into(dest)
                shutil.copyfileobj(sheet, dest, 1 << 16)
        del self.splices[filename]
        os.unlink(rows)


class StreamedWorksheet(LiteralTextWorksheet):
    """``wb.add_worksheet(name, worksheet_class=StreamedWorksheet)`` in a ``constant_memory``
    workbook. ``write_row_cells`` writes a whole row in one call."""

    # Set when the workbook is packaged with a ``SplicingZipFile`` holding the same dict.
    splices: Splices | None = None

    previous_row: int  # xlsxwriter's attributes used here
    dim_colmin: int | None
    dim_rowmin: int | None
    fh: Any
    row_data_fh: Any

    def __init__(self) -> None:
        super().__init__()
        self._text_tails: dict[str, str] = {}  # string -> XML after the cell's style
        # write_row_cells: (string as given, int or None, format) -> the cell's XML after its
        # reference (a float is never looked up here: -0.0 == 0)
        self._cell_pieces: dict[tuple[str | int | None, Format], str] = {}
        self._style_attrs: dict[Format, str] = {}  # format -> '" s="N"' (at first write)
        self._row_attrs: dict[tuple | None, str] = {}  # row properties -> <row> attributes
        self._row_merges: list[tuple[int, int]] = []  # the pending row's, made here
        self._only_row_merges = True  # no merged range made by xlsxwriter's merge_range
        # the pending row's runs of cells (write_row_cells) and of blanks (merged ranges):
        # (first column, run)
        self._pending_runs: list[tuple[int, _BlankRun | _CellRun]] = []
        # (format, first column, last column) -> a run's XML split where its row number goes
        self._run_pieces: dict[tuple[Format, int, int], tuple[str, ...]] = {}

    # --- cells --------------------------------------------------------------------------------

    def _text_tail(self, string: str) -> str:
        """What follows the style attribute of an inline-string cell holding ``string``, as
        xlsxwriter's ``_write_cell`` writes it (UTF-16 limit, ``_xHHHH_`` escapes, preserved
        spaces, XML escapes) except that text is never taken as rich-text XML."""
        tail = self._text_tails.get(string)
        if tail is None:
            text = string
            if len(text) > self.xls_strmax // 2 and _utf16_len(text) > self.xls_strmax:
                text = _utf16_truncate(text, self.xls_strmax)
            if _ESCAPED.search(text):
                text = self._escape_data(self._escape_control_characters(text))
            space = ' xml:space="preserve"' if _preserve_whitespace(text) else ""
            tail = self._text_tails[string] = f' t="inlineStr"><is><t{space}>{text}</t></is></c>'
        return tail

    def _write_string(self, row: int, col: int, string: str,
                      cell_format: Format | None = None) -> int:
        if cell_format is None or not self.constant_memory:
            return super()._write_string(row, col, string, cell_format)
        if self._put(row, col, cell_format, self._text_tail(string)):
            return -1
        if len(string) > self.xls_strmax // 2 and _utf16_len(string) > self.xls_strmax:
            return -2
        return 0

    def _write_number(self, row: int, col: int, number: Any,
                      cell_format: Format | None = None) -> int:
        kind = type(number)
        if cell_format is None or not self.constant_memory or not (
                kind is int or (kind is float and isfinite(number))):
            return super()._write_number(row, col, number, cell_format)
        return self._put(row, col, cell_format, f"><v>{number:.16G}</v></c>")

    def _write_blank(self, row: int, col: int, blank: Any,
                     cell_format: Format | None = None) -> int:
        if cell_format is None or not self.constant_memory:
            return super()._write_blank(row, col, blank, cell_format)
        return self._put(row, col, cell_format, _BLANK)

    def _put(self, row: int, col: int, cell_format: Format, piece: str) -> int:
        """A cell as its format and the XML after its style (-1: outside the sheet), written
        out with its row as xlsxwriter's ``constant_memory`` mode does."""
        if self._check_dimensions(row, col):
            return -1
        if row > self.previous_row:
            self._write_single_row(row)
        self.table[row][col] = (cell_format, piece)
        return 0

    # The public methods without xlsxwriter's A1-notation wrapper when given numbers.
    def write_string(self, row: Any, col: Any, string: str,
                     cell_format: Format | None = None) -> int:
        if type(row) is not int:
            return super().write_string(row, col, string, cell_format)
        return self._write_string(row, col, string, cell_format)

    def write_number(self, row: Any, col: Any, number: Any,
                     cell_format: Format | None = None) -> int:
        if type(row) is not int:
            return super().write_number(row, col, number, cell_format)
        return self._write_number(row, col, number, cell_format)

    def write_blank(self, row: Any, col: Any, blank: Any,
                    cell_format: Format | None = None) -> int:
        if type(row) is not int:
            return super().write_blank(row, col, blank, cell_format)
        return self._write_blank(row, col, blank, cell_format)

    @convert_range_args
    def merge_range(self, first_row: int, first_col: int, last_row: int, last_col: int,
                    data: Any, cell_format: Format | None = None) -> int:
        """xlsxwriter's ``merge_range``; a range within one row written without its per-cell
        work (the first cell through ``_write``, the others as one run of formatted blanks).
        Ranges made here are checked for overlaps here (xlsxwriter's ``merged_cells`` would
        hold an entry per cell: 780,000 in a national roll-up)."""
        if not self._merge_in_row(first_row, first_col, last_row, last_col, cell_format):
            rows = range(min(first_row, last_row), max(first_row, last_row) + 1)
            if self.previous_row in rows:
                self._refuse_overlap(first_row, first_col, last_row, last_col)
            self._only_row_merges = False
            return super().merge_range(first_row, first_col, last_row, last_col, data,
                                       cell_format)
        self._write(first_row, first_col, data, cell_format)
        return 0

    def _refuse_overlap(self, first_row: int, first_col: int, last_row: int,
                        last_col: int) -> None:
        """OverlappingRange, as xlsxwriter raises it, when the range's columns overlap a
        merged range made here in the pending row (which the range covers)."""
        top, bottom = sorted((first_row, last_row))
        low, high = sorted((first_col, last_col))
        for first, last in self._row_merges:
            if first <= high and low <= last:
                row = self.previous_row
                raise OverlappingRange(
                    f"Merge range '{xl_range(top, low, bottom, high)}' "
                    f"overlaps previous merge range '{xl_range(row, first, row, last)}'.")

    def write_merged_row(self, row: int, height: float | None, first_col: int, last_col: int,
                         value: str | None, cell_format: Format, clean: Callable[[str], str]
                         ) -> None:
        """Row ``row``: its height (points; None: not set) and the merged range from
        ``first_col`` to ``last_col`` holding the text ``clean(value)`` (None or empty: a
        formatted blank). The same as ``set_row``, ``merge_range`` and ``write_string`` (or
        ``write_blank``) in one call; the first cell's XML is made here (see
        ``write_row_cells``)."""
        if row > self.previous_row and self.constant_memory:
            self._write_single_row(row)
        if height is not None:
            self.set_row(row, height)
        if not self._merge_in_row(row, first_col, row, last_col, cell_format):
            self.merge_range(row, first_col, row, last_col, "", cell_format)
            self._write_one(row, first_col, value, cell_format, clean)
            return
        piece = self._cell_pieces.get((value, cell_format))
        if piece is None:
            piece = self._cell_pieces[value, cell_format] = self._cell_piece(value, cell_format,
                                                                              clean)
        self.table[row][first_col] = f'<c r="{_column_names()[first_col]}{row + 1}{piece}'

    def _merge_in_row(self, first_row: Any, first_col: Any, last_row: Any, last_col: Any,
                      cell_format: Format | None) -> bool:
        """Records the merged range ``first_col``–``last_col`` of row ``first_row`` and puts
        formatted blanks in all its cells but the first, as ``merge_range`` does, when that
        can be done without xlsxwriter's per-cell work (False: nothing done)."""
        if (type(first_row) is not int or first_row != last_row or cell_format is None
                or not self.constant_memory or not 0 <= first_col < last_col
                or first_row < self.previous_row or self._check_dimensions(first_row, first_col)
                or self._check_dimensions(last_row, last_col)):
            return False
        row = first_row
        if self.table_cells or not self._only_row_merges and not self.merged_cells.keys(
                ).isdisjoint(zip(repeat(row), range(first_col, last_col + 1))):
            # over a table or a merged range made by xlsxwriter: xlsxwriter raises
            return False
        if row == self.previous_row:
            self._refuse_overlap(row, first_col, row, last_col)
        self.merge.append([first_row, first_col, last_row, last_col])
        if row > self.previous_row:
            self._write_single_row(row)
        self._row_merges.append((first_col, last_col))
        table = self.table[row]
        if table and max(table) > first_col:  # cells and runs under the blanks are replaced
            for col in range(first_col + 1, last_col + 1):
                table.pop(col, None)
        run = _BlankRun(cell_format, last_col)
        table[first_col + 1] = run
        self._pending_runs.append((first_col + 1, run))
        return True

    def write_row_cells(self, row: int, height: float | None,
                        cells: Iterable[tuple[Any, Format]], clean: Callable[[str], str],
                        first_col: int = 0) -> None:
        """Row ``row``: its height (points; None: not set) and its cells from ``first_col``
        on, each ``(value, format)``: a str as the text ``clean(value)`` (empty: a formatted
        blank), an int or float as a number, None as a formatted blank. The same as
        ``set_row`` and one ``write_string``/``write_number``/``write_blank`` per cell, in one
        call; ``clean`` is called once per distinct string. The cells' XML is made here, so a
        format is numbered when its first row is given rather than when that row is written
        out: the same numbers as xlsxwriter's unless cells with new formats are written later
        into the same row left of these."""
        if not self.constant_memory or row < self.previous_row:
            self._write_row_cells_one_by_one(row, height, cells, clean, first_col)
            return
        if row > self.previous_row:
            self._write_single_row(row)
        if height is not None:
            self._set_height(row, height)
        table = self.table[row]
        ref = str(row + 1)
        names = _column_names()
        styles, pieces = self._style_attrs, self._cell_pieces
        out: list[str | None] = []  # the cells' XML; None: written by _write_one
        col = first_col
        for value, fmt in cells:
            kind = type(value)
            if fmt is None:
                self._write_one(row, col, value, fmt, clean)
                out.append(None)
            elif kind is str or kind is int or value is None:
                piece = pieces.get((value, fmt))
                if piece is None:
                    piece = pieces[value, fmt] = self._cell_piece(value, fmt, clean)
                out.append(f'<c r="{names[col]}{ref}{piece}')
            elif kind is float and isfinite(value):
                out.append(f'<c r="{names[col]}{ref}{styles.get(fmt) or self._style(fmt)}'
                           f'><v>{value:.16G}</v></c>')
            elif kind is date or kind is datetime:
                serial = self._convert_date_time(_as_datetime(value))
                out.append(f'<c r="{names[col]}{ref}{styles.get(fmt) or self._style(fmt)}'
                           f'><v>{serial:.16G}</v></c>')
            else:
                self._write_one(row, col, value, fmt, clean)
                out.append(None)
            col += 1
        if not out:
            return
        if not table and None not in out:  # a fresh row: no cells or runs to write over
            run = _CellRun(out)  # type: ignore[arg-type]  # no None in it
            table[first_col] = run
            self._pending_runs.append((first_col, run))
            written = [first_col, col - 1]
        else:
            written = [c for c, xml in enumerate(out, start=first_col) if xml is not None]
            for c in written:
                table[c] = out[c - first_col]
        if written:  # the cells given to _write_one have checked their own
            self._check_dimensions(row, written[0])
            self._check_dimensions(row, written[-1])

    def _cell_piece(self, value: str | int | None, fmt: Format, clean: Callable[[str], str]
                    ) -> str:
        """A cell's XML after its reference: the text ``clean(value)``, an int, or (None or
        empty) a formatted blank."""
        if isinstance(value, int):
            return f"{self._style(fmt)}><v>{value:.16G}</v></c>"
        if value:
            return self._style(fmt) + self._text_tail(clean(value))
        return self._style(fmt) + _BLANK

    def _style(self, fmt: Format) -> str:
        """'" s="N"': the end of a cell's reference and its style attribute (xlsxwriter numbers
        a format the first time a cell with it is written out)."""
        style = self._style_attrs.get(fmt)
        if style is None:
            style = self._style_attrs[fmt] = f'" s="{fmt._get_xf_index()}"'
        return style

    def set_row(self, row: Any, height: float | None = None, cell_format: Format | None = None,
                options: dict[str, Any] | None = None) -> int:
        """xlsxwriter's ``set_row``; a height alone set without its options."""
        if type(row) is not int or height is None or cell_format is not None or options:
            return super().set_row(row, height, cell_format, options)
        return self._set_height(row, height)

    def _set_height(self, row: int, height: float) -> int:
        """``set_row(row, height)`` for a row height in points, without its options."""
        pixels = int(height * 4.0 / 3.0 + 0.5)
        if pixels == 0 or self._check_dimensions(
                row, self.dim_colmin if self.dim_colmin is not None else 0):
            # hidden, or out of bounds: as xlsxwriter does it
            return super().set_row(row, height)
        self.row_info[row] = RowInfo(height=pixels, row_format=None, hidden=False, level=0,
                                     collapsed=False)
        self.row_sizes[row] = [pixels, False]
        return 0

    def _write_row_cells_one_by_one(self, row: int, height: float | None,
                                    cells: Iterable[tuple[Any, Format]],
                                    clean: Callable[[str], str], first_col: int) -> None:
        if height is not None:
            self.set_row(row, height)
        for col, (value, fmt) in enumerate(cells, start=first_col):
            self._write_one(row, col, value, fmt, clean)

    def _write_one(self, row: int, col: int, value: Any, fmt: Format | None,
                   clean: Callable[[str], str]) -> None:
        if value is None or value == "":
            self._write_blank(row, col, None, fmt)
        elif isinstance(value, str):
            self._write_string(row, col, clean(value), fmt)
        elif isinstance(value, date):
            self._write_datetime(row, col, _as_datetime(value), fmt)
        else:
            self._write_number(row, col, value, fmt)

    # --- rows ---------------------------------------------------------------------------------

    def deflate_rows(self, level: int, thread: Executor) -> None:
        """Rows deflated at ``level`` on ``thread`` as they are written (``DeflatedRows``),
        for a ``SplicingZipFile`` of the same level; before any row is written."""
        if self.constant_memory and not isinstance(self.row_data_fh, DeflatedRows):
            self.row_data_fh.close()
            self.row_data_fh = self.fh = DeflatedRows(self.row_data_filename, level, thread)

    def _write_optimized_sheet_data(self) -> None:
        """``<sheetData>``: the rows written so far, left where they are for a
        ``SplicingZipFile`` (``splices``), else copied as bytes by the kernel where it can
        (xlsxwriter decodes and encodes them again, 64 kB at a time: 216 MB in a national
        roll-up), or inflated when they were deflated as written."""
        target = getattr(self.fh, "buffer", None)
        deflated = self.row_data_fh if isinstance(self.row_data_fh, DeflatedRows) else None
        if self.dim_rowmin is None or target is None:
            if deflated is not None:  # no rows (``in_memory`` has no ``constant_memory``)
                deflated.close()
            super()._write_optimized_sheet_data()
            return
        self._xml_start_tag("sheetData")
        self.fh.flush()
        self.row_data_fh.close()
        if self.splices is not None and isinstance(self.fh.name, str):
            self.splices[self.fh.name] = (target.tell(), self.row_data_filename, deflated)
            self._xml_end_tag("sheetData")
            return
        if deflated is not None:
            deflated.inflate_into(target)
        else:
            with open(self.row_data_filename, "rb") as rows:
                if hasattr(os, "sendfile"):
                    _send_file(rows.fileno(), target.fileno())
                else:  # Windows
                    shutil.copyfileobj(rows, target, 1 << 20)
        os.unlink(self.row_data_filename)
        self._xml_end_tag("sheetData")

    def _write_single_row(self, current_row_num: int = 0) -> None:
        """xlsxwriter's row writer of ``constant_memory`` mode: the pending row, then the rows
        before ``current_row_num`` that have a height but no cells (xlsxwriter leaves them
        out, so they would have the default height: the spacer rows of `Tổng hợp`)."""
        row_num = self.previous_row
        self._write_pending_row(current_row_num)
        self._row_merges.clear()
        if current_row_num > row_num + 1:
            self._write_rows_without_cells(row_num + 1, current_row_num)

    def _write_rows_without_cells(self, first: int, stop: int) -> None:
        """Rows ``first`` to ``stop - 1`` (none of them with cells) that have properties (a
        height), as empty rows: as xlsxwriter writes them outside ``constant_memory`` mode."""
        rows: Iterable[int] = range(first, stop)
        if stop - first > len(self.row_info):
            rows = sorted(r for r in self.row_info if first <= r < stop)
        for r in rows:
            info = self.row_info.get(r)
            if info is not None:
                self._write_empty_row(r, None, info)

    def _write_pending_row(self, current_row_num: int) -> None:
        """The pending row, its cells in column order (xlsxwriter's own cells written by
        xlsxwriter), one file write."""
        row_num = self.previous_row
        cells = self.table.get(row_num)
        if not cells:
            super()._write_single_row(current_row_num)
            return
        self.previous_row = current_row_num
        ref = str(row_num + 1)
        simple = self._simple_row_cells(cells, ref)
        if simple is not None:
            self._pending_runs.clear()
            self.fh.write(f"{self._row_start(row_num, ref)}{simple}</row>")
            self.table.clear()
            return
        columns = sorted(cells)
        if self._pending_runs and self._split_overwritten_runs(cells, columns, ref):
            columns = sorted(cells)
        parts = [self._row_start(row_num, ref)]
        names = _column_names()
        styles = self._style_attrs
        for col in columns:
            cell = cells[col]
            if type(cell) is str:  # written by write_row_cells
                parts.append(cell)
            elif type(cell) is tuple:
                fmt, tail = cell
                parts.append(f'<c r="{names[col]}{ref}{styles.get(fmt) or self._style(fmt)}{tail}')
            elif type(cell) is _CellRun:
                parts.extend(cell.cells)
            elif type(cell) is _BlankRun:
                parts.append(ref.join(self._run_xml(cell.fmt, col, cell.last)))
            else:  # one of xlsxwriter's cells (a date, a link's text, …)
                self.fh.write("".join(parts))
                parts.clear()
                self._write_cell(row_num, col, cell)
        parts.append("</row>")
        self.fh.write("".join(parts))
        self.table.clear()

    def _simple_row_cells(self, cells: dict[int, Any], ref: str) -> str | None:
        """The XML of the pending row's cells when they are one run of ``write_row_cells``
        or a merged range made here (its first cell and its blanks), nothing written over it:
        the rows of the big sheets. None: another row."""
        runs = self._pending_runs
        if len(runs) != 1 or len(cells) > 2:
            return None
        first, run = runs[0]
        if cells.get(first) is not run:
            return None
        if len(cells) == 1:
            return "".join(run.cells) if type(run) is _CellRun else None
        head = cells.get(first - 1)
        if type(run) is _BlankRun and type(head) is str:
            return head + ref.join(self._run_xml(run.fmt, first, run.last))
        return None

    def _split_overwritten_runs(self, cells: dict[int, Any], columns: list[int],
                                ref: str) -> bool:
        """When cells were written into a run of the pending row after it (over a merged
        range or a row's cells, as xlsxwriter allows), every run becomes one cell per
        column, the later writes winning (a run replaced the cells under it when made).
        ``columns``: the row's columns in order. True when runs were split."""
        runs, self._pending_runs = self._pending_runs, []
        spans = []
        intact = True
        for first, run in runs:
            last = first + len(run.cells) - 1 if isinstance(run, _CellRun) else run.last
            spans.append((first, last, run))
            if intact:
                if cells.get(first) is not run:
                    intact = False
                else:
                    after = columns.index(first) + 1  # no other column up to last
                    intact = after == len(columns) or columns[after] > last
        if intact:
            return False
        names = _column_names()
        claimed = {col for col, cell in cells.items() if type(cell) not in (_CellRun, _BlankRun)}
        for first, last, run in reversed(spans):  # the latest first
            if isinstance(run, _CellRun):
                pieces = run.cells
            else:
                blank = f"{self._style(run.fmt)}/>"
                pieces = [f'<c r="{names[col]}{ref}{blank}' for col in range(first, last + 1)]
            for col in range(first, last + 1):
                if col not in claimed:
                    cells[col] = pieces[col - first]
                    claimed.add(col)
        return True

    def _run_xml(self, fmt: Format, first: int, last: int) -> tuple[str, ...]:
        """The XML of formatted blanks from column ``first`` to ``last``, split where the row
        number goes (``row.join(pieces)``)."""
        key = (fmt, first, last)
        pieces = self._run_pieces.get(key)
        if pieces is None:
            names, style = _column_names(), self._style(fmt)
            pieces = self._run_pieces[key] = (
                f'<c r="{names[first]}',
                *(f'{style}/><c r="{names[col]}' for col in range(first + 1, last + 1)),
                f"{style}/>")
        return pieces

    def _write_merge_cells(self) -> None:
        """``<mergeCells>`` as xlsxwriter writes it, one string per range."""
        if not self.merge:
            return
        names = _column_names()
        self.fh.write(f'<mergeCells count="{len(self.merge)}">')
        self.fh.write("".join(
            f'<mergeCell ref="{names[c1]}{r1 + 1}:{names[c2]}{r2 + 1}"/>'
            for r1, c1, r2, c2 in self.merge))
        self.fh.write("</mergeCells>")

    def _row_start(self, row_num: int, ref: str) -> str:
        """``<row r="N" …>`` as xlsxwriter's ``_write_row`` writes it (made once per distinct
        row properties)."""
        info = self.row_info.get(row_num)
        key = (None if info is None else
               (info.height, id(info.row_format), info.hidden, info.level, info.collapsed))
        attrs = self._row_attrs.get(key)
        if attrs is None:
            fh = self.fh
            self.fh = StringIO()
            try:
                self._write_row(0, None, info)
                attrs = self.fh.getvalue()
            finally:
                self.fh = fh
            prefix = '<row r="1"'
            assert attrs.startswith(prefix), attrs
            attrs = self._row_attrs[key] = attrs[len(prefix):]
        return f'<row r="{ref}"{attrs}'

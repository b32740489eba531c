"""Surgical edits of an .xlsx/.xlsm package: only the tool's own cells change.

A workbook is a zip of XML parts. Re-saving it through a library rewrites every part (cached
formula values, charts, pictures, pivots, macros and odd staff values are lost or altered).
This module instead copies every zip member unchanged (same order, same compression method,
same timestamps; a stored or deflated member's compressed bytes are copied as they are, after
its CRC and size are checked) except:

- the worksheet XML of a sheet whose tool cells change: the bytes of the cells, rows and
  top-level elements that change are spliced in, every other byte stays as it was;
- when a tool tab is added: ``xl/workbook.xml``, its relationships and ``[Content_Types].xml``;
- ``xl/styles.xml`` only when a style the tool needs (bold grey header, wrapped text) is missing.

Tool cells are written as inline strings (``t="inlineStr"``), so ``sharedStrings.xml`` is never
touched and a value starting with "=" stays text.

Offsets come from the standard library's expat parser (``CurrentByteIndex``): it validates the
XML and reports where each element starts, and the edits are byte splices at those offsets.
No tree is rebuilt or re-serialised, so namespace prefixes, attribute order, ``mc:Ignorable``
content and unknown extensions stay exactly as they were. (lxml would add a compiled dependency
and still re-serialise what it touches; it is not needed.)

Anything this module cannot edit with certainty raises ``PackageError`` whose text (Vietnamese)
names the reason; the caller then leaves the workbook alone.
"""
from __future__ import annotations

import functools
import hashlib
import io
import re
import struct
import xml.parsers.expat
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path, PurePosixPath
from xml.sax.saxutils import escape, quoteattr

from ..core import a1
from ..core.a1 import col_number

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
STRICT_NS = "http://purl.oclc.org/ooxml/spreadsheetml/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
WORKSHEET_REL = REL_NS + "/worksheet"
STRICT_WORKSHEET_REL = "http://purl.oclc.org/ooxml/officeDocument/relationships/worksheet"
WORKSHEET_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
CALC_CHAIN_REL = REL_NS + "/calcChain"

MAX_COL = 16_384  # XFD
MAX_ROW = 1_048_576

HEADER_FILL = "FFD9D9D9"

# CT_Worksheet children, in schema order (a new element goes after its predecessors).
_SHEET_ORDER = (
    "sheetPr", "dimension", "sheetViews", "sheetFormatPr", "cols", "sheetData", "sheetCalcPr",
    "sheetProtection", "protectedRanges", "scenarios", "autoFilter", "sortState",
    "dataConsolidate", "customSheetViews", "mergeCells", "phoneticPr", "conditionalFormatting",
    "dataValidations", "hyperlinks", "printOptions", "pageMargins", "pageSetup", "headerFooter",
    "rowBreaks", "colBreaks", "customProperties", "cellWatches", "ignoredErrors", "smartTags",
    "drawing", "legacyDrawing", "legacyDrawingHF", "drawingHF", "picture", "oleObjects",
    "controls", "webPublishItems", "tableParts", "extLst",
)
_RANK = {n: i for i, n in enumerate(_SHEET_ORDER)}

_CELL_START = re.compile(rb'<(?:[\w.-]+:)?c\b[^>]*?\sr="([A-Za-z]{1,3})\d+"')
_STYLE = re.compile(rb'\ss="(\d+)"')
_FIRST_CHILD = re.compile(rb"\s*<(?:[\w.-]+:)?(v|f|is)\b")
_F_TAG = re.compile(rb"\s*<(?:[\w.-]+:)?f\b[^>]*>")
_COLS: dict[bytes, int] = {}


def _col_of(letters: bytes) -> int:
    col = _COLS.get(letters)
    if col is None:
        col = _COLS[letters] = col_number(letters.decode())
    return col


_TAG = re.compile(rb"<[^>\"']*(?:(?:\"[^\"]*\"|'[^']*')[^>\"']*)*>")
_CELL_REF = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d+)")
_WRAPS = re.compile(rb'\swrapText\s*=\s*"(?:1|true)"')  # in an <alignment> tag


# A workbook file up to this size is held in memory while it is read or edited (the reader
# and the editor then know they saw the same bytes: ``Package.trust``); a bigger one — pictures
# pasted into a sheet — is read from the disk part by part, as it is.
MAX_BUFFERED_FILE = 128 << 20


def held_bytes(path: Path) -> bytes | None:
    """The file's bytes when it is small enough to hold (``MAX_BUFFERED_FILE``), else None."""
    return path.read_bytes() if path.stat().st_size <= MAX_BUFFERED_FILE else None


class PackageError(Exception):
    """The package cannot be edited with certainty; ``str(e)`` is the Vietnamese reason."""


# --- small helpers --------------------------------------------------------------------------------

def col_letter(col: int) -> str:
    """1-based column number (the numbering of this module) -> letters (1 -> A)."""
    return a1.col_letter(col - 1)


def parse_ref(ref: str) -> tuple[int, int]:
    """ "B12" -> (12, 2)."""
    m = _CELL_REF.fullmatch(ref.strip())
    if not m:
        raise PackageError(f"địa chỉ ô không hợp lệ ({ref})")
    return int(m.group(2)), col_number(m.group(1))


def _range(ref: str) -> tuple[int, int, int, int]:
    """ "A1:C3" -> (row1, col1, row2, col2)."""
    a, _, b = ref.partition(":")
    r1, c1 = parse_ref(a)
    r2, c2 = parse_ref(b) if b else (r1, c1)
    return min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)


def _tag_end(data: bytes, start: int) -> int:
    m = _TAG.match(data, start)
    if m is None:
        raise PackageError("XML không đọc được")
    return m.end()


@functools.lru_cache(maxsize=1 << 12)
def _attr(text: str) -> str:
    return quoteattr(text, {"\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


@functools.lru_cache(maxsize=64)
def _attr_pattern(name: str) -> re.Pattern[bytes]:
    return re.compile(rb"\s" + re.escape(name.encode()) + rb"\s*=\s*(\"[^\"]*\"|'[^']*')")


def _set_attrs(tag: bytes, values: dict[str, str | None]) -> bytes:
    """A start tag with attributes set (None: removed); other bytes unchanged."""
    for name, value in values.items():
        m = _attr_pattern(name).search(tag)
        if value is None:
            if m:
                tag = tag[:m.start()] + tag[m.end():]
            continue
        new = f" {name}={_attr(value)}".encode()
        if m:
            tag = tag[:m.start()] + new + tag[m.end():]
        else:
            cut = len(tag) - (2 if tag.endswith(b"/>") else 1)
            tag = tag[:cut] + new + tag[cut:]
    return tag


def _open_tag(tag: bytes) -> bytes:
    """ "<x a='1'/>" -> "<x a='1'>"."""
    return tag[:-2].rstrip() + b">" if tag.endswith(b"/>") else tag


def _local(name: str) -> str:
    return name.rsplit(" ", 1)[-1]


def _ns(name: str) -> str:
    return name.rsplit(" ", 1)[0] if " " in name else ""


@dataclass
class _Elem:
    name: str  # local name
    start: int
    tag_end: int  # offset after the start tag
    end: int  # offset after the element
    empty: bool  # written as <x/>
    attrs: dict[str, str]


def _parse(data: bytes, on_start: Callable[[str, dict[str, str], int, int], None] | None = None,
           on_end: Callable[[str, int, int], None] | None = None) -> None:
    """Run expat over ``data``: ``on_start(name, attrs, depth, offset)``,
    ``on_end(name, depth, offset_after)``; names are "namespace local"."""
    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    depth = 0
    opened: list[tuple[int, bool]] = []

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal depth
        at = parser.CurrentByteIndex
        if on_end is not None:
            opened.append((at, data.startswith(b"/>", _tag_end(data, at) - 2)))
        if on_start is not None:
            on_start(name, attrs, depth, at)
        depth += 1

    def end(name: str) -> None:
        nonlocal depth
        depth -= 1
        if on_end is None:
            return
        at = parser.CurrentByteIndex
        _, empty = opened.pop()
        on_end(name, depth, at if empty else _tag_end(data, at))

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as e:
        raise PackageError(f"XML không đọc được ({e})") from None


def _children(data: bytes) -> tuple[str, _Elem, list[_Elem]]:
    """Root namespace, root element and its direct children."""
    stack: list[_Elem] = []
    kids: list[_Elem] = []
    root: list[_Elem] = []
    ns: list[str] = []

    def on_start(name: str, attrs: dict[str, str], depth: int, at: int) -> None:
        if depth <= 1:
            te = _tag_end(data, at)
            e = _Elem(_local(name), at, te, te, data[te - 2:te] == b"/>", attrs)
            stack.append(e)
            if depth == 0:
                root.append(e)
                ns.append(_ns(name))
            else:
                kids.append(e)

    def on_end(name: str, depth: int, after: int) -> None:
        if depth <= 1:
            stack.pop().end = after

    _parse(data, on_start, on_end)
    return ns[0], root[0], kids


def _prefix(data: bytes, elem: _Elem) -> str:
    """ "x:" when the element is written with a prefix, else ""."""
    name = re.match(rb"<([^\s/>]+)", data[elem.start:elem.tag_end])
    raw = name.group(1).decode() if name else ""
    return raw.split(":")[0] + ":" if ":" in raw else ""


Chunks = list[bytes | memoryview]  # a part's content as consecutive pieces


def _splice(data: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    """Replace [start, end) ranges (insertions: start == end), applied in order of start; at one
    offset, insertions first, each kind in the order given."""
    return b"".join(_spliced(data, edits))


def _spliced(data: bytes, edits: list[tuple[int, int, bytes]]) -> Chunks:
    """``_splice``'s result as pieces: the unchanged stretches are views of ``data``, never
    copied (a big tab's part is tens of megabytes, and a run after a person's edit changes a
    few of its cells)."""
    order = sorted(range(len(edits)),
                   key=lambda i: (edits[i][0], edits[i][0] != edits[i][1], i))
    view = memoryview(data)
    out: Chunks = []
    pos = 0
    for i in order:
        start, end, new = edits[i]
        if start < pos:
            raise PackageError("sửa chồng lên nhau")
        out += [view[pos:start], new]
        pos = end
    out.append(view[pos:])
    return out


def _insert_at(children: list[_Elem], name: str, root: _Elem) -> int:
    """Where a new top-level ``name`` element goes (after every earlier sibling kind)."""
    rank = _RANK[name]
    at = root.tag_end
    for e in children:
        if _RANK.get(e.name, -1) < rank:
            at = e.end
        else:
            break
    return at


# --- cells ----------------------------------------------------------------------------------------

def inline_cell(prefix: str, ref: str, text: str, style: int | None) -> bytes:
    s = f' s="{style}"' if style is not None else ""
    if text == "":
        return f'<{prefix}c r="{ref}"{s}/>'.encode()
    return (f'<{prefix}c r="{ref}"{s} t="inlineStr">'.encode()
            + _inline_string(prefix, text) + f"</{prefix}c>".encode())


@functools.lru_cache(maxsize=1 << 14)
def _inline_string(prefix: str, text: str) -> bytes:
    """The ``<is>`` element of a tool cell (remembered: a big unit repeats its flag texts)."""
    space = ' xml:space="preserve"' if text != text.strip() or "\n" in text else ""
    return f"<{prefix}is><{prefix}t{space}>{escape(text)}</{prefix}t></{prefix}is>".encode()


@dataclass
class CellInfo:
    col: int
    start: int
    end: int
    style: int | None
    content: bool  # holds a value, an inline string or a formula
    formula: bool
    shared_master: bool


@dataclass
class RowInfo:
    r: int
    start: int
    tag_end: int
    end: int
    empty: bool
    index: list[tuple[int, int]] | None = None  # (column, offset of the <c>), computed lazily
    cols: list[int] | None = None  # the column of each <c>, in order, computed lazily
    details: dict[int, CellInfo] = field(default_factory=dict)


@dataclass
class CellWrite:
    text: str  # "" clears the value (the cell's style stays)
    style: int | None = None  # None: keep the cell's style


class SheetDoc:
    """One worksheet part: what is where, and the edits to splice in."""

    def __init__(self, data: bytes, part: str, rows_of_interest: set[int] | None = None,
                 checked: bool = False):
        """``checked``: the reader found ``data`` well-formed, without a comment among its
        rows and with every cell addressed (``Package.trust``); not checked again here."""
        self.data, self.part = data, part
        self.rows: dict[int, RowInfo] = {}
        self.row_order: list[RowInfo] = []
        self._occupied: set[int] | None = None
        self.merges: list[tuple[int, int, int, int]] = []
        self.hyperlinks = 0
        try:
            self._scan(rows_of_interest, checked)
        except (KeyError, ValueError, IndexError, TypeError) as e:
            raise PackageError(f"tab không đọc được ({type(e).__name__})") from None
        self.cells: dict[tuple[int, int], CellWrite] = {}
        self.heights: dict[int, float | None] = {}
        self.widths: dict[int, float] = {}
        self.clear_others = False
        self.links: dict[tuple[int, int], str] | None = None
        self.print_setup = False
        self.touched_formula = False
        self.validations: list[bytes] = []  # <dataValidation> elements to add
        self.replace_widths = False  # widths also replace a column's own existing width

    # scanning
    def _scan(self, wanted: set[int] | None, checked: bool) -> None:
        """Where things are. The document is checked by expat (well-formed, SpreadsheetML;
        unless ``checked``: then only the part outside the rows is parsed, below);
        the top-level elements, merges and links come from expat callbacks on the document
        without its rows; rows and cells are located with regular expressions over
        ``sheetData`` (C speed: a 10,000-row tab takes well under a second) and only the cells
        of ``wanted`` rows (all when None) are recorded."""
        data = self.data
        try:
            if not checked:
                xml.parsers.expat.ParserCreate(namespace_separator=" ").Parse(data, True)
        except xml.parsers.expat.ExpatError as e:
            raise PackageError(f"XML không đọc được ({e})") from None
        sd = re.search(rb"<((?:[\w.-]+:)?)sheetData\b[^>]*?(/?)>", data)
        if sd is None:
            raise PackageError("tab không có phần dữ liệu (sheetData)")
        p = sd.group(1)
        if sd.group(2):
            body_start = body_end = sd.end()
            outer = data
        else:
            close = data.find(b"</" + p + b"sheetData>", sd.end())
            if close < 0:
                raise PackageError("tab không có phần dữ liệu (sheetData)")
            body_start, body_end = sd.end(), close
            outer = data[:body_start] + data[body_end:]
        shift = body_end - body_start

        def real(at: int) -> int:
            return at if at <= body_start else at + shift

        kids: list[_Elem] = []
        root: list[_Elem] = []
        stack: list[_Elem] = []
        root_ns: list[str] = []

        def on_start(name: str, attrs: dict[str, str], depth: int, at: int) -> None:
            local = _local(name)
            if depth == 0:
                root_ns.append(_ns(name))
                if _ns(name) == STRICT_NS:
                    raise PackageError("tệp lưu ở định dạng Strict Open XML")
                if _ns(name) != MAIN_NS:
                    raise PackageError("tab không phải bảng tính thông thường")
            if depth <= 1:
                te = _tag_end(outer, at)
                e = _Elem(local, real(at), real(te), real(te), outer[te - 2:te] == b"/>", attrs)
                stack.append(e)
                (root if depth == 0 else kids).append(e)
            elif local == "mergeCell" and depth == 2 and attrs.get("ref"):
                self.merges.append(_range(attrs["ref"]))
            elif local == "hyperlink" and depth == 2:
                self.hyperlinks += 1

        def on_end(name: str, depth: int, after: int) -> None:
            if depth <= 1:
                stack.pop().end = real(after)

        _parse(outer, on_start, on_end)
        self.ns = root_ns[0]
        self.root = root[0]
        self.children = kids
        self.prefix = _prefix(data, self.root)
        self._cell_close = b"</" + self.prefix.encode() + b"c>"
        body = data[body_start:body_end]
        if not checked and re.search(rb"<!--|<!\[CDATA\[|<\?", body):
            raise PackageError("phần dữ liệu của tab có chú thích XML")
        # An element prefix is only possible where ":c", ":f", ":v" or ":is" occurs; without
        # one (the usual case) the patterns below match exactly the same without their
        # optional prefix, several times faster. Counts are of an empty group (no object per
        # match).
        any_p = rb"(?:[\w.-]+:)?" if re.search(rb":(?:c|f|v|is)\b", body) else b""
        if not checked:
            cell_tags = len(re.findall(rb"<" + any_p + rb"c\b()", body))
            with_ref = len(re.findall(rb"<" + any_p + rb"c\b[^>]*?\sr=\"[A-Za-z]{1,3}\d+\"()",
                                      body))
            if with_ref != cell_tags:
                raise PackageError("ô không ghi địa chỉ")
        self._body, self._any_prefix = (body_start, body_end), any_p
        rows = self.rows
        order = self.row_order
        row_pat = re.compile(rb"<(?:[\w.-]+:)?row\b[^>]*>")
        r_pat = re.compile(rb"\sr\s*=\s*\"(\d+)\"")
        row_close = b"</" + p + b"row>"
        pos = 0
        while True:
            m = row_pat.search(body, pos)
            if m is None:
                break
            rm = r_pat.search(m.group(0))
            if rm is None:
                raise PackageError("dòng không ghi số dòng")
            n = int(rm.group(1))
            empty = m.group(0).endswith(b"/>")
            if empty:
                end = m.end()
            else:
                end = body.find(row_close, m.end())
                if end < 0:
                    raise PackageError("XML không đọc được")
                end += len(row_close)
            info = RowInfo(n, body_start + m.start(), body_start + m.end(), body_start + end,
                           empty)
            if order and n <= order[-1].r:
                raise PackageError("các dòng không theo thứ tự")
            rows[n] = info
            order.append(info)
            pos = end

    @property
    def occupied(self) -> set[int]:
        """The 1-based columns holding anything (a value, a formula, text) in any row; found
        when first asked for (only adding tool columns needs it: one more pass over a part
        that may hold tens of megabytes)."""
        if self._occupied is None:
            start, end = self._body
            full = (rb"<" + self._any_prefix + rb"c\b[^>]*?\sr=\"([A-Za-z]{1,3})\d+\"[^>]*(?<!/)>"
                    rb"\s*<" + self._any_prefix + rb"(?:v|f|is)\b")
            self._occupied = {col_number(c.decode()) for c in
                              set(re.compile(full).findall(self.data, start, end))}
        return self._occupied

    def _index(self, info: RowInfo) -> list[tuple[int, int]]:
        """(column, offset) of every cell of a row, in order (one C-speed scan)."""
        if info.index is None:
            info.index = [] if info.empty else [
                (_col_of(m.group(1)), m.start())
                for m in _CELL_START.finditer(self.data, info.tag_end, info.end)]
        return info.index

    def _cols(self, info: RowInfo) -> list[int]:
        """The column of every cell of a row, in order (no match objects: most rows only need
        to know whether a column is there)."""
        if info.cols is None:
            if info.index is not None:
                info.cols = [c for c, _ in info.index]
            else:
                known = _COLS
                info.cols = [] if info.empty else [
                    known.get(letters) or _col_of(letters)
                    for letters in _CELL_START.findall(self.data, info.tag_end, info.end)]
        return info.cols

    def _start(self, info: RowInfo, k: int) -> int:
        """Offset of the row's ``k``-th cell (0-based). The row's index is built on the first
        call (one scan), so detailing every cell of a row stays linear in its length."""
        return self._index(info)[k][1]

    def _after(self, info: RowInfo, col: int) -> int | None:
        """Offset of the row's first cell right of ``col`` (None: there is none)."""
        k = next((i for i, c in enumerate(self._cols(info)) if c > col), None)
        return None if k is None else self._start(info, k)

    def _detail(self, info: RowInfo, col: int) -> CellInfo | None:
        """The cell at ``col`` of a row: where it ends, its style, what it holds."""
        if col in info.details:
            return info.details[col]
        cols = self._cols(info)
        if col not in cols:  # (a new tool column: every row of a first write)
            return None
        k = cols.index(col)
        start = self._start(info, k)
        data = self.data
        tag_end = _tag_end(data, start)
        sm = _STYLE.search(data, start, tag_end)
        style = int(sm.group(1)) if sm else None
        if data[tag_end - 2] == 0x2F:  # "/>": no content
            end = close = tag_end
        else:
            close = data.find(self._cell_close, tag_end, info.end)
            if close < 0:
                raise PackageError("XML không đọc được")
            end = close + len(self._cell_close)
        first = _FIRST_CHILD.match(data, tag_end, close)  # searched within the content only
        formula = bool(first and first.group(1) == b"f")
        fm = _F_TAG.match(data, tag_end, close) if formula else None
        master = bool(fm and b'"shared"' in fm.group(0) and b" ref=" in fm.group(0))
        cell = CellInfo(col, start, end, style, bool(first), formula, master)
        info.details[col] = cell
        return cell

    def _all(self, info: RowInfo) -> list[CellInfo]:
        out = []
        for col, _ in self._index(info):
            cell = self._detail(info, col)
            if cell is not None:
                out.append(cell)
        return out

    def child(self, name: str) -> _Elem | None:
        return next((e for e in self.children if e.name == name), None)

    # queries
    def merged_hidden(self, row: int, col: int) -> bool:
        """Inside a merged range but not its top-left cell (the value would be hidden)."""
        return any(r1 <= row <= r2 and c1 <= col <= c2 and (row, col) != (r1, c1)
                   for r1, c1, r2, c2 in self.merges)

    def cell(self, row: int, col: int) -> CellInfo | None:
        info = self.rows.get(row)
        if info is None:
            return None
        return self._detail(info, col)

    def style_at(self, row: int, col: int) -> int | None:
        c = self.cell(row, col)
        return c.style if c else None

    @property
    def changed(self) -> bool:
        return bool(self.cells or self.heights or self.widths or self.clear_others
                    or self.links is not None or self.print_setup or self.validations)

    # rendering
    def render(self) -> Chunks:
        """The part as rendered, in pieces (``_spliced``)."""
        data, p = self.data, self.prefix
        edits: list[tuple[int, int, bytes]] = []
        targets: dict[int, dict[int, CellWrite]] = {}
        for (r, c), w in self.cells.items():
            if not (1 <= r <= MAX_ROW and 1 <= c <= MAX_COL):
                raise PackageError(f"ô ngoài giới hạn của Excel ({col_letter(c)}{r})")
            targets.setdefault(r, {})[c] = w
        rows_touched = set(targets) | set(self.heights)
        if self.clear_others:
            rows_touched |= {r.r for r in self.row_order
                             if any(c.content for c in self._all(r))}
        new_rows: list[tuple[int, bytes]] = []
        max_row, max_col = 0, 0
        for r in sorted(rows_touched):
            want = targets.get(r, {})
            info = self.rows.get(r)
            height = self.heights.get(r, ...)
            if info is None:
                cells = [(c, w) for c, w in sorted(want.items()) if w.text or w.style is not None]
                if not cells and (height is ... or height is None):
                    continue
                attrs = f' r="{r}"'
                if height is not ... and height is not None:
                    attrs += f' ht="{_num(height)}" customHeight="1"'
                body = b"".join(inline_cell(p, f"{col_letter(c)}{r}", w.text, w.style)
                                for c, w in cells)
                new_rows.append((r, f"<{p}row{attrs}".encode()
                                 + (b">" + body + f"</{p}row>".encode() if body else b"/>")))
                if cells:
                    max_row, max_col = max(max_row, r), max(max_col, cells[-1][0])
                continue
            tag = data[info.start:info.tag_end]
            new_tag = tag
            if height is not ...:
                new_tag = _set_attrs(new_tag, {"ht": _num(height) if height is not None else None,
                                               "customHeight": "1" if height is not None else None})
            inserts: list[tuple[int, bytes]] = []
            last_col = 0
            for c, w in sorted(want.items()):
                ref = f"{col_letter(c)}{r}"
                cur = self._detail(info, c)
                if cur is not None:
                    if cur.shared_master:
                        raise PackageError(f"ô {ref} chứa công thức dùng chung")
                    self.touched_formula |= cur.formula
                    style = w.style if w.style is not None else cur.style
                    new = b"" if (w.text == "" and style is None) else inline_cell(p, ref, w.text,
                                                                                 style)
                    edits.append((cur.start, cur.end, new))
                elif w.text or w.style is not None:
                    after = self._after(info, c)
                    inserts.append((after if after is not None else -1,
                                    inline_cell(p, ref, w.text, w.style)))
                    last_col = max(last_col, c)
            if self.clear_others:
                for cur in self._all(info):
                    if cur.content and cur.col not in want:
                        if cur.shared_master:
                            raise PackageError("ô chứa công thức dùng chung")
                        self.touched_formula |= cur.formula
                        ref = f"{col_letter(cur.col)}{r}"
                        edits.append((cur.start, cur.end, inline_cell(p, ref, "", cur.style)
                                      if cur.style is not None else b""))
            if last_col:
                max_row, max_col = max(max_row, r), max(max_col, last_col)
                spans = re.search(rb"\sspans\s*=\s*\"(\d+):(\d+)\"", new_tag)
                if spans and last_col > int(spans.group(2)):
                    first_col = spans.group(1).decode()
                    new_tag = _set_attrs(new_tag, {"spans": f"{first_col}:{last_col}"})
            if info.empty and inserts:
                body = b"".join(b for _, b in inserts)
                edits.append((info.start, info.end,
                              _open_tag(new_tag) + body + f"</{p}row>".encode()))
                continue
            if new_tag != tag:
                edits.append((info.start, info.tag_end, new_tag))
            close = info.end - len(f"</{p}row>")
            for at, b in inserts:
                edits.append((at if at >= 0 else close, at if at >= 0 else close, b))
        if new_rows:
            self._insert_rows(new_rows, edits)
        if self.widths:
            self._widths(edits)
        if max_row:
            self._dimension(edits, max_row, max_col)
        if self.clear_others or self.cells:
            self._fix_merges(edits)
        if self.validations:
            self._validations(edits)
        if self.links is not None:
            self._hyperlinks(edits)
        if self.print_setup:
            self._print_setup(edits)
        return _spliced(data, edits)

    def _insert_rows(self, new_rows: list[tuple[int, bytes]],
                     edits: list[tuple[int, int, bytes]]) -> None:
        p = self.prefix
        sd = self.child("sheetData")
        if sd is None:
            raise PackageError("tab không có phần dữ liệu (sheetData)")
        if sd.empty:
            body = b"".join(b for _, b in new_rows)
            edits.append((sd.start, sd.end, _open_tag(self.data[sd.start:sd.tag_end]) + body
                          + f"</{p}sheetData>".encode()))
            return
        close = sd.end - len(f"</{p}sheetData>")
        for r, b in new_rows:
            after = next((x.start for x in self.row_order if x.r > r), close)
            edits.append((after, after, b))

    def _widths(self, edits: list[tuple[int, int, bytes]]) -> None:
        p = self.prefix
        cols = self.child("cols")
        spans: list[tuple[int, int, int]] = []  # (min, max, offset of the <col>)
        if cols is not None and not cols.empty:
            data = self.data[cols.tag_end:cols.end]
            for m in re.finditer(rb"<(?:\w+:)?col\b[^>]*>", data):
                mn = re.search(rb"\smin\s*=\s*\"(\d+)\"", m.group(0))
                mx = re.search(rb"\smax\s*=\s*\"(\d+)\"", m.group(0))
                if mn and mx:
                    spans.append((int(mn.group(1)), int(mx.group(1)), cols.tag_end + m.start()))
        new = []
        for c, w in sorted(self.widths.items()):
            own = next((off for a, b, off in spans if a == b == c), None)
            if own is not None and self.replace_widths:
                tag_end = _tag_end(self.data, own)
                tag = _set_attrs(self.data[own:tag_end], {"width": _num(w), "customWidth": "1"})
                if tag != self.data[own:tag_end]:
                    edits.append((own, tag_end, tag))
                continue
            if any(a <= c <= b for a, b, _ in spans):
                continue  # already has its own width (or belongs to a staff range)
            xml = f'<{p}col min="{c}" max="{c}" width="{_num(w)}" customWidth="1"/>'.encode()
            new.append((c, xml))
        if not new:
            return
        if cols is None or cols.empty:
            body = b"".join(x for _, x in new)
            if cols is None:
                at = _insert_at(self.children, "cols", self.root)
                edits.append((at, at, f"<{p}cols>".encode() + body + f"</{p}cols>".encode()))
            else:
                edits.append((cols.start, cols.end, _open_tag(self.data[cols.start:cols.tag_end])
                              + body + f"</{p}cols>".encode()))
            return
        close = cols.end - len(f"</{p}cols>")
        for c, xml_ in new:
            at = next((off for a, _, off in sorted(spans) if a > c), close)
            edits.append((at, at, xml_))

    def _dimension(self, edits: list[tuple[int, int, bytes]], max_row: int, max_col: int) -> None:
        dim = self.child("dimension")
        if dim is None or "ref" not in dim.attrs:
            return
        try:
            r1, c1, r2, c2 = _range(dim.attrs["ref"])
        except PackageError:
            return
        if max_row <= r2 and max_col <= c2:
            return
        ref = f"{col_letter(c1)}{r1}:{col_letter(max(c2, max_col))}{max(r2, max_row)}"
        tag = self.data[dim.start:dim.tag_end]
        edits.append((dim.start, dim.tag_end, _set_attrs(tag, {"ref": ref})))

    def _fix_merges(self, edits: list[tuple[int, int, bytes]]) -> None:
        """Merged ranges that would hide a written value are split (tool tabs only: data-tab
        writes into a merged range are refused by the caller)."""
        if not self.merges:
            return
        written = [(r, c) for (r, c), w in self.cells.items() if w.text]
        bad = [m for m in self.merges
               if any(m[0] <= r <= m[2] and m[1] <= c <= m[3] and (r, c) != (m[0], m[1])
                      for r, c in written)]
        if not bad:
            return
        mc = self.child("mergeCells")
        assert mc is not None
        keep = [m for m in self.merges if m not in bad]
        p = self.prefix
        if not keep:
            edits.append((mc.start, mc.end, b""))
            return
        body = "".join(f'<{p}mergeCell ref="{col_letter(c1)}{r1}:{col_letter(c2)}{r2}"/>'
                       for r1, c1, r2, c2 in keep)
        edits.append((mc.start, mc.end,
                      f'<{p}mergeCells count="{len(keep)}">{body}</{p}mergeCells>'.encode()))

    def _validations(self, edits: list[tuple[int, int, bytes]]) -> None:
        p = self.prefix
        old = self.child("dataValidations")
        body = b"".join(self.validations)
        if old is None:
            at = _insert_at(self.children, "dataValidations", self.root)
            edits.append((at, at, f'<{p}dataValidations count="{len(self.validations)}">'.encode()
                          + body + f"</{p}dataValidations>".encode()))
            return
        count = len(re.findall(rb"<(?:\w+:)?dataValidation\b", self.data[old.start:old.end]))
        tag = _set_attrs(self.data[old.start:old.tag_end],
                         {"count": str(count + len(self.validations))})
        if old.empty:
            edits.append((old.start, old.end, _open_tag(tag) + body
                          + f"</{p}dataValidations>".encode()))
            return
        edits.append((old.start, old.tag_end, tag))
        close = old.end - len(f"</{p}dataValidations>")
        edits.append((close, close, body))

    def _hyperlinks(self, edits: list[tuple[int, int, bytes]]) -> None:
        p = self.prefix
        links = self.links or {}
        body = "".join(f'<{p}hyperlink ref="{col_letter(c)}{r}" location={_attr(loc)}/>'
                       for (r, c), loc in sorted(links.items()))
        new = f"<{p}hyperlinks>{body}</{p}hyperlinks>".encode() if links else b""
        old = self.child("hyperlinks")
        if old is not None:
            edits.append((old.start, old.end, new))
        elif new:
            at = _insert_at(self.children, "hyperlinks", self.root)
            edits.append((at, at, new))

    def _print_setup(self, edits: list[tuple[int, int, bytes]]) -> None:
        """A4 landscape, one page wide (as many tall as needed)."""
        p = self.prefix
        data = self.data
        pr = self.child("sheetPr")
        fit = f'<{p}pageSetUpPr fitToPage="1"/>'.encode()
        if pr is None:
            edits.append((self.root.tag_end, self.root.tag_end,
                          f"<{p}sheetPr>".encode() + fit + f"</{p}sheetPr>".encode()))
        elif pr.empty:
            edits.append((pr.start, pr.end, _open_tag(data[pr.start:pr.tag_end]) + fit
                          + f"</{p}sheetPr>".encode()))
        else:
            inner = data[pr.tag_end:pr.end]
            m = re.search(rb"<(?:\w+:)?pageSetUpPr\b[^>]*/>", inner)
            if m:
                tag = _set_attrs(m.group(0), {"fitToPage": "1"})
                edits.append((pr.tag_end + m.start(), pr.tag_end + m.end(), tag))
            else:
                close = pr.end - len(f"</{p}sheetPr>")
                edits.append((close, close, fit))
        setup = (f'<{p}pageSetup paperSize="9" orientation="landscape" fitToWidth="1" '
                 f'fitToHeight="0"/>').encode()
        margins = self.child("pageMargins")
        old = self.child("pageSetup")
        if old is not None:
            edits.append((old.start, old.end, setup))
        else:
            at = _insert_at(self.children, "pageSetup", self.root)
            if margins is None:  # pageMargins must come first when pageSetup is present
                setup = (f'<{p}pageMargins left="0.5" right="0.5" top="0.6" bottom="0.6" '
                         f'header="0.3" footer="0.3"/>').encode() + setup
            edits.append((at, at, setup))


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.6g}"


def validation_xml(prefix: str, sqref: str, rule: dict) -> bytes:
    """A ``<dataValidation>`` from an xlsxwriter-style rule (``export.column_validation``)."""
    def value(v: object) -> str:
        if isinstance(v, date):
            return str((v - date(1899, 12, 30)).days)
        return _num(float(v)) if isinstance(v, (int, float)) else str(v)

    kind = {"list": "list", "date": "date", "integer": "whole", "decimal": "decimal",
            "any": "none"}[rule["validate"]]
    attrs = {"type": kind, "allowBlank": "1", "sqref": sqref}
    if kind != "none":
        attrs["showErrorMessage"] = "1"
        attrs["errorStyle"] = {"warning": "warning", "information": "information"}.get(
            rule.get("error_type", "stop"), "stop")
        if rule.get("error_title"):
            attrs["errorTitle"] = rule["error_title"]
        if rule.get("error_message"):
            attrs["error"] = rule["error_message"]
    if rule.get("input_message"):
        attrs["showInputMessage"] = "1"
        attrs["promptTitle"] = rule.get("input_title", "")
        attrs["prompt"] = rule["input_message"]
    formulas: list[str] = []
    if kind == "list":
        formulas.append('"' + ",".join(rule["source"]) + '"')
    elif kind != "none":
        criteria = rule.get("criteria", "between")
        op = {"between": "between", ">=": "greaterThanOrEqual", "<=": "lessThanOrEqual",
              ">": "greaterThan", "<": "lessThan"}[criteria]
        attrs["operator"] = op
        if criteria == "between":
            formulas += [value(rule["minimum"]), value(rule["maximum"])]
        else:
            formulas.append(value(rule["value"]))
    body = "".join(f"<{prefix}formula{i}>{escape(f)}</{prefix}formula{i}>"
                   for i, f in enumerate(formulas, start=1))
    head = "".join(f" {k}={_attr(v)}" for k, v in attrs.items())
    return f"<{prefix}dataValidation{head}>{body}</{prefix}dataValidation>".encode()


# --- styles ---------------------------------------------------------------------------------------

class Styles:
    """``xl/styles.xml``: finds or appends the few cell formats the tool uses."""

    def __init__(self, data: bytes):
        self.data = data
        ns, root, kids = _children(data)
        if ns != MAIN_NS:
            raise PackageError("bảng định dạng (styles.xml) không đọc được")
        self.root, self.prefix = root, _prefix(data, root)
        self.sections = {e.name: e for e in kids}
        self.items: dict[str, list[bytes]] = {}
        for name, child in (("fonts", "font"), ("fills", "fill"), ("cellXfs", "xf")):
            sec = self.sections.get(name)
            self.items[name] = [] if sec is None else self._members(sec, child)
        self.added: dict[str, list[bytes]] = {"fonts": [], "fills": [], "cellXfs": []}
        self._wrap_cache: dict[int | None, int | None] = {}
        self._unwrap_cache: dict[int | None, int | None] = {}

    def _members(self, sec: _Elem, child: str) -> list[bytes]:
        out: list[bytes] = []
        body = self.data[sec.start:sec.end]

        def on_start(name: str, attrs: dict[str, str], depth: int, at: int) -> None:
            if depth == 1 and _local(name) == child:
                spans.append([at, at])

        def on_end(name: str, depth: int, after: int) -> None:
            if depth == 1 and _local(name) == child:
                spans[-1][1] = after

        spans: list[list[int]] = []
        _parse(body, on_start, on_end)
        for a, b in spans:
            out.append(body[a:b])
        return out

    @property
    def changed(self) -> bool:
        return any(self.added.values())

    def _find_or_add(self, section: str, xml: bytes) -> int:
        items = self.items[section] + self.added[section]
        if xml in items:
            return items.index(xml)
        if section not in self.sections:
            raise PackageError(f"bảng định dạng thiếu phần {section}")
        self.added[section].append(xml)
        return len(items)

    def _bold_font(self, size: float | None = None) -> int:
        p = self.prefix
        base = self.items["fonts"][0] if self.items["fonts"] else f"<{p}font/>".encode()
        body = re.sub(rb"<(?:\w+:)?(?:b|sz)\b[^>]*/>", b"", base)
        open_end = _tag_end(body, 0)
        extra = f"<{p}b/>" + (f'<{p}sz val="{_num(size)}"/>' if size else "")
        if body.endswith(b"/>") and open_end == len(body):
            font = _open_tag(body) + extra.encode() + f"</{p}font>".encode()
        else:
            font = body[:open_end] + extra.encode() + body[open_end:]
        return self._find_or_add("fonts", font)

    def header(self) -> int:
        """Bold, grey fill, centred, wrapped: the tool columns' header cells."""
        p = self.prefix
        font = self._bold_font()
        fill = self._find_or_add("fills", (
            f'<{p}fill><{p}patternFill patternType="solid"><{p}fgColor rgb="{HEADER_FILL}"/>'
            f'<{p}bgColor indexed="64"/></{p}patternFill></{p}fill>').encode())
        return self._find_or_add("cellXfs", (
            f'<{p}xf numFmtId="0" fontId="{font}" fillId="{fill}" borderId="0" xfId="0" '
            f'applyFont="1" applyFill="1" applyAlignment="1"><{p}alignment horizontal="center" '
            f'vertical="center" wrapText="1"/></{p}xf>').encode())

    def title(self) -> int:
        """Bold 13 pt: a tool tab's first line."""
        font = self._bold_font(13)
        return self._find_or_add("cellXfs", (
            f'<{self.prefix}xf numFmtId="0" fontId="{font}" fillId="0" borderId="0" xfId="0" '
            f'applyFont="1"/>').encode())

    def wrapped_top(self, style: int | None) -> int | None:
        """A format like ``style`` that wraps text at the top of the cell (None: ``style``
        already wraps)."""
        if style in self._wrap_cache:
            return self._wrap_cache[style]
        p = self.prefix
        base, align = self._xf_alignment(style)
        if align and _WRAPS.search(align.group(0)):
            self._wrap_cache[style] = None if style is not None else 0
            return self._wrap_cache[style]
        keep = {}
        if align:
            for name in (b"horizontal", b"indent"):
                m = re.search(rb"\s" + name + rb"\s*=\s*\"([^\"]*)\"", align.group(0))
                if m:
                    keep[name.decode()] = m.group(1).decode()
        attrs = "".join(f' {k}="{v}"' for k, v in keep.items())
        new_align = f'<{p}alignment{attrs} vertical="top" wrapText="1"/>'.encode()
        body = re.sub(rb"<(?:\w+:)?alignment\b[^>]*/>|<(?:\w+:)?alignment\b.*?</(?:\w+:)?"
                      rb"alignment>", b"", base, flags=re.DOTALL)
        open_end = _tag_end(body, 0)
        tag = _set_attrs(body[:open_end], {"applyAlignment": "1"})
        if open_end == len(body) and body.endswith(b"/>"):
            xf = _open_tag(tag) + new_align + f"</{p}xf>".encode()
        else:
            xf = tag + new_align + body[open_end:]
        index = self._find_or_add("cellXfs", xf)
        self._wrap_cache[style] = index
        return index

    def unwrapped(self, style: int | None) -> int | None:
        """A format like ``style`` whose text does not wrap (None: ``style`` does not wrap)."""
        if style in self._unwrap_cache:
            return self._unwrap_cache[style]
        base, align = self._xf_alignment(style)
        index = None
        if align and _WRAPS.search(align.group(0)):
            plain = _WRAPS.sub(b"", align.group(0))
            index = self._find_or_add("cellXfs", base.replace(align.group(0), plain, 1))
        self._unwrap_cache[style] = index
        return index

    def _xf_alignment(self, style: int | None) -> tuple[bytes, re.Match[bytes] | None]:
        """The ``<xf>`` of ``style`` (the default format when there is none) and its
        ``<alignment>`` start tag, if any."""
        xfs = self.items["cellXfs"] + self.added["cellXfs"]
        base = xfs[style] if style is not None and 0 <= style < len(xfs) else (
            xfs[0] if xfs else
            f'<{self.prefix}xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'.encode())
        return base, re.search(rb"<(?:\w+:)?alignment\b[^>]*>", base)

    def render(self) -> bytes:
        data = self.data
        edits: list[tuple[int, int, bytes]] = []
        for name in ("fonts", "fills", "cellXfs"):
            added = self.added[name]
            if not added:
                continue
            sec = self.sections[name]
            total = len(self.items[name]) + len(added)
            tag = _set_attrs(data[sec.start:sec.tag_end], {"count": str(total)})
            if sec.empty:
                edits.append((sec.start, sec.end, _open_tag(tag) + b"".join(added)
                              + f"</{self.prefix}{name}>".encode()))
                continue
            edits.append((sec.start, sec.tag_end, tag))
            close = sec.end - len(f"</{self.prefix}{name}>")
            edits.append((close, close, b"".join(added)))
        return _splice(data, edits)


# --- the package ----------------------------------------------------------------------------------

@dataclass
class SheetEntry:
    title: str
    part: str  # zip member name, e.g. "xl/worksheets/sheet1.xml"
    index: int  # 0-based position in the workbook


def _resolve(base: str, target: str) -> str:
    """A relationship target relative to the part ``base`` -> zip member name."""
    if target.startswith("/"):
        return target.lstrip("/")
    parts: list[str] = []
    for piece in (str(PurePosixPath(base).parent) + "/" + target).split("/"):
        if piece in ("", "."):
            continue
        if piece == "..":
            if parts:
                parts.pop()
            continue
        parts.append(piece)
    return "/".join(parts)


def _rels_name(part: str) -> str:
    p = PurePosixPath(part)
    return str(p.parent / "_rels" / (p.name + ".rels"))


def _relationships(data: bytes) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []

    def on_start(name: str, attrs: dict[str, str], depth: int, at: int) -> None:
        if depth == 1 and _local(name) == "Relationship":
            out.append(dict(attrs))

    _parse(data, on_start)
    return out


class Package:
    """An .xlsx/.xlsm zip opened for surgical edits (nothing is written until ``save``)."""

    def __init__(self, source: Path | bytes):
        """``source``: the file, or its bytes. A file of up to ``MAX_BUFFERED_FILE`` bytes is
        read whole, into memory: ``sha256`` is then of the very bytes edited (``trust``)."""
        try:
            if isinstance(source, bytes):
                self._held: bytes | None = source
                self.zf = zipfile.ZipFile(io.BytesIO(source))
            else:
                self._held = held_bytes(Path(source))
                self.zf = zipfile.ZipFile(io.BytesIO(self._held) if self._held is not None
                                          else source)
        except (OSError, zipfile.BadZipFile, ValueError, NotImplementedError) as e:
            raise PackageError(f"tệp không phải tệp nén hợp lệ ({type(e).__name__})") from None
        try:
            self._open()
        except (KeyError, ValueError, IndexError, TypeError) as e:
            self.zf.close()
            raise PackageError(f"cấu trúc tệp không đọc được ({type(e).__name__})") from None
        except BaseException:
            self.zf.close()
            raise

    def _open(self) -> None:
        infos = self.zf.infolist()
        names = [i.filename for i in infos]
        if len(set(names)) != len(names):
            raise PackageError("tệp có thành phần trùng tên")
        if any(i.flag_bits & 0x1 for i in infos):
            raise PackageError("tệp được mã hóa (đặt mật khẩu)")
        self.infos = infos
        self.by_name = {i.filename: i for i in infos}
        self.changed: dict[str, bytes] = {}
        self.added: list[str] = []
        self.removed: set[str] = set()
        root_rels = _relationships(self._read("_rels/.rels"))
        office = next((r for r in root_rels
                       if r.get("Type", "").endswith("/officeDocument")), None)
        if office is None:
            raise PackageError("không tìm thấy phần sổ tính trong tệp")
        if office.get("Type", "").startswith("http://purl.oclc.org/"):
            raise PackageError("tệp lưu ở định dạng Strict Open XML")
        self.workbook_part = _resolve("", office["Target"])
        self.workbook_rels_part = _rels_name(self.workbook_part)
        wb = self._read(self.workbook_part)
        ns, _, _ = _children(wb)
        if ns == STRICT_NS:
            raise PackageError("tệp lưu ở định dạng Strict Open XML")
        if ns != MAIN_NS:
            raise PackageError("phần sổ tính không đọc được")
        self.rels = _relationships(self._read(self.workbook_rels_part))
        targets = {r.get("Id"): r for r in self.rels}
        self.sheets: list[SheetEntry] = []
        self._sheet_names: list[tuple[str, str | None]] = []

        def on_start(name: str, attrs: dict[str, str], depth: int, at: int) -> None:
            if depth == 2 and _local(name) == "sheet":
                rid = attrs.get(f"{REL_NS} id")
                self._sheet_names.append((attrs.get("name", ""), rid))
                self._sheet_ids.append(int(attrs.get("sheetId", "0") or 0))

        self._sheet_ids: list[int] = []
        _parse(wb, on_start)
        for i, (title, rid) in enumerate(self._sheet_names):
            rel = targets.get(rid)
            if rel is None or rel.get("Type") != WORKSHEET_REL:
                continue  # chartsheets and the like: never edited
            part = _resolve(self.workbook_part, rel.get("Target", ""))
            if part not in self.by_name:
                raise PackageError(f"thiếu phần dữ liệu của tab \"{title}\"")
            self.sheets.append(SheetEntry(title, part, i))
        self.docs: dict[str, SheetDoc] = {}
        self._checked: frozenset[str] = frozenset()
        self._styles: Styles | None = None
        self.new_sheets: list[tuple[str, str]] = []  # (title, part)
        self.print_titles: dict[str, int] = {}

    def close(self) -> None:
        self.zf.close()

    def __enter__(self) -> Package:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read(self, name: str) -> bytes:
        if name in self.changed:
            return self.changed[name]
        info = self.by_name.get(name)
        if info is None:
            raise PackageError(f"thiếu thành phần {name}")
        try:
            return self.zf.read(info)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError,
                RuntimeError, ValueError) as e:  # damaged member, CRC, zip version, password
            raise PackageError(f"thành phần {name} bị hỏng ({type(e).__name__})") from None

    @functools.cached_property
    def sha256(self) -> str | None:
        """SHA-256 of the bytes held (None: the file was too big to hold)."""
        return None if self._held is None else hashlib.sha256(self._held).hexdigest()

    def trust(self, parts: Iterable[str], sha256: str) -> None:
        """``parts`` of the file whose SHA-256 is ``sha256`` were read whole by the streaming
        reader (``xlsx_cells.PartScan``: well-formed, no comment among the rows, every cell
        addressed): when this package holds those very bytes, their ``SheetDoc`` skips checking
        that again (a big tab: a pass of expat and three of regular expressions)."""
        if self.sha256 is not None and sha256 == self.sha256:
            self._checked = frozenset(p.lstrip("/") for p in parts)

    # sheets
    def entry(self, title: str) -> SheetEntry | None:
        return next((s for s in self.sheets if s.title == title), None)

    def sheet(self, title: str, rows: Iterable[int] | None = None) -> SheetDoc:
        doc = self.docs.get(title)
        if doc is not None:
            return doc
        entry = self.entry(title)
        if entry is None:
            raise PackageError(f"không tìm thấy tab \"{title}\"")
        data = self._read(entry.part)
        doc = SheetDoc(data, entry.part, set(rows) if rows is not None else None,
                       checked=entry.part in self._checked)
        self.docs[title] = doc
        return doc

    @property
    def styles(self) -> Styles:
        if self._styles is None:
            rel = next((r for r in self.rels if r.get("Type", "").endswith("/styles")), None)
            if rel is None:
                raise PackageError("tệp không có bảng định dạng (styles.xml)")
            self._styles_part = _resolve(self.workbook_part, rel["Target"])
            self._styles = Styles(self._read(self._styles_part))
        return self._styles

    def add_sheet(self, title: str, frozen_rows: int = 0) -> SheetDoc:
        """A new, empty worksheet at the end of the workbook (``frozen_rows`` rows frozen)."""
        if self.entry(title) is not None or any(t == title for t, _ in self._sheet_names):
            raise PackageError(f"đã có tab \"{title}\"")
        n = 1
        while f"xl/worksheets/sheet{n}.xml" in self.by_name or \
                f"xl/worksheets/sheet{n}.xml" in self.added:
            n += 1
        part = f"xl/worksheets/sheet{n}.xml"
        pane = (f'<pane ySplit="{frozen_rows}" topLeftCell="A{frozen_rows + 1}" '
                f'activePane="bottomLeft" state="frozen"/>' if frozen_rows else "")
        data = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                f'<worksheet xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><sheetPr/>'
                f'<dimension ref="A1"/><sheetViews><sheetView workbookViewId="0">{pane}'
                f'</sheetView></sheetViews>'
                f'<sheetFormatPr defaultRowHeight="15"/><sheetData/>'
                f'<pageMargins left="0.5" right="0.5" top="0.6" bottom="0.6" header="0.3" '
                f'footer="0.3"/></worksheet>').encode()
        self.added.append(part)
        self.changed[part] = data
        entry = SheetEntry(title, part, len(self._sheet_names) + len(self.new_sheets))
        self.sheets.append(entry)
        self.new_sheets.append((title, part))
        doc = SheetDoc(data, part, None)
        self.docs[title] = doc
        return doc

    def other_sheet_titles(self) -> set[str]:
        """Titles of the sheets that are not worksheets (chart sheets, macro sheets)."""
        worksheets = {s.title for s in self.sheets}
        return {t for t, _ in self._sheet_names if t not in worksheets}

    def set_print_titles(self, title: str, rows: int) -> None:
        if rows > 0:
            self.print_titles[title] = rows

    # writing
    def render(self) -> dict[str, bytes | Chunks]:
        """The changed and added parts (name -> bytes, or a worksheet's pieces)."""
        out = dict(self.changed)
        sheets: dict[str, Chunks] = {}
        touched_formula = False
        for doc in self.docs.values():
            if doc.changed or doc.part in self.added:
                sheets[doc.part] = doc.render()
                touched_formula |= doc.touched_formula
        if self._styles is not None and self._styles.changed:
            out[self._styles_part] = self._styles.render()
        if self.new_sheets or self.print_titles:
            out[self.workbook_part] = self._workbook_xml()
        if self.new_sheets:
            out[self.workbook_rels_part] = self._workbook_rels()
            out["[Content_Types].xml"] = self._content_types()
        if touched_formula:
            self._drop_calc_chain(out)
        return {**out, **sheets}

    def _drop_calc_chain(self, out: dict[str, bytes]) -> None:
        """A formula cell was overwritten: Excel's calculation chain would name a cell without a
        formula (Excel then "repairs" the file). The chain is optional and rebuilt by Excel."""
        rel = next((r for r in self.rels if r.get("Type") == CALC_CHAIN_REL), None)
        if rel is None:
            return
        part = _resolve(self.workbook_part, rel["Target"])
        self.removed.add(part)
        rels = out.get(self.workbook_rels_part) or self._read(self.workbook_rels_part)
        rels = re.sub(rb"<(?:\w+:)?Relationship\b[^>]*Id=\"" + re.escape(rel["Id"].encode())
                      + rb"\"[^>]*/>", b"", rels)
        out[self.workbook_rels_part] = rels
        types = out.get("[Content_Types].xml") or self._read("[Content_Types].xml")
        types = re.sub(rb"<(?:\w+:)?Override\b[^>]*PartName=\"/" + re.escape(part.encode())
                       + rb"\"[^>]*/>", b"", types)
        out["[Content_Types].xml"] = types

    def _workbook_xml(self) -> bytes:
        data = self._read(self.workbook_part)
        _, root, kids = _children(data)
        p = _prefix(data, root)
        rp, declare = self._rel_prefix(data, root)
        edits: list[tuple[int, int, bytes]] = []
        if declare and self.new_sheets:
            close = root.tag_end - 1  # before the ">" of the root start tag
            edits.append((close, close, f' xmlns:{rp}="{REL_NS}"'.encode()))
        sheets = next((e for e in kids if e.name == "sheets"), None)
        if sheets is None or sheets.empty:
            raise PackageError("sổ tính không có danh sách tab")
        ids = [i for i in self._sheet_ids] or [0]
        new_xml = b""
        for k, (title, _) in enumerate(self.new_sheets):
            rid = self._new_rel_ids()[k]
            new_xml += (f"<{p}sheet name={_attr(title)} sheetId=\"{max(ids) + 1 + k}\" "
                        f"{rp}:id=\"{rid}\"/>").encode()
        if new_xml:
            close = sheets.end - len(f"</{p}sheets>")
            edits.append((close, close, new_xml))
        if self.print_titles:
            names = next((e for e in kids if e.name == "definedNames"), None)
            existing = names and data[names.start:names.end] or b""
            items = b""
            for title, rows in self.print_titles.items():
                entry = self.entry(title)
                assert entry is not None
                quoted = "'" + title.replace("'", "''") + "'"
                new = (f'<{p}definedName name="_xlnm.Print_Titles" localSheetId="{entry.index}">'
                       f"{escape(quoted)}!$1:${rows}</{p}definedName>").encode()
                m = None
                for cand in re.finditer(rb"<(?:\w+:)?definedName\b[^>]*>.*?</(?:\w+:)?definedName>"
                                        rb"|<(?:\w+:)?definedName\b[^>]*/>", existing, re.DOTALL):
                    head = _TAG.match(cand.group(0))
                    tag = head.group(0) if head else b""
                    if (re.search(rb'\sname\s*=\s*"_xlnm\.Print_Titles"', tag)
                            and re.search(rb'\slocalSheetId\s*=\s*"' + str(entry.index).encode()
                                          + rb'"', tag)):
                        m = cand
                        break
                if m and names is not None:
                    edits.append((names.start + m.start(), names.start + m.end(), new))
                else:
                    items += new
            if items:
                if names is None:
                    edits.append((sheets.end, sheets.end, f"<{p}definedNames>".encode() + items
                                  + f"</{p}definedNames>".encode()))
                elif names.empty:
                    edits.append((names.start, names.end, _open_tag(data[names.start:names.tag_end])
                                  + items + f"</{p}definedNames>".encode()))
                else:
                    close = names.end - len(f"</{p}definedNames>")
                    edits.append((close, close, items))
        return _splice(data, edits)

    def _rel_prefix(self, data: bytes, root: _Elem) -> tuple[str, bool]:
        """The prefix bound to the relationships namespace on the root element, and whether the
        declaration must be added there (writers such as openpyxl 3.1.5 declare it on each
        ``<sheet>`` instead): then a prefix the root tag does not use yet."""
        tag = data[root.start:root.tag_end].decode("utf-8", "replace")
        m = re.search(r"xmlns:(\w+)\s*=\s*[\"']" + re.escape(REL_NS) + r"[\"']", tag)
        if m:
            return m.group(1), False
        used = set(re.findall(r"xmlns:(\w+)\s*=", tag))
        prefix = next(p for p in ("r", *(f"r{n}" for n in range(1, 100))) if p not in used)
        return prefix, True

    def _new_rel_ids(self) -> list[str]:
        used = {r.get("Id") for r in self.rels}
        out: list[str] = []
        n = 1
        while len(out) < len(self.new_sheets):
            rid = f"rId{n}"
            if rid not in used:
                out.append(rid)
            n += 1
        return out

    def _workbook_rels(self) -> bytes:
        data = self._read(self.workbook_rels_part)
        _, root, _ = _children(data)
        p = _prefix(data, root)
        base = str(PurePosixPath(self.workbook_part).parent)
        new = b"".join(
            (f'<{p}Relationship Id="{rid}" Type="{WORKSHEET_REL}" '
             f'Target="{PurePosixPath(part).relative_to(base)!s}"/>').encode()
            for rid, (_, part) in zip(self._new_rel_ids(), self.new_sheets))
        close = root.end - len(f"</{p}Relationships>")
        return _splice(data, [(close, close, new)])

    def _content_types(self) -> bytes:
        data = self._read("[Content_Types].xml")
        _, root, _ = _children(data)
        p = _prefix(data, root)
        new = b"".join(f'<{p}Override PartName="/{part}" ContentType="{WORKSHEET_CT}"/>'.encode()
                       for _, part in self.new_sheets)
        close = root.end - len(f"</{p}Types>")
        return _splice(data, [(close, close, new)])

    def save(self, target: Path) -> None:
        """Write the package to ``target`` (a new file): unchanged members first-to-last as
        they were, changed ones in their place, added ones at the end."""
        parts = self.render()
        with zipfile.ZipFile(target, "w") as out:
            for info in self.infos:
                if info.filename in self.removed:
                    continue
                data = parts.get(info.filename)
                if data is not None:
                    _write_part(out, _copy_info(info), data)
                    continue
                raw = self._raw(info)
                if raw is None:
                    out.writestr(_copy_info(info), self._read(info.filename))
                else:
                    _write_raw(out, _copy_info(info), info, raw)
            for name in self.added:
                info = zipfile.ZipInfo(name, date_time=self.infos[0].date_time
                                       if self.infos else (1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                _write_part(out, info, parts[name])


    def _raw(self, info: zipfile.ZipInfo) -> bytes | None:
        """An unchanged member's compressed bytes as stored, after checking that they
        decompress to its recorded size and CRC-32 (as ``ZipFile.read`` does; the content is
        checked in slices, never held whole). None: neither stored nor deflated (recompressed
        instead). Raises ``PackageError`` for a damaged member."""
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            return None
        damaged = PackageError(f"thành phần {info.filename} bị hỏng")
        fp = self.zf.fp
        if fp is None:
            raise damaged
        try:
            fp.seek(info.header_offset)
            head = _LOCAL_HEADER.unpack(fp.read(_LOCAL_HEADER.size))
            name = fp.read(head[10])
            fp.seek(head[11], 1)
            raw = fp.read(info.compress_size)
        except (OSError, struct.error, ValueError):
            raise damaged from None
        encoding = "utf-8" if info.flag_bits & 0x800 else "cp437"
        if (head[0] != b"PK\x03\x04" or name != info.orig_filename.encode(encoding)
                or len(raw) != info.compress_size):
            raise damaged
        crc, size = 0, 0
        if info.compress_type == zipfile.ZIP_STORED:
            crc, size = zlib.crc32(raw), len(raw)
        else:
            inflate = zlib.decompressobj(-15)
            rest = raw
            try:
                while rest and size <= info.file_size:
                    piece = inflate.decompress(rest, 1 << 22)
                    crc, size = zlib.crc32(piece, crc), size + len(piece)
                    rest = inflate.unconsumed_tail
                piece = inflate.flush()
            except zlib.error:
                raise damaged from None
            crc, size = zlib.crc32(piece, crc), size + len(piece)
            if not inflate.eof:
                raise damaged
        if crc != info.CRC or size != info.file_size:
            raise damaged
        return raw


# zipfile's local file header ("<4s2B4HL2L2H"): signature ... name length [10], extra length [11]
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")


def _write_raw(out: zipfile.ZipFile, info: zipfile.ZipInfo, src: zipfile.ZipInfo,
               raw: bytes) -> None:
    """Append a member whose compressed bytes ``raw`` (of ``src``) are already known. zipfile
    has no public call for this; these are the steps ``ZipFile.writestr`` takes once its
    data is compressed (``_open_to_write`` and ``_ZipWriteFile.close``, Python 3.11-3.13)."""
    info.CRC, info.file_size, info.compress_size = src.CRC, src.file_size, src.compress_size
    info.flag_bits = 0
    if not info.external_attr:
        info.external_attr = 0o600 << 16
    fp = out.fp  # a ZipFile opened with "w" (already marked modified), no write handle open
    assert fp is not None
    fp.seek(out.start_dir)
    info.header_offset = fp.tell()
    fp.write(info.FileHeader())
    fp.write(raw)
    out.start_dir = fp.tell()
    out.filelist.append(info)
    out.NameToInfo[info.filename] = info


# Deflate level of the parts a write changes (unchanged ones keep their compressed bytes): on a
# big unit's 44 MB meetings tab, level 5 takes 60 % of the default level 6's time for a result
# 2 % larger.
CHANGED_PART_LEVEL = 5

# Pieces of a part shorter than this are joined before they are written (a first write changes
# every row of a big tab: hundreds of thousands of small pieces); longer ones are written as
# they are.
_WRITE_BATCH = 1 << 20


def _write_part(out: zipfile.ZipFile, info: zipfile.ZipInfo, data: bytes | Chunks) -> None:
    """``out.writestr(info, data)`` for a part given whole or in pieces: the same member, without
    joining a big part's pieces into one copy of it first."""
    chunks: Chunks = [data] if isinstance(data, bytes) else data
    # (``compress_level`` from Python 3.13 on, where ``_compresslevel`` stays its alias)
    info._compresslevel = CHANGED_PART_LEVEL  # type: ignore[attr-defined]
    info.file_size = sum(map(len, chunks))  # as writestr sets it: decides ZIP64 the same way
    with out.open(info, "w") as dest:
        batch: Chunks = []
        size = 0
        for chunk in chunks:
            if len(chunk) >= _WRITE_BATCH:
                if batch:
                    dest.write(b"".join(batch))
                    batch, size = [], 0
                dest.write(chunk)
                continue
            batch.append(chunk)
            size += len(chunk)
            if size >= _WRITE_BATCH:
                dest.write(b"".join(batch))
                batch, size = [], 0
        if batch:
            dest.write(b"".join(batch))


def _copy_info(src: zipfile.ZipInfo) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(src.filename, date_time=src.date_time)
    info.compress_type = src.compress_type
    info.comment = src.comment
    info.create_system = src.create_system
    info.external_attr = src.external_attr
    info.internal_attr = src.internal_attr
    return info


# --- reading helpers (used by the reader) ---------------------------------------------------------

@dataclass
class FormulaScan:
    last_col: int  # 0-based, last column holding a formula (-1: none)
    uncomputed: list[tuple[int, int, str]]  # (1-based row, 1-based col, "=formula") without value


def scan_formulas(source: Path | bytes, limit: int = 200, skip: Iterable[str] = ()
                  ) -> dict[str, FormulaScan]:
    """Per sheet title: where formulas are and which have no cached value (written by a script
    and never opened in Excel/LibreOffice). Sheets without any formula are not parsed; the
    sheets ``skip`` (known to hold none) are not even read."""
    out: dict[str, FormulaScan] = {}
    skip = set(skip)
    with Package(source) as pkg:
        for entry in pkg.sheets:
            if entry.title in skip:
                continue
            data = pkg._read(entry.part)
            if b"<f" not in data and b":f" not in data:
                continue
            out[entry.title] = _formulas(data, limit)
    return {t: s for t, s in out.items() if s.last_col >= 0}


def _formulas(data: bytes, limit: int) -> FormulaScan:
    last = -1
    missing: list[tuple[int, int, str]] = []
    shared: dict[str, str] = {}
    cur: dict[str, object] = {}
    text: list[str] = []
    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    depth = 0

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal depth
        local = _local(name)
        if depth == 3 and local == "c":
            cur.clear()
            cur["ref"] = attrs.get("r", "")
            cur["t"] = attrs.get("t", "n")
        elif depth == 4 and cur:
            if local == "f":
                cur["f"] = True
                cur["si"] = attrs.get("si")
                cur["shared"] = attrs.get("t") == "shared"
                text.clear()
                cur["in_f"] = True
            elif local == "v":
                cur["in_v"] = True
        depth += 1

    def chars(s: str) -> None:
        if cur.get("in_f"):
            text.append(s)
        elif cur.get("in_v") and s:
            cur["v"] = True

    def end(name: str) -> None:
        nonlocal depth, last
        depth -= 1
        local = _local(name)
        if depth == 4 and local == "f" and cur:
            cur["in_f"] = False
            formula = "".join(text)
            cur["text"] = formula
            if cur.get("shared") and cur.get("si") is not None and formula:
                shared[str(cur["si"])] = formula
        elif depth == 4 and local == "v" and cur:
            cur["in_v"] = False
            if cur.get("t") == "str":  # an empty text result is a value ("")
                cur["v"] = True
        elif depth == 3 and local == "c" and cur:
            if cur.get("f"):
                try:
                    row, col = parse_ref(str(cur["ref"]))
                except PackageError:
                    cur.clear()
                    return
                last = max(last, col - 1)
                if not cur.get("v") and len(missing) < limit:
                    formula = str(cur.get("text") or shared.get(str(cur.get("si")), ""))
                    missing.append((row, col, "=" + formula))
            cur.clear()

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.buffer_text = True
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError:
        return FormulaScan(-1, [])
    return FormulaScan(last, missing)

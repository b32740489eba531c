"""Values-only streaming reader of one worksheet part of an .xlsx/.xlsm package.

It yields the rows openpyxl's read-only ``iter_rows(values_only=True)`` yields (``data_only``:
formula cells as their cached values), after ``reset_dimensions()``: one list per row from
row 1 on (an empty list for a row that is missing or has no cells), each as long as the
column of its last cell, with

- shared strings (looked up in the table given), inline strings (rich text runs joined,
  phonetic runs left out), ``t="str"`` and error values as text, booleans as ``bool``;
- numbers as ``int`` or ``float`` exactly as openpyxl casts them, and a number whose cell style
  has a date, time or duration format as the ``datetime``/``date``/``time``/``timedelta``
  openpyxl gives (openpyxl's own conversion, 1900 or 1904 date system);
- rows and cells without an ``r`` attribute numbered as openpyxl numbers them (LibreOffice and
  some generators leave them out), rows out of order or repeated skipped as openpyxl skips them.

Text values are cut to ``max_chars`` characters while reading.

The part is decompressed in 1 MB chunks; expat checks every byte is well-formed XML (C speed,
no Python callback per element) and finds where ``sheetData`` starts and under which prefix;
rows and cells are then taken with regular expressions over the chunk (one C-level ``findall``
per row). What the expressions do not recognise with certainty — a comment, CDATA or processing
instruction among the rows, a single-quoted or entity-bearing attribute, an unknown element in
a row or cell, a namespace declaration inside ``sheetData``, an encoding other than UTF-8, no
``sheetData`` in the SpreadsheetML namespace — raises ``Unsupported``; the caller then reads the
sheet with openpyxl. Elements outside ``sheetData`` (validations, formatting, …) are only
checked for well-formedness: the values do not depend on them.
"""
from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import IO, Any
from xml.etree.ElementTree import ParseError
from xml.parsers import expat

from openpyxl.utils.cell import column_index_from_string, coordinate_to_tuple
from openpyxl.utils.datetime import from_excel, from_ISO8601

from .xlsx_patch import MAIN_NS

CHUNK = 1 << 20


class Unsupported(Exception):
    """The part holds a construct this reader does not handle with certainty (``str(e)``
    says which); read the sheet another way."""


@lru_cache(maxsize=8)
def _patterns(prefix: bytes) -> tuple[re.Pattern[bytes], re.Pattern[bytes], re.Pattern[bytes],
                                      bytes, bytes]:
    """Row start tag pattern, cell pattern, cell content pattern, row end tag and sheetData end
    tag for one element prefix (b"" or b"x:"). A row's content runs from its start tag to the
    first row end tag (``_row_parts``). A cell holding only a value (``<v>``) or a plain inline
    string (``<is><t>``, as the tool writes its cells) is taken whole by the cell pattern; any
    other content is matched against the content pattern (CT_Cell:
    ``f?, v?, is?, extLst?``). ``(\\S)``: anything else, which the reader refuses."""
    p = re.escape(prefix)
    attrs = rb'((?:\s+[\w:.-]+="[^"&]*")*)\s*'
    row = re.compile(rb"\s*<" + p + rb'row(?:\s+r="(\d+)")?' + attrs + rb"(/?)>")
    cell = re.compile(rb"<" + p + rb'c(?:\s+r="([A-Z]{1,3})\d+")?' + attrs
                      + rb"(?:/>|><" + p + rb"v>([^<]*)</" + p + rb"v></" + p + rb"c>"
                      + rb"|><" + p + rb"is><" + p + rb'(?:t|t xml:space="preserve")>([^<]*</'
                      + p + rb"t>)</" + p + rb"is></" + p + rb"c>"
                      + rb"|>(.*?)</" + p + rb"c>)|(\S)", re.S)
    content = re.compile(
        rb"\s*(?:<" + p + rb'f\b(?:[^>"]|"[^"]*")*?(?:/>|>[^<]*</' + p + rb"f>)\s*)?"
        + rb"(?:<" + p + rb"v>([^<]*)</" + p + rb"v>\s*|<" + p + rb"v/>\s*)?"
        + rb"(<" + p + rb"is>.*?</" + p + rb"is>|<" + p + rb"is/>)?\s*"
        + rb"(?:<" + p + rb"extLst>.*?</" + p + rb"extLst>\s*)?", re.S)
    return row, cell, content, b"</" + prefix + b"row>", b"</" + prefix + b"sheetData>"


_ATTR = re.compile(rb'([\w:.-]+)="([^"]*)"')
_ENTITY = re.compile(r"&(#x[0-9A-Fa-f]+|#[0-9]+|lt|gt|amp|quot|apos);")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}


def _entity(m: re.Match[str]) -> str:
    name = m.group(1)
    if name[0] != "#":
        return _NAMED[name]
    return chr(int(name[2:], 16) if name[1] in "xX" else int(name[1:]))


def xml_text(raw: bytes) -> str:
    """Character data of an element as expat reports it: UTF-8 decoded, line ends
    normalised, entity and character references replaced."""
    text = raw.decode("utf-8")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "&" in text:
        text = _ENTITY.sub(_entity, text)
    return text


# How a cell's value is computed, from its attributes (see ``_rows``).
_SHARED, _NUMBER, _OTHER = 0, 1, 2


def _cell_attrs(blob: bytes, date_styles: Any) -> tuple[Any, str, str | None, int]:
    """(style id as openpyxl takes it, type, the ``r`` attribute when it is in ``blob``, how
    the value is computed)."""
    attrs = {k.decode(): v.decode() for k, v in _ATTR.findall(blob)}
    style: Any = attrs.get("s", 0)
    if style:
        style = int(style)
    t = attrs.get("t", "n")
    kind = _SHARED if t == "s" else _NUMBER if t == "n" and style not in date_styles else _OTHER
    return style, t, attrs.get("r"), kind


def _row_number(blob: bytes, previous: int) -> int:
    """A row's number when its ``r`` is not its first attribute (or is missing)."""
    attrs = {k: v for k, v in _ATTR.findall(blob)}
    r = attrs.get(b"r")
    if r is None:
        return previous + 1
    text = r.decode()
    try:
        return int(text)
    except ValueError:
        value = float(text)
        if value.is_integer():
            return int(value)
        raise ValueError(f"{text} is not a valid row number") from None


class _Inline:
    """Text of an ``<is>`` element as openpyxl's ``Text.from_tree(...).content`` gives it."""

    def __init__(self, prefix: bytes, max_chars: int):
        p = re.escape(prefix)
        self.plain = re.compile(rb"<" + p + rb"is><" + p + rb'(?:t|t xml:space="preserve")>'
                                + rb"([^<]*)</" + p + rb"t></" + p + rb"is>")
        self.prefix = prefix
        self.max_chars = max_chars

    def text(self, element: bytes) -> str:
        m = self.plain.fullmatch(element)
        if m is not None:
            return xml_text(m.group(1))[:self.max_chars]
        return self._general(element)[:self.max_chars]

    def _general(self, element: bytes) -> str:
        from openpyxl.cell.text import Text
        from openpyxl.xml.functions import fromstring

        name = self.prefix[:-1]
        decl = b' xmlns:' + name if name else b" xmlns"
        start = element.index(b">") if not element.endswith(b"/>") else len(element) - 2
        wrapped = element[:start] + decl + b'="' + MAIN_NS.encode() + b'"' + element[start:]
        tree: Any = fromstring(wrapped)
        text: Any = Text.from_tree(tree)  # as openpyxl's parse_cell reads an <is>
        return text.content


class _Head:
    """Finds, while expat parses, where the first SpreadsheetML ``sheetData`` starts."""

    def __init__(self, parser: Any):
        self.parser = parser
        self.at: int | None = None
        self.prefix = b""
        self.encoding: str | None = None
        parser.StartElementHandler = self.start
        parser.XmlDeclHandler = self.decl

    def decl(self, _version: str, encoding: str | None, _standalone: int) -> None:
        self.encoding = encoding

    def start(self, name: str, _attrs: Any) -> None:
        parts = name.split(" ")
        if len(parts) >= 2 and parts[0] == MAIN_NS and parts[1] == "sheetData":
            self.at = self.parser.CurrentByteIndex
            self.prefix = (parts[2] + ":").encode() if len(parts) == 3 else b""
            self.parser.StartElementHandler = None


def _feed(parser: Any, chunk: bytes) -> None:
    """One chunk to expat (the last when empty); not well-formed XML raises the error
    openpyxl's parser raises (``ParseError``), so the reader reports it the same way."""
    try:
        parser.Parse(chunk, not chunk)
    except expat.ExpatError as e:
        raise ParseError(str(e)) from None


@dataclass
class PartScan:
    """What reading a part saw besides the values: ``whole`` — it was read to its end (so
    expat found all of it well-formed, and no comment, CDATA or processing instruction is among
    its rows); ``formulas`` — a formula element may be among its cells (False only for
    certain); ``addressed`` — with ``whole``: every cell carries its address (``r``) as its
    first attribute."""
    whole: bool = False
    formulas: bool = False
    addressed: bool = False


def iter_rows(src: IO[bytes], strings: Sequence[str], epoch: datetime,
              date_styles: set[int] | frozenset[int] | dict,
              timedelta_styles: set[int] | frozenset[int] | dict,
              max_chars: int, scan: PartScan | None = None) -> Iterator[list]:
    """The rows of the worksheet part ``src`` (see the module docstring); ``scan`` is filled
    in as the part is read. Raises
    ``Unsupported`` (read the sheet another way), ``ParseError`` (not well-formed) and
    ``ValueError``/``IndexError``/``KeyError`` where openpyxl would fail too (a bad number,
    shared string index or cell reference)."""
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.namespace_prefixes = True
    head = _Head(parser)
    consumed = 0  # bytes of the part before ``buf``
    buf = b""
    first = True
    while head.at is None:
        chunk = src.read(CHUNK)
        if first:
            if chunk[:2] in (b"\xff\xfe", b"\xfe\xff"):
                raise Unsupported("mã hóa UTF-16")
            first = False
        _feed(parser, chunk)
        buf += chunk
        if head.at is None:
            if not chunk:
                raise Unsupported("không có sheetData")
            if len(buf) > 4 * CHUNK:
                consumed += len(buf) - CHUNK  # keep the tail: the start tag may straddle
                buf = buf[-CHUNK:]
        if head.encoding is not None and head.encoding.lower().replace("_", "-") not in (
                "utf-8", "utf8"):
            raise Unsupported(f"mã hóa {head.encoding}")
    patterns = _patterns(head.prefix)
    row_end, data_end = patterns[3:]
    formula_tag = b"<" + head.prefix + b"f"  # also <family> of rich text: then scanned anyway
    start = head.at - consumed
    tag = re.compile(rb"<" + re.escape(head.prefix) + rb"sheetData\b[^>]*?(/?)>").match(buf,
                                                                                          start)
    if tag is None:
        raise Unsupported("thẻ sheetData lạ")
    done = bool(tag.group(1))
    buf = b"" if done else buf[tag.end():]
    inline = _Inline(head.prefix, max_chars)
    convert = _converter(strings, epoch, date_styles, timedelta_styles, max_chars, inline)
    # the row number openpyxl counts, the next row to yield, 1 once a cell had no address first
    state = [0, 1, 0]
    seen: dict[tuple[bytes, ...], tuple[int, Any]] = {}  # a cell's text -> (column, value)
    while not done:
        end = buf.find(data_end)
        if end >= 0:
            body, rest, done = buf[:end], buf[end:], True
        else:
            cut = buf.rfind(row_end)
            body, rest = (buf[:cut + len(row_end)], buf[cut + len(row_end):]) if cut >= 0 \
                else (b"", buf)
        if body:
            if scan is not None and not scan.formulas and formula_tag in body:
                scan.formulas = True
            if b"<!" in body or b"<?" in body or b"xmlns" in body:
                raise Unsupported("chú thích, CDATA hoặc khai báo không gian tên trong dữ liệu")
            yield from _rows(body, patterns, strings, date_styles, max_chars, convert, state,
                             seen)
        if done:
            buf = rest
            break
        chunk = src.read(CHUNK)
        _feed(parser, chunk)
        if not chunk:
            raise Unsupported("sheetData không đóng")  # expat raised already if malformed
        buf = rest + chunk
    while True:  # the rest of the part: only checked to be well-formed, as openpyxl parses it
        chunk = src.read(CHUNK)
        _feed(parser, chunk)
        if not chunk:
            break
    if scan is not None:
        scan.whole = True
        scan.addressed = not state[2]


def _rows(body: bytes, patterns: tuple[re.Pattern[bytes], re.Pattern[bytes],
                                       re.Pattern[bytes], bytes, bytes],
          strings: Sequence[str], date_styles: Any, max_chars: int,
          convert: Callable[[bytes, bytes, str, Any], Any], state: list[int],
          seen: dict[tuple[bytes, ...], tuple[int, Any]]) -> Iterator[list]:
    """The rows of whole ``<row>`` elements in ``body``; ``state``: [openpyxl's row counter,
    the next row number to yield, 1 once a cell without its address first was met], carried
    from one body to the next; ``seen``: the column and value of cells met before in the part,
    by their text (a cell's column and value follow from its text when it has its column
    letters; the same cells recur thousands of times: codes, months, choices, dates), carried
    too."""
    row_pat, cell_pat, content_pat, row_end = patterns[:4]
    cols = _COLUMNS
    attrs_of: dict[bytes, tuple[Any, str, str | None, int]] = {}
    texts: dict[bytes, str] = {}  # plain inline strings of this body (the tool's repeat a lot)
    for r, blob, content in _row_parts(body, row_pat, row_end):
        idx = state[0] = int(r) if r else _row_number(blob, state[0])
        row: list = []
        append = row.append
        last = 0
        for cell in cell_pat.findall(content):
            known = seen.get(cell)
            if known is not None:
                col, value = known
            else:
                col, value = _cell(cell, last, attrs_of, texts, cols, content_pat, strings,
                                   date_styles, max_chars, convert)
                if not cell[0]:
                    state[2] = 1
                # (a date out of range warns at each of its cells, as openpyxl does; a long
                # text is not kept beyond its row)
                if cell[0] and len(seen) < _SEEN_LIMIT and value != "#VALUE!" \
                        and len(cell[2]) + len(cell[3]) + len(cell[4]) <= _SEEN_CHARS:
                    seen[cell] = (col, value)
            width = len(row)
            if col == width + 1:
                append(value)
            elif col > width:
                row.extend([None] * (col - width - 1))
                append(value)
            else:
                row[col - 1] = value
            last = col
        if last < len(row):
            del row[last:]
        nxt = state[1]
        while nxt < idx:
            nxt += 1
            yield []
        if nxt <= idx:
            nxt += 1
            yield row
        state[1] = nxt


def _row_parts(body: bytes, start: re.Pattern[bytes], end_tag: bytes
               ) -> Iterator[tuple[bytes, bytes, bytes]]:
    """(``r``, other attributes, content) of each ``<row>`` element of ``body``, which holds
    only rows and whitespace (anything else: ``Unsupported``). A row's content ends at the first
    row end tag after its start tag (``bytes.find``: a lazy ``.*?`` in the pattern tried the
    end tag at every byte, a third of the reading time of a big sheet)."""
    pos, find, match, skip = 0, body.find, start.match, len(end_tag)
    while True:
        m = match(body, pos)
        if m is None:
            if body[pos:].strip():
                raise Unsupported("phần tử lạ giữa các dòng")
            return
        r, blob, empty = m.groups()
        content_at = m.end()
        if empty:
            pos = content_at
            yield r, blob, b""
            continue
        pos = find(end_tag, content_at)
        if pos < 0:
            raise Unsupported("phần tử lạ giữa các dòng")
        yield r, blob, body[content_at:pos]
        pos += skip


_SEEN_LIMIT = 1 << 16  # distinct cell texts kept per part
_SEEN_CHARS = 1 << 10  # bytes of a cell's value text beyond which it is not kept


def _cell(cell: tuple[bytes, ...], last: int,
          attrs_of: dict[bytes, tuple[Any, str, str | None, int]], texts: dict[bytes, str],
          cols: dict[bytes, int], content_pat: re.Pattern[bytes],
          strings: Sequence[str], date_styles: Any, max_chars: int,
          convert: Callable[[bytes, bytes, str, Any], Any]) -> tuple[int, Any]:
    """(column, value) of one cell as ``cell_pat`` found it; ``last``: the previous cell's
    column."""
    letters, rest, v, plain, inner, junk = cell
    if junk:
        raise Unsupported("phần tử lạ trong dòng")
    info = attrs_of.get(rest)
    if info is None:
        info = _cell_attrs(rest, date_styles)
        if info[2] is None:
            attrs_of[rest] = info
    if letters:
        col = cols.get(letters)
        if col is None:
            col = cols[letters] = column_index_from_string(letters.decode())
    elif info[2]:
        col = coordinate_to_tuple(info[2])[1]
    else:
        col = last + 1
    value: Any
    if v:
        kind = info[3]
        try:
            if kind == _SHARED:
                value = strings[int(v)]
            elif kind == _NUMBER:
                value = float(v) if b"." in v or b"E" in v or b"e" in v else int(v)
            else:
                value = convert(v, b"", info[1], info[0])
        except ValueError:  # a reference (&#49;) in the text; or openpyxl fails too
            value = convert(v, b"", info[1], info[0])
    elif plain:  # <is><t>text</t></is>: text with its end tag
        if info[1] != "inlineStr":
            value = None
        else:
            value = texts.get(plain)
            if value is None:
                value = texts[plain] = xml_text(plain[:plain.rindex(b"<")])[:max_chars]
    elif inner:
        m = content_pat.fullmatch(inner)
        if m is None:
            raise Unsupported("nội dung ô lạ")
        value = convert(m.group(1) or b"", m.group(2) or b"", info[1], info[0])
    else:
        value = None
    return col, value


_COLUMNS: dict[bytes, int] = {}


def _converter(strings: Sequence[str], epoch: datetime, date_styles: Any, timedelta_styles: Any,
               max_chars: int, inline: _Inline) -> Callable[[bytes, bytes, str, Any], Any]:
    """value(v text, <is> element, type, style id) as openpyxl's ``parse_cell`` computes it
    with ``data_only=True``."""

    def value(v: bytes, inline_el: bytes, t: str, style: Any) -> Any:
        if t == "inlineStr":
            return inline.text(inline_el) if inline_el else None
        if not v:
            return None
        if b"&" in v or b"\r" in v:
            text: Any = xml_text(v)
        else:
            text = v
        if t == "s":
            return strings[int(text)]
        if t == "n":
            if text.__class__ is bytes:
                is_float = b"." in text or b"E" in text or b"e" in text
            else:
                is_float = "." in text or "E" in text or "e" in text
            number: Any = float(text) if is_float else int(text)
            if style in date_styles:
                try:
                    return from_excel(number, epoch, timedelta=style in timedelta_styles)
                except (OverflowError, ValueError):
                    warnings.warn(f"A cell is marked as a date but the serial value {number} "
                                  "is outside the limits for dates. The cell will be treated "
                                  "as an error.", stacklevel=2)
                    return "#VALUE!"
            return number
        if t == "b":
            return bool(int(text))
        out = text if text.__class__ is str else xml_text(text)
        if t == "d":
            return from_ISO8601(out)
        return out[:max_chars]

    return value

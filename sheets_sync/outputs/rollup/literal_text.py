"""A worksheet that writes every string as the text it is.

xlsxwriter writes a string that starts with ``<r>`` and ends with ``</r>`` unescaped, as
rich-text XML (its ``write_rich_string`` stores such strings). A unit or cell name typed in a
sheet could then inject XML into the roll-up: replace another string, add a formula. Here such
a string is handed to xlsxwriter as one rich-text run whose text is the string, XML-escaped:
xlsxwriter still writes it unescaped, and the cell shows exactly the typed characters.
"""
from __future__ import annotations

from xml.sax.saxutils import escape

from xlsxwriter.format import Format
from xlsxwriter.utility import _utf16_len, _utf16_truncate
from xlsxwriter.worksheet import Worksheet

_RUN_OPEN = '<r><t xml:space="preserve">'
_RUN_CLOSE = "</t></r>"


def looks_like_rich_text(string: str) -> bool:
    """Whether xlsxwriter would write ``string`` as rich-text XML."""
    return string.startswith("<r>") and string.endswith("</r>")


def as_one_run(string: str, limit: int) -> str:
    """``string`` as a rich-text run of plain text, at most ``limit`` UTF-16 units long
    (xlsxwriter would cut a longer one in the middle of its XML): the text is shortened."""
    room = limit - len(_RUN_OPEN) - len(_RUN_CLOSE)
    body = escape(string)
    if _utf16_len(body) > room:
        body = _utf16_truncate(body, room)
        amp = body.rfind("&")
        if amp != -1 and ";" not in body[amp:]:  # not in the middle of an escape
            body = body[:amp]
    return _RUN_OPEN + body + _RUN_CLOSE


class LiteralTextWorksheet(Worksheet):
    """``wb.add_worksheet(name, worksheet_class=LiteralTextWorksheet)``: strings are text,
    whatever they look like."""

    def _write_string(self, row: int, col: int, string: str,
                      cell_format: Format | None = None) -> int:
        if looks_like_rich_text(string):
            string = as_one_run(string, self.xls_strmax)
        return super()._write_string(row, col, string, cell_format)

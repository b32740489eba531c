"""The Party document format (Hướng dẫn 36-HD/VPTW) over python-docx: page, fonts, the header
block, title, headings, body paragraphs, tables, marked places for the Board's own words, and
"Nơi nhận" with the signature block. No content here: ``build`` decides what is said."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import docx.opc.phys_pkg
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_COLOR_INDEX
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from ..packaging import zip_closed_on_failure

FONT = "Times New Roman"
BODY_PT = 14  # 36-HD: body 13–14 pt
TABLE_PT = 12
# 36-HD margins: top 20–25 mm, bottom 20–25 mm, left 30–35 mm, right 15–20 mm.
MARGINS_MM = {"top": 20, "bottom": 20, "left": 30, "right": 15}
TEXT_WIDTH_MM = 210 - MARGINS_MM["left"] - MARGINS_MM["right"]  # 165 mm
MARK = WD_COLOR_INDEX.YELLOW  # the places the Board writes itself


@dataclass(frozen=True)
class Header:
    issuer: str  # "HUYỆN ỦY LÝ NHÂN" (regular)
    body: str  # "BAN TỔ CHỨC" (bold)
    symbol: str  # "-BC/BTCHU"
    date_line: str  # "Lý Nhân, ngày 03 tháng 12 năm 2026"


@dataclass(frozen=True)
class Signature:
    recipients: Sequence[str]  # lines after "Nơi nhận:"
    signer_for: str  # "T/M ĐẢNG ỦY" or ""
    signer_title: str  # "TRƯỞNG BAN"
    signer_name: str  # "" = a marked place


def _fonts(run_or_style_element, size: float | None = None) -> None:
    """Times New Roman for every script (Word picks eastAsia/cs fonts for some characters)."""
    rpr = run_or_style_element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), FONT)


class Doc:
    """A report being written: ``Doc().para(...)``, then ``save(path)``."""

    def __init__(self) -> None:
        self.doc = Document()
        sec = self.doc.sections[0]
        sec.orientation = WD_ORIENT.PORTRAIT
        sec.page_width, sec.page_height = Mm(210), Mm(297)
        sec.top_margin, sec.bottom_margin = Mm(MARGINS_MM["top"]), Mm(MARGINS_MM["bottom"])
        sec.left_margin, sec.right_margin = Mm(MARGINS_MM["left"]), Mm(MARGINS_MM["right"])
        sec.header_distance, sec.footer_distance = Mm(10), Mm(10)
        normal = self.doc.styles["Normal"]
        normal.font.name = FONT
        normal.font.size = Pt(BODY_PT)
        _fonts(normal.element)
        pf = normal.paragraph_format
        pf.space_before, pf.space_after = Pt(0), Pt(6)
        pf.line_spacing = 1.1
        self._page_numbers(sec)

    def _page_numbers(self, sec) -> None:
        """36-HD: the page number at the top centre, from the second page on."""
        sec.different_first_page_header_footer = True
        p = sec.header.paragraphs[0]
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = p.add_run()
        run.font.size = Pt(13)
        for kind, text in (("begin", None), (None, "PAGE"), ("end", None)):
            if kind is not None:
                el = OxmlElement("w:fldChar")
                el.set(qn("w:fldCharType"), kind)
            else:
                el = OxmlElement("w:instrText")
                el.set(qn("xml:space"), "preserve")
                el.text = text
            run._r.append(el)

    # --- blocks ----------------------------------------------------------------------------------

    def header(self, h: Header) -> None:
        """Issuing committee and body, "*", số ký hiệu at the left; "ĐẢNG CỘNG SẢN VIỆT NAM"
        and the place-date line (italic) at the right; a borderless two-column table."""
        t = self.doc.add_table(rows=1, cols=2)
        t.alignment = WD_TABLE_ALIGNMENT.CENTER
        t.autofit = False
        _column_widths(t, (72, TEXT_WIDTH_MM - 72))
        left, right = t.rows[0].cells
        _no_borders(t)
        self._cell_lines(left, [(h.issuer, dict(size=14)), (h.body, dict(size=14, bold=True)),
                                ("*", dict(size=14)), (f"Số {' ' * 8}{h.symbol}", dict(size=14))])
        self._cell_lines(right, [("ĐẢNG CỘNG SẢN VIỆT NAM", dict(size=15, bold=True,
                                                                   underline=True)),
                                 ("", dict(size=14)), ("", dict(size=14)),
                                 (h.date_line, dict(size=14, italic=True))])

    def _cell_lines(self, cell, lines) -> None:
        first = True
        for text, fmt in lines:
            p = cell.paragraphs[0] if first else cell.add_paragraph()
            first = False
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
            p.paragraph_format.space_after = Pt(0)
            p.paragraph_format.line_spacing = 1.0
            if text:
                self._run(p, text, **fmt)

    def title(self, first: str, second: str) -> None:
        """"BÁO CÁO" (bold, 16 pt), the subject (bold, 14 pt), a short rule under it."""
        p = self.doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        p.paragraph_format.space_before = Pt(18)
        p.paragraph_format.space_after = Pt(0)
        self._run(p, first, size=16, bold=True)
        p = self.doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        p.paragraph_format.space_after = Pt(0)
        self._run(p, second, size=14, bold=True)
        p = self.doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        p.paragraph_format.space_after = Pt(12)
        self._run(p, "-----", size=14)

    def heading(self, text: str, level: int = 1) -> None:
        """I. … (bold capitals), 1. … (bold), a) … (bold italic); indented like the body."""
        p = self.doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
        p.paragraph_format.first_line_indent = Mm(10)
        p.paragraph_format.space_before = Pt(6)
        p.paragraph_format.keep_with_next = True
        self._run(p, text, bold=True, italic=level >= 3)

    def para(self, *parts: str | tuple[str, dict], indent: bool = True) -> None:
        """A justified body paragraph, first line indented 10 mm; a part given as
        (text, {"bold": True}) is formatted."""
        p = self.doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
        if indent:
            p.paragraph_format.first_line_indent = Mm(10)
        for part in parts:
            if isinstance(part, tuple):
                self._run(p, part[0], **part[1])
            else:
                self._run(p, part)

    def mark(self, text: str) -> None:
        """A marked place for the Board's own words: highlighted, in square brackets."""
        p = self.doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
        p.paragraph_format.first_line_indent = Mm(10)
        run = self._run(p, text, italic=True)
        run.font.highlight_color = MARK

    def bullets(self, lines: Sequence[str]) -> None:
        for line in lines:
            self.para(f"- {line}")

    def table(self, heads: Sequence[str], rows: Sequence[Sequence[str]],
              widths_mm: Sequence[float], align: Sequence[str] | None = None,
              bold_last: bool = False, caption: str | None = None,
              size: float = TABLE_PT) -> None:
        """A bordered table (12 pt; ``size`` for wide ones), header row bold and repeated on
        every page; ``align`` per column: "l", "c" or "r"."""
        if caption:
            p = self.doc.add_paragraph()
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
            p.paragraph_format.keep_with_next = True
            p.paragraph_format.space_before = Pt(6)
            self._run(p, caption, bold=True, size=13)
        t = self.doc.add_table(rows=1 + len(rows), cols=len(heads))
        t.style = self.doc.styles["Table Grid"]
        t.alignment = WD_TABLE_ALIGNMENT.CENTER
        t.autofit = False
        _column_widths(t, widths_mm)
        _cell_margins(t, 1.0)
        align = align or ["l"] * len(heads)
        al = {"l": WD_ALIGN_PARAGRAPH.LEFT, "c": WD_ALIGN_PARAGRAPH.CENTER,
              "r": WD_ALIGN_PARAGRAPH.RIGHT}
        for r, values in enumerate([list(heads), *[list(x) for x in rows]]):
            row = t.rows[r]
            if r == 0:
                _repeat_header(row)
            _no_split(row)
            cells = row.cells  # computed from the grid on every access: once per row
            for c, value in enumerate(values):
                cell = cells[c]
                cell.width = Mm(widths_mm[c])
                p = cell.paragraphs[0]
                p.paragraph_format.space_after = Pt(0)
                p.paragraph_format.line_spacing = 1.0
                p.paragraph_format.first_line_indent = None
                p.alignment = al["c"] if r == 0 else al[align[c]]
                bold = r == 0 or (bold_last and r == len(rows))
                self._run(p, str(value), size=size, bold=bold)
        self.doc.add_paragraph().paragraph_format.space_after = Pt(0)

    def signature(self, s: Signature) -> None:
        """"Nơi nhận" at the left (bold italic 12 pt, lines 11 pt), the signer at the right
        (bold 14 pt), space to sign, the name."""
        self.doc.add_paragraph()
        t = self.doc.add_table(rows=1, cols=2)
        t.autofit = False
        _no_borders(t)
        _column_widths(t, (80, TEXT_WIDTH_MM - 80))
        left, right = t.rows[0].cells
        _no_split(t.rows[0])
        lines: list[tuple[str, dict[str, Any]]] = [
            ("Nơi nhận:", dict(size=12, bold=True, italic=True))]
        lines += [(x, dict(size=11)) for x in s.recipients]
        first = True
        for text, fmt in lines:
            p = left.paragraphs[0] if first else left.add_paragraph()
            first = False
            p.paragraph_format.space_after = Pt(0)
            p.paragraph_format.line_spacing = 1.0
            self._run(p, text, **fmt)
        right_lines = [x for x in (s.signer_for, s.signer_title) if x]
        first = True
        for text in right_lines:
            p = right.paragraphs[0] if first else right.add_paragraph()
            first = False
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
            p.paragraph_format.space_after = Pt(0)
            self._run(p, text, size=14, bold=True)
        for _ in range(4):
            right.add_paragraph().paragraph_format.space_after = Pt(0)
        p = right.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        if s.signer_name:
            self._run(p, s.signer_name, size=14, bold=True)
        else:
            run = self._run(p, "[Họ và tên người ký]", size=14, italic=True)
            run.font.highlight_color = MARK

    # --- runs ------------------------------------------------------------------------------------

    def _run(self, p, text: str, size: float | None = None, bold: bool = False,
             italic: bool = False, underline: bool = False):
        run = p.add_run(text)  # Times New Roman from the Normal style (every script)
        if size is not None:
            run.font.size = Pt(size)
        run.bold, run.italic = bold or None, italic or None
        if underline:
            run.underline = True
        return run

    def save(self, path) -> None:
        self.doc.core_properties.author = "sheets-sync"
        with zip_closed_on_failure(docx.opc.phys_pkg):
            self.doc.save(str(path))


def _column_widths(table, widths_mm: Sequence[float]) -> None:
    """Fixed column widths that Word and LibreOffice both honour (grid and every cell)."""
    tbl_pr = table._tbl.tblPr
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    tbl_pr.append(layout)
    for col, w in zip(table.columns, widths_mm):
        col.width = Mm(w)
    if len(table.rows) == 1:  # the layout tables (header, signature); data tables set theirs
        for cell, w in zip(table.rows[0].cells, widths_mm):
            cell.width = Mm(w)


def _cell_margins(table, mm: float) -> None:
    """Left and right inner margins of every cell (Word's default 1.9 mm wastes narrow
    columns)."""
    mar = OxmlElement("w:tblCellMar")
    for side in ("left", "right"):
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:w"), str(int(mm * 56.7)))  # twentieths of a point
        el.set(qn("w:type"), "dxa")
        mar.append(el)
    table._tbl.tblPr.append(mar)


def _no_borders(table) -> None:
    tbl_pr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:val"), "nil")
        borders.append(el)
    tbl_pr.append(borders)


def _repeat_header(row) -> None:
    tr_pr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    tr_pr.append(el)


def _no_split(row) -> None:
    tr_pr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:cantSplit")
    el.set(qn("w:val"), "true")
    tr_pr.append(el)

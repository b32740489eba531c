"""The streaming worksheet reader (``sources.xlsx_cells``) gives ``read_xlsx`` exactly what the
openpyxl reader gave: for every workbook the demo generates, the LibreOffice-saved fixture, an
Excel-like workbook with formulas, charts and validations, a workbook after the tool wrote its
flags into it, and hand-written packages with each construct that differs between generators
(no ``r`` attributes, prefixed elements, rows out of order, rich and inline text, entities,
every cell type, date formats built-in and custom, the 1904 date system, cut text), the
``RawWorkbook`` — every value and its type, and the meta — equals the one read with openpyxl.
Parts the streaming reader refuses (comments among the rows, single-quoted attributes) are
read by openpyxl and give the same result too."""
from __future__ import annotations

import shutil
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlsxwriter

from helpers import TEMPLATE
from sheets_sync.core.errors import UnitReadError
from sheets_sync.sources import local_reader
from sheets_sync.sources.local_reader import MAX_CELL_CHARS, read_xlsx
from xlsx_fixtures import LO_UNIT, unit_with_objects

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
MEETINGS = TEMPLATE.tab("meetings").name


def _typed(book: Any) -> Any:
    """Everything of a read that must be equal: sheets with each value's type, the meta
    without openpyxl's load warnings (not used by anything) and without the parts the streaming
    reader vouches for (``checked_parts``: tested on their own)."""
    if isinstance(book, UnitReadError):
        return ("error", str(book), book.status)
    return ([(s.title, [[(type(v).__name__, v) for v in row] for row in s.rows])
             for s in book.sheets],
            {k: v for k, v in book.meta.items() if k not in ("warnings", "checked_parts")})


def _both(path: Path, monkeypatch: pytest.MonkeyPatch,
          fallbacks: list[str] | None = None) -> tuple[Any, Any]:
    """The read with the streaming reader (the titles of the sheets it left to openpyxl go to
    ``fallbacks``) and the read with openpyxl only."""
    def read() -> Any:
        try:
            return read_xlsx(path)
        except UnitReadError as e:
            return e

    openpyxl_rows = local_reader._openpyxl_rows

    def recorded(reader: Any, part: Any) -> Any:
        if fallbacks is not None:
            fallbacks.append(part.title)
        return openpyxl_rows(reader, part)

    with monkeypatch.context() as m:
        m.setattr(local_reader, "_openpyxl_rows", recorded)
        streamed = _typed(read())
    with monkeypatch.context() as m:
        m.setattr(local_reader, "_rows_of", openpyxl_rows)
        with_openpyxl = _typed(read())
    return streamed, with_openpyxl


def _assert_same(path: Path, monkeypatch: pytest.MonkeyPatch,
                 fallback: tuple[str, ...] = ()) -> Any:
    """The two reads are equal, and only the sheets ``fallback`` were left to openpyxl."""
    left: list[str] = []
    streamed, with_openpyxl = _both(path, monkeypatch, left)
    assert streamed == with_openpyxl, path.name
    assert sorted(left) == sorted(fallback), path.name
    return streamed


# --- workbooks as generators write them ---------------------------------------------------------

def test_every_demo_workbook(tmp_path, monkeypatch):
    from sheets_sync_demo import generate_demo

    config = generate_demo(tmp_path, 2026, date(2026, 11, 25), 2026)
    books = sorted((config.parent / "data").glob("*.xlsx"))
    assert len(books) >= 5
    for path in books:
        got = _assert_same(path, monkeypatch)
        assert any(rows for _, rows in got[0]), path.name


def test_libreoffice_saved_and_excel_like_workbooks(tmp_path, monkeypatch):
    lo = tmp_path / "lo.xlsx"
    shutil.copy(LO_UNIT, lo)
    _assert_same(lo, monkeypatch)
    got = _assert_same(unit_with_objects(tmp_path / "objects.xlsx"), monkeypatch)
    assert ("bool", True) in [v for _, rows in got[0] for row in rows for v in row]


def test_workbook_after_the_tool_wrote_its_flags(tmp_path, monkeypatch):
    """Inline strings in the tool columns, the tool's own tabs, widths and heights."""
    from click.testing import CliRunner

    from sheets_sync.cli import cli
    from sheets_sync_demo import generate_demo

    config = generate_demo(tmp_path, 2026, date(2026, 11, 25), 2026)
    res = CliRunner().invoke(cli, ["run", "--config", str(config), "--as-of", "2026-11-25"])
    assert res.exit_code in (0, 1), res.output
    books = sorted((config.parent / "data").glob("*.xlsx"))
    flagged = 0
    for path in books:
        with zipfile.ZipFile(path) as zf:
            flagged += any(b't="inlineStr"' in zf.read(n) for n in zf.namelist()
                           if n.startswith("xl/worksheets/"))
        _assert_same(path, monkeypatch)
    assert flagged >= 5


def test_openpyxl_saved_workbook_with_dates_times_and_formulas(tmp_path, monkeypatch):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = MEETINGS
    ws.append(["Ngày", "Giờ", "Số", "Công thức", "Chữ"])
    ws.append([datetime(2026, 3, 4, 19, 30), datetime(2026, 3, 4).time(), 1.5, "=1+1", "a&b<c>"])
    ws.append([date(2026, 1, 2), None, -0.0, "=A2", "  dấu cách  "])
    ws["B3"] = 0.75
    ws["B3"].number_format = "[h]:mm:ss"
    ws["C3"].number_format = "dd/mm/yyyy"
    ws["C4"] = 45000
    ws["C4"].number_format = "[$-409]d-mmm-yy;@"
    hidden = wb.create_sheet("Ẩn")
    hidden.sheet_state = "hidden"
    hidden.append([True, False, "#N/A"])
    path = tmp_path / "openpyxl.xlsx"
    wb.save(path)
    got = _assert_same(path, monkeypatch)
    kinds = {k for _, rows in got[0] for row in rows for k, _ in row}
    assert {"datetime", "time", "timedelta", "float", "str"} <= kinds


# --- hand-written packages ------------------------------------------------------------------------

STYLES = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="{MAIN}"><numFmts count="2"><numFmt numFmtId="164" formatCode="dd/mm/yyyy"/>
<numFmt numFmtId="165" formatCode="&quot;Tháng &quot;0"/></numFmts>
<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>
<fills count="2"><fill><patternFill patternType="none"/></fill>
<fill><patternFill patternType="gray125"/></fill></fills>
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
<cellXfs count="8"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>
<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="20" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="22" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="46" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>
</styleSheet>"""

STRINGS = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<sst xmlns="{MAIN}" count="4" uniqueCount="4"><si><t>Mã chi bộ</t></si>
<si><r><rPr><b/></rPr><t>Sinh hoạt </t></r><r><t xml:space="preserve">tháng  1</t></r>
<rPh sb="0" eb="1"><t>PH</t></rPh></si>
<si><t>x005F_x000D_ và &amp; &lt;</t></si><si><t/></si></sst>"""


def _package(path: Path, sheets: list[tuple[str, str]], date1904: bool = False,
             states: dict[str, str] | None = None) -> Path:
    """A minimal .xlsx: ``sheets`` as (title, worksheet XML), the styles and strings above."""
    states = states or {}
    pr = '<workbookPr date1904="1"/>' if date1904 else "<workbookPr/>"
    entries = "".join(
        f'<sheet name="{t}" sheetId="{i}" r:id="rId{i}"'
        + (f' state="{states[t]}"' if t in states else "") + "/>"
        for i, (t, _) in enumerate(sheets, start=1))
    workbook = (f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="http://'
                'schemas.openxmlformats.org/officeDocument/2006/relationships">'
                f"{pr}<sheets>{entries}</sheets></workbook>")
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    rels = "".join(f'<Relationship Id="rId{i}" Type="{rel}/worksheet" '
                   f'Target="worksheets/sheet{i}.xml"/>' for i in range(1, len(sheets) + 1))
    n = len(sheets)
    rels += (f'<Relationship Id="rId{n + 1}" Type="{rel}/styles" Target="styles.xml"/>'
             f'<Relationship Id="rId{n + 2}" Type="{rel}/sharedStrings" '
             'Target="sharedStrings.xml"/>')
    pkg_rels = "http://schemas.openxmlformats.org/package/2006/relationships"
    ct_main = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    overrides = "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
                        f'ContentType="{ct_main}.worksheet+xml"/>' for i in range(1, n + 1))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml",
                    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.'
                    'openxmlformats.org/package/2006/content-types"><Default Extension="rels" '
                    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                    '<Default Extension="xml" ContentType="application/xml"/>'
                    f'<Override PartName="/xl/workbook.xml" ContentType="{ct_main}.sheet.main'
                    '+xml"/><Override PartName="/xl/styles.xml" '
                    f'ContentType="{ct_main}.styles+xml"/><Override PartName="/xl/'
                    f'sharedStrings.xml" ContentType="{ct_main}.sharedStrings+xml"/>'
                    f"{overrides}</Types>")
        zf.writestr("_rels/.rels", f'<?xml version="1.0" encoding="UTF-8"?><Relationships '
                                   f'xmlns="{pkg_rels}"><Relationship Id="rId1" Type="{rel}/'
                                   'officeDocument" Target="xl/workbook.xml"/></Relationships>')
        zf.writestr("xl/workbook.xml", workbook)
        zf.writestr("xl/_rels/workbook.xml.rels",
                    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{pkg_rels}">'
                    f"{rels}</Relationships>")
        zf.writestr("xl/styles.xml", STYLES)
        zf.writestr("xl/sharedStrings.xml", STRINGS)
        for i, (_, xml) in enumerate(sheets, start=1):
            zf.writestr(f"xl/worksheets/sheet{i}.xml", xml)
    return path


def _sheet(rows: str, prefix: str = "", head: str = '<dimension ref="A1:C3"/>',
           tail: str = "", root_attrs: str = "") -> str:
    p = f"{prefix}:" if prefix else ""
    decl = f'xmlns:{prefix}="{MAIN}"' if prefix else f'xmlns="{MAIN}"'
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<{p}worksheet {decl} '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
            f"{root_attrs}>"
            f"{head.replace('<', '<' + p) if p else head}<{p}sheetData>{rows}</{p}sheetData>"
            f"{tail}</{p}worksheet>")


ALL_TYPES = (
    '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c>'
    '<c r="C1" t="s"><v>2</v></c><c r="D1" t="s"><v>3</v></c></row>'
    '<row r="2" spans="1:9" ht="20" customHeight="1"><c r="A2" s="1"><v>46000</v></c>'
    '<c r="B2" s="2"><v>0.8125</v></c><c r="C2" s="3"><v>46000.75</v></c>'
    '<c r="D2" s="4"><v>1.25</v></c><c r="E2" s="5"><v>45292</v></c><c r="F2" s="6"><v>3</v></c>'
    '<c r="G2" s="7"><v>12</v></c><c r="H2" s="1"><v>10000000000</v></c>'
    '<c r="I2" s="1"><v>0.5</v></c></row>'
    '<row r="3"><c r="A3" t="b"><v>1</v></c><c r="B3" t="b"><v>0</v></c>'
    '<c r="C3" t="e"><v>#N/A</v></c><c r="D3" t="str"><v>a &amp; b &#x1EA1; &#7841;</v></c>'
    '<c r="E3" t="d"><v>2026-03-04T19:30:00</v></c><c r="F3"><v>1E5</v></c>'
    '<c r="G3"><v>-0</v></c><c r="H3"><v>007</v></c><c r="I3"><v>1.50</v></c>'
    '<c r="J3" t="inlineStr"><is><t>dòng\r\nhai</t></is></c>'
    '<c r="K3" t="inlineStr"><is><r><t>in</t></r><r><rPr><i/></rPr><t xml:space="preserve"> '
    'đậm</t></r><rPh sb="0" eb="1"><t>X</t></rPh></is></c>'
    '<c r="L3" t="inlineStr"><is/></c><c r="M3" t="inlineStr"><v>9</v></c>'
    '<c r="N3"><v></v></c><c r="O3"><v/></c><c r="P3" s="3"/><c r="Q3"></c>'
    '<c r="R3"><f>1+1</f><v>2</v></c><c r="S3" t="str"><f>"x"&amp;"y"</f><v>xy</v></c>'
    '<c r="T3"><f t="shared" ref="T3:T4" si="0">R3*2</f><v>4</v></c>'
    '<c r="U3" t="str"><f>""</f><v></v></c><c r="V3"><f>SUM(A1:A2)</f></c>'
    '<c r="W3" t="n"><v>  42 </v></c><c r="X3" t="s"><v>&#50;</v></c></row>'
    '<row r="4"><c r="T4"><f t="shared" si="0"/><v>4</v></c></row>'
)


@pytest.mark.parametrize("date1904", [False, True])
def test_every_cell_type_and_date_format(tmp_path, monkeypatch, date1904):
    path = _package(tmp_path / "types.xlsx", [(MEETINGS, _sheet(ALL_TYPES))], date1904)
    got = _assert_same(path, monkeypatch)
    values = [v for _, rows in got[0] for row in rows for v in row]
    assert ("str", "Sinh hoạt tháng  1") in values  # rich runs joined, phonetic left out
    assert ("str", "dòng\nhai") in values and ("str", "x000D_ và & <") in values
    assert ("str", "a & b ạ ạ") in values and ("str", "in đậm") in values
    assert ("bool", True) in values and ("str", "#N/A") in values
    assert ("str", "#VALUE!") in values  # a date serial out of range, as openpyxl marks it
    assert ("str", "=SUM(A1:A2)") in values  # no cached value: the formula's text
    assert {k for k, _ in values} >= {"datetime", "time", "timedelta", "int", "float"}


def test_cells_repeated_down_the_rows_read_as_each_alone(tmp_path, monkeypatch):
    """A cell's column and value are kept by its text once met (codes, months, dates recur
    down a big tab): rows of the same cells, with and without addresses, in both chunks of a
    part longer than a chunk, read as openpyxl reads them — a date out of range warns at each
    of its cells as with openpyxl."""
    one = ALL_TYPES.split('<row r="3">')[1].split("</row>")[0]
    body = [ALL_TYPES]
    for r in range(4, 3000):
        cells = one.replace("3\"", f"{r}\"") if r % 3 else (
            (f'<c r="C{r}"><v>1</v></c>' if r % 2 else "") + '<c t="s"><v>2</v></c><c><v>7</v></c>')
        body.append(f'<row r="{r}">{cells}<c r="Y{r}" s="1"><v>10000000000</v></c>'
                    f'<c r="Z{r}" t="s"><v>{r % 4}</v></c></row>')
    path = _package(tmp_path / "repeated.xlsx", [(MEETINGS, _sheet("".join(body)))])
    monkeypatch.setattr("sheets_sync.sources.xlsx_cells.CHUNK", 1 << 14)
    got = _assert_same(path, monkeypatch)
    rows = got[0][0][1]
    assert len(rows) == 2999 and rows[5][24] == rows[6][24] == ("str", "#VALUE!")
    assert rows[5][1] == ("int", 7) and rows[5][2:24] == [("NoneType", None)] * 22
    assert rows[8][2:5] == [("int", 1), rows[5][0], ("int", 7)]  # no address: after C
    assert rows[6][:2] == [("bool", True), ("bool", False)] and rows[6][25] != rows[7][25]
    warned = [w for w in read_xlsx(path).meta["warnings"] if "limits for dates" in w]
    assert len(warned) == 2997


def test_layouts_generators_write(tmp_path, monkeypatch):
    no_refs = ('<row><c t="s"><v>0</v></c><c><v>1</v></c><c r="E1"><v>5</v></c><c><v>6</v></c>'
               '</row><row/><row spans="1:2"><c t="b"><v>1</v></c></row>')
    disorder = ('<row r="3"><c r="C3"><v>3</v></c><c r="A3"><v>1</v></c><c r="B3"><v>2</v>'
                '</c></row><row r="2"><c r="A2"><v>9</v></c></row><row r="3"><c r="A3"><v>7'
                '</v></c></row><row r="7.0"><c r="B7"><v>1</v></c><c r="B7"><v>2</v></c></row>'
                '<row r="9" x14ac:dyDescent="0.25"><c r="A9"><v>1</v></c>'
                '</row>')
    pretty = ('\n  <row r="1">\n    <c r="A1" t="s">\n      <v>1</v>\n    </c>\n'
              '    <c s="1" r="B1">\n      <v>46000</v>\n    </c>\n  </row>\n'
              '  <row r="2" spans="1:1"/>\n  <row r="3"><c r="A3"><v>1</v></c></row>\n')
    prefixed = ('<x:row r="1"><x:c r="A1" t="s"><x:v>0</x:v></x:c><x:c r="B1" t="inlineStr">'
                '<x:is><x:t>chữ</x:t></x:is></x:c><x:c r="C1" s="1"><x:v>46000</x:v></x:c>'
                '</x:row><x:row r="2"><x:c r="A2" t="inlineStr"><x:is><x:r><x:t>a</x:t></x:r>'
                '</x:is></x:c></x:row>')
    comment = '<row r="1"><!-- ghi chú --><c r="A1"><v>1</v></c></row>'
    quoted = "<row r='1'><c r='A1' t='s'><v>0</v></c></row>"
    wide = ('<row r="1"><c r="A1"><v>1</v></c><c r="XFD1"><v>2</v></c></row>'
            '<row r="2"><c r="b2"><v>3</v></c><c r="" t="s"><v>0</v></c></row>')
    sheets = [(MEETINGS, _sheet(no_refs, head="")),
              ("Lộn xộn", _sheet(disorder, head='<dimension ref="A1:XFD1048576"/>',
                                 root_attrs=' xmlns:x14ac="urn:x"')),
              ("Đẹp", _sheet(pretty, head='<dimension ref="A1"/>')),
              ("Tiền tố", _sheet(prefixed, prefix="x")),
              ("Chú thích", _sheet(comment)), ("Nháy đơn", _sheet(quoted)),
              ("Rộng", _sheet(wide)), ("Trống", _sheet(""))]
    path = _package(tmp_path / "layouts.xlsx", sheets, states={"Đẹp": "hidden"})
    got = _assert_same(path, monkeypatch, fallback=("Chú thích", "Nháy đơn"))
    titles = [t for t, _ in got[0]]
    assert titles == [t for t, _ in sheets]
    by_title = dict(got[0])
    assert by_title[MEETINGS][0][:2] == [("str", "Mã chi bộ"), ("int", 1)]
    assert by_title["Chú thích"] == [[("int", 1)]] and by_title["Nháy đơn"][0][0][1] == "Mã chi bộ"


def test_text_is_cut_while_reading(tmp_path, monkeypatch):
    long = "đ" * (MAX_CELL_CHARS + 10)
    rows = (f'<row r="1"><c r="A1" t="inlineStr"><is><t>{long}</t></is></c>'
            f'<c r="B1" t="str"><v>{long}</v></c><c r="C1" t="e"><v>{long}</v></c></row>')
    path = _package(tmp_path / "long.xlsx", [(MEETINGS, _sheet(rows))])
    got = _assert_same(path, monkeypatch)
    assert [len(v) for _, v in got[0][0][1][0]] == [MAX_CELL_CHARS] * 3


@pytest.mark.parametrize("rows", [
    '<row r="1"><c r="A1" t="s"><v>99</v></c></row>',  # no such shared string
    '<row r="1"><c r="A1"><v>abc</v></c></row>',  # not a number
    '<row r="1.5"><c r="A1"><v>1</v></c></row>',  # not a row number
    '<row r="1"><c r="A1"><v>1</v></c></row><row r="2">',  # not well-formed
    # half an emoji: XML has no such character (Excel never writes one)
    '<row r="1"><c r="A1" t="inlineStr"><is><t>CB&#xD83D;02</t></is></c></row>',
])
def test_damaged_sheets_fail_as_with_openpyxl(tmp_path, monkeypatch, rows):
    path = _package(tmp_path / "bad.xlsx", [(MEETINGS, _sheet(rows))])
    streamed, with_openpyxl = _both(path, monkeypatch)
    assert streamed == with_openpyxl
    assert streamed[0] == "error"


def test_chart_sheet_is_left_out_as_before(tmp_path, monkeypatch):
    path = tmp_path / "chart.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet(MEETINGS)
    ws.write_row(0, 0, ["a", 1, 2])
    chart = wb.add_chart({"type": "line"})
    chart.add_series({"values": f"='{MEETINGS}'!$B$1:$C$1"})
    cs = wb.add_chartsheet("Kiểm tra")
    cs.set_chart(chart)
    wb.close()
    got = _assert_same(path, monkeypatch)
    assert [t for t, _ in got[0]] == [MEETINGS]

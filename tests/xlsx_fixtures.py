"""Unit workbooks the way communes have them: formulas (helper columns whose result is "",
checkboxes as =TRUE()), a logo, a chart, a comment, validations, conditional formats.

``unit_with_objects`` builds one with xlsxwriter (an Excel-like package: cached values
written). ``python tests/xlsx_fixtures.py`` re-creates ``tests/fixtures/lo-unit.xlsx``: the same
workbook opened and saved by real LibreOffice (``soffice --headless --convert-to xlsx``), so
the tests never need LibreOffice.
"""
from __future__ import annotations

import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from datetime import date
from pathlib import Path

import xlsxwriter

sys.path.insert(0, str(Path(__file__).parent))

from helpers import TEMPLATE, cell, meeting

FIXTURES = Path(__file__).parent / "fixtures"
LO_UNIT = FIXTURES / "lo-unit.xlsx"
XLS_UNIT = FIXTURES / "unit-97-2003.xls"
ENCRYPTED_UNIT = FIXTURES / "unit-password.xlsx"
YEAR = 2026


def png(width: int = 24, height: int = 12) -> bytes:
    """A small red/blue PNG (a commune's logo stand-in), without any imaging library."""
    raw = b"".join(b"\x00" + b"".join(b"\xc0\x10\x10" if (x // 6 + y // 6) % 2 else
                                      b"\x10\x30\xc0" for x in range(width))
                   for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                                               0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _ids(tab_id: str) -> list[str]:
    return [c.id for c in TEMPLATE.tab(tab_id).columns]


def _headers(tab_id: str) -> list[str]:
    return [c.header for c in TEMPLATE.tab(tab_id).columns]


def unit_with_objects(path: Path) -> Path:
    """Chi bộ: a title, the header on row 3, a helper formula column right of the data giving
    "" (no header); Sinh hoạt: a checkbox column (=TRUE()), a comment, a list validation, a
    conditional format; Triển khai: a chart and a logo."""
    folder = Path(tempfile.mkdtemp())
    logo = folder / "logo.png"
    logo.write_bytes(png())
    wb = xlsxwriter.Workbook(str(path))
    bold = wb.add_format({"bold": True, "font_size": 14})
    date_fmt = wb.add_format({"num_format": "dd/mm/yyyy"})

    ws = wb.add_worksheet("Chi bộ")
    ws.merge_range("A1:F1", "SỔ THEO DÕI CHI BỘ", bold)
    ids = _ids("cells")
    ws.write_row(2, 0, _headers("cells"))
    for r, code in enumerate(("CB01", "CB02"), start=3):
        row = cell(code)
        ws.write_row(r, 0, [row.get(c) for c in ids])
        helper = len(ids) + 1  # one empty column, then the staff helper formula
        ws.write_formula(r, helper, f'=IF(A{r + 1}="";"thiếu mã";"")'.replace(";", ","), None, "")
    ws.set_column(0, 0, 11)
    ws.set_column(1, 1, 31)

    ws = wb.add_worksheet("Sinh hoạt")
    ids = _ids("meetings")
    ws.write_row(0, 0, [*_headers("meetings"), "Đã duyệt"])
    rows = [meeting("CB01", YEAR, 9), meeting("CB01", YEAR, 10, meeting_date=date(2026, 10, 12)),
            meeting("CB02", YEAR, 10, note="Ghi chú\r\ncó xuống dòng")]
    for r, row in enumerate(rows, start=1):
        for c, cid in enumerate(ids):
            v = row.get(cid)
            if isinstance(v, date):
                ws.write_datetime(r, c, v, date_fmt)
            elif v is not None:
                ws.write(r, c, v)
        ws.write_formula(r, len(ids), "=TRUE()", None, True)
    ws.write_comment("A2", "Đã kiểm tra")
    rating = ids.index("rating")
    ws.data_validation(1, rating, 200, rating,
                       {"validate": "list", "source": ["Tốt", "Khá", "Trung bình", "Kém"]})
    score = ids.index("score")
    ws.conditional_format(1, score, 200, score, {"type": "cell", "criteria": "<", "value": 50,
                                                  "format": wb.add_format({"bg_color": "#FFC7CE"})})
    ws.freeze_panes(1, 0)

    ws = wb.add_worksheet("Triển khai")
    ws.write_row(0, 0, _headers("briefings"))
    ws.write_row(1, 0, ["10/2026"])
    ws.write_datetime(1, 1, date(2026, 9, 25), date_fmt)
    ws.write_row(1, 2, ["Hội nghị", 12])
    chart = wb.add_chart({"type": "column"})
    chart.add_series({"values": "='Triển khai'!$D$2:$D$2", "name": "Số người"})
    ws.insert_chart("H4", chart)
    ws.insert_image("H20", str(logo))

    ws = wb.add_worksheet("Dự sinh hoạt")
    ws.write_row(0, 0, _headers("visits"))
    wb.close()
    shutil.rmtree(folder, ignore_errors=True)
    return path


def make_lo_unit(target: Path = LO_UNIT) -> Path:
    """``unit_with_objects`` opened and saved by LibreOffice (needs ``soffice``)."""
    with tempfile.TemporaryDirectory() as tmp:
        src = unit_with_objects(Path(tmp) / "lo-unit-source.xlsx")
        out = Path(tmp) / "out"
        subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp}/profile",
                        "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out),
                        str(src)], check=True, capture_output=True, timeout=180)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out / "lo-unit-source.xlsx", target)
    return target


def make_xls_unit(target: Path = XLS_UNIT) -> Path:
    """``unit_with_objects`` saved by LibreOffice as an Excel 97–2003 workbook (``soffice``)."""
    with tempfile.TemporaryDirectory() as tmp:
        src = unit_with_objects(Path(tmp) / "unit-97-2003.xlsx")
        subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp}/profile",
                        "--convert-to", "xls", "--outdir", str(Path(tmp) / "out"), str(src)],
                       check=True, capture_output=True, timeout=180)
        shutil.copyfile(Path(tmp) / "out" / "unit-97-2003.xls", target)
    return target


def make_encrypted_unit(target: Path = ENCRYPTED_UNIT, tool: str = "msoffcrypto-tool") -> Path:
    """``unit_with_objects`` with a password to open it ("matkhau"), encrypted as Office does
    (ECMA-376 agile encryption) by msoffcrypto-tool's command — not a dependency of the
    project: ``tool`` is its path in an environment that has it."""
    with tempfile.TemporaryDirectory() as tmp:
        src = unit_with_objects(Path(tmp) / "unit-password.xlsx")
        subprocess.run([tool, "-e", "-p", "matkhau", str(src), str(target)], check=True,
                       capture_output=True, timeout=60)
    return target


if __name__ == "__main__":
    print(make_lo_unit())
    print(make_xls_unit())
    print(make_encrypted_unit())

"""The December report (.docx): one run builds the roll-up and the report from the same model,
and every figure they share is equal; the Party document format; labels from the config; one
unit's own report; the `report` command and `run` with `[report] enabled`."""
from __future__ import annotations

import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import docx
import openpyxl
import pytest
from docx.enum.text import WD_COLOR_INDEX
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from sheets_sync.core.config import load_config
from sheets_sync.core.errors import ConfigError
from sheets_sync.core.findings import INFO
from sheets_sync.outputs.report import build_report
from sheets_sync.outputs.rollup.model import build_model, fmt_num, fmt_pct
from sheets_sync.sources import backend_for
from sheets_sync.sync.pipeline import run, summarize
from sheets_sync_demo import generate_demo

AS_OF = date(2026, 11, 25)
EXE = str(Path(sys.executable).parent / "sheets-sync")
RULE_ID = re.compile(r"\b(?:TPL|DATA|CELL|MEET|THEME|BRIEF|SUP|MEMBER|ANNUAL|HOUSE)-[A-Z-]+\b")


def enable_report(config: Path, extra: str = "") -> Path:
    text = config.read_text(encoding="utf-8")
    config.write_text(text + "\n[report]\nenabled = true\n" + extra, encoding="utf-8")
    return config


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    """One `run` of the demo district with the report enabled: (config, outcome, docx, wb)."""
    root = tmp_path_factory.mktemp("report")
    config_path = enable_report(generate_demo(root, 2026, AS_OF, 2026))
    config = load_config(config_path)
    outcome = run(config, backend_for(config), AS_OF)
    assert outcome.rollup is not None and outcome.report_docx is not None
    assert outcome.report_docx.name == "bao-cao-dang-bo-huyen-ly-nhan-2026.docx"
    return (config, outcome, docx.Document(str(outcome.report_docx)),
            openpyxl.load_workbook(outcome.rollup))


def tables(document) -> dict[str, list[list[str]]]:
    """Each table by the caption ("Bảng N. …") written just before it."""
    out: dict[str, list[list[str]]] = {}
    body = document.element.body
    caption = None
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            text = "".join(t.text or "" for t in child.iter() if t.tag.endswith("}t"))
            if text.startswith("Bảng "):
                caption = text.split(".")[0]
        elif tag == "tbl" and caption:
            t = next(t for t in document.tables if t._tbl is child)
            out[caption] = [[c.text for c in r.cells] for r in t.rows]
            caption = None
    return out


def text_of(document) -> str:
    parts = [p.text for p in document.paragraphs]
    for t in document.tables:
        parts += [c.text for r in t.rows for c in r.cells]
    return "\n".join(parts)


def sheet_table(ws, first_head: str) -> tuple[dict[str, int], list[tuple]]:
    rows = list(ws.iter_rows(values_only=True))
    h = next(i for i, r in enumerate(rows) if r and r[0] == first_head)
    head = {v: i for i, v in enumerate(rows[h]) if v is not None}
    return head, rows[h + 1:]


def summary_rows(wb) -> tuple[dict[str, int], dict[str, tuple], tuple]:
    ws = wb["Tổng hợp"]
    head, rows = sheet_table(ws, "STT")
    units = {r[head["Mã"]]: r for r in rows if r[head["Mã"]]}
    total = next(r for r in rows if r[head["Tên đơn vị"] if "Tên đơn vị" in head else 2]
                 == "Tổng cộng")
    return head, units, total


# --- one set of numbers --------------------------------------------------------------------------

def test_report_and_rollup_share_every_figure(ran):
    config, outcome, document, wb = ran
    t = tables(document)
    head, units, total = summary_rows(wb)
    names = {u.code: u.name for u in outcome.report.units}
    by_name = {n: c for c, n in names.items()}

    # Bảng 1: cells and members per unit and in total.
    b1 = t["Bảng 1"]
    for row in b1[1:-1]:
        code = by_name[row[1]]
        assert row[2] == fmt_num(units[code][head["Số chi bộ"]])
        assert row[3] == fmt_num(units[code][head["Số đảng viên"]])
    assert b1[-1][2:4] == [fmt_num(total[head["Số chi bộ"]]),
                           fmt_num(total[head["Số đảng viên"]])]

    # Bảng 3: the criteria per unit and pooled, errors and warnings (accepted apart).
    b3 = t["Bảng 3"]
    cols = {"Có sinh hoạt": "Có sinh hoạt", "Trong khung ngày": None,
            "Đủ thời lượng": "Đủ thời lượng", "Đạt tỷ lệ dự": "Đạt tỷ lệ dự",
            "Triển khai đúng hạn": "Triển khai đúng hạn (tỷ lệ)"}
    window_col = next(h for h in head if str(h).startswith(("Trong ngày", "Trong khung")))
    h3 = {v: i for i, v in enumerate(b3[0])}
    order = [u.code for u in outcome.report.units]
    compared = 0
    for row, want in zip(b3[1:], [units[c] for c in order] + [total]):
        for doc_col, sheet_col in cols.items():
            value = want[head[sheet_col or window_col]]
            assert row[h3[doc_col]] == fmt_pct(value), (row[1], doc_col)
            compared += 1
        assert row[h3["Vi phạm"]] == fmt_num(want[head["Vi phạm"]])
        assert row[h3["Cảnh báo"]] == fmt_num(want[head["Cảnh báo"]])
        compared += 2
    assert compared == 7 * (len(order) + 1)

    # The same totals on every sheet, in `check`'s JSON summary and in the run summary.
    errors, warnings = total[head["Vi phạm"]], total[head["Cảnh báo"]]
    accepted = total[head["Đã chấp nhận giải trình"]]
    assert accepted == 1  # the demo's accepted explanation: not a violation anywhere
    subtitle = wb["Vi phạm"].cell(2, 1).value
    assert f"{errors} vi phạm, {warnings} cảnh báo" in subtitle
    assert f"{accepted} trường hợp đã chấp nhận giải trình" in subtitle
    log = {r[0]: r[1] for r in wb["Nhật ký"].iter_rows(values_only=True) if r[0]}
    assert (log["Số vi phạm"], log["Số cảnh báo"]) == (errors, warnings)
    assert log["Số đã chấp nhận giải trình (không tính là vi phạm)"] == accepted
    counts = outcome.report.counts()
    assert (counts["error"], counts["warning"], counts["accepted"]) == (errors, warnings, accepted)
    assert summarize(outcome.report)["counts"] == counts
    vp_head, vp_rows = sheet_table(wb["Vi phạm"], "STT")
    listed = [r for r in vp_rows if r[vp_head["Mã quy tắc"]]]
    open_rows = [r for r in listed if r[vp_head["Đã chấp nhận"]] != "Có"]
    assert sum(r[vp_head["Mức độ"]] == "Vi phạm" for r in open_rows) == errors
    assert sum(r[vp_head["Mức độ"]] == "Cảnh báo" for r in open_rows) == warnings
    assert fmt_num(accepted) in document.paragraphs[[p.text for p in document.paragraphs].index(
        next(p.text for p in document.paragraphs if "chấp nhận giải trình (" in p.text))].text

    # II.1: the held cell-months as a fraction, equal to the pooled ratio of `Tổng hợp`.
    held = next(p.text for p in document.paragraphs if p.text.startswith("Số lượt chi bộ"))
    assert f"({fmt_pct(total[head['Có sinh hoạt']])})" in held

    # Bảng 4 = `Xếp thứ`: rank, score, errors, warnings of every unit.
    b4 = t["Bảng 4"]
    rk_head, rk_rows = sheet_table(wb["Xếp thứ"], "Xếp thứ")
    ranking = {r[rk_head["Đảng ủy xã, thị trấn"]]: r for r in rk_rows
               if r[rk_head["Mã"]] in names}
    assert len(b4) - 1 == len(ranking) == len(names)
    for row in b4[1:]:
        r = ranking[row[1]]
        assert row[0] == str(r[rk_head["Xếp thứ"]])
        assert row[2] == fmt_num(r[rk_head["Điểm tổng hợp"]])
        assert row[3:5] == [fmt_num(r[rk_head["Vi phạm"]]), fmt_num(r[rk_head["Cảnh báo"]])]

    # Bảng 2 = the overall row of `Đánh giá năm`: cells by derived level.
    b2 = {row[0]: row for row in t["Bảng 2"][1:]}
    ann = list(wb["Đánh giá năm"].iter_rows(values_only=True))
    head_row = next(i for i, r in enumerate(ann) if r[0] == "STT")
    levels = dict(zip(ann[head_row][4:10], range(4, 10)))
    overall = next(r for r in ann if r[1] == "Cộng")
    assert b2["Cộng"][1] == fmt_num(overall[levels["Số chi bộ"]])
    for level, label in (("Tốt", "Tốt"), ("Khá", "Khá"), ("TB", "Trung bình"), ("Kém", "Kém"),
                         ("Chưa suy ra được", "Chưa xếp loại")):
        assert b2[label][1] == fmt_num(overall[levels[level]]), level

    # Bảng 5 = `Vi phạm`: how often each problem occurs (accepted ones excepted).
    b5 = t["Bảng 5"]
    per_rule: dict[str, int] = {}
    for r in open_rows:
        per_rule[r[vp_head["Nội dung"]]] = per_rule.get(r[vp_head["Nội dung"]], 0) + 1
    for row in b5[1:]:
        assert row[2] == fmt_num(per_rule[row[1]]), row[1]

    # §6 proposals: the same names in the report and on `Xếp thứ`.
    sheet_text = "\n".join(str(v) for r in wb["Xếp thứ"].iter_rows(values_only=True)
                           for v in r if v)
    doc_text = text_of(document)
    model = build_model(config, outcome.report, outcome.reads)
    for p in model.commend_units + model.commend_cells + model.correct_units + \
            model.correct_cells:
        assert f"{p.who}: {p.why}" in doc_text and f"{p.who}: {p.why}." in sheet_text


def test_document_format_36_hd(ran):
    config, outcome, document, _wb = ran
    sec = document.sections[0]
    assert abs(sec.page_width - Mm(210)) < Mm(0.5)  # A4 portrait (stored in twips)
    assert abs(sec.page_height - Mm(297)) < Mm(0.5)
    def within(value, low, high):  # margins are stored in twips: allow the rounding
        return Mm(low - 0.1) <= value <= Mm(high + 0.1)

    assert within(sec.top_margin, 20, 25) and within(sec.bottom_margin, 20, 25)
    assert within(sec.left_margin, 30, 35) and within(sec.right_margin, 15, 20)
    normal = document.styles["Normal"].font
    assert normal.name == "Times New Roman" and Pt(13) <= normal.size <= Pt(14)
    runs = [r for p in document.paragraphs for r in p.runs]
    runs += [r for t in document.tables for row in t.rows for c in row.cells
             for p in c.paragraphs for r in p.runs]
    # Runs inherit Times New Roman (all scripts) from Normal; none names another font.
    assert all(r.font.name in (None, "Times New Roman") for r in runs if r.text.strip())
    fonts = document.styles["Normal"].element.rPr.rFonts
    assert {fonts.get(qn(f"w:{a}")) for a in ("ascii", "hAnsi", "eastAsia", "cs")} == {
        "Times New Roman"}
    # The header block: issuing committee, body (bold), "*", số ký hiệu; party name and date.
    header = [[p.text for p in c.paragraphs] for c in document.tables[0].rows[0].cells]
    assert header[0] == ["HUYỆN ỦY LÝ NHÂN", "BAN TỔ CHỨC", "*", "Số         -BC/BTCHU"]
    assert header[1][0] == "ĐẢNG CỘNG SẢN VIỆT NAM"
    assert header[1][-1] == "Lý Nhân, ngày 25 tháng 11 năm 2026"
    date_run = document.tables[0].rows[0].cells[1].paragraphs[-1].runs[0]
    assert date_run.italic
    body_run = document.tables[0].rows[0].cells[0].paragraphs[1].runs[0]
    assert body_run.bold
    texts = [p.text for p in document.paragraphs]
    assert "BÁO CÁO" in texts
    assert "tình hình, chất lượng sinh hoạt chi bộ năm 2026" in texts
    for heading in ("I. ĐẶC ĐIỂM TÌNH HÌNH", "II. KẾT QUẢ THỰC HIỆN", "III. HẠN CHẾ, YẾU KÉM",
                    "IV. NGUYÊN NHÂN", "V. PHƯƠNG HƯỚNG, NHIỆM VỤ VÀ KIẾN NGHỊ, ĐỀ XUẤT"):
        assert heading in texts
    # Marked places for the Board's own words in IV and V, highlighted.
    marks = [p for p in document.paragraphs
             if any(r.font.highlight_color == WD_COLOR_INDEX.YELLOW for r in p.runs)]
    iv, v = texts.index("IV. NGUYÊN NHÂN"), texts.index(
        "V. PHƯƠNG HƯỚNG, NHIỆM VỤ VÀ KIẾN NGHỊ, ĐỀ XUẤT")
    marked = [texts.index(p.text) for p in marks]
    assert any(iv < k < v for k in marked) and any(k > v for k in marked)
    assert all(p.text.startswith("[Ban Tổ chức bổ sung") for p in marks)
    # Difficulties from the attendance book are quoted in V.
    difficulties = [d.text for d in build_model(config, outcome.report, outcome.reads
                                                ).difficulties]
    assert difficulties and all(d.rstrip(".") in text_of(document) for d in difficulties)
    # Signature block; no rule IDs anywhere.
    sign = [p.text for c in document.tables[-1].rows[0].cells for p in c.paragraphs]
    assert "Nơi nhận:" in sign and "TRƯỞNG BAN" in sign
    assert not RULE_ID.search(text_of(document))
    # Page numbers (a PAGE field) in the header, not on the first page.
    assert sec.different_first_page_header_footer
    assert "PAGE" in sec.header._element.xml


def test_labels_come_from_the_config(tmp_path):
    config_path = generate_demo(tmp_path, 2026, AS_OF, 2026)
    text = config_path.read_text(encoding="utf-8")
    text = text.replace("[labels]", "[labels]\ncommittee = \"ĐẢNG ỦY XÃ HÒA BÌNH\"\n"
                                    "board = \"BAN TỔ CHỨC\"\nsymbol = \"BC/BTCĐU\"\n"
                                    "place = \"Hòa Bình\"\nsigner_for = \"K/T TRƯỞNG BAN\"\n"
                                    "signer_title = \"PHÓ TRƯỞNG BAN\"\n"
                                    "signer_name = \"Nguyễn Văn An\"", 1)
    if "[labels]" not in text:
        text += ("\n[labels]\ncommittee = \"ĐẢNG ỦY XÃ HÒA BÌNH\"\nsymbol = \"BC/BTCĐU\"\n"
                 "place = \"Hòa Bình\"\nsigner_for = \"K/T TRƯỞNG BAN\"\n"
                 "signer_title = \"PHÓ TRƯỞNG BAN\"\nsigner_name = \"Nguyễn Văn An\"\n")
    config_path.write_text(text, encoding="utf-8")
    config = load_config(config_path)
    outcome = run(config, backend_for(config), AS_OF, dry_run=False)
    model = build_model(config, outcome.report, outcome.reads)
    document = docx.Document(str(build_report(model, tmp_path / "r.docx")))
    header = [[p.text for p in c.paragraphs] for c in document.tables[0].rows[0].cells]
    assert header[0] == ["ĐẢNG ỦY XÃ HÒA BÌNH", "BAN TỔ CHỨC", "*", "Số         -BC/BTCĐU"]
    assert header[1][-1].startswith("Hòa Bình, ngày 25 tháng 11 năm 2026")
    sign = [p.text for c in document.tables[-1].rows[0].cells for p in c.paragraphs]
    assert {"K/T TRƯỞNG BAN", "PHÓ TRƯỞNG BAN", "Nguyễn Văn An"} <= set(sign)
    ws = openpyxl.load_workbook(outcome.rollup)["Tổng hợp"]
    texts = {c for r in ws.iter_rows(max_row=6, values_only=True) for c in r if c}
    assert {"ĐẢNG ỦY XÃ HÒA BÌNH", "Số        -BC/BTCĐU"} <= texts


def test_one_units_report_lists_its_cells(ran, tmp_path):
    config, outcome, _document, _wb = ran
    model = build_model(config, outcome.report, outcome.reads)
    path = build_report(model, tmp_path / "nt.docx", unit="NT")
    document = docx.Document(str(path))
    header = [[p.text for p in c.paragraphs] for c in document.tables[0].rows[0].cells]
    assert header[0][:2] == ["ĐẢNG BỘ HUYỆN LÝ NHÂN", "ĐẢNG ỦY XÃ NHÂN THỊNH"]
    assert header[0][3].endswith("-BC/ĐU")
    assert header[1][-1].startswith("Nhân Thịnh, ngày")
    t = tables(document)
    nt = model.unit("NT")
    cells = [c for c in model.cells if c.unit == "NT"]
    assert len(t["Bảng 1"]) - 1 == len(cells)
    b3 = t["Bảng 3"]
    assert b3[-1][2] == fmt_pct(nt.ind.held)  # the unit's own figure, = its Tổng hợp row
    assert b3[-1][-2:] == [fmt_num(nt.ind.counts.errors), fmt_num(nt.ind.counts.warnings)]
    # Each cell row uses the same indicator code on the cell alone: they add up.
    held = sum(c.ind.held.num for c in cells), sum(c.ind.held.den for c in cells)
    assert held == (nt.ind.held.num, nt.ind.held.den)
    text = text_of(document)
    assert "Nhân Mỹ" not in text  # nothing of the other units
    assert not RULE_ID.search(text)
    sign = [p.text for c in document.tables[-1].rows[0].cells for p in c.paragraphs]
    assert "T/M ĐẢNG ỦY" in sign and "BÍ THƯ" in sign


def test_report_command_and_run_hook(tmp_path):
    config_path = generate_demo(tmp_path, 2026, AS_OF, 2026)
    first = subprocess.run([EXE, "run", "--config", str(config_path), "--as-of", "2026-11-25"],
                           capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    out = tmp_path / "out"
    assert not list(out.glob("*.docx"))  # [report] not enabled: no report from `run`
    got = subprocess.run([EXE, "report", "--config", str(config_path), "--as-of", "2026-11-25",
                          "--unit", "nh", "--output", str(tmp_path / "nh.docx")],
                         capture_output=True, text=True, timeout=300)
    assert got.returncode == 0, got.stderr
    assert "nh.docx" in got.stdout and (tmp_path / "nh.docx").stat().st_size > 0
    assert "Traceback" not in got.stderr
    bad = subprocess.run([EXE, "report", "--config", str(config_path), "--as-of", "2026-11-25",
                          "--unit", "ZZ"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "ZZ" in bad.stderr and "Traceback" not in bad.stderr


def test_report_config_is_validated(tmp_path):
    config_path = generate_demo(tmp_path, 2026, AS_OF, 2026)
    enable_report(config_path, "commend_unit_min_score = 120\n")
    with pytest.raises(ConfigError, match="report.commend_unit_min_score"):
        load_config(config_path)


def test_capped_findings_sheet_says_what_was_left_out(tmp_path):
    config_path = enable_report(generate_demo(tmp_path, 2026, AS_OF, 2026),
                                "findings_rows = 4\n")
    config = load_config(config_path)
    outcome = run(config, backend_for(config), AS_OF)
    ws = openpyxl.load_workbook(outcome.rollup)["Vi phạm"]
    head, rows = sheet_table(ws, "STT")
    shown = [r for r in rows if r[head["Mã quy tắc"]]]
    assert len(shown) == 4 and all(r[head["Mức độ"]] == "Vi phạm" for r in shown)
    listed = sum(1 for f in outcome.report.findings if f.severity != INFO)
    note = ws.cell(3, 1).value
    assert f"{listed - 4} dòng không in" in note and "-vi-pham.csv có đủ mọi dòng" in note


def test_previous_year_from_the_sheets(tmp_path):
    """Sheets holding last year's rows: the report and `Tổng hợp` compare with that year."""
    config_path = generate_demo(tmp_path, 2025, date(2025, 12, 31), 2026)
    config = load_config(config_path)
    as_of = date(2026, 3, 1)
    outcome = run(config, backend_for(config), as_of, dry_run=True)
    model = build_model(config, outcome.report, outcome.reads)
    assert model.previous is not None and model.previous.held.num > 0
    document = docx.Document(str(build_report(model, tmp_path / "r.docx")))
    assert f"(năm 2025: {fmt_pct(model.previous.held)})" in text_of(document)


# --- pandas for analysts -------------------------------------------------------------------------

def test_frames_give_the_rollups_numbers_as_dataframes(ran):
    from sheets_sync.outputs import frames

    config, outcome, _document, wb = ran
    f = frames(config, outcome.report, outcome.reads)
    head, units, total = summary_rows(wb)
    cm = f.cell_months
    held = cm.groupby("unit")["held"].agg(["sum", "count"])
    for code, row in units.items():
        assert row[head["Có sinh hoạt"]] == pytest.approx(held.loc[code, "sum"]
                                                          / held.loc[code, "count"])
    assert total[head["Có sinh hoạt"]] == pytest.approx(cm["held"].mean())
    window_col = next(h for h in head if str(h).startswith(("Trong ngày", "Trong khung")))
    assert total[head[window_col]] == pytest.approx(cm["in_window"].dropna().mean())
    assert total[head["Đạt tỷ lệ dự"]] == pytest.approx(cm["attendance_ok"].dropna().mean())
    assert len(f.findings) == len(outcome.report.findings)
    assert int(f.findings["accepted"].sum()) == total[head["Đã chấp nhận giải trình"]]
    from sheets_sync.core.rules.catalog import rule_name_vi

    missing = f.findings.loc[f.findings["rule"] == "MEET-MISSING", "rule_name"].iloc[0]
    assert missing == rule_name_vi("MEET-MISSING") != "MEET-MISSING"
    rows = sum(len(r.data.tab("meetings").rows) for r in outcome.reads
               if r.data is not None and r.data.tab("meetings") is not None)
    assert len(f.meetings) == rows
    assert str(f.meetings["meeting_date"].dtype).startswith("datetime64")


def test_the_commands_do_not_load_pandas():
    code = ("import sys, sheets_sync.cli, sheets_sync.sync.pipeline, sheets_sync.outputs.report; "
            "print('pandas' in sys.modules)")
    got = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert got.stdout.strip() == "False", got.stderr


def test_cells_in_one_pass_equal_each_cell_alone(ran):
    """The model computes every cell of a unit in one pass; it must give what the indicator
    code gives for each cell on its own, and the cells must add up to the unit."""
    from sheets_sync.core.rules.base import code_key, make_context
    from sheets_sync.outputs.rollup.indicators import (
        cell_indicators,
        unit_and_cells,
        unit_indicators,
    )

    _config, outcome, _document, _wb = ran
    for read, result in zip(outcome.reads, outcome.report.units):
        ctx = make_context(read.data, read.config.rules, AS_OF, 2026)
        found = [f for f in outcome.report.findings if f.unit == result.code]
        unit, together = unit_and_cells(ctx, result, found)
        assert unit == unit_indicators(ctx, result, found)
        for key in ctx.cells:
            alone = cell_indicators(ctx, key, result,
                                    [f for f in found if code_key(f.cell) == key])
            assert together[key] == alone, (result.code, key)
        for attr in ("held", "window", "duration", "attendance", "clean"):
            got = [getattr(i, attr) for i in together.values() if getattr(i, attr)]
            if getattr(unit, attr) is not None:
                assert (sum(x.num for x in got), sum(x.den for x in got)) == (
                    getattr(unit, attr).num, getattr(unit, attr).den), (result.code, attr)


def test_previous_year_from_the_history_store(tmp_path):
    """A new spreadsheet each year: last year's figures come from the last stored pull of that
    year, into the report and the `Tổng hợp` row under the total."""
    config_2025 = load_config(generate_demo(tmp_path, 2025, date(2025, 12, 31), 2025))
    run(config_2025, backend_for(config_2025), date(2025, 12, 31))  # stores the 2025 pulls
    config_path = enable_report(generate_demo(tmp_path, 2026, AS_OF, 2026))  # 2026 rows only
    config = load_config(config_path)
    outcome = run(config, backend_for(config), AS_OF)
    model = build_model(config, outcome.report, outcome.reads)  # without the store: nothing
    assert model.previous is None
    text = text_of(docx.Document(str(outcome.report_docx)))
    assert "(năm 2025: " in text
    ws = openpyxl.load_workbook(outcome.rollup)["Tổng hợp"]
    labels = [r[2] for r in ws.iter_rows(values_only=True) if len(r) > 2]
    assert "Năm 2025 (cùng tiêu chí, để so sánh)" in labels

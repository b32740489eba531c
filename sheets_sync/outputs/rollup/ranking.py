"""`Xếp thứ`: the units ranked by the composite score (the criteria's rates beside it), how the
score is computed, and the units and cells proposed for commendation or correction (§6 of the
directive) by the rule ``[report]`` sets. Every value from the model."""
from __future__ import annotations

from collections.abc import Mapping

from .indicators import Ratio
from .layout import INT, PCT, Writer, page_setup, row_height, wrapped_height
from .model import Model, proposal_rule, score_explanation

SHEET = "Xếp thứ"
COMMEND, CORRECT = "Biểu dương", "Cần chấn chỉnh"


def write_ranking(ws, w: Writer, model: Model, labels: Mapping[str, str]) -> None:
    st = w.st
    crit = model.score_criteria
    heads = ["Xếp thứ", "Mã", labels.get("unit", "Đơn vị"), "Điểm tổng hợp",
             *(label[:1].upper() + label[1:] for _, label in crit), "Vi phạm", "Cảnh báo",
             "Đề xuất"]
    widths = [6, 5, 24, 8, *([8.5] * len(crit)), 6.5, 6.5, 14]
    last = len(heads) - 1
    for c, width in enumerate(widths):
        ws.set_column(c, c, width)
    total_w = sum(widths)
    ws.set_row(0, 24)
    w.merge(0, 0, last, f"XẾP THỨ CÁC ĐƠN VỊ THEO ĐIỂM TỔNG HỢP NĂM {model.year}", st.title())
    sub = (f"Số liệu đến ngày {model.as_of:%d/%m/%Y}; cùng số liệu với trang \"Tổng hợp\" và "
           f"báo cáo năm. Cách tính và đề xuất biểu dương, chấn chỉnh ở dưới bảng.")
    ws.set_row(1, row_height([(sub, total_w)], size=11, minimum=18))
    w.merge(1, 0, last, sub, st.subtitle())
    header = 3
    head_fmt = st.head()
    w.row(header, row_height(list(zip(heads, widths)), minimum=30, bold=True),
          [(text, head_fmt) for text in heads])
    commend = {p.unit for p in model.commend_units}
    correct = {p.unit for p in model.correct_units}
    num, pct = st.num(INT, align="center"), st.num(PCT)
    score_fmt = st.num("0.0", bold=True, align="center")
    code_fmt, name_fmt, plain_fmt = st.text(align="center"), st.text(), st.text(align="center")
    state_fmt = {COMMEND: st.state("ok"), CORRECT: st.state("error")}
    row = header + 1
    ranked = model.ranked() + [u for u in model.units if u.score is None]
    for u in ranked:
        rates = []
        for key, _ in crit:
            got = getattr(u.ind, key)
            rates.append((got.value if isinstance(got, Ratio) else
                          (0.0 if u.ind.has_data else None), pct))
        state = (COMMEND if u.code in commend else CORRECT if u.code in correct else
                 ("Chưa có số liệu" if u.score is None else ""))
        w.row(row, row_height([(u.name, widths[2])], minimum=18), [
            (u.rank, num), (u.code, code_fmt), (u.name, name_fmt), (u.score, score_fmt),
            *rates, (u.ind.counts.errors, num), (u.ind.counts.warnings, num),
            (state, state_fmt.get(state, plain_fmt))])
        row += 1
    last_row = row - 1
    ws.freeze_panes(header + 1, 3)
    ws.autofilter(header, 0, max(last_row, header), last)
    page_setup(ws, repeat=(header, header))

    note_fmt = {bold: st.note(bold=bold) for bold in (False, True)}

    def line(text: str, bold: bool = False) -> None:
        nonlocal row
        w.merged_row(row, wrapped_height(text, total_w, line=14), 0, last, text, note_fmt[bold])
        row += 1

    row += 1
    line("Cách tính:", bold=True)
    line("- " + score_explanation(crit, "đơn vị"))
    missing = [f"{u.code} – {u.name}: {', '.join(u.missing_criteria)}"
               for u in model.units if u.missing_criteria]
    if missing:
        line("- Tiêu chí tính 0 điểm vì không có số liệu: " + "; ".join(missing) + ".")
    row += 1
    cell = labels.get("cell", "Chi bộ")
    line("ĐỀ XUẤT BIỂU DƯƠNG, CHẤN CHỈNH (Chỉ thị, mục 6)", bold=True)
    line(proposal_rule(model.config.report, cell) + " Các ngưỡng đặt trong mục [report] của "
         "tệp cấu hình.")
    for title, items in (
            (f"Đề xuất biểu dương ({len(model.commend_units) + len(model.commend_cells)}):",
             model.commend_units + model.commend_cells),
            (f"Cần chấn chỉnh ({len(model.correct_units) + len(model.correct_cells)}):",
             model.correct_units + model.correct_cells)):
        line(title, bold=True)
        if not items:
            line("- Không có.")
        for p in items:
            line(f"- {p.who}: {p.why}.")

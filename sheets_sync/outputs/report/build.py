"""The December report's content: "BÁO CÁO tình hình, chất lượng sinh hoạt chi bộ năm YYYY",
for the parent (its units) or for one unit (its cells), every figure from the roll-up model
(``rollup.model``), so that it equals the roll-up's."""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from ...core.atomic import discard
from ...core.config import document_labels
from ...core.errors import SheetsSyncError
from ...core.faults import output_error
from ...core.findings import ERROR, OK, STATUS_VI, UNCHANGED, Finding
from ...core.text import normalize, place_name, slug
from ..rollup.indicators import Ratio, UnitIndicators
from ..rollup.layout import date_line, lower_first
from ..rollup.model import (
    LEVEL_VI,
    LEVELS,
    Model,
    Proposal,
    RuleCount,
    cell_title,
    fmt_num,
    fmt_pct,
    proposal_rule,
    score_explanation,
    short_unit,
)
from .document import Doc, Header, Signature

ROMAN = ("I", "II", "III", "IV", "V")
# Lists in the report (proposals, difficulties) name at most this many; the roll-up has all.
MAX_LISTED = 30
QUARTER = {1: "I", 2: "II", 3: "III", 4: "IV"}


def report_path(model: Model, unit: str | None = None) -> Path:
    """out/bao-cao-<parent-slug>-<YYYY>.docx, or …-<unit-code>-<YYYY>.docx for one unit."""
    stem = f"bao-cao-{slug(model.config.parent_name)}"
    if unit is not None:
        stem += f"-{slug(unit)}"
    return Path(model.config.out_dir) / f"{stem}-{model.year}.docx"


# --- what one report is about -------------------------------------------------------------------

@dataclass
class Row:
    """A unit of the parent's report, or a cell of a unit's report."""
    code: str
    name: str
    ind: UnitIndicators
    score: float | None
    rank: int | None = None
    note: str = ""  # e.g. the unit's read status


@dataclass
class Scope:
    parent: bool
    name: str  # "Đảng bộ huyện Lý Nhân" / "Đảng ủy xã Nhân Thịnh"
    row_label: str  # "Đảng ủy xã, thị trấn" / "Chi bộ"
    rows: list[Row]
    total: UnitIndicators
    findings: list[Finding]
    by_rule: list[RuleCount]
    commend: list[Proposal]
    correct: list[Proposal]
    unit_codes: set[str]
    previous: UnitIndicators | None
    not_read: list[Any] = field(default_factory=list)


def _scope(model: Model, unit: str | None) -> Scope:
    labels = model.labels
    if unit is None:
        rows = [Row(u.code, u.name, u.ind, u.score, u.rank,
                    "" if u.result.status in (OK, UNCHANGED)
                    else STATUS_VI.get(u.result.status, u.result.status))
                for u in model.units]
        return Scope(True, model.config.parent_name, labels.get("unit", "Đơn vị"), rows,
                     model.total, list(model.report.findings), model.by_rule,
                     model.commend_units + model.commend_cells,
                     model.correct_units + model.correct_cells,
                     {u.code for u in model.units}, model.previous,
                     [u.result for u in model.units if u.result.status not in (OK, UNCHANGED)])
    try:
        um = model.unit(unit)
    except KeyError:
        raise SheetsSyncError(f"Không có đơn vị mã '{unit}' trong cấu hình ([[units]]).",
                              ) from None
    if um.ctx is None:
        raise SheetsSyncError(
            f"Chưa có số liệu của đơn vị {um.code} – {um.name} "
            f"({STATUS_VI.get(um.result.status, um.result.status).lower()}): không lập được báo "
            f"cáo. {um.result.message or ''}".strip())
    cell_label = labels.get("cell", "Chi bộ")
    cells = [c for c in model.cells if c.unit == um.code]
    rows = [Row(c.code, cell_title(cell_label, c.name, c.code), c.ind, c.score) for c in cells]
    _rank_rows(rows)
    by_rule = [RuleCount(r.rule, r.name, r.severity, {um.code: r.by_unit.get(um.code, 0)},
                         r.by_unit.get(um.code, 0)) for r in model.by_rule]
    by_rule = sorted((r for r in by_rule if r.total), key=lambda r: -r.total)
    return Scope(False, um.name, cell_label, rows, um.ind, list(um.findings), by_rule,
                 [p for p in model.commend_cells if p.unit == um.code],
                 [p for p in model.correct_cells if p.unit == um.code], {um.code},
                 model.previous_units.get(um.code))


def _rank_rows(rows: list[Row]) -> None:
    scored = sorted((r for r in rows if r.score is not None),
                    key=lambda r: (-(r.score or 0.0), r.ind.counts.errors))
    prev = None
    rank = 0
    for k, r in enumerate(scored, start=1):
        key = (r.score, r.ind.counts.errors)
        if key != prev:
            rank = k
        r.rank, prev = rank, key


# --- build ---------------------------------------------------------------------------------------

def build_report(model: Model, path: Path | None = None, unit: str | None = None) -> Path:
    """Write the report (.docx) to ``path`` (default ``report_path``) via a temporary file and
    a rename. ``unit``: a unit code for that unit's own report (its cells)."""
    scope = _scope(model, unit)
    path = Path(path) if path is not None else report_path(model, unit)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = Doc()
    _Writer(model, scope, doc).write()
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.docx")
    try:
        doc.save(tmp)
        os.replace(tmp, path)
    except OSError as e:
        raise output_error(e, "báo cáo", path, "Word") from None
    finally:
        discard(tmp)
    return path


def _count(rule_counts: Sequence[RuleCount], rule: str) -> int:
    return next((r.total for r in rule_counts if r.rule == rule), 0)


def _frac(x: Ratio | None) -> str:
    if x is None or x.den == 0:
        return "chưa có số liệu"
    return f"{fmt_num(x.num)}/{fmt_num(x.den)} ({fmt_pct(x)})"


class _Writer:
    def __init__(self, model: Model, scope: Scope, doc: Doc) -> None:
        self.m, self.s, self.d = model, scope, doc
        self.labels = document_labels(model.config.parent_name, model.labels)
        self.year = model.year
        self.cell = model.labels.get("cell", "Chi bộ")
        self.cell_l = self.cell.lower()
        self.unit_l = lower_first(model.labels.get("unit", "Đơn vị"))
        self.parent_label = model.labels.get("parent", "")

    # --- frame -----------------------------------------------------------------------------------

    def write(self) -> None:
        lab, s, m = self.labels, self.s, self.m
        if s.parent:
            header = Header(lab["committee"], lab["board"], lab["symbol"],
                            date_line(lab["place"], m.as_of))
        else:
            header = Header(lab["unit_committee"], s.name.upper(), lab["unit_symbol"],
                            date_line(place_name(s.name), m.as_of))
        self.d.header(header)
        self.d.title("BÁO CÁO", f"tình hình, chất lượng sinh hoạt {self.cell_l} năm {self.year}")
        self.intro()
        self.section_1()
        self.section_2()
        self.section_3()
        self.section_4()
        self.section_5()
        self.d.signature(self.signature())

    def issuer_name(self) -> str:
        """"Ban Tổ chức Huyện ủy" / "Đảng ủy xã Nhân Thịnh"."""
        if not self.s.parent:
            return self.s.name
        words = self.labels["board"].lower().split()
        if words:
            words[0] = words[0].capitalize()
            if len(words) > 1 and words[0] == "Ban":
                words[1] = words[1].capitalize()
        return f"{' '.join(words)} {self.parent_label}".strip()

    def intro(self) -> None:
        m, s = self.m, self.s
        n = len(s.rows)
        who = (f"{n} {self.unit_l}" if s.parent else f"{n} {self.cell_l}")
        self.d.para(
            f"Thực hiện Chỉ thị của Ban Thường vụ {self.parent_label} về nâng cao chất lượng "
            f"sinh hoạt {self.cell_l} (mục 7 và mục 10), {self.issuer_name()} báo cáo tình hình, "
            f"chất lượng sinh hoạt {self.cell_l} năm {self.year}"
            f"{' của ' + s.name if s.parent else ''}, tổng hợp từ sổ "
            f"theo dõi sinh hoạt {self.cell_l} của {who}, số liệu đến ngày "
            f"{m.as_of:%d/%m/%Y}, như sau:")

    def signature(self) -> Signature:
        lab, s = self.labels, self.s
        rc = self.m.config.report
        if s.parent:
            recipients = list(rc.recipients) or [
                f"- Ban Thường vụ {self.parent_label} (để báo cáo),",
                f"- Thường trực {self.parent_label} (để báo cáo),",
                f"- Các {self.unit_l} (để thực hiện),",
                f"- Lưu {self.issuer_name().replace(' ' + self.parent_label, '')}.",
            ]
            return Signature(recipients, lab["signer_for"], lab["signer_title"],
                             lab["signer_name"])
        recipients = [f"- Ban Thường vụ {self.parent_label} (qua Ban Tổ chức "
                      f"{self.parent_label}),", "- Lưu Văn phòng Đảng ủy."]
        return Signature(recipients, lab["unit_signer_for"], lab["unit_signer_title"], "")

    # --- I ---------------------------------------------------------------------------------------

    def section_1(self) -> None:
        d, s, m = self.d, self.s, self.m
        d.heading("I. ĐẶC ĐIỂM TÌNH HÌNH")
        tot = s.total
        kinds: dict[str, list[int]] = {}
        for c in m.cells:
            if c.unit in s.unit_codes and c.ind.cells:
                k = kinds.setdefault(c.kind or "Khác", [0, 0])
                k[0] += 1
                k[1] += c.ind.members or 0
        parts = ", ".join(f"{n} {self.cell_l} {lower_first(kind)}"
                          for kind, (n, _) in sorted(kinds.items(), key=lambda x: -x[1][0]))
        if s.parent:
            d.para(f"{s.name} có {len(s.rows)} {self.unit_l} trực thuộc theo dõi sinh hoạt "
                   f"{self.cell_l} bằng sổ theo dõi chung; tổng số {fmt_num(tot.cells or 0)} "
                   f"{self.cell_l} đang hoạt động ({parts}) với {fmt_num(tot.members or 0)} "
                   f"đảng viên.")
        else:
            d.para(f"{s.name} có {fmt_num(tot.cells or 0)} {self.cell_l} đang hoạt động "
                   f"({parts}) với {fmt_num(tot.members or 0)} đảng viên.")
        if s.not_read:
            d.para("Chưa đọc được số liệu của: " + "; ".join(
                f"{u.name} ({STATUS_VI.get(u.status, u.status).lower()})" for u in s.not_read)
                + ". Các chỉ tiêu dưới đây không tính đơn vị này.")
        if s.parent:
            rows = [[str(k), r.name, fmt_num(r.ind.cells) if r.ind.cells is not None else "",
                     fmt_num(r.ind.members) if r.ind.members is not None else "",
                     r.note or "Đã đọc"]
                    for k, r in enumerate(s.rows, start=1)]
            rows.append(["", "Tổng cộng", fmt_num(tot.cells or 0), fmt_num(tot.members or 0),
                         ""])
            d.table(["STT", self.s.row_label, f"Số {self.cell_l}", "Số đảng viên",
                     "Số liệu"], rows, [12, 68, 22, 26, 37], ["c", "l", "r", "r", "c"],
                    bold_last=True, caption=f"Bảng 1. Số {self.cell_l}, số đảng viên theo đơn vị")
        else:
            rows = [[str(k), r.name, m_kind(m, r, s), fmt_num(r.ind.members or 0)]
                    for k, r in enumerate(s.rows, start=1)]
            d.table(["STT", f"Tên {self.cell_l}", "Loại hình", "Số đảng viên"], rows,
                    [12, 85, 38, 30], ["c", "l", "l", "r"],
                    caption=f"Bảng 1. Các {self.cell_l} trực thuộc")

    # --- II --------------------------------------------------------------------------------------

    def prev(self, attr: str) -> str:
        p = self.s.previous
        if p is None:
            return ""
        got = getattr(p, attr, None)
        if isinstance(got, Ratio) and got.den:
            return f" (năm {self.year - 1}: {fmt_pct(got)})"
        return ""

    def quarters(self, key: str) -> str:
        """"; quý III: 96,7%, quý II: 98,9%" — the last two complete quarters, while the year
        is not over."""
        if self.m.as_of >= date(self.year, 12, 31) or self.m.as_of.year != self.year:
            return ""
        series = self.s.total.monthly.get(key)
        if not series:
            return ""
        held = self.s.total.monthly.get("held") or series
        done = [q for q in range(1, 5)
                if all(held[m - 1].den > 0 for m in range(3 * q - 2, 3 * q + 1))]
        if len(done) < 2:
            return ""
        q2, q1 = done[-1], done[-2]

        def pooled(q: int) -> Ratio:
            return sum((series[m - 1] for m in range(3 * q - 2, 3 * q + 1)), Ratio())

        a, b = pooled(q2), pooled(q1)
        if not a.den or not b.den:
            return ""
        return f"; quý {QUARTER[q2]}: {fmt_pct(a)}, quý {QUARTER[q1]}: {fmt_pct(b)}"

    def section_2(self) -> None:
        d, s, m = self.d, self.s, self.m
        t = s.total
        d.heading("II. KẾT QUẢ THỰC HIỆN")
        k = 0

        def head(text: str) -> None:
            nonlocal k
            k += 1
            d.heading(f"{k}. {text}", level=2)

        head("Sinh hoạt thường kỳ (Chỉ thị, mục 5)")
        wd = t.window_days or _uniform_window(s.rows)
        window_text = (f"từ ngày {wd[0]} đến ngày {wd[1]}" if wd else "trong khung ngày quy định "
                       "của từng đơn vị")
        missing = [f for f in s.findings if f.rule == "MEET-MISSING" and not f.accepted]
        d.para(f"Số lượt {self.cell_l} – tháng đã tổ chức sinh hoạt thường kỳ: {_frac(t.held)}"
               f"{self.prev('held')}{self.quarters('held')}. Số buổi sinh hoạt trong khung ngày "
               f"({window_text}): {_frac(t.window)}{self.prev('window')}"
               f"{self.quarters('window')}."
               + (f" Số buổi sinh hoạt đúng ngày {t.preferred_day} hằng tháng: "
                  f"{_frac(t.preferred)}." if t.preferred is not None and t.preferred_day
                  else ""))
        if missing:
            d.para(f"Còn {len(missing)} lượt {self.cell_l} – tháng không sinh hoạt thường kỳ: "
                   + "; ".join(self.where(f) for f in missing[:12])
                   + ("; …" if len(missing) > 12 else "") + ".")
        head("Thời lượng và tỷ lệ đảng viên dự sinh hoạt")
        unexcused = _count(s.by_rule, "MEET-UNEXCUSED")
        d.para(f"Số buổi sinh hoạt bảo đảm thời lượng (thường kỳ từ 90 phút, kết hợp chuyên đề "
               f"từ 120 phút): {_frac(t.duration)}{self.prev('duration')}. Số buổi có tỷ lệ đảng "
               f"viên dự đạt yêu cầu (trên 85%): {_frac(t.attendance)}{self.prev('attendance')}"
               f"{self.quarters('attendance')}; tỷ lệ đảng viên dự chung cả năm "
               f"{fmt_pct(t.pooled) or 'chưa có số liệu'} "
               f"({fmt_num(t.pooled.num if t.pooled else 0)} lượt có mặt / "
               f"{fmt_num(t.pooled.den if t.pooled else 0)} lượt phải dự)."
               + (f" Có {unexcused} buổi sinh hoạt có đảng viên vắng không lý do." if unexcused
                  else " Không có buổi sinh hoạt nào có đảng viên vắng không lý do."))
        head("Sinh hoạt chuyên đề")
        quarters = [(q + 1, r) for q, r in enumerate(t.thematic) if r is not None and r.den]
        if quarters:
            d.para(f"Số {self.cell_l} sinh hoạt chuyên đề đủ theo quý: " + "; ".join(
                f"quý {QUARTER[q]}: {_frac(r)}" for q, r in quarters)
                + f"{self.prev('thematic_all')}. Các quý chưa kết thúc chưa tính.")
        else:
            d.para("Chưa có quý nào đến hạn tổng hợp sinh hoạt chuyên đề.")
        head("Triển khai nghị quyết, nhiệm vụ tháng cho bí thư chi bộ (Chỉ thị, mục 4)")
        if t.briefing is not None and t.briefing.den:
            late = [f for f in s.findings if f.rule == "BRIEF-DEADLINE" and not f.accepted]
            d.para(f"Số tháng {('các ' + self.unit_l) if s.parent else 'Đảng ủy'} triển khai "
                   f"trước ngày 30 của tháng trước: {_frac(t.briefing)}{self.prev('briefing')}."
                   + (f" Còn {len(late)} trường hợp triển khai muộn hoặc không triển khai: "
                      + "; ".join(self.where(f) for f in late[:8]) + "." if late else ""))
        no_tab = [r.name for r in s.rows if r.ind.has_data and r.ind.briefing is None] \
            if s.parent else []
        if no_tab:
            d.para(f"Chưa có sổ theo dõi triển khai: {', '.join(no_tab)}.")
        head("Cấp ủy cấp trên dự sinh hoạt chi bộ (Chỉ thị, mục 8)")
        sup_rows = [r for r in m.supervisors
                    if any(normalize(c) in {normalize(x) for x in s.unit_codes}
                           for c in r.supervisor.units)]
        monthly = [f for f in s.findings if f.rule == "SUP-MONTHLY" and not f.accepted]
        record = _count(s.by_rule, "SUP-RECORD")
        full = [r for r in sup_rows if not any(r.due[i] and r.counts[i] == 0 for i in range(12))]
        d.para(f"Số lượt cấp ủy cấp trên dự sinh hoạt {self.cell_l} trong năm: "
               f"{fmt_num(t.visits or 0)}{self.prev_count('visits')}. Có {len(full)}/"
               f"{len(sup_rows)} đồng chí được phân công dự sinh hoạt đủ các tháng đã đến hạn"
               + (f"; {len(monthly)} lượt đồng chí – tháng không dự: "
                  + "; ".join(_sup_month(f) for f in monthly[:8]) if monthly else "")
               + f". Số lần dự chưa ghi Sổ dự sinh hoạt hoặc chưa đủ xác nhận: {record}.")
        head(f"Đánh giá chất lượng sinh hoạt {self.cell_l} (Chỉ thị, mục 2 và mục 7)")
        ratings = t.ratings or {}
        rated = sum(ratings.values())
        d.para(f"Xếp loại các buổi sinh hoạt thường kỳ ({fmt_num(rated)} buổi đã xếp loại): "
               + "; ".join(f"{LEVEL_VI[lv]} {fmt_num(ratings.get(lv, 0))} buổi "
                           f"({fmt_pct(Ratio(ratings.get(lv, 0), rated))})" for lv in LEVELS)
               + f"{self.prev('good')}{self.quarters('good')}.")
        derived, reported = m.annual_levels(None if s.parent else next(iter(s.unit_codes)))
        n_cells = sum(derived.values())
        d.table(["Mức", "Suy ra từ xếp loại các tháng", "%", f"{self.cell} tự xếp loại", "%"],
                [[LEVEL_VI.get(lv, "Chưa xếp loại"), fmt_num(derived[lv]),
                  fmt_pct(Ratio(derived[lv], n_cells)), fmt_num(reported[lv]),
                  fmt_pct(Ratio(reported[lv], n_cells))] for lv in (*LEVELS, "none")]
                + [["Cộng", fmt_num(n_cells), fmt_pct(Ratio(n_cells, n_cells)),
                    fmt_num(sum(reported.values())),
                    fmt_pct(Ratio(sum(reported.values()), n_cells))]],
                [45, 40, 20, 40, 20], ["l", "r", "r", "r", "r"], bold_last=True,
                caption=f"Bảng 2. Xếp loại chất lượng sinh hoạt {self.cell_l} năm {self.year}")
        inflated = _count(s.by_rule, "ANNUAL-RATING")
        if inflated:
            d.para(f"Có {inflated} {self.cell_l} tự xếp loại năm cao hơn mức suy ra từ xếp loại "
                   f"các tháng, cần xem xét lại cho sát thực chất.")
        halls = [h for h in m.halls if h["unit_code"] in s.unit_codes]
        if halls:
            head("Nhà văn hóa thôn, tổ dân phố (Chỉ thị, mục 9)")
            build = sum(1 for h in halls if h.get("proposal") == "Xây mới")
            d.para(f"Có {len(halls)} thôn, tổ dân phố cần xây mới hoặc nâng cấp nhà văn hóa để "
                   f"bảo đảm chỗ sinh hoạt {self.cell_l} (trong đó {build} đề xuất xây mới); "
                   f"danh sách xếp theo dân số ở trang \"Nhà văn hóa\" của bảng tổng hợp.")
        self.results_table()

    def prev_count(self, attr: str) -> str:
        p = self.s.previous
        got = getattr(p, attr, None) if p is not None else None
        return f" (năm {self.year - 1}: {fmt_num(got)})" if isinstance(got, int) else ""

    def where(self, f: Finding) -> str:
        name = next((r.name for r in self.s.rows if r.code == f.unit), f.unit) \
            if self.s.parent else ""
        period = _period(f.period)
        cell = f"{self.cell_l} {f.cell}" if f.cell else ""
        return ", ".join(x for x in (name, cell, period) if x)

    def results_table(self) -> None:
        s, t = self.s, self.s.total
        heads = ["TT", "Đơn vị" if s.parent else f"Tên {self.cell_l}", "Có sinh hoạt",
                 "Trong khung ngày", "Đủ thời lượng", "Đạt tỷ lệ dự", "Chuyên đề",
                 "Vi phạm", "Cảnh báo"]
        widths = [8, 47, 17, 17, 17, 17, 17, 12.5, 12.5]
        if s.parent:
            heads.insert(7, "Triển khai đúng hạn")
            widths = [8, 32, 16, 17, 17, 16, 17, 17, 12.5, 12.5]

        def row(k: str, name: str, i: UnitIndicators) -> list[str]:
            out = [k, name, fmt_pct(i.held), fmt_pct(i.window), fmt_pct(i.duration),
                   fmt_pct(i.attendance), fmt_pct(i.thematic_all)]
            if s.parent:
                out.append(fmt_pct(i.briefing))
            return out + [fmt_num(i.counts.errors), fmt_num(i.counts.warnings)]

        rows = [row(str(k), short_unit(r.name) if s.parent else r.name, r.ind)
                for k, r in enumerate(s.rows, start=1)]
        rows.append(row("", "Cộng", t))
        self.d.table(heads, rows, widths, ["c", "l", *["r"] * (len(heads) - 2)],
                     bold_last=True, size=11,
                     caption="Bảng 3. Kết quả thực hiện các tiêu chí theo "
                             + ("đơn vị" if s.parent else self.cell_l)
                             + " (tỷ lệ đạt)")
        self.d.para(("Tỷ lệ tính trên các tháng, các quý đã đến hạn; vi phạm, cảnh báo không "
                     "tính các trường hợp đã được chấp nhận giải trình "
                     f"({fmt_num(t.counts.accepted)} trường hợp).", {"italic": True, "size": 12}))

    # --- III -------------------------------------------------------------------------------------

    def section_3(self) -> None:
        d, s, m = self.d, self.s, self.m
        rc = m.config.report
        d.heading("III. HẠN CHẾ, YẾU KÉM")
        d.heading(f"1. Đơn vị, {self.cell_l} còn hạn chế" if s.parent
                  else f"1. Các {self.cell_l} còn hạn chế", level=2)
        crit = [(k, label) for k, label in m.score_criteria
                if s.parent or k not in ("briefing", "completeness")]
        d.para(score_explanation(crit, "đơn vị" if s.parent else self.cell_l))
        ranked = sorted((r for r in s.rows if r.score is not None), key=lambda r: r.rank or 0)
        rows = [[str(r.rank), r.name, fmt_num(r.score), fmt_num(r.ind.counts.errors),
                 fmt_num(r.ind.counts.warnings), self.weakest(r)] for r in ranked]
        d.table(["Xếp thứ", s.row_label if s.parent else f"Tên {self.cell_l}",
                 "Điểm tổng hợp", "Vi phạm", "Cảnh báo", "Tiêu chí thấp nhất"], rows,
                [16, 50, 20, 17, 17, 45], ["c", "l", "r", "r", "r", "l"],
                caption=f"Bảng 4. Xếp thứ {'các đơn vị' if s.parent else 'các ' + self.cell_l}"
                        f" theo điểm tổng hợp")
        weak = ranked[-3:] if len(ranked) > 3 else ranked[-1:]
        if weak:
            d.para(f"{'Các đơn vị' if s.parent else 'Các ' + self.cell_l} xếp cuối: " + "; ".join(
                f"{r.name} ({fmt_num(r.score)} điểm, {self.weakest(r)})" for r in weak) + ".")
        if s.parent:
            worst = sorted((c for c in m.cells if c.score is not None),
                           key=lambda c: (c.score or 0, -c.ind.counts.errors))[:5]
            worst = [c for c in worst if (c.score or 0) < 100]
            if worst:
                d.para(f"Các {self.cell_l} có điểm thấp nhất: " + "; ".join(
                    f"{cell_title(self.cell, c.name, c.code)} ({c.unit_name}, "
                    f"{fmt_num(c.score)} điểm, {c.ind.counts.errors} vi phạm)"
                    for c in worst) + ".")
        d.heading("2. Những hạn chế lặp lại", level=2)
        top = [r for r in s.by_rule][:10]
        if top:
            heads = ["STT", "Hạn chế", "Số trường hợp", "Mức"]
            rows = [[str(k), r.name, fmt_num(r.total),
                     "Vi phạm" if r.severity == ERROR else "Cảnh báo"]
                    for k, r in enumerate(top, start=1)]
            if s.parent:
                heads.insert(3, "Đơn vị")
                for row_, r in zip(rows, top):
                    row_.insert(3, ", ".join(f"{self.short(c)} ({n})"
                                             for c, n in r.by_unit.items() if n))
                widths = [12, 62, 20, 48, 23]
            else:
                widths = [12, 95, 30, 28]
            d.table(heads, rows, widths, ["c", "l", "r", *(["l"] if s.parent else []), "c"],
                    caption="Bảng 5. Các hạn chế xảy ra nhiều nhất (chưa tính trường hợp đã "
                            "được chấp nhận giải trình)")
        else:
            d.para("Không có vi phạm, cảnh báo.")
        d.heading("3. Đề xuất biểu dương và chấn chỉnh (Chỉ thị, mục 6)", level=2)
        rule = proposal_rule(rc, self.cell, units=s.parent)
        d.para((rule, {"italic": True}))
        for title, items in (("a) Đề xuất biểu dương: ", s.commend),
                             ("b) Cần chấn chỉnh: ", s.correct)):
            d.para((title, {"bold": True}), f"{len(items)} trường hợp" + (":" if items else "."))
            shown = _capped(items, MAX_LISTED)
            d.bullets(_listed([f"{p.who}: {p.why}" for p in shown]))
            if len(shown) < len(items):
                d.para(f"(Và {len(items) - len(shown)} trường hợp khác; danh sách đầy đủ ở trang "
                       f"\"Xếp thứ\" của bảng tổng hợp.)")

    def short(self, code: str) -> str:
        name = next((r.name for r in self.s.rows if r.code == code), code)
        return short_unit(name)

    def weakest(self, r: Row) -> str:
        best: tuple[float, str] | None = None
        for key, label in self.m.score_criteria:
            if key == "good":  # a quality level, not a rule to comply with
                continue
            got = getattr(r.ind, key)
            if isinstance(got, Ratio) and got.den:
                v, text = got.num / got.den, f"{label} {fmt_pct(got)}"
            elif got is None and (self.s.parent or key not in ("briefing", "completeness")):
                v, text = 0.0, f"{label}: không có số liệu (tính 0%)"
            else:
                continue
            if best is None or v < best[0]:
                best = (v, text)
        if best is None or best[0] >= 1:
            good = r.ind.good
            if good is not None and good.den and good.num < good.den:
                return f"các tiêu chí đều đạt 100%; buổi sinh hoạt xếp loại Tốt {fmt_pct(good)}"
            return "các tiêu chí đều đạt 100%"
        return best[1]

    # --- IV, V -----------------------------------------------------------------------------------

    def section_4(self) -> None:
        d = self.d
        d.heading("IV. NGUYÊN NHÂN")
        d.heading("1. Nguyên nhân của kết quả đạt được", level=2)
        d.mark("[Ban Tổ chức bổ sung: nguyên nhân của những kết quả đạt được — sự lãnh đạo, chỉ "
               "đạo của cấp ủy các cấp, trách nhiệm của bí thư chi bộ, sự phối hợp với chính "
               "quyền…]" if self.s.parent else
               "[Đảng ủy bổ sung: nguyên nhân của những kết quả đạt được.]")
        d.heading("2. Nguyên nhân của hạn chế, yếu kém", level=2)
        d.mark("[Ban Tổ chức bổ sung: nguyên nhân chủ quan, khách quan của các hạn chế nêu ở "
               "mục III.]" if self.s.parent else
               "[Đảng ủy bổ sung: nguyên nhân chủ quan, khách quan của các hạn chế nêu ở mục III.]")

    def section_5(self) -> None:
        d, s, m = self.d, self.s, self.m
        d.heading("V. PHƯƠNG HƯỚNG, NHIỆM VỤ VÀ KIẾN NGHỊ, ĐỀ XUẤT")
        d.heading("1. Phương hướng, nhiệm vụ năm tới", level=2)
        d.mark("[Ban Tổ chức bổ sung: phương hướng, nhiệm vụ, giải pháp nâng cao chất lượng "
               "sinh hoạt chi bộ năm tới.]" if s.parent else
               "[Đảng ủy bổ sung: phương hướng, nhiệm vụ năm tới.]")
        d.heading("2. Khó khăn, vướng mắc và kiến nghị, đề xuất của cơ sở", level=2)
        notes = [x for x in m.difficulties if x.unit_code in s.unit_codes]
        if notes:
            groups: dict[str, list[Any]] = {}
            for x in notes:  # the same request from several cells: said once
                groups.setdefault(normalize(x.text).rstrip("."), []).append(x)
            ordered = sorted(groups.values(), key=lambda g: -len(g))
            d.para(f"Ghi tại Sổ dự sinh hoạt {self.cell_l}: {len(notes)} ý kiến, "
                   f"{len(ordered)} nội dung (ý kiến nhiều nơi nêu xếp trước):")
            shown = ordered[:MAX_LISTED]
            d.bullets([f"{g[0].text.rstrip('.')} ({_note_who(g, s.parent, self.cell_l)})."
                       for g in shown])
            if len(shown) < len(ordered):
                d.para(f"(Và {len(ordered) - len(shown)} nội dung khác; đầy đủ ở trang \"Dự "
                       f"sinh hoạt\" của bảng tổng hợp.)")
        else:
            d.para("Sổ dự sinh hoạt chi bộ không ghi khó khăn, kiến nghị nào trong năm.")
        d.heading("3. Kiến nghị, đề xuất", level=2)
        d.mark("[Ban Tổ chức bổ sung: kiến nghị, đề xuất với Ban Thường vụ "
               f"{self.parent_label}.]" if s.parent else
               f"[Đảng ủy bổ sung: kiến nghị, đề xuất với Ban Thường vụ {self.parent_label}.]")
        d.para(f"Trên đây là báo cáo tình hình, chất lượng sinh hoạt {self.cell_l} năm "
               f"{self.year} của {self.issuer_name() if s.parent else s.name}.")


def _capped(items: list[Proposal], most: int) -> list[Proposal]:
    """The units first, then the cells, at most ``most``."""
    return (sorted(items, key=lambda p: p.cell is not None))[:most]


def _listed(lines: list[str]) -> list[str]:
    """Items of a list: "…;" and the last "…"."""
    return [x + (";" if k < len(lines) - 1 else ".") for k, x in enumerate(lines)]


def m_kind(model: Model, row: Row, scope: Scope) -> str:
    for c in model.cells:
        if c.unit in scope.unit_codes and c.code == row.code:
            return c.kind
    return ""


def _uniform_window(rows: Sequence[Row]) -> tuple[int, int] | None:
    got = {r.ind.window_days for r in rows if r.ind.window_days is not None}
    return got.pop() if len(got) == 1 else None


def _period(period: str | None) -> str:
    if not period:
        return ""
    if len(period) == 7 and period[4] == "-" and period[5:].isdigit():
        return f"tháng {period[5:7]}/{period[:4]}"
    if "-Q" in period:
        return f"quý {QUARTER.get(int(period[-1]), period[-1])}/{period[:4]}"
    return period


def _sup_month(f: Finding) -> str:
    """"đ/c Đỗ Thị Mai tháng 05/2026" from a SUP-MONTHLY message."""
    name = f.message.split(" chưa dự")[0].replace("Đ/c ", "đ/c ", 1)
    return f"{name} {_period(f.period)}"


def _note_who(group: list[Any], parent: bool, cell_l: str) -> str:
    """"3 ý kiến: xã Nhân Thịnh (chi bộ CB03, CB05), thị trấn Vĩnh Trụ (chi bộ CB05)"."""
    where: dict[str, list[str]] = {}
    for x in group:
        cells = where.setdefault(short_unit(x.unit_name) if parent else "", [])
        if x.cell and x.cell not in cells:
            cells.append(x.cell)
    parts = [(f"{u} ({cell_l} {', '.join(c)})" if u else f"{cell_l} {', '.join(c)}")
             if c else u for u, c in where.items()]
    count = f"{len(group)} ý kiến: " if len(group) > 1 else ""
    return count + "; ".join(p for p in parts if p)

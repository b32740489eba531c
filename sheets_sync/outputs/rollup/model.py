"""One computation, many views: everything the roll-up workbook and the December report show,
computed once from (config, report, reads).

``build_model`` makes the per-unit contexts and indicators (``indicators``), the detail values
(``extract``), the ranking by a composite score, the units and cells proposed for commendation
or correction (``[report]`` thresholds of the config), the month-by-month trend, the findings
summarised by rule, and the previous year's indicators when the sheets hold that year. The
workbook writers and the report read these values; neither recomputes a figure.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from operator import attrgetter
from typing import Any

from ...core import heap
from ...core.config import Config, ReportConfig
from ...core.findings import ERROR, INFO, WARNING, Finding, FindingCounts, Report
from ...core.grid import UnitData
from ...core.rules.base import UnitContext, make_context
from ...core.rules.catalog import rule_name_vi
from ...core.template import load_template
from ...core.text import normalize
from . import extract
from .indicators import (
    Ratio,
    TabIndex,
    UnitIndicators,
    index,
    may_hold_year,
    total,
    unit_and_cells,
    unit_indicators,
)
from .sheets import UnitBlock

LEVELS = ("good", "fair", "average", "poor")
LEVEL_VI = {"good": "Tốt", "fair": "Khá", "average": "Trung bình", "poor": "Kém"}

# The composite score: the mean of these rates (each a share of what was due), in percent.
SCORE_CRITERIA: tuple[tuple[str, str], ...] = (
    ("held", "có sinh hoạt thường kỳ"),
    ("window", "sinh hoạt trong khung ngày"),
    ("duration", "đủ thời lượng"),
    ("attendance", "đạt tỷ lệ đảng viên dự"),
    ("thematic_all", "sinh hoạt chuyên đề theo quý"),
    ("briefing", "triển khai nhiệm vụ tháng đúng hạn"),
    ("clean", "buổi sinh hoạt không có vi phạm"),
    ("good", "buổi sinh hoạt xếp loại Tốt"),
    ("completeness", "dòng số liệu đầy đủ, đúng kiểu"),
)


def rate(x: Ratio | None) -> float | None:
    return x.value if x is not None else None


@dataclass
class UnitModel:
    result: Any  # findings.UnitResult
    read: Any  # pipeline.UnitRead or None
    ctx: UnitContext | None
    findings: list[Finding]
    ind: UnitIndicators
    score: float | None = None
    rank: int | None = None
    missing_criteria: list[str] = field(default_factory=list)  # counted as 0 in the score

    @property
    def code(self) -> str:
        return self.result.code

    @property
    def name(self) -> str:
        return self.result.name

    @property
    def block(self):
        r = self.result
        return UnitBlock(r.code, r.name, r.status, r.message, self.ctx is not None)


@dataclass
class CellModel:
    unit: str  # unit code
    unit_name: str
    code: str
    name: str
    kind: str  # Vietnamese label of Loại hình
    ind: UnitIndicators
    derived: str | None  # annual level derived from the months
    reported: str | None  # self-reported annual level
    score: float | None = None


@dataclass
class Proposal:
    who: str  # "Đảng ủy xã Nhân Thịnh" or "Chi bộ Thôn 1 (NT – CB01)"
    unit: str
    cell: str | None
    why: str


@dataclass
class RuleCount:
    rule: str
    name: str
    severity: str  # error / warning / info (MEET-WINDOW, MEMBER-EXCUSED-STREAK: both)
    by_unit: dict[str, int]
    total: int


@dataclass
class Model:
    config: Config
    report: Report
    as_of: date
    year: int
    labels: Mapping[str, str]
    units: list[UnitModel]
    total: UnitIndicators
    cells: list[CellModel]
    annual: list[tuple[Any, list[extract.AnnualRow]]]
    matrix: list[tuple[Any, list[extract.MatrixRow]]]
    supervisors: list[extract.SupervisorRow]
    difficulties: list[extract.Difficulty]
    halls: list[dict[str, Any]]
    by_rule: list[RuleCount]  # errors and warnings (accepted excepted), most frequent first
    notes_by_rule: list[RuleCount]  # info findings
    commend_units: list[Proposal]
    correct_units: list[Proposal]
    commend_cells: list[Proposal]
    correct_cells: list[Proposal]
    previous: UnitIndicators | None  # the previous year pooled, when the sheets hold it
    previous_units: dict[str, UnitIndicators]
    score_criteria: list[tuple[str, str]]  # criteria in the score (applicable somewhere)

    @property
    def counts(self) -> FindingCounts:
        return self.total.counts

    def unit(self, code: str) -> UnitModel:
        for u in self.units:
            if normalize(u.code) == normalize(code):
                return u
        raise KeyError(code)

    def ranked(self) -> list[UnitModel]:
        return sorted((u for u in self.units if u.score is not None),
                      key=lambda u: (u.rank or 0))

    def annual_levels(self, unit: str | None = None) -> tuple[dict[str, int], dict[str, int]]:
        """(derived level counts, self-reported level counts) of the cells, "none" = not
        derivable / not reported; one unit's cells when ``unit`` is given."""
        derived = {k: 0 for k in (*LEVELS, "none")}
        reported = {k: 0 for k in (*LEVELS, "none")}
        for block, rows in self.annual:
            if unit is not None and normalize(block.code) != normalize(unit):
                continue
            for a in rows:
                derived[a.derived or "none"] += 1
                reported[a.reported or "none"] += 1
        return derived, reported


# --- build --------------------------------------------------------------------------------------

def build_model(config: Config, report: Report, reads: Sequence[Any],
                stored_year: Callable[[str, int], UnitData | None] | None = None) -> Model:
    """``stored_year(unit code, year)``: that unit's data as stored in the history for a year,
    used for the previous year's comparison when the sheets no longer hold that year."""
    with heap.paused():
        return _build_model(config, report, reads, stored_year)


def _build_model(config: Config, report: Report, reads: Sequence[Any],
                 stored_year: Callable[[str, int], UnitData | None] | None) -> Model:
    as_of, year = report.as_of, report.year
    labels = dict(config.labels)
    by_code = {r.config.code: r for r in reads}
    findings_of: dict[str, list[Finding]] = {}
    for f in report.findings:
        found = findings_of.get(f.unit)
        if found is None:
            findings_of[f.unit] = [f]
        else:
            found.append(f)
    units: list[UnitModel] = []
    per_cell: list[dict[str, UnitIndicators]] = []  # each unit's cells' indicators
    names: list[dict[str, str]] = []  # each unit's cells' names
    indexes: list[TabIndex | None] = []  # each unit's meetings index
    for res in report.units:
        read = by_code.get(res.code)
        ctx = None
        if read is not None and read.data is not None:
            ctx = make_context(read.data, read.config.rules, as_of, year)
        found = findings_of.get(res.code, [])
        idx = index(ctx) if ctx is not None else None
        ind, cells_ind = unit_and_cells(ctx, res, found, idx)
        units.append(UnitModel(res, read, ctx, found, ind))
        per_cell.append(cells_ind)
        names.append(extract.cell_names(ctx) if ctx is not None else {})
        indexes.append(idx)
    tot = total([u.ind for u in units])

    blocks = [u.block for u in units]
    annual = [(b, extract.annual_rows(u.ctx, cells_ind, cell_names)
               if u.ctx is not None else [])
              for b, u, cells_ind, cell_names in zip(blocks, units, per_cell, names)]
    matrix = [(b, extract.matrix_rows(u.ctx, u.findings, "Sinh hoạt", idx, cell_names)
               if u.ctx is not None else [])
              for b, u, idx, cell_names in zip(blocks, units, indexes, names)]
    contexts = {normalize(u.code): u.ctx for u in units if u.ctx is not None}
    supervisors = extract.supervisor_rows(config.supervisors, contexts, config.rules, as_of, year)
    notes = [d for u in units if u.ctx is not None
             for d in extract.difficulties(u.code, u.name, u.ctx)]
    order = {u.code: k for k, u in enumerate(units)}
    halls = extract.sort_halls([h for u in units if u.ctx is not None
                                for h in extract.hall_rows(u.code, u.name, u.ctx)], order)

    criteria = [(k, label) for k, label in SCORE_CRITERIA if _den(getattr(tot, k)) > 0]
    for u in units:
        u.score, u.missing_criteria = composite(u.ind, criteria)
    _rank(units)

    cells = _cells(units, per_cell, names, annual, criteria)
    previous, previous_units = _previous_year(units, as_of, year, stored_year)
    rc = config.report
    model = Model(
        config=config, report=report, as_of=as_of, year=year, labels=labels, units=units,
        total=tot, cells=cells, annual=annual, matrix=matrix, supervisors=supervisors,
        difficulties=notes, halls=halls,
        by_rule=_by_rule([f for f in report.findings if f.severity != INFO and not f.accepted],
                         units),
        notes_by_rule=_by_rule([f for f in report.findings if f.severity == INFO], units),
        commend_units=[], correct_units=[], commend_cells=[], correct_cells=[],
        previous=previous, previous_units=previous_units, score_criteria=criteria)
    _proposals(model, rc)
    return model


def _den(x: Any) -> int:
    return x.den if isinstance(x, Ratio) else 0


def composite(ind: UnitIndicators, criteria: Sequence[tuple[str, str]]
              ) -> tuple[float | None, list[str]]:
    """The mean of the criteria's rates in percent; a criterion the unit has no figure for
    (tab or column missing) counts as 0 and is named. None without data."""
    if not ind.has_data or not criteria:
        return None, []
    values, missing = [], []
    for key, label in criteria:
        got = getattr(ind, key)
        if isinstance(got, Ratio):
            if got.den > 0:  # nothing due for this unit: not in its mean
                values.append(got.num / got.den)
        else:
            missing.append(label)
            values.append(0.0)
    if not values:
        return None, missing
    return round(100 * sum(values) / len(values), 1), missing


def _rank(units: list[UnitModel]) -> None:
    """1 = best; ties share a rank (1, 2, 2, 4); units without a score are not ranked."""
    scored = sorted((u for u in units if u.score is not None),
                    key=lambda u: (-(u.score or 0.0), u.ind.counts.errors))
    prev: tuple | None = None
    for k, u in enumerate(scored, start=1):
        key = (u.score, u.ind.counts.errors)
        if key != prev:
            rank = k
        u.rank, prev = rank, key


def _cells(units: list[UnitModel], per_cell: list[dict[str, UnitIndicators]],
           names_of: list[dict[str, str]], annual, criteria) -> list[CellModel]:
    """``annual``: each unit's annual rows (one per cell of its register, in its order)."""
    kinds = load_template().tab("cells").column("kind")
    out = []
    cell_criteria = [(k, lab) for k, lab in criteria if k not in ("briefing", "completeness")]
    kind_labels: dict[str | None, str] = {}
    for u, cells_ind, names, (_, annual_rows) in zip(units, per_cell, names_of, annual):
        if u.ctx is None:
            continue
        for (key, cell), a in zip(u.ctx.cells.items(), annual_rows):  # key: code_key(cell.code)
            ind = cells_ind[key]
            ind.code, ind.name = cell.code, names.get(key, "")
            score, _ = composite(ind, cell_criteria)
            kind = kind_labels.get(cell.kind)
            if kind is None:
                kind = kind_labels[cell.kind] = kinds.label_of(cell.kind) or ""
            out.append(CellModel(u.code, u.name, cell.code, names.get(key, ""), kind, ind,
                                 a.derived if a else None, a.reported if a else None, score))
    return out


def _by_rule(findings: list[Finding], units: list[UnitModel]) -> list[RuleCount]:
    """Findings per rule and unit. A rule's severity is that of its first finding, error when
    any of its findings is one."""
    first_severity: dict[str, str] = {}
    with_errors: set[str] = set()
    for rule, severity in Counter(map(attrgetter("rule", "severity"), findings)):
        first_severity.setdefault(rule, severity)  # keys in the order first seen
        if severity == ERROR:
            with_errors.add(rule)
    none = {u.code: 0 for u in units}
    counts: dict[str, RuleCount] = {}
    for (rule, unit), n in Counter(map(attrgetter("rule", "unit"), findings)).items():
        rc = counts.get(rule)
        if rc is None:
            rc = counts[rule] = RuleCount(
                rule, rule_name_vi(rule), ERROR if rule in with_errors else first_severity[rule],
                dict(none), 0)
        rc.by_unit[unit] = rc.by_unit.get(unit, 0) + n
        rc.total += n
    sev = {ERROR: 0, WARNING: 1, INFO: 2}
    return sorted(counts.values(), key=lambda r: (-r.total, sev.get(r.severity, 3), r.rule))


def _previous_year(units: list[UnitModel], as_of: date, year: int,
                   stored_year: Callable[[str, int], UnitData | None] | None = None
                   ) -> tuple[UnitIndicators | None, dict[str, UnitIndicators]]:
    """The previous year's indicators (that year's rows, every month due) from the same sheets
    or, for a unit whose sheets no longer hold that year, from its last stored pull of that
    year; None when no unit has a regular meeting of that year."""
    prev_as_of = date(year, 2, 1) if as_of >= date(year, 2, 1) else as_of
    if as_of.year < year:
        return None, {}
    out: dict[str, UnitIndicators] = {}
    for u in units:
        if u.ctx is None or u.read is None:
            continue
        ind = None
        if may_hold_year(u.read.data, year - 1):
            ctx = make_context(u.read.data, u.read.config.rules, prev_as_of, year - 1)
            ind = unit_indicators(ctx, u.result, [])
        if (ind is None or ind.held is None or ind.held.num == 0) and stored_year is not None:
            data = stored_year(u.code, year - 1)
            if data is not None:
                ind = unit_indicators(make_context(data, u.read.config.rules, prev_as_of,
                                                   year - 1), u.result, [])
        if ind is not None and ind.held is not None and ind.held.num > 0:
            out[u.code] = ind
    if not out:
        return None, {}
    return total(list(out.values())), out


def _proposals(model: Model, rc: ReportConfig) -> None:
    """§6 of the directive: commendation and correction, by the thresholds of ``[report]``."""
    cell_label = model.labels.get("cell", "Chi bộ")
    for u in model.units:
        if u.score is None:
            continue
        errors = u.ind.counts.errors
        if u.score >= rc.commend_unit_min_score and errors <= rc.commend_unit_max_errors:
            model.commend_units.append(Proposal(
                u.name, u.code, None, f"điểm tổng hợp {fmt_num(u.score)}, {errors} vi phạm"))
        elif u.score < rc.correct_unit_max_score or errors >= rc.correct_unit_min_errors:
            reasons = []
            if u.score < rc.correct_unit_max_score:
                reasons.append(f"điểm tổng hợp {fmt_num(u.score)}")
            if errors >= rc.correct_unit_min_errors:
                reasons.append(f"{errors} vi phạm")
            model.correct_units.append(Proposal(u.name, u.code, None, ", ".join(reasons)))
    short: dict[str, str] = {}  # unit name -> short_unit(name)

    def who(c: CellModel) -> str:
        unit = short.get(c.unit_name)
        if unit is None:
            unit = short[c.unit_name] = short_unit(c.unit_name)
        return f"{cell_title(cell_label, c.name, c.code)} ({unit})"

    for c in model.cells:
        errors = c.ind.counts.errors
        if c.derived == "good" and errors == 0:
            model.commend_cells.append(Proposal(who(c), c.unit, c.code,
                                                "xếp loại suy ra Tốt, không có vi phạm"))
        elif c.derived in ("average", "poor") or errors >= rc.correct_cell_min_errors:
            reasons = []
            if c.derived in ("average", "poor"):
                reasons.append(f"xếp loại suy ra {LEVEL_VI[c.derived]}")
            if errors >= rc.correct_cell_min_errors:
                reasons.append(f"{errors} vi phạm")
            model.correct_cells.append(Proposal(who(c), c.unit, c.code, ", ".join(reasons)))


def cell_title(cell_label: str, name: str, code: str) -> str:
    """"Chi bộ thôn Vũ Xá" as named in the register, the label added when the name lacks it."""
    if not name:
        return f"{cell_label} {code}"
    if normalize(name).startswith(normalize(cell_label)):
        return name
    return f"{cell_label} {name}"


def score_explanation(criteria: Sequence[tuple[str, str]], who: str) -> str:
    """The "Cách tính" of the composite score, the same words in the roll-up and the report."""
    names = ", ".join(label for _, label in criteria)
    return (f"Điểm tổng hợp của mỗi {who} (thang 100) là trung bình cộng các tỷ lệ đạt: {names}; "
            f"mỗi tỷ lệ tính trên các tháng, các quý đã đến hạn. Tiêu chí không có số liệu do "
            f"thiếu sổ, thiếu cột tính 0 điểm; tiêu chí chưa đến hạn không tính. Xếp thứ từ cao "
            f"xuống thấp; bằng điểm thì {who} ít vi phạm hơn xếp trước.")


def proposal_rule(rc: ReportConfig, cell_label: str, units: bool = True) -> str:
    """The rule of ``[report]`` for §6 proposals, as the roll-up and the report state it."""
    cell = cell_label.lower()
    cells_commend = (f"{cell} có mức xếp loại suy ra từ các tháng là Tốt và không có vi phạm")
    cells_correct = (f"{cell} có mức xếp loại suy ra Trung bình, Kém hoặc từ "
                     f"{rc.correct_cell_min_errors} vi phạm trở lên")
    if not units:
        return f"Đề xuất biểu dương: {cells_commend}. Cần chấn chỉnh: {cells_correct}."
    return (f"Đề xuất biểu dương: đơn vị có điểm tổng hợp từ {fmt_num(rc.commend_unit_min_score)}"
            f" trở lên và không quá {rc.commend_unit_max_errors} vi phạm; {cells_commend}. Cần "
            f"chấn chỉnh: đơn vị có điểm tổng hợp dưới {fmt_num(rc.correct_unit_max_score)} hoặc "
            f"từ {rc.correct_unit_min_errors} vi phạm trở lên; {cells_correct}.")


# --- number formatting shared by the views -------------------------------------------------------

def fmt_num(x: float | int | None, digits: int = 1) -> str:
    """Vietnamese number: 1.234,5 (thousands dot, decimal comma); "" for None."""
    if x is None:
        return ""
    if isinstance(x, int):
        return f"{x:,}".replace(",", ".")
    text = f"{x:,.{digits}f}".replace(",", "_").replace(".", ",").replace("_", ".")
    return text


def fmt_pct(x: Ratio | float | None, digits: int = 1) -> str:
    """"96,7%"; "" when there is nothing to compute."""
    value = x.value if isinstance(x, Ratio) else x
    if value is None:
        return ""
    if value in (0, 1):
        return f"{int(100 * value)}%"
    return f"{fmt_num(100 * value, digits)}%"


def short_unit(name: str) -> str:
    """"Đảng ủy xã Nhân Thịnh" -> "xã Nhân Thịnh" (tables, lists)."""
    low = normalize(name)
    for prefix in ("đảng ủy ", "đảng uỷ ", "đảng bộ "):
        if low.startswith(prefix):
            return name.strip()[len(prefix):].strip()
    return name


def quarter_of(month: int) -> int:
    return (month - 1) // 3 + 1

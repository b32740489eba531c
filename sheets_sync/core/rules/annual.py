"""ANNUAL-RATING: the self-reported annual rating (`Đánh giá năm`) against the level derived from
the monthly ratings (rules.md "Annual rating").

Derivation per cell of the register: the counted months are the months of the checked year in
which the cell was active and whose regular meeting is due by the as-of date; each month's
rating is that of its first regular meeting (later ones are MEET-DUPLICATE); a month without a
meeting, without a rating or with an unreadable one counts as Kém. With n < 12 counted months
the count ``annual_min_tot`` (used both for Tốt and for Khá) becomes ceil(min × n / 12);
``annual_max_kem`` is not scaled.

- Tốt: every month Khá or better and at least that many Tốt;
- Khá: every month Trung bình or better and at least that many Khá or better;
- Trung bình: at most ``annual_max_kem`` months Kém;
- Kém otherwise.

The derivation needs the meetings tab with its cell, month and rating columns; without them
nothing is derived (and nothing is reported). The finding is a warning on each `Đánh giá năm`
row of the checked year whose self-rating is better than the derived level.
"""
from __future__ import annotations

from ..findings import WARNING, Finding
from .base import UnitContext, code_key, due_months, first_regular_meetings, month_key

# Choice ids of the template's "rating" set, best first.
LEVELS = ("good", "fair", "average", "poor")
RANK = {level: k for k, level in enumerate(LEVELS)}
POOR = RANK["poor"]


def derive_level(ranks: list[int], min_tot: int, max_kem: int) -> str | None:
    """The annual level from the counted months' ranks (0 = Tốt … 3 = Kém, nothing else);
    None without months."""
    return level_of_counts(ranks.count(RANK["good"]), ranks.count(RANK["fair"]),
                           ranks.count(RANK["average"]), ranks.count(POOR), min_tot, max_kem)


def level_of_counts(good: int, fair: int, average: int, poor: int, min_tot: int, max_kem: int
                    ) -> str | None:
    """``derive_level`` from the number of counted months of each rank (a month without a
    meeting, without a rating or with an unreadable one among ``poor``); None without months."""
    n = good + fair + average + poor
    if n == 0:
        return None
    need = min_tot if n >= 12 else -(-min_tot * n // 12)  # ceil(min_tot × n / 12)
    if average == 0 and poor == 0 and good >= need:
        return "good"
    if poor == 0 and good + fair >= need:
        return "fair"
    if poor <= max_kem:
        return "average"
    return "poor"


def derive_annual(ctx: UnitContext) -> dict[str, tuple[str | None, int]]:
    """Cell code (as in `Chi bộ`) -> (derived level id or None, number of months counted).
    Empty when the meetings tab or one of its cell, month and rating columns is missing."""
    tab = ctx.tab("meetings")
    if tab is None or not all(tab.has(c) for c in ("cell_code", "month", "rating")):
        return {}
    first = first_regular_meetings(tab)
    ratings = tab.col("rating")
    months = [(m, month_key(ctx.year, m)) for m in due_months(ctx)]
    min_tot, max_kem = ctx.params["annual_min_tot"], ctx.params["annual_max_kem"]
    out: dict[str, tuple[str | None, int]] = {}
    for key, cell in ctx.cells.items():
        ranks = []
        active = cell.months_active(ctx.year)
        for m, period in months:
            if not active[m]:
                continue
            i = first.get((key, period))
            rating = ratings[i] if i is not None else None
            ranks.append(POOR if rating is None else RANK.get(rating, POOR))
        out[cell.code] = (derive_level(ranks, min_tot, max_kem), len(ranks))
    return out


def check(ctx: UnitContext) -> list[Finding]:
    tab = ctx.tab("annual")
    if tab is None or not tab.rows:
        return []
    if not all(tab.has(c) for c in ("cell_code", "year", "self_rating")):
        return []
    derived = {code_key(code): (code, *got) for code, got in derive_annual(ctx).items()}
    if not derived:
        return []
    column = tab.tab.column("self_rating")
    out = []
    for i, (code, year, rating) in enumerate(zip(tab.col("cell_code"), tab.col("year"),
                                                 tab.col("self_rating"))):
        if code is None or year != ctx.year or rating not in RANK:
            continue
        code, level, n = derived.get(code_key(code), (code, None, 0))
        if level is None or RANK[rating] >= RANK[level]:
            continue
        out.append(tab.finding(
            i, "ANNUAL-RATING", WARNING,
            f"Chi bộ {code} tự xếp loại năm {ctx.year} \"{column.label_of(rating)}\", cao hơn "
            f"mức suy ra từ xếp loại {n} tháng: \"{column.label_of(level)}\".",
        ))
    return out

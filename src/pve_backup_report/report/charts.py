"""Chart geometry for the HTML/PDF templates (the templates only draw what is computed here).

Why precomputed: Jinja arithmetic is hard to read and to test; here the bars are plain numbers
that the SVG variant and the e-mail variant (table cells with percentage widths, no SVG) share.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..analysis.coverage import Verdict
from .model import Summary

VERDICT_COLOURS = {
    Verdict.COVERED.value: "#2e7d32",
    Verdict.COVERED_NON_PBS.value: "#0277bd",
    Verdict.OPTED_OUT.value: "#9e9e9e",
    Verdict.EXCLUDED.value: "#8d6e63",
    Verdict.INDETERMINATE.value: "#f9a825",
    Verdict.DISABLED_ONLY.value: "#ef6c00",
    Verdict.NOT_COVERED.value: "#c62828",
}
AGE_COLOURS = {
    "lt_24h": "#2e7d32",
    "24_48h": "#7cb342",
    "2_7d": "#f9a825",
    "gt_7d": "#ef6c00",
    "never": "#c62828",
}
# display order of the coverage chart: good first
VERDICT_ORDER = (
    Verdict.COVERED,
    Verdict.COVERED_NON_PBS,
    Verdict.OPTED_OUT,
    Verdict.EXCLUDED,
    Verdict.INDETERMINATE,
    Verdict.DISABLED_ONLY,
    Verdict.NOT_COVERED,
)


@dataclass(frozen=True)
class Bar:
    code: str
    count: int
    colour: str
    start: float  # 0..100, for stacked bars
    pct: float  # 0..100 of the total (stacked) or of the largest value (columns)
    share: float  # 0..100 of the total, for labels


def coverage_bars(summary: Summary) -> list[Bar]:
    total = summary.guests_total
    bars: list[Bar] = []
    start = 0.0
    for verdict in VERDICT_ORDER:
        count = summary.verdicts.get(verdict.value, 0)
        pct = 100.0 * count / total if total else 0.0
        bars.append(Bar(verdict.value, count, VERDICT_COLOURS[verdict.value], start, pct, pct))
        start += pct
    return bars


def age_bars(summary: Summary) -> list[Bar]:
    total = sum(b.count for b in summary.age_buckets)
    top = max((b.count for b in summary.age_buckets), default=0)
    return [
        Bar(
            b.code,
            b.count,
            AGE_COLOURS[b.code],
            0.0,
            100.0 * b.count / top if top else 0.0,
            100.0 * b.count / total if total else 0.0,
        )
        for b in summary.age_buckets
    ]

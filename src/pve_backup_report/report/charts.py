"""Chart geometry for the HTML/PDF templates (the templates only draw what is computed here).

Why precomputed: Jinja arithmetic is hard to read and to test; here the bars are plain numbers
that the SVG variant and the e-mail variant (table cells with percentage widths, no SVG) share.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ..analysis.coverage import Verdict
from .history_view import TrendPoint
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


# --------------------------------------------------------------------------- history
TREND_COLOURS = {"coverage": "#2e7d32", "failed": "#c62828", "stale": "#ef6c00"}
CELL_COLOURS = {  # background, text: every cell also carries a letter (colour is never alone)
    "success": ("#2e7d32", "#ffffff"),
    "warning": ("#7cb342", "#ffffff"),
    "failure": ("#c62828", "#ffffff"),
    "running": ("#0277bd", "#ffffff"),
    "undetermined": ("#f9a825", "#1d2125"),
    "not_covered": ("#6d1414", "#ffffff"),
    "no_backup": ("#d5d9de", "#1d2125"),
    "opted_out": ("#eef0f2", "#5f6368"),
    "no_data": ("#ffffff", "#9aa0a6"),
}


@dataclass(frozen=True)
class TrendBar:
    at: datetime
    value: float | None  # None: not computable for that run (no guest in scope)
    pct: float  # 0..100 of the chart's height
    current: bool  # this report


@dataclass(frozen=True)
class TrendChart:
    metric: str  # coverage | failed | stale
    colour: str
    top: float  # the value at 100 % height
    bars: tuple[TrendBar, ...]  # oldest first

    @property
    def latest(self) -> float | None:
        return self.bars[-1].value if self.bars else None


def _metric(point: TrendPoint, metric: str) -> float | None:
    if metric == "coverage":
        return point.coverage_percent
    return float(point.failed if metric == "failed" else point.stale)


def trend_charts(points: Sequence[TrendPoint]) -> list[TrendChart]:
    charts = []
    for metric in ("coverage", "failed", "stale"):
        values = [_metric(p, metric) for p in points]
        top = 100.0 if metric == "coverage" else max((v or 0.0 for v in values), default=0.0)
        bars = tuple(
            TrendBar(p.at, v, 100.0 * v / top if v and top else 0.0, p.run_id is None)
            for p, v in zip(points, values, strict=True)
        )
        charts.append(TrendChart(metric, TREND_COLOURS[metric], top, bars))
    return charts

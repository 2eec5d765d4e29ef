"""Nagios/Icinga plugin output (`--check`): one status line, performance data, long output.

Why a separate output and not the text report: monitoring systems parse the first line and
the perfdata, keep the exit code, and show the long output to whoever is on call. The format
follows the Monitoring Plugins development guidelines: `SERVICE STATUS - text | perfdata`,
perfdata items `label=value;warn;crit;min;max`, thresholds written in the guidelines' range
syntax (`10`, `10:`, `~:10`, `10:20`, `@10:20`), `U` for a value that could not be measured.

Thresholds apply to counts. The defaults reproduce the report's own exit status exactly
(`report_exit_status`): any guest not covered or whose last backup failed, or any critical
anomaly → CRITICAL; any stale guest, other guest needing attention, or warning anomaly →
WARNING. Users loosen or tighten one metric at a time (`--critical not_covered=5`); a metric
set to `none` never alerts. UNKNOWN (3) when the cluster could not be read (guest or job list
unknown, `Report.unknown_cause`): the line names the cause and every count is `U`, because
every verdict then is a guess. Several clusters give one output (`nagios_combined`): one
status line, the worst cluster decides. The output is always English, like the plugins'
status words monitoring systems expect.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ..config import ConfigError
from ..exit_status import ExitStatus
from ..report.counts import summary_counts
from ..report.i18n import Translator
from ..report.model import Report
from ..report.safe_text import clip, visible

SERVICE = "PVE BACKUP"
MAX_ITEMS = 100
METRICS = (
    "not_covered",
    "failed",
    "stale",
    "other",
    "anomalies_critical",
    "anomalies_warning",
    "single_copy",  # guests whose copy policy verdict is single_copy; no default threshold
)


@dataclass(frozen=True)
class Range:
    """A threshold range: alert when the value is outside [start, end] (inside with `@`)."""

    text: str
    start: float
    end: float
    inside: bool = False

    def alerts(self, value: float) -> bool:
        within = self.start <= value <= self.end
        return within if self.inside else not within


NEVER = Range("", -math.inf, math.inf, inside=False)  # "none": never alerts


def parse_range(text: str) -> Range:
    """The guidelines' range syntax. Raises ValueError with a short reason."""
    raw = text.strip()
    body = raw[1:] if raw.startswith("@") else raw
    if not body:
        raise ValueError("empty range")
    start_text, colon, end_text = body.partition(":")
    if not colon:
        start_text, end_text = "0", start_text
    start = -math.inf if start_text == "~" else float(start_text or "0")
    end = float(end_text) if end_text else math.inf
    if math.isnan(start) or math.isnan(end) or start > end:
        raise ValueError("the start of a range must not be greater than its end")
    return Range(raw, start, end, inside=raw.startswith("@"))


@dataclass(frozen=True)
class Thresholds:
    warning: Mapping[str, Range] = field(default_factory=dict)
    critical: Mapping[str, Range] = field(default_factory=dict)


DEFAULT_THRESHOLDS = Thresholds(
    warning={m: parse_range("0") for m in ("stale", "other", "anomalies_warning")},
    critical={m: parse_range("0") for m in ("not_covered", "failed", "anomalies_critical")},
)


def _parse_option(option: str, text: str | None) -> dict[str, Range]:
    expected = (
        f"expected metric=range[,metric=range…] with metric one of {', '.join(METRICS)} "
        "and range as in the Nagios plugin guidelines (5, 5:, ~:5, 2:5, @2:5) or none"
    )
    result: dict[str, Range] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        metric, eq, value = item.partition("=")
        metric = metric.strip().lower()
        if not eq or metric not in METRICS:
            raise ConfigError(option, expected)
        if value.strip().lower() in ("", "none"):
            result[metric] = NEVER
            continue
        try:
            result[metric] = parse_range(value)
        except ValueError:
            raise ConfigError(option, expected) from None
    return result


def parse_thresholds(
    warning: str | None = None,
    critical: str | None = None,
    base: Thresholds = DEFAULT_THRESHOLDS,
) -> Thresholds:
    """`--warning`/`--critical` option values (`not_covered=2,stale=5`) over the defaults.

    Only the metrics named are replaced; raises `ConfigError` naming the option.
    """
    return Thresholds(
        warning={**base.warning, **_parse_option("--warning", warning)},
        critical={**base.critical, **_parse_option("--critical", critical)},
    )


def cluster_label(report: Report) -> str:
    """The cluster's identity (`ClusterInfo.label`, see `Inventory.cluster_label`); reports
    built by hand without one fall back to the name, else the API host."""
    if report.cluster.label:
        return report.cluster.label
    if report.cluster.name:
        return report.cluster.name
    try:
        host = urlsplit(report.cluster.api_url).hostname
    except ValueError:
        host = None
    return host or "?"


def _safe(text: str) -> str:
    """One line, no control characters, and no `|` (it starts the perfdata)."""
    return visible(text).replace("|", "/")


def _perf(label: str, value: int | None, warn: Range | None, crit: Range | None, top: str) -> str:
    shown = "U" if value is None else str(value)
    w = warn.text if warn is not None else ""
    c = crit.text if crit is not None else ""
    return f"{label}={shown};{w};{c};0;{top}".rstrip(";")


def nagios_unknown(message: str) -> tuple[str, int]:
    """For the CLI when there is no report to judge (bad configuration, collection failed)."""
    return f"{SERVICE} UNKNOWN - {_safe(message)}\n", int(ExitStatus.UNKNOWN)


def nagios_output(report: Report, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> tuple[str, int]:
    """The plugin output (ends with a newline) and its exit code 0/1/2/3."""
    if report.unknown_cause is not None:
        return _unknown_output(report), int(ExitStatus.UNKNOWN)
    s = report.summary
    values: dict[str, int | None] = {
        "not_covered": s.not_covered,
        "failed": s.last_failed,
        "stale": s.stale,
        "other": s.other,
        "anomalies_critical": s.anomalies_critical,
        "anomalies_warning": s.anomalies_warning,
        "single_copy": report.copies.verdicts["single_copy"] if report.copies else None,
    }
    status = ExitStatus.OK
    exceeded: list[str] = []
    for metric in METRICS:
        value = values[metric]
        if value is None:
            continue
        crit = thresholds.critical.get(metric)
        warn = thresholds.warning.get(metric)
        if crit is not None and crit.alerts(value):
            status = ExitStatus.CRITICAL
            exceeded.append(f"{metric}={value} (critical: {crit.text})")
        elif warn is not None and warn.alerts(value):
            status = max(status, ExitStatus.WARNING)
            exceeded.append(f"{metric}={value} (warning: {warn.text})")
    if not report.cluster.jobs_readable:
        status = ExitStatus.UNKNOWN

    total = s.guests_total
    ok = s.ok
    summary = [f"{s.not_covered} not covered"]
    if report.evidence_collected:
        summary += [f"{s.last_failed or 0} failed", f"{s.stale or 0} stale"]
    else:
        summary.append("backup results not collected")
    if values["other"]:
        other = values["other"]
        summary.append(f"{other} other warning{'' if other == 1 else 's'}")
    summary.append(f"{ok}/{total} guests OK")
    if report.copies is not None:
        c = report.copies
        summary.append(f"{c.guests_with_offsite}/{c.guests_judged} with an off-site copy")
    if s.anomalies_critical or s.anomalies_warning:
        summary.append(f"anomalies: {s.anomalies_critical} critical, {s.anomalies_warning} warning")
    if not report.cluster.jobs_readable:
        summary.insert(0, "backup job list not readable, coverage unknown")
    text = f"{_safe(cluster_label(report))}: {', '.join(summary)}"

    top = str(total)
    perf = [f"guests={total};;;0", f"covered={summary_counts(s)['covered']};;;0;{top}"]
    for metric in METRICS:
        if metric == "single_copy" and values[metric] is None:
            continue  # no backup server configured: no copy policy to measure
        bound = top if metric in ("not_covered", "failed", "stale", "other", "single_copy") else ""
        perf.append(
            _perf(
                metric,
                values[metric],
                thresholds.warning.get(metric),
                thresholds.critical.get(metric),
                bound,
            )
        )
    lines = [f"{SERVICE} {status.name} - {text} | {' '.join(perf)}"]
    lines += _long_output(report, exceeded)
    return "\n".join(lines) + "\n", int(status)


def _unknown_output(report: Report) -> str:
    """The cluster could not be read: the cause first, every count `U` (not measured)."""
    perf = " ".join(f"{m}=U" for m in ("guests", "covered", *METRICS))
    lines = [
        f"{SERVICE} UNKNOWN - {_safe(report.unknown_cause or '')} | {perf}",
        f"Cluster: {_safe(cluster_label(report))}",
    ]
    serious = [a for a in report.anomalies if a.severity.value != "info"]
    lines += [f"[{a.severity.value.upper()}] {_safe(a.code)}: {clip(_safe(a.message), 200)}"
              for a in serious[:MAX_ITEMS]]  # fmt: skip
    return "\n".join(lines) + "\n"


def _long_output(report: Report, exceeded: list[str]) -> list[str]:
    tr = Translator("en")
    lines: list[str] = []
    if exceeded:
        lines.append("Thresholds exceeded: " + ", ".join(exceeded))
    rows = report.attention_rows()
    if rows:
        lines.append(f"Needs attention ({len(rows)}):")
        for g in rows[:MAX_ITEMS]:
            name = clip(_safe(g.name), 60) if g.name else "(no name)"
            reasons = ", ".join(tr.t(f"reason.{r}") for r in g.attention)
            level = (g.attention_level or "warning").upper()
            lines.append(f"[{level}] {g.vmid} {name} ({_safe(g.node)}): {reasons}")
        if len(rows) > MAX_ITEMS:
            lines.append(f"... and {len(rows) - MAX_ITEMS} more")
    serious = [a for a in report.anomalies if a.severity.value != "info"]
    if serious:
        lines.append(f"Anomalies ({len(serious)}):")
        for a in serious[:MAX_ITEMS]:
            message = clip(_safe(a.message), 200)
            lines.append(f"[{a.severity.value.upper()}] {_safe(a.code)}: {message}")
        if len(serious) > MAX_ITEMS:
            lines.append(f"... and {len(serious) - MAX_ITEMS} more")
    return lines


def _split(output: str) -> tuple[int, str, list[str], list[str]]:
    """One cluster's plugin output → (code, status text, perfdata items, long output)."""
    first, *rest = output.rstrip("\n").split("\n")
    head, _, perf = first.partition(" | ")
    status_word, _, text = head.removeprefix(f"{SERVICE} ").partition(" - ")
    code = ExitStatus[status_word].value if status_word in ExitStatus.__members__ else 3
    return code, text, perf.split(), rest


def _prefixed(cluster: str, item: str) -> str:
    """`guests=7;;;0` → `'alpha.guests'=7;;;0` (quoted: cluster names may hold spaces)."""
    label, _, value = item.partition("=")
    name = f"{cluster}.{label.strip(chr(39))}".replace("'", "").replace("=", "-")
    return f"'{name}'={value}"


def nagios_combined(clusters: list[tuple[str, str]]) -> tuple[str, int]:
    """Several clusters in one plugin output: `(label, that cluster's own output)` each.

    Monitoring systems read only the first line, so there is exactly one: the worst cluster
    decides the status, every cluster is named with its status, the perfdata of each cluster
    is prefixed with its label, and each cluster's long output follows under its name."""
    parts = [(label, *_split(output)) for label, output in clusters]
    worst = max((code for _, code, _, _, _ in parts), default=int(ExitStatus.UNKNOWN))
    status = ExitStatus(worst)
    named = "; ".join(f"{_safe(label)} {ExitStatus(code).name}" for label, code, *_ in parts)
    perf = [_prefixed(_safe(label), item) for label, _, _, items, _ in parts for item in items]
    first = f"{SERVICE} {status.name} - {len(parts)} clusters: {named}"
    lines = [f"{first} | {' '.join(perf)}" if perf else first]
    for label, code, text, _, rest in parts:
        lines.append(f"== {_safe(label)}: {ExitStatus(code).name} - {text}")
        lines.extend(rest)
    return "\n".join(lines) + "\n", worst

"""Prometheus text exposition for node_exporter's textfile collector (`--format prometheus`).

Why a textfile and not an HTTP endpoint: the tool is a one-shot run (cron, systemd timer), not
a daemon; node_exporter already serves `*.prom` files from a directory. The exposition is built
with `prometheus-client` (a `CollectorRegistry` with one custom collector, `generate_latest`
for `--output-dir -`, `write_to_textfile` for the atomic file): the library owns the format,
its escaping and its number syntax.

One file holds every cluster of the run (`--env-file` repeated): each series carries a
`cluster` label (`ClusterInfo.label`, the same identity as the report files), so alert rules
and dashboards filter or aggregate by cluster and several clusters never overwrite each other.

Conventions (prometheus.io "Metric and label naming", "Instrumentation"): every name starts
with `pve_backup_report_`, base units (`_seconds`), points in time as Unix timestamps
(`_timestamp_seconds`, age = `time() - metric`) rather than ages that go stale with the file,
enumerations as state sets (one series per state, 1 for the current one), and the guest's
name, node, type and pool only on `pve_backup_report_guest_info` so that renaming or migrating
a guest does not break the other series (join on `cluster` and `vmid`). Unknown is not zero:
a value that was not measured (evidence not collected, no backup server data, a cluster that
could not be read) is an absent series, never 0. Counts follow `report/counts.py`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import get_args

from prometheus_client import CollectorRegistry, generate_latest, write_to_textfile
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ..analysis.coverage import Verdict
from ..model import BackupAttempt, BackupResult, FreshnessStatus, GuestPbs, Severity
from ..report.counts import summary_counts
from ..report.model import GuestRow, Report
from ..report.status import report_exit_status
from ..sanitize import strip_controls
from .nagios import cluster_label
from .prometheus_copies import copies_metrics

PREFIX = "pve_backup_report_"
RESULTS: tuple[str, ...] = get_args(BackupResult)
FRESHNESS_STATES: tuple[str, ...] = get_args(FreshnessStatus)
VERIFY_STATES = ("ok", "failed", "none")  # none: the latest snapshot was never verified
LEVELS = {None: 0, "warning": 1, "critical": 2}
SPECS: tuple[tuple[str, str], ...] = (
    ("build_info", "pve-backup-report version that wrote this file (always 1), per cluster."),
    ("generated_timestamp_seconds", "When the report was generated (Unix time)."),
    ("run_duration_seconds", "Wall-clock duration of the run that produced the report."),
    ("run_api_requests", "HTTP requests made to the Proxmox APIs during the run."),
    ("status", "Overall report status: 0 OK, 1 warning, 2 critical, 3 unknown."),
    ("collection_ok", "1 if the guest and backup job lists were read, 0 if not (UNKNOWN)."),
    ("evidence_collected", "1 if backup task results were collected, 0 if not."),
    ("anomalies", "Anomalies found during the run, by severity."),
    ("guests", "Guests by coverage verdict."),
    ("summary", "The report's counts (definitions in the docs), by count name."),
    ("guest_info", "Guest metadata (always 1); join on cluster and vmid."),
    ("guest_coverage", "Coverage verdict of the guest (state set: 1 for the verdict)."),
    ("guest_attention_level", "Needs attention: 0 no, 1 warning, 2 critical."),
    ("guest_last_result", "Result of the latest backup attempt (state set)."),
    ("guest_last_backup_timestamp_seconds", "When the latest backup attempt ended."),
    ("guest_last_success_timestamp_seconds", "When the last successful backup ended."),
    ("guest_freshness", "Freshness of the last success against its threshold (state set)."),
    ("guest_max_age_seconds", "Freshness threshold applied to the guest."),
    ("guest_pbs_snapshots", "Snapshots of the guest on the Proxmox Backup Server."),
    ("guest_pbs_latest_snapshot_timestamp_seconds", "Time of the latest PBS snapshot."),
    ("guest_pbs_verify_state", "Verification state of the latest PBS snapshot (state set)."),
    ("guest_pbs_last_verify_timestamp_seconds", "When the latest PBS snapshot was last verified."),
)
METRIC_NAMES: tuple[str, ...] = tuple(PREFIX + key for key, _ in SPECS)

Labels = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class ClusterRun:
    """One cluster's report with the run figures that are not in the report model."""

    report: Report
    duration_s: float
    requests: int


@dataclass
class Family:
    """Samples of one metric, across every cluster, before they become a `GaugeMetricFamily`
    (whose label names are fixed: every sample of a family carries the same label names)."""

    name: str
    help: str
    samples: list[tuple[Labels, float]] = field(default_factory=list)

    def add(self, labels: Labels, value: float) -> None:
        self.samples.append((labels, float(value)))

    def metric(self) -> Metric:
        names = [k for k, _ in self.samples[0][0]]
        family = GaugeMetricFamily(self.name, self.help, labels=names)
        for labels, value in self.samples:
            family.add_metric([safe_label_value(v) for _, v in labels], value)
        return family


def safe_label_value(value: str) -> str:
    """Control characters removed (see `sanitize`; newlines are kept, the library escapes
    them) and lone surrogates (possible in JSON from the API, unencodable) turned into `?`.
    Escaping itself is the library's job."""
    return strip_controls(value, "\n").encode("utf-8", "replace").decode("utf-8")


def _when(attempt: BackupAttempt | None) -> datetime | None:
    """Same point in time as the report's ages: the end, else the start."""
    if attempt is None:
        return None
    return attempt.ended_at or attempt.started_at


def _pbs(row: GuestRow) -> GuestPbs | None:
    """The PBS view of a guest, when the report model carries one (tolerates its absence)."""
    value = getattr(row, "pbs", None)
    return value if isinstance(value, GuestPbs) else None


def _families() -> dict[str, Family]:
    return {key: Family(PREFIX + key, text) for key, text in SPECS}


def _guest(f: dict[str, Family], cluster: str, g: GuestRow) -> None:
    ids: Labels = (("cluster", cluster), ("vmid", str(g.vmid)))
    info = (("name", g.name or ""), ("node", g.node), ("type", g.type), ("pool", g.pool or ""))
    f["guest_info"].add(ids + info, 1)
    for verdict in Verdict:
        f["guest_coverage"].add((*ids, ("verdict", verdict.value)), verdict == g.coverage.status)
    f["guest_attention_level"].add(ids, LEVELS.get(g.attention_level, 1))
    latest = g.latest_backup
    if latest is not None:
        for result in RESULTS:
            f["guest_last_result"].add((*ids, ("result", result)), latest.result == result)
        when = _when(latest)
        if when is not None:
            f["guest_last_backup_timestamp_seconds"].add(ids, when.timestamp())
    success_at = _when(g.last_success)
    if success_at is not None:
        f["guest_last_success_timestamp_seconds"].add(ids, success_at.timestamp())
    fresh = g.freshness
    if fresh is not None:
        for state in FRESHNESS_STATES:
            f["guest_freshness"].add((*ids, ("state", state)), fresh.status == state)
        if fresh.max_age_hours is not None:
            f["guest_max_age_seconds"].add(ids, fresh.max_age_hours * 3600)
    pbs = _pbs(g)
    if pbs is not None:
        if pbs.restore_points is not None:  # hidden content: absent, not 0
            f["guest_pbs_snapshots"].add(ids, pbs.restore_points)
        snap = pbs.latest_snapshot
        if snap is not None:
            f["guest_pbs_latest_snapshot_timestamp_seconds"].add(ids, snap.backup_time.timestamp())
            current = snap.verify_state or "none"
            for state in VERIFY_STATES:
                f["guest_pbs_verify_state"].add((*ids, ("state", state)), current == state)
            if snap.verified_at is not None:
                f["guest_pbs_last_verify_timestamp_seconds"].add(ids, snap.verified_at.timestamp())


def _cluster(f: dict[str, Family], run: ClusterRun) -> None:
    report = run.report
    cluster = cluster_label(report)
    labels: Labels = (("cluster", cluster),)
    f["build_info"].add((*labels, ("version", report.tool_version)), 1)
    f["generated_timestamp_seconds"].add(labels, report.generated_at.timestamp())
    f["run_duration_seconds"].add(labels, run.duration_s)
    f["run_api_requests"].add(labels, run.requests)
    f["status"].add(labels, int(report_exit_status(report)))
    f["collection_ok"].add(labels, report.unknown_cause is None)
    s = report.summary
    by_severity = {
        Severity.CRITICAL: s.anomalies_critical,
        Severity.WARNING: s.anomalies_warning,
        Severity.INFO: s.anomalies_info,
    }
    for severity, count in by_severity.items():
        f["anomalies"].add((*labels, ("severity", severity.value)), count)
    if report.unknown_cause is not None:
        return  # the guest list or the job list is unknown: no count, no guest is true
    f["evidence_collected"].add(labels, report.evidence_collected)
    for verdict in Verdict:
        f["guests"].add((*labels, ("verdict", verdict.value)), s.verdicts.get(verdict.value, 0))
    for name, value in summary_counts(s).items():
        if value is not None:
            f["summary"].add((*labels, ("count", name)), value)
    for g in report.guests:
        _guest(f, cluster, g)
    for key, text, samples in copies_metrics(report, cluster):
        family = f.setdefault(key, Family(PREFIX + key, text))
        for sample_labels, sample in samples:
            family.add(sample_labels, sample)


class ReportCollector(Collector):
    """A `prometheus-client` collector over finished reports (one per cluster)."""

    def __init__(self, runs: Sequence[ClusterRun]) -> None:
        self.runs = list(runs)

    def collect(self) -> Iterator[Metric]:
        f = _families()
        for run in self.runs:
            _cluster(f, run)
        for family in f.values():
            if family.samples:
                yield family.metric()


def registry(runs: Iterable[ClusterRun]) -> CollectorRegistry:
    """A registry holding only this run's metrics (never the process's default ones)."""
    reg = CollectorRegistry(auto_describe=False)
    reg.register(ReportCollector(list(runs)))
    return reg


def exposition(runs: Iterable[ClusterRun]) -> str:
    """Every cluster's metrics, in the Prometheus text exposition format (0.0.4)."""
    return generate_latest(registry(runs)).decode("utf-8")


def prometheus_text(report: Report, run_duration_s: float, request_count: int) -> str:
    """One cluster's exposition (kept for callers with a single report)."""
    return exposition([ClusterRun(report, run_duration_s, request_count)])


def write_textfile(path: Path, runs: Iterable[ClusterRun]) -> None:
    """Replace `path` atomically (`write_to_textfile`: temporary file, then rename), readable
    by the collector (mode 0644). Raises OSError (missing directory, permissions, full disk);
    the old file is then left as it was and no temporary file remains."""
    write_to_textfile(str(path), registry(runs))
    with contextlib.suppress(OSError):
        os.chmod(path, 0o644)

"""Prometheus text exposition for node_exporter's textfile collector (`--format prometheus`).

Why a textfile and not an HTTP endpoint: the tool is a one-shot run (cron, systemd timer), not
a daemon; node_exporter already serves `*.prom` files from a directory. The file is replaced
atomically (temporary file in the same directory, then `os.replace`), so the collector never
reads a half-written file; the temporary name starts with a dot and does not end in `.prom`.

Conventions (prometheus.io "Metric and label naming", "Instrumentation"): every name starts
with `pve_backup_report_`, base units (`_seconds`), points in time as Unix timestamps
(`_timestamp_seconds`, age = `time() - metric`) rather than ages that go stale with the file,
enumerations as state sets (one series per state, 1 for the current one), and the guest's
name, node, type and pool only on `pve_backup_report_guest_info` so that renaming or migrating
a guest does not break the other series (join on `vmid`). Every label value is escaped
(backslash, double quote, newline): guest names are typed by anyone with VM.Config rights.
PBS data are optional: the per-guest PBS series appear only when the report carries them.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import get_args

from ..analysis.coverage import Verdict
from ..model import BackupAttempt, BackupResult, FreshnessStatus, GuestPbs, Severity
from ..report.model import GuestRow, Report
from ..report.status import report_exit_status
from ..sanitize import strip_controls
from .nagios import cluster_label

PREFIX = "pve_backup_report_"
RESULTS: tuple[str, ...] = get_args(BackupResult)
FRESHNESS_STATES: tuple[str, ...] = get_args(FreshnessStatus)
VERIFY_STATES = ("ok", "failed", "none")  # none: the latest snapshot was never verified
LEVELS = {None: 0, "warning": 1, "critical": 2}

Labels = tuple[tuple[str, str], ...]


@dataclass
class Family:
    name: str
    help: str
    samples: list[tuple[Labels, float]] = field(default_factory=list)

    def add(self, labels: Labels, value: float) -> None:
        self.samples.append((labels, value))


def escape_label_value(value: str) -> str:
    """The exposition format's three escapes, after removing control characters (see
    `sanitize`); lone surrogates (unencodable) become `?`."""
    text = strip_controls(value, "\n").encode("utf-8", "replace").decode("utf-8")
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def format_value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(float(value))


def _render(families: Iterable[Family]) -> str:
    lines: list[str] = []
    for fam in families:
        if not fam.samples:
            continue
        lines.append(f"# HELP {fam.name} {_escape_help(fam.help)}")
        lines.append(f"# TYPE {fam.name} gauge")
        for labels, value in fam.samples:
            text = ",".join(f'{k}="{escape_label_value(v)}"' for k, v in labels)
            sample = f"{fam.name}{{{text}}}" if text else fam.name
            lines.append(f"{sample} {format_value(value)}")
    return "\n".join(lines) + "\n"


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
    specs = [
        ("build_info", "pve-backup-report version that wrote this file (always 1), per cluster."),
        ("generated_timestamp_seconds", "When the report was generated (Unix time)."),
        ("run_duration_seconds", "Wall-clock duration of the run that produced the report."),
        ("run_api_requests", "HTTP requests made to the Proxmox APIs during the run."),
        ("status", "Overall report status: 0 OK, 1 warning, 2 critical."),
        ("evidence_collected", "1 if backup task results were collected, 0 if not."),
        ("anomalies", "Anomalies found during the run, by severity."),
        ("guests", "Guests by coverage verdict."),
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
        (
            "guest_pbs_last_verify_timestamp_seconds",
            "When the latest PBS snapshot was last verified.",
        ),
    ]
    return {key: Family(PREFIX + key, text) for key, text in specs}


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
        f["guest_pbs_snapshots"].add(ids, pbs.restore_points)
        snap = pbs.latest_snapshot
        if snap is not None:
            f["guest_pbs_latest_snapshot_timestamp_seconds"].add(ids, snap.backup_time.timestamp())
            current = snap.verify_state or "none"
            for state in VERIFY_STATES:
                f["guest_pbs_verify_state"].add((*ids, ("state", state)), current == state)
            if snap.verified_at is not None:
                f["guest_pbs_last_verify_timestamp_seconds"].add(ids, snap.verified_at.timestamp())


def prometheus_text(report: Report, run_duration_s: float, request_count: int) -> str:
    """The whole file, in the Prometheus text exposition format (version 0.0.4)."""
    cluster = cluster_label(report)
    run: Labels = (("cluster", cluster),)
    f = _families()
    f["build_info"].add((*run, ("version", report.tool_version)), 1)
    f["generated_timestamp_seconds"].add(run, report.generated_at.timestamp())
    f["run_duration_seconds"].add(run, float(run_duration_s))
    f["run_api_requests"].add(run, request_count)
    f["status"].add(run, int(report_exit_status(report)))
    f["evidence_collected"].add(run, report.evidence_collected)
    s = report.summary
    by_severity = {
        Severity.CRITICAL: s.anomalies_critical,
        Severity.WARNING: s.anomalies_warning,
        Severity.INFO: s.anomalies_info,
    }
    for severity, count in by_severity.items():
        f["anomalies"].add((*run, ("severity", severity.value)), count)
    for verdict in Verdict:
        f["guests"].add((*run, ("verdict", verdict.value)), s.verdicts.get(verdict.value, 0))
    for g in report.guests:
        _guest(f, cluster, g)
    return _render(f.values())


def write_textfile(path: Path, text: str) -> None:
    """Replace `path` atomically, readable by the collector (mode 0644).

    Raises OSError (missing directory, permissions, full disk); the old file is then left as
    it was and no temporary file remains.
    """
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8", "replace"))
            fh.flush()
            os.fsync(fh.fileno())
        tmp.chmod(0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    with contextlib.suppress(OSError):  # make the rename durable where the OS allows it
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

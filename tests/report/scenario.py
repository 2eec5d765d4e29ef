"""A hand-written cluster for the report tests; every expected value is worked out by hand.

Cluster "acme", generated 2026-11-26 09:30 Europe/Paris (a Thursday, UTC+01:00).
Jobs: daily (vmid 100-103 → pbs-main, 21:00), nfs-weekly (all except 105, node pve2 → nfs,
sat 02:00), old (vmid 104, disabled). Guests and their expected verdicts:
  100 pve1 covered            success 10 h ago, fresh
  101 pve1 covered            latest failed 12 h ago, last success 36 h ago, stale
  102 pve1 covered            hostile name and notes, success 5 h ago, fresh
  103 pve2 covered            (daily + nfs-weekly) success 72 h ago, stale
  104 pve1 disabled_only      (old is disabled), no evidence
  105 pve2 excluded           (nfs-weekly excludes it)
  106 pve1 opted_out          tag no-backup; nfs-weekly is for pve2 only
  107 pve1 not_covered        RTL + very long name; nfs-weekly is for pve2 only
  108 pve2 covered_non_pbs    (lxc, nfs-weekly) success with warnings 2 h ago, fresh
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from pve_backup_report.analysis.coverage import compute_coverage
from pve_backup_report.model import (
    Anomaly,
    BackupAttempt,
    Freshness,
    GuestEvidence,
    Inventory,
    JSONScalar,
    Node,
    Severity,
    VersionInfo,
)
from pve_backup_report.report.build import build_report
from pve_backup_report.report.model import Report
from tests.unit.builders import guest, inventory, job

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=ZoneInfo("Europe/Paris"))
HOSTILE = "<script>alert(\"x\")</script> & 'q'"
RTL_LONG = "שרת-גיבוי-" + "x" * 180
NOTES = "**Important**: <b>raw</b> <img src=x onerror=alert(1)>\n- item `code`"
COMMENT = '<script>alert(1)</script> & "quotes"'


def _inventory() -> Inventory:
    guests = [
        guest(100, name="web"),
        guest(101, name="db"),
        guest(102, name=HOSTILE, notes=NOTES, tags=("prod", "<i>x</i>")),
        guest(103, node="pve2", name="mail", pool="infra"),
        guest(104, name="legacy"),
        guest(105, node="pve2", name="scratch"),
        guest(106, name="test", tags=("no-backup",), notes="test VM\nmore"),
        guest(107, name=RTL_LONG),
        guest(108, node="pve2", name="ct", type="lxc"),
    ]
    jobs = [
        job("daily", vmid="100,101,102,103", comment=COMMENT, **{"prune-backups": "keep-daily=7"}),
        job("nfs-weekly", all=1, exclude="105", node="pve2", storage="nfs", schedule="sat 02:00"),
        job("old", vmid="104", enabled=0),
    ]
    inv = inventory(guests, jobs)
    return replace(
        inv,
        cluster_name="acme",
        version=VersionInfo("8.2.4", "8.2", "abc"),
        nodes=(Node("pve1", "online", timezone="Europe/Paris"), Node("pve2", "online")),
    )


def _ok(hours_ago: float, result: str = "success") -> BackupAttempt:
    end = NOW.astimezone(UTC) - timedelta(hours=hours_ago)
    return BackupAttempt(
        result,  # type: ignore[arg-type]
        started_at=end - timedelta(minutes=5),
        ended_at=end,
        duration_s=300,
        storage="pbs-main",
        size_bytes=1536 * 1024**2,
        size_kind="uploaded",
    )


def _fresh(status: str, age: float) -> Freshness:
    return Freshness(status, 26.0, "schedule", "explained", age)  # type: ignore[arg-type]


def evidence() -> dict[int, GuestEvidence]:
    failed = replace(_ok(12, "failure"), error="unable to connect <to> PBS & retry")
    return {
        100: GuestEvidence(100, _ok(10), _ok(10), 3, 0, _fresh("fresh", 10)),
        101: GuestEvidence(101, failed, _ok(36), 3, 1, _fresh("stale", 36)),
        102: GuestEvidence(102, _ok(5), _ok(5), 1, 0, _fresh("fresh", 5)),
        103: GuestEvidence(103, _ok(72), _ok(72), 2, 0, _fresh("stale", 72)),
        108: GuestEvidence(108, _ok(2, "warning"), _ok(2, "warning"), 1, 0, _fresh("fresh", 2)),
    }


ANOMALIES = (
    Anomaly(Severity.WARNING, "jobs", "job_disabled", "Job old is disabled", {"job": "old"}),
    Anomaly(Severity.INFO, "cluster", "single_note", "Just so you know"),
    Anomaly(Severity.CRITICAL, "storage", "storage_disabled", "<b>pbs-off</b> & co", {"x": 1}),
    Anomaly(Severity.WARNING, "jobs", "job_disabled", "Job old is disabled", {"job": "old"}),
)

CONFIG: dict[str, JSONScalar] = {
    "opt_out_tag": "no-backup",
    "task_history_limit": 500,
    "verify_tls": True,
    "ca": None,
}


def build(lang: str = "en", with_evidence: bool = True) -> Report:
    inv = _inventory()
    cov = replace(compute_coverage(inv), anomalies=())
    return build_report(
        inv,
        cov,
        evidence() if with_evidence else None,
        ANOMALIES,
        generated_at=NOW,
        tool_version="9.9.9",
        config_summary=CONFIG,
        lang=lang,
    )

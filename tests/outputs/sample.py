"""A small report built directly from the model's dataclasses; expected values are by hand.

Cluster "cluster1", generated 2025-11-26 07:00 UTC (Unix 1764140400).
  100 web   pve1 qemu covered          success ended 01:00Z (6 h), fresh, max 26 h    → OK
  101 db    pve1 qemu covered          failure ended 02:00Z; success 2025-11-24 01:00Z,
                                       stale                                        → critical
  102 lab   pve2 qemu not_covered      no evidence                                  → critical
  103 ct    pve2 lxc  covered_non_pbs  warning result ended 03:00Z, fresh            → warning
  104 HOSTILE pve2 qemu opted_out      no evidence                                  → OK
  105 old   pve1 qemu covered          no attempt, freshness no_success             → warning
Summary: 6 guests; covered PBS 3 (100, 101, 105), other 1 (103), not covered 1 (102),
excluded/opted out 1 (104); last failed 1 (101); stale 2 (101 stale, 105 no_success);
anomalies: 0 critical, 1 warning, 1 info. Attention order: 102, 101, 103, 105.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from pve_backup_report.model import Anomaly, BackupAttempt, Freshness, Severity
from pve_backup_report.report.model import (
    SCHEMA_VERSION,
    AgeBucket,
    ClusterInfo,
    CoverageInfo,
    GuestRow,
    NodeRow,
    Report,
    Summary,
)

NOW = datetime(2025, 11, 26, 7, 0, tzinfo=UTC)
NOW_TS = 1764140400
HOSTILE = 'evil"name\\with\nnewline|pipe {x="1"}'


def at(day: int, hour: int) -> datetime:
    return datetime(2025, 11, day, hour, 0, tzinfo=UTC)


def attempt(result: str, ended: datetime) -> BackupAttempt:
    return BackupAttempt(
        result,  # type: ignore[arg-type]
        started_at=ended,
        ended_at=ended,
        duration_s=0,
        storage="pbs-main",
    )


def fresh(status: str, age: float | None) -> Freshness:
    return Freshness(status, 26.0, "schedule", "explained", age)  # type: ignore[arg-type]


def cov(status: str) -> CoverageInfo:
    return CoverageInfo(status=status, jobs=(), job_details=(), explanation=())


def row(vmid: int, name: str | None, node: str, status: str, **kw: object) -> GuestRow:
    return GuestRow(
        vmid=vmid,
        name=name,
        type=str(kw.pop("type", "qemu")),
        node=node,
        status="running",
        template=False,
        pool=None,
        tags=(),
        notes=None,
        coverage=cov(status),
        **kw,  # type: ignore[arg-type]
    )


def guests() -> tuple[GuestRow, ...]:
    ok100 = attempt("success", at(26, 1))
    return (
        row(100, "web", "pve1", "covered", latest_backup=ok100, last_success=ok100,
            attempts=1, failures=0, freshness=fresh("fresh", 6.0), last_success_age_hours=6.0),
        row(101, "db", "pve1", "covered", latest_backup=attempt("failure", at(26, 2)),
            last_success=attempt("success", at(24, 1)), attempts=2, failures=1,
            freshness=fresh("stale", 54.0), last_success_age_hours=54.0,
            attention_level="critical", attention=("last_backup_failed", "stale")),
        row(102, "lab", "pve2", "not_covered", attempts=0, failures=0,
            attention_level="critical", attention=("not_covered",)),
        row(103, "ct", "pve2", "covered_non_pbs", type="lxc",
            latest_backup=attempt("warning", at(26, 3)), last_success=attempt("warning", at(26, 3)),
            attempts=1, failures=0, freshness=fresh("fresh", 4.0), last_success_age_hours=4.0,
            attention_level="warning", attention=("covered_non_pbs",)),
        row(104, HOSTILE, "pve2", "opted_out", attempts=0, failures=0),
        row(105, "old", "pve1", "covered", attempts=0, failures=0,
            freshness=fresh("no_success", None),
            attention_level="warning", attention=("no_success",)),
    )  # fmt: skip


SUMMARY = Summary(
    guests_total=6,
    covered_pbs=3,
    covered_other=1,
    not_covered=1,
    excluded_opted_out=1,
    indeterminate=0,
    last_failed=1,
    stale=2,
    not_verified=None,
    anomalies_critical=0,
    anomalies_warning=1,
    anomalies_info=1,
    verdicts={
        "not_covered": 1,
        "disabled_only": 0,
        "indeterminate": 0,
        "excluded": 0,
        "covered_non_pbs": 1,
        "opted_out": 1,
        "covered": 3,
    },
    age_buckets=(
        AgeBucket("lt_24h", 2),
        AgeBucket("24_48h", 0),
        AgeBucket("2_7d", 1),
        AgeBucket("gt_7d", 0),
        AgeBucket("never", 2),
    ),
    disabled_only=0,
    other=1,  # 103: covered on non-PBS storage only
    ok=2,  # 100 and 104 need no attention
)

ANOMALIES = (
    Anomaly(Severity.WARNING, "jobs", "job_disabled", "Job old | is disabled"),
    Anomaly(Severity.INFO, "cluster", "note", "Just so you know"),
)


def report(lang: str = "en") -> Report:
    return Report(
        schema_version=SCHEMA_VERSION,
        generated_at=NOW,
        tool_version="1.2.3",
        lang=lang,
        cluster=ClusterInfo(
            name="cluster1",
            api_url="https://pve1.example.com:8006/api2/json",
            pve_version="9.0.3",
            pve_release="9.0",
            nodes=(NodeRow("pve1", "online", "UTC"), NodeRow("pve2", "online", "UTC")),
            jobs_readable=True,
        ),
        configuration={"opt_out_tag": "no-backup"},
        summary=SUMMARY,
        guests=guests(),
        attention=(102, 101, 103, 105),
        jobs=(),
        storages=(),
        anomalies=ANOMALIES,
        evidence_collected=True,
    )


def all_ok() -> Report:
    """Only guests 100 (fresh) and 104 (opted out), no anomalies."""
    base = report()
    return replace(
        base,
        guests=(base.guest(100), base.guest(104)),
        attention=(),
        anomalies=(),
        summary=replace(
            SUMMARY,
            guests_total=2,
            covered_pbs=1,
            covered_other=0,
            not_covered=0,
            last_failed=0,
            stale=0,
            anomalies_warning=0,
            anomalies_info=0,
            verdicts={**SUMMARY.verdicts, "not_covered": 0, "covered_non_pbs": 0, "covered": 1},
            other=0,
            ok=2,
        ),
    )

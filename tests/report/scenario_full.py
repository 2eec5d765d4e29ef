"""The report scenario (scenario.py) plus backup server data and a run history, by hand.

Backup server "pbs1" (pbs-main → datastore store1, namespace "acme"), at NOW 2026-11-26 09:30
Europe/Paris (08:30 UTC):
  100 latest 10 h ago, verified OK 8 h ago, encrypted, 5 restore points, keep-last=3/daily=7
  101 latest 36 h ago, verification FAILED                    → pbs_verify_failed (critical)
  102 latest 5 h ago, never verified, unencrypted, also in "old" → pbs_not_verified (warning)
  103 no snapshot (the PBS checks raised pbs_no_snapshot)     → pbs_no_snapshot (critical)
  106 opted out, an old snapshot never verified               → not counted (deliberate)
Datastores: store1 850 GiB used + 150 GiB free = 85.0 % (warning), GC OK 2 days ago;
cold: usage unknown, GC never ran. Orphans: vm/999 "old-vm" and ct/998 with a hostile comment.

History: previous run #7 on 2026-11-25 09:30 (+01:00), run #6 the day before:
  101 success → failure (newly failing); 102 failure → success (recovered);
  104 covered → disabled_only (newly uncovered); 107 new; 110 "old-db" deleted;
  anomaly codes before: job_disabled, single_note → new: pbs_no_snapshot, storage_disabled.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from pve_backup_report.analysis.coverage import compute_coverage
from pve_backup_report.collect.pbs_entry import PbsResult
from pve_backup_report.history.store import AnomalyRecord, GuestRecord, RunRecord, RunSummary
from pve_backup_report.model import (
    Anomaly,
    GuestPbs,
    PbsDatastore,
    PbsGcStatus,
    PbsOrphan,
    PbsServerInfo,
    PbsSnapshot,
    PbsVerifyJob,
    RetentionPolicy,
    Severity,
)
from pve_backup_report.report.build import build_report
from pve_backup_report.report.history_records import with_history
from pve_backup_report.report.history_view import HistorySource
from pve_backup_report.report.model import Report

from .scenario import ANOMALIES, CONFIG, HOSTILE, NOW, _inventory, evidence

UTC_NOW = NOW.astimezone(UTC)  # 2026-11-26 08:30 UTC
GIB = 1024**3
POLICY = RetentionPolicy(
    "prune-job:daily", "pbs1", "store1", "acme", {"keep-daily": 7, "keep-last": 3}, "daily"
)


def _snap(vmid: int, hours_ago: float, **kw: object) -> PbsSnapshot:
    return PbsSnapshot(
        backup_time=UTC_NOW - timedelta(hours=hours_ago),
        server="pbs1",
        datastore="store1",
        namespace="acme",
        backup_type="vm",
        backup_id=str(vmid),
        size_bytes=2 * GIB,
        **kw,  # type: ignore[arg-type]
    )


NO_SNAPSHOT = Anomaly(
    Severity.CRITICAL,
    "pbs",
    "pbs_no_snapshot",
    "Guest 103 is covered by a PBS job but has no snapshot in pbs1:store1/acme",
    {"vmid": 103, "location": "pbs1:store1/acme"},
)


def pbs_result() -> PbsResult:
    guests = {
        100: GuestPbs(
            100,
            _snap(
                100, 10, encrypted=True, verify_state="ok", verified_at=UTC_NOW - timedelta(hours=8)
            ),
            restore_points=5,
            oldest_snapshot_time=UTC_NOW - timedelta(days=5),
            retention=POLICY,
            storages=("pbs-main",),
        ),
        101: GuestPbs(
            101,
            _snap(
                101,
                36,
                encrypted=True,
                verify_state="failed",
                verified_at=UTC_NOW - timedelta(hours=30),
            ),
            restore_points=4,
            oldest_snapshot_time=UTC_NOW - timedelta(days=4),
            retention=POLICY,
            storages=("pbs-main",),
        ),
        102: GuestPbs(
            102,
            _snap(102, 5, encrypted=False, protected=True),
            restore_points=1,
            oldest_snapshot_time=UTC_NOW - timedelta(hours=5),
            retention=None,
            other_namespaces=("pbs1:store1/old",),
            storages=("pbs-main",),
            collision="snapshot notes name 'intruder' (1 snapshot) while the guest is 'x'",
        ),
        103: GuestPbs(103, None, storages=("pbs-main",), retention=POLICY),
        106: GuestPbs(106, _snap(106, 24 * 40), restore_points=1),
    }
    store1 = PbsDatastore(
        "pbs1",
        "store1",
        comment="main <store>",
        total_bytes=1100 * GIB,
        used_bytes=850 * GIB,
        avail_bytes=150 * GIB,
        estimated_full=datetime(2026, 12, 20, tzinfo=UTC),
        gc=PbsGcStatus(True, UTC_NOW - timedelta(days=2), "OK"),
        namespaces=("", "acme", "old"),
        group_count=6,
        snapshot_count=40,
    )
    cold = PbsDatastore("pbs1", "cold", gc=PbsGcStatus(False))
    server = PbsServerInfo(
        "pbs1",
        "https://pbs1:8007/api2/json",
        True,
        version="3.2.4",
        datastores=(store1, cold),
        retention=(
            replace(POLICY, last_run_state="OK", last_run_end=UTC_NOW - timedelta(hours=6)),
        ),
        verify_jobs=(
            PbsVerifyJob(
                "v-weekly", "pbs1", "store1", None, schedule="sat 03:00", last_run_state="OK"
            ),
        ),
    )
    orphans = (
        PbsOrphan(
            "pbs1", "store1", "acme", "vm", "999", UTC_NOW - timedelta(days=30), 10 * GIB, "old-vm"
        ),
        PbsOrphan("pbs1", "store1", "acme", "ct", "998", None, None, HOSTILE),
    )
    return PbsResult(guests, orphans, (server,), {}, (NO_SNAPSHOT,), 12)


def _g(vmid: int, verdict: str, result: str | None = None, name: str | None = None) -> GuestRecord:
    return GuestRecord(vmid, name or f"g{vmid}", verdict, result)


PREVIOUS_AT = datetime.fromisoformat("2026-11-25T09:30:00+01:00")
BEFORE_AT = datetime.fromisoformat("2026-11-24T09:30:00+01:00")
PREVIOUS = RunRecord(
    cluster="acme",
    started_at=PREVIOUS_AT,
    finished_at=PREVIOUS_AT,
    tool_version="9.9.8",
    exit_code=2,
    summary={},
    guests=(
        _g(100, "covered", "success", "web"),
        _g(101, "covered", "success", "db"),
        _g(102, "covered", "failure"),
        _g(103, "covered", "success", "mail"),
        _g(104, "covered", "success", "legacy"),
        _g(105, "excluded"),
        _g(106, "opted_out"),
        _g(108, "covered_non_pbs", "warning", "ct"),
        _g(110, "covered", "success", "old-db"),
    ),
    anomalies=(
        AnomalyRecord("warning", "jobs", "job_disabled", "Job old is disabled"),
        AnomalyRecord("info", "cluster", "single_note", "Just so you know"),
    ),
    run_id=7,
)
RECENT = [
    RunSummary(7, "acme", PREVIOUS_AT, 2, {
        "guests_total": 9, "covered": 5, "covered_non_pbs": 1, "opted_out": 1, "excluded": 1,
        "last_failed": 1, "stale": 0,
    }),
    RunSummary(6, "acme", BEFORE_AT, 1, {
        "guests_total": 8, "covered": 4, "covered_non_pbs": 1, "opted_out": 1, "excluded": 1,
        "last_failed": 0, "stale": 2,
    }),
]  # fmt: skip
DAILY = {
    100: {date(2026, 11, 24): "success", date(2026, 11, 25): "success"},
    101: {date(2026, 11, 20): "failure", date(2026, 11, 25): "success"},
    104: {date(2026, 11, 25): "success"},
    110: {date(2026, 11, 25): "success"},
}
SOURCE = HistorySource(PREVIOUS, RECENT, DAILY)


def build_full(lang: str = "en", history: bool = True) -> Report:
    inv = _inventory()
    cov = replace(compute_coverage(inv), anomalies=())
    report = build_report(
        inv,
        cov,
        evidence(),
        (*ANOMALIES, NO_SNAPSHOT),
        generated_at=NOW,
        tool_version="9.9.9",
        config_summary=CONFIG,
        lang=lang,
        pbs=pbs_result(),
    )
    return with_history(report, SOURCE) if history else report

"""Every PBS anomaly rule and the per-guest analysis on hand-built facts (no HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pve_backup_report.analysis.coverage import CoverageResult, GuestCoverage, JobRef, Verdict
from pve_backup_report.analysis.pbs_checks import (
    PbsThresholds,
    datastore_checks,
    guest_checks,
    job_checks,
    reconcile,
    retention_checks,
    unencrypted_checks,
    verifying_locations,
)
from pve_backup_report.analysis.pbs_guests import (
    GuestDetail,
    PbsData,
    analyse_guests,
    applicable_retention,
    collision_reason,
    index_snapshots,
    keep_options,
)
from pve_backup_report.analysis.pbs_match import Location
from pve_backup_report.model import (
    BackupAttempt,
    BackupJob,
    Freshness,
    Guest,
    GuestEvidence,
    GuestPbs,
    Inventory,
    PbsDatastore,
    PbsGcStatus,
    PbsSnapshot,
    PbsVerifyJob,
    RetentionPolicy,
    Selection,
    Severity,
    Storage,
)

NOW = datetime(2025, 11, 26, 7, 0, tzinfo=UTC)
LOC = Location("pbs1", "store1", "prod")
TH = PbsThresholds()


def snap(vmid: int, hours_ago: float, **kw: object) -> PbsSnapshot:
    fields: dict[str, object] = {
        "backup_time": NOW - timedelta(hours=hours_ago),
        "server": "pbs1",
        "datastore": "store1",
        "namespace": "prod",
        "backup_type": "vm",
        "backup_id": str(vmid),
        "size_bytes": 100,
        "encrypted": True,
    }
    fields.update(kw)
    return PbsSnapshot(**fields)  # type: ignore[arg-type]


def detail(vmid: int, snaps: list[PbsSnapshot], listed: bool = True) -> GuestDetail:
    latest = snaps[-1] if snaps else None
    return GuestDetail(GuestPbs(vmid, latest, len(snaps)), (LOC,), tuple(snaps), listed)


def covered(*vmids: int) -> CoverageResult:
    ref = JobRef("job1", True, "pbs-a", "pbs", "21:00", "pbs")
    return CoverageResult({v: GuestCoverage(v, Verdict.COVERED, (ref,)) for v in vmids}, {})


def fresh(vmid: int, hours: float) -> GuestEvidence:
    return GuestEvidence(vmid, freshness=Freshness("fresh", hours, "schedule", "x"))


def codes(anomalies: list) -> list[tuple[str, object]]:  # type: ignore[type-arg]
    return [(a.code, a.details.get("vmid")) for a in anomalies]


def test_guest_rules() -> None:
    ok = {"verify_state": "ok", "verified_at": NOW - timedelta(days=1)}
    details = {
        1: detail(1, []),  # no snapshot → critical
        2: detail(2, [snap(2, 30, **ok)]),  # 30 h > 26 h threshold → stale
        3: detail(3, [snap(3, 5, verify_state="failed", verified_at=NOW)]),
        4: detail(4, [snap(4, 5, verify_state="ok", verified_at=NOW - timedelta(days=31))]),
        5: detail(5, [snap(5, 5)]),  # never verified, nothing verifies prod → warning
        6: detail(6, []),  # unknown (not listed): nothing
        7: detail(7, [snap(7, 5, **ok)]),  # all good
    }
    details[6] = detail(6, [], listed=False)
    evidence = {2: fresh(2, 26.0), 7: fresh(7, 26.0)}
    out = guest_checks(covered(*details), details, evidence, frozenset(), NOW, TH)
    assert codes(out) == [
        ("pbs_no_snapshot", 1),
        ("pbs_snapshot_stale", 2),
        ("pbs_verify_failed", 3),
        ("pbs_verify_outdated", 4),
        ("pbs_not_verified", 5),
    ]
    assert out[0].severity is Severity.CRITICAL and out[2].severity is Severity.CRITICAL
    assert out[1].details == {
        "vmid": 2,
        "age_hours": 30,
        "max_age_hours": 26,
        "backup_time": "2025-11-25T01:00:00+00:00",
    }


def test_not_verified_is_quiet_when_a_job_covers_and_recent_snapshots_verify() -> None:
    ok = {"verify_state": "ok", "verified_at": NOW - timedelta(days=2)}
    details = {5: detail(5, [snap(5, 50, **ok), snap(5, 5)])}
    assert guest_checks(covered(5), details, None, frozenset({LOC}), NOW, TH) == []
    old = {"verify_state": "ok", "verified_at": NOW - timedelta(days=40)}
    details = {5: detail(5, [snap(5, 1000, **old), snap(5, 5)])}
    out = guest_checks(covered(5), details, None, frozenset({LOC}), NOW, TH)
    assert codes(out) == [("pbs_not_verified", 5)]


def test_non_covered_guests_get_no_guest_anomaly() -> None:
    cov = CoverageResult({1: GuestCoverage(1, Verdict.NOT_COVERED)}, {})
    assert guest_checks(cov, {1: detail(1, [])}, None, frozenset(), NOW, TH) == []


def test_unencrypted_grouped_per_location_with_configurable_severity() -> None:
    details = {
        2: detail(2, [snap(2, 1, encrypted=False)]),
        1: detail(1, [snap(1, 1, encrypted=False)]),
        3: detail(3, [snap(3, 1)]),
        4: detail(4, [snap(4, 1, encrypted=None)]),
    }
    (a,) = unencrypted_checks(details, PbsThresholds(unencrypted_severity=Severity.WARNING))
    assert (a.code, a.severity, a.details) == (
        "pbs_unencrypted",
        Severity.WARNING,
        {"location": "pbs1:store1/prod", "vmids": "1,2", "guests": 2},
    )


def store(**kw: object) -> PbsDatastore:
    fields: dict[str, object] = {"server": "pbs1", "name": "s", "used_bytes": 10, "avail_bytes": 90}
    fields.update(kw)
    return PbsDatastore(**fields)  # type: ignore[arg-type]


def test_datastore_rules() -> None:
    gc_ok = PbsGcStatus(True, NOW - timedelta(days=1), "OK")
    stores = [
        store(name="a", used_bytes=90, avail_bytes=10, gc=gc_ok),  # 90 % → critical
        store(name="b", used_bytes=80, avail_bytes=20, gc=gc_ok),  # 80 % → warning
        store(name="c", estimated_full=NOW + timedelta(days=29), gc=gc_ok),
        store(name="d", estimated_full=NOW + timedelta(days=31), gc=PbsGcStatus(False)),
        store(name="e", gc=PbsGcStatus(True, NOW - timedelta(hours=1), "TASK ERROR: disk")),
        store(name="f", gc=PbsGcStatus(True, NOW - timedelta(days=8), "OK")),
        store(name="g", gc=PbsGcStatus(True, None, None)),  # running: nothing
        store(name="h", maintenance="type=read-only"),
        store(name="i", estimated_full=NOW - timedelta(days=3), gc=gc_ok),  # in the past: ignored
    ]
    out = datastore_checks(stores, NOW, TH)
    assert [(a.code, a.details["datastore"]) for a in out] == [
        ("pbs_datastore_usage_critical", "a"),
        ("pbs_datastore_usage_high", "b"),
        ("pbs_datastore_full_soon", "c"),
        ("pbs_gc_never_ran", "d"),
        ("pbs_gc_failed", "e"),
        ("pbs_gc_outdated", "f"),
        ("pbs_datastore_maintenance", "h"),
    ]
    assert out[0].severity is Severity.CRITICAL


def test_job_rules() -> None:
    prune = [
        RetentionPolicy("prune-job:p1", "pbs1", "s", "", {"keep-last": 1}, last_run_state="OK"),
        RetentionPolicy("prune-job:p2", "pbs1", "s", "", {}, last_run_state="WARNINGS: 2"),
        RetentionPolicy("prune-job:p3", "pbs1", "s", "", {}, last_run_state="failed: x"),
        RetentionPolicy("prune-job:p4", "pbs1", "s", "", {}, enabled=False, last_run_state="x"),
    ]
    verify = [
        PbsVerifyJob("v1", "pbs1", "s", "", last_run_state="verification failed - x"),
        PbsVerifyJob("v2", "pbs1", "s", ""),
    ]
    out = job_checks(prune, verify)
    assert [(a.code, a.details["job"]) for a in out] == [
        ("pbs_prune_job_failed", "prune-job:p3"),
        ("pbs_verify_job_failed", "v1"),
    ]


def test_retention_selection_and_missing_retention() -> None:
    deep = Location("pbs1", "store1", "prod/a")
    jobs = [
        RetentionPolicy("prune-job:root", "pbs1", "store1", "", {"keep-last": 9}),
        RetentionPolicy("prune-job:prod", "pbs1", "store1", "prod", {"keep-daily": 7}, max_depth=0),
        RetentionPolicy("prune-job:off", "pbs1", "store1", "prod", {"keep-last": 1}, enabled=False),
    ]
    assert applicable_retention(LOC, jobs, None).source == "prune-job:prod"  # type: ignore[union-attr]
    assert applicable_retention(deep, jobs, None).source == "prune-job:root"  # type: ignore[union-attr]
    storage = Storage("pbs-a", "pbs", True, retention={"keep-daily": "7", "keep-weekly": "4"})
    job = BackupJob("j", True, False, Selection("all"), retention={"keep-last": "2"})
    by_job = applicable_retention(LOC, [], storage, [job])
    assert by_job is not None and (by_job.source, by_job.keep) == ("pve-job:j", {"keep-last": 2})
    by_storage = applicable_retention(LOC, [], storage)
    assert by_storage is not None and by_storage.source == "pve-storage:pbs-a"
    assert by_storage.keep == {"keep-daily": 7, "keep-weekly": 4}
    assert keep_options({"keep-all": "1"}) is None
    out = retention_checks({LOC: None, deep: by_storage}, frozenset({LOC, deep}))
    assert [(a.code, a.details["location"]) for a in out] == [
        ("pbs_no_retention", "pbs1:store1/prod")
    ]
    assert retention_checks({LOC: None}, frozenset()) == []  # jobs not visible: unknown


def test_verifying_locations() -> None:
    other = Location("pbs1", "store2", "")
    jobs = [PbsVerifyJob("v", "pbs1", "store1", "prod", max_depth=0)]
    stores = [store(name="store2", verify_new=True)]
    deep = Location("pbs1", "store1", "prod/x")
    assert verifying_locations([LOC, other, deep], jobs, stores) == frozenset({LOC, other})


def test_reconcile() -> None:
    start = datetime(2025, 11, 25, 21, 0, tzinfo=UTC)
    index = index_snapshots(
        [snap(1, 0, backup_time=start), snap(3, 0, backup_time=start, namespace="x")]
    )

    def ev(vmid: int, archive: str | None) -> GuestEvidence:
        return GuestEvidence(
            vmid,
            last_success=BackupAttempt("success", start, start, storage="pbs-a", archive=archive),
        )

    evidence = {
        1: ev(1, "vm/1/2025-11-25T21:00:00Z"),
        2: ev(2, "vm/2/2025-11-25T21:00:00Z"),
        3: ev(3, None),
        4: ev(4, None),
    }
    out = reconcile(evidence, {"pbs-a": LOC}, index, frozenset({LOC}))
    assert [a.details["vmid"] for a in out] == [2, 3, 4]
    assert "pbs1:store1/x" in out[1].message  # found by time window, in another namespace
    assert reconcile(evidence, {"pbs-a": LOC}, index, frozenset()) == []


def test_collision_reasons() -> None:
    guest = Guest(101, "qemu", "pve1", name="db01")
    same = [snap(101, 1, comment="db01", owner="pve@pbs!a")]
    assert collision_reason(guest, same, "pve@pbs!a") is None
    assert collision_reason(guest, [snap(101, 1, comment="nightly backup")], None) is None
    assert collision_reason(guest, [snap(101, 1, owner="x@pbs!b")], "pve@pbs!a") == (
        "the group is owned by x@pbs!b, not by the storage's user pve@pbs!a"
    )
    two = [snap(101, 9, comment="olddb"), snap(101, 1, comment="olddb")]
    assert collision_reason(guest, two, None) == (
        "snapshot notes name 'olddb' (2 snapshots) while the guest is 'db01'"
    )


def test_analyse_guests_orphans_and_type_reuse() -> None:
    guests = (Guest(100, "qemu", "pve1", name="web01"), Guest(200, "qemu", "pve1", name="app"))
    inv = Inventory(
        "u",
        None,
        None,
        (),
        (Storage("pbs-a", "pbs", True, username="pve@pbs!a"),),
        guests,
        (),
        {},
        (),
        (),
    )
    cov = CoverageResult(
        {
            100: GuestCoverage(
                100, Verdict.COVERED, (JobRef("j", True, "pbs-a", "pbs", None, "pbs"),)
            ),
            200: GuestCoverage(200, Verdict.NOT_COVERED),
        },
        {},
    )
    snaps = [
        snap(100, 10, owner="pve@pbs!a"),
        snap(100, 2, owner="pve@pbs!a"),
        snap(100, 1, namespace="other"),
        snap(150, 100, comment="gone", size_bytes=7),
        snap(150, 50, size_bytes=5),
        snap(200, 30, backup_type="ct", comment="oldct"),  # 200 is a VM now
        snap(300, 3, backup_type="host"),
    ]
    data = PbsData(snaps, frozenset({LOC}))
    result = analyse_guests(inv, cov, {"pbs-a": LOC}, data)
    g100 = result.details[100].pbs
    assert (g100.restore_points, g100.other_namespaces) == (2, ("pbs1:store1/other",))
    assert g100.latest_snapshot == snaps[1]
    assert g100.oldest_snapshot_time == snaps[0].backup_time
    assert 200 not in result.details  # no vm/200 group anywhere
    assert [(o.backup_type, o.backup_id, o.size_bytes, o.comment) for o in result.orphans] == [
        ("ct", "200", 100, "oldct"),
        ("vm", "150", 12, None),
    ]
    assert [(a.code, a.details["vmid"]) for a in result.anomalies] == [("pbs_vmid_collision", 200)]

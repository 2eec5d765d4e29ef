"""Golden expectations for the hand-written scenario (tests/report/scenario.py), by hand."""

from __future__ import annotations

from datetime import UTC, datetime

from pve_backup_report.exit_status import ExitStatus
from pve_backup_report.report.status import report_exit_status

from .scenario import HOSTILE, build


def test_summary_counts() -> None:
    s = build().summary
    assert s.guests_total == 9
    assert (s.covered_pbs, s.covered_other, s.not_covered) == (4, 1, 2)  # 104 + 107
    assert (s.excluded_opted_out, s.indeterminate) == (2, 0)  # 105 + 106
    assert (s.last_failed, s.stale, s.not_verified) == (1, 2, None)  # 101; 101 + 103
    assert (s.anomalies_critical, s.anomalies_warning, s.anomalies_info) == (1, 1, 1)
    assert s.verdicts == {
        "not_covered": 1,
        "disabled_only": 1,
        "indeterminate": 0,
        "excluded": 1,
        "covered_non_pbs": 1,
        "opted_out": 1,
        "covered": 4,
    }
    # 105/106 deliberately out; 100 10 h, 102 5 h, 108 2 h; 101 36 h; 103 72 h; 104/107 never
    assert [(b.code, b.count) for b in s.age_buckets] == [
        ("lt_24h", 3),
        ("24_48h", 1),
        ("2_7d", 1),
        ("gt_7d", 0),
        ("never", 2),
    ]


def test_attention_order_and_reasons() -> None:
    report = build()
    # critical first (by verdict rank: not_covered, disabled_only, covered), then warnings
    assert report.attention == (107, 104, 101, 105, 108, 103)
    got = {g.vmid: (g.attention_level, g.attention) for g in report.attention_rows()}
    assert got == {
        107: ("critical", ("not_covered",)),
        104: ("critical", ("disabled_only",)),
        101: ("critical", ("last_backup_failed", "stale")),
        105: ("warning", ("excluded",)),
        108: ("warning", ("covered_non_pbs",)),
        103: ("warning", ("stale",)),
    }
    for vmid in (100, 102, 106):
        assert report.guest(vmid).attention_level is None


def test_guest_rows_keep_identity_and_evidence() -> None:
    report = build()
    assert [g.vmid for g in report.guests] == list(range(100, 109))
    g102 = report.guest(102)
    assert g102.name == HOSTILE
    assert g102.coverage.status == "covered"
    assert g102.coverage.jobs == ("daily",)
    assert g102.last_success_age_hours == 5.0
    g101 = report.guest(101)
    assert g101.latest_backup is not None and g101.latest_backup.result == "failure"
    assert (g101.attempts, g101.failures) == (3, 1)
    assert g101.last_success_age_hours == 36.0
    # daily at 21:00 Europe/Paris (pve1's zone) after 09:30 → 20:00 UTC the same day
    assert g101.next_run == datetime(2026, 11, 26, 20, 0, tzinfo=UTC)
    # 108 only in nfs-weekly (sat 02:00, pve2 has no zone → UTC): Saturday 28th
    assert report.guest(108).next_run == datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
    assert report.guest(104).latest_backup is None
    assert (report.guest(104).attempts, report.guest(104).failures) == (0, 0)


def test_jobs_storages_and_anomalies() -> None:
    report = build()
    jobs = {j.job_id: j for j in report.jobs}
    assert list(jobs) == ["daily", "nfs-weekly", "old"]
    assert jobs["daily"].selected == (100, 101, 102, 103)
    assert jobs["daily"].schedule_text and "21:00" in jobs["daily"].schedule_text
    assert jobs["daily"].retention == {"keep-daily": "7"}
    assert jobs["nfs-weekly"].selected == (103, 108)
    assert jobs["nfs-weekly"].storage_type == "nfs"
    assert jobs["old"].next_run is None  # disabled jobs do not run
    storages = {s.storage_id: s for s in report.storages}
    assert storages["pbs-main"].jobs == ("daily", "old")
    assert storages["nfs"].jobs == ("nfs-weekly",)
    # the duplicate warning is dropped, severity order critical → warning → info
    assert [a.code for a in report.anomalies] == ["storage_disabled", "job_disabled", "single_note"]


def test_without_evidence_says_not_collected() -> None:
    report = build(with_evidence=False)
    assert report.evidence_collected is False
    s = report.summary
    assert (s.last_failed, s.stale, s.age_buckets) == (None, None, ())
    assert report.attention == (107, 104, 105, 108)
    assert report.guest(100).attempts is None


def test_french_explanations_from_structure() -> None:
    report = build("fr")
    assert report.guest(105).explanation_text == ("exclu par la tâche nfs-weekly",)
    assert report.guest(104).explanation_text[0] == (
        "tâche old (VMID 104) vers pbs-main — tâche désactivée"
    )
    assert report.guest(107).explanation_text == (
        "la tâche nfs-weekly est limitée au nœud pve2 mais l’invité tourne sur pve1",
        "n’est sélectionné par aucune tâche de sauvegarde",
    )
    assert report.guest(106).explanation_text[0] == (
        "volontairement hors sauvegarde (étiquette «\u202fno-backup\u202f»)\u202f: test VM"
    )
    # the engine's English stays in the coverage block (JSON)
    assert report.guest(105).coverage.explanation == ("excluded by job nfs-weekly",)


def test_exit_status() -> None:
    assert report_exit_status(build()) is ExitStatus.CRITICAL

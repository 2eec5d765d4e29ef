"""Last successes remembered by the history, beyond PVE's task index."""

from __future__ import annotations

from datetime import UTC, datetime

from pve_backup_report.collect.evidence import remember_successes
from pve_backup_report.model import BackupAttempt, GuestEvidence

OLD = datetime(2026, 10, 1, 21, 0, tzinfo=UTC)
NEW = datetime(2026, 11, 25, 21, 0, tzinfo=UTC)


def test_remembered_success_fills_a_gap_only_for_the_same_guest() -> None:
    evidence = {
        100: GuestEvidence(100),  # nothing left in PVE's index
        101: GuestEvidence(101, last_success=BackupAttempt("success", started_at=NEW)),
        102: GuestEvidence(102),  # renamed since: maybe a reused VMID
    }
    remembered = {100: ("web01", OLD), 101: ("db01", OLD), 102: ("old-name", OLD), 999: (None, OLD)}
    names = {100: "web01", 101: "db01", 102: "new-name"}
    result = remember_successes(evidence, remembered, names)
    assert result[100].last_success == BackupAttempt("success", started_at=OLD, source="history")
    assert result[101].last_success == BackupAttempt("success", started_at=NEW)  # newer wins
    assert result[102].last_success is None
    assert 999 not in result

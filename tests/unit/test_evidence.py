"""Per-task attribution and per-guest aggregation (pure; expected values worked out by hand)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from pve_backup_report.analysis.coverage import compute_coverage
from pve_backup_report.analysis.evidence import (
    EvidenceContext,
    TaskOutcome,
    VzdumpTask,
    aggregate,
    task_outcome,
)
from pve_backup_report.analysis.tasklog import parse_task_log
from pve_backup_report.analysis.upid import parse_upid
from pve_backup_report.model import BackupAttempt, Inventory

from .builders import guest, inventory, job

PARIS = ZoneInfo("Europe/Paris")
# 2025-11-25 20:00:05 UTC = 21:00:05 in Paris; the jobs below run at "21:00" node time.
START = int(datetime(2025, 11, 25, 20, 0, 5, tzinfo=UTC).timestamp())
STORAGE_ERR = "could not activate storage 'pbs-main': pbs-main: error fetching datastores"


def task(
    node: str = "pve1", vmid: str = "", status: str | None = "OK", start: int = START
) -> VzdumpTask:
    upid = parse_upid(f"UPID:{node}:00001234:0179E3A5:{start:08X}:vzdump:{vmid}:root@pam:")
    return VzdumpTask(upid, status, None if status is None else start + 60)


def ctx_for(inv: Inventory) -> EvidenceContext:
    return EvidenceContext.build(inv, compute_coverage(inv), {"pve1": PARIS, "pve2": PARIS})


def outcome(
    t: VzdumpTask, lines: list[str] | None, inv: Inventory, truncated: bool = False
) -> TaskOutcome:
    ctx = ctx_for(inv)
    if lines is None:
        return task_outcome(t, None, "not_fetched", ctx)
    log = parse_task_log(lines, t.upid, PARIS, truncated, task_status=t.status)
    return task_outcome(t, log, "parsed", ctx)


def results(o: TaskOutcome) -> dict[int, tuple[str, str | None]]:
    return {v: (a.result, a.error) for v, a in o.attempts}


INV = inventory(
    [guest(100), guest(101), guest(102, "pve2"), guest(103)],
    [job("daily", all=1, exclude="103"), job("only-103", vmid="103", schedule="03:00")],
)


def test_storage_failure_is_given_to_the_guests_of_the_one_matching_job() -> None:
    t = task(status=STORAGE_ERR)
    o = outcome(t, [f"TASK ERROR: {STORAGE_ERR}"], INV)
    # daily selects 100, 101 on pve1 (102 is on pve2, 103 excluded); only-103 runs at 03:00.
    assert results(o) == {100: ("failure", STORAGE_ERR), 101: ("failure", STORAGE_ERR)}
    assert all(a.storage == "pbs-main" for _, a in o.attempts)
    assert not o.anomalies


def test_job_level_failure_with_two_candidate_jobs_is_an_anomaly() -> None:
    inv = inventory(
        [guest(100), guest(101)],
        [job("a", vmid="100"), job("b", vmid="101")],  # both at 21:00, both on pve1
    )
    o = outcome(task(status=STORAGE_ERR), [f"TASK ERROR: {STORAGE_ERR}"], inv)
    assert o.attempts == ()
    assert [a.code for a in o.anomalies] == ["task_unattributed"]


def test_storage_name_in_the_error_disambiguates_jobs() -> None:
    inv = inventory(
        [guest(100), guest(101)],
        [job("a", vmid="100"), job("b", vmid="101", storage="nfs")],
    )
    o = outcome(task(status=STORAGE_ERR), [f"TASK ERROR: {STORAGE_ERR}"], inv)
    assert results(o) == {100: ("failure", STORAGE_ERR)}


def test_job_level_failure_after_header_uses_the_header_selection() -> None:
    lines = [
        "INFO: starting new backup job: vzdump 100 102 --storage pbs-main --mode snapshot",
        "INFO: skip external VMs: 102",
        "ERROR: Backup job failed - interrupted by signal",
        "TASK ERROR: interrupted by signal",
    ]
    o = outcome(task(status="interrupted by signal"), lines, INV)
    assert results(o) == {100: ("failure", "interrupted by signal")}


def test_guest_failing_before_starting_is_attributed() -> None:
    lines = [
        "INFO: starting new backup job: vzdump 100 150 --storage pbs-main",
        "INFO: Starting Backup of VM 100 (qemu)",
        "INFO: Backup started at 2025-11-25 21:00:06",
        "INFO: Finished Backup of VM 100 (00:00:10)",
        "INFO: Backup finished at 2025-11-25 21:00:16",
        "ERROR: Backup of VM 150 failed - unable to find VM '150'",
        "INFO: Failed at 2025-11-25 21:00:16",
        "INFO: Backup job finished with errors",
        "TASK ERROR: job errors",
    ]
    o = outcome(task(status="job errors"), lines, INV)
    assert results(o) == {100: ("success", None), 150: ("failure", "unable to find VM '150'")}
    a100 = dict(o.attempts)[100]
    assert (
        a100.started_at is not None and a100.started_at.isoformat() == "2025-11-25T21:00:06+01:00"
    )
    assert a100.duration_s == 10


def test_attempt_size_is_the_archive_on_file_storages_and_says_so() -> None:
    lines = [
        "INFO: starting new backup job: vzdump 100 101 --storage nfs --mode stop",
        "INFO: Starting Backup of VM 100 (lxc)",
        "INFO: Backup started at 2025-11-25 21:00:06",
        "INFO: creating vzdump archive '/mnt/nfs/dump/vzdump-lxc-100-2025_11_25-21_00_06.tar.zst'",
        "INFO: Total bytes written: 611809280 (584MiB, 41MiB/s)",
        "INFO: archive file size: 189MB",
        "INFO: Finished Backup of VM 100 (00:00:10)",
        "INFO: Backup finished at 2025-11-25 21:00:16",
        "INFO: Starting Backup of VM 101 (lxc)",
        "INFO: Backup started at 2025-11-25 21:00:16",
        "INFO: Total bytes written: 10240 (10KiB, 10KiB/s)",
        "INFO: Finished Backup of VM 101 (00:00:01)",
        "INFO: Backup finished at 2025-11-25 21:00:17",
        "INFO: Backup job finished successfully",
        "TASK OK",
    ]
    attempts = dict(outcome(task(), lines, INV).attempts)
    # 189MB in vzdump's format_size is 189 * 1024**2 bytes; without that line the tar stream
    assert (attempts[100].size_bytes, attempts[100].size_kind) == (198180864, "archive")
    assert (attempts[101].size_bytes, attempts[101].size_kind) == (10240, "tar_stream")


def test_failed_guest_error_shows_its_output_lines_and_success_does_not() -> None:
    lines = [
        "INFO: starting new backup job: vzdump 100 101 --storage pbs-main",
        "INFO: Starting Backup of VM 100 (qemu)",
        "INFO: Backup started at 2025-11-25 21:00:06",
        "  WARNING: thin pool is 95% full",
        "INFO: Finished Backup of VM 100 (00:00:10)",
        "INFO: Backup finished at 2025-11-25 21:00:16",
        "INFO: Starting Backup of VM 101 (qemu)",
        "INFO: Backup started at 2025-11-25 21:00:16",
        "[INFO]: TrueNAS: LUN for vm-101-disk-0 not found",
        "ERROR: Backup of VM 101 failed - start failed: QEMU exited with code 1",
        "INFO: Failed at 2025-11-25 21:00:18",
        "INFO: Backup job finished with errors",
        "TASK ERROR: job errors",
    ]
    assert results(outcome(task(status="job errors"), lines, INV)) == {
        100: ("success", None),
        101: (
            "failure",
            "start failed: QEMU exited with code 1 — "
            "[INFO]: TrueNAS: LUN for vm-101-disk-0 not found",
        ),
    }


def test_cut_log_leaves_the_remaining_local_guests_undetermined() -> None:
    lines = [
        "INFO: starting new backup job: vzdump --all 1 --exclude 103 --storage pbs-main",
        "INFO: skip external VMs: 102",
        "INFO: Starting Backup of VM 100 (qemu)",
        "INFO: Backup started at 2025-11-25 21:00:06",
        "INFO: Finished Backup of VM 100 (00:00:10)",
    ]
    o = outcome(task(status="OK"), lines, INV, truncated=True)
    # 100 finished before the cut; 101 (local, not excluded) was not reached in what we read.
    assert results(o) == {100: ("success", None), 101: ("undetermined", "task log cut")}


def test_single_guest_task_without_log_uses_the_upid_and_status() -> None:
    t = task(vmid="101", status="job errors")
    o = outcome(t, None, INV)
    assert results(o) == {101: ("failure", "job errors")}
    a = dict(o.attempts)[101]
    assert a.started_at == datetime(2025, 11, 25, 21, 0, 5, tzinfo=PARIS)
    assert a.duration_s == 60


def test_running_tasks_are_running() -> None:
    assert results(outcome(task(vmid="100", status=None), None, INV)) == {100: ("running", None)}
    lines = [
        "INFO: starting new backup job: vzdump --all 1 --exclude 103 --storage pbs-main",
        "INFO: Starting Backup of VM 100 (qemu)",
        "INFO: Backup started at 2025-11-25 21:00:06",
        "INFO: Finished Backup of VM 100 (00:00:10)",
        "INFO: Backup finished at 2025-11-25 21:00:16",
        "INFO: Starting Backup of VM 101 (qemu)",
        "INFO: Backup started at 2025-11-25 21:00:16",
    ]
    got = results(outcome(task(status=None), lines, INV))
    assert got == {100: ("success", None), 101: ("running", None)}


def test_multi_guest_task_not_fetched_is_not_inspected_but_unavailable_is_undetermined() -> None:
    t = task(status="job errors")
    assert outcome(t, None, INV).attempts == ()
    o = task_outcome(t, None, "unavailable", ctx_for(INV))
    assert {v: a.result for v, a in o.attempts} == {100: "undetermined", 101: "undetermined"}
    assert dict(o.attempts)[100].error == "task log unavailable (task status: job errors)"


def test_unreadable_log_of_a_task_that_succeeded_is_a_success() -> None:
    """Issue 11: an unreadable log must not turn a successful task into "no success". vzdump
    ends ``job errors`` when any guest fails, so OK / WARNINGS vouch for every guest."""
    for status, result in (("OK", "success"), ("WARNINGS: 2", "warning")):
        o = task_outcome(task(status=status), None, "unavailable", ctx_for(INV))
        assert {v: a.result for v, a in o.attempts} == {100: result, 101: result}
        assert all(a.error is None for _, a in o.attempts)


def _attempt(result: str, hour: int, upid: str) -> BackupAttempt:
    return BackupAttempt(
        result=result,  # type: ignore[arg-type]
        started_at=datetime(2025, 11, 25, hour, tzinfo=UTC),
        upid=upid,
    )


def test_aggregate_latest_last_success_and_counts() -> None:
    outcomes = [
        TaskOutcome(
            "a", ((100, _attempt("failure", 20, "a")), (101, _attempt("success", 20, "a")))
        ),
        TaskOutcome("b", ((100, _attempt("warning", 10, "b")), (999, _attempt("success", 9, "b")))),
        TaskOutcome("c", ((100, _attempt("success", 5, "c")),)),
    ]
    ev = aggregate(outcomes, [100, 101, 102])
    assert set(ev) == {100, 101, 102}  # 999 is not in the inventory
    assert ev[100].latest_backup is not None and ev[100].latest_backup.upid == "a"
    # a warning counts as a success, and it is newer than the plain success of task c
    assert ev[100].last_success is not None and ev[100].last_success.upid == "b"
    assert (ev[100].attempts, ev[100].failures) == (3, 1)
    assert ev[102].latest_backup is None and ev[102].attempts == 0

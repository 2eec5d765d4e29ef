"""Missed-run detection: which nodes must show a task, and the matching heuristic."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from pve_backup_report.analysis.coverage import compute_coverage
from pve_backup_report.analysis.evidence import VzdumpTask
from pve_backup_report.analysis.missed_runs import (
    find_missed_runs,
    header_matches_job,
    last_run_before,
    schedule_event,
)
from pve_backup_report.analysis.tasklog import JobHeader, parse_task_log
from pve_backup_report.analysis.upid import parse_upid
from pve_backup_report.model import BackupJob, Inventory

from .builders import guest, inventory, job

NOW = datetime(2025, 6, 11, 12, 0, tzinfo=UTC)  # Wednesday; "21:00" UTC last fired Tue 21:00
TUE_21 = datetime(2025, 6, 10, 21, 0, tzinfo=UTC)
ZONES = {"pve1": ZoneInfo("UTC"), "pve2": ZoneInfo("UTC")}


def task(node: str, at: datetime, pid: int = 1) -> VzdumpTask:
    start = int(at.timestamp())
    return VzdumpTask(
        parse_upid(f"UPID:{node}:{pid:08X}:00000001:{start:08X}:vzdump::root@pam:"), "OK", start
    )


def header(line: str) -> JobHeader | None:
    return parse_task_log([f"INFO: starting new backup job: {line}", "TASK OK"], None, None).header


def missed(
    inv: Inventory,
    tasks: list[VzdumpTask],
    headers: dict[str, JobHeader | None] | None = None,
    judged_from: dict[str, datetime | None] | None = None,
) -> list[tuple[str, str, str]]:
    found = find_missed_runs(
        inv.jobs or (),
        compute_coverage(inv),
        {g.vmid: g.node for g in inv.guests},
        tasks,
        headers or {},
        judged_from if judged_from is not None else {"pve1": None, "pve2": None},
        ZONES,
        NOW,
    )
    return [
        (str(a.details["job"]), str(a.details["node"]), str(a.details["expected"])) for a in found
    ]


GUESTS = [guest(100), guest(101), guest(200, "pve2")]


def test_last_run_before() -> None:
    event = schedule_event("21:00")
    assert event is not None
    assert last_run_before(event, ZoneInfo("UTC"), NOW) == TUE_21
    yearly = schedule_event("yearly")
    assert yearly is not None
    assert last_run_before(yearly, None, NOW) == datetime(2025, 1, 1, tzinfo=UTC)


def test_task_near_the_scheduled_time_matches() -> None:
    inv = inventory(GUESTS, [job("daily", vmid="100")])
    assert missed(inv, [task("pve1", TUE_21.replace(second=4))]) == []
    # no task, or a task outside [21:00, 21:15] -> missed, on pve1 only (no guest on pve2)
    expected = [("daily", "pve1", TUE_21.isoformat())]
    assert missed(inv, []) == expected
    assert missed(inv, [task("pve1", TUE_21.replace(minute=20))]) == expected
    assert missed(inv, [task("pve2", TUE_21.replace(second=4))]) == expected


def test_all_job_without_node_needs_a_task_on_every_node() -> None:
    inv = inventory([guest(100)], [job("all", all=1)])
    assert missed(inv, [task("pve1", TUE_21)]) == [("all", "pve2", TUE_21.isoformat())]
    # restricted to a node: only that one
    inv = inventory([guest(100)], [job("all", all=1, node="pve1")])
    assert missed(inv, [task("pve1", TUE_21)]) == []


def test_disabled_jobs_and_unjudged_history_are_skipped() -> None:
    inv = inventory(GUESTS, [job("off", vmid="100", enabled=0)])
    assert missed(inv, []) == []
    inv = inventory(GUESTS, [job("daily", vmid="100")])
    late = datetime(2025, 6, 11, 0, 0, tzinfo=UTC)
    assert missed(inv, [], judged_from={"pve1": late}) == []  # history starts after Tue 21:00
    assert missed(inv, [], judged_from={}) == []  # pve1's history could not be read


def test_header_decides_between_two_jobs_firing_together() -> None:
    inv = inventory(GUESTS, [job("a", vmid="100"), job("b", vmid="101", storage="nfs")])
    t = task("pve1", TUE_21.replace(second=3))
    h = {t.upid.raw: header("vzdump 100 --storage pbs-main --mode snapshot --quiet 1")}
    # the only task is job a's (its header says so): job b missed its run
    assert missed(inv, [t], h) == [("b", "pve1", TUE_21.isoformat())]


def _job(**raw: object) -> BackupJob:
    return job("j", **raw)


def test_header_matches_job() -> None:
    assert header_matches_job(None, _job(vmid="100")) is None
    assert header_matches_job(header("vzdump 100 101 --storage pbs-main"), _job(vmid="101,100"))
    assert header_matches_job(header("vzdump 100 --storage nfs"), _job(vmid="100")) is False
    assert (
        header_matches_job(header("vzdump 100 --storage pbs-main"), _job(vmid="100,101")) is False
    )
    assert header_matches_job(
        header("vzdump --all 1 --exclude 5 --storage pbs-main"), _job(all=1, exclude="5")
    )
    assert (
        header_matches_job(header("vzdump --all 1 --storage pbs-main"), _job(all=1, exclude="5"))
        is False
    )
    assert header_matches_job(header("vzdump --pool prod --storage pbs-main"), _job(pool="prod"))
    assert header_matches_job(header("vzdump --pool prod --mode stop"), _job(pool="prod")) is False

"""The synthetic vzdump logs carry the line shapes real Proxmox logs have (issue 13 §1), and the
parser reads them as a hand-worked expectation says."""

from __future__ import annotations

from typing import Any

from pve_backup_report.analysis.tasklog import GuestAttempt, parse_task_log
from pve_backup_report.analysis.upid import parse_upid
from pve_backup_report.simulator.routes_pve import PveState
from pve_backup_report.simulator.scenario import load_scenario

from .conftest import NOW, base_scenario, upid

START = NOW - 10 * 3600  # 2025-11-25 21:00 UTC = 22:00 Europe/Paris


def _state(job: dict[str, Any], guests: list[dict[str, Any]], status: str) -> PveState:
    data = base_scenario()
    data["jobs"].append(job)
    data["tasks"] = [
        {
            "upid": upid("pve1", 0x4242, START),
            "status": status,
            "endtime": START + 300,
            "synth": {"job": job["id"], "guests": guests},
        }
    ]
    return PveState(load_scenario(data))


def _parsed(state: PveState) -> tuple[list[str], dict[int, GuestAttempt]]:
    task = state.scenario.tasks[0]
    lines = state.task_log(task)
    result = parse_task_log(lines, parse_upid(task.upid), None)
    assert result.notes == ()
    return lines, {g.vmid: g for g in result.guests}


def test_lxc_snapshot_failure_prints_a_multiline_error_read_cause_first() -> None:
    job = {"id": "backup-cccc", "schedule": "22:00", "storage": "pbs-main", "vmid": "200"}
    lines, guests = _parsed(_state(job, [{"vmid": 200, "outcome": "fail"}], "job errors"))
    first = lines.index(
        "ERROR: Backup of VM 200 failed - API Return-Code: 500. Message: Could not create "
        "snapshot of resource 'vm-200-disk-0', because:"
    )
    assert lines[first + 1].startswith("ERROR: Not enough free space available for volume 0")
    assert lines[first + 3].startswith("INFO: Failed at ")
    assert guests[200].result == "failure"
    assert guests[200].error == (
        "Not enough free space available for volume 0 of resource 'vm-200-disk-0' on node "
        "'pve1'; Failed to adjust DRBD resource vm-200-disk-0 — API Return-Code: 500. Message: "
        "Could not create snapshot of resource 'vm-200-disk-0', because:"
    )

"""A last success that left PVE's task index is still known from the history."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .conftest import Result, Sim
from .scenario_small import scenario

Cli = Callable[[list[str], dict[str, str]], Result]
Start = Callable[[dict[str, Any]], Sim]

# 2025-11-25T21:00:00Z = 0x69261A10; a single-guest task for 103 on pve2 (UTC)
TASK = {
    "upid": "UPID:pve2:00001234:00ABCDEF:69261A10:vzdump:103:root@pam:",
    "status": "OK",
    "endtime": 1764104460,
    "log": [
        "INFO: starting new backup job: vzdump 103 --storage pbs-main --mode snapshot",
        "INFO: Starting Backup of VM 103 (qemu)",
        "INFO: Backup started at 2025-11-25 21:00:02",
        "INFO: creating Proxmox Backup Server archive 'vm/103/2025-11-25T21:00:02Z'",
        "INFO: Finished Backup of VM 103 (00:00:58)",
        "INFO: Backup finished at 2025-11-25 21:01:00",
        "INFO: Backup job finished successfully",
        "TASK OK",
    ],
}


def _last_success(out_dir: Path, vmid: int) -> dict[str, Any]:
    report = json.loads(next(out_dir.glob("*.json")).read_text())
    guest = next(g for g in report["guests"] if g["vmid"] == vmid)
    return dict(guest["last_success"] or {})


def test_history_remembers_success_beyond_task_index(
    start_sim: Start, cli: Cli, tmp_path: Path
) -> None:
    db = str(tmp_path / "h.sqlite3")
    first = scenario()
    first["tasks"] = [*first["tasks"], TASK]
    sim1 = start_sim(first)
    cli(["--format", "json", "--output-dir", str(tmp_path / "one")], sim1.env(REPORT_HISTORY_DB=db))
    one = _last_success(tmp_path / "one", 103)
    assert one["started_at"] == "2025-11-25T21:00:02+00:00"
    assert one["source"] == "task_log"
    # the task rotated out of PVE's index: only the history still knows it
    sim2 = start_sim(scenario())
    cli(["--format", "json", "--output-dir", str(tmp_path / "two")], sim2.env(REPORT_HISTORY_DB=db))
    two = _last_success(tmp_path / "two", 103)
    assert two["started_at"] == "2025-11-25T21:00:02+00:00"
    assert two["source"] == "history"

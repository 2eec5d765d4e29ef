"""Evidence collection against the simulator over HTTPS, on a hand-written task history.

Every expected value below was worked out by hand from the logs written here (see the comments
at each task). The walk uses ``wave_size=1`` so the set of logs read is exact: the test asserts
that the logs not needed (older tasks, and single-guest tasks whose guest already has its
evidence) are never requested.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import SecretStr

from pve_backup_report.analysis.coverage import compute_coverage
from pve_backup_report.api.client import ClientConfig, ReadOnlyClient, pve_authorization
from pve_backup_report.collect import tasks as tasks_module
from pve_backup_report.collect.evidence import EvidenceResult, collect_evidence
from pve_backup_report.collect.inventory import collect_inventory
from pve_backup_report.collect.log_cache import TaskLogCache

from .conftest import Sim

NOW = datetime(2025, 11, 26, 7, 0, 0, tzinfo=UTC)
PBS = "pbs-main"
STORAGE_ERROR = (
    "could not activate storage 'pbs-main': pbs-main: error fetching datastores - "
    "500 Can't connect to pbs01:8007 (No route to host)"
)


def ts(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


def upid(node: str, pid: int, start: str, vmid: str = "", user: str = "root@pam") -> str:
    return f"UPID:{node}:{pid:08X}:0179E3A5:{ts(start):08X}:vzdump:{vmid}:{user}:"


DAILY_HEADER = (
    "INFO: starting new backup job: vzdump --all 1 --exclude 104 --storage pbs-main"
    " --mode snapshot --quiet 1"
)

# pve1 = Europe/Paris (UTC+1 in November: daily "21:00" = 20:00 UTC), pve2 = UTC (21:00 UTC).
T6 = upid("pve1", 0x600, "2025-11-26T06:58:00+00:00", "100", "admin@pam")  # running, manual
T3 = upid("pve2", 0x300, "2025-11-26T06:00:02+00:00", "103")  # six-hourly job, OK
T4 = upid("pve2", 0x400, "2025-11-26T00:00:02+00:00", "103")  # six-hourly job, OK
T1 = upid("pve1", 0x100, "2025-11-25T20:00:05+00:00")  # daily: 100 ok, 101 locked
T2 = upid("pve2", 0x200, "2025-11-25T21:00:03+00:00")  # daily: storage not activated
T5B = upid("pve2", 0x510, "2025-11-25T18:00:02+00:00", "103")  # six-hourly job, OK
T0 = upid("pve1", 0x0F0, "2025-11-24T20:00:04+00:00")  # daily: 100 ok, 101 warning
T5 = upid("pve2", 0x500, "2025-11-24T21:00:02+00:00")  # daily: 102 ok, 103 ok
TM1 = upid("pve1", 0x0E0, "2025-11-23T20:00:04+00:00")  # daily, older: not needed
T7 = upid("pve2", 0x700, "2025-11-23T21:00:02+00:00")  # daily, older: not needed

TASKS: list[dict[str, Any]] = [
    {
        "upid": T6,
        "status": None,
        "log": [
            "INFO: starting new backup job: vzdump 100 --storage pbs-main --mode snapshot",
            "INFO: Starting Backup of VM 100 (qemu)",
            "INFO: Backup started at 2025-11-26 07:58:01",
            "INFO: status = running",
        ],
    },
    {
        "upid": T3,
        "status": "OK",
        "endtime": ts("2025-11-26T06:00:09+00:00"),
        "log": [
            "INFO: starting new backup job: vzdump 103 --mode snapshot --storage pbs-main"
            " --quiet 1",
            "INFO: Starting Backup of VM 103 (qemu)",
            "INFO: Backup started at 2025-11-26 06:00:03",
            "INFO: creating Proxmox Backup Server archive 'vm/103/2025-11-26T06:00:03Z'",
            "INFO: transferred 512.00 MiB in 4 seconds (128.0 MiB/s)",
            "INFO: Finished Backup of VM 103 (00:00:05)",
            "INFO: Backup finished at 2025-11-26 06:00:08",
            "INFO: Backup job finished successfully",
            "TASK OK",
        ],
    },
    {"upid": T4, "status": "OK", "endtime": ts("2025-11-26T00:00:09+00:00"), "log": ["TASK OK"]},
    {
        "upid": T1,
        "status": "job errors",
        "endtime": ts("2025-11-25T20:00:20+00:00"),
        "log": [
            DAILY_HEADER,
            "INFO: skip external VMs: 102, 103",
            "INFO: Starting Backup of VM 100 (qemu)",
            "INFO: Backup started at 2025-11-25 21:00:06",
            "INFO: status = running",
            "INFO: backup mode: snapshot",
            "INFO: creating Proxmox Backup Server archive 'vm/100/2025-11-25T20:00:06Z'",
            "INFO: transferred 1.00 GiB in 10 seconds (102.4 MiB/s)",
            "INFO: Finished Backup of VM 100 (00:00:12)",
            "INFO: Backup finished at 2025-11-25 21:00:18",
            "INFO: Starting Backup of VM 101 (qemu)",
            "INFO: Backup started at 2025-11-25 21:00:18",
            "ERROR: Backup of VM 101 failed - VM is locked (snapshot)",
            "INFO: Failed at 2025-11-25 21:00:19",
            "INFO: Backup job finished with errors",
            "TASK ERROR: job errors",
        ],
    },
    {
        "upid": T2,
        "status": STORAGE_ERROR,
        "endtime": ts("2025-11-25T21:00:04+00:00"),
        "log": [f"TASK ERROR: {STORAGE_ERROR}"],
    },
    {"upid": T5B, "status": "OK", "endtime": ts("2025-11-25T18:00:09+00:00"), "log": ["TASK OK"]},
    {
        "upid": T0,
        "status": "WARNINGS: 1",
        "endtime": ts("2025-11-24T20:01:16+00:00"),
        "log": [
            "INFO: starting new backup job: vzdump --storage pbs-main --exclude 104 --quiet 1"
            " --mode snapshot --all 1",
            "INFO: skip external VMs: 102, 103",
            "INFO: Starting Backup of VM 100 (qemu)",
            "INFO: Backup started at 2025-11-24 21:00:05",
            "INFO: creating Proxmox Backup Server archive 'vm/100/2025-11-24T20:00:05Z'",
            "INFO: Finished Backup of VM 100 (00:00:10)",
            "INFO: Backup finished at 2025-11-24 21:00:15",
            "INFO: Starting Backup of VM 101 (qemu)",
            "INFO: Backup started at 2025-11-24 21:00:15",
            "WARN: skipping guest-agent 'fs-freeze', agent configured but not running?",
            "INFO: creating Proxmox Backup Server archive 'vm/101/2025-11-24T20:00:15Z'",
            "INFO: Finished Backup of VM 101 (00:01:00)",
            "INFO: Backup finished at 2025-11-24 21:01:15",
            "INFO: Backup job finished successfully",
            "TASK WARNINGS: 1",
        ],
    },
    {
        "upid": T5,
        "status": "OK",
        "endtime": ts("2025-11-24T21:00:41+00:00"),
        "log": [
            DAILY_HEADER,
            "INFO: skip external VMs: 100, 101",
            "INFO: Starting Backup of VM 102 (lxc)",
            "INFO: Backup started at 2025-11-24 21:00:03",
            "INFO: creating Proxmox Backup Server archive 'ct/102/2025-11-24T21:00:03Z'",
            "INFO: Finished Backup of VM 102 (00:00:30)",
            "INFO: Backup finished at 2025-11-24 21:00:33",
            "INFO: Starting Backup of VM 103 (qemu)",
            "INFO: Backup started at 2025-11-24 21:00:33",
            "INFO: creating Proxmox Backup Server archive 'vm/103/2025-11-24T21:00:33Z'",
            "INFO: Finished Backup of VM 103 (00:00:07)",
            "INFO: Backup finished at 2025-11-24 21:00:40",
            "INFO: Backup job finished successfully",
            "TASK OK",
        ],
    },
    {"upid": TM1, "status": "OK", "endtime": ts("2025-11-23T20:01:00+00:00"), "log": ["TASK OK"]},
    {"upid": T7, "status": "OK", "endtime": ts("2025-11-23T21:01:00+00:00"), "log": ["TASK OK"]},
]


def scenario() -> dict[str, Any]:
    return {
        "now": int(NOW.timestamp()),
        "token": {"id": "report@pve!audit", "secret": "s3cr3t"},
        "nodes": [
            {"node": "pve1", "timezone": "Europe/Paris"},
            {"node": "pve2", "timezone": "UTC"},
            {"node": "pve3", "status": "offline"},
        ],
        "storages": [
            {"storage": PBS, "type": "pbs", "server": "pbs01", "datastore": "store1"},
        ],
        "guests": [
            {"vmid": 100, "type": "qemu", "node": "pve1", "tags": "critical"},
            {"vmid": 101, "type": "qemu", "node": "pve1"},
            {"vmid": 102, "type": "lxc", "node": "pve2"},
            {"vmid": 103, "type": "qemu", "node": "pve2"},
            {"vmid": 104, "type": "qemu", "node": "pve1"},
        ],
        "jobs": [
            {
                "id": "backup-daily",
                "schedule": "21:00",
                "storage": PBS,
                "mode": "snapshot",
                "all": 1,
                "exclude": "104",
            },
            {"id": "backup-6h", "schedule": "0/6:00", "storage": PBS, "vmid": "103"},
            {"id": "backup-101", "schedule": "02:00", "storage": PBS, "vmid": "101"},
        ],
        "tasks": TASKS,
    }


async def run_evidence(
    sim: Sim, wave_size: int, log_limit: int = 1000, log_cache: TaskLogCache | None = None
) -> EvidenceResult:
    token = sim.server.scenario.token
    config = ClientConfig(
        base_urls=(sim.server.api_url,),
        authorization=pve_authorization(token.id, SecretStr(token.secret)),
        ca_bundle=sim.ca_path,
        max_concurrency=4,
        timeout=10,
    )
    async with ReadOnlyClient(config) as client:
        inventory = await collect_inventory(client, sim.server.api_url)
        coverage = compute_coverage(inventory)
        sim.server.reset_counts()
        return await collect_evidence(
            client,
            inventory,
            coverage,
            task_history_limit=500,
            task_log_limit=log_limit,
            history_days=None,
            now=NOW,
            tag_max_age={"critical": 6},
            wave_size=wave_size,
            log_cache=log_cache,
        )


def _log_requests(sim: Sim) -> list[str]:
    return [p.split("/")[4] for _, p, _ in sim.server.requests if p.endswith("/log")]


def test_evidence_from_hand_written_history(start_sim: Callable[[dict[str, Any]], Sim]) -> None:
    sim = start_sim(scenario())
    result = asyncio.run(run_evidence(sim, wave_size=1))
    g = result.guests

    # 100: newest task is the running manual backup; last success from T1 (21:00:06 Paris).
    assert g[100].latest_backup is not None and g[100].latest_backup.result == "running"
    assert g[100].latest_backup.upid == T6
    s100 = g[100].last_success
    assert s100 is not None and s100.upid == T1 and s100.result == "success"
    assert s100.started_at is not None
    assert s100.started_at.isoformat() == "2025-11-25T21:00:06+01:00"
    assert s100.ended_at is not None and s100.ended_at.isoformat() == "2025-11-25T21:00:18+01:00"
    assert (s100.duration_s, s100.storage, s100.node) == (12, PBS, "pve1")
    assert (s100.size_bytes, s100.size_kind) == (1024**3, "transferred")
    assert s100.archive == "vm/100/2025-11-25T20:00:06Z"
    assert (g[100].attempts, g[100].failures) == (3, 0)  # T6, T1, T0

    # 101: locked in T1 (failure), success with a warning in T0.
    l101 = g[101].latest_backup
    assert l101 is not None and l101.result == "failure" and l101.upid == T1
    assert l101.error == "VM is locked (snapshot)"
    s101 = g[101].last_success
    assert s101 is not None and s101.result == "warning" and s101.upid == T0
    assert (g[101].attempts, g[101].failures) == (2, 1)

    # 102: T2 failed at job level (storage) on pve2: attributed through job backup-daily.
    l102 = g[102].latest_backup
    assert l102 is not None and l102.result == "failure" and l102.upid == T2
    assert l102.error == STORAGE_ERROR and l102.storage == PBS
    s102 = g[102].last_success
    assert s102 is not None and s102.upid == T5
    assert (
        s102.started_at is not None and s102.started_at.isoformat() == "2025-11-24T21:00:03+00:00"
    )
    assert (g[102].attempts, g[102].failures) == (2, 1)

    # 103: T3 (log read), T4 and T5B (status only), T2 failure, T5 success.
    l103 = g[103].latest_backup
    assert l103 is not None and l103.upid == T3 and l103.result == "success"
    assert l103.size_bytes == 512 * 1024**2 and l103.duration_s == 5
    assert g[103].last_success == l103
    assert (g[103].attempts, g[103].failures) == (5, 1)

    # 104: excluded from every job, never backed up: a finding, not a crash.
    assert g[104].latest_backup is None and g[104].last_success is None
    assert g[104].attempts == 0

    # Freshness at 07:00 UTC. daily "21:00" in Paris: largest gap 25 h (autumn DST change),
    # +25 % = 31.25 h; in UTC (pve2) 24 h + 6 h = 30 h; "0/6:00": 6 h + 1.5 h = 7.5 h.
    f = {v: ev.freshness for v, ev in g.items()}
    assert f[100] is not None and (f[100].status, f[100].source) == ("stale", "tag:critical")
    assert f[100].max_age_hours == 6 and "tag 'critical'" in f[100].explanation
    assert f[101] is not None and (f[101].status, f[101].max_age_hours) == ("stale", 31.25)
    assert f[102] is not None and (f[102].status, f[102].max_age_hours) == ("stale", 30)
    assert f[103] is not None and (f[103].status, f[103].max_age_hours) == ("fresh", 7.5)
    assert f[103].source == "schedule" and "backup-6h" in f[103].explanation
    assert f[104] is not None and f[104].status == "not_applicable"

    # Next runs: daily at 20:00 UTC today; the six-hourly job at 12:00 UTC.
    assert g[100].next_run == datetime(2025, 11, 26, 20, 0, tzinfo=UTC)
    assert g[101].next_run == datetime(2025, 11, 26, 20, 0, tzinfo=UTC)
    assert g[103].next_run == datetime(2025, 11, 26, 12, 0, tzinfo=UTC)
    assert g[104].next_run is None

    # Only the logs that could change a guest's evidence were read, newest first.
    assert _log_requests(sim) == [T6, T3, T2, T1, T5, T0]
    assert result.logs_fetched == 6
    assert result.tasks_seen == 10
    assert result.history_oldest == datetime(2025, 11, 23, 20, 0, 4, tzinfo=UTC)
    counts = sim.server.request_counts
    assert counts["/nodes/{node}/tasks"] == 2  # pve1, pve2: one page each; pve3 offline
    assert counts["/nodes/{node}/time"] == 2
    assert counts["/cluster/tasks"] == 1

    codes = sorted(
        (a.code, str(a.details.get("node", a.details.get("vmid")))) for a in result.anomalies
    )
    # backup-101 ("02:00" Paris = 01:00 UTC) never ran on pve1; daily and 6h runs matched.
    assert ("job_missed_run", "pve1") in codes
    missed = [a for a in result.anomalies if a.code == "job_missed_run"]
    assert [(a.details["job"], a.details["expected"]) for a in missed] == [
        ("backup-101", "2025-11-26T01:00:00+00:00")
    ]
    assert ("task_history_unavailable", "pve3") in codes
    assert not [a for a in result.anomalies if a.code == "task_unattributed"]


def test_wider_waves_read_at_most_one_wave_more(start_sim: Callable[[dict[str, Any]], Sim]) -> None:
    sim = start_sim(scenario())
    result = asyncio.run(run_evidence(sim, wave_size=16))
    fetched = _log_requests(sim)
    # One wave decides on what was known before it: the single-guest tasks whose guest is
    # already settled (T4, T5B) are still skipped; the older multi-guest tasks are read too.
    # (concurrent requests: the arrival order is not fixed)
    assert sorted(fetched) == sorted([T6, T3, T2, T1, T5, T0, T7, TM1])
    assert result.guests[101].last_success is not None
    assert result.guests[101].last_success.upid == T0


def test_cut_logs_are_paged_reported_and_leave_guests_undetermined(
    start_sim: Callable[[dict[str, Any]], Sim], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tasks_module, "LOG_PAGE", 4)  # pages of 4 lines: 4 + 2 for a cut log
    sim = start_sim(scenario())
    result = asyncio.run(run_evidence(sim, wave_size=1, log_limit=6))
    # T1 cut after 6 lines: VM 100 started but its end is beyond the cut; VM 101 not reached.
    l101 = result.guests[101].latest_backup
    assert l101 is not None and (l101.upid, l101.result, l101.error) == (
        T1,
        "undetermined",
        "task log cut",
    )
    cut = {str(a.details["upid"]) for a in result.anomalies if a.code == "task_log_truncated"}
    assert T1 in cut and T0 in cut and T6 not in cut  # T6 has only 4 lines
    pages = [q for _, p, q in sim.server.requests if p.endswith(f"{T1}/log")]
    assert pages == [{"start": "0", "limit": "4"}, {"start": "4", "limit": "2"}]


def test_guest_on_an_offline_node_has_unknown_freshness_not_no_success(
    start_sim: Callable[[dict[str, Any]], Sim],
) -> None:
    """Its node's tasks cannot be read: no success found is not "no success" (issue 11)."""
    data = scenario()
    data["guests"].append({"vmid": 105, "type": "qemu", "node": "pve3"})  # pve3 is offline
    result = asyncio.run(run_evidence(start_sim(data), wave_size=16))
    fresh = result.guests[105].freshness
    assert fresh is not None and fresh.status == "unknown"
    assert not [a for a in result.anomalies if a.details.get("vmid") == 105]

"""The cluster of the fault-injection suite: small, but every endpoint family is read.

NOW = 2025-11-26T07:00:00Z. Two online nodes (pve1 in Europe/Paris, pve2 in UTC), one PBS
(pbs1, host pbs.test, datastore store1, namespace prod). Worked out by hand:

- job backup-daily (all but 104, 21:00, pbs-main) and job backup-pool (pool prod = {103},
  saturdays 03:00, nfs-dump);
- task T1 on pve1 started 2025-11-25T20:00:05Z (21:00:05 Paris) backed up 100 and 101, task T2
  on pve2 at 2025-11-25T21:00:03Z backed up 102 and 103, all successfully, to PBS (the
  simulated PBS derives the snapshots from these logs);
- so 100, 101, 102, 103 are `covered` (103 also by the pool job), their last backup is a
  success of ~10 h ago (fresh), each has one snapshot on pbs1; 104 is `excluded`
  (by backup-daily, no opt-out tag): not covered, exit status 2 (CRITICAL) without faults.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

NOW = 1764140400  # 2025-11-26T07:00:00Z
PVE_SECRET = "11111111-2222-3333-4444-555555555555"
PBS_SECRET = "9f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"


def _ts(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


def _upid(node: str, pid: int, start: str) -> str:
    return f"UPID:{node}:{pid:08X}:0179E3A5:{_ts(start):08X}:vzdump::root@pam:"


T1 = _upid("pve1", 0x100, "2025-11-25T20:00:05+00:00")
T2 = _upid("pve2", 0x200, "2025-11-25T21:00:03+00:00")
HEADER = (
    "INFO: starting new backup job: vzdump --all 1 --exclude 104 --storage pbs-main"
    " --mode snapshot --quiet 1"
)


def _guest_lines(vmid: int, kind: str, local: str, utc: str, end: str) -> list[str]:
    prefix = "vm" if kind == "qemu" else "ct"
    return [
        f"INFO: Starting Backup of VM {vmid} ({kind})",
        f"INFO: Backup started at {local}",
        f"INFO: creating Proxmox Backup Server archive '{prefix}/{vmid}/{utc}'",
        f"INFO: Finished Backup of VM {vmid} (00:00:10)",
        f"INFO: Backup finished at {end}",
    ]


BASE: dict[str, Any] = {
    "now": NOW,
    "cluster": {"name": "faults", "version": "9.2.11", "repoid": "14a22df3a1b2c3d4"},
    "auth_failure_delay_s": 0,
    "token": {
        "id": "report@pve!audit",
        "secret": PVE_SECRET,
        "acl": [{"path": "/", "roles": ["PVEAuditor"], "propagate": True}],
    },
    "nodes": [
        {"node": "pve1", "status": "online", "timezone": "Europe/Paris"},
        {"node": "pve2", "status": "online", "timezone": "UTC"},
    ],
    "storages": [
        {
            "storage": "pbs-main",
            "type": "pbs",
            "server": "pbs.test",
            "datastore": "store1",
            "namespace": "prod",
            "username": "pve@pbs!a",
            "content": "backup",
            "shared": 1,
        },
        {
            "storage": "nfs-dump",
            "type": "nfs",
            "server": "nas",
            "export": "/dump",
            "path": "/mnt/pve/nfs-dump",
            "content": "backup",
        },
    ],
    "pools": [{"poolid": "prod", "members": [103]}],
    "guests": [
        {"vmid": 100, "type": "qemu", "node": "pve1", "name": "web01", "config": {"name": "web01"}},
        {
            "vmid": 101,
            "type": "lxc",
            "node": "pve1",
            "name": "dns01",
            "config": {"hostname": "dns01"},
        },
        {"vmid": 102, "type": "qemu", "node": "pve2", "name": "db01", "config": {"name": "db01"}},
        {"vmid": 103, "type": "qemu", "node": "pve2", "name": "app01", "config": {"name": "app01"}},
        {"vmid": 104, "type": "qemu", "node": "pve2", "name": "lab01", "config": {"name": "lab01"}},
    ],
    "jobs": [
        {
            "id": "backup-daily",
            "type": "vzdump",
            "enabled": 1,
            "schedule": "21:00",
            "storage": "pbs-main",
            "mode": "snapshot",
            "all": 1,
            "exclude": "104",
        },
        {
            "id": "backup-pool",
            "type": "vzdump",
            "enabled": 1,
            "schedule": "sat 03:00",
            "storage": "nfs-dump",
            "mode": "snapshot",
            "pool": "prod",
        },
    ],
    "tasks": [
        {
            "upid": T1,
            "status": "OK",
            "endtime": _ts("2025-11-25T20:00:26+00:00"),
            "log": [
                HEADER,
                "INFO: skip external VMs: 102, 103",
                *_guest_lines(
                    100,
                    "qemu",
                    "2025-11-25 21:00:06",
                    "2025-11-25T20:00:06Z",
                    "2025-11-25 21:00:16",
                ),
                *_guest_lines(
                    101,
                    "lxc",
                    "2025-11-25 21:00:16",
                    "2025-11-25T20:00:16Z",
                    "2025-11-25 21:00:26",
                ),
                "INFO: Backup job finished successfully",
                "TASK OK",
            ],
        },
        {
            "upid": T2,
            "status": "OK",
            "endtime": _ts("2025-11-25T21:00:24+00:00"),
            "log": [
                HEADER,
                "INFO: skip external VMs: 100, 101",
                *_guest_lines(
                    102,
                    "qemu",
                    "2025-11-25 21:00:04",
                    "2025-11-25T21:00:04Z",
                    "2025-11-25 21:00:14",
                ),
                *_guest_lines(
                    103,
                    "qemu",
                    "2025-11-25 21:00:14",
                    "2025-11-25T21:00:14Z",
                    "2025-11-25 21:00:24",
                ),
                "INFO: Backup job finished successfully",
                "TASK OK",
            ],
        },
    ],
    "pbs_servers": [
        {
            "name": "pbs1",
            "host": "pbs.test",
            "token": {
                "id": "report@pbs!audit",
                "secret": PBS_SECRET,
                "acl": [{"path": "/", "roles": ["Audit"]}],
            },
            "datastores": [
                {
                    "name": "store1",
                    "namespaces": ["prod"],
                    "gc": {"last_run_endtime": NOW - 86400},
                }
            ],
        }
    ],
}

EXPECTED_VERDICTS = {
    100: "covered",
    101: "covered",
    102: "covered",
    103: "covered",
    104: "excluded",
}
NOW_DT = datetime.fromtimestamp(NOW, UTC)


def scenario() -> dict[str, Any]:
    return copy.deepcopy(BASE)

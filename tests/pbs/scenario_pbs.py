"""A small cluster with one PBS; every expected value in tests/pbs is worked out from it by hand.

Times (UTC): NOW = 2025-11-26T07:00:00Z (1764140400).

PVE: guests 100 web01, 101 db01, 102 app01 (qemu) and 200 dns01 (lxc), all on pve1, all selected
by job backup-a (vmid list, storage pbs-a, 21:00). Storage pbs-a = server pbs.test, datastore
store1, namespace clusterA, user pve@pbs!a, no encryption, no prune-backups. The PBS snapshots
of pbs-a come from `storage_content` (the simulator derives them from it):

- vm/100: 2025-11-24T21:00:00Z (9 GiB) and 2025-11-25T21:00:00Z (10 GiB, verified ok by a task
  started 2025-11-25T22:00:00Z); notes web01;
- vm/101: 2025-11-25T21:01:00Z (20 GiB), notes "olddb" (not the guest's name: collision);
- ct/200: 2025-11-25T21:02:00Z (2 GiB), verification failed;
- vm/150: 2025-11-13T02:13:20Z (5 GiB), notes old-app: no such guest → orphan.
- 102 has nothing → pbs_no_snapshot.

PBS pbs1 (host pbs.test): datastore store1, 85 % used (used 850, avail 150 GiB units), flat
history (estimated-full-date 0 → unknown), GC last ended 2025-11-16T07:00:00Z (10 days ago →
outdated), namespaces clusterA and other; other holds vm/100 at 2025-11-24T16:00:00Z (1764000000).
No prune job, no verify job, verify-new off.
"""

from __future__ import annotations

import copy
from typing import Any

NOW = 1764140400
PBS_SECRET = "9f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
PVE_SECRET = "11111111-2222-3333-4444-555555555555"
GIB = 1 << 30
T100_OLD = 1764018000  # 2025-11-24T21:00:00Z
T100 = 1764104400  # 2025-11-25T21:00:00Z
T101 = 1764104460  # 2025-11-25T21:01:00Z
T200 = 1764104520  # 2025-11-25T21:02:00Z
T150 = 1763000000  # 2025-11-13T02:13:20Z
T_OTHER = 1764000000  # 2025-11-24T16:00:00Z
VERIFY_START = 1764108000  # 2025-11-25T22:00:00Z
VERIFY_UPID = "UPID:pbs1:000004D2:00012A3F:00000001:692626E0:verify:store1\\x3avm\\x2d100:root@pam:"


def _vol(
    kind: str, vmid: int, when: int, size: int, notes: str | None, **extra: Any
) -> dict[str, Any]:
    import datetime as dt

    stamp = dt.datetime.fromtimestamp(when, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    item: dict[str, Any] = {
        "volid": f"pbs-a:backup/{kind}/{vmid}/{stamp}",
        "content": "backup",
        "format": f"pbs-{kind}",
        "subtype": "qemu" if kind == "vm" else "lxc",
        "vmid": vmid,
        "ctime": when,
        "size": size,
    }
    if notes:
        item["notes"] = notes
    item.update(extra)
    return item


BASE: dict[str, Any] = {
    "now": NOW,
    "auth_failure_delay_s": 0,
    "token": {
        "id": "report@pve!audit",
        "secret": PVE_SECRET,
        "acl": [
            {"path": "/", "roles": ["PVEAuditor"]},
            {"path": "/storage", "roles": ["PVEDatastoreAdmin"]},
        ],
    },
    "nodes": [{"node": "pve1", "timezone": "UTC"}],
    "storages": [
        {
            "storage": "pbs-a",
            "type": "pbs",
            "server": "pbs.test",
            "datastore": "store1",
            "namespace": "clusterA",
            "username": "pve@pbs!a",
            "content": "backup",
        },
        {
            "storage": "pbs-b",
            "type": "pbs",
            "server": "10.9.9.9",
            "port": 8007,
            "datastore": "store1",
            "username": "pve@pbs!a",
            "content": "backup",
        },
    ],
    "guests": [
        {"vmid": 100, "type": "qemu", "node": "pve1", "name": "web01", "config": {"name": "web01"}},
        {"vmid": 101, "type": "qemu", "node": "pve1", "name": "db01", "config": {"name": "db01"}},
        {"vmid": 102, "type": "qemu", "node": "pve1", "name": "app01", "config": {"name": "app01"}},
        {
            "vmid": 200,
            "type": "lxc",
            "node": "pve1",
            "name": "dns01",
            "config": {"hostname": "dns01"},
        },
    ],
    "jobs": [
        {"id": "backup-a", "schedule": "21:00", "storage": "pbs-a", "vmid": "100,101,102,200"}
    ],
    "storage_content": {
        "pbs-a": [
            _vol("vm", 100, T100_OLD, 9 * GIB, "web01"),
            _vol(
                "vm",
                100,
                T100,
                10 * GIB,
                "web01",
                verification={"state": "ok", "upid": VERIFY_UPID},
            ),
            _vol("vm", 101, T101, 20 * GIB, "olddb"),
            _vol(
                "ct",
                200,
                T200,
                2 * GIB,
                "dns01",
                verification={"state": "failed", "upid": VERIFY_UPID},
            ),
            _vol("vm", 150, T150, 5 * GIB, "old-app"),
        ]
    },
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
                    "total": 1100 * GIB,
                    "used": 850 * GIB,
                    "avail": 150 * GIB,
                    "gc": {"last_run_endtime": NOW - 10 * 86400},
                    "namespaces": ["other"],
                    "snapshots": [
                        {
                            "ns": "other",
                            "type": "vm",
                            "id": "100",
                            "time": T_OTHER,
                            "size": 3 * GIB,
                            "comment": "web01",
                            "owner": "pve@pbs!b",
                        }
                    ],
                }
            ],
        }
    ],
}


def scenario(**changes: Any) -> dict[str, Any]:
    """A deep copy of BASE; keyword arguments replace top-level keys."""
    data = copy.deepcopy(BASE)
    data.update(changes)
    return data


def pbs_server(data: dict[str, Any]) -> dict[str, Any]:
    server: dict[str, Any] = data["pbs_servers"][0]
    return server

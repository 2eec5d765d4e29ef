"""A small hand-written cluster; every expected value in the tests is derived from it by hand.

Verdicts (worked out by hand from the jobs below):
- 100 web01 (pve1): backup-all01 (all except 9000,102 → pbs-main) → covered; scsi1 backup=0
- 101 dns01 (pve1, lxc): backup-all01 → covered; mp0 without backup=1
- 102 lab01 (pve2): excluded by backup-all01, tag no-backup → opted_out
- 103 db01 (pve2): backup-all01 → covered
- 104 cache01 (pve2, lxc): backup-all01 → covered (legacy job to disabled pbs-old too)
- 105 app01 (pve3, offline node): backup-all01 → covered (config unreadable)
- 9000 tmpl (pve2, template): excluded by backup-all01, selected by disabled backup-off
  → disabled_only
"""

from __future__ import annotations

import copy
from typing import Any

SECRET = "11111111-2222-3333-4444-555555555555"

BASE: dict[str, Any] = {
    "now": 1764140400,  # 2025-11-26T07:00:00Z
    "cluster": {"name": "small", "version": "9.2.11", "repoid": "14a22df3a1b2c3d4"},
    "auth_failure_delay_s": 0,
    "token": {
        "id": "report@pve!audit",
        "secret": SECRET,
        "acl": [{"path": "/", "roles": ["PVEAuditor"], "propagate": True}],
    },
    "nodes": [
        {"node": "pve1", "status": "online", "timezone": "Europe/Paris"},
        {"node": "pve2", "status": "online", "timezone": "UTC"},
        {"node": "pve3", "status": "offline", "timezone": "UTC"},
    ],
    "storages": [
        {
            "storage": "pbs-main",
            "type": "pbs",
            "server": "pbs01.example.com",
            "datastore": "store1",
            "namespace": "prod",
            "username": "backup@pbs!pve",
            "fingerprint": "3e:9a:00:c1",
            "content": "backup",
            "shared": 1,
            "prune-backups": "keep-daily=7,keep-weekly=4",
        },
        {
            "storage": "pbs-old",
            "type": "pbs",
            "server": "10.20.0.5",
            "port": 8007,
            "datastore": "old",
            "content": "backup",
            "shared": 1,
            "disable": 1,
        },
        {
            "storage": "nfs-dump",
            "type": "nfs",
            "server": "nas",
            "export": "/dump",
            "path": "/mnt/pve/nfs-dump",
            "content": "backup",
        },
        {"storage": "local", "type": "dir", "path": "/var/lib/vz", "content": "iso,vztmpl,backup"},
    ],
    "pools": [
        {"poolid": "prod", "comment": "production", "members": [100, 101]},
        {"poolid": "lab", "members": [102]},
    ],
    "guests": [
        {
            "vmid": 100,
            "type": "qemu",
            "node": "pve1",
            "name": "web01",
            "tags": "prod;web",
            "config": {
                "name": "web01",
                "description": "Owner: team-a\nBackup policy: nightly",
                "scsi0": "local-zfs:vm-100-disk-0,size=32G",
                "scsi1": "local-zfs:vm-100-disk-2,backup=0,size=50G",
            },
        },
        {
            "vmid": 101,
            "type": "lxc",
            "node": "pve1",
            "name": "dns01",
            "config": {
                "hostname": "dns01",
                "rootfs": "local-zfs:subvol-101-disk-0,size=8G",
                "mp0": "local-zfs:subvol-101-disk-1,mp=/data,size=10G",
            },
        },
        {
            "vmid": 102,
            "type": "qemu",
            "node": "pve2",
            "name": "lab01",
            "tags": "no-backup",
            "config": {
                "name": "lab01",
                "description": "Scratch VM, rebuilt from Ansible",
                "scsi0": "local-zfs:vm-102-disk-0,size=16G",
            },
        },
        {
            "vmid": 103,
            "type": "qemu",
            "node": "pve2",
            "name": "db01",
            "config": {"name": "db01", "scsi0": "ceph:vm-103-disk-0,size=100G"},
        },
        {
            "vmid": 104,
            "type": "lxc",
            "node": "pve2",
            "name": "cache01",
            "config": {"hostname": "cache01", "rootfs": "local:104/vm-104-disk-0.raw,size=4G"},
        },
        {
            "vmid": 105,
            "type": "qemu",
            "node": "pve3",
            "name": "app01",
            "config": {"name": "app01", "scsi0": "ceph:vm-105-disk-0,size=20G"},
        },
        {
            "vmid": 9000,
            "type": "qemu",
            "node": "pve2",
            "name": "tmpl-debian12",
            "template": 1,
            "status": "stopped",
            "config": {"name": "tmpl-debian12", "template": 1, "scsi0": "ceph:base-9000-disk-0"},
        },
    ],
    "legacy_jobs": [
        {
            "id": "a1b2c3d4e5:1",
            "enabled": "",
            "schedule": "sun 04:00",
            "storage": "pbs-old",
            "vmid": "104",
            "mode": "snapshot",
        },
    ],
    "jobs": [
        {
            "id": "backup-all01",
            "type": "vzdump",
            "enabled": 1,
            "schedule": "21:00",
            "storage": "pbs-main",
            "mode": "snapshot",
            "all": 1,
            "exclude": "9000,102",
        },
        {
            "id": "backup-pool01",
            "type": "vzdump",
            "enabled": 1,
            "schedule": "sat 03:00",
            "storage": "nfs-dump",
            "mode": "snapshot",
            "pool": "prod",
        },
        {
            "id": "backup-ghost",
            "type": "vzdump",
            "enabled": 1,
            "schedule": "02:00",
            "storage": "pbs-main",
            "pool": "gone",
        },
        {
            "id": "backup-node2",
            "type": "vzdump",
            "enabled": 1,
            "schedule": "22:00",
            "storage": "pbs-main",
            "vmid": "100;150",
            "node": "pve2",
        },
        {
            "id": "backup-off",
            "type": "vzdump",
            "enabled": 0,
            "schedule": "23:00",
            "storage": "pbs-main",
            "vmid": "9000",
        },
    ],
    "tasks": [
        {
            "upid": "UPID:pve1:000A1B2C:0179E3A5:69262330:vzdump::root@pam:",
            "status": "OK",
            "endtime": 1764107100,
            "log": [
                "INFO: starting new backup job: vzdump --all 1 --exclude 9000,102 "
                "--storage pbs-main --mode snapshot --quiet 1",
                "INFO: Backup job finished successfully",
                "TASK OK",
            ],
        },
    ],
}

EXPECTED_VERDICTS = {
    100: "covered",
    101: "covered",
    102: "opted_out",
    103: "covered",
    104: "covered",
    105: "covered",
    9000: "disabled_only",
}


def scenario(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    data.update(changes)
    return data

"""Tiny builders for hand-written inventories (analysis tests need no HTTP)."""

from __future__ import annotations

from typing import Any

from pve_backup_report.collect.jobs import normalize_job
from pve_backup_report.model import (
    BackupJob,
    Guest,
    Inventory,
    Node,
    Pool,
    PoolMembership,
    Storage,
)

STORAGES = (
    Storage("pbs-main", "pbs", True, ("backup",), server="pbs1", datastore="store1"),
    Storage("pbs-off", "pbs", False, ("backup",), server="pbs2", datastore="store2"),
    Storage("nfs", "nfs", True, ("backup",)),
    Storage("pbs-pve2", "pbs", True, ("backup",), nodes=("pve2",), datastore="s3"),
)


def guest(vmid: int, node: str = "pve1", **kw: Any) -> Guest:
    kw.setdefault("type", "qemu")
    kw.setdefault("name", f"g{vmid}")
    return Guest(vmid=vmid, node=node, **kw)


def job(job_id: str, **raw: Any) -> BackupJob:
    raw.setdefault("type", "vzdump")
    raw.setdefault("enabled", 1)
    raw.setdefault("schedule", "21:00")
    raw.setdefault("storage", "pbs-main")
    result = normalize_job({"id": job_id, **raw})
    assert result is not None
    return result


def legacy_job(job_id: str, **raw: Any) -> BackupJob:
    raw.setdefault("schedule", "21:00")
    raw.setdefault("storage", "pbs-main")
    result = normalize_job({"id": job_id, **raw})
    assert result is not None
    return result


def inventory(
    guests: list[Guest],
    jobs: list[BackupJob],
    memberships: dict[str, PoolMembership] | None = None,
    storages: tuple[Storage, ...] = STORAGES,
    nodes: tuple[str, ...] = ("pve1", "pve2"),
    not_backed_up: tuple[int, ...] | None = None,
) -> Inventory:
    memberships = memberships or {}
    return Inventory(
        api_url="https://test:8006/api2/json",
        cluster_name="test",
        version=None,
        nodes=tuple(Node(n, "online") for n in nodes),
        storages=storages,
        guests=tuple(guests),
        pools=tuple(Pool(p) for p, m in memberships.items() if m.state == "ok"),
        pool_memberships=memberships,
        jobs=tuple(jobs),
        anomalies=(),
        not_backed_up=not_backed_up,
    )

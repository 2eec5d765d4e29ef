"""Job configuration checks: every job problem becomes an anomaly with a stable code."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ..model import Anomaly, Inventory, JSONScalar, Severity
from .selection import JobSelection

if TYPE_CHECKING:
    from .coverage import JobRef


def _anomaly(severity: Severity, code: str, message: str, **details: JSONScalar) -> Anomaly:
    return Anomaly(severity, "jobs", code, message, dict(details))


def _ids(values: tuple[int, ...] | list[int], limit: int = 20) -> str:
    text = ", ".join(map(str, values[:limit]))
    return text + (f" (+{len(values) - limit} more)" if len(values) > limit else "")


def check_jobs(
    inventory: Inventory,
    selections: Mapping[str, JobSelection],
    refs_by_vmid: Mapping[int, tuple[JobRef, ...]],
) -> list[Anomaly]:
    out: list[Anomaly] = []
    storages = {s.storage_id: s for s in inventory.storages}
    node_names = {n.name for n in inventory.nodes}
    guest_nodes = {g.node for g in inventory.guests}
    for job in inventory.jobs or ():
        jid = job.job_id
        sel = selections[jid]
        if not job.enabled:
            out.append(
                _anomaly(
                    Severity.WARNING,
                    "job_disabled",
                    f"Job {jid} is disabled: it backs up nothing "
                    f"({len(sel.selected)} guest(s) selected)",
                    job=jid,
                    guests=len(sel.selected),
                )
            )
        if job.schedule is None:
            out.append(
                _anomaly(
                    Severity.WARNING,
                    "job_without_schedule",
                    f"Job {jid} has no schedule: it never runs by itself",
                    job=jid,
                )
            )
        if job.storage is None:
            out.append(
                _anomaly(
                    Severity.WARNING,
                    "job_storage_unspecified",
                    f"Job {jid} sets no storage: vzdump uses the node's default "
                    "(/etc/vzdump.conf or 'local')",
                    job=jid,
                )
            )
        else:
            storage = storages.get(job.storage)
            if storage is None and "storages" in inventory.unreadable:
                pass  # unknown, not missing: the storage_unavailable anomaly says why
            elif storage is None:
                out.append(
                    _anomaly(
                        Severity.CRITICAL,
                        "job_storage_unknown",
                        f"Job {jid} targets storage '{job.storage}', which does not "
                        "exist (or is hidden from this token)",
                        job=jid,
                        storage=job.storage,
                    )
                )
            elif not storage.active:
                out.append(
                    _anomaly(
                        Severity.CRITICAL if job.enabled else Severity.WARNING,
                        "job_storage_disabled",
                        f"Job {jid} targets storage '{job.storage}', which is disabled",
                        job=jid,
                        storage=job.storage,
                    )
                )
            elif not storage.is_pbs:
                out.append(
                    _anomaly(
                        Severity.INFO,
                        "job_target_not_pbs",
                        f"Job {jid} targets '{job.storage}' of type {storage.type}, "
                        "not a Proxmox Backup Server",
                        job=jid,
                        storage=job.storage,
                        storage_type=storage.type,
                    )
                )
        if job.node is not None:
            if node_names and job.node not in node_names and "nodes" not in inventory.unreadable:
                out.append(
                    _anomaly(
                        Severity.CRITICAL,
                        "job_node_unknown",
                        f"Job {jid} is restricted to node '{job.node}', which is not "
                        "a cluster node: it never runs",
                        job=jid,
                        node=job.node,
                    )
                )
            elif job.node not in guest_nodes or (
                sel.known and not sel.selected and sel.dropped_by_node
            ):
                out.append(
                    _anomaly(
                        Severity.WARNING,
                        "job_node_without_guests",
                        f"Job {jid} is restricted to node {job.node}, where none of its guests run",
                        job=jid,
                        node=job.node,
                        dropped=_ids(sel.dropped_by_node),
                    )
                )
        out.extend(_selection_anomalies(inventory, jid, sel))
    out.extend(_duplicates(refs_by_vmid))
    return out


def _selection_anomalies(inventory: Inventory, jid: str, sel: JobSelection) -> list[Anomaly]:
    out: list[Anomaly] = []
    job = next(j for j in inventory.jobs or () if j.job_id == jid)
    if sel.state == "pool_missing":
        out.append(
            _anomaly(
                Severity.CRITICAL,
                "job_pool_missing",
                f"Job {jid} selects pool '{job.selection.pool}', which does not "
                "exist: Proxmox fails this job at every run",
                job=jid,
                pool=job.selection.pool,
            )
        )
    elif sel.state == "pool_unknown":
        out.append(
            _anomaly(
                Severity.WARNING,
                "job_pool_unknown",
                f"Job {jid}: the members of pool '{job.selection.pool}' could not be "
                "read; guests it may select are indeterminate",
                job=jid,
                pool=job.selection.pool,
            )
        )
    elif sel.state == "invalid":
        out.append(
            _anomaly(
                Severity.CRITICAL,
                "job_selection_invalid",
                f"Job {jid} lists values that are not VMIDs "
                f"({', '.join(job.selection.invalid[:5])}): Proxmox rejects the "
                "whole job at run time",
                job=jid,
                invalid_values=", ".join(job.selection.invalid[:5]),
            )
        )
    elif sel.state == "empty" and not (job.node and sel.dropped_by_node):
        out.append(
            _anomaly(
                Severity.WARNING,
                "job_selects_nothing",
                f"Job {jid} selects no existing guest",
                job=jid,
            )
        )
    if sel.unknown_vmids:
        out.append(
            _anomaly(
                Severity.WARNING,
                "job_unknown_vmids",
                f"Job {jid} lists VMID(s) that do not exist: {_ids(sel.unknown_vmids)};"
                " the job fails for them on every node that runs it",
                job=jid,
                vmids=_ids(sel.unknown_vmids),
            )
        )
    return out


def _duplicates(refs_by_vmid: Mapping[int, tuple[JobRef, ...]]) -> list[Anomaly]:
    """Two enabled jobs backing up one guest to one storage on one schedule."""
    pairs: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for vmid, refs in refs_by_vmid.items():
        groups: dict[tuple[str | None, str | None], list[str]] = defaultdict(list)
        for ref in refs:
            if ref.enabled and ref.effective:
                groups[(ref.storage, _norm_schedule(ref.schedule))].append(ref.job_id)
        for job_ids in groups.values():
            if len(job_ids) > 1:
                pairs[tuple(sorted(job_ids))].append(vmid)
    return [
        _anomaly(
            Severity.WARNING,
            "job_duplicate_backup",
            f"Jobs {' and '.join(ids)} back up the same guest(s) to the same storage on the "
            f"same schedule: {_ids(vmids)}",
            jobs=",".join(ids),
            vmids=_ids(vmids),
        )
        for ids, vmids in sorted(pairs.items())
    ]


def _norm_schedule(schedule: str | None) -> str | None:
    return " ".join(schedule.split()).lower() if schedule else None

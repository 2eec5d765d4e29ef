"""Which guests a backup job selects — Proxmox's own rules (pve-api.md §2).

Precedence: pool (direct members, `exclude` ignored) > vmid list > all minus exclude; then the
job's `node` keeps only guests *currently* on that node. Templates are included. A listed VMID
that does not exist is kept aside (PVE fails the job for it on every node that runs the job).
A pool that does not exist makes PVE fail the whole job; a pool whose members we could not
read, or a selection PVE would reject, leaves the selection *unknown* — never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from ..model import BackupJob, Guest, PoolMembership

SelectionState = Literal["ok", "pool_missing", "pool_unknown", "invalid", "empty"]


@dataclass(frozen=True)
class JobSelection:
    job_id: str
    state: SelectionState
    selected: tuple[int, ...] = ()  # existing guests the job backs up (after node filter)
    unknown_vmids: tuple[int, ...] = ()  # listed ids that do not exist
    dropped_by_node: tuple[int, ...] = ()  # would be selected, but run on another node
    excluded: tuple[int, ...] = ()  # existing guests removed by an `all` job's exclude
    candidates: tuple[int, ...] = ()  # when unknown: every guest the job might select

    @property
    def known(self) -> bool:
        return self.state in ("ok", "empty")


def _node_filter(
    job: BackupJob, ids: list[int], guests: Mapping[int, Guest]
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    selected: list[int] = []
    dropped: list[int] = []
    unknown: list[int] = []
    for vmid in sorted(set(ids)):
        guest = guests.get(vmid)
        if guest is None:
            unknown.append(vmid)
        elif job.node is not None and guest.node != job.node:
            dropped.append(vmid)
        else:
            selected.append(vmid)
    return tuple(selected), tuple(dropped), tuple(unknown)


def select_guests(
    job: BackupJob,
    guests: Mapping[int, Guest],
    memberships: Mapping[str, PoolMembership],
) -> JobSelection:
    sel = job.selection
    if sel.invalid:
        return JobSelection(job.job_id, "invalid", candidates=_might(job, guests))
    if sel.mode == "pool":
        assert sel.pool is not None
        membership = memberships.get(sel.pool)
        if membership is None or membership.state == "unknown":
            return JobSelection(job.job_id, "pool_unknown", candidates=_might(job, guests))
        if membership.state == "missing":
            return JobSelection(job.job_id, "pool_missing")
        members = [m for m in membership.members if m in guests]
        selected, dropped, _ = _node_filter(job, members, guests)
        return _done(job.job_id, selected, dropped, (), ())
    if sel.mode == "vmid":
        selected, dropped, unknown = _node_filter(job, list(sel.vmids), guests)
        return _done(job.job_id, selected, dropped, unknown, ())
    if sel.mode == "all":
        excluded = tuple(sorted(v for v in sel.exclude if v in guests))
        skip = set(sel.exclude)  # built once: per guest it made `all` jobs quadratic
        ids = [v for v in guests if v not in skip]
        selected, dropped, _ = _node_filter(job, ids, guests)
        return _done(job.job_id, selected, dropped, (), excluded)
    return JobSelection(job.job_id, "empty")


def _done(
    job_id: str,
    selected: tuple[int, ...],
    dropped: tuple[int, ...],
    unknown: tuple[int, ...],
    excluded: tuple[int, ...],
) -> JobSelection:
    state: SelectionState = "ok" if selected else "empty"
    return JobSelection(job_id, state, selected, unknown, dropped, excluded)


def _might(job: BackupJob, guests: Mapping[int, Guest]) -> tuple[int, ...]:
    """Every guest an uninterpretable job could select: all of them, on its node if any."""
    return tuple(sorted(v for v, g in guests.items() if job.node is None or g.node == job.node))

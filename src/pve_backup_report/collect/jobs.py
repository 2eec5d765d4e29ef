"""Backup jobs from `/cluster/backup` (legacy vzdump.cron jobs and jobs.cfg jobs alike).

The selection is normalized with PVE's precedence (pool > vmid > all) so analysis never has
to look at option names again; odd values are reported, never guessed away.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..model import BackupJob, Selection, Severity
from .base import Collector
from .parse import as_bool, as_int, as_str, parse_property_string, split_vmids


def normalize_selection(item: dict[str, Any]) -> Selection:
    """pool first (exclude ignored), then the vmid list, then all minus exclude."""
    pool = as_str(item.get("pool"))
    if pool:
        return Selection(mode="pool", pool=pool.strip())
    vmid_raw = item.get("vmid")
    if as_str(vmid_raw) is not None or (isinstance(vmid_raw, list) and vmid_raw):
        ids, invalid = split_vmids(vmid_raw)
        return Selection(mode="vmid", vmids=ids, invalid=invalid)
    exclude, invalid = split_vmids(item.get("exclude"))
    # Saving a job with `exclude` forces all=1 (pve-api.md §1); accept either signal.
    if as_bool(item.get("all"), False) or as_str(item.get("exclude")) is not None:
        return Selection(mode="all", exclude=exclude, invalid=invalid)
    return Selection(mode="none")


def normalize_job(item: dict[str, Any]) -> BackupJob | None:
    job_id = as_str(item.get("id"))
    if job_id is None:
        return None
    legacy = "type" not in item or (":" in job_id and item.get("type") in (None, ""))
    next_run_epoch = as_int(item.get("next-run"))
    return BackupJob(
        job_id=job_id,
        # jobs.cfg defaults a missing `enabled` to 1; legacy jobs say 1 or "" (disabled).
        enabled=bool(as_bool(item.get("enabled"), True)),
        legacy=legacy,
        selection=normalize_selection(item),
        schedule=as_str(item.get("schedule")),
        storage=as_str(item.get("storage")),
        mode=as_str(item.get("mode")) or "snapshot",
        node=as_str(item.get("node")),
        comment=as_str(item.get("comment")),
        notes_template=as_str(item.get("notes-template")),
        next_run=datetime.fromtimestamp(next_run_epoch, UTC) if next_run_epoch else None,
        retention=parse_property_string(item.get("prune-backups")),
        repeat_missed=bool(as_bool(item.get("repeat-missed"), False)),
        protected=bool(as_bool(item.get("protected"), False)),
    )


async def collect_jobs(col: Collector, endpoint: str) -> tuple[BackupJob, ...] | None:
    response = await col.fetch(
        endpoint,
        component="jobs",
        code="jobs_unavailable",
        what="Cannot list backup jobs",
        severity=Severity.CRITICAL,
        expect="list",
    )
    if response is None:
        return None
    jobs: list[BackupJob] = []
    for item in col.expect_list(response, "jobs", endpoint):
        job = normalize_job(item)
        if job is None:
            col.add(
                Severity.WARNING,
                "jobs",
                "job_without_id",
                "A backup job entry has no id and was ignored",
                endpoint=endpoint,
            )
            continue
        if job.selection.invalid:
            col.add(
                Severity.WARNING,
                "jobs",
                "job_selection_invalid",
                f"Job {job.job_id} lists values that are not VMIDs: "
                + ", ".join(job.selection.invalid[:10]),
                job=job.job_id,
                values=", ".join(job.selection.invalid[:10]),
            )
        jobs.append(job)
    return tuple(jobs)


async def collect_not_backed_up(col: Collector) -> tuple[int, ...] | None:
    """Proxmox's own list of guests in no job, for the cross-check (None: not readable)."""
    path = "/cluster/backup-info/not-backed-up"
    response = await col.fetch(
        path,
        component="coverage",
        code="pve_not_backed_up_unavailable",
        what="Proxmox's not-backed-up list is unavailable, no cross-check",
        severity=Severity.INFO,
        expect="list",
    )
    if response is None:
        return None
    ids = {as_int(item.get("vmid")) for item in col.expect_list(response, "coverage", path)}
    return tuple(sorted(i for i in ids if i is not None))

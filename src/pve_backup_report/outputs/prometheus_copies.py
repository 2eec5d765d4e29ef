"""Prometheus series for off-site copies (3-2-1), kept apart from the main exposition.

Why a separate module: the series depend only on the report model's copies (per guest) and
sync jobs (per server and job), so the exposition writer only has to add them. Points in time
are Unix timestamps; a sync job that never ran has no `last_run_success` sample (unknown is
not failure). Labels: `cluster` and `vmid` for guests, `cluster`, `server` and `job` for jobs.
"""

from __future__ import annotations

from ..report.model import Report

Sample = tuple[tuple[tuple[str, str], ...], float]
VERDICTS = ("copies_ok", "single_copy", "offsite_stale", "offsite_unknown")


def copies_metrics(report: Report, cluster: str) -> list[tuple[str, str, list[Sample]]]:
    """(name without prefix, help, samples) for each family; empty without copy data."""
    if report.copies is None:
        return []
    copies: list[Sample] = []
    state: list[Sample] = []
    offsite: list[Sample] = []
    for g in report.guests:
        c = g.copies
        if c is None:
            continue
        ids = (("cluster", cluster), ("vmid", str(g.vmid)))
        copies.append((ids, c.locations))
        for verdict in VERDICTS:
            state.append(((*ids, ("verdict", verdict)), float(c.verdict == verdict)))
        if c.offsite_latest is not None:
            offsite.append((ids, c.offsite_latest.timestamp()))
    success: list[Sample] = []
    ended: list[Sample] = []
    for job in report.copies.jobs:
        where = (("cluster", cluster), ("server", job.server), ("job", job.job_id))
        if job.state in ("ok", "failed"):
            success.append((where, float(job.state == "ok")))
        if job.last_run_end is not None:
            ended.append((where, job.last_run_end.timestamp()))
    return [
        ("guest_copies", "Distinct locations holding a snapshot of the guest.", copies),
        ("guest_copies_verdict", "Copy policy verdict of the guest (state set).", state),
        (
            "guest_offsite_last_copy_timestamp_seconds",
            "Time of the newest snapshot of the guest on another server than its primary.",
            offsite,
        ),
        ("sync_job_last_run_success", "1 if the sync job's last run succeeded, 0 if it failed.",
         success),
        ("sync_job_last_run_timestamp_seconds", "When the sync job's last run ended.", ended),
    ]  # fmt: skip

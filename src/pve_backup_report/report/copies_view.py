"""The "Off-site copies" part of the report model, built from the copy analysis.

Why separate from build.py: one function turns `CopiesResult` into report rows and counts
(KPI "guests with an off-site copy", verdict counts, the guests without a second copy), so
every renderer shows the same numbers.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from ..analysis.copies import CopiesResult, SyncJobView
from .model import CopiesSection, Report, SyncJobRow, SyncState

VERDICTS = ("copies_ok", "offsite_stale", "offsite_unknown", "single_copy")


def sync_state(view: SyncJobView) -> SyncState:
    job = view.job
    if job.last_run_ok is True:
        return "ok"
    if job.last_run_ok is False:
        return "failed"
    return "running" if job.last_run_upid else "never"


def _row(view: SyncJobView) -> SyncJobRow:
    job = view.job
    return SyncJobRow(
        server=job.server,
        job_id=job.job_id,
        direction=job.direction,
        source=view.source,
        target=view.target,
        resolved=view.resolved,
        schedule=job.schedule,
        state=sync_state(view),
        last_run_state=job.last_run_state,
        last_run_end=job.last_run_end,
        next_run=job.next_run,
        group_filter=job.group_filter,
        max_depth=job.max_depth,
        guests=view.guests,
        excluded=view.excluded,
        comment=job.comment,
        recent_runs=job.recent_runs,
        recent_failures=job.recent_failures,
        last_success_end=job.last_success_end,
    )


def copies_section(result: CopiesResult | None) -> CopiesSection | None:
    if result is None:
        return None
    guests = result.guests
    counts: Counter[str] = Counter(str(g.verdict) for g in guests.values())
    with_offsite = sum(
        1 for g in guests.values() if any(c.offsite and c.known and c.snapshots for c in g.copies)
    )
    return CopiesSection(
        complete=result.complete,
        jobs=tuple(_row(v) for v in result.jobs),
        guests_judged=len(guests),
        guests_with_offsite=with_offsite,
        verdicts={v: counts.get(v, 0) for v in VERDICTS},
        without_second_copy=tuple(v for v, g in sorted(guests.items()) if g.verdict != "copies_ok"),
    )


def with_copies(report: Report, result: CopiesResult | None) -> Report:
    """The report with each guest's copies and the "Off-site copies" section."""
    if result is None or report.unknown_cause is not None:
        return report  # the cluster could not be read: no count may reassure
    guests = tuple(replace(g, copies=result.guests.get(g.vmid)) for g in report.guests)
    return replace(report, guests=guests, copies=copies_section(result))

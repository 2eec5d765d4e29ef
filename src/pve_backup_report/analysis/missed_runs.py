"""Missed runs: a job whose last expected run left no task on a node where it should run.

Why: a job that silently does not run (pool deleted after the job was saved, scheduler stopped,
node clock wrong) produces *no task at all*, so the per-guest evidence alone only shows a guest
growing stale. Comparing each enabled job's schedule with the task history names the job.

Which nodes should show a task (pve-api.md §2, "Run-time behaviour per node"): every node runs
every job (or only ``node`` when set). A non-``all`` job creates a task only on a node where it
has a local guest, or on every node when its vmid list names a guest that does not exist; an
``all`` job without ``node`` creates one on every node, even with no local guest. Offline nodes
and nodes whose task history could not be read are not judged.

**Matching heuristic** (no API links a task to its job): for the job's last scheduled time ``s``
before ``now - tolerance`` (default 30 min, in the node's time zone, or UTC for ``... UTC``
schedules), a vzdump task of that node matches when its UPID start lies in
``[s, s + 15 min]`` (pvescheduler forks the worker within the minute; waiting for the global
vzdump lock happens *inside* the task, after its start) and, when its log was read, its
``starting new backup job`` header does not contradict the job (storage, mode, node, and the
selection: pool, vmid list, or ``--all`` with the same excludes). Matching is one task per
(job, node, time): header-confirmed tasks are assigned first, then tasks whose log was not read.
A run older than what the history shows (``since`` window, or a history cut by the task limit)
is not judged. Limits: a job created after ``s`` is reported once (its creation time is not
in the API), and two identical jobs firing together can hide each other's missing task.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from ..model import Anomaly, BackupJob, Severity
from .calendar import CalendarError, CalendarEvent, next_event, parse_schedule
from .selection import JobSelection
from .tasklog import JobHeader

if TYPE_CHECKING:
    from .coverage import CoverageResult
    from .evidence import VzdumpTask

MATCH_WINDOW = timedelta(minutes=15)
DEFAULT_TOLERANCE = timedelta(minutes=30)
_LOOKBACKS = tuple(timedelta(hours=h) for h in (1, 24, 8 * 24, 32 * 24, 367 * 24, 5 * 366 * 24))
_MAX_STEPS = 5000


@lru_cache(maxsize=512)
def schedule_event(text: str | None) -> CalendarEvent | None:
    """The parsed schedule, or None when missing or invalid (reported elsewhere)."""
    if text is None:
        return None
    try:
        return parse_schedule(text)
    except CalendarError:
        return None


def scheduled_near(
    job: BackupJob, when: datetime, tz: ZoneInfo | None, window: timedelta = MATCH_WINDOW
) -> bool:
    """True when the job's schedule fired in ``[when - window, when]``."""
    event = schedule_event(job.schedule)
    if event is None:
        return False
    found = next_event(event, when - window - timedelta(seconds=1), tz)
    return found is not None and found <= when


def last_run_before(event: CalendarEvent, tz: ZoneInfo | None, limit: datetime) -> datetime | None:
    """The latest scheduled time at or before ``limit`` (searched up to five years back)."""
    for lookback in _LOOKBACKS:
        cursor = limit - lookback
        last: datetime | None = None
        for _ in range(_MAX_STEPS):
            found = next_event(event, cursor, tz)
            if found is None or found > limit:
                break
            last = cursor = found
        if last is not None:
            return last
    return None


def header_matches_job(header: JobHeader | None, job: BackupJob) -> bool | None:
    """False when the header contradicts the job, True when it agrees, None without header."""
    if header is None:
        return None
    pairs = ((header.storage, job.storage), (header.mode, job.mode), (header.node, job.node))
    if any(h is not None and j is not None and h != j for h, j in pairs):
        return False
    sel = job.selection
    if sel.mode == "pool":
        return header.pool == sel.pool
    if sel.mode == "vmid":
        return header.pool is None and set(header.vmids) == set(sel.vmids)
    if sel.mode == "all":
        return header.all and header.pool is None and set(header.exclude) == set(sel.exclude)
    return False


def job_creates_task_on(
    job: BackupJob, sel: JobSelection, node: str, guest_node: Mapping[int, str]
) -> bool:
    """Does PVE create a task for this job on ``node`` (pve-api.md §2)?"""
    if job.node is not None and job.node != node:
        return False
    if sel.unknown_vmids or any(guest_node.get(v) == node for v in sel.selected):
        return True
    return job.selection.mode == "all" and job.node is None


class JobRunIndex:
    """Which enabled jobs may have produced a task: the job runs on the task's node and one of
    its scheduled times lies in ``[start - 15 min, start]``. Run times are listed once per
    (job, time zone) over the inspected period; a job firing more than `_MAX_STEPS` times in
    it is taken to match every task (it cannot tell tasks apart)."""

    def __init__(
        self,
        jobs: Sequence[BackupJob],
        selections: Mapping[str, JobSelection],
        guest_node: Mapping[int, str],
        nodes: Sequence[str],
        timezones: Mapping[str, ZoneInfo],
        start: datetime,
        end: datetime,
    ) -> None:
        self._by_node: dict[str, list[tuple[BackupJob, list[int] | None]]] = {}
        runs: dict[tuple[str, str], list[int] | None] = {}
        for job in jobs:
            sel = selections.get(job.job_id)
            event = schedule_event(job.schedule)
            if not job.enabled or sel is None or event is None:
                continue
            for node in nodes:
                if not job_creates_task_on(job, sel, node, guest_node):
                    continue
                tz = timezones.get(node)
                key = (job.job_id, str(tz))
                if key not in runs:
                    runs[key] = _run_epochs(event, tz, start - MATCH_WINDOW, end)
                self._by_node.setdefault(node, []).append((job, runs[key]))

    def jobs_for(self, node: str, started: int) -> list[BackupJob]:
        window = int(MATCH_WINDOW.total_seconds())
        found = []
        for job, epochs in self._by_node.get(node, ()):
            if epochs is None or bisect_right(epochs, started) > bisect_left(
                epochs, started - window
            ):
                found.append(job)
        return found


def _run_epochs(
    event: CalendarEvent, tz: ZoneInfo | None, start: datetime, end: datetime
) -> list[int] | None:
    out: list[int] = []
    cursor = start
    for _ in range(_MAX_STEPS):
        found = next_event(event, cursor, tz)
        if found is None or found > end:
            return out
        out.append(int(found.timestamp()))
        cursor = found
    return None


def find_missed_runs(
    jobs: Sequence[BackupJob],
    coverage: CoverageResult,
    guest_node: Mapping[int, str],
    tasks: Sequence[VzdumpTask],
    headers: Mapping[str, JobHeader | None],
    judged_from: Mapping[str, datetime | None],
    timezones: Mapping[str, ZoneInfo],
    now: datetime,
    tolerance: timedelta = DEFAULT_TOLERANCE,
) -> list[Anomaly]:
    """``job_missed_run`` anomalies. ``judged_from`` maps each node whose history was read to
    the oldest time it can vouch for (None = everything PVE still lists)."""
    slots: list[tuple[BackupJob, str, datetime]] = []
    for job in jobs:
        event = schedule_event(job.schedule)
        sel = coverage.selections.get(job.job_id)
        if not job.enabled or event is None or sel is None or sel.state not in ("ok", "empty"):
            continue
        for node, oldest in judged_from.items():
            if not job_creates_task_on(job, sel, node, guest_node):
                continue
            expected = last_run_before(event, timezones.get(node), now - tolerance)
            if expected is not None and (oldest is None or expected >= oldest):
                slots.append((job, node, expected))
    by_node: dict[str, list[tuple[int, VzdumpTask]]] = {}
    for task in tasks:
        by_node.setdefault(task.node, []).append((task.upid.starttime, task))
    for items in by_node.values():
        items.sort(key=lambda item: item[0])
    used: set[str] = set()
    matched: set[int] = set()
    window = int(MATCH_WINDOW.total_seconds())
    for wanted in (True, None):
        for index, (job, node, expected) in enumerate(slots):
            if index in matched:
                continue
            items = by_node.get(node, [])
            first = int(expected.timestamp())
            lo = bisect_left(items, first, key=lambda item: item[0])
            hi = bisect_right(items, first + window, key=lambda item: item[0])
            for _, task in items[lo:hi]:
                if task.upid.raw in used:
                    continue
                if header_matches_job(headers.get(task.upid.raw), job) is wanted:
                    used.add(task.upid.raw)
                    matched.add(index)
                    break
    return [
        Anomaly(
            Severity.WARNING,
            "jobs",
            "job_missed_run",
            f"Backup job {job.job_id} should have run on {node} at "
            f"{_show(expected, timezones.get(node))} (schedule '{job.schedule}'), "
            "but no backup task started then",
            {
                "job": job.job_id,
                "node": node,
                "expected": expected.isoformat(),
                "schedule": job.schedule,
            },
        )
        for index, (job, node, expected) in enumerate(slots)
        if index not in matched
    ]


def _show(value: datetime, tz: ZoneInfo | None) -> str:
    return value.astimezone(tz).isoformat() if tz is not None else value.isoformat()

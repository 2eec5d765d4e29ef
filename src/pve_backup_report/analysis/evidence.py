"""What actually happened to each guest: per-task attempts, then per-guest evidence.

Why: coverage says a guest *should* be backed up; only the vzdump task history says whether it
was. A job runs as one task per node for many guests and its status says little (``job errors``),
so each task is turned into per-guest `BackupAttempt`s (pure functions, no I/O):

- **Log parsed** (`tasklog.parse_task_log`): one attempt per guest named in the log, including a
  guest that failed before ``Starting`` (``unable to find VM``). A running task's open guest is
  ``running``. A cut log leaves the guests it should have reached (header selection, or every
  local guest for ``--all``) ``undetermined``.
- **Job-level failure naming no guest** (storage could not be activated, lock timeout): the
  failure is given, with the task's error, to the guests the task should have backed up: from
  the header (vmid list / pool / all on this node) or, without a header, from the one enabled
  job whose schedule fired just before the task on this node (and whose storage matches the
  error, when it names one; see `missed_runs` for the matching heuristic). Several jobs with
  different selections, or none → an anomaly instead of a guess.
- **No log** (not fetched, or unavailable): a single-guest task (UPID id) still tells the guest
  and the result from its status (`tasklog.fallback_from_upid`). A multi-guest task whose log
  was wanted but unreadable gives the guests found as above the task's result when its status
  is ``OK`` or ``WARNINGS: n`` (vzdump ends ``job errors`` as soon as one guest fails, so such
  a status vouches for every guest of the task), else ``undetermined``; no guest found: an
  anomaly. An unreadable log never turns a task that succeeded into "no success".
  A multi-guest task whose log was not needed is simply not inspected.

Times are aware datetimes shown in the node's time zone (ISO 8601 with offset once serialised);
the last fallback for a start is the UPID start time. ``attempts``/``failures`` count what was
*inspected*: tasks from the newest down to where the collection stopped reading.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from ..model import (
    Anomaly,
    BackupAttempt,
    BackupJob,
    BackupResult,
    GuestEvidence,
    Inventory,
    Severity,
)
from .coverage import CoverageResult
from .missed_runs import header_matches_job, job_creates_task_on, scheduled_near
from .selection import JobSelection
from .tasklog import GuestAttempt, TaskLogResult, fallback_from_upid, map_task_status
from .upid import Upid

LogState = Literal["parsed", "not_fetched", "unavailable"]
_STORAGE_ERR_RE = re.compile(r"storage '([^']+)'")


@dataclass(frozen=True)
class VzdumpTask:
    """A vzdump task from a task list. ``status`` None = still running."""

    upid: Upid
    status: str | None
    endtime: int | None = None

    @property
    def node(self) -> str:
        return self.upid.node

    @property
    def vmid(self) -> int | None:
        """The guest of a single-guest task (UPID id), else None."""
        return self.upid.vmid

    @property
    def running(self) -> bool:
        return self.status is None

    @property
    def started_at(self) -> datetime:
        return self.upid.started_at

    @property
    def ended_at(self) -> datetime | None:
        if self.endtime is None:
            return None
        try:
            return datetime.fromtimestamp(self.endtime, UTC)
        except (OverflowError, OSError, ValueError):
            return None


@dataclass(frozen=True)
class EvidenceContext:
    """What attribution needs to know about the cluster (built once per run)."""

    guest_node: Mapping[int, str]
    jobs: tuple[BackupJob, ...]
    selections: Mapping[str, JobSelection]
    pool_members: Mapping[str, tuple[int, ...]]
    timezones: Mapping[str, ZoneInfo] = field(default_factory=dict)

    @classmethod
    def build(
        cls, inventory: Inventory, coverage: CoverageResult, timezones: Mapping[str, ZoneInfo]
    ) -> EvidenceContext:
        return cls(
            guest_node={g.vmid: g.node for g in inventory.guests},
            jobs=tuple(inventory.jobs or ()),
            selections=coverage.selections,
            pool_members={
                p: m.members for p, m in inventory.pool_memberships.items() if m.state == "ok"
            },
            timezones=dict(timezones),
        )

    def local(self, node: str, value: datetime | None) -> datetime | None:
        tz = self.timezones.get(node)
        return value.astimezone(tz) if value is not None and tz is not None else value

    def local_guests(self, node: str) -> tuple[int, ...]:
        return tuple(sorted(v for v, n in self.guest_node.items() if n == node))


@dataclass(frozen=True)
class TaskOutcome:
    """One task's per-guest attempts (vmid, attempt) and the anomalies it raised."""

    upid: str
    attempts: tuple[tuple[int, BackupAttempt], ...] = ()
    anomalies: tuple[Anomaly, ...] = ()


def _task_error(task: VzdumpTask, log: TaskLogResult | None) -> str | None:
    if log is not None and log.job_error:
        return log.job_error
    if task.status is not None and map_task_status(task.status) == "failure":
        return task.status.strip()
    return None


def expected_guests(
    task: VzdumpTask, log: TaskLogResult | None, ctx: EvidenceContext
) -> tuple[tuple[int, ...], str] | None:
    """Guests the task should have backed up on its node, and how that was decided."""
    header = log.header if log is not None else None
    skipped = set(log.skipped_external) if log is not None else set()
    if header is not None:
        if header.node is not None and header.node != task.node:
            return (), "header (other node)"
        if header.pool is not None and header.pool in ctx.pool_members:
            ids = [v for v in ctx.pool_members[header.pool] if ctx.guest_node.get(v) == task.node]
            return tuple(sorted(ids)), f"header pool {header.pool}"
        if header.vmids:
            ids = [
                v
                for v in header.vmids
                if v not in skipped and ctx.guest_node.get(v, task.node) == task.node
            ]
            return tuple(sorted(ids)), "header vmid list"
        if header.all:
            excl = set(header.exclude)
            return tuple(v for v in ctx.local_guests(task.node) if v not in excl), "header --all"
    if task.vmid is not None:
        return (task.vmid,), "UPID id"
    error = _task_error(task, log) or ""
    named = _STORAGE_ERR_RE.search(error)
    found: dict[tuple[int, ...], list[str]] = {}
    for job in ctx.jobs:
        sel = ctx.selections.get(job.job_id)
        if (
            not job.enabled
            or sel is None
            or not job_creates_task_on(job, sel, task.node, ctx.guest_node)
        ):
            continue
        if named is not None and job.storage is not None and job.storage != named[1]:
            continue
        if header is not None and header_matches_job(header, job) is False:
            continue
        if not scheduled_near(job, task.started_at, ctx.timezones.get(task.node)):
            continue
        local = [v for v in sel.selected if ctx.guest_node.get(v) == task.node]
        found.setdefault(tuple(sorted({*local, *sel.unknown_vmids})), []).append(job.job_id)
    if len(found) == 1:
        vmids, jobs = next(iter(found.items()))
        return vmids, "job " + ", ".join(jobs)
    return None


def _attempt(
    task: VzdumpTask, ga: GuestAttempt, log: TaskLogResult, ctx: EvidenceContext
) -> BackupAttempt:
    result: BackupResult = ga.result
    if task.running and result == "undetermined" and not log.truncated:
        result = "running"
    single = task.vmid is not None
    started = ga.started_at or task.started_at
    ended = ga.ended_at or (task.ended_at if single and not task.running else None)
    duration = ga.duration_s
    if duration is None and single and ended is not None and ended >= started:
        duration = int((ended - started).total_seconds())
    storage = log.header.storage if log.header is not None else None
    size, size_kind = ga.size
    return BackupAttempt(
        result=result,
        started_at=ctx.local(task.node, started),
        ended_at=ctx.local(task.node, ended),
        duration_s=duration,
        storage=storage or _storage_from_error(_task_error(task, log)),
        node=task.node,
        upid=task.upid.raw,
        error=ga.shown_error,
        size_bytes=size,
        archive=ga.archive,
        size_kind=size_kind,
    )


def _storage_from_error(error: str | None) -> str | None:
    match = _STORAGE_ERR_RE.search(error or "")
    return match[1] if match else None


def _whole_task(
    task: VzdumpTask,
    vmids: Iterable[int],
    result: BackupResult,
    error: str | None,
    storage: str | None,
) -> list[tuple[int, BackupAttempt]]:
    return [
        (
            v,
            BackupAttempt(
                result=result,
                started_at=task.started_at,
                ended_at=task.ended_at,
                node=task.node,
                upid=task.upid.raw,
                error=error,
                storage=storage,
            ),
        )
        for v in vmids
    ]


def _anomaly(code: str, task: VzdumpTask, message: str, **details: str | int | None) -> Anomaly:
    return Anomaly(
        Severity.WARNING,
        "tasks",
        code,
        message,
        {"upid": task.upid.raw, "node": task.node, **details},
    )


def task_outcome(
    task: VzdumpTask, log: TaskLogResult | None, state: LogState, ctx: EvidenceContext
) -> TaskOutcome:
    """Per-guest attempts of one task (see the module docstring for the rules)."""
    upid = task.upid.raw
    if log is None:
        return _without_log(task, state, ctx)
    attempts = [(ga.vmid, _attempt(task, ga, log, ctx)) for ga in log.guests]
    anomalies: list[Anomaly] = []
    seen = {ga.vmid for ga in log.guests}
    error = _task_error(task, log)
    storage = log.header.storage if log.header else _storage_from_error(error)
    if log.truncated:
        expected = expected_guests(task, log, ctx)
        rest = set(log.undetermined_after_cut) | set(expected[0] if expected else ())
        rest -= seen | set(log.skipped_external)
        attempts += _whole_task(task, sorted(rest), "undetermined", "task log cut", storage)
    elif not log.guests and error is not None:
        expected = expected_guests(task, log, ctx)
        if expected is not None and expected[0]:
            attempts += _whole_task(task, expected[0], "failure", error, storage)
        elif expected is None:
            anomalies.append(
                _anomaly(
                    "task_unattributed",
                    task,
                    f"Backup task {upid} on {task.node} failed ({error}) without naming a guest,"
                    " and no single backup job explains it",
                    error=error[:200],
                )
            )
    return TaskOutcome(upid, tuple(attempts), tuple(anomalies))


def _without_log(task: VzdumpTask, state: LogState, ctx: EvidenceContext) -> TaskOutcome:
    upid = task.upid.raw
    if task.vmid is not None:
        ga = fallback_from_upid(task.upid, task.status, task.endtime)
        if ga is None:
            return TaskOutcome(upid)
        result: BackupResult = "running" if task.running else ga.result
        attempt = BackupAttempt(
            result=result,
            started_at=ctx.local(task.node, ga.started_at),
            ended_at=ctx.local(task.node, ga.ended_at),
            duration_s=ga.duration_s,
            node=task.node,
            upid=upid,
            error=ga.error,
        )
        return TaskOutcome(upid, ((ga.vmid, attempt),))
    if state == "not_fetched":
        return TaskOutcome(upid)
    expected = expected_guests(task, None, ctx)
    if expected is not None:
        status = map_task_status(task.status)
        if status in ("success", "warning"):  # the status vouches for every guest of the task
            return TaskOutcome(upid, tuple(_whole_task(task, expected[0], status, None, None)))
        note = f"task log unavailable (task status: {task.status or 'running'})"
        storage = _storage_from_error(_task_error(task, None))
        return TaskOutcome(
            upid, tuple(_whole_task(task, expected[0], "undetermined", note, storage))
        )
    return TaskOutcome(
        upid,
        anomalies=(
            _anomaly(
                "task_unattributed",
                task,
                f"The log of backup task {upid} on {task.node} is unavailable and no single"
                " backup job explains which guests it covered",
                status=task.status,
            ),
        ),
    )


def _order(attempt: BackupAttempt) -> tuple[datetime, str]:
    start = attempt.started_at or datetime.min.replace(tzinfo=UTC)
    return start, attempt.upid or ""


def aggregate(outcomes: Iterable[TaskOutcome], vmids: Iterable[int]) -> dict[int, GuestEvidence]:
    """Per guest of ``vmids``: latest attempt, last success, attempt and failure counts."""
    wanted = set(vmids)
    per_guest: dict[int, list[BackupAttempt]] = {v: [] for v in wanted}
    for outcome in outcomes:
        for vmid, attempt in outcome.attempts:
            if vmid in per_guest:
                per_guest[vmid].append(attempt)
    result: dict[int, GuestEvidence] = {}
    for vmid in sorted(wanted):
        items = sorted(per_guest[vmid], key=_order, reverse=True)
        result[vmid] = GuestEvidence(
            vmid=vmid,
            latest_backup=items[0] if items else None,
            last_success=next((a for a in items if a.succeeded), None),
            attempts=len(items),
            failures=sum(1 for a in items if a.result == "failure"),
        )
    return result


def overlap_threshold(evidence: Mapping[int, GuestEvidence], required: Iterable[int]) -> datetime:
    """Older unread tasks matter only if they ended after this (see collect.evidence)."""
    times = [
        a.started_at
        for v in required
        for a in (evidence[v].latest_backup, evidence[v].last_success)
        if v in evidence and a is not None and a.started_at is not None
    ]
    return min(times, default=datetime.max.replace(tzinfo=UTC)) - timedelta(seconds=1)

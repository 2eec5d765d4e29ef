"""Backup evidence for one run: task history, just enough task logs, freshness, missed runs.

Why "just enough": a large cluster keeps thousands of vzdump tasks and each log is one request,
so logs are read newest task first, in concurrent waves (the client bounds concurrency), and
reading stops as soon as every *required* guest has both its latest attempt and its latest
success (or the history is exhausted). Required guests are those selected by an enabled job
(``wait_for_unselected=True``: every guest of the inventory); other guests get what the logs
read anyway show. Per task:

- single-guest task (UPID id): its guest and result are known from the list; its log is read
  only when it can become the guest's latest attempt or last success (for times, size, error);
- multi-guest task on node N: its log is read only while a required guest *currently on N*
  lacks evidence, and, when the task's start matches scheduled runs of enabled jobs on N
  (`missed_runs.JobRunIndex`), only if one of those jobs selects such a guest. A task matching
  no schedule (a manual "Run now") is always read. Both narrowings use today's placement and
  job selections: a guest migrated since, or a job edited since, can only make the evidence
  look *older* than it is (a false "stale"), never fresher.

A wave decides on the knowledge before it, so at most one wave of logs more than strictly
needed is read. After stopping, older multi-guest tasks that *ended* after the oldest evidence
kept (a task that waited for the vzdump lock) are still read, so a later attempt inside an
earlier-started task is not missed. On the benchmark's generated cluster this reads the same
evidence as reading every log, with about one log in seven (docs/performance.md).

With a `TaskLogCache` (`collect.log_cache`), a wanted log whose parse is cached (finished task,
read whole before, same time zone, status and line limit) is taken from the cache instead of
being fetched; the choice of logs above does not change, so neither does the result.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from ..analysis.coverage import CoverageResult
from ..analysis.evidence import (
    EvidenceContext,
    TaskOutcome,
    VzdumpTask,
    aggregate,
    overlap_threshold,
    task_outcome,
)
from ..analysis.freshness import apply_freshness
from ..analysis.missed_runs import JobRunIndex, find_missed_runs
from ..analysis.selection import JobSelection
from ..analysis.tasklog import JobHeader, TaskLogResult, map_task_status, parse_task_log
from ..model import Anomaly, BackupAttempt, GuestEvidence, Inventory
from .base import Collector, Getter
from .log_cache import CachedLog, TaskLogCache, cacheable, timezone_key
from .tasks import FetchedLog, NodeHistory, read_task_history, read_task_log

DEFAULT_WAVE = 16


@dataclass(frozen=True)
class EvidenceResult:
    guests: dict[int, GuestEvidence]
    anomalies: tuple[Anomaly, ...]
    tasks_seen: int
    logs_fetched: int
    history_oldest: datetime | None
    inspected_oldest: datetime | None = None
    node_history_oldest: dict[str, datetime | None] = field(default_factory=dict)
    logs_from_cache: int = 0
    node_timezones: dict[str, str] = field(default_factory=dict)  # node → IANA name, if read


@dataclass
class _Knowledge:
    """Which required guests already have a latest attempt / a latest success."""

    required: set[int]
    guest_node: Mapping[int, str]
    selections: Mapping[str, JobSelection]
    runs: JobRunIndex
    latest: set[int] = field(default_factory=set)
    success: set[int] = field(default_factory=set)
    # required guests still lacking a latest attempt or a success, per node: kept up to date
    # by `learn`, so that each task is judged in time independent of the cluster's size
    # (recomputing the sets per task was tasks × guests on large clusters)
    by_node: dict[str, set[int]] = field(default_factory=dict)
    pending: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        for vmid in self.required:
            self.by_node.setdefault(self.guest_node.get(vmid, ""), set()).add(vmid)
        self.pending = set(self.required)

    @property
    def done(self) -> bool:
        return not self.pending

    def learn(self, outcome: TaskOutcome) -> None:
        for vmid, attempt in outcome.attempts:
            self.latest.add(vmid)
            if attempt.succeeded:
                self.success.add(vmid)
            if vmid in self.pending and vmid in self.success:  # settled: both are known
                self.pending.discard(vmid)
                self.by_node.get(self.guest_node.get(vmid, ""), set()).discard(vmid)

    def wants_log(self, task: VzdumpTask, known: set[int]) -> bool:
        if self.done:
            return False
        vmid = task.vmid
        if vmid is not None:
            if vmid not in known:
                return False
            ok = map_task_status(task.status) in ("success", "warning")
            return vmid not in self.latest or (ok and vmid not in self.success)
        missing = self.by_node.get(task.node, set())
        if not missing:
            return False
        jobs = self.runs.jobs_for(task.node, task.upid.starttime)
        if not jobs:
            return True  # a manual run, or a job we cannot place: it may hold anything
        return any(v in missing for job in jobs for v in self.selections[job.job_id].selected)


def required_guests(
    inventory: Inventory, coverage: CoverageResult, wait_for_unselected: bool
) -> set[int]:
    if wait_for_unselected:
        return {g.vmid for g in inventory.guests}
    return {v for v, cov in coverage.guests.items() if any(r.enabled for r in cov.jobs)}


class _Walker:
    def __init__(
        self,
        col: Collector,
        ctx: EvidenceContext,
        log_limit: int,
        knowledge: _Knowledge,
        cache: TaskLogCache | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.progress = progress
        self.col = col
        self.ctx = ctx
        self.log_limit = log_limit
        self.knowledge = knowledge
        self.cache = cache
        self.outcomes: list[TaskOutcome] = []
        self.headers: dict[str, JobHeader | None] = {}
        self.logs_fetched = 0
        self.logs_from_cache = 0

    def skip(self, task: VzdumpTask) -> None:
        outcome = task_outcome(task, None, "not_fetched", self.ctx)
        self.outcomes.append(outcome)
        self.knowledge.learn(outcome)

    def _zone(self, task: VzdumpTask) -> str | None:
        return timezone_key(self.ctx.timezones.get(task.node))

    def _cached(self, wave: Sequence[VzdumpTask]) -> dict[str, TaskLogResult]:
        finished = [t for t in wave if not t.running]
        if self.cache is None or not finished:
            return {}
        found = self.cache.get(t.upid.raw for t in finished)
        return {
            t.upid.raw: entry.result
            for t in finished
            if (entry := found.get(t.upid.raw)) is not None
            and entry.usable(self._zone(t), t.status, self.log_limit)
        }

    async def fetch(self, wave: Sequence[VzdumpTask]) -> None:
        cached = self._cached(wave)
        needed = [t for t in wave if t.upid.raw not in cached]
        fetched = await asyncio.gather(
            *(read_task_log(self.col, t, self.log_limit) for t in needed)
        )
        logs = dict(zip((t.upid.raw for t in needed), fetched, strict=True))
        self.logs_fetched += len(needed)
        self.logs_from_cache += len(cached)
        fresh: dict[str, tuple[str, int, CachedLog]] = {}
        for task in wave:  # in wave order, cached or not: the outcomes come out the same
            hit = cached.get(task.upid.raw)
            if hit is not None:
                self._learn(task, hit)
                continue
            log = logs[task.upid.raw]
            parsed = self._use(task, log)
            if parsed is not None and cacheable(task, log, parsed):
                entry = CachedLog(parsed, self._zone(task), task.status, len(log.lines))
                fresh[task.upid.raw] = (task.node, task.upid.starttime, entry)
        if self.cache is not None and fresh:
            self.cache.put(fresh)
        if self.progress is not None:
            self.progress(
                f"Reading backup task logs… {self.logs_fetched} read, "
                f"{self.logs_from_cache} from the cache"
            )

    def _use(self, task: VzdumpTask, log: FetchedLog) -> TaskLogResult | None:
        if not log.available:
            outcome = task_outcome(task, None, "unavailable", self.ctx)
            self.outcomes.append(outcome)
            self.knowledge.learn(outcome)
            return None
        parsed = parse_task_log(
            log.lines,
            task.upid,
            self.ctx.timezones.get(task.node),
            log.truncated,
            task_status=task.status,
        )
        self._learn(task, parsed)
        return parsed

    def _learn(self, task: VzdumpTask, parsed: TaskLogResult) -> None:
        self.headers[task.upid.raw] = parsed.header
        outcome = task_outcome(task, parsed, "parsed", self.ctx)
        self.outcomes.append(outcome)
        self.knowledge.learn(outcome)


async def collect_evidence(
    client: Getter,
    inventory: Inventory,
    coverage: CoverageResult,
    *,
    task_history_limit: int,
    task_log_limit: int,
    history_days: int | None,
    now: datetime,
    global_max_age_hours: float | None = None,
    tag_max_age: Mapping[str, float] | None = None,
    pool_max_age: Mapping[str, float] | None = None,
    wait_for_unselected: bool = False,
    remembered_success: Mapping[int, tuple[str | None, datetime]] | None = None,
    progress: Callable[[str], None] | None = None,
    wave_size: int = DEFAULT_WAVE,
    log_cache: TaskLogCache | None = None,
) -> EvidenceResult:
    """Read the evidence of every guest in ``inventory`` (see the module docstring)."""
    col = Collector(client)
    since = int((now - timedelta(days=history_days)).timestamp()) if history_days else None
    history = await read_task_history(col, inventory.nodes, task_history_limit, since)
    ctx = EvidenceContext.build(inventory, coverage, history.timezones)
    known = {g.vmid for g in inventory.guests}
    tasks = history.tasks
    runs = JobRunIndex(
        inventory.jobs or (),
        coverage.selections,
        ctx.guest_node,
        list(history.nodes),
        history.timezones,
        min((t.started_at for t in tasks), default=now),
        now,
    )
    required = required_guests(inventory, coverage, wait_for_unselected)
    knowledge = _Knowledge(required, ctx.guest_node, coverage.selections, runs)
    walker = _Walker(col, ctx, task_log_limit, knowledge, log_cache, progress)
    index = 0
    while index < len(tasks) and not knowledge.done:
        wave: list[VzdumpTask] = []
        while index < len(tasks) and len(wave) < wave_size and not knowledge.done:
            task = tasks[index]
            index += 1
            if knowledge.wants_log(task, known):
                wave.append(task)
                # a single-guest task's result is known already: count it before the log
                knowledge.learn(task_outcome(task, None, "not_fetched", ctx))
            else:
                walker.skip(task)
        if wave:
            await walker.fetch(wave)
    inspected = tasks[:index]
    evidence = aggregate(walker.outcomes, known)
    threshold = overlap_threshold(evidence, knowledge.required)
    late = [
        t
        for t in tasks[index:]
        if t.vmid is None and (t.ended_at is None or t.ended_at > threshold)
    ]
    for start in range(0, len(late), wave_size):
        await walker.fetch(late[start : start + wave_size])
    if late:
        evidence = aggregate(walker.outcomes, known)
    if remembered_success:
        names = {g.vmid: g.name for g in inventory.guests}
        evidence = remember_successes(evidence, remembered_success, names)
    evidence, stale = apply_freshness(
        evidence,
        inventory,
        coverage,
        history.timezones,
        now,
        global_max_age_hours,
        tag_max_age,
        pool_max_age,
        # nodes whose task list could not be read (offline, or the read failed): unknown
        frozenset(n.name for n in inventory.nodes if not n.readable)
        | frozenset(n for n, h in history.nodes.items() if not h.read),
    )
    missed = find_missed_runs(
        inventory.jobs or (),
        coverage,
        ctx.guest_node,
        tasks,
        walker.headers,
        _judged_from(history.nodes, since),
        history.timezones,
        now,
    )
    anomalies = [*col.anomalies, *(a for o in walker.outcomes for a in o.anomalies)]
    return EvidenceResult(
        guests=evidence,
        anomalies=tuple([*anomalies, *stale, *missed]),
        tasks_seen=len(tasks),
        logs_fetched=walker.logs_fetched,
        history_oldest=min((t.started_at for t in tasks), default=None),
        inspected_oldest=min((t.started_at for t in inspected), default=None),
        node_history_oldest={n: h.oldest for n, h in history.nodes.items()},
        logs_from_cache=walker.logs_from_cache,
        node_timezones={n: z.key for n, z in history.timezones.items()},
    )


def remember_successes(
    evidence: Mapping[int, GuestEvidence],
    remembered: Mapping[int, tuple[str | None, datetime]],
    names: Mapping[int, str | None],
) -> dict[int, GuestEvidence]:
    """Keep a last success the history remembers when PVE's task index no longer shows one
    as recent (the index rotates after ~1000-2000 tasks per node). A guest whose name changed
    does not inherit it: the VMID may have been reused by another guest."""
    out = dict(evidence)
    for vmid, (name, when) in remembered.items():
        current = out.get(vmid)
        if current is None or vmid not in names or names[vmid] != name:
            continue
        known = current.last_success
        if known is None or (known.started_at is not None and known.started_at < when):
            attempt = BackupAttempt("success", started_at=when, source="history")
            out[vmid] = replace(current, last_success=attempt)
    return out


def _judged_from(nodes: Mapping[str, NodeHistory], since: int | None) -> dict[str, datetime | None]:
    """Per readable node, the oldest time its history vouches for (None: all PVE lists)."""
    out: dict[str, datetime | None] = {}
    for name, hist in nodes.items():
        if not hist.read:
            continue
        bound = datetime.fromtimestamp(since, UTC) if since is not None else None
        if not hist.complete:
            oldest = hist.oldest
            if oldest is not None:
                bound = oldest if bound is None else max(bound, oldest)
        out[name] = bound
    return out


__all__ = ["EvidenceResult", "collect_evidence", "required_guests"]

"""Freshness (RPO): is each guest's last successful backup recent enough, and by which rule.

Why: "the job exists" and "the last backup succeeded" are not enough; a guest whose last success
is ten days old on a daily job is not protected. The report must also *say* which threshold was
used, in words, so each guest gets a `Freshness` with an English explanation.

Threshold, first rule that applies wins:

1. ``tag``: ``BACKUP_MAX_AGE_TAGS`` names one of the guest's tags (several: the smallest value).
2. ``pool``: ``BACKUP_MAX_AGE_POOLS`` names the guest's pool.
3. ``global``: ``BACKUP_MAX_AGE_HOURS``.
4. ``schedule``: from the enabled jobs selecting the guest: for each job the largest gap between
   two consecutive runs (`calendar.max_interval`, node time zone, a year ahead from now), and the
   *smallest* of those (the guest is promised the rhythm of its most frequent job), plus a
   grace period of 25 % of it, at least one hour (a run takes time and starts late when another
   job holds the node's vzdump lock).

Tag and pool overrides apply to every guest (the operator named them); the global value and
schedules only to guests selected by at least one enabled job. Guests opted out, or selected
by no enabled job, are ``not_applicable``. A guest with a threshold and no success in the
inspected history is ``no_success``, or ``unknown`` when that history is incomplete for it (its
latest attempt is ``undetermined`` — a task log that could not be read or was cut — or its
node is offline or its task list could not be read): unknown is not "no success". The age is
measured from the *start* of the last success (the snapshot's point in time), not its end.

``next_run`` is the earliest next run, after ``now``, among the enabled jobs selecting the guest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from ..model import Anomaly, Freshness, FreshnessStatus, Guest, GuestEvidence, Inventory, Severity
from .calendar import max_interval, next_event
from .coverage import CoverageResult, Verdict
from .missed_runs import schedule_event

GRACE_RATIO = 0.25
GRACE_MIN = timedelta(hours=1)


def grace_for(interval: timedelta) -> timedelta:
    """The grace added to a schedule's largest gap: 25 %, at least one hour."""
    return max(GRACE_MIN, interval * GRACE_RATIO)


def hours_text(hours: float) -> str:
    """``26 h``, ``31 h 15 min``, ``45 min``, ``3 d 2 h`` — compact and readable."""
    minutes = round(hours * 60)
    if minutes >= 48 * 60:
        days, rest = divmod(round(hours), 24)
        return f"{days} d {rest} h" if rest else f"{days} d"
    h, m = divmod(minutes, 60)
    if h and m:
        return f"{h} h {m} min"
    return f"{h} h" if h else f"{m} min"


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


def _override(
    guest: Guest,
    global_max_age_hours: float | None,
    tag_max_age: Mapping[str, float],
    pool_max_age: Mapping[str, float],
    scheduled: bool,
) -> tuple[float, str, str] | None:
    tags = {t.lower(): t for t in guest.tags}
    lowered = {k.lower(): v for k, v in tag_max_age.items()}
    hits = sorted((lowered[t], orig) for t, orig in tags.items() if t in lowered)
    if hits:
        value, tag = hits[0]
        return value, f"tag:{tag}", f"{hours_text(value)} set for tag '{tag}' (BACKUP_MAX_AGE_TAGS)"
    if guest.pool is not None and guest.pool in pool_max_age:
        value = pool_max_age[guest.pool]
        return (
            value,
            f"pool:{guest.pool}",
            f"{hours_text(value)} set for pool '{guest.pool}' (BACKUP_MAX_AGE_POOLS)",
        )
    if global_max_age_hours is not None and scheduled:
        return (
            global_max_age_hours,
            "global",
            f"{hours_text(global_max_age_hours)} (BACKUP_MAX_AGE_HOURS)",
        )
    return None


@lru_cache(maxsize=4096)
def _gap(text: str | None, tz: ZoneInfo | None, now: datetime) -> timedelta | None:
    """Largest gap between runs (cached: thousands of guests share a few schedules)."""
    event = schedule_event(text)
    return max_interval(event, tz, now) if event is not None else None


@lru_cache(maxsize=4096)
def _next(text: str | None, tz: ZoneInfo | None, now: datetime) -> datetime | None:
    event = schedule_event(text)
    return next_event(event, now, tz) if event is not None else None


def _from_schedules(
    job_ids: list[str], schedules: Mapping[str, str | None], tz: ZoneInfo | None, now: datetime
) -> tuple[float, str] | None:
    best: tuple[timedelta, str, str] | None = None
    for job_id in job_ids:
        gap = _gap(schedules.get(job_id), tz, now)
        if gap is not None and (best is None or gap < best[0]):
            best = (gap, job_id, schedules.get(job_id) or "")
    if best is None:
        return None
    gap, job_id, text = best
    grace = grace_for(gap)
    words = (
        f"{hours_text(_hours(gap + grace))}: largest gap between runs of job {job_id} "
        f"('{text}') is {hours_text(_hours(gap))}, plus {hours_text(_hours(grace))} grace "
        "(25 %, at least 1 h)"
    )
    return _hours(gap + grace), words


def guest_freshness(
    guest: Guest,
    evidence: GuestEvidence,
    verdict: Verdict | None,
    enabled_jobs: list[str],
    schedules: Mapping[str, str | None],
    tz: ZoneInfo | None,
    now: datetime,
    global_max_age_hours: float | None = None,
    tag_max_age: Mapping[str, float] | None = None,
    pool_max_age: Mapping[str, float] | None = None,
    history_incomplete: bool = False,
) -> Freshness:
    """The freshness verdict of one guest, with its threshold explained in words.
    ``history_incomplete``: the guest's node's task list could not be read."""
    if verdict is Verdict.OPTED_OUT:
        return Freshness("not_applicable", None, "none", "Opted out of backups: no threshold.")
    scheduled = bool(enabled_jobs)
    rule = _override(guest, global_max_age_hours, tag_max_age or {}, pool_max_age or {}, scheduled)
    if rule is not None:
        max_age, source, words = rule
    elif scheduled:
        found = _from_schedules(enabled_jobs, schedules, tz, now)
        if found is None:
            return Freshness(
                "not_applicable",
                None,
                "none",
                "No threshold: the schedules of the jobs selecting this guest cannot be read.",
            )
        max_age, words = found
        source = "schedule"
    else:
        return Freshness(
            "not_applicable", None, "none", "Selected by no enabled backup job: no threshold."
        )
    success = evidence.last_success
    when = success.started_at or success.ended_at if success is not None else None
    latest = evidence.latest_backup
    if when is None and (history_incomplete or (latest and latest.result == "undetermined")):
        return Freshness(
            "unknown",
            max_age,
            source,
            "No success found, but the task history that could hold one was not fully readable "
            f"(see the anomalies); threshold {words}.",
        )
    if when is None:
        return Freshness(
            "no_success",
            max_age,
            source,
            f"No successful backup in the inspected task history; threshold {words}.",
        )
    age = _hours(now - when)
    status: FreshnessStatus = "stale" if age > max_age else "fresh"
    relation = "older than" if status == "stale" else "within"
    return Freshness(
        status,
        max_age,
        source,
        f"Last success {hours_text(max(age, 0.0))} ago, {relation} the threshold of {words}.",
        age_hours=round(age, 2),
    )


def apply_freshness(
    evidence: Mapping[int, GuestEvidence],
    inventory: Inventory,
    coverage: CoverageResult,
    timezones: Mapping[str, ZoneInfo],
    now: datetime,
    global_max_age_hours: float | None = None,
    tag_max_age: Mapping[str, float] | None = None,
    pool_max_age: Mapping[str, float] | None = None,
    unread_nodes: frozenset[str] = frozenset(),
) -> tuple[dict[int, GuestEvidence], list[Anomaly]]:
    """Fill ``freshness`` and ``next_run`` of every guest; stale guests become anomalies.
    ``unread_nodes``: online nodes whose task list could not be read."""
    schedules = {j.job_id: j.schedule for j in inventory.jobs or ()}
    out: dict[int, GuestEvidence] = {}
    anomalies: list[Anomaly] = []
    for guest in inventory.guests:
        ev = evidence.get(guest.vmid) or GuestEvidence(guest.vmid)
        cov = coverage.guests.get(guest.vmid)
        enabled = [r.job_id for r in cov.jobs if r.enabled] if cov else []
        tz = timezones.get(guest.node)
        fresh = guest_freshness(
            guest,
            ev,
            cov.status if cov else None,
            enabled,
            schedules,
            tz,
            now,
            global_max_age_hours,
            tag_max_age,
            pool_max_age,
            guest.node in unread_nodes,
        )
        out[guest.vmid] = replace(
            ev, freshness=fresh, next_run=_next_run(enabled, schedules, tz, now)
        )
        if fresh.status in ("stale", "no_success"):
            anomalies.append(
                Anomaly(
                    Severity.CRITICAL if fresh.status == "no_success" else Severity.WARNING,
                    "evidence",
                    f"backup_{fresh.status}",
                    f"Guest {guest.vmid}: {fresh.explanation}",
                    {
                        "vmid": guest.vmid,
                        "max_age_hours": fresh.max_age_hours,
                        **(
                            {} if fresh.age_hours is None else {"age_hours": round(fresh.age_hours)}
                        ),
                    },
                )
            )
    return out, anomalies


def _next_run(
    job_ids: list[str], schedules: Mapping[str, str | None], tz: ZoneInfo | None, now: datetime
) -> datetime | None:
    runs = []
    for job_id in job_ids:
        found = _next(schedules.get(job_id), tz, now)
        if found is not None:
            runs.append(found.astimezone(tz) if tz is not None else found)
    return min(runs, default=None)

"""Backup server anomalies with stable codes, and reconciliation with the task logs.

Why here and pure: each rule is a small function over collected facts, so thresholds are
parameters (`PbsThresholds`, defaults documented there) and every code is unit-tested by hand.
Codes (component `pbs`):

- per guest: `pbs_no_snapshot` (critical), `pbs_snapshot_stale`, `pbs_verify_failed`
  (critical), `pbs_not_verified`, `pbs_verify_outdated`, `pbs_task_snapshot_missing`;
- per location: `pbs_unencrypted` (severity configurable, info by default), `pbs_no_retention`;
- per datastore: `pbs_datastore_usage_high` (≥ 80 %), `pbs_datastore_usage_critical`
  (≥ 90 %, critical), `pbs_datastore_full_soon` (estimated full within 30 days),
  `pbs_gc_never_ran`, `pbs_gc_failed`, `pbs_gc_outdated` (older than 7 days),
  `pbs_datastore_maintenance`;
- per job: `pbs_prune_job_failed`, `pbs_verify_job_failed`.
Collection adds `pbs_unreachable`, `pbs_authentication_failed`, `pbs_permission_denied`,
`pbs_owner_filtered`, `pbs_vmid_collision` (analysis) and the PVE fallback codes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..model import (
    Anomaly,
    GuestEvidence,
    PbsDatastore,
    PbsSnapshot,
    PbsVerifyJob,
    RetentionPolicy,
    Severity,
)
from .coverage import CoverageResult, Verdict
from .pbs_guests import GuestDetail, Key, covers, locations_by_guest
from .pbs_match import Location

ARCHIVE_RE = re.compile(r"(vm|ct)/(\d+)/(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")
MATCH_WINDOW = timedelta(minutes=2)


@dataclass(frozen=True)
class PbsThresholds:
    """Tunable limits (defaults: the values the issue and the PBS GUI use)."""

    verify_max_age_days: float = 30.0  # the PBS GUI calls a verification "outdated" after 30 d
    unencrypted_severity: Severity = Severity.INFO
    usage_warning: float = 0.80
    usage_critical: float = 0.90
    full_within_days: float = 30.0
    gc_max_age_days: float = 7.0


def _a(severity: Severity, code: str, message: str, **details: str | int | None) -> Anomaly:
    return Anomaly(severity, "pbs", code, message, dict(details))


def _ok_state(state: str | None) -> bool:
    return state is None or state == "OK" or state.startswith("WARNINGS")


def _when(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


# --------------------------------------------------------------------------- guests
def guest_checks(
    coverage: CoverageResult,
    details: Mapping[int, GuestDetail],
    evidence: Mapping[int, GuestEvidence] | None,
    verifying: frozenset[Location],
    now: datetime,
    th: PbsThresholds,
) -> list[Anomaly]:
    """`verifying`: locations covered by a verification job or a store with verify-new."""
    out: list[Anomaly] = []
    for vmid, detail in sorted(details.items()):
        cov = coverage.guests.get(vmid)
        if cov is None or cov.status is not Verdict.COVERED or not detail.locations:
            continue
        if not detail.listed:
            continue  # the permission or reachability anomaly already explains it
        latest = detail.pbs.latest_snapshot
        where = ", ".join(loc.label for loc in detail.locations)
        if latest is None:
            others = ", ".join(detail.pbs.other_namespaces) or None
            extra = f"; snapshots exist in other namespaces: {others}" if others else ""
            out.append(
                _a(
                    Severity.CRITICAL,
                    "pbs_no_snapshot",
                    f"Guest {vmid} is covered by a PBS job but has no snapshot in {where}{extra}",
                    vmid=vmid,
                    location=where,
                    **({"other_namespaces": others} if others else {}),
                )
            )
            continue
        ev = evidence.get(vmid) if evidence else None
        limit = ev.freshness.max_age_hours if ev and ev.freshness else None
        age_h = (now - latest.backup_time).total_seconds() / 3600
        if limit is not None and age_h > limit:
            out.append(
                _a(
                    Severity.WARNING,
                    "pbs_snapshot_stale",
                    f"Guest {vmid}: latest PBS snapshot ({_when(latest.backup_time)}) is "
                    f"{age_h:.0f} h old, above its {limit:.0f} h threshold",
                    vmid=vmid,
                    age_hours=round(age_h),
                    max_age_hours=round(limit),
                    backup_time=latest.backup_time.isoformat(),
                )
            )
        out.extend(_verify(vmid, detail, latest, verifying, now, th))
    return out


def _verify(
    vmid: int,
    detail: GuestDetail,
    latest: PbsSnapshot,
    verifying: frozenset[Location],
    now: datetime,
    th: PbsThresholds,
) -> list[Anomaly]:
    max_age = timedelta(days=th.verify_max_age_days)
    stamp = _when(latest.backup_time)
    if latest.verify_state == "failed":
        return [
            _a(
                Severity.CRITICAL,
                "pbs_verify_failed",
                f"Guest {vmid}: verification of the latest snapshot ({stamp}) FAILED; it may not "
                "be restorable",
                vmid=vmid,
                backup_time=latest.backup_time.isoformat(),
            )
        ]
    if latest.verify_state == "ok":
        if latest.verified_at is not None and now - latest.verified_at > max_age:
            return [
                _a(
                    Severity.WARNING,
                    "pbs_verify_outdated",
                    f"Guest {vmid}: the latest snapshot was last verified "
                    f"{_when(latest.verified_at)}, more than {th.verify_max_age_days:g} days ago",
                    vmid=vmid,
                    verified_at=latest.verified_at.isoformat(),
                    max_age_days=f"{th.verify_max_age_days:g}",
                )
            ]
        return []
    loc = Location(latest.server, latest.datastore, latest.namespace)
    recent_ok = [
        s
        for s in detail.snapshots
        if s.verify_state == "ok" and s.verified_at is not None and now - s.verified_at <= max_age
    ]
    if loc in verifying and recent_ok:
        return []  # the next verification run will check it; recent snapshots verify fine
    why = (
        "no verification job or verify-new covers its namespace"
        if loc not in verifying
        else f"no snapshot of this guest was verified in the last {th.verify_max_age_days:g} days"
    )
    return [
        _a(
            Severity.WARNING,
            "pbs_not_verified",
            f"Guest {vmid}: the latest snapshot ({stamp}) was never verified: {why}",
            vmid=vmid,
            backup_time=latest.backup_time.isoformat(),
            **({"verify_window_days": f"{th.verify_max_age_days:g}"} if loc in verifying else {}),
        )
    ]


def unencrypted_checks(details: Mapping[int, GuestDetail], th: PbsThresholds) -> list[Anomaly]:
    by_loc: dict[Location, list[int]] = {}
    for vmid, detail in sorted(details.items()):
        latest = detail.pbs.latest_snapshot
        if latest is not None and latest.encrypted is False:
            loc = Location(latest.server, latest.datastore, latest.namespace)
            by_loc.setdefault(loc, []).append(vmid)
    return [
        _a(
            th.unencrypted_severity,
            "pbs_unencrypted",
            f"{len(vmids)} guest(s) have an unencrypted latest snapshot on {loc.label}: "
            + ", ".join(map(str, vmids)),
            location=loc.label,
            vmids=",".join(map(str, vmids)),
            guests=len(vmids),
        )
        for loc, vmids in sorted(by_loc.items())
    ]


def reconcile(
    evidence: Mapping[int, GuestEvidence] | None,
    locations: Mapping[str, Location],
    index: Mapping[Key, list[PbsSnapshot]],
    listed: frozenset[Location],
) -> list[Anomaly]:
    """A task log says a backup succeeded, but its snapshot is not on the server."""
    out: list[Anomaly] = []
    where = locations_by_guest(index)
    for vmid, ev in sorted((evidence or {}).items()):
        success = ev.last_success
        if success is None or success.storage is None or success.storage not in locations:
            continue
        loc = locations[success.storage]
        if loc not in listed:
            continue
        match = ARCHIVE_RE.search(success.archive or "")
        kinds = (match.group(1),) if match else ("vm", "ct")
        if match:
            stamp = datetime.strptime(match.group(3), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            low, high = stamp - timedelta(seconds=2), stamp + timedelta(seconds=2)
        elif success.started_at is not None:
            low = success.started_at - MATCH_WINDOW
            high = (success.ended_at or success.started_at) + MATCH_WINDOW
        else:
            continue
        bid = str(vmid)
        found = [
            (at, s)
            for kind in kinds
            for at in where.get((kind, bid), ())
            for s in index[(at, kind, bid)]
            if low <= s.backup_time <= high
        ]
        if any(where == loc for where, _ in found):
            continue
        other = sorted({where.label for where, _ in found})
        hint = (
            f"it is in {', '.join(other)} instead (wrong namespace?)"
            if other
            else "pruned, deleted, or written elsewhere?"
        )
        when = _when(success.started_at) if success.started_at else "?"
        out.append(
            _a(
                Severity.WARNING,
                "pbs_task_snapshot_missing",
                f"Guest {vmid}: the task log reports a successful backup to {success.storage} "
                f"({when}) but no such snapshot exists in {loc.label}: {hint}",
                vmid=vmid,
                storage=success.storage,
                upid=success.upid,
                location=loc.label,
                **({"started_at": success.started_at.isoformat()} if success.started_at else {}),
                **({"found_in": ", ".join(other)} if other else {}),
            )
        )
    return out


# --------------------------------------------------------------------------- server side
def datastore_checks(
    stores: Sequence[PbsDatastore], now: datetime, th: PbsThresholds
) -> list[Anomaly]:
    out: list[Anomaly] = []
    for ds in stores:
        name = f"{ds.server}:{ds.name}"
        base = {"server": ds.server, "datastore": ds.name}
        ratio = ds.usage_ratio
        if ratio is not None and ratio >= th.usage_critical:
            out.append(
                _a(
                    Severity.CRITICAL,
                    "pbs_datastore_usage_critical",
                    f"Datastore {name} is {ratio:.0%} full",
                    usage_percent=round(ratio * 100),
                    **base,
                )
            )
        elif ratio is not None and ratio >= th.usage_warning:
            out.append(
                _a(
                    Severity.WARNING,
                    "pbs_datastore_usage_high",
                    f"Datastore {name} is {ratio:.0%} full",
                    usage_percent=round(ratio * 100),
                    **base,
                )
            )
        full = ds.estimated_full
        if full is not None and now < full <= now + timedelta(days=th.full_within_days):
            out.append(
                _a(
                    Severity.WARNING,
                    "pbs_datastore_full_soon",
                    f"Datastore {name} is estimated to be full on {full.date().isoformat()}",
                    estimated_full=full.isoformat(),
                    **base,
                )
            )
        if ds.maintenance:
            out.append(
                _a(
                    Severity.WARNING,
                    "pbs_datastore_maintenance",
                    f"Datastore {name} is in maintenance mode ({ds.maintenance})",
                    maintenance=ds.maintenance,
                    **base,
                )
            )
        out.extend(_gc(ds, name, base, now, th))
    return out


def _gc(
    ds: PbsDatastore, name: str, base: Mapping[str, str], now: datetime, th: PbsThresholds
) -> list[Anomaly]:
    gc = ds.gc
    if gc is None:
        return []
    if not gc.ever_ran:
        return [
            _a(
                Severity.WARNING,
                "pbs_gc_never_ran",
                f"Garbage collection never ran on datastore {name}: pruned chunks are never freed",
                **base,
            )
        ]
    if not _ok_state(gc.last_run_state):
        return [
            _a(
                Severity.WARNING,
                "pbs_gc_failed",
                f"Last garbage collection on datastore {name} failed: {gc.last_run_state}",
                state=gc.last_run_state,
                **base,
            )
        ]
    if gc.last_run_end is not None and now - gc.last_run_end > timedelta(days=th.gc_max_age_days):
        return [
            _a(
                Severity.WARNING,
                "pbs_gc_outdated",
                f"Last garbage collection on datastore {name} ended {_when(gc.last_run_end)}, "
                f"more than {th.gc_max_age_days:g} days ago",
                last_run_end=gc.last_run_end.isoformat(),
                max_age_days=f"{th.gc_max_age_days:g}",
                **base,
            )
        ]
    return []


def job_checks(prune: Sequence[RetentionPolicy], verify: Sequence[PbsVerifyJob]) -> list[Anomaly]:
    out: list[Anomaly] = []
    for p in prune:
        if p.enabled and not _ok_state(p.last_run_state):
            out.append(
                _a(
                    Severity.WARNING,
                    "pbs_prune_job_failed",
                    f"Prune job {p.source.split(':', 1)[1]} on {p.server}:{p.datastore} "
                    f"failed: {p.last_run_state}",
                    server=p.server,
                    job=p.source,
                    prune_job=p.source.split(":", 1)[1],
                    datastore=p.datastore,
                    state=p.last_run_state,
                )
            )
    for v in verify:
        if not _ok_state(v.last_run_state):
            out.append(
                _a(
                    Severity.WARNING,
                    "pbs_verify_job_failed",
                    f"Verification job {v.job_id} on {v.server}:{v.datastore} failed: "
                    f"{v.last_run_state}",
                    server=v.server,
                    job=v.job_id,
                    datastore=v.datastore,
                    state=v.last_run_state,
                )
            )
    return out


def retention_checks(
    receiving: Mapping[Location, RetentionPolicy | None], jobs_visible: frozenset[Location]
) -> list[Anomaly]:
    """`receiving`: locations that receive backups → the policy found (None: none)."""
    return [
        _a(
            Severity.WARNING,
            "pbs_no_retention",
            f"No prune job or retention setting applies to {loc.label}, which receives backups: "
            "it will grow until the datastore is full",
            location=loc.label,
        )
        for loc, policy in sorted(receiving.items(), key=lambda kv: kv[0])
        if policy is None and loc in jobs_visible
    ]


def verifying_locations(
    locations: Sequence[Location],
    verify: Sequence[PbsVerifyJob],
    stores: Sequence[PbsDatastore],
) -> frozenset[Location]:
    verify_new = {(d.server, d.name) for d in stores if d.verify_new}
    result = set()
    for loc in locations:
        if (loc.server, loc.datastore) in verify_new:
            result.add(loc)
            continue
        for job in verify:
            policy = RetentionPolicy(
                "", job.server, job.datastore, job.namespace, {}, None, True, job.max_depth
            )
            if covers(policy, loc):
                result.add(loc)
    return frozenset(result)

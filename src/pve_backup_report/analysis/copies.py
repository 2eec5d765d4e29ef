"""Off-site copies (3-2-1): follow each guest's backup group through sync jobs, and judge it.

Why a pure module: where a guest's copies are depends only on what was collected — the
locations its PVE jobs write to, every configured server's sync jobs and remotes, and the
snapshots read on each server — so the rules below are testable without HTTP.

Following (the semantics of `pbs-api-types` and `src/server/pull.rs`/`push.rs`):

- A **pull** job configured on server S copies *from* its remote (or, without a remote, from
  datastore `remote-store` of S itself: a local sync) at `remote-store`/`remote-ns` *to*
  `store`/`ns` on S. A **push** job (PBS 3.3+) copies from `store`/`ns` on S to the remote's
  `remote-store`/`remote-ns`.
- A remote is resolved to a configured server by host (case-insensitive; also the server's
  `PBSnn_ALIASES`) and port (8007 when unset), else by certificate fingerprint (only when
  exactly one configured server has it).
- A job covers a group in namespace N when N is the job's source namespace or below it, at most
  `max-depth` levels down (None: any depth; 0: the source namespace only); the copy lands in N
  with the source prefix replaced by the target namespace.
- `group-filter`: `type:<vm|ct|host>`, `group:<type>/<id>`, `regex:<re>` (searched in
  `<type>/<id>`), each optionally prefixed `include:` or `exclude:`. Included when there is no
  include filter or one matches, and no exclude filter matches.
- Copies of copies (A → B → C) are followed; a location is visited once (cycle guard).

Policy: at least `required` distinct locations holding a snapshot, and — when 2 or more are
required — one of them not on the guest's primary server (the server of its first PBS job).
Verdicts: `copies_ok`; `offsite_stale` (enough locations, but the newest off-site snapshot is
older than the guest's freshness threshold plus the schedule gaps of the sync jobs that carry
it); `offsite_unknown` (not enough *known* copies, and some copy or some server's sync list
could not be read or resolved — unknown, never "missing"); `single_copy` (not enough copies).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

from ..model import (
    Anomaly,
    CopiesVerdict,
    CopyKind,
    GuestCopies,
    GuestCopy,
    JSONScalar,
    PbsDatastore,
    PbsRemote,
    PbsSnapshot,
    PbsSyncJob,
    Severity,
)
from .calendar import max_interval
from .missed_runs import schedule_event
from .pbs_guests import Key, index_snapshots
from .pbs_match import DEFAULT_PBS_PORT, Location, fingerprint_key, in_scope, normalize_host

COMPONENT = "copies"


@dataclass(frozen=True)
class CopyPolicy:
    """`REPORT_MIN_COPIES` (default 2) with per-tag and per-pool overrides."""

    min_copies: int = 2
    tags: Mapping[str, int] = field(default_factory=dict)
    pools: Mapping[str, int] = field(default_factory=dict)
    lag_hours: float = 48.0  # off-site snapshots this much older than on-site: an anomaly
    full_ratio: float = 0.9  # a sync target datastore this full: an anomaly
    explicit: bool = False  # min_copies came from the configuration

    def required(self, tags: Sequence[str], pool: str | None) -> tuple[int, str]:
        """(minimum locations, rule): a tag override (largest wins), a pool, the global."""
        wanted = {k.lower(): v for k, v in self.tags.items()}  # tags compare case-insensitively
        by_tag = [(wanted[t.lower()], t.lower()) for t in tags if t.lower() in wanted]
        if by_tag:
            count, tag = max(by_tag)
            return count, f"tag:{tag}"
        if pool is not None and pool in self.pools:
            return self.pools[pool], f"pool:{pool}"
        return self.min_copies, "global" if self.explicit else "default"


@dataclass(frozen=True)
class ServerView:
    """What following needs to know about one configured server."""

    name: str
    host: str
    port: int
    fingerprint: str | None = None  # 64 lowercase hex
    aliases: tuple[str, ...] = ()
    reachable: bool = True
    sync_jobs: tuple[PbsSyncJob, ...] | None = None
    remotes: tuple[PbsRemote, ...] | None = None
    datastores: tuple[PbsDatastore, ...] = ()


@dataclass(frozen=True)
class PrimaryCopy:
    """Where one enabled PVE job of the guest writes."""

    location: Location
    job_id: str
    schedule: str | None = None


@dataclass(frozen=True)
class GuestSource:
    vmid: int
    backup_type: str  # vm | ct
    pve_copies: tuple[PrimaryCopy, ...]
    tags: tuple[str, ...] = ()
    pool: str | None = None
    max_age_hours: float | None = None  # the guest's freshness threshold


@dataclass(frozen=True)
class Edge:
    """A resolved sync job: source and target (None: the remote is not a configured server)."""

    job: PbsSyncJob
    source: Location | None
    target: Location | None
    remote_label: str | None = None  # host[:port] of an unresolved remote

    @property
    def kind(self) -> CopyKind:
        if self.job.direction == "push":
            return "sync_push"
        return "sync_pull" if self.job.remote else "sync_local"


@dataclass(frozen=True)
class SyncJobView:
    """A sync job for the report: where it copies from and to, and what it carries."""

    job: PbsSyncJob
    source: str  # "pbs01:store1/prod" or "remote host (not configured):store1/prod"
    target: str
    resolved: bool
    guests: tuple[int, ...]  # guests whose group it copies
    excluded: tuple[int, ...]  # guests in its source namespace its filter leaves out


@dataclass(frozen=True)
class CopiesResult:
    guests: dict[int, GuestCopies]
    jobs: tuple[SyncJobView, ...]
    anomalies: tuple[Anomaly, ...]
    complete: bool  # every configured server's sync jobs were read


# ------------------------------------------------------------------------- group filters
def parse_filter(text: str) -> tuple[bool, str, str]:
    """(exclude, kind, value) of one `group-filter` entry; raises ValueError if malformed."""
    exclude = False
    rest = text.strip()
    if rest.startswith("exclude:"):
        exclude, rest = True, rest[len("exclude:") :]
    elif rest.startswith("include:"):
        rest = rest[len("include:") :]
    kind, sep, value = rest.partition(":")
    if not sep or kind not in ("type", "group", "regex"):
        raise ValueError(f"unknown group filter {text!r}")
    if kind == "regex":
        try:
            re.compile(value)
        except re.error as error:
            raise ValueError(f"invalid regular expression in {text!r}: {error}") from None
    return exclude, kind, value


def filter_passes(filters: Sequence[str], backup_type: str, backup_id: str) -> bool:
    """PBS's rule: included by an include filter (or when there is none), excluded by none.
    Raises ValueError for a malformed filter."""
    group = f"{backup_type}/{backup_id}"
    parsed = [parse_filter(f) for f in filters]

    def hit(kind: str, value: str) -> bool:
        if kind == "type":
            return value == backup_type
        if kind == "group":
            return value == group
        return re.search(value, group) is not None

    includes = [(k, v) for exc, k, v in parsed if not exc]
    excludes = [(k, v) for exc, k, v in parsed if exc]
    included = not includes or any(hit(k, v) for k, v in includes)
    return included and not any(hit(k, v) for k, v in excludes)


# ------------------------------------------------------------------------- namespaces
def map_namespace(ns: str, source_ns: str, target_ns: str) -> str:
    rest = ns[len(source_ns) :].lstrip("/") if source_ns else ns
    return "/".join(part for part in (target_ns, rest) if part)


# ------------------------------------------------------------------------- remotes
def resolve_remote(remote: PbsRemote, servers: Sequence[ServerView]) -> str | None:
    """The configured server a remote points to (None: none, or ambiguous)."""
    host = normalize_host(remote.host)
    port = remote.port or DEFAULT_PBS_PORT
    for server in servers:
        if host == normalize_host(server.host) and port == server.port:
            return server.name
    for server in servers:
        if host in {normalize_host(a) for a in server.aliases}:
            return server.name
    fingerprint = fingerprint_key(remote.fingerprint)
    if fingerprint:
        found = [s.name for s in servers if fingerprint_key(s.fingerprint) == fingerprint]
        if len(found) == 1:
            return found[0]
    return None


def _remote_label(remote: PbsRemote | None, name: str) -> str:
    if remote is None:
        return name
    return remote.host + (f":{remote.port}" if remote.port else "")


def build_edges(servers: Sequence[ServerView]) -> tuple[list[Edge], list[Anomaly]]:
    """Every readable sync job with its source and target resolved (or not)."""
    edges: list[Edge] = []
    anomalies: list[Anomaly] = []
    warned: set[tuple[str, str]] = set()
    for server in servers:
        remotes = {r.name: r for r in server.remotes or ()}
        for job in server.sync_jobs or ():
            here = Location(server.name, job.store, job.ns)
            if job.remote is None:
                local = Location(server.name, job.remote_store, job.remote_ns)
                edges.append(Edge(job, local, here))
                continue
            remote = remotes.get(job.remote)
            resolved = resolve_remote(remote, servers) if remote else None
            label = _remote_label(remote, job.remote)
            unmatched = remote is not None or server.remotes is not None
            if resolved is None and unmatched and (server.name, job.remote) not in warned:
                warned.add((server.name, job.remote))
                anomalies.append(
                    Anomaly(
                        Severity.WARNING,
                        COMPONENT,
                        "sync_remote_unmatched",
                        f"PBS {server.name}: remote {job.remote} ({label}) matches no configured "
                        "PBSnn_* server: the copies of its sync jobs cannot be checked "
                        "(add a PBSnn_* block, or PBSnn_ALIASES naming this host)",
                        {"server": server.name, "remote": job.remote, "host": label},
                    )
                )
            there = None
            if resolved is not None:
                there = Location(resolved, job.remote_store, job.remote_ns)
            if job.direction == "push":
                edges.append(Edge(job, here, there, None if there else label))
            else:
                edges.append(Edge(job, there, here, None if there else label))
    return edges, anomalies


# ------------------------------------------------------------------------- gaps
@lru_cache(maxsize=512)
def schedule_gap(schedule: str | None, now: datetime) -> timedelta:
    """Largest gap between two runs of a schedule (UTC; zero when unknown or manual)."""
    event = schedule_event(schedule)
    if event is None:
        return timedelta(0)
    return max_interval(event, None, now) or timedelta(0)


# ------------------------------------------------------------------------- following
@dataclass
class _Trail:
    location: Location
    gap: timedelta  # sum of sync schedule gaps from the PVE job to here


def _copy(
    loc: Location,
    guest: GuestSource,
    primary: str,
    kind: CopyKind,
    via: str,
    schedule: str | None,
    index: Mapping[Key, list[PbsSnapshot]],
    listed: frozenset[Location],
    known_server: bool = True,
) -> GuestCopy:
    snaps = index.get((loc, guest.backup_type, str(guest.vmid)), [])
    latest = snaps[-1] if snaps else None
    return GuestCopy(
        server=loc.server,
        datastore=loc.datastore,
        namespace=loc.namespace,
        kind=kind,
        via=via,
        offsite=loc.server != primary,
        known=known_server and loc in listed,
        snapshots=len(snaps),
        latest=latest.backup_time if latest else None,
        verify_state=latest.verify_state if latest else None,
        schedule=schedule,
    )


def follow(
    guest: GuestSource,
    edges: Sequence[Edge],
    index: Mapping[Key, list[PbsSnapshot]],
    listed: frozenset[Location],
    now: datetime,
) -> tuple[list[GuestCopy], dict[str, timedelta], set[str], set[str]]:
    """All copies of one guest; the allowed extra age per copy (sync gaps along the way);
    the jobs that carry it; the jobs whose filter leaves it out."""
    primary = guest.pve_copies[0].location.server
    copies: list[GuestCopy] = []
    gaps: dict[str, timedelta] = {}
    carried: set[str] = set()
    excluded: set[str] = set()
    seen: set[Location] = set()
    queue: list[_Trail] = []
    for pve in guest.pve_copies:
        if pve.location in seen:
            continue
        seen.add(pve.location)
        copy = _copy(
            pve.location, guest, primary, "pve_job", pve.job_id, pve.schedule, index, listed
        )
        copies.append(copy)
        gaps[_key(copy)] = max(timedelta(0), schedule_gap(pve.schedule, now) * 1.25)
        queue.append(_Trail(pve.location, timedelta(0)))
    while queue:
        trail = queue.pop(0)
        here = trail.location
        for edge in edges:
            src, job = edge.source, edge.job
            if src is None or (src.server, src.datastore) != (here.server, here.datastore):
                continue
            if not in_scope(here.namespace, src.namespace, job.max_depth):
                continue
            name = f"{job.server}/{job.job_id}"
            try:
                passes = filter_passes(job.group_filter, guest.backup_type, str(guest.vmid))
            except ValueError:
                continue  # reported once per job by `job_anomalies`
            if not passes:
                excluded.add(name)
                continue
            carried.add(name)
            gap = trail.gap + schedule_gap(job.schedule, now)
            if edge.target is None:
                label = edge.remote_label or "?"
                ns = map_namespace(here.namespace, src.namespace, job.remote_ns)
                unknown = Location(label, job.remote_store, ns)
                if unknown not in seen:
                    seen.add(unknown)
                    copy = _copy(
                        unknown, guest, primary, edge.kind, name, job.schedule, index, listed,
                        known_server=False,
                    )  # fmt: skip
                    copies.append(copy)
                    gaps[_key(copy)] = gap
                continue
            target = Location(
                edge.target.server,
                edge.target.datastore,
                map_namespace(here.namespace, src.namespace, edge.target.namespace),
            )
            if target in seen:
                continue
            seen.add(target)
            copy = _copy(target, guest, primary, edge.kind, name, job.schedule, index, listed)
            copies.append(copy)
            gaps[_key(copy)] = gap
            queue.append(_Trail(target, gap))
    return copies, gaps, carried, excluded


def _key(copy: GuestCopy) -> str:
    return f"{copy.server}:{copy.datastore}/{copy.namespace}"


def _hours(delta: timedelta) -> float:
    return round(delta.total_seconds() / 3600, 2)


def judge(
    guest: GuestSource,
    copies: Sequence[GuestCopy],
    gaps: Mapping[str, timedelta],
    policy: CopyPolicy,
    now: datetime,
    unknown_elsewhere: bool,
) -> GuestCopies:
    """The copy policy's verdict for one guest (see the module docstring)."""
    required, source = policy.required(guest.tags, guest.pool)
    primary = guest.pve_copies[0].location.server
    good = [c for c in copies if c.known and c.snapshots > 0]
    places = {(c.server, c.datastore, c.namespace) for c in good}
    offsite = [c for c in good if c.offsite and c.latest is not None]
    newest = max(offsite, key=lambda c: c.latest or now) if offsite else None
    age = _hours(now - newest.latest) if newest and newest.latest else None
    threshold = None
    if newest is not None and guest.max_age_hours is not None:
        threshold = guest.max_age_hours + _hours(gaps.get(_key(newest), timedelta(0)))
    enough = len(places) >= required and (required < 2 or bool(offsite))
    verdict: CopiesVerdict
    if enough:
        fresh = [
            c
            for c in offsite
            if guest.max_age_hours is None
            or c.latest is None
            or _hours(now - c.latest)
            <= guest.max_age_hours + _hours(gaps.get(_key(c), timedelta(0)))
        ]
        if required >= 2 and not fresh:
            verdict = "offsite_stale"
            text = (
                f"{len(places)} location(s); the newest off-site copy ({_key(newest)}) is "
                f"{age} h old, more than the allowed {threshold} h"
                if newest is not None
                else f"{len(places)} location(s)"
            )
        else:
            verdict = "copies_ok"
            text = f"{len(places)} location(s), {len(offsite)} off-site (at least {required})"
    else:
        uncertain = unknown_elsewhere or any(not c.known for c in copies)
        verdict = "offsite_unknown" if uncertain else "single_copy"
        text = f"{len(places)} known location(s) of {required} required; " + (
            "a second server or sync list could not be read, so more copies may exist"
            if uncertain
            else "no copy on another server"
            if required >= 2 and len(places) >= required
            else "no second copy found on the configured backup servers"
        )
    return GuestCopies(
        vmid=guest.vmid,
        verdict=verdict,
        copies=tuple(copies),
        locations=len(places),
        required=required,
        policy_source=source,
        primary_server=primary,
        offsite_latest=newest.latest if newest else None,
        offsite_age_hours=age,
        max_age_hours=threshold,
        explanation=text,
    )


# ------------------------------------------------------------------------- anomalies
def job_anomalies(
    servers: Sequence[ServerView], edges: Sequence[Edge], policy: CopyPolicy
) -> list[Anomaly]:
    """Failed, never-run and manual-only jobs; malformed filters; nearly full targets."""
    out: list[Anomaly] = []
    stores = {(s.name, d.name): d for s in servers for d in s.datastores}
    for edge in edges:
        job = edge.job
        base: dict[str, JSONScalar] = {"server": job.server, "job": job.job_id}
        where = f"PBS {job.server}: sync job {job.job_id}"
        if job.last_run_ok is False:
            out.append(
                Anomaly(
                    Severity.WARNING,
                    COMPONENT,
                    "sync_job_failed",
                    f"{where}: last run failed: {job.last_run_state}",
                    {**base, "error_message": job.last_run_state},
                )
            )
        elif job.last_run_state is None and job.last_run_upid is None:
            out.append(
                Anomaly(
                    Severity.WARNING,
                    COMPONENT,
                    "sync_job_never_ran",
                    f"{where} has never run",
                    base,
                )
            )
        if not job.schedule:
            out.append(
                Anomaly(
                    Severity.INFO,
                    COMPONENT,
                    "sync_job_manual",
                    f"{where} has no schedule: it only runs by hand",
                    base,
                )
            )
        for text in job.group_filter:
            try:
                parse_filter(text)
            except ValueError:
                out.append(
                    Anomaly(
                        Severity.WARNING,
                        COMPONENT,
                        "sync_filter_invalid",
                        f"{where}: group filter {text!r} is not understood; its copies are "
                        "not followed",
                        {**base, "filter": text},
                    )
                )
        target = edge.target
        store = stores.get((target.server, target.datastore)) if target else None
        ratio = store.usage_ratio if store else None
        if target is not None and ratio is not None and ratio >= policy.full_ratio:
            out.append(
                Anomaly(
                    Severity.WARNING,
                    COMPONENT,
                    "sync_target_full",
                    f"{where} copies to {target.server}:{target.datastore}, which is "
                    f"{round(ratio * 100)}% full",
                    {
                        **base,
                        "target": f"{target.server}:{target.datastore}",
                        "percent": round(ratio * 100),
                    },
                )
            )
    return out


def analyse_copies(
    guests: Sequence[GuestSource],
    servers: Sequence[ServerView],
    snapshots: Sequence[PbsSnapshot],
    listed: frozenset[Location],
    policy: CopyPolicy,
    now: datetime,
) -> CopiesResult:
    """Follow and judge every guest that has at least one PBS copy from a PVE job."""
    edges, anomalies = build_edges(servers)
    anomalies += job_anomalies(servers, edges, policy)
    index = index_snapshots(snapshots)
    complete = all(s.reachable and s.sync_jobs is not None for s in servers)
    unresolved_pull = any(e.source is None for e in edges)
    carried_by: dict[str, list[int]] = {}
    excluded_by: dict[str, list[int]] = {}
    result: dict[int, GuestCopies] = {}
    for guest in sorted(guests, key=lambda g: g.vmid):
        if not guest.pve_copies:
            continue
        copies, gaps, carried, excluded = follow(guest, edges, index, listed, now)
        verdict = judge(guest, copies, gaps, policy, now, not complete or unresolved_pull)
        result[guest.vmid] = verdict
        for name in carried:
            carried_by.setdefault(name, []).append(guest.vmid)
        for name in excluded:
            excluded_by.setdefault(name, []).append(guest.vmid)
        anomalies += _lag(guest, copies, policy)
    views = []
    for edge in edges:
        name = f"{edge.job.server}/{edge.job.job_id}"
        views.append(
            SyncJobView(
                job=edge.job,
                source=_label(edge.source, edge),
                target=_label(edge.target, edge),
                resolved=edge.source is not None and edge.target is not None,
                guests=tuple(carried_by.get(name, ())),
                excluded=tuple(excluded_by.get(name, ())),
            )
        )
        if excluded_by.get(name):
            vmids = ", ".join(str(v) for v in excluded_by[name])
            anomalies.append(
                Anomaly(
                    Severity.WARNING,
                    COMPONENT,
                    "sync_filter_excludes",
                    f"PBS {edge.job.server}: sync job {edge.job.job_id} reads the namespace of "
                    f"guest(s) {vmids} but its group filter leaves them out",
                    {"server": edge.job.server, "job": edge.job.job_id, "vmids": vmids},
                )
            )
    views.sort(key=lambda v: (v.job.server, v.job.job_id))
    return CopiesResult(result, tuple(views), tuple(anomalies), complete)


def _label(loc: Location | None, edge: Edge) -> str:
    """`server:datastore/namespace`; for the unresolved end, the remote's host and its side."""
    if loc is not None:
        return loc.label
    job = edge.job
    return f"{edge.remote_label or job.remote}:{job.remote_store}/{job.remote_ns}"


def _lag(guest: GuestSource, copies: Sequence[GuestCopy], policy: CopyPolicy) -> list[Anomaly]:
    """Off-site snapshots lagging the on-site ones by more than `policy.lag_hours`."""
    onsite = [c.latest for c in copies if not c.offsite and c.known and c.latest]
    offsite = [c.latest for c in copies if c.offsite and c.known and c.latest]
    if not onsite or not offsite:
        return []
    lag = _hours(max(onsite) - max(offsite))
    if lag <= policy.lag_hours:
        return []
    return [
        Anomaly(
            Severity.WARNING,
            COMPONENT,
            "offsite_lag",
            f"Guest {guest.vmid}: the newest off-site copy is {lag} h older than the newest "
            f"on-site one (more than {policy.lag_hours:g} h)",
            {"vmid": guest.vmid, "lag_hours": lag, "threshold_hours": policy.lag_hours},
        )
    ]

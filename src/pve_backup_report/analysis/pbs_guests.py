"""Per-guest backup server results, orphaned groups and VMID collision/reuse detection.

Why "exactly the storage's namespace": a PBS group is keyed only by type and id inside a
namespace, so the same `vm/100` may exist in several namespaces (several clusters, or an old
layout). A guest's restore points are the snapshots in the namespace its PVE storage writes to;
snapshots found elsewhere are still listed (`other_namespaces`) so nothing is missed, but are not
counted. When the group's owner is not the storage's PBS user, or snapshot notes name another
guest, the group may belong to another cluster or to a deleted guest whose VMID was reused: it
is reported, never silently merged. See pbs-api.md §10.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ..model import (
    Anomaly,
    BackupJob,
    Guest,
    GuestPbs,
    Inventory,
    JSONScalar,
    PbsOrphan,
    PbsSnapshot,
    RetentionPolicy,
    Severity,
    Storage,
)
from .coverage import CoverageResult
from .pbs_match import Location, in_scope

GUEST_KIND = {"qemu": "vm", "lxc": "ct"}
NAME_LIKE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]*$")


@dataclass(frozen=True)
class PbsData:
    """Everything the analysis needs from the backup servers (and the PVE fallback)."""

    snapshots: Sequence[PbsSnapshot]
    listed: frozenset[Location]  # locations whose content was read completely
    retention: Sequence[RetentionPolicy] = ()
    sources: Mapping[Location, str] = field(default_factory=dict)  # "pbs" or "pve"


@dataclass(frozen=True)
class GuestDetail:
    pbs: GuestPbs
    locations: tuple[Location, ...]  # where its enabled PBS jobs write
    snapshots: tuple[PbsSnapshot, ...]  # finished snapshots there, oldest first
    listed: bool  # every location was readable


@dataclass(frozen=True)
class GuestsAnalysis:
    details: dict[int, GuestDetail]
    orphans: tuple[PbsOrphan, ...]
    anomalies: tuple[Anomaly, ...]


Key = tuple[Location, str, str]  # location, backup type, backup id


def index_snapshots(snapshots: Iterable[PbsSnapshot]) -> dict[Key, list[PbsSnapshot]]:
    """Finished snapshots per (location, type, id), oldest first."""
    result: dict[Key, list[PbsSnapshot]] = {}
    for snap in snapshots:
        if snap.in_progress:
            continue
        loc = Location(snap.server, snap.datastore, snap.namespace)
        result.setdefault((loc, snap.backup_type, snap.backup_id), []).append(snap)
    for items in result.values():
        items.sort(key=lambda s: s.backup_time)
    return result


def locations_by_guest(index: Mapping[Key, object]) -> dict[tuple[str, str], list[Location]]:
    """(backup type, backup id) → the locations holding snapshots of it, in index order.

    Why: looking a guest up by scanning every key of the index was guests × groups (minutes at
    10,000 guests); this is built once per run.
    """
    result: dict[tuple[str, str], list[Location]] = {}
    for loc, kind, bid in index:
        result.setdefault((kind, bid), []).append(loc)
    return result


def keep_options(raw: Mapping[str, str]) -> dict[str, int] | None:
    """PVE `prune-backups` → keep-* counts; None when nothing is pruned (absent, keep-all)."""
    if raw.get("keep-all") not in (None, "0"):
        return None
    keep = {
        k: int(v) for k, v in raw.items() if k.startswith("keep-") and v.isdigit() and int(v) > 0
    }
    return keep or None


def covers(policy: RetentionPolicy, loc: Location) -> bool:
    if (policy.server, policy.datastore) != (loc.server, loc.datastore):
        return False
    return in_scope(loc.namespace, policy.namespace or "", policy.max_depth)


def applicable_retention(
    loc: Location,
    policies: Sequence[RetentionPolicy],
    storage: Storage | None,
    jobs: Sequence[BackupJob] = (),
) -> RetentionPolicy | None:
    """The PBS prune job (most specific enabled one with keep options), else the PVE job's
    `prune-backups`, else the PVE storage's."""
    active = [p for p in policies if p.enabled and p.keep and covers(p, loc)]
    if active:
        return max(active, key=lambda p: (len(p.namespace or ""), p.source))
    for job in jobs:
        keep = keep_options(job.retention)
        if keep:
            return RetentionPolicy(
                f"pve-job:{job.job_id}",
                loc.server,
                loc.datastore,
                loc.namespace,
                keep,
                job.schedule,
            )
    if storage is not None:
        keep = keep_options(storage.retention)
        if keep:
            return RetentionPolicy(
                f"pve-storage:{storage.storage_id}", loc.server, loc.datastore, loc.namespace, keep
            )
    return None


def collision_reason(
    guest: Guest, snaps: Sequence[PbsSnapshot], expected_owner: str | None
) -> str | None:
    """Why `snaps` (one group) may not all belong to `guest`, or None."""
    return collision_facts(guest, snaps, expected_owner)[0]


def collision_facts(
    guest: Guest, snaps: Sequence[PbsSnapshot], expected_owner: str | None
) -> tuple[str | None, dict[str, JSONScalar]]:
    """`collision_reason`, and the same facts as anomaly details (for translated messages)."""
    reasons: list[str] = []
    facts: dict[str, JSONScalar] = {}
    owners = sorted({s.owner for s in snaps if s.owner})
    if expected_owner and owners and owners != [expected_owner]:
        reasons.append(
            f"the group is owned by {', '.join(owners)}, not by the storage's user {expected_owner}"
        )
        facts.update(owners=", ".join(owners), expected_owner=expected_owner)
    if guest.name:
        foreign: dict[str, int] = {}
        for snap in snaps:
            note = (snap.comment or "").strip()
            if note and NAME_LIKE_RE.match(note) and note.lower() != guest.name.lower():
                foreign[note] = foreign.get(note, 0) + 1
        if foreign:
            names = ", ".join(
                f"'{n}' ({c} snapshot{'s' if c > 1 else ''})" for n, c in sorted(foreign.items())
            )
            reasons.append(f"snapshot notes name {names} while the guest is '{guest.name}'")
            facts.update(
                notes=", ".join(f"'{n}'" for n in sorted(foreign)),
                note_snapshots=sum(foreign.values()),
                guest_name=guest.name,
            )
    return "; ".join(reasons) or None, facts


def _guest_storages(
    vmid: int, coverage: CoverageResult, locations: Mapping[str, Location]
) -> tuple[list[str], list[str]]:
    """(storages of its enabled PBS jobs, storages of its other PBS job references)."""
    cov = coverage.guests.get(vmid)
    refs = cov.jobs if cov else ()
    pbs = {r.storage for r in refs if r.target == "pbs" and r.storage in locations}
    rest = {r.storage for r in refs if r.storage in locations and r.storage not in pbs}
    return sorted(s for s in pbs if s), sorted(s for s in rest if s)


def analyse_guests(
    inventory: Inventory,
    coverage: CoverageResult,
    locations: Mapping[str, Location],
    data: PbsData,
) -> GuestsAnalysis:
    index = index_snapshots(data.snapshots)
    where = locations_by_guest(index)
    details: dict[int, GuestDetail] = {}
    anomalies: list[Anomaly] = []
    cluster_locations = sorted(set(locations.values()))
    for guest in inventory.guests:
        kind, bid = GUEST_KIND[guest.type], str(guest.vmid)
        primary, other = _guest_storages(guest.vmid, coverage, locations)
        storages = primary or [s for s in other if (locations[s], kind, bid) in index]
        if not storages:
            storages = sorted(sid for sid, loc in locations.items() if (loc, kind, bid) in index)
        locs = tuple(dict.fromkeys(locations[s] for s in storages))
        snaps = sorted(
            (s for loc in locs for s in index.get((loc, kind, bid), [])),
            key=lambda s: s.backup_time,
        )
        elsewhere = sorted({loc.label for loc in where.get((kind, bid), ()) if loc not in locs})
        if not snaps and not storages and not elsewhere:
            continue
        latest = snaps[-1] if snaps else None
        loc_of_latest = (
            Location(latest.server, latest.datastore, latest.namespace) if latest else None
        )
        main_loc = loc_of_latest or (locs[0] if locs else None)
        storage_id = next((s for s in storages if locations[s] == main_loc), None)
        storage = inventory.storage(storage_id)
        jobs = _jobs_for(inventory, coverage, guest.vmid, storage_id)
        retention = (
            applicable_retention(main_loc, data.retention, storage, jobs) if main_loc else None
        )
        reason: str | None = None
        facts: dict[str, JSONScalar] = {}
        for loc in locs:
            sid = next(s for s in storages if locations[s] == loc)
            owned = inventory.storage(sid)
            owner = owned.username if owned else None
            if reason is None:
                reason, facts = collision_facts(guest, index.get((loc, kind, bid), []), owner)
        if reason:
            anomalies.append(_collision(guest, reason, main_loc, facts))
        listed = all(loc in data.listed for loc in locs)
        pbs = GuestPbs(
            vmid=guest.vmid,
            latest_snapshot=latest,
            restore_points=len(snaps) if listed else None,  # unknown is not zero
            oldest_snapshot_time=snaps[0].backup_time if snaps else None,
            retention=retention,
            other_namespaces=tuple(elsewhere),
            storages=tuple(storages),
            source=data.sources.get(main_loc, "pbs") if main_loc else "pbs",
            collision=reason,
        )
        details[guest.vmid] = GuestDetail(pbs, locs if primary else (), tuple(snaps), listed)
    orphans, extra = find_orphans(inventory, cluster_locations, index, data.listed)
    anomalies.extend(extra)
    return GuestsAnalysis(details, orphans, tuple(anomalies))


def _jobs_for(
    inventory: Inventory, coverage: CoverageResult, vmid: int, storage_id: str | None
) -> list[BackupJob]:
    cov = coverage.guests.get(vmid)
    ids = {r.job_id for r in cov.jobs if r.storage == storage_id and r.enabled} if cov else set()
    return [j for j in inventory.jobs or () if j.job_id in ids]


def _collision(
    guest: Guest, reason: str, loc: Location | None, facts: Mapping[str, JSONScalar]
) -> Anomaly:
    """`facts`: the reason as details (see `collision_facts`), for translated messages."""
    where = f" on {loc.label}" if loc else ""
    return Anomaly(
        Severity.WARNING,
        "pbs",
        "pbs_vmid_collision",
        f"Guest {guest.vmid}: its backup group{where} may belong to another guest with the same "
        f"VMID (another cluster, or a deleted guest whose VMID was reused): {reason}",
        {"vmid": guest.vmid, "location": loc.label if loc else None, **facts},
    )


def find_orphans(
    inventory: Inventory,
    cluster_locations: Sequence[Location],
    index: Mapping[Key, list[PbsSnapshot]],
    listed: frozenset[Location],
) -> tuple[tuple[PbsOrphan, ...], list[Anomaly]]:
    """Groups in the cluster's namespaces whose type/id matches no current guest."""
    if not inventory.guests:  # guest list unreadable: everything would look orphaned
        return (), []
    guests = {g.vmid: g for g in inventory.guests}
    orphans: list[PbsOrphan] = []
    anomalies: list[Anomaly] = []
    for (loc, kind, bid), snaps in sorted(index.items()):
        if loc not in cluster_locations or loc not in listed or kind not in ("vm", "ct"):
            continue
        if not bid.isdigit():
            continue
        guest = guests.get(int(bid))
        if guest is not None and GUEST_KIND[guest.type] == kind:
            continue
        latest = snaps[-1]
        sizes = [s.size_bytes for s in snaps if s.size_bytes is not None]
        orphans.append(
            PbsOrphan(
                loc.server,
                loc.datastore,
                loc.namespace,
                kind,
                bid,
                latest.backup_time,
                sum(sizes) if sizes else None,
                latest.comment,
            )
        )
        if guest is not None:
            reason = f"group {kind}/{bid} exists but guest {bid} is now a {guest.type} guest"
            facts = {"group": f"{kind}/{bid}", "guest_type": guest.type}
            anomalies.append(_collision(guest, reason, loc, facts))
    return tuple(orphans), anomalies

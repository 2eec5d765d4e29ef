"""Glue between the backup server collection and the off-site copy analysis.

Why here: `analysis/copies.py` is pure and takes plain views; this module builds them from
what `collect_pbs` already has (settings with aliases and fingerprints, the storage matches,
each guest's enabled PBS jobs in coverage order, freshness thresholds, every snapshot read).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from ..analysis.copies import (
    CopiesResult,
    CopyPolicy,
    GuestSource,
    PrimaryCopy,
    ServerView,
    analyse_copies,
)
from ..analysis.coverage import CoverageResult
from ..analysis.pbs_guests import GUEST_KIND
from ..analysis.pbs_match import Location, PbsEndpoint, StorageMatch, locations_by_storage
from ..config_pbs import PbsSettings
from ..model import GuestEvidence, Inventory
from .pbs import PbsServerData
from .pve_backup_content import FallbackResult


def guest_sources(
    inventory: Inventory,
    coverage: CoverageResult,
    evidence: Mapping[int, GuestEvidence] | None,
    locations: Mapping[str, Location],
) -> list[GuestSource]:
    """Each guest's PBS copies written by its enabled PVE jobs (first job = primary)."""
    out: list[GuestSource] = []
    for guest in inventory.guests:
        cov = coverage.guests.get(guest.vmid)
        if cov is None:
            continue
        pve = tuple(
            PrimaryCopy(locations[ref.storage], ref.job_id, ref.schedule)
            for ref in cov.jobs
            if ref.enabled and ref.target == "pbs" and ref.storage and ref.storage in locations
        )
        ev = evidence.get(guest.vmid) if evidence else None
        fresh = ev.freshness if ev else None
        out.append(
            GuestSource(
                vmid=guest.vmid,
                backup_type=GUEST_KIND[guest.type],
                pve_copies=pve,
                tags=guest.tags,
                pool=guest.pool,
                max_age_hours=fresh.max_age_hours if fresh else None,
            )
        )
    return out


def offsite_copies(
    settings: Sequence[PbsSettings],
    endpoints: Sequence[PbsEndpoint],
    inventory: Inventory,
    coverage: CoverageResult,
    evidence: Mapping[int, GuestEvidence] | None,
    matches: Mapping[str, StorageMatch],
    servers: Sequence[PbsServerData],
    fallback: FallbackResult,
    now: datetime,
    policy: CopyPolicy,
) -> CopiesResult:
    """Follow every guest's copies through the sync jobs of all configured servers."""
    fingerprints = {e.name: e.fingerprint for e in endpoints}
    data = {d.info.name: d for d in servers}
    views = []
    for s in settings:
        info = data[s.name].info if s.name in data else None
        views.append(
            ServerView(
                name=s.name,
                host=s.host,
                port=s.port,
                fingerprint=fingerprints.get(s.name) or s.fingerprint,
                aliases=s.aliases,
                reachable=bool(info and info.reachable),
                sync_jobs=info.sync_jobs if info else None,
                remotes=info.remotes if info else None,
                datastores=info.datastores if info else (),
            )
        )
    locations = {**locations_by_storage(matches), **fallback.locations}
    snapshots = [snap for d in servers for snap in d.snapshots] + list(fallback.snapshots)
    listed = {Location(d.info.name, ds, ns) for d in servers for ds, ns in d.listed}
    listed |= set(fallback.listed)
    guests = guest_sources(inventory, coverage, evidence, locations)
    return analyse_copies(guests, views, snapshots, frozenset(listed), policy, now)

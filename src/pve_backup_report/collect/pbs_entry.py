"""Entry point of the backup server part: collect every configured PBS, match, analyse.

Why one function: the CLI only has to hand over the settings, the PVE inventory and coverage,
the task-log evidence and its PVE client; everything PBS-specific (one read-only client per
server, fingerprint matching, the PVE storage-content fallback for storages no PBS block
serves, per-guest results, orphans, anomalies) stays behind this call. Servers are collected
concurrently; within a server the client's semaphore bounds concurrency.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from ..analysis.copies import CopiesResult, CopyPolicy
from ..analysis.coverage import CoverageResult
from ..analysis.pbs_checks import (
    PbsThresholds,
    datastore_checks,
    guest_checks,
    job_checks,
    reconcile,
    retention_checks,
    unencrypted_checks,
    verifying_locations,
)
from ..analysis.pbs_guests import (
    PbsData,
    analyse_guests,
    applicable_retention,
    index_snapshots,
)
from ..analysis.pbs_match import (
    Location,
    PbsEndpoint,
    StorageMatch,
    locations_by_storage,
    match_storages,
    needs_fingerprint,
)
from ..api.client import ClientConfig, ReadOnlyClient, pbs_authorization
from ..api.errors import ApiError
from ..config_pbs import PbsSettings
from ..model import (
    Anomaly,
    GuestEvidence,
    GuestPbs,
    Inventory,
    PbsOrphan,
    PbsServerInfo,
    Severity,
)
from .pbs import PbsServerData, collect_pbs_server
from .pbs_cert import peer_fingerprint
from .pbs_copies import offsite_copies
from .pbs_sync import collect_sync
from .pve_backup_content import FallbackResult, collect_pve_backup_content


@dataclass(frozen=True)
class PbsResult:
    guests: dict[int, GuestPbs]
    orphans: tuple[PbsOrphan, ...]
    servers: tuple[PbsServerInfo, ...]
    matches: dict[str, StorageMatch]
    anomalies: tuple[Anomaly, ...]
    request_count: int
    copies: CopiesResult | None = None  # None: no backup server configured


def pbs_client_config(
    s: PbsSettings, timeout: float = 30.0, max_concurrency: int = 4, retries: int = 2
) -> ClientConfig:
    return ClientConfig(
        base_urls=(s.api_url,),
        authorization=pbs_authorization(s.token_id, s.token_secret),
        verify_tls=s.verify_tls,
        ca_bundle=s.ca_bundle,
        fingerprint=s.fingerprint,
        timeout=timeout,
        max_concurrency=max_concurrency,
        retries=retries,
        allow_http=s.allow_insecure_http,
        name=s.name,
    )


async def _server(
    s: PbsSettings,
    fingerprint: str | None,
    wanted: Mapping[str, set[str]],
    options: tuple[float, int, int],
) -> tuple[PbsServerData, int]:
    try:
        client = ReadOnlyClient(pbs_client_config(s, *options))
    except (OSError, ssl.SSLError, ValueError, ApiError) as error:  # e.g. an unusable CA file
        info = PbsServerInfo(s.name, s.api_url, reachable=False, fingerprint=fingerprint)
        anomaly = Anomaly(
            Severity.CRITICAL,
            "pbs",
            "pbs_client_error",
            f"PBS {s.name}: cannot set up the HTTPS client ({type(error).__name__}); "
            f"check {s.prefix}_CA_BUNDLE and {s.prefix}_API_URL",
            {"server": s.name, "error_type": type(error).__name__, "prefix": s.prefix},
        )
        return PbsServerData(info, anomalies=[anomaly]), 0
    async with client:
        data = await collect_pbs_server(client, s.name, s.api_url, fingerprint, wanted)
        if data.info.reachable:
            sync = await collect_sync(client, s.name, data.info.version, data.info.permissions)
            data.info = replace(data.info, sync_jobs=sync.jobs, remotes=sync.remotes)
            data.anomalies.extend(sync.anomalies)
        return data, client.request_count


async def _endpoints(
    settings: Sequence[PbsSettings], inventory: Inventory, timeout: float
) -> list[PbsEndpoint]:
    endpoints = [PbsEndpoint(s.name, s.host, s.port, s.fingerprint, s.storages) for s in settings]
    if not needs_fingerprint(inventory.storages, endpoints):
        return endpoints
    seen = await asyncio.gather(
        *(peer_fingerprint(e.host, e.port, min(timeout, 10.0)) for e in endpoints)
    )
    return [
        e if e.fingerprint else replace(e, fingerprint=fp)
        for e, fp in zip(endpoints, seen, strict=True)
    ]


def _pbs_storages_in_use(coverage: CoverageResult) -> set[str]:
    return {
        ref.storage
        for cov in coverage.guests.values()
        for ref in cov.jobs
        if ref.target == "pbs" and ref.storage
    }


async def collect_pbs(
    settings: list[PbsSettings],
    inventory: Inventory,
    coverage: CoverageResult,
    evidence: Mapping[int, GuestEvidence] | None,
    pve_client: Any,
    *,
    now: datetime,
    thresholds: PbsThresholds | None = None,
    timeout: float = 30.0,
    max_concurrency: int = 4,
    retries: int = 2,
    copy_policy: CopyPolicy | None = None,
) -> PbsResult:
    """Collect and analyse every configured PBS; `pve_client` (a Getter) serves the fallback
    for PBS storages no block serves (None: no fallback)."""
    th = thresholds or PbsThresholds()
    endpoints = await _endpoints(settings, inventory, timeout)
    fingerprints = {e.name: e.fingerprint for e in endpoints}
    matches = match_storages(inventory.storages, endpoints)
    wanted: dict[str, dict[str, set[str]]] = {}
    for match in matches.values():
        if match.location is not None:
            loc = match.location
            wanted.setdefault(loc.server, {}).setdefault(loc.datastore, set()).add(loc.namespace)
    options = (timeout, max_concurrency, retries)
    collected = await asyncio.gather(
        *(_server(s, fingerprints[s.name], wanted.get(s.name, {}), options) for s in settings)
    )
    anomalies: list[Anomaly] = []
    requests = sum(count for _, count in collected)
    servers = [data for data, _ in collected]
    for data in servers:
        anomalies.extend(data.anomalies)
    in_use = _pbs_storages_in_use(coverage)
    unmatched = sorted(sid for sid, m in matches.items() if m.location is None and sid in in_use)
    fallback = FallbackResult()
    if unmatched and pve_client is not None:
        before = getattr(pve_client, "request_count", 0)
        fallback = await collect_pve_backup_content(pve_client, inventory, unmatched)
        requests += getattr(pve_client, "request_count", 0) - before
        anomalies.extend(fallback.anomalies)
    for sid in unmatched:
        anomalies.append(
            Anomaly(
                Severity.INFO,
                "pbs",
                "pbs_storage_not_configured",
                f"PBS storage {sid} (server {matches[sid].server_host}) matches no configured "
                "PBSnn_* block"
                + (
                    "; its backups were read through PVE"
                    if pve_client is not None
                    else "; its backups are not checked"
                ),
                {
                    "storage": sid,
                    "server_host": matches[sid].server_host,
                    "read_through_pve": pve_client is not None,
                },
            )
        )
    result = _analyse(
        inventory, coverage, evidence, matches, servers, fallback, anomalies, requests, now, th
    )
    if not settings:
        return result
    copies = offsite_copies(
        settings, endpoints, inventory, coverage, evidence, matches, servers, fallback, now,
        copy_policy or CopyPolicy(),
    )  # fmt: skip
    return replace(result, copies=copies, anomalies=result.anomalies + copies.anomalies)


def _analyse(
    inventory: Inventory,
    coverage: CoverageResult,
    evidence: Mapping[int, GuestEvidence] | None,
    matches: dict[str, StorageMatch],
    servers: list[PbsServerData],
    fallback: FallbackResult,
    anomalies: list[Anomaly],
    requests: int,
    now: datetime,
    th: PbsThresholds,
) -> PbsResult:
    locations = {**locations_by_storage(matches), **fallback.locations}
    snapshots = [s for d in servers for s in d.snapshots] + fallback.snapshots
    listed = {Location(d.info.name, ds, ns) for d in servers for ds, ns in d.listed}
    listed |= fallback.listed
    retention = [r for d in servers for r in d.info.retention]
    verify = [v for d in servers for v in d.info.verify_jobs]
    stores = [ds for d in servers for ds in d.info.datastores]
    sources = dict.fromkeys(fallback.locations.values(), "pve")
    data = PbsData(snapshots, frozenset(listed), retention, sources)
    result = analyse_guests(inventory, coverage, locations, data)
    anomalies.extend(result.anomalies)
    for sid, match in sorted(matches.items()):
        loc = match.location
        server = next((d for d in servers if loc and d.info.name == loc.server), None)
        if (
            loc
            and server
            and server.info.reachable
            and server.info.datastores
            and not any(ds.name == loc.datastore for ds in server.info.datastores)
        ):
            anomalies.append(
                Anomaly(
                    Severity.WARNING,
                    "pbs",
                    "pbs_datastore_missing",
                    f"PBS storage {sid} uses datastore {loc.datastore}, which "
                    f"{loc.server} does not show to the token",
                    {"storage": sid, "server": loc.server, "datastore": loc.datastore},
                )
            )
    in_use = _pbs_storages_in_use(coverage)
    receiving: dict[Location, Any] = {}
    for sid in sorted(in_use & set(locations)):
        loc = locations[sid]
        jobs = [j for j in inventory.jobs or () if j.enabled and j.storage == sid]
        policy = applicable_retention(loc, retention, inventory.storage(sid), jobs)
        receiving[loc] = receiving.get(loc) or policy
    visible = frozenset(
        Location(d.info.name, ds.name, loc.namespace)
        for d in servers
        for ds in d.info.datastores
        for loc in receiving
        if loc.server == d.info.name and loc.datastore == ds.name and ds.name in d.jobs_visible
    )
    verifying = verifying_locations(sorted(set(locations.values())), verify, stores)
    # verification jobs unknown: never say "no verification job covers it", only what the
    # snapshots themselves show (not verified recently)
    unknown = {d.info.name for d in servers if d.verify_unknown}
    verifying |= frozenset(loc for loc in locations.values() if loc.server in unknown)
    anomalies += guest_checks(coverage, result.details, evidence, verifying, now, th)
    anomalies += unencrypted_checks(result.details, th)
    anomalies += reconcile(evidence, locations, index_snapshots(snapshots), frozenset(listed))
    anomalies += datastore_checks(stores, now, th)
    anomalies += job_checks(retention, verify)
    anomalies += retention_checks(receiving, visible)
    return PbsResult(
        guests={vmid: d.pbs for vmid, d in sorted(result.details.items())},
        orphans=result.orphans,
        servers=tuple(d.info for d in servers),
        matches=matches,
        anomalies=tuple(anomalies),
        request_count=requests,
    )

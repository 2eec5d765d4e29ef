"""`--check-api` for each configured Proxmox Backup Server: probe what the report reads.

Why separate probes: like the PVE check, every probe runs and reports on its own, so one run
tells the administrator everything a PBS token is missing. A server that cannot be reached or
refuses the token is reported once, with a hint, instead of one failure per endpoint.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from ..api.client import ReadOnlyClient
from ..api.errors import ApiError, AuthenticationError, PermissionDenied, TransportError
from ..collect.base import Getter
from ..collect.pbs_entry import pbs_client_config
from ..config_pbs import PbsSettings
from .check_api import Probe, ProbeResult, wrong_shape

AUDIT_HINT = (
    "give the PBS user AND its token role Audit on / (or DatastoreAudit on /datastore): a "
    "token's privileges are its own ACL intersected with its user's"
)


def _count(data: Any) -> int:
    if isinstance(data, list | dict):
        return len(data)
    return 1 if data is not None else 0


async def _probe(client: Getter, probe: Probe) -> ProbeResult:
    try:
        response = await client.get(probe.path, probe.params)
    except PermissionDenied as error:
        return ProbeResult(probe, False, error=error.message, hint=AUDIT_HINT)
    except AuthenticationError as error:
        hint = f"check {probe.name.split(':')[0]}'s PBSnn_API_TOKEN_ID and PBSnn_API_TOKEN_SECRET"
        return ProbeResult(probe, False, error=error.message, hint=hint)
    except TransportError as error:
        hint = "check PBSnn_API_URL (https://host:8007), the firewall and the TLS settings"
        return ProbeResult(probe, False, error=error.message, hint=hint)
    except ApiError as error:
        return ProbeResult(probe, False, error=error.message)
    problem = wrong_shape(probe, response.data)
    if problem is not None:
        return ProbeResult(probe, False, error=problem)
    return ProbeResult(probe, True, count=_count(response.data), data=response.data)


async def check_pbs_server(client: Getter, name: str) -> list[ProbeResult]:
    """Version first (stop there if it fails), then the lists, then one snapshot listing."""
    prefix = f"PBS {name}"
    version = await _probe(client, Probe(f"{prefix}: version", "/version", shape="object"))
    if not version.ok:
        return [version]
    probes = [
        Probe(f"{prefix}: datastores", "/admin/datastore"),
        Probe(f"{prefix}: datastore usage", "/status/datastore-usage"),
        Probe(f"{prefix}: prune jobs", "/admin/prune"),
        Probe(f"{prefix}: verification jobs", "/admin/verify"),
        Probe(f"{prefix}: token permissions", "/access/permissions", shape="object"),
        Probe(f"{prefix}: sync jobs", "/admin/sync"),
        Probe(f"{prefix}: remotes", "/config/remote"),
    ]
    results = [version, *await asyncio.gather(*(_probe(client, p) for p in probes))]
    results += _remote_audit(prefix, results[5])
    stores = results[1].data if results[1].ok and isinstance(results[1].data, list) else []
    names = sorted(str(s.get("store")) for s in stores if isinstance(s, dict) and s.get("store"))
    if not names:
        results.append(
            ProbeResult(
                Probe(f"{prefix}: snapshots", "/admin/datastore/{store}/snapshots"),
                False,
                error="no datastore visible to the token",
                hint=AUDIT_HINT,
            )
        )
        return results
    store = names[0]
    results += await asyncio.gather(
        _probe(
            client, Probe(f"{prefix}: namespaces of {store}", f"/admin/datastore/{store}/namespace")
        ),
        _probe(
            client,
            Probe(
                f"{prefix}: snapshots of {store} (root namespace)",
                f"/admin/datastore/{store}/snapshots",
            ),
        ),
    )
    return results


REMOTE_HINT = (
    "give the PBS user AND its token role RemoteAudit on /remote: without Remote.Audit PBS "
    "silently hides sync jobs and remotes, so off-site copies cannot be followed"
)


def _remote_audit(prefix: str, permissions: ProbeResult) -> list[ProbeResult]:
    """Sync jobs and remotes are filtered silently: an empty list proves nothing, so the
    token's own permissions tell whether it may see them."""
    data = permissions.data if permissions.ok and isinstance(permissions.data, dict) else None
    if data is None:
        return []
    seen = any(
        isinstance(privs, dict) and "Remote.Audit" in privs
        for path, privs in data.items()
        if path == "/remote" or str(path).startswith("/remote/")
    )
    probe = Probe(f"{prefix}: Remote.Audit on /remote (sync jobs, remotes)", "/access/permissions")
    if seen:
        return [ProbeResult(probe, True, count=1)]
    return [ProbeResult(probe, False, error="missing Remote.Audit", hint=REMOTE_HINT)]


async def check_pbs(settings: Sequence[PbsSettings], *, timeout: float = 30.0) -> list[ProbeResult]:
    """Probe every configured server (concurrently); results in configuration order."""

    async def one(s: PbsSettings) -> list[ProbeResult]:
        async with ReadOnlyClient(pbs_client_config(s, timeout, retries=0)) as client:
            return await check_pbs_server(client, s.name)

    per_server = await asyncio.gather(*(one(s) for s in settings))
    return [result for results in per_server for result in results]

"""Collect one Proxmox Backup Server: version, datastores, usage, GC, namespaces, groups,
snapshots, prune and verification jobs, and the token's effective permissions.

Why this shape: PBS is the only source that knows whether a snapshot *exists now*, so every
endpoint failure becomes an anomaly and collection goes on with what is readable (one
unreadable namespace must not hide the others; an unreachable server must not stop the
report). Requests run concurrently; the client's semaphore bounds them. Permission failures
name the privilege PBS requires for that endpoint (pbs-api.md §4.5), because the client only
keeps the status line of PBS's plain-text errors.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..api.client import ApiResponse
from ..api.errors import (
    UNEXPECTED_RESPONSE,
    ApiError,
    AuthenticationError,
    PermissionDenied,
    TransportError,
)
from ..model import (
    Anomaly,
    PbsDatastore,
    PbsGcStatus,
    PbsServerInfo,
    PbsSnapshot,
    Severity,
)
from .base import Collector, Getter, Shape, anomaly_code, check_shape, error_details
from .parse import as_str
from .pbs_parse import (
    PbsGroup,
    effective_privileges,
    epoch,
    parse_gc,
    parse_group,
    parse_prune_job,
    parse_snapshot,
    parse_verify_job,
)

COMPONENT = "pbs"
LIST_PRIVS = "Datastore.Audit|Datastore.Backup"
T = TypeVar("T")


@dataclass
class PbsServerData:
    """Everything read from one server (raw enough for matching and per-guest analysis)."""

    info: PbsServerInfo
    snapshots: list[PbsSnapshot] = field(default_factory=list)
    groups: list[PbsGroup] = field(default_factory=list)
    listed: set[tuple[str, str]] = field(default_factory=set)  # (datastore, ns) read fully
    owner_filtered: set[str] = field(default_factory=set)  # datastores: Backup without Audit
    jobs_visible: set[str] = field(default_factory=set)  # datastores whose jobs the token sees
    verify_unknown: bool = False  # the verification job list could not be read
    anomalies: list[Anomaly] = field(default_factory=list)


def ns_path(store: str, ns: str = "") -> str:
    return f"/datastore/{store}" + (f"/{ns}" if ns else "")


class _ServerCollector(Collector):
    def __init__(self, client: Getter, name: str) -> None:
        super().__init__(client)
        self.name = name
        self.wanted: dict[str, set[str]] = {}

    def denied(
        self,
        what: str,
        path: str,
        privileges: str,
        error: ApiError,
        where: Mapping[str, str] | None = None,
    ) -> None:
        details = error_details(error)
        details.update(where or {})
        details.update(server=self.name, acl_path=path, missing_privilege=privileges)
        self.add(
            Severity.WARNING,
            COMPONENT,
            "pbs_permission_denied",
            f"PBS {self.name}: the token cannot {what}: it needs {privileges} on {path}",
            **details,
        )

    async def get(
        self,
        path: str,
        params: Mapping[str, str | int] | None,
        what: str,
        acl: tuple[str, str],
        *,
        expect: Shape,
        where: Mapping[str, str] | None = None,
    ) -> ApiResponse | None:
        """The answer, or None after an anomaly naming the server (and ``where``: the
        datastore and namespace read); an answer of the wrong shape counts as unreadable."""
        try:
            return check_shape(await self.client.get(path, params), path, expect)
        except PermissionDenied as error:
            self.denied(what, acl[0], acl[1], error, where)
        except ApiError as error:
            details = {**(where or {}), **error_details(error)}
            details["server"] = self.name
            self.add(
                Severity.WARNING,
                COMPONENT,
                anomaly_code(error, "pbs_request_failed"),
                f"PBS {self.name}: cannot {what}: {error.endpoint} {error.message}"
                if isinstance(error, UNEXPECTED_RESPONSE)
                else f"PBS {self.name}: cannot {what}: {error.message}",
                **details,
            )
        return None

    def items(self, response: ApiResponse | None, path: str) -> list[dict[str, Any]]:
        return self.expect_list(response, COMPONENT, path)


async def _both(a: Awaitable[T], b: Awaitable[T]) -> tuple[T, T]:
    first, second = await asyncio.gather(a, b)
    return first, second


async def collect_pbs_server(
    client: Getter,
    name: str,
    api_url: str,
    fingerprint: str | None = None,
    wanted: Mapping[str, set[str]] | None = None,
) -> PbsServerData:
    """Read one PBS. Never raises for API errors: they become anomalies.

    `wanted` maps datastores to namespaces PVE storages write to: they are read even when the
    namespace listing does not show them, so a missing privilege is reported, not hidden.
    """
    col = _ServerCollector(client, name)
    col.wanted = dict(wanted or {})
    try:
        version = check_shape(await client.get("/version"), "/version", "object")
    except (TransportError, AuthenticationError) as error:
        unreachable = isinstance(error, TransportError)
        details = error_details(error)
        details["server"] = name
        col.add(
            Severity.CRITICAL,
            COMPONENT,
            "pbs_unreachable" if unreachable else "pbs_authentication_failed",
            (
                f"PBS {name} cannot be reached: {error.message}; its backups are not checked"
                if unreachable
                else f"PBS {name} refused the API token (PBSnn_API_TOKEN_ID/SECRET): "
                f"{error.message}; its backups are not checked"
            ),
            **details,
        )
        info = PbsServerInfo(name, api_url, reachable=False, fingerprint=fingerprint)
        return PbsServerData(info, anomalies=col.anomalies)
    except ApiError as error:
        col.add_error(
            Severity.WARNING,
            COMPONENT,
            "pbs_request_failed",
            f"PBS {name}: cannot read its version",
            error,
            {"server": name},
        )
        version = None
    data = version.data if version is not None else {}
    ver, rel = as_str(data.get("version")), as_str(data.get("release"))
    version_text = f"{ver}.{rel}" if ver and rel else ver

    audit = ("/datastore", "Datastore.Audit")
    stores, configs, usage, prune, verify, perms = await asyncio.gather(
        col.get(
            "/admin/datastore", None, "list datastores", ("/datastore", LIST_PRIVS), expect="list"
        ),
        col.get("/config/datastore", None, "read datastore configuration", audit, expect="list"),
        col.get("/status/datastore-usage", None, "read datastore usage", audit, expect="list"),
        col.get("/admin/prune", None, "list prune jobs", audit, expect="list"),
        col.get("/admin/verify", None, "list verification jobs", audit, expect="list"),
        col.get(
            "/access/permissions",
            None,
            "read its own permissions",
            ("/access", "Sys.Audit"),
            expect="object",
        ),
    )
    permissions = perms.data if perms is not None else {}
    configs_by = {as_str(c.get("name")): c for c in col.items(configs, "/config/datastore")}
    usage_by = {as_str(u.get("store")): u for u in col.items(usage, "/status/datastore-usage")}
    store_items = col.items(stores, "/admin/datastore")
    result = PbsServerData(PbsServerInfo(name, api_url, True), anomalies=col.anomalies)
    if stores is not None and not store_items:
        col.add(
            Severity.WARNING,
            COMPONENT,
            "pbs_no_datastore_visible",
            f"PBS {name}: no datastore is visible to the token: it needs Datastore.Audit "
            "(role Audit or DatastoreAudit) on /datastore",
            server=name,
        )
    names = sorted(n for i in store_items if (n := as_str(i.get("store"))))
    comments = {as_str(i.get("store")): i for i in store_items}
    datastores = await asyncio.gather(
        *(
            _datastore(col, result, s, comments[s], configs_by.get(s), usage_by.get(s), permissions)
            for s in names
        )
    )
    if prune is None:  # prune jobs unknown: never claim that no retention applies
        result.jobs_visible.clear()
    result.verify_unknown = verify is None
    retention = [
        p for i in col.items(prune, "/admin/prune") if (p := parse_prune_job(i, name)) is not None
    ]
    verify_jobs = [
        v
        for i in col.items(verify, "/admin/verify")
        if (v := parse_verify_job(i, name)) is not None
    ]
    result.info = PbsServerInfo(
        name,
        api_url,
        True,
        version=version_text,
        fingerprint=fingerprint,
        datastores=tuple(datastores),
        retention=tuple(sorted(retention, key=lambda r: r.source)),
        verify_jobs=tuple(sorted(verify_jobs, key=lambda v: v.job_id)),
        permissions={
            str(k): tuple(sorted(v)) for k, v in permissions.items() if isinstance(v, dict)
        },
    )
    return result


async def _datastore(
    col: _ServerCollector,
    result: PbsServerData,
    store: str,
    listing: Mapping[str, Any],
    config: Mapping[str, Any] | None,
    usage: Mapping[str, Any] | None,
    permissions: Mapping[str, Any],
) -> PbsDatastore:
    privs = effective_privileges(permissions, ns_path(store)) if permissions else ()
    known = bool(permissions)
    if not known or "Datastore.Audit" in privs or "Datastore.Modify" in privs:
        result.jobs_visible.add(store)
    if known and "Datastore.Backup" in privs and "Datastore.Audit" not in privs:
        result.owner_filtered.add(store)
        col.add(
            Severity.WARNING,
            COMPONENT,
            "pbs_owner_filtered",
            f"PBS {col.name}: the token has Datastore.Backup without Datastore.Audit on "
            f"{ns_path(store)}: PBS hides every backup group it does not own, so guests may "
            "look unprotected. Give it role DatastoreAudit (or Audit on /).",
            server=col.name,
            datastore=store,
            acl_path=ns_path(store),
            missing_privilege="Datastore.Audit",
        )
    gc: PbsGcStatus | None = None
    if not known or "Datastore.Audit" in privs:
        response = await col.get(
            f"/admin/datastore/{store}/gc",
            None,
            f"read the garbage collection status of {store}",
            (ns_path(store), "Datastore.Audit"),
            expect="object",
            where={"datastore": store},
        )
        if response is not None:
            gc = parse_gc(response.data)
    if gc is None and usage is not None and isinstance(usage.get("gc-status"), dict):
        gc = parse_gc(usage["gc-status"])
    if usage is not None and usage.get("error"):
        col.add(
            Severity.WARNING,
            COMPONENT,
            "pbs_datastore_unavailable",
            f"PBS {col.name}: datastore {store}: {usage['error']}",
            server=col.name,
            datastore=store,
            error_message=str(usage["error"]),
        )
    namespaces = await _namespaces(col, store)
    to_read = sorted(set(namespaces) | col.wanted.get(store, set()))
    await asyncio.gather(*(_content(col, result, store, ns) for ns in to_read))
    groups = [g for g in result.groups if g.datastore == store]
    maintenance = as_str(listing.get("maintenance")) or (
        as_str(config.get("maintenance-mode")) if config else None
    )
    return PbsDatastore(
        server=col.name,
        name=store,
        comment=as_str(listing.get("comment"))
        or (as_str(config.get("comment")) if config else None),
        maintenance=maintenance,
        total_bytes=_int(usage, "total"),
        used_bytes=_int(usage, "used"),
        avail_bytes=_int(usage, "avail"),
        estimated_full=epoch(usage.get("estimated-full-date")) if usage else None,
        gc=gc,
        gc_schedule=as_str(config.get("gc-schedule")) if config else None,
        verify_new=bool(config.get("verify-new")) if config else None,
        namespaces=tuple(namespaces),
        privileges=privs,
        group_count=len(groups),
        snapshot_count=sum(1 for s in result.snapshots if s.datastore == store),
    )


def _int(item: Mapping[str, Any] | None, key: str) -> int | None:
    value = item.get(key) if item else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


async def _namespaces(col: _ServerCollector, store: str) -> list[str]:
    response = await col.get(
        f"/admin/datastore/{store}/namespace",
        None,
        f"list the namespaces of {store}",
        (ns_path(store), "Datastore.Audit"),
        expect="list",
        where={"datastore": store},
    )
    if response is None:
        return [""]  # still try the root namespace
    items = col.items(response, f"/admin/datastore/{store}/namespace")
    found = [as_str(i.get("ns")) or "" for i in items]
    return sorted(set(found)) or [""]


async def _content(col: _ServerCollector, result: PbsServerData, store: str, ns: str) -> None:
    params: dict[str, str | int] = {"ns": ns} if ns else {}
    where = f"{store}" + (f" namespace {ns}" if ns else " (root namespace)")
    acl = (ns_path(store, ns), LIST_PRIVS)
    place = {"datastore": store, "namespace": ns}
    groups, snaps = await _both(
        col.get(
            f"/admin/datastore/{store}/groups",
            params,
            f"list backup groups of {where}",
            acl,
            expect="list",
            where=place,
        ),
        col.get(
            f"/admin/datastore/{store}/snapshots",
            params,
            f"list snapshots of {where}",
            acl,
            expect="list",
            where=place,
        ),
    )
    for item in col.items(groups, f"/admin/datastore/{store}/groups"):
        group = parse_group(item, col.name, store, ns)
        if group is not None:
            result.groups.append(group)
    for item in col.items(snaps, f"/admin/datastore/{store}/snapshots"):
        snap = parse_snapshot(item, col.name, store, ns)
        if snap is not None:
            result.snapshots.append(snap)
    if groups is not None and snaps is not None:
        result.listed.add((store, ns))

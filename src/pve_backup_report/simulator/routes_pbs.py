"""The simulated Proxmox Backup Server's read endpoints (behaviour per pbs-api.md).

Why: a coverage tool trips on PBS's permission model (owner-filtered groups for Backup-only
tokens, 403 versus 400 for unknown stores, silently filtered job lists), its envelope
(``digest`` next to ``data``) and its unordered lists; each handler reproduces one endpoint from
:class:`PbsState` (nothing is ever modified). The pipeline is in ``pbs_server``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, cast

from pve_backup_report.simulator.pbs_scenario import SYNC_SCENARIO_KEYS
from pve_backup_report.simulator.pbs_state import PbsState, Snap, ns_depth
from pve_backup_report.simulator.server import (
    ApiError,
    ApiResult,
    Param,
    Request,
    Router,
)

ROUTER = Router()
AUDIT_OR_BACKUP = ("Datastore.Audit", "Datastore.Backup")
NS_PRIVS = ("Datastore.Audit", "Datastore.Modify", "Datastore.Read", "Datastore.Backup")
ENOENT = "ENOENT: No such file or directory"
VM_FILES = ("qemu-server.conf.blob", "drive-scsi0.img.fidx")
CT_FILES = ("pct.conf.blob", "root.pxar.didx", "catalog.pcat1.didx")
HOST_FILES = ("root.pxar.didx", "catalog.pcat1.didx")


@dataclass
class PbsResult(ApiResult):
    """A PBS answer: ``total`` is emitted whenever set, ``digest`` next to ``data``."""

    digest: str | None = None


# --------------------------------------------------------------------------- helpers
def _state(request: Request) -> PbsState:
    return cast(PbsState, request.state)


def ns_path(store: str, ns: str = "") -> str:
    return f"/datastore/{store}" + (f"/{ns}" if ns else "")


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def _store(request: Request, store: str) -> Any:
    """The datastore, or 400 ``no such datastore`` (with privileges) / 403 (without)."""
    state = _state(request)
    found = state.stores.get(store)
    if found is None:
        if state.perms.privileges(ns_path(store)):
            raise ApiError(400, f"no such datastore '{store}'")
        raise ApiError(403, "permission check failed")
    if found.maintenance and "type=offline" in found.maintenance:
        message = (
            found.maintenance.split("message=", 1)[-1] if "message=" in found.maintenance else ""
        )
        raise ApiError(400, f"datastore '{store}' is in offline maintenance mode: {message}")
    return found


def _ns_or_enoent(state: PbsState, store: str, ns: str) -> None:
    if ns not in state.namespaces.get(store, []):
        raise ApiError(400, ENOENT)


def _visible_snaps(request: Request, store: str, ns: str) -> list[Snap]:
    """Snapshots of ``ns`` the token may see: all with Audit, owned groups with Backup only."""
    state = _state(request)
    path = ns_path(store, ns)
    privs = state.perms.privileges(path)
    if "Datastore.Audit" not in privs and "Datastore.Backup" not in privs:
        raise ApiError(
            403, f"permission check failed - missing Datastore.Audit|Datastore.Backup on {path}"
        )
    _store(request, store)
    snaps = [s for s in state.snapshots[store] if s.ns == ns]
    if "Datastore.Audit" not in privs:
        snaps = [s for s in snaps if s.owner == request.token_id]
    return snaps


def _files(snap: Snap) -> list[dict[str, Any]]:
    names = {"vm": VM_FILES, "ct": CT_FILES}.get(snap.type, HOST_FILES)
    if snap.unfinished:
        return [{"filename": name} for name in names]
    size = snap.size or 0
    extra = [1 << 20] * (len(names) - 2)
    sizes = [512, max(0, size - 512 - 724 - sum(extra)), *extra]
    files: list[dict[str, Any]] = [
        {"filename": name, "crypt-mode": snap.crypt, "size": sizes[i]}
        for i, name in enumerate(names)
    ]
    signed = snap.crypt != "none"
    files.append(
        {
            "filename": "index.json.blob",
            "crypt-mode": "sign-only" if signed else "none",
            "size": 724,
        }
    )
    if snap.type == "vm":
        files.append({"filename": "client.log.blob"})
    return files


def snapshot_item(snap: Snap) -> dict[str, Any]:
    files = _files(snap)
    item: dict[str, Any] = {
        "backup-type": snap.type,
        "backup-id": snap.id,
        "backup-time": snap.time,
        "files": files,
        "owner": snap.owner,
        "protected": snap.protected,
    }
    if not snap.unfinished:
        item["size"] = sum(int(f.get("size", 0)) for f in files)
        if snap.comment:
            item["comment"] = snap.comment.splitlines()[0]
        if snap.verify:
            item["verification"] = {"state": snap.verify, "upid": snap.verify_upid}
        if snap.fingerprint:
            item["fingerprint"] = snap.fingerprint
    return item


def _gc_status(state: PbsState, store: Any) -> dict[str, Any]:
    gc = store.gc
    snaps = state.snapshots[store.name]
    data: dict[str, Any] = {"store": store.name, "upid": None}
    counters = ("index-file-count", "index-data-bytes", "disk-bytes", "disk-chunks",
                "removed-bytes", "removed-chunks", "pending-bytes", "pending-chunks",
                "removed-bad", "still-bad")  # fmt: skip
    data.update(dict.fromkeys(counters, 0))
    schedule = store.config.get("gc-schedule")
    if schedule:
        data["schedule"] = schedule
    if gc is not None:
        end = gc.last_run_endtime
        start = (end if end is not None else state.now()) - gc.duration
        data["upid"] = state.upid(start, "garbage_collection", store.name)
        data.update(
            {
                "index-file-count": 2 * len(snaps),
                "index-data-bytes": sum(s.size or 0 for s in snaps),
                "disk-bytes": store.used * 9 // 10,
                "disk-chunks": store.used // (4 << 20),
                "removed-bytes": gc.removed_bytes,
                "removed-chunks": gc.removed_bytes // (4 << 20),
                "pending-bytes": gc.pending_bytes,
                "pending-chunks": gc.pending_bytes // (4 << 20),
            }
        )
        if end is not None:
            data.update(
                {"last-run-endtime": end, "last-run-state": gc.state, "duration": gc.duration}
            )
    if schedule:
        from pve_backup_report.simulator.routes_pve import next_run

        upcoming = next_run(str(schedule), state.now(), "UTC")
        if upcoming is not None:
            data["next-run"] = upcoming
    return data


# --------------------------------------------------------------------------- routes
@ROUTER.route("/ping")
def ping(_request: Request) -> ApiResult:
    return ApiResult({"pong": True})


@ROUTER.route("/version")
def version(request: Request) -> ApiResult:
    server = _state(request).server
    return ApiResult(
        {"version": server.version, "release": server.release, "repoid": server.repoid}
    )


@ROUTER.route("/access/permissions", params={"auth-id": Param(), "path": Param()})
def permissions(request: Request) -> ApiResult:
    state = _state(request)
    auth_id = request.params.get("auth-id")
    if (
        auth_id
        and auth_id != request.token_id
        and not state.perms.has_any("/access", ["Sys.Audit"])
    ):
        raise ApiError(400, f"not allowed to list permissions of {auth_id}")
    if request.params.get("path"):
        paths = [str(request.params["path"])]
    else:
        paths = sorted({*state.perms.entries, "/", "/access", "/datastore", "/remote", "/system"})
    data = {p: state.perms.with_propagate(p) for p in paths}
    return ApiResult({p: privs for p, privs in data.items() if privs})


@ROUTER.route("/admin/datastore")
def datastore_list(request: Request) -> ApiResult:
    state = _state(request)
    out: list[dict[str, Any]] = []
    for store in state.stores.values():
        path = ns_path(store.name)
        if state.perms.has_any(path, AUDIT_OR_BACKUP):
            item: dict[str, Any] = {"store": store.name, "comment": store.comment}
        elif state.perms.any_below(path, NS_PRIVS):
            item = {"store": store.name, "comment": None}
        else:
            continue
        if store.maintenance:
            item["maintenance"] = store.maintenance
        out.append(item)
    request.rng.shuffle(out)
    return ApiResult(out)


def _store_config(store: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "name": store.name,
        "path": store.path or f"/mnt/datastore/{store.name}",
    }
    if store.comment:
        item["comment"] = store.comment
    if store.maintenance:
        item["maintenance-mode"] = store.maintenance
    item.update(store.config)
    return item


@ROUTER.route("/config/datastore")
def config_datastores(request: Request) -> ApiResult:
    state = _state(request)
    everything = [_store_config(s) for s in state.stores.values()]
    visible = [
        item
        for item in everything
        if state.perms.has_any(ns_path(item["name"]), ["Datastore.Audit"])
    ]
    request.rng.shuffle(visible)
    return PbsResult(visible, digest=_digest(everything))


@ROUTER.route("/config/datastore/{name}", check=("/datastore/{name}", ("Datastore.Audit",)))
def config_datastore(request: Request) -> ApiResult:
    state = _state(request)
    store = state.stores.get(request.path_params["name"])
    if store is None:
        raise ApiError(404, f"datastore '{request.path_params['name']}' does not exist.")
    everything = [_store_config(s) for s in state.stores.values()]
    return PbsResult(_store_config(store), digest=_digest(everything))


@ROUTER.route("/admin/datastore/{store}/status", params={"verbose": Param("bool")})
def datastore_status(request: Request) -> ApiResult:
    state = _state(request)
    name = request.path_params["store"]
    path = ns_path(name)
    full = state.perms.has_any(path, AUDIT_OR_BACKUP)
    partial = state.perms.has_any(path, ["Datastore.Read"]) or state.perms.any_below(path, NS_PRIVS)
    if not full and not partial:
        raise ApiError(403, "permission check failed")
    store = _store(request, name)
    data: dict[str, Any] = (
        {"total": store.total, "used": store.used, "avail": store.avail}
        if full
        else {"total": 0, "used": 0, "avail": 0}
    )
    if request.params.get("verbose"):
        audit = state.perms.has_any(path, ["Datastore.Audit"])
        counts: dict[str, dict[str, int]] = {}
        groups: dict[tuple[str, str, str], int] = {}
        for snap in state.snapshots[name]:
            readable = audit or state.perms.has_any(
                ns_path(name, snap.ns), ["Datastore.Audit", "Datastore.Read"]
            )
            if readable or snap.owner == request.token_id:
                groups[snap.group] = groups.get(snap.group, 0) + 1
        for (_, kind, _), count in groups.items():
            entry = counts.setdefault(kind, {"groups": 0, "snapshots": 0})
            entry["groups"] += 1
            entry["snapshots"] += count
        data["counts"] = counts
        if full:
            data["gc-status"] = {k: v for k, v in _gc_status(state, store).items()
                                 if k not in ("store", "schedule", "next-run", "last-run-endtime",
                                              "last-run-state", "duration")}  # fmt: skip
    return ApiResult(data)


def _usage_item(state: PbsState, store: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "store": store.name,
        "total": store.total,
        "used": store.used,
        "avail": store.avail,
        "gc-status": _gc_status(state, store),
        "history-delta": 1800,
    }
    now = state.now()
    start = now - now % 1800 - 1439 * 1800
    item["history-start"] = start
    if not store.history:
        item["history"] = None
        return item
    ratio = store.used / max(1, store.used + store.avail)
    efd = store.estimated_full_date
    slope = (1 - ratio) / (efd - now) if efd and efd > now else 0.0
    item["history"] = [
        None if i < 20 else round(ratio + slope * (start + i * 1800 - now), 4) for i in range(1440)
    ]
    item["estimated-full-date"] = efd if efd else 0
    return item


@ROUTER.route("/status/datastore-usage")
def datastore_usage(request: Request) -> ApiResult:
    state = _state(request)
    out: list[dict[str, Any]] = []
    for store in state.stores.values():
        path = ns_path(store.name)
        if state.perms.has_any(path, AUDIT_OR_BACKUP):
            if store.maintenance and "type=offline" in store.maintenance:
                message = store.maintenance.split("message=", 1)[-1]
                error = f"datastore '{store.name}' is in offline maintenance mode: {message}"
                out.append({"store": store.name, "error": error})
            else:
                out.append(_usage_item(state, store))
        elif state.perms.any_below(path, NS_PRIVS):
            out.append({"store": store.name})
    return ApiResult(out)


@ROUTER.route("/admin/datastore/{store}/gc", check=("/datastore/{store}", ("Datastore.Audit",)))
def datastore_gc(request: Request) -> ApiResult:
    store = _store(request, request.path_params["store"])
    return ApiResult(_gc_status(_state(request), store))


@ROUTER.route(
    "/admin/datastore/{store}/namespace",
    params={"parent": Param(), "max-depth": Param("int", ("7",), minimum=0)},
)
def namespaces(request: Request) -> ApiResult:
    state = _state(request)
    name = request.path_params["store"]
    parent = str(request.params.get("parent", ""))
    _store(request, name)
    _ns_or_enoent(state, name, parent)
    limit = 7 - ns_depth(parent)
    depth = min(int(request.params.get("max-depth", limit)), limit)
    ordered: list[str] = []

    def walk(ns: str) -> None:
        ordered.append(ns)
        if ns_depth(ns) - ns_depth(parent) >= depth:
            return
        children = [c for c in state.namespaces[name] if c and c.rpartition("/")[0] == ns]
        request.rng.shuffle(children)
        for child in children:
            walk(child)

    walk(parent)
    visible = [{"ns": ns} for ns in ordered if state.perms.has_any(ns_path(name, ns), NS_PRIVS)]
    if not visible and not state.perms.has_any(ns_path(name, parent), NS_PRIVS):
        raise ApiError(403, "permission check failed")
    return ApiResult(visible)


@ROUTER.route("/admin/datastore/{store}/groups", params={"ns": Param()})
def groups(request: Request) -> ApiResult:
    state = _state(request)
    name = request.path_params["store"]
    ns = str(request.params.get("ns", ""))
    snaps = _visible_snaps(request, name, ns)
    _ns_or_enoent(state, name, ns)
    by_group: dict[tuple[str, str, str], list[Snap]] = {}
    for snap in snaps:
        by_group.setdefault(snap.group, []).append(snap)
    out: list[dict[str, Any]] = []
    for (_, kind, backup_id), members in by_group.items():
        last = max(members, key=lambda s: s.time)
        out.append(
            {
                "backup-type": kind,
                "backup-id": backup_id,
                "last-backup": last.time,
                "backup-count": len(members),
                "files": [f["filename"] for f in _files(last)],
                "owner": last.owner,
            }
        )
    request.rng.shuffle(out)
    return ApiResult(out)


@ROUTER.route(
    "/admin/datastore/{store}/snapshots",
    params={
        "ns": Param(),
        "backup-type": Param("enum", ("vm", "ct", "host")),
        "backup-id": Param(),
    },
)
def snapshots(request: Request) -> ApiResult:
    state = _state(request)
    name = request.path_params["store"]
    ns = str(request.params.get("ns", ""))
    kind, backup_id = request.params.get("backup-type"), request.params.get("backup-id")
    snaps = _visible_snaps(request, name, ns)
    if ns not in state.namespaces.get(name, []):
        if kind and backup_id:
            return ApiResult([])
        raise ApiError(400, ENOENT)
    chosen = [
        s
        for s in snaps
        if (kind is None or s.type == kind) and (backup_id is None or s.id == backup_id)
    ]
    by_group: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for snap in chosen:
        by_group.setdefault(snap.group, []).append(snapshot_item(snap))
    ordered = list(by_group.values())
    request.rng.shuffle(ordered)
    out: list[dict[str, Any]] = []
    for items in ordered:
        request.rng.shuffle(items)
        out.extend(items)
    return ApiResult(out)


def _jobs(request: Request, kind: str, *, status: bool) -> ApiResult:
    state = _state(request)
    jobs = state.server.prune_jobs if kind == "prune" else state.server.verify_jobs
    second = "Datastore.Modify" if kind == "prune" else "Datastore.Verify"
    wanted = request.params.get("store")
    out: list[dict[str, Any]] = []
    for job in jobs:
        path = ns_path(str(job["store"]), str(job.get("ns", "")))
        if wanted and job["store"] != wanted:
            continue
        if not state.perms.has_any(path, ("Datastore.Audit", second)):
            continue
        if status:
            out.append(state.job_status(job, kind))
        else:
            out.append({k: v for k, v in job.items() if not k.startswith("last-run")})
    request.rng.shuffle(out)
    return PbsResult(out, digest=_digest(jobs))


@ROUTER.route("/config/prune")
def config_prune(request: Request) -> ApiResult:
    return _jobs(request, "prune", status=False)


@ROUTER.route("/admin/prune", params={"store": Param()})
def admin_prune(request: Request) -> ApiResult:
    return _jobs(request, "prune", status=True)


@ROUTER.route("/config/verify")
def config_verify(request: Request) -> ApiResult:
    return _jobs(request, "verify", status=False)


@ROUTER.route("/admin/verify", params={"store": Param()})
def admin_verify(request: Request) -> ApiResult:
    return _jobs(request, "verify", status=True)


# --------------------------------------------------------------------------- sync jobs, remotes
def _sync_visible(request: Request, job: dict[str, Any]) -> bool:
    """Datastore.Audit on the job's local path, and Remote.Audit on the remote (or, for a local
    sync, Datastore.Audit on the source store) — ``check_sync_job_read_access``."""
    perms = _state(request).perms
    if not perms.has_any(ns_path(str(job["store"]), str(job.get("ns", ""))), ["Datastore.Audit"]):
        return False
    remote = job.get("remote")
    if remote:
        return perms.has_any(f"/remote/{remote}", ["Remote.Audit"])
    return perms.has_any(ns_path(str(job["remote-store"])), ["Datastore.Audit"])


def _sync_jobs(request: Request, *, status: bool) -> ApiResult:
    state = _state(request)
    direction = request.params.get("sync-direction")
    if direction is not None and not state.server.supports_push:
        raise ApiError(
            400,
            "parameter verification failed - 'sync-direction': schema does not allow "
            "additional properties.",
        )
    wanted_direction = direction or "pull"
    wanted_store = request.params.get("store")
    jobs = state.server.sync_jobs
    out: list[dict[str, Any]] = []
    for job in jobs:
        if job.get("sync-direction", "pull") != wanted_direction:
            continue
        if wanted_store and job["store"] != wanted_store:
            continue
        if not _sync_visible(request, job):
            continue
        if status:
            out.append(state.job_status(job, "sync"))
        else:
            out.append(
                {
                    k: v
                    for k, v in job.items()
                    if not k.startswith("last-run") and k not in SYNC_SCENARIO_KEYS
                }
            )
    request.rng.shuffle(out)
    public = [{k: v for k, v in job.items() if k not in SYNC_SCENARIO_KEYS} for job in jobs]
    return PbsResult(out, digest=_digest(public))


SYNC_PARAMS = {"store": Param(), "sync-direction": Param("enum", ("pull", "push"))}


@ROUTER.route("/admin/sync", params=SYNC_PARAMS)
def admin_sync(request: Request) -> ApiResult:
    return _sync_jobs(request, status=True)


@ROUTER.route("/config/sync", params={"sync-direction": Param("enum", ("pull", "push"))})
def config_sync(request: Request) -> ApiResult:
    return _sync_jobs(request, status=False)


@ROUTER.route("/config/remote")
def config_remote(request: Request) -> ApiResult:
    """Remotes the token may audit (Remote.Audit on /remote/<name>); never the password."""
    state = _state(request)
    out: list[dict[str, Any]] = []
    for remote in state.server.remotes:
        if not state.perms.has_any(f"/remote/{remote.name}", ["Remote.Audit"]):
            continue
        item: dict[str, Any] = {"name": remote.name, "host": remote.host, "auth-id": remote.auth_id}
        if remote.port is not None:
            item["port"] = remote.port
        if remote.fingerprint:
            item["fingerprint"] = remote.fingerprint
        if remote.comment:
            item["comment"] = remote.comment
        out.append(item)
    request.rng.shuffle(out)
    return PbsResult(out, digest=_digest([r.name for r in state.server.remotes]))


# --------------------------------------------------------------------------- tasks (sync only)
def _sync_tasks(state: PbsState) -> list[dict[str, Any]]:
    """One finished ``syncjob`` task per run: the scenario's ``history`` runs and the last
    run of each sync job (scheduled jobs run as root@pam), newest first."""
    out: list[dict[str, Any]] = []
    for job in state.server.sync_jobs:
        ns = str(job.get("ns", ""))
        worker = f"{job.get('remote') or '-'}:{job['remote-store']}:{job['store']}:{ns}:{job['id']}"
        runs = [dict(run) for run in job.get("history") or []]
        if isinstance(job.get("last-run-endtime"), int):
            runs.append(
                {"endtime": job["last-run-endtime"], "status": job.get("last-run-state", "OK")}
            )
        for run in runs:
            end = int(run["endtime"])
            start = end - int(run.get("duration", 600))
            upid = state.upid(start, "syncjob", worker)
            parts = upid.split(":")
            out.append(
                {
                    "upid": upid,
                    "node": "localhost",
                    "pid": int(parts[2], 16),
                    "pstart": int(parts[3], 16),
                    "starttime": start,
                    "worker_type": "syncjob",
                    "worker_id": worker,
                    "user": "root@pam",
                    "endtime": end,
                    "status": str(run.get("status", "OK")),
                }
            )
    out.sort(key=lambda t: t["starttime"], reverse=True)
    return out


@ROUTER.route(
    "/nodes/{node}/tasks",
    params={
        "start": Param("int", minimum=0),
        "limit": Param("int", minimum=0),
        "typefilter": Param(),
        "since": Param("int"),
        "until": Param("int"),
        "errors": Param("bool"),
        "userfilter": Param(),
        "store": Param(),
        "running": Param("bool"),
    },
)
def tasks(request: Request) -> ApiResult:
    """Task list (pbs-api.md §8.3), only the sync job runs of this simulation. Sys.Audit on
    /system/tasks shows every task; an audit token sees no root@pam job task otherwise."""
    state = _state(request)
    p = request.params
    items = _sync_tasks(state) if state.perms.has_any("/system/tasks", ["Sys.Audit"]) else []
    if p.get("typefilter"):
        items = [t for t in items if str(p["typefilter"]) in t["worker_type"]]
    if p.get("userfilter"):
        items = [t for t in items if str(p["userfilter"]) in t["user"]]
    if p.get("store"):
        items = [t for t in items if t["worker_id"].split(":")[2] == p["store"]]
    if p.get("since") is not None:
        items = [t for t in items if t["starttime"] >= int(p["since"])]
    if p.get("until") is not None:
        items = [t for t in items if t["starttime"] <= int(p["until"])]
    if p.get("errors"):
        items = [t for t in items if t["status"] != "OK"]
    if p.get("running"):
        items = []
    start, limit = int(p.get("start", 0)), int(p.get("limit", 50))
    page = items[start : start + limit] if limit else items[start:]
    total = start + len(page) + (1 if limit and len(page) == limit else 0)
    return PbsResult(page, total=total)

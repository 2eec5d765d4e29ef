"""Collect one backup server's sync jobs and remotes (`/admin/sync`, `/config/remote`).

Why a separate collector: off-site copies are an optional layer over the server collection,
and both lists are filtered *silently* by PBS (pbs-api.md §6.3): a job is listed only with
Datastore.Audit on its local datastore and Remote.Audit on its remote, a remote only with
Remote.Audit. An empty list from a token without Remote.Audit would look like "no off-site
copy", so when the token's permissions show no Remote.Audit on `/remote` the lists are
reported as unknown (None) with an anomaly naming the missing privilege.

PBS 3.3 added push jobs; `/admin/sync` then lists only pull jobs unless asked for
`sync-direction=push` (the parameter is rejected by older versions, so it is only sent when
the server's version is 3.3 or later, or unknown).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..api.client import ApiResponse
from ..api.errors import ApiError
from ..model import Anomaly, PbsRemote, PbsSyncJob, Severity
from .base import Collector, Getter, anomaly_code, check_shape, error_details
from .parse import as_bool, as_int, as_str
from .pbs_parse import epoch

COMPONENT = "pbs"


@dataclass
class SyncCollection:
    jobs: tuple[PbsSyncJob, ...] | None  # None: unknown (unreadable or filtered)
    remotes: tuple[PbsRemote, ...] | None
    anomalies: list[Anomaly] = field(default_factory=list)


def supports_push(version: str | None) -> bool:
    """PBS ≥ 3.3 knows push jobs (unknown version: ask anyway, liberal)."""
    match = re.match(r"^(\d+)\.(\d+)", version or "")
    if not match:
        return True
    return (int(match.group(1)), int(match.group(2))) >= (3, 3)


def _filters(value: Any) -> tuple[str, ...]:
    """`group-filter` is an array; a comma/space separated string is accepted too."""
    if isinstance(value, list):
        return tuple(str(v).strip() for v in value if str(v).strip())
    if isinstance(value, str):
        return tuple(p for p in re.split(r"[,\s]+", value) if p)
    return ()


def parse_sync_job(item: Mapping[str, Any], server: str, direction: str) -> PbsSyncJob | None:
    job_id, store = as_str(item.get("id")), as_str(item.get("store"))
    remote_store = as_str(item.get("remote-store"))
    if job_id is None or store is None or remote_store is None:
        return None
    listed = as_str(item.get("sync-direction"))
    final = listed if listed in ("pull", "push") else direction
    return PbsSyncJob(
        server=server,
        job_id=job_id,
        store=store,
        remote_store=remote_store,
        direction="push" if final == "push" else "pull",
        ns=as_str(item.get("ns")) or "",
        remote=as_str(item.get("remote")),
        remote_ns=as_str(item.get("remote-ns")) or "",
        max_depth=as_int(item.get("max-depth")),
        group_filter=_filters(item.get("group-filter")),
        schedule=as_str(item.get("schedule")),
        owner=as_str(item.get("owner")),
        comment=as_str(item.get("comment")),
        remove_vanished=bool(as_bool(item.get("remove-vanished"), False)),
        transfer_last=as_int(item.get("transfer-last")),
        last_run_state=as_str(item.get("last-run-state")),
        last_run_end=epoch(item.get("last-run-endtime")),
        last_run_upid=as_str(item.get("last-run-upid")),
        next_run=epoch(item.get("next-run")),
    )


def parse_remote(item: Mapping[str, Any], server: str) -> PbsRemote | None:
    name, host = as_str(item.get("name")), as_str(item.get("host"))
    if name is None or host is None:
        return None
    return PbsRemote(
        server=server,
        name=name,
        host=host,
        port=as_int(item.get("port")),
        fingerprint=as_str(item.get("fingerprint")),
        auth_id=as_str(item.get("auth-id")),
        comment=as_str(item.get("comment")),
    )  # any `password` key is ignored, never stored


class _SyncCollector(Collector):
    def __init__(self, client: Getter, name: str) -> None:
        super().__init__(client)
        self.name = name

    async def get(
        self, path: str, params: Mapping[str, str | int] | None, what: str
    ) -> ApiResponse | None:
        """A list answer, or None after an anomaly (an unusable answer is unreadable too)."""
        try:
            return check_shape(await self.client.get(path, params), path, "list")
        except ApiError as error:
            details = error_details(error)
            details["server"] = self.name
            self.add(
                Severity.WARNING,
                COMPONENT,
                anomaly_code(error, "pbs_sync_unreadable"),
                f"PBS {self.name}: cannot {what}: {error.message}; its off-site copies are unknown",
                **details,
            )
            return None

    def listing(self, response: ApiResponse | None, path: str) -> list[dict[str, Any]] | None:
        """The items, or None when unreadable (unknown, never empty)."""
        if response is None:
            return None
        return self.expect_list(response, COMPONENT, path)


async def collect_sync(
    client: Getter,
    name: str,
    version: str | None,
    permissions: Mapping[str, Any],
) -> SyncCollection:
    """Read the sync jobs (pull, and push on 3.3+) and remotes of one reachable server."""
    col = _SyncCollector(client, name)
    push = supports_push(version)
    tasks_visible = not permissions or _has(permissions, ("/system/tasks", "/system"), "Sys.Audit")
    pull_r, push_r, remotes_r, tasks_r = await asyncio.gather(
        col.get("/admin/sync", None, "list sync jobs"),
        col.get("/admin/sync", {"sync-direction": "push"}, "list push sync jobs")
        if push
        else _none(),
        col.get("/config/remote", None, "list remotes"),
        _tasks(client) if tasks_visible else _none(),
    )
    pulled = col.listing(pull_r, "/admin/sync")
    pushed = col.listing(push_r, "/admin/sync") if push else []
    remote_items = col.listing(remotes_r, "/config/remote")
    jobs: tuple[PbsSyncJob, ...] | None = None
    if pulled is not None and pushed is not None:
        parsed = [parse_sync_job(i, name, "pull") for i in pulled]
        parsed += [parse_sync_job(i, name, "push") for i in pushed]
        found = [j for j in parsed if j]
        if tasks_r is not None and isinstance(tasks_r.data, list):
            found = [with_runs(j, tasks_r.data) for j in found]
        jobs = tuple(sorted(found, key=lambda j: j.job_id))
    remotes: tuple[PbsRemote, ...] | None = None
    if remote_items is not None:
        listed = [parse_remote(i, name) for i in remote_items]
        remotes = tuple(sorted((r for r in listed if r), key=lambda r: r.name))
    if permissions and not _remote_audit(permissions):
        col.add(
            Severity.INFO,
            COMPONENT,
            "pbs_sync_not_visible",
            f"PBS {name}: the token lacks Remote.Audit on /remote: PBS silently hides sync jobs "
            "and remotes, so off-site copies made by this server are unknown. Give it role "
            "RemoteAudit on /remote.",
            server=name,
            acl_path="/remote",
            missing_privilege="Remote.Audit",
        )
        jobs, remotes = None, None
    return SyncCollection(jobs, remotes, col.anomalies)


async def _none() -> None:
    return None


TASK_LIMIT = 500


async def _tasks(client: Getter) -> ApiResponse | None:
    """The newest sync job runs (task list, newest first); None when not readable — the run
    counts are extra detail, so this is not an anomaly."""
    try:
        return await client.get(
            "/nodes/localhost/tasks", {"typefilter": "syncjob", "limit": TASK_LIMIT}
        )
    except ApiError:
        return None


def with_runs(job: PbsSyncJob, tasks: list[Any]) -> PbsSyncJob:
    """The job with its runs counted from `syncjob` tasks (worker id
    `<remote>:<remote-store>:<store>:<ns>:<job id>`; the id cannot contain a colon)."""
    runs = failures = 0
    last_ok = None
    for task in tasks:
        if not isinstance(task, dict) or task.get("worker_type") != "syncjob":
            continue
        worker = as_str(task.get("worker_id")) or ""
        status = as_str(task.get("status"))
        if worker.rsplit(":", 1)[-1] != job.job_id or status is None:
            continue  # another job, or still running
        runs += 1
        if status == "OK" or status.startswith("WARNINGS"):
            end = epoch(task.get("endtime"))
            if end is not None and (last_ok is None or end > last_ok):
                last_ok = end
        else:
            failures += 1
    return replace(job, recent_runs=runs, recent_failures=failures, last_success_end=last_ok)


def _has(permissions: Mapping[str, Any], paths: tuple[str, ...], privilege: str) -> bool:
    for path in paths:
        privs = permissions.get(path)
        if privs is not None:
            names = privs.keys() if isinstance(privs, dict) else privs
            return privilege in names
    return False


def _remote_audit(permissions: Mapping[str, Any]) -> bool:
    """Remote.Audit on `/remote` or on some remote below it (`/access/permissions` lists
    `/remote` whenever the token holds anything there)."""
    for path, privs in permissions.items():
        if not (path == "/remote" or str(path).startswith("/remote/")):
            continue
        names = privs.keys() if isinstance(privs, dict) else privs
        if "Remote.Audit" in names:
            return True
    return False

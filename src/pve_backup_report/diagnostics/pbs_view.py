"""`--dump-inventory` for backup servers: servers, datastores, namespaces, retention, matches.

Values come from the servers (comments, job ids): rendered as plain `Text`, never as markup.
`pbs_inventory_json` gives the same content for `--dump-inventory --json`.
"""

from __future__ import annotations

from typing import IO, Any

from rich.console import Console

from ..collect.pbs_entry import PbsResult
from ..model import PbsServerInfo
from ..report.i18n import Translator
from ..serialize import to_jsonable
from .inventory_view import _table
from .words import word


def _gib(value: int | None) -> str | None:
    return None if value is None else f"{value / (1 << 30):,.0f} GiB"


def _ns(ns: str, tr: Translator | None = None) -> str:
    return ns or word(tr, "(root)")


def pbs_inventory_json(result: PbsResult) -> dict[str, Any]:
    return {
        "pbs_servers": [to_jsonable(s) for s in result.servers],
        "pbs_storage_matches": to_jsonable(result.matches),
    }


def _datastore_rows(servers: tuple[PbsServerInfo, ...], tr: Translator | None) -> list[list[Any]]:
    rows = []
    for server in servers:
        for ds in server.datastores:
            ratio = ds.usage_ratio
            gc = ds.gc
            gc_text = None
            if gc is not None:
                gc_text = (
                    word(tr, "never ran")
                    if not gc.ever_ran
                    else (
                        f"{gc.last_run_state or word(tr, 'running')}"
                        + (f", {gc.last_run_end:%Y-%m-%d %H:%M}" if gc.last_run_end else "")
                    )
                )
            rows.append(
                [
                    server.name,
                    ds.name,
                    ds.comment,
                    f"{ratio:.0%}" if ratio is not None else None,
                    f"{_gib(ds.used_bytes)} / {_gib(ds.total_bytes)}" if ds.total_bytes else None,
                    ds.estimated_full.date().isoformat() if ds.estimated_full else None,
                    gc_text,
                    ds.gc_schedule,
                    ds.group_count,
                    ds.snapshot_count,
                    ", ".join(ds.privileges) or None,
                    ds.maintenance,
                ]
            )
    return rows


def sync_tables(result: PbsResult) -> list[tuple[str, list[str], list[list[Any]]]]:
    """Remotes and sync jobs as each server lists them, and where each job's ends resolve."""
    views = {(v.job.server, v.job.job_id): v for v in result.copies.jobs} if result.copies else {}
    remotes = [
        [r.server, r.name, r.host, r.port, r.fingerprint, r.auth_id]
        for s in result.servers
        for r in s.remotes or ()
    ]
    jobs = []
    for s in result.servers:
        if s.reachable and s.sync_jobs is None:
            jobs.append([s.name, "(not readable)", None, None, None, None, None, None])
        for j in s.sync_jobs or ():
            view = views.get((j.server, j.job_id))
            jobs.append(
                [
                    j.server,
                    j.job_id,
                    j.direction,
                    view.source if view else None,
                    view.target if view else None,
                    j.schedule,
                    j.last_run_state,
                    " ".join(j.group_filter) or None,
                ]
            )
    return [
        ("PBS remotes", ["server", "remote", "host", "port", "fingerprint", "auth id"], remotes),
        (
            "PBS sync jobs",
            ["server", "job", "direction", "source", "target", "schedule", "last run", "filter"],
            jobs,
        ),
    ]


def render_pbs_inventory(
    result: PbsResult, out: IO[str], width: int | None = None, tr: Translator | None = None
) -> None:
    """The backup servers as terminal tables, in `tr`'s language (English without one)."""
    console = Console(file=out, width=width or 160, highlight=False, markup=False, emoji=False)
    servers = result.servers
    console.print(
        _table(
            "Proxmox Backup Servers",
            ["name", "API URL", "reachable", "version", "datastores"],
            [[s.name, s.api_url, s.reachable, s.version, len(s.datastores)] for s in servers],
            tr,
        )
    )
    console.print(
        _table(
            "PBS datastores",
            [
                "server",
                "datastore",
                "comment",
                "usage",
                "used / total",
                "estimated full",
                "last GC",
                "GC schedule",
                "groups",
                "snapshots",
                "token privileges",
                "maintenance",
            ],
            _datastore_rows(servers, tr),
            tr,
        )
    )
    console.print(
        _table(
            "PBS namespaces",
            ["server", "datastore", "namespace"],
            [
                [s.name, ds.name, _ns(ns, tr)]
                for s in servers
                for ds in s.datastores
                for ns in ds.namespaces
            ],
            tr,
        )
    )
    console.print(
        _table(
            "PBS retention (prune jobs)",
            [
                "server",
                "datastore",
                "namespace",
                "job",
                "max depth",
                "schedule",
                "enabled",
                "keep",
                "last run",
                "next run",
            ],
            [
                [
                    r.server,
                    r.datastore,
                    _ns(r.namespace or "", tr),
                    r.source,
                    r.max_depth,
                    r.schedule,
                    r.enabled,
                    r.keep or word(tr, "keep all"),
                    r.last_run_state,
                    r.next_run.isoformat() if r.next_run else None,
                ]
                for s in servers
                for r in s.retention
            ],
            tr,
        )
    )
    console.print(
        _table(
            "PBS verification jobs",
            [
                "server",
                "datastore",
                "namespace",
                "job",
                "schedule",
                "outdated after (days)",
                "last run",
                "next run",
            ],
            [
                [
                    v.server,
                    v.datastore,
                    _ns(v.namespace or "", tr),
                    v.job_id,
                    v.schedule,
                    v.outdated_after_days,
                    v.last_run_state,
                    v.next_run.isoformat() if v.next_run else None,
                ]
                for s in servers
                for v in s.verify_jobs
            ],
            tr,
        )
    )
    for title, columns, rows in sync_tables(result):
        console.print(_table(title, columns, rows, tr))
    console.print(
        _table(
            "PVE storages → PBS",
            [
                "PVE storage",
                "server in storage.cfg",
                "matched server",
                "datastore",
                "namespace",
                "matched by",
            ],
            [
                [
                    sid,
                    m.server_host,
                    m.location.server if m.location else None,
                    m.location.datastore if m.location else None,
                    _ns(m.location.namespace, tr) if m.location else None,
                    m.method,
                ]
                for sid, m in sorted(result.matches.items())
            ],
            tr,
        )
    )

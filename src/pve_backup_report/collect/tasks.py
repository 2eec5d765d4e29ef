"""Read vzdump task history, node time zones and task logs from PVE.

Why it looks like this (pve-api.md §5):
- A backup job runs as one task per node, so the history is read **per node** with
  ``/nodes/{node}/tasks?typefilter=vzdump&source=all`` and ``limit``/``start`` paging: the
  unfiltered list lets other task types crowd vzdump out, and ``/cluster/tasks`` keeps only 25
  tasks per node. ``/cluster/tasks`` is still read for what is running right now; both lists
  are merged and de-duplicated by UPID.
- Task-log lines carry no time zone, so each node's zone comes from ``/nodes/{node}/time``.
- Logs are paged (``start``/``limit``) and cut at ``task_log_limit`` lines; a log PVE cannot
  open comes back as HTTP 200 with one ``unable to open file`` line and is reported unavailable.
- Nothing raw leaves this module: tasks become `VzdumpTask`, logs `FetchedLog`. A node that is
  offline or refuses becomes an anomaly; the other nodes still count.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..analysis.evidence import VzdumpTask
from ..analysis.upid import UpidError, parse_upid
from ..model import Node, Severity
from .base import Collector
from .parse import as_int, as_str

COMPONENT = "tasks"
TASK_PAGE = 500  # tasks per /nodes/{node}/tasks request
LOG_PAGE = 5000  # lines per task-log request (most vzdump logs fit in one page)


@dataclass(frozen=True)
class NodeHistory:
    """What one node's task list gave. ``complete``: every matching task was read."""

    node: str
    read: bool
    tasks: tuple[VzdumpTask, ...] = ()
    complete: bool = False
    total: int | None = None

    @property
    def oldest(self) -> datetime | None:
        return min((t.started_at for t in self.tasks), default=None)


@dataclass(frozen=True)
class TaskHistory:
    """All vzdump tasks seen, newest first and unique by UPID, plus per-node facts."""

    tasks: tuple[VzdumpTask, ...]
    nodes: dict[str, NodeHistory]
    timezones: dict[str, ZoneInfo]


@dataclass(frozen=True)
class FetchedLog:
    """A task log as read: its lines (at most the limit) and whether PVE had more."""

    upid: str
    lines: tuple[str, ...]
    truncated: bool
    available: bool
    total: int | None = None
    error: str | None = None


def task_from_item(item: dict[str, Any], node_hint: str | None = None) -> VzdumpTask | None:
    """A typed task from a task-list entry; None for a malformed UPID or another type."""
    raw = as_str(item.get("upid"))
    if raw is None:
        return None
    try:
        upid = parse_upid(raw)
    except UpidError:
        return None
    if upid.type != "vzdump" or (node_hint is not None and upid.node != node_hint):
        return None
    status = as_str(item.get("status"))
    endtime = as_int(item.get("endtime"))
    if status is not None and status.upper() == "RUNNING":
        status = None
    if status is None and endtime is not None:
        status = "unknown"  # finished but no status: PVE's "unknown"
    return VzdumpTask(upid=upid, status=status, endtime=None if status is None else endtime)


async def read_node_tasks(col: Collector, node: str, limit: int, since: int | None) -> NodeHistory:
    """Page through a node's vzdump tasks, newest first, up to ``limit`` of them."""
    path = f"/nodes/{node}/tasks"
    found: list[VzdumpTask] = []
    start = 0
    total: int | None = None
    while start < limit:
        params: dict[str, str | int] = {
            "typefilter": "vzdump",
            "source": "all",
            "start": start,
            "limit": min(TASK_PAGE, limit - start),
        }
        if since is not None:
            params["since"] = since
        response = await col.fetch(
            path,
            component=COMPONENT,
            code="task_history_unavailable",
            what=f"Cannot read the backup task history of node {node}",
            params=params,
            extra={"node": node},
            expect="list",
        )
        if response is None:
            return NodeHistory(node, read=bool(found), tasks=tuple(found), total=total)
        items = col.expect_list(response, COMPONENT, path)
        total = response.total if response.total is not None else total
        for item in items:
            task = task_from_item(item, node)
            if task is not None:
                found.append(task)
        start += len(items)
        if not items or len(items) < int(params["limit"]) or (total is not None and start >= total):
            return NodeHistory(node, True, tuple(found), complete=True, total=total)
    complete = total is not None and start >= total
    if not complete:
        col.add(
            Severity.INFO,
            COMPONENT,
            "task_history_limited",
            f"Node {node}: only the {limit} newest backup tasks were read"
            + (f" of {total}" if total is not None else ""),
            node=node,
            limit=limit,
            total=total,
        )
    return NodeHistory(node, True, tuple(found), complete=complete, total=total)


async def read_running_tasks(col: Collector) -> list[VzdumpTask]:
    """vzdump tasks listed by ``/cluster/tasks`` (running ones, plus a few recent ones)."""
    response = await col.fetch(
        "/cluster/tasks",
        component=COMPONENT,
        code="cluster_tasks_unavailable",
        what="Cannot read the cluster task list",
        severity=Severity.INFO,
        expect="list",
    )
    tasks = (
        task_from_item(item) for item in col.expect_list(response, COMPONENT, "/cluster/tasks")
    )
    return [t for t in tasks if t is not None]


async def read_node_timezone(col: Collector, node: str) -> ZoneInfo | None:
    response = await col.fetch(
        f"/nodes/{node}/time",
        component=COMPONENT,
        code="node_time_unavailable",
        what=f"Cannot read the time zone of node {node}",
        severity=Severity.INFO,
        extra={"node": node},
        expect="object",
    )
    if response is None:
        return None
    name = as_str(response.data.get("timezone"))
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        col.add(
            Severity.INFO,
            COMPONENT,
            "node_timezone_unknown",
            f"Node {node} reports time zone {name!r}, unknown here: log times use fallbacks",
            node=node,
            timezone=name,
        )
        return None


def merge_tasks(groups: Iterable[Iterable[VzdumpTask]]) -> tuple[VzdumpTask, ...]:
    """Unique by UPID (a finished entry wins over a stale running one), newest first."""
    by_upid: dict[str, VzdumpTask] = {}
    for group in groups:
        for task in group:
            known = by_upid.get(task.upid.raw)
            if known is None or (known.running and not task.running):
                by_upid[task.upid.raw] = task
    return tuple(
        sorted(by_upid.values(), key=lambda t: (t.upid.starttime, t.upid.raw), reverse=True)
    )


async def read_task_history(
    col: Collector, nodes: Sequence[Node], limit: int, since: int | None
) -> TaskHistory:
    """Task lists and time zones of every online node, and the running tasks, concurrently."""
    online = [n.name for n in nodes if n.readable]
    for node in nodes:
        if not node.readable:
            col.add(
                Severity.WARNING,
                COMPONENT,
                "task_history_unavailable",
                f"Node {node.name} is {node.status}: its backup tasks cannot be read",
                node=node.name,
                status=node.status,
            )
    histories, zones, running = await asyncio.gather(
        asyncio.gather(*(read_node_tasks(col, n, limit, since) for n in online)),
        asyncio.gather(*(read_node_timezone(col, n) for n in online)),
        read_running_tasks(col),
    )
    # /cluster/tasks adds what is running now (and recent tasks of a node whose list failed).
    extra = [t for t in running if since is None or t.upid.starttime >= since]
    merged = merge_tasks([*(h.tasks for h in histories), extra])
    return TaskHistory(
        tasks=merged,
        nodes={h.node: h for h in histories},
        timezones={n: z for n, z in zip(online, zones, strict=True) if z is not None},
    )


async def read_task_log(col: Collector, task: VzdumpTask, max_lines: int) -> FetchedLog:
    """Page through one task log, at most ``max_lines`` lines (an anomaly says when cut)."""
    path = f"/nodes/{task.node}/tasks/{task.upid.raw}/log"
    lines: list[str] = []
    total: int | None = None
    while len(lines) < max_lines:
        want = min(LOG_PAGE, max_lines - len(lines))
        response = await col.fetch(
            path,
            component=COMPONENT,
            code="task_log_unavailable",
            what=f"Cannot read the log of task {task.upid.raw}",
            params={"start": len(lines), "limit": want},
            extra={"upid": task.upid.raw, "node": task.node},
            expect="list",
        )
        if response is None:
            return FetchedLog(task.upid.raw, tuple(lines), True, bool(lines), total, "fetch_failed")
        items = col.expect_list(response, COMPONENT, path)
        total = response.total if response.total is not None else total
        page = [as_str(item.get("t")) or "" for item in items]
        if not lines and len(page) == 1 and page[0].startswith("unable to open file"):
            return FetchedLog(task.upid.raw, (), False, False, total, page[0][:200])
        lines.extend(page)
        if len(page) < want or (total is not None and len(lines) >= total):
            return FetchedLog(task.upid.raw, tuple(lines), False, True, total)
    cut = total is None or total > len(lines)
    if cut:
        col.add(
            Severity.WARNING,
            COMPONENT,
            "task_log_truncated",
            f"The log of task {task.upid.raw} was cut at {max_lines} lines"
            + (f" of {total}" if total is not None else "")
            + " (PVE_TASK_LOG_LIMIT): guests after the cut are undetermined for this task",
            upid=task.upid.raw,
            node=task.node,
            limit=max_lines,
            total=total,
        )
    return FetchedLog(task.upid.raw, tuple(lines), cut, True, total)

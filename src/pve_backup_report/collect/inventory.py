"""Collect the whole PVE inventory for one run, concurrently, never stopping at a failure."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from ..model import Inventory, Node
from .base import Collector, Getter
from .config_cache import ConfigCache
from .guests import collect_guests, enrich_with_configs
from .jobs import collect_jobs, collect_not_backed_up
from .nodes import collect_cluster_name, collect_nodes, collect_version
from .pools import collect_memberships, collect_pool_list
from .storages import collect_storages


async def collect_inventory(
    client: Getter,
    api_url: str,
    jobs_endpoint: str = "/cluster/backup",
    *,
    config_cache: ConfigCache | None = None,
    now: datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> Inventory:
    col = Collector(client)
    async with asyncio.TaskGroup() as group:
        version_task = group.create_task(collect_version(col))
        name_task = group.create_task(collect_cluster_name(col))
        nodes_task = group.create_task(collect_nodes(col))
        storages_task = group.create_task(collect_storages(col))
        guests_task = group.create_task(collect_guests(col))
        pools_task = group.create_task(collect_pool_list(col))
        jobs_task = group.create_task(collect_jobs(col, jobs_endpoint))
        nbu_task = group.create_task(collect_not_backed_up(col))
    nodes, guests, pools, jobs, storages = (
        nodes_task.result(),
        guests_task.result(),
        pools_task.result(),
        jobs_task.result(),
        storages_task.result(),
    )
    unreadable = {
        name
        for name, value in (("guests", guests), ("storages", storages), ("nodes", nodes))
        if value is None
    }
    if nodes is None:  # still read the tasks and configs of the nodes the guests run on
        nodes = tuple(Node(n, "unlisted") for n in sorted({g.node for g in guests or ()}))
    job_pools = [j.selection.pool for j in jobs or () if j.selection.pool]
    cluster_key = name_task.result() or api_url
    memberships, (enriched, from_cache) = await asyncio.gather(
        collect_memberships(col, job_pools, pools),
        enrich_with_configs(
            col,
            guests or (),
            nodes or (),
            cache=config_cache,
            cluster=cluster_key,
            now=now,
            progress=progress,
        ),
    )
    return Inventory(
        api_url=api_url,
        cluster_name=name_task.result(),
        version=version_task.result(),
        nodes=nodes or (),
        storages=storages or (),
        guests=enriched,
        pools=pools,
        pool_memberships=memberships,
        jobs=jobs,
        anomalies=tuple(col.anomalies),
        not_backed_up=nbu_task.result(),
        configs_from_cache=from_cache,
        unreadable=frozenset(unreadable),
    )

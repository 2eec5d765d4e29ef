"""Pools: the list, and the direct members of every pool a backup job names.

Only pools that jobs reference are expanded (one request each) — membership of other pools
is not needed to judge coverage. PVE 8.1+ answers `/pools?poolid=X`; older versions reject that
parameter with 400, so we fall back to the deprecated `/pools/{id}`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from ..api.errors import ApiError, HttpError
from ..model import Pool, PoolMembership, Severity
from .base import Collector, Shape, anomaly_code, check_shape, error_details
from .parse import as_int, as_str


def normalize_pools(items: list[dict[str, Any]]) -> tuple[Pool, ...]:
    pools = []
    for item in items:
        poolid = as_str(item.get("poolid"))
        if poolid:
            pools.append(Pool(poolid=poolid, comment=as_str(item.get("comment"))))
    return tuple(sorted(pools, key=lambda p: p.poolid))


def guest_members(data: Any) -> tuple[int, ...]:
    """Guest VMIDs among a pool's members (storage members are ignored)."""
    if isinstance(data, list):  # /pools?poolid=X -> one-element array
        data = data[0] if data else {}
    members = data.get("members") if isinstance(data, dict) else None
    result: set[int] = set()
    for member in members or []:
        if isinstance(member, dict) and member.get("type") in ("qemu", "lxc"):
            vmid = as_int(member.get("vmid"))
            if vmid is not None:
                result.add(vmid)
    return tuple(sorted(result))


def _is_missing_pool(error: ApiError) -> bool:
    return isinstance(error, HttpError) and "does not exist" in error.reason


async def collect_pool_list(col: Collector) -> tuple[Pool, ...] | None:
    response = await col.fetch(
        "/pools",
        component="pools",
        code="pools_unavailable",
        what="Cannot list pools",
        expect="list",
    )
    if response is None:
        return None
    return normalize_pools(col.expect_list(response, "pools", "/pools"))


async def _membership(
    col: Collector, poolid: str, pools: tuple[Pool, ...] | None
) -> PoolMembership:
    attempts: list[tuple[str, dict[str, str | int] | None, Shape]] = [
        ("/pools", {"poolid": poolid}, "list"),
        (f"/pools/{poolid}", None, "object"),
    ]
    last: ApiError | None = None
    for path, params, shape in attempts:
        try:
            response = check_shape(await col.client.get(path, params), path, shape)
        except ApiError as error:
            last = error
            if _is_missing_pool(error):
                return PoolMembership(poolid, "missing", error=error.message)
            if isinstance(error, HttpError) and error.status == 400 and params:
                continue  # pre-8.1 PVE: no `poolid` parameter; use the old endpoint
            break
        return PoolMembership(poolid, "ok", guest_members(response.data))
    forbidden = isinstance(last, HttpError) and last.status == 403
    listed = pools is None or any(p.poolid == poolid for p in pools)
    if not listed and last is not None and not forbidden:
        return PoolMembership(poolid, "missing", error=last.message)
    assert last is not None
    details = error_details(last)
    details["pool"] = poolid
    col.add(
        Severity.WARNING,
        "pools",
        anomaly_code(last, "pool_members_unavailable"),
        f"Cannot read the members of pool {poolid}: {last.message}",
        **details,
    )
    return PoolMembership(poolid, "unknown", error=last.message)


async def collect_memberships(
    col: Collector, poolids: Iterable[str], pools: tuple[Pool, ...] | None
) -> dict[str, PoolMembership]:
    wanted = sorted(set(poolids))
    results = await asyncio.gather(*(_membership(col, p, pools) for p in wanted))
    return {m.poolid: m for m in results}

"""Storage definitions (`/storage`): which targets exist, are active and are PBS."""

from __future__ import annotations

from typing import Any

from ..model import Severity, Storage
from .base import Collector
from .parse import as_bool, as_int, as_str, parse_property_string, split_list


def normalize_storage(item: dict[str, Any]) -> Storage | None:
    storage_id = as_str(item.get("storage"))
    if storage_id is None:
        return None
    nodes = split_list(item.get("nodes"))
    return Storage(
        storage_id=storage_id,
        type=as_str(item.get("type")) or "unknown",
        active=not as_bool(item.get("disable"), False),
        content=tuple(sorted(split_list(item.get("content")))),
        nodes=tuple(sorted(nodes)) if nodes else None,
        shared=as_bool(item.get("shared")),
        server=as_str(item.get("server")),
        port=as_int(item.get("port")),
        datastore=as_str(item.get("datastore")),
        namespace=as_str(item.get("namespace")),
        username=as_str(item.get("username")),
        fingerprint=as_str(item.get("fingerprint")),
        encryption_key=as_str(item.get("encryption-key")),
        retention=parse_property_string(item.get("prune-backups")),
        path=as_str(item.get("path")),
    )


async def collect_storages(col: Collector) -> tuple[Storage, ...] | None:
    """The storage definitions; None when the list could not be read (then every job's target
    is unknown, which is not the same as "does not exist")."""
    response = await col.fetch(
        "/storage",
        component="storage",
        code="storage_unavailable",
        what="Cannot list storages",
        severity=Severity.CRITICAL,
        expect="list",
    )
    if response is None:
        return None
    storages = [normalize_storage(i) for i in col.expect_list(response, "storage", "/storage")]
    result = tuple(sorted((s for s in storages if s), key=lambda s: s.storage_id))
    if not result:
        col.add(
            Severity.WARNING,
            "storage",
            "storage_list_empty",
            "No storage visible: the token may lack Datastore.Audit on /storage",
            endpoint="/storage",
        )
    return result

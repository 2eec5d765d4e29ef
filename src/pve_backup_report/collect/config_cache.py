"""Opt-in cache of what guest configurations say (notes, disks), for very large clusters.

Why opt-in: a configuration can change at any time and PVE offers no cheap way to know it did
(the `digest` only comes inside each config reply), so re-reading every config is the only way
to be exact — one request per guest, which dominates a second run on a large cluster. With
`REPORT_CONFIG_CACHE_HOURS=N`, a guest's config is re-read only when the cached reading is older
than N hours or the guest moved (node or type changed); the report's method section states the
maximum age. Only derived, non-sensitive values are stored (notes, disk keys/volumes/flags,
name, tags, template), never the raw configuration.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from ..history.store import HistoryStore
from ..model import Disk, Guest

PAYLOAD_VERSION = 1
log = logging.getLogger("pve_backup_report")


@dataclass(frozen=True)
class ConfigFacts:
    node: str
    type: str
    cached_at: datetime
    name: str | None
    notes: str | None
    tags: tuple[str, ...]
    template: bool
    disks: tuple[Disk, ...]


class ConfigCache(Protocol):
    max_age: timedelta

    def get(self, cluster: str, vmids: Iterable[int]) -> dict[int, ConfigFacts]: ...

    def put(self, cluster: str, guests: Iterable[Guest], now: datetime) -> None: ...


def encode(guest: Guest) -> str:
    return json.dumps(
        {
            "v": PAYLOAD_VERSION,
            "name": guest.name,
            "notes": guest.notes,
            "tags": list(guest.tags),
            "template": guest.template,
            "disks": [[d.key, d.volume, d.included, d.reason] for d in guest.disks],
        },
        ensure_ascii=False,
    )


def decode(node: str, gtype: str, cached_at: str, payload: str) -> ConfigFacts | None:
    try:
        data = json.loads(payload)
        if data.get("v") != PAYLOAD_VERSION:
            return None
        return ConfigFacts(
            node=node,
            type=gtype,
            cached_at=datetime.fromisoformat(cached_at),
            name=data["name"],
            notes=data["notes"],
            tags=tuple(str(t) for t in data["tags"]),
            template=bool(data["template"]),
            disks=tuple(Disk(str(k), str(v), bool(i), str(r)) for k, v, i, r in data["disks"]),
        )
    except (ValueError, KeyError, TypeError):
        return None


def apply_facts(guest: Guest, facts: ConfigFacts) -> Guest:
    from dataclasses import replace

    return replace(
        guest,
        name=guest.name or facts.name,
        notes=facts.notes,
        tags=guest.tags or facts.tags,
        template=guest.template or facts.template,
        disks=facts.disks,
        config_collected=True,
    )


class SqliteConfigCache:
    """The cache in the history database; any database problem acts as an empty cache."""

    def __init__(self, path: Path, max_age: timedelta) -> None:
        self.path = path
        self.max_age = max_age

    def get(self, cluster: str, vmids: Iterable[int]) -> dict[int, ConfigFacts]:
        wanted = sorted(set(vmids))
        found: dict[int, ConfigFacts] = {}
        try:
            with HistoryStore(self.path) as store:
                conn = store.connection
                for start in range(0, len(wanted), 500):
                    chunk = wanted[start : start + 500]
                    marks = ",".join("?" * len(chunk))
                    columns = "vmid, node, type, cached_at, payload"
                    where = f"cluster = ? AND vmid IN ({marks})"  # only ? placeholders
                    query = f"SELECT {columns} FROM guest_config_cache WHERE {where}"  # noqa: S608
                    rows = conn.execute(query, [cluster, *chunk])
                    for vmid, node, gtype, cached_at, payload in rows:
                        facts = decode(node, gtype, cached_at, payload)
                        if facts is not None:
                            found[int(vmid)] = facts
        except (OSError, sqlite3.Error, RuntimeError) as error:
            log.warning("guest config cache not read: %s", error)
            return {}
        return found

    def put(self, cluster: str, guests: Iterable[Guest], now: datetime) -> None:
        rows = [
            (cluster, g.vmid, g.node, g.type, encode(g), now.isoformat())
            for g in guests
            if g.config_collected
        ]
        if not rows:
            return
        try:
            with HistoryStore(self.path) as store:
                conn = store.connection
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(
                    "INSERT OR REPLACE INTO guest_config_cache"
                    " (cluster, vmid, node, type, payload, cached_at) VALUES (?, ?, ?, ?, ?, ?)",
                    rows,
                )
                conn.execute("COMMIT")
        except (OSError, sqlite3.Error, RuntimeError) as error:
            log.warning("guest config cache not written: %s", error)


def usable(facts: ConfigFacts | None, guest: Guest, now: datetime, max_age: timedelta) -> bool:
    return (
        facts is not None
        and facts.node == guest.node
        and facts.type == guest.type
        and now - facts.cached_at <= max_age
    )


def split(
    guests: Iterable[Guest], cached: Mapping[int, ConfigFacts], now: datetime, max_age: timedelta
) -> tuple[list[Guest], list[Guest]]:
    """(guests served from the cache, guests whose config must be read)."""
    hits: list[Guest] = []
    misses: list[Guest] = []
    for guest in guests:
        facts = cached.get(guest.vmid)
        if facts is not None and usable(facts, guest, now, max_age):
            hits.append(apply_facts(guest, facts))
        else:
            misses.append(guest)
    return hits, misses

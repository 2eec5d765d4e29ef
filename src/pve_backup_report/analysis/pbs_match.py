"""Which configured Proxmox Backup Server, datastore and namespace a PVE `pbs` storage uses.

Why several rules: the name PVE uses for the server (`server` in storage.cfg) is often not the
one in the tool's configuration (an IP address on one side, a DNS name on the other). In order:

1. **explicit**: the PVE storage id is listed in `PBSnn_STORAGES`;
2. **address**: same host (case-insensitive, IPv6 brackets ignored) and same port (8007 when
   unset on either side);
3. **fingerprint**: the storage's `fingerprint` equals the server's certificate fingerprint
   (the configured pin, or the certificate seen during collection).

The storage's `datastore` and `namespace` then say exactly where its snapshots live: a guest's
snapshots are looked up in that namespace only (`""` is the root namespace).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from ..api.tls import normalize_fingerprint
from ..model import Storage

DEFAULT_PBS_PORT = 8007
MatchMethod = Literal["explicit", "address", "fingerprint"]


@dataclass(frozen=True, order=True)
class Location:
    """Where snapshots live: server name (configured, or the PVE `server` value), datastore,
    namespace."""

    server: str
    datastore: str
    namespace: str

    @property
    def label(self) -> str:
        """`pbs01:store1/prod` (`pbs01:store1/` for the root namespace)."""
        return f"{self.server}:{self.datastore}/{self.namespace}"


def _depth(ns: str) -> int:
    return len(ns.split("/")) if ns else 0


def in_scope(ns: str, top: str, max_depth: int | None) -> bool:
    """Is namespace `ns` at or below `top`, within `max_depth` levels (None: any)? PBS's one
    rule for what a job reads below its namespace: prune, verify and sync jobs alike."""
    if top and ns != top and not ns.startswith(top + "/"):
        return False
    return max_depth is None or _depth(ns) - _depth(top) <= max_depth


@dataclass(frozen=True)
class PbsEndpoint:
    """What matching needs to know about one configured server."""

    name: str
    host: str
    port: int
    fingerprint: str | None = None  # 64 lowercase hex
    storages: tuple[str, ...] = ()


@dataclass(frozen=True)
class StorageMatch:
    storage_id: str
    location: Location | None  # None: no configured server serves this storage
    method: MatchMethod | None = None
    server_host: str | None = None  # as written in storage.cfg


def normalize_host(host: str | None) -> str:
    return (host or "").strip().strip("[]").rstrip(".").lower()


def fingerprint_key(value: str | None) -> str | None:
    """A fingerprint in one notation for comparing, or None (absent or unparseable)."""
    if not value:
        return None
    try:
        return normalize_fingerprint(value)
    except ValueError:
        return None


def find_endpoint(
    storage: Storage, endpoints: Sequence[PbsEndpoint]
) -> tuple[PbsEndpoint, MatchMethod] | None:
    for endpoint in endpoints:
        if storage.storage_id in endpoint.storages:
            return endpoint, "explicit"
    host, port = normalize_host(storage.server), storage.port or DEFAULT_PBS_PORT
    for endpoint in endpoints:
        if host and normalize_host(endpoint.host) == host and endpoint.port == port:
            return endpoint, "address"
    fingerprint = fingerprint_key(storage.fingerprint)
    for endpoint in endpoints:
        if fingerprint and fingerprint_key(endpoint.fingerprint) == fingerprint:
            return endpoint, "fingerprint"
    return None


def match_storages(
    storages: Iterable[Storage], endpoints: Sequence[PbsEndpoint]
) -> dict[str, StorageMatch]:
    """One `StorageMatch` per PVE storage of type `pbs` (matched or not)."""
    result: dict[str, StorageMatch] = {}
    for storage in storages:
        if not storage.is_pbs:
            continue
        found = find_endpoint(storage, endpoints)
        if found is None or not storage.datastore:
            result[storage.storage_id] = StorageMatch(
                storage.storage_id, None, None, storage.server
            )
            continue
        endpoint, method = found
        location = Location(endpoint.name, storage.datastore, storage.namespace or "")
        result[storage.storage_id] = StorageMatch(
            storage.storage_id, location, method, storage.server
        )
    return result


def fallback_location(storage: Storage) -> Location:
    """The location of a storage read through PVE (no configured server): PVE's `server`."""
    return Location(
        storage.server or storage.storage_id, storage.datastore or "", storage.namespace or ""
    )


def needs_fingerprint(storages: Iterable[Storage], endpoints: Sequence[PbsEndpoint]) -> bool:
    """True when some pbs storage with a fingerprint is matched neither explicitly nor by
    address (so fetching server certificates could still match it)."""
    for storage in storages:
        if storage.is_pbs and storage.fingerprint:
            found = find_endpoint(storage, endpoints)
            if found is None:
                return True
    return False


def locations_by_storage(matches: Mapping[str, StorageMatch]) -> dict[str, Location]:
    return {sid: m.location for sid, m in matches.items() if m.location is not None}

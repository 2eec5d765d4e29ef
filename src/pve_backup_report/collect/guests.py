"""Guests from `/cluster/resources?type=vm`, enriched with notes and disks from their config.

The config is read on the guest's *current* node (PVE answers 500 on any other), only for
online nodes, concurrently within the client's bound. A config that cannot be read leaves the
guest's notes `None` ("not specified") and adds one anomaly; collection goes on.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from ..api.errors import ApiError
from ..model import Disk, Guest, GuestType, Node, Severity
from .base import Collector, anomaly_code, check_shape, error_details
from .config_cache import ConfigCache, split
from .parse import as_bool, as_int, as_str, split_tags

QEMU_DISK_RE = re.compile(r"^(ide|sata|scsi|virtio)\d+$|^efidisk0$|^tpmstate0$")
LXC_MP_RE = re.compile(r"^mp\d+$")


def normalize_guest(item: dict[str, Any]) -> Guest | None:
    gtype = as_str(item.get("type"))
    vmid = as_int(item.get("vmid"))
    node = as_str(item.get("node"))
    if vmid is None or node is None:
        return None
    if gtype == "qemu":
        kind: GuestType = "qemu"
    elif gtype == "lxc":
        kind = "lxc"
    else:
        return None
    return Guest(
        vmid=vmid,
        type=kind,
        node=node,
        name=as_str(item.get("name")),
        status=as_str(item.get("status")),
        template=bool(as_bool(item.get("template"), False)),
        pool=as_str(item.get("pool")),
        tags=split_tags(item.get("tags")),
        lock=as_str(item.get("lock")),
        hastate=as_str(item.get("hastate")),
    )


def _drive_options(value: str) -> tuple[str, dict[str, str]]:
    parts = value.split(",")
    volume = parts[0]
    options: dict[str, str] = {}
    for part in parts[1:]:
        key, _, val = part.partition("=")
        options[key.strip()] = val.strip()
    if "=" in volume:  # "file=local:vm-100-disk-0" form
        key, _, val = volume.partition("=")
        if key.strip() in ("file", "volume"):
            volume = val
    return volume, options


def qemu_disks(config: dict[str, Any]) -> tuple[Disk, ...]:
    """VM drives and whether vzdump backs them up (`backup=0` excludes; CD-ROMs are skipped)."""
    disks: list[Disk] = []
    for key in sorted(config):
        if not QEMU_DISK_RE.match(key) or not isinstance(config[key], str):
            continue
        volume, options = _drive_options(config[key])
        if options.get("media") == "cdrom" or volume in ("none", "cdrom"):
            continue
        if key == "efidisk0" and str(config.get("bios", "")).lower() != "ovmf":
            disks.append(Disk(key, volume, False, "efidisk but no OVMF BIOS"))
            continue
        included = as_bool(options.get("backup"), True) is not False
        disks.append(Disk(key, volume, included, "backup=yes" if included else "backup=no"))
    return tuple(disks)


def lxc_disks(config: dict[str, Any]) -> tuple[Disk, ...]:
    """CT volumes: rootfs always; mount points only with `backup=1`."""
    disks: list[Disk] = []
    if isinstance(config.get("rootfs"), str):
        volume, _ = _drive_options(config["rootfs"])
        disks.append(Disk("rootfs", volume, True, "rootfs"))
    for key in sorted(config):
        if not LXC_MP_RE.match(key) or not isinstance(config[key], str):
            continue
        volume, options = _drive_options(config[key])
        if as_bool(options.get("backup"), False):
            disks.append(Disk(key, volume, True, "enabled"))
        else:
            disks.append(Disk(key, volume, False, "mount point without backup=1"))
    return tuple(disks)


def apply_config(guest: Guest, config: dict[str, Any]) -> Guest:
    notes = as_str(config.get("description"))
    note_text = notes.rstrip("\n") if notes is not None else None
    disks = qemu_disks(config) if guest.type == "qemu" else lxc_disks(config)
    name_key = "name" if guest.type == "qemu" else "hostname"
    name = guest.name or as_str(config.get(name_key))
    tags = guest.tags or split_tags(config.get("tags"))
    template = guest.template or bool(as_bool(config.get("template"), False))
    return replace(
        guest,
        notes=note_text,
        disks=disks,
        config_collected=True,
        name=name,
        tags=tags,
        template=template,
    )


async def collect_guests(col: Collector) -> tuple[Guest, ...] | None:
    response = await col.fetch(
        "/cluster/resources",
        params={"type": "vm"},
        component="guests",
        code="guests_unavailable",
        what="Cannot list guests",
        severity=Severity.CRITICAL,
        expect="list",
    )
    if response is None:
        return None
    guests: dict[int, Guest] = {}
    for item in col.expect_list(response, "guests", "/cluster/resources"):
        guest = normalize_guest(item)
        if guest is not None:
            guests[guest.vmid] = guest
    if not guests:
        col.add(
            Severity.WARNING,
            "guests",
            "no_guests_visible",
            "No guest visible: the cluster is empty or the token lacks VM.Audit",
            endpoint="/cluster/resources",
        )
    return tuple(sorted(guests.values(), key=lambda g: g.vmid))


async def _config(col: Collector, guest: Guest) -> Guest:
    path = f"/nodes/{guest.node}/{guest.type}/{guest.vmid}/config"
    try:
        response = check_shape(await col.client.get(path), path, "object")
    except ApiError as error:
        details = error_details(error)
        details["vmid"] = guest.vmid
        col.add(
            Severity.WARNING,
            "guests",
            anomaly_code(error, "guest_config_unavailable"),
            f"Cannot read the configuration of guest {guest.vmid}: {error.message}",
            **details,
        )
        return guest
    return apply_config(guest, response.data)


async def enrich_with_configs(
    col: Collector,
    guests: Iterable[Guest],
    nodes: Iterable[Node],
    *,
    cache: ConfigCache | None = None,
    cluster: str = "",
    now: datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[tuple[Guest, ...], int]:
    """Read each online guest's config (or take a fresh enough cached reading); returns the
    guests and how many came from the cache."""
    online = {n.name for n in nodes if n.readable}
    guest_list = list(guests)
    skipped: dict[str, int] = {}
    readable = []
    for guest in guest_list:
        if guest.node in online:
            readable.append(guest)
        else:
            skipped[guest.node] = skipped.get(guest.node, 0) + 1
    hits: list[Guest] = []
    if cache is not None and now is not None:
        cached = cache.get(cluster, (g.vmid for g in readable))
        hits, readable = split(readable, cached, now, cache.max_age)
    done = 0

    async def read(guest: Guest) -> Guest:
        nonlocal done
        result = await _config(col, guest)
        done += 1
        if progress is not None:
            progress(f"Reading guest configurations… {done}/{len(readable)}")
        return result

    fetched = list(await asyncio.gather(*(read(g) for g in readable)))
    if cache is not None and now is not None:
        cache.put(cluster, fetched, now)
    enriched = {g.vmid: g for g in [*hits, *fetched]}
    for node, count in sorted(skipped.items()):
        col.add(
            Severity.WARNING,
            "guests",
            "guest_config_unavailable",
            f"{count} guest(s) on node {node}, which is not online: notes and disks not read",
            node=node,
            guests=count,
        )
    return tuple(enriched.get(g.vmid, g) for g in guest_list), len(hits)

"""Fallback without PBS credentials: PBS snapshots as PVE lists them (storage content).

Why it needs care: PVE lists a backup volume only if the token has `Datastore.Allocate` on the
storage, or `Datastore.AllocateSpace` on it *and* `VM.Backup` on the guest; otherwise the volume
is dropped silently and the answer is an empty 200 (pve-api.md §8). An empty list therefore
does not mean "no backups": when the token lacks those privileges, an anomaly names the exact
missing privilege, and the storage's content is treated as unknown (no "no snapshot" alarms).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..analysis.pbs_match import Location, fallback_location
from ..api.errors import ApiError
from ..model import Anomaly, Inventory, PbsSnapshot, Severity, Storage
from .base import Collector, Getter
from .parse import as_bool, as_int, as_str
from .pbs_parse import epoch, upid_start

VOLID_RE = re.compile(r":backup/(vm|ct)/(\d+)/")


@dataclass
class FallbackResult:
    snapshots: list[PbsSnapshot] = field(default_factory=list)
    listed: set[Location] = field(default_factory=set)
    locations: dict[str, Location] = field(default_factory=dict)
    anomalies: list[Anomaly] = field(default_factory=list)


def parse_volume(item: Mapping[str, Any], loc: Location) -> PbsSnapshot | None:
    match = VOLID_RE.search(str(item.get("volid", "")))
    when = epoch(item.get("ctime"))
    if match is None or when is None:
        return None
    verification = item.get("verification")
    state = verification.get("state") if isinstance(verification, dict) else None
    size = as_int(item.get("size"))
    return PbsSnapshot(
        backup_time=when,
        server=loc.server,
        datastore=loc.datastore,
        namespace=loc.namespace,
        backup_type=match.group(1),
        backup_id=match.group(2),
        size_bytes=size if size != 1 else None,  # PVE writes 1 when PBS reports no size
        encrypted=bool(item.get("encrypted")),
        protected=bool(as_bool(item.get("protected"), False)),
        verify_state=state if state in ("ok", "failed") else None,
        verified_at=upid_start(verification.get("upid")) if state else None,  # type: ignore[union-attr]
        comment=as_str(item.get("notes")),
    )


def _node_for(storage: Storage, inventory: Inventory) -> str | None:
    online = sorted(n.name for n in inventory.nodes if n.readable)
    usable = [n for n in online if storage.nodes is None or n in storage.nodes]
    return usable[0] if usable else None


async def _privileges(col: Collector, path: str) -> set[str] | None:
    """The token's privileges on `path` via PVE's `/access/permissions`, None if unknown."""
    try:
        response = await col.client.get("/access/permissions", {"path": path})
    except ApiError:
        return None
    data = response.data
    if not isinstance(data, dict):
        return None
    privs = data.get(path)
    return {str(k) for k, v in privs.items() if v} if isinstance(privs, dict) else set()


async def collect_pve_backup_content(
    client: Getter, inventory: Inventory, storage_ids: Sequence[str]
) -> FallbackResult:
    col = Collector(client)
    result = FallbackResult(anomalies=col.anomalies)
    for sid in storage_ids:
        storage = inventory.storage(sid)
        if storage is None or not storage.active:
            continue
        loc = fallback_location(storage)
        result.locations[sid] = loc
        node = _node_for(storage, inventory)
        if node is None:
            col.add(
                Severity.WARNING,
                "pbs",
                "pve_backup_content_no_node",
                f"Cannot list backups of {sid} through PVE: no online node has it",
                storage=sid,
            )
            continue
        path = f"/nodes/{node}/storage/{sid}/content"
        response = await col.fetch(
            path,
            component="pbs",
            code="pve_backup_content_failed",
            what=f"Cannot list backups of {sid} through PVE",
            params={"content": "backup"},
            extra={"storage": sid},
            expect="list",
        )
        if response is None:
            continue
        items = col.expect_list(response, "pbs", path)
        snaps = [s for i in items if (s := parse_volume(i, loc)) is not None]
        result.snapshots.extend(snaps)
        privs = await _privileges(col, f"/storage/{sid}")
        if privs is not None and "Datastore.Allocate" in privs:
            result.listed.add(loc)
            continue
        if privs is None and snaps:
            result.listed.add(loc)  # unknown privileges, but the listing is not empty
            continue
        if privs is not None and "Datastore.AllocateSpace" in privs:
            missing = "VM.Backup"
            text = (
                "VM.Backup on /vms/<vmid> for each guest (it has Datastore.AllocateSpace on "
                f"/storage/{sid})"
            )
        else:
            missing = "Datastore.Allocate"
            text = (
                f"Datastore.Allocate on /storage/{sid} (or Datastore.AllocateSpace on it "
                "plus VM.Backup on /vms/<vmid>)"
            )
        verb = "lacks" if privs is not None else "probably lacks (unless the storage is empty)"
        col.add(
            Severity.WARNING,
            "pbs",
            "pve_backup_content_hidden",
            f"PVE listed {len(snaps)} backup(s) on {sid}, but silently hides backup volumes "
            f"from a token that {verb} {text}. Backups on {sid} are unknown, not missing; "
            "configure a PBSnn_* block to read the backup server directly",
            storage=sid,
            acl_path=f"/storage/{sid}" if missing != "VM.Backup" else "/vms",
            missing_privilege=missing,
            listed=len(snaps),
            privileges_known=privs is not None,
        )
    return result

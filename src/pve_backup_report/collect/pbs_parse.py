"""Normalize Proxmox Backup Server JSON into model objects (pbs-api.md §2–§7).

Why separate from the HTTP orchestration: these are pure functions over one item each, so the
PBS quirks (verification time only inside the UPID, `estimated-full-date` 0 meaning "flat",
crypt-mode per file, kebab-case keys, `disable` only emitted when true) are unit-testable
without a server.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..model import PbsGcStatus, PbsSnapshot, PbsVerifyJob, RetentionPolicy, VerifyState
from .parse import as_bool, as_int, as_str

PBS_UPID_RE = re.compile(
    r"^UPID:[^:]+:[0-9A-Fa-f]{8}:[0-9A-Fa-f]{8,9}:[0-9A-Fa-f]{8,16}:([0-9A-Fa-f]{8}):"
)
KEEP_KEYS = ("keep-last", "keep-hourly", "keep-daily", "keep-weekly", "keep-monthly", "keep-yearly")
METADATA_FILES = frozenset({"index.json.blob", "client.log.blob"})


def epoch(value: Any) -> datetime | None:
    number = as_int(value)
    if number is None or number <= 0:
        return None
    return datetime.fromtimestamp(number, UTC)


def upid_start(upid: Any) -> datetime | None:
    """The start time of a PBS UPID (the only place a verification time exists)."""
    match = PBS_UPID_RE.match(upid) if isinstance(upid, str) else None
    return datetime.fromtimestamp(int(match.group(1), 16), UTC) if match else None


def encrypted_from_files(files: Any) -> bool | None:
    """True when every data file is `encrypt`; None when no crypt-mode is known."""
    modes = [
        f.get("crypt-mode")
        for f in files or []
        if isinstance(f, dict) and f.get("filename") not in METADATA_FILES
    ]
    known = [m for m in modes if isinstance(m, str)]
    if not known:
        return None
    return all(m == "encrypt" for m in known)


def parse_snapshot(item: Mapping[str, Any], server: str, store: str, ns: str) -> PbsSnapshot | None:
    kind, backup_id = as_str(item.get("backup-type")), as_str(item.get("backup-id"))
    when = epoch(item.get("backup-time"))
    if kind is None or backup_id is None or when is None:
        return None
    verification = item.get("verification")
    state: VerifyState | None = None
    verified_at = None
    if isinstance(verification, dict) and verification.get("state") in ("ok", "failed"):
        state = "ok" if verification["state"] == "ok" else "failed"
        verified_at = upid_start(verification.get("upid"))
    comment = as_str(item.get("comment"))
    return PbsSnapshot(
        backup_time=when,
        server=server,
        datastore=store,
        namespace=ns,
        backup_type=kind,
        backup_id=backup_id,
        size_bytes=as_int(item.get("size")),
        encrypted=encrypted_from_files(item.get("files")),
        protected=bool(as_bool(item.get("protected"), False)),
        verify_state=state,
        verified_at=verified_at,
        comment=comment.splitlines()[0] if comment else None,
        owner=as_str(item.get("owner")),
        in_progress=item.get("size") is None,
    )


@dataclass(frozen=True)
class PbsGroup:
    server: str
    datastore: str
    namespace: str
    backup_type: str
    backup_id: str
    owner: str | None
    last_backup: datetime | None
    backup_count: int | None
    comment: str | None = None


def parse_group(item: Mapping[str, Any], server: str, store: str, ns: str) -> PbsGroup | None:
    kind, backup_id = as_str(item.get("backup-type")), as_str(item.get("backup-id"))
    if kind is None or backup_id is None:
        return None
    return PbsGroup(
        server,
        store,
        ns,
        kind,
        backup_id,
        as_str(item.get("owner")),
        epoch(item.get("last-backup")),
        as_int(item.get("backup-count")),
        as_str(item.get("comment")),
    )


def parse_prune_job(item: Mapping[str, Any], server: str) -> RetentionPolicy | None:
    job_id, store = as_str(item.get("id")), as_str(item.get("store"))
    if job_id is None or store is None:
        return None
    keep = {k: n for k in KEEP_KEYS if (n := as_int(item.get(k))) is not None and n > 0}
    return RetentionPolicy(
        source=f"prune-job:{job_id}",
        server=server,
        datastore=store,
        namespace=as_str(item.get("ns")) or "",
        keep=keep,
        schedule=as_str(item.get("schedule")),
        enabled=not as_bool(item.get("disable"), False),
        max_depth=as_int(item.get("max-depth")),
        comment=as_str(item.get("comment")),
        last_run_state=as_str(item.get("last-run-state")),
        last_run_end=epoch(item.get("last-run-endtime")),
        next_run=epoch(item.get("next-run")),
    )


def parse_verify_job(item: Mapping[str, Any], server: str) -> PbsVerifyJob | None:
    job_id, store = as_str(item.get("id")), as_str(item.get("store"))
    if job_id is None or store is None:
        return None
    return PbsVerifyJob(
        job_id=job_id,
        server=server,
        datastore=store,
        namespace=as_str(item.get("ns")) or "",
        max_depth=as_int(item.get("max-depth")),
        schedule=as_str(item.get("schedule")),
        outdated_after_days=as_int(item.get("outdated-after")),
        ignore_verified=bool(as_bool(item.get("ignore-verified"), True)),
        last_run_state=as_str(item.get("last-run-state")),
        last_run_end=epoch(item.get("last-run-endtime")),
        next_run=epoch(item.get("next-run")),
    )


def parse_gc(item: Mapping[str, Any]) -> PbsGcStatus:
    """`/admin/datastore/{s}/gc` (job status) or a bare `gc-status` (counters + upid)."""
    upid = item.get("upid")
    ever = isinstance(upid, str) and bool(upid)
    end = epoch(item.get("last-run-endtime"))
    if end is None and ever and "last-run-state" not in item and "schedule" not in item:
        end = upid_start(upid)  # bare gc-status: only the start time is known
    return PbsGcStatus(
        ever_ran=ever,
        last_run_end=end,
        last_run_state=as_str(item.get("last-run-state")),
        schedule=as_str(item.get("schedule")),
        next_run=epoch(item.get("next-run")),
        removed_bytes=as_int(item.get("removed-bytes")),
        pending_bytes=as_int(item.get("pending-bytes")),
    )


def effective_privileges(permissions: Mapping[str, Any], path: str) -> tuple[str, ...]:
    """Privileges on `path` from `/access/permissions` (`{path: {priv: propagate}}`).

    The nearest listed path wins: the path itself (all its privileges), else the closest
    ancestor's propagating privileges.
    """
    parts = [p for p in path.split("/") if p]
    for depth in range(len(parts), -1, -1):
        candidate = "/" + "/".join(parts[:depth])
        privs = permissions.get(candidate)
        if isinstance(privs, dict):
            if depth == len(parts):
                return tuple(sorted(str(k) for k in privs))
            return tuple(sorted(str(k) for k, v in privs.items() if v))
    return ()

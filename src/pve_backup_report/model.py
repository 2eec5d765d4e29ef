"""The normalized domain model: what collectors produce and analysis consumes.

Collectors turn the API's loosely typed JSON into these frozen objects, so nothing past
`collect/` ever looks at a raw dict, and analysis stays pure and testable without HTTP.
`None` always means "not specified / not known", never a default silently filled in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal
from urllib.parse import urlsplit

GuestType = Literal["qemu", "lxc"]
JSONScalar = str | int | float | bool | None


class Severity(StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"critical": 0, "warning": 1, "info": 2}[self.value]


@dataclass(frozen=True)
class Anomaly:
    """A problem found while collecting or analysing. Details must be non-sensitive."""

    severity: Severity
    component: str
    code: str
    message: str
    details: dict[str, JSONScalar] = field(default_factory=dict)


@dataclass(frozen=True)
class VersionInfo:
    version: str | None
    release: str | None
    repoid: str | None


@dataclass(frozen=True)
class Node:
    name: str
    status: str  # online | offline | unknown
    ssl_fingerprint: str | None = None
    subscription_level: str | None = None
    timezone: str | None = None

    @property
    def online(self) -> bool:
        return self.status == "online"

    @property
    def readable(self) -> bool:
        """Worth asking for its tasks and guest configs: online, or "unlisted" (named by the
        guest list while the node list itself was unreadable: unknown is not offline)."""
        return self.status in ("online", "unlisted")


@dataclass(frozen=True)
class Storage:
    """A storage.cfg entry. For type `pbs` the PBS connection fields are filled."""

    storage_id: str
    type: str
    active: bool  # a missing `disable` means active
    content: tuple[str, ...] = ()
    nodes: tuple[str, ...] | None = None  # None: available on every node
    shared: bool | None = None
    server: str | None = None
    port: int | None = None
    datastore: str | None = None
    namespace: str | None = None
    username: str | None = None
    fingerprint: str | None = None
    encryption_key: str | None = None  # key fingerprint or "1"; None = unencrypted / unknown
    retention: dict[str, str] = field(default_factory=dict)
    path: str | None = None

    @property
    def is_pbs(self) -> bool:
        return self.type == "pbs"

    @property
    def encrypted(self) -> bool:
        return bool(self.encryption_key)


@dataclass(frozen=True)
class Disk:
    """A guest volume and whether vzdump includes it."""

    key: str  # scsi0, rootfs, mp0...
    volume: str
    included: bool
    reason: str  # backup=no, mount point without backup=1, ...


@dataclass(frozen=True)
class Guest:
    vmid: int
    type: GuestType
    node: str
    name: str | None = None
    status: str | None = None
    template: bool = False
    pool: str | None = None
    tags: tuple[str, ...] = ()
    lock: str | None = None
    hastate: str | None = None
    notes: str | None = None  # `description` of the config; None = not specified / unavailable
    config_collected: bool = False
    disks: tuple[Disk, ...] = ()

    @property
    def excluded_disks(self) -> tuple[Disk, ...]:
        return tuple(d for d in self.disks if not d.included)


@dataclass(frozen=True)
class Pool:
    poolid: str
    comment: str | None = None


PoolState = Literal["ok", "missing", "unknown"]


@dataclass(frozen=True)
class PoolMembership:
    """Direct guest members of a pool referenced by a job, or why they are not known."""

    poolid: str
    state: PoolState
    members: tuple[int, ...] = ()
    error: str | None = None


SelectionMode = Literal["pool", "vmid", "all", "none"]


@dataclass(frozen=True)
class Selection:
    """How a job picks guests, already split and typed (see pve-api.md §2)."""

    mode: SelectionMode
    vmids: tuple[int, ...] = ()
    exclude: tuple[int, ...] = ()
    pool: str | None = None
    invalid: tuple[str, ...] = ()  # list tokens that are not VMIDs ("strange VM ID")


@dataclass(frozen=True)
class BackupJob:
    job_id: str
    enabled: bool
    legacy: bool
    selection: Selection
    schedule: str | None = None
    storage: str | None = None
    mode: str = "snapshot"
    node: str | None = None
    comment: str | None = None
    notes_template: str | None = None
    next_run: datetime | None = None
    retention: dict[str, str] = field(default_factory=dict)
    repeat_missed: bool = False
    protected: bool = False


@dataclass(frozen=True)
class Inventory:
    """Everything collected from a PVE cluster for one run."""

    api_url: str
    cluster_name: str | None
    version: VersionInfo | None
    nodes: tuple[Node, ...]
    storages: tuple[Storage, ...]
    guests: tuple[Guest, ...]
    pools: tuple[Pool, ...] | None  # None: the pool list could not be read
    pool_memberships: dict[str, PoolMembership]
    jobs: tuple[BackupJob, ...] | None  # None: the job list could not be read
    anomalies: tuple[Anomaly, ...]
    not_backed_up: tuple[int, ...] | None = None  # PVE's own list; None = not readable
    configs_from_cache: int = 0  # guest configs taken from the opt-in config cache
    # Lists that could not be read ("guests", "storages", "nodes"): their empty tuple above
    # means "unknown", never "none exist" (jobs and pools say it with None instead).
    unreadable: frozenset[str] = frozenset()

    def storage(self, storage_id: str | None) -> Storage | None:
        if storage_id is None:
            return None
        return next((s for s in self.storages if s.storage_id == storage_id), None)

    @property
    def cluster_label(self) -> str:
        """The cluster's identity, the same in every output and in the history: the name from
        `/cluster/status` (a standalone node's own name there), else the only node's name,
        else the host of the first configured API URL — never the host that happened to
        answer, so a failover run is recorded as the same cluster."""
        if self.cluster_name:
            return self.cluster_name
        if len(self.nodes) == 1:
            return self.nodes[0].name
        try:
            host = urlsplit(self.api_url).hostname
        except ValueError:
            host = None
        return host or self.api_url

    def guest(self, vmid: int) -> Guest | None:
        return next((g for g in self.guests if g.vmid == vmid), None)


# --- Backup evidence (what actually happened), filled by the task-history collection --------

BackupResult = Literal["success", "warning", "failure", "running", "undetermined"]
# What a backup attempt's size measures: the archive file on a file storage (``archive file
# size``), the data QEMU read and sent (``transferred``: the dirty part when incremental), the
# new data the backup client uploaded before compression (``had to backup``), or tar's stream
# before compression (``Total bytes written``).
SizeKind = Literal["archive", "transferred", "uploaded", "tar_stream"]
# unknown: no success found, but the history that could hold one was not (all) readable
FreshnessStatus = Literal["fresh", "stale", "no_success", "not_applicable", "unknown"]


@dataclass(frozen=True)
class BackupAttempt:
    """One guest's part of one vzdump task."""

    result: BackupResult
    started_at: datetime | None = None  # aware datetimes
    ended_at: datetime | None = None
    duration_s: int | None = None
    storage: str | None = None
    node: str | None = None
    upid: str | None = None
    error: str | None = None
    size_bytes: int | None = None
    archive: str | None = None  # PBS snapshot path (vm/100/2024-...Z) or dump file name
    source: Literal["task_log", "history"] = "task_log"  # history: older than PVE's task index
    size_kind: SizeKind | None = None  # what size_bytes measures (None when it is None)

    @property
    def succeeded(self) -> bool:
        return self.result in ("success", "warning")


@dataclass(frozen=True)
class Freshness:
    """Is the last success recent enough, and by which threshold (explained in words)."""

    status: FreshnessStatus
    max_age_hours: float | None
    source: str  # "schedule", "global", "tag:<tag>", "pool:<pool>", "none"
    explanation: str
    age_hours: float | None = None


@dataclass(frozen=True)
class GuestEvidence:
    vmid: int
    latest_backup: BackupAttempt | None = None
    last_success: BackupAttempt | None = None
    attempts: int = 0
    failures: int = 0
    freshness: Freshness | None = None
    next_run: datetime | None = None


# --- Proxmox Backup Server evidence (what is really stored), filled by the PBS collection ---

VerifyState = Literal["ok", "failed"]


@dataclass(frozen=True)
class PbsSnapshot:
    backup_time: datetime
    server: str
    datastore: str
    namespace: str  # "" is the root namespace
    backup_type: str  # vm | ct | host
    backup_id: str
    size_bytes: int | None = None
    encrypted: bool | None = None
    protected: bool = False
    verify_state: VerifyState | None = None  # None: never verified
    verified_at: datetime | None = None
    comment: str | None = None
    owner: str | None = None
    in_progress: bool = False  # no manifest yet (a running backup): no size, no verification


@dataclass(frozen=True)
class RetentionPolicy:
    """A prune job (or datastore keep-* options) that applies to a datastore/namespace."""

    source: str  # "prune-job:<id>", "datastore", "pve-storage:<id>"
    server: str
    datastore: str
    namespace: str | None
    keep: dict[str, int] = field(default_factory=dict)
    schedule: str | None = None
    enabled: bool = True
    max_depth: int | None = None
    comment: str | None = None
    last_run_state: str | None = None  # OK, "WARNINGS: n", unknown or the error text
    last_run_end: datetime | None = None
    next_run: datetime | None = None


@dataclass(frozen=True)
class GuestPbs:
    """A guest's backups as the backup server sees them."""

    vmid: int
    latest_snapshot: PbsSnapshot | None = None
    restore_points: int | None = 0  # None: a location could not be listed completely
    oldest_snapshot_time: datetime | None = None
    retention: RetentionPolicy | None = None  # None: no known policy
    other_namespaces: tuple[str, ...] = ()  # snapshots of this guest found elsewhere
    storages: tuple[str, ...] = ()  # PVE storages (type pbs) whose namespace was searched
    source: str = "pbs"  # "pbs" (read on the server) or "pve" (PVE storage content fallback)
    collision: str | None = None  # why the group may belong to another guest (VMID reuse)


@dataclass(frozen=True)
class PbsOrphan:
    """A backup group with no matching guest in the cluster (deleted guest still stored)."""

    server: str
    datastore: str
    namespace: str
    backup_type: str
    backup_id: str
    last_backup: datetime | None
    size_bytes: int | None
    comment: str | None = None


# --- Proxmox Backup Server inventory (servers, datastores, jobs), for the report and dumps ---


@dataclass(frozen=True)
class PbsGcStatus:
    """The last garbage collection of a datastore."""

    ever_ran: bool
    last_run_end: datetime | None = None
    last_run_state: str | None = None  # None while running or when it never ran
    schedule: str | None = None
    next_run: datetime | None = None
    removed_bytes: int | None = None
    pending_bytes: int | None = None


@dataclass(frozen=True)
class PbsVerifyJob:
    job_id: str
    server: str
    datastore: str
    namespace: str | None
    max_depth: int | None = None
    schedule: str | None = None
    outdated_after_days: int | None = None
    ignore_verified: bool = True
    last_run_state: str | None = None
    last_run_end: datetime | None = None
    next_run: datetime | None = None


@dataclass(frozen=True)
class PbsDatastore:
    server: str
    name: str
    comment: str | None = None
    maintenance: str | None = None
    total_bytes: int | None = None
    used_bytes: int | None = None
    avail_bytes: int | None = None
    estimated_full: datetime | None = None  # None: unknown (no history, flat or shrinking)
    gc: PbsGcStatus | None = None  # None: not readable
    gc_schedule: str | None = None
    verify_new: bool | None = None
    namespaces: tuple[str, ...] = ()  # "" is the root namespace
    privileges: tuple[str, ...] = ()  # the token's effective privileges on /datastore/<name>
    group_count: int | None = None
    snapshot_count: int | None = None

    @property
    def usage_ratio(self) -> float | None:
        """used / (used + avail), as PBS computes it (total != used + avail on most fs)."""
        if self.used_bytes is None or self.avail_bytes is None:
            return None
        size = self.used_bytes + self.avail_bytes
        return self.used_bytes / size if size > 0 else None


SyncDirection = Literal["pull", "push"]


@dataclass(frozen=True)
class PbsRemote:
    """A remote configured on a PBS (`/config/remote`; the password is never returned)."""

    server: str  # the configured server that holds this remote
    name: str
    host: str
    port: int | None = None  # None: 8007
    fingerprint: str | None = None  # colon-hex SHA-256 of the remote's certificate
    auth_id: str | None = None
    comment: str | None = None


@dataclass(frozen=True)
class PbsSyncJob:
    """A sync job as `/admin/sync` lists it (configuration and last-run state).

    Pull (the default): `remote`/`remote_store`/`remote_ns` is the source and `store`/`ns`
    (on `server`) the target. Push (PBS 3.3+): `store`/`ns` is the local source and the
    remote's `remote_store`/`remote_ns` the target. No `remote`: a local sync between
    datastores of the same server. There is no `disable` option: a job without `schedule`
    only runs by hand.
    """

    server: str
    job_id: str
    store: str
    remote_store: str
    direction: SyncDirection = "pull"
    ns: str = ""
    remote: str | None = None
    remote_ns: str = ""
    max_depth: int | None = None  # None: every level below the source namespace
    group_filter: tuple[str, ...] = ()
    schedule: str | None = None
    owner: str | None = None
    comment: str | None = None
    remove_vanished: bool = False
    transfer_last: int | None = None
    last_run_state: str | None = None  # OK, "WARNINGS: n", unknown or the error text
    last_run_end: datetime | None = None
    last_run_upid: str | None = None
    next_run: datetime | None = None
    # from the server's task list (None: not readable; the token needs Sys.Audit on
    # /system/tasks, since scheduled sync jobs run as root@pam)
    recent_runs: int | None = None
    recent_failures: int | None = None
    last_success_end: datetime | None = None

    @property
    def last_run_ok(self) -> bool | None:
        """True: OK or warnings; False: the last run failed; None: never ran / running."""
        state = self.last_run_state
        if state is None:
            return None
        return state == "OK" or state.startswith("WARNINGS")


CopiesVerdict = Literal["copies_ok", "single_copy", "offsite_stale", "offsite_unknown"]
CopyKind = Literal["pve_job", "sync_pull", "sync_push", "sync_local"]


@dataclass(frozen=True)
class GuestCopy:
    """One place a guest's backup group lives, and how it got there."""

    server: str  # configured server name (or the remote's host when not configured)
    datastore: str
    namespace: str
    kind: CopyKind
    via: str  # PVE job id, or "<server>/<sync job id>"
    offsite: bool  # not on the guest's primary server
    known: bool  # the location was read completely (False: unknown, never "missing")
    snapshots: int = 0
    latest: datetime | None = None
    verify_state: VerifyState | None = None  # of the latest snapshot
    schedule: str | None = None  # the sync job's (or PVE job's) schedule


@dataclass(frozen=True)
class GuestCopies:
    """Where a guest's copies are, and the copy policy's verdict (3-2-1)."""

    vmid: int
    verdict: CopiesVerdict
    copies: tuple[GuestCopy, ...]
    locations: int  # distinct locations holding at least one snapshot
    required: int  # the policy's minimum number of locations
    policy_source: str  # "default", "global", "tag:<tag>", "pool:<pool>"
    primary_server: str
    offsite_latest: datetime | None = None
    offsite_age_hours: float | None = None
    max_age_hours: float | None = None  # the off-site freshness threshold applied
    explanation: str = ""


@dataclass(frozen=True)
class PbsServerInfo:
    name: str
    api_url: str
    reachable: bool
    version: str | None = None  # "3.2.4" (version.release)
    fingerprint: str | None = None  # certificate SHA-256, 64 lowercase hex, when known
    datastores: tuple[PbsDatastore, ...] = ()
    retention: tuple[RetentionPolicy, ...] = ()
    verify_jobs: tuple[PbsVerifyJob, ...] = ()
    permissions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    sync_jobs: tuple[PbsSyncJob, ...] | None = None  # None: not readable (unknown, not "none")
    remotes: tuple[PbsRemote, ...] | None = None  # None: not readable

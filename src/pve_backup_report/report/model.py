"""The report model: everything one run found, built once and handed to every renderer.

Why a separate model: renderers must not re-derive verdicts, counts or orderings (PDF, HTML,
JSON, CSV and the terminal would then disagree). `build_report` does the arithmetic once;
renderers only format. Values are stable codes (verdicts, reasons, results); translated words
only appear in human formats. Domain objects that are already frozen and JSON-friendly
(`BackupAttempt`, `Freshness`, `JobRef`, `Disk`, `Anomaly`) are reused as they are.

Backup server data is one optional field per level (`GuestRow.pbs`, `Report.pbs_servers`,
`Report.pbs_orphans`); `pbs_collected` says whether any was read, so "not collected" is never
confused with "nothing found". Run history (`Report.history`) is built from the history
database before the current run is recorded (see `history_view.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from ..analysis.coverage import JobRef
from ..model import (
    Anomaly,
    BackupAttempt,
    Disk,
    Freshness,
    GuestCopies,
    GuestPbs,
    JSONScalar,
    PbsGcStatus,
    PbsOrphan,
    PbsVerifyJob,
    RetentionPolicy,
)
from .history_view import HistoryView

SCHEMA_VERSION = "1.5"  # 1.3: attempt size_kind; 1.4: freshness "unknown"; 1.5: off-site copies

Level = Literal["critical", "warning"]
AttentionReason = Literal[
    "not_covered",
    "disabled_only",
    "indeterminate",
    "excluded",
    "covered_non_pbs",
    "last_backup_failed",
    "last_backup_undetermined",
    "no_success",
    "stale",
    "pbs_no_snapshot",
    "pbs_verify_failed",
    "pbs_not_verified",
]
CRITICAL_REASONS: frozenset[str] = frozenset(
    {
        "not_covered",
        "disabled_only",
        "last_backup_failed",
        "no_success",
        "pbs_no_snapshot",
        "pbs_verify_failed",
    }
)
GcState = Literal["ok", "failed", "never", "running", "outdated", "unknown"]
UsageLevel = Literal["ok", "warning", "critical"]
AGE_BUCKETS = ("lt_24h", "24_48h", "2_7d", "gt_7d", "never")


@dataclass(frozen=True)
class NodeRow:
    name: str
    status: str
    timezone: str | None = None


@dataclass(frozen=True)
class ClusterInfo:
    name: str | None
    api_url: str
    pve_version: str | None
    pve_release: str | None
    nodes: tuple[NodeRow, ...]
    jobs_readable: bool  # False: the job list could not be read, verdicts are unreliable
    label: str = ""  # the identity every output shows (`Inventory.cluster_label`)


@dataclass(frozen=True)
class CoverageInfo:
    status: str  # a Verdict value
    jobs: tuple[str, ...]
    job_details: tuple[JobRef, ...]
    explanation: tuple[str, ...]  # from the coverage engine, English, verbatim
    excluded_by: tuple[str, ...] = ()
    indeterminate_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class GuestRow:
    vmid: int
    name: str | None
    type: str
    node: str
    status: str | None
    template: bool
    pool: str | None
    tags: tuple[str, ...]
    notes: str | None
    coverage: CoverageInfo
    excluded_disks: tuple[Disk, ...] = ()
    # evidence (None: not collected for this run)
    latest_backup: BackupAttempt | None = None
    last_success: BackupAttempt | None = None
    attempts: int | None = None
    failures: int | None = None
    freshness: Freshness | None = None
    next_run: datetime | None = None
    last_success_age_hours: float | None = None
    # backup server (None: no PBS data for this guest, or PBS not collected)
    pbs: GuestPbs | None = None
    # derived
    attention_level: Level | None = None
    attention: tuple[AttentionReason, ...] = ()
    explanation_text: tuple[str, ...] = ()  # explanation in the report's language
    collision_text: str | None = None  # `pbs.collision` in the report's language
    copies: GuestCopies | None = None  # off-site copies (None: no PBS job, or not collected)


@dataclass(frozen=True)
class SelectionInfo:
    mode: str  # pool | vmid | all | none
    vmids: tuple[int, ...] = ()
    exclude: tuple[int, ...] = ()
    pool: str | None = None
    node: str | None = None
    invalid: tuple[str, ...] = ()


@dataclass(frozen=True)
class JobRow:
    job_id: str
    enabled: bool
    legacy: bool
    schedule: str | None
    schedule_text: str | None  # readable, in the report's language; None if unparsable
    schedule_error: str | None
    next_run: datetime | None
    storage: str | None
    storage_type: str | None
    mode: str
    selection: SelectionInfo
    selection_state: str
    selected: tuple[int, ...]
    unknown_vmids: tuple[int, ...]
    retention: dict[str, str]
    comment: str | None
    repeat_missed: bool = False
    protected: bool = False
    # zone the schedule's times are read in (the node's, as Proxmox does); "": the node's zone
    # is unknown; None: the schedule says UTC itself, or there is none
    schedule_zone: str | None = None


@dataclass(frozen=True)
class StorageRow:
    storage_id: str
    type: str
    active: bool
    content: tuple[str, ...]
    nodes: tuple[str, ...] | None
    shared: bool | None
    server: str | None
    port: int | None
    datastore: str | None
    namespace: str | None
    username: str | None
    fingerprint: str | None
    encrypted: bool
    retention: dict[str, str]
    path: str | None
    jobs: tuple[str, ...]  # jobs that write to it


@dataclass(frozen=True)
class DatastoreRow:
    """A PBS datastore with the derived values the report shows (usage %, GC state)."""

    server: str
    name: str
    comment: str | None
    maintenance: str | None
    total_bytes: int | None
    used_bytes: int | None
    avail_bytes: int | None
    usage_percent: float | None  # used / (used + avail), as PBS computes it
    usage_level: UsageLevel | None  # None: usage unknown
    estimated_full: datetime | None
    gc: PbsGcStatus | None
    gc_state: GcState
    verify_new: bool | None
    namespaces: tuple[str, ...]
    group_count: int | None
    snapshot_count: int | None


@dataclass(frozen=True)
class PbsServerRow:
    name: str
    api_url: str
    reachable: bool
    version: str | None
    fingerprint: str | None
    datastores: tuple[DatastoreRow, ...]
    retention: tuple[RetentionPolicy, ...]
    verify_jobs: tuple[PbsVerifyJob, ...]


@dataclass(frozen=True)
class AgeBucket:
    code: str  # one of AGE_BUCKETS
    count: int


@dataclass(frozen=True)
class Summary:
    guests_total: int
    covered_pbs: int
    covered_other: int
    not_covered: int  # not_covered + disabled_only (see counts.py for every definition)
    excluded_opted_out: int
    indeterminate: int
    last_failed: int | None  # None: no evidence collected
    stale: int | None  # stale + no_success among guests that should be backed up
    not_verified: int | None  # None: no backup server data was collected
    anomalies_critical: int
    anomalies_warning: int
    anomalies_info: int
    verdicts: dict[str, int]
    age_buckets: tuple[AgeBucket, ...]  # empty when no evidence
    disabled_only: int = 0  # included in not_covered
    other: int = 0  # needs attention for other reasons only
    ok: int = 0  # needs no attention


SyncState = Literal["ok", "failed", "never", "running"]


@dataclass(frozen=True)
class SyncJobRow:
    """A sync job as the "Off-site copies" section shows it."""

    server: str
    job_id: str
    direction: str  # pull | push
    source: str  # server:datastore/namespace
    target: str
    resolved: bool  # both ends are configured servers
    schedule: str | None
    state: SyncState
    last_run_state: str | None
    last_run_end: datetime | None
    next_run: datetime | None
    group_filter: tuple[str, ...]
    max_depth: int | None
    guests: tuple[int, ...]  # guests whose group it copies
    excluded: tuple[int, ...]  # guests its group filter leaves out
    comment: str | None = None
    recent_runs: int | None = None  # runs in the server's task list (None: not readable)
    recent_failures: int | None = None
    last_success_end: datetime | None = None


@dataclass(frozen=True)
class CopiesSection:
    """Off-site copies (3-2-1) across every configured backup server."""

    complete: bool  # every server's sync jobs were read
    jobs: tuple[SyncJobRow, ...]
    guests_judged: int  # guests with at least one PBS job
    guests_with_offsite: int  # guests with a known off-site copy holding a snapshot
    verdicts: dict[str, int]
    without_second_copy: tuple[int, ...]  # vmids whose verdict is not copies_ok


@dataclass(frozen=True)
class Report:
    schema_version: str
    generated_at: datetime
    tool_version: str
    lang: str
    cluster: ClusterInfo
    configuration: dict[str, JSONScalar]
    summary: Summary
    guests: tuple[GuestRow, ...]  # by vmid
    attention: tuple[int, ...]  # vmids, what needs attention first
    jobs: tuple[JobRow, ...]
    storages: tuple[StorageRow, ...]
    anomalies: tuple[Anomaly, ...]  # by severity
    evidence_collected: bool
    pbs_collected: bool = False  # a backup server (or the PVE fallback) was read
    pbs_servers: tuple[PbsServerRow, ...] = field(default_factory=tuple)
    pbs_orphans: tuple[PbsOrphan, ...] = field(default_factory=tuple)
    history: HistoryView | None = None  # None: no history (first run or --no-history)
    # why the cluster could not be read (guest list or job list unknown): the report is
    # UNKNOWN and no output may say "all clear"; None: collection succeeded
    unknown_cause: str | None = None
    copies: CopiesSection | None = None  # off-site copies (None: no backup server configured)

    def guest(self, vmid: int) -> GuestRow:
        return next(g for g in self.guests if g.vmid == vmid)

    def attention_rows(self) -> list[GuestRow]:
        rows = {g.vmid: g for g in self.guests}
        return [rows[v] for v in self.attention]

"""The report model: everything one run found, built once and handed to every renderer.

Why a separate model: renderers must not re-derive verdicts, counts or orderings (PDF, HTML,
JSON, CSV and the terminal would then disagree). `build_report` does the arithmetic once;
renderers only format. Values are stable codes (verdicts, reasons, results); translated words
only appear in human formats. Domain objects that are already frozen and JSON-friendly
(`BackupAttempt`, `Freshness`, `JobRef`, `Disk`, `Anomaly`) are reused as they are.

Adding PBS data later is one optional field per level (`GuestRow.pbs`, `Report.pbs_servers`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from ..analysis.coverage import JobRef
from ..model import Anomaly, BackupAttempt, Disk, Freshness, JSONScalar

SCHEMA_VERSION = "1.0"

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
]
CRITICAL_REASONS: frozenset[str] = frozenset({"not_covered", "disabled_only", "last_backup_failed"})
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
    # derived
    attention_level: Level | None = None
    attention: tuple[AttentionReason, ...] = ()
    explanation_text: tuple[str, ...] = ()  # explanation in the report's language


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
class AgeBucket:
    code: str  # one of AGE_BUCKETS
    count: int


@dataclass(frozen=True)
class Summary:
    guests_total: int
    covered_pbs: int
    covered_other: int
    not_covered: int  # not_covered + disabled_only
    excluded_opted_out: int
    indeterminate: int
    last_failed: int | None  # None: no evidence collected
    stale: int | None  # stale + no_success among guests that should be backed up
    not_verified: int | None  # None until PBS data is collected
    anomalies_critical: int
    anomalies_warning: int
    anomalies_info: int
    verdicts: dict[str, int]
    age_buckets: tuple[AgeBucket, ...]  # empty when no evidence


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
    pbs_servers: tuple[object, ...] = field(default_factory=tuple)  # filled by the PBS work

    def guest(self, vmid: int) -> GuestRow:
        return next(g for g in self.guests if g.vmid == vmid)

    def attention_rows(self) -> list[GuestRow]:
        rows = {g.vmid: g for g in self.guests}
        return [rows[v] for v in self.attention]

"""Build the report model once per run, from inventory, coverage, evidence and anomalies.

Pure (no I/O besides reading the packaged translation catalogue): every count, ordering and
"needs attention" decision is taken here, so every format tells the same story. Evidence may
be absent (`None`): the evidence fields then stay `None` and the report says "not collected"
rather than pretending nothing failed. The same holds for backup server data (`pbs`): without
it the "not verified" count is `None` ("not collected"), never 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..analysis.calendar import CalendarError, describe, next_event, parse_schedule
from ..analysis.coverage import CoverageResult, GuestCoverage, Membership, Verdict, guest_job_map
from ..analysis.pbs_checks import PbsThresholds
from ..collect.pbs_entry import PbsResult
from ..model import (
    Anomaly,
    BackupAttempt,
    BackupJob,
    Guest,
    GuestEvidence,
    GuestPbs,
    Inventory,
    JSONScalar,
    PbsDatastore,
    PbsServerInfo,
    Severity,
)
from .copies_view import with_copies
from .counts import other_attention, verdict_counts
from .explain import explain_coverage, explain_freshness
from .history_view import HistoryView
from .i18n import Translator
from .model import (
    CRITICAL_REASONS,
    SCHEMA_VERSION,
    AgeBucket,
    AttentionReason,
    ClusterInfo,
    CoverageInfo,
    DatastoreRow,
    GcState,
    GuestRow,
    JobRow,
    Level,
    NodeRow,
    PbsServerRow,
    Report,
    SelectionInfo,
    StorageRow,
    Summary,
    UsageLevel,
)

_VERDICT_REASON: dict[Verdict, AttentionReason] = {
    Verdict.NOT_COVERED: "not_covered",
    Verdict.DISABLED_ONLY: "disabled_only",
    Verdict.INDETERMINATE: "indeterminate",
    Verdict.EXCLUDED: "excluded",
    Verdict.COVERED_NON_PBS: "covered_non_pbs",
}
_DELIBERATE = (Verdict.OPTED_OUT, Verdict.EXCLUDED)


def build_report(
    inventory: Inventory,
    coverage: CoverageResult,
    evidence: Mapping[int, GuestEvidence] | None,
    anomalies: Sequence[Anomaly],
    *,
    generated_at: datetime,
    tool_version: str,
    config_summary: Mapping[str, JSONScalar],
    lang: str,
    pbs: PbsResult | None = None,
    history: HistoryView | None = None,
) -> Report:
    """`anomalies` may already include the inventory's and coverage's: duplicates are dropped.
    `pbs`: the backup server results (None: not collected); `history`: see `history_view`."""
    if generated_at.tzinfo is None:
        raise ValueError("generated_at must be timezone-aware")
    tr = Translator(lang, generated_at.tzinfo)
    opt_out_tag = str(config_summary.get("opt_out_tag") or "no-backup")
    jobs = tuple(_job_row(tr, inventory, coverage, j, generated_at) for j in inventory.jobs or ())
    next_by_job = {j.job_id: j.next_run for j in jobs}
    pbs_collected = pbs is not None and bool(pbs.servers or pbs.guests)
    no_snapshot = _pbs_no_snapshot(pbs.anomalies if pbs else (), anomalies)
    collisions = _collision_texts(tr, pbs.anomalies if pbs else (), anomalies)
    # English reuses the engine's sentences; other languages re-state them from this map
    by_guest = {} if tr.lang == "en" else guest_job_map(inventory.jobs or (), coverage.selections)
    guests = tuple(
        _guest_row(
            tr,
            inventory,
            coverage,
            g,
            evidence.get(g.vmid) if evidence is not None else None,
            evidence is not None,
            generated_at,
            next_by_job,
            opt_out_tag,
            pbs.guests.get(g.vmid) if pbs is not None else None,
            g.vmid in no_snapshot,
            collisions.get(g.vmid),
            by_guest.get(g.vmid, ()),
        )
        for g in sorted(inventory.guests, key=lambda g: g.vmid)
    )
    merged = _merge_anomalies([*inventory.anomalies, *coverage.anomalies, *anomalies])
    attention = sorted(
        (g for g in guests if g.attention_level),
        key=lambda g: (
            0 if g.attention_level == "critical" else 1,
            Verdict(g.coverage.status).rank,
            g.vmid,
        ),
    )
    report = Report(
        schema_version=SCHEMA_VERSION,
        generated_at=generated_at,
        tool_version=tool_version,
        lang=lang,
        cluster=_cluster(inventory),
        configuration=dict(config_summary),
        summary=_summary(guests, merged, evidence is not None, pbs_collected),
        guests=guests,
        attention=tuple(g.vmid for g in attention),
        jobs=jobs,
        storages=tuple(_storage_row(inventory, s.storage_id) for s in inventory.storages),
        anomalies=tuple(merged),
        evidence_collected=evidence is not None,
        pbs_collected=pbs_collected,
        pbs_servers=tuple(_server_row(s, generated_at) for s in pbs.servers) if pbs else (),
        pbs_orphans=tuple(
            sorted(
                pbs.orphans if pbs else (),
                key=lambda o: (o.server, o.datastore, o.namespace, o.backup_type, o.backup_id),
            )
        ),
        history=history,
        unknown_cause=collection_failure(inventory),
    )
    return with_copies(report, pbs.copies if pbs is not None else None)


_UNREADABLE = {
    # component of the collector → (its own code, what the user lost)
    "guests": ("guests_unavailable", "the guest list"),
    "jobs": ("jobs_unavailable", "the backup job list"),
}


def collection_failure(inventory: Inventory) -> str | None:
    """One line naming what could not be read, where and why, or None when the guest list and
    the job list were both read. Without either, no verdict can be trusted (unknown is not
    zero): the report is UNKNOWN and this line is shown at the top of every output.

    Whether a list is unknown comes from the inventory (`unreadable`, `jobs is None`); the
    cause from the critical anomaly of that list's collector — its own code for a failed
    read, `unexpected_response` for an answer of the wrong shape. A guest's config of the
    wrong shape or a few ignored entries (warnings, infos) do not make the list unknown."""
    lost = {
        "guests": "guests" in inventory.unreadable,
        "jobs": inventory.jobs is None,
    }
    for component, (code, what) in _UNREADABLE.items():
        if not lost[component]:
            continue
        for a in inventory.anomalies:
            if (
                a.component == component
                and a.severity is Severity.CRITICAL
                and a.code in (code, "unexpected_response")
            ):
                endpoint = a.details.get("endpoint")
                reason = a.details.get("error_message") or a.message
                where = f" ({endpoint})" if endpoint else ""
                return f"cannot read {what}{where}: {reason}"
        return f"cannot read {what}"
    return None


def _pbs_no_snapshot(*groups: Sequence[Anomaly]) -> frozenset[int]:
    """Guests the PBS checks found without any snapshot where their jobs write. Taken from the
    anomaly (not re-derived) because only the collection knows whether the namespace could be
    listed: an unreadable datastore must not read as "no snapshot"."""
    out: set[int] = set()
    for group in groups:
        for a in group:
            vmid = a.details.get("vmid")
            if a.code == "pbs_no_snapshot" and isinstance(vmid, int):
                out.add(vmid)
    return frozenset(out)


def _cluster(inv: Inventory) -> ClusterInfo:
    return ClusterInfo(
        name=inv.cluster_name,
        api_url=inv.api_url,
        pve_version=inv.version.version if inv.version else None,
        pve_release=inv.version.release if inv.version else None,
        nodes=tuple(NodeRow(n.name, n.status, n.timezone) for n in inv.nodes),
        jobs_readable=inv.jobs is not None,
        label=inv.cluster_label,
    )


def _collision_texts(tr: Translator, *groups: Sequence[Anomaly]) -> dict[int, str]:
    """VMID → why its backup group may belong to another guest, in the report's language
    (from the `pbs_vmid_collision` anomaly's details; none: the English reason is shown)."""
    texts: dict[int, str] = {}
    if tr.lang == "en":
        return texts
    for a in (a for group in groups for a in group):
        vmid = a.details.get("vmid")
        if a.code == "pbs_vmid_collision" and isinstance(vmid, int) and vmid not in texts:
            text = tr.anomaly_parts(a.code, a.details)
            if text is not None:
                texts[vmid] = text
    return texts


def _merge_anomalies(items: Sequence[Anomaly]) -> list[Anomaly]:
    seen: set[tuple[object, ...]] = set()
    out: list[Anomaly] = []
    for a in items:
        key = (a.severity, a.component, a.code, a.message, tuple(sorted(a.details.items())))
        if key not in seen:
            seen.add(key)
            out.append(a)
    return sorted(out, key=lambda a: (a.severity.rank, a.component, a.code, a.message))


def _when(attempt: BackupAttempt | None) -> datetime | None:
    if attempt is None:
        return None
    return attempt.ended_at or attempt.started_at


def _reasons(
    cov: GuestCoverage, ev: GuestEvidence | None, pbs: GuestPbs | None, no_snapshot: bool
) -> tuple[AttentionReason, ...]:
    reasons: list[AttentionReason] = []
    if cov.status in _VERDICT_REASON:
        reasons.append(_VERDICT_REASON[cov.status])
    if ev is not None:
        latest = ev.latest_backup.result if ev.latest_backup else None
        if latest == "failure":
            reasons.append("last_backup_failed")
        elif latest == "undetermined":
            reasons.append("last_backup_undetermined")
        fresh = ev.freshness.status if ev.freshness else None
        if fresh == "no_success":
            reasons.append("no_success")
        elif fresh == "stale":
            reasons.append("stale")
    if cov.status in _DELIBERATE:
        return tuple(reasons)
    if no_snapshot:
        reasons.append("pbs_no_snapshot")
    state = pbs_verify_state(pbs)
    if state == "failed":
        reasons.append("pbs_verify_failed")
    elif state == "never":
        reasons.append("pbs_not_verified")
    return tuple(reasons)


def pbs_verify_state(pbs: GuestPbs | None) -> str | None:
    """`ok`, `failed`, `never` (latest snapshot never verified) or None (no snapshot known)."""
    latest = pbs.latest_snapshot if pbs else None
    if latest is None:
        return None
    return latest.verify_state or "never"


def _guest_row(
    tr: Translator,
    inv: Inventory,
    coverage: CoverageResult,
    guest: Guest,
    ev: GuestEvidence | None,
    collected: bool,
    now: datetime,
    next_by_job: Mapping[str, datetime | None],
    opt_out_tag: str,
    pbs: GuestPbs | None = None,
    no_snapshot: bool = False,
    collision_text: str | None = None,
    memberships: Sequence[tuple[BackupJob, Membership]] = (),
) -> GuestRow:
    cov = coverage.guests.get(guest.vmid) or GuestCoverage(guest.vmid, Verdict.INDETERMINATE)
    reasons = _reasons(cov, ev, pbs, no_snapshot)
    level: Level | None = None
    if reasons:
        level = "critical" if CRITICAL_REASONS.intersection(reasons) else "warning"
    success_at = _when(ev.last_success) if ev else None
    age = (now - success_at).total_seconds() / 3600 if success_at else None
    next_run = ev.next_run if ev else None
    if next_run is None:
        runs = [next_by_job.get(r.job_id) for r in cov.jobs if r.effective]
        next_run = min((r for r in runs if r is not None), default=None)
    evidence_text = explain_freshness(tr, ev.freshness) if ev else None
    return GuestRow(
        vmid=guest.vmid,
        name=guest.name,
        type=guest.type,
        node=guest.node,
        status=guest.status,
        template=guest.template,
        pool=guest.pool,
        tags=guest.tags,
        notes=guest.notes,
        coverage=CoverageInfo(
            status=cov.status.value,
            jobs=tuple(r.job_id for r in cov.jobs),
            job_details=cov.jobs,
            explanation=cov.explanation,
            excluded_by=cov.excluded_by,
            indeterminate_by=cov.indeterminate_by,
        ),
        excluded_disks=guest.excluded_disks,
        latest_backup=ev.latest_backup if ev else None,
        last_success=ev.last_success if ev else None,
        attempts=ev.attempts if ev else (0 if collected else None),
        failures=ev.failures if ev else (0 if collected else None),
        freshness=ev.freshness if ev else None,
        next_run=next_run,
        last_success_age_hours=age,
        pbs=pbs,
        attention_level=level,
        attention=reasons,
        explanation_text=explain_coverage(tr, inv, guest, cov, memberships, opt_out_tag)
        + ((evidence_text,) if evidence_text else ()),
        collision_text=collision_text,
    )


def _zone(inv: Inventory, node: str | None) -> ZoneInfo | None:
    names = [n.timezone for n in inv.nodes if n.timezone and (node is None or n.name == node)]
    for name in names:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return None


def _job_row(
    tr: Translator, inv: Inventory, coverage: CoverageResult, job: BackupJob, now: datetime
) -> JobRow:
    text: str | None = None
    error: str | None = None
    zone_name: str | None = None
    next_run = job.next_run
    if job.schedule:
        try:
            event = parse_schedule(job.schedule)
            text = describe(event, tr.lang)
            zone = _zone(inv, job.node)
            # explicit UTC: the text says it; unknown node zone: "" (said, never guessed)
            zone_name = None if event.utc else (zone.key if zone is not None else "")
            if next_run is None and job.enabled:
                next_run = next_event(event, now, zone)
        except (CalendarError, ValueError, OverflowError) as exc:
            error = str(exc) or type(exc).__name__
    sel = coverage.selections.get(job.job_id)
    storage = inv.storage(job.storage)
    return JobRow(
        job_id=job.job_id,
        enabled=job.enabled,
        legacy=job.legacy,
        schedule=job.schedule,
        schedule_text=text,
        schedule_error=error,
        next_run=next_run if job.enabled else None,
        storage=job.storage,
        # "unknown", not None (shown as "missing"), when the storage list could not be read
        storage_type=storage.type
        if storage
        else ("unknown" if job.storage and "storages" in inv.unreadable else None),
        mode=job.mode,
        selection=SelectionInfo(
            mode=job.selection.mode,
            vmids=job.selection.vmids,
            exclude=job.selection.exclude,
            pool=job.selection.pool,
            node=job.node,
            invalid=job.selection.invalid,
        ),
        selection_state=sel.state if sel else "unknown",
        selected=sel.selected if sel else (),
        unknown_vmids=sel.unknown_vmids if sel else (),
        retention=dict(job.retention),
        comment=job.comment,
        repeat_missed=job.repeat_missed,
        protected=job.protected,
        schedule_zone=zone_name,
    )


def _storage_row(inv: Inventory, storage_id: str) -> StorageRow:
    s = inv.storage(storage_id)
    assert s is not None
    return StorageRow(
        storage_id=s.storage_id,
        type=s.type,
        active=s.active,
        content=s.content,
        nodes=s.nodes,
        shared=s.shared,
        server=s.server,
        port=s.port,
        datastore=s.datastore,
        namespace=s.namespace,
        username=s.username,
        fingerprint=s.fingerprint,
        encrypted=s.encrypted,
        retention=dict(s.retention),
        path=s.path,
        jobs=tuple(j.job_id for j in inv.jobs or () if j.storage == s.storage_id),
    )


def _age_buckets(guests: Sequence[GuestRow]) -> tuple[AgeBucket, ...]:
    counts = dict.fromkeys(("lt_24h", "24_48h", "2_7d", "gt_7d", "never"), 0)
    for g in guests:
        if Verdict(g.coverage.status) in _DELIBERATE:
            continue
        age = g.last_success_age_hours
        if age is None:
            counts["never"] += 1
        elif age < 24:
            counts["lt_24h"] += 1
        elif age < 48:
            counts["24_48h"] += 1
        elif age < 24 * 7:
            counts["2_7d"] += 1
        else:
            counts["gt_7d"] += 1
    return tuple(AgeBucket(code, n) for code, n in counts.items())


def _summary(
    guests: Sequence[GuestRow], anomalies: Sequence[Anomaly], collected: bool, pbs_collected: bool
) -> Summary:
    verdicts = {v.value: 0 for v in Verdict}
    for g in guests:
        verdicts[g.coverage.status] += 1
    severities = {s: sum(1 for a in anomalies if a.severity is s) for s in Severity}
    failed = sum(1 for g in guests if g.latest_backup and g.latest_backup.result == "failure")
    stale = sum(1 for g in guests if g.freshness and g.freshness.status in ("stale", "no_success"))
    counts = verdict_counts(verdicts)  # the one definition of each count (counts.py)
    return Summary(
        guests_total=len(guests),
        covered_pbs=counts["covered_pbs"],
        covered_other=counts["covered_other"],
        not_covered=counts["not_covered"],
        excluded_opted_out=counts["excluded_opted_out"],
        indeterminate=counts["indeterminate"],
        last_failed=failed if collected else None,
        stale=stale if collected else None,
        not_verified=(
            sum(1 for g in guests if {"pbs_verify_failed", "pbs_not_verified"} & set(g.attention))
            if pbs_collected
            else None
        ),
        anomalies_critical=severities[Severity.CRITICAL],
        anomalies_warning=severities[Severity.WARNING],
        anomalies_info=severities[Severity.INFO],
        verdicts=verdicts,
        age_buckets=_age_buckets(guests) if collected else (),
        disabled_only=counts["disabled_only"],
        other=other_attention(g.attention for g in guests),
        ok=sum(1 for g in guests if g.attention_level is None),
    )


# --------------------------------------------------------------------------- backup servers
def _usage_level(ratio: float | None, th: PbsThresholds) -> UsageLevel | None:
    if ratio is None:
        return None
    if ratio >= th.usage_critical:
        return "critical"
    return "warning" if ratio >= th.usage_warning else "ok"


def gc_state(ds: PbsDatastore, now: datetime, th: PbsThresholds | None = None) -> GcState:
    """The garbage collection's state, with the same thresholds as the PBS anomalies."""
    gc = ds.gc
    if gc is None:
        return "unknown"
    if not gc.ever_ran:
        return "never"
    if gc.last_run_state is None:
        return "running"
    if gc.last_run_state != "OK" and not gc.last_run_state.startswith("WARNINGS"):
        return "failed"
    limit = timedelta(days=(th or PbsThresholds()).gc_max_age_days)
    if gc.last_run_end is not None and now - gc.last_run_end > limit:
        return "outdated"
    return "ok"


def _datastore_row(ds: PbsDatastore, now: datetime, th: PbsThresholds) -> DatastoreRow:
    ratio = ds.usage_ratio
    return DatastoreRow(
        server=ds.server,
        name=ds.name,
        comment=ds.comment,
        maintenance=ds.maintenance,
        total_bytes=ds.total_bytes,
        used_bytes=ds.used_bytes,
        avail_bytes=ds.avail_bytes,
        usage_percent=None if ratio is None else round(100.0 * ratio, 1),
        usage_level=_usage_level(ratio, th),
        estimated_full=ds.estimated_full,
        gc=ds.gc,
        gc_state=gc_state(ds, now, th),
        verify_new=ds.verify_new,
        namespaces=ds.namespaces,
        group_count=ds.group_count,
        snapshot_count=ds.snapshot_count,
    )


def _server_row(server: PbsServerInfo, now: datetime) -> PbsServerRow:
    th = PbsThresholds()
    return PbsServerRow(
        name=server.name,
        api_url=server.api_url,
        reachable=server.reachable,
        version=server.version,
        fingerprint=server.fingerprint,
        datastores=tuple(_datastore_row(ds, now, th) for ds in server.datastores),
        retention=tuple(
            sorted(server.retention, key=lambda p: (p.datastore, p.namespace or "", p.source))
        ),
        verify_jobs=tuple(
            sorted(server.verify_jobs, key=lambda j: (j.datastore, j.namespace or "", j.job_id))
        ),
    )

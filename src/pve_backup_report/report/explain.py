"""Per-guest explanations in the report's language.

Why: the coverage engine explains each verdict in English (kept verbatim in JSON and used as
is in English reports). For other languages the same facts are re-stated from the structured
result (selections, job references), never by translating the English sentences, so a French
auditor reads French and no wording drifts silently.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..analysis.coverage import GuestCoverage, JobRef, Membership, Verdict, target_state
from ..model import BackupJob, Freshness, Guest, Inventory
from .i18n import Translator


def selection_text(tr: Translator, job: BackupJob) -> str:
    sel = job.selection
    if sel.mode == "pool":
        text = tr.t("selection.pool", pool=sel.pool or "")
    elif sel.mode == "vmid":
        ids = ",".join(map(str, sel.vmids[:8])) + ("…" if len(sel.vmids) > 8 else "")
        text = tr.t("selection.vmid", ids=ids)
    elif sel.mode == "all":
        text = tr.t("selection.all")
        if sel.exclude:
            text += tr.t("selection.excludes", ids=",".join(map(str, sel.exclude[:8])))
    else:
        text = tr.t("selection.none")
    if job.node:
        text += tr.t("selection.node", node=job.node)
    return text


def _job_line(tr: Translator, job: BackupJob, ref: JobRef) -> str:
    target = ref.storage or tr.t("explain.default_storage")
    if ref.storage_type and ref.storage_type != "pbs":
        target += f" ({ref.storage_type})"
    note = "" if ref.target in ("pbs", "other") else tr.t(f"explain.target.{ref.target}")
    return tr.t("explain.job", job=job.job_id, selection=selection_text(tr, job), target=target) + (
        note
    )


def _context(
    tr: Translator, inv: Inventory, guest: Guest, job: BackupJob, kind: Membership
) -> str | None:
    if kind == "excluded":
        return tr.t("explain.excluded", job=job.job_id)
    if kind in ("pool_unknown", "invalid"):
        reason = (
            tr.t("explain.pool_unknown", pool=job.selection.pool or "")
            if kind == "pool_unknown"
            else tr.t("explain.selection_invalid")
        )
        known = "storages" not in inv.unreadable
        state = target_state(job, inv.storage(job.storage), guest, known)
        if state in ("pbs", "other", "storage_unspecified", "storage_unknown"):
            return tr.t("explain.might_select", job=job.job_id, reason=reason)
        note = tr.t(f"explain.target.{state}")
        return tr.t("explain.might_not_protect", job=job.job_id, reason=reason) + note
    return None


def _other_nodes(tr: Translator, guest: Guest, jobs: Sequence[BackupJob]) -> str:
    """Once per guest, however many node-restricted jobs pass it by (the count, not a list)."""
    if len(jobs) == 1:
        job = jobs[0]
        return tr.t("explain.other_node", job=job.job_id, node=job.node or "", guest=guest.node)
    return tr.t("explain.other_nodes", n=tr.number(len(jobs)))


def explain_coverage(
    tr: Translator,
    inv: Inventory,
    guest: Guest,
    cov: GuestCoverage,
    memberships: Sequence[tuple[BackupJob, Membership]],
    opt_out_tag: str,
) -> tuple[str, ...]:
    """`memberships`: this guest's entry of `guest_job_map` (only the jobs that name it)."""
    if tr.lang == "en":
        return cov.explanation
    if inv.jobs is None:
        return (tr.t("explain.jobs_unknown"),)
    refs = {r.job_id: r for r in cov.jobs}
    lines: list[str] = []
    context: list[str] = []
    other_node: list[BackupJob] = []
    for job, kind in memberships:
        if job.job_id in refs:
            lines.append(_job_line(tr, job, refs[job.job_id]))
        elif kind == "other_node":
            other_node.append(job)
        else:
            line = _context(tr, inv, guest, job, kind)
            if line:
                context.append(line)
    if other_node:
        context.append(_other_nodes(tr, guest, other_node))
    if cov.status is Verdict.OPTED_OUT:
        first = (guest.notes or "").strip().splitlines()
        reason = first[0][:200] if first else tr.t("explain.no_reason")
        context.insert(0, tr.t("explain.opted_out", tag=opt_out_tag, reason=reason))
    if not cov.jobs and not cov.excluded_by and not cov.indeterminate_by:
        context.append(tr.t("explain.no_job"))
    return tuple(lines + context)


def explain_freshness(tr: Translator, fresh: Freshness | None) -> str | None:
    if fresh is None or fresh.status == "not_applicable":
        return None
    limit = tr.age(fresh.max_age_hours) if fresh.max_age_hours is not None else None
    source = fresh.source.split(":", 1)
    src = tr.t(f"freshness.source.{source[0]}") if tr.has(f"freshness.source.{source[0]}") else ""
    if len(source) == 2:
        src = f"{src} {source[1]}"
    if fresh.status in ("no_success", "unknown"):
        return tr.t(f"freshness.text.{fresh.status}", limit=limit or "—", source=src)
    key = "freshness.text.stale" if fresh.status == "stale" else "freshness.text.fresh"
    return tr.t(key, age=tr.age(fresh.age_hours) or "—", limit=limit or "—", source=src)

"""Per-guest coverage verdicts with a human explanation, from the jobs' selections.

Stricter than Proxmox's "guests without backup job" view on purpose: a disabled job, a job whose
storage is missing, disabled or not available on the guest's node does not protect anything,
and a non-PBS target is reported apart from PBS. See docs/en/coverage.md for every verdict.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from ..model import Anomaly, BackupJob, Guest, Inventory, Severity, Storage
from .job_checks import check_jobs
from .selection import JobSelection, select_guests


class Verdict(StrEnum):
    NOT_COVERED = "not_covered"
    DISABLED_ONLY = "disabled_only"
    INDETERMINATE = "indeterminate"
    EXCLUDED = "excluded"
    COVERED_NON_PBS = "covered_non_pbs"
    OPTED_OUT = "opted_out"
    COVERED = "covered"

    @property
    def rank(self) -> int:
        """Sort order: what needs attention first."""
        return list(Verdict).index(self)


TargetState = Literal[
    "pbs",
    "other",
    "disabled_job",
    "storage_missing",
    "storage_disabled",
    "storage_not_on_node",
    "storage_unspecified",
    "storage_unknown",
]


@dataclass(frozen=True)
class JobRef:
    """A job that selects the guest, and what it means for this guest."""

    job_id: str
    enabled: bool
    storage: str | None
    storage_type: str | None
    schedule: str | None
    target: TargetState

    @property
    def effective(self) -> bool:
        return self.target in ("pbs", "other", "storage_unspecified")


@dataclass(frozen=True)
class GuestCoverage:
    vmid: int
    status: Verdict
    jobs: tuple[JobRef, ...] = ()
    explanation: tuple[str, ...] = ()
    excluded_by: tuple[str, ...] = ()
    indeterminate_by: tuple[str, ...] = ()
    # jobs that would select the guest but are restricted to another node: data, so that the
    # explanation says it once ("not selected: 39 jobs restricted to other nodes")
    other_node_jobs: tuple[str, ...] = ()


@dataclass(frozen=True)
class CoverageResult:
    guests: dict[int, GuestCoverage]
    selections: dict[str, JobSelection]
    anomalies: tuple[Anomaly, ...] = field(default_factory=tuple)

    def counts(self) -> dict[str, int]:
        result = {v.value: 0 for v in Verdict}
        for cov in self.guests.values():
            result[cov.status.value] += 1
        return result


def target_state(
    job: BackupJob, storage: Storage | None, guest: Guest, storages_known: bool = True
) -> TargetState:
    if not job.enabled:
        return "disabled_job"
    if job.storage is None:
        return "storage_unspecified"
    if storage is None:
        return "storage_missing" if storages_known else "storage_unknown"
    if not storage.active:
        return "storage_disabled"
    if storage.nodes is not None and guest.node not in storage.nodes:
        return "storage_not_on_node"
    return "pbs" if storage.is_pbs else "other"


def describe_selection(job: BackupJob) -> str:
    """The selection in a few words; cached per job (the same for each of its guests)."""
    key = id(job)
    cached = _DESCRIPTIONS.get(key)
    if cached is None or cached[0] is not job:
        cached = (job, _describe_selection(job))
        _DESCRIPTIONS[key] = cached
        if len(_DESCRIPTIONS) > 4096:  # bounded: jobs of earlier runs in the same process
            _DESCRIPTIONS.clear()
            _DESCRIPTIONS[key] = cached
    return cached[1]


_DESCRIPTIONS: dict[int, tuple[BackupJob, str]] = {}


def _describe_selection(job: BackupJob) -> str:
    sel = job.selection
    if sel.mode == "pool":
        text = f"pool {sel.pool}"
    elif sel.mode == "vmid":
        text = "vmid " + ",".join(map(str, sel.vmids[:8])) + ("…" if len(sel.vmids) > 8 else "")
    elif sel.mode == "all":
        text = "all"
        if sel.exclude:
            text += ", excludes " + ",".join(map(str, sel.exclude[:8]))
    else:
        text = "no selection"
    if job.node:
        text += f", node {job.node}"
    return text


_TARGET_NOTE = {
    "pbs": "",
    "other": "",
    "disabled_job": " — job disabled",
    "storage_missing": " — storage does not exist",
    "storage_disabled": " — storage disabled",
    "storage_not_on_node": " — storage not available on the guest's node",
    "storage_unspecified": " — no storage set (vzdump default storage)",
    "storage_unknown": " — the storage list could not be read",
}


def _job_line(job: BackupJob, ref: JobRef) -> str:
    target = ref.storage or "default storage"
    kind = f" ({ref.storage_type})" if ref.storage_type and ref.storage_type != "pbs" else ""
    return (
        f"job {job.job_id} ({describe_selection(job)}) on {target}{kind}{_TARGET_NOTE[ref.target]}"
    )


def _first_line(text: str | None) -> str | None:
    if not text or not text.strip():
        return None
    return text.strip().splitlines()[0][:200]


JOBS_UNKNOWN = "the backup job list could not be read"


def compute_coverage(inventory: Inventory, opt_out_tag: str = "no-backup") -> CoverageResult:
    guests = {g.vmid: g for g in inventory.guests}
    if inventory.jobs is None:  # unknown jobs: no guest is "not covered", all are unknown
        unknown = {
            v: GuestCoverage(v, Verdict.INDETERMINATE, explanation=(JOBS_UNKNOWN,))
            for v in sorted(guests)
        }
        return CoverageResult(unknown, {})
    jobs: Sequence[BackupJob] = inventory.jobs or ()
    storages = {s.storage_id: s for s in inventory.storages}
    selections = {j.job_id: select_guests(j, guests, inventory.pool_memberships) for j in jobs}
    by_guest = guest_job_map(jobs, selections)
    known = "storages" not in inventory.unreadable
    result = {
        vmid: _guest_verdict(guest, by_guest.get(vmid, ()), storages, opt_out_tag, known)
        for vmid, guest in sorted(guests.items())
    }
    anomalies = check_jobs(inventory, selections, result_by_vmid_jobs(result))
    anomalies.extend(_disk_anomalies(guests, result))
    return CoverageResult(result, selections, tuple(anomalies))


# how a job names a guest; an unreadable pool or an uninterpretable selection only *might*
Membership = Literal["selected", "other_node", "excluded", "pool_unknown", "invalid"]


def guest_job_map(
    jobs: Sequence[BackupJob], selections: Mapping[str, JobSelection]
) -> dict[int, list[tuple[BackupJob, Membership]]]:
    """Guest → the jobs that name it and how, in job order.

    Why: asking every job about every guest (`vmid in sel.selected`, tuples) was quadratic —
    guests × jobs × selection size, half a minute at 10,000 guests. One pass over the
    selections is linear in their sizes. The four groups of a selection are disjoint.
    """
    out: defaultdict[int, list[tuple[BackupJob, Membership]]] = defaultdict(list)
    for job in jobs:
        sel = selections[job.job_id]
        might: Membership = "pool_unknown" if sel.state == "pool_unknown" else "invalid"
        groups: tuple[tuple[Membership, tuple[int, ...]], ...] = (
            ("selected", sel.selected),
            ("other_node", sel.dropped_by_node),
            ("excluded", sel.excluded),
            (might, sel.candidates),
        )
        for kind, ids in groups:
            entry = (job, kind)  # one tuple shared by the whole group
            for vmid in ids:
                out[vmid].append(entry)
    return dict(out)


def other_node_text(jobs: Sequence[BackupJob], guest: Guest) -> str:
    """One line however many node-restricted jobs pass the guest by."""
    if len(jobs) == 1:
        job = jobs[0]
        return (
            f"job {job.job_id} is restricted to node {job.node} but the guest runs on {guest.node}"
        )
    return f"not selected: {len(jobs)} jobs restricted to other nodes"


def _disk_anomalies(
    guests: Mapping[int, Guest], result: Mapping[int, GuestCoverage]
) -> list[Anomaly]:
    out = []
    for vmid, cov in result.items():
        excluded = guests[vmid].excluded_disks
        if excluded and cov.status in (Verdict.COVERED, Verdict.COVERED_NON_PBS):
            disks = ", ".join(f"{d.key} ({d.reason})" for d in excluded)
            out.append(
                Anomaly(
                    Severity.WARNING,
                    "guests",
                    "guest_disks_excluded",
                    f"Guest {vmid} is backed up without some of its disks: {disks}",
                    {"vmid": vmid, "disks": ",".join(d.key for d in excluded)},
                )
            )
    return out


def result_by_vmid_jobs(result: Mapping[int, GuestCoverage]) -> dict[int, tuple[JobRef, ...]]:
    return {vmid: cov.jobs for vmid, cov in result.items()}


def _guest_verdict(
    guest: Guest,
    memberships: Sequence[tuple[BackupJob, Membership]],
    storages: Mapping[str, Storage],
    opt_out_tag: str,
    storages_known: bool = True,
) -> GuestCoverage:
    refs: list[JobRef] = []
    lines: list[str] = []
    excluded_by: list[str] = []
    unknown_by: list[str] = []
    context: list[str] = []
    other_node: list[BackupJob] = []
    for job, kind in memberships:
        if kind == "other_node":  # the most frequent by far (jobs × guests of other nodes)
            other_node.append(job)
            continue
        storage = storages.get(job.storage) if job.storage else None
        if kind == "selected":
            ref = JobRef(
                job.job_id,
                job.enabled,
                job.storage,
                storage.type if storage else None,
                job.schedule,
                target_state(job, storage, guest, storages_known),
            )
            refs.append(ref)
            lines.append(_job_line(job, ref))
            if ref.target == "storage_unknown":
                unknown_by.append(job.job_id)  # it may well protect the guest: we cannot tell
        elif kind == "excluded":
            excluded_by.append(job.job_id)
            context.append(f"excluded by job {job.job_id}")
        else:
            reason = (
                f"pool {job.selection.pool} membership could not be read"
                if kind == "pool_unknown"
                else "its selection cannot be interpreted"
            )
            state = target_state(job, storage, guest, storages_known)
            if state in ("pbs", "other", "storage_unspecified", "storage_unknown"):
                unknown_by.append(job.job_id)
                context.append(f"job {job.job_id} might select it: {reason}")
            else:
                context.append(
                    f"job {job.job_id} might select it ({reason}), "
                    f"but could not protect it{_TARGET_NOTE[state]}"
                )
    if other_node:
        context.append(other_node_text(other_node, guest))
    status = _status(guest, refs, excluded_by, unknown_by, opt_out_tag)
    if status is Verdict.OPTED_OUT:
        reason = _first_line(guest.notes) or "no reason given in the notes"
        context.insert(0, f"opted out with tag '{opt_out_tag}': {reason}")
    if not refs and not excluded_by and not unknown_by:
        context.append("selected by no backup job")
    return GuestCoverage(
        guest.vmid,
        status,
        tuple(refs),
        tuple(lines + context),
        tuple(excluded_by),
        tuple(unknown_by),
        tuple(j.job_id for j in other_node),
    )


def _status(
    guest: Guest,
    refs: list[JobRef],
    excluded_by: list[str],
    unknown_by: list[str],
    opt_out_tag: str,
) -> Verdict:
    if any(r.target == "pbs" for r in refs):
        return Verdict.COVERED
    if any(r.target in ("other", "storage_unspecified") for r in refs):
        return Verdict.COVERED_NON_PBS
    if unknown_by:
        return Verdict.INDETERMINATE
    if refs:
        return Verdict.DISABLED_ONLY
    if opt_out_tag.lower() in (t.lower() for t in guest.tags):
        return Verdict.OPTED_OUT
    if excluded_by:
        return Verdict.EXCLUDED
    return Verdict.NOT_COVERED

"""Invariants of the coverage engine over random clusters and jobs (hypothesis)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pve_backup_report.analysis.coverage import Verdict, compute_coverage, target_state
from pve_backup_report.model import PoolMembership

from .builders import guest, inventory, job

VMIDS = list(range(100, 112))
NODES = ["pve1", "pve2"]
STORAGE_NAMES = ["pbs-main", "pbs-off", "nfs", "pbs-pve2", "missing"]

guests_st = st.dictionaries(
    st.sampled_from(VMIDS),
    st.tuples(st.sampled_from(NODES), st.booleans()),
    min_size=1,
)


@st.composite
def job_st(draw: Any, index: int) -> Any:
    mode = draw(st.sampled_from(["vmid", "all", "pool", "none"]))
    raw: dict[str, Any] = {
        "enabled": draw(st.sampled_from([1, 0])),
        "storage": draw(st.sampled_from(STORAGE_NAMES)),
        "schedule": draw(st.sampled_from(["21:00", "sat 03:00"])),
    }
    if draw(st.booleans()):
        raw["node"] = draw(st.sampled_from(NODES))
    if mode == "vmid":
        raw["vmid"] = ",".join(map(str, draw(st.lists(st.sampled_from([*VMIDS, 150]), min_size=1))))
    elif mode == "all":
        raw["all"] = 1
        raw["exclude"] = ",".join(map(str, draw(st.lists(st.sampled_from(VMIDS)))))
    elif mode == "pool":
        raw["pool"] = draw(st.sampled_from(["p-ok", "p-missing", "p-unknown"]))
    return job(f"job-{index}", **raw)


@st.composite
def cluster_st(draw: Any) -> Any:
    gmap = draw(guests_st)
    guests = [
        guest(v, node, tags=("no-backup",) if tagged else ()) for v, (node, tagged) in gmap.items()
    ]
    njobs = draw(st.integers(0, 4))
    jobs = [draw(job_st(i)) for i in range(njobs)]
    members = tuple(sorted(draw(st.sets(st.sampled_from(VMIDS)))))
    memberships = {
        "p-ok": PoolMembership("p-ok", "ok", members),
        "p-missing": PoolMembership("p-missing", "missing"),
        "p-unknown": PoolMembership("p-unknown", "unknown"),
    }
    return guests, jobs, memberships


GOODNESS = [
    Verdict.NOT_COVERED,
    Verdict.DISABLED_ONLY,
    Verdict.INDETERMINATE,
    Verdict.EXCLUDED,
    Verdict.COVERED_NON_PBS,
    Verdict.OPTED_OUT,
    Verdict.COVERED,
]


@settings(max_examples=300, deadline=None)
@given(cluster_st(), st.sampled_from(VMIDS), st.sampled_from(["vmid", "all"]))
def test_adding_enabled_pbs_job_never_lowers_a_verdict(
    cluster: Any, target: int, mode: str
) -> None:
    guests, jobs, memberships = cluster
    before = compute_coverage(inventory(guests, jobs, memberships)).guests
    extra = job("extra-pbs", vmid=str(target)) if mode == "vmid" else job("extra-pbs", all=1)
    after = compute_coverage(inventory(guests, [*jobs, extra], memberships)).guests
    for vmid, cov in before.items():
        assert GOODNESS.index(after[vmid].status) >= GOODNESS.index(cov.status)
        if mode == "all" or vmid == target:
            assert after[vmid].status is Verdict.COVERED


@settings(max_examples=300, deadline=None)
@given(cluster_st())
def test_not_covered_exactly_when_no_job_selects_it(cluster: Any) -> None:
    guests, jobs, memberships = cluster
    inv = inventory(guests, jobs, memberships)
    result = compute_coverage(inv)
    by_vmid = {g.vmid: g for g in guests}
    for vmid, cov in result.guests.items():
        touched = False
        for j in jobs:
            sel = result.selections[j.job_id]
            storage = inv.storage(j.storage)
            effective = target_state(j, storage, by_vmid[vmid]) in ("pbs", "other")
            if vmid in sel.selected or vmid in sel.excluded:
                touched = True
            elif vmid in sel.candidates and effective:
                touched = True  # an uninterpretable job that could really back it up
        opted = "no-backup" in by_vmid[vmid].tags
        assert (cov.status is Verdict.NOT_COVERED) == (not touched and not opted)
        # every guest always gets at least one line of explanation
        assert cov.explanation
        # covered means an enabled job to an active PBS storage selects it
        if cov.status is Verdict.COVERED:
            assert any(j.enabled and j.target == "pbs" for j in cov.jobs)

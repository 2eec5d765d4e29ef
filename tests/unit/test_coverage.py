"""Coverage rules, table-driven; every verdict below is worked out by hand from the scenario."""

from __future__ import annotations

from pve_backup_report.analysis.coverage import Verdict, compute_coverage
from pve_backup_report.analysis.crosscheck import cross_check
from pve_backup_report.model import PoolMembership

from .builders import guest, inventory, job, legacy_job


def verdicts(inv, tag: str = "no-backup") -> dict[int, str]:  # type: ignore[no-untyped-def]
    return {v: c.status.value for v, c in compute_coverage(inv, tag).guests.items()}


def codes(inv) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(a.code for a in compute_coverage(inv).anomalies)


def test_all_with_exclude_and_template() -> None:
    inv = inventory(
        [guest(100), guest(101, "pve2", type="lxc"), guest(9000, "pve2", template=True)],
        [job("backup-a", all=1, exclude="9000")],
    )
    result = compute_coverage(inv)
    assert verdicts(inv) == {100: "covered", 101: "covered", 9000: "excluded"}
    assert result.guests[9000].excluded_by == ("backup-a",)
    assert "excluded by job backup-a" in result.guests[9000].explanation
    assert result.guests[100].explanation[0] == "job backup-a (all, excludes 9000) on pbs-main"


def test_template_is_selected_like_any_guest() -> None:
    inv = inventory([guest(9000, template=True)], [job("j", vmid="9000")])
    assert verdicts(inv) == {9000: "covered"}


def test_pool_job_ignores_exclude_and_uses_direct_members() -> None:
    inv = inventory(
        [guest(100), guest(101), guest(102)],
        [job("pool-job", pool="prod", exclude="100")],
        {"prod": PoolMembership("prod", "ok", (100, 101))},
    )
    assert verdicts(inv) == {100: "covered", 101: "covered", 102: "not_covered"}


def test_node_restriction_after_migration() -> None:
    inv = inventory([guest(100, "pve1")], [job("backup-5e6f", vmid="100", node="pve2")])
    result = compute_coverage(inv)
    assert result.guests[100].status is Verdict.NOT_COVERED
    assert (
        "job backup-5e6f is restricted to node pve2 but the guest runs on pve1"
        in result.guests[100].explanation
    )
    assert "job_node_without_guests" in codes(inv)


def test_many_node_restricted_jobs_make_one_line_and_data() -> None:
    # one `all` job per node (pve1..pve4): guest 100 on pve1 is selected by node-1 only; the
    # other three pass it by. One sentence with the count, the job ids kept as data.
    inv = inventory(
        [guest(100, "pve1"), guest(101, "pve2")],
        [job(f"node-{n}", all=1, node=f"pve{n}") for n in (1, 2, 3, 4)],
    )
    cov = compute_coverage(inv).guests[100]
    assert cov.status is Verdict.COVERED
    assert cov.other_node_jobs == ("node-2", "node-3", "node-4")
    assert "not selected: 3 jobs restricted to other nodes" in cov.explanation
    assert not [line for line in cov.explanation if "is restricted to node" in line]
    assert len(cov.explanation) == 2  # the selecting job's line + the count


def test_node_restricted_count_in_french() -> None:
    from datetime import UTC, datetime

    from pve_backup_report.report.build import build_report

    inv = inventory(
        [guest(100, "pve1")],
        [job(f"node-{n}", all=1, node=f"pve{n}") for n in (2, 3)],
    )
    coverage = compute_coverage(inv)
    report = build_report(
        inv, coverage, None, (), generated_at=datetime(2026, 1, 5, tzinfo=UTC),
        tool_version="t", config_summary={}, lang="fr",
    )  # fmt: skip
    text = report.guests[0].explanation_text
    assert "non sélectionné\u202f: 2 tâches limitées à d’autres nœuds" in text
    assert coverage.guests[100].explanation[0] == ("not selected: 2 jobs restricted to other nodes")


def test_unknown_vmid_reported_never_counted() -> None:
    inv = inventory([guest(100)], [job("j", vmid="100,150")])
    result = compute_coverage(inv)
    assert set(result.guests) == {100}
    assert result.selections["j"].unknown_vmids == (150,)
    anomaly = next(a for a in result.anomalies if a.code == "job_unknown_vmids")
    assert "150" in anomaly.message


def test_missing_pool_selects_nothing_and_is_critical() -> None:
    inv = inventory(
        [guest(100)],
        [job("pj", pool="gone")],
        {"gone": PoolMembership("gone", "missing", error="pool 'gone' does not exist")},
    )
    result = compute_coverage(inv)
    assert verdicts(inv) == {100: "not_covered"}
    missing = next(a for a in result.anomalies if a.code == "job_pool_missing")
    assert missing.severity.value == "critical" and missing.details["job"] == "pj"


def test_unreadable_pool_makes_uncovered_guests_indeterminate() -> None:
    inv = inventory(
        [guest(100), guest(101), guest(102, "pve2")],
        [job("pj", pool="prod"), job("other", vmid="101")],
        {"prod": PoolMembership("prod", "unknown", error="403")},
    )
    result = compute_coverage(inv)
    assert verdicts(inv) == {100: "indeterminate", 101: "covered", 102: "indeterminate"}
    assert result.guests[100].indeterminate_by == ("pj",)
    assert "job_pool_unknown" in codes(inv)


def test_disabled_job_and_enabled_nfs_job() -> None:
    inv = inventory(
        [guest(100), guest(101)],
        [job("disabled", vmid="100,101", enabled=0), job("to-nfs", vmid="100", storage="nfs")],
    )
    result = compute_coverage(inv)
    assert verdicts(inv) == {100: "covered_non_pbs", 101: "disabled_only"}
    assert [j.job_id for j in result.guests[100].jobs] == ["disabled", "to-nfs"]
    assert sorted(codes(inv)) == ["job_disabled", "job_target_not_pbs"]


def test_storage_missing_disabled_or_not_on_node_protect_nothing() -> None:
    inv = inventory(
        [guest(100), guest(101), guest(102, "pve1")],
        [
            job("j-missing", vmid="100", storage="nowhere"),
            job("j-off", vmid="101", storage="pbs-off"),
            job("j-node", vmid="102", storage="pbs-pve2"),
        ],
    )
    assert verdicts(inv) == {100: "disabled_only", 101: "disabled_only", 102: "disabled_only"}
    assert {"job_storage_unknown", "job_storage_disabled"} <= set(codes(inv))


def test_two_jobs_same_guest_storage_schedule() -> None:
    inv = inventory(
        [guest(100), guest(101)],
        [job("a", vmid="100,101", schedule="21:00"), job("b", vmid="100", schedule=" 21:00 ")],
    )
    dup = [a for a in compute_coverage(inv).anomalies if a.code == "job_duplicate_backup"]
    assert len(dup) == 1
    assert dup[0].details == {"jobs": "a,b", "vmids": "100"}


def test_legacy_job_handled_like_the_others() -> None:
    inv = inventory(
        [guest(100), guest(101)],
        [
            legacy_job("5a1f0e:1", enabled="1", vmid="100"),
            legacy_job("5a1f0e:2", enabled="", vmid="101"),
        ],
    )
    assert verdicts(inv) == {100: "covered", 101: "disabled_only"}


def test_opt_out_tag_with_reason_from_notes() -> None:
    inv = inventory(
        [
            guest(102, tags=("lab", "no-backup"), notes="Scratch VM, rebuilt from Ansible\nmore"),
            guest(103, tags=("No-Backup",)),
            guest(9000, tags=("no-backup",)),
        ],
        [job("a", all=1, exclude="9000")],
    )
    result = compute_coverage(inv)
    # 102 and 103 are selected by the all-job anyway: a tag never hides real coverage.
    assert verdicts(inv) == {102: "covered", 103: "covered", 9000: "opted_out"}
    assert result.guests[9000].explanation[0] == (
        "opted out with tag 'no-backup': no reason given in the notes"
    )
    inv2 = inventory([guest(102, tags=("no-backup",), notes="Scratch VM, rebuilt\nx")], [])
    assert compute_coverage(inv2).guests[102].explanation[0] == (
        "opted out with tag 'no-backup': Scratch VM, rebuilt"
    )


def test_vmid_list_separators() -> None:
    inv = inventory([guest(100), guest(101), guest(102)], [job("j", vmid="100;101 102")])
    assert set(verdicts(inv).values()) == {"covered"}


def test_invalid_vmid_token_makes_job_uninterpretable() -> None:
    inv = inventory([guest(100), guest(101)], [job("j", vmid="100,abc"), job("k", vmid="101")])
    assert verdicts(inv) == {100: "indeterminate", 101: "covered"}
    assert "job_selection_invalid" in codes(inv)


def test_job_without_selection_and_unknown_node() -> None:
    inv = inventory([guest(100)], [job("empty"), job("ghost", vmid="100", node="pve9")])
    assert {"job_selects_nothing", "job_node_unknown"} <= set(codes(inv))
    assert verdicts(inv) == {100: "not_covered"}


def test_excluded_disk_on_covered_guest_is_an_anomaly() -> None:
    from pve_backup_report.model import Disk

    g = guest(
        100,
        disks=(Disk("scsi0", "v0", True, "backup=yes"), Disk("scsi1", "v1", False, "backup=no")),
    )
    inv = inventory([g], [job("j", vmid="100")])
    anomaly = next(a for a in compute_coverage(inv).anomalies if a.code == "guest_disks_excluded")
    assert anomaly.details == {"vmid": 100, "disks": "scsi1"}


def test_cross_check_with_proxmox_rule() -> None:
    # PVE lists guests in no job at all (disabled jobs count as coverage for it).
    inv = inventory(
        [guest(100), guest(101), guest(102), guest(103)],
        [job("on", vmid="100"), job("off", vmid="101", enabled=0)],
    )
    cov = compute_coverage(inv).guests
    assert cross_check((102, 103), cov) == []
    mismatch = cross_check((101, 102, 103), cov)  # 101 is selected by a (disabled) job
    assert [a.details["vmid"] for a in mismatch] == [101]
    assert cross_check(None, cov) == []


def test_unreadable_storage_list_makes_guests_indeterminate_not_uncovered() -> None:
    """Issue 11 item 1: unknown storages are not missing storages."""
    from dataclasses import replace

    base = inventory(
        [guest(100), guest(101), guest(102, tags=("no-backup",))],
        [
            job("daily", vmid="100,101"),
            job("nfs", vmid="101", storage="nfs"),
            job("off", vmid="102", enabled=0),
        ],
    )
    inv = replace(base, storages=(), unreadable=frozenset({"storages"}))
    result = compute_coverage(inv)
    # 100: its only job's target is unknown -> indeterminate (was "disabled_only");
    # 101: both targets unknown -> indeterminate; 102: a disabled job stays disabled_only
    assert verdicts(inv) == {100: "indeterminate", 101: "indeterminate", 102: "disabled_only"}
    assert result.guests[100].indeterminate_by == ("daily",)
    assert result.guests[100].jobs[0].target == "storage_unknown"
    assert "job daily (vmid 100,101) on pbs-main — the storage list could not be read" in (
        result.guests[100].explanation
    )
    # no "storage does not exist" finding for a storage we could not look up
    assert "job_storage_unknown" not in codes(inv)
    # the same inventory with a readable, empty storage list: the storages really are missing
    missing = replace(base, storages=())
    assert verdicts(missing) == {100: "disabled_only", 101: "disabled_only", 102: "disabled_only"}
    assert codes(missing).count("job_storage_unknown") == 3  # daily, nfs and off


def test_unknown_job_list_makes_every_guest_indeterminate() -> None:
    """Issue 11 item 2: jobs unknown is not "no jobs": no guest may read `not_covered`."""
    from dataclasses import replace

    from pve_backup_report.analysis.crosscheck import cross_check as check

    inv = replace(inventory([guest(100), guest(101)], []), jobs=None)
    result = compute_coverage(inv)
    assert verdicts(inv) == {100: "indeterminate", 101: "indeterminate"}
    assert result.guests[100].explanation == ("the backup job list could not be read",)
    assert result.anomalies == ()
    # Proxmox's own list cannot contradict an unknown verdict
    assert check((100,), result.guests) == [] and check((), result.guests) == []

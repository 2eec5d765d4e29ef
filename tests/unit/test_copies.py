"""Off-site copy rules, each on a hand-built case (analysis/copies.py, no HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pve_backup_report.analysis.copies import (
    CopyPolicy,
    GuestSource,
    PrimaryCopy,
    ServerView,
    analyse_copies,
    build_edges,
    filter_passes,
    job_anomalies,
    map_namespace,
    resolve_remote,
)
from pve_backup_report.analysis.pbs_match import Location, in_scope
from pve_backup_report.model import PbsDatastore, PbsRemote, PbsSnapshot, PbsSyncJob

NOW = datetime(2025, 11, 26, 7, 0, tzinfo=UTC)
FP_A = "aa" * 32
FP_B = "bb" * 32
A_MAIN = Location("a", "main", "prod")


def snap(loc: Location, hours_ago: float, kind: str = "vm", backup_id: str = "100") -> PbsSnapshot:
    return PbsSnapshot(
        backup_time=NOW - timedelta(hours=hours_ago),
        server=loc.server,
        datastore=loc.datastore,
        namespace=loc.namespace,
        backup_type=kind,
        backup_id=backup_id,
        size_bytes=1,
    )


def guest(*copies: Location, vmid: int = 100, **extra: object) -> GuestSource:
    pve = tuple(PrimaryCopy(loc, f"job{i}") for i, loc in enumerate(copies))
    return GuestSource(vmid, "vm", pve, **extra)  # type: ignore[arg-type]


def pull(server: str, remote: str | None, **fields: object) -> PbsSyncJob:
    values: dict[str, object] = {
        "job_id": f"s-{server}",
        "store": "copy",
        "remote_store": "main",
        "remote_ns": "prod",
        "ns": "prod",
        "schedule": "hourly",
        "last_run_state": "OK",
    }
    values.update(fields)
    return PbsSyncJob(server=server, remote=remote, **values)  # type: ignore[arg-type]


def server(name: str, jobs: tuple[PbsSyncJob, ...] = (), remotes: tuple[PbsRemote, ...] = (),
           **extra: object) -> ServerView:  # fmt: skip
    return ServerView(name, f"{name}.test", 8007, sync_jobs=jobs, remotes=remotes, **extra)  # type: ignore[arg-type]


# ------------------------------------------------------------------ group filters
@pytest.mark.parametrize(
    ("filters", "kind", "backup_id", "passes"),
    [
        ((), "ct", "200", True),  # no filter: everything
        (("type:vm",), "ct", "200", False),
        (("type:vm",), "vm", "200", True),
        (("group:vm/100",), "vm", "100", True),
        (("group:vm/100",), "vm", "1000", False),  # group is exact
        (("regex:10",), "vm", "210", True),  # regex is searched, not anchored
        (("regex:^vm/1",), "vm", "210", False),
        (("type:vm", "exclude:group:vm/100"), "vm", "100", False),  # exclusion wins
        (("exclude:type:ct",), "vm", "100", True),  # only exclusions: the rest is included
        (("include:type:ct", "group:vm/5"), "vm", "5", True),  # any include filter
    ],
)
def test_group_filter(filters: tuple[str, ...], kind: str, backup_id: str, passes: bool) -> None:
    assert filter_passes(filters, kind, backup_id) is passes


def test_malformed_group_filter_raises() -> None:
    with pytest.raises(ValueError):
        filter_passes(("owner:me",), "vm", "100")


# ------------------------------------------------------------------ namespaces
@pytest.mark.parametrize(
    ("ns", "source", "depth", "covered"),
    [
        ("a", "a", 0, True),
        ("a/b", "a", 0, False),
        ("a/b/c", "a", 2, True),
        ("a/b/c", "a", 1, False),
        ("x/y", "", None, True),
        ("ab", "a", None, False),  # a prefix of the name is not a parent namespace
        ("", "", 0, True),
    ],
)
def test_covers(ns: str, source: str, depth: int | None, covered: bool) -> None:
    assert in_scope(ns, source, depth) is covered


@pytest.mark.parametrize(
    ("ns", "source", "target", "mapped"),
    [
        ("a/b/c", "a", "x", "x/b/c"),
        ("a", "a", "", ""),
        ("a/b", "", "t", "t/a/b"),
        ("a", "a", "t", "t"),
    ],
)
def test_map_namespace(ns: str, source: str, target: str, mapped: str) -> None:
    assert map_namespace(ns, source, target) == mapped


# ------------------------------------------------------------------ remotes
def test_remote_resolution_by_address_alias_and_fingerprint() -> None:
    servers = [
        ServerView("a", "10.0.0.1", 8007, FP_A),
        ServerView("b", "backup-b.lan", 8007, FP_B, aliases=("pbs-b.example.com",)),
        ServerView("c", "10.0.0.3", 8007, FP_B),
    ]
    assert resolve_remote(PbsRemote("x", "r", "10.0.0.1"), servers) == "a"
    assert resolve_remote(PbsRemote("x", "r", "10.0.0.1", port=8443), servers) is None
    assert resolve_remote(PbsRemote("x", "r", "PBS-B.example.com"), servers) == "b"
    colon = ":".join(["AA"] * 32)
    assert resolve_remote(PbsRemote("x", "r", "other", fingerprint=colon), servers) == "a"
    # two configured servers share FP_B: ambiguous, not guessed
    assert resolve_remote(PbsRemote("x", "r", "other", fingerprint=FP_B), servers) is None


# ------------------------------------------------------------------ policy and verdicts
def test_two_datastores_on_the_primary_server_are_not_an_offsite_copy() -> None:
    other = Location("a", "second", "prod")
    result = analyse_copies(
        [guest(A_MAIN, other)],
        [server("a")],
        [snap(A_MAIN, 5), snap(other, 6)],
        frozenset({A_MAIN, other}),
        CopyPolicy(),
        NOW,
    )
    g = result.guests[100]
    assert (g.verdict, g.locations, g.required) == ("single_copy", 2, 2)
    # with REPORT_MIN_COPIES=1 the same guest is fine
    one = analyse_copies(
        [guest(A_MAIN, other)], [server("a")], [snap(A_MAIN, 5)], frozenset({A_MAIN, other}),
        CopyPolicy(min_copies=1, explicit=True), NOW,
    )  # fmt: skip
    assert (one.guests[100].verdict, one.guests[100].policy_source) == ("copies_ok", "global")


def test_second_pve_job_to_another_server_counts_and_is_judged_by_its_schedule() -> None:
    b = Location("b", "store", "")
    src = GuestSource(
        100, "vm", (PrimaryCopy(A_MAIN, "daily"), PrimaryCopy(b, "weekly", "sun 02:00")),
        max_age_hours=26,
    )  # fmt: skip
    # off-site snapshot 100 h old: allowed 26 h + 1.25 × 168 h (weekly gap) = 236 h
    result = analyse_copies(
        [src], [server("a"), server("b")], [snap(A_MAIN, 3), snap(b, 100)],
        frozenset({A_MAIN, b}), CopyPolicy(), NOW,
    )  # fmt: skip
    g = result.guests[100]
    assert [(c.kind, c.via, c.offsite) for c in g.copies] == [
        ("pve_job", "daily", False),
        ("pve_job", "weekly", True),
    ]
    assert (g.verdict, g.offsite_age_hours, g.max_age_hours) == ("copies_ok", 100.0, 236.0)


def test_policy_overrides_by_tag_then_pool() -> None:
    policy = CopyPolicy(min_copies=2, tags={"gold": 3, "silver": 2, "lab": 1}, pools={"test": 1})
    assert policy.required(("lab", "gold"), "test") == (3, "tag:gold")  # largest tag wins
    assert policy.required(("GOLD",), None) == (3, "tag:gold")  # like BACKUP_MAX_AGE_TAGS
    assert policy.required((), "test") == (1, "pool:test")
    assert policy.required((), None) == (2, "default")


def test_stale_offsite_copy_through_a_sync_job() -> None:
    # pull job on b, hourly (gap 1 h): allowed 26 + 1 = 27 h; the copy is 30 h old
    b_copy = Location("b", "copy", "prod")
    servers = [server("a"), server("b", (pull("b", "ra"),), (PbsRemote("b", "ra", "a.test"),))]
    result = analyse_copies(
        [guest(A_MAIN, max_age_hours=26.0)], servers, [snap(A_MAIN, 2), snap(b_copy, 30)],
        frozenset({A_MAIN, b_copy}), CopyPolicy(), NOW,
    )  # fmt: skip
    g = result.guests[100]
    assert (g.verdict, g.offsite_age_hours, g.max_age_hours) == ("offsite_stale", 30.0, 27.0)
    assert [a.code for a in result.anomalies] == []  # lag 28 h < 48 h


def test_unreadable_target_is_unknown_and_offsite_lag_is_reported() -> None:
    b_copy = Location("b", "copy", "prod")
    servers = [server("a"), server("b", (pull("b", "ra"),), (PbsRemote("b", "ra", "a.test"),))]
    unknown = analyse_copies(
        [guest(A_MAIN)], servers, [snap(A_MAIN, 2)], frozenset({A_MAIN}), CopyPolicy(), NOW
    )
    assert unknown.guests[100].verdict == "offsite_unknown"  # b:copy/prod was not read
    lagging = analyse_copies(
        [guest(A_MAIN)], servers, [snap(A_MAIN, 2), snap(b_copy, 60)],
        frozenset({A_MAIN, b_copy}), CopyPolicy(), NOW,
    )  # fmt: skip
    (lag,) = [a for a in lagging.anomalies if a.code == "offsite_lag"]
    assert (lag.details["lag_hours"], lag.details["threshold_hours"]) == (58.0, 48.0)


def test_a_server_whose_sync_jobs_are_unknown_makes_single_copies_unknown() -> None:
    servers = [server("a"), ServerView("b", "b.test", 8007, reachable=False)]
    result = analyse_copies(
        [guest(A_MAIN)], servers, [snap(A_MAIN, 2)], frozenset({A_MAIN}), CopyPolicy(), NOW
    )
    assert not result.complete
    assert result.guests[100].verdict == "offsite_unknown"


def test_push_to_an_unconfigured_remote_is_an_unknown_copy() -> None:
    job = PbsSyncJob(
        server="a", job_id="s-push", store="main", ns="prod", remote="far", remote_store="vault",
        direction="push", schedule="daily", last_run_state="OK",
    )  # fmt: skip
    servers = [server("a", (job,), (PbsRemote("a", "far", "far.example.net", 8007),))]
    result = analyse_copies(
        [guest(A_MAIN)], servers, [snap(A_MAIN, 2)], frozenset({A_MAIN}), CopyPolicy(), NOW
    )
    g = result.guests[100]
    assert [(c.server, c.datastore, c.namespace, c.kind, c.known) for c in g.copies][1] == (
        "far.example.net:8007", "vault", "", "sync_push", False,  # remote-ns unset: root
    )  # fmt: skip
    assert g.verdict == "offsite_unknown"
    assert [a.code for a in result.anomalies] == ["sync_remote_unmatched"]


def test_cycle_between_two_servers_terminates() -> None:
    b_copy = Location("b", "copy", "prod")
    back = pull("a", "rb", store="main", remote_store="copy", ns="prod", remote_ns="prod")
    servers = [
        server("a", (back,), (PbsRemote("a", "rb", "b.test"),)),
        server("b", (pull("b", "ra"),), (PbsRemote("b", "ra", "a.test"),)),
    ]
    result = analyse_copies(
        [guest(A_MAIN)], servers, [snap(A_MAIN, 2), snap(b_copy, 3)],
        frozenset({A_MAIN, b_copy}), CopyPolicy(), NOW,
    )  # fmt: skip
    g = result.guests[100]
    assert [(c.server, c.datastore) for c in g.copies] == [("a", "main"), ("b", "copy")]
    assert g.verdict == "copies_ok"


def test_job_anomalies() -> None:
    jobs = (
        pull("b", None, job_id="failed", last_run_state="sync failed - EIO"),
        pull("b", None, job_id="never", last_run_state=None),
        pull("b", None, job_id="manual", schedule=None),
        pull("b", None, job_id="badfilter", group_filter=("regex:(",)),
    )
    store = PbsDatastore("b", "copy", used_bytes=92, avail_bytes=8)
    servers = [ServerView("b", "b.test", 8007, sync_jobs=jobs, datastores=(store,))]
    edges, _ = build_edges(servers)
    found = sorted(
        (a.code, str(a.details.get("job"))) for a in job_anomalies(servers, edges, CopyPolicy())
    )
    assert ("sync_job_failed", "failed") in found
    assert ("sync_job_never_ran", "never") in found
    assert ("sync_job_manual", "manual") in found
    assert ("sync_filter_invalid", "badfilter") in found
    # 92 / (92 + 8) = 92 % ≥ 90 %: every job copying into b:copy
    assert [j for c, j in found if c == "sync_target_full"] == [
        "badfilter",
        "failed",
        "manual",
        "never",
    ]


def test_unreadable_remote_list_is_unknown_not_unmatched() -> None:
    # b's jobs are known but its remotes are not: the pull source is unknown
    servers = [server("a"), ServerView("b", "b.test", 8007, sync_jobs=(pull("b", "ra"),))]
    result = analyse_copies(
        [guest(A_MAIN)], servers, [snap(A_MAIN, 2)], frozenset({A_MAIN}), CopyPolicy(), NOW
    )
    assert [a.code for a in result.anomalies] == []
    assert result.guests[100].verdict == "offsite_unknown"
    (view,) = result.jobs
    assert (view.source, view.resolved) == ("ra:main/prod", False)

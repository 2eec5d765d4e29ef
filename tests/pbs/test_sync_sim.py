"""Off-site copies over real HTTPS: two or three simulated PBS with sync jobs between them.

Expected values are worked out by hand in scenario_sync.py / scenario_pbs.py: guest 100 has
two snapshots (latest T100 = NOW − 10 h), 101 one (T101), container 200 one (T200), 102 none.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from pve_backup_report.analysis.copies import CopyPolicy
from pve_backup_report.analysis.coverage import compute_coverage
from pve_backup_report.api.client import ReadOnlyClient
from pve_backup_report.cli.pipeline import client_config
from pve_backup_report.collect.inventory import collect_inventory
from pve_backup_report.collect.pbs_entry import PbsResult, collect_pbs
from pve_backup_report.config import PveSettings, parse_host
from pve_backup_report.config_pbs import load_pbs_settings
from pve_backup_report.model import Freshness, GuestEvidence
from pve_backup_report.simulator.scenario import load_scenario
from pve_backup_report.simulator.server import SimulatorServer

from .scenario_pbs import NOW, PBS_SECRET, T100, T101
from .scenario_sync import AUDIT_AND_REMOTE, PBS2_SECRET, PBS3_SECRET, pbs2, pull_job, sync_scenario

SECRETS = {"pbs1": PBS_SECRET, "pbs2": PBS2_SECRET, "pbs3": PBS3_SECRET}
HOSTS = {"pbs1": "pbs.test", "pbs2": "pbs2.test", "pbs3": "pbs3.test"}


def _utc(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


@pytest.fixture
def collect(tls_files: tuple[Path, Path, Path]) -> Iterator[Callable[..., PbsResult]]:
    """Start PVE and every PBS of a scenario, collect with one PBSnn block per server."""
    cert, key, ca_path = tls_files
    started: list[SimulatorServer] = []

    def run(
        data: dict[str, Any],
        *,
        evidence: dict[int, GuestEvidence] | None = None,
        secrets: dict[str, str] | None = None,
        policy: CopyPolicy | None = None,
    ) -> PbsResult:
        scenario = load_scenario(data)
        pve = SimulatorServer(scenario, port=0, certfile=cert, keyfile=key).start()
        started.append(pve)
        env: dict[str, str] = {}
        for index, spec in enumerate(scenario.pbs_servers, 1):
            sim = SimulatorServer.for_pbs(
                scenario, spec.name, port=0, certfile=cert, keyfile=key
            ).start()
            started.append(sim)
            prefix = f"PBS{index:02d}"
            env.update(
                {
                    f"{prefix}_NAME": spec.name,
                    f"{prefix}_API_URL": f"https://127.0.0.1:{sim.port}",
                    f"{prefix}_API_TOKEN_ID": "report@pbs!audit",
                    f"{prefix}_API_TOKEN_SECRET": (secrets or SECRETS)[spec.name],
                    f"{prefix}_CA_BUNDLE": str(ca_path),
                    f"{prefix}_ALIASES": HOSTS[spec.name],
                }
            )
        env["PBS01_STORAGES"] = "pbs-a"
        settings, warnings = load_pbs_settings(env)
        assert warnings == []
        pve_settings = PveSettings(
            base_urls=(parse_host("PVE_HOST", pve.base_url, 8006, False),),
            token_id=scenario.token.id,
            token_secret=SecretStr(scenario.token.secret),
            ca_bundle=ca_path,
            timeout=5,
        )

        async def go() -> PbsResult:
            async with ReadOnlyClient(client_config(pve_settings)) as client:
                base = client.active_base_url
                inventory = await collect_inventory(client, base, "/cluster/backup")
                coverage = compute_coverage(inventory)
                return await collect_pbs(
                    settings,
                    inventory,
                    coverage,
                    evidence,
                    client,
                    now=_utc(NOW),
                    timeout=5,
                    retries=0,
                    copy_policy=policy,
                )

        return asyncio.run(go())

    yield run
    for server in started:
        server.stop()


def _codes(result: PbsResult) -> list[str]:
    return sorted(a.code for a in result.anomalies if a.component == "copies")


def _where(result: PbsResult, vmid: int) -> list[tuple[str, str, str, str, int]]:
    assert result.copies is not None
    return [
        (c.server, c.datastore, c.namespace, c.kind, c.snapshots)
        for c in result.copies.guests[vmid].copies
    ]


def test_pull_copies_namespaces_and_type_filter(collect: Callable[..., PbsResult]) -> None:
    result = collect(sync_scenario())
    assert result.copies is not None and result.copies.complete
    copies = result.copies.guests
    assert _where(result, 100) == [
        ("pbs1", "store1", "clusterA", "pve_job", 2),
        ("pbs2", "offsite", "copyA", "sync_pull", 2),
    ]
    g100 = copies[100]
    assert (g100.verdict, g100.locations, g100.required) == ("copies_ok", 2, 2)
    assert g100.offsite_latest == _utc(T100)
    assert g100.offsite_age_hours == 10.0
    assert copies[101].verdict == "copies_ok" and copies[101].offsite_latest == _utc(T101)
    # the container is left out by exclude:type:ct: one location only
    assert _where(result, 200) == [("pbs1", "store1", "clusterA", "pve_job", 1)]
    assert copies[200].verdict == "single_copy"
    # 102 has no snapshot anywhere; the job covers it, but nothing was copied
    assert _where(result, 102) == [
        ("pbs1", "store1", "clusterA", "pve_job", 0),
        ("pbs2", "offsite", "copyA", "sync_pull", 0),
    ]
    assert copies[102].verdict == "single_copy" and copies[102].locations == 0
    (view,) = result.copies.jobs
    assert (view.source, view.target) == ("pbs1:store1/clusterA", "pbs2:offsite/copyA")
    assert view.guests == (100, 101, 102) and view.excluded == (200,)
    assert _codes(result) == ["sync_filter_excludes"]
    (pbs2_info,) = [s for s in result.servers if s.name == "pbs2"]
    assert pbs2_info.remotes is not None
    assert [(r.name, r.host, r.auth_id) for r in pbs2_info.remotes] == [
        ("main", "pbs.test", "sync@pbs")
    ]
    assert "never-served-secret" not in repr(result)


def test_push_job_from_the_primary_server(collect: Callable[..., PbsResult]) -> None:
    push = {
        "id": "s-push",
        "sync-direction": "push",
        "store": "store1",
        "ns": "clusterA",
        "remote": "vault",
        "remote-store": "offsite",
        "remote-ns": "pushed",
        "schedule": "daily",
        "group-filter": ["group:vm/100"],
        "last-run-endtime": NOW - 600,
        "last-run-state": "OK",
    }
    pbs1 = {
        "version": "3.3",
        "remotes": [{"name": "vault", "host": "pbs2.test", "port": 8007}],
        "sync_jobs": [push],
    }
    result = collect(sync_scenario(pbs2(jobs=[]), pbs1=pbs1))
    assert result.copies is not None
    assert _where(result, 100) == [
        ("pbs1", "store1", "clusterA", "pve_job", 2),
        ("pbs2", "offsite", "pushed", "sync_push", 2),
    ]
    assert result.copies.guests[100].verdict == "copies_ok"
    # group:vm/100 includes only 100
    assert result.copies.guests[101].verdict == "single_copy"
    (view,) = result.copies.jobs
    assert view.job.direction == "push" and view.target == "pbs2:offsite/pushed"
    assert view.excluded == (101, 102, 200)


@pytest.mark.parametrize(
    ("changes", "copied"),
    [
        # the root with max-depth 0 is the root namespace only: clusterA is not covered
        ({"remote-ns": None, "ns": None, "max-depth": 0}, False),
        # the root with max-depth 1 covers clusterA, which lands in clusterA on the target
        ({"remote-ns": None, "ns": None, "max-depth": 1}, True),
    ],
)
def test_max_depth(
    collect: Callable[..., PbsResult], changes: dict[str, Any], copied: bool
) -> None:
    result = collect(sync_scenario(pbs2(jobs=[pull_job(**changes)])))
    expected = [("pbs1", "store1", "clusterA", "pve_job", 2)]
    if copied:
        expected.append(("pbs2", "offsite", "clusterA", "sync_pull", 2))
    assert _where(result, 100) == expected


@pytest.mark.parametrize(
    ("filters", "with_copy"),
    [
        (["type:vm"], {100, 101, 102}),
        (["regex:^vm/10[01]$"], {100, 101}),
        (["type:vm", "exclude:group:vm/101"], {100, 102}),
        (["include:group:ct/200"], {200}),
    ],
)
def test_group_filters(
    collect: Callable[..., PbsResult], filters: list[str], with_copy: set[int]
) -> None:
    result = collect(sync_scenario(pbs2(jobs=[pull_job(**{"group-filter": filters})])))
    assert result.copies is not None
    followed = {
        vmid
        for vmid, g in result.copies.guests.items()
        if any(c.kind == "sync_pull" for c in g.copies)
    }
    assert followed == with_copy


def test_chain_with_a_cycle(collect: Callable[..., PbsResult]) -> None:
    # pbs3 pulls pbs2's offsite/copyA into vault/deep; pbs2 also pulls back from pbs3 (cycle)
    pbs3 = pbs2(
        jobs=[
            pull_job(
                id="s-chain",
                store="vault",
                ns="deep",
                remote="second",
                **{"remote-store": "offsite", "remote-ns": "copyA", "group-filter": None},
            )
        ],
        name="pbs3",
        host="pbs3.test",
        token={
            "id": "report@pbs!audit",
            "secret": PBS3_SECRET,
            "acl": AUDIT_AND_REMOTE,
        },
        datastores=[{"name": "vault", "derive": False}],
        remotes=[{"name": "second", "host": "pbs2.test"}],
    )
    back = pull_job(
        id="s-back",
        ns="back",
        remote="third",
        **{"remote-store": "vault", "remote-ns": "deep", "group-filter": None},
    )
    second = pbs2(
        jobs=[pull_job(), back],
        remotes=[{"name": "main", "host": "pbs.test"}, {"name": "third", "host": "pbs3.test"}],
    )
    result = collect(sync_scenario(second, pbs3))
    assert _where(result, 100) == [
        ("pbs1", "store1", "clusterA", "pve_job", 2),
        ("pbs2", "offsite", "copyA", "sync_pull", 2),
        ("pbs3", "vault", "deep", "sync_pull", 2),
        ("pbs2", "offsite", "back", "sync_pull", 2),
    ]
    assert result.copies is not None and result.copies.guests[100].locations == 4


def test_unreadable_second_server_is_unknown_not_missing(
    collect: Callable[..., PbsResult],
) -> None:
    secrets = {"pbs1": PBS_SECRET, "pbs2": "00000000-0000-0000-0000-000000000000"}
    result = collect(sync_scenario(), secrets=secrets)
    assert result.copies is not None and not result.copies.complete
    verdicts = {v: g.verdict for v, g in result.copies.guests.items()}
    assert verdicts == {
        100: "offsite_unknown",
        101: "offsite_unknown",
        102: "offsite_unknown",
        200: "offsite_unknown",
    }
    assert any(a.code == "pbs_authentication_failed" for a in result.anomalies)


def test_failed_job_and_stale_offsite_copy(collect: Callable[..., PbsResult]) -> None:
    # the last run failed: nothing newer than synced_until (T100 − 1 s, so only T100_OLD)
    job = pull_job(
        **{
            "last-run-state": "sync failed - connection reset",
            "synced_until": T100 - 1,
            "group-filter": None,
            "history": [{"endtime": NOW - 26 * 3600, "status": "OK"}],
        }
    )
    evidence = {
        100: GuestEvidence(100, freshness=Freshness("fresh", 26.0, "schedule", "daily")),
    }
    result = collect(sync_scenario(pbs2(jobs=[job])), evidence=evidence)
    assert result.copies is not None
    g100 = result.copies.guests[100]
    # newest off-site copy T100_OLD = NOW − 34 h; allowed 26 h + 1 h (hourly job gap)
    assert g100.offsite_age_hours == 34.0
    assert g100.max_age_hours == 27.0
    assert g100.verdict == "offsite_stale"
    failed = [a for a in result.anomalies if a.code == "sync_job_failed"]
    assert [a.details["error_message"] for a in failed] == ["sync failed - connection reset"]
    # the job's runs from the task list: an earlier OK run at NOW − 26 h, then the failure
    (pbs2_info,) = [s for s in result.servers if s.name == "pbs2"]
    assert pbs2_info.sync_jobs is not None
    (synced,) = pbs2_info.sync_jobs
    assert (synced.recent_runs, synced.recent_failures) == (2, 1)
    assert synced.last_success_end == _utc(NOW - 26 * 3600)


def test_target_almost_full_and_lagging_copy(collect: Callable[..., PbsResult]) -> None:
    store = {"name": "offsite", "derive": False, "total": 100, "used": 95, "avail": 5}
    job = pull_job(**{"synced_until": T100 - 1})
    result = collect(
        sync_scenario(pbs2(jobs=[job], datastores=[store])), policy=CopyPolicy(lag_hours=12)
    )
    codes = _codes(result)
    assert "sync_target_full" in codes
    lag = [a for a in result.anomalies if a.code == "offsite_lag"]
    # on-site T100, off-site T100_OLD: 24 h apart (> 12 h) for guest 100
    assert [(a.details["vmid"], a.details["lag_hours"]) for a in lag] == [(100, 24.0)]


def test_dump_inventory_lists_remotes_and_sync_jobs(collect: Callable[..., PbsResult]) -> None:
    import io

    from pve_backup_report.diagnostics.pbs_view import render_pbs_inventory

    out = io.StringIO()
    render_pbs_inventory(collect(sync_scenario()), out, width=250)
    text = out.getvalue()
    assert "PBS remotes" in text and "PBS sync jobs" in text
    assert "pbs1:store1/clusterA" in text and "pbs2:offsite/copyA" in text
    assert "exclude:type:ct" in text
    assert "never-served-secret" not in text

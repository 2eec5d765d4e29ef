"""Collection against the PBS simulator over HTTPS; expectations worked out in scenario_pbs."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pve_backup_report.config import ConfigError
from pve_backup_report.config_pbs import load_pbs_settings
from pve_backup_report.model import Severity
from pve_backup_report.serialize import dumps

from .conftest import Sims, run_collection
from .scenario_pbs import GIB, PBS_SECRET, T100, T100_OLD, T101, T150, T200, pbs_server, scenario


def _utc(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _codes(run_result: object) -> list[str]:
    return sorted(a.code for a in run_result.anomalies)  # type: ignore[attr-defined]


def test_per_guest_results_orphans_and_anomalies(start: Callable[..., Sims]) -> None:
    sims = start(scenario())
    run = run_collection(sims, sims.pbs_env())
    guests = run.result.guests
    g100 = guests[100]
    assert g100.latest_snapshot is not None
    assert g100.latest_snapshot.backup_time == _utc(T100)
    assert (g100.latest_snapshot.server, g100.latest_snapshot.datastore) == ("pbs1", "store1")
    assert g100.latest_snapshot.namespace == "clusterA"
    assert g100.latest_snapshot.size_bytes == 10 * GIB
    assert g100.latest_snapshot.encrypted is False
    assert g100.latest_snapshot.verify_state == "ok"
    assert g100.latest_snapshot.verified_at == _utc(1764108000)
    assert g100.restore_points == 2
    assert g100.oldest_snapshot_time == _utc(T100_OLD)
    assert g100.other_namespaces == ("pbs1:store1/other",)
    assert g100.retention is None
    assert g100.storages == ("pbs-a",)
    assert guests[101].latest_snapshot is not None
    assert guests[101].latest_snapshot.backup_time == _utc(T101)
    assert (
        guests[101].collision
        == "snapshot notes name 'olddb' (1 snapshot) while the guest is 'db01'"
    )
    assert guests[102].latest_snapshot is None and guests[102].restore_points == 0
    assert guests[200].latest_snapshot is not None
    assert guests[200].latest_snapshot.backup_time == _utc(T200)
    assert guests[200].latest_snapshot.verify_state == "failed"
    (orphan,) = run.result.orphans
    assert (orphan.server, orphan.datastore, orphan.namespace) == ("pbs1", "store1", "clusterA")
    assert (orphan.backup_type, orphan.backup_id) == ("vm", "150")
    assert orphan.last_backup == _utc(T150)
    assert orphan.size_bytes == 5 * GIB
    assert orphan.comment == "old-app"
    assert _codes(run.result) == [
        "pbs_datastore_usage_high",  # 850 / (850 + 150) = 85 %
        "pbs_gc_outdated",  # 10 days > 7
        "pbs_no_retention",  # clusterA: no prune job, no PVE prune-backups
        "pbs_no_snapshot",  # 102
        "pbs_not_verified",  # 101: nothing verifies clusterA
        "pbs_sync_not_visible",  # Audit on / has no Remote.Audit: sync jobs unknown
        "pbs_unencrypted",  # 100, 101, 200
        "pbs_verify_failed",  # 200
        "pbs_vmid_collision",  # 101
    ]
    by_code = {a.code: a for a in run.result.anomalies}
    assert by_code["pbs_no_snapshot"].details["vmid"] == 102
    assert by_code["pbs_no_snapshot"].severity is Severity.CRITICAL
    assert by_code["pbs_unencrypted"].details["vmids"] == "100,101,200"
    assert by_code["pbs_unencrypted"].severity is Severity.INFO
    assert by_code["pbs_datastore_usage_high"].details["usage_percent"] == 85
    (server,) = run.result.servers
    assert server.version == "3.2.4"
    (store,) = server.datastores
    assert store.namespaces == ("", "clusterA", "other")
    assert store.group_count == 5  # vm/100, vm/101, ct/200, vm/150 in clusterA; vm/100 in other
    assert store.snapshot_count == 6
    assert store.gc is not None and store.gc.last_run_end == _utc(1764140400 - 10 * 86400)


def test_prune_job_retention_and_verify_job(start: Callable[..., Sims]) -> None:
    data = scenario()
    server = pbs_server(data)
    server["prune_jobs"] = [
        {
            "id": "p-a",
            "store": "store1",
            "schedule": "daily",
            "ns": "clusterA",
            "keep-last": 1,
            "last-run-endtime": 1764130000,
            "last-run-state": "some error",
        },
    ]
    server["verify_jobs"] = [
        {
            "id": "v-a",
            "store": "store1",
            "schedule": "daily",
            "last-run-endtime": 1764120000,
            "last-run-state": "OK",
        },
    ]
    sims = start(data)
    run = run_collection(sims, sims.pbs_env())
    g100 = run.result.guests[100]
    # keep-last=1 keeps only the newest snapshot of each group in clusterA
    assert g100.restore_points == 1
    assert g100.retention is not None
    assert g100.retention.source == "prune-job:p-a"
    assert g100.retention.keep == {"keep-last": 1}
    # the verify job (started 1764120000 - 600) verified 101's snapshot (older than its start)
    g101 = run.result.guests[101].latest_snapshot
    assert g101 is not None and g101.verify_state == "ok"
    assert g101.verified_at == _utc(1764119400)
    codes = _codes(run.result)
    assert "pbs_prune_job_failed" in codes
    assert "pbs_no_retention" not in codes and "pbs_not_verified" not in codes


def test_task_success_without_snapshot(start: Callable[..., Sims]) -> None:
    from pve_backup_report.model import BackupAttempt, GuestEvidence

    sims = start(scenario())
    started = _utc(1764104600)  # 2025-11-25T21:03:20Z
    evidence = {
        100: GuestEvidence(
            100,
            last_success=BackupAttempt(
                "success", started, started, storage="pbs-a", archive="vm/100/2025-11-25T21:00:00Z"
            ),
        ),
        101: GuestEvidence(
            101,
            last_success=BackupAttempt(
                "success",
                started,
                started,
                storage="pbs-a",
                archive="vm/101/2025-11-25T21:03:20Z",
                upid="UPID:x",
            ),
        ),
    }
    run = run_collection(sims, sims.pbs_env(), evidence)
    missing = [a for a in run.result.anomalies if a.code == "pbs_task_snapshot_missing"]
    assert [a.details["vmid"] for a in missing] == [101]
    assert missing[0].details["storage"] == "pbs-a"


def test_namespace_permission_denied_is_reported(start: Callable[..., Sims]) -> None:
    data = scenario()
    pbs_server(data)["token"]["acl"] = [
        {"path": "/", "roles": ["Audit"]},
        {"path": "/datastore/store1/clusterA", "roles": ["NoAccess"]},
    ]
    sims = start(data)
    run = run_collection(sims, sims.pbs_env())
    denied = [a for a in run.result.anomalies if a.code == "pbs_permission_denied"]
    assert {a.details["acl_path"] for a in denied} == {"/datastore/store1/clusterA"}
    assert {a.details["missing_privilege"] for a in denied} == {"Datastore.Audit|Datastore.Backup"}
    # unknown is not "missing": no pbs_no_snapshot for guests of the unreadable namespace
    assert "pbs_no_snapshot" not in _codes(run.result)
    assert run.result.guests[100].other_namespaces == ("pbs1:store1/other",)
    assert run.result.guests[100].latest_snapshot is None


def test_backup_only_token_sees_owned_groups_only(start: Callable[..., Sims]) -> None:
    data = scenario()
    pbs_server(data)["token"] = {
        "id": "pve@pbs!a",
        "secret": PBS_SECRET,
        "acl": [{"path": "/datastore", "roles": ["DatastoreBackup"]}],
    }
    sims = start(data)
    run = run_collection(sims, sims.pbs_env(PBS01_API_TOKEN_ID="pve@pbs!a"))
    codes = _codes(run.result)
    assert "pbs_owner_filtered" in codes
    # vm/100 in "other" is owned by pve@pbs!b: hidden from this token
    assert run.result.guests[100].other_namespaces == ()
    assert run.result.guests[100].restore_points == 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_server_keeps_the_rest(start: Callable[..., Sims]) -> None:
    sims = start(scenario())
    env = sims.pbs_env(PBS01_API_URL=f"https://127.0.0.1:{_free_port()}")
    run = run_collection(sims, env)
    assert [a.code for a in run.result.anomalies] == ["pbs_unreachable"]
    assert run.result.anomalies[0].severity is Severity.CRITICAL
    (server,) = run.result.servers
    assert server.reachable is False
    assert run.result.guests[102].latest_snapshot is None
    assert len(run.inventory.guests) == 4  # the PVE part still came out


def test_sentinel_secret_never_leaks(
    start: Callable[..., Sims], caplog: pytest.LogCaptureFixture
) -> None:
    sentinel = "SENTINEL-pbs-5ecret-never-print-me"
    data = scenario()
    pbs_server(data)["token"]["secret"] = sentinel
    sims = start(data)
    caplog.set_level(logging.DEBUG)
    outputs = []
    for env in (
        sims.pbs_env(PBS01_API_TOKEN_SECRET=sentinel),  # success
        sims.pbs_env(PBS01_API_TOKEN_SECRET=sentinel + "x"),  # authentication failure
        sims.pbs_env(
            PBS01_API_TOKEN_SECRET=sentinel, PBS01_API_URL=f"https://127.0.0.1:{_free_port()}"
        ),
    ):
        run = run_collection(sims, env)
        outputs.append(dumps(run.result) + repr(run.result))
    assert "pbs_authentication_failed" in outputs[1]
    assert "pbs_unreachable" in outputs[2]
    for text in [*outputs, caplog.text]:
        assert sentinel not in text


def test_pve_fallback_names_the_missing_privilege(start: Callable[..., Sims]) -> None:
    data = scenario()
    data["token"]["acl"] = [{"path": "/", "roles": ["PVEAuditor"]}]  # no Datastore.Allocate
    sims = start(data, with_pbs=False)
    run = run_collection(sims, {})
    hidden = [a for a in run.result.anomalies if a.code == "pve_backup_content_hidden"]
    assert len(hidden) == 1
    assert hidden[0].details["storage"] == "pbs-a"
    assert hidden[0].details["missing_privilege"] == "Datastore.Allocate"
    assert "pbs_no_snapshot" not in _codes(run.result)


def test_pve_fallback_reads_backups(start: Callable[..., Sims]) -> None:
    sims = start(scenario(), with_pbs=False)
    run = run_collection(sims, {})
    g100 = run.result.guests[100]
    assert g100.source == "pve"
    assert g100.latest_snapshot is not None
    assert g100.latest_snapshot.backup_time == _utc(T100)
    assert g100.latest_snapshot.server == "pbs.test"
    assert g100.restore_points == 2
    assert "pbs_no_snapshot" in _codes(
        run.result
    )  # 102: the listing is not empty and privileges are unknown


def test_unusable_ca_bundle_is_a_configuration_error(
    start: Callable[..., Sims], tmp_path: Path
) -> None:
    """Refused when the settings are read, before any request (issue 11), rather than found
    by the first connection (which made it an anomaly after the PVE collection)."""
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate\n")
    sims = start(scenario())
    with pytest.raises(ConfigError) as caught:
        load_pbs_settings(sims.pbs_env(PBS01_CA_BUNDLE=str(bad)))
    assert str(caught.value) == (
        f"PBS01_CA_BUNDLE: {bad} is not a PEM CA bundle (expected -----BEGIN CERTIFICATE-----)"
    )

"""The simulated PBS's sync job and remote endpoints (pbs-api.md §6.3), by hand from
scenario_sync: pbs2 (version 3.3) has remote `main` and pull job `s-pull`."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from pve_backup_report.simulator.scenario import load_scenario
from pve_backup_report.simulator.server import SimulatorServer

from .scenario_pbs import NOW, T100, T100_OLD, T101, T150
from .scenario_sync import PBS2_SECRET, pbs2, pull_job, sync_scenario

TOKEN = "report@pbs!audit"


@pytest.fixture
def sim(tls_files: tuple[Path, Path, Path]) -> Iterator[Callable[..., httpx2.Client]]:
    cert, key, ca_path = tls_files
    started: list[tuple[SimulatorServer, httpx2.Client]] = []

    def factory(
        data: dict[str, Any], name: str = "pbs2", secret: str = PBS2_SECRET
    ) -> httpx2.Client:
        server = SimulatorServer.for_pbs(
            load_scenario(data), name, port=0, certfile=cert, keyfile=key
        ).start()
        ctx = ssl.create_default_context(cafile=str(ca_path))
        client = httpx2.Client(
            base_url=server.api_url,
            verify=ctx,
            headers={"Authorization": f"PBSAPIToken={TOKEN}:{secret}"},
        )
        started.append((server, client))
        return client

    yield factory
    for server, client in started:
        client.close()
        server.stop()


def test_admin_sync_lists_pull_jobs_with_status(sim: Callable[..., httpx2.Client]) -> None:
    client = sim(sync_scenario())
    body = client.get("/admin/sync").json()
    assert set(body) == {"data", "digest"}
    (job,) = body["data"]
    assert job["id"] == "s-pull" and job["last-run-state"] == "OK"
    assert job["last-run-endtime"] == NOW - 3600
    assert job["next-run"] == NOW + 3600  # hourly, from 07:00 → 08:00
    assert ":syncjob:main\\x3astore1\\x3aoffsite\\x3acopyA\\x3as\\x2dpull:" in job["last-run-upid"]
    assert "synced_until" not in job
    config = client.get("/config/sync").json()["data"]
    assert [set(j) & {"next-run", "last-run-state"} for j in config] == [set()]


def test_push_jobs_need_the_direction_parameter(sim: Callable[..., httpx2.Client]) -> None:
    push = pull_job(id="s-push", **{"sync-direction": "push"})
    client = sim(sync_scenario(pbs2(jobs=[pull_job(), push])))
    assert [j["id"] for j in client.get("/admin/sync").json()["data"]] == ["s-pull"]
    pushed = client.get("/admin/sync", params={"sync-direction": "push"}).json()["data"]
    assert [j["id"] for j in pushed] == ["s-push"]


def test_old_version_rejects_the_direction_parameter(sim: Callable[..., httpx2.Client]) -> None:
    client = sim(sync_scenario(pbs2(version="3.2")))
    response = client.get("/admin/sync", params={"sync-direction": "push"})
    assert response.status_code == 400
    assert "schema does not allow additional properties" in response.text


def test_remotes_never_show_the_password(sim: Callable[..., httpx2.Client]) -> None:
    client = sim(sync_scenario())
    data = client.get("/config/remote").json()["data"]
    assert data == [{"name": "main", "host": "pbs.test", "auth-id": "sync@pbs"}]
    assert "never-served-secret" not in client.get("/config/remote").text


def test_without_remote_audit_everything_is_silently_filtered(
    sim: Callable[..., httpx2.Client],
) -> None:
    acl = [{"path": "/", "roles": ["Audit"]}]
    server = pbs2(token={"id": TOKEN, "secret": PBS2_SECRET, "acl": acl})
    client = sim(sync_scenario(server))
    assert client.get("/admin/sync").json()["data"] == []
    assert client.get("/config/remote").json()["data"] == []
    assert client.get("/access/permissions").json()["data"]["/remote"] == {
        "Sys.Audit": True,
        "Datastore.Audit": True,
    }


def test_pulled_snapshots_land_in_the_target_namespace(sim: Callable[..., httpx2.Client]) -> None:
    client = sim(sync_scenario())
    snaps = client.get("/admin/datastore/offsite/snapshots", params={"ns": "copyA"}).json()["data"]
    got = sorted((s["backup-type"], s["backup-id"], s["backup-time"], s["owner"]) for s in snaps)
    # ct/200 is excluded by the filter; vm/150 (the orphan) is a vm and is copied too
    assert got == [
        ("vm", "100", T100_OLD, "root@pam"),
        ("vm", "100", T100, "root@pam"),
        ("vm", "101", T101, "root@pam"),
        ("vm", "150", T150, "root@pam"),
    ]
    assert all("verification" not in s for s in snaps)


def test_sync_runs_are_tasks(sim: Callable[..., httpx2.Client]) -> None:
    history = [{"endtime": NOW - 2 * 3600, "status": "sync failed - EIO", "duration": 60}]
    client = sim(sync_scenario(pbs2(jobs=[pull_job(history=history)])))
    body = client.get("/nodes/localhost/tasks", params={"typefilter": "sync", "limit": 1}).json()
    (newest,) = body["data"]
    assert body["total"] == 2  # a full page: start + returned + 1
    assert (newest["worker_type"], newest["user"]) == ("syncjob", "root@pam")
    assert newest["worker_id"] == "main:store1:offsite:copyA:s-pull"
    assert (newest["endtime"], newest["status"]) == (NOW - 3600, "OK")
    assert newest["starttime"] == NOW - 3600 - 600
    every = client.get("/nodes/localhost/tasks", params={"errors": 1}).json()["data"]
    assert [(t["endtime"], t["status"]) for t in every] == [(NOW - 7200, "sync failed - EIO")]
    assert "history" not in client.get("/config/sync").json()["data"][0]


def test_tasks_need_sys_audit(sim: Callable[..., httpx2.Client]) -> None:
    acl = [{"path": "/datastore", "roles": ["DatastoreAudit"]}]
    client = sim(sync_scenario(pbs2(token={"id": TOKEN, "secret": PBS2_SECRET, "acl": acl})))
    assert client.get("/nodes/localhost/tasks").json()["data"] == []

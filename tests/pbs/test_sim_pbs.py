"""The PBS personality of the simulator: envelope, errors, auth, permissions (pbs-api.md)."""

from __future__ import annotations

import re
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from pve_backup_report.simulator.scenario import load_scenario
from pve_backup_report.simulator.server import SimulatorServer

from .scenario_pbs import GIB, NOW, PBS_SECRET, T100, pbs_server, scenario

TOKEN = "report@pbs!audit"
UPID_RE = re.compile(
    r"^UPID:pbs1:[0-9A-F]{8}:[0-9A-F]{8,9}:[0-9A-F]{8,16}:[0-9A-F]{8}:[a-z_]+:[^:]*:[^:]+:$"
)


@pytest.fixture
def pbs(tls_files: tuple[Path, Path, Path]) -> Iterator[Callable[..., httpx2.Client]]:
    cert, key, ca_path = tls_files
    started: list[tuple[SimulatorServer, httpx2.Client]] = []

    def factory(data: dict[str, Any] | None = None, header: str | None = None) -> httpx2.Client:
        server = SimulatorServer.for_pbs(
            load_scenario(data or scenario()), port=0, certfile=cert, keyfile=key
        ).start()
        ctx = ssl.create_default_context(cafile=str(ca_path))
        auth = header if header is not None else f"PBSAPIToken={TOKEN}:{PBS_SECRET}"
        client = httpx2.Client(
            base_url=server.api_url, verify=ctx, headers={"Authorization": auth} if auth else {}
        )
        started.append((server, client))
        return client

    yield factory
    for server, client in started:
        client.close()
        server.stop()


@pytest.mark.parametrize(
    ("header", "body"),
    [
        ("", "authentication failed - no authentication credentials provided."),
        (
            f"PVEAPIToken={TOKEN}={PBS_SECRET}",
            "authentication failed - no authentication credentials provided.",
        ),
        (
            f"PBSAPIToken={TOKEN}={PBS_SECRET}",
            "authentication failed - failed to split API token header",
        ),
        (f"PBSAPIToken={TOKEN}:wrong", "authentication failed - invalid credentials"),
        (
            f"PBSAPIToken=other@pbs!x:{PBS_SECRET}",
            "authentication failed - user account or token disabled or expired.",
        ),
    ],
)
def test_authentication_failures(pbs: Callable[..., httpx2.Client], header: str, body: str) -> None:
    client = pbs(header=header)
    response = client.get("/no/such/path")  # authentication runs before route lookup
    assert (response.status_code, response.text) == (401, body)
    assert "content-type" not in response.headers


def test_both_header_forms_work(pbs: Callable[..., httpx2.Client]) -> None:
    for header in (f"PBSAPIToken={TOKEN}:{PBS_SECRET}", f"PBSAPIToken {TOKEN}:{PBS_SECRET}"):
        response = pbs(header=header).get("/version")
        assert response.json() == {
            "data": {
                "version": "3.2",
                "release": "4",
                "repoid": "4940514b0f05d6cd6a5f711edfdd47c1fa41b537",
            }
        }


def test_error_shapes(pbs: Callable[..., httpx2.Client]) -> None:
    client = pbs()
    missing = client.get("/admin/foo")
    assert (missing.status_code, missing.text) == (404, "Path '/api2/json/admin/foo' not found.")
    assert missing.headers["content-type"] == "application/json;charset=UTF-8"
    unknown = client.get("/admin/datastore/store1/groups", params={"bogus": "1"})
    assert unknown.status_code == 400
    assert (
        unknown.text
        == "parameter verification failed - 'bogus': schema does not allow additional properties."
    )
    bad = client.get("/admin/datastore/store1/snapshots", params={"backup-type": "foo"})
    assert (
        bad.text == "parameter verification failed - 'backup-type': "
        "value 'foo' is not defined in the enumeration."
    )
    nostore = client.get("/admin/datastore/store9/groups")
    assert (nostore.status_code, nostore.text) == (400, "no such datastore 'store9'")
    nons = client.get("/admin/datastore/store1/groups", params={"ns": "nope"})
    assert nons.status_code == 400


def test_permission_messages_and_owner_filter(pbs: Callable[..., httpx2.Client]) -> None:
    data = scenario()
    pbs_server(data)["token"]["acl"] = [
        {"path": "/datastore/store1/clusterA", "roles": ["DatastoreBackup"]},
    ]
    pbs_server(data)["token"]["id"] = "pve@pbs!a"
    client = pbs(data, header=f"PBSAPIToken=pve@pbs!a:{PBS_SECRET}")
    root = client.get("/admin/datastore/store1/groups")
    assert (root.status_code, root.text) == (
        403,
        "permission check failed - missing Datastore.Audit|Datastore.Backup on /datastore/store1",
    )
    gc = client.get("/admin/datastore/store1/gc")
    assert (gc.status_code, gc.text) == (403, "permission check failed")
    groups = client.get("/admin/datastore/store1/groups", params={"ns": "clusterA"}).json()["data"]
    # every derived group is owned by pve@pbs!a (the storage's username)
    assert sorted((g["backup-type"], g["backup-id"]) for g in groups) == [
        ("ct", "200"),
        ("vm", "100"),
        ("vm", "101"),
        ("vm", "150"),
    ]
    stores = client.get("/admin/datastore").json()["data"]
    assert stores == [{"store": "store1", "comment": None}]  # visible through a namespace ACL
    assert client.get("/admin/datastore/store1/namespace").json()["data"] == [{"ns": "clusterA"}]
    assert client.get("/admin/prune").json()["data"] == []
    other = client.get("/admin/datastore/store9/groups")
    assert other.status_code == 403


def test_namespaces_order_and_max_depth(pbs: Callable[..., httpx2.Client]) -> None:
    data = scenario()
    pbs_server(data)["datastores"][0]["namespaces"] = ["a/b/c", "other"]
    client = pbs(data)
    url = "/admin/datastore/store1/namespace"
    full = [i["ns"] for i in client.get(url).json()["data"]]
    assert full[0] == "" and sorted(full) == ["", "a", "a/b", "a/b/c", "clusterA", "other"]
    assert full.index("a") < full.index("a/b") < full.index("a/b/c")
    assert [
        i["ns"] for i in client.get(url, params={"parent": "a", "max-depth": 1}).json()["data"]
    ] == ["a", "a/b"]
    assert client.get(url, params={"parent": "a", "max-depth": 0}).json()["data"] == [{"ns": "a"}]
    assert client.get(url, params={"max-depth": 8}).status_code == 400


def test_snapshot_items_and_digest(pbs: Callable[..., httpx2.Client]) -> None:
    data = scenario()
    store = pbs_server(data)["datastores"][0]
    store["snapshots"].append(
        {"ns": "clusterA", "type": "vm", "id": "101", "time": NOW - 60, "unfinished": True}
    )
    store["patches"] = [
        {
            "ns": "clusterA",
            "type": "vm",
            "id": "100",
            "time": T100,
            "protected": True,
            "crypt": "encrypt",
        }
    ]
    client = pbs(data)
    items = client.get(
        "/admin/datastore/store1/snapshots", params={"ns": "clusterA", "backup-id": "100"}
    ).json()["data"]
    newest = next(i for i in items if i["backup-time"] == T100)
    assert newest["protected"] is True and newest["size"] == 10 * GIB
    assert newest["verification"]["state"] == "ok"
    assert len(newest["fingerprint"]) == 95
    assert {f.get("crypt-mode") for f in newest["files"]} == {"encrypt", "sign-only", None}
    running = client.get(
        "/admin/datastore/store1/snapshots",
        params={"ns": "clusterA", "backup-type": "vm", "backup-id": "101"},
    ).json()["data"]
    unfinished = next(i for i in running if i["backup-time"] == NOW - 60)
    assert "size" not in unfinished and unfinished["protected"] is False
    assert client.get(
        "/admin/datastore/store1/snapshots",
        params={"ns": "nope", "backup-type": "vm", "backup-id": "1"},
    ).json() == {"data": []}
    config = client.get("/config/datastore").json()
    assert re.fullmatch(r"[0-9a-f]{64}", config["digest"])
    gc = client.get("/admin/datastore/store1/gc").json()["data"]
    assert UPID_RE.match(gc["upid"]) and gc["last-run-endtime"] == NOW - 10 * 86400
    usage = client.get("/status/datastore-usage").json()["data"][0]
    assert usage["estimated-full-date"] == 0 and usage["history-delta"] == 1800
    assert len(usage["history"]) == 1440


def test_permissions_endpoint(pbs: Callable[..., httpx2.Client]) -> None:
    client = pbs()
    data = client.get("/access/permissions").json()["data"]
    assert data["/datastore"] == {"Sys.Audit": True, "Datastore.Audit": True}
    assert set(data) == {"/", "/access", "/datastore", "/remote", "/system"}
    other = client.get("/access/permissions", params={"auth-id": "x@pbs!y"})
    assert other.status_code == 200  # Sys.Audit on /access (role Audit on /)

"""Transport-level behaviour: envelope, auth, error shapes, 501, faults, counting."""

from __future__ import annotations

import httpx2
import pytest

from pve_backup_report.simulator.faults import Fault

from .conftest import Factory, base_scenario


def test_envelope_without_total(sim: Factory) -> None:
    _, client = sim()
    response = client.get("/version")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {
        "data": {"version": "9.2.11", "release": "9.2", "repoid": "14a22df3a1b2c3d4"}
    }


def test_total_zero_is_omitted(sim: Factory) -> None:
    _, client = sim()
    body = client.get("/nodes/pve1/tasks").json()
    assert body == {"data": []}


def test_missing_credentials_is_no_ticket_with_empty_body(sim: Factory) -> None:
    _, client = sim(auth=False)
    response = client.get("/version")
    assert response.status_code == 401
    assert response.reason_phrase == "No ticket"
    assert response.content == b""
    assert "content-type" not in response.headers


def test_wrong_secret_is_authentication_failed(sim: Factory) -> None:
    _, client = sim(auth=False)
    response = client.get(
        "/version", headers={"Authorization": "PVEAPIToken=report@pve!audit=nope"}
    )
    assert response.status_code == 401
    assert response.reason_phrase == "Authentication failed!"
    assert response.content == b""


def test_token_split_at_last_equal_sign(sim: Factory) -> None:
    scenario = base_scenario()
    scenario["token"]["secret"] = "a=b"
    _, client = sim(scenario, auth=False)
    ok = client.get("/version", headers={"Authorization": "PVEAPIToken=report@pve!audit=a=b"})
    assert ok.status_code == 401  # id would be "report@pve!audit=a": wrong
    scenario2 = base_scenario()
    _, client2 = sim(scenario2, auth=False)
    good = client2.get(
        "/version", headers={"Authorization": "PVEAPIToken=report@pve!audit=s3cr3t-uuid"}
    )
    assert good.status_code == 200


def test_403_text_without_sys_audit(sim: Factory) -> None:
    scenario = base_scenario()
    scenario["token"]["acl"] = [{"path": "/vms", "privs": ["VM.Audit"]}]
    _, client = sim(scenario)
    response = client.get("/cluster/backup")
    assert response.status_code == 403
    assert response.reason_phrase == "Permission check failed (/, Sys.Audit)"
    assert response.json() == {"data": None, "message": "Permission check failed (/, Sys.Audit)\n"}


def test_400_for_type_qemu(sim: Factory) -> None:
    _, client = sim()
    response = client.get("/cluster/resources", params={"type": "qemu"})
    assert response.status_code == 400
    assert response.reason_phrase == "Parameter verification failed."
    assert response.json() == {
        "data": None,
        "message": "Parameter verification failed.\n",
        "errors": {
            "type": "value 'qemu' does not have a value in the enumeration 'vm, storage, node, sdn'"
        },
    }


def test_unknown_parameter_is_400(sim: Factory) -> None:
    _, client = sim()
    response = client.get("/cluster/backup", params={"foo": "1"})
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "foo": "property is not defined in schema and the schema does not allow "
        "additional properties"
    }


def test_unknown_path_is_501(sim: Factory) -> None:
    _, client = sim()
    response = client.get("/foo")
    assert response.status_code == 501
    assert response.reason_phrase == "Method 'GET /foo' not implemented"
    assert response.json()["message"] == "Method 'GET /foo' not implemented\n"


def test_non_get_is_501_and_changes_nothing(sim: Factory) -> None:
    _, client = sim()
    before = client.get("/cluster/backup").json()
    for method in ("POST", "PUT", "DELETE"):
        response = client.request(method, "/cluster/backup/backup-aaaa", json={"enabled": 0})
        assert response.status_code == 501
        assert (
            response.json()["message"]
            == f"Method '{method} /cluster/backup/backup-aaaa' not implemented\n"
        )
    assert client.get("/cluster/backup").json() == before


def test_offline_node_is_595_unknown_node_500(sim: Factory) -> None:
    _, client = sim()
    offline = client.get("/nodes/pve3/tasks")
    assert offline.status_code == 595
    assert offline.json()["message"] == "No route to host\n"
    unknown = client.get("/nodes/pve9/tasks")
    assert unknown.status_code == 500
    assert unknown.json()["message"].startswith("hostname lookup 'pve9' failed")


def test_request_counting(sim: Factory) -> None:
    server, client = sim()
    client.get("/nodes/pve1/tasks")
    client.get("/nodes/pve2/tasks", params={"limit": "5"})
    client.get("/version")
    assert server.request_counts["/nodes/{node}/tasks"] == 2
    assert server.request_counts["/version"] == 1
    assert server.request_counts["total"] == 3
    assert server.requests[1] == ("GET", "/nodes/pve2/tasks", {"limit": "5"})


def test_keep_alive_reuses_connection(sim: Factory) -> None:
    _, client = sim()
    first = client.get("/version")
    second = client.get("/version")
    assert first.http_version == "HTTP/1.1"
    assert second.status_code == 200


# ---------------------------------------------------------------- faults
def test_fault_http_with_times(sim: Factory) -> None:
    server, client = sim()
    server.faults.add(
        Fault(route=r"^/cluster/backup$", kind="http", status=500, message="boom", times=1)
    )
    first = client.get("/cluster/backup")
    assert first.status_code == 500
    assert first.reason_phrase == "boom"
    assert first.json() == {"data": None, "message": "boom\n"}
    assert client.get("/cluster/backup").status_code == 200


def test_fault_offline(sim: Factory) -> None:
    server, client = sim()
    server.faults.add(Fault(route="^/nodes/pve2/", kind="offline"))
    assert client.get("/nodes/pve2/tasks").status_code == 595
    assert client.get("/nodes/pve1/tasks").status_code == 200


def test_fault_invalid_json(sim: Factory) -> None:
    server, client = sim()
    server.faults.add(Fault(route="^/version$", kind="invalid_json"))
    response = client.get("/version")
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()


def test_fault_missing_data(sim: Factory) -> None:
    server, client = sim()
    server.faults.add(Fault(route="^/version$", kind="missing_data"))
    assert client.get("/version").json() == {"foo": 1}


def test_fault_latency_then_normal(sim: Factory) -> None:
    server, client = sim()
    server.faults.add(Fault(route="^/version$", kind="latency", latency_ms=10))
    assert client.get("/version").status_code == 200


def test_fault_timeout(sim: Factory) -> None:
    server, client = sim(timeout=0.3)
    server.faults.add(Fault(route="^/version$", kind="timeout", latency_ms=3000, times=1))
    with pytest.raises(httpx2.ReadTimeout):
        client.get("/version")


def test_fault_reset(sim: Factory) -> None:
    server, client = sim()
    server.faults.add(Fault(route="^/version$", kind="reset", times=1))
    with pytest.raises(httpx2.TransportError):
        client.get("/version")
    assert client.get("/version").status_code == 200


def test_fault_wrong_type(sim: Factory) -> None:
    server, client = sim()
    server.faults.add(Fault(route="^/storage$", kind="wrong_type", message="oops"))
    server.faults.add(Fault(route="^/version$", kind="wrong_type", message="oops"))
    assert client.get("/storage").json() == {"data": "oops"}  # a list became a string
    assert client.get("/version").json() == {"data": ["oops"]}  # an object became a list
    # an error passes unchanged
    server.faults.add(Fault(route="^/nodes/pve9/tasks$", kind="wrong_type"))
    assert client.get("/nodes/pve9/tasks").status_code == 500


def test_fault_truncated_body(sim: Factory) -> None:
    server, client = sim()
    server.faults.add(Fault(route="^/storage$", kind="truncated", times=1))
    with pytest.raises(httpx2.RemoteProtocolError):
        client.get("/storage")
    assert client.get("/storage").status_code == 200  # next request: a new connection


def test_faults_from_scenario(sim: Factory) -> None:
    scenario = base_scenario()
    scenario["faults"] = [
        {"route": "^/storage$", "kind": "http", "status": 503, "message": "busy\nmore"}
    ]
    _, client = sim(scenario)
    response = client.get("/storage")
    assert response.status_code == 503
    assert response.reason_phrase == "busy"
    assert response.json()["message"] == "busy\nmore\n"

"""Answers of the wrong shape are unreadable endpoints, never empty lists (issue 11 item 2)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

from pve_backup_report.api.client import ApiResponse
from pve_backup_report.collect.inventory import collect_inventory
from pve_backup_report.model import Inventory, Severity

GOOD: dict[str, Any] = {
    "/version": {"version": "9.2.11", "release": "9.2", "repoid": "abc"},
    "/cluster/status": [{"type": "cluster", "name": "c1"}],
    "/nodes": [{"node": "pve1", "status": "online"}],
    "/storage": [{"storage": "pbs-main", "type": "pbs"}],
    "/cluster/resources": [{"vmid": 100, "type": "qemu", "node": "pve1", "name": "web"}],
    "/pools": [{"poolid": "prod"}],
    "/cluster/backup": [
        {"id": "daily", "type": "vzdump", "enabled": 1, "storage": "pbs-main", "all": 1},
        {"id": "prod", "type": "vzdump", "enabled": 1, "storage": "pbs-main", "pool": "prod"},
    ],
    "/cluster/backup-info/not-backed-up": [],
    "/nodes/pve1/qemu/100/config": {"name": "web"},
    "/pools?poolid": [{"poolid": "prod", "members": [{"type": "qemu", "vmid": 100}]}],
}


class Fake:
    def __init__(self, spoiled: str, value: Any) -> None:
        self.spoiled, self.value = spoiled, value

    async def get(self, path: str, params: Mapping[str, str | int] | None = None) -> ApiResponse:
        key = f"{path}?poolid" if path == "/pools" and params else path
        return ApiResponse(self.value if key == self.spoiled else GOOD[key], None)


def collect(spoiled: str, value: Any) -> Inventory:
    return asyncio.run(collect_inventory(Fake(spoiled, value), "https://pve1:8006/api2/json"))


def unexpected(inv: Inventory, endpoint: str) -> list[Any]:
    return [
        a
        for a in inv.anomalies
        if a.code == "unexpected_response" and a.details.get("endpoint") == endpoint
    ]


def test_fault_free_baseline() -> None:
    inv = collect("", None)
    assert [g.vmid for g in inv.guests] == [100]
    assert inv.jobs is not None and len(inv.jobs) == 2
    assert inv.pool_memberships["prod"].members == (100,)
    assert inv.unreadable == frozenset()
    assert not [a for a in inv.anomalies if a.code == "unexpected_response"]


def test_job_list_of_the_wrong_type_is_unknown_not_empty() -> None:
    inv = collect("/cluster/backup", "simulated failure")
    assert inv.jobs is None  # unknown, so the run's verdicts are unknown (exit 3)
    (anomaly,) = unexpected(inv, "/cluster/backup")
    assert anomaly.severity is Severity.CRITICAL
    assert anomaly.details["type"] == "string" and anomaly.details["expected"] == "list"


def test_guest_list_of_the_wrong_type_is_unreadable() -> None:
    inv = collect("/cluster/resources", {"vmid": 100})
    assert "guests" in inv.unreadable and inv.guests == ()
    assert unexpected(inv, "/cluster/resources")[0].severity is Severity.CRITICAL
    assert not [a for a in inv.anomalies if a.code == "no_guests_visible"]


def test_storage_list_of_the_wrong_type_is_unreadable() -> None:
    inv = collect("/storage", "simulated failure")
    assert "storages" in inv.unreadable
    assert not [a for a in inv.anomalies if a.code == "storage_list_empty"]
    assert unexpected(inv, "/storage")


def test_pool_list_and_members_of_the_wrong_type() -> None:
    inv = collect("/pools", "simulated failure")
    assert inv.pools is None and unexpected(inv, "/pools")
    inv = collect("/pools?poolid", {"poolid": "prod"})  # an object where a list is due
    assert inv.pool_memberships["prod"].state == "unknown"
    (anomaly,) = unexpected(inv, "/pools")  # no fallback to /pools/{id}: that is for HTTP 400
    assert anomaly.details["pool"] == "prod" and anomaly.details["type"] == "object"


@pytest.mark.parametrize(
    ("endpoint", "value"),
    [("/version", ["9.2"]), ("/nodes", "x"), ("/nodes/pve1/qemu/100/config", [])],
)
def test_other_endpoints_report_the_wrong_type(endpoint: str, value: Any) -> None:
    inv = collect(endpoint, value)
    assert unexpected(inv, endpoint)


class Failing(Fake):
    """Answers like `Fake`, but `/cluster/status` fails with HTTP 500."""

    async def get(self, path: str, params: Mapping[str, str | int] | None = None) -> ApiResponse:
        if path == "/cluster/status":
            from pve_backup_report.api.errors import http_error_for

            raise http_error_for(path, 500, "boom")
        return await super().get(path, params)


def test_cluster_status_failure_is_an_anomaly() -> None:
    """Issue 11 item 5: the name is lost (history would be keyed by the URL): say so."""
    inv = asyncio.run(collect_inventory(Failing("", None), "https://pve1:8006/api2/json"))
    assert inv.cluster_name is None
    (anomaly,) = [a for a in inv.anomalies if a.code == "cluster_status_unavailable"]
    assert anomaly.details["endpoint"] == "/cluster/status" and anomaly.details["status"] == 500
    inv = collect("/cluster/status", {"name": "c1"})
    assert inv.cluster_name is None and unexpected(inv, "/cluster/status")


def test_standalone_node_has_no_cluster_name_and_no_anomaly() -> None:
    inv = collect("/cluster/status", [{"type": "node", "name": "pve1"}])
    assert inv.cluster_name is None
    assert not [a for a in inv.anomalies if a.details.get("endpoint") == "/cluster/status"]


def test_unreadable_node_list_still_reads_the_guests_nodes() -> None:
    """Unknown is not offline: with `/nodes` unreadable, the nodes the guest list names are
    still asked for configs (and tasks), marked "unlisted"."""
    inv = collect("/nodes", "simulated failure")
    assert "nodes" in inv.unreadable
    assert [(n.name, n.status) for n in inv.nodes] == [("pve1", "unlisted")]
    assert inv.guests[0].config_collected
    assert not [a for a in inv.anomalies if a.code == "node_offline"]

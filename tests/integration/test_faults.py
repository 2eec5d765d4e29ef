"""Each error class becomes an anomaly with the right code, and the run goes on."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from .conftest import Result, Sim
from .scenario_small import scenario

Cli = Callable[[list[str], dict[str, str]], Result]
Start = Callable[[dict[str, Any]], Sim]


@pytest.mark.parametrize(
    ("fault", "endpoint", "expected"),
    [
        (
            {"route": "^/cluster/backup$", "kind": "http", "status": 500, "message": "boom"},
            "/cluster/backup",
            {"error": "http_error", "status": 500, "reason": "boom"},
        ),
        (
            {"route": "^/cluster/resources$", "kind": "invalid_json"},
            "/cluster/resources",
            {"error": "invalid_json"},
        ),
        ({"route": "^/storage$", "kind": "missing_data"}, "/storage", {"error": "missing_data"}),
        (
            {"route": "^/nodes/pve1/qemu/100/config$", "kind": "timeout"},
            "/nodes/pve1/qemu/100/config",
            {"error": "transport_error", "transport": "timeout"},
        ),
        (
            {"route": "^/pools$", "kind": "offline"},
            "/pools",
            {"error": "node_unreachable", "status": 595},
        ),
    ],
)
def test_fault_becomes_anomaly(
    fault: dict[str, Any], endpoint: str, expected: dict[str, Any], start_sim: Start, cli: Cli
) -> None:
    data = scenario()
    data["faults"] = [fault]
    sim = start_sim(data)
    result = cli(["--dump-inventory", "--json"], sim.env(PVE_TIMEOUT="1"))
    inventory = json.loads(result.out)
    matching = [a for a in inventory["anomalies"] if a["details"].get("endpoint") == endpoint]
    assert matching, inventory["anomalies"]
    details = matching[0]["details"]
    assert {k: details.get(k) for k in expected} == expected
    # the rest of the collection still happened
    assert len(inventory["nodes"]) == 3


def test_transient_503_is_retried(start_sim: Start, cli: Cli) -> None:
    data = scenario()
    data["faults"] = [
        {"route": "^/version$", "kind": "http", "status": 503, "message": "busy", "times": 1}
    ]
    sim = start_sim(data)
    result = cli(["--dump-inventory", "--json"], sim.env())
    inventory = json.loads(result.out)
    assert inventory["version"]["version"] == "9.2.11"
    assert sim.server.request_counts["/version"] == 2

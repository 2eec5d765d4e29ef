"""`--check --warning/--critical` through the CLI against the simulator.

By hand from scenario_small (no backup task at all): 1 guest not covered (9000, disabled job
only), 4 stale (100, 101, 103 and 104 never had a successful backup; 105 is on the offline
node pve3, whose tasks cannot be read: its freshness is unknown, not stale), 7 guests. The
anomaly counts depend on the day the test runs (missed runs), so they are switched off.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .conftest import Result, Sim
from .scenario_small import scenario

Cli = Callable[[list[str], dict[str, str]], Result]
Start = Callable[[dict[str, Any]], Sim]


def _perf(result: Result) -> dict[str, str]:
    items = result.out.splitlines()[0].split(" | ")[1].split()
    return dict(item.split("=", 1) for item in items)


def test_loosened_thresholds_give_ok(start_sim: Start, cli: Cli) -> None:
    sim = start_sim(scenario())
    result = cli(
        [
            "--check",
            "--no-history",
            "--critical",
            "not_covered=2,anomalies_critical=none",
            "--warning",
            "stale=10,anomalies_warning=none",
        ],
        sim.env(),
    )
    assert result.out.startswith("PVE BACKUP OK - small: 1 not covered, 0 failed, 4 stale")
    assert result.code == 0
    perf = _perf(result)
    assert perf["not_covered"] == "1;;2;0;7"
    assert perf["stale"] == "4;10;;0;7"


def test_tightened_warning_gives_warning(start_sim: Start, cli: Cli) -> None:
    sim = start_sim(scenario())
    result = cli(
        [
            "--check",
            "--no-history",
            "--warning",
            "not_covered=0,stale=10,anomalies_warning=none",
            "--critical",
            "not_covered=5,anomalies_critical=none",
        ],
        sim.env(),
    )
    assert result.out.startswith("PVE BACKUP WARNING - small:")
    assert "Thresholds exceeded: not_covered=1 (warning: 0)" in result.out
    assert result.code == 1

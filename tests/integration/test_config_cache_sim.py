"""REPORT_CONFIG_CACHE_HOURS: a second run reads no guest config; without it, every run does."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .conftest import Result, Sim
from .scenario_small import scenario

Cli = Callable[[list[str], dict[str, str]], Result]
Start = Callable[[dict[str, Any]], Sim]
ROUTES = ("/nodes/{node}/qemu/{vmid}/config", "/nodes/{node}/lxc/{vmid}/config")


def _configs(sim: Sim) -> int:
    return sum(sim.server.request_counts.get(route, 0) for route in ROUTES)


def _notes(out_dir: Path) -> dict[int, Any]:
    report = json.loads(next(out_dir.glob("*.json")).read_text())
    return {g["vmid"]: g["notes"] for g in report["guests"]}


def test_second_run_uses_cached_configs(start_sim: Start, cli: Cli, tmp_path: Path) -> None:
    sim = start_sim(scenario())
    env = sim.env(REPORT_HISTORY_DB=str(tmp_path / "h.db"), REPORT_CONFIG_CACHE_HOURS="24")
    cli(["--format", "json", "--output-dir", str(tmp_path / "one")], env)
    # 6 guests on online nodes (105 is on offline pve3): one config each
    assert _configs(sim) == 6
    cli(["--format", "json", "--output-dir", str(tmp_path / "two")], env)
    assert _configs(sim) == 6  # nothing more
    assert _notes(tmp_path / "two") == _notes(tmp_path / "one")
    assert _notes(tmp_path / "two")[100] == "Owner: team-a\nBackup policy: nightly"


def test_without_the_option_every_run_reads_configs(
    start_sim: Start, cli: Cli, tmp_path: Path
) -> None:
    sim = start_sim(scenario())
    env = sim.env(REPORT_HISTORY_DB=str(tmp_path / "h.db"))
    cli(["--format", "json", "--output-dir", str(tmp_path / "one")], env)
    cli(["--format", "json", "--output-dir", str(tmp_path / "two")], env)
    assert _configs(sim) == 12

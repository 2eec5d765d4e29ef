"""The real CLI run twice against the simulator with a temporary history database: the second
report compares itself with the first (read before the second run is recorded)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.integration.conftest import (  # noqa: F401 - pytest fixtures
    Result,
    Sim,
    ca,
    clean_env,
    cli,
    start_sim,
)
from tests.integration.scenario_small import scenario

Cli = Callable[[list[str], dict[str, str]], Result]
Start = Callable[[dict[str, Any]], Sim]


def _report(out_dir: Path) -> dict[str, Any]:
    (path,) = sorted(out_dir.glob("*.json"))
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def test_second_run_shows_the_previous_one(
    start_sim: Start,  # noqa: F811
    cli: Cli,  # noqa: F811
    tmp_path: Path,
) -> None:
    sim = start_sim(scenario())
    db = tmp_path / "hist" / "history.sqlite3"
    env = sim.env(REPORT_HISTORY_DB=str(db))
    first = cli(["--format", "json", "--output-dir", str(tmp_path / "one")], env)
    assert first.code in (0, 1, 2), first.err
    assert db.is_file()
    one = _report(tmp_path / "one")
    assert one["history"] is None  # no database before the first run

    second = cli(["--format", "json", "--output-dir", str(tmp_path / "two")], env)
    assert second.code == first.code, second.err
    two = _report(tmp_path / "two")
    history = two["history"]
    assert history["previous_run"]["run_id"] == 1
    assert history["changes"] == {  # the simulated cluster did not change
        "newly_uncovered": [],
        "newly_failing": [],
        "recovered": [],
        "new_guests": [],
        "deleted_guests": [],
        "new_anomalies": [],
    }
    assert [p["run_id"] for p in history["trend"]] == [1, None]
    assert len(history["days"]) == 14
    assert [r["vmid"] for r in history["grid"]] == [g["vmid"] for g in two["guests"]]

    third = cli(["--format", "json", "--output-dir", str(tmp_path / "three"), "--no-history"], env)
    assert third.code == first.code
    assert _report(tmp_path / "three")["history"] is None  # --no-history: not read either


def test_history_command_prints_the_reports_counts_and_whole_name(
    start_sim: Start,  # noqa: F811
    cli: Cli,  # noqa: F811
    tmp_path: Path,
) -> None:
    """scenario_small, by hand: 5 covered on PBS, none on other storage; 9000 is protected only
    by a disabled job, so "not covered" is 1 (0 guests in no job + 1 disabled job only)."""
    data = scenario()
    data["cluster"]["name"] = "production-cluster-paris-dc2"  # 28 characters
    sim = start_sim(data)
    db = tmp_path / "history.sqlite3"
    env = sim.env(REPORT_HISTORY_DB=str(db))
    run = cli(["--format", "json", "--output-dir", str(tmp_path / "one")], env)
    summary = _report(tmp_path / "one")["summary"]
    assert (summary["not_covered"], summary["disabled_only"]) == (1, 1)
    assert (summary["covered_pbs"], summary["covered_other"]) == (5, 0)
    listed = cli(["history", "--db", str(db)], env)
    assert listed.code == 0
    head, row = listed.out.splitlines()
    assert head.split() == ["run", "started", "cluster", "exit", "covered", "not_covered",
                            "last_failed", "stale"]  # fmt: skip
    cells = row.split()
    assert cells[2] == "production-cluster-paris-dc2"
    assert cells[3] == str(run.code)
    assert cells[4:7] == ["5", "1", str(summary["last_failed"])]

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

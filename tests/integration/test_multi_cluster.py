"""`--env-file` repeated: one report per cluster plus a combined summary."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .conftest import Result, Sim
from .scenario_small import scenario

Cli = Callable[[list[str], dict[str, str]], Result]
Start = Callable[[dict[str, Any]], Sim]


def _env_file(path: Path, sim: Sim) -> Path:
    lines = [f"{k}={v}" for k, v in sim.env().items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_two_clusters_two_reports_and_a_combined_summary(
    start_sim: Start, cli: Cli, tmp_path: Path
) -> None:
    first = scenario()
    first["cluster"]["name"] = "alpha"
    second = scenario()
    second["cluster"]["name"] = "beta"
    second["jobs"] = [j for j in second["jobs"] if j["id"] == "backup-all01"]
    second["legacy_jobs"] = []
    a, b = start_sim(first), start_sim(second)
    env_a = _env_file(tmp_path / "alpha.env", a)
    env_b = _env_file(tmp_path / "beta.env", b)
    out_dir = tmp_path / "out"
    # a process-wide PVE_HOST must not override the per-cluster files
    result = cli(
        [
            "--env-file",
            str(env_a),
            "--env-file",
            str(env_b),
            "--format",
            "json",
            "--output-dir",
            str(out_dir),
            "--no-history",
        ],
        {"PVE_HOST": "127.0.0.1:1"},
    )
    names = sorted(p.name for p in out_dir.iterdir())
    assert [n for n in names if n.endswith(".json") and "combined" not in n] == [
        n for n in names if n.startswith(("pve-backup-report_alpha_", "pve-backup-report_beta_"))
    ]
    assert any(n.startswith("pve-backup-report_alpha_") for n in names)
    assert any(n.startswith("pve-backup-report_beta_") for n in names)
    combined = json.loads(next(out_dir.glob("pve-backup-report_combined_*.json")).read_text())
    clusters = {row["cluster"]: row for row in combined["clusters"]}
    assert set(clusters) == {"alpha", "beta"}
    # alpha: guest 9000 is protected only by a disabled job, and a job names a missing pool
    assert clusters["alpha"]["status"] == 2
    assert clusters["alpha"]["guests_total"] == 7
    assert combined["status"] == max(row["status"] for row in combined["clusters"])
    assert result.code == combined["status"]
    assert "| alpha | CRITICAL | 7 |" in result.out


def test_environment_warning_is_printed_once_for_all_clusters(
    start_sim: Start, cli: Cli, tmp_path: Path
) -> None:
    a, b = start_sim(scenario()), start_sim(scenario())
    env_a = _env_file(tmp_path / "a.env", a)
    env_b = _env_file(tmp_path / "b.env", b)
    result = cli(
        ["--env-file", str(env_a), "--env-file", str(env_b), "--check-api"],
        {"REPORT_LANG": "fr"},
    )
    assert result.code == 0, result.out
    warnings = [line for line in result.err.splitlines() if line.startswith("WARNING")]
    assert warnings == [
        "WARNING: REPORT_LANG (in the environment): unknown setting, ignored; did you mean "
        "REPORT_LANGUAGE?"
    ]

"""The commands a newcomer types, run as real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PVE_", "PBS"))}
    environ.update(env)
    return subprocess.run(
        args, capture_output=True, text=True, timeout=120, env=environ, cwd=ROOT, check=False
    )


def test_python_m_from_a_checkout() -> None:
    result = _run(
        [sys.executable, "-m", "pve_backup_report", "--version"], PYTHONPATH=str(ROOT / "src")
    )
    assert result.returncode == 0
    assert result.stdout.strip().startswith("pve-backup-report ")


def test_missing_configuration_is_one_line_and_exit_3(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pve_backup_report", "--check-api"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT / "src")},
    )
    assert result.returncode == 3
    assert result.stderr.splitlines() == [
        "configuration error: PVE_HOST: required: host, host:port or https://host[:port]"
    ]


def test_demo_runs_end_to_end_over_verified_https() -> None:
    result = _run(
        [sys.executable, "-m", "pve_backup_report", "demo", "--dump-coverage", "--json"],
        PYTHONPATH=str(ROOT / "src"),
    )
    assert result.returncode in (0, 1, 2), result.stderr
    assert "listening on https://127.0.0.1:" in result.stderr
    data = json.loads(result.stdout)
    assert len(data["guests"]) >= 10


def test_bad_scenario_and_bad_history_db_are_one_line_errors(tmp_path: Path) -> None:
    import io

    from pve_backup_report.cli import main

    (tmp_path / "empty.json").write_text('{"nodes": []}')
    (tmp_path / "broken.json").write_text("{bad")
    (tmp_path / "notadb").write_text("junk")
    cases = {
        ("simulate", str(tmp_path / "empty.json")): "invalid scenario ",
        ("simulate", str(tmp_path / "broken.json")): "cannot read scenario ",
        ("history", "--db", str(tmp_path / "notadb")): "history database ",
    }
    for argv, start in cases.items():
        err = io.StringIO()
        assert main(list(argv), stdout=io.StringIO(), stderr=err) == 3
        lines = err.getvalue().splitlines()
        assert len(lines) == 1 and lines[0].startswith(start), lines

"""One cluster identity everywhere: file names, title, Nagios, Prometheus, e-mail, history.

By hand: a standalone node has no `type: cluster` entry in /cluster/status, so its identity is
its own name ("pve1"); when /cluster/status cannot be read on a 3-node cluster, it is the host
of the *first* configured API URL, even when another host of the failover list answered.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .conftest import Result, Sim
from .scenario_small import scenario

Cli = Callable[[list[str], dict[str, str]], Result]
Start = Callable[[dict[str, Any]], Sim]


def _standalone() -> dict[str, Any]:
    data = scenario()
    data["cluster"]["standalone"] = True
    data["nodes"] = [n for n in data["nodes"] if n["node"] == "pve1"]
    data["guests"] = [g for g in data["guests"] if g["node"] == "pve1"]
    return data


def _recorded_clusters(db: Path) -> list[str]:
    with sqlite3.connect(db) as con:
        return [row[0] for row in con.execute("SELECT cluster FROM runs ORDER BY id")]


def test_standalone_node_is_named_after_itself_everywhere(
    start_sim: Start, cli: Cli, tmp_path: Path
) -> None:
    sim = start_sim(_standalone())
    db = tmp_path / "h.sqlite3"
    env = sim.env(REPORT_HISTORY_DB=str(db))
    out_dir = tmp_path / "out"
    cli(["--format", "json,md,text,prometheus", "--output-dir", str(out_dir)], env)
    reports = sorted(p.name for p in out_dir.iterdir() if p.suffix in (".json", ".md"))
    assert len(reports) == 2 and all(n.startswith("pve-backup-report_pve1_") for n in reports)
    md = next(out_dir.glob("*.md")).read_text(encoding="utf-8")
    assert md.splitlines()[0].endswith("— pve1")
    prom = (out_dir / "pve-backup-report.prom").read_text(encoding="utf-8")
    assert 'cluster="pve1"' in prom and "127.0.0.1" not in prom
    data = json.loads(next(out_dir.glob("*.json")).read_text(encoding="utf-8"))
    assert data["cluster"]["label"] == "pve1"
    check = cli(["--check", "--no-history"], env)
    assert check.out.split(" - ", 1)[1].startswith("pve1: ")
    assert _recorded_clusters(db) == ["pve1"]


def test_failover_run_is_recorded_as_the_same_cluster(
    start_sim: Start, cli: Cli, tmp_path: Path
) -> None:
    data = scenario()
    data["faults"] = [{"route": "^/cluster/status$", "kind": "http", "status": 500}]
    sim = start_sim(data)
    db = tmp_path / "h.sqlite3"
    port = sim.server.port
    direct = sim.env(REPORT_HISTORY_DB=str(db), PVE_HOST=f"127.0.0.1:{port}")
    cli(["--format", "json", "--output-dir", str(tmp_path / "a")], direct)
    # first host dead, the second (same cluster, other name) answers
    failover = sim.env(REPORT_HISTORY_DB=str(db), PVE_HOST=f"127.0.0.1:1,localhost:{port}")
    cli(["--format", "json", "--output-dir", str(tmp_path / "b")], failover)
    assert _recorded_clusters(db) == ["127.0.0.1", "127.0.0.1"]
    for folder in ("a", "b"):
        (path,) = (tmp_path / folder).glob("*.json")
        assert path.name.startswith("pve-backup-report_127.0.0.1_")

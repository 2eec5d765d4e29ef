"""Harness of the fault-injection suite: one collection in-process against the simulators.

Why in-process and not one CLI process per case: the suite runs ~200 collections; spawning
the CLI would cost a Python start-up each. `run` goes through the same `cli.run` as the
command line (settings, collection, analysis, report, history, exit status), with the clock
frozen at the scenario's NOW and retry back-off waits shortened (the number of retries is
unchanged).
"""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pve_backup_report.api.client import ReadOnlyClient
from pve_backup_report.cli import run as cli_run
from pve_backup_report.cli.args import build_parser
from pve_backup_report.config import load_settings
from pve_backup_report.config_pbs import load_pbs_settings, pbs_environment
from pve_backup_report.simulator.faults import Fault
from pve_backup_report.simulator.server import SimulatorServer

from .scenario_faults import NOW_DT, PBS_SECRET, PVE_SECRET

TIMEOUT = "1"  # seconds: a hanging endpoint costs this much, once (timeouts are not retried)


@dataclass
class Outcome:
    """What one run said: exit code, report JSON, and what it left in the history database."""

    code: int
    report: dict[str, Any]
    err: str
    runs: int  # rows in the history's `runs` table
    cache: dict[str, str]  # task_cache: upid -> payload
    configs: dict[int, str]  # guest_config_cache: vmid -> payload

    @property
    def anomalies(self) -> list[dict[str, Any]]:
        return list(self.report.get("anomalies", []))

    def verdicts(self) -> dict[int, tuple[Any, ...]]:
        """Per guest, everything a reader acts on: coverage, latest result, last success,
        freshness, PBS latest snapshot and the attention level."""
        out: dict[int, tuple[Any, ...]] = {}
        for g in self.report.get("guests", []):
            latest, success = g.get("latest_backup") or {}, g.get("last_success") or {}
            fresh = g.get("freshness") or {}
            pbs = g.get("pbs") or {}
            snap = pbs.get("latest_snapshot") or {}
            out[g["vmid"]] = (
                g["coverage"]["status"],
                latest.get("result"),
                _instant(latest.get("started_at")),
                _instant(success.get("started_at")),
                fresh.get("status"),
                _instant(snap.get("backup_time")),
                g["attention"]["level"],
            )
        return out


def _instant(text: str | None) -> datetime | None:
    """The moment a timestamp names (a time shown in UTC or in the node's zone is the same)."""
    return None if text is None else datetime.fromisoformat(text).astimezone(UTC)


@dataclass
class Sims:
    pve: SimulatorServer
    pbs: SimulatorServer
    ca_path: Path

    def env(self) -> dict[str, str]:
        return {
            "PVE_HOST": f"127.0.0.1:{self.pve.port}",
            "PVE_API_TOKEN_ID": "report@pve!audit",
            "PVE_API_TOKEN_SECRET": PVE_SECRET,
            "PVE_CA_BUNDLE": str(self.ca_path),
            "PVE_TIMEOUT": TIMEOUT,
            "PVE_MAX_CONCURRENCY": "2",  # fewer connections, fewer TLS handshakes per run
            "REPORT_CONFIG_CACHE_HOURS": "24",  # the opt-in config cache is checked too
            "PBS01_NAME": "pbs1",
            "PBS01_API_URL": f"https://127.0.0.1:{self.pbs.port}",
            "PBS01_API_TOKEN_ID": "report@pbs!audit",
            "PBS01_API_TOKEN_SECRET": PBS_SECRET,
            "PBS01_CA_BUNDLE": str(self.ca_path),
            "PBS01_STORAGES": "pbs-main",
        }

    @contextmanager
    def faults(self, pve: list[Fault], pbs: list[Fault]) -> Iterator[None]:
        for server, faults in ((self.pve, pve), (self.pbs, pbs)):
            server.faults.clear()
            for fault in faults:
                server.faults.add(fault)
            server.reset_counts()
        try:
            yield
        finally:
            self.pve.faults.clear()
            self.pbs.faults.clear()


def _history(db: Path) -> tuple[int, dict[str, str], dict[int, str]]:
    if not db.exists():
        return 0, {}, {}
    with sqlite3.connect(db) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        runs = conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] if "runs" in tables else 0
        cache = (
            dict(conn.execute("SELECT upid, payload FROM task_cache"))
            if "task_cache" in tables
            else {}
        )
        configs = (
            dict(conn.execute("SELECT vmid, payload FROM guest_config_cache"))
            if "guest_config_cache" in tables
            else {}
        )
    return int(runs), cache, configs


def run(sims: Sims, db: Path, out_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Outcome:
    """One report run (`--format json`, history on) with the faults currently active."""
    for name in list(__import__("os").environ):
        if name.startswith(("PVE_", "PBS", "REPORT_", "SMTP_", "MAIL_", "BACKUP_")):
            monkeypatch.delenv(name, raising=False)
    for key, value in sims.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("REPORT_HISTORY_DB", str(db))
    monkeypatch.setattr(ReadOnlyClient, "_delay", lambda *_args: 0.0)
    args = build_parser().parse_args(["--format", "json", "--output-dir", str(out_dir), "-q"])
    settings = load_settings(None)
    pbs, warnings = load_pbs_settings(pbs_environment(None))
    assert warnings == []
    out, err = io.StringIO(), io.StringIO()
    code = cli_run(args, settings, out, err, pbs, now=NOW_DT)
    report_file = out_dir / "backup-report.json"
    candidates = sorted(out_dir.glob("*.json"))
    report = json.loads((report_file if report_file.exists() else candidates[0]).read_text())
    for path in candidates:
        path.unlink()
    runs, cache, configs = _history(db)
    return Outcome(code, report, err.getvalue(), runs, cache, configs)

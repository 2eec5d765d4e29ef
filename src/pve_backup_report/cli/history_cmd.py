"""Recording each run in the history database, and `pve-backup-report history`."""

from __future__ import annotations

import argparse
import logging
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import IO

from ..config import ConfigError, Settings, load_settings
from ..history.store import (
    AnomalyRecord,
    GuestRecord,
    HistoryStore,
    RunRecord,
    default_history_path,
)
from ..report.model import Report

log = logging.getLogger("pve_backup_report")


def history_path(settings: Settings) -> Path:
    return settings.report.history_db or default_history_path()


def record(settings: Settings, report: Report, exit_code: int, started_at: datetime) -> None:
    """Store the run; a history problem is logged, never fatal (the report is what matters)."""
    guests = [
        GuestRecord(
            vmid=g.vmid,
            name=g.name,
            verdict=g.coverage.status,
            latest_result=g.latest_backup.result if g.latest_backup else None,
            latest_at=g.latest_backup.started_at if g.latest_backup else None,
            last_success_at=g.last_success.started_at if g.last_success else None,
            freshness=g.freshness.status if g.freshness else None,
        )
        for g in report.guests
    ]
    anomalies = [
        AnomalyRecord(a.severity.value, a.component, a.code, a.message) for a in report.anomalies
    ]
    summary = dict(report.summary.verdicts)
    summary.update(
        {
            "guests_total": report.summary.guests_total,
            "last_failed": report.summary.last_failed or 0,
            "stale": report.summary.stale or 0,
            "anomalies_critical": report.summary.anomalies_critical,
            "anomalies_warning": report.summary.anomalies_warning,
        }
    )
    run = RunRecord(
        cluster=report.cluster.name or report.cluster.api_url,
        started_at=started_at,
        finished_at=datetime.now().astimezone(),
        tool_version=report.tool_version,
        exit_code=exit_code,
        summary=summary,
        guests=guests,
        anomalies=anomalies,
    )
    try:
        with HistoryStore(history_path(settings)) as store:
            store.record_run(run)
            store.prune(run.finished_at, settings.report.history_retention_days)
    except (OSError, sqlite3.Error, RuntimeError) as error:
        log.warning("history not recorded: %s", error)


def run_history(argv: Sequence[str], out: IO[str], err: IO[str]) -> int:
    parser = argparse.ArgumentParser(prog="pve-backup-report history")
    parser.add_argument("--env-file", type=Path)
    parser.add_argument("--limit", type=int, default=30)
    parser.add_argument("--db", type=Path, help="history database (default: REPORT_HISTORY_DB)")
    args = parser.parse_args(list(argv))
    path = args.db
    if path is None:
        try:
            path = history_path(load_settings(args.env_file))
        except ConfigError:
            path = default_history_path()
    if not path.is_file():
        err.write(f"no history yet ({path})\n")
        return 0
    with HistoryStore(path) as store:
        runs = store.runs(limit=args.limit)
    out.write(f"{'run':>5}  {'started':25}  {'cluster':20}  exit  covered  not_covered  failed\n")
    for r in runs:
        s = r.summary
        out.write(
            f"{r.run_id:>5}  {r.started_at.isoformat(timespec='seconds'):25}  {r.cluster[:20]:20}"
            f"  {r.exit_code:>4}  {s.get('covered', 0):>7}  {s.get('not_covered', 0):>11}"
            f"  {s.get('last_failed', 0):>6}\n"
        )
    return 0

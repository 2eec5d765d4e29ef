"""Recording each run in the history database, reading it for the report, and
`pve-backup-report history`."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO

from ..config import ConfigError, Settings, load_settings
from ..errors import OneLineArgumentParser, ReportError, one_line
from ..history.store import (
    HistoryStore,
    RunRecord,
    default_history_path,
)
from ..outputs.nagios import cluster_label
from ..report.history_records import anomaly_records, guest_records, run_summary, stored_counts
from ..report.history_view import GRID_DAYS, TREND_RUNS, HistorySource
from ..report.model import Report
from ..report.safe_text import visible
from .logs import NOTICE

log = logging.getLogger("pve_backup_report.cli")


class HistoryError(ReportError):
    """The history database exists but cannot be used."""

    label = ""


def history_path(settings: Settings) -> Path:
    return settings.report.history_db or default_history_path()


def history_problem(settings: Settings) -> str | None:
    """Why the history database cannot be used, or None. Checked once at the start of a run
    so that a corrupt or unreadable file gives ONE warning naming it, instead of one per
    reader (comparison, remembered successes, caches, recording)."""
    path = history_path(settings)
    try:
        with HistoryStore(path) as store:
            store.connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except (OSError, sqlite3.Error, RuntimeError, ValueError) as error:
        return one_line(error) or type(error).__name__
    return None


def record(settings: Settings, report: Report, exit_code: int, started_at: datetime) -> None:
    """Store the run; a history problem is logged, never fatal (the report is what matters).
    The rows come from `report.history_records`, which the next report compares with."""
    guests = guest_records(report)
    anomalies = anomaly_records(report)
    summary = run_summary(report)
    run = RunRecord(
        cluster=cluster_label(report),  # the identity, not the host that answered
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


def load_history(settings: Settings, cluster: str, now: datetime) -> HistorySource | None:
    """What the history knew before this run (read BEFORE recording it). None when there is
    no database or no earlier run of this cluster, or it cannot be read: the report says so."""
    path = history_path(settings)
    if not path.is_file():
        return None
    try:
        with HistoryStore(path) as store:
            recent = store.runs(cluster, limit=TREND_RUNS - 1)
            previous = store.load_run(recent[0].run_id) if recent else None
            day = now.date()
            daily = store.daily_results(cluster, day, GRID_DAYS)
    except (OSError, sqlite3.Error, RuntimeError, KeyError, ValueError) as error:
        log.warning("history not read: %s", error)
        return None
    # a run recorded "in the future" (clock change, demo clock) is not a previous run
    recent = [r for r in recent if r.started_at <= now + timedelta(minutes=1)]
    if previous is not None and not any(r.run_id == previous.run_id for r in recent):
        previous = None
    if not recent:
        return None  # the database may exist (task-log cache) without any run of this cluster
    return HistorySource(previous, recent, daily)


def remembered_successes(
    settings: Settings, cluster: str
) -> dict[int, tuple[str | None, datetime]]:
    """Last successes the previous run knew, for guests whose name is unchanged (a reused
    VMID must not inherit another guest's backups). Empty when there is no history."""
    path = history_path(settings)
    if not path.is_file():
        return {}
    try:
        with HistoryStore(path) as store:
            previous = store.previous_run(cluster)
    except (OSError, sqlite3.Error, RuntimeError, KeyError, ValueError) as error:
        log.warning("history not read: %s", error)
        return {}
    if previous is None:
        return {}
    return {
        g.vmid: (g.name, g.last_success_at)
        for g in previous.guests
        if g.last_success_at is not None
    }


HISTORY_COUNTS = ("covered", "not_covered", "last_failed", "stale")


def _count(counts: dict[str, object], key: str) -> str:
    value = counts.get(key)
    return "-" if value is None else str(value)


def run_history(argv: Sequence[str], out: IO[str]) -> int:
    parser = OneLineArgumentParser(prog="pve-backup-report history")
    parser.add_argument("--env-file", type=Path)
    parser.add_argument("--limit", type=int, default=30)
    parser.add_argument("--db", type=Path, help="history database (default: REPORT_HISTORY_DB)")
    args = parser.parse_args(list(argv))
    if args.env_file is not None and not args.env_file.is_file():
        raise ConfigError("--env-file", f"{args.env_file}: no such file")
    path = args.db
    if path is None:
        try:
            path = history_path(load_settings(args.env_file))
        except ConfigError:
            path = default_history_path()
    if not path.is_file():
        log.log(NOTICE, "no history yet (%s)", path)
        return 0
    try:
        with HistoryStore(path) as store:
            runs = store.runs(limit=args.limit)
    except (sqlite3.Error, RuntimeError) as error:
        raise HistoryError(f"history database {path} cannot be read: {one_line(error)}") from None
    rows = [
        (
            str(r.run_id),
            r.started_at.isoformat(timespec="seconds"),
            visible(r.cluster),
            str(r.exit_code),
            *(_count(stored_counts(r.summary), key) for key in HISTORY_COUNTS),
        )
        for r in runs
    ]
    head = ("run", "started", "cluster", "exit", *HISTORY_COUNTS)
    widths = [max(len(row[i]) for row in [head, *rows]) for i in range(len(head))]
    for row in [head, *rows]:  # the whole cluster name: columns fit the longest value
        cells = [
            cell.ljust(w) if i in (1, 2) else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        out.write("  ".join(cells).rstrip() + "\n")
    return 0

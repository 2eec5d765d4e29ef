"""The history store: one transaction per run, so a run killed at any moment leaves the
database exactly as it was before; old runs are pruned by age.

It stores plain records (`RunRecord`, `GuestRecord`) rather than the report model, so the
history survives changes to the report's shape.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import platformdirs

from .migrations import migrate

APP_NAME = "pve-backup-report"


def default_history_path() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME)) / "history.sqlite3"


@dataclass(frozen=True)
class GuestRecord:
    vmid: int
    name: str | None
    verdict: str
    latest_result: str | None = None
    latest_at: datetime | None = None
    last_success_at: datetime | None = None
    freshness: str | None = None


@dataclass(frozen=True)
class AnomalyRecord:
    severity: str
    component: str
    code: str
    message: str


@dataclass(frozen=True)
class RunRecord:
    cluster: str
    started_at: datetime
    finished_at: datetime
    tool_version: str
    exit_code: int
    summary: Mapping[str, Any]
    guests: Sequence[GuestRecord] = ()
    anomalies: Sequence[AnomalyRecord] = ()
    run_id: int | None = None


@dataclass(frozen=True)
class RunSummary:
    run_id: int
    cluster: str
    started_at: datetime
    exit_code: int
    summary: dict[str, Any] = field(default_factory=dict)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class HistoryStore:
    """Opens (creating and migrating) the database at `path`."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._conn = sqlite3.connect(str(path), isolation_level=None, timeout=30)
        self._conn.execute("PRAGMA foreign_keys = ON")
        self._conn.execute("PRAGMA journal_mode = WAL")
        self.schema_version = migrate(self._conn)

    @property
    def connection(self) -> sqlite3.Connection:
        """For caches that keep their own tables in the history database."""
        return self._conn

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- runs ---------------------------------------------------------------------------
    def record_run(self, run: RunRecord) -> int:
        """Write a run, its guests and anomalies in ONE transaction."""
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            cursor = conn.execute(
                "INSERT INTO runs (cluster, started_at, finished_at, tool_version, exit_code,"
                " summary_json) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    run.cluster,
                    run.started_at.isoformat(),
                    run.finished_at.isoformat(),
                    run.tool_version,
                    run.exit_code,
                    json.dumps(dict(run.summary), sort_keys=True),
                ),
            )
            run_id = int(cursor.lastrowid or 0)
            conn.executemany(
                "INSERT INTO run_guests (run_id, vmid, name, verdict, latest_result, latest_at,"
                " last_success_at, freshness) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        run_id,
                        g.vmid,
                        g.name,
                        g.verdict,
                        g.latest_result,
                        _iso(g.latest_at),
                        _iso(g.last_success_at),
                        g.freshness,
                    )
                    for g in run.guests
                ],
            )
            conn.executemany(
                "INSERT INTO run_anomalies (run_id, severity, component, code, message)"
                " VALUES (?, ?, ?, ?, ?)",
                [(run_id, a.severity, a.component, a.code, a.message) for a in run.anomalies],
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return run_id

    def runs(self, cluster: str | None = None, limit: int = 30) -> list[RunSummary]:
        """Most recent runs first."""
        sql = "SELECT id, cluster, started_at, exit_code, summary_json FROM runs"
        params: list[Any] = []
        if cluster is not None:
            sql += " WHERE cluster = ?"
            params.append(cluster)
        sql += " ORDER BY started_at DESC, id DESC LIMIT ?"
        params.append(limit)
        return [
            RunSummary(int(r[0]), r[1], datetime.fromisoformat(r[2]), int(r[3]), json.loads(r[4]))
            for r in self._conn.execute(sql, params)
        ]

    def load_run(self, run_id: int) -> RunRecord:
        row = self._conn.execute(
            "SELECT cluster, started_at, finished_at, tool_version, exit_code, summary_json"
            " FROM runs WHERE id = ?",
            (run_id,),
        ).fetchone()
        if row is None:
            raise KeyError(run_id)
        guests = [
            GuestRecord(int(g[0]), g[1], g[2], g[3], _dt(g[4]), _dt(g[5]), g[6])
            for g in self._conn.execute(
                "SELECT vmid, name, verdict, latest_result, latest_at, last_success_at, freshness"
                " FROM run_guests WHERE run_id = ? ORDER BY vmid",
                (run_id,),
            )
        ]
        anomalies = [
            AnomalyRecord(*a)
            for a in self._conn.execute(
                "SELECT severity, component, code, message FROM run_anomalies WHERE run_id = ?",
                (run_id,),
            )
        ]
        return RunRecord(
            row[0],
            datetime.fromisoformat(row[1]),
            datetime.fromisoformat(row[2]),
            row[3],
            int(row[4]),
            json.loads(row[5]),
            guests,
            anomalies,
            run_id,
        )

    def previous_run(self, cluster: str) -> RunRecord | None:
        latest = self.runs(cluster, limit=1)
        return self.load_run(latest[0].run_id) if latest else None

    def daily_results(
        self, cluster: str, today: date, days: int = 14
    ) -> dict[int, dict[date, str]]:
        """Per guest and day, the latest-attempt result of the last run of that day."""
        since = (today - timedelta(days=days - 1)).isoformat()
        grid: dict[int, dict[date, str]] = {}
        rows = self._conn.execute(
            "SELECT r.started_at, g.vmid, COALESCE(g.latest_result, g.verdict) FROM runs r"
            " JOIN run_guests g ON g.run_id = r.id WHERE r.cluster = ? AND r.started_at >= ?"
            " ORDER BY r.started_at",
            (cluster, since),
        )
        for started, vmid, result in rows:
            grid.setdefault(int(vmid), {})[datetime.fromisoformat(started).date()] = result
        return grid

    def prune(self, now: datetime, keep_days: int = 400) -> int:
        """Delete runs older than `keep_days`; returns how many."""
        cutoff = (now - timedelta(days=keep_days)).isoformat()
        with self._conn:
            self._conn.execute("BEGIN")
            cursor = self._conn.execute("DELETE FROM runs WHERE started_at < ?", (cutoff,))
            self._conn.execute("DELETE FROM task_cache WHERE cached_at < ?", (cutoff,))
        return int(cursor.rowcount)

    # -- parsed task-log cache (finished task logs never change) ------------------------
    def cache_get(self, upids: Iterable[str]) -> dict[str, str]:
        wanted = list(dict.fromkeys(upids))
        found: dict[str, str] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for upid, payload in self._conn.execute(
                f"SELECT upid, payload FROM task_cache WHERE upid IN ({marks})",  # noqa: S608
                chunk,
            ):
                found[upid] = payload
        return found

    def cache_put(self, items: Iterable[tuple[str, str, int, str]], now: datetime) -> None:
        """Store (upid, node, starttime, payload) for finished tasks, in one transaction."""
        rows = [(u, n, s, p, now.isoformat()) for u, n, s, p in items]
        if not rows:
            return
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._conn.executemany(
                "INSERT OR REPLACE INTO task_cache (upid, node, starttime, payload, cached_at)"
                " VALUES (?, ?, ?, ?, ?)",
                rows,
            )
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise

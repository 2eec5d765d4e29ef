"""Versioned schema. Each migration runs once, inside the transaction that bumps user_version."""

from __future__ import annotations

import sqlite3

MIGRATIONS: list[str] = [
    # 1: runs, per-guest results, anomalies, parsed task-log cache
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        cluster TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT NOT NULL,
        tool_version TEXT NOT NULL,
        exit_code INTEGER NOT NULL,
        summary_json TEXT NOT NULL
    );
    CREATE INDEX runs_cluster_time ON runs (cluster, started_at);
    CREATE TABLE run_guests (
        run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        vmid INTEGER NOT NULL,
        name TEXT,
        verdict TEXT NOT NULL,
        latest_result TEXT,
        latest_at TEXT,
        last_success_at TEXT,
        freshness TEXT,
        PRIMARY KEY (run_id, vmid)
    );
    CREATE TABLE run_anomalies (
        run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        severity TEXT NOT NULL,
        component TEXT NOT NULL,
        code TEXT NOT NULL,
        message TEXT NOT NULL
    );
    CREATE INDEX run_anomalies_run ON run_anomalies (run_id);
    CREATE TABLE task_cache (
        upid TEXT PRIMARY KEY,
        node TEXT NOT NULL,
        starttime INTEGER NOT NULL,
        payload TEXT NOT NULL,
        cached_at TEXT NOT NULL
    );
    """,
    # 2: opt-in cache of what guest configurations told (REPORT_CONFIG_CACHE_HOURS)
    """
    CREATE TABLE guest_config_cache (
        cluster TEXT NOT NULL,
        vmid INTEGER NOT NULL,
        node TEXT NOT NULL,
        type TEXT NOT NULL,
        payload TEXT NOT NULL,
        cached_at TEXT NOT NULL,
        PRIMARY KEY (cluster, vmid)
    );
    """,
]


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema to the latest version; returns it. Refuses a newer database."""
    current = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if current > len(MIGRATIONS):
        raise RuntimeError(
            f"history database schema {current} is newer than this tool ({len(MIGRATIONS)})"
        )
    for version in range(current, len(MIGRATIONS)):
        with conn:  # one transaction per migration, version bump included
            conn.executescript(
                "BEGIN;" + MIGRATIONS[version] + f"PRAGMA user_version = {version + 1};"
            )
    return len(MIGRATIONS)

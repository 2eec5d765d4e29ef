"""History store: transactions, retention, daily grid, cache; a run killed mid-write."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from pve_backup_report.history.migrations import MIGRATIONS
from pve_backup_report.history.store import (
    AnomalyRecord,
    GuestRecord,
    HistoryStore,
    RunRecord,
)

T0 = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)


def run_at(when: datetime, verdict_100: str = "covered", result_100: str = "success") -> RunRecord:
    return RunRecord(
        cluster="c1",
        started_at=when,
        finished_at=when + timedelta(seconds=30),
        tool_version="0.1.0",
        exit_code=0,
        summary={"covered": 2},
        guests=[
            GuestRecord(100, "web01", verdict_100, result_100, when - timedelta(hours=5)),
            GuestRecord(101, "db01", "not_covered"),
        ],
        anomalies=[AnomalyRecord("warning", "jobs", "job_disabled", "Job x is disabled")],
    )


def test_record_and_load_roundtrip(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "h.db") as store:
        run_id = store.record_run(run_at(T0))
        loaded = store.load_run(run_id)
    assert loaded.cluster == "c1" and loaded.summary == {"covered": 2}
    assert [g.vmid for g in loaded.guests] == [100, 101]
    assert loaded.guests[0].latest_at == T0 - timedelta(hours=5)
    assert loaded.anomalies == [
        AnomalyRecord("warning", "jobs", "job_disabled", "Job x is disabled")
    ]


def test_runs_newest_first_and_previous(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "h.db") as store:
        for day in range(3):
            store.record_run(run_at(T0 + timedelta(days=day)))
        runs = store.runs("c1")
        assert [r.started_at for r in runs] == [T0 + timedelta(days=d) for d in (2, 1, 0)]
        previous = store.previous_run("c1")
        assert previous is not None and previous.started_at == T0 + timedelta(days=2)
        assert store.previous_run("other") is None


def test_daily_grid_keeps_last_run_of_each_day(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "h.db") as store:
        store.record_run(run_at(T0, result_100="failure"))
        store.record_run(run_at(T0 + timedelta(hours=3), result_100="success"))
        store.record_run(run_at(T0 + timedelta(days=1), result_100="warning"))
        grid = store.daily_results("c1", today=date(2026, 11, 21), days=14)
    assert grid[100] == {date(2026, 11, 20): "success", date(2026, 11, 21): "warning"}
    assert grid[101] == {date(2026, 11, 20): "not_covered", date(2026, 11, 21): "not_covered"}


def test_prune_by_age(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "h.db") as store:
        store.record_run(run_at(T0 - timedelta(days=500)))
        store.record_run(run_at(T0))
        assert store.prune(T0, keep_days=400) == 1
        assert len(store.runs()) == 1


def test_task_cache(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "h.db") as store:
        store.cache_put([("UPID:a", "pve1", 1, '{"x":1}'), ("UPID:b", "pve1", 2, "{}")], T0)
        assert store.cache_get(["UPID:a", "UPID:zz"]) == {"UPID:a": '{"x":1}'}


def test_migration_is_idempotent_and_newer_schema_refused(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    HistoryStore(path).close()
    with HistoryStore(path) as store:
        assert store.schema_version == len(MIGRATIONS) == 2
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    with pytest.raises(RuntimeError, match="newer"):
        HistoryStore(path)


WRITER = """
import sys
from datetime import UTC, datetime
from pathlib import Path
from pve_backup_report.history.store import GuestRecord, HistoryStore, RunRecord
store = HistoryStore(Path(sys.argv[1]))
now = datetime(2026, 11, 26, tzinfo=UTC)
guests = [GuestRecord(i, "g", "covered") for i in range(100, 3_000_100)]
print("writing", flush=True)
store.record_run(RunRecord("c1", now, now, "0", 0, {}, guests))
print("done", flush=True)
"""


def test_run_killed_mid_write_leaves_database_as_before(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    with HistoryStore(path) as store:
        store.record_run(run_at(T0))
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "writing"
    time.sleep(1.0)  # the 3-million-row insert is under way
    assert proc.poll() is None, "writer finished before it could be killed; make it larger"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    with HistoryStore(path) as store:
        runs = store.runs()
        assert len(runs) == 1 and runs[0].started_at == T0
        assert len(store.load_run(runs[0].run_id).guests) == 2
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT COUNT(*) FROM run_guests").fetchone()[0] == 2

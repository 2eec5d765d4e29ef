"""Incremental collection against the simulator: a second run reads only logs it has not seen.

Uses the hand-written history of `test_evidence_sim` (``wave_size=1``, so the set of logs read
is exact). Without the running task T6 the first run reads T3, T2, T1, T5, T0 (worked out
there); every one of them is finished and read whole, so a second run on the unchanged cluster
reads no log at all, and gives the same evidence as a run without cache.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pve_backup_report.collect import tasks as tasks_module
from pve_backup_report.collect.evidence import EvidenceResult
from pve_backup_report.collect.log_cache import SqliteTaskLogCache, TaskLogCache
from pve_backup_report.history.store import HistoryStore

from .conftest import Sim
from .test_evidence_sim import (
    T0,
    T1,
    T2,
    T3,
    T5,
    T6,
    TASKS,
    run_evidence,
    scenario,
    ts,
    upid,
)

LOG_ROUTE = "/nodes/{node}/tasks/{upid}/log"
ALL_UPIDS = [str(t["upid"]) for t in TASKS]

# A new manual backup of VM 100 on pve1 (Europe/Paris: 06:30 UTC = 07:30 local), finished OK.
T8 = upid("pve1", 0x800, "2025-11-26T06:30:00+00:00", "100", "admin@pam")
T8_TASK: dict[str, Any] = {
    "upid": T8,
    "status": "OK",
    "endtime": ts("2025-11-26T06:30:11+00:00"),
    "log": [
        "INFO: starting new backup job: vzdump 100 --storage pbs-main --mode snapshot",
        "INFO: Starting Backup of VM 100 (qemu)",
        "INFO: Backup started at 2025-11-26 07:30:01",
        "INFO: creating Proxmox Backup Server archive 'vm/100/2025-11-26T06:30:01Z'",
        "INFO: Finished Backup of VM 100 (00:00:09)",
        "INFO: Backup finished at 2025-11-26 07:30:10",
        "INFO: Backup job finished successfully",
        "TASK OK",
    ],
}


def _finished_only(*extra: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(scenario())
    data["tasks"] = [*extra, *(t for t in data["tasks"] if t["upid"] != T6)]
    return data


async def _run(sim: Sim, cache: TaskLogCache | None, log_limit: int = 1000) -> EvidenceResult:
    return await run_evidence(sim, wave_size=1, log_limit=log_limit, log_cache=cache)


def _logs_read(sim: Sim) -> list[str]:
    return [p.split("/")[4] for _, p, _ in sim.server.requests if p.endswith("/log")]


def _same(a: EvidenceResult, b: EvidenceResult) -> bool:
    """Equal apart from where the logs came from."""
    return replace(a, logs_fetched=0, logs_from_cache=0) == replace(
        b, logs_fetched=0, logs_from_cache=0
    )


def _cached(path: Path) -> set[str]:
    with HistoryStore(path) as store:
        return set(store.cache_get([*ALL_UPIDS, T8]))


def test_second_run_reads_no_log_then_only_the_new_one(
    start_sim: Callable[[dict[str, Any]], Sim], tmp_path: Path
) -> None:
    db = tmp_path / "history.sqlite3"
    cache = SqliteTaskLogCache(db)
    sim = start_sim(_finished_only())

    plain = asyncio.run(_run(sim, None))
    assert _logs_read(sim) == [T3, T2, T1, T5, T0]

    first = asyncio.run(_run(sim, cache))
    assert _logs_read(sim) == [T3, T2, T1, T5, T0]
    assert (first.logs_fetched, first.logs_from_cache) == (5, 0)
    assert _cached(db) == {T3, T2, T1, T5, T0}

    second = asyncio.run(_run(sim, cache))
    assert sim.server.request_counts.get(LOG_ROUTE, 0) == 0
    assert _logs_read(sim) == []
    assert (second.logs_fetched, second.logs_from_cache) == (0, 5)
    # the task lists are still read every run (one page per online node)
    assert sim.server.request_counts["/nodes/{node}/tasks"] == 2
    assert _same(plain, first) and _same(plain, second)
    latest = second.guests[100].latest_backup
    assert latest is not None and latest.upid == T1 and latest.result == "success"

    # The cluster gains one finished task: only its log is fetched.
    grown = start_sim(_finished_only(T8_TASK))
    third = asyncio.run(_run(grown, cache))
    assert _logs_read(grown) == [T8]
    assert (third.logs_fetched, third.logs_from_cache) == (1, 5)
    assert _cached(db) == {T8, T3, T2, T1, T5, T0}
    assert _same(third, asyncio.run(_run(grown, None)))
    latest = third.guests[100].latest_backup
    assert latest is not None and (latest.upid, latest.result) == (T8, "success")
    assert latest.started_at is not None
    assert latest.started_at.isoformat() == "2025-11-26T07:30:01+01:00"
    assert latest.duration_s == 9


def test_running_and_cut_logs_are_never_cached(
    start_sim: Callable[[dict[str, Any]], Sim],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tasks_module, "LOG_PAGE", 4)
    db = tmp_path / "history.sqlite3"
    cache = SqliteTaskLogCache(db)
    sim = start_sim(scenario())  # with T6, still running

    first = asyncio.run(_run(sim, cache, log_limit=6))
    read = set(_logs_read(sim))
    cut = {str(a.details["upid"]) for a in first.anomalies if a.code == "task_log_truncated"}
    assert {T6, T3, T2, T1, T0} <= read
    assert {T3, T1, T0} <= cut  # 9, 16 and 15 lines, cut at 6; T2 has 1 line, T6 4
    assert T2 not in cut and T6 not in cut
    cached = _cached(db)
    assert T2 in cached and T6 not in cached  # T6 is running
    assert cached == read - cut - {T6}

    # Same limit again: everything not cached is read again, T2 comes from the cache.
    second = asyncio.run(_run(sim, cache, log_limit=6))
    assert set(_logs_read(sim)) == read - cached  # (a cut log is read in two pages)
    assert second.logs_from_cache == len(cached)
    assert _same(first, second)

    # A whole read caches T3 (9 lines) ...
    monkeypatch.setattr(tasks_module, "LOG_PAGE", 5000)
    asyncio.run(_run(sim, cache))
    assert T3 in _cached(db) and T6 not in _cached(db)
    # ... but a lower limit than its length makes the cached parse unusable: fetched and cut.
    asyncio.run(_run(sim, cache, log_limit=6))
    assert T3 in _logs_read(sim) and T2 not in _logs_read(sim)


@pytest.mark.parametrize("kind", ["wrong_type", "missing_data", "invalid_json", "truncated"])
def test_unusable_log_answers_are_never_cached(
    kind: str, start_sim: Callable[[dict[str, Any]], Sim], tmp_path: Path
) -> None:
    """Issue 11 item 4: a run where task logs answered garbage must not leave guests critical
    in the next run. Nothing is cached from such answers, and a following fault-free run on
    the same database gives exactly the evidence of a run without cache."""
    from pve_backup_report.simulator.faults import Fault

    db = tmp_path / "history.sqlite3"
    cache = SqliteTaskLogCache(db)
    sim = start_sim(_finished_only())
    plain = asyncio.run(_run(sim, None))

    sim.server.faults.add(Fault(route=r"/tasks/.*/log$", kind=kind))  # type: ignore[arg-type]
    faulty = asyncio.run(_run(sim, cache))
    bad = [a for a in faulty.anomalies if a.details.get("endpoint", "").endswith("/log")]
    assert bad, faulty.anomalies  # the failure is named ...
    assert _cached(db) == set()  # ... and nothing of it outlives the run

    sim.server.faults.clear()
    after = asyncio.run(_run(sim, cache))
    assert after.logs_from_cache == 0 and after.logs_fetched == 5
    assert _same(plain, after)
    assert _cached(db) == {T3, T2, T1, T5, T0}


def test_a_log_without_its_task_line_is_not_cached(
    start_sim: Callable[[dict[str, Any]], Sim], tmp_path: Path
) -> None:
    """A finished task whose log lacks the final TASK line (an incomplete answer) is parsed
    for this run, never kept."""
    data = _finished_only()
    for task in data["tasks"]:
        if task["upid"] == T3:
            task["log"] = task["log"][:-1]  # drop "TASK OK"
    db = tmp_path / "history.sqlite3"
    sim = start_sim(data)
    asyncio.run(_run(sim, SqliteTaskLogCache(db)))
    assert T3 in _logs_read(sim)
    assert _cached(db) == {T2, T1, T5, T0}

"""The parsed task-log cache: exact JSON round-trip, versioning, SQLite hits and misses.

Round-trips are checked on parses of the reference logs in ``tests/data/tasklogs`` (any
prefix, time zone and task status) and on hand-built values with arbitrary fixed offsets.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pve_backup_report.analysis.tasklog import (
    GuestAttempt,
    JobHeader,
    TaskLogResult,
    parse_task_log,
)
from pve_backup_report.analysis.upid import parse_upid
from pve_backup_report.collect.log_cache import (
    CachedLog,
    SqliteTaskLogCache,
    decode_log,
    encode_log,
    timezone_key,
)
from pve_backup_report.history.store import HistoryStore

DATA = Path(__file__).resolve().parent.parent / "data" / "tasklogs"
LOGS = {p.stem: p.read_text(encoding="utf-8").splitlines() for p in sorted(DATA.glob("*.log"))}
UPID = parse_upid("UPID:pve1:000A1B2C:0179E3A5:663177F1:vzdump::root@pam:")
T0 = datetime(2025, 11, 26, 7, 0, tzinfo=UTC)


def _times(result: TaskLogResult) -> list[datetime | None]:
    return [t for g in result.guests for t in (g.started_at, g.ended_at, g.archive_time)]


def assert_exact(decoded: CachedLog | None, original: CachedLog) -> None:
    """Equal, and equal in the details ``==`` does not see: offsets, tuple and mapping types."""
    assert decoded == original
    assert decoded is not None
    for got, want in zip(_times(decoded.result), _times(original.result), strict=True):
        assert (got is None) == (want is None)
        if got is not None and want is not None:
            assert got.utcoffset() == want.utcoffset()
            assert got.isoformat() == want.isoformat()
    r = decoded.result
    assert isinstance(r.guests, tuple) and isinstance(r.notes, tuple)
    assert all(isinstance(g.warnings, tuple) for g in r.guests)
    if r.header is not None:
        assert isinstance(r.header.vmids, tuple)
        assert isinstance(r.header.options, MappingProxyType)


ZONES = st.sampled_from([None, UTC, ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")])
STATUSES = st.sampled_from([None, "OK", "WARNINGS: 2", "job errors", "unexpected status"])


@settings(max_examples=150, deadline=None)
@given(
    name=st.sampled_from(sorted(LOGS)),
    cut=st.integers(min_value=0, max_value=400),
    extra=st.lists(st.text(max_size=40), max_size=3),
    tz=ZONES,
    truncated=st.booleans(),
    status=STATUSES,
)
def test_round_trip_of_parsed_reference_logs(
    name: str,
    cut: int,
    extra: list[str],
    tz: ZoneInfo | None,
    truncated: bool,
    status: str | None,
) -> None:
    lines = [*LOGS[name][:cut], *extra]
    parsed = parse_task_log(lines, UPID, tz, truncated, task_status=status)
    cached = CachedLog(parsed, timezone_key(tz), status, len(lines))
    decoded = decode_log(encode_log(cached))
    # only the parse of a whole log of a finished task is ever kept (issue 11 item 4)
    whole = not truncated and parsed.task_status_line is not None and status is not None
    if whole and lines and not parsed.truncated and not parsed.undetermined_after_cut:
        assert_exact(decoded, cached)
    else:
        assert decoded is None


def test_every_reference_log_round_trips_whole() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    assert len(LOGS) >= 9
    for name, lines in LOGS.items():
        parsed = parse_task_log(lines, UPID, berlin, task_status="OK")
        cached = CachedLog(parsed, "Europe/Berlin", "OK", len(lines))
        if name == "cut":  # ends mid-guest, without its TASK line: never kept
            assert decode_log(encode_log(cached)) is None
        else:
            assert_exact(decode_log(encode_log(cached)), cached)


OFFSETS = st.builds(
    lambda minutes: timezone(timedelta(minutes=minutes)),
    st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59),
)
TIMES = st.none() | st.datetimes(timezones=OFFSETS) | st.datetimes()
TEXT = st.none() | st.text(max_size=20)
INTS = st.lists(st.integers(min_value=0, max_value=10**15), max_size=4).map(tuple)

GUESTS = st.builds(
    GuestAttempt,
    vmid=st.integers(min_value=1, max_value=10**15),
    guest_type=st.sampled_from([None, "qemu", "lxc"]),
    result=st.sampled_from(["success", "warning", "failure", "undetermined"]),
    started_at=TIMES,
    ended_at=TIMES,
    duration_s=st.none() | st.integers(min_value=0, max_value=10**9),
    archive=TEXT,
    archive_time=TIMES,
    error=TEXT,
    transferred_bytes=st.none() | st.integers(min_value=0, max_value=2**63),
    warnings=st.lists(st.text(max_size=20), max_size=3).map(tuple),
    mode=TEXT,
    name=TEXT,
    transferred_kind=st.sampled_from([None, "transferred", "uploaded", "tar_stream"]),
    archive_bytes=st.none() | st.integers(min_value=0, max_value=2**63),
    output=st.lists(st.text(max_size=20), max_size=3).map(tuple),
)
HEADERS = st.builds(
    JobHeader,
    command_line=st.text(max_size=40),
    vmids=INTS,
    options=st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3).map(
        MappingProxyType
    ),
    storage=TEXT,
    mode=TEXT,
    all=st.booleans(),
    exclude=INTS,
    pool=TEXT,
    node=TEXT,
)
RESULTS = st.builds(
    TaskLogResult,
    header=st.none() | HEADERS,
    skipped_external=INTS,
    guests=st.lists(GUESTS, max_size=3).map(tuple),
    job_outcome=st.sampled_from([None, "finished_ok", "finished_errors", "failed"]),
    job_error=TEXT,
    task_status_line=st.text(min_size=1, max_size=20),
    truncated=st.just(False),
    undetermined_after_cut=st.just(()),
    notes=st.lists(st.text(max_size=20), max_size=3).map(tuple),
    job_warnings=st.lists(st.text(max_size=20), max_size=3).map(tuple),
    time_source=st.sampled_from(["node_tz", "archive_offset", "upid_offset", "archive_only"]),
)


@settings(max_examples=150, deadline=None)
@given(
    result=RESULTS,
    zone=TEXT,
    status=st.text(max_size=20),
    lines=st.integers(min_value=1, max_value=10**6),
)
def test_round_trip_of_arbitrary_results(
    result: TaskLogResult, zone: str | None, status: str | None, lines: int
) -> None:
    cached = CachedLog(result, zone, status, lines)
    assert_exact(decode_log(encode_log(cached)), cached)


def _sample() -> CachedLog:
    lines = LOGS["example_a"]
    parsed = parse_task_log(lines, UPID, ZoneInfo("Europe/Berlin"), task_status="OK")
    return CachedLog(parsed, "Europe/Berlin", "OK", len(lines))


def _mutate(change: Any) -> str:
    data = json.loads(encode_log(_sample()))
    change(data)
    return json.dumps(data)


def test_payload_is_versioned_and_unknown_versions_are_misses() -> None:
    assert json.loads(encode_log(_sample()))["v"] == 3
    # version 1 entries may hold parses of bad answers (issue 11 item 4): never used
    assert decode_log(_mutate(lambda d: d.update(v=1))) is None
    assert decode_log(_mutate(lambda d: d.update(v=2))) is None  # before issue 13's fields
    assert decode_log(_mutate(lambda d: d.update(v=4))) is None
    assert decode_log(_mutate(lambda d: d.pop("v"))) is None


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d["result"].pop("notes"),  # written by a version with fewer fields
        lambda d: d["result"].update(new_field=1),  # ... or with more
        lambda d: d["result"]["guests"][0].pop("archive"),
        lambda d: d["result"]["guests"][0].update(started_at=12),
        lambda d: d["result"]["guests"][0].update(started_at="yesterday"),
        lambda d: d["result"]["header"].update(vmids=["100"]),
        lambda d: d["result"]["header"].update(options={"a": 1}),
        lambda d: d["result"].update(guests={}),
        lambda d: d.update(lines="12"),
        lambda d: d.update(timezone=3),
        lambda d: d.pop("result"),
        # well-formed JSON, but not what a whole log of a finished task parses to:
        lambda d: d.update(lines=0),
        lambda d: d.update(status=None),  # a running task
        lambda d: d["result"].update(task_status_line=None),  # no final TASK line read
        lambda d: d["result"].update(truncated=True),
        lambda d: d["result"].update(undetermined_after_cut=[100]),
        lambda d: d["result"].update(job_outcome="maybe"),
        lambda d: d["result"].update(time_source="guess"),
        lambda d: d["result"]["guests"][0].update(result="fine"),
        lambda d: d["result"]["guests"][0].update(vmid=0),
        lambda d: d["result"]["guests"][0].update(vmid=True),
        lambda d: d["result"]["guests"][0].update(guest_type="vm"),
    ],
)
def test_malformed_payloads_are_misses(change: Any) -> None:
    assert decode_log(_mutate(change)) is None


@pytest.mark.parametrize("payload", ["", "not json", "[]", "null", '{"v": 1}'])
def test_garbage_is_a_miss(payload: str) -> None:
    assert decode_log(payload) is None


def test_usable_only_with_the_same_inputs() -> None:
    cached = _sample()  # Europe/Berlin, "OK", the 91 lines of example_a
    n = cached.lines
    assert cached.usable("Europe/Berlin", "OK", n)
    assert cached.usable("Europe/Berlin", "OK", n + 1000)
    assert not cached.usable("Europe/Berlin", "OK", n - 1)  # a fetch now would be cut
    assert not cached.usable(None, "OK", n)  # node time zone unreadable this run
    assert not cached.usable("UTC", "OK", n)
    assert not cached.usable("Europe/Berlin", "job errors", n)


def test_timezone_key() -> None:
    assert timezone_key(None) is None
    assert timezone_key(ZoneInfo("Europe/Paris")) == "Europe/Paris"
    assert timezone_key(UTC) == "UTC"


def test_sqlite_cache_hits_and_misses(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    cache = SqliteTaskLogCache(path, now=T0)
    assert cache.get(["UPID:a"]) == {}  # creates the database, nothing cached yet
    entry = _sample()
    cache.put({"UPID:a": ("pve1", 1_700_000_000, entry)})
    cache.put({})
    got = cache.get(["UPID:a", "UPID:b"])
    assert list(got) == ["UPID:a"]
    assert_exact(got["UPID:a"], entry)
    assert cache.get([]) == {}
    with HistoryStore(path) as store:
        # a row from a future version: ignored (a miss), not an error
        store.cache_put([("UPID:b", "pve1", 1, '{"v": 4, "result": {}}')], T0)
        row = store._conn.execute(
            "SELECT node, starttime, cached_at FROM task_cache WHERE upid = 'UPID:a'"
        ).fetchone()
    assert row == ("pve1", 1_700_000_000, T0.isoformat())
    assert list(cache.get(["UPID:a", "UPID:b"])) == ["UPID:a"]


def test_sqlite_cache_problem_is_never_fatal(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "a-directory"
    folder.mkdir()
    cache = SqliteTaskLogCache(folder, now=T0)  # a directory cannot be opened as a database
    assert cache.get(["UPID:a"]) == {}
    cache.put({"UPID:a": ("pve1", 1, _sample())})
    assert "task-log cache not read" in caplog.text
    assert "task-log cache not written" in caplog.text

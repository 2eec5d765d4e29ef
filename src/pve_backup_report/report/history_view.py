"""What the run history adds to a report: changes since the previous run, trends, daily grid.

Why a pure function over plain records: the history database stores `RunRecord`/`RunSummary`
rows, not report models, so this module only compares records (the previous run's and the
current run's, built the same way the current run will be stored) and never touches SQLite.
The CLI reads the store *before* recording the current run and hands the rows over; tests give
hand-written rows. Everything here is a stable code or a number; labels come from the
catalogues at render time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from ..history.store import AnomalyRecord, GuestRecord, RunRecord, RunSummary

TREND_RUNS = 30
GRID_DAYS = 14
UNCOVERED = frozenset({"not_covered", "disabled_only"})
SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}

CellState = Literal[
    "success",
    "warning",
    "failure",
    "running",
    "undetermined",
    "not_covered",
    "no_backup",
    "opted_out",
    "no_data",
]
CELL_STATES: tuple[CellState, ...] = (
    "success",
    "warning",
    "failure",
    "running",
    "undetermined",
    "not_covered",
    "no_backup",
    "opted_out",
    "no_data",
)
_RESULTS = frozenset({"success", "warning", "failure", "running", "undetermined"})


@dataclass(frozen=True)
class HistorySource:
    """What the history database knew before this run (read by the CLI, or written by tests)."""

    previous: RunRecord | None
    recent: Sequence[RunSummary]  # most recent first, as `HistoryStore.runs` returns them
    daily: Mapping[int, Mapping[date, str]]  # `HistoryStore.daily_results`


@dataclass(frozen=True)
class GuestChange:
    vmid: int
    name: str | None
    before: str | None  # verdict or result code in the previous run (None: did not exist)
    after: str | None  # verdict or result code now (None: deleted)


@dataclass(frozen=True)
class NewAnomaly:
    code: str
    severity: str
    count: int  # occurrences in this run


@dataclass(frozen=True)
class Changes:
    newly_uncovered: tuple[GuestChange, ...] = ()
    newly_failing: tuple[GuestChange, ...] = ()
    recovered: tuple[GuestChange, ...] = ()
    new_guests: tuple[GuestChange, ...] = ()
    deleted_guests: tuple[GuestChange, ...] = ()
    new_anomalies: tuple[NewAnomaly, ...] = ()

    @property
    def empty(self) -> bool:
        return not (
            self.newly_uncovered
            or self.newly_failing
            or self.recovered
            or self.new_guests
            or self.deleted_guests
            or self.new_anomalies
        )


@dataclass(frozen=True)
class TrendPoint:
    at: datetime
    run_id: int | None  # None: this report
    guests: int
    coverage_percent: float | None  # covered (PBS or other) among guests not deliberately out
    failed: int
    stale: int


@dataclass(frozen=True)
class GridRow:
    vmid: int
    name: str | None
    cells: tuple[CellState, ...]  # one per day of `HistoryView.days`, oldest first


@dataclass(frozen=True)
class HistoryView:
    previous_run_id: int | None
    previous_at: datetime | None  # None: first run recorded for this cluster
    changes: Changes | None  # None: nothing to compare with
    trend: tuple[TrendPoint, ...]  # oldest first, this report last
    days: tuple[date, ...]  # the grid's days, oldest first, today last
    grid: tuple[GridRow, ...]  # by vmid


def cell_state(value: str | None) -> CellState:
    """A stored daily value (latest result, else the verdict) as a grid cell."""
    if value is None:
        return "no_data"
    if value in _RESULTS:
        return value  # type: ignore[return-value]
    if value in UNCOVERED:
        return "not_covered"
    if value in ("opted_out", "excluded"):
        return "opted_out"
    return "no_backup"


def daily_value(record: GuestRecord) -> str:
    """The same value `HistoryStore.daily_results` reads back for a stored run."""
    return record.latest_result or record.verdict


def trend_point(summary: Mapping[str, Any], at: datetime, run_id: int | None) -> TrendPoint:
    def n(key: str) -> int:
        value = summary.get(key, 0)
        return int(value) if isinstance(value, int | float) else 0

    guests = n("guests_total")
    in_scope = guests - n("opted_out") - n("excluded")
    covered = n("covered") + n("covered_non_pbs")
    percent = round(100.0 * covered / in_scope, 1) if in_scope > 0 else None
    return TrendPoint(at, run_id, guests, percent, n("last_failed"), n("stale"))


def _rank(severity: str) -> int:
    return SEVERITY_RANK.get(severity, 9)


def _problem(record: GuestRecord) -> str | None:
    if record.verdict in UNCOVERED:
        return record.verdict
    if record.latest_result == "failure":
        return "failure"
    return None


def changes_since(
    previous: RunRecord, current: Sequence[GuestRecord], anomalies: Sequence[AnomalyRecord]
) -> Changes:
    before = {g.vmid: g for g in previous.guests}
    now = {g.vmid: g for g in current}
    uncovered: list[GuestChange] = []
    failing: list[GuestChange] = []
    recovered: list[GuestChange] = []
    for vmid in sorted(before.keys() & now.keys()):
        old, new = before[vmid], now[vmid]
        if new.verdict in UNCOVERED and old.verdict not in UNCOVERED:
            uncovered.append(GuestChange(vmid, new.name, old.verdict, new.verdict))
        if new.latest_result == "failure" and old.latest_result != "failure":
            failing.append(GuestChange(vmid, new.name, old.latest_result, new.latest_result))
        was, still = _problem(old), _problem(new)
        if was is not None and still is None:
            recovered.append(GuestChange(vmid, new.name, was, new.latest_result or new.verdict))
    added = tuple(
        GuestChange(v, now[v].name, None, now[v].verdict) for v in sorted(now.keys() - before)
    )
    gone = tuple(
        GuestChange(v, before[v].name, before[v].verdict, None)
        for v in sorted(before.keys() - now.keys())
    )
    known = {a.code for a in previous.anomalies}
    fresh: dict[str, NewAnomaly] = {}
    for a in anomalies:
        if a.code in known:
            continue
        seen = fresh.get(a.code)
        severity = a.severity
        if seen is not None and _rank(seen.severity) < _rank(severity):
            severity = seen.severity
        fresh[a.code] = NewAnomaly(a.code, severity, (seen.count if seen else 0) + 1)
    new_anomalies = tuple(sorted(fresh.values(), key=lambda a: (_rank(a.severity), a.code)))
    return Changes(tuple(uncovered), tuple(failing), tuple(recovered), added, gone, new_anomalies)


def history_view(
    source: HistorySource,
    current: Sequence[GuestRecord],
    anomalies: Sequence[AnomalyRecord],
    summary: Mapping[str, Any],
    now: datetime,
    *,
    runs: int = TREND_RUNS,
    days: int = GRID_DAYS,
) -> HistoryView:
    """`current`, `anomalies` and `summary` describe this run exactly as it will be stored."""
    previous = source.previous
    past = sorted(source.recent, key=lambda r: (r.started_at, r.run_id))[-(runs - 1) :]
    trend = tuple(trend_point(r.summary, r.started_at, r.run_id) for r in past)
    trend += (trend_point(summary, now, None),)
    today = now.date()
    grid_days = tuple(today - timedelta(days=days - 1 - i) for i in range(days))
    grid = tuple(
        GridRow(
            g.vmid,
            g.name,
            tuple(
                cell_state(daily_value(g))
                if day == today
                else cell_state(source.daily.get(g.vmid, {}).get(day))
                for day in grid_days
            ),
        )
        for g in sorted(current, key=lambda g: g.vmid)
    )
    return HistoryView(
        previous_run_id=previous.run_id if previous else None,
        previous_at=previous.started_at if previous else None,
        changes=changes_since(previous, current, anomalies) if previous else None,
        trend=trend,
        days=grid_days,
        grid=grid,
    )

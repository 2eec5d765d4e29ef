"""A report as history records, and a report completed with its history view.

Why one place: the rows a run stores (`HistoryStore.record_run`) and the rows the report
compares with the previous run must be built the same way, or every report would show
spurious changes. The CLI records with these functions and the report compares with them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ..history.store import AnomalyRecord, GuestRecord
from .counts import summary_counts, verdict_counts
from .history_view import HistorySource, history_view
from .model import Report


def guest_records(report: Report) -> list[GuestRecord]:
    return [
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


def anomaly_records(report: Report) -> list[AnomalyRecord]:
    return [
        AnomalyRecord(a.severity.value, a.component, a.code, a.message) for a in report.anomalies
    ]


def run_summary(report: Report) -> dict[str, Any]:
    """What a run stores as its summary: the guests per verdict (the trend reads them) and,
    under `counts`, every count exactly as the report shows it (`counts.py`), so `history`
    prints the report's numbers."""
    summary: dict[str, Any] = dict(report.summary.verdicts)
    summary.update(
        {
            "guests_total": report.summary.guests_total,
            "last_failed": report.summary.last_failed or 0,
            "stale": report.summary.stale or 0,
            "anomalies_critical": report.summary.anomalies_critical,
            "anomalies_warning": report.summary.anomalies_warning,
            "counts": summary_counts(report.summary),
        }
    )
    return summary


def stored_counts(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The counts of a stored run; runs recorded before `counts` existed are recomputed from
    their verdicts with the same definitions (counts.py)."""
    counts = summary.get("counts")
    if isinstance(counts, dict):
        return counts
    legacy: dict[str, Any] = {k: summary.get(k) for k in ("guests_total", "last_failed", "stale")}
    return legacy | verdict_counts(summary)


def with_history(report: Report, source: HistorySource) -> Report:
    """The report with its history view (the current run compared with what was stored)."""
    view = history_view(
        source,
        guest_records(report),
        anomaly_records(report),
        run_summary(report),
        report.generated_at,
    )
    return replace(report, history=view)

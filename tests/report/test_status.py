"""Exit status from the report model: 0 / 1 / 2 (3 is the CLI's)."""

from __future__ import annotations

from dataclasses import replace

from pve_backup_report.exit_status import ExitStatus
from pve_backup_report.report.model import Report
from pve_backup_report.report.status import report_exit_status

from .scenario import build


def _only(report: Report, vmids: set[int], anomalies: tuple[int, int]) -> Report:
    guests = tuple(g for g in report.guests if g.vmid in vmids)
    summary = replace(
        report.summary, anomalies_critical=anomalies[0], anomalies_warning=anomalies[1]
    )
    return replace(report, guests=guests, summary=summary)


def test_all_covered_and_fresh_is_ok() -> None:
    assert report_exit_status(_only(build(), {100, 102, 106}, (0, 0))) is ExitStatus.OK


def test_warnings_only() -> None:
    assert report_exit_status(_only(build(), {100, 103}, (0, 0))) is ExitStatus.WARNING
    assert report_exit_status(_only(build(), {100}, (0, 1))) is ExitStatus.WARNING


def test_critical_guest_or_anomaly() -> None:
    assert report_exit_status(_only(build(), {100, 101}, (0, 0))) is ExitStatus.CRITICAL
    assert report_exit_status(_only(build(), {100}, (1, 0))) is ExitStatus.CRITICAL

"""The report's exit status (Nagios convention), derived only from the report model.

Why from the model: the exit code, the banner at the top of the report and the "what needs
attention" list must agree; all three read the same `attention_level` computed by the builder.
3 (UNKNOWN) is left to the CLI, which knows when collection failed.
"""

from __future__ import annotations

from ..exit_status import ExitStatus
from .model import Report


def report_exit_status(report: Report) -> ExitStatus:
    """0 all covered and fresh; 1 warnings only; 2 a guest not covered or whose last backup
    failed, or a critical anomaly."""
    levels = {g.attention_level for g in report.guests}
    if report.summary.anomalies_critical or "critical" in levels:
        return ExitStatus.CRITICAL
    if report.summary.anomalies_warning or "warning" in levels:
        return ExitStatus.WARNING
    return ExitStatus.OK

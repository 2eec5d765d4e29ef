"""The report's exit status (Nagios convention), derived only from the report model.

Why from the model: the exit code, the banner at the top of the report and the "what needs
attention" list must agree; all three read the same `attention_level` computed by the builder.
3 (UNKNOWN) when the guest list or the job list could not be read (`Report.unknown_cause`):
the findings then say nothing, and no output may look like an all-clear.
"""

from __future__ import annotations

from ..exit_status import ExitStatus
from .i18n import Translator
from .model import Report


def report_exit_status(report: Report) -> ExitStatus:
    """0 all covered and fresh; 1 warnings only; 2 a guest not covered or whose last backup
    failed, or a critical anomaly; 3 the cluster could not be read."""
    if report.unknown_cause is not None:
        return ExitStatus.UNKNOWN
    levels = {g.attention_level for g in report.guests}
    if report.summary.anomalies_critical or "critical" in levels:
        return ExitStatus.CRITICAL
    if report.summary.anomalies_warning or "warning" in levels:
        return ExitStatus.WARNING
    return ExitStatus.OK


def banner_text(tr: Translator, report: Report) -> str:
    """The status sentence at the top of every human format: the status and what triggered
    it (`findings.banner`); when the cluster could not be read it names the cause, so nobody
    mistakes an empty report for a clean one."""
    if report.unknown_cause is not None:
        return tr.t("status.unknown_cause", cause=report.unknown_cause)
    from .findings import banner  # findings reads the same model; imported late, no cycle

    return banner(report, report_exit_status(report).name.lower(), tr)

"""Exit statuses, the same as Nagios plugins so monitoring can use them directly."""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum

from .model import Anomaly, Severity


class ExitStatus(IntEnum):
    OK = 0  # everything covered and fresh
    WARNING = 1  # warnings only
    CRITICAL = 2  # at least one critical finding
    UNKNOWN = 3  # bad configuration, or collection failed so badly that verdicts are unknown


def from_anomalies(anomalies: Iterable[Anomaly]) -> ExitStatus:
    status = ExitStatus.OK
    for anomaly in anomalies:
        if anomaly.severity is Severity.CRITICAL:
            return ExitStatus.CRITICAL
        if anomaly.severity is Severity.WARNING:
            status = ExitStatus.WARNING
    return status

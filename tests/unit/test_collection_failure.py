"""When is a cluster "not read" (UNKNOWN), and which line names the cause."""

from __future__ import annotations

from dataclasses import replace

from pve_backup_report.model import Anomaly, Severity
from pve_backup_report.report.build import collection_failure

from .builders import guest, inventory, job


def _anomaly(severity: Severity, component: str, code: str, **details: str) -> Anomaly:
    return Anomaly(severity, component, code, f"{component} {code}", dict(details))


def test_read_cluster_with_minor_guest_problems_is_not_unknown() -> None:
    inv = replace(
        inventory([guest(100)], [job("a", all=1)]),
        anomalies=(
            # one guest's config of the wrong shape, and entries that were not objects
            _anomaly(Severity.WARNING, "guests", "unexpected_response", endpoint="/x/config"),
            _anomaly(Severity.INFO, "guests", "unexpected_response", endpoint="/cluster/resources"),
        ),
    )
    assert collection_failure(inv) is None


def test_unknown_guest_list_names_endpoint_and_reason() -> None:
    inv = replace(
        inventory([], [job("a", all=1)]),
        unreadable=frozenset({"guests"}),
        anomalies=(
            _anomaly(
                Severity.CRITICAL,
                "guests",
                "guests_unavailable",
                endpoint="/cluster/resources",
                error_message="HTTP 401 Authentication failed!",
            ),
        ),
    )
    assert collection_failure(inv) == (
        "cannot read the guest list (/cluster/resources): HTTP 401 Authentication failed!"
    )


def test_unknown_job_list_of_the_wrong_shape() -> None:
    inv = replace(
        inventory([guest(100)], []),
        jobs=None,
        anomalies=(
            _anomaly(
                Severity.CRITICAL,
                "jobs",
                "unexpected_response",
                endpoint="/cluster/backup",
                error_message="data is a dict, a list was expected",
            ),
        ),
    )
    assert collection_failure(inv) == (
        "cannot read the backup job list (/cluster/backup): data is a dict, a list was expected"
    )

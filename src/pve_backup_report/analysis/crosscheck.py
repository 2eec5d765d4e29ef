"""Compare our verdicts with Proxmox's own "guests without backup job" list.

Proxmox counts any job — disabled, or to any storage — as coverage. So a guest Proxmox lists
must be not_covered / excluded / opted_out for us, and a guest we call disabled_only must be
absent from its list. Anything else means one of us misread the configuration: report it.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..model import Anomaly, Severity
from .coverage import GuestCoverage, Verdict

UNSELECTED = {Verdict.NOT_COVERED, Verdict.EXCLUDED, Verdict.OPTED_OUT}


def cross_check(
    not_backed_up: tuple[int, ...] | None, coverage: Mapping[int, GuestCoverage]
) -> list[Anomaly]:
    if not_backed_up is None:
        return []
    listed = set(not_backed_up)
    out: list[Anomaly] = []
    for vmid, cov in sorted(coverage.items()):
        if cov.status is Verdict.INDETERMINATE:
            continue
        pve_says_unselected = vmid in listed
        we_say_unselected = cov.status in UNSELECTED
        if pve_says_unselected != we_say_unselected:
            pve_view = "in no job" if pve_says_unselected else "in a job"
            out.append(
                Anomaly(
                    Severity.WARNING,
                    "coverage",
                    "coverage_mismatch_pve",
                    f"Guest {vmid}: Proxmox says it is {pve_view}, our verdict is "
                    f"{cov.status.value}",
                    {
                        "vmid": vmid,
                        "verdict": cov.status.value,
                        "pve_not_backed_up": pve_says_unselected,
                    },
                )
            )
    for vmid in sorted(listed - set(coverage)):
        out.append(
            Anomaly(
                Severity.INFO,
                "coverage",
                "coverage_mismatch_pve",
                f"Guest {vmid} is in Proxmox's not-backed-up list but not in the guest list",
                {"vmid": vmid},
            )
        )
    return out

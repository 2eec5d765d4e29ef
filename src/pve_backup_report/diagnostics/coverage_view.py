"""`--dump-coverage`: per-guest verdicts as a table (what needs attention first) or JSON.

The JSON per-guest object is the same one the report model carries later, so scripts written
against `--dump-coverage --json` keep working with `--dump-report-data`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import IO, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..analysis.coverage import CoverageResult, GuestCoverage, Verdict
from ..model import Anomaly, Guest, GuestEvidence, GuestPbs, Inventory, PbsOrphan
from ..serialize import to_jsonable

VERDICT_STYLE = {
    Verdict.COVERED: "green",
    Verdict.COVERED_NON_PBS: "yellow",
    Verdict.OPTED_OUT: "dim",
    Verdict.EXCLUDED: "yellow",
    Verdict.INDETERMINATE: "yellow",
    Verdict.DISABLED_ONLY: "red",
    Verdict.NOT_COVERED: "bold red",
}


def evidence_json(evidence: GuestEvidence | None) -> dict[str, Any]:
    if evidence is None:
        return {
            "latest_backup": None,
            "last_success": None,
            "attempts": None,
            "failures": None,
            "freshness": None,
            "next_run": None,
        }
    return {
        "latest_backup": to_jsonable(evidence.latest_backup),
        "last_success": to_jsonable(evidence.last_success),
        "attempts": evidence.attempts,
        "failures": evidence.failures,
        "freshness": to_jsonable(evidence.freshness),
        "next_run": to_jsonable(evidence.next_run),
    }


def guest_json(
    guest: Guest,
    cov: GuestCoverage,
    evidence: GuestEvidence | None = None,
    pbs: GuestPbs | None = None,
) -> dict[str, Any]:
    return {
        "vmid": guest.vmid,
        "name": guest.name,
        "type": guest.type,
        "node": guest.node,
        "status": guest.status,
        "template": guest.template,
        "pool": guest.pool,
        "tags": list(guest.tags),
        "notes": guest.notes,
        "coverage": {
            "status": cov.status.value,
            "jobs": [ref.job_id for ref in cov.jobs],
            "job_details": [to_jsonable(ref) | {"effective": ref.effective} for ref in cov.jobs],
            "explanation": list(cov.explanation),
            "excluded_by": list(cov.excluded_by),
            "indeterminate_by": list(cov.indeterminate_by),
        },
        "excluded_disks": [to_jsonable(d) for d in guest.excluded_disks],
        **evidence_json(evidence),
        "pbs": to_jsonable(pbs),
    }


def sorted_guests(inventory: Inventory, coverage: CoverageResult) -> list[Guest]:
    return sorted(inventory.guests, key=lambda g: (coverage.guests[g.vmid].status.rank, g.vmid))


def all_anomalies(
    inventory: Inventory, coverage: CoverageResult, extra: list[Anomaly]
) -> list[Anomaly]:
    items = [*inventory.anomalies, *coverage.anomalies, *extra]
    return sorted(items, key=lambda a: (a.severity.rank, a.component, a.code))


def coverage_json(
    inventory: Inventory,
    coverage: CoverageResult,
    anomalies: list[Anomaly],
    evidence: Mapping[int, GuestEvidence] | None = None,
    pbs: Mapping[int, GuestPbs] | None = None,
    orphans: Sequence[PbsOrphan] = (),
) -> dict[str, Any]:
    jobs = []
    for job in inventory.jobs or ():
        sel = coverage.selections[job.job_id]
        jobs.append(
            to_jsonable(job)
            | {
                "selection_state": sel.state,
                "selected": list(sel.selected),
                "unknown_vmids": list(sel.unknown_vmids),
                "dropped_by_node": list(sel.dropped_by_node),
            }
        )
    return {
        "cluster": inventory.cluster_name,
        "summary": coverage.counts(),
        "guests": [
            guest_json(g, coverage.guests[g.vmid]) for g in sorted_guests(inventory, coverage)
        ],
        "jobs": jobs,
        "anomalies": [to_jsonable(a) for a in anomalies],
    }


def summary_line(coverage: CoverageResult) -> str:
    counts = coverage.counts()
    parts = [f"{counts[v.value]} {v.value}" for v in Verdict if counts[v.value]]
    return f"{len(coverage.guests)} guests: " + (", ".join(parts) if parts else "none")


def _last(evidence: GuestEvidence | None) -> Text:
    if evidence is None or evidence.latest_backup is None:
        return Text("no backup in history" if evidence is not None else "-", style="dim")
    latest = evidence.latest_backup
    when = latest.started_at.strftime("%Y-%m-%d %H:%M") if latest.started_at else "?"
    style = {"success": "green", "warning": "yellow", "failure": "red"}.get(latest.result, "")
    return Text(f"{latest.result} {when}", style=style)


def render_coverage(
    inventory: Inventory,
    coverage: CoverageResult,
    anomalies: list[Anomaly],
    out: IO[str],
    width: int | None = None,
    evidence: Mapping[int, GuestEvidence] | None = None,
) -> None:
    console = Console(file=out, width=width or 160, highlight=False, markup=False, emoji=False)
    table = Table(title="Backup coverage", title_justify="left")
    for column in ("vmid", "name", "type", "node", "verdict", "jobs", "last backup", "explanation"):
        table.add_column(column, overflow="fold")
    for guest in sorted_guests(inventory, coverage):
        cov = coverage.guests[guest.vmid]
        table.add_row(
            Text(str(guest.vmid)),
            Text(guest.name or "not specified", style="" if guest.name else "italic dim"),
            Text(guest.type + (" (template)" if guest.template else "")),
            Text(guest.node),
            Text(cov.status.value, style=VERDICT_STYLE[cov.status]),
            Text(", ".join(r.job_id for r in cov.jobs) or "-"),
            _last((evidence or {}).get(guest.vmid) if evidence is not None else None),
            Text("; ".join(cov.explanation)),
        )
    console.print(table)
    if anomalies:
        atable = Table(title="Anomalies", title_justify="left")
        for column in ("severity", "component", "code", "message"):
            atable.add_column(column, overflow="fold")
        for a in anomalies:
            atable.add_row(Text(a.severity.value), Text(a.component), Text(a.code), Text(a.message))
        console.print(atable)
    console.print(Text(summary_line(coverage)))

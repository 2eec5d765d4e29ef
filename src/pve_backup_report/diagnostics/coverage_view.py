"""`--dump-coverage`: per-guest verdicts as a table (what needs attention first) or JSON.

The JSON per-guest object is the report model's own (`report.render_json.guest_data`, passed in
by the CLI), so scripts written against `--dump-coverage --json` keep working with
`--dump-report-data` and both carry the same evidence and backup server fields.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import IO, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..analysis.coverage import CoverageResult, Verdict
from ..model import Anomaly, Guest, GuestEvidence, Inventory
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
    guests: Mapping[int, dict[str, Any]],
    orphans: Sequence[dict[str, Any]] = (),
    *,
    evidence_collected: bool = False,
    pbs_collected: bool = False,
) -> dict[str, Any]:
    """`guests`: each guest's JSON object *as the report model serialises it* (VMID → object),
    so `--dump-coverage --json` and `--dump-report-data` cannot drift apart; this view only
    orders them (what needs attention first) and adds the job selections."""
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
        "evidence_collected": evidence_collected,
        "pbs_collected": pbs_collected,
        "summary": coverage.counts(),
        "guests": [guests[g.vmid] for g in sorted_guests(inventory, coverage)],
        "jobs": jobs,
        "pbs_orphans": list(orphans),
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

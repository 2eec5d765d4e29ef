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
from ..report.i18n import Translator
from ..serialize import to_jsonable
from .words import word

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
    unknown_cause: str | None = None,
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
        "unknown_cause": unknown_cause,
        # the cluster was not read: no count (unknown, not 0)
        "summary": None if unknown_cause is not None else coverage.counts(),
        "guests": [guests[g.vmid] for g in sorted_guests(inventory, coverage)],
        "jobs": jobs,
        "pbs_orphans": list(orphans),
        "anomalies": [to_jsonable(a) for a in anomalies],
    }


def summary_line(coverage: CoverageResult, tr: Translator | None = None) -> str:
    """`9 guests: 4 covered, …` (English: verdict codes; other languages: their labels)."""
    counts = coverage.counts()
    if tr is None or tr.lang == "en":
        parts = [f"{counts[v.value]} {v.value}" for v in Verdict if counts[v.value]]
        return f"{len(coverage.guests)} guests: " + (", ".join(parts) if parts else "none")
    parts = [
        f"{tr.t('verdict.' + v.value)}{tr.punct(':')} {tr.number(counts[v.value])}"
        for v in Verdict
        if counts[v.value]
    ]
    head = tr.plural("text.n.guests", len(coverage.guests))
    return f"{head}{tr.punct(':')} " + (", ".join(parts) if parts else word(tr, "none"))


def _last(evidence: GuestEvidence | None, tr: Translator | None = None) -> Text:
    if evidence is None or evidence.latest_backup is None:
        text = word(tr, "no backup in history") if evidence is not None else "-"
        return Text(text, style="dim")
    latest = evidence.latest_backup
    when = latest.started_at.strftime("%Y-%m-%d %H:%M") if latest.started_at else "?"
    if tr is not None and latest.started_at is not None:
        when = tr.datetime_z(latest.started_at) or when
    result = tr.t(f"result.{latest.result}") if tr is not None else latest.result
    style = {"success": "green", "warning": "yellow", "failure": "red"}.get(latest.result, "")
    return Text(f"{result} {when}", style=style)


def render_coverage(
    inventory: Inventory,
    coverage: CoverageResult,
    anomalies: list[Anomaly],
    out: IO[str],
    width: int | None = None,
    evidence: Mapping[int, GuestEvidence] | None = None,
    tr: Translator | None = None,
    explanations: Mapping[int, Sequence[str]] | None = None,
) -> None:
    """The coverage table in `tr`'s language; `explanations` (VMID → lines, e.g. the report
    model's `explanation_text`) replace the engine's English explanation when given."""
    console = Console(file=out, width=width or 160, highlight=False, markup=False, emoji=False)
    table = Table(title=word(tr, "Backup coverage"), title_justify="left")
    for column in ("vmid", "name", "type", "node", "verdict", "jobs", "last backup", "explanation"):
        table.add_column(word(tr, column), overflow="fold")
    for guest in sorted_guests(inventory, coverage):
        cov = coverage.guests[guest.vmid]
        verdict = tr.t(f"verdict.{cov.status.value}") if tr is not None else cov.status.value
        lines = (explanations or {}).get(guest.vmid, cov.explanation)
        unset = word(tr, "not specified")
        table.add_row(
            Text(str(guest.vmid)),
            Text(guest.name or unset, style="" if guest.name else "italic dim"),
            Text(guest.type + (f" ({word(tr, 'template')})" if guest.template else "")),
            Text(guest.node),
            Text(verdict, style=VERDICT_STYLE[cov.status]),
            Text(", ".join(r.job_id for r in cov.jobs) or "-"),
            _last((evidence or {}).get(guest.vmid) if evidence is not None else None, tr),
            Text(f"{tr.punct(';') if tr is not None else ';'} ".join(lines)),
        )
    console.print(table)
    if anomalies:
        atable = Table(title=word(tr, "Anomalies"), title_justify="left")
        for column in ("severity", "component", "code", "message"):
            atable.add_column(word(tr, column), overflow="fold")
        for a in anomalies:
            message = tr.anomaly(a.code, a.message, a.details) if tr is not None else a.message
            atable.add_row(
                Text(word(tr, a.severity.value)), Text(a.component), Text(a.code), Text(message)
            )
        console.print(atable)
    console.print(Text(summary_line(coverage, tr)))

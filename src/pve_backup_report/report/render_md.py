"""Markdown: the summary and the tables, for wikis, tickets and chat.

Cells are escaped for Markdown *and* HTML (most renderers pass inline HTML through): a guest
named `<script>` or `a|b` must not become markup or break the table.
"""

from __future__ import annotations

import re

from ..sanitize import strip_controls
from .copies_text import copies_md, with_copies_column
from .counts import SUMMARY_TILES
from .findings import findings
from .history_view import HistoryView
from .i18n import Translator, zone_label
from .model import GuestRow, JobRow, Report
from .notes import notes_plain
from .pbs_text import code_label, keep_text, namespace, pbs_cell
from .safe_text import clip, visible
from .status import banner_text

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
_LINE_START = re.compile(r"^[#+\-!=]")
_ORDERED = re.compile(r"^(\d+)([.)])")  # "1." starts a list: escape the dot, not the digit


def cell(value: object, limit: int = 300) -> str:
    """One table cell or list item: no markup, no HTML, no line break, no `|`."""
    text = visible(str(value))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    text = _LINE_START.sub(lambda m: "\\" + m.group(), text)
    text = _ORDERED.sub(r"\1\\\2", text)
    return clip(text, limit)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out.extend("| " + " | ".join(r) + " |" for r in rows)
    return out


def _attempt(tr: Translator, g: GuestRow) -> str:
    lb = g.latest_backup
    if lb is None:
        return "" if not g.attempts else "?"
    when = tr.datetime_z(lb.ended_at or lb.started_at) or ""
    return f"{tr.t('result.' + lb.result)} {when}".strip()


def _pbs(tr: Translator, g: GuestRow, collected: bool) -> str:
    c = pbs_cell(tr, g, collected)
    return " ".join(x for x in (c.badge, c.when, c.lines[0] if c.lines else None) if x)


def _changes(tr: Translator, history: HistoryView | None) -> list[str]:
    if history is None:
        return [tr.t("history.none")]
    c = history.changes
    if c is None:
        return [tr.t("changes.first")]
    when = tr.datetime(history.previous_at, with_zone=True) if history.previous_at else ""
    lines = [cell(tr.t("changes.since", when=when)), ""]
    if c.empty:
        return [*lines, tr.t("changes.nothing")]
    groups = (
        ("newly_uncovered", c.newly_uncovered),
        ("newly_failing", c.newly_failing),
        ("recovered", c.recovered),
        ("new_guests", c.new_guests),
        ("deleted_guests", c.deleted_guests),
    )
    for key, items in groups:
        if not items:
            continue
        lines.append(f"- **{tr.t('changes.' + key)}** ({len(items)})")
        for x in items:
            move = (
                f"{code_label(tr, x.before)} → {code_label(tr, x.after)}"
                if x.before is not None and x.after is not None
                else code_label(tr, x.after if x.after is not None else x.before)
            )
            name = x.name or tr.t("value.not_specified")
            lines.append(f"  - {x.vmid} {cell(name)} ({cell(move)})")
    if c.new_anomalies:
        lines.append(f"- **{tr.t('changes.new_anomalies')}** ({len(c.new_anomalies)})")
        lines.extend(
            f"  - {tr.t('severity.' + a.severity)} `{a.code}` ×{a.count}" for a in c.new_anomalies
        )
    return lines


def _servers(tr: Translator, report: Report) -> list[str]:
    if not report.pbs_collected:
        return [tr.t("servers.not_collected")]
    lines: list[str] = []
    if not report.pbs_servers:
        lines += [tr.t("servers.fallback_only"), ""]
    ns = f"*{tr.t('value.not_specified')}*"
    for srv in report.pbs_servers:
        state = tr.t("servers.reachable" if srv.reachable else "servers.unreachable")
        lines += [f"### {cell(srv.name)} ({state})", ""]
        if srv.datastores:
            header = ("datastore", "usage", "full_estimate", "gc", "namespaces")
            lines += _table(
                [tr.t("col." + h) for h in header],
                [
                    [
                        cell(ds.name),
                        ns if ds.usage_percent is None else tr.pct(ds.usage_percent),
                        tr.date(ds.estimated_full) if ds.estimated_full else ns,
                        tr.t("gc." + ds.gc_state),
                        cell(", ".join(namespace(tr, n) for n in ds.namespaces)),
                    ]
                    for ds in srv.datastores
                ],
            )
            lines.append("")
        if srv.retention:
            lines += [f"**{tr.t('servers.retention_title')}**", ""]
            lines += _table(
                [tr.t("col." + h) for h in ("job", "scope", "keep", "last_run")],
                [
                    [
                        cell(p.source),
                        cell(f"{p.datastore} · {namespace(tr, p.namespace)}"),
                        cell(keep_text(p.keep)) if p.keep else ns,
                        cell(p.last_run_state) if p.last_run_state else ns,
                    ]
                    for p in srv.retention
                ],
            )
            lines.append("")
        if srv.verify_jobs:
            lines += [f"**{tr.t('servers.verify_title')}**", ""]
            lines += _table(
                [tr.t("col." + h) for h in ("job", "scope", "schedule", "last_run")],
                [
                    [
                        cell(j.job_id),
                        cell(f"{j.datastore} · {namespace(tr, j.namespace)}"),
                        cell(j.schedule) if j.schedule else ns,
                        cell(j.last_run_state) if j.last_run_state else ns,
                    ]
                    for j in srv.verify_jobs
                ],
            )
            lines.append("")
    lines += [f"### {tr.t('servers.orphans_title')}", ""]
    if not report.pbs_orphans:
        return [*lines, tr.t("servers.orphans_none")]
    orphan_header = ("backup_group", "server", "scope", "last_backup", "size", "comment")
    lines += _table(
        [tr.t("col." + h) for h in orphan_header],
        [
            [
                cell(f"{o.backup_type}/{o.backup_id}"),
                cell(o.server),
                cell(f"{o.datastore} · {namespace(tr, o.namespace)}"),
                tr.datetime_z(o.last_backup) or ns,
                tr.size(o.size_bytes) or ns,
                cell(o.comment or ""),
            ]
            for o in report.pbs_orphans
        ],
    )
    return lines


def _history(tr: Translator, history: HistoryView | None) -> list[str]:
    if history is None:
        return [tr.t("history.none")]
    lines = [f"### {tr.plural('history.trend_title', len(history.trend))}", ""]
    lines += _table(
        [tr.t("col." + h) for h in ("date", "coverage_pct", "failed", "stale")],
        [
            [
                tr.datetime_z(p.at) or "",
                "—" if p.coverage_percent is None else tr.pct(p.coverage_percent),
                tr.number(p.failed),
                tr.number(p.stale),
            ]
            for p in history.trend
        ],
    )
    lines += ["", f"### {tr.t('history.grid_title', n=len(history.days))}", ""]
    header = [tr.t("col.vmid"), tr.t("col.name")] + [d.strftime("%d") for d in history.days]
    lines += _table(
        header,
        [
            [str(r.vmid), cell(r.name or "", 60)] + [tr.t("letter." + s) for s in r.cells]
            for r in history.grid
        ],
    )
    legend = " · ".join(
        f"{tr.t('letter.' + s)} {tr.t('cell.' + s)}"
        for s in ("success", "warning", "failure", "running", "undetermined", "not_covered",
                  "no_backup", "opted_out", "no_data")
    )  # fmt: skip
    return [*lines, "", cell(legend, 1000), "", tr.t("history.grid_note")]


def _guest_rows(tr: Translator, report: Report) -> list[list[str]]:
    ns = f"*{tr.t('value.not_specified')}*"
    rows = []
    for g in report.guests:
        success = g.last_success
        rows.append(
            [
                str(g.vmid),
                cell(g.name) if g.name else ns,
                tr.t(f"type.{g.type}"),
                cell(g.node),
                cell(g.pool) if g.pool else ns,
                cell(", ".join(g.tags)),
                tr.t(f"verdict.{g.coverage.status}"),
                cell(", ".join(g.coverage.jobs)),
                cell(_attempt(tr, g)),
                cell(tr.datetime_z(success.ended_at or success.started_at) or "")
                if success
                else "",
                cell(_pbs(tr, g, report.pbs_collected)),
                cell(notes_plain(g.notes, 120) or ""),
            ]
        )
    return rows


def _schedule_text(tr: Translator, job: JobRow) -> str:
    """The readable schedule and the zone its times are in (node time)."""
    text = job.schedule_text or ""
    if job.schedule_zone:
        text += f", {tr.t('jobs.schedule_zone', zone=job.schedule_zone)}"
    elif job.schedule_zone is not None:
        text += f", {tr.t('jobs.schedule_zone_unknown')}"
    return text


def render_md(report: Report) -> str:
    tr = Translator(report.lang, report.generated_at.tzinfo)
    s = report.summary
    when = f"{tr.datetime(report.generated_at)} {zone_label(report.generated_at)}"
    cluster = cell(report.cluster.label or report.cluster.name or tr.t("value.not_specified"))
    na = tr.t("value.not_collected")
    lines = [
        f"# {tr.t('report.title')} — {cluster}",
        "",
        cell(tr.t("report.generated", when=when) + f" · pve-backup-report {report.tool_version}"),
        "",
        f"**{cell(banner_text(tr, report))}**",
        "",
        f"## {tr.t('section.summary')}",
        "",
    ]
    kpis = [(code, getattr(s, code)) for code, _ in SUMMARY_TILES]
    not_read = tr.t("value.unknown") if report.unknown_cause is not None else None
    rows = [[tr.t(f"kpi.{k}"), not_read or (na if v is None else tr.number(v))] for k, v in kpis]
    rows.append([tr.t("kpi.anomalies"), f"{s.anomalies_critical} / {s.anomalies_warning}"])
    if report.copies is not None:
        c = report.copies
        rows.append([tr.t("kpi.offsite"), f"{c.guests_with_offsite} / {c.guests_judged}"])
    lines += _table(["", ""], rows)
    lines += ["", f"## {tr.t('section.attention')}", ""]
    attention = report.attention_rows()
    items = findings(report, tr)
    for f in items:  # every finding first, the most serious first (as in the HTML)
        code = f"`{f.code}`" if f.kind == "anomaly" else ", ".join(map(str, f.vmids[:30]))
        lines.append(f"- **{tr.t('level.' + f.level)}** {cell(f.text)} ({code})")
    if items:
        lines.append("")
    if not attention:
        unknown = report.unknown_cause is not None
        lines.append(tr.t("attention.unknown" if unknown else "attention.none"))
    for g in attention:
        reasons = ", ".join(tr.t(f"reason.{r}") for r in g.attention)
        name = cell(g.name) if g.name else tr.t("value.not_specified")
        level = tr.t(f"level.{g.attention_level}")
        item = tr.t("md.item", vmid=g.vmid, name=name, level=level, reasons=cell(reasons))
        lines.append(f"- {item}")
        lines.extend(f"  - {cell(line)}" for line in g.explanation_text)
    lines += ["", f"## {tr.t('section.changes')}", ""]
    lines += _changes(tr, report.history)
    lines += ["", f"## {tr.t('section.guests')}", ""]
    header = ("vmid", "name", "type", "node", "pool", "tags", "verdict", "jobs", "last_backup",
              "last_success", "pbs", "notes")  # fmt: skip
    guest_header, guest_rows = [tr.t("col." + h) for h in header], _guest_rows(tr, report)
    with_copies_column(tr, report, guest_header, guest_rows)
    lines += _table(guest_header, guest_rows)
    lines += ["", f"## {tr.t('section.jobs')}", ""]
    job_rows = [
        [
            cell(j.job_id),
            tr.t("jobs.active" if j.enabled else "jobs.inactive"),
            cell(j.schedule or "")
            + (f" ({cell(_schedule_text(tr, j))})" if j.schedule_text else ""),
            cell(tr.datetime_z(j.next_run) or ""),
            cell(j.storage or ""),
            str(len(j.selected)),
            cell(j.comment or ""),
        ]
        for j in report.jobs
    ]
    job_header = ["job", "state", "schedule", "", "storage", "selected", "comment"]
    job_labels = [tr.t("col." + h) if h else tr.t("jobs.next_run") for h in job_header]
    lines += _table(job_labels, job_rows)
    lines += ["", f"## {tr.t('section.servers')}", ""]
    lines += _servers(tr, report)
    lines += copies_md(tr, report, cell)
    lines += ["", f"## {tr.t('section.history')}", ""]
    lines += _history(tr, report.history)
    lines += ["", f"## {tr.t('section.anomalies')}", ""]
    if not report.anomalies:
        lines.append(tr.t("anomalies.none"))
    else:
        lines += _table(
            [tr.t(f"col.{c}") for c in ("severity", "component", "code", "message")],
            [
                [
                    tr.t(f"severity.{a.severity.value}"),
                    cell(a.component),
                    cell(a.code),
                    cell(tr.anomaly(a.code, a.message, a.details)),
                ]
                for a in report.anomalies
            ],
        )
    lines += ["", tr.t("method.exit")]
    return strip_controls("\n".join(lines) + "\n", "\t\n")  # safety net, see `sanitize`

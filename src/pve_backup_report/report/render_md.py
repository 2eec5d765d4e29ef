"""Markdown: the summary and the tables, for wikis, tickets and chat.

Cells are escaped for Markdown *and* HTML (most renderers pass inline HTML through): a guest
named `<script>` or `a|b` must not become markup or break the table.
"""

from __future__ import annotations

import re

from .i18n import Translator, zone_label
from .model import GuestRow, Report
from .notes import notes_plain
from .safe_text import clip, visible
from .status import report_exit_status

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
_LINE_START = re.compile(r"^([#+\-!=]|\d+[.)])")


def cell(value: object, limit: int = 300) -> str:
    """One table cell or list item: no markup, no HTML, no line break, no `|`."""
    text = visible(str(value))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    text = _LINE_START.sub(r"\\\1", text)
    return clip(text, limit)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out.extend("| " + " | ".join(r) + " |" for r in rows)
    return out


def _attempt(tr: Translator, g: GuestRow) -> str:
    lb = g.latest_backup
    if lb is None:
        return "" if not g.attempts else "?"
    when = tr.datetime(lb.ended_at or lb.started_at) or ""
    return f"{tr.t('result.' + lb.result)} {when}".strip()


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
                cell(tr.datetime(success.ended_at or success.started_at) or "") if success else "",
                cell(notes_plain(g.notes, 120) or ""),
            ]
        )
    return rows


def render_md(report: Report) -> str:
    tr = Translator(report.lang, report.generated_at.tzinfo)
    s = report.summary
    when = f"{tr.datetime(report.generated_at)} {zone_label(report.generated_at)}"
    cluster = cell(report.cluster.name or tr.t("value.not_specified"))
    na = tr.t("value.not_collected")
    status = report_exit_status(report).name.lower()
    lines = [
        f"# {tr.t('report.title')} — {cluster}",
        "",
        cell(tr.t("report.generated", when=when) + f" · pve-backup-report {report.tool_version}"),
        "",
        f"**{cell(tr.t('status.' + status))}**",
        "",
        f"## {tr.t('section.summary')}",
        "",
    ]
    kpis = [
        ("guests_total", s.guests_total),
        ("covered_pbs", s.covered_pbs),
        ("covered_other", s.covered_other),
        ("not_covered", s.not_covered),
        ("excluded_opted_out", s.excluded_opted_out),
        ("indeterminate", s.indeterminate),
        ("last_failed", s.last_failed),
        ("stale", s.stale),
        ("not_verified", s.not_verified),
    ]
    rows = [[tr.t(f"kpi.{k}"), na if v is None else tr.number(v)] for k, v in kpis]
    rows.append([tr.t("kpi.anomalies"), f"{s.anomalies_critical} / {s.anomalies_warning}"])
    lines += _table(["", ""], rows)
    lines += ["", f"## {tr.t('section.attention')}", ""]
    attention = report.attention_rows()
    if not attention:
        lines.append(tr.t("attention.none"))
    for g in attention:
        reasons = ", ".join(tr.t(f"reason.{r}") for r in g.attention)
        name = cell(g.name) if g.name else tr.t("value.not_specified")
        level = tr.t(f"level.{g.attention_level}")
        item = tr.t("md.item", vmid=g.vmid, name=name, level=level, reasons=cell(reasons))
        lines.append(f"- {item}")
        lines.extend(f"  - {cell(line)}" for line in g.explanation_text)
    lines += ["", f"## {tr.t('section.guests')}", ""]
    header = ("vmid", "name", "type", "node", "pool", "tags", "verdict", "jobs", "last_backup",
              "last_success", "notes")  # fmt: skip
    lines += _table([tr.t("col." + h) for h in header], _guest_rows(tr, report))
    lines += ["", f"## {tr.t('section.jobs')}", ""]
    job_rows = [
        [
            cell(j.job_id),
            tr.t("jobs.active" if j.enabled else "jobs.inactive"),
            cell(j.schedule or "") + (f" ({cell(j.schedule_text)})" if j.schedule_text else ""),
            cell(tr.datetime(j.next_run) or ""),
            cell(j.storage or ""),
            str(len(j.selected)),
            cell(j.comment or ""),
        ]
        for j in report.jobs
    ]
    job_header = ["job", "state", "schedule", "", "storage", "selected", "comment"]
    job_labels = [tr.t("col." + h) if h else tr.t("jobs.next_run") for h in job_header]
    lines += _table(job_labels, job_rows)
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
                    cell(a.message),
                ]
                for a in report.anomalies
            ],
        )
    lines += ["", tr.t("method.exit")]
    return "\n".join(lines) + "\n"

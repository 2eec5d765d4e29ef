"""Compact terminal summary (`--format text` or output `-`): the counts, then only what needs
attention. Meant to be read in an SSH session or a cron mail; the full detail is in the files.
"""

from __future__ import annotations

from ..sanitize import strip_controls
from .copies_text import copies_line
from .findings import findings
from .history_view import HistoryView
from .i18n import Translator, zone_label
from .model import GuestRow, Report
from .pbs_text import pbs_cell
from .safe_text import clip, visible
from .status import banner_text, report_exit_status

MAX_ITEMS = 50
WIDTH = 100


def _guest_line(tr: Translator, g: GuestRow) -> list[str]:
    name = visible(g.name) if g.name else tr.t("value.not_specified")
    level = tr.t(f"level.{g.attention_level}").upper()
    reasons = ", ".join(tr.t(f"reason.{r}") for r in g.attention)
    head = "  " + tr.t(
        "text.item",
        level=level,
        vmid=g.vmid,
        name=clip(name, 40),
        node=visible(g.node),
        reasons=reasons,
    )
    lines = [clip(head, WIDTH + 40)]
    detail = list(g.explanation_text[:3])
    lb = g.latest_backup
    if lb is not None and lb.error:
        detail.append(lb.error)
    if lb is not None and lb.size_bytes is not None and lb.size_kind is not None:
        kind = tr.t(f"size_kind.{lb.size_kind}")
        detail.append(tr.t("text.size", size=tr.size(lb.size_bytes), kind=kind))
    if any(r.startswith("pbs_") for r in g.attention):
        c = pbs_cell(tr, g, True)
        where = c.lines[0] if c.lines else ""
        detail.append(" ".join(x for x in (tr.t("attention.pbs"), c.badge, c.when, where) if x))
    lines.extend("      " + clip(visible(d), WIDTH) for d in detail)
    return lines


def _changes(tr: Translator, history: HistoryView | None) -> list[str]:
    if history is None:
        return [tr.t("history.none")]
    c = history.changes
    if c is None or history.previous_at is None:
        return [tr.t("changes.first")]
    lines = [tr.t("text.changes", when=tr.datetime(history.previous_at, with_zone=True))]
    if c.empty:
        return [*lines, "  " + tr.t("changes.nothing")]
    groups = (
        ("newly_uncovered", c.newly_uncovered),
        ("newly_failing", c.newly_failing),
        ("recovered", c.recovered),
        ("new_guests", c.new_guests),
        ("deleted_guests", c.deleted_guests),
    )
    for key, items in groups:
        if items:
            names = ", ".join(
                f"{x.vmid} {clip(visible(x.name), 30)}" if x.name else str(x.vmid) for x in items
            )
            text = tr.t("text.change", label=tr.t("changes." + key), items=names)
            lines.append(clip("  " + text, WIDTH + 40))
    if c.new_anomalies:
        codes = ", ".join(a.code for a in c.new_anomalies)
        text = tr.t("text.change", label=tr.t("changes.new_anomalies"), items=codes)
        lines.append(clip("  " + text, WIDTH + 40))
    return lines


def render_text(report: Report) -> str:
    tr = Translator(report.lang, report.generated_at.tzinfo)
    s = report.summary
    when = f"{tr.datetime(report.generated_at)} {zone_label(report.generated_at)}"
    cluster = visible(report.cluster.label or report.cluster.name or tr.t("value.not_specified"))
    na = tr.t("value.not_collected")
    lines = [tr.t("text.title", cluster=cluster, when=when)]
    # the status and why; when the cluster could not be read, its cause, before any figure
    lines.append(visible(banner_text(tr, report)))
    counts = [
        tr.t(
            "text.counts",
            guests=tr.plural("text.n.guests", s.guests_total),
            parts=", ".join(
                [
                    tr.plural("text.n.covered_pbs", s.covered_pbs),
                    tr.plural("text.n.covered_other", s.covered_other),
                    tr.plural(
                        "text.n.not_covered_disabled" if s.disabled_only else "text.n.not_covered",
                        s.not_covered,
                        disabled=tr.number(s.disabled_only),
                    ),
                    tr.plural("text.n.excluded", s.excluded_opted_out),
                    tr.plural("text.n.indeterminate", s.indeterminate),
                ]
            ),
        ),
        tr.t(
            "text.evidence",
            failed=na if s.last_failed is None else tr.number(s.last_failed),
            stale=na if s.stale is None else tr.number(s.stale),
        ),
        tr.t(
            "text.pbs",
            not_verified=na if s.not_verified is None else tr.number(s.not_verified),
            orphans=tr.number(len(report.pbs_orphans)) if report.pbs_collected else na,
        ),
        *copies_line(tr, report),
    ]
    if report.unknown_cause is not None:  # nothing was counted: no figure that could reassure
        counts = [tr.t("text.counts_unknown", unknown=tr.t("value.unknown"))]
    lines += [
        *counts,
        tr.t(
            "text.anomalies",
            critical=tr.plural("text.n.critical", s.anomalies_critical),
            warning=tr.plural("text.n.warning", s.anomalies_warning),
        ),
        "",
    ]
    items = [f for f in findings(report, tr) if f.kind == "anomaly"]
    if items:  # job, storage and cluster findings first, as in the report
        lines.append(tr.t("text.findings") + tr.punct(":"))
        for f in items[:MAX_ITEMS]:
            level = tr.t(f"level.{f.level}").upper()
            lines.append(clip(f"  [{level}] {visible(f.text)} ({f.code})", WIDTH + 40))
        if len(items) > MAX_ITEMS:
            lines.append("  " + tr.t("text.more", n=tr.number(len(items) - MAX_ITEMS)))
        lines.append("")
    rows = report.attention_rows()
    if rows:
        lines.append(tr.t("text.attention", n=tr.number(len(rows))))
        for g in rows[:MAX_ITEMS]:
            lines.extend(_guest_line(tr, g))
        if len(rows) > MAX_ITEMS:
            lines.append("  " + tr.t("text.more", n=tr.number(len(rows) - MAX_ITEMS)))
    elif report.unknown_cause is not None:
        lines.append(tr.t("attention.unknown"))
    else:
        lines.append(tr.t("attention.none"))
    lines += ["", *_changes(tr, report.history)]
    serious = [a for a in report.anomalies if a.severity.value != "info"]
    if serious:
        lines += ["", tr.t("text.anomalies_title")]
        for a in serious[:MAX_ITEMS]:
            sev = tr.t(f"severity.{a.severity.value}").upper()
            message = visible(tr.anomaly(a.code, a.message, a.details))
            line = tr.t("text.anomaly", severity=sev, code=a.code, message=message)
            lines.append(clip("  " + line, WIDTH + 40))
        if len(serious) > MAX_ITEMS:
            lines.append("  " + tr.t("text.more", n=tr.number(len(serious) - MAX_ITEMS)))
    lines += ["", tr.t("text.status", status=report_exit_status(report).name)]
    return strip_controls("\n".join(lines) + "\n", "\t\n")  # safety net, see `sanitize`

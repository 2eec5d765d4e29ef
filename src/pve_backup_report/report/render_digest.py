"""The e-mail digest: what a reader needs without opening the attachment, in HTML and text.

Why a digest and not the report: mail clients clip long messages (Gmail at 102 KB) and most
drop `<style>` blocks and CSS variables, so the full report arrived clipped and colourless.
The digest says the status and why, the counts, what needs attention (capped, "… and N more
in the attached report") and the changes since the previous report; its size is bounded
whatever the cluster's size. Layout is tables only, and every style is inlined by css-inline
from the template's plain stylesheet (hex colours, no variables), so a client that strips
`<style>` still shows red and amber. The text part says the same things in the same order.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import css_inline

from ..sanitize import strip_controls
from .counts import SUMMARY_TILES
from .findings import Finding, findings
from .i18n import Translator, report_zone, zone_label
from .model import GuestRow, Report
from .render_html import environment
from .safe_text import clip, visible
from .status import banner_text, report_exit_status

FINDINGS_CAP = 15  # findings named; the rest counted
GUESTS_CAP = 25  # guests needing attention listed, most serious first
VMIDS_CAP = 12  # VMIDs named after one finding
CHANGES_CAP = 10  # guests named per kind of change
TEXT_WIDTH = 100
NAME_WIDTH = 40  # a guest name longer than this is clipped (names are user-written)
CHANGE_KINDS = ("newly_uncovered", "newly_failing", "recovered", "new_guests", "deleted_guests")
CHANGE_CLASS = {
    "newly_uncovered": "bad",
    "newly_failing": "bad",
    "recovered": "ok",
    "new_guests": "info",
    "deleted_guests": "muted",
}


@dataclass(frozen=True)
class Count:
    code: str
    text: str  # the number(s) in the report's notation, or "not collected"
    css: str  # "" when zero or not collected: only non-zero problems are coloured


@dataclass(frozen=True)
class ChangeRow:
    kind: str
    css: str
    total: int
    items: tuple[str, ...]  # "101 db (success → failure)"


def _counts(tr: Translator, report: Report) -> list[Count]:
    """The summary's counts, as the report's tiles show them."""
    s = report.summary
    out = []
    for code, level in SUMMARY_TILES:
        value: int | None = getattr(s, code)
        if report.unknown_cause is not None:  # nothing was counted: no figure that reassures
            out.append(Count(code, tr.t("value.unknown"), ""))
            continue
        text = tr.t("value.not_collected") if value is None else tr.number(value)
        out.append(Count(code, text, level if value else ""))
    level = "bad" if s.anomalies_critical else "warn" if s.anomalies_warning else ""
    both = f"{tr.number(s.anomalies_critical)} / {tr.number(s.anomalies_warning)}"
    out.append(Count("anomalies", both, level))
    return out


def _guest_name(tr: Translator, name: str | None) -> str:
    return clip(visible(name), NAME_WIDTH) if name else tr.t("value.not_specified")


def _guest_line(tr: Translator, g: GuestRow) -> str:
    reasons = ", ".join(tr.t(f"reason.{r}") for r in g.attention)
    return f"{g.vmid} {_guest_name(tr, g.name)} ({g.node}){tr.punct(':')} {reasons}"


def _code(tr: Translator, code: str | None) -> str:
    if code is None:
        return "—"
    for key in (f"verdict.{code}", f"result.{code}"):
        if tr.has(key):
            return tr.t(key)
    return code


def _changes(tr: Translator, report: Report) -> list[ChangeRow] | None:
    """None: nothing to compare with (no history, or the first run)."""
    if report.history is None or report.history.changes is None:
        return None
    c = report.history.changes
    rows = []
    for kind in CHANGE_KINDS:
        items = getattr(c, kind)
        if not items:
            continue
        named = tuple(
            f"{x.vmid} {_guest_name(tr, x.name)} ({_code(tr, x.before)} → {_code(tr, x.after)})"
            if x.before is not None and x.after is not None
            else f"{x.vmid} {_guest_name(tr, x.name)}"
            for x in items[:CHANGES_CAP]
        )
        rows.append(ChangeRow(kind, CHANGE_CLASS[kind], len(items), named))
    if c.new_anomalies:
        named = tuple(f"{a.code} ×{a.count}" for a in c.new_anomalies[:CHANGES_CAP])
        rows.append(ChangeRow("new_anomalies", "warn", len(c.new_anomalies), named))
    return rows


def digest_context(report: Report) -> dict[str, Any]:
    """Everything both parts show, capped, in the report's language."""
    tr = Translator(report.lang, report.generated_at.tzinfo)
    status = report_exit_status(report).name.lower()
    items: list[Finding] = findings(report, tr)
    attention = report.attention_rows()
    changes = _changes(tr, report)
    return {
        "r": report,
        "tr": tr,
        "status": status,
        "banner": banner_text(tr, report),
        "generated": f"{tr.datetime(report.generated_at)} {zone_label(report.generated_at)}",
        "zone": report_zone(report.generated_at),
        "cluster_name": report.cluster.label or report.cluster.name or tr.t("value.not_specified"),
        "counts": _counts(tr, report),
        "findings": items[:FINDINGS_CAP],
        "findings_more": max(len(items) - FINDINGS_CAP, 0),
        "guests": attention[:GUESTS_CAP],
        "guests_more": max(len(attention) - GUESTS_CAP, 0),
        "guest_name": lambda name: _guest_name(tr, name),
        "VMIDS_CAP": VMIDS_CAP,
        "changes": changes,
        "previous_at": (
            tr.datetime(report.history.previous_at, with_zone=True)
            if report.history is not None and report.history.previous_at is not None
            else None
        ),
    }


@lru_cache(maxsize=1)
def _inliner() -> css_inline.CSSInliner:
    return css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)


def render_digest_html(report: Report) -> str:
    """The digest's HTML part: tables for layout, every style inlined, no `<style>` left."""
    html = environment().get_template("digest.html.j2").render(**digest_context(report))
    return strip_controls(str(_inliner().inline(html)), "\t\n\r")  # safety net, `sanitize`


def render_digest_text(report: Report) -> str:
    """The digest's plain-text part: the same content as the HTML, in the same order."""
    ctx = digest_context(report)
    tr: Translator = ctx["tr"]
    title = tr.t("report.title")
    cluster = visible(ctx["cluster_name"])
    lines = [f"{title} — {cluster}", tr.t("report.generated", when=ctx["generated"]), ""]
    lines += [visible(ctx["banner"]), ""]
    lines.append(tr.t("digest.counts") + tr.punct(":"))
    for c in ctx["counts"]:
        lines.append(f"  {tr.t('kpi.' + c.code)}{tr.punct(':')} {c.text}")
    lines += ["", tr.t("section.attention") + tr.punct(":")]
    if report.unknown_cause is not None:
        lines.append("  " + tr.t("attention.unknown"))
    elif not ctx["findings"]:
        lines.append("  " + tr.t("attention.none"))
    for f in ctx["findings"]:
        lines.append(
            clip(f"  [{tr.t('level.' + f.level).upper()}] {_finding_text(tr, f)}", TEXT_WIDTH + 60)
        )
    if ctx["findings_more"]:
        lines.append("  " + tr.plural("digest.more_findings", ctx["findings_more"]))
    if ctx["guests"]:
        lines += ["", tr.t("digest.guests") + tr.punct(":")]
        for g in ctx["guests"]:
            level = tr.t("level." + (g.attention_level or "warning")).upper()
            lines.append(clip(f"  [{level}] {visible(_guest_line(tr, g))}", TEXT_WIDTH + 60))
        if ctx["guests_more"]:
            lines.append("  " + tr.plural("digest.more_guests", ctx["guests_more"]))
    lines += ["", tr.t("section.changes") + tr.punct(":")]
    lines += ["  " + line for line in _changes_text(tr, ctx)]
    lines += ["", tr.t("digest.attached"), tr.t("digest.footer", zone=ctx["zone"])]
    return strip_controls("\n".join(lines) + "\n", "\t\n")  # safety net, see `sanitize`


def _finding_text(tr: Translator, f: Finding) -> str:
    text = visible(f.text)
    if f.kind == "guests" and f.vmids:
        shown = ", ".join(str(v) for v in f.vmids[:VMIDS_CAP])
        more = " …" if len(f.vmids) > VMIDS_CAP else ""
        return f"{text}{tr.punct(':')} {shown}{more}"
    return f"{text} ({f.code})"


def _changes_text(tr: Translator, ctx: dict[str, Any]) -> list[str]:
    changes: list[ChangeRow] | None = ctx["changes"]
    if changes is None:
        return [tr.t("changes.first") if ctx["r"].history is not None else tr.t("history.none")]
    lines = [tr.t("changes.since", when=ctx["previous_at"])]
    if not changes:
        lines.append(tr.t("changes.nothing"))
    for row in changes:
        lines.append(f"{tr.t('changes.' + row.kind)} ({tr.number(row.total)}){tr.punct(':')}")
        lines += [f"  {visible(item)}" for item in row.items]
        if row.total > len(row.items):
            lines.append("  " + tr.plural("digest.more_changes", row.total - len(row.items)))
    return lines

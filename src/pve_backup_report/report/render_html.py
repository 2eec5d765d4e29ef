"""Self-contained HTML report: inline CSS, inline SVG, no JavaScript, no external resource.

Three variants come from the same templates so they cannot drift: `web` (the file users open),
`email` (no SVG, table-based bars, for mail clients that strip SVG) and `print` (cover page,
table of contents and page furniture, turned into PDF by WeasyPrint). Autoescape and
StrictUndefined are on: every guest name, tag, note or comment is hostile until escaped, and a
template typo fails the tests instead of printing an empty cell.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal

from jinja2 import Environment, PackageLoader, StrictUndefined

from ..analysis.coverage import Verdict
from ..model import Anomaly, Severity
from ..sanitize import strip_controls
from .charts import CELL_COLOURS, age_bars, coverage_bars, trend_charts
from .counts import SUMMARY_TILES
from .findings import calm, findings, guest_anomalies, guest_mark
from .history_view import CELL_STATES, GridRow
from .i18n import Translator, report_zone, zone_label
from .model import GuestRow, Report
from .notes import notes_html, notes_plain
from .pbs_text import code_label, keep_text, namespace, pbs_cell
from .status import banner_text, report_exit_status

Variant = Literal["web", "email", "print"]

RESULT_CLASS = {
    "success": "ok",
    "warning": "warn",
    "failure": "bad",
    "running": "info",
    "undetermined": "warn",
}
VERDICT_CLASS = {
    Verdict.COVERED.value: "ok",
    Verdict.COVERED_NON_PBS.value: "warn",
    Verdict.OPTED_OUT.value: "muted",
    Verdict.EXCLUDED.value: "warn",
    Verdict.INDETERMINATE.value: "warn",
    Verdict.DISABLED_ONLY.value: "bad",
    Verdict.NOT_COVERED.value: "bad",
}
FRESH_CLASS = {
    "fresh": "ok",
    "stale": "warn",
    "no_success": "bad",
    "not_applicable": "muted",
    "unknown": "muted",
}
SEVERITY_CLASS = {"critical": "bad", "warning": "warn", "info": "info"}
GC_CLASS = {
    "ok": "ok",
    "failed": "bad",
    "never": "warn",
    "running": "info",
    "outdated": "warn",
    "unknown": "muted",
}
COPIES_CLASS = {
    "copies_ok": "ok",
    "offsite_stale": "warn",
    "offsite_unknown": "muted",
    "single_copy": "bad",
}
SYNC_CLASS = {"ok": "ok", "failed": "bad", "never": "warn", "running": "muted"}
USAGE_COLOURS = {"ok": "#2e7d32", "warning": "#f9a825", "critical": "#c62828"}
# Scale limits (see docs/performance.md, "Rendering"). WeasyPrint pays per box and per text
# line, so the PDF splits long tables into chunks of fixed layout and, past PRINT_GRID_FULL
# rows, prints the daily grid only for guests that need attention (the PRINT_GRID_MAX most
# serious). Mail bodies stop after
# EMAIL_CAP rows per list: the attached report has everything.
PRINT_CHUNK = 100
PRINT_ATTENTION_MAX = 500  # rows of "What needs attention" in the PDF (most serious first)
PRINT_GUESTS_MAX = 1000  # past this many guests, the PDF has no per-guest table
PRINT_EXAMPLES = 3  # anomalies in the PDF: grouped by code, this many examples per code
PRINT_GRID_FULL = 200
PRINT_GRID_MAX = 500
EMAIL_CAP = 50
FINDEX_MAX = 30  # VMIDs linked from one finding in the index at the top of the attention list
CARD_LISTS = {  # a summary count → the findings that list its guests (first one present)
    "not_covered": ("not_covered", "disabled_only"),
    "covered_other": ("covered_non_pbs",),
    "indeterminate": ("indeterminate",),
    "last_failed": ("last_backup_failed",),
    "stale": ("stale", "no_success"),
    "not_verified": ("pbs_verify_failed", "pbs_not_verified"),
}
SECTIONS = (
    "summary",
    "attention",
    "changes",
    "guests",
    "jobs",
    "storages",
    "servers",
    "copies",
    "history",
    "anomalies",
    "method",
)


@dataclass(frozen=True)
class AnomalyGroup:
    """All anomalies of one code: what the PDF prints instead of thousands of rows."""

    code: str
    component: str
    severity: Severity
    count: int
    examples: tuple[Anomaly, ...]


_SEVERITY_ORDER = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}


def anomaly_groups(
    anomalies: Sequence[Anomaly], examples: int = PRINT_EXAMPLES
) -> list[AnomalyGroup]:
    """Group by code, the most serious severity of the group first, then the largest groups.

    Why: on the worst day (backups stopped cluster-wide) a cluster of 4,000 guests has over
    4,000 anomalies, mostly one per guest for the same few codes; a table of them costs
    WeasyPrint minutes and an auditor learns more from "stale: 4,000, e.g. …". The full list
    stays in the HTML, JSON and CSV reports, and the PDF says so.
    """
    by_code: dict[str, list[Anomaly]] = {}
    for a in anomalies:
        by_code.setdefault(a.code, []).append(a)
    groups = [
        AnomalyGroup(
            code,
            items[0].component,
            min((a.severity for a in items), key=_SEVERITY_ORDER.__getitem__),
            len(items),
            tuple(items[:examples]),
        )
        for code, items in by_code.items()
    ]
    groups.sort(key=lambda g: (_SEVERITY_ORDER[g.severity], -g.count, g.code))
    return groups


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("pve_backup_report.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["notes"] = notes_html
    env.filters["notes_plain"] = lambda text: notes_plain(text, 160)
    env.globals.update(
        RESULT_CLASS=RESULT_CLASS,
        VERDICT_CLASS=VERDICT_CLASS,
        FRESH_CLASS=FRESH_CLASS,
        SEVERITY_CLASS=SEVERITY_CLASS,
        GC_CLASS=GC_CLASS,
        USAGE_COLOURS=USAGE_COLOURS,
        CELL_COLOURS=CELL_COLOURS,
        CELL_STATES=CELL_STATES,
        SECTIONS=SECTIONS,
        SUMMARY_TILES=SUMMARY_TILES,
        keep_text=keep_text,
        COPIES_CLASS=COPIES_CLASS,
        SYNC_CLASS=SYNC_CLASS,
        COPIES_CAP=500,
    )
    return env


def context(report: Report, variant: Variant) -> dict[str, Any]:
    tr = Translator(report.lang, report.generated_at.tzinfo)
    status = report_exit_status(report)

    def dt(value: datetime | None) -> str | None:
        return tr.datetime_z(value)  # a time is never shown without its zone

    def pbs(g: GuestRow) -> object:
        return pbs_cell(tr, g, report.pbs_collected)

    items = findings(report, tr)
    present = {f.code for f in items if f.kind == "guests"}

    def card_link(code: str) -> str:
        """Where a summary count's list is: its findings, else the guest table."""
        if code == "anomalies":
            return "#sec-anomalies"
        return next(
            (f"#finding-{c}" for c in CARD_LISTS.get(code, ()) if c in present), "#sec-guests"
        )

    def verdict_link(verdict: str) -> str:
        """A verdict's count in the legend → the finding listing those guests, if any."""
        code = "covered_non_pbs" if verdict == Verdict.COVERED_NON_PBS.value else verdict
        return f"#finding-{code}" if code in present else "#sec-guests"

    by_guest = guest_anomalies(report)
    marks = {g.vmid: guest_mark(tr, g, by_guest.get(g.vmid, ())) for g in report.guests}
    attention = report.attention_rows()
    guests: Sequence[GuestRow] = report.guests
    grid: Sequence[GridRow] = report.history.grid if report.history else ()
    cap = {"print": PRINT_GRID_FULL, "email": EMAIL_CAP}.get(variant)
    if cap is not None and len(grid) > cap:
        by_vmid = {row.vmid: row for row in grid}
        grid = [by_vmid[v] for v in report.attention if v in by_vmid][:PRINT_GRID_MAX]
    grid_more = 0
    reasons: list[tuple[str, int]] = []
    if variant == "print" and len(attention) > PRINT_ATTENTION_MAX:
        counts: dict[str, int] = {}
        for row in attention:
            for reason in row.attention:
                counts[reason] = counts.get(reason, 0) + 1
        reasons = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        attention = attention[:PRINT_ATTENTION_MAX]
    if variant == "email":
        grid_more = len(report.history.grid) - len(grid[:EMAIL_CAP]) if report.history else 0
        attention, guests, grid = attention[:EMAIL_CAP], guests[:EMAIL_CAP], grid[:EMAIL_CAP]

    return {
        "r": report,
        "tr": tr,
        "variant": variant,
        "email": variant == "email",
        "print": variant == "print",
        "status": status.name.lower(),
        "banner_text": banner_text(tr, report),
        "findings": items,
        "guest_anomalies": by_guest,
        "marks": marks,
        "FINDEX_MAX": FINDEX_MAX,
        "card_link": card_link,
        "verdict_link": verdict_link,
        "first_anomaly": {a.code: i for i, a in reversed(list(enumerate(report.anomalies)))},
        "calm": calm,
        "generated": f"{tr.datetime(report.generated_at)} {zone_label(report.generated_at)}",
        "zone": report_zone(report.generated_at),
        "dt": dt,
        "coverage_bars": coverage_bars(report.summary),
        "age_bars": age_bars(report.summary),
        "attention": attention,
        "attention_total": len(report.attention),
        "attention_reasons": reasons,
        "printed": {g.vmid for g in attention},  # guests whose card or row is in this variant
        "GUESTS_MAX": PRINT_GUESTS_MAX,
        "guest_rows": guests,
        "grid_rows": grid,
        "grid_more": grid_more,
        "letters": {state: tr.t(f"letter.{state}") for state in CELL_STATES},
        "CHUNK": PRINT_CHUNK,
        "anomaly_groups": anomaly_groups(report.anomalies) if variant == "print" else [],
        "GRID_MAX": PRINT_GRID_MAX,
        "cluster_name": report.cluster.label or report.cluster.name or tr.t("value.not_specified"),
        "pbs": pbs,
        "dtz": lambda value: tr.datetime(value, with_zone=True),
        "ns_label": lambda ns: namespace(tr, ns),
        "code_label": lambda code: code_label(tr, code),
        "trend": trend_charts(report.history.trend) if report.history else [],
    }


def render_html(report: Report, variant: Variant = "web") -> str:
    """The HTML report; `variant="email"` for mail bodies, `"print"` for the PDF."""
    template = environment().get_template("report.html.j2")
    # safety net: no control character reaches a browser or a mail client (see `sanitize`)
    return strip_controls(template.render(**context(report, variant)), "\t\n\r")

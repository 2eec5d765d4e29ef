"""Off-site copies in the plain-text and Markdown reports (one digest line, one section).

Why apart: render_text and render_md only add a call each; the wording lives in the
catalogues (`copies.*`) so text, Markdown, HTML and the e-mail digest say the same thing.
"""

from __future__ import annotations

from collections.abc import Callable

from .i18n import Translator
from .model import Report


def copies_line(tr: Translator, report: Report) -> list[str]:
    """The off-site copies digest line (none when no backup server is configured)."""
    c = report.copies
    if c is None:
        return []
    v = c.verdicts
    return [
        tr.plural(
            "copies.digest",
            c.guests_with_offsite,
            total=tr.number(c.guests_judged),
            single=tr.number(v["single_copy"]),
            stale=tr.number(v["offsite_stale"]),
            unknown=tr.number(v["offsite_unknown"]),
        )
    ]


def copies_md(tr: Translator, report: Report, cell: Callable[[object], str]) -> list[str]:
    """The Markdown "Off-site copies" section (heading included); none without copy data."""
    c = report.copies
    if c is None:
        return []
    fmt = cell
    lines = ["", f"## {tr.t('section.copies')}", "", *copies_line(tr, report), ""]
    if not c.complete:
        lines += [tr.t("copies.incomplete"), ""]
    lines.append(f"### {tr.t('copies.jobs_title')}")
    lines.append("")
    if not c.jobs:
        lines.append(tr.t("copies.no_jobs"))
    else:
        header = [tr.t("col.job"), tr.t("copies.col.route"), tr.t("col.schedule"),
                  tr.t("col.last_run"), tr.t("copies.col.guests")]  # fmt: skip
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(header))
        for j in c.jobs:
            state = tr.t("copies.state." + j.state)
            if j.state == "failed" and j.last_run_state:
                state += f" ({j.last_run_state})"
            route = f"{j.source} → {j.target}"
            row = [
                f"{j.server} · {j.job_id} ({tr.t('copies.direction.' + j.direction)})",
                route + (f" [{' '.join(j.group_filter)}]" if j.group_filter else ""),
                j.schedule or tr.t("copies.manual"),
                state,
                str(len(j.guests))
                + (" — " + tr.t("copies.excluded", list=", ".join(map(str, j.excluded)))
                   if j.excluded else ""),
            ]  # fmt: skip
            lines.append("| " + " | ".join(str(fmt(x)) for x in row) + " |")
    lines += ["", f"### {tr.t('copies.without_title')}", ""]
    if not c.without_second_copy:
        lines.append(tr.t("copies.without_none"))
    for vmid in c.without_second_copy:
        g = report.guest(vmid)
        gc = g.copies
        if gc is None:
            continue
        verdict = tr.t("copies.verdict." + gc.verdict)
        where = tr.t("copies.locations", n=gc.locations, required=gc.required)
        lines.append(f"- {vmid} {fmt(g.name or '')}: {verdict}, {where}")
    return lines


def with_copies_column(
    tr: Translator, report: Report, header: list[str], rows: list[list[str]]
) -> None:
    """Insert a "Copies" column before the last (notes) one, when copies were judged."""
    if report.copies is None:
        return
    header.insert(len(header) - 1, tr.t("col.copies"))
    for row, g in zip(rows, report.guests, strict=True):
        c = g.copies
        text = (
            ""
            if c is None
            else f"{tr.t('copies.verdict.' + c.verdict)} ({c.locations}/{c.required})"
        )
        row.insert(len(row) - 1, text)

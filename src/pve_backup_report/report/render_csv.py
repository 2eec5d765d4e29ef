"""CSV: one row per guest with the main columns, for spreadsheets and SIEMs.

RFC 4180 (CRLF line ends, quotes doubled), UTF-8 with a header row of stable column codes and
stable values (ISO 8601 times, verdict codes), whatever the report language. PBS columns are
empty when no backup server data concerns the guest; `pbs_verify_state` is `ok`, `failed` or
`never` (latest snapshot never verified); `copies` is the off-site copy verdict (empty: the
guest has no PBS job or no backup server is configured). Text cells that a
spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR) get a leading apostrophe:
guest names and notes are user input (CSV injection).
"""

from __future__ import annotations

import csv
import io

from ..sanitize import strip_controls
from .model import GuestRow, Report
from .notes import notes_plain
from .pbs_text import verify_state

COLUMNS = (
    "vmid",
    "name",
    "type",
    "node",
    "pool",
    "tags",
    "template",
    "verdict",
    "jobs",
    "attention_level",
    "attention_reasons",
    "latest_result",
    "latest_started_at",
    "latest_ended_at",
    "latest_duration_s",
    "latest_size_bytes",
    "latest_size_kind",
    "latest_storage",
    "latest_error",
    "last_success_at",
    "last_success_age_hours",
    "freshness",
    "freshness_max_age_hours",
    "next_run",
    "pbs_latest_snapshot_at",
    "pbs_verify_state",
    "pbs_verified_at",
    "pbs_restore_points",
    "copies",
    "copies_locations",
    "offsite_latest_at",
    "notes",
)
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str | None) -> str:
    if value is None:
        return ""
    return "'" + value if value.startswith(_FORMULA) else value


def _row(g: GuestRow) -> list[str]:
    lb, ls, fr = g.latest_backup, g.last_success, g.freshness
    snap = g.pbs.latest_snapshot if g.pbs else None
    success_at = (ls.ended_at or ls.started_at) if ls else None

    def opt(value: object) -> str:
        return "" if value is None else str(value)

    return [
        str(g.vmid),
        _text(g.name),
        g.type,
        _text(g.node),
        _text(g.pool),
        _text(";".join(g.tags)),
        "true" if g.template else "false",
        g.coverage.status,
        _text(";".join(g.coverage.jobs)),
        g.attention_level or "",
        ";".join(g.attention),
        lb.result if lb else "",
        lb.started_at.isoformat() if lb and lb.started_at else "",
        lb.ended_at.isoformat() if lb and lb.ended_at else "",
        opt(lb.duration_s if lb else None),
        opt(lb.size_bytes if lb else None),
        opt(lb.size_kind if lb else None),
        _text(lb.storage if lb else None),
        _text(lb.error if lb else None),
        success_at.isoformat() if success_at else "",
        "" if g.last_success_age_hours is None else f"{g.last_success_age_hours:.2f}",
        fr.status if fr else "",
        opt(fr.max_age_hours if fr else None),
        g.next_run.isoformat() if g.next_run else "",
        snap.backup_time.isoformat() if snap else "",
        verify_state(g) or "",
        snap.verified_at.isoformat() if snap and snap.verified_at else "",
        str(g.pbs.restore_points) if g.pbs and g.pbs.restore_points is not None else "",
        *_copies(g),
        _text(notes_plain(g.notes, limit=2000)),
    ]


def _copies(g: GuestRow) -> list[str]:
    """Copy verdict, number of locations, newest off-site snapshot (empty: not judged)."""
    c = g.copies
    if c is None:
        return ["", "", ""]
    latest = c.offsite_latest.isoformat() if c.offsite_latest else ""
    return [c.verdict, str(c.locations), latest]


def render_csv(report: Report) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(COLUMNS)
    for g in report.guests:
        writer.writerow(_row(g))
    # safety net (see `sanitize`): quoted cells may hold tab and line breaks, nothing else
    return strip_controls(buffer.getvalue(), "\t\n\r")

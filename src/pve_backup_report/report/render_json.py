"""JSON form of the report (`--format json`, `--dump-report-data`): stable codes, no labels.

The per-guest object keeps the shape of `--dump-coverage --json` (`vmid`, `name`, `type`,
`node`, `coverage.status`, …, `pbs`) and adds the evidence keys, so scripts keep working; the
top-level `pbs_orphans` list has the shape of `--dump-coverage --json` too. The shape is
described by `schema/report.schema.json`; bump `SCHEMA_VERSION` when it changes.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from ..sanitize import strip_controls_deep
from ..serialize import to_jsonable
from .counts import COUNT_NAMES
from .history_view import HistoryView
from .model import GuestRow, Report


def guest_data(g: GuestRow) -> dict[str, Any]:
    return {
        "vmid": g.vmid,
        "name": g.name,
        "type": g.type,
        "node": g.node,
        "status": g.status,
        "template": g.template,
        "pool": g.pool,
        "tags": list(g.tags),
        "notes": g.notes,
        "coverage": {
            "status": g.coverage.status,
            "jobs": list(g.coverage.jobs),
            "job_details": [
                to_jsonable(ref) | {"effective": ref.effective} for ref in g.coverage.job_details
            ],
            "explanation": list(g.coverage.explanation),
            "excluded_by": list(g.coverage.excluded_by),
            "indeterminate_by": list(g.coverage.indeterminate_by),
        },
        "excluded_disks": [to_jsonable(d) for d in g.excluded_disks],
        "latest_backup": to_jsonable(g.latest_backup),
        "last_success": to_jsonable(g.last_success),
        "last_success_age_hours": (
            None if g.last_success_age_hours is None else round(g.last_success_age_hours, 2)
        ),
        "attempts": g.attempts,
        "failures": g.failures,
        "freshness": to_jsonable(g.freshness),
        "next_run": to_jsonable(g.next_run),
        "pbs": to_jsonable(g.pbs),
        "attention": {"level": g.attention_level, "reasons": list(g.attention)},
        "copies": to_jsonable(g.copies),
    }


def history_data(view: HistoryView | None) -> dict[str, Any] | None:
    if view is None:
        return None
    previous = (
        None
        if view.previous_at is None
        else {"run_id": view.previous_run_id, "started_at": view.previous_at.isoformat()}
    )
    return {
        "previous_run": previous,
        "changes": to_jsonable(view.changes),
        "trend": [to_jsonable(p) for p in view.trend],
        "days": [d.isoformat() for d in view.days],
        "grid": [{"vmid": r.vmid, "name": r.name, "cells": list(r.cells)} for r in view.grid],
    }


# the guest counts of counts.py (one definition); covered = PBS + other is derived there
GUEST_COUNTS = tuple(
    name for name in COUNT_NAMES if name != "covered" and not name.startswith("anomalies_")
)


def summary_data(report: Report) -> dict[str, Any]:
    """The summary; when the cluster could not be read no guest was counted: every guest
    count is null (unknown, not 0), the verdicts and ages empty, the anomalies kept."""
    data: dict[str, Any] = to_jsonable(report.summary)
    if report.unknown_cause is not None:
        data |= dict.fromkeys(GUEST_COUNTS) | {"verdicts": {}, "age_buckets": []}
    return data


def _without(data: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != key}


def report_data(report: Report) -> dict[str, Any]:
    data: dict[str, Any] = {
        "schema_version": report.schema_version,
        "generated_at": report.generated_at.isoformat(),
        "tool_version": report.tool_version,
        "lang": report.lang,
        "cluster": to_jsonable(report.cluster),
        "configuration": dict(report.configuration),
        "evidence_collected": report.evidence_collected,
        "summary": summary_data(report),
        "attention": list(report.attention),
        "guests": [guest_data(g) for g in report.guests],
        # schedule_text is a translated label: human formats only
        "jobs": [_without(to_jsonable(j), "schedule_text") for j in report.jobs],
        "storages": [to_jsonable(s) for s in report.storages],
        "pbs_collected": report.pbs_collected,
        "pbs_servers": [to_jsonable(p) for p in report.pbs_servers],
        "pbs_orphans": [to_jsonable(o) for o in report.pbs_orphans],
        "history": history_data(report.history),
        "anomalies": [to_jsonable(a) for a in report.anomalies],
        "unknown_cause": report.unknown_cause,
        "offsite_copies": to_jsonable(report.copies),
    }
    return data


def render_json(report: Report) -> str:
    # safety net (see `sanitize`): no string decodes to a control character but tab/newline
    data = strip_controls_deep(report_data(report))
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def load_schema() -> dict[str, Any]:
    ref = resources.files("pve_backup_report.report") / "schema" / "report.schema.json"
    text = ref.read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def load_coverage_schema() -> dict[str, Any]:
    """The schema of `--dump-coverage --json`; its guests refer to `report.schema.json`."""
    ref = resources.files("pve_backup_report.report") / "schema" / "coverage.schema.json"
    schema: dict[str, Any] = json.loads(ref.read_text(encoding="utf-8"))
    return schema

"""Several clusters in one run: `--env-file` given once per cluster.

Each file describes one cluster (its values win over the process environment, which only
fills gaps such as SMTP settings). Every cluster gets its own report files — their names carry
the cluster name — and the run ends with a combined summary (printed, and written as JSON and
Markdown next to the reports), one Prometheus file with every cluster (`cluster` label), one
JSON document for the `--dump-*` modes and one plugin output for `--check`. The exit code is
the worst of all clusters.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from ..exit_status import ExitStatus
from ..outputs.nagios import cluster_label, nagios_combined
from ..report.counts import summary_counts
from ..report.write import OutputError, atomic_write
from .logs import NOTICE
from .modes import write_prometheus
from .multi_types import ClusterOutcome

log = logging.getLogger("pve_backup_report.cli")

STATUS_NAMES = {0: "OK", 1: "WARNING", 2: "CRITICAL", 3: "UNKNOWN"}


def _row(outcome: ClusterOutcome) -> dict[str, Any]:
    report = outcome.report
    if report is None:
        return {"env_file": outcome.env_file, "cluster": None, "status": outcome.status}
    return {
        "env_file": outcome.env_file,
        "cluster": cluster_label(report),
        "status": outcome.status,
        "unknown_cause": report.unknown_cause,
        # the report's own counts (counts.py); none at all when the cluster was not read
        **{
            name: None if report.unknown_cause is not None else value
            for name, value in summary_counts(report.summary).items()
        },
        "files": [str(p) for p in outcome.paths],
    }


def combined_markdown(rows: list[dict[str, Any]], generated: datetime) -> str:
    head = (
        "| cluster | status | guests | covered (PBS) | not covered | failed | stale "
        "| anomalies (crit/warn) |"
    )
    lines = [
        f"# Combined backup summary — {generated.isoformat(timespec='seconds')}",
        "",
        head,
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:

        def cell(key: str, row: dict[str, Any] = r) -> str:
            value = row.get(key)
            return "–" if value is None else str(value)

        name = str(r.get("cluster") or r["env_file"]).replace("|", "\\|")
        lines.append(
            f"| {name} | {STATUS_NAMES.get(r['status'], '?')} | {cell('guests_total')} | "
            f"{cell('covered_pbs')} | {cell('not_covered')} | {cell('last_failed')} | "
            f"{cell('stale')} | {cell('anomalies_critical')}/{cell('anomalies_warning')} |"
        )
    return "\n".join(lines) + "\n"


def run_clusters(
    args: argparse.Namespace, env_files: list[Path | None], out: IO[str], err: IO[str]
) -> int:
    """Every cluster in turn, then what belongs to the whole run: one Prometheus exposition,
    one JSON document for `--dump-*` (`{"clusters": [...]}`), one plugin output for
    `--check` (which writes no file), or the combined summary."""
    from . import run_one

    outcomes: list[ClusterOutcome] = []
    documents: list[dict[str, Any]] = []
    checks: list[tuple[str, str]] = []
    dumps_json = args.json and (args.dump_coverage or args.dump_inventory)
    one_document = bool(args.dump_report_data or dumps_json)
    worst = 0
    for env_file in env_files:
        log.log(NOTICE, "== cluster from %s", env_file)
        before = len(outcomes)
        captured = io.StringIO()
        target = captured if one_document or args.check else out
        code = run_one(args, env_file, target, err, file_wins=True, outcomes=outcomes)
        if len(outcomes) == before:  # diagnostics mode or a failure before the report
            outcomes.append(ClusterOutcome(str(env_file), None, code))
        outcome = outcomes[-1]
        label = cluster_label(outcome.report) if outcome.report else str(env_file)
        if one_document:
            documents.append(_document(str(env_file), label, code, captured.getvalue()))
        if args.check:
            checks.append((label, captured.getvalue() or f"PVE BACKUP UNKNOWN - {label}\n"))
        worst = max(worst, code)
    metrics = [m for o in outcomes for m in o.metrics]
    if metrics:
        _, status = write_prometheus(metrics, Path(args.output_dir), out)
        worst = max(worst, int(status))
    if one_document:
        data = {"status": worst, "clusters": documents}
        out.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        return worst
    if args.check:
        text, code = nagios_combined(checks)
        out.write(text)
        return code
    if args.check_api or args.dump_inventory or args.dump_coverage:
        return worst
    generated = datetime.now().astimezone()
    rows = [_row(o) for o in outcomes]
    markdown = combined_markdown(rows, generated)
    out.write("\n" + markdown)
    if str(args.output_dir) != "-":
        folder = Path(args.output_dir)
        stamp = generated.strftime("%Y%m%d-%H%M%S")
        data = {"generated_at": generated.isoformat(), "status": worst, "clusters": rows}
        for suffix, text in (("json", json.dumps(data, indent=2)), ("md", markdown)):
            path = folder / f"pve-backup-report_combined_{stamp}.{suffix}"
            try:
                folder.mkdir(parents=True, exist_ok=True)
                atomic_write(path, text.encode())
            except OSError as error:  # an output not written: UNKNOWN, like a report file
                log.error("combined summary: %s", OutputError(path, error).line())
                worst = int(ExitStatus.UNKNOWN)
                continue
            log.log(NOTICE, "written: %s", path)
    return int(ExitStatus(min(worst, 3)))


def _document(env_file: str, label: str, status: int, text: str) -> dict[str, Any]:
    """One cluster's JSON output inside the run's single document (`data` is None when the
    cluster gave none, e.g. a configuration error, told on stderr)."""
    try:
        data = json.loads(text) if text.strip() else None
    except json.JSONDecodeError:
        data = None
    return {"env_file": env_file, "cluster": label, "status": status, "data": data}

"""What each mode does with a run's data: diagnostics, report files, monitoring, e-mail."""

from __future__ import annotations

import argparse
import json
import logging
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from .. import __version__
from ..config import Settings
from ..diagnostics.coverage_view import coverage_json, render_coverage
from ..diagnostics.inventory_view import inventory_json, render_inventory
from ..diagnostics.pbs_view import pbs_inventory_json, render_pbs_inventory
from ..errors import ReportError, one_line
from ..exit_status import ExitStatus, from_anomalies
from ..outputs.nagios import cluster_label, nagios_output, parse_thresholds
from ..outputs.prometheus import ClusterRun, exposition, write_textfile
from ..report.build import build_report
from ..report.history_records import with_history
from ..report.i18n import Translator
from ..report.model import Report
from ..report.render_json import guest_data, render_json
from ..report.status import report_exit_status
from ..report.write import OutputError, write_reports
from ..sanitize import strip_controls_deep
from ..serialize import to_jsonable
from .logs import NOTICE
from .pipeline import RunData

log = logging.getLogger("pve_backup_report.cli")
PROMETHEUS_FILE = "pve-backup-report.prom"


def tell_failure(run: RunData, settings: Settings) -> None:
    """A cluster that could not be read is said on stderr in one line (an error: shown even
    with --quiet, a JSON line with --log-format json), whatever the mode: the files written
    afterwards must not be the only trace of it."""
    if run.failure is not None:
        log.error("error: %s: %s", ", ".join(settings.pve.base_urls), run.failure)


def inventory_status(run: RunData) -> ExitStatus:
    if run.verdicts_unknown or not run.inventory.nodes:
        return ExitStatus.UNKNOWN
    return from_anomalies(run.inventory.anomalies)


def dump_inventory(args: argparse.Namespace, run: RunData, out: IO[str], lang: str = "en") -> int:
    if args.json:
        data: dict[str, Any] = inventory_json(run.inventory)
        if run.pbs is not None:
            data["pbs"] = pbs_inventory_json(run.pbs)
        out.write(json.dumps(strip_controls_deep(data), indent=2, ensure_ascii=False) + "\n")
    else:
        tr = Translator(lang)
        render_inventory(run.inventory, out, tr=tr)
        if run.pbs is not None:
            render_pbs_inventory(run.pbs, out, tr=tr)
    return int(inventory_status(run))


def make_report(
    run: RunData,
    settings: Settings,
    lang: str,
    now: datetime | None = None,
    *,
    history: bool = False,
) -> Report:
    """`history`: compare with the runs stored so far (read before this run is recorded)."""
    pve = settings.pve
    config_summary: dict[str, str | int | float | bool | None] = {
        "pve_host": ",".join(pve.base_urls),
        "token_id": pve.token_id,
        "verify_tls": pve.verify_tls,
        "tls_fingerprint_pinned": pve.fingerprint is not None,
        "backup_jobs_endpoint": pve.backup_jobs_endpoint,
        "task_history_limit": pve.task_history_limit,
        "task_log_limit": pve.task_log_limit,
        "task_history_days": pve.task_history_days,
        "opt_out_tag": settings.opt_out_tag,
        "max_age_hours": settings.report.max_age_hours,
        "api_requests": run.requests,
        "config_cache_hours": settings.report.config_cache_hours,
        "guest_configs_from_cache": run.inventory.configs_from_cache,
    }
    report = build_report(
        run.inventory,
        run.coverage,
        run.evidence.guests if run.evidence else None,
        run.anomalies,
        generated_at=now or datetime.now().astimezone(),
        tool_version=__version__,
        config_summary=config_summary,
        lang=lang,
        pbs=run.pbs,
    )
    if history and not run.verdicts_unknown:
        from .history_cmd import load_history

        cluster = cluster_label(report)
        source = load_history(settings, cluster, report.generated_at)
        if source is not None:
            report = with_history(report, source)
    return report


def run_status(run: RunData, report: Report) -> ExitStatus:
    if run.verdicts_unknown:  # also in the report (`unknown_cause`); kept for clarity
        return ExitStatus.UNKNOWN
    return report_exit_status(report)


def dump_coverage(args: argparse.Namespace, run: RunData, report: Report, out: IO[str]) -> int:
    evidence = run.evidence.guests if run.evidence else None
    if args.json:
        data = coverage_json(
            run.inventory,
            run.coverage,
            run.anomalies,
            {g.vmid: guest_data(g) for g in report.guests},
            [to_jsonable(o) for o in report.pbs_orphans],
            evidence_collected=report.evidence_collected,
            pbs_collected=report.pbs_collected,
            unknown_cause=report.unknown_cause,
        )
        out.write(json.dumps(strip_controls_deep(data), indent=2, ensure_ascii=False) + "\n")
    else:
        render_coverage(
            run.inventory,
            run.coverage,
            run.anomalies,
            out,
            evidence=evidence,
            tr=Translator(report.lang, report.generated_at.tzinfo),
            explanations={g.vmid: g.explanation_text for g in report.guests},
        )
    return int(run_status(run, report))


def dump_report_data(run: RunData, report: Report, out: IO[str]) -> int:
    out.write(render_json(report) + "\n")
    return int(run_status(run, report))


def nagios(args: argparse.Namespace, run: RunData, report: Report, out: IO[str]) -> int:
    thresholds = getattr(args, "thresholds", None) or parse_thresholds(args.warning, args.critical)
    text, code = nagios_output(report, thresholds)
    if run.verdicts_unknown:
        code = int(ExitStatus.UNKNOWN)
    out.write(text if text.endswith("\n") else text + "\n")
    return code


def write_prometheus(
    runs: list[ClusterRun], output_dir: Path, out: IO[str], failed: list[str] | None = None
) -> tuple[list[Path], ExitStatus]:
    """One exposition for every cluster of the run: to stdout for `--output-dir -`, else the
    atomic textfile `pve-backup-report.prom` (never a directory named `-`). A file that
    cannot be written is an error line and status UNKNOWN, like every output."""
    if str(output_dir) == "-":
        out.write(exposition(runs))
        return [], ExitStatus.OK
    target = output_dir / PROMETHEUS_FILE
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        write_textfile(target, runs)
    except OSError as error:  # error.filename may be the temporary file: name the real one
        line = f"prometheus: {OutputError(target, error).line()}"
        log.error("%s", line)
        if failed is not None:
            failed.append(line)
        return [], ExitStatus.UNKNOWN
    return [target], ExitStatus.OK


def write_outputs(
    args: argparse.Namespace,
    run: RunData,
    report: Report,
    out: IO[str],
    failures: list[str] | None = None,
    *,
    prometheus_runs: list[ClusterRun] | None = None,
) -> tuple[list[Path], ExitStatus]:
    """Write every requested output, each on its own. One that cannot be written is an
    error line (also appended to `failures`) and makes the status UNKNOWN (3): the tool
    could not do its job, which is not a finding about backups (1/2) and must fail the
    systemd unit and alert cron.

    `prometheus_runs`: several clusters — this cluster's metrics are added there and the
    caller writes one exposition for all of them."""
    failed: list[str] = [] if failures is None else failures
    to_stdout = str(args.output_dir) == "-"
    formats = list(args.format or (["html"] if to_stdout else ["pdf", "html"]))
    if args.generate_pdf and "pdf" not in formats:
        formats.append("pdf")
    status = ExitStatus.OK
    paths: list[Path] = []
    output_dir = Path(args.output_dir)
    if "prometheus" in formats:
        formats.remove("prometheus")
        this = ClusterRun(report, run.duration_s, run.requests)
        if prometheus_runs is not None:
            prometheus_runs.append(this)
        else:
            paths, status = write_prometheus([this], output_dir, out, failed)
    if formats:
        errors: dict[str, Exception] = {}
        paths += write_reports(report, formats, output_dir, out, errors=errors)
        for fmt, problem in errors.items():
            text = problem.line() if isinstance(problem, ReportError) else one_line(problem)
            failed.append(f"{fmt}: {text}")
            log.error("%s", failed[-1])
            status = ExitStatus.UNKNOWN
    for path in paths:
        if str(path) != "-":
            log.log(NOTICE, "written: %s", path)
    return paths, status

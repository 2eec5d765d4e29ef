"""Command line: parses arguments, loads settings and wires the layers together.

This package is the only place that knows every layer (config → client → collectors →
analysis → report → outputs). Everything it calls can be used and tested on its own.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING

from ..api.errors import ApiError
from ..config import ConfigError, Settings, load_settings
from ..config_pbs import PbsSettings, load_pbs_settings, pbs_environment
from ..exit_status import ExitStatus
from .args import build_parser
from .logs import setup_logging
from .multi_types import ClusterOutcome
from .progress import Progress

if TYPE_CHECKING:  # `--check-api` must not import the report model (start-up time)
    from ..report.model import Report

SUBCOMMANDS = ("demo", "simulate", "schedule", "history")

__all__ = ["build_parser", "main", "run", "setup_logging"]


def _warn_insecure(settings: Settings, pbs: list[PbsSettings], stderr: IO[str]) -> None:
    pve = settings.pve
    if not pve.verify_tls and pve.fingerprint is None:
        stderr.write(
            "WARNING: PVE_VERIFY_TLS=false: the server certificate is NOT verified; anyone on "
            "the path could read the API token. Prefer PVE_CA_BUNDLE or PVE_TLS_FINGERPRINT.\n"
        )
    elif not pve.verify_tls:
        stderr.write(
            "WARNING: PVE_VERIFY_TLS=false: only the certificate fingerprint pin is checked.\n"
        )
    for block in pbs:
        if not block.verify_tls and block.fingerprint is None:
            stderr.write(
                f"WARNING: {block.prefix}_VERIFY_TLS=false: the certificate of {block.name} is "
                "NOT verified. Prefer its CA bundle or fingerprint.\n"
            )


def run(
    args: argparse.Namespace,
    settings: Settings,
    out: IO[str],
    err: IO[str],
    pbs: list[PbsSettings] | None = None,
    now: datetime | None = None,
    *,
    env_file: Path | None = None,
    outcomes: list[ClusterOutcome] | None = None,
) -> int:
    """Run the selected mode with validated settings (shared by the CLI and `demo`);
    `now` freezes the clock (the demo cluster lives on its own date)."""
    pbs = pbs or []
    _warn_insecure(settings, pbs, err)
    lang = args.lang or settings.report.language  # the diagnostics speak it too
    if args.check_api:  # before importing collectors and renderers: it must start fast
        return _check_api(settings, pbs, out, lang)
    from . import modes
    from .pipeline import collect_run

    with Progress(err, enabled=not args.quiet) as progress:
        if args.dump_inventory:
            run_data = asyncio.run(
                collect_run(settings, pbs, evidence=False, now=now, stage=progress.stage)
            )
            modes.tell_failure(run_data, settings, err)
            return modes.dump_inventory(args, run_data, out, lang)
        cache = None
        remembered = None
        config_cache = None
        if not args.no_history:
            from ..collect.log_cache import SqliteTaskLogCache
            from .history_cmd import history_path, remembered_successes

            cache = SqliteTaskLogCache(history_path(settings))
            if settings.report.config_cache_hours:
                from datetime import timedelta

                from ..collect.config_cache import SqliteConfigCache

                config_cache = SqliteConfigCache(
                    history_path(settings), timedelta(hours=settings.report.config_cache_hours)
                )

            def remembered(cluster: str) -> dict[int, tuple[str | None, datetime]]:
                return remembered_successes(settings, cluster)

        run_data = asyncio.run(
            collect_run(
                settings,
                pbs,
                now=now,
                stage=progress.stage,
                log_cache=cache,
                remembered=remembered,
                config_cache=config_cache,
            )
        )
    modes.tell_failure(run_data, settings, err)
    # --dump-coverage only needs the report for its exit status: no history read for it
    history = not args.no_history and not args.dump_coverage
    report = modes.make_report(run_data, settings, lang, now, history=history)
    if args.dump_coverage:
        return modes.dump_coverage(args, run_data, report, out)
    if args.dump_report_data:
        return modes.dump_report_data(run_data, report, out)
    if args.check:
        code = modes.nagios(args, run_data, report, out)
        if args.format:
            modes.write_outputs(args, run_data, report, out, err)
        return code
    status = modes.run_status(run_data, report)
    paths, write_status = modes.write_outputs(args, run_data, report, out, err)
    status = max(status, write_status)
    if args.send_mail:
        status = max(status, _send_mail(env_file, report, paths, err))
    if not args.no_history and not run_data.verdicts_unknown:
        from .history_cmd import record

        record(settings, report, int(status), run_data.started_at)
    if outcomes is not None:
        outcomes.append(ClusterOutcome(str(env_file or ".env"), report, int(status), paths))
    return int(status)


def _check_api(settings: Settings, pbs: list[PbsSettings], out: IO[str], lang: str = "en") -> int:
    from ..diagnostics.check_api import ProbeResult, check_api, print_check
    from ..diagnostics.pbs_check import check_pbs
    from .client_config import client_config

    async def probes() -> list[ProbeResult]:
        from ..api.client import ReadOnlyClient

        async with ReadOnlyClient(client_config(settings.pve)) as client:
            results = await check_api(client, settings.pve.backup_jobs_endpoint)
        results += await check_pbs(pbs, timeout=settings.pve.timeout)
        return list(results)

    results = asyncio.run(probes())
    return int(print_check(results, out, lang))


def _send_mail(
    env_file: Path | None, report: Report, paths: list[Path], err: IO[str]
) -> ExitStatus:
    from ..outputs.mail import MailDeliveryError, build_message, load_mail_settings, send

    try:
        mail = load_mail_settings(pbs_environment(env_file))
    except ConfigError as error:
        err.write(f"configuration error: {error}\n")
        return ExitStatus.CRITICAL
    if mail is None:
        err.write("configuration error: SMTP_HOST: required for --send-mail\n")
        return ExitStatus.CRITICAL
    attachments = [p for p in paths if p.suffix in (".pdf", ".csv", ".json")]
    try:
        send(mail, build_message(report, attachments), timeout=30)
    except MailDeliveryError as error:
        err.write(f"e-mail not delivered: {error}\n")
        return ExitStatus.CRITICAL
    err.write(f"e-mail sent to {', '.join(mail.recipients)}\n")
    return ExitStatus.OK


def main(
    argv: Sequence[str] | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] in SUBCOMMANDS:
        return _subcommand(args_list[0], args_list[1:], out, err)
    parser = build_parser()
    args = parser.parse_args(args_list)
    setup_logging(args, err)
    env_files: list[Path | None] = list(args.env_file or [None])
    if len(env_files) > 1:
        from .multi import run_clusters

        return run_clusters(args, env_files, out, err)
    return run_one(args, env_files[0], out, err)


def run_one(
    args: argparse.Namespace,
    env_file: Path | None,
    out: IO[str],
    err: IO[str],
    *,
    file_wins: bool = False,
    outcomes: list[ClusterOutcome] | None = None,
) -> int:
    """Load one cluster's settings and run the selected mode; errors become exit codes."""
    try:
        settings = load_settings(env_file, file_wins=file_wins)
        pbs, warnings = load_pbs_settings(pbs_environment(env_file, file_wins=file_wins))
    except ConfigError as error:
        if args.check:
            out.write(f"UNKNOWN - configuration error: {error}\n")
        err.write(f"configuration error: {error}\n")
        return int(ExitStatus.UNKNOWN)
    for warning in warnings:
        err.write(f"WARNING: {warning}\n")
    try:
        return run(args, settings, out, err, pbs, env_file=env_file, outcomes=outcomes)
    except ApiError as error:  # only reached if a layer forgot to turn it into an anomaly
        err.write(f"error: {error}\n")
        return int(ExitStatus.UNKNOWN)
    except KeyboardInterrupt:
        err.write("interrupted\n")
        return int(ExitStatus.UNKNOWN)


def _subcommand(name: str, argv: list[str], out: IO[str], err: IO[str]) -> int:
    if name == "schedule":
        from ..diagnostics.schedule_cmd import run_schedule

        return run_schedule(argv, out, err)
    if name == "history":
        from .history_cmd import run_history

        return run_history(argv, out, err)
    from ..demo import run_subcommand

    return run_subcommand(name, argv, out, err)

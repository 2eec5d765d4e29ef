"""Command line: parses arguments, loads settings and wires the layers together.

This package is the only place that knows every layer (config → client → collectors →
analysis → report → outputs). Everything it calls can be used and tested on its own.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING

from ..config import ConfigError, Settings, load_settings
from ..config_pbs import PbsSettings, load_pbs_settings, pbs_environment
from ..errors import ReportError, one_line
from ..exit_status import ExitStatus
from .args import build_parser, validate_args
from .logs import NOTICE, early_options, setup_logging
from .multi_types import ClusterOutcome
from .progress import Progress

if TYPE_CHECKING:  # `--check-api` must not import the report model (start-up time)
    from ..outputs.mail import MailSettings
    from ..outputs.prometheus import ClusterRun
    from ..report.model import Report

SUBCOMMANDS = ("demo", "simulate", "schedule", "history")
log = logging.getLogger("pve_backup_report.cli")
_ANNOUNCED: set[str] = set()  # settings warnings already printed by this `main()` call

__all__ = ["build_parser", "main", "run", "setup_logging"]


def _warn_insecure(settings: Settings, pbs: list[PbsSettings]) -> None:
    pve = settings.pve
    if not pve.verify_tls and pve.fingerprint is None:
        log.warning(
            "PVE_VERIFY_TLS=false: the server certificate is NOT verified; anyone on "
            "the path could read the API token. Prefer PVE_CA_BUNDLE or PVE_TLS_FINGERPRINT."
        )
    elif not pve.verify_tls:
        log.warning("PVE_VERIFY_TLS=false: only the certificate fingerprint pin is checked.")
    for block in pbs:
        if not block.verify_tls and block.fingerprint is None:
            log.warning(
                "%s_VERIFY_TLS=false: the certificate of %s is NOT verified. Prefer its CA "
                "bundle or fingerprint.",
                block.prefix,
                block.name,
            )


def mail_settings(env: Mapping[str, str]) -> MailSettings:
    """The SMTP settings `--send-mail` needs, validated at start (before any request)."""
    from ..outputs.mail import load_mail_settings

    mail = load_mail_settings(env)
    if mail is None:
        raise ConfigError("SMTP_HOST", "required for --send-mail (and MAIL_FROM, MAIL_TO)")
    return mail


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
    mail: MailSettings | None = None,
) -> int:
    """Run the selected mode with validated settings (shared by the CLI and `demo`);
    `now` freezes the clock (the demo cluster lives on its own date). `mail`: the SMTP
    settings, required with `--send-mail` (validated by the caller before any request)."""
    pbs = pbs or []
    _warn_insecure(settings, pbs)
    if args.send_mail and mail is None:
        mail = mail_settings(pbs_environment(env_file))
    lang = args.lang or settings.report.language  # the diagnostics speak it too
    if args.check_api:  # before importing collectors and renderers: it must start fast
        return _check_api(settings, pbs, out, lang)
    from . import modes
    from .pipeline import collect_run

    spinner = not args.quiet and getattr(args, "log_format", "text") == "text"
    with Progress(err, enabled=spinner) as progress:
        if args.dump_inventory:
            run_data = asyncio.run(
                collect_run(settings, pbs, evidence=False, now=now, stage=progress.stage)
            )
            modes.tell_failure(run_data, settings)
            return modes.dump_inventory(args, run_data, out, lang)
        cache = None
        remembered = None
        config_cache = None
        use_history = not args.no_history
        if use_history:
            from .history_cmd import history_path, history_problem

            problem = history_problem(settings)
            if problem is not None:
                log.warning(
                    "history database %s cannot be used (%s): this run is neither compared "
                    "with earlier runs nor recorded, and its task-log cache is off",
                    history_path(settings),
                    problem,
                )
                use_history = False
        if use_history:
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
    modes.tell_failure(run_data, settings)
    # --dump-coverage only needs the report for its exit status: no history read for it
    history = use_history and not args.dump_coverage
    clock = time.monotonic()
    report = modes.make_report(run_data, settings, lang, now, history=history)
    log.info("phase report: %.2f s", time.monotonic() - clock)
    if args.dump_coverage or args.dump_report_data:
        if args.dump_coverage:
            code = modes.dump_coverage(args, run_data, report, out)
        else:
            code = modes.dump_report_data(run_data, report, out)
        if outcomes is not None:
            outcomes.append(ClusterOutcome(str(env_file or ".env"), report, code))
        return code
    metrics: list[ClusterRun] | None = [] if outcomes is not None else None
    if args.check:
        code = modes.nagios(args, run_data, report, out)
        if args.format:
            failures: list[str] = []
            _, write_status = modes.write_outputs(
                args, run_data, report, out, failures, prometheus_runs=metrics
            )
            code = max(code, int(write_status))
            for line in failures:  # long output: whoever is on call sees why it is UNKNOWN
                out.write(f"UNKNOWN: {line}\n")
        if outcomes is not None:
            outcomes.append(
                ClusterOutcome(str(env_file or ".env"), report, code, [], metrics or [])
            )
        return code
    status = modes.run_status(run_data, report)
    clock = time.monotonic()
    paths, write_status = modes.write_outputs(args, run_data, report, out, prometheus_runs=metrics)
    log.info("phase outputs: %.2f s", time.monotonic() - clock)
    status = max(status, write_status)
    if args.send_mail and mail is not None:
        status = max(status, _send_mail(mail, report, paths))
    if use_history and not run_data.verdicts_unknown:
        from .history_cmd import record

        record(settings, report, int(status), run_data.started_at)
    if outcomes is not None:
        outcomes.append(
            ClusterOutcome(str(env_file or ".env"), report, int(status), paths, metrics or [])
        )
    return int(status)


def _check_api(settings: Settings, pbs: list[PbsSettings], out: IO[str], lang: str = "en") -> int:
    from ..diagnostics.check_api import ProbeResult, check_api, print_check
    from .client_config import client_config

    async def probes() -> list[ProbeResult]:
        from ..api.client import ReadOnlyClient

        async with ReadOnlyClient(client_config(settings.pve)) as client:
            results = list(await check_api(client, settings.pve.backup_jobs_endpoint))
        if pbs:  # the PBS collectors are only imported when a PBS is configured
            from ..diagnostics.pbs_check import check_pbs

            results += await check_pbs(pbs, timeout=settings.pve.timeout)
        return results

    results = asyncio.run(probes())
    return int(print_check(results, out, lang))


def _send_mail(mail: MailSettings, report: Report, paths: list[Path]) -> ExitStatus:
    """Deliver the digest; a failure is UNKNOWN (the tool could not do its job), not a
    finding, so that cron and the systemd unit see it."""
    from ..outputs.mail import MailDeliveryError, build_message, send

    attachments = [p for p in paths if p.suffix in (".pdf", ".csv", ".json")]
    try:
        send(mail, build_message(report, attachments), timeout=30)
    except MailDeliveryError as error:
        log.error("%s", error.line())
        return ExitStatus.UNKNOWN
    log.log(NOTICE, "e-mail sent to %s", ", ".join(mail.recipients))
    return ExitStatus.OK


def main(
    argv: Sequence[str] | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
) -> int:
    """The single error boundary: an expected failure (`ReportError`) is its one line, exit
    3; anything unexpected becomes one line too (`-v` adds the traceback), exit 3."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    args_list = list(sys.argv[1:] if argv is None else argv)
    early = early_options(args_list)
    setup_logging(early, err)
    _ANNOUNCED.clear()
    try:
        return _main(args_list, out, err)
    except ReportError as error:
        return _fail(error.line(), early.check, out)
    except KeyboardInterrupt:
        return _fail("interrupted", early.check, out)
    except Exception as error:  # the boundary: never a traceback unless asked with -v
        text = f"internal error: {type(error).__name__}: {one_line(error)}"
        if early.verbose:
            log.error("%s", text, exc_info=True)
            return _fail(None, early.check, out, text)
        return _fail(text + " (run with -v for the traceback)", early.check, out)


def _fail(line: str | None, check: bool, out: IO[str], status: str | None = None) -> int:
    """Log the error line (unless already logged) and, in `--check` mode, print the status
    line Nagios reads from stdout."""
    if line is not None:
        log.error("%s", line)
    if check:
        out.write(f"UNKNOWN - {status or line}\n")
    return int(ExitStatus.UNKNOWN)


def _main(args_list: list[str], out: IO[str], err: IO[str]) -> int:
    if args_list and args_list[0] in SUBCOMMANDS:
        return _subcommand(args_list[0], args_list[1:], out, err)
    parser = build_parser()
    args = parser.parse_args(args_list)
    setup_logging(args, err)
    validate_args(args)  # every option checked before any network request
    env_files: list[Path | None] = list(args.env_file or [None])
    for env_file in env_files:
        if env_file is not None and not env_file.is_file():
            raise ConfigError("--env-file", f"{env_file}: no such file")
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
    """Load one cluster's settings and run the selected mode. An expected failure ends this
    cluster with exit 3 (the next cluster of a multi-cluster run still runs)."""
    try:
        # misspelt names first: `PVE_HOSTNAME` explains the `PVE_HOST: required` that follows
        _announce(_unknown_settings(env_file))
        settings = load_settings(env_file, file_wins=file_wins)
        env = pbs_environment(env_file, file_wins=file_wins)
        pbs, warnings = load_pbs_settings(env)
        mail = mail_settings(env) if args.send_mail else None
        _announce(warnings)
        return run(args, settings, out, err, pbs, env_file=env_file, outcomes=outcomes, mail=mail)
    except ReportError as error:  # ApiError: only if a layer forgot to make it an anomaly
        return _fail(error.line(), args.check, out)


def _announce(warnings: list[str]) -> None:
    for warning in warnings:
        if warning not in _ANNOUNCED:  # several clusters share one environment: once
            _ANNOUNCED.add(warning)
            log.warning("%s", warning)


def _unknown_settings(env_file: Path | None) -> list[str]:
    from dotenv import dotenv_values

    from ..config_pbs import unknown_settings

    path = env_file if env_file is not None else Path(".env")
    values = dotenv_values(path) if path.is_file() else {}
    return unknown_settings(values, os.environ, str(path))


def _subcommand(name: str, argv: list[str], out: IO[str], err: IO[str]) -> int:
    if name == "schedule":
        from ..diagnostics.schedule_cmd import run_schedule

        return run_schedule(argv, out, err)
    if name == "history":
        from .history_cmd import run_history

        return run_history(argv, out)
    from ..demo import run_subcommand

    return run_subcommand(name, argv, out, err)

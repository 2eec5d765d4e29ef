"""Command line: parses arguments, loads settings and wires the layers together.

This is the only module that knows every layer (config → client → collectors → analysis →
output). Everything it calls can be used and tested on its own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from . import __version__
from .analysis.coverage import CoverageResult, Verdict, compute_coverage
from .analysis.crosscheck import cross_check
from .api.client import ClientConfig, ReadOnlyClient, pve_authorization
from .api.errors import ApiError
from .collect.inventory import collect_inventory
from .config import ConfigError, PveSettings, Settings, load_settings
from .diagnostics.check_api import ProbeResult, check_api
from .diagnostics.coverage_view import all_anomalies, coverage_json, render_coverage
from .diagnostics.inventory_view import inventory_json, render_inventory
from .exit_status import ExitStatus, from_anomalies
from .model import Anomaly, Inventory

log = logging.getLogger("pve_backup_report")
SUBCOMMANDS = ("demo", "simulate")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pve-backup-report",
        description="Read-only backup coverage report for Proxmox VE clusters. "
        "Subcommands: demo (run against the embedded demo cluster), "
        "simulate SCENARIO (run the simulator standalone).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--env-file", type=Path, help="read settings from this file instead of ./.env"
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--check-api", action="store_true", help="test every API endpoint the tool needs"
    )
    mode.add_argument("--dump-inventory", action="store_true", help="print what was collected")
    mode.add_argument(
        "--dump-coverage", action="store_true", help="print each guest's backup coverage verdict"
    )
    parser.add_argument("--json", action="store_true", help="JSON output for --dump-* modes")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging on stderr")
    parser.add_argument("-q", "--quiet", action="store_true", help="only errors on stderr")
    return parser


def client_config(pve: PveSettings) -> ClientConfig:
    return ClientConfig(
        base_urls=pve.base_urls,
        authorization=pve_authorization(pve.token_id, pve.token_secret),
        verify_tls=pve.verify_tls,
        ca_bundle=pve.ca_bundle,
        fingerprint=pve.fingerprint,
        timeout=pve.timeout,
        max_concurrency=pve.max_concurrency,
        allow_http=pve.allow_insecure_http,
    )


def _setup_logging(args: argparse.Namespace, stderr: IO[str]) -> None:
    level = logging.ERROR if args.quiet else logging.WARNING
    if args.verbose == 1:
        level = logging.INFO
    elif args.verbose >= 2:
        level = logging.DEBUG
    handler = logging.StreamHandler(stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("pve_backup_report")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def _warn_insecure(pve: PveSettings, stderr: IO[str]) -> None:
    if not pve.verify_tls and pve.fingerprint is None:
        stderr.write(
            "WARNING: PVE_VERIFY_TLS=false: the server certificate is NOT verified; anyone on "
            "the path could read the API token. Prefer PVE_CA_BUNDLE or PVE_TLS_FINGERPRINT.\n"
        )
    elif not pve.verify_tls:
        stderr.write(
            "WARNING: PVE_VERIFY_TLS=false: only the certificate fingerprint pin is checked.\n"
        )


async def _collect(settings: Settings) -> tuple[Inventory, int]:
    pve = settings.pve
    async with ReadOnlyClient(client_config(pve)) as client:
        inventory = await collect_inventory(client, pve.base_urls[0], pve.backup_jobs_endpoint)
        return inventory, client.request_count


async def _check(settings: Settings) -> list[ProbeResult]:
    pve = settings.pve
    async with ReadOnlyClient(client_config(pve)) as client:
        return await check_api(client, pve.backup_jobs_endpoint)


def print_check(results: list[ProbeResult], out: IO[str]) -> ExitStatus:
    for result in results:
        label = f"{result.probe.name} ({result.probe.path})"
        if result.ok:
            out.write(f"OK      {label}: {result.count} item(s)\n")
        else:
            out.write(f"FAILED  {label}: {result.error}\n")
            if result.hint:
                out.write(f"        hint: {result.hint}\n")
    failed = sum(1 for r in results if not r.ok)
    out.write(f"{len(results) - failed}/{len(results)} checks passed\n")
    return ExitStatus.OK if failed == 0 else ExitStatus.CRITICAL


def inventory_status(inventory: Inventory) -> ExitStatus:
    if inventory.jobs is None or not inventory.nodes:
        return ExitStatus.UNKNOWN
    return from_anomalies(inventory.anomalies)


def coverage_status(
    inventory: Inventory, coverage: CoverageResult, anomalies: list[Anomaly]
) -> ExitStatus:
    if inventory.jobs is None or any(a.code == "guests_unavailable" for a in anomalies):
        return ExitStatus.UNKNOWN
    status = from_anomalies(anomalies)
    counts = coverage.counts()
    if counts[Verdict.NOT_COVERED.value] or counts[Verdict.DISABLED_ONLY.value]:
        return ExitStatus.CRITICAL
    if status is ExitStatus.OK and (
        counts[Verdict.INDETERMINATE.value]
        or counts[Verdict.EXCLUDED.value]
        or counts[Verdict.COVERED_NON_PBS.value]
    ):
        return ExitStatus.WARNING
    return status


def _dump_coverage(
    args: argparse.Namespace, settings: Settings, inventory: Inventory, out: IO[str]
) -> int:
    coverage = compute_coverage(inventory, settings.opt_out_tag)
    extra = cross_check(inventory.not_backed_up, coverage.guests)
    anomalies = all_anomalies(inventory, coverage, extra)
    if args.json:
        data = coverage_json(inventory, coverage, anomalies)
        out.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    else:
        render_coverage(inventory, coverage, anomalies, out)
    return int(coverage_status(inventory, coverage, anomalies))


def run(args: argparse.Namespace, settings: Settings, out: IO[str], err: IO[str]) -> int:
    """Run the selected mode with validated settings (shared by the CLI and `demo`)."""
    _warn_insecure(settings.pve, err)
    if args.check_api:
        return int(print_check(asyncio.run(_check(settings)), out))
    inventory, requests = asyncio.run(_collect(settings))
    log.info("collected inventory with %d API requests", requests)
    if args.dump_coverage or not args.dump_inventory:
        # Until the report renderers are wired, the main job is the coverage table.
        return _dump_coverage(args, settings, inventory, out)
    if args.json:
        out.write(json.dumps(inventory_json(inventory), indent=2, ensure_ascii=False) + "\n")
    else:
        render_inventory(inventory, out)
    return int(inventory_status(inventory))


def main(
    argv: Sequence[str] | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] in SUBCOMMANDS:
        from .demo import run_subcommand

        return run_subcommand(args_list[0], args_list[1:], out, err)
    parser = build_parser()
    args = parser.parse_args(args_list)
    _setup_logging(args, err)
    try:
        settings = load_settings(args.env_file)
    except ConfigError as error:
        err.write(f"configuration error: {error}\n")
        return int(ExitStatus.UNKNOWN)
    try:
        return run(args, settings, out, err)
    except ApiError as error:  # only reached if a layer forgot to turn it into an anomaly
        err.write(f"error: {error}\n")
        return int(ExitStatus.UNKNOWN)
    except KeyboardInterrupt:
        err.write("interrupted\n")
        return int(ExitStatus.UNKNOWN)

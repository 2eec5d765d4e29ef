"""The argument parser (kept apart so `demo` reuses it verbatim)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from .. import __version__
from ..errors import OneLineArgumentParser, UsageError

log = logging.getLogger("pve_backup_report.cli")

FORMATS = ("pdf", "html", "json", "csv", "md", "text", "prometheus")


def formats(value: str) -> list[str]:
    items = [v.strip().lower() for v in value.split(",") if v.strip()]
    unknown = [v for v in items if v not in FORMATS]
    if unknown or not items:
        raise argparse.ArgumentTypeError(
            f"unknown format {', '.join(unknown) or '(empty)'}; choose from {', '.join(FORMATS)}"
        )
    return items


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineArgumentParser(
        prog="pve-backup-report",
        allow_abbrev=False,
        description="Read-only backup coverage report for Proxmox VE clusters and Proxmox "
        "Backup Servers. Subcommands: demo (run against the embedded demo cluster), "
        "simulate [SCENARIO] (run the simulator), schedule EXPR (check a schedule), "
        "history (list past runs).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--env-file",
        type=Path,
        action="append",
        help="read settings from this file instead of ./.env; repeat it for one report per "
        "cluster plus a combined summary",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--check-api", action="store_true", help="test every API endpoint the tool needs"
    )
    mode.add_argument("--dump-inventory", action="store_true", help="print what was collected")
    mode.add_argument(
        "--dump-coverage", action="store_true", help="print each guest's coverage and evidence"
    )
    mode.add_argument(
        "--dump-report-data", action="store_true", help="print the report model as JSON"
    )
    mode.add_argument(
        "--check", action="store_true", help="Nagios/Icinga plugin mode: one status line, exit 0-3"
    )
    parser.add_argument("--json", action="store_true", help="JSON output for --dump-* modes")
    parser.add_argument(
        "--format",
        type=formats,
        default=None,
        help=f"comma list of {', '.join(FORMATS)} (default: pdf,html)",
    )
    parser.add_argument("--generate-pdf", action="store_true", help="alias: add pdf to --format")
    parser.add_argument(
        "--output-dir", default="reports", help="where reports are written ('-' = stdout)"
    )
    parser.add_argument("--lang", choices=("en", "fr"), help="report language (REPORT_LANGUAGE)")
    parser.add_argument("--send-mail", action="store_true", help="e-mail the digest (SMTP_*)")
    parser.add_argument("--no-history", action="store_true", help="do not read or write history")
    parser.add_argument("--warning", help="--check: warning thresholds, e.g. not_covered=1")
    parser.add_argument("--critical", help="--check: critical thresholds")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="only errors on stderr")
    parser.add_argument(
        "--log-format", choices=("text", "json"), default="text", help="stderr log format"
    )
    return parser


def validate_args(args: argparse.Namespace) -> None:
    """Check every option together, before any network request: a mistake found after a
    whole collection wastes minutes and, in `--check` mode, reaches monitoring as a wrong
    status. Raises `UsageError`/`ConfigError` (one line naming the option, exit 3); the
    parsed thresholds are kept as `args.thresholds` (None: the defaults)."""
    args.thresholds = None
    if args.warning or args.critical:
        from ..outputs.nagios import parse_thresholds  # only then: start-up time (issue 12)

        args.thresholds = parse_thresholds(args.warning, args.critical)
    if (args.warning or args.critical) and not args.check:
        log.warning("--warning/--critical only apply to --check; ignored")
    if args.json and not (args.dump_inventory or args.dump_coverage):
        log.warning("--json only applies to --dump-inventory and --dump-coverage; ignored")
    formats = list(args.format or [])
    if args.generate_pdf:
        formats.append("pdf")
    to_stdout = str(args.output_dir) == "-"
    if to_stdout and "pdf" in formats:
        raise UsageError(
            "pve-backup-report: error: argument --output-dir: PDF cannot be written to "
            "standard output; give a directory"
        )
    folder = Path(args.output_dir)
    if not to_stdout and folder.exists() and not folder.is_dir():
        raise UsageError(
            f"pve-backup-report: error: argument --output-dir: {folder} is not a directory"
        )

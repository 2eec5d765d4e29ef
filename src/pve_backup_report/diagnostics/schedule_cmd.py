"""``pve-backup-report schedule EXPR``: check a Proxmox calendar event and show its next runs.

Why: users write schedules by hand and want to know, before saving a job, what Proxmox will make
of them; tests also use it as a stable, cluster-free entry point to the calendar engine. Exit 0
when the schedule is valid, 3 when Proxmox would reject it (2 for a bad option such as an
unknown time zone, like every usage error).

``--from`` is an ISO 8601 time (a time without offset is read in ``--tz``; default: now);
``--tz`` is the node's time zone (default UTC; ignored by ``... UTC`` schedules). The next runs
are printed in that zone and, with ``--json``, as UTC strings ``YYYY-MM-DDTHH:MM:SSZ``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import IO, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..analysis.calendar import CalendarError, describe, next_events, parse_schedule

EXIT_VALID = 0
EXIT_USAGE = 2
EXIT_INVALID = 3


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors through the given stream instead of exiting."""

    def __init__(self, err: IO[str]) -> None:
        super().__init__(
            prog="pve-backup-report schedule",
            description="Check a Proxmox calendar event and list its next runs.",
        )
        self._err = err

    def error(self, message: str) -> Any:
        raise _UsageError(message)


class _UsageError(Exception):
    pass


def _parser(err: IO[str]) -> _Parser:
    parser = _Parser(err)
    parser.add_argument("schedule", metavar="EXPR", help="calendar event, e.g. 'mon..fri 21:30'")
    parser.add_argument("--from", dest="start", metavar="ISO8601", help="start (default: now)")
    parser.add_argument("--count", type=int, default=5, metavar="N", help="next runs (default 5)")
    parser.add_argument("--tz", default="UTC", metavar="ZONE", help="node time zone (default UTC)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _start(text: str | None, tz: ZoneInfo) -> datetime:
    if text is None:
        return datetime.now(UTC)
    value = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


def run_schedule(argv: Sequence[str], out: IO[str], err: IO[str]) -> int:
    """Entry point of the ``schedule`` subcommand; returns the exit status."""
    try:
        args = _parser(err).parse_args(list(argv))
        if args.count < 0 or args.count > 1000:
            raise _UsageError("--count must be between 0 and 1000")
        try:
            tz = ZoneInfo(args.tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise _UsageError(f"unknown time zone {args.tz!r}") from None
        try:
            start = _start(args.start, tz)
        except ValueError:
            raise _UsageError(f"--from: not an ISO 8601 time: {args.start!r}") from None
    except _UsageError as exc:
        err.write(f"pve-backup-report schedule: error: {exc}\n")
        return EXIT_USAGE
    text: str = args.schedule
    try:
        event = parse_schedule(text)
    except CalendarError as exc:
        if args.json:
            body = {
                "schedule": text,
                "valid": False,
                "description": None,
                "next": [],
                "error": str(exc),
            }
            out.write(json.dumps(body, ensure_ascii=False) + "\n")
        else:
            out.write(f"Schedule:    {text}\nValid:       no\nError:       {exc}\n")
        return EXIT_INVALID
    runs = next_events(event, start, tz, args.count)
    description = {"en": describe(event, "en"), "fr": describe(event, "fr")}
    if args.json:
        body = {
            "schedule": text,
            "valid": True,
            "description": description,
            "next": [_utc(r) for r in runs],
        }
        out.write(json.dumps(body, ensure_ascii=False) + "\n")
        return EXIT_VALID
    zone = "UTC" if event.utc else args.tz
    lines = [
        f"Schedule:    {text}",
        "Valid:       yes",
        f"Description: {description['en']} (`{text}`)",
        f"             {description['fr']} (`{text}`)",
        f"Next runs ({zone}), after {start.astimezone(UTC if event.utc else tz).isoformat()}:",
    ]
    shown = UTC if event.utc else tz
    lines += [f"  {r.astimezone(shown).isoformat()}" for r in runs] or ["  (none)"]
    out.write("\n".join(lines) + "\n")
    return EXIT_VALID

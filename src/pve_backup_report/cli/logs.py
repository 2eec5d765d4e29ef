"""stderr logging: every message the tool prints about itself goes through `logging`.

Levels: `-q` shows errors only; by default warnings and NOTICE lines (`written: …`, demo
banners) are shown; `-v` adds INFO (per-phase timings and request counts, and tracebacks of
unexpected errors); `-vv` adds DEBUG (every request). `--log-format json` makes every line,
errors included, one JSON object for log shippers; nothing else is written to stderr then
(the progress spinner is off). Control characters are removed from every message: some
carry text from the cluster (reason phrases, names).
"""

from __future__ import annotations

import argparse
import json
import logging
from typing import IO

from ..sanitize import strip_controls

NOTICE = 25  # between INFO and WARNING: what a user running by hand wants to see
logging.addLevelName(NOTICE, "NOTICE")
LOGGER = "pve_backup_report"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": strip_controls(record.getMessage()),
        }
        if record.exc_info:
            data["traceback"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """Errors and notices as their bare message (they carry their own kind), warnings with
    `WARNING:`, debug lines with the logger name."""

    def format(self, record: logging.LogRecord) -> str:
        # a reason phrase or a name from the cluster must not drive the terminal (sanitize)
        message = strip_controls(record.getMessage())
        if record.levelno == logging.WARNING:
            message = f"WARNING: {message}"
        elif record.levelno <= logging.DEBUG:
            message = f"DEBUG {record.name}: {message}"
        if record.exc_info:
            message += "\n" + self.formatException(record.exc_info)
        return message


def level_for(quiet: bool, verbose: int) -> int:
    if verbose >= 2:
        return logging.DEBUG
    if verbose == 1:
        return logging.INFO
    return logging.ERROR if quiet else NOTICE


def setup_logging(args: argparse.Namespace, stderr: IO[str]) -> None:
    quiet = bool(getattr(args, "quiet", False))
    verbose = int(getattr(args, "verbose", 0) or 0)
    handler = logging.StreamHandler(stderr)
    if getattr(args, "log_format", "text") == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter())
    root = logging.getLogger(LOGGER)
    root.handlers[:] = [handler]
    root.setLevel(level_for(quiet, verbose))
    root.propagate = False


def early_options(argv: list[str]) -> argparse.Namespace:
    """-q/-v/--log-format/--check read before parsing, so that even a usage error is logged
    the way the user asked (a JSON line, or an UNKNOWN status line for Nagios)."""
    fmt = "text"
    for index, item in enumerate(argv):
        if item == "--log-format" and index + 1 < len(argv):
            fmt = argv[index + 1]
        elif item.startswith("--log-format="):
            fmt = item.partition("=")[2]
    verbose = sum(
        item.count("v") if item.startswith("-") and set(item[1:]) == {"v"} else 0 for item in argv
    ) + argv.count("--verbose")
    quiet = "-q" in argv or "--quiet" in argv
    return argparse.Namespace(quiet=quiet, verbose=verbose, log_format=fmt, check="--check" in argv)

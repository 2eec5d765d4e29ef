"""stderr logging: quiet by default, `-v`/`-vv`, optional JSON lines for log shippers."""

from __future__ import annotations

import argparse
import json
import logging
from typing import IO


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(
            {
                "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
                "level": record.levelname.lower(),
                "logger": record.name,
                "message": record.getMessage(),
            },
            ensure_ascii=False,
        )


def setup_logging(args: argparse.Namespace, stderr: IO[str]) -> None:
    level = logging.ERROR if args.quiet else logging.WARNING
    if args.verbose == 1:
        level = logging.INFO
    elif args.verbose >= 2:
        level = logging.DEBUG
    handler = logging.StreamHandler(stderr)
    if getattr(args, "log_format", "text") == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("pve_backup_report")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False

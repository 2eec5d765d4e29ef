"""stderr lines: one per message, no control character from the cluster, JSON when asked."""

from __future__ import annotations

import argparse
import io
import json
import logging

from pve_backup_report.cli.logs import NOTICE, early_options, setup_logging


def _log(fmt: str, quiet: bool = False, verbose: int = 0) -> tuple[io.StringIO, logging.Logger]:
    err = io.StringIO()
    setup_logging(argparse.Namespace(quiet=quiet, verbose=verbose, log_format=fmt), err)
    return err, logging.getLogger("pve_backup_report.test")


def test_text_lines_by_level_and_without_controls() -> None:
    err, log = _log("text")
    log.error("error: %s", "HTTP 500 \x1b[2Jgone\x07")
    log.warning("careful")
    log.log(NOTICE, "written: x")
    log.info("hidden by default")
    assert err.getvalue().splitlines() == [
        "error: HTTP 500 [2Jgone",
        "WARNING: careful",
        "written: x",
    ]


def test_quiet_keeps_errors_only_and_verbose_adds_info() -> None:
    err, log = _log("text", quiet=True)
    log.warning("careful")
    log.log(NOTICE, "written: x")
    log.error("broken")
    assert err.getvalue() == "broken\n"
    err, log = _log("text", verbose=1)
    log.info("phase inventory: 1.00 s, 3 request(s)")
    log.debug("GET /version")
    assert err.getvalue() == "phase inventory: 1.00 s, 3 request(s)\n"


def test_json_lines() -> None:
    err, log = _log("json")
    log.warning("a\x00b")
    log.log(NOTICE, "written: x")
    records = [json.loads(line) for line in err.getvalue().splitlines()]
    assert [(r["level"], r["message"], r["logger"]) for r in records] == [
        ("warning", "ab", "pve_backup_report.test"),
        ("notice", "written: x", "pve_backup_report.test"),
    ]


def test_early_options_read_before_parsing() -> None:
    early = early_options(["--check", "-vv", "--log-format=json", "--bogus"])
    assert (early.check, early.verbose, early.log_format, early.quiet) == (True, 2, "json", False)
    early = early_options(["-q", "--log-format", "text", "-v"])
    assert (early.check, early.verbose, early.log_format, early.quiet) == (False, 1, "text", True)

"""The one base type for expected failures, and an argparse that reports through it.

Why: every failure the tool can foresee (a bad setting, a mistyped option, an unreadable
file, an undeliverable e-mail) must end as ONE line that names what is wrong and exit 3
(UNKNOWN: the tool could not do its job), never as a traceback or as exit 1/2, which
monitoring would read as backup findings. Such failures raise a `ReportError`; the single
top-level handler in `cli.main` prints it and turns anything else into one line too.
Messages never carry a secret: they name the variable or option, never its value.
"""

from __future__ import annotations

import argparse
from typing import NoReturn


class ReportError(Exception):
    """An expected failure; `str()` is the one line shown to the user (no secret in it)."""

    label = "error"  # what kind of failure, printed before the message

    def line(self) -> str:
        """The line the top-level handler prints."""
        text = one_line(self)
        return f"{self.label}: {text}" if self.label else text


class UsageError(ReportError):
    """A command-line option is missing, unknown or invalid."""

    label = ""  # the message already reads `prog: error: …`, like argparse


class OneLineArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage error raises `UsageError` (one line, exit 3 in `cli.main`)
    instead of printing the whole usage and exiting 2 (CRITICAL for Nagios)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: error: {message} (see --help)")


def one_line(text: object) -> str:
    """An exception text on one line (some libraries put newlines in their messages)."""
    return " ".join(str(text).split())

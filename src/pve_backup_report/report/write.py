"""Write the requested formats: atomically, each on its own, PDF failures kept apart.

Why atomic: a report is evidence; a crash or a full disk must never leave a half-written file
that looks complete. Each file is written to a temporary name in the target directory, flushed
and fsync'ed, then renamed with `os.replace`. A missing PDF engine must not cost the user the
HTML and JSON reports, so errors are collected and the other formats are still written.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

from ..errors import ReportError, one_line
from .model import Report
from .render_csv import render_csv
from .render_html import render_html
from .render_json import render_json
from .render_md import render_md
from .render_pdf import render_pdf
from .render_text import render_text

FORMATS = ("pdf", "html", "json", "csv", "md", "text")
EXTENSIONS = {"pdf": "pdf", "html": "html", "json": "json", "csv": "csv", "md": "md"}
TEXT_RENDERERS: dict[str, Callable[[Report], str]] = {
    "html": render_html,
    "json": render_json,
    "csv": render_csv,
    "md": render_md,
    "text": render_text,
}
STDOUT = Path("-")


class OutputError(ReportError):
    """One report file could not be written. Names the file the user asked for (never the
    temporary file next to it) and the system's reason, on one line."""

    label = ""

    def __init__(self, path: Path, error: OSError) -> None:
        self.path = path
        reason = error.strerror or one_line(error) or type(error).__name__
        super().__init__(f"cannot write {path}: {reason}")


class ReportWriteError(ReportError, RuntimeError):
    """Some formats could not be written; `written` lists the files that were."""

    label = ""

    def __init__(self, errors: dict[str, Exception], written: list[Path]) -> None:
        self.errors = errors
        self.written = written
        super().__init__("; ".join(f"{fmt}: {exc}" for fmt, exc in errors.items()))


def base_name(report: Report) -> str:
    cluster = re.sub(
        r"[^A-Za-z0-9._-]+", "-", report.cluster.label or report.cluster.name or ""
    ).strip("-.")
    stamp = report.generated_at.strftime("%Y%m%d-%H%M%S")
    return f"pve-backup-report_{cluster[:64] or 'cluster'}_{stamp}"


def atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _render(report: Report, fmt: str) -> bytes:
    if fmt == "pdf":
        return render_pdf(report)
    return TEXT_RENDERERS[fmt](report).encode("utf-8")


def write_reports(
    report: Report,
    formats: Sequence[str],
    output_dir: Path,
    stdout: IO[str],
    *,
    errors: dict[str, Exception] | None = None,
) -> list[Path]:
    """Write each format; `text` (or every text format when `output_dir` is `-`) goes to
    `stdout`. Failures are put in `errors` when given, else raised together as
    `ReportWriteError` after the other formats were written."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown report format(s): {', '.join(unknown)}")
    failed: dict[str, Exception] = {}
    written: list[Path] = []
    to_stdout = output_dir == STDOUT
    folder_error: OSError | None = None
    if not to_stdout and any(f != "text" for f in formats):
        try:
            output_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # every file format fails the same way; text still prints
            folder_error = exc
    name = base_name(report)
    for fmt in dict.fromkeys(formats):
        path = output_dir / f"{name}.{EXTENSIONS.get(fmt, fmt)}"
        try:
            if folder_error is not None and fmt != "text":
                raise OutputError(output_dir, folder_error)
            if fmt == "text" or (to_stdout and fmt != "pdf"):
                stdout.write(TEXT_RENDERERS[fmt](report))
                continue
            if to_stdout:
                raise ValueError("PDF cannot be written to standard output; use --output-dir")
            try:
                atomic_write(path, _render(report, fmt))
            except OSError as exc:  # its file name is the temporary file: name the real one
                raise OutputError(path, exc) from None
            written.append(path)
        except Exception as exc:
            failed[fmt] = exc
    if errors is not None:
        errors.update(failed)
    elif failed:
        raise ReportWriteError(failed, written)
    return written

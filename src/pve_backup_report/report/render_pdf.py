"""PDF for auditors: the `print` HTML variant laid out by WeasyPrint.

WeasyPrint is an optional extra (`pip install 'pve-backup-report[pdf]'`) that also needs Pango
from the OS. Both are checked lazily, and a missing piece raises `PdfUnavailableError` whose
message is a one-line hint, so the CLI can print it and still write the other formats.
"""

from __future__ import annotations

import logging
from typing import Any

from ..errors import ReportError
from .model import Report
from .render_html import render_html

INSTALL_HINT = (
    "PDF output needs WeasyPrint and Pango: pip install 'pve-backup-report[pdf]' and, on "
    "Debian/Ubuntu, apt-get install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 "
    "fonts-dejavu-core"
)


class PdfUnavailableError(ReportError, RuntimeError):
    """WeasyPrint or its system libraries are missing; `str()` is the install hint."""

    label = ""


class PdfRenderError(ReportError, RuntimeError):
    """WeasyPrint is there but failed on this report."""

    label = ""


def _weasyprint() -> Any:
    try:
        import weasyprint  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError as exc:
        raise PdfUnavailableError(INSTALL_HINT) from exc
    except OSError as exc:  # Pango/GObject shared libraries not found
        raise PdfUnavailableError(f"{INSTALL_HINT} ({exc})") from exc
    return weasyprint


def pdf_available() -> bool:
    try:
        _weasyprint()
    except PdfUnavailableError:
        return False
    return True


def render_pdf(report: Report) -> bytes:
    weasyprint = _weasyprint()
    for name in ("weasyprint", "fontTools"):  # layout chatter would drown the CLI's stderr
        logging.getLogger(name).setLevel(logging.ERROR)
    html = render_html(report, "print")

    def no_fetch(url: str, *_args: object, **_kwargs: object) -> Any:
        raise ValueError(f"external resource refused: {url[:80]}")

    try:
        document = weasyprint.HTML(string=html, url_fetcher=no_fetch, base_url=".")
        data = document.write_pdf()
    except Exception as exc:
        raise PdfRenderError(f"PDF rendering failed: {exc}") from exc
    if not isinstance(data, bytes):
        raise PdfRenderError("PDF rendering produced no data")
    return data

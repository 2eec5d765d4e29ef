"""The HTML in a real browser (headless Chromium): no horizontal overflow, and a screenshot.

Headless Chromium will not open a window narrower than 500 px, so the report is loaded into
an iframe of the width under test (`srcdoc`, same origin). A probe script in the wrapper page
(the report itself has no JavaScript) writes the report's scroll width into the DOM, which is
read back with `--dump-dom`.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from pve_backup_report.report.render_html import render_html

from .scenario_full import build_full as build
from .tools import ARTIFACTS, chromium

WRAPPER = """<!DOCTYPE html><html><head><meta charset="utf-8">
<style>body{{margin:0}} iframe{{border:0;display:block;width:{width}px;height:{height}px}}</style>
</head><body><iframe id="f" srcdoc="{doc}"></iframe>
<script>
document.getElementById('f').addEventListener('load', function () {{
  var d = this.contentDocument;
  document.body.setAttribute('data-probe',
    d.documentElement.scrollWidth + 'x' + d.documentElement.clientWidth);
}});
</script></body></html>"""


def _wrap(tmp: Path, report_html: str, width: int, height: int) -> Path:
    page = tmp / f"wrapper-{width}.html"
    doc = html.escape(report_html, quote=True)
    page.write_text(WRAPPER.format(width=width, height=height, doc=doc), encoding="utf-8")
    return page


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_no_horizontal_overflow(tmp_path: Path, width: int, lang: str) -> None:
    page = _wrap(tmp_path, render_html(build(lang)), width, 900)
    result = chromium(
        f"--window-size={max(width, 500) + 20},960",
        "--virtual-time-budget=10000",
        "--dump-dom",
        page.as_uri(),
    )
    match = re.search(r'data-probe="(\d+)x(\d+)"', result.stdout)
    assert match, result.stderr[-2000:]
    scroll, client = int(match.group(1)), int(match.group(2))
    assert client == width
    assert scroll <= width, f"page is {scroll}px wide in a {width}px viewport"


@pytest.mark.parametrize("width", [1280, 390])
def test_screenshot_artifact(tmp_path: Path, width: int) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    report_html = render_html(build("en"))
    (ARTIFACTS / "report-en.html").write_text(report_html, encoding="utf-8")
    page = _wrap(tmp_path, report_html, width, 3000)
    shot = ARTIFACTS / f"report-en-{width}.png"
    shot.unlink(missing_ok=True)
    result = chromium(
        f"--window-size={max(width, 500)},3000",
        "--virtual-time-budget=10000",
        f"--screenshot={shot}",
        page.as_uri(),
    )
    assert shot.is_file(), result.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 10_000  # not a blank page


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_demo_report_fits_a_phone(tmp_path: Path, lang: str) -> None:
    """The demo cluster's real report (long job ids, badges, PBS and history cells)."""
    import io

    from pve_backup_report.cli import main

    out_dir = tmp_path / "demo"
    code = main(
        ["demo", "--lang", lang, "--format", "html", "--output-dir", str(out_dir)],
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    assert code in (0, 1, 2)
    report_html = next(out_dir.glob("*.html")).read_text(encoding="utf-8")
    page = _wrap(tmp_path, report_html, 390, 900)
    result = chromium("--window-size=520,960", "--virtual-time-budget=10000", "--dump-dom",
                      page.as_uri())  # fmt: skip
    match = re.search(r'data-probe="(\d+)x(\d+)"', result.stdout)
    assert match, result.stderr[-2000:]
    assert int(match.group(1)) <= 390, f"demo report is {match.group(1)}px wide at 390px"

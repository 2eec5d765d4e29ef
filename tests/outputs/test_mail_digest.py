"""The e-mail body is a digest (issue 13 §4): status and why, counts, what needs attention
(capped), changes since the previous report; styles inlined, no CSS variables, tables for
layout, bounded size; a plain-text part with the same content; and it keeps its colours in a
browser once `<style>` is removed, as a strict mail client would.

Expected values are worked out by hand from tests/outputs/sample.py (6 guests: 102 not
covered and 101 failed → critical, 103 non-PBS and 105 no success → warning) and from the
1,000-guest model built below.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from pve_backup_report.model import Anomaly, Severity
from pve_backup_report.report.history_view import GuestChange, NewAnomaly
from pve_backup_report.report.model import Report
from pve_backup_report.report.render_digest import (
    GUESTS_CAP,
    render_digest_html,
    render_digest_text,
)
from tests.report.scenario_full import build_full
from tests.report.tools import ARTIFACTS, chromium

from .sample import report

BANNER_RED = "rgb(251, 227, 225)"  # #fbe3e1, the critical banner's background


def big_report(lang: str = "en", n: int = 1000) -> Report:
    """1,000 guests, every one needing attention (long names), 2 anomalies each, and every
    guest in every kind of change: the worst case for the digest's size."""
    base = build_full(lang)
    template = {g.vmid: g for g in base.guests}
    kinds = [template[101], template[107], template[105], template[103]]  # crit/crit/warn/crit
    guests = tuple(
        replace(kinds[i % 4], vmid=10000 + i, name=f"guest-{i:04d}-" + "x" * 60, node="pve1")
        for i in range(n)
    )
    anomalies = tuple(
        Anomaly(sev, "guests", code, f"Guest {10000 + i}: {code} " + "y" * 80, {"vmid": 10000 + i})
        for i in range(n)
        for sev, code in ((Severity.CRITICAL, "backup_no_success"), (Severity.WARNING, "w"))
    ) + tuple(
        Anomaly(
            Severity.WARNING,
            "jobs",
            f"job_code_{k}",
            f"Job j{k} message " + "z" * 80,
            {"job": f"j{k}"},
        )
        for k in range(40)
    )
    changes = tuple(GuestChange(g.vmid, g.name, "covered", "not_covered") for g in guests)
    assert base.history is not None and base.history.changes is not None
    history = replace(
        base.history,
        changes=replace(
            base.history.changes,
            newly_uncovered=changes,
            newly_failing=changes,
            recovered=changes,
            new_guests=changes,
            deleted_guests=changes,
            new_anomalies=tuple(NewAnomaly(f"code_{k}", "warning", 3) for k in range(200)),
        ),
    )
    order = sorted(guests, key=lambda g: (g.attention_level != "critical", g.vmid))
    return replace(
        base,
        guests=guests,
        attention=tuple(g.vmid for g in order),
        anomalies=anomalies,
        history=history,
    )


def test_text_part_reads_top_down() -> None:
    text = render_digest_text(report())
    lines = text.splitlines()
    assert lines[0] == "Backup coverage report — cluster1"
    assert lines[1] == "generated 2025-11-26 07:00 UTC"
    assert lines[3].startswith("Status CRITICAL: 1 guest in no backup job; ")
    order = [text.index(h) for h in (
        "Counts:", "What needs attention:", "Guests that need attention:",
        "Changes since the previous report:", "The full report",
    )]  # fmt: skip
    assert order == sorted(order)
    assert "  Not covered (incl. disabled job only): 1\n" in text and "  Stale: 2\n" in text
    assert "  [CRITICAL] 1 guest in no backup job: 102\n" in text
    assert "  [CRITICAL] 102 lab (pve2): in no backup job\n" in text
    assert "Times are shown in UTC." in text


def test_html_part_is_inline_styled_tables_without_css_variables() -> None:
    html = render_digest_html(report())
    assert "<style" not in html and "var(--" not in html
    assert "<div" not in html  # tables for layout
    banner = re.search(r'<td class="banner banner-critical" style="([^"]+)"', html)
    assert banner and "background: #fbe3e1" in banner.group(1)
    badge = re.search(r'<span class="badge b-critical" style="([^"]+)">critical<', html)
    assert badge and "color: #a61b1b" in badge.group(1)


def test_html_and_text_say_the_same_things() -> None:
    for r in (report(), build_full("fr"), big_report()):
        html, text = render_digest_html(r), render_digest_text(r)
        from html import unescape

        plain = re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).lower()
        for line in text.splitlines():
            words = re.split(r"[\s\[\]():;,\u202f]+", line.lower())
            for word in [w for w in words if len(w) > 3 and "…" not in w][:8]:
                assert word in plain, (word, line)


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_a_thousand_guests_fit_in_100_kb(lang: str) -> None:
    r = big_report(lang)
    html = render_digest_html(r)
    size = len(html.encode("utf-8"))
    assert size <= 100_000, f"{size} bytes"
    text = render_digest_text(r)
    more = len(r.attention) - GUESTS_CAP
    if lang == "en":
        assert f"… and {more:,} more guests in the attached report." in text
        assert "… and 990 more in the attached report." in text  # 1,000 changes, 10 named
    assert html.count("guest-0") <= 200


def _strip_styles(html: str) -> str:
    return re.sub(r"<style\b.*?</style>", "", html, flags=re.S | re.I)


def test_renders_in_chromium_without_style_blocks(tmp_path: Path) -> None:
    """As a strict client would: no `<style>`, no script; the banner keeps its red."""
    page = tmp_path / "digest.html"
    probe = (
        "<script>document.body.setAttribute('data-bg', getComputedStyle("
        "document.querySelector('.banner')).backgroundColor)</script>"
    )
    html = _strip_styles(render_digest_html(report()))
    page.write_text(html.replace("</body>", probe + "</body>"), encoding="utf-8")
    result = chromium("--window-size=700,900", "--dump-dom", page.as_uri())
    match = re.search(r'data-bg="([^"]+)"', result.stdout)
    assert match, result.stderr[-2000:]
    assert match.group(1) == BANNER_RED


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("width", [700, 390])
def test_screenshot_artifact(tmp_path: Path, lang: str, width: int) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    html = _strip_styles(render_digest_html(build_full(lang)))
    page = tmp_path / f"digest-{lang}.html"
    doc = html.replace("<html", f'<html style="width:{width}px"', 1)
    page.write_text(doc, encoding="utf-8")
    shot = ARTIFACTS / f"digest-{lang}-{width}.png"
    shot.unlink(missing_ok=True)
    result = chromium(
        f"--window-size={max(width, 500)},2200", f"--screenshot={shot}", page.as_uri()
    )
    assert shot.is_file(), result.stderr[-2000:]
    assert shot.stat().st_size > 10_000  # not a blank page


def test_unknown_status_says_its_cause_first() -> None:
    """When the cluster could not be read, the digest's banner is the report's UNKNOWN one."""
    r = replace(report(), unknown_cause="cannot read the guest list (/cluster/resources)")
    text = render_digest_text(r)
    assert text.splitlines()[3].startswith("Status UNKNOWN — the cluster could not be read: ")
    assert "  Guests: unknown\n" in text and "  Not verified: unknown\n" in text  # no figure
    assert "  Unknown: the cluster could not be read, so no guest can be judged.\n" in text
    html = render_digest_html(r)
    assert 'class="banner banner-unknown"' in html and "/cluster/resources" in html

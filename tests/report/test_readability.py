"""The report read top-down (issue 13 §2): zones beside times, codes kept whole, contents
and anchors, the footer's zone. Expected values worked out by hand from scenario.py
(generated 2026-11-26 09:30 Europe/Paris; node pve1 in Europe/Paris, pve2 without a zone)."""

from __future__ import annotations

from pve_backup_report.report.render_html import render_html
from pve_backup_report.report.render_md import render_md

from .scenario import build

NBSP = "\u00a0"


def _section(html: str, name: str) -> str:
    start = html.index(f'id="section-{name}"')
    return html[start : html.index("</section>", start)]


def test_schedules_say_their_zone_and_next_runs_carry_theirs() -> None:
    jobs = _section(render_html(build("en")), "jobs")
    # "daily" runs on any node: read in pve1's zone; its next run 20:00 UTC is 21:00 CET
    assert 'every day at 21:00 <span class="small">(node time, Europe/Paris)</span>' in jobs
    assert f"Next run: 2026-11-26 21:00{NBSP}CET" in jobs
    # "nfs-weekly" is restricted to pve2, whose zone is unknown: said, not guessed
    assert 'Saturdays at 02:00 <span class="small">(node time, zone unknown)</span>' in jobs
    assert f"Next run: 2026-11-28 03:00{NBSP}CET" in jobs


def test_every_time_in_the_guest_table_has_a_zone() -> None:
    guests = _section(render_html(build("en")), "guests")
    import re

    times = re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d(.{0,4})", guests)
    assert times and all(t.startswith(f"{NBSP}CET") for t in times)


def test_markdown_schedule_names_its_zone() -> None:
    assert "every day at 21:00, node time, Europe/Paris" in render_md(build("en"))


def test_contents_list_and_every_internal_link_resolves() -> None:
    import re

    from .scenario_full import build_full

    for report in (build("en"), build_full("fr")):
        for variant in ("web", "print"):
            html = render_html(report, variant)  # type: ignore[arg-type]
            ids = set(re.findall(r' id="([^"]+)"', html))
            links = set(re.findall(r' href="#([^"]+)"', html))
            assert links - ids == set(), (variant, links - ids)
            for section in ("summary", "attention", "guests", "jobs", "anomalies", "method"):
                assert f'href="#sec-{section}"' in html
                assert f'id="sec-{section}"' in html
    html = render_html(build("en"))
    toc = html[html.index('<nav class="toc-web"') : html.index("</nav>")]
    assert '<a href="#sec-attention">What needs attention</a>' in toc
    assert 'href="#sec-anomalies"><span class="n">1 / 1</span>' in html  # the anomaly count


def test_footer_and_method_state_the_zone_not_a_time() -> None:
    html = render_html(build("en"))
    footer = html[html.index("<footer>") : html.index("</footer>")]
    assert "Times are shown in Europe/Paris, CET (UTC+01:00)." in footer
    assert "the report&#39;s time zone, Europe/Paris, CET (UTC+01:00)," in html
    fr = render_html(build("fr"))
    assert "Les heures sont données en Europe/Paris, CET (UTC+01:00)." in fr


def test_limits_no_longer_claim_english_only_messages() -> None:
    assert "Anomaly messages are given in English" not in render_html(build("en"))
    assert "messages are shown in the report&#39;s language" in render_html(build("en"))


def test_anomaly_codes_stay_whole_and_the_pdf_message_gets_the_width() -> None:
    import re

    html = render_html(build("en"), "print")
    assert ".code, .code code, table.anomalies td code, .findex code { white-space: nowrap;" in html
    # the PDF groups anomalies by code: the code in one piece, the examples get the width
    section = html[html.index('id="section-anomalies"') :]
    assert '<tr id="anomaly-storage_disabled">' in section
    assert '<span class="code">storage_disabled</span>' in section
    cols = section[section.index("<colgroup>") : section.index("</colgroup>")]
    widths = [int(w) for w in re.findall(r'<col class="w(\d+)">', cols)]
    assert widths[-1] == max(widths) and sum(widths) <= 101
    web = render_html(build("en"))
    assert '<td data-label="Code"><code>storage_disabled</code></td>' in web

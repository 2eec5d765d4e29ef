"""Every human format renders in both languages, and hostile input stays inert."""

from __future__ import annotations

import csv
import io
import re

import pytest

from pve_backup_report.report.notes import notes_html
from pve_backup_report.report.render_csv import COLUMNS, render_csv
from pve_backup_report.report.render_html import Variant, render_html
from pve_backup_report.report.render_md import cell, render_md
from pve_backup_report.report.render_text import render_text
from pve_backup_report.report.safe_text import visible

from .scenario import HOSTILE, RTL_LONG, build

LANGS = ("en", "fr")


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("variant", ["web", "email", "print"])
def test_html_renders_every_section(lang: str, variant: Variant) -> None:
    html = render_html(build(lang), variant)
    for section in ("summary", "attention", "guests", "jobs", "storages", "anomalies", "method"):
        assert f'id="sec-{section}"' in html
    positions = [html.index(f'id="sec-{s}"') for s in ("summary", "attention", "guests", "jobs")]
    assert positions == sorted(positions)
    assert f'<html lang="{lang}">' in html
    assert ("26/11/2026 09:30" in html) == (lang == "fr")


def test_html_is_self_contained_and_script_free() -> None:
    variants: tuple[Variant, ...] = ("web", "email", "print")
    for variant in variants:
        html = render_html(build(), variant)
        assert "<script" not in html  # the hostile name and comment included
        assert not re.search(r"""(src|href)=["']?(https?:|//)""", html)
        assert "@import" not in html and "url(" not in html


def test_html_escapes_hostile_strings() -> None:
    html = render_html(build())
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#39;q&#39;" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;quotes&#34;" in html  # job comment
    assert "&lt;b&gt;pbs-off&lt;/b&gt; &amp; co" in html  # anomaly message
    assert "unable to connect &lt;to&gt; PBS &amp; retry" in html  # task error
    assert "<img" not in html and "<b>raw" not in html
    assert f"<bdi>{RTL_LONG}</bdi>" in html  # RTL isolated from the text around it


def test_notes_safe_subset() -> None:
    out = str(notes_html("**bold** *it* `c` <b>x</b> [a](javascript:alert(1))\n# T"))
    assert out == (
        "<strong>bold</strong> <em>it</em> <code>c</code> &lt;b&gt;x&lt;/b&gt; "
        "a (javascript:alert(1))<br>T"
    )
    assert notes_html("   ") is None


def test_email_variant_has_no_svg_but_bars() -> None:
    web, email = render_html(build()), render_html(build(), "email")
    assert "<svg" in web
    assert "<svg" not in email
    assert 'class="bars"' in email


def test_not_specified_is_marked() -> None:
    html = render_html(build())
    assert '<span class="ns">not specified</span>' in html
    assert '<span class="ns">non spécifié</span>' in render_html(build("fr"))


def test_cards_coloured_with_text() -> None:
    html = render_html(build())
    # every count links to its list: here the findings naming those guests
    not_covered = '<a class="card bad" href="#finding-not_covered"><span class="n">2</span>'
    assert not_covered + '<span class="l">Not covered (incl. disabled job only)</span>' in html
    stale = '<a class="card warn" href="#finding-stale"><span class="n">2</span>'
    assert stale + '<span class="l">Stale</span>' in html
    assert 'id="finding-not_covered"' in html and 'id="finding-stale"' in html


def test_csv_is_rfc4180_and_injection_safe() -> None:
    text = render_csv(build("fr"))
    assert text.startswith(",".join(COLUMNS) + "\r\n")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [int(r["vmid"]) for r in rows] == list(range(100, 109))
    r102 = rows[2]
    assert r102["name"] == HOSTILE
    assert r102["verdict"] == "covered"  # stable codes, whatever the language
    assert r102["notes"].startswith("**Important**")
    assert rows[1]["attention_reasons"] == "last_backup_failed;stale"
    assert rows[1]["last_success_at"] == "2026-11-24T20:30:00+00:00"


def test_csv_formula_guard() -> None:
    from pve_backup_report.report.render_csv import _text

    assert _text("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert _text("@cmd") == "'@cmd"
    assert _text("web") == "web"


@pytest.mark.parametrize("lang", LANGS)
def test_markdown(lang: str) -> None:
    md = render_md(build(lang))
    assert md.startswith("# ")
    assert "&lt;script&gt;alert(\"x\")&lt;/script&gt; &amp; 'q'" in md
    assert "<script" not in md and "<b>" not in md
    table_lines = [line for line in md.splitlines() if line.startswith("| 10")]
    assert len(table_lines) == 9
    assert all(line.count(" | ") == 11 for line in table_lines)  # 12 columns, no stray pipe


def test_markdown_cell() -> None:
    assert cell("a|b\nc") == "a\\|b c"
    assert cell("# title") == "\\# title"
    # a cluster named by its IP must not read as a list nor keep a stray backslash
    assert cell("127.0.0.1") == "127\\.0.0.1" and cell("3) x") == "3\\) x"
    assert cell("[x](javascript:y)") == "\\[x\\](javascript:y)"


@pytest.mark.parametrize("lang", LANGS)
def test_text_summary(lang: str) -> None:
    text = render_text(build(lang))
    lines = text.splitlines()
    assert lines[2].startswith(
        "9 guests: 4 covered (PBS), 1 covered (other storage), 2 not covered"
        if lang == "en"
        else "9 invités\u202f: 4 couverts (PBS), 1 couvert (autre stockage), 2 non couverts"
    )
    items = [line for line in lines if line.startswith("  [")]
    # job, storage and cluster findings first (storage_disabled, job_disabled), then guests
    assert items[0].endswith("(storage_disabled)") and items[1].endswith("(job_disabled)")
    guests = [line.split()[1] for line in items[2:8]]
    assert guests == ["107", "104", "101", "105", "108", "103"]
    assert "100 web" not in text  # covered and fresh: not listed
    assert lines[-1].endswith("CRITICAL")


def test_terminal_control_characters_are_removed_bidi_made_visible() -> None:
    assert visible("a\x1b[31mb\u202ec") == "a[31mb\\u202ec"
    assert visible("x\ny") == "x y"


@pytest.mark.parametrize(
    ("lang", "html_label", "text_line"),
    [
        ("en", "1.5 GiB (uploaded)", "Size of the latest backup: 1.5 GiB (uploaded)"),
        (
            "fr",
            "1,5\u202fGio (envoyé)",
            "Taille de la dernière sauvegarde\u202f: 1,5\u202fGio (envoyé)",
        ),
    ],
)
def test_size_says_what_it_measures(lang: str, html_label: str, text_line: str) -> None:
    # every attempt of the scenario: 1536 MiB = 1.5 GiB uploaded by the backup client
    report = build(lang)
    assert html_label in render_html(report)
    assert text_line in render_text(report)  # 103 is stale: its latest attempt is listed
    rows = list(csv.DictReader(io.StringIO(render_csv(report), newline="")))
    assert (rows[0]["latest_size_bytes"], rows[0]["latest_size_kind"]) == (
        "1610612736",
        "uploaded",
    )
    assert rows[4]["latest_size_kind"] == ""  # 104: no attempt

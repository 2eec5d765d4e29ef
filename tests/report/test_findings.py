"""What triggered the status (banner) and the findings of "What needs attention".

Expected values worked out by hand from scenario.py: critical = the storage_disabled anomaly
(cluster level), 107 not covered, 104 only in a disabled job, 101 last backup failed;
warning = the job_disabled anomaly (given twice, merged once), 101 and 103 stale, 105 excluded
without opt-out tag, 108 backed up outside PBS only.
"""

from __future__ import annotations

from pve_backup_report.model import Anomaly, Severity
from pve_backup_report.report.findings import banner, findings, headline
from pve_backup_report.report.i18n import NNBSP, Translator
from pve_backup_report.report.render_html import render_html

from .scenario import build


def test_findings_most_serious_first() -> None:
    got = [(f.level, f.kind, f.code, f.count) for f in findings(build("en"))]
    assert got == [
        ("critical", "anomaly", "storage_disabled", 1),
        ("critical", "guests", "not_covered", 1),
        ("critical", "guests", "disabled_only", 1),
        ("critical", "guests", "last_backup_failed", 1),
        ("warning", "anomaly", "job_disabled", 1),
        ("warning", "guests", "stale", 2),
        ("warning", "guests", "excluded", 1),
        ("warning", "guests", "covered_non_pbs", 1),
    ]
    stale = next(f for f in findings(build("en")) if f.code == "stale")
    assert stale.vmids == (101, 103)
    assert stale.text == "2 guests whose last successful backup is too old"


def test_banner_names_what_triggered_it() -> None:
    assert banner(build("en"), "critical") == (
        "Status CRITICAL: <b>pbs-off</b> & co; 1 guest in no backup job; "
        "1 guest only in disabled or unusable jobs; and 1 more finding."
    )


def test_banner_in_french_uses_cldr_plurals_and_narrow_spaces() -> None:
    text = banner(build("fr"), "critical")
    assert text.startswith(f"État CRITIQUE{NNBSP}: <b>pbs-off</b> & co{NNBSP}; ")
    assert f"1 invité dans aucune tâche de sauvegarde{NNBSP};" in text
    assert text.endswith("et 1 autre constat.")
    tr = Translator("fr")
    assert tr.plural("finding.stale", 0).startswith("0 invité dont")  # French: 0 is singular
    assert tr.plural("finding.stale", 2).startswith("2 invités dont")


def test_ok_banner_and_no_findings() -> None:
    report = build("en")
    assert headline([], Translator("en")) is None
    assert banner(report, "ok") == Translator("en").t("status.ok")


def test_guest_anomaly_of_a_guest_without_attention_is_a_finding() -> None:
    from dataclasses import replace

    report = build("en")
    extra = Anomaly(
        Severity.WARNING, "pbs", "pbs_task_snapshot_missing", "Guest 100: no such", {"vmid": 100}
    )
    told = Anomaly(
        Severity.WARNING, "pbs", "guest_disks_excluded", "Guest 101 disks", {"vmid": 101}
    )
    report = replace(report, anomalies=(*report.anomalies, extra, told))
    codes = [f.code for f in findings(report) if f.kind == "anomaly"]
    assert "pbs_task_snapshot_missing" in codes  # 100 is fresh and covered: not told elsewhere
    assert "guest_disks_excluded" not in codes  # 101 needs attention: its card tells it
    html = render_html(report)
    card = html[html.index('id="guest-101"') :]
    card = card[: card.index('<div class="att', 10)]
    assert "guest_disks_excluded" in card and "Guest 101 disks" in card


def test_attention_section_lists_job_and_cluster_findings_before_guests() -> None:
    html = render_html(build("en"))
    section = html[html.index('id="section-attention"') : html.index('id="section-changes"')]
    index, cards = section.split('<h3 id="attention-critical"', 1)
    # the index: every finding, most serious first, each linking to its list
    order = [index.index(f'id="finding-{code}"') for code in (
        "storage_disabled", "not_covered", "disabled_only", "last_backup_failed",
        "job_disabled", "stale", "excluded", "covered_non_pbs",
    )]  # fmt: skip
    assert order == sorted(order)
    assert 'href="#guest-101">101</a>, <a href="#guest-103">103</a>' in index
    assert 'href="#anomaly-storage_disabled"' in index
    # then the guests' cards, critical before warning
    assert cards.index('id="guest-107"') < cards.index('id="attention-warning"')
    assert cards.index('id="attention-warning"') < cards.index('id="guest-105"')
    assert 'class="banner critical">Status CRITICAL: &lt;b&gt;pbs-off' in html


def _guest_row(html: str, vmid: int) -> str:
    section = html[html.index('id="section-guests"') : html.index('id="section-jobs"')]
    return next(row for row in section.split("<tr")[2:] if f">{vmid}</td>" in row)


def test_a_guest_row_opens_with_its_worst_finding() -> None:
    """scenario_full: 101 is covered by a PBS job and its snapshot failed verification
    (critical); 100 is covered, fresh and verified (nothing to say)."""
    from .scenario_full import build_full

    html = render_html(build_full("en"))
    row = _guest_row(html, 101)
    assert row.startswith(' class="lvl-critical"')
    verdict = row[row.index('data-label="Verdict"') :]
    assert verdict.index("critical: last backup failed") < verdict.index("Covered")
    assert "badge ok" not in row  # no green badge beside a critical finding
    ok_row = _guest_row(html, 100)
    assert not ok_row.startswith(" class=") and "badge ok" in ok_row


def test_pdf_attention_rows_show_no_green_beside_a_finding() -> None:
    from .scenario_full import build_full

    html = render_html(build_full("en"), "print")
    section = html[html.index('id="section-attention"') : html.index('id="section-changes"')]
    rows = [r for r in section.split("<tr") if r.startswith(' id="guest-')]
    assert rows and all('class="ok"' not in r for r in rows)


def test_pdf_guest_rows_show_no_green_beside_a_finding() -> None:
    from .scenario_full import build_full

    html = render_html(build_full("en"), "print")
    section = html[html.index('id="section-guests"') : html.index('id="section-jobs"')]
    marked = [r for r in section.split("<tr") if r.startswith(' class="lvl-')]
    assert marked and all('class="ok"' not in r for r in marked)
    assert any('class="ok"' in r for r in section.split("<tr") if r.startswith("><td>100<"))

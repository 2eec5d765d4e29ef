"""The PDF stays readable on the worst day (issue 12): anomalies grouped by code, "What needs
attention" and the per-guest table capped, and the PDF says where the full detail is.

Checked on the `print` HTML (what WeasyPrint lays out); the limits are lowered with monkeypatch
so that the small hand-written scenario crosses them.
"""

from __future__ import annotations

import dataclasses
import re

import pytest

from pve_backup_report.model import Anomaly, Severity
from pve_backup_report.report import render_html as rh
from pve_backup_report.report.render_html import anomaly_groups, render_html

from .scenario import build


def _stale(vmid: int) -> Anomaly:
    return Anomaly(
        Severity.WARNING, "evidence", "backup_stale", f"Guest {vmid}: too old", {"vmid": vmid}
    )


def test_anomaly_groups_by_code_most_serious_then_largest() -> None:
    failed = Anomaly(Severity.CRITICAL, "jobs", "job_failed", "Job j failed", {})
    info = [Anomaly(Severity.INFO, "api", "slow", f"slow {i}", {}) for i in range(2)]
    stale = [_stale(v) for v in range(100, 105)]
    groups = anomaly_groups([*stale, info[0], failed, info[1]], examples=3)
    assert [(g.code, g.severity, g.count) for g in groups] == [
        ("job_failed", Severity.CRITICAL, 1),
        ("backup_stale", Severity.WARNING, 5),
        ("slow", Severity.INFO, 2),
    ]
    assert groups[1].examples == tuple(stale[:3])
    assert groups[1].component == "evidence"


def test_a_group_takes_its_most_serious_severity() -> None:
    mixed = [
        Anomaly(Severity.WARNING, "pbs", "verify", "a", {}),
        Anomaly(Severity.CRITICAL, "pbs", "verify", "b", {}),
    ]
    assert anomaly_groups(mixed)[0].severity is Severity.CRITICAL


def _section(html: str, name: str) -> str:
    start = html.index(f'id="section-{name}"')
    end = html.find("<section", start)
    return html[start : end if end > 0 else len(html)]


def test_pdf_groups_thousands_of_anomalies_web_lists_them_all() -> None:
    report = build()
    many = tuple(_stale(v) for v in range(1000, 1010))
    report = dataclasses.replace(report, anomalies=report.anomalies + many)
    printed = _section(render_html(report, "print"), "anomalies")
    assert printed.count("Guest 100") == 3  # 1000, 1001, 1002: the first three examples
    assert "… and 7 more" in printed
    assert "the full list, one line per anomaly, is in the HTML and JSON reports" in printed
    assert re.search(r'<span class="code">backup_stale</span><br>.*?</td><td>10</td>', printed)
    web = _section(render_html(report, "web"), "anomalies")
    assert all(f"Guest {v}: too old" in web for v in range(1000, 1010))


def test_pdf_without_repeated_codes_needs_no_pointer() -> None:
    report = build()
    codes = [a.code for a in report.anomalies]
    assert len(codes) == len(set(codes)) or max(codes.count(c) for c in codes) <= 3
    printed = _section(render_html(report, "print"), "anomalies")
    assert "one line per anomaly" not in printed


def test_pdf_attention_capped_with_counts_by_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    report = build()
    total = len(report.attention)
    assert total >= 3
    monkeypatch.setattr(rh, "PRINT_ATTENTION_MAX", 2)
    printed = _section(render_html(report, "print"), "attention")
    first, second, third = report.attention_rows()[:3]
    assert f"<td>{first.vmid} " in printed and f"<td>{second.vmid} " in printed
    assert f"<td>{third.vmid} " not in printed
    assert "this PDF lists the 2 most serious of them below" in printed
    assert "The full list is in the HTML, JSON and CSV reports" in printed
    # the findings above the table count every guest by reason, the omitted ones included
    reasons = [r for g in report.attention_rows() for r in g.attention]
    tr = rh.Translator("en", None)
    for reason in set(reasons):
        text = tr.plural(f"finding.{reason}", reasons.count(reason))
        assert f'<li id="finding-{reason}">' in printed and f"<bdi>{text}</bdi>" in printed
    # a guest left out of the PDF is named in its finding, not linked to a missing card
    assert f'href="#guest-{third.vmid}"' not in printed
    web = _section(render_html(report, "web"), "attention")
    assert str(third.vmid) in web


def test_pdf_without_guest_table_past_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    report = build()
    printed = _section(render_html(report, "print"), "guests")
    assert "<table" in printed
    monkeypatch.setattr(rh, "PRINT_GUESTS_MAX", len(report.guests) - 1)
    printed = _section(render_html(report, "print"), "guests")
    assert "<table" not in printed
    n = len(report.guests)
    assert f"{n} guests: past {n - 1} guests this PDF has no table per guest" in printed
    assert "in the HTML, CSV and JSON reports of the same run" in printed

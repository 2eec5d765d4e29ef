"""One truth: every output of one run, parsed back, tells the same verdicts and counts.

The run is the demo cluster without its "all guests" job, worked out by hand from
`simulator/scenarios/demo.json`: covered on PBS 100, 101, 102 (job backup-3f2d8c11) and 200
(job backup-5e6f7a8b, node pve1) = 4; covered elsewhere 201 (pool prod on NFS; the pve1 job
passes it by) and 202 (legacy job to `local`) = 2; protected only by the disabled lab job
300, 301, 302 = 3; in no job 103, 105, 400, 9000 = 4, so "not covered" = 7; opted out 104.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from .capture import capture_single

Outputs = dict[str, str]


def _without_all_job(data: dict[str, Any]) -> None:
    data["jobs"] = [j for j in data["jobs"] if not j.get("all")]


@pytest.fixture(scope="module")
def outputs() -> Outputs:
    return capture_single(_without_all_job)


@pytest.fixture(scope="module")
def report(outputs: Outputs) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(outputs["single/report.json"])
    return data


def test_hand_worked_counts(report: dict[str, Any]) -> None:
    s = report["summary"]
    assert (s["covered_pbs"], s["covered_other"]) == (4, 2)
    assert (s["not_covered"], s["disabled_only"]) == (7, 3)
    assert s["excluded_opted_out"] == 1 and s["guests_total"] == 14


def _latest(guest: dict[str, Any]) -> str | None:
    latest = guest["latest_backup"]
    return None if latest is None else str(latest["result"])


def test_same_verdict_and_latest_result_per_guest(outputs: Outputs, report: dict[str, Any]) -> None:
    expected = {str(g["vmid"]): (g["coverage"]["status"], _latest(g)) for g in report["guests"]}
    dump = json.loads(outputs["single/dump-coverage.json"])
    assert {str(g["vmid"]): (g["coverage"]["status"], _latest(g)) for g in dump["guests"]} == (
        expected
    )
    rows = list(csv.DictReader(io.StringIO(outputs["single/report.csv"])))
    assert {r["vmid"]: (r["verdict"], r["latest_result"] or None) for r in rows} == expected
    verdicts: dict[str, str] = {}
    results: dict[str, str] = {}
    for family in text_string_to_metric_families(outputs["single/metrics.prom"]):
        for sample in family.samples:
            if sample.value != 1:
                continue
            if sample.name == "pve_backup_report_guest_coverage":
                verdicts[sample.labels["vmid"]] = sample.labels["verdict"]
            if sample.name == "pve_backup_report_guest_last_result":
                results[sample.labels["vmid"]] = sample.labels["result"]
    assert {v: (verdicts[v], results.get(v)) for v in verdicts} == expected


def _counts(report: dict[str, Any]) -> dict[str, int]:
    s = report["summary"]
    return {k: v for k, v in s.items() if isinstance(v, int)} | {
        "covered": s["covered_pbs"] + s["covered_other"]
    }


def test_same_counts_everywhere(outputs: Outputs, report: dict[str, Any]) -> None:
    c = _counts(report)
    # Prometheus: the summary series, and the verdict series add up to the same
    prom: dict[str, float] = {}
    by_verdict: dict[str, float] = {}
    for family in text_string_to_metric_families(outputs["single/metrics.prom"]):
        for sample in family.samples:
            if sample.name == "pve_backup_report_summary":
                prom[sample.labels["count"]] = sample.value
            if sample.name == "pve_backup_report_guests":
                by_verdict[sample.labels["verdict"]] = sample.value
    assert {k: int(v) for k, v in prom.items() if k in c} == {k: c[k] for k in prom if k in c}
    assert by_verdict["not_covered"] + by_verdict["disabled_only"] == c["not_covered"]
    # Nagios perfdata
    perf = outputs["single/check.txt"].splitlines()[0].split(" | ")[1].split()
    values = {item.split("=")[0]: item.split("=")[1].split(";")[0] for item in perf}
    assert values["guests"] == str(c["guests_total"])
    assert values["covered"] == str(c["covered"])
    assert values["not_covered"] == str(c["not_covered"])
    assert values["failed"] == str(c["last_failed"]) and values["stale"] == str(c["stale"])
    assert values["other"] == str(c["other"])
    assert values["anomalies_critical"] == str(c["anomalies_critical"])
    # e-mail subject
    subject = outputs["single/mail.txt"].splitlines()[0]
    assert f": {c['not_covered']} not covered," in subject
    assert f", {c['ok']} OK" in subject
    # history
    head, row = outputs["single/history.txt"].splitlines()[:2]
    history = dict(zip(head.split(), row.split(), strict=True))
    for key in ("covered", "not_covered", "last_failed", "stale"):
        assert history[key] == str(c[key]), key
    # text, Markdown and HTML tiles
    text = outputs["single/main.stdout.txt"]
    counts_line = re.search(
        r"^(\d+) guests: (\d+) covered \(PBS\), (\d+) covered \(other storage\), "
        r"(\d+) not covered \(of which (\d+) ",
        text,
        re.M,
    )
    assert counts_line is not None, text[:600]
    assert [int(n) for n in counts_line.groups()] == [
        c["guests_total"], c["covered_pbs"], c["covered_other"], c["not_covered"],
        c["disabled_only"],
    ]  # fmt: skip
    md = outputs["single/report.md"]
    assert f"| Not covered (incl. disabled job only) | {c['not_covered']} |" in md
    assert f"| Stale | {c['stale']} |" in md
    html = outputs["single/report.html.txt"]
    assert f"\n{c['not_covered']} Not covered (incl. disabled job only)\n" in html
    # the legend's verdicts add up to the tile
    legend = dict(re.findall(r"^(Not covered|Disabled job only) (\d+) \(", html, re.M))
    assert int(legend["Not covered"]) + int(legend["Disabled job only"]) == c["not_covered"]
    # PDF: the tiles are laid out in columns, the figure above its label
    if shutil.which("pdftotext") is None:
        return  # PDF text not available (the PDF tests skip or fail on their own)
    pdf = outputs["single/report.pdf.txt"]
    assert _pdf_tile(pdf, "Not covered (incl. disabled job only)") == str(c["not_covered"])
    assert _pdf_tile(pdf, "Covered (PBS)") == str(c["covered_pbs"])
    assert _pdf_tile(pdf, "Stale") == str(c["stale"])


def _pdf_tile(text: str, label: str) -> str:
    lines = text.splitlines()
    for index, line in enumerate(lines):
        column = line.find(label)
        if column >= 0 and index > 0 and lines[index - 1].strip():
            return lines[index - 1][column:].split()[0]
    raise AssertionError(f"tile {label!r} not found in the PDF text")

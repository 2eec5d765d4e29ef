"""Off-site copies in every output, from a hand-built copy analysis over scenario_full.

Hand-worked: guest 100 has copies at pbs1:store1/acme (primary) and pbs2:offsite/acme (pull
job s-1, last run OK at 06:00 UTC), newest off-site snapshot at 02:30 UTC (6 h before NOW
08:30 UTC) → copies_ok; guest 101 only on pbs1 → single_copy; guest 103 has an unknown copy
→ offsite_unknown. Job s-2 failed ("sync failed - EIO") and carries nothing.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import jsonschema  # type: ignore[import-untyped, unused-ignore]
import pytest

from pve_backup_report.analysis.copies import CopiesResult, SyncJobView
from pve_backup_report.model import GuestCopies, GuestCopy, PbsSyncJob
from pve_backup_report.outputs.nagios import nagios_output, parse_thresholds
from pve_backup_report.outputs.prometheus import prometheus_text
from pve_backup_report.report.copies_view import with_copies
from pve_backup_report.report.model import Report
from pve_backup_report.report.render_csv import render_csv
from pve_backup_report.report.render_html import render_html
from pve_backup_report.report.render_json import load_schema, render_json
from pve_backup_report.report.render_md import render_md
from pve_backup_report.report.render_text import render_text

from .scenario_full import build_full

OFFSITE_AT = datetime(2026, 11, 26, 2, 30, tzinfo=UTC)
RUN_END = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)


def _copy(server: str, store: str, kind: str, offsite: bool, **kw: object) -> GuestCopy:
    return GuestCopy(server, store, "acme", kind, "x", offsite, **kw)  # type: ignore[arg-type]


def _result() -> CopiesResult:
    primary = _copy("pbs1", "store1", "pve_job", False, known=True, snapshots=3)
    guests = {
        100: GuestCopies(
            100, "copies_ok",
            (primary, _copy("pbs2", "offsite", "sync_pull", True, known=True, snapshots=2,
                            latest=OFFSITE_AT)),
            2, 2, "default", "pbs1", OFFSITE_AT, 6.0, 27.0, "2 location(s)",
        ),
        101: GuestCopies(101, "single_copy", (primary,), 1, 2, "default", "pbs1"),
        103: GuestCopies(
            103, "offsite_unknown",
            (primary, _copy("pbs3", "vault", "sync_pull", True, known=False)),
            1, 2, "tag:gold", "pbs1",
        ),
    }  # fmt: skip
    ok = PbsSyncJob("pbs2", "s-1", "offsite", "store1", ns="acme", remote="main",
                    remote_ns="acme", schedule="hourly", last_run_state="OK",
                    last_run_end=RUN_END, group_filter=("exclude:type:ct",))  # fmt: skip
    bad = PbsSyncJob("pbs2", "s-2", "offsite", "store1", remote="main", schedule="daily",
                     last_run_state="sync failed - EIO", last_run_end=RUN_END)  # fmt: skip
    jobs = (
        SyncJobView(ok, "pbs1:store1/acme", "pbs2:offsite/acme", True, (100, 101), (108,)),
        SyncJobView(bad, "pbs1:store1/", "pbs2:offsite/", True, (), ()),
    )
    return CopiesResult(guests, jobs, (), complete=False)


def report(lang: str = "en") -> Report:
    return with_copies(build_full(lang), _result())


def test_model_counts() -> None:
    c = report().copies
    assert c is not None
    assert (c.guests_judged, c.guests_with_offsite) == (3, 1)
    assert c.verdicts == {
        "copies_ok": 1,
        "offsite_stale": 0,
        "offsite_unknown": 1,
        "single_copy": 1,
    }
    assert c.without_second_copy == (101, 103)
    assert [(j.job_id, j.state) for j in c.jobs] == [("s-1", "ok"), ("s-2", "failed")]


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_json_validates_and_carries_copies(lang: str) -> None:
    data = json.loads(render_json(report(lang)))
    validator = jsonschema.Draft202012Validator(
        load_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    assert [f"{e.json_path}: {e.message}" for e in validator.iter_errors(data)] == []
    g = {x["vmid"]: x for x in data["guests"]}
    assert g[100]["copies"]["verdict"] == "copies_ok"
    assert g[100]["copies"]["offsite_latest"] == "2026-11-26T02:30:00+00:00"
    assert g[102]["copies"] is None
    assert data["offsite_copies"]["complete"] is False
    assert data["offsite_copies"]["jobs"][1]["last_run_state"] == "sync failed - EIO"


def test_json_without_copies_is_null() -> None:
    data = json.loads(render_json(build_full()))
    assert data["offsite_copies"] is None


def test_csv_columns() -> None:
    rows = {r["vmid"]: r for r in csv.DictReader(io.StringIO(render_csv(report())))}
    assert (rows["100"]["copies"], rows["100"]["copies_locations"]) == ("copies_ok", "2")
    assert rows["100"]["offsite_latest_at"] == "2026-11-26T02:30:00+00:00"
    assert (rows["101"]["copies"], rows["101"]["offsite_latest_at"]) == ("single_copy", "")
    assert rows["102"]["copies"] == ""


def test_text_markdown_and_html() -> None:
    line = "Off-site copies: 1 of 3 guests has one; single copy: 1, stale: 0, unknown: 1."
    assert line in render_text(report())
    md = render_md(report())
    assert "## Off-site copies" in md and line in md
    assert "| guests with an off-site copy | 1 / 3 |" in md
    assert "| Copies | Notes |" in md
    assert "| copies OK (2/2) |" in md and "| single copy (1/2) |" in md
    assert (
        "| pbs2 · s-2 (pull) | pbs1:store1/ → pbs2:offsite/ | daily | "
        "failed (sync failed - EIO) | 0 |" in md
    )
    assert "left out by the group filter: 108" in md
    html = render_html(report())
    assert (
        html.index('id="sec-servers"')
        < html.index('id="sec-copies"')
        < html.index('id="sec-history"')
    )
    assert "1 of 3 guests backed up to PBS have an off-site copy" in html
    assert "<th>Copies</th>" in html and "single copy" in html
    assert '<span class="n">1 / 3</span><span class="l">guests with an off-site copy</span>' in html


def test_french_digest_line() -> None:
    text = render_text(report("fr"))
    assert "Copies hors site\u202f: 1 invité sur 3 en a une\u202f; copie unique\u202f: 1," in text


def test_prometheus_series() -> None:
    from prometheus_client.parser import text_string_to_metric_families

    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(prometheus_text(report(), 1.0, 1))
        for sample in family.samples
    }
    guest = (("cluster", "acme"), ("vmid", "100"))
    assert samples[("pve_backup_report_guest_copies", guest)] == 2
    unknown = (("cluster", "acme"), ("verdict", "offsite_unknown"), ("vmid", "103"))
    assert samples[("pve_backup_report_guest_copies_verdict", unknown)] == 1
    last = samples[("pve_backup_report_guest_offsite_last_copy_timestamp_seconds", guest)]
    assert last == OFFSITE_AT.timestamp()
    job = (("cluster", "acme"), ("job", "s-1"), ("server", "pbs2"))
    failed = (("cluster", "acme"), ("job", "s-2"), ("server", "pbs2"))
    assert samples[("pve_backup_report_sync_job_last_run_success", job)] == 1
    assert samples[("pve_backup_report_sync_job_last_run_success", failed)] == 0
    assert "guest_copies" not in prometheus_text(build_full(), 1.0, 1)


def test_check_single_copy_threshold() -> None:
    out, _ = nagios_output(report(), parse_thresholds(warning="single_copy=0"))
    first = out.splitlines()[0]
    assert "1/3 with an off-site copy" in first
    assert "single_copy=1;0;;0;9" in first
    assert "single_copy=1 (warning: 0)" in out
    plain, _ = nagios_output(build_full())
    assert "single_copy" not in plain  # no backup server: no copy metric at all

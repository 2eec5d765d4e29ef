"""Backup server data and run history in the report (scenario_full.py), expectations by hand."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta

import jsonschema  # type: ignore[import-untyped, unused-ignore]
import pytest

from pve_backup_report.history.store import AnomalyRecord, GuestRecord, RunRecord, RunSummary
from pve_backup_report.report.history_view import (
    GuestChange,
    HistorySource,
    NewAnomaly,
    cell_state,
    changes_since,
    history_view,
    trend_point,
)
from pve_backup_report.report.render_csv import render_csv
from pve_backup_report.report.render_html import Variant, render_html
from pve_backup_report.report.render_json import load_schema, render_json
from pve_backup_report.report.render_md import render_md
from pve_backup_report.report.render_text import render_text

from .scenario import HOSTILE, build
from .scenario_full import UTC_NOW, build_full

# ------------------------------------------------------------------ PBS in the model


def test_not_verified_kpi_and_attention() -> None:
    report = build_full()
    assert report.pbs_collected is True
    assert report.summary.not_verified == 2  # 101 failed + 102 never; 106 opted out, 100 ok
    assert report.attention == (107, 104, 101, 103, 105, 108, 102)
    got = {g.vmid: (g.attention_level, g.attention) for g in report.attention_rows()}
    assert got[101] == ("critical", ("last_backup_failed", "stale", "pbs_verify_failed"))
    assert got[103] == ("critical", ("stale", "pbs_no_snapshot"))  # was a warning without PBS
    assert got[102] == ("warning", ("pbs_not_verified",))
    assert report.guest(100).attention_level is None  # verified OK
    assert report.guest(106).attention == ()  # deliberately out: its old snapshot is no issue


def test_without_pbs_not_verified_is_not_collected() -> None:
    report = build()
    assert (report.pbs_collected, report.summary.not_verified) == (False, None)
    assert report.guest(100).pbs is None and report.pbs_orphans == ()
    html = render_html(report)
    assert "No backup server was read for this report" in html
    assert '"Not verified" shows "not collected"' in html.replace("&#34;", '"')


def test_servers_and_orphans() -> None:
    report = build_full()
    (server,) = report.pbs_servers
    store1, cold = server.datastores
    assert (store1.usage_percent, store1.usage_level, store1.gc_state) == (85.0, "warning", "ok")
    assert (cold.usage_percent, cold.usage_level, cold.gc_state) == (None, None, "never")
    # sorted by server, datastore, namespace, type, id: ct/998 before vm/999
    assert [(o.backup_type, o.backup_id) for o in report.pbs_orphans] == [
        ("ct", "998"),
        ("vm", "999"),
    ]


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("history", [True, False])
def test_json_validates_with_pbs_and_history(lang: str, history: bool) -> None:
    data = json.loads(render_json(build_full(lang, history)))
    validator = jsonschema.Draft202012Validator(
        load_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    assert [f"{e.json_path}: {e.message}" for e in validator.iter_errors(data)] == []
    assert (data["history"] is None) == (not history)


def test_json_pbs_shape() -> None:
    data = json.loads(render_json(build_full()))
    g = {x["vmid"]: x for x in data["guests"]}
    latest = g[101]["pbs"]["latest_snapshot"]
    assert latest["backup_time"] == "2026-11-24T20:30:00+00:00"  # 36 h before 08:30 UTC
    assert (latest["server"], latest["datastore"], latest["namespace"]) == (
        "pbs1",
        "store1",
        "acme",
    )
    assert (latest["verify_state"], latest["size_bytes"]) == ("failed", 2 * 1024**3)
    assert g[100]["pbs"]["retention"]["keep"] == {"keep-daily": 7, "keep-last": 3}
    assert g[102]["pbs"]["retention"] is None  # no known policy
    assert g[102]["pbs"]["other_namespaces"] == ["pbs1:store1/old"]
    assert g[103]["pbs"]["latest_snapshot"] is None
    assert g[104]["pbs"] is None
    assert data["summary"]["not_verified"] == 2
    assert data["pbs_orphans"][1] == {
        "server": "pbs1",
        "datastore": "store1",
        "namespace": "acme",
        "backup_type": "vm",
        "backup_id": "999",
        "last_backup": (UTC_NOW - timedelta(days=30)).isoformat(),
        "size_bytes": 10 * 1024**3,
        "comment": "old-vm",
    }
    assert data["pbs_servers"][0]["datastores"][0]["usage_percent"] == 85.0
    assert data["history"]["previous_run"] == {
        "run_id": 7,
        "started_at": "2026-11-25T09:30:00+01:00",
    }
    assert data["history"]["changes"]["deleted_guests"] == [
        {"vmid": 110, "name": "old-db", "before": "covered", "after": None}
    ]


def test_csv_pbs_columns() -> None:
    rows = list(csv.DictReader(io.StringIO(render_csv(build_full()), newline="")))
    by = {int(r["vmid"]): r for r in rows}
    assert by[100]["pbs_latest_snapshot_at"] == "2026-11-25T22:30:00+00:00"  # 10 h before
    assert (by[100]["pbs_verify_state"], by[100]["pbs_restore_points"]) == ("ok", "5")
    assert by[100]["pbs_verified_at"] == "2026-11-26T00:30:00+00:00"
    assert by[101]["pbs_verify_state"] == "failed"
    assert by[102]["pbs_verify_state"] == "never"
    assert (by[103]["pbs_latest_snapshot_at"], by[103]["pbs_verify_state"]) == ("", "")
    assert by[104]["pbs_restore_points"] == ""


# ------------------------------------------------------------------ rendering


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("variant", ["web", "email", "print"])
def test_html_sections_in_order(lang: str, variant: Variant) -> None:
    html = render_html(build_full(lang), variant)
    order = ["summary", "attention", "changes", "guests", "jobs", "storages", "servers",
             "history", "anomalies", "method"]  # fmt: skip
    positions = [html.index(f'id="sec-{s}"') for s in order]
    assert positions == sorted(positions)
    assert "<script" not in html
    assert "&lt;script&gt;" in html  # orphan comment and guest name escaped
    assert ("<svg" in html) == (variant != "email")
    assert 'class="c c-failure"' in html


def test_html_content_en() -> None:
    html = render_html(build_full())
    assert "verification failed" in html and "never verified" in html
    assert "keep-last=3, keep-daily=7" in html
    assert "85.0%" in html  # store1 usage
    assert "never ran" in html  # cold's GC
    assert "Orphaned backups" in html and "vm/999" in html
    assert "Newly not covered" in html and "Deleted guests" in html
    assert "Compared with the report of 2026-11-25 09:30 CET (UTC+01:00)." in html
    assert "Trends over the last 3 runs" in html
    assert "Daily results, last 14 days" in html
    # the email variant colours grid cells inline (mail clients drop <style> at times)
    email = render_html(build_full(), "email")
    assert 'style="background:#c62828;color:#ffffff;text-align:center"' in email


def test_html_without_history_says_so() -> None:
    html = render_html(build_full(history=False))
    # changes, history and method sections
    assert html.count("No run history: this is the first report") == 3


def test_markdown_and_text() -> None:
    md = render_md(build_full())
    assert "## Changes since the previous report" in md and "## Backup servers" in md
    assert "  - 101 db (success → failure)" in md
    assert "| 2026-11-26 09:30\u00a0CET | 71.4% | 1 | 2 |" in md
    assert "| 101 | db | · | · | · | · | · | · | · | F | · | · | · | · | S | F |" in md
    text = render_text(build_full("fr"))
    assert "Non vérifiés\u202f: 2 · groupes de sauvegarde orphelins\u202f: 2" in text
    assert "  Nouvellement en échec\u202f: 101 db" in text
    plain = render_text(build())
    assert "Not verified: not collected · orphaned backup groups: not collected" in plain
    assert "No run history" in plain


def test_hostile_names_in_history_markdown() -> None:
    md = render_md(build_full())
    assert "<script" not in md
    assert "&lt;script&gt;" in md
    assert HOSTILE not in md


# ------------------------------------------------------------------ history view


def _run(guests: list[GuestRecord], codes: list[str]) -> RunRecord:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    anomalies = [AnomalyRecord("warning", "x", c, c) for c in codes]
    return RunRecord("c", at, at, "1", 0, {}, guests, anomalies, run_id=1)


def test_changes_cases() -> None:
    previous = _run(
        [
            GuestRecord(1, "a", "covered", "success"),  # → not_covered: newly uncovered
            GuestRecord(2, "b", "covered", "success"),  # → failure: newly failing
            GuestRecord(3, "c", "covered", "failure"),  # → success: recovered
            GuestRecord(4, "d", "not_covered"),  # → covered, no result: recovered
            GuestRecord(5, "e", "covered", "failure"),  # still failing: no change
            GuestRecord(6, "f", "covered"),  # deleted
        ],
        ["old_code"],
    )
    current = [
        GuestRecord(1, "a", "not_covered", "success"),
        GuestRecord(2, "b", "covered", "failure"),
        GuestRecord(3, "c", "covered", "success"),
        GuestRecord(4, "d", "covered"),
        GuestRecord(5, "e", "covered", "failure"),
        GuestRecord(7, "g", "disabled_only"),  # new (listed as new only)
    ]
    anomalies = [
        AnomalyRecord("warning", "x", "old_code", ""),
        AnomalyRecord("info", "x", "zz_new", ""),
        AnomalyRecord("warning", "x", "zz_new", ""),
        AnomalyRecord("critical", "x", "b_new", ""),
    ]
    c = changes_since(previous, current, anomalies)
    assert c.newly_uncovered == (GuestChange(1, "a", "covered", "not_covered"),)
    assert c.newly_failing == (GuestChange(2, "b", "success", "failure"),)
    assert c.recovered == (
        GuestChange(3, "c", "failure", "success"),
        GuestChange(4, "d", "not_covered", "covered"),
    )
    assert c.new_guests == (GuestChange(7, "g", None, "disabled_only"),)
    assert c.deleted_guests == (GuestChange(6, "f", "covered", None),)
    # worst severity of each new code, critical first
    assert c.new_anomalies == (
        NewAnomaly("b_new", "critical", 1),
        NewAnomaly("zz_new", "warning", 2),
    )
    assert not c.empty
    assert changes_since(previous, previous.guests, anomalies[:1]).empty


def test_trend_points() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    summary = {"guests_total": 10, "covered": 6, "covered_non_pbs": 1, "opted_out": 2,
               "excluded": 0, "last_failed": 3, "stale": 4}  # fmt: skip
    point = trend_point(summary, at, 5)
    assert (point.coverage_percent, point.failed, point.stale, point.guests) == (87.5, 3, 4, 10)
    empty = trend_point({"guests_total": 1, "opted_out": 1}, at, None)
    assert empty.coverage_percent is None  # nobody in scope


def test_trend_keeps_last_30_runs_oldest_first() -> None:
    start = datetime(2026, 1, 1, 12, tzinfo=UTC)
    recent = [
        RunSummary(i, "c", start + timedelta(days=i), 0, {"guests_total": 1, "covered": 1})
        for i in range(40, 0, -1)  # most recent first, like HistoryStore.runs
    ]
    source = HistorySource(None, recent, {})
    now = start + timedelta(days=41)
    view = history_view(source, [GuestRecord(1, "a", "covered")], [], {"guests_total": 1}, now)
    assert len(view.trend) == 30
    assert [p.run_id for p in view.trend[:2]] == [12, 13]  # 29 past runs: 12..40
    assert view.trend[-1].run_id is None and view.trend[-1].coverage_percent == 0.0
    assert view.changes is None and view.previous_at is None  # no previous run


def test_grid_cells() -> None:
    now = datetime(2026, 3, 14, 23, 0, tzinfo=UTC)
    daily = {1: {date(2026, 3, 1): "failure", date(2026, 3, 13): "covered", date(2026, 2, 28): "x"}}
    source = HistorySource(None, [], daily)
    view = history_view(source, [GuestRecord(1, "a", "covered", "warning")], [], {}, now)
    assert view.days[0] == date(2026, 3, 1) and view.days[-1] == date(2026, 3, 14)
    (row,) = view.grid
    assert row.cells[0] == "failure"
    assert row.cells[12] == "no_backup"  # covered, no result known
    assert row.cells[13] == "warning"  # today: this report's latest result
    assert set(row.cells[1:12]) == {"no_data"}
    assert [cell_state(v) for v in ("disabled_only", "excluded", "opted_out", None)] == [
        "not_covered",
        "opted_out",
        "opted_out",
        "no_data",
    ]


def test_every_new_code_has_a_label() -> None:
    from typing import get_args

    from pve_backup_report.report.history_view import CELL_STATES
    from pve_backup_report.report.i18n import catalogue
    from pve_backup_report.report.model import GcState

    wanted = {f"gc.{s}" for s in get_args(GcState)}
    wanted |= {f"{p}.{s}" for p in ("cell", "letter") for s in CELL_STATES}
    wanted |= {f"pbs.verify.{s}" for s in ("ok", "failed", "never")}
    for lang in ("en", "fr"):
        assert wanted - set(catalogue(lang)) == set()

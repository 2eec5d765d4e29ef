"""Freshness thresholds and verdicts with a frozen ``now`` (values worked out by hand)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from pve_backup_report.analysis.coverage import Verdict, compute_coverage
from pve_backup_report.analysis.freshness import (
    apply_freshness,
    grace_for,
    guest_freshness,
    hours_text,
)
from pve_backup_report.model import BackupAttempt, Freshness, GuestEvidence

from .builders import guest, inventory, job

NOW = datetime(2025, 6, 11, 12, 0, tzinfo=UTC)  # a Wednesday, no DST change within a week
UTC_ZONE = ZoneInfo("UTC")


def ev(hours_ago: float | None) -> GuestEvidence:
    if hours_ago is None:
        return GuestEvidence(100)
    ok = BackupAttempt("success", started_at=NOW - timedelta(hours=hours_ago))
    return GuestEvidence(100, latest_backup=ok, last_success=ok)


def fresh(
    hours_ago: float | None,
    schedules: Mapping[str, str | None],
    verdict: Verdict | None = Verdict.COVERED,
    tags: tuple[str, ...] = (),
    pool: str | None = None,
    **overrides: object,
) -> Freshness:
    return guest_freshness(
        guest(100, tags=tags, pool=pool),
        ev(hours_ago),
        verdict,
        list(schedules),
        schedules,
        UTC_ZONE,
        NOW,
        **overrides,  # type: ignore[arg-type]
    )


def test_grace_is_a_quarter_at_least_one_hour() -> None:
    assert grace_for(timedelta(hours=24)) == timedelta(hours=6)
    assert grace_for(timedelta(hours=1)) == timedelta(hours=1)
    assert grace_for(timedelta(hours=2)) == timedelta(hours=1)


def test_daily_schedule_gives_30_hours() -> None:
    f = fresh(29, {"daily": "21:00"})
    assert (f.status, f.max_age_hours, f.source) == ("fresh", 30, "schedule")
    assert "daily" in f.explanation and "24 h" in f.explanation and "6 h grace" in f.explanation
    assert fresh(31, {"daily": "21:00"}).status == "stale"
    assert fresh(31, {"daily": "21:00"}).age_hours == 31


def test_weekly_and_hourly_and_weekdays() -> None:
    assert fresh(1, {"w": "sat 03:00"}).max_age_hours == 7 * 24 * 1.25  # 210 h
    assert fresh(1, {"h": "hourly"}).max_age_hours == 2  # 1 h + 1 h minimum grace
    # mon..fri: the largest gap is Friday 21:00 -> Monday 21:00 = 72 h, + 18 h
    assert fresh(1, {"wd": "mon..fri 21:00"}).max_age_hours == 90


def test_several_jobs_use_the_most_frequent_rhythm() -> None:
    f = fresh(7, {"daily": "21:00", "six": "0/6:00"})
    assert (f.status, f.max_age_hours) == ("fresh", 7.5)
    assert "six" in f.explanation
    assert fresh(8, {"daily": "21:00", "six": "0/6:00"}).status == "stale"


def test_overrides_tag_then_pool_then_global() -> None:
    sched = {"daily": "21:00"}
    f = fresh(10, sched, tags=("crit", "db"), pool="prod", global_max_age_hours=48,
              tag_max_age={"DB": 12, "crit": 8}, pool_max_age={"prod": 20})  # fmt: skip
    assert (f.status, f.max_age_hours, f.source) == ("stale", 8, "tag:crit")
    assert "8 h set for tag 'crit' (BACKUP_MAX_AGE_TAGS)" in f.explanation
    f = fresh(10, sched, pool="prod", global_max_age_hours=48, pool_max_age={"prod": 20})
    assert (f.status, f.max_age_hours, f.source) == ("fresh", 20, "pool:prod")
    f = fresh(40, sched, global_max_age_hours=48)
    assert (f.status, f.max_age_hours, f.source) == ("fresh", 48, "global")


def test_unselected_guests_only_follow_explicit_overrides() -> None:
    f = fresh(None, {}, Verdict.NOT_COVERED, global_max_age_hours=24)
    assert (f.status, f.source) == ("not_applicable", "none")
    f = fresh(None, {}, Verdict.NOT_COVERED, pool="prod", pool_max_age={"prod": 24})
    assert (f.status, f.max_age_hours) == ("no_success", 24)


def test_opted_out_no_success_and_unreadable_schedules() -> None:
    assert fresh(1, {"daily": "21:00"}, Verdict.OPTED_OUT).status == "not_applicable"
    f = fresh(None, {"daily": "21:00"})
    assert (f.status, f.max_age_hours) == ("no_success", 30)
    assert "No successful backup" in f.explanation
    f = fresh(1, {"bad": "not a schedule"})
    assert (f.status, f.max_age_hours) == ("not_applicable", None)


def test_hours_text() -> None:
    assert hours_text(30) == "30 h"
    assert hours_text(31.25) == "31 h 15 min"
    assert hours_text(0.5) == "30 min"
    assert hours_text(210) == "8 d 18 h"
    assert hours_text(48) == "2 d"


def test_apply_freshness_sets_next_run_and_reports_stale_guests() -> None:
    inv = inventory(
        [guest(100), guest(101), guest(102)],
        [job("daily", vmid="100,101", schedule="21:00"), job("off", vmid="102", enabled=0)],
    )
    evidence = {100: ev(1), 101: ev(40)}
    out, anomalies = apply_freshness(evidence, inv, compute_coverage(inv), {"pve1": UTC_ZONE}, NOW)
    assert out[100].next_run == datetime(2025, 6, 11, 21, 0, tzinfo=UTC)
    assert out[100].freshness is not None and out[100].freshness.status == "fresh"
    assert out[101].freshness is not None and out[101].freshness.status == "stale"
    assert out[102].freshness is not None and out[102].freshness.status == "not_applicable"
    assert out[102].next_run is None  # its only job is disabled
    assert [(a.code, a.details["vmid"]) for a in anomalies] == [("backup_stale", 101)]


def test_no_success_in_an_incomplete_history_is_unknown_not_no_success() -> None:
    """Issue 11: a success may hide in a task whose log could not be read, or on a node whose
    task list could not be read: no critical "no success" then."""
    undetermined = BackupAttempt("undetermined", started_at=NOW - timedelta(hours=3))
    g, schedules = guest(100), {"daily": "21:00"}
    f = guest_freshness(
        g, GuestEvidence(100, latest_backup=undetermined), Verdict.COVERED, ["daily"], schedules,
        UTC_ZONE, NOW,
    )  # fmt: skip
    assert (f.status, f.max_age_hours) == ("unknown", 30)
    f = guest_freshness(
        g, GuestEvidence(100), Verdict.COVERED, ["daily"], schedules, UTC_ZONE, NOW,
        history_incomplete=True,
    )  # fmt: skip
    assert f.status == "unknown"
    # an older success still counts: fresh/stale are judged from it, as before
    ok = BackupAttempt("success", started_at=NOW - timedelta(hours=40))
    f = guest_freshness(
        g, GuestEvidence(100, latest_backup=undetermined, last_success=ok), Verdict.COVERED,
        ["daily"], schedules, UTC_ZONE, NOW, history_incomplete=True,
    )  # fmt: skip
    assert f.status == "stale"
    # apply_freshness: a guest on a node whose task list failed gets no backup_no_success
    inv = inventory([guest(100), guest(101, "pve2")], [job("daily", vmid="100,101")])
    out, anomalies = apply_freshness(
        {}, inv, compute_coverage(inv), {}, NOW, unread_nodes=frozenset({"pve2"})
    )
    assert out[100].freshness is not None and out[100].freshness.status == "no_success"
    assert out[101].freshness is not None and out[101].freshness.status == "unknown"
    assert [(a.code, a.details["vmid"]) for a in anomalies] == [("backup_no_success", 100)]

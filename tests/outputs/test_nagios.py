"""Nagios/Icinga plugin output against hand-computed expectations (tests/outputs/sample.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pve_backup_report.config import ConfigError
from pve_backup_report.outputs.nagios import (
    nagios_output,
    nagios_unknown,
    parse_range,
    parse_thresholds,
)

from .sample import all_ok, report

DEFAULT_PERF = (
    "guests=6;;;0 covered=4;;;0;6 not_covered=1;;0;0;6 failed=1;;0;0;6 stale=2;0;;0;6 "
    "other=1;0;;0;6 anomalies_critical=0;;0;0 anomalies_warning=1;0;;0"
)


def test_default_output_is_critical_with_perfdata_and_long_output() -> None:
    text, code = nagios_output(report())
    assert code == 2
    assert text == (
        "PVE BACKUP CRITICAL - cluster1: 1 not covered, 1 failed, 2 stale, 1 other warning, "
        f"2/6 guests OK, anomalies: 0 critical, 1 warning | {DEFAULT_PERF}\n"
        "Thresholds exceeded: not_covered=1 (critical: 0), failed=1 (critical: 0), "
        "stale=2 (warning: 0), other=1 (warning: 0), anomalies_warning=1 (warning: 0)\n"
        "Needs attention (4):\n"
        "[CRITICAL] 102 lab (pve2): in no backup job\n"
        "[CRITICAL] 101 db (pve1): last backup failed, last successful backup too old\n"
        "[WARNING] 103 ct (pve2): backed up outside PBS only\n"
        "[WARNING] 105 old (pve1): no successful backup found\n"
        "Anomalies (1):\n"
        "[WARNING] job_disabled: Job old / is disabled\n"  # '|' would start perfdata
    )


def test_everything_fine_is_ok() -> None:
    text, code = nagios_output(all_ok())
    assert code == 0
    assert text == (
        "PVE BACKUP OK - cluster1: 0 not covered, 0 failed, 0 stale, 2/2 guests OK | "
        "guests=2;;;0 covered=1;;;0;2 not_covered=0;;0;0;2 failed=0;;0;0;2 stale=0;0;;0;2 "
        "other=0;0;;0;2 anomalies_critical=0;;0;0 anomalies_warning=0;0;;0\n"
    )


def test_loosened_thresholds_give_warning() -> None:
    # not_covered 1: critical 0..5 ok, warning 0..0 exceeded; failed 1: critical off, warning
    # exceeded; stale 2 within 0..3; other and anomalies_warning switched off → WARNING.
    th = parse_thresholds(
        warning="not_covered=0,failed=0,stale=3,other=none,anomalies_warning=none",
        critical="not_covered=5,failed=none",
    )
    text, code = nagios_output(report(), th)
    assert code == 1
    first, second = text.splitlines()[:2]
    assert first.startswith("PVE BACKUP WARNING - cluster1: ")
    assert first.endswith(
        "| guests=6;;;0 covered=4;;;0;6 not_covered=1;0;5;0;6 failed=1;0;;0;6 stale=2;3;;0;6 "
        "other=1;;;0;6 anomalies_critical=0;;0;0 anomalies_warning=1;;;0"
    )
    assert second == "Thresholds exceeded: not_covered=1 (warning: 0), failed=1 (warning: 0)"


def test_all_switched_off_gives_ok_but_still_lists_attention() -> None:
    th = parse_thresholds(
        warning="stale=none,other=none,anomalies_warning=none",
        critical="not_covered=none,failed=none",
    )
    text, code = nagios_output(report(), th)
    assert code == 0
    lines = text.splitlines()
    assert lines[0].startswith("PVE BACKUP OK - ")
    assert lines[1] == "Needs attention (4):"


def test_inside_range_alerts() -> None:
    th = parse_thresholds(critical="stale=@2:3")  # stale is 2: inside → critical
    text, code = nagios_output(all_ok(), th)
    assert code == 0  # all_ok has stale 0
    text, code = nagios_output(report(), th)
    assert code == 2
    assert "stale=2 (critical: @2:3)" in text


def test_unreadable_job_list_is_unknown() -> None:
    r = report()
    r = replace(r, cluster=replace(r.cluster, jobs_readable=False))
    text, code = nagios_output(r)
    assert code == 3
    assert text.startswith(
        "PVE BACKUP UNKNOWN - cluster1: backup job list not readable, coverage unknown, "
    )


def test_evidence_not_collected_gives_u() -> None:
    r = report()
    r = replace(
        r,
        evidence_collected=False,
        summary=replace(r.summary, last_failed=None, stale=None),
    )
    first = nagios_output(r)[0].splitlines()[0]
    assert "1 not covered, backup results not collected, 1 other warning" in first
    assert " failed=U;;0;0;6 stale=U;0;;0;6 " in first


def test_hostile_name_stays_on_one_line_without_pipe() -> None:
    r = report()
    hostile = replace(r.guest(104), attention_level="warning", attention=("excluded",))
    r = replace(r, guests=(*r.guests[:4], hostile, r.guests[5]), attention=(104,))
    text, _ = nagios_output(r)
    lines = text.splitlines()
    assert lines[-4] == "Needs attention (1):"
    assert lines[-3] == (
        '[WARNING] 104 evil"name\\with newline/pipe {x="1"} (pve2): '
        "excluded from a job, without opt-out tag"
    )
    assert text.count("|") == 1


def test_unknown_helper() -> None:
    assert nagios_unknown("PVE_HOST: required\nsecond | line") == (
        "PVE BACKUP UNKNOWN - PVE_HOST: required second / line\n",
        3,
    )


@pytest.mark.parametrize(
    ("text", "value", "alerts"),
    [
        ("10", -1, True),
        ("10", 0, False),
        ("10", 10, False),
        ("10", 11, True),
        ("10:", 9, True),
        ("10:", 10, False),
        ("10:", 1000, False),
        ("~:10", -1000, False),
        ("~:10", 11, True),
        ("10:20", 9, True),
        ("10:20", 15, False),
        ("10:20", 21, True),
        ("@10:20", 10, True),
        ("@10:20", 21, False),
        ("0", 0, False),
        ("0", 1, True),
    ],
)
def test_range_semantics(text: str, value: int, alerts: bool) -> None:
    assert parse_range(text).alerts(value) is alerts


@pytest.mark.parametrize(
    ("warning", "critical", "option"),
    [
        ("bogus=1", None, "--warning"),
        ("stale", None, "--warning"),
        (None, "stale=5:2", "--critical"),
        (None, "failed=abc", "--critical"),
        (None, "failed=@", "--critical"),
    ],
)
def test_bad_thresholds_name_the_option(
    warning: str | None, critical: str | None, option: str
) -> None:
    with pytest.raises(ConfigError) as err:
        parse_thresholds(warning, critical)
    assert err.value.variable == option
    assert str(err.value).startswith(f"{option}: expected metric=range")

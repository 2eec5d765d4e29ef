"""The ``schedule`` subcommand: validity, descriptions, next runs, exit codes."""

from __future__ import annotations

import io
import json
from typing import Any

from pve_backup_report.diagnostics.schedule_cmd import run_schedule


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_schedule(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def run_json(*argv: str) -> tuple[int, dict[str, Any]]:
    code, out, _ = run(*argv, "--json")
    return code, json.loads(out)


def test_json_next_runs_cross_the_dst_change_in_utc() -> None:
    # Friday 2024-03-29 21:30 Paris = 20:30 UTC (CET); after the change (Sunday 31st) it is
    # CEST, so Monday 1 April 21:30 = 19:30 UTC. The weekend is skipped.
    code, body = run_json(
        "mon..fri 21:30", "--from", "2024-03-29T12:00:00+01:00", "--tz", "Europe/Paris",
        "--count", "3",
    )  # fmt: skip
    assert code == 0
    assert body["schedule"] == "mon..fri 21:30" and body["valid"] is True
    assert body["next"] == ["2024-03-29T20:30:00Z", "2024-04-01T19:30:00Z", "2024-04-02T19:30:00Z"]
    assert set(body["description"]) == {"en", "fr"}
    assert body["description"]["en"] and body["description"]["fr"]


def test_bare_number_is_a_minute_and_naive_from_uses_tz() -> None:
    # "5" = every hour at minute 5. --from without offset is read in --tz (UTC by default).
    code, body = run_json("5", "--from", "2024-01-01T00:00:00", "--count", "2")
    assert code == 0
    assert body["next"] == ["2024-01-01T00:05:00Z", "2024-01-01T01:05:00Z"]


def test_utc_suffix_ignores_the_node_zone() -> None:
    # 2024-05-01 00:00 in Paris is 2024-04-30 22:00 UTC; next Saturday 03:00 UTC is May 4th.
    code, body = run_json(
        "sat 03:00 UTC", "--from", "2024-05-01T00:00:00", "--tz", "Europe/Paris", "--count", "1"
    )
    assert code == 0 and body["next"] == ["2024-05-04T03:00:00Z"]


def test_invalid_schedule_exits_3() -> None:
    code, body = run_json("foo bar")
    assert code == 3
    assert body["valid"] is False and body["next"] == [] and body["description"] is None
    assert "foo" in body["error"]
    code, out, _ = run("foo bar")
    assert code == 3 and "Valid:       no" in out


def test_text_output_keeps_the_raw_value_next_to_the_description() -> None:
    code, out, _ = run("21:00", "--from", "2024-01-01T00:00:00Z", "--count", "1")
    assert code == 0
    assert "(`21:00`)" in out
    assert "2024-01-01T21:00:00+00:00" in out


def test_usage_errors_exit_2() -> None:
    assert run("daily", "--tz", "Nowhere/Nothing")[0] == 2
    assert run("daily", "--from", "yesterday")[0] == 2
    assert run("daily", "--count", "-1")[0] == 2
    code, _, err = run()
    assert code == 2 and "error" in err

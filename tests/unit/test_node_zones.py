"""Node time zones read with the task history reach the report (issue 13 §2: a schedule says
the zone it is read in). Expected values by hand: pve1 is in Europe/Paris, pve2 unknown."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from pve_backup_report.analysis.coverage import compute_coverage
from pve_backup_report.cli.pipeline import with_node_timezones
from pve_backup_report.report.build import build_report

from .builders import guest, inventory, job


def test_zones_fill_the_nodes_without_overriding_known_ones() -> None:
    inv = inventory([guest(100)], [job("daily", vmid="100")])
    inv = replace(inv, nodes=(inv.nodes[0], replace(inv.nodes[1], timezone="America/New_York")))
    got = with_node_timezones(inv, {"pve1": "Europe/Paris", "pve2": "Asia/Tokyo"})
    assert [(n.name, n.timezone) for n in got.nodes] == [
        ("pve1", "Europe/Paris"),
        ("pve2", "America/New_York"),  # what the inventory knew stays
    ]
    assert with_node_timezones(inv, {}) is inv


def test_schedule_zone_follows_the_node() -> None:
    inv = inventory(
        [guest(100), guest(101, node="pve2")],
        [job("on1", vmid="100", node="pve1"), job("on2", vmid="101", node="pve2")],
    )
    inv = with_node_timezones(inv, {"pve1": "Europe/Paris"})
    report = build_report(
        inv,
        compute_coverage(inv),
        None,
        (),
        generated_at=datetime(2026, 1, 15, 12, 0, tzinfo=UTC),
        tool_version="t",
        config_summary={},
        lang="en",
    )
    zones = {j.job_id: j.schedule_zone for j in report.jobs}
    assert zones == {"on1": "Europe/Paris", "on2": ""}  # "": unknown, said as such
    # the default schedule 21:00 read in Paris (UTC+1 in January) is 20:00 UTC
    on1 = next(j for j in report.jobs if j.job_id == "on1")
    assert on1.next_run == datetime(2026, 1, 15, 20, 0, tzinfo=UTC)

"""The demo scenario's backup server: each deliberate defect shows up (see docs/en/simulator.md)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pve_backup_report.analysis.coverage import compute_coverage
from pve_backup_report.api.client import ReadOnlyClient
from pve_backup_report.cli.pipeline import client_config
from pve_backup_report.collect.evidence import collect_evidence
from pve_backup_report.collect.inventory import collect_inventory
from pve_backup_report.collect.pbs_entry import PbsResult, collect_pbs
from pve_backup_report.config_pbs import load_pbs_settings
from pve_backup_report.demo import demo_scenario_path

from .conftest import Sims


def _demo() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(demo_scenario_path().read_text(encoding="utf-8"))
    data["auth_failure_delay_s"] = 0
    return data


def test_demo_backup_server(start: Callable[..., Sims]) -> None:
    data = _demo()
    sims = start(data)
    token = data["pbs_servers"][0]["token"]
    env = sims.pbs_env(
        PBS01_API_TOKEN_ID=token["id"],
        PBS01_API_TOKEN_SECRET=token["secret"],
        PBS01_STORAGES="pbs-main",
    )
    settings, _ = load_pbs_settings(env)
    now = datetime.fromtimestamp(data["now"], UTC)

    async def go() -> PbsResult:
        async with ReadOnlyClient(client_config(sims.pve_settings())) as client:
            inventory = await collect_inventory(client, client.active_base_url, "/cluster/backup")
            coverage = compute_coverage(inventory)
            evidence = await collect_evidence(
                client,
                inventory,
                coverage,
                task_history_limit=500,
                task_log_limit=10000,
                history_days=None,
                now=now,
            )
            return await collect_pbs(
                settings,
                inventory,
                coverage,
                evidence.guests,
                client,
                now=now,
                timeout=5,
                retries=0,
            )

    result = asyncio.run(go())
    found = {(a.code, a.details.get("vmid")) for a in result.anomalies}
    assert ("pbs_verify_failed", 105) in found
    assert ("pbs_vmid_collision", 103) in found  # notes 'ci-runner-old' vs build-runner
    assert ("pbs_vmid_collision", 201) in found  # group owned by the lab cluster's token
    assert ("pbs_no_snapshot", 400) in found  # pve3 is offline: never backed up
    assert ("pbs_task_snapshot_missing", 102) in found  # latest snapshot removed by hand
    codes = {code for code, _ in found}
    assert {
        "pbs_unencrypted",
        "pbs_gc_never_ran",
        "pbs_datastore_full_soon",
        "pbs_datastore_usage_high",
        "pbs_verify_job_failed",
    } <= codes
    assert [(o.backup_type, o.backup_id, o.comment) for o in result.orphans] == [
        ("vm", "150", "old-erp")
    ]
    assert result.guests[300].other_namespaces == ("pbs1:store1/lab-cluster",)
    latest_302 = result.guests[302].latest_snapshot
    assert latest_302 is not None and latest_302.encrypted is False
    assert result.guests[100].retention is not None
    assert result.guests[100].retention.source == "prune-job:s-3f2a1b4c-9d8e"

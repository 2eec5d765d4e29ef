"""`--check-api` probes and `--dump-inventory` tables for PBS, against the simulator."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Callable

from pve_backup_report.config_pbs import load_pbs_settings
from pve_backup_report.diagnostics.pbs_check import check_pbs
from pve_backup_report.diagnostics.pbs_view import pbs_inventory_json, render_pbs_inventory

from .conftest import Sims, run_collection
from .scenario_pbs import scenario
from .test_collect_sim import _free_port


def test_check_probes_and_counts(start: Callable[..., Sims]) -> None:
    sims = start(scenario())
    settings, _ = load_pbs_settings(sims.pbs_env())
    results = asyncio.run(check_pbs(settings, timeout=5))
    assert [(r.probe.name, r.ok, r.count) for r in results] == [
        ("PBS pbs1: version", True, 3),
        ("PBS pbs1: datastores", True, 1),
        ("PBS pbs1: datastore usage", True, 1),
        ("PBS pbs1: prune jobs", True, 0),
        ("PBS pbs1: verification jobs", True, 0),
        ("PBS pbs1: token permissions", True, 5),
        ("PBS pbs1: sync jobs", True, 0),  # Audit on / only: silently filtered
        ("PBS pbs1: remotes", True, 0),
        ("PBS pbs1: Remote.Audit on /remote (sync jobs, remotes)", False, None),
        ("PBS pbs1: namespaces of store1", True, 3),
        ("PBS pbs1: snapshots of store1 (root namespace)", True, 0),
    ]


def test_check_fails_a_probe_answering_the_wrong_type(start: Callable[..., Sims]) -> None:
    from pve_backup_report.simulator.faults import Fault

    sims = start(scenario())
    assert sims.pbs is not None
    sims.pbs.faults.add(Fault(route="^/admin/prune$", kind="wrong_type"))
    sims.pbs.faults.add(Fault(route="^/access/permissions$", kind="wrong_type"))
    settings, _ = load_pbs_settings(sims.pbs_env())
    failed = {
        r.probe.name: r.error for r in asyncio.run(check_pbs(settings, timeout=5)) if not r.ok
    }
    assert failed == {
        "PBS pbs1: prune jobs": "unexpected response: string where a list was expected",
        "PBS pbs1: token permissions": "unexpected response: list where an object was expected",
    }


def test_check_unreachable_and_bad_token(start: Callable[..., Sims]) -> None:
    sims = start(scenario())
    env = {**sims.pbs_env(PBS01_API_URL=f"https://127.0.0.1:{_free_port()}")}
    env.update({k.replace("PBS01", "PBS02"): v for k, v in sims.pbs_env().items()})
    env["PBS02_NAME"], env["PBS02_API_TOKEN_SECRET"] = "pbs2", "wrong"
    settings, _ = load_pbs_settings(env)
    results = asyncio.run(check_pbs(settings, timeout=5))
    assert [(r.probe.name, r.ok) for r in results] == [
        ("PBS pbs1: version", False),
        ("PBS pbs2: version", False),
    ]
    assert results[0].hint is not None and "PBSnn_API_URL" in results[0].hint
    assert results[1].error is not None and "401" in results[1].error


def test_inventory_tables_and_json(start: Callable[..., Sims]) -> None:
    sims = start(scenario())
    run = run_collection(sims, sims.pbs_env())
    out = io.StringIO()
    render_pbs_inventory(run.result, out, width=250)
    text = out.getvalue()
    for title in (
        "Proxmox Backup Servers",
        "PBS datastores",
        "PBS namespaces",
        "PBS retention (prune jobs)",
        "PBS verification jobs",
        "PVE storages → PBS",
    ):
        assert title in text
    assert "85%" in text and "clusterA" in text and "explicit" in text
    data = json.loads(json.dumps(pbs_inventory_json(run.result)))
    assert data["pbs_servers"][0]["datastores"][0]["namespaces"] == ["", "clusterA", "other"]
    assert data["pbs_storage_matches"]["pbs-a"]["method"] == "explicit"
    assert data["pbs_storage_matches"]["pbs-b"]["location"] is None

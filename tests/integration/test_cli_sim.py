"""The real CLI against the simulator over HTTPS. Expected values come from scenario_small."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .conftest import Result, Sim
from .scenario_small import EXPECTED_VERDICTS, scenario

Cli = Callable[[list[str], dict[str, str]], Result]
Start = Callable[[dict[str, Any]], Sim]


def test_check_api_all_ok(start_sim: Start, cli: Cli) -> None:
    sim = start_sim(scenario())
    result = cli(["--check-api"], sim.env())
    assert result.code == 0, result.out + result.err
    lines = result.out.splitlines()
    assert sum(1 for line in lines if line.startswith("OK ")) == 9
    assert "OK      guests (/cluster/resources): 7 items" in lines
    assert "OK      backup jobs (/cluster/backup): 6 items" in lines
    assert "OK      node tasks (pve1) (/nodes/pve1/tasks): 1 item" in lines
    assert lines[-1] == "9/9 checks passed"


def test_check_api_speaks_the_report_language(start_sim: Start, cli: Cli) -> None:
    """REPORT_LANGUAGE unset, LANG=fr_FR.UTF-8: the system locale chooses French."""
    sim = start_sim(scenario())
    result = cli(["--check-api"], sim.env(LANG="fr_FR.UTF-8"))
    assert result.code == 0, result.out + result.err
    lines = result.out.splitlines()
    assert "OK     guests (/cluster/resources)\u202f: 7 éléments" in lines
    assert "OK     node tasks (pve1) (/nodes/pve1/tasks)\u202f: 1 élément" in lines
    assert lines[-1] == "9/9 vérifications réussies"


def test_check_api_fails_a_probe_answering_the_wrong_type(start_sim: Start, cli: Cli) -> None:
    """Issue 11: a job list answered as a string is not "OK, 1 item"."""
    data = scenario()
    data["faults"] = [{"route": "^/cluster/backup$", "kind": "wrong_type"}]
    data["faults"].append({"route": "^/version$", "kind": "wrong_type"})
    result = cli(["--check-api"], start_sim(data).env())
    assert result.code == 2
    assert (
        "FAILED  backup jobs (/cluster/backup): unexpected response: string where a list was "
        "expected" in result.out
    )
    assert "FAILED  version (/version): unexpected response: list where an object was expected" in (
        result.out
    )
    assert result.out.splitlines()[-1].startswith("7/9")


def test_check_api_explains_missing_privilege(start_sim: Start, cli: Cli) -> None:
    token = {
        "id": "report@pve!audit",
        "secret": "s-1",
        "acl": [{"path": "/vms", "privs": ["VM.Audit"], "propagate": True}],
    }
    sim = start_sim(scenario(token=token))
    result = cli(["--check-api"], sim.env())
    assert result.code == 2
    assert (
        "FAILED  backup jobs (/cluster/backup): HTTP 403 Permission check failed (/, Sys.Audit)"
        in result.out
    )
    assert "missing privilege Sys.Audit on /" in result.out
    assert "privilege-separated token needs its own ACL" in result.out
    assert "OK      version (/version)" in result.out  # probes are independent


def test_dump_inventory_json(start_sim: Start, cli: Cli) -> None:
    sim = start_sim(scenario())
    result = cli(["--dump-inventory", "--json"], sim.env())
    data = json.loads(result.out)
    assert result.code == 1  # warnings only: pve3 offline, its guest config unreadable
    assert [n["name"] for n in data["nodes"]] == ["pve1", "pve2", "pve3"]
    assert [s["storage_id"] for s in data["pbs_storages"]] == ["pbs-main", "pbs-old"]
    main = data["pbs_storages"][0]
    assert (main["server"], main["datastore"], main["namespace"], main["port"]) == (
        "pbs01.example.com",
        "store1",
        "prod",
        None,
    )
    assert main["active"] is True and data["pbs_storages"][1]["active"] is False
    assert main["retention"] == {"keep-daily": "7", "keep-weekly": "4"}
    guests = {g["vmid"]: g for g in data["guests"]}
    assert sorted(guests) == [100, 101, 102, 103, 104, 105, 9000]
    assert guests[100]["notes"] == "Owner: team-a\nBackup policy: nightly"
    assert guests[100]["tags"] == ["prod", "web"] and guests[100]["pool"] == "prod"
    assert guests[105]["notes"] is None and guests[105]["config_collected"] is False
    assert guests[9000]["template"] is True
    jobs = {j["job_id"]: j for j in data["jobs"]}
    assert next(iter(jobs)) == "a1b2c3d4e5:1"  # legacy jobs come first
    assert jobs["a1b2c3d4e5:1"]["legacy"] is True and jobs["a1b2c3d4e5:1"]["enabled"] is False
    assert jobs["backup-node2"]["selection"] == {
        "mode": "vmid",
        "vmids": [100, 150],
        "exclude": [],
        "pool": None,
        "invalid": [],
    }
    assert jobs["backup-all01"]["next_run"] is not None
    assert data["pool_memberships"]["gone"]["state"] == "missing"
    assert data["pool_memberships"]["prod"] == {
        "poolid": "prod",
        "state": "ok",
        "members": [100, 101],
        "error": None,
    }
    codes = sorted(a["code"] for a in data["anomalies"])
    assert codes == ["guest_config_unavailable", "node_offline", "pve_not_backed_up_unavailable"]


def test_dump_inventory_tables(start_sim: Start, cli: Cli) -> None:
    sim = start_sim(scenario())
    result = cli(["--dump-inventory"], sim.env())
    for text in (
        "PBS storages",
        "pbs-main",
        "store1",
        "Backup jobs",
        "backup-all01",
        "a1b2c3d4e5:1 (legacy)",
        "not specified",
        "web01",
    ):
        assert text in result.out


def test_dump_coverage_json_verdicts(start_sim: Start, cli: Cli) -> None:
    sim = start_sim(scenario())
    result = cli(["--dump-coverage", "--json"], sim.env())
    data = json.loads(result.out)
    verdicts = {g["vmid"]: g["coverage"]["status"] for g in data["guests"]}
    assert verdicts == EXPECTED_VERDICTS
    assert result.code == 2  # 9000 is protected only by a disabled job; a pool is missing
    assert data["guests"][0]["vmid"] == 9000  # worst verdict first
    g100 = next(g for g in data["guests"] if g["vmid"] == 100)
    assert g100["coverage"]["jobs"] == ["backup-all01", "backup-pool01"]
    assert (
        "job backup-node2 is restricted to node pve2 but the guest runs on pve1"
        in (g100["coverage"]["explanation"])
    )
    g102 = next(g for g in data["guests"] if g["vmid"] == 102)
    assert g102["coverage"]["explanation"][0] == (
        "opted out with tag 'no-backup': Scratch VM, rebuilt from Ansible"
    )
    # configuration and collection anomalies (evidence and PBS ones are tested elsewhere)
    config_components = {"jobs", "guests", "nodes", "coverage"}
    codes = sorted(
        a["code"]
        for a in data["anomalies"]
        if a["component"] in config_components and a["code"] != "job_missed_run"
    )
    assert codes == sorted(
        [
            "job_pool_missing",
            "job_unknown_vmids",
            "job_node_without_guests",
            "job_disabled",
            "job_disabled",
            "job_storage_disabled",
            "job_target_not_pbs",
            "guest_disks_excluded",
            "guest_disks_excluded",
            "node_offline",
            "guest_config_unavailable",
            "pve_not_backed_up_unavailable",
        ]
    )
    assert data["summary"]["covered"] == 5


def test_cross_check_agrees_with_simulated_proxmox(start_sim: Start, cli: Cli) -> None:
    data = scenario()
    data["jobs"] = [j for j in data["jobs"] if j["id"] != "backup-ghost"]
    sim = start_sim(data)
    result = cli(["--dump-coverage", "--json"], sim.env())
    codes = [a["code"] for a in json.loads(result.out)["anomalies"]]
    assert "pve_not_backed_up_unavailable" not in codes
    assert "coverage_mismatch_pve" not in codes


def test_dump_coverage_table(start_sim: Start, cli: Cli) -> None:
    sim = start_sim(scenario())
    result = cli(["--dump-coverage"], sim.env())
    assert "7 guests: 1 disabled_only, 1 opted_out, 5 covered" in result.out


def test_nagios_check_writes_no_file_unless_asked(start_sim: Start, cli: Cli) -> None:
    sim = start_sim(scenario())
    result = cli(["--check", "--no-history"], sim.env())
    assert result.code == 2  # 9000 is protected only by a disabled job
    first = result.out.splitlines()[0]
    assert first.startswith("PVE BACKUP CRITICAL - small:")
    assert " | guests=7;" in first
    assert not Path("reports").exists()
    assert sorted(p.name for p in Path.cwd().iterdir()) == []


def test_dump_inventory_info_anomalies_do_not_warn(start_sim: Start, cli: Cli) -> None:
    data = scenario()
    data["nodes"] = [n for n in data["nodes"] if n["node"] != "pve3"]
    data["guests"] = [g for g in data["guests"] if g["node"] != "pve3"]
    data["faults"] = [{"route": "^/cluster/backup-info/not-backed-up$", "kind": "http",
                       "status": 500, "message": "boom"}]  # fmt: skip
    sim = start_sim(data)
    result = cli(["--dump-inventory", "--json"], sim.env())
    codes = {a["code"]: a["severity"] for a in json.loads(result.out)["anomalies"]}
    assert codes == {"pve_not_backed_up_unavailable": "info"}
    assert result.code == 0  # exit 1 means warnings; an info anomaly is not one

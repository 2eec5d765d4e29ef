"""Generator, demo scenario, synth logs, calendar approximation and TLS material."""

from __future__ import annotations

import json
import re
from typing import Any

from pve_backup_report.simulator import DEFAULT_SCENARIO_DIR
from pve_backup_report.simulator.generate import generate_scenario, synth_status
from pve_backup_report.simulator.permissions import Permissions, perm_message
from pve_backup_report.simulator.routes_pve import PveState, next_run
from pve_backup_report.simulator.scenario import SynthGuest, decode_upid, load_scenario, split_list
from pve_backup_report.simulator.tls import fingerprint_of, generate_tls

from .conftest import NOW, Factory, base_scenario, upid


def test_generator_output_is_consistent() -> None:
    data = generate_scenario(nodes=4, guests=60, jobs=12, days=5, seed=3, now=NOW)
    scenario = load_scenario(data)
    assert len(scenario.nodes) == 4 and len(scenario.guests) == 60 and len(scenario.jobs) == 12
    vmids = {g.vmid for g in scenario.guests}
    jobs = {j["id"] for j in scenario.jobs}
    assert scenario.tasks
    for task in scenario.tasks:
        assert task.synth is not None and task.synth.job in jobs
        info = decode_upid(task.upid)
        assert NOW - 6 * 86400 <= info["starttime"] <= NOW
        for entry in task.synth.guests:
            # a guest either exists or is reported as an intentionally missing one
            assert (entry.vmid in vmids) != (entry.outcome == "missing")
        assert task.status == synth_status(task.synth.guests, task.synth.error)
        if len(task.synth.guests) == 1:
            assert info["id"] == str(task.synth.guests[0].vmid)


def test_generator_is_deterministic() -> None:
    first = generate_scenario(nodes=2, guests=10, jobs=4, days=2, seed=9, now=NOW)
    second = generate_scenario(nodes=2, guests=10, jobs=4, days=2, seed=9, now=NOW)
    assert first == second


def test_synth_log_ends_like_status_and_volumes_match_log() -> None:
    state = PveState(
        load_scenario(generate_scenario(nodes=3, guests=30, jobs=8, days=3, seed=5, now=NOW))
    )
    for task in state.scenario.tasks[:40]:
        lines = state.task_log(task)
        if task.status == "OK":
            assert lines[-1] == "TASK OK"
        elif task.status and task.status.startswith("WARNINGS"):
            assert lines[-1] == f"TASK {task.status}"
        elif task.status:
            assert lines[-1] == f"TASK ERROR: {task.status}"
    # fast synth path and log parsing must agree
    for sid in ("pbs-main", "pbs-offsite", "nfs-backup"):
        fast = state.backup_content(sid, "pve1")
        parsed: dict[str, dict[str, Any]] = {}
        for task in state.scenario.tasks:
            if task.running:
                continue
            tz = state.nodes[decode_upid(task.upid)["node"]].timezone
            for item in state._volumes_from_log(sid, state.task_log(task), tz):
                parsed[item["volid"]] = item
        assert sorted(parsed) == [item["volid"] for item in fast]
        assert all(parsed[i["volid"]]["ctime"] == i["ctime"] for i in fast)


def test_synth_status_rules() -> None:
    assert synth_status([SynthGuest(vmid=100)], None) == "OK"
    assert synth_status([SynthGuest(vmid=100, outcome="warn")] * 2, None) == "WARNINGS: 2"
    assert synth_status([SynthGuest(vmid=100, outcome="missing")], None) == "job errors"
    assert synth_status([SynthGuest(vmid=100, outcome="running")], None) is None
    assert (
        synth_status([], "could not activate storage 'x': y") == "could not activate storage 'x': y"
    )


def test_demo_scenario_loads_and_has_the_traps(sim: Factory) -> None:
    demo = load_scenario(DEFAULT_SCENARIO_DIR / "demo.json")
    assert [n.status for n in demo.nodes] == ["online", "online", "offline"]
    assert any(g.template for g in demo.guests)
    data = json.loads((DEFAULT_SCENARIO_DIR / "demo.json").read_text(encoding="utf-8"))
    data["auth_failure_delay_s"] = 0
    data["token"]["id"], data["token"]["secret"] = "report@pve!audit", "s3cr3t-uuid"
    _, client = sim(data)
    assert client.get("/cluster/backup-info/not-backed-up").status_code == 500  # pool 'staging'
    statuses = {
        t["status"]
        for t in client.get("/nodes/pve1/tasks", params={"limit": 200, "source": "all"}).json()[
            "data"
        ]
    }
    statuses |= {
        t["status"] for t in client.get("/nodes/pve2/tasks", params={"limit": 200}).json()["data"]
    }
    assert {"OK", "WARNINGS: 1", "job errors", "RUNNING"} <= statuses
    assert any(s.startswith("could not activate storage") for s in statuses)
    assert client.get("/nodes/pve3/tasks").status_code == 595


def test_next_run_rules() -> None:
    # NOW = Wed 2025-11-26 08:00 Europe/Paris (UTC+1)
    assert next_run("21:00", NOW, "Europe/Paris") == NOW + 13 * 3600
    assert next_run("08:00", NOW, "Europe/Paris") == NOW + 86400  # strictly after now
    assert next_run("mon..fri 02:30", NOW, "Europe/Paris") == NOW + 18 * 3600 + 1800
    assert next_run("*/15", NOW, "UTC") == NOW + 15 * 60
    assert next_run("2024-01-01", NOW, "UTC") is None


def test_split_list_and_permissions() -> None:
    assert split_list("100;101 102,,103\x00104") == ["100", "101", "102", "103", "104"]
    perms = Permissions(
        [
            ("/", Permissions.expand([], ["PVEAuditor"]), True),
            ("/vms", frozenset({"VM.Backup"}), False),
            ("/pool/prod", frozenset({"VM.Backup"}), True),
        ],
        pool_of={100: "prod"},
    )
    assert perms.has("/nodes/pve1", "Sys.Audit")
    assert perms.has("/vms", "VM.Backup") and not perms.has("/vms", "VM.Audit")  # level replaced
    assert not perms.has("/vms/101", "VM.Backup")  # /vms entry does not propagate
    assert perms.has("/vms/100", "VM.Backup")  # through the pool
    assert perm_message("/storage/x", ["A", "B"]) == "Permission check failed (/storage/x, A|B)"


def test_generate_tls(tmp_path: Any) -> None:
    material = generate_tls(tmp_path)
    assert (
        material.cert_path.exists() and material.key_path.exists() and material.ca_pem_path.exists()
    )
    assert re.fullmatch(r"([0-9A-F]{2}:){31}[0-9A-F]{2}", material.fingerprint)
    assert fingerprint_of(material.cert_pem) == material.fingerprint


def test_server_with_generated_tls_and_fingerprint() -> None:
    import ssl

    import httpx2

    from pve_backup_report.simulator.server import SimulatorServer

    scenario = base_scenario()
    scenario["tasks"] = [{"upid": upid("pve1", 1, NOW - 10), "status": "OK", "endtime": NOW}]
    server = SimulatorServer(load_scenario(scenario)).start()
    try:
        assert server.tls is not None and server.fingerprint == server.tls.fingerprint
        ctx = ssl.create_default_context(cafile=str(server.tls.ca_pem_path))
        headers = {"Authorization": "PVEAPIToken=report@pve!audit=s3cr3t-uuid"}
        with httpx2.Client(verify=ctx, headers=headers) as client:
            assert client.get(server.api_url + "/version").status_code == 200
    finally:
        server.stop()

"""Endpoint behaviour against small hand-written scenarios (expected values by hand)."""

from __future__ import annotations

from typing import Any

from .conftest import NOW, Factory, base_scenario, upid


def finished(node: str, pid: int, start: int, status: str = "OK", **extra: Any) -> dict[str, Any]:
    return {"upid": upid(node, pid, start, **extra), "status": status, "endtime": start + 60}


# ---------------------------------------------------------------- node tasks
def tasks_scenario() -> dict[str, Any]:
    scenario = base_scenario()
    # 60 finished tasks, starttimes NOW-6000 .. NOW-100 step 100, plus one running
    scenario["tasks"] = [finished("pve1", 1000 + i, NOW - 100 * (i + 1)) for i in range(60)]
    scenario["tasks"].append({"upid": upid("pve1", 5000, NOW - 10), "status": None})
    return scenario


def test_node_tasks_defaults(sim: Factory) -> None:
    _, client = sim(tasks_scenario())
    body = client.get("/nodes/pve1/tasks").json()
    assert body["total"] == 60
    assert len(body["data"]) == 50
    first = body["data"][0]
    assert first["starttime"] == NOW - 100  # newest first, running one excluded
    assert first["pid"] == 1000 and isinstance(first["pid"], int)
    assert first["id"] == ""
    assert first["status"] == "OK" and first["endtime"] == NOW - 40


def test_node_tasks_limit_zero_and_sources(sim: Factory) -> None:
    _, client = sim(tasks_scenario())
    zero = client.get("/nodes/pve1/tasks", params={"limit": 0}).json()
    assert zero == {"data": [], "total": 60}
    active = client.get("/nodes/pve1/tasks", params={"source": "active"}).json()
    assert active["total"] == 1
    assert active["data"][0]["status"] == "RUNNING"
    everything = client.get("/nodes/pve1/tasks", params={"source": "all", "limit": 2}).json()
    assert everything["total"] == 61
    assert everything["data"][0]["pid"] == 5000


def test_node_tasks_filters(sim: Factory) -> None:
    scenario = base_scenario()
    scenario["tasks"] = [
        finished("pve1", 1, NOW - 300),
        finished("pve1", 2, NOW - 200, "WARNINGS: 2", vid="100"),
        finished("pve1", 3, NOW - 100, "job errors"),
        finished("pve1", 4, NOW - 50, kind="qmstart", vid="100"),
    ]
    _, client = sim(scenario)

    def pids(**params: Any) -> list[int]:
        return [t["pid"] for t in client.get("/nodes/pve1/tasks", params=params).json()["data"]]

    assert pids(typefilter="vzdump") == [3, 2, 1]
    assert pids(vmid=100) == [4, 2]
    assert pids(errors=1) == [3, 2]
    assert pids(statusfilter="warning,error") == [3, 2]
    assert pids(since=NOW - 200, until=NOW - 100) == [3, 2]
    assert pids(start=1, limit=2) == [3, 2]
    assert pids(userfilter="ROOT") == [4, 3, 2, 1]


def test_node_tasks_without_sys_audit_only_own(sim: Factory) -> None:
    scenario = base_scenario()
    scenario["token"]["acl"] = [{"path": "/vms", "privs": ["VM.Audit"]}]
    scenario["tasks"] = [
        finished("pve1", 1, NOW - 300),
        finished("pve1", 2, NOW - 200, user="report@pve!audit"),
    ]
    _, client = sim(scenario)
    body = client.get("/nodes/pve1/tasks").json()
    assert [t["pid"] for t in body["data"]] == [2]
    assert body["data"][0]["user"] == "report@pve"
    assert body["data"][0]["tokenid"] == "audit"


# ---------------------------------------------------------------- cluster tasks
def test_cluster_tasks_cap_and_fields(sim: Factory) -> None:
    scenario = base_scenario()
    scenario["tasks"] = [finished("pve1", 10 + i, NOW - 1000 + i) for i in range(30)]
    scenario["tasks"] += [
        {"upid": upid("pve1", 900 + i, NOW - 5 + i), "status": None} for i in range(2)
    ]
    scenario["tasks"] += [finished("pve2", 77, NOW - 500)]
    _, client = sim(scenario)
    data = client.get("/cluster/tasks").json()["data"]
    pve1 = [t for t in data if t["node"] == "pve1"]
    assert len(pve1) == 25
    running = [t for t in pve1 if "status" not in t]
    assert sorted(t["pid"] for t in running) == [900, 901]
    done = [t for t in pve1 if "status" in t]
    assert len(done) == 23
    assert all("pid" not in t and "pstart" not in t and t["saved"] in ("1", 1) for t in done)
    assert max(t["starttime"] for t in done) == NOW - 1000 + 29
    assert min(t["starttime"] for t in done) == NOW - 1000 + 7
    assert [t["upid"] for t in data if t["node"] == "pve2"] == [upid("pve2", 77, NOW - 500)]


def test_cluster_tasks_empty_for_token_without_sys_audit(sim: Factory) -> None:
    scenario = base_scenario()
    scenario["token"]["acl"] = [{"path": "/nodes", "privs": ["Sys.Audit"]}]
    scenario["tasks"] = [finished("pve1", 2, NOW - 200, user="report@pve!audit")]
    _, client = sim(scenario)
    assert client.get("/cluster/tasks").json() == {"data": []}


# ---------------------------------------------------------------- task log / status
def log_scenario() -> dict[str, Any]:
    scenario = base_scenario()
    task = finished("pve1", 1, NOW - 500)
    task["log"] = [f"INFO: line {i}" for i in range(1, 120)] + ["TASK OK"]
    scenario["tasks"] = [
        task,
        {"upid": upid("pve1", 2, NOW - 400), "status": "OK", "endtime": NOW, "log": []},
    ]
    return scenario


def test_log_paging(sim: Factory) -> None:
    _, client = sim(log_scenario())
    task_upid = upid("pve1", 1, NOW - 500)
    body = client.get(f"/nodes/pve1/tasks/{task_upid}/log").json()
    assert body["total"] == 120
    assert len(body["data"]) == 50
    assert body["data"][0] == {"n": 1, "t": "INFO: line 1"}
    everything = client.get(f"/nodes/pve1/tasks/{task_upid}/log", params={"limit": 0}).json()
    assert len(everything["data"]) == 120
    assert everything["data"][-1] == {"n": 120, "t": "TASK OK"}
    tail = client.get(f"/nodes/pve1/tasks/{task_upid}/log", params={"start": 100}).json()
    assert [line["n"] for line in tail["data"]] == list(range(101, 121))


def test_log_special_cases(sim: Factory) -> None:
    _, client = sim(log_scenario())
    task_upid = upid("pve1", 1, NOW - 500)
    wrong = client.get(f"/nodes/pve2/tasks/{task_upid}/log")
    assert wrong.status_code == 200
    assert wrong.json() == {
        "data": [{"n": 1, "t": "unable to open file - No such file or directory"}],
        "total": 1,
    }
    empty = client.get(f"/nodes/pve1/tasks/{upid('pve1', 2, NOW - 400)}/log").json()
    assert empty == {"data": [{"n": 1, "t": "no content"}], "total": 1}
    bad = client.get("/nodes/pve1/tasks/UPID:garbage/log")
    assert bad.status_code == 400
    assert bad.json()["errors"] == {"upid": "unable to parse worker upid"}


def test_task_status(sim: Factory) -> None:
    scenario = base_scenario()
    scenario["tasks"] = [
        finished("pve1", 1, NOW - 500, "WARNINGS: 1"),
        {"upid": upid("pve1", 3, NOW - 5), "status": None},
    ]
    _, client = sim(scenario)
    done = client.get(f"/nodes/pve1/tasks/{upid('pve1', 1, NOW - 500)}/status").json()["data"]
    assert done["status"] == "stopped" and done["exitstatus"] == "WARNINGS: 1"
    running = client.get(f"/nodes/pve1/tasks/{upid('pve1', 3, NOW - 5)}/status").json()["data"]
    assert running["status"] == "running" and "exitstatus" not in running
    missing = client.get(f"/nodes/pve1/tasks/{upid('pve1', 9, NOW)}/status")
    assert missing.status_code == 400 and missing.json()["errors"] == {"upid": "no such task"}


# ---------------------------------------------------------------- guest config
def test_config_wrong_node_is_500(sim: Factory) -> None:
    _, client = sim()
    response = client.get("/nodes/pve2/qemu/100/config")
    assert response.status_code == 500
    assert (
        response.json()["message"]
        == "Configuration file 'nodes/pve2/qemu-server/100.conf' does not exist\n"
    )
    lxc = client.get("/nodes/pve1/lxc/100/config")
    assert lxc.json()["message"] == "Configuration file 'nodes/pve1/lxc/100.conf' does not exist\n"


def test_config_descriptions(sim: Factory) -> None:
    _, client = sim()
    qemu = client.get("/nodes/pve1/qemu/100/config").json()["data"]
    assert qemu["description"] == "Owner: a"
    assert qemu["scsi1"] == "local-zfs:vm-100-disk-1,backup=0,size=50G"
    assert qemu["tags"] == "prod;web"
    assert "digest" in qemu
    lxc = client.get("/nodes/pve1/lxc/200/config").json()["data"]
    assert lxc["description"] == "Owner: b\n"
    assert lxc["hostname"] == "dns01"


def test_config_needs_vm_audit(sim: Factory) -> None:
    scenario = base_scenario()
    scenario["token"]["acl"] = [{"path": "/", "privs": ["Sys.Audit"]}]
    _, client = sim(scenario)
    response = client.get("/nodes/pve1/qemu/100/config")
    assert response.status_code == 403
    assert response.json()["message"] == "Permission check failed (/vms/100, VM.Audit)\n"


# ---------------------------------------------------------------- backup jobs
def test_backup_jobs_and_next_run(sim: Factory) -> None:
    scenario = base_scenario()
    scenario["legacy_jobs"] = [
        {"id": "abc:1", "starttime": "02:30", "dow": "mon,tue", "vmid": "200", "enabled": ""}
    ]
    _, client = sim(scenario)
    data = client.get("/cluster/backup").json()["data"]
    assert [job["id"] for job in data] == ["abc:1", "backup-aaaa", "backup-bbbb"]
    assert data[0] == {"id": "abc:1", "schedule": "mon,tue 02:30", "vmid": "200", "enabled": ""}
    # NOW is Wed 2025-11-26 08:00 Paris: next 21:00 Paris = 20:00 UTC the same day
    assert data[1]["next-run"] == NOW + 13 * 3600
    assert data[1]["enabled"] == 1 and data[1]["type"] == "vzdump"
    # disabled jobs keep next-run; next Saturday 2025-11-29 03:00 Paris = 02:00 UTC
    assert data[2]["next-run"] == NOW + 2 * 86400 + 19 * 3600
    single = client.get("/cluster/backup/backup-aaaa").json()["data"]
    assert "next-run" not in single
    unknown = client.get("/cluster/backup/nope")
    assert unknown.status_code == 400
    assert unknown.json()["errors"] == {"id": "No such job 'nope'"}


def test_not_backed_up_counts_disabled_jobs(sim: Factory) -> None:
    _, client = sim()
    data = client.get("/cluster/backup-info/not-backed-up").json()["data"]
    # job aaaa covers 100,101; disabled pool job bbbb covers 100,200; template 9000 is left
    assert data == [{"vmid": 9000, "type": "qemu", "name": "tmpl"}]


def test_not_backed_up_node_restriction(sim: Factory) -> None:
    scenario = base_scenario()
    scenario["jobs"] = [
        {"id": "backup-n", "schedule": "1:00", "vmid": "100,101,200,9000", "node": "pve1"}
    ]
    _, client = sim(scenario)
    data = client.get("/cluster/backup-info/not-backed-up").json()["data"]
    assert data == [{"vmid": 101, "type": "qemu", "name": "db01"}]


def test_missing_pool_is_500(sim: Factory) -> None:
    scenario = base_scenario()
    scenario["jobs"].append({"id": "backup-gone", "schedule": "1:00", "pool": "staging"})
    _, client = sim(scenario)
    response = client.get("/cluster/backup-info/not-backed-up")
    assert response.status_code == 500
    assert response.json() == {"data": None, "message": "pool 'staging' does not exist\n"}
    assert client.get("/cluster/backup/backup-gone/included_volumes").status_code == 500


def test_included_volumes(sim: Factory) -> None:
    scenario = base_scenario()
    scenario["jobs"] = [{"id": "backup-x", "schedule": "1:00", "vmid": "200 100,150"}]
    _, client = sim(scenario)
    tree = client.get("/cluster/backup/backup-x/included_volumes").json()["data"]["children"]
    assert [c["id"] for c in tree] == [100, 150, 200]
    assert tree[0]["children"] == [
        {
            "id": "100:scsi0",
            "name": "local-zfs:vm-100-disk-0",
            "included": 1,
            "reason": "backup=yes",
            "leaf": 1,
        },
        {
            "id": "100:scsi1",
            "name": "local-zfs:vm-100-disk-1",
            "included": 0,
            "reason": "backup=no",
            "leaf": 1,
        },
    ]
    assert tree[1] == {"id": 150, "type": "unknown", "leaf": 1}
    assert [(c["id"], c["included"], c["reason"]) for c in tree[2]["children"]] == [
        ("200:mp0", 0, "disabled"),
        ("200:rootfs", 1, "rootfs"),
    ]


def test_backup_info_index_root_only(sim: Factory) -> None:
    _, client = sim()
    response = client.get("/cluster/backup-info")
    assert response.status_code == 403


# ---------------------------------------------------------------- resources / storage / pools
def test_resources_filters(sim: Factory) -> None:
    scenario = base_scenario()
    scenario["token"]["acl"] = [{"path": "/vms/100", "privs": ["VM.Audit"]}]
    _, client = sim(scenario)
    data = client.get("/cluster/resources", params={"type": "vm"}).json()["data"]
    assert len(data) == 1
    entry = data[0]
    assert entry["vmid"] == 100 and entry["id"] == "qemu/100" and entry["name"] == "web01"
    assert "pool" not in entry  # no Pool.Audit on /pool/prod
    assert entry["tags"] == "prod;web"


def test_resources_pool_field_and_rrd(sim: Factory) -> None:
    scenario = base_scenario()
    scenario["guests"][1]["rrd"] = False
    _, client = sim(scenario)
    data = {
        e["vmid"]: e for e in client.get("/cluster/resources", params={"type": "vm"}).json()["data"]
    }
    assert data[100]["pool"] == "prod"
    assert data[101] == {
        "id": "qemu/101",
        "vmid": 101,
        "type": "qemu",
        "node": "pve2",
        "status": "unknown",
    }
    assert data[9000]["template"] == 1


def test_storage_list_filtered(sim: Factory) -> None:
    scenario = base_scenario()
    scenario["token"]["acl"] = [{"path": "/storage/pbs-main", "privs": ["Datastore.AllocateSpace"]}]
    _, client = sim(scenario)
    data = client.get("/storage").json()["data"]
    assert [s["storage"] for s in data] == ["pbs-main"]
    assert data[0]["shared"] == 1
    assert sorted(data[0]["nodes"].split(",")) == ["pve1", "pve2"]
    assert data[0]["prune-backups"] == "keep-daily=7"


def test_pools(sim: Factory) -> None:
    _, client = sim()
    assert client.get("/pools").json() == {"data": [{"poolid": "prod", "comment": "production"}]}
    members = client.get("/pools", params={"poolid": "prod", "type": "lxc"}).json()["data"]
    assert [m["vmid"] for m in members[0]["members"]] == [200]
    assert (
        client.get("/pools", params={"poolid": "nope"}).json()["message"]
        == "pool 'nope' does not exist\n"
    )
    old = base_scenario()
    old["cluster"] = {"api_level": "8.0"}
    _, old_client = sim(old)
    assert old_client.get("/pools", params={"poolid": "prod"}).status_code == 400
    assert old_client.get("/pools/prod").json()["data"]["comment"] == "production"


def content_scenario() -> dict[str, Any]:
    scenario = base_scenario()
    start = NOW - 3600
    scenario["tasks"] = [
        {
            "upid": upid("pve1", 1, start),
            "status": "job errors",
            "endtime": start + 60,
            "log": [
                "INFO: starting new backup job: vzdump 100 200 --storage pbs-main --mode snapshot",
                "INFO: Starting Backup of VM 100 (qemu)",
                "INFO: creating Proxmox Backup Server archive 'vm/100/2025-11-26T06:00:05Z'",
                "INFO: Finished Backup of VM 100 (00:00:10)",
                "INFO: Starting Backup of VM 200 (lxc)",
                "INFO: creating Proxmox Backup Server archive 'ct/200/2025-11-26T06:00:20Z'",
                "ERROR: Backup of VM 200 failed - interrupted",
                "INFO: Backup job finished with errors",
                "TASK ERROR: job errors",
            ],
        }
    ]
    return scenario


def test_storage_content_derived_and_auditor_sees_nothing(sim: Factory) -> None:
    _, client = sim(content_scenario())
    response = client.get("/nodes/pve1/storage/pbs-main/content", params={"content": "backup"})
    assert response.status_code == 200
    assert response.json() == {"data": []}


def test_storage_content_vm_backup_filter(sim: Factory) -> None:
    scenario = content_scenario()
    scenario["token"]["acl"] = [
        {"path": "/storage", "roles": ["PVEDatastoreUser"]},
        {"path": "/vms/100", "privs": ["VM.Backup"]},
    ]
    scenario["storage_content"] = {
        "local": [
            {"volid": "local:backup/vzdump-qemu-100-2025_11_26-01_00_00.vma.zst", "vmid": 100},
            {"volid": "local:backup/vzdump-lxc-200-2025_11_26-01_00_00.tar.zst", "vmid": 200},
            {"volid": "local:backup/manual.vma.zst"},
        ]
    }
    _, client = sim(scenario)
    items = client.get("/nodes/pve1/storage/pbs-main/content").json()["data"]
    assert [i["volid"] for i in items] == ["pbs-main:backup/vm/100/2025-11-26T06:00:05Z"]
    assert items[0]["ctime"] == NOW - 3600 + 5
    assert items[0]["format"] == "pbs-vm" and items[0]["subtype"] == "qemu"
    local = client.get("/nodes/pve1/storage/local/content").json()["data"]
    assert [i["vmid"] for i in local] == [100]


def test_storage_content_allocate_sees_all_and_errors(sim: Factory) -> None:
    scenario = content_scenario()
    scenario["token"]["acl"] = [
        {"path": "/storage/pbs-main", "privs": ["Datastore.Allocate", "Datastore.Audit"]}
    ]
    _, client = sim(scenario)
    items = client.get("/nodes/pve1/storage/pbs-main/content").json()["data"]
    assert [i["vmid"] for i in items] == [100]  # 200 failed: no snapshot
    denied = client.get("/nodes/pve1/storage/local/content")
    assert denied.status_code == 403
    assert denied.json()["message"] == (
        "Permission check failed (/storage/local, Datastore.Audit|Datastore.AllocateSpace)\n"
    )


def test_node_time_and_nodes(sim: Factory) -> None:
    _, client = sim()
    assert client.get("/nodes/pve1/time").json()["data"] == {
        "timezone": "Europe/Paris",
        "time": NOW,
        "localtime": NOW + 3600,
    }
    nodes = {n["node"]: n for n in client.get("/nodes").json()["data"]}
    assert nodes["pve3"] == {
        "node": "pve3",
        "id": "node/pve3",
        "type": "node",
        "status": "offline",
        "ssl_fingerprint": "",
    }
    assert "maxmem" in nodes["pve1"]

"""Two (or three) simulated backup servers with sync jobs, on top of `scenario_pbs.BASE`.

Every expected value in test_sync_sim.py is worked out by hand from here and scenario_pbs:

pbs1 (host pbs.test, datastore store1) holds, in namespace clusterA, vm/100 at T100_OLD and
T100, vm/101 at T101 and ct/200 at T200 (plus the orphan vm/150 at T150); vm/102 has nothing.
Its token also gets RemoteAudit on /remote, so its (empty) sync job list is known.

pbs2 (host pbs2.test, version 3.3, datastore offsite) has remote `main` → pbs.test and, by
default, pull job `s-pull`: main:store1/clusterA → offsite/copyA, hourly, last run OK at
NOW − 1 h, so everything up to NOW − 1 h 5 min is copied, group filter `exclude:type:ct`.
"""

from __future__ import annotations

import copy
from typing import Any

from .scenario_pbs import NOW, scenario

PBS2_SECRET = "22222222-aaaa-bbbb-cccc-000000000002"
PBS3_SECRET = "33333333-aaaa-bbbb-cccc-000000000003"
AUDIT_AND_REMOTE = [
    {"path": "/", "roles": ["Audit"]},
    {"path": "/remote", "roles": ["RemoteAudit"]},
]


def pull_job(**changes: Any) -> dict[str, Any]:
    job: dict[str, Any] = {
        "id": "s-pull",
        "store": "offsite",
        "ns": "copyA",
        "remote": "main",
        "remote-store": "store1",
        "remote-ns": "clusterA",
        "schedule": "hourly",
        "group-filter": ["exclude:type:ct"],
        "last-run-endtime": NOW - 3600,
        "last-run-state": "OK",
    }
    job.update(changes)
    return {k: v for k, v in job.items() if v is not None}


def pbs2(jobs: list[dict[str, Any]] | None = None, **changes: Any) -> dict[str, Any]:
    server: dict[str, Any] = {
        "name": "pbs2",
        "host": "pbs2.test",
        "version": "3.3",
        "release": "1",
        "token": {"id": "report@pbs!audit", "secret": PBS2_SECRET, "acl": AUDIT_AND_REMOTE},
        "datastores": [{"name": "offsite", "derive": False, "total": 100, "used": 50, "avail": 50}],
        "remotes": [{"name": "main", "host": "pbs.test", "password": "never-served-secret"}],
        "sync_jobs": [pull_job()] if jobs is None else jobs,
    }
    server.update(changes)
    return server


def sync_scenario(*extra_servers: dict[str, Any], pbs1: dict[str, Any] | None = None) -> Any:
    data = scenario()
    first = data["pbs_servers"][0]
    first["token"]["acl"] = copy.deepcopy(AUDIT_AND_REMOTE)
    first.update(pbs1 or {})
    data["pbs_servers"] = [first, *(extra_servers or (pbs2(),))]
    return data

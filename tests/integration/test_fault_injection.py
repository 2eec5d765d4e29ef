"""Fault injection: every endpoint family the tool reads × every fault kind (issue 11).

One fault at a time, on the PVE or the PBS simulator, in a full report run (`faultlib.run`).
For each case the suite asserts:

- the failure is *named*: an anomaly whose details name the endpoint (and the HTTP status, the
  transport failure, or `unexpected_response` for an unusable answer);
- a transient fault (one connection reset) is retried and leaves no trace at all;
- the exit status is 3 (UNKNOWN) exactly when the guest list or the job list is unknown;
- guests the fault does not touch keep every verdict of the fault-free run, and the touched
  ones get no *wrong* verdict: only the baseline's or an explicit "unknown" (coverage
  `indeterminate`, no PBS snapshot known instead of a PBS finding, …);
- the history database and the task-log cache hold nothing a fault-free run would not write,
  and a fault-free run right after, on the same database, gives the baseline's verdicts.

`FAMILIES` is also the source of the table in docs/*/troubleshooting.md (checked by
`test_troubleshooting_table_matches_the_suite`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import trustme

from pve_backup_report.collect.log_cache import decode_log
from pve_backup_report.simulator.faults import Fault
from pve_backup_report.simulator.scenario import load_scenario
from pve_backup_report.simulator.server import SimulatorServer

from .faultlib import Outcome, Sims, run
from .scenario_faults import EXPECTED_VERDICTS, scenario

ALL = frozenset(EXPECTED_VERDICTS)
PBS_GUESTS = frozenset({100, 101, 102, 103})


@dataclass(frozen=True)
class Family:
    """One endpoint family: where the fault goes and what the report must say."""

    name: str
    server: str  # "pve" or "pbs"
    route: str  # regular expression on the API path (see simulator.faults)
    endpoint: str  # the endpoint the anomaly must name
    touched: frozenset[int]  # guests whose verdicts may lose information
    code: str  # the anomaly code of an HTTP or transport failure
    unknown: bool = False  # the guest or job list: verdicts unknown, exit 3
    kinds: tuple[str, ...] = field(default=())  # fault kinds that do not apply (skipped)


FAMILIES: tuple[Family, ...] = (
    Family("PVE version", "pve", r"^/version$", "/version", frozenset(), "version_unavailable"),
    Family(
        "cluster status (name)",
        "pve",
        r"^/cluster/status$",
        "/cluster/status",
        frozenset(),
        "cluster_status_unavailable",
    ),
    Family("node list", "pve", r"^/nodes$", "/nodes", ALL, "nodes_unavailable"),
    Family("storage list", "pve", r"^/storage$", "/storage", ALL, "storage_unavailable"),
    Family(
        "guest list",
        "pve",
        r"^/cluster/resources$",
        "/cluster/resources",
        ALL,
        "guests_unavailable",
        unknown=True,
    ),
    # 104 (excluded from the daily job) may be a member of pool prod: indeterminate is right
    Family("pools", "pve", r"^/pools$", "/pools", frozenset({103, 104}), "pools_unavailable"),
    Family(
        "backup jobs",
        "pve",
        r"^/cluster/backup$",
        "/cluster/backup",
        ALL,
        "jobs_unavailable",
        unknown=True,
    ),
    Family(
        "not-backed-up list",
        "pve",
        r"^/cluster/backup-info/not-backed-up$",
        "/cluster/backup-info/not-backed-up",
        frozenset(),
        "pve_not_backed_up_unavailable",
    ),
    Family(
        "guest configuration",
        "pve",
        r"^/nodes/pve1/qemu/100/config$",
        "/nodes/pve1/qemu/100/config",
        frozenset({100}),
        "guest_config_unavailable",
    ),
    Family(
        "node task list",
        "pve",
        r"^/nodes/pve1/tasks$",
        "/nodes/pve1/tasks",
        frozenset({100, 101}),
        "task_history_unavailable",
    ),
    Family(
        "cluster task list",
        "pve",
        r"^/cluster/tasks$",
        "/cluster/tasks",
        frozenset(),
        "cluster_tasks_unavailable",
    ),
    Family(
        "node time zone",
        "pve",
        r"^/nodes/pve1/time$",
        "/nodes/pve1/time",
        frozenset({100, 101}),
        "node_time_unavailable",
    ),
    Family(
        "task log",
        "pve",
        r"^/nodes/pve2/tasks/[^/]+/log$",
        "/nodes/pve2/tasks/{upid}/log",
        frozenset({102, 103}),
        "task_log_unavailable",
    ),
    Family("PBS version", "pbs", r"^/version$", "/version", PBS_GUESTS, "pbs_request_failed"),
    Family(
        "PBS datastores",
        "pbs",
        r"^/admin/datastore$",
        "/admin/datastore",
        PBS_GUESTS,
        "pbs_request_failed",
    ),
    Family(
        "PBS datastore configuration",
        "pbs",
        r"^/config/datastore$",
        "/config/datastore",
        frozenset(),
        "pbs_request_failed",
    ),
    Family(
        "PBS datastore usage",
        "pbs",
        r"^/status/datastore-usage$",
        "/status/datastore-usage",
        frozenset(),
        "pbs_request_failed",
    ),
    Family(
        "PBS prune jobs",
        "pbs",
        r"^/admin/prune$",
        "/admin/prune",
        frozenset(),
        "pbs_request_failed",
    ),
    Family(
        "PBS verification jobs",
        "pbs",
        r"^/admin/verify$",
        "/admin/verify",
        frozenset(),
        "pbs_request_failed",
    ),
    Family(
        "PBS permissions",
        "pbs",
        r"^/access/permissions$",
        "/access/permissions",
        frozenset(),
        "pbs_request_failed",
    ),
    Family(
        "PBS garbage collection",
        "pbs",
        r"^/admin/datastore/store1/gc$",
        "/admin/datastore/store1/gc",
        frozenset(),
        "pbs_request_failed",
    ),
    Family(
        "PBS namespaces",
        "pbs",
        r"^/admin/datastore/store1/namespace$",
        "/admin/datastore/store1/namespace",
        frozenset(),
        "pbs_request_failed",
    ),
    Family(
        "PBS backup groups",
        "pbs",
        r"^/admin/datastore/store1/groups$",
        "/admin/datastore/store1/groups",
        PBS_GUESTS,
        "pbs_request_failed",
    ),
    Family(
        "PBS snapshots",
        "pbs",
        r"^/admin/datastore/store1/snapshots$",
        "/admin/datastore/store1/snapshots",
        PBS_GUESTS,
        "pbs_request_failed",
    ),
)

# fault kind -> (Fault fields, what the anomaly's details must contain)
KINDS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "http_401": (
        {"kind": "http", "status": 401, "message": "Authentication failed!"},
        {"status": 401},
    ),
    "http_403": (
        {"kind": "http", "status": 403, "message": "Permission check failed (/, Sys.Audit)"},
        {"status": 403},
    ),
    "http_500": ({"kind": "http", "status": 500, "message": "simulated failure"}, {"status": 500}),
    "http_595": ({"kind": "offline"}, {"status": 595}),
    "hang": ({"kind": "timeout", "latency_ms": 3000}, {"transport": "timeout"}),
    "reset": ({"kind": "reset"}, {"transport": "connection_reset"}),
    "invalid_json": ({"kind": "invalid_json"}, {"error": "invalid_json"}),
    "missing_data": ({"kind": "missing_data"}, {"error": "missing_data"}),
    "wrong_type": ({"kind": "wrong_type"}, {"error": "wrong_type"}),
    "truncated": ({"kind": "truncated"}, {"transport": "protocol_error"}),
}
UNUSABLE = {"invalid_json", "missing_data", "wrong_type"}
# families whose failure changes what the task-log cache is given: a fault-free run follows on
# the same database and must give the baseline's verdicts (issue 11 item 4)
FEEDS_CACHE = {"node list", "node task list", "cluster task list", "node time zone", "task log"}


def _ca_files(folder: Path) -> tuple[Path, Path, Path]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    paths = folder / "cert.pem", folder / "key.pem", folder / "ca.pem"
    cert.cert_chain_pems[0].write_to_path(str(paths[0]))
    cert.private_key_pem.write_to_path(str(paths[1]))
    ca.cert_pem.write_to_path(str(paths[2]))
    return paths


@pytest.fixture(scope="module")
def sims(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sims]:
    cert, key, ca_path = _ca_files(tmp_path_factory.mktemp("tls"))
    data = load_scenario(scenario())
    pve = SimulatorServer(data, port=0, certfile=cert, keyfile=key).start()
    pbs = SimulatorServer.for_pbs(data, port=0, certfile=cert, keyfile=key).start()
    yield Sims(pve, pbs, ca_path)
    pve.stop()
    pbs.stop()


@pytest.fixture(scope="module")
def baseline(sims: Sims, tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    folder = tmp_path_factory.mktemp("baseline")
    with pytest.MonkeyPatch.context() as mp:
        return run(sims, folder / "history.sqlite3", folder / "out", mp)


def test_fault_free_baseline(baseline: Outcome) -> None:
    """Worked out by hand in scenario_faults: four covered guests, fresh, one snapshot each on
    pbs1; 104 excluded. Warnings only (exclusion, unverified snapshots, no prune job …)."""
    assert baseline.code == 1
    assert {v: t[0] for v, t in baseline.verdicts().items()} == EXPECTED_VERDICTS
    for vmid in PBS_GUESTS:
        _, result, _, success, freshness, snapshot, _ = baseline.verdicts()[vmid]
        assert (result, freshness) == ("success", "fresh")
        assert success is not None and snapshot is not None
    assert baseline.runs == 1 and len(baseline.cache) == 2  # the two task logs


CASES = [
    pytest.param(family, kind, id=f"{family.server}-{family.name}-{kind}".replace(" ", "_"))
    for family in FAMILIES
    for kind in KINDS
    if kind not in family.kinds
]


def _named(outcome: Outcome, family: Family) -> list[dict[str, Any]]:
    """Anomalies naming the family's endpoint (a task log: any UPID on that node)."""
    prefix, _, suffix = family.endpoint.partition("{upid}")

    def names(endpoint: Any) -> bool:
        if not isinstance(endpoint, str):
            return False
        if suffix:
            return endpoint.startswith(prefix) and endpoint.endswith(suffix)
        return endpoint == family.endpoint

    return [a for a in outcome.anomalies if names(a["details"].get("endpoint"))]


def _inject(sims: Sims, family: Family, fields: dict[str, Any]) -> Any:
    fault = Fault(route=family.route, **fields)
    return sims.faults(*(([fault], []) if family.server == "pve" else ([], [fault])))


@pytest.mark.parametrize(("family", "kind"), CASES)
def test_fault(
    family: Family,
    kind: str,
    sims: Sims,
    baseline: Outcome,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fields, expected = KINDS[kind]
    db = tmp_path / "history.sqlite3"
    with _inject(sims, family, fields):
        outcome = run(sims, db, tmp_path / "out", monkeypatch)

    # named: one anomaly at least names the endpoint and the failure
    named = _named(outcome, family)
    assert named, [(a["code"], a["details"].get("endpoint")) for a in outcome.anomalies]
    details = [{k: a["details"].get(k) for k in expected} for a in named]
    assert expected in details, details
    codes = {a["code"] for a in named}
    if kind in UNUSABLE:
        assert "unexpected_response" in codes
    assert "Traceback" not in outcome.err

    # exit 3 exactly when the guest or job list is unknown
    if family.unknown:
        assert outcome.code == 3
        assert outcome.runs == 0  # verdicts unknown: nothing recorded in the history
    else:
        assert outcome.code in (1, 2)

    # no wrong verdict: untouched guests keep theirs, touched ones at most lose information
    before, after = baseline.verdicts(), outcome.verdicts()
    if not family.unknown or family.name == "backup jobs":
        assert set(after) == set(before)
    for vmid, now in after.items():
        if vmid not in family.touched:
            assert now == before[vmid], (vmid, now, before[vmid])
        else:
            assert_no_wrong_verdict(before[vmid], now)

    # the history and the cache hold nothing a fault-free run would not write
    for upid, payload in outcome.cache.items():
        assert_same_or_other_key(baseline.cache[upid], payload)
    if outcome.cache != baseline.cache or family.name in FEEDS_CACHE:
        again = run(sims, db, tmp_path / "out", monkeypatch)
        assert again.verdicts() == before
        assert again.code == baseline.code


@pytest.mark.parametrize(
    "family", [pytest.param(f, id=f"{f.server}-{f.name}".replace(" ", "_")) for f in FAMILIES]
)
def test_single_connection_reset_is_retried(
    family: Family, sims: Sims, baseline: Outcome, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 11 item 3: GET is idempotent; one reset is retried and leaves no trace."""
    with _inject(sims, family, {"kind": "reset", "times": 1}):
        outcome = run(sims, tmp_path / "history.sqlite3", tmp_path / "out", monkeypatch)
        server = sims.pve if family.server == "pve" else sims.pbs
        assert any(re.search(family.route, path) for _, path, _ in server.requests)
    assert _named(outcome, family) == []
    assert outcome.verdicts() == baseline.verdicts()
    assert outcome.code == baseline.code
    assert outcome.cache == baseline.cache


def assert_no_wrong_verdict(before: tuple[Any, ...], now: tuple[Any, ...]) -> None:
    """Each field is the baseline's or "unknown"; never a worse verdict than the truth. A time
    may be coarser (the task's start instead of the guest's) but never later: older evidence
    can only make a guest look staler, never fresher."""
    coverage, result, started, success, freshness, snapshot, _attention = now
    assert coverage in (before[0], "indeterminate")
    assert result in (before[1], None, "undetermined")
    for time, was in ((started, before[2]), (success, before[3])):
        assert time is None or (was is not None and was - timedelta(hours=1) <= time <= was)
    assert freshness in (before[4], None, "unknown")
    assert snapshot in (before[5], None)


def assert_same_or_other_key(baseline: str, payload: str) -> None:
    """A cached parse is the baseline's, or one stored under other inputs (e.g. no node time
    zone known), which a run with the baseline's inputs never uses."""
    if payload == baseline:
        return
    ours, theirs = decode_log(payload), decode_log(baseline)
    assert ours is not None and theirs is not None
    assert (ours.timezone, ours.status, ours.lines) != (
        theirs.timezone,
        theirs.status,
        theirs.lines,
    )

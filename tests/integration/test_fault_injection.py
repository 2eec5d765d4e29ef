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
from dataclasses import dataclass
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
    touched: frozenset[int]  # guests whose verdicts may lose information (worst case)
    code: str  # the anomaly code of an HTTP or transport failure
    severity: str  # ... and its severity (also that of `unexpected_response`)
    unknown: bool = False  # the guest or job list: verdicts unknown, exit 3
    # (fault kinds, code, severity) where another code applies (e.g. 403 on PBS)
    special: tuple[tuple[frozenset[str], str, str], ...] = ()

    def expected(self, kind: str) -> tuple[str, str]:
        """The anomaly code and severity a fault of ``kind`` must produce."""
        if kind in UNUSABLE:
            return "unexpected_response", self.severity
        for kinds, code, severity in self.special:
            if kind in kinds:
                return code, severity
        return self.code, self.severity

    def codes(self) -> set[tuple[str, str]]:
        """Every (code, severity) of an HTTP or transport failure of this family."""
        return {self.expected(k) for k in KINDS if k not in UNUSABLE}


NONE: frozenset[int] = frozenset()
PBS_403 = ((frozenset({"http_403"}), "pbs_permission_denied", "warning"),)
SYNC = ("pbs_sync_unreadable", "warning")


def pbs(name: str, endpoint: str, touched: frozenset[int] = NONE) -> Family:
    route = "^" + re.escape(endpoint.replace("{store}", "store1")) + "$"
    return Family(
        name, "pbs", route, endpoint, touched, "pbs_request_failed", "warning", special=PBS_403
    )


FAMILIES: tuple[Family, ...] = (
    Family("PVE version", "pve", r"^/version$", "/version", NONE, "version_unavailable", "warning"),
    Family(
        "cluster name",
        "pve",
        r"^/cluster/status$",
        "/cluster/status",
        NONE,
        "cluster_status_unavailable",
        "warning",
    ),
    Family("node list", "pve", r"^/nodes$", "/nodes", NONE, "nodes_unavailable", "critical"),
    Family(
        "storage list",
        "pve",
        r"^/storage$",
        "/storage",
        frozenset({100, 101, 102, 103}),  # their jobs' targets are unknown: indeterminate
        "storage_unavailable",
        "critical",
    ),
    Family(
        "guest list",
        "pve",
        r"^/cluster/resources$",
        "/cluster/resources",
        ALL,
        "guests_unavailable",
        "critical",
        unknown=True,
    ),
    Family(
        "pools",
        "pve",
        r"^/pools$",  # the pool list and the members of pool prod (`/pools?poolid=prod`)
        "/pools",
        frozenset({104}),  # excluded from the daily job, maybe in pool prod: indeterminate
        "pools_unavailable",
        "warning",
    ),
    Family(
        "backup jobs",
        "pve",
        r"^/cluster/backup$",
        "/cluster/backup",
        ALL,
        "jobs_unavailable",
        "critical",
        unknown=True,
    ),
    Family(
        "not-backed-up list",
        "pve",
        r"^/cluster/backup-info/not-backed-up$",
        "/cluster/backup-info/not-backed-up",
        NONE,
        "pve_not_backed_up_unavailable",
        "info",
    ),
    Family(
        "guest configuration",
        "pve",
        r"^/nodes/pve1/qemu/100/config$",
        "/nodes/{node}/{type}/{vmid}/config",
        NONE,  # notes and disks unknown; the verdicts do not depend on them here
        "guest_config_unavailable",
        "warning",
    ),
    Family(
        "node task list",
        "pve",
        r"^/nodes/pve1/tasks$",
        "/nodes/{node}/tasks",
        NONE,  # /cluster/tasks still lists the node's recent tasks
        "task_history_unavailable",
        "warning",
    ),
    Family(
        "cluster task list",
        "pve",
        r"^/cluster/tasks$",
        "/cluster/tasks",
        NONE,
        "cluster_tasks_unavailable",
        "info",
    ),
    Family(
        "node time zone",
        "pve",
        r"^/nodes/pve1/time$",
        "/nodes/{node}/time",
        NONE,  # times fall back to the PBS archive's UTC name: the same instants
        "node_time_unavailable",
        "info",
    ),
    Family(
        "task log",
        "pve",
        r"^/nodes/pve2/tasks/[^/]+/log$",
        "/nodes/{node}/tasks/{upid}/log",
        frozenset({102, 103}),  # times: the task's start instead of each guest's
        "task_log_unavailable",
        "warning",
    ),
    Family(
        "PBS version",
        "pbs",
        r"^/version$",
        "/version",
        frozenset({100, 101, 102, 103}),  # 401 or no answer: the server is not read
        "pbs_request_failed",
        "warning",
        special=(
            (frozenset({"http_401"}), "pbs_authentication_failed", "critical"),
            (frozenset({"hang", "reset", "truncated"}), "pbs_unreachable", "critical"),
        ),
    ),
    pbs("PBS datastores", "/admin/datastore", frozenset({100, 101, 102, 103})),
    pbs("PBS datastore configuration", "/config/datastore"),
    pbs("PBS datastore usage", "/status/datastore-usage"),
    pbs("PBS prune jobs", "/admin/prune"),
    pbs("PBS verification jobs", "/admin/verify"),
    pbs("PBS permissions", "/access/permissions"),
    pbs("PBS garbage collection", "/admin/datastore/{store}/gc"),
    pbs("PBS namespaces", "/admin/datastore/{store}/namespace"),
    pbs("PBS backup groups", "/admin/datastore/{store}/groups"),
    pbs("PBS snapshots", "/admin/datastore/{store}/snapshots", frozenset({100, 101, 102, 103})),
    # sync jobs and remotes: off-site copies become unknown (never "single copy"); the coverage
    # and evidence verdicts this suite compares are untouched
    Family("PBS sync jobs", "pbs", r"^/admin/sync$", "/admin/sync", NONE, *SYNC),
    Family("PBS remotes", "pbs", r"^/config/remote$", "/config/remote", NONE, *SYNC),
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
    assert set(baseline.configs) == set(EXPECTED_VERDICTS)  # five guest configurations


CASES = [
    pytest.param(family, kind, id=f"{family.server}-{family.name}-{kind}".replace(" ", "_"))
    for family in FAMILIES
    for kind in KINDS
]


def _named(outcome: Outcome, family: Family) -> list[dict[str, Any]]:
    """Anomalies naming the family's endpoint (``{node}``, ``{upid}``: any value)."""
    parts = re.split(r"(\{\w+\})", family.endpoint)
    pattern = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
    return [
        a
        for a in outcome.anomalies
        if isinstance(a["details"].get("endpoint"), str)
        and re.fullmatch(pattern, a["details"]["endpoint"])
    ]


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
    code, severity = family.expected(kind)
    assert (code, severity) in {(a["code"], a["severity"]) for a in named}
    if family.server == "pbs":  # a backup-server anomaly names the server (and datastore)
        assert {a["details"].get("server") for a in named} == {"pbs1"}
        if "{store}" in family.endpoint:
            assert {a["details"].get("datastore") for a in named} == {"store1"}
    assert "Traceback" not in outcome.err

    if family.name == "PBS verification jobs":  # unknown verify jobs are not "no verify job"
        said = [a["message"] for a in outcome.anomalies if a["code"] == "pbs_not_verified"]
        assert said and not [m for m in said if "no verification job" in m]
    if family.name == "PBS prune jobs":  # unknown prune jobs are not "no prune job"
        assert "pbs_no_retention" in {a["code"] for a in baseline.anomalies}
        assert "pbs_no_retention" not in {a["code"] for a in outcome.anomalies}

    # exit 3 exactly when the guest or job list is unknown; else the baseline's warnings (1),
    # or 2 when the failure itself is critical
    if family.unknown:
        assert outcome.code == 3
        assert outcome.runs == 0  # verdicts unknown: nothing recorded in the history
    else:
        assert outcome.code == (2 if severity == "critical" else baseline.code)
        assert outcome.runs == 1

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
    for vmid, payload in outcome.configs.items():  # guest configurations: only what was read
        assert baseline.configs[vmid] == payload
    if family.name == "guest configuration":
        assert 100 not in outcome.configs and len(outcome.configs) == len(baseline.configs) - 1
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


SEVERITY_WORDS = {
    "en": {"critical": "critical", "warning": "warning", "info": "info"},
    "fr": {"critique": "critical", "avertissement": "warning", "info": "info"},
}
YES = {"en": ("yes", "no"), "fr": ("oui", "non")}
DOCS = Path(__file__).resolve().parents[2] / "docs"


def doc_rows(lang: str) -> list[tuple[str, str, set[str], set[str], bool]]:
    """(server, endpoint, codes, severities, exit 3) of each row of the fault table."""
    text = (DOCS / lang / "troubleshooting.md").read_text(encoding="utf-8")
    table = text.split("<!-- fault-table")[1].split("<!-- /fault-table -->")[0]
    rows = []
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 5 or not cells[0].startswith(("PVE `", "PBS `")):
            continue
        server, endpoint = cells[0].split(" ", 1)
        codes = set(re.findall(r"`([a-z_]+)`", cells[1]))
        severities = {SEVERITY_WORDS[lang][w.strip()] for w in cells[2].split(",")}
        assert cells[3] in YES[lang], cells[3]
        rows.append(
            (server.lower(), endpoint.strip("`"), codes, severities, cells[3] == YES[lang][0])
        )
    return rows


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_troubleshooting_table_matches_the_suite(lang: str) -> None:
    """docs/*/troubleshooting.md says, per endpoint, what this suite asserts: the anomaly codes
    and severities of a failure (an unusable answer: `unexpected_response`, same severity),
    and whether the verdicts become unknown (exit 3)."""
    expected = [
        (
            f.server,
            f.endpoint,
            {code for code, _ in f.codes()},
            {severity for _, severity in f.codes()},
            f.unknown,
        )
        for f in FAMILIES
    ]
    assert doc_rows(lang) == expected

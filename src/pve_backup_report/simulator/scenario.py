"""Scenario models: the whole simulated cluster as one validated JSON document.

Why: tests and the demo describe a cluster declaratively (nodes, guests, jobs, tasks, ACL,
faults). Pydantic rejects unknown keys so that a typo in a scenario fails loudly instead of
silently simulating something else. Raw PVE objects (storage.cfg entries, jobs, guest configs)
stay free-form dicts because the simulator returns them exactly as written.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pve_backup_report.simulator.faults import Fault
from pve_backup_report.simulator.pbs_scenario import PbsServer
from pve_backup_report.simulator.permissions import ROLES

UPID_RE = re.compile(
    r"^UPID:([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):"
    r"([0-9A-Fa-f]{8}):([^:\s/]+):([^:\s/]*):([^:\s/]+):$"
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClusterInfo(_Strict):
    """Cluster-wide facts. ``api_level`` "8.0" simulates a pre-8.1 ``/pools`` (no parameters)."""

    name: str = "demo"
    # a single node that never joined a cluster: /cluster/status has no `type: cluster` entry
    standalone: bool = False
    version: str = "9.2.11"
    repoid: str = "14a22df3a1b2c3d4"
    api_level: str | None = None
    console: str | None = None


class AclEntry(_Strict):
    """One ACL entry of the token (privileges and/or built-in roles)."""

    path: str = "/"
    privs: list[str] = Field(default_factory=list)
    roles: list[str] = Field(default_factory=list)
    propagate: bool = True

    @field_validator("roles")
    @classmethod
    def _known_roles(cls, value: list[str]) -> list[str]:
        for role in value:
            if role not in ROLES:
                raise ValueError(f"unknown role {role!r} (known: {', '.join(sorted(ROLES))})")
        return value


class Token(_Strict):
    """The API token clients must present; ``root`` bypasses every check (root@pam, no privsep)."""

    id: str = "report@pve!audit"
    secret: str = "00000000-0000-0000-0000-000000000000"  # noqa: S105 - simulated
    root: bool = False
    acl: list[AclEntry] = Field(
        default_factory=lambda: [AclEntry(path="/", roles=["PVEAuditor"], propagate=True)]
    )

    @field_validator("id")
    @classmethod
    def _token_id(cls, value: str) -> str:
        if not re.fullmatch(r"[^@!\s]+@[^@!\s]+![A-Za-z][A-Za-z0-9._-]*", value):
            raise ValueError("token id must look like user@realm!name")
        return value

    @property
    def userid(self) -> str:
        """The ``user@realm`` part."""
        return self.id.split("!", 1)[0]

    @property
    def tokenname(self) -> str:
        """The part after ``!``."""
        return self.id.split("!", 1)[1]


class Node(_Strict):
    """A cluster member. ``offline`` makes every route proxied to it answer 595."""

    node: str
    status: Literal["online", "offline", "unknown"] = "online"
    timezone: str = "UTC"
    ssl_fingerprint: str = ""
    level: str = ""
    maxcpu: int = 32
    maxmem: int = 135089254400
    maxdisk: int = 100861726720

    @field_validator("node")
    @classmethod
    def _node_name(cls, value: str) -> str:
        if not re.fullmatch(r"[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?", value):
            raise ValueError(f"invalid node name {value!r}")
        return value


class Pool(_Strict):
    """A resource pool; ``members`` are vmids, ``storage`` storage ids (``parent`` informative)."""

    poolid: str
    comment: str | None = None
    members: list[int] = Field(default_factory=list)
    storage: list[str] = Field(default_factory=list)
    parent: str | None = None


class Guest(_Strict):
    """A VM or container. ``config`` is returned by the config endpoint (after small fix-ups)."""

    vmid: int = Field(ge=100, le=999999999)
    type: Literal["qemu", "lxc"]
    node: str
    status: Literal["running", "stopped"] = "running"
    name: str | None = None
    template: int = Field(default=0, ge=0, le=1)
    tags: str | None = None
    lock: str | None = None
    hastate: str | None = None
    rrd: bool = True
    config: dict[str, Any] = Field(default_factory=dict)

    @property
    def display_name(self) -> str | None:
        """Name as resources show it: explicit name, else config name/hostname."""
        if self.name is not None:
            return self.name
        key = "name" if self.type == "qemu" else "hostname"
        value = self.config.get(key)
        return str(value) if value is not None else None


SynthOutcome = Literal["ok", "warn", "fail", "missing", "locked", "running"]


class SynthGuest(_Strict):
    """One guest of a synthesised vzdump task: outcome and duration in seconds."""

    vmid: int
    outcome: SynthOutcome = "ok"
    duration: int = Field(default=12, ge=0)


class SynthLog(_Strict):
    """Compact recipe from which a realistic vzdump log is rendered on demand.

    ``job`` names the backup job whose options make the header line (and whose selection gives
    the ``skip external VMs`` line); ``error`` makes a job-level failure before any guest.
    """

    job: str | None = None
    guests: list[SynthGuest] = Field(default_factory=list)
    error: str | None = None
    lock_wait: int = Field(default=0, ge=0)
    seed: int = 0

    @field_validator("guests", mode="before")
    @classmethod
    def _compact(cls, value: Any) -> Any:
        # accept [[vmid, outcome, duration], ...] to keep generated scenarios small
        if isinstance(value, list):
            out: list[Any] = []
            for item in value:
                if isinstance(item, list | tuple):
                    keys = ("vmid", "outcome", "duration")
                    out.append(dict(zip(keys, item, strict=False)))
                else:
                    out.append(item)
            return out
        return value


class Task(_Strict):
    """A task of a node. ``status`` None means running. Identity fields come from the UPID."""

    upid: str
    status: str | None = "OK"
    endtime: int | None = None
    log: list[str] | None = None
    synth: SynthLog | None = None
    tokenid: str | None = None

    @field_validator("upid")
    @classmethod
    def _upid(cls, value: str) -> str:
        if not UPID_RE.match(value):
            raise ValueError(f"unable to parse worker upid {value!r}")
        return value

    @model_validator(mode="after")
    def _finished_has_endtime(self) -> Task:
        if self.status is not None and self.endtime is None:
            raise ValueError(f"finished task {self.upid} needs an endtime")
        return self

    @property
    def decoded(self) -> dict[str, Any]:
        """Fields PVE decodes from the UPID."""
        return decode_upid(self.upid)

    @property
    def running(self) -> bool:
        """True while the task has no final status."""
        return self.status is None


def decode_upid(upid: str) -> dict[str, Any]:
    """Split a PVE UPID into node/pid/pstart/starttime/type/id/user(/tokenid); ``ValueError``."""
    match = UPID_RE.match(upid)
    if not match:
        raise ValueError("unable to parse worker upid")
    user = match.group(8)
    result: dict[str, Any] = {
        "upid": upid,
        "node": match.group(1),
        "pid": int(match.group(3), 16),
        "pstart": int(match.group(4), 16),
        "starttime": int(match.group(5), 16),
        "type": match.group(6),
        "id": match.group(7),
        "user": user,
    }
    if "!" in user:
        result["user"], result["tokenid"] = user.split("!", 1)
    return result


class Scenario(_Strict):
    """The whole simulated cluster (see docs/en/simulator.md)."""

    now: int | None = None
    cluster: ClusterInfo = Field(default_factory=ClusterInfo)
    auth_failure_delay_s: float = Field(default=3.0, ge=0)
    token: Token = Field(default_factory=Token)
    nodes: list[Node] = Field(min_length=1)
    storages: list[dict[str, Any]] = Field(default_factory=list)
    pools: list[Pool] = Field(default_factory=list)
    guests: list[Guest] = Field(default_factory=list)
    legacy_jobs: list[dict[str, Any]] = Field(default_factory=list)
    jobs: list[dict[str, Any]] = Field(default_factory=list)
    tasks: list[Task] = Field(default_factory=list)
    storage_content: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    faults: list[Fault] = Field(default_factory=list)
    pbs_servers: list[PbsServer] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistency(self) -> Scenario:
        node_names = {node.node for node in self.nodes}
        if len(node_names) != len(self.nodes):
            raise ValueError("duplicate node name")
        vmids: set[int] = set()
        for guest in self.guests:
            if guest.vmid in vmids:
                raise ValueError(f"duplicate vmid {guest.vmid}")
            vmids.add(guest.vmid)
            if guest.node not in node_names:
                raise ValueError(f"guest {guest.vmid} on unknown node {guest.node!r}")
        for storage in self.storages:
            if not isinstance(storage.get("storage"), str) or not isinstance(
                storage.get("type"), str
            ):
                raise ValueError("every storage needs string 'storage' and 'type'")
        pool_ids = [pool.poolid for pool in self.pools]
        if len(set(pool_ids)) != len(pool_ids):
            raise ValueError("duplicate poolid")
        seen: dict[int, str] = {}
        for pool in self.pools:
            for member in pool.members:
                if member in seen:
                    raise ValueError(
                        f"vmid {member} is in pools {seen[member]!r} and {pool.poolid!r}"
                    )
                seen[member] = pool.poolid
        job_ids = [str(job.get("id", "")) for job in self.jobs]
        if any(not job_id for job_id in job_ids) or len(set(job_ids)) != len(job_ids):
            raise ValueError("every job needs a unique 'id'")
        upids = [task.upid for task in self.tasks]
        if len(set(upids)) != len(upids):
            raise ValueError("duplicate task upid")
        for task in self.tasks:
            if decode_upid(task.upid)["node"] not in node_names:
                raise ValueError(f"task {task.upid} on unknown node")
        pbs_names = [server.name for server in self.pbs_servers]
        if len(set(pbs_names)) != len(pbs_names):
            raise ValueError("duplicate PBS server name")
        return self


def load_scenario(source: str | Path | dict[str, Any]) -> Scenario:
    """Validate a scenario given as a path to a JSON file or as an already-parsed dict."""
    if isinstance(source, dict):
        return Scenario.model_validate(source)
    with Path(source).open(encoding="utf-8") as handle:
        data = json.load(handle)
    return Scenario.model_validate(data)


class PoolMissingError(Exception):
    """A job references a pool that does not exist (PVE dies with ``pool 'x' does not exist``)."""

    def __init__(self, poolid: str) -> None:
        super().__init__(f"pool '{poolid}' does not exist")
        self.poolid = poolid


class StrangeVmidError(Exception):
    """A job's vmid list holds something that is not a number."""


_SPLIT_RE = re.compile(r"[,;\s\x00]+")


def split_list(value: object) -> list[str]:
    """PVE ``split_list``: comma, semicolon, whitespace or NUL separated, empties dropped."""
    if value is None:
        return []
    return [item for item in _SPLIT_RE.split(str(value)) if item]


def select_guests(
    job: dict[str, Any], guests: dict[int, Guest], pools: dict[str, Pool]
) -> dict[str, list[int]]:
    """Which guests a vzdump job selects, per node (``""`` = ids that do not exist).

    Follows pve-api.md §2: pool, then vmid, then all (minus exclude); ids numerically sorted;
    a guest not on the job's ``node`` is skipped silently; orphans kept regardless of ``node``.
    """
    raw: list[str]
    if job.get("pool"):
        poolid = str(job["pool"])
        pool = pools.get(poolid)
        if pool is None:
            raise PoolMissingError(poolid)
        raw = [str(member) for member in pool.members if member in guests]
    elif job.get("vmid") not in (None, ""):
        raw = split_list(job["vmid"])
    elif str(job.get("all", "")) == "1":
        excluded = set(split_list(job.get("exclude")))
        raw = [str(vmid) for vmid in guests if str(vmid) not in excluded]
    else:
        return {}
    ids: set[int] = set()
    for item in raw:
        if not item.isdigit():
            raise StrangeVmidError(f"ERROR: strange VM ID '{item}'")
        number = int(item)
        if number:
            ids.add(number)
    result: dict[str, list[int]] = {}
    only_node = job.get("node")
    for vmid in sorted(ids):
        guest = guests.get(vmid)
        if guest is None:
            result.setdefault("", []).append(vmid)
            continue
        if only_node and only_node != guest.node:
            continue
        result.setdefault(guest.node, []).append(vmid)
    return result

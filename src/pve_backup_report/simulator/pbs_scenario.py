"""Scenario models of the simulated Proxmox Backup Servers (the ``pbs_servers`` key).

Why a separate module: the PBS personality is optional and self-contained; keeping its models
here leaves ``scenario.py`` readable. Like the rest of the scenario, unknown keys are rejected
so a typo fails loudly. Prune and verification jobs stay free-form dicts because PBS returns
them as written (plus computed ``next-run``), exactly like the PVE job entries.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pve_backup_report.simulator.faults import Fault

NS_COMPONENT_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")
MAX_NS_DEPTH = 7

#: PBS built-in roles (pbs-api.md §7.5); remote and tape roles carry no datastore privilege.
PBS_ROLES: dict[str, frozenset[str]] = {
    "NoAccess": frozenset(),
    "Audit": frozenset({"Sys.Audit", "Datastore.Audit"}),
    "DatastoreAdmin": frozenset(
        {
            "Datastore.Audit",
            "Datastore.Modify",
            "Datastore.Read",
            "Datastore.Verify",
            "Datastore.Backup",
            "Datastore.Prune",
        }
    ),
    "DatastoreReader": frozenset({"Datastore.Audit", "Datastore.Verify", "Datastore.Read"}),
    "DatastoreBackup": frozenset({"Datastore.Backup"}),
    "DatastorePowerUser": frozenset({"Datastore.Backup", "Datastore.Prune"}),
    "DatastoreAudit": frozenset({"Datastore.Audit"}),
    "RemoteAudit": frozenset({"Remote.Audit"}),
    "Admin": frozenset(
        {
            "Sys.Audit",
            "Sys.Modify",
            "Sys.PowerManagement",
            "Datastore.Audit",
            "Datastore.Allocate",
            "Datastore.Modify",
            "Datastore.Read",
            "Datastore.Verify",
            "Datastore.Backup",
            "Datastore.Prune",
            "Permissions.Modify",
            "Remote.Audit",
            "Remote.Modify",
            "Remote.Read",
            "Sys.Console",
            "Tape.Audit",
            "Tape.Modify",
            "Tape.Write",
            "Tape.Read",
            "Realm.Allocate",
        }
    ),
}


def check_namespace(value: str) -> str:
    """Validate a namespace path (``""`` is the root); raises ``ValueError``."""
    if value == "":
        return value
    parts = value.split("/")
    if len(parts) > MAX_NS_DEPTH or len(value) > 256:
        raise ValueError(f"namespace {value!r} is deeper than {MAX_NS_DEPTH} levels")
    for part in parts:
        if not NS_COMPONENT_RE.match(part) or len(part) > 32:
            raise ValueError(f"invalid namespace component {part!r}")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PbsAclEntry(_Strict):
    """One entry of the token's *effective* ACL (token ∩ user already applied)."""

    path: str = "/"
    roles: list[str] = Field(default_factory=list)
    privs: list[str] = Field(default_factory=list)
    propagate: bool = True

    @field_validator("roles")
    @classmethod
    def _known_roles(cls, value: list[str]) -> list[str]:
        for role in value:
            if role not in PBS_ROLES:
                raise ValueError(f"unknown PBS role {role!r} (known: {', '.join(PBS_ROLES)})")
        return value


class PbsToken(_Strict):
    """The token clients present as ``PBSAPIToken=<id>:<secret>``."""

    id: str = "report@pbs!audit"
    secret: str = "11111111-0000-0000-0000-000000000000"  # noqa: S105 - simulated
    acl: list[PbsAclEntry] = Field(
        default_factory=lambda: [PbsAclEntry(path="/", roles=["Audit"], propagate=True)]
    )

    @field_validator("id")
    @classmethod
    def _token_id(cls, value: str) -> str:
        if not re.fullmatch(r"[^@!\s:]+@[^@!\s:]+![A-Za-z][A-Za-z0-9._-]*", value):
            raise ValueError("PBS token id must look like user@realm!name")
        return value


CryptMode = Literal["none", "encrypt", "sign-only"]


class PbsSnapshotSpec(_Strict):
    """A snapshot declared by the scenario (in addition to those derived from PVE tasks)."""

    ns: str = ""
    type: Literal["vm", "ct", "host"]
    id: str
    time: int = Field(ge=0)
    size: int | None = Field(default=None, ge=0)
    comment: str | None = None
    owner: str | None = None  # default: the datastore's default_owner
    verify: Literal["ok", "failed"] | None = None
    verified_at: int | None = None  # default: backup time + 1 h when ``verify`` is set
    crypt: CryptMode = "none"
    protected: bool = False
    unfinished: bool = False

    @field_validator("ns")
    @classmethod
    def _ns(cls, value: str) -> str:
        return check_namespace(value)


class PbsSnapshotSelector(_Strict):
    """Selects snapshots of one group: ``time`` is an epoch, ``"latest"``, ``"oldest"`` or
    ``"all"``."""

    ns: str = ""
    type: Literal["vm", "ct", "host"]
    id: str
    time: int | Literal["latest", "oldest", "all"] = "latest"


class PbsSnapshotPatch(PbsSnapshotSelector):
    """Changes fields of selected (derived or declared) snapshots."""

    comment: str | None = None
    owner: str | None = None
    verify: Literal["ok", "failed", "none"] | None = None
    verified_at: int | None = None
    crypt: CryptMode | None = None
    protected: bool | None = None


class PbsGc(_Strict):
    """The last garbage collection of a datastore (omit the object: GC never ran)."""

    last_run_endtime: int | None = None  # None: running now
    state: str = "OK"
    duration: int = Field(default=900, ge=0)
    removed_bytes: int = 9123456789
    pending_bytes: int = 1023411200


class PbsDatastore(_Strict):
    """A datastore: configuration, usage, GC, namespaces and declared content."""

    name: str
    comment: str | None = None
    path: str | None = None
    config: dict[str, Any] = Field(default_factory=dict)  # extra datastore.cfg keys
    maintenance: str | None = None  # e.g. "type=offline,message=disk swap"
    total: int = 3999688294400
    used: int = 1369094373376
    avail: int = 2427683581952
    history: bool = True  # RRD history exists
    estimated_full_date: int | None = None  # None with history: flat usage (PBS says 0)
    gc: PbsGc | None = None
    namespaces: list[str] = Field(default_factory=list)
    default_owner: str = "root@pam"
    derive: bool = True  # add snapshots derived from the PVE task history
    snapshots: list[PbsSnapshotSpec] = Field(default_factory=list)
    removed: list[PbsSnapshotSelector] = Field(default_factory=list)
    patches: list[PbsSnapshotPatch] = Field(default_factory=list)

    @field_validator("namespaces")
    @classmethod
    def _namespaces(cls, value: list[str]) -> list[str]:
        return [check_namespace(ns) for ns in value]


class PbsRemoteSpec(_Strict):
    """A remote (``remote.cfg``): ``/config/remote`` lists it without ``password``."""

    name: str
    host: str
    port: int | None = Field(default=None, ge=1, le=65535)
    fingerprint: str | None = None  # colon-hex SHA-256
    auth_id: str = "sync@pbs"
    password: str = "0b6f9a2c-sync-secret"  # noqa: S105 - simulated, never served
    comment: str | None = None


#: Scenario-only keys of a sync job (never served): ``synced_until`` is the newest backup time
#: the job has copied (default: the last run's end when it succeeded, else nothing copied);
#: ``history`` lists earlier runs ``{endtime, status, duration}`` served as ``syncjob`` tasks.
SYNC_SCENARIO_KEYS = frozenset({"synced_until", "history"})


class PbsServer(_Strict):
    """One simulated Proxmox Backup Server (see docs/en/simulator.md, "PBS personality")."""

    name: str = "pbs01"  # node name in UPIDs
    host: str = "pbs01.example.com"  # what PVE storages write in ``server``
    version: str = "3.2"
    release: str = "4"
    repoid: str = "4940514b0f05d6cd6a5f711edfdd47c1fa41b537"
    token: PbsToken = Field(default_factory=PbsToken)
    datastores: list[PbsDatastore] = Field(default_factory=list)
    prune_jobs: list[dict[str, Any]] = Field(default_factory=list)
    verify_jobs: list[dict[str, Any]] = Field(default_factory=list)
    remotes: list[PbsRemoteSpec] = Field(default_factory=list)
    sync_jobs: list[dict[str, Any]] = Field(default_factory=list)
    faults: list[Fault] = Field(default_factory=list)

    @property
    def supports_push(self) -> bool:
        """Push sync jobs and the ``sync-direction`` parameter exist since PBS 3.3."""
        major, _, minor = self.version.partition(".")
        return (int(major or 0), int(minor or 0)) >= (3, 3)

    @model_validator(mode="after")
    def _consistency(self) -> PbsServer:
        names = [store.name for store in self.datastores]
        if len(set(names)) != len(names):
            raise ValueError(f"PBS {self.name}: duplicate datastore name")
        for kind, jobs in (("prune", self.prune_jobs), ("verify", self.verify_jobs)):
            ids = [str(job.get("id", "")) for job in jobs]
            if any(not i for i in ids) or len(set(ids)) != len(ids):
                raise ValueError(f"PBS {self.name}: every {kind} job needs a unique 'id'")
            for job in jobs:
                if job.get("store") not in names:
                    raise ValueError(f"PBS {self.name}: {kind} job {job['id']} on unknown store")
                check_namespace(str(job.get("ns", "")))
            if kind == "prune" and any(not job.get("schedule") for job in jobs):
                raise ValueError(f"PBS {self.name}: a prune job needs a 'schedule'")
        self._check_sync(names)
        return self

    def _check_sync(self, names: list[str]) -> None:
        remotes = [r.name for r in self.remotes]
        if len(set(remotes)) != len(remotes):
            raise ValueError(f"PBS {self.name}: duplicate remote name")
        ids = [str(job.get("id", "")) for job in self.sync_jobs]
        if any(not i for i in ids) or len(set(ids)) != len(ids):
            raise ValueError(f"PBS {self.name}: every sync job needs a unique 'id'")
        for job in self.sync_jobs:
            where = f"PBS {self.name}: sync job {job['id']}"
            if job.get("store") not in names or not job.get("remote-store"):
                raise ValueError(f"{where} needs a known 'store' and a 'remote-store'")
            direction = job.get("sync-direction", "pull")
            if direction not in ("pull", "push"):
                raise ValueError(f"{where}: sync-direction must be pull or push")
            if direction == "push" and not self.supports_push:
                raise ValueError(f"{where}: push sync needs PBS 3.3 or later")
            if direction == "push" and not job.get("remote"):
                raise ValueError(f"{where}: a push job needs a 'remote'")
            if job.get("remote") is not None and job["remote"] not in remotes:
                raise ValueError(f"{where} names unknown remote {job['remote']!r}")
            if job.get("remote") is None and job["remote-store"] not in names:
                raise ValueError(f"{where}: local sync from unknown store")
            check_namespace(str(job.get("ns", "")))
            check_namespace(str(job.get("remote-ns", "")))

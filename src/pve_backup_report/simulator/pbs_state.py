"""Read-only state of one simulated Proxmox Backup Server, built once from the scenario.

Why: one scenario must describe a cluster *and* its backup servers consistently, so snapshots
are not written twice: they are derived from the PVE task history (the PVE simulator's own
backup-content derivation, for every PVE storage of type ``pbs`` whose ``server`` is this
server's ``host``), then the scenario's declared snapshots are added, patches applied, verify
jobs and prune jobs "run" as of ``now``, and removed snapshots dropped (pbs-api.md §4, §6).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from pve_backup_report.simulator.pbs_scenario import (
    PBS_ROLES,
    SYNC_SCENARIO_KEYS,
    PbsAclEntry,
    PbsDatastore,
    PbsServer,
    PbsSnapshotSelector,
)
from pve_backup_report.simulator.routes_pve import PveState, next_run

PERIODS = {
    "keep-hourly": "%Y-%m-%d %H",
    "keep-daily": "%Y-%m-%d",
    "keep-weekly": "%G-%V",
    "keep-monthly": "%Y-%m",
    "keep-yearly": "%Y",
}
KEEP_KEYS = ("keep-last", *PERIODS)


def _h(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=6).digest(), "big")


def escape_worker_id(value: str) -> str:
    """systemd-style escaping used inside PBS UPIDs: ``/`` → ``-``, others → ``\\xNN``."""
    out: list[str] = []
    for char in value:
        if char == "/":
            out.append("-")
        elif char.isascii() and (char.isalnum() or char in "_."):
            out.append(char)
        else:
            out.extend(f"\\x{byte:02x}" for byte in char.encode())
    return "".join(out)


def pbs_upid(node: str, start: int, worker_type: str, worker_id: str, auth_id: str) -> str:
    """A PBS UPID (extra ``task_id`` field compared with PVE, pbs-api.md §8.1)."""
    seed = _h(f"{start}{worker_type}{worker_id}")
    return (
        f"UPID:{node}:{0x4D2 + seed % 4000:08X}:{0x12A3F + seed % 9999:08X}:"
        f"{seed % 0xFFFF:08X}:{start:08X}:{worker_type}:{escape_worker_id(worker_id)}:"
        f"{auth_id}:"
    )


def ns_parents(ns: str) -> list[str]:
    """``a/b/c`` → ``["", "a", "a/b", "a/b/c"]``."""
    parts = ns.split("/") if ns else []
    return [""] + ["/".join(parts[: i + 1]) for i in range(len(parts))]


def ns_depth(ns: str) -> int:
    return len(ns.split("/")) if ns else 0


def in_scope(ns: str, top: str, max_depth: int | None) -> bool:
    """Is ``ns`` at or below ``top`` within ``max_depth`` levels (None = any)?"""
    if top and ns != top and not ns.startswith(top + "/"):
        return False
    return max_depth is None or ns_depth(ns) - ns_depth(top) <= max_depth


class PbsPermissions:
    """Resolves the token's ACL like PBS: a deeper level replaces what it inherited."""

    def __init__(self, acl: Iterable[PbsAclEntry]) -> None:
        self.entries: dict[str, list[tuple[frozenset[str], bool]]] = {}
        for entry in acl:
            privs = frozenset(entry.privs).union(*(PBS_ROLES[r] for r in entry.roles))
            path = "/" + "/".join(p for p in entry.path.split("/") if p)
            self.entries.setdefault(path, []).append((privs, entry.propagate))

    def with_propagate(self, path: str) -> dict[str, bool]:
        """``{privilege: propagate}`` on ``path`` (the shape of ``/access/permissions``)."""
        parts = [p for p in path.split("/") if p]
        levels = ["/"] + ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]
        current: dict[str, bool] = {}
        for level in levels:
            found: dict[str, bool] | None = None
            for privs, propagate in self.entries.get(level, []):
                if level == levels[-1] or propagate:
                    found = found if found is not None else {}
                    for priv in privs:
                        found[priv] = found.get(priv, False) or propagate or level != levels[-1]
            if found is not None:
                current = found
        return current

    def privileges(self, path: str) -> frozenset[str]:
        return frozenset(self.with_propagate(path))

    def has_any(self, path: str, privs: Iterable[str]) -> bool:
        granted = self.privileges(path)
        return any(p in granted for p in privs)

    def any_below(self, path: str, privs: Iterable[str]) -> bool:
        """Some ACL path strictly below ``path`` grants one of ``privs``."""
        prefix = path.rstrip("/") + "/"
        return any(p.startswith(prefix) and self.has_any(p, privs) for p in self.entries)


@dataclass(frozen=True)
class Snap:
    """One stored snapshot (group owner is kept on each snapshot for simplicity)."""

    ns: str
    type: str
    id: str
    time: int
    size: int | None
    comment: str | None
    owner: str
    verify: str | None = None
    verify_upid: str | None = None
    crypt: str = "none"
    fingerprint: str | None = None
    protected: bool = False
    unfinished: bool = False

    @property
    def group(self) -> tuple[str, str, str]:
        return (self.ns, self.type, self.id)


def _fingerprint(key: str | None, seed: str) -> str:
    if key and len(key) == 95:
        return key.lower()
    digest = hashlib.sha256(seed.encode()).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, 64, 2))


class PbsState:
    """Indexes over one :class:`PbsServer` of the scenario."""

    def __init__(
        self,
        server: PbsServer,
        pve: PveState,
        registry: dict[str, PbsState | None] | None = None,
    ) -> None:
        self.server = server
        self.pve = pve
        self.perms = PbsPermissions(server.token.acl)
        self.stores: dict[str, PbsDatastore] = {s.name: s for s in server.datastores}
        self.snapshots: dict[str, list[Snap]] = {}
        self.namespaces: dict[str, list[str]] = {}
        # other simulated servers, built on demand for sync jobs; a server still being built
        # is returned as it is so far, so a sync cycle (A pulls from B pulls from A) sees what
        # was copied before instead of recursing
        self.registry: dict[str, PbsState | None] = registry if registry is not None else {}
        self.registry[server.name] = self
        self._base = {store.name: self._base_snaps(store) for store in server.datastores}
        for store in server.datastores:
            snaps = self._build(store)
            self.snapshots[store.name] = snaps
            names: set[str] = set()
            for ns in [*store.namespaces, *self._fed_namespaces(store), *(s.ns for s in snaps)]:
                names.update(ns_parents(ns))
            self.namespaces[store.name] = sorted(names)

    def now(self) -> int:
        return self.pve.now()

    def upid(self, start: int, worker_type: str, worker_id: str, auth: str = "root@pam") -> str:
        return pbs_upid(self.server.name, start, worker_type, worker_id, auth)

    # ------------------------------------------------------------------ derivation
    def _feeding_storages(self, store: PbsDatastore) -> list[dict[str, Any]]:
        host = self.server.host.lower()
        return [
            s
            for s in self.pve.scenario.storages
            if s.get("type") == "pbs"
            and str(s.get("server", "")).lower() == host
            and s.get("datastore") == store.name
        ]

    def _fed_namespaces(self, store: PbsDatastore) -> list[str]:
        return [str(s.get("namespace") or "") for s in self._feeding_storages(store)]

    def _derived(self, store: PbsDatastore) -> list[Snap]:
        out: list[Snap] = []
        node = next(iter(self.pve.nodes))
        for scfg in self._feeding_storages(store):
            sid = str(scfg["storage"])
            key = scfg.get("encryption-key")
            crypt = "encrypt" if key else "none"
            for item in self.pve.backup_content(sid, node):
                path = str(item.get("volid", "")).split(":backup/", 1)[-1].split("/")
                if len(path) != 3:
                    continue
                verification = item.get("verification") or {}
                out.append(
                    Snap(
                        ns=str(scfg.get("namespace") or ""),
                        type=path[0],
                        id=path[1],
                        time=int(item["ctime"]),
                        size=int(item["size"]) if item.get("size") is not None else None,
                        comment=item.get("notes"),
                        owner=str(scfg.get("username") or store.default_owner),
                        verify=verification.get("state"),
                        verify_upid=verification.get("upid"),
                        crypt=crypt,
                        fingerprint=_fingerprint(str(key), sid) if key else None,
                    )
                )
        return out

    def _build(self, store: PbsDatastore) -> list[Snap]:
        self.snapshots[store.name] = list(self._base[store.name])
        result = [*self._base[store.name], *self._synced(store)]
        verify_new = bool(store.config.get("verify-new"))
        if verify_new:
            result = [self._verify_new(store, s) for s in result]
        for patch in store.patches:
            result = self._patch(store, result, patch)
        result = self._run_verify_jobs(store, result)
        result = self._run_prune_jobs(store, result)
        for selector in store.removed:
            chosen = set(map(id, self._select(result, selector)))
            result = [s for s in result if id(s) not in chosen]
        return self._fix_owners(result)

    # ------------------------------------------------------------------ sync jobs
    def _other(self, name: str) -> PbsState | None:
        """The state of another simulated server (None: unknown, or being built: a cycle)."""
        if name in self.registry:
            return self.registry[name]
        spec = next((s for s in self.pve.scenario.pbs_servers if s.name == name), None)
        return PbsState(spec, self.pve, self.registry) if spec is not None else None

    def _by_host(self, host: str) -> str | None:
        wanted = host.strip("[]").lower()
        found = (s.name for s in self.pve.scenario.pbs_servers if s.host.lower() == wanted)
        return next(found, None)

    def _synced(self, store: PbsDatastore) -> list[Snap]:
        """Snapshots copied into ``store`` by pull jobs here and push jobs elsewhere."""
        out: list[Snap] = []
        for job in self.server.sync_jobs:
            if job.get("sync-direction", "pull") != "pull" or job["store"] != store.name:
                continue
            if job.get("remote") is None:
                source = self._base.get(str(job["remote-store"]), [])
            else:
                remote = next(r for r in self.server.remotes if r.name == job["remote"])
                name = self._by_host(remote.host)
                other = self._other(name) if name and name != self.server.name else None
                source = other.snapshots.get(str(job["remote-store"]), []) if other else []
            src_ns, dst_ns = str(job.get("remote-ns", "")), str(job.get("ns", ""))
            out += copy_snapshots(job, source, src_ns, dst_ns)
            self.snapshots[store.name] = [*self._base[store.name], *out]  # seen by a cycle
        for spec in self.pve.scenario.pbs_servers:
            if spec.name == self.server.name:
                continue
            for job in spec.sync_jobs:
                if job.get("sync-direction") != "push" or job["remote-store"] != store.name:
                    continue
                remote = next(r for r in spec.remotes if r.name == job["remote"])
                if self._by_host(remote.host) != self.server.name:
                    continue
                other = self._other(spec.name)
                source = other.snapshots.get(str(job["store"]), []) if other else []
                src_ns, dst_ns = str(job.get("ns", "")), str(job.get("remote-ns", ""))
                out += copy_snapshots(job, source, src_ns, dst_ns)
        return out

    def _base_snaps(self, store: PbsDatastore) -> list[Snap]:
        snaps: dict[tuple[str, str, str, int], Snap] = {}
        if store.derive:
            for snap in self._derived(store):
                snaps[(*snap.group, snap.time)] = snap
        for spec in store.snapshots:
            upid = None
            at = spec.verified_at if spec.verified_at is not None else spec.time + 3600
            if spec.verify:
                upid = self.upid(at, "verify", f"{store.name}:{spec.type}/{spec.id}/{spec.time:X}")
            snaps[(spec.ns, spec.type, spec.id, spec.time)] = Snap(
                spec.ns, spec.type, spec.id, spec.time,
                spec.size if spec.size is not None else 1 << 30 | _h(spec.id) % (1 << 30),
                spec.comment, spec.owner or store.default_owner, spec.verify, upid, spec.crypt,
                _fingerprint(None, spec.id) if spec.crypt != "none" else None,
                spec.protected, spec.unfinished,
            )  # fmt: skip
        return list(snaps.values())

    def _verify_new(self, store: PbsDatastore, snap: Snap) -> Snap:
        if snap.verify or snap.unfinished:
            return snap
        worker = f"{store.name}:{snap.type}/{snap.id}/{snap.time:X}"
        return replace(snap, verify="ok", verify_upid=self.upid(snap.time + 300, "verify", worker))

    @staticmethod
    def _select(snaps: list[Snap], sel: PbsSnapshotSelector) -> list[Snap]:
        group = sorted(
            (s for s in snaps if s.group == (sel.ns, sel.type, sel.id)), key=lambda s: s.time
        )
        if not group or sel.time == "all":
            return group
        if sel.time == "latest":
            return group[-1:]
        if sel.time == "oldest":
            return group[:1]
        return [s for s in group if s.time == sel.time]

    def _patch(self, store: PbsDatastore, snaps: list[Snap], patch: Any) -> list[Snap]:
        """Apply ``patch`` to the selected snapshots; an ``owner`` applies to the whole group."""
        chosen = {id(s) for s in self._select(snaps, patch)}
        result: list[Snap] = []
        for snap in snaps:
            new = self._apply_patch(store, snap, patch) if id(snap) in chosen else snap
            if patch.owner is not None and snap.group == (patch.ns, patch.type, patch.id):
                new = replace(new, owner=patch.owner)
            result.append(new)
        return result

    def _apply_patch(self, store: PbsDatastore, snap: Snap, patch: Any) -> Snap:
        changes: dict[str, Any] = {}
        if patch.comment is not None:
            changes["comment"] = patch.comment
        if patch.protected is not None:
            changes["protected"] = patch.protected
        if patch.crypt is not None:
            changes["crypt"] = patch.crypt
            changes["fingerprint"] = _fingerprint(None, snap.id) if patch.crypt != "none" else None
        if patch.verify == "none":
            changes["verify"], changes["verify_upid"] = None, None
        elif patch.verify is not None:
            at = patch.verified_at if patch.verified_at is not None else snap.time + 3600
            worker = f"{store.name}:{snap.type}/{snap.id}/{snap.time:X}"
            changes["verify"] = patch.verify
            changes["verify_upid"] = self.upid(at, "verify", worker)
        return replace(snap, **changes)

    def _run_verify_jobs(self, store: PbsDatastore, snaps: list[Snap]) -> list[Snap]:
        for job in self.server.verify_jobs:
            end = job.get("last-run-endtime")
            if job.get("store") != store.name or not isinstance(end, int):
                continue
            start = end - 600
            upid = self.upid(start, "verificationjob", f"{store.name}:{job['id']}")
            top, depth = str(job.get("ns", "")), job.get("max-depth")
            snaps = [
                replace(s, verify="ok", verify_upid=upid)
                if s.verify is None
                and not s.unfinished
                and s.time < start
                and in_scope(s.ns, top, depth)
                else s
                for s in snaps
            ]
        return snaps

    def _run_prune_jobs(self, store: PbsDatastore, snaps: list[Snap]) -> list[Snap]:
        for job in self.server.prune_jobs:
            if job.get("store") != store.name or job.get("disable"):
                continue
            keep = {k: int(job[k]) for k in KEEP_KEYS if job.get(k)}
            if not keep:
                continue  # a job without keep-* is skipped by the scheduler
            top, depth = str(job.get("ns", "")), job.get("max-depth")
            groups: dict[tuple[str, str, str], list[Snap]] = {}
            for snap in snaps:
                if in_scope(snap.ns, top, depth):
                    groups.setdefault(snap.group, []).append(snap)
            drop: set[int] = set()
            for members in groups.values():
                kept = prune_keep(members, keep)
                drop.update(id(s) for s in members if id(s) not in kept)
            snaps = [s for s in snaps if id(s) not in drop]
        return snaps

    @staticmethod
    def _fix_owners(snaps: list[Snap]) -> list[Snap]:
        """A group has one owner: its first writer (the oldest snapshot's owner)."""
        owners: dict[tuple[str, str, str], tuple[int, str]] = {}
        for snap in snaps:
            known = owners.get(snap.group)
            if known is None or snap.time < known[0]:
                owners[snap.group] = (snap.time, snap.owner)
        return [replace(s, owner=owners[s.group][1]) for s in snaps]

    # ------------------------------------------------------------------ jobs
    def job_status(self, job: dict[str, Any], kind: str) -> dict[str, Any]:
        """A job as ``/admin/prune`` or ``/admin/verify`` lists it (config + status)."""
        item = {
            k: v
            for k, v in job.items()
            if not k.startswith("last-run") and k not in SYNC_SCENARIO_KEYS
        }
        schedule = job.get("schedule")
        if schedule and not job.get("disable"):
            upcoming = next_run(str(schedule), self.now(), "UTC")
            if upcoming is not None:
                item["next-run"] = upcoming
        end = job.get("last-run-endtime")
        if isinstance(end, int):
            ns = str(job.get("ns", ""))
            worker = (
                f"{job['store']}:{job['id']}"
                if kind == "verify"
                else (f"{job['store']}:{ns}" if ns else str(job["store"]))
            )
            if kind == "sync":
                worker = (
                    f"{job.get('remote') or '-'}:{job['remote-store']}:{job['store']}:{ns}:"
                    f"{job['id']}"
                )
            kind_name = {"verify": "verificationjob", "sync": "syncjob"}.get(kind, "prunejob")
            item["last-run-upid"] = job.get("last-run-upid") or self.upid(
                end - 600, kind_name, worker
            )
            item["last-run-endtime"] = end
            item["last-run-state"] = job.get("last-run-state", "OK")
        return item


def prune_keep(snaps: list[Snap], keep: dict[str, int]) -> set[int]:
    """ids of the snapshots a prune with ``keep`` options keeps (protected/unfinished always).

    Newest first; keep-last keeps the N newest; each period option keeps the newest snapshot of
    each of the N newest periods not already represented by a kept snapshot (UTC periods).
    """
    ordered = sorted(snaps, key=lambda s: s.time, reverse=True)
    kept = {id(s) for s in ordered if s.protected or s.unfinished}
    candidates = [s for s in ordered if id(s) not in kept]
    kept.update(id(s) for s in candidates[: keep.get("keep-last", 0)])
    for option, fmt in PERIODS.items():
        count = keep.get(option, 0)
        if not count:
            continue

        def period(snap: Snap, fmt: str = fmt) -> str:
            return dt.datetime.fromtimestamp(snap.time, dt.UTC).strftime(fmt)

        already = {period(s) for s in candidates if id(s) in kept}
        seen: set[str] = set()
        for snap in candidates:
            key = period(snap)
            if key in already or key in seen:
                continue
            if len(seen) >= count:
                break
            seen.add(key)
            kept.add(id(snap))
    return kept


def group_filter_passes(filters: Iterable[str], kind: str, backup_id: str) -> bool:
    """PBS's group filter: included by any include filter (or when there is none), and
    matched by no ``exclude:`` filter. ``regex:`` searches ``type/id`` (unanchored)."""
    group = f"{kind}/{backup_id}"

    def matches(text: str) -> bool:
        prefix, _, value = text.partition(":")
        if prefix == "type":
            return value == kind
        if prefix == "group":
            return value == group
        return prefix == "regex" and re.search(value, group) is not None

    includes: list[str] = []
    excludes: list[str] = []
    for raw in filters:
        if raw.startswith("exclude:"):
            excludes.append(raw[len("exclude:") :])
        else:
            includes.append(raw.removeprefix("include:"))
    included = not includes or any(matches(f) for f in includes)
    return included and not any(matches(f) for f in excludes)


def map_namespace(ns: str, source: str, target: str) -> str:
    """Replace the ``source`` prefix of ``ns`` by ``target`` (how a sync lays out namespaces)."""
    rest = ns[len(source) :].lstrip("/") if source else ns
    return "/".join(part for part in (target, rest) if part)


def copy_snapshots(job: dict[str, Any], source: list[Snap], src_ns: str, dst_ns: str) -> list[Snap]:
    """What one sync job has copied from ``source``: finished snapshots up to
    ``synced_until`` (default: the last successful run's end), inside the source namespace and
    ``max-depth``, passing ``group-filter``, the newest ``transfer-last`` per group."""
    until = job.get("synced_until")
    if until is None:
        end, state = job.get("last-run-endtime"), str(job.get("last-run-state", "OK"))
        if not isinstance(end, int) or not (state == "OK" or state.startswith("WARNINGS")):
            return []
        until = end - 300
    depth = job.get("max-depth")
    filters = [str(f) for f in job.get("group-filter") or []]
    chosen = [
        s
        for s in source
        if not s.unfinished
        and s.time <= int(until)
        and in_scope(s.ns, src_ns, depth)
        and group_filter_passes(filters, s.type, s.id)
    ]
    last = job.get("transfer-last")
    if isinstance(last, int):
        groups: dict[tuple[str, str, str], list[Snap]] = {}
        for snap in chosen:
            groups.setdefault(snap.group, []).append(snap)
        chosen = [s for g in groups.values() for s in sorted(g, key=lambda x: x.time)[-last:]]
    owner = str(job.get("owner") or "root@pam")
    return [
        replace(
            s,
            ns=map_namespace(s.ns, src_ns, dst_ns),
            owner=owner,
            verify=None,
            verify_upid=None,
            protected=False,
        )
        for s in chosen
    ]

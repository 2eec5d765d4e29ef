"""The simulated PVE endpoints (behaviour per /work/shared/reference/pve-api.md).

Why: the report's correctness depends on PVE's quirks — hash-ordered lists, numbers that are
strings, silently filtered results, defaults like "archive excludes running tasks". Each handler
reproduces one endpoint from the scenario held by :class:`PveState`; nothing here mutates it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import threading
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

from pve_backup_report.simulator.permissions import Permissions
from pve_backup_report.simulator.scenario import (
    Guest,
    Node,
    Pool,
    PoolMissingError,
    Scenario,
    StrangeVmidError,
    Task,
    decode_upid,
    select_guests,
    split_list,
)
from pve_backup_report.simulator.server import (
    ApiError,
    ApiResult,
    Param,
    Request,
    Router,
    param_error,
)

ROUTER = Router()

INDEX_ROTATE_BYTES = 50000
CLUSTER_TASKS_PER_NODE = 25
CLUSTER_TASKS_MAX_JSON = 32 * 1024
SHARED_TYPES = {"pbs", "nfs", "cifs", "cephfs", "glusterfs", "rbd", "iscsi", "iscsidirect"}
STORAGE_TYPES = (
    "btrfs", "cephfs", "cifs", "dir", "esxi", "glusterfs", "iscsi", "iscsidirect", "lvm",
    "lvmthin", "nfs", "pbs", "rbd", "zfs", "zfspool",
)  # fmt: skip
CLUSTER_INDEX = (
    "acme", "backup", "backup-info", "bulk-action", "ceph", "config", "firewall", "ha", "jobs",
    "log", "mapping", "metrics", "notifications", "nextid", "options", "qemu", "replication",
    "resources", "status", "tasks", "sdn",
)  # fmt: skip
QEMU_DISK_RE = re.compile(r"^(ide|sata|scsi|virtio)\d+$|^efidisk0$|^tpmstate0$")
LXC_MP_RE = re.compile(r"^mp\d+$")
PBS_ARCHIVE_RE = re.compile(r"creating Proxmox Backup Server archive '(vm|ct)/(\d+)/([^']+)'")
VZDUMP_ARCHIVE_RE = re.compile(r"creating vzdump archive '([^']+)'")
FILE_ARCHIVE_RE = re.compile(
    r"vzdump-(qemu|lxc)-(\d+)-(\d{4})_(\d\d)_(\d\d)-(\d\d)_(\d\d)_(\d\d)\.(.+)$"
)
START_RE = re.compile(r"^INFO: Starting Backup of VM (\d+) \((qemu|lxc)\)")
FAILED_RE = re.compile(r"^ERROR: Backup of VM (\d+) failed - ")
FINISHED_RE = re.compile(r"^INFO: Finished Backup of VM (\d+) ")
HEADER_RE = re.compile(r"^INFO: starting new backup job: vzdump(.*)$")


def _h(text: str) -> int:
    """Stable small hash (Python's ``hash`` is salted)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=6).digest(), "big")


def _size_bytes(text: str) -> int:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]?)", text.strip())
    if not match:
        return 0
    factor = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}[match.group(2)]
    return int(float(match.group(1)) * factor)


def volume_props(value: str) -> tuple[str, dict[str, str]]:
    """Split ``volid,key=val,...`` into the volume and its options."""
    parts = str(value).split(",")
    volume = parts[0]
    options: dict[str, str] = {}
    for part in parts[1:]:
        key, _, val = part.partition("=")
        options[key] = val
    if "=" in volume:  # lxc style "volume=local:..." first
        key, _, val = volume.partition("=")
        if key == "volume":
            volume = val
    return volume, options


def guest_disk_total(guest: Guest) -> int:
    """Sum of ``size=`` of the guest's disks (a stand-in for ``maxdisk``)."""
    total = 0
    for key, value in guest.config.items():
        if QEMU_DISK_RE.match(key) or key == "rootfs" or LXC_MP_RE.match(key):
            _, options = volume_props(str(value))
            if options.get("media") == "cdrom":
                continue
            total += _size_bytes(options.get("size", "0"))
    return total or 8 << 30


# --------------------------------------------------------------------------- calendar
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _values(spec: str, top: int) -> list[int] | None:
    out: set[int] = set()
    for item in spec.split(","):
        if item == "*":
            out.update(range(top))
            continue
        match = re.fullmatch(r"(\*|\d+)(?:\.\.(\d+))?(?:/(\d+))?", item)
        if not match:
            return None
        start = 0 if match.group(1) == "*" else int(match.group(1))
        end = int(match.group(2)) if match.group(2) else (top - 1 if match.group(3) else start)
        step = int(match.group(3) or 1)
        if start >= top or end >= top or step == 0:
            return None
        out.update(range(start, end + 1, step))
    return sorted(out)


def _weekdays(spec: str) -> set[int] | None:
    result: set[int] = set()
    for item in spec.lower().split(","):
        first, _, last = item.partition("..")
        if first[:3] not in _DAYS or (last and last[:3] not in _DAYS):
            return None
        a = _DAYS.index(first[:3])
        b = _DAYS.index(last[:3]) if last else a
        day = a
        while True:
            result.add(day)
            if day == b:
                break
            day = (day + 1) % 7
    return result


def next_run(schedule: str, now: int, tz: str) -> int | None:
    """Approximate next event of a calendar schedule strictly after ``now``.

    Supports keywords minutely/hourly/daily/weekly, an optional weekday list and
    ``[H:]M[:S]`` with ``*``, lists, ranges and ``/step``; anything with a date part returns
    None (the job is then listed without ``next-run``).
    """
    text = schedule.strip().lower()
    keywords = {
        "minutely": "*:*:0",
        "hourly": "*:0",
        "daily": "0:0",
        "weekly": "mon 0:0",
    }
    text = keywords.get(text, text)
    parts = text.split()
    days: set[int] = set(range(7))
    if parts and re.match(r"^[a-z]", parts[0]):
        parsed = _weekdays(parts[0])
        if parsed is None:
            return None
        days = parsed
        parts = parts[1:]
    if len(parts) > 1:
        return None
    hours: list[int] | None = list(range(24))
    minutes: list[int] | None = [0]
    seconds: list[int] | None = [0]
    if parts:
        fields = parts[0].split(":")
        if len(fields) == 1:
            minutes = _values(fields[0], 60)
        elif len(fields) == 2:
            maybe_hours = _values(fields[0], 24)
            if maybe_hours is not None:
                hours, minutes = maybe_hours, _values(fields[1], 60)
            else:
                minutes, seconds = _values(fields[0], 60), _values(fields[1], 60)
        elif len(fields) == 3:
            hours = _values(fields[0], 24)
            minutes = _values(fields[1], 60)
            seconds = _values(fields[2], 60)
        else:
            return None
    else:
        hours = [0]
    if hours is None or minutes is None or seconds is None:
        return None
    zone = ZoneInfo(tz)
    start = dt.datetime.fromtimestamp(now, zone)
    for offset in range(0, 9):
        day = (start + dt.timedelta(days=offset)).date()
        if day.weekday() not in days:
            continue
        for hour in hours:
            for minute in minutes:
                for second in seconds:
                    moment = dt.datetime(
                        day.year, day.month, day.day, hour, minute, second, tzinfo=zone
                    )
                    epoch = int(moment.timestamp())
                    if epoch > now:
                        return epoch
    return None


def legacy_schedule(job: dict[str, Any]) -> dict[str, Any]:
    """vzdump.cron ``starttime``/``dow`` become ``schedule`` and are never returned."""
    out = dict(job)
    if "starttime" in out:
        starttime = str(out.pop("starttime"))
        dow = out.pop("dow", None)
        days = split_list(dow) if dow else []
        if not days or set(days) >= set(_DAYS):
            out["schedule"] = starttime
        else:
            out["schedule"] = f"{','.join(days)} {starttime}"
    out.pop("dow", None)
    return out


# --------------------------------------------------------------------------- state
class PveState:
    """Read-only indexes over a :class:`Scenario`, built once per server."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.nodes: dict[str, Node] = {node.node: node for node in scenario.nodes}
        self.guests: dict[int, Guest] = {
            g.vmid: g for g in sorted(scenario.guests, key=lambda g: g.vmid)
        }
        self.pools: dict[str, Pool] = {pool.poolid: pool for pool in scenario.pools}
        self.pool_of: dict[int, str] = {
            member: pool.poolid for pool in scenario.pools for member in pool.members
        }
        self.storages: dict[str, dict[str, Any]] = {s["storage"]: s for s in scenario.storages}
        digest_src = json.dumps([scenario.legacy_jobs], sort_keys=True).encode()
        cron_sha = hashlib.sha1(digest_src, usedforsecurity=False).hexdigest()
        self.legacy_jobs: list[dict[str, Any]] = []
        for number, job in enumerate(scenario.legacy_jobs, start=1):
            converted = legacy_schedule(job)
            converted.setdefault("id", f"{cron_sha}:{number}")
            converted.setdefault("enabled", 1)
            self.legacy_jobs.append(converted)
        self.jobs: list[dict[str, Any]] = []
        for job in scenario.jobs:
            normal = dict(job)
            normal.setdefault("type", "vzdump")
            normal.setdefault("enabled", 1)
            normal.pop("next-run", None)
            self.jobs.append(normal)
        self.tasks: dict[str, Task] = {task.upid: task for task in scenario.tasks}
        self.task_info: dict[str, dict[str, Any]] = {}
        by_node: dict[str, list[Task]] = {name: [] for name in self.nodes}
        for task in scenario.tasks:
            info = decode_upid(task.upid)
            if task.tokenid:
                info["tokenid"] = task.tokenid
            self.task_info[task.upid] = info
            by_node[info["node"]].append(task)
        self.tasks_by_node: dict[str, list[Task]] = {}
        self.archive_by_node: dict[str, list[Task]] = {}
        for name, tasks in by_node.items():
            newest_first = sorted(
                tasks, key=lambda t: (self.task_info[t.upid]["starttime"], t.upid), reverse=True
            )
            self.tasks_by_node[name] = newest_first
            self.archive_by_node[name] = self._visible_archive(tasks)
        token = scenario.token
        self.perms = Permissions(
            (
                (entry.path, Permissions.expand(entry.privs, entry.roles), entry.propagate)
                for entry in token.acl
            ),
            root=token.root,
            pool_of=self.pool_of,
        )
        self._log_cache: dict[str, list[str]] = {}
        self._content_cache: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._cache_lock = threading.Lock()

    # ------------------------------------------------------------------ helpers
    def now(self) -> int:
        """The scenario's "current time" (real time when unset)."""
        if self.scenario.now is not None:
            return self.scenario.now
        return int(dt.datetime.now(dt.UTC).timestamp())

    def _visible_archive(self, tasks: list[Task]) -> list[Task]:
        """Finished tasks still in ``index`` + ``index.1`` (rotation at ~50 kB), newest first."""
        finished = sorted(
            (t for t in tasks if not t.running),
            key=lambda t: (t.endtime or 0, t.upid),
        )
        previous: list[Task] = []
        current: list[Task] = []
        size = 0
        for task in finished:
            current.append(task)
            size += len(task.upid) + 10 + len(task.status or "") + 1
            if size > INDEX_ROTATE_BYTES:
                previous, current, size = current, [], 0
        visible = previous + current
        return sorted(
            visible, key=lambda t: (self.task_info[t.upid]["starttime"], t.upid), reverse=True
        )

    def proxy_to(self, node: str) -> Node:
        """Emulate pveproxy forwarding to ``node``: unknown -> 500, offline -> 595."""
        found = self.nodes.get(node)
        if found is None:
            raise ApiError(
                500,
                f"hostname lookup '{node}' failed - failed to get address info for: "
                f"{node}: Name or service not known",
            )
        if found.status != "online":
            raise ApiError(595, "No route to host")
        return found

    def cluster_tz(self) -> str:
        """Time zone used for next-run: the first online node's (the answering node)."""
        for node in self.nodes.values():
            if node.status == "online":
                return node.timezone
        return next(iter(self.nodes.values())).timezone

    def all_jobs(self) -> list[dict[str, Any]]:
        """Legacy jobs first, then jobs.cfg ones (no next-run)."""
        return [*self.legacy_jobs, *self.jobs]

    def find_job(self, job_id: str) -> dict[str, Any]:
        """Job by id or the 400 PVE answers."""
        for job in self.all_jobs():
            if str(job.get("id")) == job_id:
                return job
        raise param_error({"id": f"No such job '{job_id}'"})

    def select(self, job: dict[str, Any]) -> dict[str, list[int]]:
        """Guest selection of ``job`` with PVE's errors."""
        try:
            return select_guests(job, self.guests, self.pools)
        except PoolMissingError as exc:
            raise ApiError(500, str(exc)) from exc
        except StrangeVmidError as exc:
            raise ApiError(500, str(exc)) from exc

    def task_log(self, task: Task) -> list[str]:
        """Lines of a task's log (synthesised lazily and cached when the scenario uses synth)."""
        if task.log is not None:
            return task.log
        if task.synth is not None:
            with self._cache_lock:
                cached = self._log_cache.get(task.upid)
            if cached is None:
                from pve_backup_report.simulator.generate import render_synth_log

                cached = render_synth_log(self, task)
                with self._cache_lock:
                    if len(self._log_cache) > 2000:
                        self._log_cache.clear()
                    self._log_cache[task.upid] = cached
            return cached
        if task.status is None:
            return []
        if task.status == "OK" or task.status.startswith("WARNINGS: "):
            return [f"TASK {task.status}"]
        if task.status == "unexpected status":
            return []
        return [f"TASK ERROR: {task.status}"]

    def is_own(self, info: dict[str, Any], token_id: str) -> bool:
        """A task is "own" when started by this very token."""
        user = str(info["user"])
        if info.get("tokenid"):
            user = f"{user}!{info['tokenid']}"
        return user == token_id

    def guest_stats(self, guest: Guest) -> dict[str, Any]:
        """RRD-like fields of a guest (deterministic from the vmid)."""
        seed = _h(f"vm{guest.vmid}")
        cores = int(guest.config.get("cores", 1) or 1) * int(guest.config.get("sockets", 1) or 1)
        memory = int(str(guest.config.get("memory", 2048)).split(",")[0] or 2048) << 20
        maxdisk = guest_disk_total(guest)
        running = guest.status == "running"
        return {
            "name": guest.display_name,
            "template": guest.template,
            "uptime": (seed % 2_000_000) + 3600 if running else 0,
            "maxcpu": cores,
            "cpu": round((seed % 700) / 10000, 4) if running else 0,
            "maxmem": memory,
            "mem": memory * (20 + seed % 60) // 100 if running else 0,
            "maxdisk": maxdisk,
            "disk": maxdisk * (seed % 80) // 100 if guest.type == "lxc" else 0,
            "netin": seed % 10**9 if running else 0,
            "netout": (seed // 7) % 10**9 if running else 0,
            "diskread": (seed // 11) % 10**10 if running else 0,
            "diskwrite": (seed // 13) % 10**10 if running else 0,
        }

    def vm_entry(self, guest: Guest, *, full: bool) -> dict[str, Any]:
        """A guest as ``/cluster/resources`` (full) or a pool member (no tags/lock/pool/ha)."""
        entry: dict[str, Any] = {
            "id": f"{guest.type}/{guest.vmid}",
            "vmid": guest.vmid,
            "type": guest.type,
            "node": guest.node,
            "status": guest.status if guest.rrd else "unknown",
        }
        if guest.rrd:
            stats = self.guest_stats(guest)
            if stats["name"] is None:
                del stats["name"]
            entry.update(stats)
        if full:
            if guest.tags:
                entry["tags"] = guest.tags
            if guest.lock:
                entry["lock"] = guest.lock
            if guest.hastate:
                entry["hastate"] = guest.hastate
            if guest.vmid in self.pool_of:
                entry["pool"] = self.pool_of[guest.vmid]
        return entry

    def storage_on_node(self, sid: str, node: str) -> bool:
        """True when the storage is configured for ``node`` (no ``nodes`` = all)."""
        nodes = self.storages[sid].get("nodes")
        return not nodes or node in split_list(nodes)

    def storage_entry(self, sid: str, node: str) -> dict[str, Any]:
        """A storage as ``/cluster/resources`` and pool members show it."""
        scfg = self.storages[sid]
        available = self.nodes[node].status == "online" and not scfg.get("disable")
        shared = 1 if scfg["type"] in SHARED_TYPES or scfg.get("shared") else 0
        entry: dict[str, Any] = {
            "id": f"storage/{node}/{sid}",
            "storage": sid,
            "node": node,
            "type": "storage",
            "plugintype": scfg["type"],
            "status": "available" if available else "unknown",
            "shared": shared,
            "content": scfg.get("content", "backup" if scfg["type"] == "pbs" else "images"),
        }
        if available:
            seed = _h(sid if shared else f"{node}/{sid}")
            maxdisk = (4 + seed % 12) << 40
            entry["maxdisk"] = maxdisk
            entry["disk"] = maxdisk * (20 + seed % 60) // 100
        return entry

    def node_stats(self, node: Node) -> dict[str, Any]:
        """Node metrics shown with Sys.Audit on the node."""
        seed = _h(node.node)
        return {
            "uptime": 86400 * (3 + seed % 200) + seed % 86400,
            "cpu": round((seed % 900) / 10000, 4),
            "maxcpu": node.maxcpu,
            "mem": node.maxmem * (25 + seed % 50) // 100,
            "maxmem": node.maxmem,
            "disk": node.maxdisk * (5 + seed % 40) // 100,
            "maxdisk": node.maxdisk,
        }

    def task_item(self, task: Task, *, running_status: bool) -> dict[str, Any]:
        """A task as ``/nodes/{node}/tasks`` lists it."""
        item = dict(self.task_info[task.upid])
        if task.running:
            if running_status:
                item["status"] = "RUNNING"
        else:
            item["endtime"] = task.endtime
            item["status"] = task.status
        return item

    # ------------------------------------------------------------------ backup content
    def backup_content(self, sid: str, node: str) -> list[dict[str, Any]]:
        """Backup volumes of ``sid``: scenario override, else derived from task logs."""
        if sid in self.scenario.storage_content:
            return [dict(item) for item in self.scenario.storage_content[sid]]
        scfg = self.storages[sid]
        shared = scfg["type"] in SHARED_TYPES or bool(scfg.get("shared"))
        key = (sid, "" if shared else node)
        with self._cache_lock:
            cached = self._content_cache.get(key)
        if cached is None:
            cached = sorted(
                self._derive_content(sid, None if shared else node).values(),
                key=lambda item: str(item["volid"]).lower(),
            )
            with self._cache_lock:
                self._content_cache[key] = cached
        return [dict(item) for item in cached]

    def _task_storage(self, task: Task) -> str | None:
        if task.synth is not None and task.log is None:
            job = self._job_by_id(task.synth.job)
            return str(job.get("storage", "local")) if job else "local"
        return None

    def _job_by_id(self, job_id: str | None) -> dict[str, Any] | None:
        if job_id is None:
            return None
        for job in self.all_jobs():
            if str(job.get("id")) == job_id:
                return job
        return None

    def _derive_content(self, sid: str, node: str | None) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for upid, task in self.tasks.items():
            info = self.task_info[upid]
            if info["type"] != "vzdump" or task.running:
                continue
            if node is not None and info["node"] != node:
                continue
            quick = self._task_storage(task)
            if quick is not None:
                if quick == sid:
                    for item in self._synth_volumes(sid, task):
                        found[str(item["volid"])] = item
                continue
            tz = self.nodes[info["node"]].timezone
            for item in self._volumes_from_log(sid, self.task_log(task), tz):
                found[str(item["volid"])] = item
        return found

    def _volumes_from_log(self, sid: str, lines: list[str], tz: str) -> Iterator[dict[str, Any]]:
        storage = "local"
        notes = False
        current: dict[str, Any] | None = None
        for line in lines:
            header = HEADER_RE.match(line)
            if header:
                args = header.group(1)
                match = re.search(r"--storage\s+'?([^\s']+)", args)
                storage = match.group(1) if match else "local"
                notes = "--notes-template" in args
                if storage != sid:
                    return
                continue
            started = START_RE.match(line)
            if started:
                current = None
                continue
            pbs = PBS_ARCHIVE_RE.search(line)
            if pbs:
                kind, vmid, stamp = pbs.group(1), int(pbs.group(2)), pbs.group(3)
                ctime = int(
                    dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")
                    .replace(tzinfo=dt.UTC)
                    .timestamp()
                )
                current = {
                    "volid": f"{sid}:backup/{kind}/{vmid}/{stamp}",
                    "content": "backup",
                    "format": f"pbs-{kind}",
                    "subtype": "qemu" if kind == "vm" else "lxc",
                    "vmid": vmid,
                    "ctime": ctime,
                }
                continue
            plain = VZDUMP_ARCHIVE_RE.search(line)
            if plain:
                name = plain.group(1).rsplit("/", 1)[-1]
                parsed = FILE_ARCHIVE_RE.match(name)
                if parsed:
                    y, mo, d, hh, mi, ss = (int(parsed.group(i)) for i in range(3, 9))
                    # file names carry the node's local time
                    local = dt.datetime(y, mo, d, hh, mi, ss, tzinfo=ZoneInfo(tz))
                    ctime = int(local.timestamp())
                    current = {
                        "volid": f"{sid}:backup/{name}",
                        "content": "backup",
                        "format": parsed.group(9),
                        "subtype": parsed.group(1),
                        "vmid": int(parsed.group(2)),
                        "ctime": ctime,
                    }
                continue
            if FAILED_RE.match(line):
                current = None
                continue
            if FINISHED_RE.match(line) and current is not None:
                yield self._complete(current, notes)
                current = None

    def _complete(self, item: dict[str, Any], notes: bool) -> dict[str, Any]:
        """Add size, notes and (sometimes) a verification to a derived volume."""
        vmid = int(item["vmid"])
        guest = self.guests.get(vmid)
        seed = _h(str(item["volid"]))
        base = guest_disk_total(guest) if guest else 8 << 30
        item["size"] = max(1, base * (5 + seed % 60) // 100)
        if notes and guest is not None and guest.display_name:
            item["notes"] = guest.display_name
        if str(item["format"]).startswith("pbs-") and seed % 3 == 0:
            kind = "vm" if item["subtype"] == "qemu" else "ct"
            item["verification"] = {
                "state": "ok",
                "upid": f"UPID:pbs01:{seed % 0xFFFF:08X}:{seed % 0xFFFFF:08X}:"
                f"{seed % 0xFFFFFF:016X}:{int(item['ctime']) + 7200:08X}:verify:"
                f"store1\\x3a{kind}-{vmid}:root@pam:",
            }
        return item

    def _synth_volumes(self, sid: str, task: Task) -> Iterator[dict[str, Any]]:
        """Volumes of a synth task computed without rendering its log (same clock rules)."""
        from pve_backup_report.simulator.generate import synth_archives

        job = self._job_by_id(task.synth.job if task.synth else None) or {}
        notes = bool(job.get("notes-template"))
        for item in synth_archives(self, task, sid):
            yield self._complete(item, notes)


def _state(request: Request) -> PveState:
    state = request.state
    assert isinstance(state, PveState)
    return state


# --------------------------------------------------------------------------- routes: cluster
@ROUTER.route("/version")
def version(request: Request) -> ApiResult:
    """Version of the answering node; any user."""
    cluster = _state(request).scenario.cluster
    data: dict[str, Any] = {
        "version": cluster.version,
        "release": ".".join(cluster.version.split(".")[:2]),
        "repoid": cluster.repoid,
    }
    if cluster.console:
        data["console"] = cluster.console
    return ApiResult(data)


@ROUTER.route("/cluster")
def cluster_index(_request: Request) -> ApiResult:
    """Cluster directory index."""
    return ApiResult([{"name": name} for name in CLUSTER_INDEX])


@ROUTER.route("/cluster/status", check=("/", ("Sys.Audit",)))
def cluster_status(request: Request) -> ApiResult:
    """Cluster and member status (not in the reference sheet; shape from PVE's API viewer:
    one ``type: cluster`` entry with the cluster name, then one entry per node). A standalone
    node (``cluster.standalone``) never joined a cluster: only its own entry, nodeid 0."""
    scenario = _state(request).scenario
    nodes = scenario.nodes
    standalone = scenario.cluster.standalone
    data: list[dict[str, Any]] = []
    if not standalone:
        data.append(
            {
                "type": "cluster",
                "id": "cluster",
                "name": scenario.cluster.name,
                "nodes": len(nodes),
                "quorate": 1,
                "version": len(nodes) + 2,
            }
        )
    for index, node in enumerate(nodes, 1):
        data.append(
            {
                "type": "node",
                "id": f"node/{node.node}",
                "name": node.node,
                "nodeid": 0 if standalone else index,
                "online": 1 if node.status == "online" else 0,
                "local": 1 if index == 1 else 0,
                "ip": f"192.0.2.{index}",
                "level": node.level,
            }
        )
    return ApiResult(data)


@ROUTER.route("/nodes")
def nodes(request: Request) -> ApiResult:
    """Cluster nodes; metrics only with Sys.Audit on the node."""
    state = _state(request)
    out: list[dict[str, Any]] = []
    for node in state.nodes.values():
        item: dict[str, Any] = {
            "node": node.node,
            "id": f"node/{node.node}",
            "type": "node",
            "status": node.status,
            "ssl_fingerprint": node.ssl_fingerprint,
        }
        if node.status == "online":
            item["level"] = node.level
            if request.perms.has(f"/nodes/{node.node}", "Sys.Audit"):
                item.update(state.node_stats(node))
        out.append(item)
    return ApiResult(out)


@ROUTER.route("/nodes/{node}/time", params={"node": Param("node")}, proxy=True)
def node_time(request: Request) -> ApiResult:
    """Time zone and clock of a node (``localtime`` = epoch shifted by the UTC offset)."""
    state = _state(request)
    node = state.nodes[request.params["node"]]
    now = state.now()
    offset = dt.datetime.fromtimestamp(now, ZoneInfo(node.timezone)).utcoffset()
    shift = int(offset.total_seconds()) if offset else 0
    return ApiResult({"timezone": node.timezone, "time": now, "localtime": now + shift})


@ROUTER.route(
    "/cluster/resources",
    params={"type": Param("enum", ("vm", "storage", "node", "sdn"))},
)
def resources(request: Request) -> ApiResult:
    """Guests, nodes, storages and pools, each filtered by its Audit privilege."""
    state = _state(request)
    wanted = request.params.get("type")
    perms = request.perms
    out: list[dict[str, Any]] = []
    if wanted in (None, "vm"):
        vms: list[dict[str, Any]] = []
        for guest in state.guests.values():
            if not perms.has(f"/vms/{guest.vmid}", "VM.Audit"):
                continue
            entry = state.vm_entry(guest, full=True)
            if "pool" in entry and not perms.has(f"/pool/{entry['pool']}", "Pool.Audit"):
                del entry["pool"]
            vms.append(entry)
        request.rng.shuffle(vms)
        out.extend(vms)
    if wanted in (None, "node"):
        for node in state.nodes.values():
            item: dict[str, Any] = {
                "id": f"node/{node.node}",
                "type": "node",
                "node": node.node,
                "status": node.status,
            }
            if node.status == "online":
                item["level"] = node.level
                if perms.has(f"/nodes/{node.node}", "Sys.Audit"):
                    item.update(state.node_stats(node))
            out.append(item)
    if wanted in (None, "storage"):
        stores: list[dict[str, Any]] = []
        for node in state.nodes.values():
            for sid in state.storages:
                if not state.storage_on_node(sid, node.node):
                    continue
                if not perms.has(f"/storage/{sid}", "Datastore.Audit"):
                    continue
                stores.append(state.storage_entry(sid, node.node))
        request.rng.shuffle(stores)
        out.extend(stores)
    if wanted is None:
        for poolid in sorted(state.pools):
            if perms.has(f"/pool/{poolid}", "Pool.Audit"):
                out.append({"id": f"/pool/{poolid}", "pool": poolid, "type": "pool"})
    return ApiResult(out)


@ROUTER.route("/storage", params={"type": Param("enum", STORAGE_TYPES)})
def storage_index(request: Request) -> ApiResult:
    """storage.cfg entries (+digest), filtered by Datastore.Audit|AllocateSpace, hash order."""
    state = _state(request)
    wanted = request.params.get("type")
    digest = hashlib.sha1(
        json.dumps(state.scenario.storages, sort_keys=True).encode(), usedforsecurity=False
    ).hexdigest()
    out: list[dict[str, Any]] = []
    for sid, scfg in state.storages.items():
        if wanted and scfg["type"] != wanted:
            continue
        if not request.perms.has_any(
            f"/storage/{sid}", ("Datastore.Audit", "Datastore.AllocateSpace")
        ):
            continue
        item = dict(scfg)
        if item["type"] == "pbs":
            item["shared"] = 1
        if item.get("nodes"):
            names = split_list(item["nodes"])
            request.rng.shuffle(names)
            item["nodes"] = ",".join(names)
        item["digest"] = digest
        out.append(item)
    request.rng.shuffle(out)
    return ApiResult(out)


def _pool_members(state: PveState, pool: Pool, kind: str | None) -> list[dict[str, Any]]:
    members: list[dict[str, Any]] = []
    for vmid in pool.members:
        guest = state.guests.get(vmid)
        if guest is None or (kind is not None and kind != guest.type):
            continue
        members.append(state.vm_entry(guest, full=False))
    if kind in (None, "storage"):
        for sid in pool.storage:
            if sid not in state.storages:
                continue
            for node in state.nodes:
                if state.storage_on_node(sid, node):
                    members.append(state.storage_entry(sid, node))
    return members


def _pool_or_500(state: PveState, poolid: str) -> Pool:
    pool = state.pools.get(poolid)
    if pool is None:
        raise ApiError(500, f"pool '{poolid}' does not exist")
    return pool


@ROUTER.route(
    "/pools",
    params={"poolid": Param(), "type": Param("enum", ("qemu", "lxc", "storage"))},
)
def pools(request: Request) -> ApiResult:
    """Pool list (Pool.Audit filtered); with ``poolid`` (8.1+) the members, unchecked."""
    state = _state(request)
    if state.scenario.cluster.api_level == "8.0":
        errors = {
            name: "property is not defined in schema and the schema does not allow "
            "additional properties"
            for name in request.query
        }
        if errors:
            raise param_error(errors)
    poolid = request.params.get("poolid")
    if poolid is None:
        if "type" in request.params:
            raise param_error({"type": "missing property - 'poolid' for 'type'"})
        out = []
        for pool_id in sorted(state.pools):
            if request.perms.has(f"/pool/{pool_id}", "Pool.Audit"):
                item: dict[str, Any] = {"poolid": pool_id}
                if state.pools[pool_id].comment is not None:
                    item["comment"] = state.pools[pool_id].comment
                out.append(item)
        return ApiResult(out)
    pool = _pool_or_500(state, poolid)
    entry: dict[str, Any] = {"poolid": pool.poolid}
    if pool.comment is not None:
        entry["comment"] = pool.comment
    entry["members"] = _pool_members(state, pool, request.params.get("type"))
    return ApiResult([entry])


@ROUTER.route(
    "/pools/{poolid}",
    params={"type": Param("enum", ("qemu", "lxc", "storage"))},
    check=("/pool/{poolid}", ("Pool.Audit",)),
)
def pool_read(request: Request) -> ApiResult:
    """Deprecated single-pool read: ``{comment?, members}``."""
    state = _state(request)
    pool = _pool_or_500(state, request.path_params["poolid"])
    data: dict[str, Any] = {}
    if pool.comment is not None:
        data["comment"] = pool.comment
    data["members"] = _pool_members(state, pool, request.params.get("type"))
    return ApiResult(data)


# --------------------------------------------------------------------------- routes: backup
@ROUTER.route("/cluster/backup", check=("/", ("Sys.Audit",)))
def backup_jobs(request: Request) -> ApiResult:
    """Legacy vzdump.cron jobs then jobs.cfg ones; the latter with ``next-run``."""
    state = _state(request)
    out: list[dict[str, Any]] = [dict(job) for job in state.legacy_jobs]
    now = state.now()
    tz = state.cluster_tz()
    for job in state.jobs:
        item = dict(job)
        schedule = item.get("schedule")
        if schedule:
            nxt = next_run(str(schedule), now, tz)
            if nxt is not None:
                item["next-run"] = nxt
        out.append(item)
    return ApiResult(out)


@ROUTER.route("/cluster/backup/{id}", check=("/", ("Sys.Audit",)))
def backup_job(request: Request) -> ApiResult:
    """One job, without ``next-run``; unknown id -> 400."""
    return ApiResult(dict(_state(request).find_job(request.path_params["id"])))


def _volume_children(guest: Guest) -> list[dict[str, Any]]:
    children: list[dict[str, Any]] = []
    config = guest.config
    for key in sorted(config):
        value = str(config[key])
        if guest.type == "qemu":
            if not QEMU_DISK_RE.match(key):
                continue
            volume, options = volume_props(value)
            if options.get("media") == "cdrom" or volume == "none":
                continue
            if key == "efidisk0" and config.get("bios") != "ovmf":
                included, reason = 0, "efidisk but no OVMF BIOS"
            elif "backup" in options:
                included = 0 if options["backup"] in ("0", "no", "off", "false") else 1
                reason = "backup=no"
            else:
                included, reason = 1, "backup=yes"
        else:
            if key != "rootfs" and not LXC_MP_RE.match(key):
                continue
            volume, options = volume_props(value)
            if key == "rootfs":
                included, reason = 1, "rootfs"
            elif volume.startswith("/"):
                included, reason = 0, "not a volume"
            elif options.get("backup") in ("1", "yes", "on", "true"):
                included, reason = 1, "enabled"
            else:
                included, reason = 0, "disabled"
        children.append(
            {
                "id": f"{guest.vmid}:{key}",
                "name": volume,
                "included": included,
                "reason": reason,
                "leaf": 1,
            }
        )
    return children


@ROUTER.route("/cluster/backup/{id}/included_volumes", check=("/", ("Sys.Audit",)))
def included_volumes(request: Request) -> ApiResult:
    """Volume tree of the guests a job selects (VM.Audit filtered)."""
    state = _state(request)
    job = state.find_job(request.path_params["id"])
    selected = state.select(job)
    children: list[dict[str, Any]] = []
    for vmid in sorted(v for ids in selected.values() for v in ids):
        if not request.perms.has(f"/vms/{vmid}", "VM.Audit"):
            continue
        guest = state.guests.get(vmid)
        if guest is None:
            children.append({"id": vmid, "type": "unknown", "leaf": 1})
            continue
        vols = _volume_children(guest)
        entry: dict[str, Any] = {"id": vmid, "type": guest.type, "leaf": 0 if vols else 1}
        if guest.display_name is not None:
            entry["name"] = guest.display_name
        entry["children"] = vols
        children.append(entry)
    return ApiResult({"children": children})


@ROUTER.route("/cluster/backup-info")
def backup_info_index(request: Request) -> ApiResult:
    """No permissions key in PVE: only root@pam may call it."""
    if not request.perms.root:
        raise ApiError(403, "Permission check failed (user != root@pam)")
    return ApiResult([{"subdir": "not-backed-up"}])


@ROUTER.route("/cluster/backup-info/not-backed-up", check=("/", ("Sys.Audit",)))
def not_backed_up(request: Request) -> ApiResult:
    """Guests selected by no job at all — disabled jobs and any storage count as coverage."""
    state = _state(request)
    covered: set[int] = set()
    for job in state.all_jobs():
        for node, ids in state.select(job).items():
            if node:
                covered.update(ids)
    out: list[dict[str, Any]] = []
    for guest in state.guests.values():
        if guest.vmid in covered or not request.perms.has(f"/vms/{guest.vmid}", "VM.Audit"):
            continue
        item: dict[str, Any] = {"vmid": guest.vmid, "type": guest.type}
        key = "name" if guest.type == "qemu" else "hostname"
        name = guest.config.get(key, guest.name)
        if name is not None:
            item["name"] = name
        out.append(item)
    request.rng.shuffle(out)
    return ApiResult(out)


# --------------------------------------------------------------------------- routes: tasks
@ROUTER.route("/cluster/tasks")
def cluster_tasks(request: Request) -> ApiResult:
    """Per node: running tasks + newest finished up to 25 (and < 32 KiB); hash node order."""
    state = _state(request)
    if not request.perms.has("/", "Sys.Audit"):
        return ApiResult([])  # a token's id never equals a task's (split) user
    node_names = list(state.nodes)
    request.rng.shuffle(node_names)
    out: list[dict[str, Any]] = []
    for name in node_names:
        tasks = state.tasks_by_node[name]
        running = [t for t in tasks if t.running]
        finished = [t for t in tasks if not t.running]
        chosen = running + finished[: max(0, CLUSTER_TASKS_PER_NODE - len(running))]
        size = 2
        for task in chosen:
            info = state.task_info[task.upid]
            item = {k: v for k, v in info.items() if k not in ("pid", "pstart")}
            if task.running:
                item["pid"] = info["pid"]
                item["pstart"] = info["pstart"]
            else:
                item["endtime"] = task.endtime
                item["status"] = task.status
                item["saved"] = "1" if info["pid"] % 2 == 0 else 1
            size += len(json.dumps(item)) + 1
            if size >= CLUSTER_TASKS_MAX_JSON:
                break
            out.append(item)
    return ApiResult(out)


_STATUS_KINDS = ("ok", "warning", "error", "unknown")


def normalize_status(status: str | None) -> str:
    """PVE's ``upid_normalize_status_type``."""
    if not status:
        return "unknown"
    if status == "OK":
        return "ok"
    if re.fullmatch(r"WARNINGS: \d+", status):
        return "warning"
    if status == "unknown":
        return "unknown"
    return "error"


@ROUTER.route(
    "/nodes/{node}/tasks",
    params={
        "node": Param("node"),
        "start": Param("int", minimum=0),
        "limit": Param("int", minimum=0),
        "userfilter": Param(),
        "typefilter": Param(),
        "vmid": Param("vmid"),
        "errors": Param("bool"),
        "source": Param("enum", ("archive", "active", "all")),
        "since": Param("int"),
        "until": Param("int"),
        "statusfilter": Param("list", _STATUS_KINDS),
    },
    proxy=True,
)
def node_tasks(request: Request) -> ApiResult:
    """Task list of a node (archive by default), newest first, filtered then paged."""
    state = _state(request)
    params = request.params
    node = params["node"]
    source = params.get("source", "archive")
    start = params.get("start", 0)
    limit = params.get("limit", 50)
    auditor = request.perms.has(f"/nodes/{node}", "Sys.Audit")
    candidates: list[Task] = []
    if source in ("active", "all"):
        candidates.extend(t for t in state.tasks_by_node[node] if t.running)
    if source in ("archive", "all"):
        candidates.extend(state.archive_by_node[node])
    vmid = str(params["vmid"]) if "vmid" in params else None
    statuses = set(params["statusfilter"]) if params.get("statusfilter") else None
    userfilter = str(params.get("userfilter") or "").lower()
    matched: list[dict[str, Any]] = []
    for task in candidates:
        info = state.task_info[task.upid]
        if not auditor and not state.is_own(info, request.token_id):
            continue
        item = state.task_item(task, running_status=True)
        if userfilter and userfilter not in str(info["user"]).lower():
            continue
        if params.get("typefilter") and info["type"] != params["typefilter"]:
            continue
        if vmid is not None and info["id"] != vmid:
            continue
        if params.get("errors") and item.get("status") == "OK":
            continue
        if "since" in params and info["starttime"] < params["since"]:
            continue
        if "until" in params and info["starttime"] > params["until"]:
            continue
        if statuses is not None and normalize_status(item.get("status")) not in statuses:
            continue
        matched.append(item)
    page = matched[start : start + limit] if limit else []
    return ApiResult(page, total=len(matched))


def _upid_or_400(request: Request) -> dict[str, Any]:
    try:
        return decode_upid(request.path_params["upid"])
    except ValueError as exc:
        raise param_error({"upid": "unable to parse worker upid"}) from exc


def _task_access(request: Request, info: dict[str, Any]) -> None:
    state = _state(request)
    node = request.params["node"]
    if not state.is_own(info, request.token_id) and not request.perms.has(
        f"/nodes/{node}", "Sys.Audit"
    ):
        raise ApiError(403, f"Permission check failed (/nodes/{node}, Sys.Audit)")


@ROUTER.route("/nodes/{node}/tasks/{upid}", params={"node": Param("node")}, proxy=True)
def task_index(request: Request) -> ApiResult:
    """Sub-directories of a task."""
    _upid_or_400(request)
    return ApiResult([{"name": "log"}, {"name": "status"}])


@ROUTER.route(
    "/nodes/{node}/tasks/{upid}/log",
    params={
        "node": Param("node"),
        "start": Param("int", minimum=0),
        "limit": Param("int", minimum=0),
        "download": Param("bool"),
    },
    proxy=True,
)
def task_log(request: Request) -> ApiResult:
    """Log lines ``{n,t}``; limit default 50, ``limit=0`` = all; total = line count."""
    state = _state(request)
    info = _upid_or_400(request)
    _task_access(request, info)
    task = state.tasks.get(info["upid"])
    if task is None or info["node"] != request.params["node"]:
        return ApiResult([{"n": 1, "t": "unable to open file - No such file or directory"}], 1)
    lines = state.task_log(task)
    if not lines:
        return ApiResult([{"n": 1, "t": "no content"}], 1)
    start = request.params.get("start", 0)
    limit = request.params.get("limit", 50)
    chosen = lines[start:] if limit == 0 else lines[start : start + limit]
    return ApiResult(
        [{"n": start + i + 1, "t": text} for i, text in enumerate(chosen)], total=len(lines)
    )


@ROUTER.route("/nodes/{node}/tasks/{upid}/status", params={"node": Param("node")}, proxy=True)
def task_status(request: Request) -> ApiResult:
    """Task status: running/stopped with ``exitstatus`` when stopped."""
    state = _state(request)
    info = _upid_or_400(request)
    _task_access(request, info)
    task = state.tasks.get(info["upid"])
    if task is None or info["node"] != request.params["node"]:
        raise param_error({"upid": "no such task"})
    data = dict(state.task_info[task.upid])
    if task.running:
        data["status"] = "running"
    else:
        data["status"] = "stopped"
        data["exitstatus"] = task.status
    return ApiResult(data)


# --------------------------------------------------------------------------- routes: guests
def _guest_config(request: Request, kind: str) -> ApiResult:
    state = _state(request)
    node = request.params["node"]
    vmid = int(request.params["vmid"])
    guest = state.guests.get(vmid)
    folder = "qemu-server" if kind == "qemu" else "lxc"
    if guest is None or guest.node != node or guest.type != kind:
        raise ApiError(
            500, f"Configuration file 'nodes/{node}/{folder}/{vmid}.conf' does not exist"
        )
    config = dict(guest.config)
    name_key = "name" if kind == "qemu" else "hostname"
    if name_key not in config and guest.name is not None:
        config[name_key] = guest.name
    if guest.tags and "tags" not in config:
        config["tags"] = guest.tags
    if guest.template and "template" not in config:
        config["template"] = 1
    if guest.lock and "lock" not in config:
        config["lock"] = guest.lock
    description = config.get("description")
    if isinstance(description, str):
        lines = [line for line in description.split("\n")]
        if kind == "qemu":
            config["description"] = description.rstrip()
        else:
            kept = [line for line in lines if line.strip()]
            config["description"] = "".join(line + "\n" for line in kept)
    config["digest"] = hashlib.sha1(
        json.dumps(guest.config, sort_keys=True).encode(), usedforsecurity=False
    ).hexdigest()
    return ApiResult(config)


_CONFIG_PARAMS = {
    "node": Param("node"),
    "vmid": Param("vmid"),
    "current": Param("bool"),
    "snapshot": Param(),
}


@ROUTER.route(
    "/nodes/{node}/qemu/{vmid}/config",
    params=_CONFIG_PARAMS,
    check=("/vms/{vmid}", ("VM.Audit",)),
    proxy=True,
)
def qemu_config(request: Request) -> ApiResult:
    """VM config read from the node's own directory."""
    return _guest_config(request, "qemu")


@ROUTER.route(
    "/nodes/{node}/lxc/{vmid}/config",
    params=_CONFIG_PARAMS,
    check=("/vms/{vmid}", ("VM.Audit",)),
    proxy=True,
)
def lxc_config(request: Request) -> ApiResult:
    """CT config (description keeps its trailing newline)."""
    return _guest_config(request, "lxc")


# --------------------------------------------------------------------------- routes: storage
@ROUTER.route(
    "/nodes/{node}/storage/{storage}/content",
    params={"node": Param("node"), "content": Param(), "vmid": Param("vmid")},
    check=("/storage/{storage}", ("Datastore.Audit", "Datastore.AllocateSpace")),
    proxy=True,
)
def storage_content(request: Request) -> ApiResult:
    """Backup volumes, silently filtered by Datastore.Allocate or AllocateSpace+VM.Backup."""
    state = _state(request)
    node = request.params["node"]
    sid = request.path_params["storage"]
    scfg = state.storages.get(sid)
    if scfg is None:
        raise ApiError(500, f"storage '{sid}' does not exist")
    if scfg.get("disable"):
        raise ApiError(500, f"storage '{sid}' is disabled")
    if not state.storage_on_node(sid, node):
        raise ApiError(500, f"storage '{sid}' is not available on node '{node}'")
    content = request.params.get("content")
    if content is not None and content != "backup":
        return ApiResult([])
    items = state.backup_content(sid, node)
    if "vmid" in request.params:
        items = [item for item in items if item.get("vmid") == request.params["vmid"]]
    perms = request.perms
    allocate = perms.has(f"/storage/{sid}", "Datastore.Allocate")
    space = perms.has(f"/storage/{sid}", "Datastore.AllocateSpace")
    visible: list[dict[str, Any]] = []
    for item in items:
        if allocate or (
            space
            and item.get("vmid") is not None
            and perms.has(f"/vms/{item['vmid']}", "VM.Backup")
        ):
            visible.append(item)
    return ApiResult(visible)

"""Large scenario generator and lazy vzdump-log renderer.

Why: the tool must stay fast on big clusters (40 nodes, 4,000 guests, 150 jobs, a month of
history). Storing every log line of such a history would cost gigabytes, so generated tasks
carry a compact ``synth`` recipe (job id + per-guest outcome and duration) and the log is
rendered on demand, following the line rules of pve-api.md §4, when a client asks for it.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from pve_backup_report.simulator.scenario import (
    Guest,
    SynthGuest,
    SynthLog,
    Task,
    split_list,
)

if TYPE_CHECKING:
    from pve_backup_report.simulator.routes_pve import PveState

_SKIP_OPTIONS = {"id", "type", "schedule", "enabled", "comment", "next-run", "repeat-missed",
                 "vmid", "starttime", "dow", "job-id", "stdout"}  # fmt: skip
FAILED_OUTCOMES = {"fail", "missing", "locked"}


# --------------------------------------------------------------------------- formatting
def render_bytes(value: float) -> str:
    """PVE ``render_bytes(x, 1)``: ``1.1 GiB``."""
    units = ["B", "KiB", "MiB", "GiB", "TiB"]
    index = 0
    while value >= 1024 and index < len(units) - 1:
        value /= 1024
        index += 1
    return f"{value:.0f} {units[index]}" if index == 0 else f"{value:.1f} {units[index]}"


def render_bytes2(value: float) -> str:
    """Two-decimal variant used by ``transferred``/``sparse`` lines."""
    units = ["B", "KiB", "MiB", "GiB", "TiB"]
    index = 0
    while value >= 1024 and index < len(units) - 1:
        value /= 1024
        index += 1
    return f"{value:.2f} {units[index]}"


def format_size(value: int) -> str:
    """vzdump's ``archive file size`` figure: binary multiples written KB/MB/GB/TB, whole numbers
    up to MB (truncated), two decimals from GB on: ``189MB``, ``1.60GB``."""
    kib = value / 1024
    if kib < 1024:
        return f"{int(kib)}KB"
    mib = kib / 1024
    if mib < 1024:
        return f"{int(mib)}MB"
    gib = mib / 1024
    if gib < 1024:
        return f"{gib:.2f}GB"
    return f"{gib / 1024:.2f}TB"


def render_duration(seconds: int) -> str:
    """``8s`` or ``1m 37s`` like the qemu progress lines."""
    if seconds < 60:
        return f"{seconds}s"
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {rest}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes}m {rest}s"


def hms(seconds: int) -> str:
    """``HH:MM:SS`` of the ``Finished Backup`` line."""
    hours, rest = divmod(seconds, 3600)
    return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


def shell_quote(value: str) -> str:
    """Quote like PVE's command_line: plain when only safe characters, else single quotes."""
    safe = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@,")
    if value and all(char in safe for char in value):
        return value
    return "'" + value.replace("'", "'\"'\"'") + "'"


def property_string(value: Any) -> str:
    """Objects (prune-backups, fleecing, performance) print as ``k=v,k=v``."""
    if isinstance(value, dict):
        return ",".join(f"{key}={val}" for key, val in value.items())
    return str(value)


def synth_status(guests: list[SynthGuest], error: str | None) -> str | None:
    """The task status a synth recipe produces (None = still running)."""
    if error:
        return error
    if any(g.outcome == "running" for g in guests):
        return None
    if any(g.outcome in FAILED_OUTCOMES for g in guests):
        return "job errors"
    warnings = sum(1 for g in guests if g.outcome == "warn")
    return f"WARNINGS: {warnings}" if warnings else "OK"


# --------------------------------------------------------------------------- rendering
class _Clock:
    def __init__(self, start: int, tz: str) -> None:
        self.t = start
        self.zone = ZoneInfo(tz)

    def local(self, epoch: int | None = None) -> str:
        moment = dt.datetime.fromtimestamp(self.t if epoch is None else epoch, self.zone)
        return moment.strftime("%Y-%m-%d %H:%M:%S")

    def ctime(self, epoch: int) -> str:
        moment = dt.datetime.fromtimestamp(epoch, self.zone)
        return moment.strftime("%a %b %e %H:%M:%S %Y")

    def file_stamp(self, epoch: int) -> str:
        return dt.datetime.fromtimestamp(epoch, self.zone).strftime("%Y_%m_%d-%H_%M_%S")

    @staticmethod
    def utc(epoch: int) -> str:
        return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _header(
    job: dict[str, Any], guests: list[int], info: dict[str, Any], rng: random.Random
) -> str:
    positional = " ".join(split_list(job["vmid"])) if job.get("vmid") else ""
    if not job:
        positional = " ".join(str(v) for v in guests)
    options: list[str] = []
    for key, value in job.items():
        if key in _SKIP_OPTIONS or value in (None, ""):
            continue
        options.append(f"--{key} {shell_quote(property_string(value))}")
    if info["user"] == "root@pam" and not info.get("tokenid") and job:
        options.append("--quiet 1")
    rng.shuffle(options)
    parts = ["vzdump"] + ([positional] if positional else []) + options
    return "INFO: starting new backup job: " + " ".join(parts)


def _disks(guest: Guest) -> list[tuple[str, str, dict[str, str]]]:
    from pve_backup_report.simulator.routes_pve import QEMU_DISK_RE, volume_props

    out: list[tuple[str, str, dict[str, str]]] = []
    for key in sorted(guest.config):
        if QEMU_DISK_RE.match(key):
            volume, options = volume_props(str(guest.config[key]))
            if options.get("media") == "cdrom" or volume == "none":
                continue
            out.append((key, volume, options))
    return out


def _mountpoints(guest: Guest) -> list[tuple[str, str, dict[str, str]]]:
    from pve_backup_report.simulator.routes_pve import LXC_MP_RE, volume_props

    out = []
    for key in sorted(guest.config):
        if LXC_MP_RE.match(key):
            volume, options = volume_props(str(guest.config[key]))
            out.append((key, volume, options))
    return out


def _size_of(options: dict[str, str]) -> int:
    from pve_backup_report.simulator.routes_pve import _size_bytes

    return _size_bytes(options.get("size", "0"))


class _Renderer:
    def __init__(self, state: PveState, task: Task, synth: SynthLog) -> None:
        self.state = state
        self.task = task
        self.synth = synth
        self.info = state.task_info[task.upid]
        self.node = self.info["node"]
        self.clock = _Clock(self.info["starttime"], state.nodes[self.node].timezone)
        self.rng = random.Random(f"{task.upid}:{synth.seed}")
        self.job: dict[str, Any] = state._job_by_id(synth.job) or {}
        sid = str(self.job.get("storage", "local"))
        self.sid = sid
        self.scfg: dict[str, Any] = state.storages.get(sid, {"type": "dir", "path": "/var/lib/vz"})
        self.pbs = self.scfg.get("type") == "pbs"
        self.lines: list[str] = []
        self._snapshot = False

    def out(self, text: str) -> None:
        self.lines.append(text)

    def render(self) -> list[str]:
        synth = self.synth
        if synth.lock_wait:
            self.out("INFO: trying to get global lock - waiting...")
            self.out("INFO: got global lock")
            self.clock.t += synth.lock_wait
        if synth.error:
            self.out(f"TASK ERROR: {synth.error}")
            return self.lines
        vmids = [g.vmid for g in synth.guests]
        self.out(_header(self.job, vmids, self.info, self.rng))
        self.clock.t += 1
        external = self._external()
        if external:
            self.out("INFO: skip external VMs: " + ", ".join(str(v) for v in external))
        warnings = 0
        failed = False
        for entry in synth.guests:
            guest = self.state.guests.get(entry.vmid)
            if entry.outcome == "missing" or guest is None:
                self.out(
                    f"ERROR: Backup of VM {entry.vmid} failed - unable to find VM '{entry.vmid}'"
                )
                self.out(f"INFO: Failed at {self.clock.local()}")
                failed = True
                continue
            if entry.outcome == "running":
                self._guest(guest, entry)
                return self.lines
            self._guest(guest, entry)
            warnings += entry.outcome == "warn"
            failed = failed or entry.outcome in FAILED_OUTCOMES
        if failed:
            self.out("INFO: Backup job finished with errors")
        else:
            self.out("INFO: Backup job finished successfully")
        if self.job.get("notification-mode") == "notification-system" or self.job.get("mailto"):
            self.out("INFO: notified via target `mail-to-root`")
        if failed:
            self.out("TASK ERROR: job errors")
        elif warnings:
            self.out(f"TASK WARNINGS: {warnings}")
        else:
            self.out("TASK OK")
        return self.lines

    def _external(self) -> list[int]:
        if not self.job:
            return []
        try:
            selected = self.state.select(self.job)
        except Exception:
            return []
        return sorted(
            v for node, ids in selected.items() if node not in ("", self.node) for v in ids
        )

    # ---------------------------------------------------------------- guest blocks
    def _guest(self, guest: Guest, entry: SynthGuest) -> None:
        start = self.clock.t
        running = guest.status == "running"
        mode = "stop" if not running else str(self.job.get("mode", "snapshot"))
        self.out(f"INFO: Starting Backup of VM {guest.vmid} ({guest.type})")
        self.out(f"INFO: Backup started at {self.clock.local()}")
        if entry.outcome == "locked":
            what = "VM" if guest.type == "qemu" else "CT"
            self.out(f"ERROR: Backup of VM {guest.vmid} failed - {what} is locked (snapshot)")
            self.clock.t += 1
            self.out(f"INFO: Failed at {self.clock.local()}")
            return
        self.out(f"INFO: status = {'running' if running else 'stopped'}")
        if guest.type == "qemu":
            self._qemu(guest, entry, running, mode, start)
        else:
            self._lxc(guest, entry, mode, start)

    def _archive(self, guest: Guest, start: int) -> str:
        kind = "vm" if guest.type == "qemu" else "ct"
        if self.pbs:
            stamp = self.clock.utc(start)
            return f"INFO: creating Proxmox Backup Server archive '{kind}/{guest.vmid}/{stamp}'"
        base = str(self.scfg.get("path") or f"/mnt/pve/{self.sid}")
        ext = "vma.zst" if guest.type == "qemu" else "tar.zst"
        name = f"vzdump-{guest.type}-{guest.vmid}-{self.clock.file_stamp(start)}.{ext}"
        return f"INFO: creating vzdump archive '{base}/dump/{name}'"

    def _tail(self, guest: Guest, entry: SynthGuest, start: int) -> None:
        if self.job.get("notes-template"):
            self.out("INFO: adding notes to backup")
        if self.job.get("protected"):
            self.out("INFO: marking backup as protected")
        prune = self.job.get("prune-backups")
        if isinstance(prune, dict) and prune and "keep-all" not in prune:
            rendered = ", ".join(f"{k}={v}" for k, v in prune.items())
            self.out(f"INFO: prune older backups with retention: {rendered}")
            pruned = self.rng.choice((0, 1, 1, 1))
            if self.pbs:
                kind = "vm" if guest.type == "qemu" else "ct"
                self.out(f"INFO: running 'proxmox-backup-client prune' for '{kind}/{guest.vmid}'")
            elif pruned:
                self.out(
                    f"INFO: removing backup '{self.sid}:backup/"
                    f"vzdump-{guest.type}-{guest.vmid}-old'"
                )
            suffix = " not covered by keep-retention policy" if pruned else ""
            self.out(f"INFO: pruned {pruned} backup(s){suffix}")
        if guest.type == "lxc" and self._snapshot:
            self.out("INFO: cleanup temporary 'vzdump' snapshot")
            self._lvm_removed(guest)
        end = start + max(entry.duration, 1)
        self.clock.t = end
        self.out(f"INFO: Finished Backup of VM {guest.vmid} ({hms(end - start)})")
        self.out(f"INFO: Backup finished at {self.clock.local()}")
        self._log_end_hook(guest)

    def _efi_warning(self, guest: Guest) -> None:
        """PVE 9, starting a VM whose EFI disk lacks the 2023 certificates: one warning whose
        lines after the first have no level (log_warn prefixes a message once), then plain
        prints, a blank line included. Wording is the simulator's own."""
        self.lines.extend(
            [
                "WARN: efidisk0 lacks 'ms-cert=2023k': the Microsoft UEFI 2023 certificates",
                "may not all be enrolled in this VM.",
                "The 2011 certificates expire in 2026; secure boot updates need the new ones.",
                f"Enroll them from the disk actions, or run 'qm enroll-efi-keys {guest.vmid}'"
                " with the VM off.",
                "",
                "With BitLocker, first suspend the protectors of every encrypted drive, e.g.",
                "  manage-bde -protectors -disable C:",
                "or the next boot asks for the recovery key.",
            ]
        )

    def _lvm_removed(self, guest: Guest) -> None:
        rootfs = str(guest.config.get("rootfs", "")).split(",")[0]
        if rootfs.startswith("local-lvm:"):
            volume = rootfs.split(":")[1]
            self.out(f'  Logical volume "snap_{volume}_vzdump" successfully removed.')

    def _log_end_hook(self, guest: Guest) -> None:
        """A job's hook script runs once more after the guest's end line (phase ``log-end``):
        what it prints through vzdump gets ``INFO:``, what it writes itself has no level."""
        if not self.job.get("script"):
            return
        self.out(f"INFO: vzdump-hook: log-end for {guest.type} {guest.vmid}")
        self.out(f"vzdump-hook: kept /var/log/vzdump/{guest.type}-{guest.vmid}.log")

    def _fail(self, guest: Guest, start: int, error: str, more: tuple[str, ...] = ()) -> None:
        """The failure lines; ``more`` are the next lines of a multi-line error (one ``ERROR:``
        line each, as vzdump prints them)."""
        self.out(f"ERROR: Backup of VM {guest.vmid} failed - {error}")
        self.lines.extend(f"ERROR: {line}" for line in more)
        self.clock.t = start + 4
        self.out(f"INFO: Failed at {self.clock.local()}")
        self._log_end_hook(guest)

    def _qemu(self, guest: Guest, entry: SynthGuest, running: bool, mode: str, start: int) -> None:
        self._snapshot = False
        disks = _disks(guest)
        name = guest.display_name or f"vm{guest.vmid}"
        head = [f"INFO: VM Name: {name}"]
        total = 0
        for key, volume, options in disks:
            if options.get("backup") in ("0", "no", "off"):
                head.append(f"INFO: exclude disk '{key}' '{volume}' (backup=no)")
            else:
                head.append(f"INFO: include disk '{key}' '{volume}' {options.get('size', '1G')}")
                total += _size_of(options)
        total = total or 8 << 30
        mode_lines = [f"INFO: backup mode: {mode}", "INFO: ionice priority: 7"]
        efidisk = str(guest.config.get("efidisk0", ""))
        efi_warning = (
            entry.outcome == "warn"
            and not running
            and not guest.config.get("template")
            and str(guest.config.get("bios")) == "ovmf"
            and bool(efidisk)
            and "ms-cert=2023k" not in efidisk
        )
        if entry.outcome == "warn" and not efi_warning:
            mode_lines.append("WARN: no efidisk configured! Using temporary efivars disk.")
        if running:
            self.lines.extend(head + mode_lines)
        else:
            self.lines.extend(mode_lines + head)
        self.out(self._archive(guest, start))
        agent = str(guest.config.get("agent", "0")).startswith("1")
        if running and agent:
            self.out("INFO: issuing guest-agent 'fs-freeze' command")
            self.out("INFO: issuing guest-agent 'fs-thaw' command")
        elif running:
            self.out("INFO: skipping guest-agent 'fs-freeze', agent not configured in VM options")
        else:
            self.out("INFO: starting kvm to execute backup task")
        if efi_warning:
            self._efi_warning(guest)
        if entry.outcome == "fail" and not running and disks:
            # QEMU cannot open a disk: its message has no level, vzdump's error says "start"
            key, volume = next((d for d in disks if d[0].startswith(("scsi", "sata"))), disks[0])[
                :2
            ]
            path = f"/dev/zvol/rpool/data/{volume.split(':')[-1]}"
            self.out(
                f"kvm: -drive file={path},if=none,id=drive-{key},format=raw: "
                f"Could not open '{path}': No such file or directory"
            )
            self._fail(guest, start, "start failed: QEMU exited with code 1")
            return
        if entry.outcome == "fail":
            error = (
                f"VM {guest.vmid} qmp command 'backup' failed - backup connect failed: "
                "command error: No space left on device (os error 28)"
            )
            self.out(f"ERROR: {error}")
            self.out("INFO: aborting backup job")
            if running:
                self.out("INFO: resuming VM again")
            self._fail(guest, start, error)
            return
        self.out(
            f"INFO: started backup task '{uuid.UUID(int=self.rng.getrandbits(128), version=4)}'"
        )
        if running:
            self.out("INFO: resuming VM again")
        seconds = max(entry.duration - 4, 1)
        if self.pbs:
            dirty = total * self.rng.randint(1, 15) // 100 if running else total
            for key, _volume, options in disks:
                if options.get("backup") in ("0", "no", "off"):
                    continue
                status = (
                    "created new"
                    if not running
                    else (
                        f"OK ({render_bytes(_size_of(options) * 0.05)} of "
                        f"{render_bytes(_size_of(options))} dirty)"
                    )
                )
                self.out(f"INFO: {key}: dirty-bitmap status: {status}")
            if running:
                self.out(
                    f"INFO: using fast incremental mode (dirty-bitmap), {render_bytes(dirty)} "
                    f"dirty of {render_bytes(total)} total"
                )
        else:
            dirty = total
        # every tenth running guest on a backup server has a sub-second incremental run: QEMU
        # then prints "in 0s" and "transferred <size> in <1 seconds"
        subsecond = self.pbs and running and guest.vmid % 10 == 0
        steps = 1 if seconds < 4 or subsecond else min(4, seconds // 3)
        if entry.outcome == "running":
            steps = 1
        for index in range(1, steps + 1):
            pct = 100 if index == steps else index * 100 // (steps + 1)
            done = dirty * pct // 100
            elapsed = 0 if subsecond else max(1, seconds * index // steps)
            rate = dirty / max(seconds, 1)
            if entry.outcome == "running":
                pct, done = 37, dirty * 37 // 100
            self.out(
                f"INFO: {pct:3d}% ({render_bytes(done)} of {render_bytes(dirty)}) in "
                f"{render_duration(elapsed)}, read: {render_bytes(rate)}/s, "
                f"write: {render_bytes(rate * 0.97)}/s"
            )
        if entry.outcome == "running":
            return
        zero = total * self.rng.randint(0, 40) // 100
        self.out(
            f"INFO: backup is sparse: {render_bytes2(zero)} ({zero * 100 // total}%) "
            "total zero data"
        )
        if self.pbs and running:
            reused = total - dirty
            self.out(
                "INFO: backup was done incrementally, reused "
                f"{render_bytes2(reused)} ({reused * 100 // total}%)"
            )
        if subsecond:
            self.out(f"INFO: transferred {render_bytes2(dirty)} in <1 seconds")
        else:
            self.out(
                f"INFO: transferred {render_bytes2(dirty)} in {seconds} seconds "
                f"({render_bytes(dirty / seconds)}/s)"
            )
        if not running:
            self.out("INFO: stopping kvm after backup task")
        if not self.pbs:
            self.out(f"INFO: archive file size: {format_size(dirty * 45 // 100)}")
        self._tail(guest, entry, start)

    def _lxc(self, guest: Guest, entry: SynthGuest, mode: str, start: int) -> None:
        name = guest.display_name or f"ct{guest.vmid}"
        self.out(f"INFO: CT Name: {name}")
        self.out("INFO: including mount point rootfs ('/') in backup")
        for key, volume, options in _mountpoints(guest):
            where = options.get("mp", "/mnt")
            if volume.startswith("/"):
                continue
            if options.get("backup") in ("1", "yes", "on"):
                self.out(f"INFO: including mount point {key} ('{where}') in backup")
            else:
                self.out(
                    f"INFO: excluding volume mount point {key} ('{where}') from backup (disabled)"
                )
        self.out(f"INFO: backup mode: {mode}")
        self.out("INFO: ionice priority: 7")
        self._snapshot = mode == "snapshot"
        rootfs = str(guest.config.get("rootfs", "")).split(",")[0]
        lvm = rootfs.startswith("local-lvm:") and self._snapshot
        if self._snapshot:
            self.out("INFO: create storage snapshot 'vzdump'")
            if entry.outcome == "fail" and guest.vmid % 2 == 0:
                # a storage plugin's multi-line error: a generic first line, the cause after it
                volume = f"vm-{guest.vmid}-disk-0"
                self._fail(
                    guest,
                    start,
                    "API Return-Code: 500. Message: Could not create snapshot of resource "
                    f"'{volume}', because:",
                    (
                        f"Not enough free space available for volume 0 of resource '{volume}' "
                        f"on node '{self.node}'",
                        f"Failed to adjust DRBD resource {volume}",
                    ),
                )
                return
            if lvm:  # lvcreate's own output, printed without a level
                self.out(f'  Logical volume "snap_{rootfs.split(":")[1]}_vzdump" created.')
        self.out(self._archive(guest, start))
        if entry.outcome == "warn":
            self.out("WARN: file '/var/log/journal/system.journal' changed while reading")
        pid = self.info["pid"]
        if self.pbs:
            user = self.scfg.get("username", "root@pam")
            server = self.scfg.get("server", "pbs")
            repo = f"{user}@{server}:{self.scfg.get('datastore', 'store1')}"
            namespace = f" --ns {self.scfg['namespace']}" if self.scfg.get("namespace") else ""
            conf = f"/var/tmp/vzdumptmp{pid}_{guest.vmid}/etc/vzdump/pct.conf"  # noqa: S108
            command = (
                f"/usr/bin/proxmox-backup-client backup --crypt-mode=none pct.conf:{conf} "
                "root.pxar:/mnt/vzsnap0 --include-dev /mnt/vzsnap0/./ --skip-lost-and-found "
                "--exclude=/tmp/?* --exclude=/var/tmp/?* --exclude=/var/run/?*.pid "
                f"--backup-type ct --backup-id {guest.vmid} --backup-time {start} "
                f"--entries-max 1048576 --repository {repo}{namespace}"
            )
            self.out("INFO: set max number of entries in memory for file-based backups to 1048576")
            self.out(f"INFO: run: {command}")
            self.out(f"INFO: Starting backup: ct/{guest.vmid}/{self.clock.utc(start)}")
            self.out(f"INFO: Client name: {self.node}")
            self.out(f"INFO: Starting backup protocol: {self.clock.ctime(start + 1)}")
            if entry.outcome == "fail":
                self.out(
                    "INFO: Error: error trying to connect: tcp connect error: "
                    "Connection refused (os error 111)"
                )
                if self._snapshot:
                    self.out("INFO: cleanup temporary 'vzdump' snapshot")
                    self._lvm_removed(guest)
                self._fail(guest, start, f"command '{command}' failed: exit code 255")
                return
            if entry.outcome == "running":
                self.out(f"INFO: Upload config file '{conf}' to '{repo}' as pct.conf.blob")
                return
            size = guest_disk(guest)
            changed = size * self.rng.randint(1, 5) / 100
            seconds = max(entry.duration - 4, 1)
            self.out(f"INFO: Downloading previous manifest ({self.clock.ctime(start - 86400)})")
            self.out(f"INFO: Upload config file '{conf}' to '{repo}' as pct.conf.blob")
            self.out(f"INFO: Upload directory '/mnt/vzsnap0' to '{repo}' as root.pxar.didx")
            self.out(
                f"INFO: root.pxar: had to backup {changed / 2**20:.3f} MiB of "
                f"{size / 2**30:.3f} GiB "
                f"(compressed {changed / 2**20 / 3:.3f} MiB) in {seconds:.2f} s "
                f"(average {changed / 2**20 / seconds:.3f} MiB/s)"
            )
            self.out(
                f"INFO: root.pxar: backup was done incrementally, reused "
                f"{(size - changed) / 2**30:.3f} GiB ({(size - changed) * 100 / size:.1f}%)"
            )
            self.out(
                "INFO: Uploaded backup catalog "
                f"({self.rng.randint(100, 900)}.{self.rng.randint(100, 999)} KiB)"
            )
            self.out(f"INFO: Duration: {seconds + 0.21:.2f}s")
            self.out(f"INFO: End Time: {self.clock.ctime(start + seconds + 1)}")
        else:
            if entry.outcome == "fail":
                if self._snapshot:
                    self.out("INFO: cleanup temporary 'vzdump' snapshot")
                    self._lvm_removed(guest)
                self._fail(
                    guest,
                    start,
                    "command 'set -o pipefail && lxc-usernsexec ... tar cpf - ... "
                    "| zstd --threads=1 >/mnt/pve/dump/vzdump.tar.dat' failed: exit code 2",
                )
                return
            if entry.outcome == "running":
                return
            size = guest_disk(guest)
            self.out(
                f"INFO: Total bytes written: {size * 4 // 10} ({render_bytes(size * 0.4)}, "
                f"{render_bytes(size * 0.4 / max(entry.duration, 1))}/s)"
            )
            self.out(f"INFO: archive file size: {format_size(size * 15 // 100)}")
        self._tail(guest, entry, start)


def guest_disk(guest: Guest) -> int:
    """Total disk bytes of a guest (see routes_pve.guest_disk_total)."""
    from pve_backup_report.simulator.routes_pve import guest_disk_total

    return guest_disk_total(guest)


def synth_archives(state: PveState, task: Task, sid: str) -> list[dict[str, Any]]:
    """Backup volumes a synth task produced on ``sid``, computed with the renderer's clock."""
    synth = task.synth
    if synth is None or synth.error:
        return []
    info = state.task_info[task.upid]
    scfg = state.storages.get(sid, {"type": "dir"})
    pbs = scfg.get("type") == "pbs"
    clock = _Clock(info["starttime"] + synth.lock_wait + 1, state.nodes[info["node"]].timezone)
    out: list[dict[str, Any]] = []
    for entry in synth.guests:
        guest = state.guests.get(entry.vmid)
        if guest is None or entry.outcome == "missing":
            continue
        start = clock.t
        if entry.outcome == "running":
            break
        if entry.outcome == "locked":
            clock.t = start + 1
            continue
        if entry.outcome == "fail":
            clock.t = start + 4
            continue
        clock.t = start + max(entry.duration, 1)
        subtype = guest.type
        if pbs:
            kind = "vm" if subtype == "qemu" else "ct"
            volid = f"{sid}:backup/{kind}/{guest.vmid}/{clock.utc(start)}"
            fmt = f"pbs-{kind}"
        else:
            ext = "vma.zst" if subtype == "qemu" else "tar.zst"
            volid = f"{sid}:backup/vzdump-{subtype}-{guest.vmid}-{clock.file_stamp(start)}.{ext}"
            fmt = ext
        out.append(
            {
                "volid": volid,
                "content": "backup",
                "format": fmt,
                "subtype": subtype,
                "vmid": guest.vmid,
                "ctime": start,
            }
        )
    return out


def render_synth_log(state: PveState, task: Task) -> list[str]:
    """Render the full task log of a task described by a ``synth`` recipe."""
    assert task.synth is not None
    return _Renderer(state, task, task.synth).render()


# --------------------------------------------------------------------------- generator
_OS_NAMES = ("web", "db", "app", "cache", "mq", "ci", "dns", "mail", "files", "vpn", "log", "mon")
_TEAMS = ("team-a", "team-b", "platform", "data", "sec", "ops")
PBS_FINGERPRINT = ":".join(["3E", "9A", "41", "C0", "7D", "22", "8B", "F1"] * 4)


def _upid(node: str, pid: int, pstart: int, start: int, vmid: str, user: str = "root@pam") -> str:
    return f"UPID:{node}:{pid:08X}:{pstart:08X}:{start:08X}:vzdump:{vmid}:{user}:"


def _guest_config(rng: random.Random, vmid: int, kind: str, name: str, team: str) -> dict[str, Any]:
    if kind == "qemu":
        size = rng.choice((16, 32, 32, 64, 100))
        config: dict[str, Any] = {
            "name": name,
            "description": f"Owner: {team}\nService: {name}",
            "cores": rng.choice((1, 2, 4, 8)),
            "memory": str(rng.choice((1024, 2048, 4096, 8192))),
            "ostype": "l26",
            "agent": "1" if rng.random() < 0.7 else "0",
            "scsihw": "virtio-scsi-single",
            "scsi0": f"local-zfs:vm-{vmid}-disk-0,iothread=1,size={size}G",
            "net0": f"virtio=BC:24:11:{vmid % 256:02X}:{vmid // 256 % 256:02X}:01,bridge=vmbr0",
            "boot": "order=scsi0",
        }
        if vmid % 5 == 0:  # UEFI guests, their EFI disk without the 2023 certificates
            config["bios"] = "ovmf"
            config["efidisk0"] = (
                f"local-zfs:vm-{vmid}-disk-9,efitype=4m,pre-enrolled-keys=1,size=1M"
            )
        if rng.random() < 0.25:
            config["scsi1"] = f"local-zfs:vm-{vmid}-disk-1,iothread=1,size={rng.choice((50, 200))}G"
        if rng.random() < 0.05:
            config["scsi2"] = f"local-zfs:vm-{vmid}-disk-2,backup=0,size=500G"
        return config
    return {
        "hostname": name,
        "description": f"Owner: {team}\n",
        "arch": "amd64",
        "cores": rng.choice((1, 2)),
        "memory": rng.choice((512, 1024, 2048)),
        "ostype": "debian",
        # a third on LVM-thin, whose snapshots print raw LVM lines in the backup log
        "rootfs": (
            f"local-lvm:vm-{vmid}-disk-0" if vmid % 3 == 0 else f"local-zfs:subvol-{vmid}-disk-0"
        )
        + f",size={rng.choice((8, 16))}G",
        "net0": "name=eth0,bridge=vmbr0,ip=dhcp,type=veth",
        "unprivileged": 1,
    }


def generate_scenario(
    nodes: int, guests: int, jobs: int, days: int, seed: int, now: int
) -> dict[str, Any]:
    """Build a large, self-consistent scenario dict (see docs/en/simulator.md).

    Jobs: one ``all``+``exclude`` job to PBS, one weekly ``all`` job to NFS (when ``jobs`` > 3),
    pool jobs, vmid-list jobs over 1-3 nodes (some with a vanished vmid), node-restricted jobs,
    ~5 % disabled. Every enabled job runs daily (weekly for the NFS one) for ``days`` days
    before ``now``; per node runs are serialised like the vzdump global lock.
    Outcomes: ~96 % ok, ~2 % warn, ~1.5 % failed guests, ~1 % job-level storage failures.
    """
    rng = random.Random(seed)
    tz = "Europe/Paris"
    node_names = [f"pve{i + 1}" for i in range(nodes)]
    node_list = [
        {
            "node": name,
            "status": "online",
            "timezone": tz,
            "ssl_fingerprint": ":".join(f"{rng.randrange(256):02X}" for _ in range(32)),
            "level": "c",
        }
        for name in node_names
    ]
    guest_list: list[dict[str, Any]] = []
    by_node: dict[str, list[int]] = {name: [] for name in node_names}
    templates: list[int] = []
    no_backup: list[int] = []
    kinds: dict[int, str] = {}
    for index in range(guests):
        vmid = 100 + index
        kind = "qemu" if rng.random() < 0.7 else "lxc"
        node = node_names[index % nodes]
        template = 1 if kind == "qemu" and index % 97 == 96 else 0
        name = f"{rng.choice(_OS_NAMES)}-{index:04d}"
        team = rng.choice(_TEAMS)
        tags = [team]
        if rng.random() < 0.02 and not template:
            tags.append("no-backup")
            no_backup.append(vmid)
        config = _guest_config(rng, vmid, kind, name, team)
        if template:
            templates.append(vmid)
            config["template"] = 1
        status = "stopped" if template or rng.random() < 0.1 else "running"
        guest_list.append(
            {
                "vmid": vmid,
                "type": kind,
                "node": node,
                "status": status,
                "name": name,
                "template": template,
                "tags": ";".join(tags),
                "config": config,
            }
        )
        kinds[vmid] = kind
        by_node[node].append(vmid)
    pool_count = max(1, guests // 60)
    pools: list[dict[str, Any]] = [
        {"poolid": f"pool{p + 1:02d}", "comment": f"pool {p + 1}", "members": []}
        for p in range(pool_count)
    ]
    for index, guest in enumerate(guest_list):
        if index % 5 != 0:  # 80 % of guests in a pool
            pools[index % pool_count]["members"].append(guest["vmid"])
    storages: list[dict[str, Any]] = [
        {"storage": "pbs-main", "type": "pbs", "server": "pbs01.example.com", "datastore": "store1",
         "username": "backup@pbs!pve-cluster", "fingerprint": PBS_FINGERPRINT, "content": "backup",
         "prune-backups": "keep-daily=7,keep-weekly=4"},
        {"storage": "pbs-offsite", "type": "pbs", "server": "10.20.0.5", "datastore": "offsite",
         "namespace": "site-a", "username": "root@pam", "fingerprint": PBS_FINGERPRINT,
         "content": "backup"},
        {"storage": "nfs-backup", "type": "nfs", "server": "10.20.0.9", "export": "/export/pve",
         "path": "/mnt/pve/nfs-backup", "content": "backup,iso", "prune-backups": "keep-weekly=4"},
        {"storage": "local", "type": "dir", "path": "/var/lib/vz", "content": "iso,vztmpl,backup"},
    ]  # fmt: skip
    job_list: list[dict[str, Any]] = []

    def job_id() -> str:
        return f"backup-{rng.getrandbits(32):08x}-{rng.getrandbits(16):04x}"

    def schedule() -> str:
        minutes = rng.randrange(19 * 60, (24 + 5) * 60, 15) % (24 * 60)
        return f"{minutes // 60:02d}:{minutes % 60:02d}"

    prune = {"keep-daily": "7", "keep-weekly": "4"}
    excluded = sorted(templates + no_backup)
    everything: dict[str, Any] = {
        "id": job_id(),
        "type": "vzdump",
        "enabled": 1,
        "schedule": "21:00",
        "storage": "pbs-main",
        "mode": "snapshot",
        "all": 1,
        "notes-template": "{{guestname}}",
        "prune-backups": prune,
        "notification-mode": "notification-system",
        "comment": "everything nightly",
    }
    if excluded:
        everything["exclude"] = ",".join(str(v) for v in excluded)
    job_list.append(everything)
    if jobs > 3:
        job_list.append(
            {
                "id": job_id(),
                "type": "vzdump",
                "enabled": 1,
                "schedule": "sat 02:00",
                "storage": "nfs-backup",
                "mode": "snapshot",
                "all": 1,
                "compress": "zstd",
                "prune-backups": {"keep-weekly": "4"},
                "comment": "weekly to NFS",
                "script": "/usr/local/bin/vzdump-hook.sh",
            }
        )
    while len(job_list) < jobs:
        number = len(job_list)
        job_kind = number % 4
        job: dict[str, Any] = {"id": job_id(), "type": "vzdump", "enabled": 1,
                               "schedule": schedule(), "mode": "snapshot",
                               "notes-template": "{{guestname}}"}  # fmt: skip
        job["storage"] = rng.choice(("pbs-main", "pbs-main", "pbs-offsite", "nfs-backup"))
        if job["storage"].startswith("pbs"):
            job["prune-backups"] = dict(prune)
        if job_kind == 0:
            job["pool"] = pools[number % pool_count]["poolid"]
        else:
            chosen_nodes = rng.sample(node_names, k=min(nodes, rng.randint(1, 3)))
            candidates = [v for n in chosen_nodes for v in by_node[n]]
            picked = sorted(rng.sample(candidates, k=min(len(candidates), rng.randint(3, 20))))
            if job_kind == 3 and rng.random() < 0.3:
                picked.append(100 + guests + number)  # a vmid that no longer exists
            separator = rng.choice((",", ",", ";", " "))
            job["vmid"] = separator.join(str(v) for v in picked)
            if job_kind == 2:
                job["node"] = chosen_nodes[0]
        if rng.random() < 0.05:
            job["enabled"] = 0
        job_list.append(job)
    job_list = job_list[:jobs]

    # ---------------------------------------------------------------- task history
    guests_by_vmid = {g["vmid"]: g for g in guest_list}
    pool_members = {p["poolid"]: p["members"] for p in pools}
    zone = ZoneInfo(tz)
    runs: dict[str, list[tuple[int, dict[str, Any], list[int]]]] = {n: [] for n in node_names}
    today = dt.datetime.fromtimestamp(now, zone).date()
    for job in job_list:
        if not job.get("enabled"):
            continue
        selection = _select(job, guests_by_vmid, pool_members)
        orphans = selection.get("", [])
        task_nodes = [n for n in node_names if (not job.get("node") or job["node"] == n)]
        sched = str(job["schedule"])
        weekday = None
        if " " in sched:
            weekday, sched = sched.split(" ", 1)
        hour, minute = (int(x) for x in sched.split(":"))
        for back in range(days + 1):
            day = today - dt.timedelta(days=back)
            if weekday and day.strftime("%a").lower() != weekday:
                continue
            start = int(
                dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone).timestamp()
            )
            if start > now or start < now - days * 86400:
                continue
            for node in task_nodes:
                local = selection.get(node, []) + orphans
                if not local and not job.get("all"):
                    continue
                runs[node].append((start + rng.randint(1, 3), job, local))
    tasks: list[dict[str, Any]] = []
    for node in node_names:
        busy_until = 0
        pstart = 0x0100_0000 + rng.randrange(0x1000_0000)
        for start, job, local in sorted(runs[node], key=lambda r: (r[0], r[1]["id"])):
            pid = rng.randrange(100_000, 4_000_000)
            lock_wait = max(0, busy_until - start)
            job_failure = rng.random() < 0.01 and job["storage"].startswith("pbs")
            spec_guests: list[list[Any]] = []
            cursor = start + lock_wait + 1
            for vmid in sorted(local):
                found = guests_by_vmid.get(vmid)
                if found is None:
                    spec_guests.append([vmid, "missing", 0])
                    continue
                roll = rng.random()
                outcome = "ok" if roll < 0.965 else "warn" if roll < 0.985 else "fail"
                duration = rng.randint(8, 40) if found["type"] == "lxc" else rng.randint(10, 300)
                if outcome == "fail":
                    duration = 4
                if cursor + duration > now:
                    spec_guests.append([vmid, "running", duration])
                    cursor = now + 1
                    break
                spec_guests.append([vmid, outcome, duration])
                cursor += duration
            error = None
            if job_failure:
                error = (
                    f"could not activate storage '{job['storage']}': {job['storage']}: "
                    "error fetching datastores - 500 Can't connect to pbs01.example.com:8007 "
                    "(Connection timed out)"
                )
                spec_guests = []
                cursor = start + lock_wait + 31
            synth_guests = [SynthGuest(vmid=g[0], outcome=g[1], duration=g[2]) for g in spec_guests]
            task_status: str | None = synth_status(synth_guests, error)
            endtime = cursor + 1
            pstart += 1
            task: dict[str, Any] = {
                "upid": _upid(node, pid, pstart, start, str(local[0]) if len(local) == 1 else ""),
                "status": task_status,
                "synth": {"job": job["id"], "guests": spec_guests, "lock_wait": lock_wait},
            }
            if error:
                task["synth"]["error"] = error
            if task_status is not None:
                task["endtime"] = endtime
            tasks.append(task)
            busy_until = endtime if task_status is not None else now + 3600
    return {
        "now": now,
        "cluster": {"name": f"gen-{seed}", "version": "9.2.11", "repoid": "14a22df3a1b2c3d4"},
        "auth_failure_delay_s": 0,
        "token": {
            "id": "report@pve!audit",
            "secret": "5ad1e0c4-0c5c-4a3e-9f51-1d2c3b4a5f60",
            "acl": [
                {"path": "/", "roles": ["PVEAuditor"], "propagate": True},
                {"path": "/", "roles": ["PVEDatastoreUser", "PVEVMUser"], "propagate": True},
            ],
        },
        "nodes": node_list,
        "storages": storages,
        "pools": pools,
        "guests": guest_list,
        "jobs": job_list,
        "tasks": tasks,
    }


def _select(
    job: dict[str, Any], guests: dict[int, dict[str, Any]], pools: dict[str, list[int]]
) -> dict[str, list[int]]:
    """Dict-level twin of scenario.select_guests (the generator works before validation)."""
    if job.get("pool"):
        raw = [v for v in pools.get(str(job["pool"]), []) if v in guests]
    elif job.get("vmid"):
        raw = [int(v) for v in split_list(job["vmid"])]
    elif job.get("all"):
        excluded = {int(v) for v in split_list(job.get("exclude"))}
        raw = [v for v in guests if v not in excluded]
    else:
        return {}
    out: dict[str, list[int]] = {}
    for vmid in sorted(set(raw)):
        guest = guests.get(vmid)
        if guest is None:
            out.setdefault("", []).append(vmid)
        elif not job.get("node") or job["node"] == guest["node"]:
            out.setdefault(str(guest["node"]), []).append(vmid)
    return out

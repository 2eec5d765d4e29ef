"""The synthetic vzdump logs carry the line shapes real Proxmox logs have (issue 13 §1), and the
parser reads them as a hand-worked expectation says."""

from __future__ import annotations

import re
from typing import Any

from pve_backup_report.analysis.tasklog import GuestAttempt, parse_task_log
from pve_backup_report.analysis.upid import parse_upid
from pve_backup_report.simulator.routes_pve import PveState
from pve_backup_report.simulator.scenario import load_scenario

from .conftest import NOW, base_scenario, upid

START = NOW - 10 * 3600  # 2025-11-25 21:00 UTC = 22:00 Europe/Paris


def _state(
    job: dict[str, Any], guests: list[dict[str, Any]], status: str, node: str = "pve1"
) -> PveState:
    data = base_scenario()
    data["jobs"].append(job)
    data["tasks"] = [
        {
            "upid": upid(node, 0x4242, START),
            "status": status,
            "endtime": START + 300,
            "synth": {"job": job["id"], "guests": guests},
        }
    ]
    return PveState(load_scenario(data))


def _parsed(state: PveState) -> tuple[list[str], dict[int, GuestAttempt]]:
    task = state.scenario.tasks[0]
    lines = state.task_log(task)
    result = parse_task_log(lines, parse_upid(task.upid), None)
    assert result.notes == ()
    return lines, {g.vmid: g for g in result.guests}


def test_lxc_snapshot_failure_prints_a_multiline_error_read_cause_first() -> None:
    job = {"id": "backup-cccc", "schedule": "22:00", "storage": "pbs-main", "vmid": "200"}
    lines, guests = _parsed(_state(job, [{"vmid": 200, "outcome": "fail"}], "job errors"))
    first = lines.index(
        "ERROR: Backup of VM 200 failed - API Return-Code: 500. Message: Could not create "
        "snapshot of resource 'vm-200-disk-0', because:"
    )
    assert lines[first + 1].startswith("ERROR: Not enough free space available for volume 0")
    assert lines[first + 3].startswith("INFO: Failed at ")
    assert guests[200].result == "failure"
    assert guests[200].error == (
        "Not enough free space available for volume 0 of resource 'vm-200-disk-0' on node "
        "'pve1'; Failed to adjust DRBD resource vm-200-disk-0 — API Return-Code: 500. Message: "
        "Could not create snapshot of resource 'vm-200-disk-0', because:"
    )


def test_file_storage_logs_print_the_archive_size_like_vzdump() -> None:
    # local is a dir storage. 100: one 32G disk in the backup (scsi1 has backup=0), the
    # synthesiser's archive is 45 % of it: 14.4 GiB, printed "14.40GB" (binary despite "GB"),
    # read back as 14.4 * 1024**3 = 15461882265.6 -> 15461882266. 200: rootfs 8G + mp0 10G =
    # 18 GiB, archive 15 % = 2.7 GiB minus a fraction of a byte -> "2.70GB" -> 2899102925;
    # its tar stream (40 %) is 7.2 GiB = 7730941132.8, floored by the synthesiser.
    job = {"id": "backup-dddd", "schedule": "22:00", "storage": "local", "vmid": "100;200"}
    lines, guests = _parsed(
        _state(job, [{"vmid": 100, "outcome": "ok"}, {"vmid": 200, "outcome": "ok"}], "OK")
    )
    assert "INFO: archive file size: 14.40GB" in lines
    assert "INFO: archive file size: 2.70GB" in lines
    assert guests[100].size == (15461882266, "archive")
    assert guests[100].transferred_bytes == 32 * 1024**3
    assert guests[200].size == (2899102925, "archive")
    assert (guests[200].transferred_bytes, guests[200].transferred_kind) == (
        7730941132,
        "tar_stream",
    )


def test_format_size_writes_binary_multiples_with_decimal_letters() -> None:
    from pve_backup_report.simulator.generate import format_size

    assert format_size(512 * 1024) == "512KB"
    assert format_size(189 * 1024**2 + 1023) == "189MB"  # whole MB, truncated
    assert format_size(1717986918) == "1.60GB"
    assert format_size(3 * 1024**4) == "3.00TB"


def test_subsecond_incremental_run_prints_less_than_one_second() -> None:
    # 100 runs on the backup server and its vmid ends in 0: a sub-second incremental run
    job = {"id": "backup-eeee", "schedule": "22:00", "storage": "pbs-main", "vmid": "100"}
    lines, guests = _parsed(_state(job, [{"vmid": 100, "outcome": "ok"}], "OK"))
    (line,) = [x for x in lines if x.startswith("INFO: transferred ")]
    match = re.fullmatch(r"INFO: transferred ([0-9]+)\.([0-9]{2}) (MiB|GiB) in <1 seconds", line)
    assert match is not None, line
    unit = 1024**2 if match[3] == "MiB" else 1024**3
    hundredths = int(match[1]) * 100 + int(match[2])
    expected = (hundredths * unit + 50) // 100  # half-up to a byte
    assert guests[100].size == (expected, "transferred")
    assert any(x.startswith("INFO: 100% (") and ") in 0s, read:" in x for x in lines)


def test_raw_output_and_hook_lines_belong_to_their_guest() -> None:
    # 200 (container) on LVM-thin: lvcreate/lvremove print raw lines around its snapshot;
    # 9000 (a stopped VM, "tmpl") fails to start: QEMU's complaint has no level; the job's hook
    # script prints after each guest's end line (once through vzdump, once on its own).
    job = {
        "id": "backup-ffff",
        "schedule": "22:00",
        "storage": "pbs-main",
        "vmid": "200;9000",
        "script": "/usr/local/bin/vzdump-hook.sh",
    }
    data_guests = [{"vmid": 200, "outcome": "ok"}, {"vmid": 9000, "outcome": "fail"}]
    state = _state(job, data_guests, "job errors")
    state.guests[200].config["rootfs"] = "local-lvm:vm-200-disk-0,size=8G"
    state.guests[9000].config["scsi0"] = "local-zfs:base-9000-disk-0,size=2G"
    lines, guests = _parsed(state)
    assert guests[200].result == "success"
    assert guests[200].output == (
        'Logical volume "snap_vm-200-disk-0_vzdump" created.',
        'Logical volume "snap_vm-200-disk-0_vzdump" successfully removed.',
        "vzdump-hook: log-end for lxc 200",
        "vzdump-hook: kept /var/log/vzdump/lxc-200.log",
    )
    path = "/dev/zvol/rpool/data/base-9000-disk-0"
    assert guests[9000].result == "failure"
    assert guests[9000].error == "start failed: QEMU exited with code 1"
    assert guests[9000].shown_error == (
        "start failed: QEMU exited with code 1 — "
        f"kvm: -drive file={path},if=none,id=drive-scsi0,format=raw: Could not open '{path}': "
        "No such file or directory; vzdump-hook: log-end for qemu 9000; "
        "vzdump-hook: kept /var/log/vzdump/qemu-9000.log"
    )
    assert "INFO: vzdump-hook: log-end for qemu 9000" in lines


def test_stopped_uefi_vm_gets_the_multiline_efi_warning() -> None:
    # 101 (on pve2) stopped, UEFI, its EFI disk without ms-cert=2023k, outcome "warn": PVE 9's
    # warning with bare continuation lines; the guest is a warning with the whole message.
    job = {"id": "backup-gggg", "schedule": "22:00", "storage": "pbs-main", "vmid": "101"}
    state = _state(job, [{"vmid": 101, "outcome": "warn"}], "WARNINGS: 1", node="pve2")
    guest = state.guests[101]
    guest.status = "stopped"
    guest.config.update(bios="ovmf", efidisk0="local-zfs:vm-101-disk-9,efitype=4m,size=1M")
    lines, guests = _parsed(state)
    first = lines.index(
        "WARN: efidisk0 lacks 'ms-cert=2023k': the Microsoft UEFI 2023 certificates"
    )
    assert lines[first - 1] == "INFO: starting kvm to execute backup task"
    assert lines[first + 1] == "may not all be enrolled in this VM."
    assert lines[-1] == "TASK WARNINGS: 1"
    g = guests[101]
    assert g.result == "warning"
    assert g.output == ()
    (warning,) = g.warnings
    assert warning.split("\n") == [
        "efidisk0 lacks 'ms-cert=2023k': the Microsoft UEFI 2023 certificates",
        "may not all be enrolled in this VM.",
        "The 2011 certificates expire in 2026; secure boot updates need the new ones.",
        "Enroll them from the disk actions, or run 'qm enroll-efi-keys 101' with the VM off.",
        "With BitLocker, first suspend the protectors of every encrypted drive, e.g.",
        "manage-bde -protectors -disable C:",
        "or the next boot asks for the recovery key.",
    ]

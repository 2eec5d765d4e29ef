"""Collectors' normalization of raw PVE JSON, with values worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime

from pve_backup_report.collect.guests import apply_config, normalize_guest
from pve_backup_report.collect.jobs import normalize_job, normalize_selection
from pve_backup_report.collect.nodes import cluster_name_from_status
from pve_backup_report.collect.pools import guest_members
from pve_backup_report.collect.storages import normalize_storage
from pve_backup_report.model import Selection


def test_reference_jobs() -> None:
    job = normalize_job(
        {
            "id": "backup-83d27a77-4ec3",
            "type": "vzdump",
            "enabled": 1,
            "schedule": "01:00",
            "storage": "pbs-main",
            "mode": "snapshot",
            "vmid": "100,101,102,200,201",
            "notes-template": "{{guestname}}",
            "prune-backups": {"keep-daily": "7", "keep-weekly": "4"},
            "repeat-missed": 0,
            "comment": "nightly prod",
            "next-run": 1714604400,
        }
    )
    assert job is not None
    assert job.enabled and not job.legacy
    assert job.selection == Selection(mode="vmid", vmids=(100, 101, 102, 200, 201))
    assert job.retention == {"keep-daily": "7", "keep-weekly": "4"}
    assert job.next_run == datetime(2024, 5, 1, 23, 0, tzinfo=UTC)
    assert job.notes_template == "{{guestname}}"


def test_pool_wins_over_everything_and_ignores_exclude() -> None:
    sel = normalize_selection({"pool": "prod", "exclude": "100", "all": 1})
    assert sel == Selection(mode="pool", pool="prod")


def test_exclude_implies_all_and_all_without_exclude() -> None:
    assert normalize_selection({"exclude": "9000;9001"}) == Selection(
        mode="all", exclude=(9000, 9001)
    )
    assert normalize_selection({"all": "1"}) == Selection(mode="all")
    assert normalize_selection({}) == Selection(mode="none")


def test_legacy_job_enabled_empty_string_is_disabled() -> None:
    job = normalize_job(
        {
            "id": "3f2a9c:1",
            "enabled": "",
            "schedule": "mon,tue 02:30",
            "vmid": "100 101",
            "storage": "local",
        }
    )
    assert job is not None
    assert job.legacy and not job.enabled
    assert job.selection.vmids == (100, 101)
    assert job.next_run is None


def test_missing_enabled_means_enabled_and_mode_defaults_to_snapshot() -> None:
    job = normalize_job({"id": "backup-x", "type": "vzdump", "all": 1})
    assert job is not None
    assert job.enabled and job.mode == "snapshot" and job.storage is None


def test_pbs_storage_fields() -> None:
    s = normalize_storage(
        {
            "storage": "pbs-offsite",
            "type": "pbs",
            "server": "10.20.0.5",
            "port": "8007",
            "datastore": "offsite",
            "namespace": "site-a",
            "username": "root@pam",
            "content": "backup",
            "shared": 1,
            "nodes": "pve2,pve1",
            "disable": 1,
            "prune-backups": "keep-last=3,keep-daily=7",
            "encryption-key": "a1:b2",
        }
    )
    assert s is not None
    assert s.is_pbs and not s.active
    assert s.port == 8007
    assert s.nodes == ("pve1", "pve2")
    assert s.retention == {"keep-last": "3", "keep-daily": "7"}
    assert s.encrypted
    assert s.fingerprint is None


def test_storage_without_disable_is_active() -> None:
    s = normalize_storage({"storage": "local", "type": "dir", "content": "iso,vztmpl,backup"})
    assert s is not None and s.active and s.nodes is None
    assert s.content == ("backup", "iso", "vztmpl")


def test_guest_without_rrd_fields() -> None:
    g = normalize_guest(
        {"id": "qemu/105", "vmid": "105", "node": "pve1", "type": "qemu", "status": "unknown"}
    )
    assert g is not None
    assert g.vmid == 105 and g.name is None and not g.template


def test_guest_rejects_non_guest_entries() -> None:
    assert normalize_guest({"id": "/pool/prod", "type": "pool", "pool": "prod"}) is None


def test_qemu_config_disks_and_notes() -> None:
    g = normalize_guest(
        {"vmid": 100, "node": "pve1", "type": "qemu", "name": "web01", "tags": "prod;web"}
    )
    assert g is not None
    enriched = apply_config(
        g,
        {
            "description": "Owner: team-a\nBackup policy: nightly",
            "scsi0": "local-zfs:vm-100-disk-0,iothread=1,size=32G",
            "scsi1": "local-zfs:vm-100-disk-2,backup=0,size=50G",
            "ide2": "local:iso/debian.iso,media=cdrom",
            "efidisk0": "local-zfs:vm-100-disk-1",
            "bios": "ovmf",
        },
    )
    assert enriched.notes == "Owner: team-a\nBackup policy: nightly"
    assert enriched.tags == ("prod", "web")
    assert [(d.key, d.included) for d in enriched.disks] == [
        ("efidisk0", True),
        ("scsi0", True),
        ("scsi1", False),
    ]
    assert [d.key for d in enriched.excluded_disks] == ["scsi1"]


def test_lxc_mount_points_need_backup_1_and_trailing_newline_dropped() -> None:
    g = normalize_guest({"vmid": 200, "node": "pve1", "type": "lxc"})
    assert g is not None
    enriched = apply_config(
        g,
        {
            "hostname": "dns01",
            "description": "Owner: team-a\n",
            "rootfs": "local-zfs:subvol-200-disk-0,size=8G",
            "mp0": "local-zfs:subvol-200-disk-1,mp=/data",
            "mp1": "tank:subvol-200-disk-2,mp=/srv,backup=1",
        },
    )
    assert enriched.name == "dns01"
    assert enriched.notes == "Owner: team-a"
    assert [(d.key, d.included) for d in enriched.disks] == [
        ("rootfs", True),
        ("mp0", False),
        ("mp1", True),
    ]


def test_pool_members_both_api_shapes() -> None:
    new_api = [
        {
            "poolid": "prod",
            "members": [
                {"id": "qemu/100", "vmid": 100, "type": "qemu"},
                {"id": "storage/pve1/pbs-main", "type": "storage", "storage": "pbs-main"},
                {"id": "lxc/200", "vmid": "200", "type": "lxc"},
            ],
        }
    ]
    assert guest_members(new_api) == (100, 200)
    assert guest_members({"members": [{"vmid": 101, "type": "qemu"}]}) == (101,)


def test_cluster_name() -> None:
    assert (
        cluster_name_from_status(
            [{"type": "node", "name": "pve1"}, {"type": "cluster", "name": "prod-cluster"}]
        )
        == "prod-cluster"
    )
    assert cluster_name_from_status([{"type": "node", "name": "pve1"}]) is None

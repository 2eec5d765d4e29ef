"""The opt-in guest config cache: what is stored, when a reading is reused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from pve_backup_report.collect.config_cache import (
    SqliteConfigCache,
    apply_facts,
    decode,
    encode,
    split,
)
from pve_backup_report.model import Disk, Guest

NOW = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
READ = Guest(
    vmid=100,
    type="qemu",
    node="pve1",
    name="web01",
    notes="Owner: team-a",
    tags=("prod",),
    config_collected=True,
    disks=(Disk("scsi1", "local:vm-100-disk-2", False, "backup=no"),),
)


def test_roundtrip_keeps_only_derived_values() -> None:
    payload = encode(READ)
    assert "Owner: team-a" in payload and "scsi1" in payload
    facts = decode("pve1", "qemu", NOW.isoformat(), payload)
    assert facts is not None
    bare = Guest(vmid=100, type="qemu", node="pve1", name="web01", tags=("prod",))
    assert apply_facts(bare, facts) == READ


def test_unknown_version_or_garbage_is_a_miss() -> None:
    assert decode("pve1", "qemu", NOW.isoformat(), '{"v": 99}') is None
    assert decode("pve1", "qemu", NOW.isoformat(), "not json") is None


def test_sqlite_cache_reuse_rules(tmp_path: Path) -> None:
    cache = SqliteConfigCache(tmp_path / "h.db", timedelta(hours=24))
    cache.put("c1", [READ, Guest(vmid=101, type="lxc", node="pve2")], NOW)  # 101 not read: skipped
    cached = cache.get("c1", [100, 101])
    assert set(cached) == {100}
    assert cache.get("other-cluster", [100]) == {}
    fresh = Guest(vmid=100, type="qemu", node="pve1", name="web01")
    moved = Guest(vmid=100, type="qemu", node="pve2", name="web01")
    hits, misses = split([fresh], cached, NOW + timedelta(hours=23), cache.max_age)
    assert [g.notes for g in hits] == ["Owner: team-a"] and misses == []
    hits, misses = split([fresh], cached, NOW + timedelta(hours=25), cache.max_age)
    assert hits == [] and misses == [fresh]  # too old
    hits, misses = split([moved], cached, NOW + timedelta(hours=1), cache.max_age)
    assert hits == [] and misses == [moved]  # migrated: its config lives on another node now

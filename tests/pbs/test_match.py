"""Matching PVE pbs storages to configured servers: explicit, address+port, fingerprint."""

from __future__ import annotations

from pve_backup_report.analysis.pbs_match import (
    Location,
    PbsEndpoint,
    match_storages,
    needs_fingerprint,
)
from pve_backup_report.model import Storage

FP = ":".join(["3E"] * 32)


def pbs(sid: str, server: str, port: int | None = None, **kw: str) -> Storage:
    return Storage(sid, "pbs", True, server=server, port=port, datastore="store1", **kw)


def test_rules_in_order() -> None:
    storages = [
        pbs("by-addr", "PBS01.example.com", namespace="a/b"),
        pbs("other-port", "pbs01.example.com", 9007),
        pbs("by-fp", "10.0.0.5", fingerprint=FP),
        pbs("explicit", "elsewhere"),
        pbs("none", "unknown.example.com"),
        Storage("local", "dir", True),
    ]
    endpoints = [
        PbsEndpoint("main", "pbs01.example.com", 8007, fingerprint="3e" * 32),
        PbsEndpoint("second", "pbs02", 8007, storages=("explicit",)),
    ]
    matches = match_storages(storages, endpoints)
    assert set(matches) == {"by-addr", "other-port", "by-fp", "explicit", "none"}
    assert matches["by-addr"].method == "address"
    assert matches["by-addr"].location == Location("main", "store1", "a/b")
    assert matches["other-port"].location is None  # port 9007 ≠ 8007 and no fingerprint
    assert matches["by-fp"].method == "fingerprint"
    assert matches["by-fp"].location == Location("main", "store1", "")
    assert matches["explicit"].method == "explicit"
    assert matches["explicit"].location == Location("second", "store1", "")
    assert matches["none"].location is None


def test_ipv6_brackets_and_default_port() -> None:
    matches = match_storages([pbs("v6", "[FD00::5]")], [PbsEndpoint("x", "fd00::5", 8007)])
    assert matches["v6"].location == Location("x", "store1", "")


def test_needs_fingerprint_only_for_unmatched_storages_with_one() -> None:
    endpoints = [PbsEndpoint("main", "pbs01", 8007)]
    assert needs_fingerprint([pbs("a", "10.0.0.5", fingerprint=FP)], endpoints)
    assert not needs_fingerprint([pbs("a", "pbs01", fingerprint=FP)], endpoints)
    assert not needs_fingerprint([pbs("a", "10.0.0.5")], endpoints)


def test_location_label() -> None:
    assert Location("pbs1", "store1", "").label == "pbs1:store1/"
    assert Location("pbs1", "store1", "a/b").label == "pbs1:store1/a/b"

"""Prometheus textfile output: exposition syntax line by line, values by hand, escaping,
optional PBS fields, atomic writes. Parsed again with prometheus_client where installed."""

from __future__ import annotations

import os
import re
import stat
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pve_backup_report.model import GuestPbs, PbsSnapshot
from pve_backup_report.outputs.prometheus import (
    ClusterRun,
    prometheus_text,
    safe_label_value,
    write_textfile,
)

from .sample import HOSTILE, NOW_TS, report

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\\\|\\"|\\n)*"'
SAMPLE_RE = re.compile(
    rf"^(?P<name>{NAME})(?:\{{(?P<labels>{LABEL}(?:,{LABEL})*)\}})? (?P<value>\S+)$"
)
HELP_RE = re.compile(rf"^# HELP (?P<name>{NAME}) \S.*$")
TYPE_RE = re.compile(rf"^# TYPE (?P<name>{NAME}) gauge$")


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Check the syntax of every line and return {(name, labels): value}."""
    assert text.endswith("\n")
    out: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    helped: set[str] = set()
    typed: set[str] = set()
    current = ""
    for line in text.splitlines():
        if m := HELP_RE.match(line):
            assert m["name"] not in helped, f"family repeated: {line}"
            helped.add(m["name"])
            current = m["name"]
            continue
        if m := TYPE_RE.match(line):
            assert m["name"] == current
            typed.add(current)
            continue
        m = SAMPLE_RE.match(line)
        assert m, f"bad line: {line!r}"
        name = m["name"]
        assert name == current and name in typed, f"sample outside its family: {line}"
        assert name.startswith("pve_backup_report_")
        labels = frozenset(
            (k, v.replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\"))
            for k, v in re.findall(
                r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m["labels"] or ""
            )
        )
        key = (name, labels)
        assert key not in out, f"duplicate series: {line}"
        out[key] = float(m["value"])
    return out


def get(
    data: dict[tuple[str, frozenset[tuple[str, str]]], float], metric: str, /, **labels: str
) -> float:
    return data[("pve_backup_report_" + metric, frozenset(labels.items()))]


def has(
    data: dict[tuple[str, frozenset[tuple[str, str]]], float], metric: str, /, **labels: str
) -> bool:
    return ("pve_backup_report_" + metric, frozenset(labels.items())) in data


C = {"cluster": "cluster1"}


def test_run_level_gauges() -> None:
    data = samples(prometheus_text(report(), 12.5, 345))
    assert get(data, "build_info", version="1.2.3", **C) == 1
    assert get(data, "generated_timestamp_seconds", **C) == NOW_TS
    assert get(data, "run_duration_seconds", **C) == 12.5
    assert get(data, "run_api_requests", **C) == 345
    assert get(data, "status", **C) == 2
    assert get(data, "evidence_collected", **C) == 1
    assert get(data, "anomalies", severity="critical", **C) == 0
    assert get(data, "anomalies", severity="warning", **C) == 1
    assert get(data, "anomalies", severity="info", **C) == 1
    assert get(data, "guests", verdict="covered", **C) == 3
    assert get(data, "guests", verdict="not_covered", **C) == 1
    assert get(data, "guests", verdict="disabled_only", **C) == 0


def test_per_guest_gauges() -> None:
    data = samples(prometheus_text(report(), 1, 1))
    g100 = {**C, "vmid": "100"}
    g101 = {**C, "vmid": "101"}
    g102 = {**C, "vmid": "102"}
    assert get(data, "guest_info", name="web", node="pve1", type="qemu", pool="", **g100) == 1
    # state set: exactly the verdict is 1, the six others 0
    coverage = {
        k: v for k, v in data.items() if k[0].endswith("guest_coverage") and ("vmid", "102") in k[1]
    }
    assert len(coverage) == 7
    assert [dict(k[1])["verdict"] for k, v in coverage.items() if v == 1] == ["not_covered"]
    assert get(data, "guest_attention_level", **g100) == 0
    assert get(data, "guest_attention_level", **g101) == 2
    assert get(data, "guest_attention_level", vmid="103", cluster="cluster1") == 1
    # 2025-11-26 01:00Z = NOW - 6 h; 02:00Z = NOW - 5 h; 2025-11-24 01:00Z = NOW - 54 h
    assert get(data, "guest_last_success_timestamp_seconds", **g100) == NOW_TS - 6 * 3600
    assert get(data, "guest_last_backup_timestamp_seconds", **g101) == NOW_TS - 5 * 3600
    assert get(data, "guest_last_success_timestamp_seconds", **g101) == NOW_TS - 54 * 3600
    assert get(data, "guest_last_result", result="failure", **g101) == 1
    assert get(data, "guest_last_result", result="success", **g101) == 0
    assert get(data, "guest_freshness", state="stale", **g101) == 1
    assert get(data, "guest_freshness", state="no_success", vmid="105", cluster="cluster1") == 1
    assert get(data, "guest_max_age_seconds", **g100) == 26 * 3600
    # no evidence for 102: its evidence series are absent rather than invented
    for name in ("guest_last_success_timestamp_seconds", "guest_last_backup_timestamp_seconds"):
        assert not has(data, name, **g102)
    assert not any(k[0].endswith("_pbs_snapshots") for k in data)  # no PBS data in the model


def test_hostile_label_values_are_escaped() -> None:
    text = prometheus_text(report(), 1, 1)
    line = next(
        x
        for x in text.splitlines()
        if x.startswith("pve_backup_report_guest_info{") and 'vmid="104"' in x
    )
    assert 'name="evil\\"name\\\\with\\nnewline|pipe {x=\\"1\\"}"' in line
    data = samples(text)
    assert (
        get(data, "guest_info", vmid="104", name=HOSTILE, node="pve2", type="qemu", pool="", **C)
        == 1
    )


def test_surrogates_become_question_marks() -> None:
    assert safe_label_value("x\udcffy") == "x?y"  # lone surrogate from JSON cannot be encoded
    r = report()
    r = replace(
        r, guests=(replace(r.guest(100), name="x\udcffy"),), cluster=replace(r.cluster, name='c"1')
    )
    text = prometheus_text(r, 1, 1)
    text.encode("utf-8")  # encodable
    assert 'pve_backup_report_guest_info{cluster="c\\"1",name="x?y",' in text


def test_cluster_without_name_uses_api_host() -> None:
    r = report()
    r = replace(r, cluster=replace(r.cluster, name=None))
    data = samples(prometheus_text(r, 1, 1))
    assert get(data, "status", cluster="pve1.example.com") == 2


def test_pbs_fields_when_present() -> None:
    r = report()
    snap = PbsSnapshot(
        backup_time=datetime(2025, 11, 26, 1, 0, tzinfo=UTC),
        server="pbs1",
        datastore="store1",
        namespace="",
        backup_type="vm",
        backup_id="100",
        verify_state="failed",
        verified_at=datetime(2025, 11, 26, 4, 0, tzinfo=UTC),
    )
    never_verified = replace(snap, backup_id="101", verify_state=None, verified_at=None)
    g100 = replace(r.guest(100), pbs=GuestPbs(100, snap, restore_points=7))
    g101 = replace(r.guest(101), pbs=GuestPbs(101, never_verified, restore_points=1))
    g102 = replace(r.guest(102), pbs=None)
    r = replace(r, guests=(g100, g101, g102))
    data = samples(prometheus_text(r, 1, 1))
    a, b = {**C, "vmid": "100"}, {**C, "vmid": "101"}
    assert get(data, "guest_pbs_snapshots", **a) == 7
    assert get(data, "guest_pbs_latest_snapshot_timestamp_seconds", **a) == NOW_TS - 6 * 3600
    assert get(data, "guest_pbs_verify_state", state="failed", **a) == 1
    assert get(data, "guest_pbs_verify_state", state="ok", **a) == 0
    assert get(data, "guest_pbs_verify_state", state="none", **a) == 0
    assert get(data, "guest_pbs_last_verify_timestamp_seconds", **a) == NOW_TS - 3 * 3600
    assert get(data, "guest_pbs_verify_state", state="none", **b) == 1
    assert not has(data, "guest_pbs_last_verify_timestamp_seconds", **b)
    assert not has(data, "guest_pbs_snapshots", vmid="102", cluster="cluster1")


def test_parses_with_prometheus_client() -> None:
    parser = pytest.importorskip("prometheus_client.parser")
    text = prometheus_text(report(), 2.5, 10)
    families = {f.name: f for f in parser.text_string_to_metric_families(text)}
    assert all(f.type == "gauge" for f in families.values())
    info = families["pve_backup_report_guest_info"]
    names = {s.labels["vmid"]: s.labels["name"] for s in info.samples}
    assert names["104"] == HOSTILE
    assert families["pve_backup_report_run_duration_seconds"].samples[0].value == 2.5


def _runs() -> list[ClusterRun]:
    return [ClusterRun(report(), 1.5, 7)]


def test_write_textfile_is_atomic_and_readable(tmp_path: Path) -> None:
    target = tmp_path / "pve_backup_report.prom"
    target.write_text("old\n")
    write_textfile(target, _runs())
    assert target.read_text() == prometheus_text(report(), 1.5, 7)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert os.listdir(tmp_path) == ["pve_backup_report.prom"]


def test_write_textfile_failure_keeps_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "x.prom"
    target.write_text("old\n")

    def boom(*_paths: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "rename", boom)
    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="No space"):
        write_textfile(target, _runs())
    assert target.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["x.prom"]


def test_write_textfile_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        write_textfile(tmp_path / "missing" / "x.prom", _runs())

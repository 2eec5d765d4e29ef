"""Fleet files (issue 12): systemd template units, the Kubernetes CronJob example, the Grafana
dashboard and the Prometheus alert rules only use what the tool really exports.

EXPORTED_METRICS is the one list to update when the metric names change; the first test
compares it with what `prometheus_text` writes for a report carrying every kind of data.
`promtool` (Debian package `prometheus`) checks and unit-tests the rules when it is installed;
without it the rules are parsed and checked here.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from pve_backup_report.model import GuestPbs, PbsSnapshot
from pve_backup_report.outputs.prometheus import prometheus_text

from ..outputs.sample import report

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "contrib/prometheus/alerts.yml"
DASHBOARD = ROOT / "contrib/grafana/pve-backup-report.json"
CRONJOB = ROOT / "contrib/kubernetes/cronjob.yaml"
SYSTEMD = ROOT / "contrib/systemd"

EXPORTED_METRICS = frozenset(
    "pve_backup_report_" + name
    for name in (
        "build_info",
        "generated_timestamp_seconds",
        "run_duration_seconds",
        "run_api_requests",
        "status",
        "collection_ok",
        "evidence_collected",
        "anomalies",
        "guests",
        "summary",
        "guest_info",
        "guest_coverage",
        "guest_attention_level",
        "guest_last_result",
        "guest_last_backup_timestamp_seconds",
        "guest_last_success_timestamp_seconds",
        "guest_freshness",
        "guest_max_age_seconds",
        "guest_pbs_snapshots",
        "guest_pbs_latest_snapshot_timestamp_seconds",
        "guest_pbs_verify_state",
        "guest_pbs_last_verify_timestamp_seconds",
    )
)
METRIC = re.compile(r"\bpve_backup_report_[a-z_]+\b")


def _exported() -> set[str]:
    r = report()
    snap = PbsSnapshot(
        datetime(2025, 11, 26, 1, 0, tzinfo=UTC), "pbs1", "store1", "", "vm", "100",
        verify_state="ok", verified_at=datetime(2025, 11, 26, 4, 0, tzinfo=UTC),
    )  # fmt: skip
    r = replace(r, guests=(replace(r.guest(100), pbs=GuestPbs(100, snap, 3)), *r.guests[1:]))
    text = prometheus_text(r, 1.0, 1)
    names = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}
    # prometheus-client may name counters/info with a suffix the samples carry: keep the base
    return {re.sub(r"_(total|info)$", "", n) if n not in EXPORTED_METRICS else n for n in names}


def test_the_metric_list_is_what_the_tool_exports() -> None:
    assert _exported() == EXPORTED_METRICS


def _rules() -> list[dict[str, Any]]:
    data = yaml.safe_load(ALERTS.read_text())
    (group,) = data["groups"]
    return list(group["rules"])


def test_alert_rules_cover_the_issue_and_use_real_metrics() -> None:
    rules = {r["alert"]: r for r in _rules()}
    assert set(rules) >= {
        "PveBackupGuestsNotCovered",
        "PveBackupLastBackupFailed",
        "PveBackupStale",
        "PveBackupReportNotRun",
    }
    assert "26 * 3600" in rules["PveBackupReportNotRun"]["expr"]
    for name, rule in rules.items():
        used = set(METRIC.findall(rule["expr"]))
        assert used, name
        assert used <= EXPORTED_METRICS, (name, used - EXPORTED_METRICS)
        assert rule["labels"]["severity"] in ("critical", "warning"), name
        assert "{{ $labels.cluster }}" in rule["annotations"]["summary"], name
        # one alert per cluster, never one per guest (thousands of pages on the worst day)
        assert (
            "by (cluster)" in rule["expr"]
            or "_timestamp_seconds" in rule["expr"]
            or ("evidence_collected" in rule["expr"])
        ), name


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")
def test_promtool_checks_and_unit_tests_the_rules() -> None:
    promtool = shutil.which("promtool")
    assert promtool is not None
    check = subprocess.run(
        [promtool, "check", "rules", str(ALERTS)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"SUCCESS: {len(_rules())} rules found" in check.stdout
    unit = subprocess.run(
        [promtool, "test", "rules", "alerts_test.yml"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent / "data",
    )
    assert unit.returncode == 0, unit.stdout + unit.stderr


def _exprs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["expr"]] if isinstance(node.get("expr"), str) else []
        return found + [e for v in node.values() for e in _exprs(v)]
    if isinstance(node, list):
        return [e for v in node for e in _exprs(v)]
    return []


def test_grafana_dashboard_is_per_cluster_and_uses_real_metrics() -> None:
    board = json.loads(DASHBOARD.read_text())
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["cluster"]["multi"] and variables["cluster"]["includeAll"]
    assert "pve_backup_report_build_info, cluster" in variables["cluster"]["definition"]
    exprs = _exprs(board["panels"])
    assert len(exprs) >= 10
    for expr in exprs:
        used = set(METRIC.findall(expr))
        assert used <= EXPORTED_METRICS, (expr, used - EXPORTED_METRICS)
        # every selector is filtered by the dashboard's cluster variable
        for selector in re.findall(r"pve_backup_report_[a-z_]+(\{[^}]*\})?", expr):
            assert 'cluster=~"$cluster"' in selector, expr
    titles = " | ".join(p["title"] for p in board["panels"]).lower()
    for wanted in ("coverage", "not covered", "failed", "stale", "oldest last success",
                   "pbs verification", "per cluster", "guests that need attention"):  # fmt: skip
        assert wanted in titles, wanted
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))


def _unit(path: Path) -> dict[str, list[str]]:
    """`Key=value` lines of a unit file, by key (keys may repeat)."""
    out: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith(("#", "[")) and "=" in line:
            key, value = line.split("=", 1)
            out.setdefault(key, []).append(value)
    return out


def test_systemd_template_is_hardened_like_the_single_unit() -> None:
    single = _unit(SYSTEMD / "pve-backup-report.service")
    template = _unit(SYSTEMD / "pve-backup-report@.service")
    hardening = {
        k: v
        for k, v in single.items()
        if k.startswith(("Protect", "Private", "Restrict", "NoNew", "Lock", "Memory", "System"))
        or k in ("DynamicUser", "CapabilityBoundingSet", "UMask", "ReadOnlyPaths")
    }
    assert len(hardening) >= 15
    for key, value in hardening.items():
        assert template.get(key) == value, key
    assert template["EnvironmentFile"] == ["/etc/pve-backup-report/%i.env"]
    assert template["StateDirectory"] == ["pve-backup-report/%i"]
    assert template["Environment"] == [
        "REPORT_HISTORY_DB=/var/lib/pve-backup-report/%i/history.sqlite3"
    ]
    assert "/var/lib/pve-backup-report/%i/reports" in template["ExecStart"][0]
    assert template["SuccessExitStatus"] == ["1 2"]


def test_systemd_template_timer_spreads_the_fleet() -> None:
    timer = _unit(SYSTEMD / "pve-backup-report@.timer")
    assert timer["RandomizedDelaySec"] == ["30min"]
    assert timer["Persistent"] == ["true"]
    assert timer["OnCalendar"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze missing")
def test_systemd_analyze_verifies_the_template(tmp_path: Path) -> None:
    for name in ("pve-backup-report@.service", "pve-backup-report@.timer"):
        (tmp_path / name.replace("@", "@paris1")).write_text((SYSTEMD / name).read_text())
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(tmp_path / "pve-backup-report@paris1.timer")],
        capture_output=True,
        text=True,
    )
    # the binary and the env file do not exist on a test machine; the syntax must be clean
    problems = [
        line
        for line in done.stderr.splitlines()
        if "pve-backup-report" in line and "not found" not in line.lower()
        and "No such file" not in line and "not executable" not in line.lower()
        and "Assertion" not in line
    ]  # fmt: skip
    assert not problems, done.stderr


def test_kubernetes_cronjob_example() -> None:
    docs = [d for d in yaml.safe_load_all(CRONJOB.read_text()) if d]
    (cron,) = [d for d in docs if d["kind"] == "CronJob"]
    assert cron["apiVersion"] == "batch/v1"
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {e["name"]: e for e in container["env"]}
    secret = env["PVE_API_TOKEN_SECRET"]
    assert "value" not in secret and secret["valueFrom"]["secretKeyRef"]["key"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["securityContext"]["runAsNonRoot"] is True
    script = container["args"][0]
    assert "--format pdf,html,json,prometheus" in script
    assert '[ "$code" -le 2 ] || exit "$code"' in script
    assert "/metrics/job/pve-backup-report/cluster/" in script
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert {"/reports", "/tmp"} <= mounts
    assert env["REPORT_HISTORY_DB"]["value"].startswith("/reports/")


def test_deployment_guides_walk_through_the_fleet() -> None:
    for lang in ("en", "fr"):
        guide = (ROOT / f"docs/{lang}/deployment.md").read_text()
        for path in (
            "contrib/systemd/pve-backup-report@.service",
            "contrib/kubernetes/cronjob.yaml",
            "contrib/grafana/pve-backup-report.json",
            "contrib/prometheus/alerts.yml",
            "promtool check rules",
            "systemctl enable --now pve-backup-report@",
            "honor_labels",
        ):
            assert path in guide, (lang, path)

"""PBS end to end through the CLI: `PBS01_*` set, the simulated PBS running, every mode.

Expected values come from `scenario_pbs.py` (worked out by hand there): guest 100 has two
snapshots in namespace clusterA, the latest (2025-11-25T21:00:00Z) verified ok; 200's latest
failed verification; 102 has none; vm/150 is an orphan named old-app.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from pathlib import Path

import jsonschema  # type: ignore[import-untyped, unused-ignore]
import pytest
from prometheus_client.parser import text_string_to_metric_families
from referencing import Registry, Resource

from pve_backup_report.cli import main
from pve_backup_report.report.render_json import load_coverage_schema, load_schema

from .conftest import Sims
from .scenario_pbs import scenario


def run(
    sims: Sims,
    args: list[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    *,
    pbs: bool = True,
    **extra: str,
) -> tuple[int, str, str]:
    """The CLI with the PVE_* and PBS01_* variables a user would set (nothing else)."""
    for name in list(os.environ):
        if name.startswith(("PVE_", "PBS", "SMTP_", "MAIL_", "REPORT_", "BACKUP_")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    env = {
        "PVE_HOST": f"127.0.0.1:{sims.pve.port}",
        "PVE_API_TOKEN_ID": sims.pve.scenario.token.id,
        "PVE_API_TOKEN_SECRET": sims.pve.scenario.token.secret,
        "PVE_CA_BUNDLE": str(sims.ca_path),
        "PVE_TIMEOUT": "5",
        "REPORT_HISTORY_DB": str(tmp_path / "history.sqlite3"),
        **(sims.pbs_env() if pbs else {}),
        **extra,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    out, err = io.StringIO(), io.StringIO()
    code = main(args, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def _validator(schema: dict[str, object]) -> jsonschema.Draft202012Validator:
    report = load_schema()
    registry: Registry = Registry().with_resource(report["$id"], Resource.from_contents(report))
    return jsonschema.Draft202012Validator(schema, registry=registry)


def test_dump_coverage_json_carries_evidence_and_pbs_like_the_report_data(
    start: Callable[..., Sims], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    sims = start(scenario())
    code, out, _ = run(sims, ["--dump-coverage", "--json", "--no-history"], monkeypatch, tmp_path)
    coverage = json.loads(out)
    _, out2, _ = run(sims, ["--dump-report-data", "--no-history"], monkeypatch, tmp_path)
    report = json.loads(out2)
    assert code == 2  # 102 has no snapshot, 200's verification failed
    by_vmid = {g["vmid"]: g for g in coverage["guests"]}
    g100 = by_vmid[100]
    assert g100["pbs"]["restore_points"] == 2
    assert g100["pbs"]["latest_snapshot"]["backup_time"] == "2025-11-25T21:00:00+00:00"
    assert g100["pbs"]["latest_snapshot"]["verify_state"] == "ok"
    assert by_vmid[200]["pbs"]["latest_snapshot"]["verify_state"] == "failed"
    assert g100["attempts"] == 0 and g100["failures"] == 0  # evidence read: no task at all
    assert g100["freshness"]["status"] == "no_success"
    assert [(o["backup_type"], o["backup_id"], o["comment"]) for o in coverage["pbs_orphans"]] == [
        ("vm", "150", "old-app")
    ]
    # one serialiser: the very same per-guest objects in both modes
    assert {g["vmid"]: g for g in report["guests"]} == by_vmid
    assert coverage["pbs_orphans"] == report["pbs_orphans"]
    validator = _validator(load_coverage_schema())
    assert [e.message for e in validator.iter_errors(coverage)] == []


def test_coverage_schema_refuses_output_without_evidence(
    start: Callable[..., Sims], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    sims = start(scenario())
    _, out, _ = run(sims, ["--dump-coverage", "--json", "--no-history"], monkeypatch, tmp_path)
    data = json.loads(out)
    for guest in data["guests"]:  # what the defect printed: every evidence field null
        guest.update(attempts=None, failures=None)
    del data["pbs_orphans"]
    errors = list(_validator(load_coverage_schema()).iter_errors(data))
    assert any("pbs_orphans" in e.message for e in errors)
    assert sum(1 for e in errors if e.message == "None is not of type 'integer'") == 2 * 4


def test_hidden_backup_content_is_absent_from_prometheus_not_zero(
    start: Callable[..., Sims], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """No PBS credentials and a token without Datastore.Allocate: PVE hides every backup
    volume (an empty 200), so the number of snapshots is unknown — no series, never 0."""
    data = scenario()
    data["token"]["acl"] = [{"path": "/", "roles": ["PVEAuditor"]}]
    sims = start(data, with_pbs=False)
    args = ["--format", "prometheus", "--output-dir", "-", "--no-history"]
    _, out, _ = run(sims, args, monkeypatch, tmp_path, pbs=False)
    names = {s.name for f in text_string_to_metric_families(out) for s in f.samples}
    assert "pve_backup_report_guest_info" in names
    assert "pve_backup_report_guest_pbs_snapshots" not in names


def test_main_job_with_pbs_variables_reports_the_backup_server(
    start: Callable[..., Sims], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The main job as a user runs it: report JSON and Prometheus both carry the PBS view
    (100: 2 snapshots where its job writes, latest verified ok; 102: no snapshot)."""
    sims = start(scenario())
    out_dir = tmp_path / "out"
    args = ["--format", "json,prometheus", "--output-dir", str(out_dir)]
    code, _, err = run(sims, args, monkeypatch, tmp_path)
    assert code == 2, err
    (path,) = out_dir.glob("*.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["pbs_collected"] is True
    assert [s["name"] for s in data["pbs_servers"]] == ["pbs1"]
    guests = {g["vmid"]: g for g in data["guests"]}
    assert "pbs_no_snapshot" in guests[102]["attention"]["reasons"]
    prom = (out_dir / "pve-backup-report.prom").read_text(encoding="utf-8")
    snapshots = {
        s.labels["vmid"]: s.value
        for f in text_string_to_metric_families(prom)
        for s in f.samples
        if s.name == "pve_backup_report_guest_pbs_snapshots"
    }
    assert snapshots["100"] == 2

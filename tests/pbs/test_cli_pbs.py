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
from referencing import Registry, Resource

from pve_backup_report.cli import main
from pve_backup_report.report.render_json import load_coverage_schema, load_schema

from .conftest import Sims
from .scenario_pbs import scenario


def run(
    sims: Sims, args: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **extra: str
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
        **sims.pbs_env(),
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

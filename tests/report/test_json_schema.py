"""The JSON form validates against the schema shipped in the package, in both languages."""

from __future__ import annotations

import json

import jsonschema  # type: ignore[import-untyped, unused-ignore]
import pytest

from pve_backup_report.report.render_json import load_schema, render_json

from .scenario import HOSTILE, build


@pytest.mark.parametrize(("lang", "evidence"), [("en", True), ("fr", True), ("en", False)])
def test_validates(lang: str, evidence: bool) -> None:
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    data = json.loads(render_json(build(lang, evidence)))
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    errors = [f"{e.json_path}: {e.message}" for e in validator.iter_errors(data)]
    assert errors == []


def test_keeps_coverage_shape_and_stable_codes() -> None:
    data = json.loads(render_json(build("fr")))
    assert data["schema_version"] == "1.5"
    assert data["generated_at"] == "2026-11-26T09:30:00+01:00"
    assert data["attention"] == [107, 104, 101, 105, 108, 103]
    g = {x["vmid"]: x for x in data["guests"]}
    assert g[102]["name"] == HOSTILE  # raw in JSON: escaping is the consumer's job
    assert g[101]["coverage"]["status"] == "covered"
    assert g[101]["latest_backup"]["result"] == "failure"
    assert g[101]["latest_backup"]["ended_at"] == "2026-11-25T20:30:00+00:00"
    assert g[100]["latest_backup"]["size_bytes"] == 1536 * 1024**2
    assert g[100]["latest_backup"]["size_kind"] == "uploaded"  # a code, never a label
    assert g[101]["freshness"]["status"] == "stale"
    assert g[101]["attention"] == {"level": "critical", "reasons": ["last_backup_failed", "stale"]}
    assert g[105]["coverage"]["explanation"] == ["excluded by job nfs-weekly"]  # not translated
    assert data["summary"]["last_failed"] == 1
    assert data["anomalies"][0]["severity"] == "critical"

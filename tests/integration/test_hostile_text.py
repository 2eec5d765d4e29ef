"""Hostile guest names and notes, served by the simulator, never leave the tool with their
control characters (issue 11, item 7): stripped when collected, in every output."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .conftest import Result, Sim
from .scenario_small import BASE

Cli = Callable[[list[str], dict[str, str]], Result]
Start = Callable[[dict[str, Any]], Sim]
ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
NAME = "web\x0001\x07\x1b[31m\x7f"  # NUL, BEL, ESC, DEL
NOTES = "Owner:\x00 team-a\x1b]0;pwned\x07\nBackup\x85 policy\x9b: nightly"


def _hostile() -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    web = data["guests"][0]
    web["name"] = NAME
    web["config"]["name"] = NAME
    web["config"]["description"] = NOTES
    return data


def _bad(text: str, allowed: str) -> list[str]:
    return sorted({repr(c) for c in ANY_CONTROL.findall(text) if c not in allowed})


def test_hostile_name_and_notes_are_stripped_in_every_output(
    start_sim: Start, cli: Cli, tmp_path: Path
) -> None:
    sim = start_sim(_hostile())
    reports = tmp_path / "out"
    result = cli(
        ["--no-history", "--format", "html,csv,md,text,json,prometheus",
         "--output-dir", str(reports)],
        sim.env(),
    )  # fmt: skip
    assert result.code in (1, 2), result.err
    assert _bad(result.out, "\n") == [] and _bad(result.err, "\n") == []
    files = {p.suffix: p.read_text(encoding="utf-8") for p in reports.iterdir()}
    assert set(files) == {".html", ".csv", ".md", ".json", ".prom"}
    allowed = {".html": "\t\n", ".csv": "\t\n\r", ".md": "\t\n", ".json": "\n", ".prom": "\n"}
    for suffix, text in files.items():
        assert _bad(text, allowed[suffix]) == [], suffix
    data = json.loads(files[".json"])
    web = next(g for g in data["guests"] if g["vmid"] == 100)
    assert web["name"] == "web01[31m"
    assert web["notes"] == "Owner: team-a]0;pwned\nBackup policy: nightly"
    assert 'name="web01[31m"' in files[".prom"]
    assert "web01[31m" in files[".html"] and "web01[31m" in files[".csv"]


def test_hostile_name_stripped_in_diagnostics_and_nagios(start_sim: Start, cli: Cli) -> None:
    sim = start_sim(_hostile())
    for args in (["--dump-coverage", "--json"], ["--dump-inventory"], ["--check"]):
        result = cli(["--no-history", *args], sim.env())
        assert _bad(result.out, "\n") == [], args
        assert "\\u0000" not in result.out  # not escaped either: removed

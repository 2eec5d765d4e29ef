"""Several clusters (`--env-file` twice) give one document per output, never two glued together.

By hand from scenario_small (both clusters run it, named alpha and beta): 7 guests, 1 not
covered (9000, protected only by a disabled job), CRITICAL (that guest, and a job naming a
missing pool).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from .conftest import Result, Sim
from .scenario_small import scenario

Cli = Callable[[list[str], dict[str, str]], Result]
Start = Callable[[dict[str, Any]], Sim]


def _env_file(path: Path, sim: Sim, **extra: str) -> Path:
    lines = [f"{k}={v}" for k, v in sim.env(**extra).items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def _two(start_sim: Start, tmp_path: Path) -> list[str]:
    first, second = scenario(), scenario()
    first["cluster"]["name"] = "alpha"
    second["cluster"]["name"] = "beta"
    a, b = start_sim(first), start_sim(second)
    return [
        "--env-file",
        str(_env_file(tmp_path / "alpha.env", a)),
        "--env-file",
        str(_env_file(tmp_path / "beta.env", b)),
    ]


def test_one_prometheus_file_with_both_clusters(start_sim: Start, cli: Cli, tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    files = _two(start_sim, tmp_path)
    cli([*files, "--format", "prometheus", "--output-dir", str(out_dir), "--no-history"], {})
    (prom,) = out_dir.glob("*.prom")
    families = list(text_string_to_metric_families(prom.read_text(encoding="utf-8")))
    samples = [s for f in families for s in f.samples]
    assert samples and all("cluster" in s.labels for s in samples)
    status = {s.labels["cluster"]: s.value for s in samples if s.name.endswith("_status")}
    assert status == {"alpha": 2, "beta": 2}
    guests = {
        s.labels["cluster"]
        for s in samples
        if s.name == "pve_backup_report_guest_info" and s.labels["vmid"] == "9000"
    }
    assert guests == {"alpha", "beta"}
    not_covered = {
        s.labels["cluster"]: s.value
        for s in samples
        if s.name == "pve_backup_report_summary" and s.labels["count"] == "not_covered"
    }
    assert not_covered == {"alpha": 1, "beta": 1}  # 9000: disabled job only


def test_dumps_print_one_json_document(start_sim: Start, cli: Cli, tmp_path: Path) -> None:
    files = _two(start_sim, tmp_path)
    for mode in (["--dump-report-data"], ["--dump-coverage", "--json"]):
        result = cli([*files, *mode, "--no-history"], {})
        data = json.loads(result.out)  # one document, parseable
        assert [c["cluster"] for c in data["clusters"]] == ["alpha", "beta"]
        assert all(c["data"]["guests"] for c in data["clusters"])
        assert data["status"] == result.code == 2


def test_check_prints_one_status_line_and_writes_nothing(
    start_sim: Start, cli: Cli, tmp_path: Path
) -> None:
    files = _two(start_sim, tmp_path)
    before = sorted(p.name for p in Path.cwd().iterdir())
    result = cli([*files, "--check", "--no-history"], {})
    lines = result.out.splitlines()
    assert [line for line in lines if line.startswith("PVE BACKUP")] == [lines[0]]
    head, perf = lines[0].split(" | ")
    assert head == "PVE BACKUP CRITICAL - 2 clusters: alpha CRITICAL; beta CRITICAL"
    assert "'alpha.guests'=7;;;0" in perf.split() and "'beta.guests'=7;;;0" in perf.split()
    assert "== alpha: CRITICAL - alpha: 1 not covered" in result.out
    assert result.code == 2
    assert sorted(p.name for p in Path.cwd().iterdir()) == before  # no ./reports, no file


def test_prometheus_to_stdout_creates_no_directory(start_sim: Start, cli: Cli) -> None:
    sim = start_sim(scenario())
    result = cli(["--format", "prometheus", "--output-dir", "-", "--no-history"], sim.env())
    assert not (Path.cwd() / "-").exists()
    families = {f.name for f in text_string_to_metric_families(result.out)}
    assert "pve_backup_report_guest_info" in families


def test_a_cluster_that_cannot_be_read_makes_the_one_line_unknown(
    start_sim: Start, cli: Cli, tmp_path: Path
) -> None:
    """alpha is fine (CRITICAL, see above); beta's token secret is wrong: UNKNOWN wins, and
    the combined outputs name beta with its cause instead of counts."""
    first, second = scenario(), scenario()
    first["cluster"]["name"] = "alpha"
    a, b = start_sim(first), start_sim(second)
    wrong = "00000000-0000-0000-0000-000000000000"
    files = [
        "--env-file",
        str(_env_file(tmp_path / "alpha.env", a)),
        "--env-file",
        str(_env_file(tmp_path / "beta.env", b, PVE_API_TOKEN_SECRET=wrong)),
    ]
    check = cli([*files, "--check", "--no-history"], {})
    first_line = check.out.splitlines()[0]
    assert first_line.startswith(
        "PVE BACKUP UNKNOWN - 2 clusters: alpha CRITICAL; 127.0.0.1 UNKNOWN"
    )
    assert "== 127.0.0.1: UNKNOWN - cannot read the guest list (/cluster/resources)" in check.out
    assert check.code == 3
    out_dir = tmp_path / "out"
    run = cli([*files, "--format", "json", "--output-dir", str(out_dir), "--no-history"], {})
    combined = json.loads(next(out_dir.glob("pve-backup-report_combined_*.json")).read_text())
    rows = {row["cluster"]: row for row in combined["clusters"]}
    assert rows["alpha"]["not_covered"] == 1 and rows["alpha"]["unknown_cause"] is None
    assert rows["127.0.0.1"]["unknown_cause"].startswith("cannot read the guest list")
    assert rows["127.0.0.1"]["guests_total"] is None  # unknown, not 0
    assert "| 127.0.0.1 | UNKNOWN | – | – | – |" in run.out
    assert run.code == combined["status"] == 3
    assert run.err.count("error: ") == 1

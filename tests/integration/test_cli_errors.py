"""Every error one line, exit 3, before any network request (issue 11, "Error paths found").

Each test runs the real CLI (`main`) against the simulator and checks: the exit code, that
stderr is exactly the expected line(s) — no traceback — and, for invalid input, that not one
request reached the simulated cluster.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .conftest import Result, Sim
from .scenario_small import scenario

Cli = Callable[[list[str], dict[str, str]], Result]
Start = Callable[[dict[str, Any]], Sim]
RANGE_HELP = (
    "expected metric=range[,metric=range…] with metric one of not_covered, failed, stale, "
    "other, anomalies_critical, anomalies_warning, single_copy and range as in the Nagios plugin "
    "guidelines (5, 5:, ~:5, 2:5, @2:5) or none"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_invalid_threshold_range_is_refused_before_any_request(start_sim: Start, cli: Cli) -> None:
    sim = start_sim(scenario())
    result = cli(["--check", "--warning", "stale=10:5"], sim.env())
    assert result.code == 3
    assert result.err.splitlines() == [f"configuration error: --warning: {RANGE_HELP}"]
    assert result.out == f"UNKNOWN - configuration error: --warning: {RANGE_HELP}\n"
    assert sim.server.requests == []


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["--chekc"], "pve-backup-report: error: unrecognized arguments: --chekc (see --help)"),
        (
            ["--format", "xlsx"],
            "pve-backup-report: error: argument --format: unknown format xlsx; choose from "
            "pdf, html, json, csv, md, text, prometheus (see --help)",
        ),
        (
            ["--lang", "de"],
            "pve-backup-report: error: argument --lang: invalid choice: 'de' (choose from "
            "'en', 'fr') (see --help)",
        ),
        (
            ["--check", "--dump-inventory"],
            "pve-backup-report: error: argument --dump-inventory: not allowed with argument "
            "--check (see --help)",
        ),
        (
            ["--format", "pdf", "--output-dir", "-"],
            "pve-backup-report: error: argument --output-dir: PDF cannot be written to "
            "standard output; give a directory",
        ),
        (
            ["--critical", "bogus=1"],
            f"configuration error: --critical: {RANGE_HELP}",
        ),
    ],
)
def test_invalid_option_is_one_line_exit_3(
    start_sim: Start, cli: Cli, argv: list[str], line: str
) -> None:
    sim = start_sim(scenario())
    result = cli(argv, sim.env())
    assert (result.code, result.err.splitlines()) == (3, [line])
    assert sim.server.requests == []


def test_mistyped_option_in_check_mode_tells_nagios_unknown(cli: Cli) -> None:
    result = cli(["--check", "--warnig", "stale=1"], {})
    assert result.code == 3
    assert result.out.startswith("UNKNOWN - pve-backup-report: error: unrecognized arguments")
    assert len(result.err.splitlines()) == 1


def test_missing_env_file_is_named(cli: Cli, tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "cluster.env"
    result = cli(["--env-file", str(missing), "--check-api"], {})
    assert result.code == 3
    assert result.err.splitlines() == [f"configuration error: --env-file: {missing}: no such file"]


def test_output_dir_that_is_a_file_is_refused_before_collection(
    start_sim: Start, cli: Cli, tmp_path: Path
) -> None:
    sim = start_sim(scenario())
    blocker = tmp_path / "reports"
    blocker.write_text("a file")
    result = cli(["--output-dir", str(blocker), "--format", "json"], sim.env())
    assert result.code == 3
    assert result.err.splitlines() == [
        f"pve-backup-report: error: argument --output-dir: {blocker} is not a directory"
    ]
    assert sim.server.requests == []


def test_unexpected_exception_is_one_line_and_v_shows_the_traceback(
    start_sim: Start, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pve_backup_report.cli import pipeline

    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom\nsecond line")

    sim = start_sim(scenario())
    monkeypatch.setattr(pipeline, "collect_run", broken)
    result = cli(["--dump-coverage", "--no-history"], sim.env())
    assert result.code == 3
    assert result.err.splitlines() == [
        "internal error: RuntimeError: boom second line (run with -v for the traceback)"
    ]
    verbose = cli(["-v", "--check", "--no-history"], sim.env())
    assert verbose.code == 3
    assert verbose.err.splitlines()[0] == "internal error: RuntimeError: boom second line"
    assert "Traceback (most recent call last):" in verbose.err
    assert verbose.out == "UNKNOWN - internal error: RuntimeError: boom second line\n"


def test_quiet_prints_nothing_when_all_went_well(
    start_sim: Start, cli: Cli, tmp_path: Path
) -> None:
    sim = start_sim(scenario())
    result = cli(
        ["-q", "--no-history", "--format", "json", "--output-dir", str(tmp_path)], sim.env()
    )
    assert result.code in (1, 2)  # findings, not errors
    assert result.err == ""
    assert len(list(tmp_path.glob("pve-backup-report_small_*.json"))) == 1
    loud = cli(["--no-history", "--format", "json", "--output-dir", str(tmp_path)], sim.env())
    assert [line.split(" ")[0] for line in loud.err.splitlines()] == ["written:"]


def test_json_log_format_prints_only_json_lines(start_sim: Start, cli: Cli, tmp_path: Path) -> None:
    sim = start_sim(scenario())
    env = sim.env(PVE_VERIFY_TLS="false", PVE_TIMOUT="5")
    blocked = tmp_path / "pve-backup-report.prom"
    blocked.mkdir()  # the Prometheus file cannot be written: an error line
    result = cli(
        ["--log-format", "json", "--no-history", "--format", "json,prometheus",
         "--output-dir", str(tmp_path)],
        env,
    )  # fmt: skip
    records = [json.loads(line) for line in result.err.splitlines()]
    levels = [r["level"] for r in records]
    assert "warning" in levels and "error" in levels and "notice" in levels
    assert {r["message"] for r in records if r["level"] == "error"} == {
        f"prometheus: cannot write {blocked}: Is a directory"
    }
    bad = cli(["--log-format", "json", "--format", "xlsx"], {})
    assert [json.loads(line)["level"] for line in bad.err.splitlines()] == ["error"]
    assert bad.code == 3


def test_unwritable_output_exits_3_after_writing_the_rest(
    start_sim: Start, cli: Cli, tmp_path: Path
) -> None:
    sim = start_sim(scenario())
    (tmp_path / "pve-backup-report.prom").mkdir()
    result = cli(
        ["--no-history", "--format", "json,csv,prometheus", "--output-dir", str(tmp_path)],
        sim.env(),
    )
    assert result.code == 3  # not 2: the findings are not what failed
    assert len(list(tmp_path.glob("pve-backup-report_small_*.json"))) == 1
    assert len(list(tmp_path.glob("pve-backup-report_small_*.csv"))) == 1
    errors = [line for line in result.err.splitlines() if not line.startswith("written: ")]
    assert errors == [
        f"prometheus: cannot write {tmp_path / 'pve-backup-report.prom'}: Is a directory"
    ]
    check = cli(
        ["--check", "--no-history", "--format", "prometheus", "--output-dir", str(tmp_path)],
        sim.env(),
    )
    assert check.code == 3
    prom = tmp_path / "pve-backup-report.prom"
    assert check.out.splitlines()[-1] == f"UNKNOWN: prometheus: cannot write {prom}: Is a directory"


MAIL = {"SMTP_HOST": "127.0.0.1", "SMTP_SECURITY": "none", "MAIL_FROM": "r@example.com"}


@pytest.mark.parametrize(
    ("env", "line"),
    [
        ({}, "configuration error: SMTP_HOST: required for --send-mail (and MAIL_FROM, MAIL_TO)"),
        (
            {**MAIL, "MAIL_TO": "ops@example.com", "SMTP_SECURITY": "tls"},
            "configuration error: SMTP_SECURITY: expected starttls, ssl or none",
        ),
        (MAIL, "configuration error: MAIL_TO: required to send e-mail (comma-separated addresses)"),
    ],
)
def test_smtp_settings_are_checked_before_any_request(
    start_sim: Start, cli: Cli, env: dict[str, str], line: str
) -> None:
    sim = start_sim(scenario())
    result = cli(["--send-mail", "--no-history", "--format", "json"], sim.env(**env))
    assert (result.code, result.err.splitlines()) == (3, [line])
    assert sim.server.requests == []


def test_undelivered_mail_exits_3_after_writing_the_reports(
    start_sim: Start, cli: Cli, tmp_path: Path
) -> None:
    sim = start_sim(scenario())
    env = sim.env(**MAIL, MAIL_TO="ops@example.com", SMTP_PORT=str(_free_port()))
    result = cli(
        ["--send-mail", "--no-history", "--format", "json", "--output-dir", str(tmp_path)], env
    )
    assert result.code == 3
    assert len(list(tmp_path.glob("*.json"))) == 1
    errors = [line for line in result.err.splitlines() if not line.startswith("written: ")]
    assert len(errors) == 1 and errors[0].startswith("e-mail not delivered: "), errors


def test_smtp_ca_bundle_that_is_not_pem_is_refused_at_start(
    start_sim: Start, cli: Cli, tmp_path: Path
) -> None:
    sim = start_sim(scenario())
    bogus = tmp_path / "smtp-ca.pem"
    bogus.write_text("-----BEGIN NOTHING-----\n")
    env = sim.env(
        SMTP_HOST="mail.example.com", MAIL_FROM="r@example.com", MAIL_TO="ops@example.com",
        SMTP_CA_BUNDLE=str(bogus),
    )  # fmt: skip
    result = cli(["--send-mail", "--no-history"], env)
    assert (result.code, result.err.splitlines()) == (
        3,
        [
            f"configuration error: SMTP_CA_BUNDLE: {bogus} is not a PEM CA bundle "
            "(expected -----BEGIN CERTIFICATE-----)"
        ],
    )
    assert sim.server.requests == []


def test_misspelt_variables_are_warned_about(start_sim: Start, cli: Cli, tmp_path: Path) -> None:
    sim = start_sim(scenario())
    env_file = tmp_path / "cluster.env"
    env_file.write_text(
        "".join(f"{k}={v}\n" for k, v in sim.env().items()) + "PVE_VERIFY_SSL=false\n"
    )
    result = cli(["--env-file", str(env_file), "--check-api"], {"PVE_TIMOUT": "3"})
    assert result.code == 0, result.out
    assert result.err.splitlines() == [
        f"WARNING: PVE_VERIFY_SSL (in {env_file}): unknown setting, ignored; did you mean "
        "PVE_VERIFY_TLS?",
        "WARNING: PVE_TIMOUT (in the environment): unknown setting, ignored; did you mean "
        "PVE_TIMEOUT?",
    ]


def test_verbose_shows_each_phase_with_its_time_and_requests(start_sim: Start, cli: Cli) -> None:
    sim = start_sim(scenario())
    result = cli(["-v", "--no-history", "--format", "json", "--output-dir", "out"], sim.env())
    phases = [line.split(":")[0] for line in result.err.splitlines() if line.startswith("phase ")]
    assert phases == [
        "phase inventory",
        "phase task history",
        "phase backup servers",
        "phase report",
        "phase outputs",
    ]
    counts = {
        line.split(":")[0]: int(line.rsplit(", ", 1)[1].split(" ")[0])
        for line in result.err.splitlines()
        if line.startswith("phase ") and "request" in line
    }
    # every request the simulated PVE received is counted in the phase that sent it (the
    # backup-server phase also counts attempts at PBS hosts that do not resolve here)
    assert counts["phase inventory"] > 0 and counts["phase task history"] > 0
    assert sum(counts.values()) >= len(sim.server.requests)
    total = next(line for line in result.err.splitlines() if line.startswith("collection: "))
    assert total.endswith(f" {sum(counts.values())} request(s) in total")
    quiet = cli(["--no-history", "--format", "json", "--output-dir", "out"], sim.env())
    assert not any(line.startswith(("phase ", "collection: ")) for line in quiet.err.splitlines())


def test_corrupt_history_database_is_one_warning_naming_the_file(
    start_sim: Start, cli: Cli, tmp_path: Path
) -> None:
    sim = start_sim(scenario())
    db = tmp_path / "history.sqlite3"
    db.write_bytes(b"this is not a database, just junk" * 100)
    result = cli(
        ["--format", "json", "--output-dir", str(tmp_path / "out")],
        sim.env(REPORT_HISTORY_DB=str(db)),
    )
    assert result.code in (1, 2), result.err
    warnings = [line for line in result.err.splitlines() if line.startswith("WARNING")]
    assert warnings == [
        f"WARNING: history database {db} cannot be used (file is not a database): this run "
        "is neither compared with earlier runs nor recorded, and its task-log cache is off"
    ]
    assert db.read_bytes() == b"this is not a database, just junk" * 100  # left untouched


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            ["history", "--limit", "many"],
            "pve-backup-report history: error: argument --limit: invalid int value: 'many' "
            "(see --help)",
        ),
        (
            ["simulate", "--port", "http"],
            "pve-backup-report simulate: error: argument --port: invalid int value: 'http' "
            "(see --help)",
        ),
        (
            ["demo", "--check", "--critical", "stale=5:1"],
            f"configuration error: --critical: {RANGE_HELP}",
        ),
    ],
)
def test_subcommand_usage_errors_are_one_line_exit_3(cli: Cli, argv: list[str], line: str) -> None:
    result = cli(argv, {})
    assert (result.code, result.err.splitlines()) == (3, [line])


def test_history_with_a_missing_env_file_names_it(cli: Cli, tmp_path: Path) -> None:
    missing = tmp_path / "gone.env"
    result = cli(["history", "--env-file", str(missing)], {})
    assert (result.code, result.err.splitlines()) == (
        3,
        [f"configuration error: --env-file: {missing}: no such file"],
    )


def test_misspelt_required_variable_is_explained_before_the_error(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "PVE_HOSTNAME=pve1.example.com\nPVE_API_TOKEN_ID=a@pve!b\nPVE_API_TOKEN_SECRET=x\n"
    )
    result = cli(["--check-api"], {})
    assert result.code == 3
    assert result.err.splitlines() == [
        "WARNING: PVE_HOSTNAME (in .env): unknown setting, ignored; did you mean PVE_HOST?",
        "configuration error: PVE_HOST: required: host, host:port or https://host[:port]",
    ]


def test_missing_pdf_engine_exits_3_with_the_install_hint_after_the_other_files(
    start_sim: Start, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pve_backup_report.report import render_pdf

    def missing() -> None:
        raise render_pdf.PdfUnavailableError(render_pdf.INSTALL_HINT)

    monkeypatch.setattr(render_pdf, "_weasyprint", missing)
    sim = start_sim(scenario())
    result = cli(["--no-history", "--format", "pdf,json", "--output-dir", str(tmp_path)], sim.env())
    assert result.code == 3  # was 1 (WARNING): a report not written is not a finding
    assert len(list(tmp_path.glob("*.json"))) == 1 and not list(tmp_path.glob("*.pdf"))
    errors = [line for line in result.err.splitlines() if not line.startswith("written: ")]
    assert errors == [f"pdf: {render_pdf.INSTALL_HINT}"]

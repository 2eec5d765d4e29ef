"""A cluster that cannot be read is said loudly: one stderr line, exit 3, UNKNOWN everywhere.

Three ways today's collectors fail to read the guest and job lists, each through the real CLI
against the simulator: a wrong token secret (PVE answers 401), a dead host (connection
refused) and a certificate pin that does not match. The cause is worked out by hand: the
guest list (`/cluster/resources`) is the first thing named.
"""

from __future__ import annotations

import email
import email.policy
import json
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped, unused-ignore]
import pytest
from referencing import Registry, Resource

from pve_backup_report.report.render_json import load_coverage_schema, load_schema

from .conftest import Result, Sim
from .scenario_small import scenario

Cli = Callable[[list[str], dict[str, str]], Result]
Start = Callable[[dict[str, Any]], Sim]
WRONG_PIN = ":".join(["AB"] * 32)


def _dead_port() -> int:
    with socket.socket() as s:  # bound then closed: nothing listens there any more
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


FAILURES: dict[str, tuple[Callable[[Sim], dict[str, str]], str]] = {
    "wrong_secret": (
        lambda sim: sim.env(PVE_API_TOKEN_SECRET="00000000-0000-0000-0000-000000000000"),
        "HTTP 401",
    ),
    "dead_host": (
        lambda sim: sim.env(PVE_HOST=f"127.0.0.1:{_dead_port()}"),
        "connection_refused",
    ),
    "pin_mismatch": (
        lambda sim: sim.env(PVE_TLS_FINGERPRINT=WRONG_PIN),
        "tls_fingerprint_mismatch",
    ),
}
CAUSE = "cannot read the guest list (/cluster/resources): "


def _error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("error: ")]


@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_main_job_says_unknown_everywhere(
    failure: str, start_sim: Start, cli: Cli, tmp_path: Path
) -> None:
    env_of, reason = FAILURES[failure]
    env = env_of(start_sim(scenario()))
    out_dir = tmp_path / "out"
    result = cli(["--quiet", "--format", "html,json,md,text", "--output-dir", str(out_dir)], env)
    assert result.code == 3
    lines = _error_lines(result.err)
    assert len(lines) == 1, result.err
    assert CAUSE in lines[0] and reason in lines[0]
    html = next(out_dir.glob("*.html")).read_text(encoding="utf-8")
    md = next(out_dir.glob("*.md")).read_text(encoding="utf-8")
    data = json.loads(next(out_dir.glob("*.json")).read_text(encoding="utf-8"))
    for text in (html, md, result.out):
        assert "Status UNKNOWN — the cluster could not be read: " + CAUSE in text
        assert "Nothing needs attention" not in text
    assert data["unknown_cause"].startswith(CAUSE) and reason in data["unknown_cause"]
    assert data["summary"]["not_covered"] is None and data["summary"]["guests_total"] is None
    validator = jsonschema.Draft202012Validator(load_schema())
    assert [e.message for e in validator.iter_errors(data)] == []
    # unknown is not zero: no count is shown as a figure
    assert "0 not covered" not in result.out and "Guests: unknown" in result.out
    assert "| Not covered (incl. disabled job only) | unknown |" in md
    assert '<span class="n"><span class="ns" style="font-size:.5em">unknown</span>' in html
    assert "Exit status: UNKNOWN" in result.out


@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_check_prints_unknown_with_the_cause(failure: str, start_sim: Start, cli: Cli) -> None:
    env_of, reason = FAILURES[failure]
    result = cli(["--check"], env_of(start_sim(scenario())))
    assert result.code == 3
    first = result.out.splitlines()[0]
    assert first.startswith("PVE BACKUP UNKNOWN - " + CAUSE)
    assert reason in first
    assert "not_covered=U" in first  # not measured, never 0
    assert len(_error_lines(result.err)) == 1


@pytest.mark.parametrize("mode", [["--dump-coverage", "--json"], ["--dump-report-data"],
                                  ["--dump-inventory"]])  # fmt: skip
def test_every_mode_names_the_cause_on_stderr(mode: list[str], start_sim: Start, cli: Cli) -> None:
    env_of, reason = FAILURES["wrong_secret"]
    result = cli([*mode, "--quiet"], env_of(start_sim(scenario())))
    assert result.code == 3
    lines = _error_lines(result.err)
    assert len(lines) == 1 and CAUSE in lines[0] and reason in lines[0]
    if mode[0] == "--dump-coverage":
        data = json.loads(result.out)
        assert data["unknown_cause"].startswith(CAUSE) and data["summary"] is None
        report = load_schema()
        registry = Registry().with_resource(report["$id"], Resource.from_contents(report))
        validator = jsonschema.Draft202012Validator(load_coverage_schema(), registry=registry)
        assert [e.message for e in validator.iter_errors(data)] == []


def test_default_formats_pdf_cover_says_unknown(start_sim: Start, cli: Cli, tmp_path: Path) -> None:
    env_of, _ = FAILURES["wrong_secret"]
    out_dir = tmp_path / "out"
    result = cli(["--output-dir", str(out_dir)], env_of(start_sim(scenario())))
    assert result.code == 3
    pdf = next(out_dir.glob("*.pdf"))
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    # pdftotext may break a line after "/": compare without any whitespace
    first_page = "".join(text.split("\f")[0].split())
    expected = "Status UNKNOWN — the cluster could not be read: " + CAUSE + "HTTP 401"
    assert "".join(expected.split()) in first_page
    assert "Guestsunknown" in first_page and "Guests0" not in first_page
    assert "Nothing needs attention" not in " ".join(text.split())


def test_e_mail_subject_says_unknown(start_sim: Start, cli: Cli, tmp_path: Path) -> None:
    from aiosmtpd.controller import Controller

    received: list[bytes] = []

    class Sink:
        async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
            received.append(envelope.original_content)
            return "250 OK"

    port = _dead_port()
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        env_of, _ = FAILURES["wrong_secret"]
        env = env_of(start_sim(scenario())) | {
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(port),
            "SMTP_SECURITY": "none",
            "MAIL_FROM": "report@example.com",
            "MAIL_TO": "ops@example.com",
        }
        result = cli(["--send-mail", "--format", "json", "--output-dir", str(tmp_path / "o")], env)
    finally:
        controller.stop()
    assert result.code == 3
    message = email.message_from_bytes(received[0], policy=email.policy.default)
    assert str(message["Subject"]).startswith(
        "[PVE backup] 127.0.0.1: UNKNOWN — " + CAUSE + "HTTP 401"
    )
    for kind in ("plain", "html"):
        body = message.get_body((kind,))
        assert body is not None
        content = body.get_content()
        assert "Nothing needs attention" not in content
        assert "Status UNKNOWN — the cluster could not be read: " + CAUSE in content

"""TLS fails closed, pinning, http refusal, GET only, and the secret never leaks."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .conftest import SENTINEL, Result, Sim
from .scenario_small import scenario

Cli = Callable[[list[str], dict[str, str]], Result]
Start = Callable[[dict[str, Any]], Sim]


def every_mode(reports: Path) -> list[list[str]]:
    """Each way to run the tool: diagnostics, report data, Nagios, and every output format."""
    return [
        ["--check-api"],
        ["--dump-inventory"],
        ["--dump-coverage", "--json"],
        ["-vv", "--dump-inventory", "--json"],
        ["--dump-report-data"],
        ["--check"],
        ["-vv", "--log-format", "json", "--format", "json,html,csv,md,text,prometheus",
         "--output-dir", str(reports)],
    ]  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_untrusted_certificate_fails_closed(start_sim: Start, cli: Cli) -> None:
    sim = start_sim(scenario())
    env = sim.env()
    del env["PVE_CA_BUNDLE"]  # system trust does not know the test CA
    result = cli(["--dump-inventory", "--json"], env)
    assert result.code == 3
    data = json.loads(result.out)
    assert {a["details"].get("transport") for a in data["anomalies"]} == {"tls_verification"}
    assert sim.server.request_counts.get("/api2/json/cluster/backup", 0) == 0


def test_fingerprint_pin_with_verification_off(start_sim: Start, cli: Cli) -> None:
    sim = start_sim(scenario())
    env = sim.env(PVE_VERIFY_TLS="false", PVE_TLS_FINGERPRINT=sim.fingerprint)
    del env["PVE_CA_BUNDLE"]
    ok = cli(["--check-api"], env)
    assert ok.code == 0, ok.out
    assert ok.err.count("WARNING: PVE_VERIFY_TLS=false") == 1
    wrong = ":".join(["00"] * 32)
    bad = cli(["--check-api"], sim.env(PVE_VERIFY_TLS="0", PVE_TLS_FINGERPRINT=wrong))
    assert bad.code == 2
    assert "tls_fingerprint_mismatch" in bad.out
    # The pin is checked right after the handshake: no request reached the server.
    before = len(sim.server.requests)
    cli(["--check-api"], sim.env(PVE_TLS_FINGERPRINT=wrong))
    assert len(sim.server.requests) == before


def test_fingerprint_pin_alone_trusts_exactly_that_certificate(start_sim: Start, cli: Cli) -> None:
    """No CA bundle, verification on: the pin alone is the trust (the test CA is unknown to
    the system store, so any chain check would fail)."""
    sim = start_sim(scenario())
    env = sim.env(PVE_TLS_FINGERPRINT=sim.fingerprint.lower().replace(":", ""))
    del env["PVE_CA_BUNDLE"]
    ok = cli(["--check-api"], env)
    assert ok.code == 0, ok.out + ok.err
    assert ok.err == ""  # nothing insecure to warn about


def test_wrong_pin_alone_sends_no_token_and_shows_the_presented_fingerprint(
    start_sim: Start, cli: Cli
) -> None:
    sim = start_sim(scenario())
    wrong = ":".join(["00"] * 32)
    env = sim.env(PVE_TLS_FINGERPRINT=wrong)
    del env["PVE_CA_BUNDLE"]
    result = cli(["--dump-inventory", "--json"], env)
    assert result.code == 3
    messages = {a["message"] for a in json.loads(result.out)["anomalies"]}
    assert any(
        f"tls_fingerprint_mismatch: server certificate {sim.fingerprint} does not match the pin"
        in m
        for m in messages
    ), messages
    assert sim.server.requests == []  # the pin failed before a request (and token) was sent


def test_ca_bundle_that_is_not_pem_is_one_line(start_sim: Start, cli: Cli, tmp_path: Path) -> None:
    sim = start_sim(scenario())
    bogus = tmp_path / "ca.der"
    bogus.write_bytes(b"\x30\x82\x01\x0anot a certificate")
    result = cli(["--check-api"], sim.env(PVE_CA_BUNDLE=str(bogus)))
    assert (result.code, result.err.splitlines()) == (
        3,
        [
            f"configuration error: PVE_CA_BUNDLE: {bogus} is not a PEM CA bundle "
            "(expected -----BEGIN CERTIFICATE-----)"
        ],
    )
    assert sim.server.requests == []


def test_pin_mismatch_refused_even_with_valid_chain(start_sim: Start, cli: Cli) -> None:
    sim = start_sim(scenario())
    wrong = ":".join(["AB"] * 32)
    result = cli(["--check-api"], sim.env(PVE_TLS_FINGERPRINT=wrong))
    assert result.code == 2 and "tls_fingerprint_mismatch" in result.out


def test_plain_http_is_refused(cli: Cli) -> None:
    result = cli(
        ["--check-api"],
        {
            "PVE_HOST": "http://127.0.0.1:1",
            "PVE_API_TOKEN_ID": "a@pve!b",
            "PVE_API_TOKEN_SECRET": SENTINEL,
        },
    )
    assert result.code == 3
    assert result.err.startswith("configuration error: PVE_HOST: http:// is refused")
    assert SENTINEL not in result.err + result.out


def test_bad_token_is_reported_as_authentication_failure(start_sim: Start, cli: Cli) -> None:
    sim = start_sim(scenario())
    result = cli(["--dump-inventory", "--json"], sim.env(PVE_API_TOKEN_SECRET="wrong-secret"))
    assert result.code == 3
    data = json.loads(result.out)
    assert {a["details"]["error"] for a in data["anomalies"] if "error" in a["details"]} == {
        "authentication_failed"
    }


def test_failover_skips_unreachable_host(start_sim: Start, cli: Cli) -> None:
    sim = start_sim(scenario())
    dead = _free_port()
    env = sim.env(PVE_HOST=f"127.0.0.1:{dead},127.0.0.1:{sim.server.port}")
    result = cli(["--check-api"], env)
    assert result.code == 0, result.out


def test_only_get_requests_ever_reach_the_server(
    start_sim: Start, cli: Cli, tmp_path: Path
) -> None:
    sim = start_sim(scenario())
    for args in every_mode(tmp_path / "reports"):
        cli(args, sim.env())
    methods = {method for method, _path, _query in sim.server.requests}
    assert methods == {"GET"}
    assert len(sim.server.requests) > 20


@pytest.mark.parametrize(
    "fault",
    [
        {"route": "^/cluster/backup$", "kind": "http", "status": 500, "message": "boom"},
        {"route": "^/cluster/resources$", "kind": "invalid_json"},
        {"route": "^/storage$", "kind": "missing_data"},
        {"route": "^/nodes/pve1/qemu/100/config$", "kind": "timeout"},
        {"route": "^/pools$", "kind": "reset"},
        {"route": "^/nodes$", "kind": "offline"},
    ],
)
def test_sentinel_secret_never_leaks(
    fault: dict[str, Any],
    start_sim: Start,
    cli: Cli,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    data = scenario()
    data["token"]["secret"] = SENTINEL
    data["faults"] = [fault]
    sim = start_sim(data)
    caplog.set_level(logging.DEBUG)
    outputs = []
    for args in every_mode(tmp_path / "reports"):
        result = cli(args, sim.env(PVE_TIMEOUT="1"))
        outputs += [result.out, result.err]
    wrong = cli(["--check-api"], sim.env(PVE_API_TOKEN_SECRET=SENTINEL + "x"))
    bad_config = cli(["--check-api"], sim.env(PVE_TIMEOUT="nope"))
    outputs += [wrong.out, wrong.err, bad_config.out, bad_config.err, caplog.text]
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".html" for p in written)  # the report files were really produced
    core = ("^/cluster/backup$", "^/cluster/resources$", "^/nodes$")
    if fault["route"] not in core:  # jobs, guests and nodes readable: the history is written
        assert any(p.name == "history.sqlite3" for p in written)
    outputs += [p.read_text(errors="replace") for p in written]
    assert all(SENTINEL not in text for text in outputs)
    assert bad_config.code == 3

"""Integration fixtures: the real CLI against the simulator over real HTTPS (trustme CA)."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trustme

from pve_backup_report.cli import main
from pve_backup_report.simulator.scenario import load_scenario
from pve_backup_report.simulator.server import SimulatorServer

SENTINEL = "SENTINEL-5ecret-d1e2f3a4-never-print-me"
ENV_VARS = (
    "PVE_HOST",
    "PVE_API_TOKEN_ID",
    "PVE_API_TOKEN_SECRET",
    "PVE_VERIFY_TLS",
    "PVE_CA_BUNDLE",
    "PVE_TLS_FINGERPRINT",
    "PVE_TIMEOUT",
    "PVE_MAX_CONCURRENCY",
    "PVE_BACKUP_JOBS_ENDPOINT",
    "PVE_TASK_HISTORY_LIMIT",
    "PVE_TASK_LOG_LIMIT",
    "PVE_ALLOW_INSECURE_HTTP",
    "REPORT_OPT_OUT_TAG",
    "REPORT_LANGUAGE",
    "LC_ALL",  # the report language defaults to the system locale's
    "LC_MESSAGES",
    "LANG",
    "REPORT_HISTORY_DB",
    "REPORT_CONFIG_CACHE_HOURS",
    "BACKUP_MAX_AGE_HOURS",
    "BACKUP_MAX_AGE_TAGS",
    "BACKUP_MAX_AGE_POOLS",
)


@dataclass
class Result:
    code: int
    out: str
    err: str


@dataclass
class Sim:
    server: SimulatorServer
    ca_path: Path
    fingerprint: str

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            "PVE_HOST": f"127.0.0.1:{self.server.port}",
            "PVE_API_TOKEN_ID": self.server.scenario.token.id,
            "PVE_API_TOKEN_SECRET": self.server.scenario.token.secret,
            "PVE_CA_BUNDLE": str(self.ca_path),
            "PVE_TIMEOUT": "5",
        }
        env.update(extra)
        return env


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray ./.env is read
    return tmp_path


@pytest.fixture
def start_sim(
    ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[dict[str, Any]], Sim]]:
    servers: list[SimulatorServer] = []
    folder = tmp_path_factory.mktemp("tls")
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_path, key_path, ca_path = folder / "cert.pem", folder / "key.pem", folder / "ca.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_path))
    cert.private_key_pem.write_to_path(str(key_path))
    ca.cert_pem.write_to_path(str(ca_path))

    def start(scenario: dict[str, Any]) -> Sim:
        scenario.setdefault("auth_failure_delay_s", 0)
        server = SimulatorServer(
            load_scenario(scenario), port=0, certfile=cert_path, keyfile=key_path
        )
        server.start()
        servers.append(server)
        return Sim(server, ca_path, server.fingerprint)

    yield start
    for server in servers:
        server.stop()


def run_cli(args: list[str], env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Result:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    for name in [n for n in os.environ if n.startswith(("PBS", "SMTP_", "MAIL_"))]:
        monkeypatch.delenv(name, raising=False)
    # never read or write the real user's history database from a test
    monkeypatch.setenv("REPORT_HISTORY_DB", str(Path.cwd() / "history.sqlite3"))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    out, err = io.StringIO(), io.StringIO()
    code = main(args, stdout=out, stderr=err)
    return Result(code, out.getvalue(), err.getvalue())


@pytest.fixture
def cli(
    clean_env: Path,  # noqa: ARG001 - requested for its effect (clean variables, temporary cwd)
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., Result]:
    def invoke(args: list[str], env: dict[str, str]) -> Result:
        return run_cli(args, env, monkeypatch)

    return invoke


def ci_strict() -> bool:
    return os.environ.get("CI") == "true"

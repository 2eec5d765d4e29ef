"""PBS fixtures: a trustme CA, the PVE and PBS simulators over HTTPS, and a collection runner."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import trustme
from pydantic import SecretStr

from pve_backup_report.analysis.coverage import CoverageResult, compute_coverage
from pve_backup_report.api.client import ReadOnlyClient
from pve_backup_report.cli.pipeline import client_config
from pve_backup_report.collect.inventory import collect_inventory
from pve_backup_report.collect.pbs_entry import PbsResult, collect_pbs
from pve_backup_report.config import PveSettings, parse_host
from pve_backup_report.config_pbs import load_pbs_settings
from pve_backup_report.model import GuestEvidence, Inventory
from pve_backup_report.simulator.scenario import load_scenario
from pve_backup_report.simulator.server import SimulatorServer

from .scenario_pbs import NOW, PBS_SECRET


@dataclass
class Sims:
    pve: SimulatorServer
    pbs: SimulatorServer | None
    ca_path: Path

    def pbs_env(self, **extra: str) -> dict[str, str]:
        assert self.pbs is not None
        env = {
            "PBS01_NAME": "pbs1",
            "PBS01_API_URL": f"https://127.0.0.1:{self.pbs.port}",
            "PBS01_API_TOKEN_ID": "report@pbs!audit",
            "PBS01_API_TOKEN_SECRET": PBS_SECRET,
            "PBS01_CA_BUNDLE": str(self.ca_path),
            "PBS01_STORAGES": "pbs-a",
        }
        env.update(extra)
        return env

    def pve_settings(self) -> PveSettings:
        scenario = self.pve.scenario
        return PveSettings(
            base_urls=(parse_host("PVE_HOST", self.pve.base_url, 8006, False),),
            token_id=scenario.token.id,
            token_secret=SecretStr(scenario.token.secret),
            ca_bundle=self.ca_path,
            timeout=5,
        )


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def tls_files(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    folder = tmp_path_factory.mktemp("pbs-tls")
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_path, key_path, ca_path = folder / "cert.pem", folder / "key.pem", folder / "ca.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_path))
    cert.private_key_pem.write_to_path(str(key_path))
    ca.cert_pem.write_to_path(str(ca_path))
    return cert_path, key_path, ca_path


@pytest.fixture
def start(tls_files: tuple[Path, Path, Path]) -> Iterator[Callable[..., Sims]]:
    started: list[SimulatorServer] = []
    cert, key, ca_path = tls_files

    def factory(data: dict[str, Any], *, with_pbs: bool = True) -> Sims:
        scenario = load_scenario(data)
        pve = SimulatorServer(scenario, port=0, certfile=cert, keyfile=key).start()
        started.append(pve)
        pbs = None
        if with_pbs:
            pbs = SimulatorServer.for_pbs(scenario, port=0, certfile=cert, keyfile=key).start()
            started.append(pbs)
        return Sims(pve, pbs, ca_path)

    yield factory
    for server in started:
        server.stop()


@dataclass
class Run:
    inventory: Inventory
    coverage: CoverageResult
    result: PbsResult


def run_collection(
    sims: Sims,
    env: dict[str, str],
    evidence: dict[int, GuestEvidence] | None = None,
    *,
    fallback: bool = True,
) -> Run:
    settings, warnings = load_pbs_settings(env)
    assert warnings == []

    async def go() -> Run:
        async with ReadOnlyClient(client_config(sims.pve_settings())) as client:
            inventory = await collect_inventory(client, client.active_base_url, "/cluster/backup")
            coverage = compute_coverage(inventory)
            result = await collect_pbs(
                settings,
                inventory,
                coverage,
                evidence,
                client if fallback else None,
                now=datetime.fromtimestamp(NOW, UTC),
                timeout=5,
                retries=0,
            )
            return Run(inventory, coverage, result)

    return asyncio.run(go())

"""Fixtures: a trustme CA, a server factory and small hand-written scenarios."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
import trustme

from pve_backup_report.simulator.scenario import load_scenario
from pve_backup_report.simulator.server import SimulatorServer

NOW = 1764140400  # 2025-11-26 07:00 UTC = 08:00 Europe/Paris
TOKEN_ID = "report@pve!audit"
SECRET = "s3cr3t-uuid"


def upid(
    node: str, pid: int, start: int, kind: str = "vzdump", vid: str = "", user: str = "root@pam"
) -> str:
    return f"UPID:{node}:{pid:08X}:{0x0179E3A5:08X}:{start:08X}:{kind}:{vid}:{user}:"


def base_scenario() -> dict[str, Any]:
    """Three nodes, four guests, a pool, two jobs, a few tasks; auditor token."""
    return {
        "now": NOW,
        "auth_failure_delay_s": 0,
        "token": {
            "id": TOKEN_ID,
            "secret": SECRET,
            "acl": [{"path": "/", "roles": ["PVEAuditor"]}],
        },
        "nodes": [
            {"node": "pve1", "timezone": "Europe/Paris"},
            {"node": "pve2", "timezone": "Europe/Paris"},
            {"node": "pve3", "status": "offline"},
        ],
        "storages": [
            {
                "storage": "pbs-main",
                "type": "pbs",
                "server": "pbs01",
                "datastore": "store1",
                "content": "backup",
                "prune-backups": "keep-daily=7",
                "nodes": "pve1,pve2",
            },
            {"storage": "local", "type": "dir", "path": "/var/lib/vz", "content": "backup"},
        ],
        "pools": [{"poolid": "prod", "comment": "production", "members": [100, 200]}],
        "guests": [
            {
                "vmid": 100,
                "type": "qemu",
                "node": "pve1",
                "name": "web01",
                "tags": "prod;web",
                "config": {
                    "name": "web01",
                    "description": "Owner: a\n\n",
                    "scsi0": "local-zfs:vm-100-disk-0,size=32G",
                    "scsi1": "local-zfs:vm-100-disk-1,backup=0,size=50G",
                },
            },
            {
                "vmid": 101,
                "type": "qemu",
                "node": "pve2",
                "name": "db01",
                "config": {"name": "db01"},
            },
            {
                "vmid": 200,
                "type": "lxc",
                "node": "pve1",
                "name": "dns01",
                "config": {
                    "hostname": "dns01",
                    "description": "Owner: b",
                    "rootfs": "local-zfs:subvol-200-disk-0,size=8G",
                    "mp0": "local-zfs:subvol-200-disk-1,mp=/data,size=10G",
                },
            },
            {
                "vmid": 9000,
                "type": "qemu",
                "node": "pve1",
                "name": "tmpl",
                "template": 1,
                "status": "stopped",
                "config": {"name": "tmpl", "template": 1},
            },
        ],
        "jobs": [
            {"id": "backup-aaaa", "schedule": "21:00", "storage": "pbs-main", "vmid": "100;101"},
            {
                "id": "backup-bbbb",
                "enabled": 0,
                "schedule": "sat 03:00",
                "storage": "local",
                "pool": "prod",
            },
        ],
        "tasks": [],
    }


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def cert_files(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_path = folder / "cert.pem"
    key_path = folder / "key.pem"
    cert_path.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
    key_path.write_bytes(cert.private_key_pem.bytes())
    return cert_path, key_path


@pytest.fixture(scope="session")
def client_ctx(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    return ctx


Factory = Callable[..., tuple[SimulatorServer, httpx2.Client]]


@pytest.fixture
def sim(cert_files: tuple[Path, Path], client_ctx: ssl.SSLContext) -> Iterator[Factory]:
    """``sim(scenario_dict, auth=True, timeout=5)`` -> (server, client on /api2/json)."""
    started: list[tuple[SimulatorServer, httpx2.Client]] = []

    def factory(
        scenario: dict[str, Any] | None = None, *, auth: bool = True, timeout: float = 5.0
    ) -> tuple[SimulatorServer, httpx2.Client]:
        server = SimulatorServer(
            load_scenario(scenario or base_scenario()),
            port=0,
            certfile=cert_files[0],
            keyfile=cert_files[1],
        ).start()
        headers = {"Authorization": f"PVEAPIToken={TOKEN_ID}={SECRET}"} if auth else {}
        client = httpx2.Client(
            base_url=server.base_url + "/api2/json",
            verify=client_ctx,
            headers=headers,
            timeout=timeout,
        )
        started.append((server, client))
        return server, client

    yield factory
    for server, client in started:
        client.close()
        server.stop()

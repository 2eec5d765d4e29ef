"""The Dockerfile installs with exactly the commands the deployment guide documents."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run_commands(dockerfile: str) -> list[str]:
    commands: list[str] = []
    for block in re.findall(r"^RUN (.+?)(?<!\\)$", dockerfile, flags=re.M | re.S):
        for part in block.replace("\\\n", " ").split("&&"):
            commands.append(" ".join(part.split()))
    return commands


def test_dockerfile_commands_are_documented() -> None:
    docker = (ROOT / "contrib/docker/Dockerfile").read_text()
    guide = " ".join((ROOT / "docs/en/deployment.md").read_text().split())
    install = [
        c for c in _run_commands(docker) if "pve-backup-report" in c or "apt-get install" in c
    ]
    assert install, "no install command found in the Dockerfile"
    for command in install:
        documented = command.replace("'/src[pdf]'", "'.[pdf]'")
        if documented.startswith(("rm ", "useradd", "mkdir")):
            continue
        assert documented in guide, f"not in docs/en/deployment.md: {documented}"


def test_systemd_units_are_hardened_and_persistent() -> None:
    service = (ROOT / "contrib/systemd/pve-backup-report.service").read_text()
    timer = (ROOT / "contrib/systemd/pve-backup-report.timer").read_text()
    for line in ("DynamicUser=yes", "ProtectSystem=strict", "NoNewPrivileges=yes"):
        assert line in service
    assert "Persistent=true" in timer


def test_systemd_unit_fails_on_exit_3_only() -> None:
    """1/2 are findings (report written); 3 means an output was not written or delivered, or
    the run could not be trusted: the unit must fail so that someone is told."""
    service = (ROOT / "contrib/systemd/pve-backup-report.service").read_text()
    success = re.findall(r"^SuccessExitStatus=(.*)$", service, flags=re.M)
    assert [set(value.split()) for value in success] == [{"1", "2"}]


def test_cron_example_is_quiet() -> None:
    """Cron mails whatever is printed: only errors may be."""
    cron = (ROOT / "contrib/cron/pve-backup-report").read_text()
    jobs = [line for line in cron.splitlines() if line and not line.startswith(("#", "SHELL"))]
    assert jobs and all(" --quiet" in job or " -q" in job for job in jobs)

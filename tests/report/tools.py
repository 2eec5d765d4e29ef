"""External tools for the browser and PDF tests: skip locally when missing, fail in CI."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def need(condition: bool, what: str) -> None:
    if condition:
        return
    message = f"{what} is not installed (see .ci/run)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def tool(name: str) -> str:
    path = shutil.which(name)
    need(path is not None, name)
    assert path is not None
    return path


def chromium(*args: str, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    need(exe is not None, "chromium")
    assert exe is not None
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        cmd = [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            *args,
        ]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)

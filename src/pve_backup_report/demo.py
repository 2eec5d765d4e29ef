"""`demo` and `simulate` subcommands: the embedded simulator, for newcomers and for testing.

`demo` starts the simulator on 127.0.0.1 (random free port, HTTPS with a certificate generated
at start), points the tool at it with that CA *and* the certificate pin — so the demo exercises
the same verified TLS path as production — runs the main job, and stops the simulator.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import IO

from pydantic import SecretStr

from .api.tls import normalize_fingerprint
from .config import PveSettings, Settings, parse_host
from .exit_status import ExitStatus

DEMO_SCENARIO = "demo.json"


def demo_scenario_path() -> Path:
    ref = resources.files("pve_backup_report.simulator") / "scenarios" / DEMO_SCENARIO
    return Path(str(ref))


def run_subcommand(name: str, argv: Sequence[str], out: IO[str], err: IO[str]) -> int:
    if name == "simulate":
        return _simulate(argv, err)
    return _demo(argv, out, err)


def _simulate(argv: Sequence[str], err: IO[str]) -> int:
    parser = argparse.ArgumentParser(prog="pve-backup-report simulate")
    parser.add_argument("scenario", type=Path, nargs="?", help="scenario JSON (default: demo)")
    parser.add_argument("--port", type=int, default=8006)
    args = parser.parse_args(list(argv))
    from .simulator.server import serve_forever_cli

    scenario = args.scenario or demo_scenario_path()
    if not scenario.is_file():
        err.write(f"scenario not found: {scenario}\n")
        return int(ExitStatus.UNKNOWN)
    serve_forever_cli(scenario, args.port)
    return 0


def _demo(argv: Sequence[str], out: IO[str], err: IO[str]) -> int:
    from .cli import _setup_logging, build_parser, run
    from .simulator.scenario import load_scenario
    from .simulator.server import SimulatorServer
    from .simulator.tls import generate_tls

    parser = build_parser()
    parser.prog = "pve-backup-report demo"
    args = parser.parse_args(list(argv))
    _setup_logging(args, err)
    scenario = load_scenario(demo_scenario_path())
    tls = generate_tls()
    server = SimulatorServer(
        scenario, host="127.0.0.1", port=0, certfile=tls.cert_path, keyfile=tls.key_path
    )
    server.start()
    try:
        err.write(f"demo: simulated Proxmox VE cluster listening on {server.base_url}\n")
        settings = Settings(
            pve=PveSettings(
                base_urls=(parse_host("PVE_HOST", server.base_url, 8006, False),),
                token_id=scenario.token.id,
                token_secret=SecretStr(scenario.token.secret),
                verify_tls=True,
                ca_bundle=tls.ca_pem_path,
                fingerprint=normalize_fingerprint(tls.fingerprint),
            )
        )
        return run(args, settings, out, err)
    finally:
        server.stop()

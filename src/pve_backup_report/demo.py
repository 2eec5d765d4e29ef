"""`demo` and `simulate` subcommands: the embedded simulator, for newcomers and for testing.

`demo` starts the simulator on 127.0.0.1 (random free port, HTTPS with a certificate generated
at start), points the tool at it with that CA *and* the certificate pin — so the demo exercises
the same verified TLS path as production — runs the main job, and stops the simulator.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import IO

from pydantic import SecretStr

from .api.tls import normalize_fingerprint
from .config import PveSettings, Settings, parse_host
from .errors import OneLineArgumentParser, ReportError, one_line

log = logging.getLogger("pve_backup_report.demo")
NOTICE = 25  # cli.logs.NOTICE (the CLI is above this module)

DEMO_SCENARIO = "demo.json"


def demo_scenario_path() -> Path:
    ref = resources.files("pve_backup_report.simulator") / "scenarios" / DEMO_SCENARIO
    return Path(str(ref))


class ScenarioError(ReportError):
    """The simulator's scenario file is missing or invalid."""

    label = ""


def run_subcommand(name: str, argv: Sequence[str], out: IO[str], err: IO[str]) -> int:
    if name == "simulate":
        return _simulate(argv)
    return _demo(argv, out, err)


def _simulate(argv: Sequence[str]) -> int:
    parser = OneLineArgumentParser(prog="pve-backup-report simulate")
    parser.add_argument("scenario", type=Path, nargs="?", help="scenario JSON (default: demo)")
    parser.add_argument("--port", type=int, default=8006)
    args = parser.parse_args(list(argv))
    from .simulator.server import serve_forever_cli

    scenario = args.scenario or demo_scenario_path()
    if not scenario.is_file():
        raise ScenarioError(f"scenario not found: {scenario}")
    from pydantic import ValidationError

    from .simulator.scenario import load_scenario

    try:
        load_scenario(scenario)  # validate first: one clear line instead of a traceback
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise ScenarioError(f"invalid scenario {scenario}: {where}: {first['msg']}") from None
    except (OSError, ValueError) as error:
        raise ScenarioError(f"cannot read scenario {scenario}: {one_line(error)}") from None
    serve_forever_cli(scenario, args.port)
    return 0


def _demo(argv: Sequence[str], out: IO[str], err: IO[str]) -> int:
    from .cli import build_parser, mail_settings, run, setup_logging
    from .cli.args import validate_args
    from .config_pbs import PbsSettings, pbs_environment
    from .simulator.scenario import load_scenario
    from .simulator.server import SimulatorServer
    from .simulator.tls import generate_tls

    parser = build_parser()
    parser.prog = "pve-backup-report demo"
    args = parser.parse_args(list(argv))
    modes = (args.check, args.check_api, args.dump_inventory, args.dump_coverage)
    if args.format is None and not args.generate_pdf and not any(modes):
        # show the summary in the terminal too (no PDF on standard output)
        args.format = ["html", "text"] if args.output_dir == "-" else ["pdf", "html", "text"]
    setup_logging(args, err)
    validate_args(args)
    mail = mail_settings(pbs_environment()) if args.send_mail else None
    scenario = load_scenario(demo_scenario_path())
    tls = generate_tls()
    server = SimulatorServer(
        scenario, host="127.0.0.1", port=0, certfile=tls.cert_path, keyfile=tls.key_path
    )
    server.start()
    pbs_servers = [
        SimulatorServer.for_pbs(
            scenario, spec.name, host="127.0.0.1", port=0,
            certfile=tls.cert_path, keyfile=tls.key_path,
        ).start()
        for spec in scenario.pbs_servers
    ]  # fmt: skip
    pbs_settings = [
        PbsSettings(
            prefix=f"PBS{index:02d}",
            name=spec.name,
            api_url=parse_host(f"PBS{index:02d}_API_URL", pbs.base_url, 8007, False),
            host="127.0.0.1",
            port=pbs.port,
            token_id=spec.token.id,
            token_secret=SecretStr(spec.token.secret),
            ca_bundle=tls.ca_pem_path,
            fingerprint=normalize_fingerprint(tls.fingerprint),
            # the demo storage names pbs01.example.com, which does not resolve here
            storages=tuple(_demo_storages(scenario, spec.host)),
            # and the other demo server's remote names it that way too (off-site copies)
            aliases=(spec.host,),
        )
        for index, (spec, pbs) in enumerate(zip(scenario.pbs_servers, pbs_servers, strict=True), 1)
    ]
    try:
        log.log(NOTICE, "demo: simulated Proxmox VE cluster listening on %s", server.base_url)
        for spec, pbs in zip(scenario.pbs_servers, pbs_servers, strict=True):
            log.log(
                NOTICE, "demo: simulated Proxmox Backup Server %s on %s", spec.name, pbs.base_url
            )
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
        now = datetime.fromtimestamp(scenario.now, UTC) if scenario.now else None
        if now is not None:
            log.log(NOTICE, "demo: the demo cluster's clock reads %s", now.isoformat())
        args.no_history = True  # never mix the demo into a real history database
        return run(args, settings, out, err, pbs_settings, now, mail=mail)
    finally:
        server.stop()
        for pbs in pbs_servers:
            pbs.stop()


def _demo_storages(scenario: object, host: str | None) -> list[str]:
    storages = getattr(scenario, "storages", [])
    return [
        str(s["storage"])
        for s in storages
        if s.get("type") == "pbs" and (host is None or s.get("server") == host)
    ]

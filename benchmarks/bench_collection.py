"""Benchmark: full collection (inventory + coverage + evidence) against a large simulated cluster.

Not a test. Generates a scenario (default 40 nodes, 4,000 guests, 150 jobs, 30 days of history;
``--small``: 6 nodes, 300 guests, 20 jobs, 7 days), serves it from the simulator in a separate
process with a fixed per-request latency (fault kind ``latency``, default 20 ms), then runs the
collection in a fresh process per configuration (the client's concurrency, then 1 as the
baseline) and prints wall time, HTTP requests by route (the simulator's ``request_counts``),
logs read and the peak RSS of the collecting process.

Incremental collection (issue 7): then two more runs at the client's concurrency share one
task-log cache in a temporary SQLite database: the first fills it, the second (same unchanged
cluster) takes the parsed logs from it. Both request counts and their ratio are printed, and
the evidence of both runs is compared (a digest of every guest's evidence and the anomalies).

    .venv/bin/python benchmarks/bench_collection.py [--small] [--latency-ms 20] [--concurrency 8]
        [--no-baseline] [--no-cache-runs]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import multiprocessing as mp
import platform
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

NOW = datetime(2025, 11, 26, 7, 0, tzinfo=UTC)
LOG_ROUTE = "/nodes/{node}/tasks/{upid}/log"


def _serve(scenario_path: str, conn: Connection, nodelay: bool) -> None:
    from pve_backup_report.simulator import server as sim_server
    from pve_backup_report.simulator.scenario import load_scenario
    from pve_backup_report.simulator.server import SimulatorServer

    # The stdlib handler sends headers and body in separate writes: with Nagle's algorithm on
    # and the client's delayed ACK, every response waits ~40 ms. pveproxy does not; so by
    # default the benchmark sets TCP_NODELAY (the stdlib's own switch) on the simulator side.
    sim_server._RequestHandler.disable_nagle_algorithm = nodelay

    server = SimulatorServer(load_scenario(scenario_path)).start()
    assert server.tls is not None
    conn.send((server.api_url, str(server.tls.ca_pem_path), server.scenario.token.id,
               server.scenario.token.secret))  # fmt: skip
    while True:
        command = conn.recv()
        if command == "counts":
            conn.send(dict(server.request_counts))
            server.reset_counts()
        else:
            server.stop()
            conn.send("stopped")
            return


async def _collect(
    api: tuple[str, str, str, str],
    concurrency: int,
    cache_db: str | None = None,
    config_cache_hours: int = 0,
) -> dict[str, Any]:
    from pydantic import SecretStr

    from pve_backup_report.analysis.coverage import compute_coverage
    from pve_backup_report.api.client import ClientConfig, ReadOnlyClient, pve_authorization
    from pve_backup_report.collect.config_cache import SqliteConfigCache
    from pve_backup_report.collect.evidence import collect_evidence
    from pve_backup_report.collect.inventory import collect_inventory
    from pve_backup_report.collect.log_cache import SqliteTaskLogCache

    url, ca, token_id, secret = api
    config = ClientConfig(
        base_urls=(url,),
        authorization=pve_authorization(token_id, SecretStr(secret)),
        ca_bundle=Path(ca),
        max_concurrency=concurrency,
        timeout=120,
    )
    started = time.perf_counter()
    async with ReadOnlyClient(config) as client:
        config_cache = (
            SqliteConfigCache(Path(cache_db), timedelta(hours=config_cache_hours))
            if cache_db and config_cache_hours
            else None
        )
        inventory = await collect_inventory(client, url, config_cache=config_cache, now=NOW)
        inv_done = time.perf_counter()
        coverage = compute_coverage(inventory)
        evidence = await collect_evidence(
            client,
            inventory,
            coverage,
            task_history_limit=500,
            task_log_limit=10000,
            history_days=None,
            now=NOW,
            wave_size=2 * concurrency,
            log_cache=SqliteTaskLogCache(Path(cache_db), NOW) if cache_db else None,
        )
        done = time.perf_counter()
    results = [g.latest_backup.result for g in evidence.guests.values() if g.latest_backup]
    return {
        "concurrency": concurrency,
        "wall_s": round(done - started, 2),
        "inventory_s": round(inv_done - started, 2),
        "evidence_s": round(done - inv_done, 2),
        "requests": client.request_count,
        "tasks_seen": evidence.tasks_seen,
        "logs_fetched": evidence.logs_fetched,
        "logs_from_cache": evidence.logs_from_cache,
        "guests": len(inventory.guests),
        "with_latest": len(results),
        "results": {r: results.count(r) for r in sorted(set(results))},
        "anomalies": len(evidence.anomalies),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "evidence_digest": hashlib.sha256(
            # anomalies sorted: concurrent requests add them in completion order
            repr((sorted(evidence.guests.items()), sorted(map(repr, evidence.anomalies)))).encode()
        ).hexdigest()[:16],
    }


def _client_process(
    api: tuple[str, str, str, str],
    concurrency: int,
    conn: Connection,
    cache_db: str | None,
    config_cache_hours: int = 0,
) -> None:
    conn.send(asyncio.run(_collect(api, concurrency, cache_db, config_cache_hours)))


def _machine() -> dict[str, str]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "nproc": str(mp.cpu_count()),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="quick run on a reduced scenario")
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--no-baseline", action="store_true", help="skip the concurrency-1 run")
    parser.add_argument(
        "--no-cache-runs", action="store_true", help="skip the two runs with a task-log cache"
    )
    parser.add_argument(
        "--config-cache-hours",
        type=int,
        default=0,
        help="cache runs also use the opt-in guest config cache (REPORT_CONFIG_CACHE_HOURS)",
    )
    parser.add_argument(
        "--nagle", action="store_true", help="keep the simulator's Nagle stall (~40 ms/request)"
    )
    args = parser.parse_args()

    from pve_backup_report.simulator.generate import generate_scenario

    size = (6, 300, 20, 7) if args.small else (40, 4000, 150, 30)
    t0 = time.perf_counter()
    scenario = generate_scenario(*size, seed=4, now=int(NOW.timestamp()))
    scenario["faults"] = [{"route": ".", "kind": "latency", "latency_ms": args.latency_ms}]
    scenario["auth_failure_delay_s"] = 0
    folder = Path(tempfile.mkdtemp(prefix="pve-bench-"))
    path = folder / "scenario.json"
    path.write_text(json.dumps(scenario))
    print(f"machine: {json.dumps(_machine())}")
    print(
        f"scenario: nodes={size[0]} guests={size[1]} jobs={size[2]} days={size[3]} "
        f"tasks={len(scenario['tasks'])} latency={args.latency_ms} ms nagle={args.nagle} "
        f"(generated in {time.perf_counter() - t0:.1f} s, {path.stat().st_size // 1024} KiB)"
    )
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=_serve, args=(str(path), child, not args.nagle), daemon=True)
    server.start()
    api = parent.recv()
    runs: list[tuple[str, int, str | None]] = [
        (f"concurrency {args.concurrency}", args.concurrency, None)
    ]
    if not (args.no_baseline or args.concurrency == 1):
        runs.append(("concurrency 1", 1, None))
    cache_db = str(folder / "history.sqlite3")
    if not args.no_cache_runs:
        runs.append(("cache run 1 (empty cache)", args.concurrency, cache_db))
        runs.append(("cache run 2 (same cluster)", args.concurrency, cache_db))
    cached: list[dict[str, Any]] = []
    try:
        for title, level, db in runs:
            mine, theirs = ctx.Pipe()
            worker = ctx.Process(
                target=_client_process, args=(api, level, theirs, db, args.config_cache_hours)
            )
            worker.start()
            result = mine.recv()
            worker.join()
            parent.send("counts")
            counts = parent.recv()
            print(f"\n== {title} ==")
            print(json.dumps(result, indent=1))
            print("requests by route:")
            for route, count in sorted(counts.items(), key=lambda kv: -kv[1]):
                print(f"  {count:7d}  {route}")
            if db is not None:
                cached.append(result | {"log_route": counts.get(LOG_ROUTE, 0)})
    finally:
        parent.send("stop")
        parent.recv()
        server.join(timeout=10)
    if len(cached) == 2:
        first, second = cached
        print("\n== incremental collection ==")
        print(f"requests: first run {first['requests']}, second run {second['requests']}, "
              f"ratio {first['requests'] / max(second['requests'], 1):.2f}x")  # fmt: skip
        print(f"log requests: first run {first['log_route']}, second run {second['log_route']}")
        print(f"wall time: first run {first['wall_s']} s, second run {second['wall_s']} s")
        same = first["evidence_digest"] == second["evidence_digest"]
        print(f"evidence identical: {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

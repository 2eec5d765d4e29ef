"""Benchmark: the main job end to end at scale, on the worst day (issue 12).

Not a test. Generates a cluster with `simulator.generate.generate_scenario` and makes it the
worst case: 40 extra jobs `backup-node-NN` (``all``, restricted to node NN) and the clock moved
three days past the last backup (backups stopped cluster-wide: every guest stale, thousands of
anomalies). The simulator serves it from its own process with a fixed latency on every request.
Each configuration runs the real main job (`cli.run`, `--no-history`) in a fresh process:

- ``json``: `--format json` (goal at 10,000 guests: wall <= 1.5 x the latency bound, 400 MiB);
- ``pdf+json``: `--format pdf,json` (goal: 1.5 x bound + 60 s and 600 MiB at 4,000 guests;
  PDF <= 150 s and 1 GiB at 10,000);
- ``other formats``: html, csv, md, prometheus (HTML of 10,000 guests <= 10 s).

For each: wall time, collection time, report-model time, time and size per format, peak RSS
of the process (`getrusage`), the CPU time of the report process and of the simulator (on
a shared machine, a collection far above the bound with little CPU used means waiting for a
CPU), HTTP requests against the *necessary* requests (distinct
path + query pairs: anything above is a repeat) and the latency bound computed in the same run:
necessary x latency / concurrency (8 requests in flight, each waits the latency once), and the
`compute_coverage` time on the collected inventory. Comparing ratios within one run keeps the
figures meaningful on a shared machine; the load average is printed before and after.

    .venv/bin/python benchmarks/bench_scale.py                      # 4,000 guests, every config
    .venv/bin/python benchmarks/bench_scale.py --guests 10000
    .venv/bin/python benchmarks/bench_scale.py --guests 300 --days 7 # quick check
    .venv/bin/python benchmarks/bench_scale.py --configs json        # one configuration
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing as mp
import os
import platform
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

STOPPED_DAYS = 3  # backups stopped this many days before the report runs
CONFIGS = {
    "json": ["json"],
    "pdf+json": ["pdf", "json"],
    "other formats": ["html", "csv", "md", "prometheus"],
}


def worst_case(nodes: int, guests: int, jobs: int, days: int, seed: int) -> dict[str, Any]:
    """The generated cluster, one `all` job per node (restricted to it), clock moved on."""
    from pve_backup_report.simulator.generate import generate_scenario

    start = int(datetime(2025, 11, 26, 7, 0, tzinfo=UTC).timestamp())
    scenario = generate_scenario(nodes, guests, jobs, days, seed=seed, now=start)
    for n in range(1, nodes + 1):
        scenario["jobs"].append(
            {
                "id": f"backup-node-{n:02d}",
                "type": "vzdump",
                "enabled": 1,
                "all": 1,
                "node": f"pve{n}",
                "schedule": "22:30",
                "storage": "pbs-main",
                "mode": "snapshot",
                "comment": f"everything on pve{n}",
            }
        )
    scenario["now"] = start + STOPPED_DAYS * 86400
    return scenario


def _serve(scenario_path: str, conn: Connection) -> None:
    from pve_backup_report.simulator import server as sim_server
    from pve_backup_report.simulator.scenario import load_scenario
    from pve_backup_report.simulator.server import SimulatorServer

    # stdlib handler: headers and body in two writes; without TCP_NODELAY every response
    # waits for the client's delayed ACK (~40 ms), which pveproxy does not do
    sim_server._RequestHandler.disable_nagle_algorithm = True
    server = SimulatorServer(load_scenario(scenario_path)).start()
    assert server.tls is not None
    conn.send((server.base_url, str(server.tls.ca_pem_path), server.scenario.token.id,
               server.scenario.token.secret, server.scenario.now))  # fmt: skip
    spent = 0.0  # the simulator's CPU seconds reported so far
    while True:
        command = conn.recv()
        if command == "counts":
            distinct = {(path, tuple(sorted(query.items()))) for _, path, query in server.requests}
            used = resource.getrusage(resource.RUSAGE_SELF)
            cpu = used.ru_utime + used.ru_stime
            conn.send({"total": server.request_counts["total"], "distinct": len(distinct),
                       "routes": dict(server.request_counts),
                       "cpu_s": round(cpu - spent, 1)})  # fmt: skip
            spent = cpu
            server.reset_counts()
        else:
            server.stop()
            conn.send("stopped")
            return


def _main_job(
    api: tuple[str, str, str, str, int], formats: list[str], out_dir: str
) -> dict[str, Any]:
    """One run of the real main job, with timers around its stages (nothing else changed)."""
    from pydantic import SecretStr

    from pve_backup_report.analysis import coverage as coverage_mod
    from pve_backup_report.cli import build_parser, modes, pipeline, run
    from pve_backup_report.config import PveSettings, Settings, parse_host
    from pve_backup_report.report import write

    url, ca, token_id, secret, now_ts = api
    timings: dict[str, float] = {}
    sizes: dict[str, int] = {}
    peaks: dict[str, float] = {}  # peak RSS so far, at the end of each stage

    def timed(name: str, func: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                timings[name] = timings.get(name, 0.0) + time.perf_counter() - start

        return wrapper

    def timed_async(name: str, func: Any) -> Any:
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return await func(*args, **kwargs)
            finally:
                timings[name] = timings.get(name, 0.0) + time.perf_counter() - start
                peaks[f"after {name}"] = _peak_mib()

        return wrapper

    original_render = write._render

    def render(report: Any, fmt: str) -> bytes:
        start = time.perf_counter()
        data = original_render(report, fmt)
        timings[f"render {fmt}"] = time.perf_counter() - start
        sizes[fmt] = len(data)
        peaks[f"after {fmt}"] = _peak_mib()
        return data

    write._render = render
    pipeline.compute_coverage = timed("compute_coverage", coverage_mod.compute_coverage)
    pipeline.collect_run = timed_async("collection", pipeline.collect_run)
    modes.make_report = timed("report model", modes.make_report)
    modes.prometheus_text = timed("render prometheus", modes.prometheus_text)
    settings = Settings(
        pve=PveSettings(
            base_urls=(parse_host("PVE_HOST", url, 8006, False),),
            token_id=token_id,
            token_secret=SecretStr(secret),
            ca_bundle=Path(ca),
        )
    )
    args = build_parser().parse_args(
        ["--format", ",".join(formats), "--output-dir", out_dir, "--no-history", "--quiet"]
    )
    started = time.perf_counter()
    code = run(
        args, settings, io.StringIO(), io.StringIO(), [], datetime.fromtimestamp(now_ts, UTC)
    )
    wall = time.perf_counter() - started
    for path in Path(out_dir).iterdir():
        if path.suffix == ".prom":
            sizes["prometheus"] = path.stat().st_size
    return {
        "exit": code,
        "wall_s": round(wall, 2),
        "timings_s": {k: round(v, 2) for k, v in timings.items()},
        "sizes": sizes,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "cpu_s": round(sum(resource.getrusage(resource.RUSAGE_SELF)[:2]), 1),
        "peak_rss_after_mib": peaks,
    }


def _peak_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _child(api: tuple[str, str, str, str, int], formats: list[str], out_dir: str,
           conn: Connection) -> None:  # fmt: skip
    conn.send(_main_job(api, formats, out_dir))


def _facts(out_dir: Path) -> dict[str, int]:
    """Guests, stale guests and anomalies, read back from the JSON report."""
    files = sorted(out_dir.glob("*.json"))
    if not files:
        return {}
    data = json.loads(files[-1].read_text())
    guests = data.get("guests", [])
    stale = sum(1 for g in guests if (g.get("freshness") or {}).get("status") == "stale")
    return {"guests": len(guests), "stale": stale, "anomalies": len(data.get("anomalies", []))}


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB" if size >= 2**20 else f"{size / 1024:.0f} KiB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guests", type=int, default=4000)
    parser.add_argument("--nodes", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=110, help="generated jobs (+ one per node)")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--configs", default=",".join(CONFIGS), help=f"among {list(CONFIGS)}")
    args = parser.parse_args()
    concurrency = 8  # PVE_MAX_CONCURRENCY's default, the one the main job uses

    t0 = time.perf_counter()
    scenario = worst_case(args.nodes, args.guests, args.jobs, args.days, seed=4)
    scenario["faults"] = [{"route": ".", "kind": "latency", "latency_ms": args.latency_ms}]
    folder = Path(tempfile.mkdtemp(prefix="pve-bench-scale-"))
    path = folder / "scenario.json"
    path.write_text(json.dumps(scenario))
    print(f"machine: {platform.platform()}, nproc={os.cpu_count()}, "
          f"python {platform.python_version()}, load average {os.getloadavg()}")  # fmt: skip
    print(f"scenario: nodes={args.nodes} guests={args.guests} "
          f"jobs={len(scenario['jobs'])} ({args.nodes} restricted to one node each) "
          f"days={args.days} tasks={len(scenario['tasks'])} latency={args.latency_ms} ms, "
          f"backups stopped {STOPPED_DAYS} days ago "
          f"(generated in {time.perf_counter() - t0:.1f} s)")  # fmt: skip
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=_serve, args=(str(path), child), daemon=True)
    server.start()
    api = parent.recv()
    rows: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, int]]] = []
    try:
        for name in args.configs.split(","):
            out_dir = folder / name.replace("+", "-").replace(" ", "-")
            out_dir.mkdir()
            mine, theirs = ctx.Pipe()
            worker = ctx.Process(target=_child, args=(api, CONFIGS[name], str(out_dir), theirs))
            worker.start()
            result = mine.recv()
            worker.join()
            parent.send("counts")
            counts = parent.recv()
            facts = _facts(out_dir)
            rows.append((name, result, counts, facts))
            print(f"\n== {name} ==")
            requests = {k: counts[k] for k in ("total", "distinct", "cpu_s")}
            print(json.dumps({"result": result, "requests": requests, "facts": facts}, indent=1))
    finally:
        parent.send("stop")
        parent.recv()
        server.join(timeout=10)
    print(f"\nload average after: {os.getloadavg()}")
    print(
        "\n| configuration | wall | collection | bound | wall / bound | requests / necessary "
        "| CPU: report / simulator | compute_coverage | report model | per format (time, size) "
        "| peak RSS |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|")
    for name, result, counts, _ in rows:
        bound = counts["distinct"] * args.latency_ms / 1000 / concurrency
        t = result["timings_s"]
        formats = ", ".join(
            f"{fmt} {t.get('render ' + fmt, 0):.1f} s {_mib(size)}"
            for fmt, size in sorted(result["sizes"].items())
        )
        print(f"| {name} | {result['wall_s']:.1f} s | {t.get('collection', 0):.1f} s "
              f"| {bound:.1f} s | {result['wall_s'] / bound:.2f} "
              f"| {counts['total']} / {counts['distinct']} "
              f"| {result['cpu_s']:.0f} s / {counts['cpu_s']:.0f} s "
              f"| {t.get('compute_coverage', 0):.2f} s | {t.get('report model', 0):.1f} s "
              f"| {formats} | {result['peak_rss_mib']:.0f} MiB |")  # fmt: skip
    for name, _result, _counts, facts in rows[:1]:
        print(f"\nworst case check ({name}): {facts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: the vzdump task-log parser alone (the CPU hot spot of a large collection).

Not a test. Renders the synthetic logs of a generated scenario (default 8 nodes, 800 guests,
40 jobs, 7 days) once, adds the hand-written logs of ``tests/data/tasklogs``, then parses all of
them ``--rounds`` times with `parse_task_log` and prints the best round: total lines, seconds,
lines per second and microseconds per line. Run it on two commits to compare parser versions:

    .venv/bin/python benchmarks/bench_tasklog.py [--rounds 5] [--small]
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

NOW = datetime(2025, 11, 26, 7, 0, tzinfo=UTC)
DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "tasklogs"


def _logs(small: bool) -> list[tuple[list[str], str]]:
    from pve_backup_report.simulator.generate import generate_scenario, render_synth_log
    from pve_backup_report.simulator.routes_pve import PveState
    from pve_backup_report.simulator.scenario import load_scenario

    size = (3, 150, 12, 4) if small else (8, 800, 40, 7)
    state = PveState(load_scenario(generate_scenario(*size, seed=4, now=int(NOW.timestamp()))))
    logs = [
        (render_synth_log(state, task), task.upid)
        for task in state.scenario.tasks
        if task.synth is not None
    ]
    fixture_upid = "UPID:pve1:000A1B2C:0179E3A5:663177F1:vzdump::root@pam:"
    for path in sorted(DATA.glob("*.log")):
        logs.append((path.read_text(encoding="utf-8").splitlines(), fixture_upid))
    return logs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--small", action="store_true")
    args = parser.parse_args()

    from pve_backup_report.analysis.tasklog import parse_task_log
    from pve_backup_report.analysis.upid import parse_upid

    logs = [(lines, parse_upid(upid)) for lines, upid in _logs(args.small)]
    tz = ZoneInfo("Europe/Paris")
    total_lines = sum(len(lines) for lines, _ in logs)
    best = float("inf")
    for _ in range(args.rounds):
        start = time.perf_counter()
        for lines, upid in logs:
            parse_task_log(lines, upid, tz)
        best = min(best, time.perf_counter() - start)
    print(f"logs {len(logs)}, lines {total_lines}, best of {args.rounds} rounds: {best:.3f} s")
    print(f"{total_lines / best:,.0f} lines/s, {best / total_lines * 1e6:.2f} us/line")


if __name__ == "__main__":
    main()

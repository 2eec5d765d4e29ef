"""Benchmark: the vzdump task-log parser alone (the CPU hot spot of a large collection).

Not a test. Renders the synthetic logs of a generated scenario (default 8 nodes, 800 guests,
40 jobs, 7 days) once, adds the hand-written logs of ``tests/data/tasklogs``, then parses all of
them ``--rounds`` times with `parse_task_log` and prints the best round: total lines, seconds,
lines per second and microseconds per line. ``--compare FILE`` also times another version of the
parser module (e.g. ``git show main:src/pve_backup_report/analysis/tasklog.py > /tmp/old.py``)
on the same logs, rounds interleaved so machine load hits both alike, and prints the ratio:

    .venv/bin/python benchmarks/bench_tasklog.py [--rounds 5] [--small] [--compare FILE]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections.abc import Callable, Sequence
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


def _load(path: str) -> Callable[..., object]:
    spec = importlib.util.spec_from_file_location("tasklog_other", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being created
    spec.loader.exec_module(module)
    parse: Callable[..., object] = module.parse_task_log
    return parse


def _round(
    parse: Callable[..., object], logs: Sequence[tuple[list[str], object]], tz: object
) -> float:
    start = time.perf_counter()
    for lines, upid in logs:
        parse(lines, upid, tz)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--small", action="store_true")
    parser.add_argument("--compare", metavar="FILE", help="another tasklog.py to time too")
    args = parser.parse_args()

    from pve_backup_report.analysis.tasklog import parse_task_log
    from pve_backup_report.analysis.upid import parse_upid

    logs = [(lines, parse_upid(upid)) for lines, upid in _logs(args.small)]
    tz = ZoneInfo("Europe/Paris")
    total_lines = sum(len(lines) for lines, _ in logs)
    other = _load(args.compare) if args.compare else None
    best = other_best = float("inf")
    for _ in range(args.rounds):
        best = min(best, _round(parse_task_log, logs, tz))
        if other is not None:
            other_best = min(other_best, _round(other, logs, tz))
    print(f"logs {len(logs)}, lines {total_lines}, best of {args.rounds} rounds")
    print(f"this parser: {best:.3f} s, {best / total_lines * 1e6:.2f} us/line")
    if other is not None:
        print(f"{args.compare}: {other_best:.3f} s, {other_best / total_lines * 1e6:.2f} us/line")
        print(f"ratio this/other: {best / other_best:.2f}")


if __name__ == "__main__":
    main()

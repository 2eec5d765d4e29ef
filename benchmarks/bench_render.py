"""Rendering benchmark: a synthetic 4,000-guest cluster, HTML and PDF time and peak memory.

Each renderer runs in its own child process so that its peak RSS (ru_maxrss) is its own.
Run: .venv/bin/python benchmarks/bench_render.py [--guests 4000]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from pve_backup_report.analysis.coverage import compute_coverage
from pve_backup_report.collect.jobs import normalize_job
from pve_backup_report.collect.pbs_entry import PbsResult
from pve_backup_report.history.store import RunRecord, RunSummary
from pve_backup_report.model import (
    BackupAttempt,
    Freshness,
    Guest,
    GuestEvidence,
    GuestPbs,
    Inventory,
    Node,
    PbsSnapshot,
    Storage,
    VersionInfo,
)
from pve_backup_report.report.build import build_report
from pve_backup_report.report.history_records import guest_records, with_history
from pve_backup_report.report.history_view import HistorySource
from pve_backup_report.report.model import Report

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def _pbs(guests: tuple[Guest, ...], rng: random.Random) -> PbsResult:
    """A latest snapshot per guest (most verified, some never, a few failed)."""
    out: dict[int, GuestPbs] = {}
    for g in guests:
        when = NOW - timedelta(hours=rng.choice((5.0, 20.0, 50.0)))
        state = rng.choice(("ok", "ok", "ok", None, "failed"))
        snap = PbsSnapshot(
            when, "pbs1", "main", "", "vm" if g.type == "qemu" else "ct", str(g.vmid),
            size_bytes=2**33, verify_state=state,  # type: ignore[arg-type]
            verified_at=when + timedelta(hours=1) if state else None,
        )  # fmt: skip
        out[g.vmid] = GuestPbs(g.vmid, snap, restore_points=rng.randint(1, 30))
    return PbsResult(out, (), (), {}, (), 1)


def _history(report: Report, rng: random.Random) -> HistorySource:
    """14 days of daily results and 29 earlier runs, so the grid and trends are full."""
    days = [NOW.date() - timedelta(days=d) for d in range(1, 14)]
    pick = ("success",) * 8 + ("failure", "warning", "not_covered")
    daily = {g.vmid: {d: rng.choice(pick) for d in days} for g in report.guests}
    runs = [
        RunSummary(i, "bench", NOW - timedelta(days=i), 1, {"guests_total": len(report.guests),
                   "covered": len(report.guests) - 30 - i, "stale": i * 10, "last_failed": i})
        for i in range(1, 30)
    ]  # fmt: skip
    previous = RunRecord("bench", runs[0].started_at, runs[0].started_at, "bench", 1, {},
                         guest_records(report)[10:], (), 1)  # fmt: skip
    return HistorySource(previous, runs, daily)


def synthetic_report(count: int, lang: str = "en", *, extras: bool = True) -> Report:
    """`extras`: PBS snapshots and 14 days of history (the grid), as a real run has them."""
    rng = random.Random(42)
    nodes = tuple(Node(f"pve{i}", "online", timezone="Europe/Paris") for i in range(1, 21))
    storages = (
        Storage("pbs1", "pbs", True, ("backup",), server="pbs1.example", datastore="main"),
        Storage("nfs", "nfs", True, ("backup",), path="/mnt/pve/nfs"),
    )
    guests = tuple(
        Guest(
            vmid=100 + i,
            type="qemu" if i % 5 else "lxc",
            node=nodes[i % len(nodes)].name,
            name=f"guest-{i:05d}-" + "x" * rng.randint(0, 30),
            pool="prod" if i % 3 == 0 else None,
            tags=("web", "tier1") if i % 7 == 0 else (),
            notes="**owner**: team A\nrestore test monthly" if i % 11 == 0 else None,
        )
        for i in range(count)
    )
    raw_jobs: list[dict[str, Any]] = [
        {"id": "all-pbs", "type": "vzdump", "all": 1, "exclude": "100,101,102",
         "storage": "pbs1", "schedule": "21:00"},
        {"id": "nfs-weekly", "type": "vzdump", "vmid": ",".join(str(100 + i) for i in range(50)),
         "storage": "nfs", "schedule": "sat 02:00"},
    ]  # fmt: skip
    jobs = tuple(j for j in (normalize_job(r) for r in raw_jobs) if j is not None)
    inventory = Inventory(
        "https://bench:8006/api2/json",
        "bench",
        VersionInfo("8.2.4", "8.2", "x"),
        nodes,
        storages,
        guests,
        (),
        {},
        jobs,
        (),
    )
    evidence: dict[int, GuestEvidence] = {}
    for g in guests:
        age = rng.choice((3.0, 10.0, 20.0, 30.0, 80.0, 200.0))
        end = NOW - timedelta(hours=age)
        ok = BackupAttempt(
            "success", end - timedelta(minutes=4), end, 240, "pbs1", size_bytes=2**33
        )
        failed = rng.random() < 0.03
        latest = BackupAttempt("failure", end, end, 10, "pbs1", error="timeout") if failed else ok
        fresh = Freshness("fresh" if age < 26 else "stale", 26.0, "schedule", "", age)
        evidence[g.vmid] = GuestEvidence(g.vmid, latest, ok, 5, int(failed), fresh)
    coverage = compute_coverage(inventory)
    report = build_report(
        inventory,
        coverage,
        evidence,
        coverage.anomalies,
        generated_at=NOW,
        tool_version="bench",
        config_summary={"opt_out_tag": "no-backup"},
        lang=lang,
        pbs=_pbs(guests, rng) if extras else None,
    )
    return with_history(report, _history(report, rng)) if extras else report


def _child(kind: str, count: int) -> None:
    start = time.perf_counter()
    report = synthetic_report(count)
    built = time.perf_counter()
    if kind == "html":
        from pve_backup_report.report.render_html import render_html

        size = len(render_html(report).encode("utf-8"))
    else:
        from pve_backup_report.report.render_pdf import render_pdf

        size = len(render_pdf(report))
    done = time.perf_counter()
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"build_s": built - start, "render_s": done - built, "bytes": size,
                      "peak_rss_mib": rss_kib / 1024}))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--guests", type=int, default=4000)
    parser.add_argument("--child", choices=("html", "pdf"))
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.guests)
        return
    for kind in ("html", "pdf"):
        cmd = [sys.executable, __file__, "--child", kind, "--guests", str(args.guests)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if out.returncode:
            print(f"{kind}: failed: {out.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(out.stdout)
        print(
            f"{kind}: {args.guests} guests, model built in {r['build_s']:.2f} s, rendered in "
            f"{r['render_s']:.2f} s, {r['bytes'] / 2**20:.1f} MiB, "
            f"peak RSS {r['peak_rss_mib']:.0f} MiB"
        )


if __name__ == "__main__":
    main()

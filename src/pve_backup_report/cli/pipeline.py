"""One run's collection and analysis: config → client → collectors → analysis.

Everything happens inside one PVE client (one connection pool, one request counter); the PBS
servers get their own clients inside `collect_pbs`. Each stage can be skipped by the mode that
does not need it (e.g. `--dump-inventory` needs no task history).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from ..analysis.copies import CopyPolicy
from ..analysis.coverage import CoverageResult, compute_coverage
from ..analysis.crosscheck import cross_check
from ..api.client import ReadOnlyClient
from ..collect.config_cache import ConfigCache
from ..collect.evidence import EvidenceResult, collect_evidence
from ..collect.inventory import collect_inventory
from ..collect.log_cache import TaskLogCache
from ..collect.pbs_entry import PbsResult, collect_pbs
from ..config import Settings
from ..config_pbs import PbsSettings
from ..diagnostics.coverage_view import all_anomalies
from ..model import Anomaly, Inventory
from ..report.build import collection_failure
from .client_config import client_config

log = logging.getLogger("pve_backup_report.cli")


class PhaseClock:
    """`-v`: how long each phase took and how many requests it sent, so a slow run can be
    explained (a node with thousands of tasks, a slow PBS) without a profiler."""

    def __init__(self, requests: Callable[[], int]) -> None:
        self._requests = requests
        self._start = time.monotonic()
        self._count = requests()

    def lap(self, phase: str, extra_requests: int = 0) -> None:
        now, count = time.monotonic(), self._requests()
        log.info(
            "phase %s: %.2f s, %d request(s)",
            phase,
            now - self._start,
            count - self._count + extra_requests,
        )
        self._start, self._count = now, count


@dataclass(frozen=True)
class RunData:
    inventory: Inventory
    coverage: CoverageResult
    evidence: EvidenceResult | None
    pbs: PbsResult | None
    anomalies: list[Anomaly]
    requests: int
    started_at: datetime
    duration_s: float

    @property
    def verdicts_unknown(self) -> bool:
        """The job list or the guest list could not be read: no verdict can be trusted."""
        return self.failure is not None

    @property
    def failure(self) -> str | None:
        """Why the cluster could not be read, in one line (None: it was)."""
        return collection_failure(self.inventory)


def copy_policy(settings: Settings) -> CopyPolicy:
    """The off-site copy policy from `REPORT_MIN_COPIES*` (see analysis/copies.py)."""
    report = settings.report
    return CopyPolicy(
        min_copies=report.min_copies or 2,
        tags=report.min_copies_tags,
        pools=report.min_copies_pools,
        lag_hours=report.offsite_lag_hours,
        explicit=report.min_copies is not None,
    )


async def collect_run(
    settings: Settings,
    pbs_settings: list[PbsSettings],
    *,
    evidence: bool = True,
    pbs: bool = True,
    now: datetime | None = None,
    stage: Callable[[str], None] | None = None,
    remembered: Callable[[str], Mapping[int, tuple[str | None, datetime]]] | None = None,
    config_cache: ConfigCache | None = None,
    log_cache: TaskLogCache | None = None,
) -> RunData:
    """Collect and analyse; `now` freezes the clock (the demo cluster lives on its own date).

    ``log_cache`` (e.g. `SqliteTaskLogCache` on the history database) saves re-reading the logs
    of finished tasks parsed by an earlier run; the result is the same with or without it.
    """
    pve = settings.pve
    started_at = now or datetime.now().astimezone()
    clock = time.monotonic()
    tell = stage or (lambda _text: None)
    async with ReadOnlyClient(client_config(pve)) as client:
        phases = PhaseClock(lambda: client.request_count)
        tell("Reading the cluster inventory…")
        inventory = await collect_inventory(
            client,
            pve.base_urls[0],
            pve.backup_jobs_endpoint,
            config_cache=config_cache,
            now=started_at,
            progress=stage,
        )
        coverage = compute_coverage(inventory, settings.opt_out_tag)
        phases.lap("inventory")
        evidence_result = None
        if evidence and inventory.jobs is not None:
            tell(f"Reading backup task history of {len(inventory.nodes)} node(s)…")
            report = settings.report
            evidence_result = await collect_evidence(
                client,
                inventory,
                coverage,
                task_history_limit=pve.task_history_limit,
                task_log_limit=pve.task_log_limit,
                history_days=pve.task_history_days,
                now=started_at,
                global_max_age_hours=report.max_age_hours,
                tag_max_age=report.max_age_tags,
                pool_max_age=report.max_age_pools,
                remembered_success=(remembered(inventory.cluster_label) if remembered else None),
                log_cache=log_cache,
                progress=stage,
            )
            phases.lap("task history")
        pbs_result = None
        if pbs:
            tell("Reading backup servers…")
            pbs_result = await collect_pbs(
                pbs_settings,
                inventory,
                coverage,
                evidence_result.guests if evidence_result else None,
                client,
                now=started_at,
                timeout=pve.timeout,
                copy_policy=copy_policy(settings),
            )
            phases.lap("backup servers", pbs_result.request_count)
        requests = client.request_count + (pbs_result.request_count if pbs_result else 0)
    extra = cross_check(inventory.not_backed_up, coverage.guests)
    if evidence_result is not None:
        extra.extend(evidence_result.anomalies)
        inventory = with_node_timezones(inventory, evidence_result.node_timezones)
    if pbs_result is not None:
        extra.extend(pbs_result.anomalies)
    duration = time.monotonic() - clock
    log.info("collection: %.2f s, %d request(s) in total", duration, requests)
    return RunData(
        inventory=inventory,
        coverage=coverage,
        evidence=evidence_result,
        pbs=pbs_result,
        anomalies=all_anomalies(inventory, coverage, extra),
        requests=requests,
        started_at=started_at,
        duration_s=duration,
    )


def with_node_timezones(inventory: Inventory, zones: Mapping[str, str]) -> Inventory:
    """The nodes' time zones read with the task history (`/nodes/{node}/time`), so that the
    report computes next runs and says "node time" in the zone Proxmox itself uses."""
    if not zones:
        return inventory
    nodes = tuple(replace(n, timezone=n.timezone or zones.get(n.name)) for n in inventory.nodes)
    return replace(inventory, nodes=nodes)

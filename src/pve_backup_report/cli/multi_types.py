"""What one cluster's run leaves for the combined summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the report model is not imported by the modes that never build one
    from ..outputs.prometheus import ClusterRun
    from ..report.model import Report


@dataclass(frozen=True)
class ClusterOutcome:
    env_file: str
    report: Report | None
    status: int
    paths: list[Path] = field(default_factory=list)
    metrics: list[ClusterRun] = field(default_factory=list)  # for the one Prometheus file

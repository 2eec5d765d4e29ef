"""What triggered the report's status, most serious first: guests, jobs and the cluster.

Why here: the banner ("CRITICAL — a job fails at every run …"), the "What needs attention"
section, the e-mail digest and its plain-text part must name the same findings in the same
order. They are derived from the report model only (guest attention levels and anomalies),
never recomputed from raw data.

A finding is either a group of guests sharing one attention reason ("2 guests not covered")
or an anomaly that is not already told by a guest needing attention: job- and cluster-level
anomalies (job on a missing pool, disabled storage, offline node …) and guest anomalies of a
guest that is otherwise fine. Anomalies of the same code are grouped, the first one's message
speaking for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ..model import Anomaly, Severity
from .i18n import Translator
from .model import CRITICAL_REASONS, AttentionReason, GuestRow, Level, Report

Kind = Literal["guests", "anomaly"]
_LEVELS: tuple[Level, ...] = ("critical", "warning")
_SEVERITY: dict[Level, Severity] = {"critical": Severity.CRITICAL, "warning": Severity.WARNING}
_RANK: dict[Level | None, int] = {None: 0, "warning": 1, "critical": 2}
BANNER_ITEMS = 3  # findings named in the banner; the rest are counted


@dataclass(frozen=True)
class Finding:
    level: Level
    kind: Kind
    code: str  # an attention reason (guests) or an anomaly code
    count: int  # guests with the reason, or anomalies with the code
    text: str  # one sentence in the report's language
    anomalies: tuple[Anomaly, ...] = ()
    vmids: tuple[int, ...] = ()


def anomaly_vmid(anomaly: Anomaly) -> int | None:
    value = anomaly.details.get("vmid")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def guest_anomalies(report: Report) -> dict[int, list[Anomaly]]:
    """Critical and warning anomalies about one guest, by VMID (shown with the guest)."""
    out: dict[int, list[Anomaly]] = {}
    for a in report.anomalies:
        vmid = anomaly_vmid(a)
        if vmid is not None and a.severity in (Severity.CRITICAL, Severity.WARNING):
            out.setdefault(vmid, []).append(a)
    return out


def worst_level(guest: GuestRow, anomalies: Sequence[Anomaly] = ()) -> Level | None:
    """The guest's attention level, raised by a more serious anomaly about it."""
    if guest.attention_level == "critical" or any(
        a.severity is Severity.CRITICAL for a in anomalies
    ):
        return "critical"
    if guest.attention_level == "warning" or any(a.severity is Severity.WARNING for a in anomalies):
        return "warning"
    return None


def _guest_findings(tr: Translator, report: Report, level: Level) -> list[Finding]:
    """One finding per attention reason of this level (a guest may be in several)."""
    by_reason: dict[AttentionReason, list[int]] = {}
    for g in report.attention_rows():
        for reason in g.attention:
            if ("critical" if reason in CRITICAL_REASONS else "warning") == level:
                by_reason.setdefault(reason, []).append(g.vmid)
    ordered = sorted(by_reason.items(), key=lambda kv: -len(kv[1]))
    return [
        Finding(level, "guests", why, len(ids), tr.plural(f"finding.{why}", len(ids)), vmids=ids)
        for why, ids in ((why, tuple(vmids)) for why, vmids in ordered)
    ]


def _anomaly_findings(tr: Translator, report: Report, level: Level) -> list[Finding]:
    # a guest needing attention at this level or above tells its anomalies itself
    told = {g.vmid for g in report.attention_rows() if _RANK[g.attention_level] >= _RANK[level]}
    groups: dict[str, list[Anomaly]] = {}
    for a in report.anomalies:
        if a.severity is not _SEVERITY[level] or anomaly_vmid(a) in told:
            continue
        groups.setdefault(a.code, []).append(a)
    out = []
    for code, items in groups.items():
        first = items[0]
        text = tr.anomaly(first.code, first.message, first.details)
        if len(items) > 1:
            text += " " + tr.plural("finding.and_similar", len(items) - 1)
        out.append(Finding(level, "anomaly", code, len(items), text, tuple(items)))
    return out


def findings(report: Report, tr: Translator | None = None) -> list[Finding]:
    """Every finding, critical before warning; within a level, job and cluster anomalies
    (one cause can fail many guests) before guest groups, larger groups first."""
    tr = tr or Translator(report.lang, report.generated_at.tzinfo)
    out: list[Finding] = []
    for level in _LEVELS:
        out += _anomaly_findings(tr, report, level)
        out += _guest_findings(tr, report, level)
    return out


def headline(items: Sequence[Finding], tr: Translator, limit: int = BANNER_ITEMS) -> str | None:
    """What triggered the status: the most serious level's findings, the first `limit` named
    and the others counted. None when nothing needs attention."""
    if not items:
        return None
    top = [f for f in items if f.level == items[0].level]
    sep = tr.punct(";") + " "
    text = sep.join(f.text for f in top[:limit])
    if len(top) > limit:
        text += sep + tr.plural("finding.more", len(top) - limit)
    return text


def banner(report: Report, status: str, tr: Translator | None = None) -> str:
    """The status banner's sentence: the status and what triggered it."""
    tr = tr or Translator(report.lang, report.generated_at.tzinfo)
    why = headline(findings(report, tr), tr) if status in ("warning", "critical") else None
    if why is None:
        return tr.t(f"status.{status}")
    return tr.t("banner.because", status=tr.t(f"status.word.{status}"), why=why)


@dataclass(frozen=True)
class GuestMark:
    """How a guest's row opens: the colour and the words of its worst finding."""

    level: Level
    text: str


def guest_mark(
    tr: Translator, guest: GuestRow, anomalies: Sequence[Anomaly] = ()
) -> GuestMark | None:
    """The guest's worst finding (a critical reason, else a critical anomaly about it, else the
    first reason or warning anomaly). None: nothing to say, the row may look green."""
    level = worst_level(guest, anomalies)
    if level is None:
        return None
    reasons = sorted(guest.attention, key=lambda r: r not in CRITICAL_REASONS)
    if reasons and (level == guest.attention_level or reasons[0] in CRITICAL_REASONS):
        return GuestMark(level, tr.t(f"reason.{reasons[0]}"))
    worst = next((a for a in anomalies if a.severity is _SEVERITY[level]), None)
    if worst is None:  # a reason with no anomaly: say it at the guest's level
        return GuestMark(level, tr.t(f"reason.{reasons[0]}"))
    return GuestMark(level, tr.anomaly(worst.code, worst.message, worst.details))


def calm(css_class: str, mark: GuestMark | None) -> str:
    """A green badge beside a finding would contradict it: shown neutral instead."""
    return "muted" if mark is not None and css_class == "ok" else css_class

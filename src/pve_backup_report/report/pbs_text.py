"""Backup server facts and history labels as short phrases, shared by every human format.

Why here: the Guests table (HTML, PDF, Markdown), the attention list and the terminal summary
all describe a guest's PBS state; composing the phrases once keeps the formats from drifting.
Phrases are plain text; HTML escaping is left to the templates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..analysis.coverage import Verdict
from ..model import RetentionPolicy
from .i18n import Translator
from .model import GuestRow

KEEP_ORDER = ("last", "hourly", "daily", "weekly", "monthly", "yearly")
VERIFY_CLASS = {"ok": "ok", "failed": "bad", "never": "warn"}
_VERDICTS = frozenset(v.value for v in Verdict)


@dataclass(frozen=True)
class PbsCell:
    """One guest's backup server state: a badge, when, and detail lines."""

    badge: str
    badge_class: str  # ok | warn | bad | muted | ns
    when: str | None = None  # time of the latest snapshot
    lines: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default_factory=tuple)


def namespace(tr: Translator, ns: str | None) -> str:
    return ns if ns else tr.t("pbs.root")


def keep_text(keep: dict[str, int]) -> str:
    def order(item: tuple[str, int]) -> tuple[int, str]:
        name = item[0].removeprefix("keep-")
        return (KEEP_ORDER.index(name) if name in KEEP_ORDER else 99, item[0])

    return ", ".join(
        f"{k if k.startswith('keep-') else 'keep-' + k}={v}"
        for k, v in sorted(keep.items(), key=order)
    )


def retention_text(tr: Translator, policy: RetentionPolicy | None) -> str:
    if policy is None or not policy.keep:
        return tr.t("pbs.retention_none")
    return tr.t("pbs.retention", keep=keep_text(policy.keep))


def verify_state(g: GuestRow) -> str | None:
    latest = g.pbs.latest_snapshot if g.pbs else None
    if latest is None:
        return None
    return latest.verify_state or "never"


def pbs_cell(tr: Translator, g: GuestRow, collected: bool) -> PbsCell:
    if not collected:
        return PbsCell(tr.t("value.not_collected"), "ns")
    p = g.pbs
    if p is None:
        return PbsCell(tr.t("pbs.none"), "ns")
    warnings: list[str] = []
    if p.other_namespaces:
        warnings.append(tr.t("pbs.other_namespaces", where=", ".join(p.other_namespaces)))
    if p.collision:
        warnings.append(tr.t("pbs.collision", reason=g.collision_text or p.collision))
    if p.source == "pve":
        warnings.append(tr.t("pbs.via_pve"))
    s = p.latest_snapshot
    if s is None:
        cls = "bad" if "pbs_no_snapshot" in g.attention else "muted"
        return PbsCell(tr.t("pbs.no_snapshot"), cls, None, (), tuple(warnings))
    state = verify_state(g) or "never"
    where = f"{s.server} · {s.datastore} · {namespace(tr, s.namespace)}"
    facts = [
        tr.plural("pbs.restore_points", p.restore_points)
        if p.restore_points is not None
        else tr.t("pbs.restore_points_unknown")
    ]
    if s.size_bytes is not None:
        facts.append(tr.size(s.size_bytes) or "")
    if s.encrypted is not None:
        facts.append(tr.t("pbs.encrypted" if s.encrypted else "pbs.unencrypted"))
    if s.protected:
        facts.append(tr.t("pbs.protected"))
    lines = [where, " · ".join(facts)]
    if s.verified_at is not None:
        lines.append(tr.t("pbs.verified_at", when=tr.datetime_z(s.verified_at)))
    if p.oldest_snapshot_time is not None and (p.restore_points or 0) > 1:
        lines.append(tr.t("pbs.oldest", when=tr.datetime_z(p.oldest_snapshot_time)))
    lines.append(retention_text(tr, p.retention))
    deliberate = g.coverage.status in (Verdict.OPTED_OUT.value, Verdict.EXCLUDED.value)
    return PbsCell(
        tr.t(f"pbs.verify.{state}"),
        "muted" if deliberate and state != "ok" else VERIFY_CLASS[state],
        tr.datetime_z(s.backup_time),
        tuple(lines),
        tuple(warnings),
    )


def code_label(tr: Translator, code: str | None) -> str:
    """A verdict or backup result code from the history, in words."""
    if code is None:
        return tr.t("changes.none_before")
    if code in _VERDICTS:
        return tr.t(f"verdict.{code}")
    if tr.has(f"result.{code}"):
        return tr.t(f"result.{code}")
    return code

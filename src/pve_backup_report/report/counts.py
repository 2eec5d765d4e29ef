"""Every count an output shows, defined once.

Why one place: the report's tiles, the text and Markdown summaries, the Nagios status line and
perfdata, the Prometheus `summary` series, the e-mail subject, the `history` command and the
multi-cluster summary all print "not covered", "failed", "stale"… If each computed them, a
guest protected only by a disabled job would be "not covered" in one and not in another (it
was: 5 in the report, 3 in `history`). `build_report` fills `Summary` with the functions
below; every output reads `Summary` (or `summary_counts`) and never re-derives a count.

Definitions (a guest is counted once per line; a guest can be both failed and stale):

- `guests_total`: every guest (VM or container, templates included) the guest list returned.
- `covered_pbs`: verdict `covered` (an active job writes it to an active PBS storage).
- `covered_other`: verdict `covered_non_pbs` (only non-PBS storages).
- `covered`: `covered_pbs` + `covered_other`.
- `not_covered`: verdicts `not_covered` + `disabled_only`: no job can protect the guest today.
- `disabled_only`: verdict `disabled_only` (already inside `not_covered`).
- `excluded_opted_out`: verdicts `excluded` + `opted_out` (deliberately not backed up).
- `indeterminate`: verdict `indeterminate` (a selection could not be read).
- `last_failed`: the latest backup attempt failed (None: task history not read).
- `stale`: freshness `stale` or `no_success` (None: task history not read).
- `not_verified`: latest PBS snapshot never verified or failed verification (None: no
  backup server read).
- `other`: needs attention only for reasons outside not covered / failed / stale.
- `ok`: needs no attention at all.
- `anomalies_critical`, `anomalies_warning`, `anomalies_info`: anomalies by severity.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..analysis.coverage import Verdict
from .model import Summary

# reasons that already have their own count (not_covered, last_failed, stale)
COUNTED_REASONS = frozenset(
    {"not_covered", "disabled_only", "last_backup_failed", "stale", "no_success"}
)
COUNT_NAMES = (
    "guests_total",
    "covered_pbs",
    "covered_other",
    "covered",
    "not_covered",
    "disabled_only",
    "excluded_opted_out",
    "indeterminate",
    "last_failed",
    "stale",
    "not_verified",
    "other",
    "ok",
    "anomalies_critical",
    "anomalies_warning",
    "anomalies_info",
)


# The summary tiles, in order, each with the colour a non-zero value takes: the HTML/PDF cards
# and the e-mail digest show the same tiles the same way.
SUMMARY_TILES: tuple[tuple[str, str], ...] = (
    ("guests_total", ""),
    ("covered_pbs", "ok"),
    ("covered_other", "warn"),
    ("not_covered", "bad"),
    ("excluded_opted_out", ""),
    ("indeterminate", "warn"),
    ("last_failed", "bad"),
    ("stale", "warn"),
    ("not_verified", "warn"),
)


def verdict_counts(verdicts: Mapping[str, int]) -> dict[str, int]:
    """The coverage counts from the number of guests per verdict (also for stored runs)."""

    def n(verdict: Verdict) -> int:
        value = verdicts.get(verdict.value, 0)
        return int(value) if isinstance(value, int | float) else 0

    covered_pbs, covered_other = n(Verdict.COVERED), n(Verdict.COVERED_NON_PBS)
    return {
        "covered_pbs": covered_pbs,
        "covered_other": covered_other,
        "covered": covered_pbs + covered_other,
        "not_covered": n(Verdict.NOT_COVERED) + n(Verdict.DISABLED_ONLY),
        "disabled_only": n(Verdict.DISABLED_ONLY),
        "excluded_opted_out": n(Verdict.EXCLUDED) + n(Verdict.OPTED_OUT),
        "indeterminate": n(Verdict.INDETERMINATE),
    }


def other_attention(reasons_per_guest: Iterable[Iterable[str]]) -> int:
    """Guests needing attention only for reasons that have no count of their own."""
    return sum(
        1 for reasons in map(set, reasons_per_guest) if reasons and not COUNTED_REASONS & reasons
    )


def summary_counts(summary: Summary) -> dict[str, int | None]:
    """Every count by its name in `COUNT_NAMES` (None: not measured in this run)."""
    values: dict[str, int | None] = {
        "guests_total": summary.guests_total,
        **verdict_counts(summary.verdicts),
        "last_failed": summary.last_failed,
        "stale": summary.stale,
        "not_verified": summary.not_verified,
        "other": summary.other,
        "ok": summary.ok,
        "anomalies_critical": summary.anomalies_critical,
        "anomalies_warning": summary.anomalies_warning,
        "anomalies_info": summary.anomalies_info,
    }
    return {name: values[name] for name in COUNT_NAMES}

"""Catalogue parity (keys and placeholders) and locale formatting."""

from __future__ import annotations

import re
import string
from datetime import datetime
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pve_backup_report.report.i18n import (
    ANOMALY_MSG,
    LANGUAGES,
    NNBSP,
    Translator,
    catalogue,
    placeholders,
)

NOW = datetime(2026, 11, 26, 21, 5, tzinfo=ZoneInfo("Europe/Paris"))


def test_same_keys_in_every_catalogue() -> None:
    reference = set(catalogue("en"))
    for lang in LANGUAGES:
        keys = set(catalogue(lang))
        assert keys - reference == set(), f"{lang} has extra keys"
        assert reference - keys == set(), f"{lang} misses keys"


def test_same_placeholders_in_every_catalogue() -> None:
    en = catalogue("en")
    for lang in LANGUAGES:
        other = catalogue(lang)
        wrong = {k for k in en if placeholders(en[k]) != placeholders(other.get(k, ""))}
        assert wrong == set(), f"{lang}: placeholders differ for {sorted(wrong)}"


def _template_keys() -> set[str]:
    root = resources.files("pve_backup_report.report") / "templates"
    keys: set[str] = set()
    for item in root.iterdir():
        text = item.read_text(encoding="utf-8")
        keys.update(re.findall(r"tr\.t\('([a-z0-9_.]+)'", text))
        keys.update(k + ".other" for k in re.findall(r"tr\.plural\('([a-z0-9_.]+)'", text))
    return keys


def test_templates_only_use_known_keys() -> None:
    keys = _template_keys()
    known = set(catalogue("en"))
    assert "report.title" in keys
    assert {k for k in keys if not k.endswith(".")} - known == set()
    prefixes = {k for k in keys if k.endswith(".")}  # 'verdict.' ~ code
    assert {p for p in prefixes if not any(k.startswith(p) for k in known)} == set()


def test_every_code_has_a_label() -> None:
    from typing import get_args

    from pve_backup_report.analysis.coverage import TargetState, Verdict
    from pve_backup_report.model import BackupResult, FreshnessStatus, Severity
    from pve_backup_report.report.model import AGE_BUCKETS, AttentionReason

    wanted = {f"verdict.{v.value}" for v in Verdict}
    wanted |= {f"method.verdict.{v.value}" for v in Verdict}
    wanted |= {f"reason.{r}" for r in get_args(AttentionReason)}
    wanted |= {f"finding.{r}.{n}" for r in get_args(AttentionReason) for n in ("one", "other")}
    wanted |= {f"result.{r}" for r in get_args(BackupResult)}
    wanted |= {f"freshness.{f}" for f in get_args(FreshnessStatus)}
    wanted |= {f"severity.{s.value}" for s in Severity}
    wanted |= {f"age.{a}" for a in AGE_BUCKETS}
    wanted |= {f"status.{s}" for s in ("ok", "warning", "critical", "unknown")}
    wanted |= {f"explain.target.{t}" for t in get_args(TargetState) if t not in ("pbs", "other")}
    assert wanted - set(catalogue("en")) == set()


def test_unknown_language_and_key_fail() -> None:
    with pytest.raises(ValueError, match="unsupported report language"):
        Translator("de")
    with pytest.raises(KeyError):
        Translator("en").t("no.such.key")


def test_french_formats() -> None:
    tr = Translator("fr")
    assert tr.date(NOW) == "26/11/2026"
    assert tr.datetime(NOW) == "26/11/2026 21:05"
    assert tr.number(1234567.5, 1) == f"1{NNBSP}234{NNBSP}567,5"
    assert tr.number(0.25, 2) == "0,25"
    assert tr.percent(1, 3) == f"33,3{NNBSP}%"
    assert tr.size(1536 * 1024**2) == f"1,5{NNBSP}Gio"
    # CLDR (Babel): no-break space before long unit names; French 0 ≤ n < 2 is singular
    assert tr.age(36) == "36\u00a0heures"
    assert tr.age(72) == "3\u00a0jours"
    assert tr.age(1.5) == "1,5\u00a0heure"
    assert tr.duration(3725) == f"1{NNBSP}h 2\u00a0min"
    assert tr.datetime_z(NOW) == "26/11/2026 21:05\u00a0CET"


def test_english_formats() -> None:
    tr = Translator("en")
    assert tr.date(NOW) == "2026-11-26"
    assert tr.datetime(NOW, with_zone=True) == "2026-11-26 21:05 CET (UTC+01:00)"
    assert tr.number(1234567.5, 1) == "1,234,567.5"
    assert tr.size(512) == "512 B"
    assert tr.duration(3725) == "1 hr 2 min"
    assert tr.duration(65) == "1 min 5 sec"
    assert tr.age(0.5) == "30 minutes"
    assert tr.age(1) == "1 hour"
    assert tr.datetime_z(NOW) == "2026-11-26 21:05\u00a0CET"


def test_times_follow_the_report_zone() -> None:
    tr = Translator("en", ZoneInfo("Europe/Paris"))
    utc = datetime.fromisoformat("2026-07-01T12:00:00+00:00")
    assert tr.datetime(utc) == "2026-07-01 14:00"  # CEST
    assert tr.datetime_z(utc) == "2026-07-01 14:00\u00a0CEST"
    assert (
        Translator("en", ZoneInfo("Asia/Dubai")).datetime_z(utc)
        == "2026-07-01 16:00\u00a0UTC+04:00"
    )


# ------------------------------------------------------------------ anomaly messages
_SRC = Path(__file__).resolve().parents[2] / "src" / "pve_backup_report"
_OPENER = re.compile(r"(?<!def )\b(?:Anomaly|add|add_error|_anomaly|_a)\(")
_LITERAL = re.compile(r'(==\s*)?f?"([^"\n]*)"')
_CODE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9{}.]+)+")
# codes built at run time: the template as written → every code it can give
_DYNAMIC = {"backup_{fresh.status}": {"backup_stale", "backup_no_success"}}


def _call_args(text: str, start: int) -> str:
    depth = 0
    for i in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            return text[start:i]
    return text[start:]


def _emitted_codes() -> set[str]:
    """Every anomaly code the collectors and analyses can emit, read from their source: the
    `code="…"` of `Collector.fetch`, and the code-like literals of an `Anomaly(…)`, `add(…)`,
    `add_error(…)`, `_anomaly(…)` or `_a(…)` call before its message."""
    found: set[str] = set()
    for path in sorted([*_SRC.glob("analysis/*.py"), *_SRC.glob("collect/*.py")]):
        text = path.read_text(encoding="utf-8")
        found.update(re.findall(r'\bcode="([a-z0-9_]+)"', text))
        for match in _OPENER.finditer(text):
            for comparison, literal in _LITERAL.findall(_call_args(text, match.end() - 1)):
                if " " in literal:
                    break  # the message: codes come before it
                if not comparison and _CODE.fullmatch(literal):
                    found.add(literal)
    dynamic = {c for c in found if "{" in c}
    assert dynamic <= set(_DYNAMIC), f"add the codes of {dynamic - set(_DYNAMIC)} to _DYNAMIC"
    return (found - dynamic).union(*(_DYNAMIC[c] for c in dynamic))


def test_every_anomaly_code_has_a_translated_message() -> None:
    codes = _emitted_codes()
    assert {"jobs_unavailable", "pbs_vmid_collision", "backup_stale", "task_log_truncated"} <= codes
    assert len(codes) > 60
    for lang in LANGUAGES:
        cat = catalogue(lang)
        missing = {c for c in codes if f"{ANOMALY_MSG}{c}" not in cat}
        assert missing == set(), f"{lang}: no anomaly.msg.<code> for {sorted(missing)}"
    keyed = {
        k.removeprefix(ANOMALY_MSG).split(".")[0]
        for k in catalogue("en")
        if k.startswith(ANOMALY_MSG)
    }
    assert keyed - codes == set(), "messages for codes nothing emits"


def test_anomaly_message_placeholders_are_detail_names() -> None:
    """Placeholders name details (lower-case identifiers), with only the known format specs."""
    for key, text in catalogue("fr").items():
        if not key.startswith(("anomaly.msg.", "anomaly.part.")):
            continue
        for _, name, spec, conversion in string.Formatter().parse(text):
            if name is None:
                continue
            assert re.fullmatch(r"[a-z][a-z0-9_]*", name), (key, name)
            known = spec in ("", "date", "datetime", "n") or re.fullmatch(r"p:[^|]+\|[^|]+", spec)
            assert known and conversion is None, (key, spec)


def test_french_typography_and_wording() -> None:
    """As a French sysadmin writes: a narrow no-break space before : ; ? ! (a colon glued to a
    word is an identifier, e.g. `{server}:{datastore}`), agreement by plural forms rather
    than "(s)", and the project's terms."""
    fr = catalogue("fr")
    for key, text in fr.items():
        if key == "letter.undetermined":
            continue
        assert not re.search(r"[ \u00a0][:;?!]", text), key
        assert not re.search(r"\w[;?!]", text), key
        if not key.startswith("anomaly."):
            assert "(s)" not in text, key
        assert "étiquette de retrait" not in text, key
    assert fr["method.verdict.not_covered"].startswith("n’est sélectionné par aucune tâche")
    tr = Translator("fr")
    assert tr.plural("text.n.covered_other", 1) == "1 couvert (autre stockage)"
    assert tr.plural("text.n.covered_other", 2) == "2 couverts (autre stockage)"
    assert tr.plural("guests.intro", 17) == "17 invités, par VMID."

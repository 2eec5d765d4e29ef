"""Catalogue parity (keys and placeholders) and locale formatting."""

from __future__ import annotations

import re
from datetime import datetime
from importlib import resources
from zoneinfo import ZoneInfo

import pytest

from pve_backup_report.report.i18n import LANGUAGES, NNBSP, Translator, catalogue, placeholders

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
    assert tr.age(36) == f"36{NNBSP}h"
    assert tr.age(72) == f"3{NNBSP}jours"
    assert tr.age(1.5) == f"1,5{NNBSP}h"


def test_english_formats() -> None:
    tr = Translator("en")
    assert tr.date(NOW) == "2026-11-26"
    assert tr.datetime(NOW, with_zone=True) == "2026-11-26 21:05 CET (UTC+01:00)"
    assert tr.number(1234567.5, 1) == "1,234,567.5"
    assert tr.size(512) == "512 B"
    assert tr.duration(3725) == f"1{NNBSP}h{NNBSP}02{NNBSP}min"
    assert tr.age(0.5) == "30 min"


def test_times_follow_the_report_zone() -> None:
    tr = Translator("en", ZoneInfo("Europe/Paris"))
    utc = datetime.fromisoformat("2026-07-01T12:00:00+00:00")
    assert tr.datetime(utc) == "2026-07-01 14:00"  # CEST

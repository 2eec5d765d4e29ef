"""The diagnostics speak the report language (issue 13 §3): `--dump-inventory` and
`--dump-coverage` tables of the demo cluster in French; `--check` keeps the Nagios words."""

from __future__ import annotations

import io

import pytest

from pve_backup_report.cli import main


def _run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["demo", *args], stdout=out, stderr=io.StringIO())
    return code, out.getvalue()


def test_dump_inventory_in_french() -> None:
    _, text = _run("--lang", "fr", "--dump-inventory")
    for title in ("Nœuds", "Stockages PBS", "Tâches de sauvegarde", "Datastores PBS", "Anomalies"):
        assert title in text
    assert "Version de PVE\u202f: 9.2.11" in text
    assert "désactivé" in text and "défaut)" in text  # cells (wrapped at the table's width)
    assert "Backup jobs" not in text and "disabled" not in text


def test_dump_inventory_in_english_is_unchanged() -> None:
    _, text = _run("--lang", "en", "--dump-inventory")
    assert "PVE version: 9.2.11" in text
    assert "Backup jobs" in text and "disabled" in text and "(default)" in text


def test_dump_coverage_in_french() -> None:
    _, text = _run("--lang", "fr", "--dump-coverage")
    assert "Couverture des sauvegardes" in text
    assert "Hors sauvegarde" in text  # verdict labels, not codes
    assert text.splitlines()[-1] == (
        "14 invités\u202f: Exclu d’une tâche\u202f: 2, "
        "Hors sauvegarde (volontaire)\u202f: 1, Couvert (PBS)\u202f: 11"
    )


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_check_keeps_the_nagios_status_words(lang: str) -> None:
    _, text = _run("--lang", lang, "--check")
    assert text.startswith("PVE BACKUP ")
    assert text.split()[2] in ("OK", "WARNING", "CRITICAL", "UNKNOWN")


def test_check_api_words_agree_in_both_languages() -> None:
    """The English fast path (no Babel loaded) says what the catalogue says."""
    from pve_backup_report.diagnostics.check_api import _check_words
    from pve_backup_report.report.i18n import Translator

    en, tr = _check_words("en"), Translator("en")
    for n in (0, 1, 2, 21):
        assert en["items"](n) == tr.plural("diag.check.items", n)
        assert en["passed"](n, 21) == tr.plural("diag.check.passed", n, total="21")
    assert (en["ok"], en["failed"], en["hint"]) == tuple(
        tr.t(f"diag.check.{k}") for k in ("ok", "failed", "hint")
    )

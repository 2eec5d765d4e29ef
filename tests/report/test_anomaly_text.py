"""Anomaly messages in the report's language: French from the details, English verbatim."""

from __future__ import annotations

from dataclasses import replace

from pve_backup_report.model import Anomaly, Severity
from pve_backup_report.report.i18n import NNBSP, Translator
from pve_backup_report.report.model import Report
from pve_backup_report.report.render_html import render_html
from pve_backup_report.report.render_json import render_json
from pve_backup_report.report.render_md import render_md
from pve_backup_report.report.render_text import render_text

from .scenario import build

POOL = Anomaly(
    Severity.CRITICAL,
    "jobs",
    "job_pool_missing",
    "Job backup-1 selects pool 'staging', which does not exist: Proxmox fails this job",
    {"job": "backup-1", "pool": "staging"},
)
FULL = Anomaly(
    Severity.WARNING,
    "pbs",
    "pbs_datastore_full_soon",
    "Datastore pbs01:store1 is estimated to be full on 2026-12-20",
    {"server": "pbs01", "datastore": "store1", "estimated_full": "2026-12-20T07:00:00+00:00"},
)
OFFLINE = Anomaly(
    Severity.WARNING,
    "nodes",
    "node_offline",
    "Node pve3 is offline: its tasks and guest configs cannot be read",
    {"node": "pve3", "status": "offline"},
)
# `guests` is missing: the French sentence cannot be built
NO_GUESTS = Anomaly(
    Severity.WARNING,
    "jobs",
    "job_disabled",
    "Job old is disabled: it backs up nothing",
    {"job": "old"},
)
HOSTILE = Anomaly(
    Severity.WARNING,
    "jobs",
    "job_storage_disabled",
    "Job <script>x</script> targets storage 'a&b', which is disabled",
    {"job": "<script>alert(1)</script>", "storage": "<b>a&b</b>"},
)
ANOMALIES = (POOL, FULL, OFFLINE, NO_GUESTS, HOSTILE)


def report(lang: str) -> Report:
    return replace(build(lang), anomalies=ANOMALIES)


def test_french_message_from_details() -> None:
    tr = Translator("fr")
    text = tr.anomaly(POOL.code, POOL.message, POOL.details)
    assert text == (
        f"La tâche backup-1 sélectionne le pool «{NNBSP}staging{NNBSP}», qui n’existe pas{NNBSP}: "
        "Proxmox fait échouer cette tâche à chaque exécution"
    )
    assert tr.anomaly(FULL.code, FULL.message, FULL.details).endswith("plein le 20/12/2026")
    assert "est hors ligne" in tr.anomaly(OFFLINE.code, OFFLINE.message, OFFLINE.details)


def test_english_is_the_message_verbatim() -> None:
    tr = Translator("en")
    for a in ANOMALIES:
        assert tr.anomaly(a.code, a.message, a.details) == a.message


def test_fallback_to_english() -> None:
    tr = Translator("fr")
    assert tr.anomaly(NO_GUESTS.code, NO_GUESTS.message, NO_GUESTS.details) == NO_GUESTS.message
    assert tr.anomaly("no_such_code", "As is", {"x": 1}) == "As is"
    none = {**POOL.details, "pool": None}
    assert tr.anomaly(POOL.code, POOL.message, none) == POOL.message
    bad_date = {**FULL.details, "estimated_full": "soon"}
    assert tr.anomaly(FULL.code, FULL.message, bad_date) == FULL.message
    naive = {**FULL.details, "estimated_full": "2026-12-20T07:00:00"}
    assert tr.anomaly(FULL.code, FULL.message, naive) == FULL.message


def test_variants_and_values() -> None:
    tr = Translator("fr")
    base = {"node": "pve1", "limit": 500}
    short = tr.anomaly("task_history_limited", "en", base)
    assert short.endswith("ont été lues") and "{" not in short
    assert tr.anomaly("task_history_limited", "en", {**base, "total": 900}).endswith("sur 900")
    assert tr.anomaly("task_history_limited", "en", {**base, "total": None}) == short
    mismatch = {"vmid": 7, "verdict": "not_covered", "pve_not_backed_up": False}
    text = tr.anomaly("coverage_mismatch_pve", "en", mismatch)
    assert "il est dans une tâche" in text and tr.t("verdict.not_covered") in text


def test_collision_reason_clauses() -> None:
    tr = Translator("fr")
    details = {
        "vmid": 103,
        "location": "pbs01:store1/prod",
        "owners": "backup@pbs!lab",
        "expected_owner": "backup@pbs!pve",
    }
    text = tr.anomaly("pbs_vmid_collision", "English", details)
    assert text.startswith("Invité 103 : son groupe".replace(" :", f"{NNBSP}:"))
    assert text.endswith(
        "le groupe appartient à backup@pbs!lab, et non à l’utilisateur du stockage backup@pbs!pve"
    )
    # no reason among the details: better the whole English sentence than half a French one
    bare = {"vmid": 103, "location": "pbs01:store1/prod"}
    assert tr.anomaly("pbs_vmid_collision", "English", bare) == "English"


def test_french_report_shows_french_with_values_and_escapes() -> None:
    html = render_html(report("fr"))
    assert "La tâche backup-1 sélectionne le pool" in html
    assert "devrait être plein le 20/12/2026" in html
    assert NO_GUESTS.message in html  # fallback
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert "&lt;b&gt;a&amp;b&lt;/b&gt;" in html and "<b>a&b" not in html
    assert "{" + "job}" not in html
    text = render_text(report("fr"))
    assert "Le nœud pve3 est hors ligne" in text
    md = render_md(report("fr"))
    assert "La tâche backup-1 sélectionne le pool" in md
    assert "<script>alert" not in md


def test_english_report_and_json_keep_the_english_message() -> None:
    html = render_html(report("en"))
    assert "Job backup-1 selects pool &#39;staging&#39;, which does not exist: Proxmox" in html
    json_fr = render_json(report("fr"))
    assert POOL.message in json_fr and "sélectionne" not in json_fr


def test_french_anomaly_counts_agree_in_number() -> None:
    """`{guests:p:…|…}`: the count and its word by the CLDR rule (French: 0 and 1 singular)."""
    from pve_backup_report.report.i18n import Translator

    tr = Translator("fr")
    one = tr.anomaly("job_disabled", "Job old is disabled", {"job": "old", "guests": 1})
    many = tr.anomaly("job_disabled", "Job old is disabled", {"job": "old", "guests": 3})
    zero = tr.anomaly("job_disabled", "Job old is disabled", {"job": "old", "guests": 0})
    assert one.endswith("(1 invité sélectionné)")
    assert many.endswith("(3 invités sélectionnés)")
    assert zero.endswith("(0 invité sélectionné)")
    text = tr.anomaly("pbs_unencrypted", "x", {"guests": 2, "location": "pbs1:s", "vmids": "1, 2"})
    assert text == "2 invités ont un dernier instantané non chiffré sur pbs1:s\u202f: 1, 2"

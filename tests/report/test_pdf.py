"""The PDF, checked as a reader would: pages rendered to PNG, text extracted."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pve_backup_report.report.render_pdf import pdf_available, render_pdf

from .scenario_full import build_full as build
from .tools import ARTIFACTS, need, tool


def _pdf(tmp_path: Path, lang: str) -> Path:
    need(pdf_available(), "weasyprint (pip install 'pve-backup-report[pdf]') or Pango")
    path = tmp_path / f"report-{lang}.pdf"
    path.write_bytes(render_pdf(build(lang)))
    return path


def _text(path: Path) -> str:
    out = subprocess.run(
        [tool("pdftotext"), "-layout", str(path), "-"], capture_output=True, text=True, check=True
    )
    return out.stdout


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_pdf_pages_and_text(tmp_path: Path, lang: str) -> None:
    pdf = _pdf(tmp_path, lang)
    assert pdf.read_bytes()[:5] == b"%PDF-"
    pdftoppm = tool("pdftoppm")
    subprocess.run([pdftoppm, "-png", "-r", "40", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    # cover, contents, then one section per page at least (10 sections)
    assert len(pages) >= 12
    text = _text(pdf)
    title = "Backup coverage report" if lang == "en" else "Rapport de couverture des sauvegardes"
    assert text.count(title) >= len(pages) - 1  # cover + running header on every other page
    assert f"Page 1 / {len(pages)}" not in text  # the cover has no header
    assert f"Page 2 / {len(pages)}" in text
    assert f"Page {len(pages)} / {len(pages)}" in text
    assert "9.9.9" in text
    assert '<script>alert("x")</script>' in text  # shown as text, not interpreted
    toc = "What needs attention" if lang == "en" else "Points d’attention"
    assert toc in text
    if lang == "fr":
        assert "26/11/2026" in text
    servers = "Backup servers" if lang == "en" else "Serveurs de sauvegarde"
    changes = "Changes since the previous" if lang == "en" else "Changements depuis le rapport"
    assert servers in text and changes in text
    assert "vm/999" in text  # an orphaned backup group


def test_pdf_artifact(tmp_path: Path) -> None:
    pdf = _pdf(tmp_path, "en")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "report-en.pdf").write_bytes(pdf.read_bytes())
    prefix = str(ARTIFACTS / "report-en-page")
    subprocess.run([tool("pdftoppm"), "-png", "-r", "50", "-l", "3", str(pdf), prefix], check=True)
    assert (ARTIFACTS / "report-en-page-01.png").is_file() or (
        ARTIFACTS / "report-en-page-1.png"
    ).is_file()

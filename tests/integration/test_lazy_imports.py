"""Start-up cost: a run imports only what its mode needs (issue 12).

Each case runs the real CLI (the demo cluster, its own simulator) in a fresh interpreter and
lists the modules it imported: WeasyPrint (and its native libraries) only when a PDF is
written; `--check-api` not even the report model, templates or collectors. Time itself is
measured in benchmarks/, not here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = """
import io, json, sys
from pve_backup_report.cli import main
code = main(sys.argv[1:], io.StringIO(), io.StringIO())
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _modules(*argv: str) -> tuple[int, set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, *argv], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return int(data["code"]), set(data["modules"])


def _top(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def test_check_api_imports_no_renderer_nor_collector() -> None:
    code, modules = _modules("demo", "--check-api", "--quiet")
    assert code == 0
    assert not _top(modules) & {"weasyprint", "jinja2", "babel", "css_inline", "pydyf"}
    assert not {m for m in modules if m.startswith("pve_backup_report.report")}
    assert "pve_backup_report.cli.modes" not in modules
    assert "pve_backup_report.collect.evidence" not in modules


def test_json_report_does_not_import_weasyprint(tmp_path: Path) -> None:
    code, modules = _modules("demo", "--format", "json", "--quiet", "--output-dir", str(tmp_path))
    assert code in (0, 1, 2)  # the demo cluster has findings
    assert list(tmp_path.glob("*.json"))
    assert "weasyprint" not in _top(modules)


def test_pdf_report_imports_weasyprint(tmp_path: Path) -> None:
    """The control: the check above can fail (the PDF path does load WeasyPrint)."""
    pytest.importorskip("weasyprint")
    _code, modules = _modules("demo", "--format", "pdf", "--quiet", "--output-dir", str(tmp_path))
    assert list(tmp_path.glob("*.pdf"))
    assert "weasyprint" in _top(modules)

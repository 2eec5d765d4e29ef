"""Golden files: every output of the frozen-clock demo, compared with what was reviewed.

When an output changes on purpose, regenerate with `python scripts/update_golden.py`, read
`git diff tests/golden/files` and commit it. A failure shows a unified diff of the file.
"""

from __future__ import annotations

import difflib
import os
import shutil

import pytest

from .capture import GOLDEN_DIR, capture_all

EXPECTED = sorted(
    p.relative_to(GOLDEN_DIR).as_posix() for p in GOLDEN_DIR.rglob("*") if p.is_file()
)


@pytest.fixture(scope="module")
def outputs() -> dict[str, str]:
    return capture_all()


def test_the_same_files(outputs: dict[str, str]) -> None:
    assert sorted(outputs) == EXPECTED, "run: python scripts/update_golden.py"


@pytest.mark.parametrize("name", EXPECTED)
def test_golden(name: str, outputs: dict[str, str]) -> None:
    if name.endswith(".pdf.txt") and shutil.which("pdftotext") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("pdftotext (poppler-utils) is required in CI")
        pytest.skip("pdftotext (poppler-utils) not installed")
    expected = (GOLDEN_DIR / name).read_text(encoding="utf-8")
    actual = outputs.get(name, "")
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                f"golden/{name}",
                f"now/{name}",
            )
        )
        pytest.fail(
            f"{name} changed (python scripts/update_golden.py to accept):\n{diff}", pytrace=False
        )

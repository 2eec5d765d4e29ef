"""Suite-wide: the report language defaults to the system locale's (LC_ALL, LC_MESSAGES,
LANG), so a developer working under fr_FR.UTF-8 would get French where a test expects the
English default. Tests that need a locale set it themselves."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _neutral_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)

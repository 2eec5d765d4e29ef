#!/usr/bin/env python3
"""Regenerate the golden files of every output: `python scripts/update_golden.py`.

Runs the real CLI against the simulated demo (frozen clock) and rewrites
`tests/golden/files/`; review the result with `git diff tests/golden/files` before committing.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.golden.capture import GOLDEN_DIR, capture_all  # noqa: E402


def main() -> int:
    outputs = capture_all()
    if GOLDEN_DIR.exists():
        shutil.rmtree(GOLDEN_DIR)
    for name, text in sorted(outputs.items()):
        path = GOLDEN_DIR / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    print(f"{len(outputs)} golden files written to {GOLDEN_DIR.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

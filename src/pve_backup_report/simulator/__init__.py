"""A fake Proxmox VE API served over real HTTPS.

Why: the tool is read-only and must never need a real cluster to be developed, demonstrated or
tested. The simulator reproduces the documented behaviour of the PVE API (envelope, types,
permissions, errors, quirks) from a JSON *scenario*, so integration tests and the ``demo``
command exercise the real HTTP client code path.
"""

from __future__ import annotations

__all__ = ["DEFAULT_SCENARIO_DIR"]

from pathlib import Path

DEFAULT_SCENARIO_DIR = Path(__file__).parent / "scenarios"

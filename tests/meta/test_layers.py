"""Imports follow the documented direction (docs/en/architecture.md).

config → client (api) → collectors → model → analysis → report → outputs, with `cli` (and
`demo`) alone wiring layers. The graph is read from the source with `ast` (lazy imports inside
functions count too), so a module that reaches against the direction fails this test.

Edges that break the rule today are listed in `KNOWN_VIOLATIONS`, each with the issue that
removes it; the test also fails when one of them disappears, so the list only shrinks.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "pve_backup_report"

# Units every layer may use: plain types, error types and pure helpers with no layer knowledge.
BASE = frozenset(
    {"__init__", "model", "errors", "sanitize", "serialize", "exit_status", "__version__"}
)

# What each unit may import besides BASE and itself.
ALLOWED: dict[str, frozenset[str]] = {
    "__init__": frozenset(),
    "__main__": frozenset({"cli"}),
    "model": frozenset(),
    "errors": frozenset(),
    "sanitize": frozenset(),
    "serialize": frozenset(),
    "exit_status": frozenset(),
    "api": frozenset(),
    "config": frozenset({"api"}),
    "config_pbs": frozenset({"api", "config"}),
    "collect": frozenset({"api"}),
    "analysis": frozenset(),
    "report": frozenset({"analysis"}),
    "history": frozenset({"report", "analysis"}),
    "outputs": frozenset({"report", "analysis"}),
    "diagnostics": frozenset({"api", "collect", "analysis", "report", "config", "config_pbs"}),
    "simulator": frozenset({"analysis"}),
    "demo": frozenset(
        {"api", "config", "config_pbs", "simulator", "collect", "analysis", "report", "outputs"}
    ),
    "cli": frozenset(
        {
            "api",
            "config",
            "config_pbs",
            "collect",
            "analysis",
            "report",
            "outputs",
            "history",
            "diagnostics",
            "demo",
        }
    ),
}

# Edges against the direction that exist today (importer, imported): issue 14 removes them.
KNOWN_VIOLATIONS = frozenset(
    {
        ("analysis", "api"),  # the pure fingerprint normaliser of api/tls.py
        ("collect", "analysis"),  # collect/evidence.py, pbs_entry.py decide while fetching
        ("collect", "history"),  # the task-log cache lives in the history database
        ("collect", "config_pbs"),  # pbs_entry builds clients from settings
        ("report", "collect"),  # a result type defined in collect/
        ("report", "history"),  # history records read for the report
        ("outputs", "config"),  # mail settings
        ("outputs", "api"),  # mail/nagios borrow error types
        ("demo", "cli"),  # demo reuses the CLI runner
    }
)


def _unit(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return parts[0]


def _targets(path: Path) -> set[str]:
    """Top-level units of the package that `path` imports (absolute or relative)."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    # the package relative imports start from: a module's parent, or an __init__'s own package
    package = ("pve_backup_report", *parts[:-1])
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[tuple[str, ...]] = []
        if isinstance(node, ast.Import):
            names = [tuple(a.name.split(".")) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - (node.level - 1)] if node.level else ()
            target = base + tuple(node.module.split(".")) if node.module else base
            # `from .. import x`: x is the unit
            names = [(*target, a.name) for a in node.names] if len(target) == 1 else [target]
        for name in names:
            if name and name[0] == "pve_backup_report" and len(name) > 1:
                found.add(name[1])
    return found


def _edges() -> dict[tuple[str, str], list[str]]:
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in sorted(PACKAGE.rglob("*.py")):
        source = _unit(path)
        for target in _targets(path):
            if target != source:
                edges[(source, target)].append(str(path.relative_to(PACKAGE)))
    return edges


def _against_direction() -> dict[tuple[str, str], list[str]]:
    out = {}
    for (source, target), files in _edges().items():
        allowed = ALLOWED.get(source)
        assert allowed is not None, f"unit {source!r} has no place in the layer rules"
        if target not in BASE and target not in allowed:
            out[(source, target)] = files
    return out


def test_imports_follow_the_documented_direction() -> None:
    new = {e: f for e, f in _against_direction().items() if e not in KNOWN_VIOLATIONS}
    assert not new, "imports against the direction: " + "; ".join(
        f"{s} → {t} ({', '.join(files)})" for (s, t), files in sorted(new.items())
    )


def test_known_violations_are_still_real() -> None:
    """A removed violation must leave the list, so the list only shrinks."""
    gone = KNOWN_VIOLATIONS - set(_against_direction())
    assert not gone, f"no longer violated, remove from KNOWN_VIOLATIONS: {sorted(gone)}"


def test_the_product_never_imports_the_simulator() -> None:
    users = {s for (s, t) in _edges() if t == "simulator"}
    assert users <= {"demo", "simulator"}, users


def test_the_walker_sees_relative_and_lazy_imports() -> None:
    """Without this, an empty graph would pass every rule above."""
    assert "model" in _targets(PACKAGE / "analysis" / "coverage.py")  # `from ..model import`
    edges = _edges()
    lazy = PACKAGE / "cli" / "__init__.py"  # imports collect/ inside a function only
    assert "collect" in _targets(lazy)
    assert ("cli", "collect") in edges
    assert ("__main__", "cli") in edges

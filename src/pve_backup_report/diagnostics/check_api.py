"""`--check-api`: probe each endpoint the tool needs, independently, and explain failures.

Every probe runs even if others fail, so one run tells the administrator everything that is
missing (typically a privilege on a privilege-separated token) instead of one error at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

from ..api.errors import ApiError, PermissionDenied
from ..collect.base import Getter, type_name
from ..exit_status import ExitStatus


@dataclass(frozen=True)
class Probe:
    name: str
    path: str
    params: Mapping[str, str | int] | None = None
    shape: str = "list"  # the JSON type `data` must have: "list" or "object"


def wrong_shape(probe: Probe, data: Any) -> str | None:
    """Why ``data`` is not what ``probe`` expects (None: it is): an answer of the wrong type
    is a failed probe, never "OK, 1 item" (the report would treat it as unreadable too)."""
    expected = dict if probe.shape == "object" else list
    if isinstance(data, expected):
        return None
    article = "an object" if probe.shape == "object" else "a list"
    return f"unexpected response: {type_name(data)} where {article} was expected"


@dataclass(frozen=True)
class ProbeResult:
    probe: Probe
    ok: bool
    count: int | None = None
    error: str | None = None
    hint: str | None = None
    data: Any = None


def base_probes(jobs_endpoint: str) -> list[Probe]:
    return [
        Probe("version", "/version", shape="object"),
        Probe("nodes", "/nodes"),
        Probe("storage", "/storage"),
        Probe("cluster index", "/cluster"),
        Probe("backup jobs", jobs_endpoint),
        Probe("guests", "/cluster/resources", {"type": "vm"}),
        Probe("pools", "/pools"),
        Probe("cluster tasks", "/cluster/tasks"),
    ]


def _count(data: Any) -> int:
    if isinstance(data, list):
        return len(data)
    return 1 if data is not None else 0


def permission_hint(error: PermissionDenied) -> str:
    privs = " or ".join(error.privileges) or "an audit privilege"
    path = error.acl_path or "the reported path"
    return (
        f"missing privilege {privs} on {path}. A privilege-separated token needs its own ACL: "
        "check the token's effective permissions (pveum user token permissions USER TOKEN), "
        "not only its user's"
    )


async def run_probe(client: Getter, probe: Probe) -> ProbeResult:
    try:
        response = await client.get(probe.path, probe.params)
    except PermissionDenied as error:
        return ProbeResult(probe, False, error=error.message, hint=permission_hint(error))
    except ApiError as error:
        return ProbeResult(probe, False, error=error.message)
    problem = wrong_shape(probe, response.data)
    if problem is not None:
        return ProbeResult(probe, False, error=problem)
    return ProbeResult(probe, True, count=_count(response.data), data=response.data)


async def check_api(client: Getter, jobs_endpoint: str) -> list[ProbeResult]:
    probes = base_probes(jobs_endpoint)
    results = list(await asyncio.gather(*(run_probe(client, p) for p in probes)))
    node = _first_online_node(results)
    task_probe = (
        Probe(f"node tasks ({node})", f"/nodes/{node}/tasks", {"typefilter": "vzdump", "limit": 1})
        if node
        else None
    )
    if task_probe is None:
        results.append(
            ProbeResult(Probe("node tasks", "/nodes/{node}/tasks"), False, error="no online node")
        )
    else:
        results.append(await run_probe(client, task_probe))
    return results


def _first_online_node(results: list[ProbeResult]) -> str | None:
    nodes_result = next((r for r in results if r.ok and r.probe.path == "/nodes"), None)
    data = nodes_result.data if nodes_result else None
    nodes = [n for n in data if isinstance(n, dict)] if isinstance(data, list) else []
    online = sorted(str(n.get("node")) for n in nodes if n.get("status") == "online")
    return online[0] if online else None


def print_check(results: list[ProbeResult], out: IO[str], lang: str = "en") -> ExitStatus:
    """One line per probe and a total, in the report language (the probe names, paths and
    the server's error texts stay as they are). Here, not in the CLI's modes, so that
    `--check-api` does not import the report renderers (it must start fast): English is
    written directly, another language loads the catalogue (and Babel's plural rules)."""
    words = _check_words(lang)
    pad = max(len(words["ok"]), len(words["failed"])) + 2
    for result in results:
        label = f"{result.probe.name} ({result.probe.path})"
        if result.ok:
            items = words["items"](result.count or 0)
            out.write(f"{words['ok']:<{pad}}{label}{words['colon']} {items}\n")
        else:
            out.write(f"{words['failed']:<{pad}}{label}{words['colon']} {result.error}\n")
            if result.hint:
                out.write(f"{'':<{pad}}{words['hint']}{words['colon']} {result.hint}\n")
    failed = sum(1 for r in results if not r.ok)
    out.write(words["passed"](len(results) - failed, len(results)) + "\n")
    return ExitStatus.OK if failed == 0 else ExitStatus.CRITICAL


def _check_words(lang: str) -> dict[str, Any]:
    if lang == "en":
        return {
            "ok": "OK",
            "failed": "FAILED",
            "hint": "hint",
            "colon": ":",
            "items": lambda n: f"{n} item" if n == 1 else f"{n} items",
            "passed": lambda n, total: f"{n}/{total} check{'' if n == 1 else 's'} passed",
        }
    from ..report.i18n import Translator

    tr = Translator(lang)
    return {
        "ok": tr.t("diag.check.ok"),
        "failed": tr.t("diag.check.failed"),
        "hint": tr.t("diag.check.hint"),
        "colon": tr.punct(":"),
        "items": lambda n: tr.plural("diag.check.items", n),
        "passed": lambda n, total: tr.plural("diag.check.passed", n, total=tr.number(total)),
    }

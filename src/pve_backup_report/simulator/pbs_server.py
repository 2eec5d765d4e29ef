"""The simulated Proxmox Backup Server's request pipeline (the routes are in routes_pbs).

Why a subclass of the PVE server: TLS, threading, counting and faults are the same, but PBS
differs exactly where a client can trip: authentication runs *before* route lookup and fails
with a plain-text 401 (``authentication failed - <reason>``), the token header is
``PBSAPIToken=<id>:<secret>`` (split at the first colon), errors are the bare message text under
a JSON content type with the standard reason phrase, unknown paths are 404, parameter errors
use PBS wording, and ``digest`` rides next to ``data`` on configuration lists.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote

from pve_backup_report.simulator.faults import FaultRegistry
from pve_backup_report.simulator.pbs_state import PbsState
from pve_backup_report.simulator.routes_pbs import ROUTER, PbsResult
from pve_backup_report.simulator.routes_pve import PveState
from pve_backup_report.simulator.scenario import Scenario
from pve_backup_report.simulator.server import (
    ApiError,
    ApiResult,
    Param,
    Request,
    Route,
    SimulatorServer,
    _RequestHandler,
)


class PbsSimulatorServer(SimulatorServer):
    """One simulated PBS from ``scenario.pbs_servers`` (``name`` picks it; default: first)."""

    def __init__(
        self,
        scenario: Scenario,
        name: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        certfile: str | Path | None = None,
        keyfile: str | Path | None = None,
    ) -> None:
        spec = next((s for s in scenario.pbs_servers if name in (None, s.name)), None)
        if spec is None:
            raise ValueError(f"scenario has no PBS server {name!r}")
        super().__init__(scenario, host, port, certfile, keyfile, router=ROUTER)
        self.pbs = spec
        self.pbs_state = PbsState(spec, cast(PveState, cast(Any, self.state)))
        self.state = cast(Any, self.pbs_state)
        self.faults = FaultRegistry(spec.faults)

    def _outside_api(self, _raw_path: str) -> str:
        return "/"

    def dispatch(self, http: _RequestHandler, method: str) -> None:
        incoming = self.receive(http, method)
        if incoming is None:
            return
        raw_path, api_path, query, resolved, serial = incoming
        token_id = "" if api_path == "/ping" else self._pbs_authenticate(http)
        if token_id is None:
            return
        parts = raw_path.split("/")
        if len(parts) > 2 and parts[1] == "api2" and parts[2] not in ("json", "extjs"):
            self._send_error(http, ApiError(400, f"Unsupported output format '{parts[2]}'."))
            return
        if resolved is None or method != "GET":
            self._send_error(http, ApiError(404, f"Path '{raw_path}' not found."))
            return
        route, path_params = resolved
        try:
            result = self._run_pbs(route, api_path, query, path_params, serial, token_id)
        except ApiError as err:
            self._send_error(http, err)
            return
        body: dict[str, Any] = {"data": result.data}
        if result.total is not None:
            body["total"] = result.total
        if isinstance(result, PbsResult) and result.digest:
            body["digest"] = result.digest
        self._send_json(http, 200, "OK", body)

    def _run_pbs(
        self,
        route: Route,
        api_path: str,
        query: dict[str, str],
        path_params: dict[str, str],
        serial: int,
        token_id: str,
    ) -> ApiResult:
        params: dict[str, Any] = dict(path_params)
        errors: list[str] = []
        for name, raw in query.items():
            spec = route.params.get(name)
            if spec is None or name in path_params:
                errors.append(f"'{name}': schema does not allow additional properties.")
                continue
            try:
                params[name] = _convert(spec, raw)
            except ValueError as exc:
                errors.append(f"'{name}': {exc}")
        if len(errors) == 1:
            raise ApiError(400, f"parameter verification failed - {errors[0]}")
        if errors:
            raise ApiError(400, "parameter verification failed:\n- " + "\n- ".join(errors))
        state = cast(PbsState, self.state)
        if route.check is not None:
            acl_path = route.check[0].format(**path_params)
            if not state.perms.has_any(acl_path, route.check[1]):
                raise ApiError(403, "permission check failed")
        request = Request(
            "GET", api_path, query, path_params, params, cast(Any, state.perms), token_id,
            random.Random(serial), state,
        )  # fmt: skip
        return route.handler(request)

    def _pbs_authenticate(self, http: _RequestHandler) -> str | None:
        header = (http.headers.get("Authorization") or "").strip()
        token = self.pbs.token
        match = re.match(r"^PBSAPIToken[= ](.*)$", header)
        if not match:
            reason = "no authentication credentials provided."
        else:
            token_id, sep, secret = match.group(1).partition(":")
            if not sep:
                reason = "failed to split API token header"
            elif token_id != token.id:
                reason = "user account or token disabled or expired."
            elif unquote(secret) != token.secret:
                reason = "invalid credentials"
            else:
                return token_id
        self._stop.wait(self.scenario.auth_failure_delay_s)
        payload = f"authentication failed - {reason}".encode()
        http.send_response(401)
        http.send_header("Content-Length", str(len(payload)))
        http.end_headers()
        http.wfile.write(payload)
        return None

    def _send_error(self, http: _RequestHandler, err: ApiError) -> None:
        """PBS errors: the bare message text, under a JSON content type, standard reason."""
        http.send_response(err.status)
        payload = err.message.encode("utf-8")
        http.send_header("Content-Type", "application/json;charset=UTF-8")
        http.send_header("Content-Length", str(len(payload)))
        http.end_headers()
        http.wfile.write(payload)


def _convert(spec: Param, raw: str) -> Any:
    if spec.kind == "int":
        if not re.fullmatch(r"[+-]?\d+", raw):
            raise ValueError("Unable to parse integer - invalid digit found in string")
        number = int(raw)
        if spec.minimum is not None and number < spec.minimum:
            raise ValueError(f"value must have a minimum value of {spec.minimum}")
        if spec.choices and number > int(spec.choices[0]):
            raise ValueError(f"value must have a maximum value of {spec.choices[0]}")
        return number
    if spec.kind == "bool":
        lowered = raw.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ValueError("Unable to parse boolean option.")
    if spec.kind == "enum" and raw not in spec.choices:
        raise ValueError(f"value '{raw}' is not defined in the enumeration.")
    return raw

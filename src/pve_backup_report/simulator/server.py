"""HTTPS server, route registry and request pipeline of the simulator.

Why: the tool's real HTTP client must be exercised over real TLS, keep-alive and error
shapes, so the simulator is a small stdlib ``ThreadingHTTPServer`` (no extra dependency) with a
decorator-based route registry. The pipeline mirrors pveproxy's order: route lookup (501),
fault injection, authentication (401 after a delay), parameter verification (400), declared
permission check (403), proxying to ``{node}`` (500 unknown node, 595 offline), then the handler.
"""

from __future__ import annotations

import collections
import contextlib
import json
import random
import re
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal, NamedTuple
from urllib.parse import parse_qsl, unquote

from pve_backup_report.simulator.faults import ANSWER_FAULTS, Fault, FaultRegistry
from pve_backup_report.simulator.permissions import Permissions, perm_message
from pve_backup_report.simulator.scenario import Scenario
from pve_backup_report.simulator.tls import TlsMaterial, fingerprint_of, generate_tls

API_PREFIX = "/api2/json"
NOT_IN_SCHEMA = (
    "property is not defined in schema and the schema does not allow additional properties"
)


class ApiError(Exception):
    """A PVE error answer: ``{"data":null,"message":"...\\n"[,"errors":{...}]}``."""

    def __init__(self, status: int, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors


def param_error(errors: dict[str, str]) -> ApiError:
    """The 400 ``Parameter verification failed.`` error."""
    return ApiError(400, "Parameter verification failed.", errors)


@dataclass
class ApiResult:
    """A successful answer; ``total`` is emitted only when set and non-zero."""

    data: Any
    total: int | None = None


@dataclass(frozen=True)
class Param:
    """Schema of one query or path parameter."""

    kind: Literal["int", "bool", "string", "enum", "vmid", "node", "list"] = "string"
    choices: tuple[str, ...] = ()
    minimum: int | None = None

    def convert(self, value: str) -> Any:
        """Return the typed value or raise ``ValueError`` with PVE's message."""
        if self.kind in ("int", "vmid"):
            if not re.fullmatch(r"[+-]?\d+", value):
                raise ValueError(f"type check ('integer') failed - got '{value}'")
            number = int(value)
            if self.kind == "vmid" and not 100 <= number <= 999999999:
                raise ValueError("invalid format - value does not look like a valid VM ID")
            if self.minimum is not None and number < self.minimum:
                raise ValueError(f"value must have a minimum value of {self.minimum}")
            return number
        if self.kind == "bool":
            lowered = value.lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError(f"type check ('boolean') failed - got '{value}'")
        if self.kind == "enum":
            if value not in self.choices:
                raise ValueError(
                    f"value '{value}' does not have a value in the enumeration "
                    f"'{', '.join(self.choices)}'"
                )
            return value
        if self.kind == "node":
            if not re.fullmatch(r"[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?", value):
                raise ValueError("invalid format - value does not look like a valid node name")
            return value
        if self.kind == "list":
            items = [item for item in re.split(r"[,;\s\x00]+", value) if item]
            for item in items:
                if self.choices and item not in self.choices:
                    raise ValueError(
                        f"value '{item}' does not have a value in the enumeration "
                        f"'{', '.join(self.choices)}'"
                    )
            return items
        return value


@dataclass
class Request:
    """Everything a handler may look at."""

    method: str
    path: str
    query: dict[str, str]
    path_params: dict[str, str]
    params: dict[str, Any]
    perms: Permissions
    token_id: str
    rng: random.Random
    state: Any


Handler = Callable[[Request], ApiResult]


@dataclass
class Route:
    """One registered GET endpoint."""

    pattern: str
    regex: re.Pattern[str]
    handler: Handler
    params: dict[str, Param]
    check: tuple[str, tuple[str, ...]] | None
    proxy: bool


@dataclass
class Router:
    """Route registry filled by ``@router.route(...)`` decorators."""

    routes: list[Route] = field(default_factory=list)

    def route(
        self,
        pattern: str,
        *,
        params: dict[str, Param] | None = None,
        check: tuple[str, Iterable[str]] | None = None,
        proxy: bool = False,
    ) -> Callable[[Handler], Handler]:
        """Register a GET handler. ``check`` is ``(acl path template, any-of privileges)``;
        ``proxy`` sends the request to the ``{node}`` path parameter (offline -> 595)."""
        pieces = re.split(r"(\{\w+\})", pattern)
        compiled = re.compile(
            "^"
            + "".join(
                f"(?P<{piece[1:-1]}>[^/]+)" if piece.startswith("{") else re.escape(piece)
                for piece in pieces
            )
            + "$"
        )
        norm_check = (check[0], tuple(check[1])) if check else None

        def decorator(func: Handler) -> Handler:
            self.routes.append(
                Route(pattern, compiled, func, dict(params or {}), norm_check, proxy)
            )
            return func

        return decorator

    def resolve(self, path: str) -> tuple[Route, dict[str, str]] | None:
        """Find the route for a raw API path; path parameters come back URL-decoded."""
        for candidate in self.routes:
            match = candidate.regex.match(path)
            if match:
                return candidate, {key: unquote(val) for key, val in match.groupdict().items()}
        return None


class _Quiet:
    """Mixin silencing the stdlib's per-request stderr logging."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: ARG002 - stdlib signature
        return


class _RequestHandler(_Quiet, BaseHTTPRequestHandler):
    server: _TlsHttpServer
    answer_fault: Fault | None = None  # spoils this request's successful answer (faults.py)
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else Nagle + delayed ACK stall each response ~40 ms
    server_version = "pve-api-daemon/3.0"
    sys_version = ""
    timeout = 30

    def do_GET(self) -> None:
        self.server.owner.dispatch(self, "GET")

    def do_POST(self) -> None:
        self.server.owner.dispatch(self, "POST")

    def do_PUT(self) -> None:
        self.server.owner.dispatch(self, "PUT")

    def do_DELETE(self) -> None:
        self.server.owner.dispatch(self, "DELETE")

    def do_PATCH(self) -> None:
        self.server.owner.dispatch(self, "PATCH")

    def do_HEAD(self) -> None:
        self.server.owner.dispatch(self, "HEAD")

    def do_OPTIONS(self) -> None:
        self.server.owner.dispatch(self, "OPTIONS")

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()


class _TlsHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: SimulatorServer

    def finish_request(self, request: Any, client_address: Any) -> None:
        raw: socket.socket = request
        owner = self.owner
        try:
            raw.settimeout(10)
            first = raw.recv(1, socket.MSG_PEEK)
            if first and first != b"\x16":
                owner.redirect_plain_http(raw)
                return
            tls_sock = owner.ssl_context.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError):
            return
        owner.track(tls_sock, add=True)
        try:
            tls_sock.settimeout(_RequestHandler.timeout)
            _RequestHandler(tls_sock, client_address, self)
        except (OSError, ssl.SSLError):
            pass
        finally:
            owner.track(tls_sock, add=False)
            with contextlib.suppress(OSError):
                tls_sock.close()

    def handle_error(self, request: Any, client_address: Any) -> None:  # noqa: ARG002 - stdlib
        return


class Incoming(NamedTuple):
    raw_path: str
    api_path: str
    query: dict[str, str]
    resolved: tuple[Route, dict[str, str]] | None
    serial: int


class SimulatorServer:
    """The simulated PVE API over HTTPS (see docs/en/simulator.md).

    Without ``certfile``/``keyfile`` a throw-away CA and certificate are generated
    (``self.tls``). ``router``/``state`` default to the PVE routes built from ``scenario``.
    """

    def __init__(
        self,
        scenario: Scenario,
        host: str = "127.0.0.1",
        port: int = 0,
        certfile: str | Path | None = None,
        keyfile: str | Path | None = None,
        *,
        router: Router | None = None,
    ) -> None:
        from pve_backup_report.simulator import routes_pve

        self.scenario = scenario
        self.host = host
        self.tls: TlsMaterial | None = None
        if certfile is None or keyfile is None:
            self.tls = generate_tls()
            certfile, keyfile = self.tls.cert_path, self.tls.key_path
        self.certfile = Path(certfile)
        self.keyfile = Path(keyfile)
        self.fingerprint = fingerprint_of(self.certfile.read_bytes())
        self.ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ssl_context.load_cert_chain(str(self.certfile), str(self.keyfile))
        self.router = router or routes_pve.ROUTER
        self.state = routes_pve.PveState(scenario)
        self.faults = FaultRegistry(scenario.faults)
        self.request_counts: collections.Counter[str] = collections.Counter()
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self._lock = threading.Lock()
        self._serial = 0
        self._stop = threading.Event()
        self._open: set[ssl.SSLSocket] = set()
        self._httpd = _TlsHttpServer((host, port), _RequestHandler, bind_and_activate=True)
        self._httpd.owner = self
        self._thread: threading.Thread | None = None

    @classmethod
    def for_pbs(cls, scenario: Scenario, name: str | None = None, **kwargs: Any) -> SimulatorServer:
        """A simulated Proxmox Backup Server from ``scenario.pbs_servers`` (see routes_pbs)."""
        from pve_backup_report.simulator.pbs_server import PbsSimulatorServer

        return PbsSimulatorServer(scenario, name, **kwargs)

    # ------------------------------------------------------------------ lifecycle
    @property
    def port(self) -> int:
        """The bound TCP port."""
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """``https://host:port`` (the API lives under ``/api2/json``)."""
        host = self.host if ":" not in self.host else f"[{self.host}]"
        return f"https://{host}:{self.port}"

    @property
    def api_url(self) -> str:
        """``base_url`` + ``/api2/json``."""
        return self.base_url + API_PREFIX

    def start(self) -> SimulatorServer:
        """Serve in a background thread; returns once the socket listens."""
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake held connections and close the socket."""
        self._stop.set()
        self._httpd.shutdown()
        with self._lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def track(self, sock: ssl.SSLSocket, *, add: bool) -> None:
        """Remember open TLS connections so ``stop`` can wake them."""
        with self._lock:
            if add:
                self._open.add(sock)
            else:
                self._open.discard(sock)

    def reset_counts(self) -> None:
        """Forget counted and recorded requests."""
        with self._lock:
            self.request_counts.clear()
            self.requests.clear()

    # ------------------------------------------------------------------ plain HTTP
    def redirect_plain_http(self, raw: socket.socket) -> None:
        """pveproxy answers plain HTTP with a redirect to https (301 GET/HEAD, else 308)."""
        data = b""
        with contextlib.suppress(OSError):
            while b"\r\n\r\n" not in data and len(data) < 65536:
                chunk = raw.recv(4096)
                if not chunk:
                    break
                data += chunk
        head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1", "replace").split("\r\n")
        parts = head[0].split(" ") if head else []
        method = parts[0] if parts else "GET"
        uri = parts[1] if len(parts) > 1 else "/"
        host = f"{self.host}:{self.port}"
        for line in head[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "host":
                host = value.strip()
        status = "301 Moved Permanently" if method in ("GET", "HEAD") else "308 Permanent Redirect"
        response = (
            f"HTTP/1.1 {status}\r\nLocation: https://{host}{uri}\r\n"
            "Content-Length: 0\r\nConnection: close\r\n\r\n"
        )
        with contextlib.suppress(OSError):
            raw.sendall(response.encode("latin-1", "replace"))

    # ------------------------------------------------------------------ pipeline
    def _outside_api(self, raw_path: str) -> str:
        """The path recorded (and matched by faults) for a request outside /api2/json."""
        return raw_path

    def receive(self, http: _RequestHandler, method: str) -> Incoming | None:
        """Shared first steps of both personalities: read, resolve, count, inject faults.
        None when a fault already answered the request."""
        length = int(http.headers.get("Content-Length") or 0)
        if length:
            http.rfile.read(length)
        raw_path, _, query_string = http.path.partition("?")
        query = dict(parse_qsl(query_string, keep_blank_values=True))
        inside = raw_path.startswith(API_PREFIX)
        api_path = (raw_path[len(API_PREFIX) :] if inside else self._outside_api(raw_path)) or "/"
        resolved = self.router.resolve(api_path) if inside else None
        with self._lock:
            self._serial += 1
            serial = self._serial
            self.request_counts["total"] += 1
            self.request_counts[resolved[0].pattern if resolved else "<unmatched>"] += 1
            self.requests.append((method, api_path, query))
        fault = self.faults.match(api_path)
        http.answer_fault = fault if fault is not None and fault.kind in ANSWER_FAULTS else None
        if fault is not None and self._apply_fault(http, fault):
            return None
        return Incoming(raw_path, api_path, query, resolved, serial)

    def dispatch(self, http: _RequestHandler, method: str) -> None:
        """Run one request through the pipeline and write the answer."""
        incoming = self.receive(http, method)
        if incoming is None:
            return
        _, api_path, query, resolved, serial = incoming
        if resolved is None or method != "GET":
            self._send_error(http, ApiError(501, f"Method '{method} {api_path}' not implemented"))
            return
        route, path_params = resolved
        token_id = self._authenticate(http)
        if token_id is None:
            return
        try:
            result = self._run(route, method, api_path, query, path_params, serial, token_id)
        except ApiError as err:
            self._send_error(http, err)
            return
        body: dict[str, Any] = {"data": result.data}
        if result.total:
            body["total"] = result.total
        self._send_json(http, 200, "OK", body)

    def _run(
        self,
        route: Route,
        method: str,
        api_path: str,
        query: dict[str, str],
        path_params: dict[str, str],
        serial: int,
        token_id: str,
    ) -> ApiResult:
        params: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for name, raw in list(path_params.items()) + list(query.items()):
            spec = route.params.get(name)
            if spec is None:
                if name in path_params:
                    params[name] = raw
                    continue
                errors[name] = NOT_IN_SCHEMA
                continue
            try:
                params[name] = spec.convert(raw)
            except ValueError as exc:
                errors[name] = str(exc).rstrip("\n")
        if errors:
            raise param_error(errors)
        perms: Permissions = self.state.perms
        if route.check is not None:
            acl_path = route.check[0].format(**path_params)
            if not perms.has_any(acl_path, route.check[1]):
                raise ApiError(403, perm_message(acl_path, route.check[1]))
        if route.proxy:
            self.state.proxy_to(str(params["node"]))
        request = Request(
            method=method,
            path=api_path,
            query=query,
            path_params=path_params,
            params=params,
            perms=perms,
            token_id=token_id,
            rng=random.Random(serial),
            state=self.state,
        )
        return route.handler(request)

    def _authenticate(self, http: _RequestHandler) -> str | None:
        header = http.headers.get("Authorization") or ""
        match = re.search(r"(?:^|\s)PVEAPIToken(?:=| )([^;]*)", header)
        token = self.scenario.token
        if match:
            value = unquote(match.group(1)).strip()
            token_id, sep, secret = value.rpartition("=")
            if sep and token_id == token.id and secret == token.secret:
                return token_id
            reason = "Authentication failed!"
        elif "PVEAuthCookie" in (http.headers.get("Cookie") or ""):
            reason = "Authentication failed!"
        else:
            reason = "No ticket"
        self._stop.wait(self.scenario.auth_failure_delay_s)
        http.send_response(401, reason)
        http.send_header("Content-Length", "0")
        http.send_header("Cache-Control", "max-age=0")
        http.end_headers()
        return None

    def _apply_fault(self, http: _RequestHandler, fault: Fault) -> bool:
        """Apply ``fault``; True when the request is fully answered (or dropped)."""
        if fault.kind == "latency":
            self._stop.wait(fault.latency_ms / 1000)
            return False
        if fault.kind in ANSWER_FAULTS:
            return False  # applied to the answer by `_send_json`
        if fault.kind == "http":
            self._send_error(http, ApiError(fault.status, fault.message))
        elif fault.kind == "offline":
            self._send_error(http, ApiError(595, "No route to host"))
        elif fault.kind == "invalid_json":
            self._send_raw(http, 200, "OK", b'{"data":[{"vmid":100,"name":"web01"', True)
        elif fault.kind == "missing_data":
            self._send_raw(http, 200, "OK", b'{"foo":1}', True)
        elif fault.kind == "timeout":
            self._stop.wait((fault.latency_ms or 60000) / 1000)
            self._drop(http, rst=False)
        elif fault.kind == "reset":
            self._drop(http, rst=True)
        return True

    @staticmethod
    def _drop(http: _RequestHandler, *, rst: bool) -> None:
        http.close_connection = True
        sock = http.connection
        with contextlib.suppress(OSError):
            if rst:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()

    # ------------------------------------------------------------------ writing
    @staticmethod
    def _reason(text: str) -> str:
        first = text.split("\n", 1)[0]
        return first.encode("latin-1", "replace").decode("latin-1").replace("\r", " ")

    def _send_error(self, http: _RequestHandler, err: ApiError) -> None:
        message = err.message if err.message.endswith("\n") else err.message + "\n"
        body: dict[str, Any] = {"data": None, "message": message}
        if err.errors:
            body["errors"] = err.errors
        self._send_json(http, err.status, self._reason(message), body)

    def _send_json(self, http: _RequestHandler, status: int, reason: str, body: Any) -> None:
        fault = http.answer_fault if status == 200 else None
        if fault is not None and fault.kind == "wrong_type" and isinstance(body, dict):
            body = {**body, "data": _wrong_type(body.get("data"), fault.message)}
        payload = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        if fault is not None and fault.kind == "truncated":
            self._send_truncated(http, status, reason, payload)
            return
        self._send_raw(http, status, reason, payload, True)

    def _send_truncated(
        self, http: _RequestHandler, status: int, reason: str, payload: bytes
    ) -> None:
        """Announce the whole body, send its first half, close: a connection lost mid-body."""
        http.send_response(status, reason)
        http.send_header("Content-Type", "application/json;charset=UTF-8")
        http.send_header("Content-Length", str(len(payload)))
        http.end_headers()
        with contextlib.suppress(OSError):
            http.wfile.write(payload[: len(payload) // 2])
            http.wfile.flush()
        self._drop(http, rst=False)

    @staticmethod
    def _send_raw(
        http: _RequestHandler, status: int, reason: str, payload: bytes, is_json: bool
    ) -> None:
        http.send_response(status, reason)
        if is_json:
            http.send_header("Content-Type", "application/json;charset=UTF-8")
        http.send_header("Content-Length", str(len(payload)))
        http.send_header("Cache-Control", "max-age=0")
        http.send_header("Pragma", "no-cache")
        http.end_headers()
        if http.command != "HEAD":
            http.wfile.write(payload)


def _wrong_type(data: Any, text: str) -> Any:
    """A value of another JSON type than ``data`` (see `Fault`)."""
    if isinstance(data, list):
        return text
    if isinstance(data, dict):
        return [text]
    return {"unexpected": text}


def serve_forever_cli(scenario_path: str | Path, port: int = 8006, host: str = "127.0.0.1") -> None:
    """Run the simulator in the foreground (``pve-backup-report simulate``) until Ctrl-C."""
    from pve_backup_report.simulator.scenario import load_scenario

    scenario = load_scenario(scenario_path)
    server = SimulatorServer(scenario, host=host, port=port)
    server.start()
    token = scenario.token
    lines = [
        f"Simulated Proxmox VE API: {server.api_url}",
        f"  base URL:    {server.base_url}",
        f"  token id:    {token.id}",
        f"  secret:      {token.secret}",
        f"  CA file:     {server.tls.ca_pem_path if server.tls else server.certfile}",
        f"  fingerprint: {server.fingerprint}",
    ]
    pbs_servers = [
        SimulatorServer.for_pbs(
            scenario, spec.name, host=host, port=port + 1 + i if port else 0,
            certfile=server.certfile, keyfile=server.keyfile,
        ).start()
        for i, spec in enumerate(scenario.pbs_servers)
    ]  # fmt: skip
    for pbs, spec in zip(pbs_servers, scenario.pbs_servers, strict=True):
        lines.append(f"Simulated Proxmox Backup Server {spec.name}: {pbs.base_url}")
        lines.append(f"  token id:    {spec.token.id}")
        lines.append(f"  secret:      {spec.token.secret}")
    lines.append("Press Ctrl-C to stop.")
    print("\n".join(lines), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        for pbs in pbs_servers:
            pbs.stop()
        server.stop()

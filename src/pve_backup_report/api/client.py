"""The read-only HTTP client shared by the PVE and PBS collectors.

Why it looks like this:
- **GET only, by construction.** The public surface is `get()`; the transport underneath refuses
  any other method before a byte leaves, so not even a bug elsewhere can change a cluster.
- **One AsyncClient per run**, keep-alive, bounded concurrency (a semaphore sized like the
  connection pool), explicit timeouts, no redirects (a redirect would be a misconfiguration,
  and following it could carry the token elsewhere).
- **Typed errors** (see `errors.py`), mapped from the exception chain, not from message text.
- **Failover**: several base URLs (cluster nodes) may be given; a node that cannot be reached
  is skipped for the rest of the run.
- **Retries**: GET is idempotent, so transient failures are retried a bounded number of times
  with exponential backoff and jitter (so parallel requests do not retry in lock-step): HTTP
  502/503/595, connection resets, remote protocol errors (a connection closed mid-response, a
  truncated body) and read errors. A 503's `Retry-After` is honoured, capped by the timeout.
  Timeouts are not retried: a hanging endpoint would only hang again, multiplying the wait.
- The secret only exists inside the `Authorization` header built for each request.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import httpcore2
import httpx2
from pydantic import SecretStr

from .errors import (
    ApiError,
    DecodeError,
    HttpError,
    SchemaError,
    TransportError,
    TransportKind,
    http_error_for,
)
from .tls import FingerprintMismatchError, PinningBackend, build_ssl_context

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({502, 503, 595})
FAILOVER_KINDS = frozenset(
    {TransportKind.DNS, TransportKind.REFUSED, TransportKind.CONNECT, TransportKind.CONNECT_TIMEOUT}
)
# The request reached the server but the answer was lost on the way: safe to ask again.
RETRYABLE_KINDS = FAILOVER_KINDS | {TransportKind.RESET, TransportKind.READ, TransportKind.PROTOCOL}


class ApiResponse(NamedTuple):
    """The `data` of a successful envelope and its `total` (absent when PVE leaves it out)."""

    data: Any
    total: int | None


@dataclass(frozen=True)
class ClientConfig:
    """Everything the client needs; built by the CLI from validated settings."""

    base_urls: tuple[str, ...]
    authorization: SecretStr = field(repr=False)
    verify_tls: bool = True
    ca_bundle: Path | None = None
    fingerprint: str | None = None  # 64 lowercase hex digits
    timeout: float = 30.0
    max_concurrency: int = 8
    retries: int = 2
    backoff: float = 0.5
    allow_http: bool = False
    name: str = "pve"


class _GetOnlyTransport(httpx2.AsyncBaseTransport):
    """Refuses every method but GET before the request reaches the network."""

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.method != "GET":
            raise PermissionError(f"read-only client: {request.method} is never sent")
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def _build_transport(config: ClientConfig) -> httpx2.AsyncBaseTransport:
    ssl_context = build_ssl_context(
        config.verify_tls, config.ca_bundle, pinned=config.fingerprint is not None
    )
    transport = httpx2.AsyncHTTPTransport(verify=ssl_context)
    # Replace the pool by one whose network backend enforces the certificate pin.
    transport._pool = httpcore2.AsyncConnectionPool(
        ssl_context=ssl_context,
        max_connections=config.max_concurrency,
        max_keepalive_connections=config.max_concurrency,
        keepalive_expiry=30.0,
        network_backend=PinningBackend(config.fingerprint),
    )
    return transport


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def classify_transport_error(exc: BaseException) -> tuple[TransportKind, str]:
    """Tell apart DNS, refused, TLS, pin, timeout from the exception chain (never from text)."""
    chain = _chain(exc)
    for item in chain:
        if isinstance(item, FingerprintMismatchError):
            shown = item.presented or "none"
            return TransportKind.TLS_PIN, f"server certificate {shown} does not match the pin"
    for item in chain:
        if isinstance(item, ssl.SSLCertVerificationError):
            reason = getattr(item, "verify_message", None) or "certificate verification failed"
            return TransportKind.TLS, str(reason)
    for item in chain:
        if isinstance(item, socket.gaierror):
            return TransportKind.DNS, "name resolution failed"
        if isinstance(item, ConnectionRefusedError):
            return TransportKind.REFUSED, "connection refused"
    for item in chain:
        if isinstance(item, httpx2.ConnectTimeout):
            return TransportKind.CONNECT_TIMEOUT, "connection timed out"
    for item in chain:
        if isinstance(item, httpx2.TimeoutException | TimeoutError):
            return TransportKind.TIMEOUT, "timed out"
    kind = _broken_exchange(chain)
    if kind is not None:
        return kind
    for item in chain:
        if isinstance(item, ssl.SSLError):
            return TransportKind.TLS, "TLS handshake failed"
    for item in chain:
        if isinstance(item, httpx2.ConnectError):
            return TransportKind.CONNECT, "could not connect"
    return TransportKind.PROTOCOL, type(exc).__name__


def _broken_exchange(chain: list[BaseException]) -> tuple[TransportKind, str] | None:
    """A connection that worked, then broke while the answer was read (reset, cut short)."""
    if any(isinstance(item, httpx2.ConnectError) for item in chain):
        return None  # never connected: DNS, refused, TLS handshake (told apart by the caller)
    if any(isinstance(item, ConnectionResetError | BrokenPipeError) for item in chain):
        return TransportKind.RESET, "connection reset by the server"
    if isinstance(chain[0], httpx2.RemoteProtocolError):
        return TransportKind.PROTOCOL, "the server closed the connection before the full answer"
    if isinstance(chain[0], httpx2.ReadError | httpx2.WriteError):
        return TransportKind.READ, "the answer could not be read"
    return None


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """`Retry-After` as seconds to wait: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _reason(response: httpx2.Response, body: Any) -> str:
    """PVE puts the first line of the error message in the reason phrase; prefer it."""
    reason = response.reason_phrase or ""
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        first = body["message"].strip().splitlines()
        if first and (not reason or reason in ("OK",)):
            reason = first[0]
    return reason.strip()


class ReadOnlyClient:
    """Async, GET-only API client. Use as an async context manager, one per run."""

    def __init__(
        self, config: ClientConfig, transport: httpx2.AsyncBaseTransport | None = None
    ) -> None:
        for url in config.base_urls:
            if url.startswith("http://") and not config.allow_http:
                raise TransportError(
                    url, TransportKind.INSECURE, "plain http would send the token in clear text"
                )
        self._config = config
        self._semaphore = asyncio.Semaphore(max(1, config.max_concurrency))
        self._http = httpx2.AsyncClient(
            transport=_GetOnlyTransport(transport or _build_transport(config)),
            timeout=httpx2.Timeout(config.timeout, connect=min(config.timeout, 15.0)),
            follow_redirects=False,
            trust_env=False,
        )
        self._dead: set[int] = set()
        self._active = 0
        self.request_count = 0

    @property
    def config(self) -> ClientConfig:
        return self._config

    @property
    def active_base_url(self) -> str:
        return self._config.base_urls[self._active]

    async def __aenter__(self) -> ReadOnlyClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def get(self, path: str, params: Mapping[str, str | int] | None = None) -> ApiResponse:
        """GET `path` (relative to the API root) and return its envelope's data."""
        endpoint = path if path.startswith("/") else f"/{path}"
        attempt = 0
        last_error: ApiError | None = None
        while attempt <= self._config.retries:
            index = self._pick_host()
            if index is None:
                assert last_error is not None
                raise last_error
            try:
                async with self._semaphore:
                    return await self._once(index, endpoint, params)
            except TransportError as error:
                last_error = error
                if error.kind in FAILOVER_KINDS and len(self._config.base_urls) > 1:
                    self._mark_dead(index, error)
                    continue  # failover to the next host does not consume a retry
                if error.kind not in RETRYABLE_KINDS:
                    raise
            except HttpError as error:
                last_error = error
                if error.status not in RETRYABLE_STATUS:
                    raise
            attempt += 1
            if attempt <= self._config.retries:
                log.debug("GET %s failed (%s); retry %d", endpoint, last_error.code, attempt)
                await asyncio.sleep(self._delay(attempt, last_error))
        assert last_error is not None
        raise last_error

    def _delay(self, attempt: int, error: ApiError) -> float:
        """Exponential backoff with jitter, or the server's `Retry-After` (capped)."""
        if isinstance(error, HttpError) and error.retry_after is not None:
            return min(error.retry_after, self._config.timeout)
        base = self._config.backoff * (2 ** (attempt - 1))
        return random.uniform(base / 2, base)  # noqa: S311 - jitter, not cryptography

    def _pick_host(self) -> int | None:
        if self._active not in self._dead:
            return self._active
        for index in range(len(self._config.base_urls)):
            if index not in self._dead:
                self._active = index
                return index
        return None

    def _mark_dead(self, index: int, error: TransportError) -> None:
        if index not in self._dead:
            log.warning(
                "host %s unreachable (%s); skipping it for this run",
                self._config.base_urls[index],
                error.kind.value,
            )
            self._dead.add(index)

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": self._config.authorization.get_secret_value(),
            "Accept": "application/json",
        }

    async def _once(
        self, index: int, endpoint: str, params: Mapping[str, str | int] | None
    ) -> ApiResponse:
        url = self._config.base_urls[index].rstrip("/") + endpoint
        query = {k: str(v) for k, v in (params or {}).items()}
        self.request_count += 1
        try:
            response = await self._http.get(url, params=query, headers=self._headers())
        except (httpx2.HTTPError, OSError, ssl.SSLError) as exc:
            kind, message = classify_transport_error(exc)
            raise TransportError(endpoint, kind, message) from None
        log.debug("GET %s -> %s", endpoint, response.status_code)
        return self._decode(endpoint, response)

    @staticmethod
    def _decode(endpoint: str, response: httpx2.Response) -> ApiResponse:
        body: Any = None
        if response.content:
            try:
                body = json.loads(response.content)
            except ValueError:
                if response.status_code == 200:
                    raise DecodeError(endpoint, "response is not valid JSON") from None
        if response.status_code != 200:
            raise http_error_for(
                endpoint,
                response.status_code,
                _reason(response, body),
                retry_after_seconds(response.headers.get("Retry-After")),
            )
        if not isinstance(body, dict) or "data" not in body:
            raise SchemaError(endpoint, "JSON response without a 'data' member")
        total = body.get("total")
        total_int = None
        if total is not None:
            try:
                total_int = int(total)
            except (TypeError, ValueError):
                total_int = None
        return ApiResponse(body["data"], total_int)


def pve_authorization(token_id: str, secret: SecretStr) -> SecretStr:
    """`PVEAPIToken=<user@realm!name>=<secret>` (PVE splits at the last '=')."""
    return SecretStr(f"PVEAPIToken={token_id}={secret.get_secret_value()}")


def pbs_authorization(token_id: str, secret: SecretStr) -> SecretStr:
    """`PBSAPIToken=<user@realm!name>:<secret>` (PBS uses a colon)."""
    return SecretStr(f"PBSAPIToken={token_id}:{secret.get_secret_value()}")

"""TLS helpers: SSL contexts and certificate fingerprint pinning.

PVE clusters usually run a self-signed CA. Administrators either give us that CA
(`*_CA_BUNDLE`), or pin the node certificate's SHA-256 fingerprint, the colon-hex value PVE
shows as `ssl_fingerprint`. The pin is checked right after the TLS handshake, *before* the
first request byte (and so before the token) is written: a wrong certificate never sees the
secret, whether or not chain verification is also enabled.
"""

from __future__ import annotations

import hashlib
import re
import ssl
from pathlib import Path
from typing import Any

import httpcore2

_HEX_RE = re.compile(r"^[0-9a-f]{64}$")


class FingerprintMismatchError(ssl.SSLError):
    """The server certificate does not match the configured SHA-256 pin."""


def normalize_fingerprint(value: str) -> str:
    """Return 64 lowercase hex digits from `AA:BB:...` (any case, colons optional).

    Raises ValueError when the value is not a SHA-256 fingerprint.
    """
    cleaned = value.strip().replace(":", "").replace(" ", "").lower()
    if not _HEX_RE.match(cleaned):
        raise ValueError("expected a SHA-256 fingerprint: 32 colon-separated hex pairs")
    return cleaned


def certificate_fingerprint(der: bytes) -> str:
    """SHA-256 of a DER certificate as 64 lowercase hex digits."""
    return hashlib.sha256(der).hexdigest()


def build_ssl_context(verify: bool, ca_bundle: Path | None) -> ssl.SSLContext:
    """A client context: system trust (or the given CA bundle), or no verification at all."""
    if not verify:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    if ca_bundle is not None:
        return ssl.create_default_context(cafile=str(ca_bundle))
    return ssl.create_default_context()


class _PinnedStream(httpcore2.AsyncNetworkStream):
    """Wraps a TCP stream; checks the peer certificate as soon as TLS is up."""

    def __init__(self, inner: httpcore2.AsyncNetworkStream, pin: str | None) -> None:
        self._inner = inner
        self._pin = pin

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        tls_stream = await self._inner.start_tls(ssl_context, server_hostname, timeout)
        if self._pin is not None:
            ssl_object = tls_stream.get_extra_info("ssl_object")
            der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
            if not der or certificate_fingerprint(der) != self._pin:
                await tls_stream.aclose()
                raise FingerprintMismatchError(
                    "server certificate does not match the configured fingerprint"
                )
        return _PinnedStream(tls_stream, None)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class PinningBackend(httpcore2.AsyncNetworkBackend):
    """Network backend whose TLS streams enforce a certificate pin."""

    def __init__(self, pin: str | None) -> None:
        self._inner = httpcore2.AnyIOBackend()
        self._pin = pin

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore2.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )
        return _PinnedStream(stream, self._pin)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore2.AsyncNetworkStream:  # pragma: no cover - never used: we only speak TCP
        raise NotImplementedError("unix sockets are not supported")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)

"""TLS helpers: SSL contexts and certificate fingerprint pinning.

PVE clusters usually run a self-signed CA. Administrators either give us that CA
(`*_CA_BUNDLE`), or pin the node certificate's SHA-256 fingerprint, the colon-hex value PVE
shows as `ssl_fingerprint`. A pin alone is enough, as with Proxmox's own tools (a PVE storage
pointing to a PBS trusts its `fingerprint`): the chain and host name are then not checked,
because the pin names the one certificate to accept. With a CA bundle too, both must match.
The pin is checked right after the TLS handshake, *before* the first request byte (and so
before the token) is written: a wrong certificate never sees the secret.
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
    """The server certificate does not match the configured SHA-256 pin; `presented` is the
    fingerprint it has (colon hex), so an administrator can compare it with the node's."""

    def __init__(self, presented: str | None) -> None:
        self.presented = presented
        shown = presented or "none (no certificate)"
        super().__init__(f"server certificate fingerprint {shown} does not match the pin")


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


def colon_fingerprint(hex_digits: str) -> str:
    """`ab12…` → `AB:12:…`, the form PVE and PBS show."""
    return ":".join(hex_digits[i : i + 2] for i in range(0, len(hex_digits), 2)).upper()


def load_ca_bundle(path: Path) -> None:
    """Raise ValueError unless `path` holds at least one PEM certificate `ssl` can load."""
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=str(path))
    except (ssl.SSLError, OSError, ValueError) as error:
        raise ValueError(str(error)) from None


def build_ssl_context(verify: bool, ca_bundle: Path | None, pinned: bool = False) -> ssl.SSLContext:
    """A client context: system trust (or the given CA bundle), or no chain verification at
    all — when verification is off, or when a pin alone says which certificate to trust."""
    if not verify or (pinned and ca_bundle is None):
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
            presented = certificate_fingerprint(der) if der else None
            if presented != self._pin:
                await tls_stream.aclose()
                raise FingerprintMismatchError(
                    colon_fingerprint(presented) if presented is not None else None
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

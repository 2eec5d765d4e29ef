"""Read a server's certificate fingerprint with a bare TLS handshake (no HTTP, no token).

Why: a PVE storage may name its backup server differently from the tool's configuration (IP
versus DNS name); its `fingerprint` option still identifies the server. When no pin is
configured, the certificate is fetched this way, only for matching: nothing is sent after the
handshake, so no credential can leak, and the result is not used to trust the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl

from ..api.tls import certificate_fingerprint


async def peer_fingerprint(host: str, port: int, timeout: float = 10.0) -> str | None:
    """SHA-256 of the server certificate (64 lowercase hex), or None when unreachable."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=ctx, server_hostname=host), timeout
        )
    except (OSError, ssl.SSLError, TimeoutError):
        return None
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        return certificate_fingerprint(der) if der else None
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()

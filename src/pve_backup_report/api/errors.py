"""Typed API errors.

The rest of the code acts on *kinds* of failure (unreachable node, missing privilege, bad token),
so every HTTP-library exception is mapped here, at the boundary, into one of these classes.
Messages name the endpoint and never contain credentials: the client never puts the secret
into anything an error can carry.
"""

from __future__ import annotations

import re
from enum import StrEnum

from ..errors import ReportError


class TransportKind(StrEnum):
    """Why no HTTP response was obtained, told apart from the exception chain."""

    DNS = "dns"
    REFUSED = "connection_refused"
    TLS = "tls_verification"
    TLS_PIN = "tls_fingerprint_mismatch"
    CONNECT_TIMEOUT = "connect_timeout"
    TIMEOUT = "timeout"
    CONNECT = "connect_error"
    RESET = "connection_reset"  # the peer closed or reset the connection mid-request
    READ = "read_error"  # the response could not be read to its end (e.g. truncated body)
    PROTOCOL = "protocol_error"
    INSECURE = "insecure_url"


class ApiError(ReportError):
    """Base class: something went wrong talking to one endpoint."""

    code = "api_error"

    def __init__(self, endpoint: str, message: str) -> None:
        self.endpoint = endpoint
        self.message = message
        super().__init__(f"{endpoint}: {message}")


class TransportError(ApiError):
    """No usable HTTP response (DNS, refused, TLS, timeout, broken connection)."""

    code = "transport_error"

    def __init__(self, endpoint: str, kind: TransportKind, message: str) -> None:
        self.kind = kind
        super().__init__(endpoint, f"{kind.value}: {message}")


class HttpError(ApiError):
    """The server answered with an error status; `reason` is PVE's reason phrase."""

    code = "http_error"

    def __init__(
        self, endpoint: str, status: int, reason: str, retry_after: float | None = None
    ) -> None:
        self.status = status
        self.reason = reason
        self.retry_after = retry_after  # seconds the server asked us to wait (503 Retry-After)
        super().__init__(endpoint, f"HTTP {status} {reason}".rstrip())


class AuthenticationError(HttpError):
    """401: wrong, expired or missing token (PVE sends an empty body)."""

    code = "authentication_failed"


_PERM_RE = re.compile(r"Permission check failed \((?P<path>[^,]*), (?P<privs>[^)]*)\)")


class PermissionDenied(HttpError):
    """403: the token lacks a privilege; PVE names the ACL path and privilege(s)."""

    code = "permission_denied"

    @property
    def acl_path(self) -> str | None:
        match = _PERM_RE.search(self.reason)
        return match.group("path").strip() if match else None

    @property
    def privileges(self) -> tuple[str, ...]:
        match = _PERM_RE.search(self.reason)
        if not match:
            return ()
        return tuple(p.strip() for p in match.group("privs").split("|") if p.strip())


class NodeUnreachable(HttpError):
    """595/596: the node that should answer (proxied request) cannot be reached."""

    code = "node_unreachable"


class DecodeError(ApiError):
    """The body is not valid JSON."""

    code = "invalid_json"


class SchemaError(ApiError):
    """Valid JSON, but not the `{"data": ...}` envelope."""

    code = "missing_data"


class UnexpectedData(ApiError):
    """A well-formed envelope whose `data` has the wrong type (a string where a list is due).

    Raised by collectors, not by the client (only they know the expected shape); handled like
    any unreadable endpoint, so unexpected data is never read as "nothing there".
    """

    code = "wrong_type"

    def __init__(self, endpoint: str, found: str, expected: str) -> None:
        self.found = found  # JSON type name of what came ("string", "object" …)
        self.expected = expected  # "list" or "object"
        article = "an object" if expected == "object" else "a list"
        super().__init__(endpoint, f"returned {found} where {article} was expected")


# Errors where the server answered, but not with something usable: reported with the anomaly
# code `unexpected_response` (the endpoint is named in the details).
UNEXPECTED_RESPONSE = (DecodeError, SchemaError, UnexpectedData)


def http_error_for(
    endpoint: str, status: int, reason: str, retry_after: float | None = None
) -> HttpError:
    """Pick the most specific HTTP error class for a status code."""
    if status == 401:
        return AuthenticationError(endpoint, status, reason)
    if status == 403:
        return PermissionDenied(endpoint, status, reason)
    if status in (595, 596):
        return NodeUnreachable(endpoint, status, reason)
    return HttpError(endpoint, status, reason, retry_after)

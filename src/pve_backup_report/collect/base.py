"""Shared collector plumbing: one place turns API errors into anomalies.

Collection must never stop at the first problem: every failed or odd endpoint becomes an
anomaly with a stable code and non-sensitive details, and the caller gets `None` to act on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..api.client import ApiResponse
from ..api.errors import ApiError, HttpError, PermissionDenied, TransportError
from ..model import Anomaly, JSONScalar, Severity


class Getter(Protocol):
    """What collectors need from a client (the real one, or a fake in unit tests)."""

    async def get(
        self, path: str, params: Mapping[str, str | int] | None = None
    ) -> ApiResponse: ...


def error_details(error: ApiError) -> dict[str, JSONScalar]:
    details: dict[str, JSONScalar] = {"endpoint": error.endpoint, "error": error.code}
    details["error_message"] = error.message  # never holds credentials (see api.errors)
    if isinstance(error, HttpError):
        details["status"] = error.status
        details["reason"] = error.reason
    if isinstance(error, TransportError):
        details["transport"] = error.kind.value
    if isinstance(error, PermissionDenied):
        if error.acl_path:
            details["acl_path"] = error.acl_path
        if error.privileges:
            details["missing_privilege"] = "|".join(error.privileges)
    return details


@dataclass
class Collector:
    """Wraps a client for one area; accumulates anomalies instead of raising."""

    client: Getter
    anomalies: list[Anomaly] = field(default_factory=list)

    def add(
        self,
        severity: Severity,
        component: str,
        code: str,
        message: str,
        **details: JSONScalar,
    ) -> None:
        self.anomalies.append(Anomaly(severity, component, code, message, dict(details)))

    def add_error(
        self,
        severity: Severity,
        component: str,
        code: str,
        what: str,
        error: ApiError,
        extra: Mapping[str, JSONScalar] | None = None,
    ) -> None:
        """`extra`: details naming what was read (node, storage …), for translated messages."""
        details = {**(extra or {}), **error_details(error)}
        self.anomalies.append(
            Anomaly(severity, component, code, f"{what}: {error.message}", details)
        )

    async def fetch(
        self,
        path: str,
        *,
        component: str,
        code: str,
        what: str,
        severity: Severity = Severity.WARNING,
        params: Mapping[str, str | int] | None = None,
        extra: Mapping[str, JSONScalar] | None = None,
    ) -> ApiResponse | None:
        try:
            return await self.client.get(path, params)
        except ApiError as error:
            self.add_error(severity, component, code, what, error, extra)
            return None

    def expect_list(self, response: ApiResponse | None, component: str, path: str) -> list[Any]:
        """The data as a list of objects; anything else is reported and treated as empty."""
        if response is None:
            return []
        data = response.data
        if not isinstance(data, list):
            self.add(
                Severity.WARNING,
                component,
                "unexpected_response",
                f"{path} returned {type(data).__name__} where a list was expected",
                endpoint=path,
                type=type(data).__name__,
            )
            return []
        items = [item for item in data if isinstance(item, dict)]
        if len(items) != len(data):
            self.add(
                Severity.INFO,
                component,
                "unexpected_response",
                f"{path}: ignored {len(data) - len(items)} entries that are not objects",
                endpoint=path,
                ignored=len(data) - len(items),
            )
        return items

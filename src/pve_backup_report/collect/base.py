"""Shared collector plumbing: one place turns API errors into anomalies.

Collection must never stop at the first problem: every failed or odd endpoint becomes an
anomaly with a stable code and non-sensitive details, and the caller gets `None` to act on.

An answer that arrives but cannot be used (not JSON, no `data`, `data` of the wrong type) is
*unreadable*, exactly like an error status: anomaly `unexpected_response` naming the endpoint,
and `None` for the caller. It is never read as an empty list, which would turn "unknown" into
"no jobs" or "no guests" and produce confident wrong verdicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from ..api.client import ApiResponse
from ..api.errors import (
    UNEXPECTED_RESPONSE,
    ApiError,
    HttpError,
    PermissionDenied,
    TransportError,
    UnexpectedData,
)
from ..model import Anomaly, JSONScalar, Severity

Shape = Literal["list", "object"]
UNEXPECTED = "unexpected_response"
_SHAPE_TYPE: dict[str, type] = {"list": list, "object": dict}


class Getter(Protocol):
    """What collectors need from a client (the real one, or a fake in unit tests)."""

    async def get(
        self, path: str, params: Mapping[str, str | int] | None = None
    ) -> ApiResponse: ...


def type_name(value: Any) -> str:
    """The JSON name of a value's type, as a user would read it in the API's answer."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def check_shape(response: ApiResponse, endpoint: str, expect: Shape | None) -> ApiResponse:
    """``response`` when its data has the expected JSON type; else `UnexpectedData`."""
    if expect is None or isinstance(response.data, _SHAPE_TYPE[expect]):
        return response
    raise UnexpectedData(endpoint, type_name(response.data), expect)


def anomaly_code(error: ApiError, code: str) -> str:
    """The collector's own code for a failed read, or `unexpected_response` for an answer that
    arrived but is unusable (both mean "unreadable"; the code tells the user which)."""
    return UNEXPECTED if isinstance(error, UNEXPECTED_RESPONSE) else code


def error_details(error: ApiError) -> dict[str, JSONScalar]:
    details: dict[str, JSONScalar] = {"endpoint": error.endpoint, "error": error.code}
    details["error_message"] = error.message  # never holds credentials (see api.errors)
    if isinstance(error, HttpError):
        details["status"] = error.status
        details["reason"] = error.reason
    if isinstance(error, TransportError):
        details["transport"] = error.kind.value
    if isinstance(error, UnexpectedData):
        details["type"] = error.found
        details["expected"] = error.expected
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
        """`extra`: details naming what was read (node, storage …), for translated messages.

        An unusable answer gets the code `unexpected_response` instead of ``code``."""
        details = {**(extra or {}), **error_details(error)}
        self.anomalies.append(
            Anomaly(
                severity,
                component,
                anomaly_code(error, code),
                f"{what}: {error.endpoint} {error.message}"
                if isinstance(error, UNEXPECTED_RESPONSE)
                else f"{what}: {error.message}",
                details,
            )
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
        expect: Shape | None = None,
    ) -> ApiResponse | None:
        """The answer, or None after recording why it is unusable (``expect``: the JSON type
        `data` must have; anything else is an unreadable endpoint, never an empty one)."""
        try:
            return check_shape(await self.client.get(path, params), path, expect)
        except ApiError as error:
            self.add_error(severity, component, code, what, error, extra)
            return None

    def expect_list(self, response: ApiResponse | None, component: str, path: str) -> list[Any]:
        """The objects of a list answer (fetched with ``expect="list"``; None gives []).

        Entries that are not objects are dropped with an INFO anomaly: the list itself was
        readable, only some entries are odd."""
        if response is None:
            return []
        data = response.data
        if not isinstance(data, list):  # a caller that forgot `expect="list"`: never "empty"
            raise TypeError(f"{path}: fetch with expect='list' before expect_list")
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

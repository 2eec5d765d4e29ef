"""The read-only client against an in-process mock transport (no sockets)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import httpx2
import pytest
from pydantic import SecretStr

from pve_backup_report.api.client import ClientConfig, ReadOnlyClient, pve_authorization
from pve_backup_report.api.errors import (
    AuthenticationError,
    DecodeError,
    HttpError,
    NodeUnreachable,
    PermissionDenied,
    SchemaError,
    TransportError,
    TransportKind,
)

SECRET = "sentinel-secret-7f3e"
Handler = Callable[[httpx2.Request], httpx2.Response]


def make(
    handler: Handler, hosts: tuple[str, ...] = ("https://pve1:8006/api2/json",), retries: int = 2
) -> tuple[ReadOnlyClient, list[httpx2.Request]]:
    seen: list[httpx2.Request] = []

    def recorder(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return handler(request)

    config = ClientConfig(
        base_urls=hosts,
        authorization=pve_authorization("report@pve!audit", SecretStr(SECRET)),
        retries=retries,
        backoff=0,
    )
    return ReadOnlyClient(config, transport=httpx2.MockTransport(recorder)), seen


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)


def test_envelope_data_total_and_auth_header() -> None:
    client, seen = make(lambda _r: httpx2.Response(200, json={"data": [1, 2], "total": "7"}))
    response = run(client.get("/nodes/pve1/tasks", {"limit": 2}))
    assert response.data == [1, 2] and response.total == 7
    assert seen[0].headers["authorization"] == f"PVEAPIToken=report@pve!audit={SECRET}"
    assert seen[0].url.path == "/api2/json/nodes/pve1/tasks"
    assert seen[0].url.params["limit"] == "2"


def test_total_absent_is_none() -> None:
    client, _ = make(lambda _r: httpx2.Response(200, json={"data": []}))
    assert run(client.get("/storage")).total is None


def test_401_empty_body() -> None:
    client, _ = make(
        lambda _r: httpx2.Response(401, extensions={"reason_phrase": b"Authentication failed!"})
    )
    with pytest.raises(AuthenticationError) as info:
        run(client.get("/version"))
    assert info.value.status == 401
    assert "Authentication failed!" in str(info.value)
    assert SECRET not in str(info.value)


def test_403_names_path_and_privilege() -> None:
    client, _ = make(
        lambda _r: httpx2.Response(
            403,
            json={"data": None, "message": "Permission check failed (/, Sys.Audit)\n"},
            extensions={"reason_phrase": b"Permission check failed (/, Sys.Audit)"},
        )
    )
    with pytest.raises(PermissionDenied) as info:
        run(client.get("/cluster/backup"))
    assert info.value.acl_path == "/"
    assert info.value.privileges == ("Sys.Audit",)
    assert info.value.endpoint == "/cluster/backup"


def test_check_any_privileges_split() -> None:
    reason = "Permission check failed (/storage/pbs-main, Datastore.Audit|Datastore.AllocateSpace)"
    client, _ = make(lambda _r: httpx2.Response(403, extensions={"reason_phrase": reason.encode()}))
    with pytest.raises(PermissionDenied) as info:
        run(client.get("/nodes/pve1/storage/pbs-main/content"))
    assert info.value.privileges == ("Datastore.Audit", "Datastore.AllocateSpace")


def test_595_is_retried_then_node_unreachable() -> None:
    client, seen = make(
        lambda _r: httpx2.Response(595, extensions={"reason_phrase": b"No route to host"})
    )
    with pytest.raises(NodeUnreachable):
        run(client.get("/nodes/pve3/tasks"))
    assert len(seen) == 3  # first try + 2 retries


def test_500_not_retried_reason_from_message() -> None:
    client, seen = make(
        lambda _r: httpx2.Response(
            500,
            json={"data": None, "message": "pool 'gone' does not exist\n"},
            extensions={"reason_phrase": b"pool 'gone' does not exist"},
        )
    )
    with pytest.raises(HttpError) as info:
        run(client.get("/pools", {"poolid": "gone"}))
    assert info.value.status == 500 and info.value.reason == "pool 'gone' does not exist"
    assert len(seen) == 1


def test_503_then_success() -> None:
    answers = iter([httpx2.Response(503), httpx2.Response(200, json={"data": {"version": "9"}})])
    client, seen = make(lambda _r: next(answers))
    assert run(client.get("/version")).data == {"version": "9"}
    assert len(seen) == 2


def test_invalid_json_and_missing_data() -> None:
    client, _ = make(lambda _r: httpx2.Response(200, content=b"{not json"))
    with pytest.raises(DecodeError):
        run(client.get("/version"))
    client, _ = make(lambda _r: httpx2.Response(200, json={"foo": 1}))
    with pytest.raises(SchemaError):
        run(client.get("/version"))


def test_redirect_is_not_followed() -> None:
    client, seen = make(lambda _r: httpx2.Response(301, headers={"Location": "https://evil/"}))
    with pytest.raises(HttpError) as info:
        run(client.get("/version"))
    assert info.value.status == 301 and len(seen) == 1


def test_failover_to_next_host_and_skip_dead_one() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.host == "pve1":
            raise httpx2.ConnectError("refused", request=request)
        return httpx2.Response(200, json={"data": request.url.host})

    client, seen = make(
        handler, hosts=("https://pve1:8006/api2/json", "https://pve2:8006/api2/json")
    )
    assert run(client.get("/version")).data == "pve2"
    assert run(client.get("/nodes")).data == "pve2"
    assert [r.url.host for r in seen] == ["pve1", "pve2", "pve2"]


def test_all_hosts_down_raises_transport_error() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("refused", request=request)

    client, seen = make(handler, hosts=("https://a:8006/api2/json", "https://b:8006/api2/json"))
    with pytest.raises(TransportError) as info:
        run(client.get("/version"))
    assert info.value.kind is TransportKind.CONNECT
    assert {r.url.host for r in seen} == {"a", "b"}


def test_http_url_refused_by_client() -> None:
    with pytest.raises(TransportError) as info:
        make(lambda _r: httpx2.Response(200), hosts=("http://pve1:8006/api2/json",))
    assert info.value.kind is TransportKind.INSECURE


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
def test_no_other_method_can_leave_the_client(method: str) -> None:
    client, seen = make(lambda _r: httpx2.Response(200, json={"data": None}))
    # Even reaching into the private httpx client, the transport refuses before the network.
    with pytest.raises(PermissionError):
        run(client._http.request(method, "https://pve1:8006/api2/json/nodes"))
    assert seen == []
    assert not any(hasattr(client, name) for name in ("post", "put", "delete", "patch", "request"))


def test_concurrency_is_bounded() -> None:
    active = 0
    peak = 0

    async def main() -> None:
        nonlocal active, peak
        config = ClientConfig(
            base_urls=("https://pve1:8006/api2/json",),
            authorization=SecretStr("x"),
            max_concurrency=3,
        )

        class Slow(httpx2.AsyncBaseTransport):
            async def handle_async_request(self, _request: httpx2.Request) -> httpx2.Response:
                nonlocal active, peak
                active += 1
                peak = max(peak, active)
                await asyncio.sleep(0.01)
                active -= 1
                return httpx2.Response(200, json={"data": 1})

        async with ReadOnlyClient(config, transport=Slow()) as client:
            await asyncio.gather(*(client.get(f"/n/{i}") for i in range(20)))
            assert client.request_count == 20

    asyncio.run(main())
    assert peak == 3


def _raiser(*errors: Exception, then: httpx2.Response | None = None) -> Handler:
    """A handler raising ``errors`` one per request, then answering ``then``."""
    pending = list(errors)

    def handler(_request: httpx2.Request) -> httpx2.Response:
        if pending:
            raise pending.pop(0)
        assert then is not None
        return then

    return handler


def _reset() -> httpx2.ReadError:
    try:
        raise ConnectionResetError(104, "Connection reset by peer")
    except ConnectionResetError as cause:
        error = httpx2.ReadError("reset")
        error.__cause__ = cause
        return error


@pytest.mark.parametrize(
    "error",
    [_reset(), httpx2.RemoteProtocolError("peer closed connection"), httpx2.ReadError("read")],
)
def test_broken_exchange_is_retried_then_succeeds(error: Exception) -> None:
    ok = httpx2.Response(200, json={"data": [1]})
    client, seen = make(_raiser(error, error, then=ok))
    assert run(client.get("/cluster/resources")).data == [1]
    assert len(seen) == 3  # two failures, then the answer


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (_reset(), TransportKind.RESET),
        (httpx2.RemoteProtocolError("peer closed connection"), TransportKind.PROTOCOL),
        (httpx2.ReadError("read failed"), TransportKind.READ),
    ],
)
def test_broken_exchange_retries_are_bounded(error: Exception, kind: TransportKind) -> None:
    client, seen = make(_raiser(*[error] * 10), retries=2)
    with pytest.raises(TransportError) as info:
        run(client.get("/cluster/resources"))
    assert info.value.kind is kind
    assert len(seen) == 3  # first try + 2 retries, no more


def test_read_timeout_is_not_retried() -> None:
    client, seen = make(_raiser(*[httpx2.ReadTimeout("slow")] * 3))
    with pytest.raises(TransportError) as info:
        run(client.get("/cluster/resources"))
    assert info.value.kind is TransportKind.TIMEOUT
    assert len(seen) == 1


def test_retry_after_is_honoured_and_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    answers = iter(
        [
            httpx2.Response(503, headers={"Retry-After": "3"}),
            httpx2.Response(503, headers={"Retry-After": "3600"}),
            httpx2.Response(200, json={"data": {}}),
        ]
    )
    client, seen = make(lambda _r: next(answers))
    run(client.get("/version"))
    assert len(seen) == 3
    assert waits == [3.0, 30.0]  # the second wait is capped at the 30 s timeout


def test_backoff_has_jitter_within_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    config = ClientConfig(
        base_urls=("https://pve1:8006/api2/json",),
        authorization=pve_authorization("report@pve!audit", SecretStr(SECRET)),
        retries=2,
        backoff=1.0,
    )
    handler = _raiser(*[httpx2.RemoteProtocolError("cut")] * 3)
    client = ReadOnlyClient(config, transport=httpx2.MockTransport(handler))
    with pytest.raises(TransportError):
        run(client.get("/version"))
    # attempt 1 waits in [0.5, 1], attempt 2 in [1, 2] (backoff 1 s, doubled, half jitter)
    assert len(waits) == 2
    assert 0.5 <= waits[0] <= 1.0 and 1.0 <= waits[1] <= 2.0


def test_retry_after_date_and_garbage() -> None:
    from datetime import UTC, datetime

    from pve_backup_report.api.client import retry_after_seconds

    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("Thu, 01 Jan 2026 12:00:10 GMT", now) == 10.0
    assert retry_after_seconds("Thu, 01 Jan 2026 11:00:00 GMT", now) == 0.0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None
    assert retry_after_seconds(" 7 ", now) == 7.0

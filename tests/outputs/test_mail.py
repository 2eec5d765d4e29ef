"""E-mail digest: settings, message structure, and delivery against a real local SMTP server
(aiosmtpd on 127.0.0.1): plain, implicit TLS, STARTTLS with certificate verification (trustme),
authentication required after STARTTLS, and failures whose messages never carry the password.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from pydantic import SecretStr

from pve_backup_report.config import ConfigError
from pve_backup_report.outputs.mail import (
    MailDeliveryError,
    MailSettings,
    build_message,
    load_mail_settings,
    send,
    subject,
)

from .sample import report

USER = "reporter"
PASSWORD = "s3cret-PW-do-not-print"
SENDER = "pve-report@example.com"
TO = ("ops@example.com", "boss@example.com")


# ----------------------------------------------------------------------------- server


@dataclass
class Sink:
    """Records what the server received; can refuse recipients or the data."""

    refuse_rcpt: frozenset[str] = frozenset()
    refuse_data: bool = False
    received: list[dict[str, Any]] = field(default_factory=list)

    async def handle_RCPT(
        self, _server: Any, _session: Any, envelope: Any, address: str, _options: list[str]
    ) -> str:
        if address in self.refuse_rcpt:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse_data:
            return "554 5.7.1 message rejected as spam"
        self.received.append(
            {
                "from": envelope.mail_from,
                "to": list(envelope.rcpt_tos),
                "data": envelope.original_content,
                "tls": server.transport.get_extra_info("ssl_object") is not None,
                "authenticated": bool(session.authenticated),
            }
        )
        return "250 OK queued"


def authenticator(
    _server: Any, _session: Any, _envelope: Any, _mechanism: str, auth_data: Any
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USER.encode()
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)  # handled=False: the server replies 535


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
def start() -> Iterator[Any]:
    controllers: list[Controller] = []

    def _start(handler: Sink, **kw: Any) -> int:
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port, **kw)
        controller.start()
        controllers.append(controller)
        return port

    yield _start
    for c in controllers:
        c.stop()


def settings(port: int, security: str = "none", **kw: Any) -> MailSettings:
    return MailSettings(
        host="127.0.0.1",
        port=port,
        security=security,  # type: ignore[arg-type]
        sender=SENDER,
        recipients=TO,
        **kw,
    )


def message() -> EmailMessage:
    return build_message(report(), [], "en")


def assert_no_password(err: pytest.ExceptionInfo[MailDeliveryError]) -> None:
    assert PASSWORD not in str(err.value)
    assert PASSWORD not in repr(err.value)
    assert err.value.__cause__ is None and err.value.__suppress_context__


# ----------------------------------------------------------------------------- delivery


def test_plain_delivery(start: Any) -> None:
    sink = Sink()
    port = start(sink)
    send(settings(port), message(), timeout=10)
    [got] = sink.received
    assert got["from"] == SENDER and got["to"] == list(TO) and not got["tls"]
    parsed = message_from_bytes(got["data"], policy=policy.default)
    assert (
        parsed["Subject"]
        == "[PVE backup] cluster1: 1 not covered, 1 failed, 2 stale, 1 other warning, 2 OK"
    )
    assert parsed["From"] == SENDER
    assert parsed["To"] == "ops@example.com, boss@example.com"
    assert parsed["Message-ID"].endswith("@example.com>")
    assert parsed["Auto-Submitted"] == "auto-generated"


def test_starttls_and_auth(start: Any, server_tls: ssl.SSLContext, ca_file: Path) -> None:
    sink = Sink()
    port = start(
        sink,
        tls_context=server_tls,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
        auth_require_tls=True,
    )
    cfg = settings(port, "starttls", user=USER, password=SecretStr(PASSWORD), ca_bundle=ca_file)
    send(cfg, message(), timeout=10)
    [got] = sink.received
    assert got["tls"] and got["authenticated"]


def test_implicit_tls(start: Any, server_tls: ssl.SSLContext, ca_file: Path) -> None:
    sink = Sink()
    port = start(sink, ssl_context=server_tls)
    send(settings(port, "ssl", ca_bundle=ca_file), message(), timeout=10)
    assert sink.received[0]["tls"]


def test_wrong_password_is_refused_without_leaking_it(
    start: Any, server_tls: ssl.SSLContext, ca_file: Path
) -> None:
    sink = Sink()
    port = start(
        sink,
        tls_context=server_tls,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    )
    bad = "wrong-" + PASSWORD
    cfg = settings(port, "starttls", user=USER, password=SecretStr(bad), ca_bundle=ca_file)
    with pytest.raises(MailDeliveryError) as err:
        send(cfg, message(), timeout=10)
    assert str(err.value).startswith(
        f"e-mail delivery via 127.0.0.1:{port} failed: authentication refused (535"
    )
    assert bad not in str(err.value) and bad not in repr(err.value)
    assert err.value.__cause__ is None and err.value.__suppress_context__
    assert PASSWORD not in repr(cfg)
    assert sink.received == []


def test_untrusted_certificate_is_refused(
    start: Any, server_tls: ssl.SSLContext, tmp_path: Path
) -> None:
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    port = start(Sink(), tls_context=server_tls, require_starttls=True)
    cfg = settings(port, "starttls", user=USER, password=SecretStr(PASSWORD), ca_bundle=other)
    with pytest.raises(MailDeliveryError, match="TLS certificate verification failed") as err:
        send(cfg, message(), timeout=10)
    assert_no_password(err)


def test_server_without_starttls(start: Any, ca_file: Path) -> None:
    port = start(Sink())
    with pytest.raises(MailDeliveryError, match="does not offer STARTTLS") as err:
        send(
            settings(port, "starttls", user=USER, password=SecretStr(PASSWORD), ca_bundle=ca_file),
            message(),
            timeout=10,
        )
    assert_no_password(err)


def test_all_recipients_refused(start: Any) -> None:
    port = start(Sink(refuse_rcpt=frozenset(TO)))
    with pytest.raises(MailDeliveryError) as err:
        send(settings(port), message(), timeout=10)
    assert str(err.value) == (
        f"e-mail delivery via 127.0.0.1:{port} failed: all recipients refused: "
        "ops@example.com (550 5.1.1 no such user), boss@example.com (550 5.1.1 no such user)"
    )


def test_some_recipients_refused(start: Any) -> None:
    sink = Sink(refuse_rcpt=frozenset({"boss@example.com"}))
    port = start(sink)
    with pytest.raises(MailDeliveryError) as err:
        send(settings(port), message(), timeout=10)
    assert str(err.value) == (
        f"e-mail via 127.0.0.1:{port} delivered, but refused for: "
        "boss@example.com (550 5.1.1 no such user)"
    )
    assert sink.received[0]["to"] == ["ops@example.com"]


def test_data_refused(start: Any) -> None:
    port = start(Sink(refuse_data=True))
    with pytest.raises(
        MailDeliveryError, match=r"server error 554 5\.7\.1 message rejected as spam"
    ):
        send(settings(port), message(), timeout=10)


def test_connection_refused() -> None:
    port = free_port()  # nothing listens there
    with pytest.raises(
        MailDeliveryError, match=f"via 127.0.0.1:{port} failed: Connection refused"
    ) as err:
        send(settings(port, "ssl", user=USER, password=SecretStr(PASSWORD)), message(), timeout=5)
    assert_no_password(err)


def test_password_never_sent_in_clear() -> None:
    with pytest.raises(MailDeliveryError, match="without TLS") as err:
        send(settings(1, "none", user=USER, password=SecretStr(PASSWORD)), message(), timeout=5)
    assert_no_password(err)


# ----------------------------------------------------------------------------- message


def test_message_structure(tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(b"%PDF-1.7\n\x00\xff binary")
    csv = tmp_path / "guests.csv"
    csv.write_text("vmid;name\n100;web\n", encoding="utf-8")
    js = tmp_path / "report.json"
    js.write_text('{"a": 1}', encoding="utf-8")
    msg = build_message(report(), [pdf, csv, js], "en")
    assert msg.get_content_type() == "multipart/mixed"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == [
        "multipart/alternative",
        "application/pdf",
        "text/csv",
        "application/json",
    ]
    alternative = list(parts[0].iter_parts())
    assert [p.get_content_type() for p in alternative] == ["text/plain", "text/html"]
    text = alternative[0].get_content()
    html = alternative[1].get_content()
    assert "Guests that need attention:" in text
    assert "[CRITICAL] 102 lab (pve2): in no backup job" in text
    assert "<svg" not in html.lower() and "<script" not in html.lower()
    assert "<style" not in html.lower()  # styles are inlined (see test_mail_digest.py)
    assert "cluster1" in html
    assert [p.get_filename() for p in parts[1:]] == ["report.pdf", "guests.csv", "report.json"]
    assert parts[1].get_content() == pdf.read_bytes()
    assert parts[2].get_payload(decode=True) == csv.read_bytes()
    # survives a round trip through bytes (what the server receives)
    again = message_from_bytes(msg.as_bytes(), policy=policy.default)
    assert again["Subject"] == msg["Subject"]


def test_french_subject() -> None:
    assert subject(report("fr")) == (
        "[Sauvegarde PVE] cluster1\u202f: 1 non couvert, 1 en échec, 2 périmés, "
        "1 autre avertissement, 2 OK"
    )
    assert build_message(report(), [], "fr")["Subject"].startswith("[Sauvegarde PVE] cluster1")


def test_subject_with_hostile_cluster_name_stays_one_header() -> None:
    r = report()
    r = replace(r, cluster=replace(r.cluster, name="c1\r\nBcc: victim@example.com"))
    msg = build_message(r, [], "en")
    assert msg["Subject"].startswith("[PVE backup] c1  Bcc: victim@example.com: ")
    assert "Bcc" not in msg


def test_missing_attachment(tmp_path: Path) -> None:
    with pytest.raises(MailDeliveryError, match=r"cannot attach missing\.pdf: No such file"):
        build_message(report(), [tmp_path / "missing.pdf"], "en")


# ----------------------------------------------------------------------------- settings

FULL = {
    "SMTP_HOST": "smtp.example.com",
    "SMTP_PORT": "2525",
    "SMTP_SECURITY": "STARTTLS",
    "SMTP_USER": USER,
    "SMTP_PASSWORD": PASSWORD,
    "MAIL_FROM": "PVE report <pve-report@example.com>",
    "MAIL_TO": " ops@example.com, boss@example.com ,ops@example.com,",
}


def test_settings_none_when_nothing_set() -> None:
    assert load_mail_settings({"PVE_HOST": "pve1", "SMTP_HOST": "  "}) is None


def test_settings_full() -> None:
    s = load_mail_settings(FULL)
    assert s is not None
    assert (s.host, s.port, s.security, s.user) == ("smtp.example.com", 2525, "starttls", USER)
    assert s.password is not None and s.password.get_secret_value() == PASSWORD
    assert s.sender == "pve-report@example.com"
    assert s.recipients == TO
    assert PASSWORD not in repr(s)


@pytest.mark.parametrize(("security", "port"), [("starttls", 587), ("ssl", 465), ("none", 25)])
def test_default_ports(security: str, port: int) -> None:
    env = {"smtp_host": "mx", "smtp_security": security, "mail_from": SENDER, "mail_to": TO[0]}
    s = load_mail_settings(env)  # lower-case names work like the rest of the configuration
    assert s is not None and s.port == port and s.user is None


@pytest.mark.parametrize(
    ("change", "variable"),
    [
        ({"SMTP_HOST": ""}, "SMTP_HOST"),
        ({"SMTP_HOST": "smtp://mx"}, "SMTP_HOST"),
        ({"SMTP_PORT": "70000"}, "SMTP_PORT"),
        ({"SMTP_SECURITY": "tls"}, "SMTP_SECURITY"),
        ({"SMTP_SECURITY": "none"}, "SMTP_SECURITY"),
        ({"SMTP_PASSWORD": ""}, "SMTP_PASSWORD"),
        ({"SMTP_USER": ""}, "SMTP_USER"),
        ({"MAIL_FROM": ""}, "MAIL_FROM"),
        ({"MAIL_FROM": "not an address"}, "MAIL_FROM"),
        ({"MAIL_TO": ""}, "MAIL_TO"),
        ({"MAIL_TO": "ops@example.com\r\nBcc: x@example.com"}, "MAIL_TO"),
        ({"MAIL_TO": ",,"}, "MAIL_TO"),
        ({"SMTP_CA_BUNDLE": "/nonexistent/ca.pem"}, "SMTP_CA_BUNDLE"),
    ],
)
def test_settings_errors_name_the_variable(change: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_mail_settings({**FULL, **change})
    assert err.value.variable == variable
    assert str(err.value).startswith(f"{variable}: ")
    assert PASSWORD not in str(err.value)

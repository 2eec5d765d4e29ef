"""E-mail digest: one message per run, delivered with the standard library's SMTP client.

Why like this: the digest is what people read when nothing else is looked at, so the subject
alone must tell the story (counts), the body is a digest of bounded size that survives mail
clients stripping SVG and `<style>` (`render_digest`: inlined styles, tables for layout, and a
plain-text part with the same content), and the full report travels as attachments.
Delivery is a side effect that can fail for many reasons (DNS, TLS, credentials, a refusing
relay); every failure becomes one `MailDeliveryError` with a readable
message that never contains the password, so the caller can report it, change the exit
status, and still keep the report files it wrote.

Settings come from the environment like the rest of the configuration and reuse
`ConfigError`: one line naming the variable and what is expected, never the value.
"""

from __future__ import annotations

import mimetypes
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import Literal

from pydantic import SecretStr

from ..api.tls import load_ca_bundle
from ..config import MAIL_VARIABLES, ConfigError, parse_int
from ..errors import ReportError
from ..report.i18n import LANGUAGES, NNBSP, plural_form
from ..report.model import Report
from ..report.render_digest import render_digest_html, render_digest_text
from .nagios import cluster_label

Security = Literal["starttls", "ssl", "none"]
SECURITY_MODES: tuple[Security, ...] = ("starttls", "ssl", "none")
DEFAULT_PORTS: dict[Security, int] = {"starttls": 587, "ssl": 465, "none": 25}


class MailDeliveryError(ReportError):
    """The digest could not be built or delivered. The message is safe to print and log."""

    label = "e-mail not delivered"


@dataclass(frozen=True)
class MailSettings:
    host: str
    port: int
    security: Security
    sender: str
    recipients: tuple[str, ...]
    user: str | None = None
    password: SecretStr | None = field(default=None, repr=False)
    ca_bundle: Path | None = None  # None: the system's trust store


# ----------------------------------------------------------------------------- settings


def _get(env: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive like the rest of the configuration; blank counts as unset."""
    for key, value in env.items():
        if key.upper() == name and value is not None and value.strip():
            return value.strip()
    return None


def _address(variable: str, text: str) -> str:
    expected = "expected an e-mail address such as reports@example.com"
    if any(c in text for c in "\r\n\0"):
        raise ConfigError(variable, expected)
    _, addr = parseaddr(text)
    local, at, domain = addr.rpartition("@")
    if not at or not local or not domain or any(c.isspace() for c in addr) or "," in addr:
        raise ConfigError(variable, expected)
    return addr


def load_mail_settings(env: Mapping[str, str]) -> MailSettings | None:
    """The SMTP settings, or None when no mail variable is set at all.

    Raises `ConfigError` (one line, names the variable, never echoes the value) when some are
    set but the whole is incomplete or invalid.
    """
    if not any(_get(env, name) for name in MAIL_VARIABLES):
        return None
    host = _get(env, "SMTP_HOST")
    if host is None:
        raise ConfigError("SMTP_HOST", "required when other SMTP_/MAIL_ variables are set")
    if "://" in host or any(c.isspace() or c in "/@" for c in host):
        raise ConfigError("SMTP_HOST", "expected a host name or IP address, without port")
    security_text = (_get(env, "SMTP_SECURITY") or "starttls").lower()
    if security_text not in SECURITY_MODES:
        raise ConfigError("SMTP_SECURITY", "expected starttls, ssl or none")
    security: Security = security_text
    port = parse_int("SMTP_PORT", _get(env, "SMTP_PORT"), DEFAULT_PORTS[security], 1, 65535)
    user = _get(env, "SMTP_USER")
    password = _get(env, "SMTP_PASSWORD")
    if user is not None and password is None:
        raise ConfigError("SMTP_PASSWORD", "required when SMTP_USER is set")
    if password is not None and user is None:
        raise ConfigError("SMTP_USER", "required when SMTP_PASSWORD is set")
    if user is not None and security == "none":
        raise ConfigError(
            "SMTP_SECURITY",
            "none is refused with SMTP_USER: the password must never travel in clear text "
            "(use starttls or ssl)",
        )
    ca_text = _get(env, "SMTP_CA_BUNDLE")
    ca_bundle = Path(ca_text).expanduser() if ca_text else None
    if ca_bundle is not None and not ca_bundle.is_file():
        raise ConfigError("SMTP_CA_BUNDLE", "expected the path of a readable PEM file")
    if ca_bundle is not None:
        try:
            load_ca_bundle(ca_bundle)
        except ValueError:
            raise ConfigError(
                "SMTP_CA_BUNDLE",
                f"{ca_bundle} is not a PEM CA bundle (expected -----BEGIN CERTIFICATE-----)",
            ) from None
    sender_text = _get(env, "MAIL_FROM")
    if sender_text is None:
        raise ConfigError("MAIL_FROM", "required to send e-mail")
    sender = _address("MAIL_FROM", sender_text)
    to_text = _get(env, "MAIL_TO")
    if to_text is None:
        raise ConfigError("MAIL_TO", "required to send e-mail (comma-separated addresses)")
    recipients = tuple(
        _address("MAIL_TO", part.strip()) for part in to_text.split(",") if part.strip()
    )
    if not recipients:
        raise ConfigError("MAIL_TO", "expected at least one e-mail address")
    return MailSettings(
        host=host,
        port=port,
        security=security,
        sender=sender,
        recipients=tuple(dict.fromkeys(recipients)),
        user=user,
        password=SecretStr(password) if password is not None else None,
        ca_bundle=ca_bundle,
    )


# ----------------------------------------------------------------------------- message

_SUBJECT = {
    "en": {
        "prefix": "[PVE backup]",
        "sep": ":",
        "not_covered": ("{n} not covered", "{n} not covered"),
        "failed": ("{n} failed", "{n} failed"),
        "stale": ("{n} stale", "{n} stale"),
        "other": ("{n} other warning", "{n} other warnings"),
        "anomalies": ("{n} critical anomaly", "{n} critical anomalies"),
        "ok": ("{n} OK", "{n} OK"),
        "unknown": "UNKNOWN",
    },
    "fr": {
        "prefix": "[Sauvegarde PVE]",
        "sep": f"{NNBSP}:",
        "not_covered": ("{n} non couvert", "{n} non couverts"),
        "failed": ("{n} en échec", "{n} en échec"),
        "stale": ("{n} périmé", "{n} périmés"),
        "other": ("{n} autre avertissement", "{n} autres avertissements"),
        "anomalies": ("{n} anomalie critique", "{n} anomalies critiques"),
        "ok": ("{n} OK", "{n} OK"),
        "unknown": "INCONNU",
    },
}


def _plural(lang: str, key: str, n: int) -> str:
    """The CLDR plural form (Babel): French 0 and 1 are singular, English only 1."""
    one, many = _SUBJECT[lang][key]
    return (one if plural_form(lang, n) == "one" else many).format(n=n)


def _one_line(text: str) -> str:
    """Header-safe: no control characters (a CR/LF in a cluster name must not add headers)."""
    return "".join(" " if ord(c) < 32 or 0x7F <= ord(c) <= 0x9F else c for c in text).strip()


def subject(report: Report, lang: str | None = None) -> str:
    """`[PVE backup] cluster1: 2 not covered, 1 failed, 97 OK`; when the cluster could not be
    read, `[PVE backup] cluster1: UNKNOWN — <cause>` instead of counts.

    Zero counts are left out except OK. `failed` and `stale` are only counted when evidence
    was collected. `other warnings` are guests that need attention for another reason only
    (indeterminate, excluded without opt-out tag, non-PBS target, unknown last result), so
    the reader knows the counts that are shown are not the whole story. A guest can be both
    failed and stale, so the numbers need not add up to the total.
    """
    lang = lang or report.lang
    if lang not in _SUBJECT:
        raise ValueError(f"unsupported report language {lang!r}; use one of {LANGUAGES}")
    words = _SUBJECT[lang]
    if report.unknown_cause is not None:  # never counts that would read as an all-clear
        return _one_line(
            f"{words['prefix']} {cluster_label(report)}{words['sep']} "
            f"{words['unknown']} — {report.unknown_cause}"
        )
    s = report.summary
    other, ok = s.other, s.ok  # counts.py defines both
    counts = [
        ("not_covered", s.not_covered),
        ("failed", s.last_failed or 0),
        ("stale", s.stale or 0),
        ("other", other),
    ]
    parts = [_plural(lang, key, n) for key, n in counts if n]
    parts.append(_plural(lang, "ok", ok))
    if s.anomalies_critical:
        parts.append(_plural(lang, "anomalies", s.anomalies_critical))
    return _one_line(f"{words['prefix']} {cluster_label(report)}{words['sep']} {', '.join(parts)}")


def _utf8_safe(text: str) -> str:
    """Lone surrogates (possible in JSON from the API) cannot be encoded; replace them."""
    return text.encode("utf-8", "replace").decode("utf-8")


def _attach(message: EmailMessage, path: Path) -> None:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MailDeliveryError(
            f"cannot attach {path.name}: {exc.strerror or type(exc).__name__}"
        ) from None
    ctype, encoding = mimetypes.guess_type(path.name)
    if ctype is None or encoding is not None:
        ctype = "application/octet-stream"
    maintype, subtype = ctype.split("/", 1)
    message.add_attachment(data, maintype=maintype, subtype=subtype, filename=path.name)


def build_message(
    report: Report, attachments: Sequence[Path], lang: str | None = None
) -> EmailMessage:
    """The digest: subject with the counts, text and inline-styled HTML alternatives (status
    and why, counts, what needs attention, changes since the previous report), the report
    files attached (PDF, and CSV/JSON if given). From/To are filled in by `send`.

    `lang` (default: the report's) chooses the subject's and the bodies' labels; explanations
    inside the report stay in the language the report was built in.
    """
    lang = lang or report.lang
    body_report = report if lang == report.lang else replace(report, lang=lang)
    message = EmailMessage()
    message["Subject"] = subject(report, lang)
    message["Date"] = format_datetime(report.generated_at)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    message["X-Mailer"] = f"pve-backup-report {report.tool_version}"
    text = render_digest_text(body_report)
    message.set_content(_utf8_safe(text), subtype="plain", charset="utf-8")
    html = render_digest_html(body_report)
    message.add_alternative(_utf8_safe(html), subtype="html", charset="utf-8")
    for path in attachments:
        _attach(message, path)
    return message


# ----------------------------------------------------------------------------- delivery


def _scrub(text: str, password: SecretStr | None) -> str:
    if password is not None:
        secret = password.get_secret_value()
        if secret:
            text = text.replace(secret, "***")
    return text


def _server_text(resp: bytes | str) -> str:
    text = resp.decode("utf-8", "replace") if isinstance(resp, bytes) else resp
    return " ".join(text.split())


def _reason(exc: BaseException) -> str:
    """One line, no traceback, no credentials (SMTP replies never echo AUTH data, but the
    text is scrubbed by the caller anyway)."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"authentication refused ({exc.smtp_code} {_server_text(exc.smtp_error)})"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return f"the server does not support a required extension: {exc}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = ", ".join(
            f"{addr} ({code} {_server_text(resp)})" for addr, (code, resp) in exc.recipients.items()
        )
        return f"all recipients refused: {refused}"
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return f"sender {exc.sender} refused ({exc.smtp_code} {_server_text(exc.smtp_error)})"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"server error {exc.smtp_code} {_server_text(exc.smtp_error)}"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return f"the server closed the connection ({exc or 'no reason given'})"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate verification failed: {exc.verify_message or exc.reason}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc.reason or exc}"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc) or type(exc).__name__
    return str(exc) or type(exc).__name__


def _tls_context(settings: MailSettings) -> ssl.SSLContext:
    cafile = str(settings.ca_bundle) if settings.ca_bundle is not None else None
    context = ssl.create_default_context(cafile=cafile)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _deliver(settings: MailSettings, message: EmailMessage, timeout: float) -> dict[str, str]:
    if settings.password is not None and settings.security == "none":
        raise MailDeliveryError("refusing to send the SMTP password without TLS")
    context = _tls_context(settings) if settings.security != "none" else None
    smtp: smtplib.SMTP
    if settings.security == "ssl":
        smtp = smtplib.SMTP_SSL(settings.host, settings.port, timeout=timeout, context=context)
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=timeout)
    with smtp:
        smtp.ehlo()
        if settings.security == "starttls":
            if not smtp.has_extn("starttls"):
                raise MailDeliveryError("the server does not offer STARTTLS (SMTP_SECURITY)")
            smtp.starttls(context=context)
            smtp.ehlo()
        if settings.user is not None and settings.password is not None:
            smtp.login(settings.user, settings.password.get_secret_value())
        refused = smtp.send_message(
            message, from_addr=settings.sender, to_addrs=list(settings.recipients)
        )
    return {addr: f"{code} {_server_text(resp)}" for addr, (code, resp) in refused.items()}


def send(settings: MailSettings, message: EmailMessage, timeout: float) -> None:
    """Deliver `message` (From, To and Message-ID are filled in when absent).

    Raises `MailDeliveryError` on any failure, including when only some recipients were
    refused (the others did receive it). Its message never contains the password.
    """
    if "From" not in message:
        message["From"] = settings.sender
    if "To" not in message:
        message["To"] = ", ".join(settings.recipients)
    if "Message-ID" not in message:
        message["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2])
    where = f"{settings.host}:{settings.port}"
    try:
        refused = _deliver(settings, message, timeout)
    except MailDeliveryError as exc:
        raise MailDeliveryError(
            _scrub(f"e-mail delivery via {where} failed: {exc}", settings.password)
        ) from None
    except (smtplib.SMTPException, OSError, ValueError) as exc:
        text = f"e-mail delivery via {where} failed: {_reason(exc)}"
        raise MailDeliveryError(_scrub(text, settings.password)) from None
    if refused:
        listed = ", ".join(f"{addr} ({why})" for addr, why in refused.items())
        raise MailDeliveryError(
            _scrub(f"e-mail via {where} delivered, but refused for: {listed}", settings.password)
        )

"""Configuration from environment variables and a `.env` file.

pydantic-settings reads the raw strings (process environment wins over the file); this module
then validates each one itself so that every bad value gives exactly one line that names the
variable and what is expected — and never echoes the value, which could be the secret.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from .api.tls import load_ca_bundle, normalize_fingerprint
from .errors import ReportError

DEFAULT_PVE_PORT = 8006
API_ROOT = "/api2/json"
TOKEN_ID_RE = re.compile(r"^[^\s@!=:]+@[A-Za-z][A-Za-z0-9.\-_]*![A-Za-z][A-Za-z0-9.\-_]*$")
MAIL_VARIABLES = (
    "SMTP_HOST",
    "SMTP_PORT",
    "SMTP_SECURITY",
    "SMTP_USER",
    "SMTP_PASSWORD",
    "SMTP_CA_BUNDLE",
    "MAIL_FROM",
    "MAIL_TO",
)
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class ConfigError(ReportError, ValueError):
    """One invalid setting: `variable` and what is expected (never the value)."""

    label = "configuration error"

    def __init__(self, variable: str, expected: str) -> None:
        self.variable = variable
        self.expected = expected
        super().__init__(f"{variable}: {expected}")


class RawSettings(BaseSettings):
    """Raw strings as found in the environment / .env file."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False, env_file=".env")

    pve_host: str | None = None
    pve_api_token_id: str | None = None
    pve_api_token_secret: SecretStr | None = None
    pve_verify_tls: str | None = None
    pve_ca_bundle: str | None = None
    pve_tls_fingerprint: str | None = None
    pve_timeout: str | None = None
    pve_max_concurrency: str | None = None
    pve_backup_jobs_endpoint: str | None = None
    pve_task_history_limit: str | None = None
    pve_task_log_limit: str | None = None
    pve_allow_insecure_http: str | None = None
    pve_task_history_days: str | None = None
    report_opt_out_tag: str | None = None
    report_language: str | None = None
    report_history_db: str | None = None
    report_history_retention_days: str | None = None
    report_config_cache_hours: str | None = None
    backup_max_age_hours: str | None = None
    backup_max_age_tags: str | None = None
    backup_max_age_pools: str | None = None
    report_min_copies: str | None = None
    report_min_copies_tags: str | None = None
    report_min_copies_pools: str | None = None
    report_offsite_lag_hours: str | None = None


@dataclass(frozen=True)
class PveSettings:
    base_urls: tuple[str, ...]
    token_id: str
    token_secret: SecretStr = field(repr=False)
    verify_tls: bool = True
    ca_bundle: Path | None = None
    fingerprint: str | None = None
    timeout: float = 30.0
    max_concurrency: int = 8
    backup_jobs_endpoint: str = "/cluster/backup"
    task_history_limit: int = 500
    task_log_limit: int = 10000
    allow_insecure_http: bool = False
    task_history_days: int | None = None


@dataclass(frozen=True)
class ReportSettings:
    language: str = "en"
    history_db: Path | None = None  # None: the default path in the user data directory
    history_retention_days: int = 400
    config_cache_hours: int = 0  # 0: read every guest config on every run
    max_age_hours: float | None = None
    max_age_tags: dict[str, float] = field(default_factory=dict)
    max_age_pools: dict[str, float] = field(default_factory=dict)
    min_copies: int | None = None  # None: the default policy (2 locations, one off-site)
    min_copies_tags: dict[str, int] = field(default_factory=dict)
    min_copies_pools: dict[str, int] = field(default_factory=dict)
    offsite_lag_hours: float = 48.0


@dataclass(frozen=True)
class Settings:
    pve: PveSettings
    opt_out_tag: str = "no-backup"
    report: ReportSettings = field(default_factory=ReportSettings)


def parse_bool(variable: str, value: str | None, default: bool) -> bool:
    if value is None or value.strip() == "":
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(variable, "expected true or false (also 1/0, yes/no, on/off)")


def parse_int(variable: str, value: str | None, default: int, low: int, high: int) -> int:
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value.strip())
    except ValueError:
        raise ConfigError(variable, f"expected a whole number from {low} to {high}") from None
    if not low <= number <= high:
        raise ConfigError(variable, f"expected a whole number from {low} to {high}")
    return number


def parse_seconds(variable: str, value: str | None, default: float) -> float:
    if value is None or value.strip() == "":
        return default
    try:
        number = float(value.strip())
    except ValueError:
        raise ConfigError(variable, "expected a number of seconds greater than 0") from None
    if not 0 < number <= 3600:
        raise ConfigError(variable, "expected a number of seconds greater than 0 (max 3600)")
    return number


def parse_host(variable: str, entry: str, default_port: int, allow_http: bool) -> str:
    """`host`, `host:port`, `[v6]:port` or an https URL -> `https://host:port/api2/json`."""
    text = entry.strip()
    expected = "expected host, host:port or https://host[:port] (comma-separated for failover)"
    if not text:
        raise ConfigError(variable, expected)
    if "://" not in text:
        text = f"https://{text}"
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ConfigError(variable, expected) from None
    if parts.scheme == "http":
        if not allow_http:
            raise ConfigError(
                variable,
                "http:// is refused: the API token must never travel in clear text (use https)",
            )
    elif parts.scheme != "https":
        raise ConfigError(variable, expected)
    host = parts.hostname
    if not host or parts.username or parts.password or parts.query or parts.fragment:
        raise ConfigError(variable, expected)
    host_part = f"[{host}]" if ":" in host else host
    path = parts.path.rstrip("/")
    if not path:
        path = API_ROOT
    elif not path.endswith(API_ROOT):
        path = path + API_ROOT
    return f"{parts.scheme}://{host_part}:{port or default_port}{path}"


def parse_hours(variable: str, value: str | None) -> float | None:
    if value is None or not value.strip():
        return None
    try:
        hours = float(value.strip())
    except ValueError:
        raise ConfigError(variable, "expected a number of hours greater than 0") from None
    if not 0 < hours <= 24 * 366:
        raise ConfigError(variable, "expected a number of hours greater than 0 (max 8784)")
    return hours


def parse_hours_map(variable: str, value: str | None) -> dict[str, float]:
    """`name=hours,name2=hours` (also `;` or spaces between pairs)."""
    result: dict[str, float] = {}
    if value is None or not value.strip():
        return result
    for pair in re.split(r"[,;\s]+", value.strip()):
        if not pair:
            continue
        name, sep, hours = pair.partition("=")
        if not sep or not name.strip():
            raise ConfigError(variable, "expected name=hours pairs, e.g. prod=26,lab=170")
        parsed = parse_hours(variable, hours)
        if parsed is None:
            raise ConfigError(variable, "expected name=hours pairs, e.g. prod=26,lab=170")
        result[name.strip()] = parsed
    return result


def parse_count_map(variable: str, value: str | None) -> dict[str, int]:
    """`name=count,name2=count` (also `;` or spaces between pairs), counts 1..10."""
    result: dict[str, int] = {}
    for pair in re.split(r"[,;\s]+", (value or "").strip()):
        if not pair:
            continue
        name, sep, count = pair.partition("=")
        if not sep or not name.strip() or not re.fullmatch(r"\d+", count.strip()):
            raise ConfigError(variable, "expected name=count pairs, e.g. prod=3,lab=1")
        result[name.strip()] = parse_int(variable, count, 2, 1, 10)
    return result


def _fingerprint(variable: str, value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    try:
        return normalize_fingerprint(value)
    except ValueError:
        raise ConfigError(
            variable, "expected a SHA-256 fingerprint like AB:CD:...(32 hex pairs)"
        ) from None


def _ca_bundle(variable: str, value: str | None) -> Path | None:
    if value is None or not value.strip():
        return None
    path = Path(value.strip()).expanduser()
    if not path.is_file():
        raise ConfigError(variable, "expected the path of a readable PEM CA bundle file")
    try:
        load_ca_bundle(path)
    except ValueError:
        raise ConfigError(
            variable, f"{path} is not a PEM CA bundle (expected -----BEGIN CERTIFICATE-----)"
        ) from None
    return path


def system_language(env: Mapping[str, str]) -> str:
    """The report language when REPORT_LANGUAGE is unset: the system locale's, as POSIX
    picks it (the first set of LC_ALL, LC_MESSAGES, LANG), French for `fr…`, else English."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = (env.get(name) or "").strip()
        if value:
            return "fr" if value.lower().startswith("fr") else "en"
    return "en"


def load_settings(env_file: Path | None = None, file_wins: bool = False) -> Settings:
    """Read and validate settings; raises ConfigError on the first bad value.

    Normally the process environment wins over the file. With several `--env-file` (one per
    cluster), `file_wins` makes each file's values win, the environment filling the gaps.
    """
    if env_file is not None and not env_file.is_file():
        raise ConfigError("--env-file", f"{env_file}: no such file")
    if file_wins and env_file is not None:
        from dotenv import dotenv_values

        names = set(RawSettings.model_fields)
        values: dict[str, object] = {
            k.lower(): v
            for k, v in dotenv_values(env_file).items()
            if v is not None and k.lower() in names
        }
        if isinstance(values.get("pve_api_token_secret"), str):
            values["pve_api_token_secret"] = SecretStr(str(values["pve_api_token_secret"]))
        raw_file = RawSettings(_env_file=None).model_copy(update=values)
        return validate(raw_file)
    raw = RawSettings(_env_file=env_file if env_file is not None else ".env")
    return validate(raw)


def validate(raw: RawSettings) -> Settings:
    allow_http = parse_bool("PVE_ALLOW_INSECURE_HTTP", raw.pve_allow_insecure_http, False)
    if not raw.pve_host or not raw.pve_host.strip():
        raise ConfigError("PVE_HOST", "required: host, host:port or https://host[:port]")
    hosts = tuple(
        parse_host("PVE_HOST", part, DEFAULT_PVE_PORT, allow_http)
        for part in raw.pve_host.split(",")
        if part.strip()
    )
    token_id = (raw.pve_api_token_id or "").strip()
    if not token_id:
        raise ConfigError("PVE_API_TOKEN_ID", "required: user@realm!tokenname")
    if not TOKEN_ID_RE.match(token_id):
        raise ConfigError("PVE_API_TOKEN_ID", "expected user@realm!tokenname")
    secret = raw.pve_api_token_secret
    if secret is None or not secret.get_secret_value().strip():
        raise ConfigError("PVE_API_TOKEN_SECRET", "required: the token's secret (a UUID)")
    if any(c.isspace() for c in secret.get_secret_value().strip()):
        raise ConfigError("PVE_API_TOKEN_SECRET", "expected a secret without spaces")
    endpoint = (raw.pve_backup_jobs_endpoint or "/cluster/backup").strip()
    if not endpoint.startswith("/") or "?" in endpoint or " " in endpoint:
        raise ConfigError("PVE_BACKUP_JOBS_ENDPOINT", "expected an API path like /cluster/backup")
    tag = (raw.report_opt_out_tag or "no-backup").strip()
    if not tag or any(c in tag for c in ",; "):
        raise ConfigError("REPORT_OPT_OUT_TAG", "expected a single tag name, e.g. no-backup")
    pve = PveSettings(
        base_urls=hosts,
        token_id=token_id,
        token_secret=SecretStr(secret.get_secret_value().strip()),
        verify_tls=parse_bool("PVE_VERIFY_TLS", raw.pve_verify_tls, True),
        ca_bundle=_ca_bundle("PVE_CA_BUNDLE", raw.pve_ca_bundle),
        fingerprint=_fingerprint("PVE_TLS_FINGERPRINT", raw.pve_tls_fingerprint),
        timeout=parse_seconds("PVE_TIMEOUT", raw.pve_timeout, 30.0),
        max_concurrency=parse_int("PVE_MAX_CONCURRENCY", raw.pve_max_concurrency, 8, 1, 64),
        backup_jobs_endpoint=endpoint.rstrip("/"),
        task_history_limit=parse_int(
            "PVE_TASK_HISTORY_LIMIT", raw.pve_task_history_limit, 500, 1, 100000
        ),
        task_log_limit=parse_int("PVE_TASK_LOG_LIMIT", raw.pve_task_log_limit, 10000, 50, 1000000),
        allow_insecure_http=allow_http,
        task_history_days=(
            parse_int("PVE_TASK_HISTORY_DAYS", raw.pve_task_history_days, 0, 1, 3660)
            if raw.pve_task_history_days and raw.pve_task_history_days.strip()
            else None
        ),
    )
    language = (raw.report_language or "").strip().lower() or system_language(os.environ)
    if language not in ("en", "fr"):
        raise ConfigError("REPORT_LANGUAGE", "expected en or fr")
    history_db = (raw.report_history_db or "").strip()
    report = ReportSettings(
        language=language,
        history_db=Path(history_db).expanduser() if history_db else None,
        history_retention_days=parse_int(
            "REPORT_HISTORY_RETENTION_DAYS", raw.report_history_retention_days, 400, 1, 36600
        ),
        config_cache_hours=parse_int(
            "REPORT_CONFIG_CACHE_HOURS", raw.report_config_cache_hours, 0, 0, 8784
        ),
        max_age_hours=parse_hours("BACKUP_MAX_AGE_HOURS", raw.backup_max_age_hours),
        max_age_tags=parse_hours_map("BACKUP_MAX_AGE_TAGS", raw.backup_max_age_tags),
        max_age_pools=parse_hours_map("BACKUP_MAX_AGE_POOLS", raw.backup_max_age_pools),
        min_copies=(
            parse_int("REPORT_MIN_COPIES", raw.report_min_copies, 2, 1, 10)
            if raw.report_min_copies and raw.report_min_copies.strip()
            else None
        ),
        min_copies_tags=parse_count_map("REPORT_MIN_COPIES_TAGS", raw.report_min_copies_tags),
        min_copies_pools=parse_count_map("REPORT_MIN_COPIES_POOLS", raw.report_min_copies_pools),
        offsite_lag_hours=parse_hours("REPORT_OFFSITE_LAG_HOURS", raw.report_offsite_lag_hours)
        or 48.0,
    )
    return Settings(pve=pve, opt_out_tag=tag, report=report)

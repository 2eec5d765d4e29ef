"""Proxmox Backup Server settings: any number of `PBS01_*`, `PBS02_*`, … blocks.

Why discovery instead of fixed names: an installation may have one backup server or several,
and adding one should only mean adding a block. The rules follow `config.py`: a bad value is a
`ConfigError` that names the variable and what is expected, never the value (it could be the
secret). A block that lacks a required variable is *skipped with a warning* instead, because
one half-written block must not stop the PVE report. Only the process environment and the
`.env` file are read; the caller merges them (`pbs_environment`).
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import dotenv_values
from pydantic import SecretStr

from .config import (
    MAIL_VARIABLES,
    TOKEN_ID_RE,
    ConfigError,
    RawSettings,
    _ca_bundle,
    _fingerprint,
    parse_bool,
    parse_host,
)

DEFAULT_PBS_PORT = 8007
BLOCK_RE = re.compile(r"^PBS(\d{2,3})_([A-Z_]+)$")
REQUIRED = ("API_URL", "API_TOKEN_ID", "API_TOKEN_SECRET")
KNOWN = frozenset(
    {
        "NAME",
        *REQUIRED,
        "VERIFY_TLS",
        "CA_BUNDLE",
        "TLS_FINGERPRINT",
        "STORAGES",
        "ALLOW_INSECURE_HTTP",
        "ALIASES",
    }
)
STORAGE_ID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9\-_.]*$")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


@dataclass(frozen=True)
class PbsSettings:
    """One validated PBS block."""

    prefix: str  # "PBS01"
    name: str
    api_url: str  # https://host:port/api2/json
    host: str  # lowercase, without brackets
    port: int
    token_id: str
    token_secret: SecretStr = field(repr=False)
    verify_tls: bool = True
    ca_bundle: Path | None = None
    fingerprint: str | None = None  # 64 lowercase hex
    storages: tuple[str, ...] = ()  # PVE storage ids explicitly served by this PBS
    allow_insecure_http: bool = False
    aliases: tuple[str, ...] = ()  # other host names (e.g. in other servers' remotes)


def pbs_environment(env_file: Path | None = None, file_wins: bool = False) -> dict[str, str]:
    """The `.env` file's values (default `./.env`, when it exists) overlaid by `os.environ`
    (or, with `file_wins` — one file per cluster — the environment overlaid by the file)."""
    path = env_file if env_file is not None else Path(".env")
    values: dict[str, str] = {}
    if path.is_file():
        values = {k: v for k, v in dotenv_values(path).items() if v is not None}
    if file_wins:
        return {**os.environ, **values}
    values.update(os.environ)
    return values


def _blocks(env: Mapping[str, str]) -> tuple[dict[str, dict[str, str]], list[str]]:
    blocks: dict[str, dict[str, str]] = {}
    warnings: list[str] = []
    for key, value in env.items():
        match = BLOCK_RE.match(key.upper())
        if not match:
            continue
        prefix, suffix = f"PBS{match.group(1)}", match.group(2)
        if suffix not in KNOWN:
            warnings.append(f"{key.upper()}: unknown PBS setting, ignored{_did_you_mean(key)}")
            continue
        blocks.setdefault(prefix, {})[suffix] = value
    return dict(sorted(blocks.items(), key=lambda kv: int(kv[0][3:]))), sorted(warnings)


def _split_url(variable: str, url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    host, port = parts.hostname, parts.port
    if not host or port is None:  # pragma: no cover - parse_host always sets both
        raise ConfigError(variable, "expected https://host[:port]")
    return host.lower(), port


def _one(prefix: str, values: Mapping[str, str], env: Mapping[str, str]) -> PbsSettings:
    def var(suffix: str) -> str:
        return f"{prefix}_{suffix}"

    fallback = env.get("PVE_ALLOW_INSECURE_HTTP")
    allow_http = parse_bool(
        var("ALLOW_INSECURE_HTTP"),
        values.get("ALLOW_INSECURE_HTTP", fallback),
        False,
    )
    raw_url = values["API_URL"].strip()
    if "," in raw_url:
        raise ConfigError(var("API_URL"), "expected one URL like https://host:8007")
    api_url = parse_host(var("API_URL"), raw_url, DEFAULT_PBS_PORT, allow_http)
    host, port = _split_url(var("API_URL"), api_url)
    token_id = values["API_TOKEN_ID"].strip()
    if not TOKEN_ID_RE.match(token_id):
        raise ConfigError(var("API_TOKEN_ID"), "expected user@realm!tokenname")
    secret = values["API_TOKEN_SECRET"].strip()
    if any(c.isspace() for c in secret):
        raise ConfigError(var("API_TOKEN_SECRET"), "expected a secret without spaces")
    name = (values.get("NAME") or "").strip()
    if name and not NAME_RE.match(name):
        raise ConfigError(var("NAME"), "expected a short name (letters, digits, . _ -)")
    name = name or host
    storages = tuple(part for part in re.split(r"[,;\s]+", values.get("STORAGES") or "") if part)
    for storage in storages:
        if not STORAGE_ID_RE.match(storage):
            raise ConfigError(var("STORAGES"), "expected comma-separated PVE storage ids")
    raw_aliases = re.split(r"[,;\s]+", values.get("ALIASES") or "")
    aliases = tuple(part.strip("[]").lower() for part in raw_aliases if part)
    for alias in aliases:
        if not re.fullmatch(r"[a-z0-9][a-z0-9.:-]*", alias):
            raise ConfigError(var("ALIASES"), "expected comma-separated host names or addresses")
    return PbsSettings(
        prefix=prefix,
        name=name,
        api_url=api_url,
        host=host,
        port=port,
        token_id=token_id,
        token_secret=SecretStr(secret),
        verify_tls=parse_bool(var("VERIFY_TLS"), values.get("VERIFY_TLS"), True),
        ca_bundle=_ca_bundle(var("CA_BUNDLE"), values.get("CA_BUNDLE")),
        fingerprint=_fingerprint(var("TLS_FINGERPRINT"), values.get("TLS_FINGERPRINT")),
        storages=storages,
        allow_insecure_http=allow_http,
        aliases=aliases,
    )


def load_pbs_settings(env: Mapping[str, str]) -> tuple[list[PbsSettings], list[str]]:
    """Discover and validate every PBS block.

    Returns the valid blocks (in number order) and warnings (unknown variables, incomplete
    blocks that were skipped). Raises `ConfigError` for an invalid value in a complete block,
    or for two blocks with the same name.
    """
    blocks, warnings = _blocks(env)
    result: list[PbsSettings] = []
    for prefix, values in blocks.items():
        present = {k: v for k, v in values.items() if v.strip()}
        if not present:
            continue
        missing = [f"{prefix}_{key}" for key in REQUIRED if key not in present]
        if missing:
            warnings.append(
                f"{prefix}: incomplete Proxmox Backup Server block skipped, missing "
                + ", ".join(missing)
            )
            continue
        result.append(_one(prefix, present, env))
    names = [s.name for s in result]
    for name in names:
        if names.count(name) > 1:
            prefix = next(s.prefix for s in reversed(result) if s.name == name)
            raise ConfigError(f"{prefix}_NAME", "expected a name different from other PBS blocks")
    return result, warnings


# Prefixes whose variables belong to this tool: a name we do not know there is a typo.
WATCHED_PREFIXES = ("PVE_", "PBS", "REPORT_", "SMTP_", "MAIL_")
# Words people write for ours (`SMTP_SERVER`), tried before spelling similarity.
_SYNONYMS = {
    "SERVER": "HOST",
    "HOSTNAME": "HOST",
    "URL": "HOST",
    "LANG": "LANGUAGE",
    "SSL": "TLS",
    "CA": "CA_BUNDLE",
    "CA_FILE": "CA_BUNDLE",
    "CA_CERT": "CA_BUNDLE",
    "FINGERPRINT": "TLS_FINGERPRINT",
    "PASS": "PASSWORD",
    "USERNAME": "USER",
    "SENDER": "FROM",
    "RECIPIENTS": "TO",
    "RECIPIENT": "TO",
}
_PBS_NUMBERED = re.compile(r"^PBS_?(\d{1,3})_(.+)$")


def known_settings() -> frozenset[str]:
    """Every variable name read outside the numbered PBS blocks."""
    return frozenset({name.upper() for name in RawSettings.model_fields} | set(MAIL_VARIABLES))


def _candidates(name: str) -> list[str]:
    if name.startswith("PBS"):
        match = _PBS_NUMBERED.match(name)
        number = int(match.group(1)) if match else 1
        return [f"PBS{number:02d}_{suffix}" for suffix in sorted(KNOWN)]
    return sorted(known_settings())


def suggestion(name: str) -> str | None:
    """The setting `name` was probably meant to be (synonym, then spelling), or None."""
    upper = name.upper()
    candidates = _candidates(upper)
    match = _PBS_NUMBERED.match(upper)
    if match:  # PBS1_API_URL, PBS_1_API_URL: the number, written another way
        padded = f"PBS{int(match.group(1)):02d}_{match.group(2)}"
        if padded in candidates:
            return padded
    words = upper.split("_")
    for size in (2, 1):
        for start in range(len(words) - size + 1):
            part = "_".join(words[start : start + size])
            if part in _SYNONYMS:
                swapped = "_".join([*words[:start], _SYNONYMS[part], *words[start + size :]])
                if swapped in candidates:
                    return swapped
    close = difflib.get_close_matches(upper, candidates, n=1, cutoff=0.75)
    return close[0] if close else None


def _did_you_mean(name: str) -> str:
    guess = suggestion(name)
    return f"; did you mean {guess}?" if guess else ""


def unknown_settings(
    file_values: Mapping[str, str | None],
    environ: Mapping[str, str],
    file_name: str = ".env",
) -> list[str]:
    """Warnings for variables under our prefixes that no setting reads: a misspelt
    `PVE_TIMOUT` would otherwise be ignored silently and the default used. Numbered PBS
    blocks are checked by `load_pbs_settings`. In the process environment, `PBS_*` names
    belong to proxmox-backup-client (PBS_REPOSITORY, PBS_PASSWORD…) and are left alone."""
    known = known_settings()
    warnings: list[str] = []
    sources = ((file_values, file_name, False), (environ, "the environment", True))
    for values, where, is_environ in sources:
        for key in sorted(values, key=str.upper):
            upper = key.upper()
            if not upper.startswith(WATCHED_PREFIXES) or upper in known:
                continue
            if BLOCK_RE.match(upper) or (is_environ and upper.startswith("PBS_")):
                continue
            warnings.append(f"{upper} (in {where}): unknown setting, ignored{_did_you_mean(upper)}")
    return warnings

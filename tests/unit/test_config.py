"""Settings validation: one line naming the variable, never the value."""

from __future__ import annotations

from pathlib import Path

import pytest

from pve_backup_report.config import ConfigError, RawSettings, load_settings, parse_host, validate

SECRET = "5ecr3t-5entinel-0000-1111"
FP = ":".join(["AB"] * 32)


def raw(**overrides: str) -> RawSettings:
    values = {
        "pve_host": "pve1.example.com",
        "pve_api_token_id": "report@pve!audit",
        "pve_api_token_secret": SECRET,
    }
    values.update(overrides)
    return RawSettings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("pve1", "https://pve1:8006/api2/json"),
        ("pve1:8443", "https://pve1:8443/api2/json"),
        ("https://pve1", "https://pve1:8006/api2/json"),
        ("https://pve1:8006/api2/json", "https://pve1:8006/api2/json"),
        ("https://pve1/proxy/", "https://pve1:8006/proxy/api2/json"),
        ("10.0.0.5", "https://10.0.0.5:8006/api2/json"),
        ("[::1]:8006", "https://[::1]:8006/api2/json"),
    ],
)
def test_host_forms(entry: str, expected: str) -> None:
    assert parse_host("PVE_HOST", entry, 8006, False) == expected


def test_comma_list_gives_failover_hosts() -> None:
    settings = validate(raw(pve_host="pve1, pve2:8007"))
    assert settings.pve.base_urls == ("https://pve1:8006/api2/json", "https://pve2:8007/api2/json")


def test_http_refused_unless_allowed() -> None:
    with pytest.raises(ConfigError) as info:
        validate(raw(pve_host="http://pve1"))
    assert info.value.variable == "PVE_HOST"
    assert "clear text" in str(info.value)
    allowed = validate(raw(pve_host="http://127.0.0.1:9000", pve_allow_insecure_http="1"))
    assert allowed.pve.base_urls == ("http://127.0.0.1:9000/api2/json",)


@pytest.mark.parametrize(
    ("field", "value", "variable"),
    [
        ("pve_verify_tls", "maybe", "PVE_VERIFY_TLS"),
        ("pve_timeout", "-1", "PVE_TIMEOUT"),
        ("pve_timeout", "abc", "PVE_TIMEOUT"),
        ("pve_max_concurrency", "0", "PVE_MAX_CONCURRENCY"),
        ("pve_max_concurrency", "eight", "PVE_MAX_CONCURRENCY"),
        ("pve_task_history_limit", "-5", "PVE_TASK_HISTORY_LIMIT"),
        ("pve_task_log_limit", "1.5", "PVE_TASK_LOG_LIMIT"),
        ("pve_tls_fingerprint", "AB:CD", "PVE_TLS_FINGERPRINT"),
        ("pve_ca_bundle", "/nonexistent/ca.pem", "PVE_CA_BUNDLE"),
        ("pve_api_token_id", "report@pve", "PVE_API_TOKEN_ID"),
        ("pve_backup_jobs_endpoint", "cluster/backup", "PVE_BACKUP_JOBS_ENDPOINT"),
        ("pve_host", "ftp://pve1", "PVE_HOST"),
        ("pve_host", "", "PVE_HOST"),
        ("pve_api_token_secret", "", "PVE_API_TOKEN_SECRET"),
    ],
)
def test_bad_values_name_the_variable(field: str, value: str, variable: str) -> None:
    with pytest.raises(ConfigError) as info:
        validate(raw(**{field: value}))
    assert info.value.variable == variable
    message = str(info.value)
    assert message.startswith(variable + ": ")
    assert "\n" not in message
    assert SECRET not in message


def test_secret_with_space_is_rejected_without_echo() -> None:
    with pytest.raises(ConfigError) as info:
        validate(raw(pve_api_token_secret=SECRET + " x"))
    assert SECRET not in str(info.value)


def test_defaults_and_liberal_booleans() -> None:
    s = validate(raw(pve_verify_tls="0", pve_tls_fingerprint=FP.lower()))
    assert s.pve.verify_tls is False
    assert s.pve.fingerprint == "ab" * 32
    assert s.pve.max_concurrency == 8
    assert s.pve.timeout == 30.0
    assert s.pve.backup_jobs_endpoint == "/cluster/backup"
    assert s.opt_out_tag == "no-backup"
    assert SECRET not in repr(s)


def test_env_file_and_environment_precedence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / "cluster.env"
    env_file.write_text(
        "PVE_HOST=from-file\nPVE_API_TOKEN_ID=a@pve!b\nPVE_API_TOKEN_SECRET=s1\nPVE_TIMEOUT=12\n"
    )
    for name in ("PVE_HOST", "PVE_API_TOKEN_ID", "PVE_API_TOKEN_SECRET", "PVE_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PVE_TIMEOUT", "7")
    settings = load_settings(env_file)
    assert settings.pve.base_urls == ("https://from-file:8006/api2/json",)
    assert settings.pve.timeout == 7.0  # the process environment wins over the file


def test_missing_env_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path / "nope.env")
    assert info.value.variable == "--env-file"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "en"),
        ({"LANG": "fr_FR.UTF-8"}, "fr"),
        ({"LANG": "fr_CA.UTF-8"}, "fr"),
        ({"LANG": "de_DE.UTF-8"}, "en"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({"LC_MESSAGES": "fr_BE", "LANG": "en_US.UTF-8"}, "fr"),  # LC_MESSAGES before LANG
        ({"LC_ALL": "en_GB.UTF-8", "LC_MESSAGES": "fr_FR"}, "en"),  # LC_ALL wins
        ({"LC_ALL": "", "LANG": "fr_FR"}, "fr"),  # empty counts as unset
    ],
)
def test_language_defaults_to_the_system_locale(
    env: dict[str, str], expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert validate(raw()).report.language == expected


def test_report_language_wins_over_the_system_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")
    assert validate(raw(REPORT_LANGUAGE="en")).report.language == "en"
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    assert validate(raw(REPORT_LANGUAGE=" FR ")).report.language == "fr"

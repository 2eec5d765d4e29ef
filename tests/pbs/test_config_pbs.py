"""PBSnn_* discovery and validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from pve_backup_report.config import ConfigError
from pve_backup_report.config_pbs import load_pbs_settings, pbs_environment

SECRET = "SENTINEL-cfg-secret-0000"


def block(n: str = "01", **extra: str) -> dict[str, str]:
    env = {
        f"PBS{n}_API_URL": "https://pbs.example.com:8007",
        f"PBS{n}_API_TOKEN_ID": "report@pbs!audit",
        f"PBS{n}_API_TOKEN_SECRET": SECRET,
    }
    env.update({f"PBS{n}_{k}": v for k, v in extra.items()})
    return env


def test_complete_block() -> None:
    (s,), warnings = load_pbs_settings(block(NAME="main", STORAGES="pbs-a, pbs-b"))
    assert warnings == []
    assert s.prefix == "PBS01" and s.name == "main"
    assert s.api_url == "https://pbs.example.com:8007/api2/json"
    assert (s.host, s.port) == ("pbs.example.com", 8007)
    assert s.token_secret.get_secret_value() == SECRET
    assert s.storages == ("pbs-a", "pbs-b")
    assert s.verify_tls is True and s.fingerprint is None
    assert SECRET not in repr(s)


def test_defaults_port_path_and_name() -> None:
    env = block(API_URL="pbs2.example.com")
    (s,), _ = load_pbs_settings(env)
    assert s.api_url == "https://pbs2.example.com:8007/api2/json"
    assert s.name == "pbs2.example.com"
    (t,), _ = load_pbs_settings(block(API_URL="https://[fd00::5]:9007/api2/json"))
    assert t.api_url == "https://[fd00::5]:9007/api2/json" and t.host == "fd00::5"


def test_several_blocks_in_number_order() -> None:
    env = {**block("02", NAME="b"), **block("01", NAME="a"), **block("10", NAME="c")}
    settings, _ = load_pbs_settings(env)
    assert [s.name for s in settings] == ["a", "b", "c"]


def test_incomplete_block_is_skipped_with_a_warning() -> None:
    env = {**block("01"), "PBS02_API_URL": "https://x:8007", "PBS02_API_TOKEN_SECRET": SECRET}
    settings, warnings = load_pbs_settings(env)
    assert [s.prefix for s in settings] == ["PBS01"]
    assert warnings == [
        "PBS02: incomplete Proxmox Backup Server block skipped, missing PBS02_API_TOKEN_ID"
    ]
    assert all(SECRET not in w for w in warnings)


def test_unknown_variable_warns() -> None:
    _, warnings = load_pbs_settings({**block(), "PBS01_API_TOKEN": SECRET})
    assert warnings == [
        "PBS01_API_TOKEN: unknown PBS setting, ignored; did you mean PBS01_API_TOKEN_ID?"
    ]


def test_blank_block_is_ignored() -> None:
    assert load_pbs_settings({"PBS03_NAME": " ", "PBS03_API_URL": ""}) == ([], [])


@pytest.mark.parametrize(
    ("extra", "variable"),
    [
        ({"API_URL": "http://pbs:8007"}, "PBS01_API_URL"),
        ({"API_URL": "ftp://pbs"}, "PBS01_API_URL"),
        ({"API_URL": "https://a:8007,https://b:8007"}, "PBS01_API_URL"),
        ({"API_TOKEN_ID": "report"}, "PBS01_API_TOKEN_ID"),
        ({"API_TOKEN_SECRET": SECRET + " x"}, "PBS01_API_TOKEN_SECRET"),
        ({"VERIFY_TLS": "maybe"}, "PBS01_VERIFY_TLS"),
        ({"TLS_FINGERPRINT": "0F:1E"}, "PBS01_TLS_FINGERPRINT"),
        ({"CA_BUNDLE": "/nonexistent/ca.pem"}, "PBS01_CA_BUNDLE"),
        ({"STORAGES": "ok,-bad"}, "PBS01_STORAGES"),
        ({"NAME": "has space"}, "PBS01_NAME"),
    ],
)
def test_bad_values_name_the_variable_not_the_value(extra: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_pbs_settings(block(**extra))
    assert info.value.variable == variable
    assert SECRET not in str(info.value)
    for value in extra.values():
        assert value not in str(info.value)


def test_http_allowed_only_when_asked() -> None:
    (s,), _ = load_pbs_settings(block(API_URL="http://pbs:8007", ALLOW_INSECURE_HTTP="true"))
    assert s.api_url == "http://pbs:8007/api2/json" and s.allow_insecure_http
    env = {**block(API_URL="http://pbs:8007"), "PVE_ALLOW_INSECURE_HTTP": "1"}
    (t,), _ = load_pbs_settings(env)
    assert t.allow_insecure_http


def test_fingerprint_normalized() -> None:
    pin = ":".join(["AB"] * 32)
    (s,), _ = load_pbs_settings(block(TLS_FINGERPRINT=pin, VERIFY_TLS="false"))
    assert s.fingerprint == "ab" * 32 and s.verify_tls is False


def test_duplicate_names_refused() -> None:
    with pytest.raises(ConfigError) as info:
        load_pbs_settings({**block("01", NAME="x"), **block("02", NAME="x")})
    assert info.value.variable == "PBS02_NAME"


def test_environment_overrides_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / "custom.env"
    env_file.write_text("PBS01_NAME=from-file\nPBS01_API_URL=https://file:8007\n")
    monkeypatch.setenv("PBS01_NAME", "from-env")
    values = pbs_environment(env_file)
    assert values["PBS01_NAME"] == "from-env"
    assert values["PBS01_API_URL"] == "https://file:8007"
    monkeypatch.chdir(tmp_path)
    assert "PBS01_API_URL" not in pbs_environment(None)  # ./.env does not exist here

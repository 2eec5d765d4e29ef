"""REPORT_MIN_COPIES* / REPORT_OFFSITE_LAG_HOURS and PBSnn_ALIASES: values and one-line errors."""

from __future__ import annotations

import pytest

from pve_backup_report.config import ConfigError, RawSettings, validate
from pve_backup_report.config_pbs import load_pbs_settings


def raw(**overrides: str) -> RawSettings:
    values = {
        "pve_host": "pve1.example.com",
        "pve_api_token_id": "report@pve!audit",
        "pve_api_token_secret": "0000-secret",
    }
    values.update(overrides)
    return RawSettings(_env_file=None, **values)  # type: ignore[arg-type]


def test_copy_policy_defaults_and_values() -> None:
    default = validate(raw()).report
    assert (default.min_copies, default.min_copies_tags, default.offsite_lag_hours) == (
        None,
        {},
        48.0,
    )
    report = validate(
        raw(
            report_min_copies="3",
            report_min_copies_tags="gold=3; lab=1",
            report_min_copies_pools="test=1",
            report_offsite_lag_hours="72",
        )
    ).report
    assert report.min_copies == 3
    assert report.min_copies_tags == {"gold": 3, "lab": 1}
    assert report.min_copies_pools == {"test": 1}
    assert report.offsite_lag_hours == 72.0


@pytest.mark.parametrize(
    ("key", "value", "variable"),
    [
        ("report_min_copies", "0", "REPORT_MIN_COPIES"),
        ("report_min_copies", "two", "REPORT_MIN_COPIES"),
        ("report_min_copies_tags", "gold", "REPORT_MIN_COPIES_TAGS"),
        ("report_min_copies_pools", "prod=x", "REPORT_MIN_COPIES_POOLS"),
        ("report_min_copies_pools", "prod=11", "REPORT_MIN_COPIES_POOLS"),
        ("report_offsite_lag_hours", "-1", "REPORT_OFFSITE_LAG_HOURS"),
    ],
)
def test_invalid_copy_policy_names_the_variable(key: str, value: str, variable: str) -> None:
    with pytest.raises(ConfigError) as caught:
        validate(raw(**{key: value}))
    assert str(caught.value).startswith(variable)
    assert "\n" not in str(caught.value)


def test_pbs_aliases() -> None:
    env = {
        "PBS01_API_URL": "https://10.0.0.5:8007",
        "PBS01_API_TOKEN_ID": "report@pbs!audit",
        "PBS01_API_TOKEN_SECRET": "x",
        "PBS01_ALIASES": "PBS01.example.com, [fd00::5]",
    }
    (settings,), warnings = load_pbs_settings(env)
    assert warnings == []
    assert settings.aliases == ("pbs01.example.com", "fd00::5")
    with pytest.raises(ConfigError) as caught:
        load_pbs_settings({**env, "PBS01_ALIASES": "bad_host!"})
    assert str(caught.value).startswith("PBS01_ALIASES")

"""Misspelt variables are named with a suggestion instead of being ignored silently."""

from __future__ import annotations

import pytest

from pve_backup_report.config_pbs import suggestion, unknown_settings


@pytest.mark.parametrize(
    ("name", "meant"),
    [
        ("PVE_VERIFY_SSL", "PVE_VERIFY_TLS"),
        ("PVE_TIMOUT", "PVE_TIMEOUT"),
        ("REPORT_LANG", "REPORT_LANGUAGE"),
        ("SMTP_SERVER", "SMTP_HOST"),
        ("PBS1_API_URL", "PBS01_API_URL"),
        ("PVE_API_TOKEN", "PVE_API_TOKEN_ID"),
        ("pve_timout", "PVE_TIMEOUT"),
        ("MAIL_RECIPIENTS", "MAIL_TO"),
        ("PVE_COFFEE_MACHINE", None),
    ],
)
def test_suggestion(name: str, meant: str | None) -> None:
    assert suggestion(name) == meant


def test_unknown_settings_in_file_and_environment() -> None:
    file_values = {
        "PVE_HOST": "pve1",
        "pve_timout": "10",
        "SMTP_SERVER": "mail",
        "PBS01_API_URL": "pbs",  # a numbered block: checked by load_pbs_settings
        "OTHER_TOOL_SETTING": "x",  # not our prefix
    }
    environ = {
        "PBS_REPOSITORY": "root@pam@pbs:store",  # proxmox-backup-client's own variable
        "PBS1_API_URL": "pbs",
        "REPORT_LANG": "fr",
        "PATH": "/usr/bin",
        "MAIL_TO": "ops@example.com",
    }
    assert unknown_settings(file_values, environ, "/etc/pbr.env") == [
        "PVE_TIMOUT (in /etc/pbr.env): unknown setting, ignored; did you mean PVE_TIMEOUT?",
        "SMTP_SERVER (in /etc/pbr.env): unknown setting, ignored; did you mean SMTP_HOST?",
        "PBS1_API_URL (in the environment): unknown setting, ignored; did you mean PBS01_API_URL?",
        "REPORT_LANG (in the environment): unknown setting, ignored; did you mean REPORT_LANGUAGE?",
    ]


def test_every_variable_the_code_reads_is_known() -> None:
    """A setting read somewhere but missing from the known names would be warned about as a
    typo: the mail settings are read by name in outputs/mail.py."""
    import inspect
    import re

    from pve_backup_report.config_pbs import known_settings
    from pve_backup_report.outputs import mail

    read = set(re.findall(r'_get\(env, "([A-Z_]+)"\)', inspect.getsource(mail)))
    assert read and read <= known_settings()

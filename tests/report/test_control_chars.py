"""Control characters never leave the tool (issue 11, item 7).

The collectors strip them when PVE values enter the model (`collect.parse.as_str`); every
renderer strips them again as a safety net, which these tests exercise by putting hostile
strings straight into the report model, bypassing the collectors.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import replace

import pytest

from pve_backup_report.collect.parse import as_str, split_list, split_tags
from pve_backup_report.outputs.nagios import nagios_output, parse_thresholds
from pve_backup_report.outputs.prometheus import prometheus_text, safe_label_value
from pve_backup_report.report.model import Report
from pve_backup_report.report.render_csv import render_csv
from pve_backup_report.report.render_html import render_html
from pve_backup_report.report.render_json import render_json
from pve_backup_report.report.render_md import render_md
from pve_backup_report.report.render_text import render_text
from pve_backup_report.report.safe_text import visible
from pve_backup_report.sanitize import strip_controls, strip_controls_deep

from .scenario import build

# NUL, BEL, ESC (a terminal title sequence), DEL, a C1 control (NEL) and a vertical tab
HOSTILE_NAME = "evil\x00vm\x07\x1b]0;pwned\x07\x7f\x85\x0b"
HOSTILE_NOTES = "line1\x1b[2J\x00\r\nline2\x07\tend\x9b"
ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _controls(text: str, allowed: str) -> set[str]:
    return {c for c in ANY_CONTROL.findall(text) if c not in allowed}


def _hostile_report() -> Report:
    report = build()
    target = report.attention[0]  # listed by every format, the short ones included
    guests = tuple(
        replace(g, name=HOSTILE_NAME, notes=HOSTILE_NOTES, node="pve\x1b1")
        if g.vmid == target
        else g
        for g in report.guests
    )
    cluster = replace(report.cluster, name="clu\x00ster\x1b", label="clu\x00ster\x1b")
    return replace(report, guests=guests, cluster=cluster)


def _named(name: str) -> Report:
    report = build()
    return replace(report, guests=tuple(replace(g, name=name) for g in report.guests[:1]))


def test_strip_controls_keeps_only_what_is_asked() -> None:
    assert strip_controls(HOSTILE_NAME) == "evilvm]0;pwned"
    assert strip_controls(HOSTILE_NOTES, "\t\n") == "line1[2J\nline2\tend"
    assert strip_controls("a\tb\nc") == "abc"
    assert strip_controls("é ß 名 \u00a0") == "é ß 名 \u00a0"  # printable non-ASCII stays
    assert strip_controls_deep({"k\x00": ["a\x07", ("b\x1b",), 3]}) == {"k": ["a", ("b",), 3]}


def test_collectors_strip_controls_when_values_enter_the_model() -> None:
    assert as_str(HOSTILE_NAME) == "evilvm]0;pwned"
    assert as_str(HOSTILE_NOTES) == "line1[2J\nline2\tend"
    assert as_str("\x00\x07\x1b") is None  # nothing left: absent, not an empty name
    assert split_tags("prod;w\x1beb\x07") == ("prod", "web")
    assert split_list(["a\x00", "\x07"]) == ("a",)


@pytest.mark.parametrize(
    ("render", "allowed"),
    [
        (render_html, "\t\n\r"),
        (lambda r: render_html(r, "email"), "\t\n\r"),
        (render_csv, "\t\n\r"),
        (render_md, "\t\n"),
        (render_text, "\t\n"),
        (lambda r: prometheus_text(r, 1.0, 1), "\n"),
        (lambda r: nagios_output(r, parse_thresholds())[0], "\n"),
    ],
    ids=["html", "email", "csv", "md", "text", "prometheus", "nagios"],
)
def test_every_renderer_strips_controls(render: object, allowed: str) -> None:
    assert callable(render)
    out = render(_hostile_report())
    assert _controls(out, allowed) == set()
    assert "evilvm" in out  # the readable part stays (markdown escapes the bracket)


def test_json_strings_decode_without_controls() -> None:
    data = json.loads(render_json(_hostile_report()))
    guest = next(g for g in data["guests"] if g["vmid"] == data["attention"][0])
    assert guest["name"] == "evilvm]0;pwned"
    assert guest["notes"] == "line1[2J\nline2\tend"
    assert guest["node"] == "pve1"
    assert data["cluster"]["name"] == "cluster"


def test_csv_cell_keeps_the_name_readable() -> None:
    report = _hostile_report()
    rows = list(csv.DictReader(io.StringIO(render_csv(report))))
    assert {r["name"] for r in rows if r["vmid"] == str(report.attention[0])} == {"evilvm]0;pwned"}


def test_prometheus_label_and_terminal_text() -> None:
    # control characters removed, the newline kept for the library to escape
    assert safe_label_value('a\x00"b\x1b\n') == 'a"b\n'
    assert 'name="a\\"b\\n"' in prometheus_text(_named('a\x00"b\x1b\n'), 1.0, 1)
    assert visible("a\x1b[31mb\u202ec") == "a[31mb\\u202ec"
    assert visible("x\ny") == "x y"


def test_mail_digest_has_no_controls() -> None:
    from pve_backup_report.outputs.mail import build_message

    message = build_message(_hostile_report(), [])
    assert _controls(str(message["Subject"]), "") == set()
    parts = [p.get_content() for p in message.walk() if p.get_content_maintype() == "text"]
    assert parts and all(_controls(text, "\t\n\r") == set() for text in parts)
    assert any("evilvm" in text for text in parts)

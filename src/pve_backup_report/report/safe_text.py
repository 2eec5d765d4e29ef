"""Neutralise hostile characters in plain-text outputs (terminal, Markdown, Nagios).

Why: guest names, tags and notes are typed by anyone with VM.Config rights. In a terminal an
ESC sequence can rewrite the screen or the title; bidi overrides (U+202E…) can make a name read
backwards. HTML escaping does not help there. Control characters are removed (see
`sanitize`); bidi controls, which are legitimate in right-to-left text but can disguise a
name, are shown as visible `\\uXXXX` escapes.
"""

from __future__ import annotations

import re

from ..sanitize import strip_controls

_BIDI = re.compile(r"[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible(text: str, keep_newlines: bool = False) -> str:
    if not keep_newlines:
        text = text.replace("\r\n", " ").replace("\r", " ").replace("\n", " ")
    out = strip_controls(text, "\t\n")
    return _BIDI.sub(lambda m: f"\\u{ord(m.group()):04x}", out)


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"

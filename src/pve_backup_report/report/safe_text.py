"""Neutralise hostile characters in plain-text outputs (terminal, Markdown, CSV).

Why: guest names, tags and notes are typed by anyone with VM.Config rights. In a terminal an
ESC sequence can rewrite the screen or the title; bidi overrides (U+202E…) can make a name read
backwards. HTML escaping does not help there, so control and bidi-control characters are shown
as visible `\\uXXXX` escapes instead.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible(text: str, keep_newlines: bool = False) -> str:
    out = _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    if not keep_newlines:
        out = out.replace("\r", " ").replace("\n", " ")
    return out


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"

"""Control characters never leave the tool.

Why: guest names, notes, tags, pool and storage names are typed by anyone with VM.Config
rights and reach HTML, CSV, Prometheus labels, Markdown, the terminal and e-mail. A raw NUL
truncates strings in C consumers, BEL rings the on-call terminal, ESC rewrites it, DEL and the
C1 range confuse parsers. They are stripped once, when PVE/PBS values are normalised into the
model (`collect.parse.as_str`), and again by each renderer as a safety net for anything built
elsewhere. Tab and newline are the only controls kept, and only where the format allows them
(multi-line notes); this module imports nothing from the project so every layer can use it.
"""

from __future__ import annotations

import re
from typing import Any

# C0 (U+0000–U+001F), DEL (U+007F) and C1 (U+0080–U+009F)
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
KEEP_LINES = "\t\n"


def strip_controls(text: str, keep: str = "") -> str:
    """`text` without C0/C1 control characters and DEL, except those listed in `keep`
    (e.g. `KEEP_LINES`). CR LF becomes LF when LF but not CR is kept, so Windows notes keep
    their lines."""
    if _CONTROLS.search(text) is None:  # nearly always: no copy, no per-match callback
        return text
    if "\n" in keep and "\r" not in keep:
        text = text.replace("\r\n", "\n")
    return _CONTROLS.sub(lambda m: m.group() if m.group() in keep else "", text)


def strip_controls_deep(value: Any, keep: str = KEEP_LINES) -> Any:
    """The same, applied to every string (keys too) inside dicts, lists and tuples."""
    if isinstance(value, str):
        return strip_controls(value, keep)
    if isinstance(value, dict):
        return {
            strip_controls_deep(k, keep): strip_controls_deep(v, keep) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(strip_controls_deep(v, keep) for v in value)
    return value

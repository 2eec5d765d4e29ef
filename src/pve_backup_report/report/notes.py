"""PVE notes are Markdown written by users: render a small safe subset, never raw HTML.

Why not a Markdown library: they pass inline HTML through by default, and links invite
`javascript:` URLs. Here the text is escaped first, then only **bold**, *italic*, `code`,
list bullets and line breaks are re-introduced as tags we write ourselves. Headings lose their
`#`, links show their text and address as plain text.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

_CODE = re.compile(r"`([^`\n]{1,200})`")
_BOLD = re.compile(r"\*\*([^*\n]{1,500})\*\*")
_ITALIC = re.compile(r"(?<![\w*])\*([^*\n]{1,500})\*(?![\w*])")
_LINK = re.compile(r"\[([^\]\n]{0,200})\]\(([^)\s]{0,500})\)")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+", re.MULTILINE)
_BULLET = re.compile(r"^\s{0,3}[-*+]\s+", re.MULTILINE)


def notes_plain(text: str | None, limit: int = 600) -> str | None:
    """Markdown reduced to plain text (for CSV, Markdown tables and the terminal)."""
    if text is None or not text.strip():
        return None
    out = _LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})", text.strip())
    out = _HEADING.sub("", out)
    out = _BULLET.sub("• ", out)
    return out if len(out) <= limit else out[: limit - 1] + "…"


def notes_html(text: str | None, limit: int = 600) -> Markup | None:
    plain = notes_plain(text, limit)
    if plain is None:
        return None
    html = str(escape(plain))
    html = _CODE.sub(r"<code>\1</code>", html)
    html = _BOLD.sub(r"<strong>\1</strong>", html)
    html = _ITALIC.sub(r"<em>\1</em>", html)
    html = html.replace("\n", "<br>")
    return Markup(html)  # noqa: S704 - built only from escaped text and our own tags

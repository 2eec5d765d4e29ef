"""Liberal parsing of PVE's loosely typed JSON values.

PVE returns whatever its Perl scalars hold: booleans as 1/0/""/"1"/missing, numbers as
strings, lists as strings with any `split_list` separator. These helpers accept all of it and
return `None` (not a guess) when a value is absent or unusable, so callers can report oddities.
"""

from __future__ import annotations

import re
from typing import Any

from ..sanitize import KEEP_LINES, strip_controls

_SPLIT_RE = re.compile(r"[,;\s\x00]+")
VMID_RE = re.compile(r"^[1-9][0-9]{2,8}$")


def as_bool(value: Any, default: bool | None = None) -> bool | None:
    """1/0, "1"/"0", true/false, ""(false), None(default)."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off", ""):
            return False
    return default


def as_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            try:
                return int(float(text))
            except ValueError:
                return None
    return None


def as_float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def as_str(value: Any) -> str | None:
    """A non-empty string without control characters (tab and newline kept), or None.
    Numbers are rendered as text."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        text = strip_controls(value, KEEP_LINES)
        return text if text.strip() else None
    return None


def split_list(value: Any) -> tuple[str, ...]:
    """PVE's `split_list`: comma, semicolon, whitespace or NUL; also accepts JSON lists."""
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        items = (strip_controls(str(v)).strip() for v in value)
        return tuple(item for item in items if item)
    text = str(value)
    return tuple(strip_controls(part) for part in _SPLIT_RE.split(text) if strip_controls(part))


def split_vmids(value: Any) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """Split a VMID list into valid ids (deduplicated, sorted) and tokens that are not ids.

    PVE strips leading zeros with int() and drops 0 (pve-api.md §2); we do the same.
    """
    ids: set[int] = set()
    invalid: list[str] = []
    for token in split_list(value):
        if token.isdigit():
            number = int(token)
            if number == 0:
                continue
            ids.add(number)
        else:
            invalid.append(token)
    return tuple(sorted(ids)), tuple(invalid)


def split_tags(value: Any) -> tuple[str, ...]:
    """Guest tags are stored `;`-separated; accept any list separator."""
    return tuple(t for t in split_list(value) if t)


def parse_property_string(value: Any) -> dict[str, str]:
    """`keep-daily=7,keep-weekly=4` or an object -> {key: str(value)}."""
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items() if v is not None}
    if not isinstance(value, str):
        return {}
    result: dict[str, str] = {}
    for part in value.split(","):
        if "=" in part:
            key, _, val = part.partition("=")
            if key.strip():
                result[key.strip()] = val.strip()
        elif part.strip():
            result[part.strip()] = "1"
    return result

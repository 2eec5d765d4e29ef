"""Translations and locale formatting for the human report formats (English, French).

Why hand-rolled: two languages, a few dozen formats, and no locale database on servers (the
`locale` module depends on what the OS generated). One JSON catalogue per language, flat
dotted keys, `{placeholder}` parameters; a test checks both catalogues have the same keys and
the same placeholders. Unknown keys raise, so a typo fails a test instead of a report.
"""

from __future__ import annotations

import json
import string
from datetime import datetime, tzinfo
from functools import cache
from importlib import resources

LANGUAGES = ("en", "fr")
NNBSP = "\u202f"  # narrow no-break space: French thousands separator, before ; : ! ? and units


@cache
def catalogue(lang: str) -> dict[str, str]:
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported report language {lang!r}; use one of {', '.join(LANGUAGES)}")
    text = (resources.files("pve_backup_report.report") / "i18n" / f"{lang}.json").read_text(
        encoding="utf-8"
    )
    data = json.loads(text)
    return {str(k): str(v) for k, v in data.items() if not str(k).startswith("_")}


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


class Translator:
    """Labels and formatted values for one language."""

    def __init__(self, lang: str, tz: tzinfo | None = None) -> None:
        self.lang = lang
        self.tz = tz
        self._cat = catalogue(lang)

    def t(self, key: str, **params: object) -> str:
        text = self._cat[key]
        return text.format(**params) if params or "{" in text else text

    def has(self, key: str) -> bool:
        return key in self._cat

    # ----------------------------------------------------------------- numbers
    def number(self, value: float, digits: int = 0) -> str:
        text = f"{value:,.{digits}f}"
        if self.lang == "fr":
            text = text.replace(",", NNBSP).replace(".", ",")
        return text

    def percent(self, part: int, total: int) -> str:
        value = 100.0 * part / total if total else 0.0
        unit = f"{NNBSP}%" if self.lang == "fr" else "%"
        return self.number(value, 0 if value in (0.0, 100.0) else 1) + unit

    def pct(self, value: float, digits: int = 1) -> str:
        """An already computed percentage (`87.5` → `87.5%`, French `87,5 %`)."""
        unit = f"{NNBSP}%" if self.lang == "fr" else "%"
        return self.number(value, 0 if value in (0.0, 100.0) else digits) + unit

    def size(self, size_bytes: int | None) -> str | None:
        if size_bytes is None:
            return None
        units = ("B", "KiB", "MiB", "GiB", "TiB", "PiB") if self.lang == "en" else (
            "o", "Kio", "Mio", "Gio", "Tio", "Pio"
        )  # fmt: skip
        value, unit = float(size_bytes), 0
        while value >= 1024 and unit < len(units) - 1:
            value, unit = value / 1024, unit + 1
        digits = 0 if unit == 0 else 1
        return f"{self.number(value, digits)}{NNBSP if self.lang == 'fr' else ' '}{units[unit]}"

    # ----------------------------------------------------------------- time
    def _local(self, value: datetime) -> datetime:
        return value.astimezone(self.tz) if self.tz is not None else value

    def date(self, value: datetime) -> str:
        value = self._local(value)
        return value.strftime("%d/%m/%Y" if self.lang == "fr" else "%Y-%m-%d")

    def time(self, value: datetime) -> str:
        return self._local(value).strftime("%H:%M")

    def datetime(self, value: datetime | None, with_zone: bool = False) -> str | None:
        if value is None:
            return None
        local = self._local(value)
        text = f"{self.date(local)} {local.strftime('%H:%M')}"
        if with_zone:
            text += f" {zone_label(local)}"
        return text

    def duration(self, seconds: float | None) -> str | None:
        if seconds is None:
            return None
        total = round(seconds)
        hours, rest = divmod(total, 3600)
        minutes, secs = divmod(rest, 60)
        if hours:
            return f"{hours}{NNBSP}h{NNBSP}{minutes:02d}{NNBSP}min"
        if minutes:
            return f"{minutes}{NNBSP}min{NNBSP}{secs:02d}{NNBSP}s"
        return f"{secs}{NNBSP}s"

    def age(self, hours: float | None) -> str | None:
        if hours is None:
            return None
        if hours < 1:
            return self.t("unit.minutes", n=self.number(max(hours * 60, 0)))
        if hours < 48:
            return self.t("unit.hours", n=self._short(hours))
        return self.t("unit.days", n=self._short(hours / 24))

    def _short(self, value: float) -> str:
        """One decimal below 10 when it says something (1.5 h), none otherwise (5 h, 36 h)."""
        if value < 10 and abs(value - round(value)) >= 0.05:
            return self.number(value, 1)
        return self.number(value)


def zone_label(value: datetime) -> str:
    """`UTC`, `CET (UTC+01:00)` …: the name alone can be ambiguous, the offset never is."""
    offset = value.strftime("%z")
    pretty = f"UTC{offset[:3]}:{offset[3:]}" if offset else ""
    name = value.tzname() or ""
    if not offset or offset == "+0000":
        return "UTC" if name in ("", "UTC") else f"{name} (UTC)"
    if not name or name.startswith(("UTC", "+", "-")):
        return pretty
    return f"{name} ({pretty})"


def t(key: str, lang: str = "en", **params: object) -> str:
    """Translate one key (convenience for callers without a `Translator`)."""
    return Translator(lang).t(key, **params)

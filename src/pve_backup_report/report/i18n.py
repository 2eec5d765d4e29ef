"""Translations and locale formatting for the human report formats (English, French).

Why hand-rolled: two languages, a few dozen formats, and no locale database on servers (the
`locale` module depends on what the OS generated). One JSON catalogue per language, flat
dotted keys, `{placeholder}` parameters; a test checks both catalogues have the same keys and
the same placeholders. Unknown keys raise, so a typo fails a test instead of a report.
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from datetime import datetime, tzinfo
from functools import cache
from importlib import resources

from babel import Locale

LANGUAGES = ("en", "fr")
ANOMALY_MSG = "anomaly.msg."  # + code (+ ".variant"): an anomaly's message from its details
ANOMALY_PART = "anomaly.part."  # + code + ".part": clauses appended after the message
NNBSP = "\u202f"  # narrow no-break space: French thousands separator, before ; : ! ? and units


@cache
def _locale(lang: str) -> Locale:
    return Locale.parse(lang)


def plural_form(lang: str, n: int) -> str:
    """CLDR plural category (`one`, `other`, `many` …) of `n` in `lang`."""
    return str(_locale(lang).plural_form(n))


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

    def plural(self, key: str, n: int, **params: object) -> str:
        """`key.one` / `key.other` (and `key.many` where the language has it) chosen by the
        language's CLDR plural rule (French: 0 and 1 are singular), with `{n}` formatted."""
        form = plural_form(self.lang, n)
        chosen = f"{key}.{form}" if f"{key}.{form}" in self._cat else f"{key}.other"
        return self.t(chosen, n=self.number(n), **params)

    def punct(self, mark: str) -> str:
        """`:` `;` `?` `!` as the language writes them (French: narrow no-break space before)."""
        return f"{NNBSP}{mark}" if self.lang == "fr" and mark in ":;?!" else mark

    # ----------------------------------------------------------------- anomalies
    def anomaly(self, code: str, message: str, details: Mapping[str, object]) -> str:
        """An anomaly's message in the report's language.

        English keeps the analysis' own message verbatim. Otherwise the catalogue's
        `anomaly.msg.<code>` (or a `anomaly.msg.<code>.<variant>`) whose placeholders are all
        present (not None) in `details` is used, the one with the most placeholders winning;
        with none usable, or a value that does not format, the English `message` is shown.
        """
        if self.lang == "en":
            return message
        text = self._anomaly_text(code, details)
        return message if text is None else text

    def anomaly_parts(self, code: str, details: Mapping[str, object]) -> str | None:
        """The `anomaly.part.<code>.*` clauses usable with `details`, joined (None: none)."""
        prefix = f"{ANOMALY_PART}{code}."
        parts = [
            text
            for key in sorted(k for k in self._cat if k.startswith(prefix))
            if (text := self._format_details(key, details)) is not None
        ]
        return f"{NNBSP if self.lang == 'fr' else ''}; ".join(parts) or None

    def _anomaly_text(self, code: str, details: Mapping[str, object]) -> str | None:
        base = f"{ANOMALY_MSG}{code}"
        keys = [base] if base in self._cat else []
        keys += sorted(k for k in self._cat if k.startswith(base + "."))
        present = {k for k, v in details.items() if v is not None}
        best: tuple[int, str] | None = None
        for key in keys:
            names = placeholders(self._cat[key])
            if names <= present and (best is None or len(names) > best[0]):
                best = (len(names), key)
        if best is None:
            return None
        text = self._format_details(best[1], details)
        if text is None or not any(k.startswith(f"{ANOMALY_PART}{code}.") for k in self._cat):
            return text
        parts = self.anomaly_parts(code, details)
        if parts is None:
            return None  # the clauses carry the substance: better English than half a sentence
        return f"{text}{NNBSP if self.lang == 'fr' else ''}: {parts}"

    def _format_details(self, key: str, details: Mapping[str, object]) -> str | None:
        text = self._cat[key]
        names = placeholders(text)
        if any(details.get(name) is None for name in names):
            return None
        values = {name: _DetailValue(self, name, details[name]) for name in names}
        try:
            return text.format(**values)
        except (KeyError, ValueError, IndexError, TypeError, OverflowError):
            return None

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


class _DetailValue:
    """One anomaly detail as a message parameter.

    Format specs: `{when:datetime}` and `{when:date}` for ISO timestamps, `{hours:n}` for a
    number in the report's notation. A value with an `anomaly.val.<name>.<value>` entry (for
    booleans `true`/`false`) is replaced by that wording; a verdict by its label.
    """

    def __init__(self, tr: Translator, name: str, value: object) -> None:
        self.tr, self.name, self.value = tr, name, value

    def __format__(self, spec: str) -> str:
        value = self.value
        if spec in ("datetime", "date"):
            if not isinstance(value, str):
                raise ValueError(f"{self.name} is not a timestamp")
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is None:
                raise ValueError(f"{self.name} has no time zone")
            shown = self.tr.date(moment) if spec == "date" else self.tr.datetime(moment, True)
            return shown or ""
        if spec == "n":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{self.name} is not a number")
            return self.tr._short(float(value))
        if spec:
            raise ValueError(f"unknown format {spec!r}")
        word = "true" if value is True else "false" if value is False else str(value)
        for key in (f"anomaly.val.{self.name}.{word}", f"{self.name}.{word}"):
            if (key.startswith("anomaly.val.") or self.name == "verdict") and self.tr.has(key):
                return self.tr.t(key)
        return word


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

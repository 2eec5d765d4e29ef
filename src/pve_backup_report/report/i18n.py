"""Translations and locale formatting for the human report formats (English, French).

Why Babel for numbers, dates, durations and plural rules: it ships CLDR's locale data with the
package, so a server whose OS generated no locale (the `locale` module's weak point) still
writes `1 234,5`, `1,5 heure` and "0 invité" (French: 0 and 1 are singular) correctly. The
wording itself is ours: one JSON catalogue per language, flat dotted keys, `{placeholder}`
parameters, plural forms as `key.one` / `key.other`; a test checks both catalogues have the
same keys and the same placeholders. Unknown keys raise, so a typo fails a test instead of a
report.
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from datetime import datetime, tzinfo
from functools import cache
from importlib import resources
from typing import Literal

from babel import Locale
from babel.dates import format_datetime
from babel.numbers import format_decimal
from babel.units import format_unit

LANGUAGES = ("en", "fr")
ANOMALY_MSG = "anomaly.msg."  # + code (+ ".variant"): an anomaly's message from its details
ANOMALY_PART = "anomaly.part."  # + code + ".part": clauses appended after the message
NNBSP = "\u202f"  # narrow no-break space: French thousands separator, before ; : ! ? and units
NBSP = "\u00a0"  # no-break space: keeps a time and its zone on one line


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
        """Grouped digits in the language's notation (Babel/CLDR: `1,234.5`, `1 234,5`)."""
        pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
        return str(format_decimal(value, format=pattern, locale=_locale(self.lang)))

    def percent(self, part: int, total: int) -> str:
        value = 100.0 * part / total if total else 0.0
        return self.pct(value)

    def pct(self, value: float, digits: int = 1) -> str:
        """An already computed percentage (`87.5` → `87.5%`, French `87,5 %`)."""
        unit = f"{NNBSP}%" if self.lang == "fr" else "%"
        return self.number(value, 0 if value in (0.0, 100.0) else digits) + unit

    def size(self, size_bytes: int | None) -> str | None:
        """Binary multiples (KiB … / Kio …): CLDR has no IEC units, the number is Babel's."""
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

    def _format(self, value: datetime, pattern: str) -> str:
        local = self._local(value)
        return str(format_datetime(local, pattern, tzinfo=local.tzinfo, locale=_locale(self.lang)))

    def date(self, value: datetime) -> str:
        return self._format(value, _DATE[self.lang])

    def time(self, value: datetime) -> str:
        return self._format(value, "HH:mm")

    def datetime_z(self, value: datetime | None) -> str | None:
        """Date, time and a short zone (`2025-11-26 20:00 UTC`, `26/11/2025 21:00 CET`)."""
        if value is None:
            return None
        return f"{self.datetime(value)}{NBSP}{short_zone(self._local(value))}"

    def datetime(self, value: datetime | None, with_zone: bool = False) -> str | None:
        """Date and time in the report's zone; `with_zone` adds the zone's label (UTC, CET
        (UTC+01:00)), `short_zone` for tables (a time never goes without its zone)."""
        if value is None:
            return None
        text = self._format(value, f"{_DATE[self.lang]} HH:mm")
        if with_zone:
            text += f" {zone_label(self._local(value))}"
        return text

    def duration(self, seconds: float | None) -> str | None:
        """`1 hr 2 min`, `2 min 5 sec`, `45 sec` (French `1 h 2 min` …), Babel's units."""
        if seconds is None:
            return None
        total = round(seconds)
        hours, rest = divmod(total, 3600)
        minutes, secs = divmod(rest, 60)
        if hours:
            parts = [(hours, "duration-hour"), (minutes, "duration-minute")]
        elif minutes:
            parts = [(minutes, "duration-minute"), (secs, "duration-second")]
        else:
            parts = [(secs, "duration-second")]
        return " ".join(self._unit(value, unit, "short") for value, unit in parts)

    def age(self, hours: float | None) -> str | None:
        """`40 minutes`, `1.5 hours`, `3 days` (French `1,5 heure`, `3 jours`): CLDR plurals."""
        if hours is None:
            return None
        if hours < 1:
            return self._unit(round(max(hours * 60, 0)), "duration-minute", "long")
        if hours < 48:
            return self._unit(self._round(hours), "duration-hour", "long")
        return self._unit(self._round(hours / 24), "duration-day", "long")

    def _unit(self, value: float, unit: str, length: Literal["short", "long"]) -> str:
        return str(
            format_unit(value, unit, length=length, format="#,##0.#", locale=_locale(self.lang))
        )

    @staticmethod
    def _round(value: float) -> float:
        """One decimal below 10 when it says something (1.5 h), none otherwise (5 h, 36 h)."""
        if value < 10 and abs(value - round(value)) >= 0.05:
            return round(value, 1)
        return float(round(value))

    def _short(self, value: float) -> str:
        return self.number(self._round(value), 0 if self._round(value).is_integer() else 1)


_DATE = {"en": "yyyy-MM-dd", "fr": "dd/MM/yyyy"}


class _DetailValue:
    """One anomaly detail as a message parameter.

    Format specs: `{when:datetime}` and `{when:date}` for ISO timestamps, `{hours:n}` for a
    number in the report's notation, `{guests:p:guest|guests}` for a count and the word in
    the form the language's plural rule (CLDR, Babel) asks for. A value with an
    `anomaly.val.<name>.<value>` entry (for booleans `true`/`false`) is replaced by that
    wording; a verdict by its label.
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
        if spec.startswith("p:"):  # `{guests:p:invité sélectionné|invités sélectionnés}`
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{self.name} is not a count")
            one, _, other = spec[2:].partition("|")
            words = one if plural_form(self.tr.lang, value) == "one" else other or one
            return f"{self.tr.number(value)} {words}"
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


def report_zone(value: datetime) -> str:
    """The zone itself, not a time: `Europe/Paris, CET (UTC+01:00)` or `UTC`."""
    key = getattr(value.tzinfo, "key", None)
    label = zone_label(value)
    return label if not key or key in ("UTC", "Etc/UTC") else f"{key}, {label}"


def short_zone(value: datetime) -> str:
    """`UTC`, `CET`, `EST`; `UTC+03:00` where the zone has no letters of its own."""
    name = value.tzname() or ""
    if name.isalpha() and name.isupper():
        return name
    offset = value.strftime("%z")
    return f"UTC{offset[:3]}:{offset[3:]}" if offset and offset != "+0000" else "UTC"


def t(key: str, lang: str = "en", **params: object) -> str:
    """Translate one key (convenience for callers without a `Translator`)."""
    return Translator(lang).t(key, **params)

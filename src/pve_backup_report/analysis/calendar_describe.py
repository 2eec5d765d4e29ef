"""Short human descriptions of parsed calendar events, in English and French.

Why: Proxmox itself only ever shows the raw schedule string, which readers of a backup
report misread (``mon..fri 22`` is *not* 10 PM). The description is built from the parsed
model, never from the text, so equivalent spellings read the same and the traps are
described as Proxmox really interprets them. Exact run times are left to ``next_events``;
this wording describes the matching rule, not the overshoot quirks of unbounded steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from pve_backup_report.analysis.calendar import (
    CalendarEvent,
    FieldList,
    Range,
    Repeated,
    Single,
    field_matches,
)

__all__ = ["describe_event"]

_LIST_LIMIT = 12  # up to this many run times per day are spelled out one by one


@dataclass(frozen=True)
class _Lang:
    and_: str
    days: tuple[str, ...]
    days_plural: tuple[str, ...]
    months: tuple[str, ...]
    every_day: str
    every_second: str
    every_n_seconds: str
    every_minute: str
    every_n_minutes: str
    every_hour: str
    every_n_hours: str
    hour_at_minutes: tuple[str, str]  # singular, plural
    at_seconds: tuple[str, str]
    at: str
    from_to: str
    day_range: str
    only: str
    nth: tuple[str, str, str, str]
    nth_weekday: str
    day_of_every_month: tuple[str, str]
    every_day_in: str
    day_of_months: tuple[str, str]
    yearly_on: str
    on_date: str
    exact_date: str
    in_years: str
    year_range: str
    year_every: str
    year_until: str
    never: str


_EN = _Lang(
    and_="and",
    days=("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    days_plural=(
        "Mondays",
        "Tuesdays",
        "Wednesdays",
        "Thursdays",
        "Fridays",
        "Saturdays",
        "Sundays",
    ),
    months=(
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    every_day="every day",
    every_second="every second",
    every_n_seconds="every {n} seconds",
    every_minute="every minute",
    every_n_minutes="every {n} minutes",
    every_hour="every hour",
    every_n_hours="every {n} hours",
    hour_at_minutes=("every hour at minute {m}", "every hour at minutes {m}"),
    at_seconds=("at second {s}", "at seconds {s}"),
    at="at {t}",
    from_to="from {a} to {b}",
    day_range="{a} to {b}",
    only="only",
    nth=("first", "second", "third", "fourth"),
    nth_weekday="on the {nth} {day} of every month",
    day_of_every_month=("on the {d} of every month", "on the {d} of every month"),
    every_day_in="every day in {m}",
    day_of_months=("on the {d} of {m}", "on the {d} of {m}"),
    yearly_on="every year on {d} {m}",
    on_date="on {d} {m}",
    exact_date="on {d} {m} {y}",
    in_years="in {y}",
    year_range="from {a} to {b}",
    year_every="every {n} years from {s}",
    year_until=" until {e}",
    never="never (impossible date)",
)

_FR = _Lang(
    and_="et",
    days=("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    days_plural=("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    months=(
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ),
    every_day="tous les jours",
    every_second="toutes les secondes",
    every_n_seconds="toutes les {n} secondes",
    every_minute="toutes les minutes",
    every_n_minutes="toutes les {n} minutes",
    every_hour="toutes les heures",
    every_n_hours="toutes les {n} heures",
    hour_at_minutes=("toutes les heures à la minute {m}", "toutes les heures aux minutes {m}"),
    at_seconds=("à la seconde {s}", "aux secondes {s}"),
    at="à {t}",
    from_to="de {a} à {b}",
    day_range="du {a} au {b}",
    only="uniquement",
    nth=("premier", "deuxième", "troisième", "quatrième"),
    nth_weekday="le {nth} {day} de chaque mois",
    day_of_every_month=("le {d} de chaque mois", "les {d} de chaque mois"),
    every_day_in="tous les jours en {m}",
    day_of_months=("le {d} des mois de {m}", "les {d} des mois de {m}"),
    yearly_on="chaque année le {d} {m}",
    on_date="le {d} {m}",
    exact_date="le {d} {m} {y}",
    in_years="en {y}",
    year_range="de {a} à {b}",
    year_every="tous les {n} ans à partir de {s}",
    year_until=" jusqu'en {e}",
    never="jamais (date impossible)",
)

_LANGS = {"en": _EN, "fr": _FR}


def _join(items: Sequence[str], lang: _Lang) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {lang.and_} {items[-1]}"


def _runs(values: Sequence[int]) -> list[tuple[int, int]]:
    """Consecutive runs of sorted integers: [1,2,3,5] -> [(1,3),(5,5)]."""
    runs: list[tuple[int, int]] = []
    for v in values:
        if runs and v == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], v)
        else:
            runs.append((v, v))
    return runs


def _numbers(values: Sequence[int], lang: _Lang, fmt: str = "{}") -> str:
    parts: list[str] = []
    for a, b in _runs(values):
        if b - a >= 2:
            parts.append(f"{fmt.format(a)}–{fmt.format(b)}")
        else:
            parts.extend(fmt.format(v) for v in range(a, b + 1))
    return _join(parts, lang)


def _values(items: FieldList, lo: int, hi: int) -> list[int] | None:
    """Matching values in lo..hi; None means "any" (unrestricted or all of them)."""
    if not items:
        return None
    found = [v for v in range(lo, hi + 1) if field_matches(items, v)]
    return None if len(found) == hi - lo + 1 else found


def _step(values: Sequence[int]) -> int | None:
    """Common difference when ``values`` is an arithmetic progression of 3+ items."""
    if len(values) < 3:
        return None
    step = values[1] - values[0]
    ok = all(b - a == step for a, b in pairwise(values))
    return step if ok else None


def _even_step(values: Sequence[int], size: int) -> int | None:
    """n when values are exactly 0, n, 2n, ... covering a cycle of ``size`` evenly."""
    step = _step(values) if len(values) > 1 else None
    if len(values) == 2 and values[0] == 0 and values[1] * 2 == size:
        step = values[1]
    if step and values[0] == 0 and size % step == 0 and len(values) == size // step:
        return step
    return None


def _ordinal(n: int, lang: _Lang) -> str:
    if lang is _FR:
        return "1er" if n == 1 else str(n)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _ordinals(values: Sequence[int], lang: _Lang) -> str:
    parts: list[str] = []
    for a, b in _runs(values):
        if b - a >= 2:
            parts.append(f"{_ordinal(a, lang)}–{_ordinal(b, lang)}")
        else:
            parts.extend(_ordinal(v, lang) for v in range(a, b + 1))
    return _join(parts, lang)


def _weekdays(days: frozenset[int], lang: _Lang, qualifier: bool = False) -> str:
    ordered = sorted(days)
    # a cyclic interval (fri..mon) of 3+ days reads as a range
    for i in range(len(ordered)):
        rotated = ordered[i:] + ordered[:i]
        steps = pairwise(rotated)
        if len(rotated) >= 3 and all((b - a) % 7 == 1 for a, b in steps):
            return lang.day_range.format(a=lang.days[rotated[0]], b=lang.days[rotated[-1]])
    if lang is _FR:
        return _join([f"le {lang.days[d]}" for d in ordered], lang)
    names = _join([lang.days_plural[d] for d in ordered], lang)
    return f"on {names}" if qualifier else names


def _years(items: FieldList, lang: _Lang) -> str:
    singles = [it.value for it in items if isinstance(it, Single)]
    parts = [lang.in_years.format(y=_join([str(v) for v in sorted(singles)], lang))]
    parts = parts if singles else []
    for it in items:
        if isinstance(it, Range):
            parts.append(lang.year_range.format(a=it.start, b=it.end))
        elif isinstance(it, Repeated):
            if it.step == 0:
                parts.append(lang.in_years.format(y=it.start))
                continue
            text = lang.year_every.format(n=it.step, s=it.start)
            parts.append(text + (lang.year_until.format(e=it.end) if it.end is not None else ""))
    return _join(parts, lang)


def _possible(months: list[int] | None, days: list[int] | None) -> bool:
    if months == [] or days == []:
        return False
    if months is None or days is None:
        return True
    longest = {2: 29, 4: 30, 6: 30, 9: 30, 11: 30}
    return any(d <= longest.get(m, 31) for m in months for d in days)


def _day_part(event: CalendarEvent, lang: _Lang) -> str | None:
    """None means every day (no restriction at all). A date with a weekday qualifier
    ends with a comma-separated clause."""
    months = _values(event.month, 1, 12)
    days = _values(event.day, 1, 31)
    wd = event.days if event.restricts_weekday else frozenset()
    if not _possible(months, days):
        return lang.never
    years = _years(event.year, lang) if event.year else ""
    if days is None and months is None and not years:
        return _weekdays(wd, lang) if wd else None
    first_days = [list(range(k * 7 + 1, k * 7 + 8)) for k in range(4)]
    if len(wd) == 1 and months is None and not years and days in first_days:
        nth = lang.nth[first_days.index(days)]
        return lang.nth_weekday.format(nth=nth, day=lang.days[next(iter(wd))])
    month_names = _join([lang.months[m - 1] for m in months or []], lang)
    if days is None:
        text = lang.every_day_in.format(m=month_names) if months else lang.every_day
    elif months is None:
        text = lang.day_of_every_month[len(days) > 1].format(d=_ordinals(days, lang))
    elif len(days) == 1:
        d = _ordinal(days[0], lang) if lang is _FR else str(days[0])
        year = event.year[0] if len(event.year) == 1 else None
        if isinstance(year, Single) and len(months) == 1:
            return _with_weekdays(
                lang.exact_date.format(d=d, m=month_names, y=year.value), wd, lang
            )
        one_year_each = len(months) == 1 and not years
        text = (lang.yearly_on if one_year_each else lang.on_date).format(d=d, m=month_names)
    else:
        text = lang.day_of_months[len(days) > 1].format(d=_ordinals(days, lang), m=month_names)
    if years:
        text = f"{text} {years}"
    return _with_weekdays(text, wd, lang)


def _with_weekdays(text: str, wd: frozenset[int], lang: _Lang) -> str:
    if not wd:
        return text
    return f"{text}, {lang.only} {_weekdays(wd, lang, qualifier=True)}"


def _clock(h: int, m: int, s: int | None) -> str:
    return f"{h:02d}:{m:02d}" + (f":{s:02d}" if s else "")


def _time_part(event: CalendarEvent, lang: _Lang) -> tuple[str, bool]:
    """(phrase, periodic). Periodic phrases ("every 15 minutes") stand on their own;
    the others are a list of clock times to put after "at"."""
    hours = _values(event.hour, 0, 23)
    minutes = _values(event.minute, 0, 59)
    seconds = _values(event.second, 0, 59)
    one_sec = seconds[0] if seconds is not None and len(seconds) == 1 else None
    if hours is None and minutes is None:
        if seconds is None:
            return lang.every_second, True
        if (n := _even_step(seconds, 60)) is not None:
            return lang.every_n_seconds.format(n=n), True
    text, periodic = _hours_minutes(hours, minutes, one_sec, lang)
    if seconds is None:
        text += f", {lang.every_second}"
    elif one_sec is None:
        many = lang.at_seconds[1].format(s=_numbers(seconds, lang))
        text += f", {many}"
    elif periodic and one_sec:
        text += f", {lang.at_seconds[0].format(s=one_sec)}"
    return text, periodic


def _minute_pattern(minutes: list[int] | None, lang: _Lang) -> str:
    if minutes is None:
        return lang.every_minute
    if (n := _even_step(minutes, 60)) is not None:
        return lang.every_n_minutes.format(n=n)
    if minutes == [0]:
        return lang.every_hour
    return lang.hour_at_minutes[len(minutes) > 1].format(m=_numbers(minutes, lang))


def _hours_minutes(
    hours: list[int] | None, minutes: list[int] | None, sec: int | None, lang: _Lang
) -> tuple[str, bool]:
    if hours is None:
        return _minute_pattern(minutes, lang), True
    if minutes is not None and len(minutes) == 1 and (n := _step(hours)) is not None:
        m = minutes[0]
        if hours[0] == 0 and 24 % n == 0 and len(hours) == 24 // n and m == 0 and not sec:
            return lang.every_n_hours.format(n=n), True
        span = lang.from_to.format(a=_clock(hours[0], m, sec), b=_clock(hours[-1], m, sec))
        return f"{lang.every_n_hours.format(n=n)} {span}", True
    if minutes is not None and len(hours) * len(minutes) <= _LIST_LIMIT:
        times = [_clock(h, m, sec) for h in hours for m in minutes]
        return lang.at.format(t=_join(times, lang)), False
    first, last = (minutes[0], minutes[-1]) if minutes is not None else (0, 59)
    spans = [
        lang.from_to.format(a=_clock(a, first, sec), b=_clock(b, last, sec))
        for a, b in _runs(hours)
    ]
    return f"{_minute_pattern(minutes, lang)} {_join(spans, lang)}", True


def describe_event(event: CalendarEvent, lang: str = "en") -> str:
    """Describe ``event`` in ``lang`` ("en" or "fr")."""
    words = _LANGS.get(lang)
    if words is None:
        raise ValueError(f"unsupported language {lang!r} (expected 'en' or 'fr')")
    day = _day_part(event, words)
    time, periodic = _time_part(event, words)
    if day is None:
        text = time if periodic else f"{words.every_day} {time}"
    elif day == words.never:
        text = day
    else:
        qualified = day.endswith(f", {words.only} {_weekdays(event.days, words, True)}")
        text = f"{day}, {time}" if periodic or qualified else f"{day} {time}"
    return text + (" (UTC)" if event.utc else "")

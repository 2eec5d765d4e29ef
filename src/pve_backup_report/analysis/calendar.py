"""Proxmox calendar-event schedules: parser, model and next-run computation.

Why this exists: backup, replication and sync jobs carry a ``schedule`` string and the
report must say when each job should have run, to tell "late" from "not due yet". Proxmox
computes next runs with its own (systemd-like, but not identical) engine, including quirks
such as a lone number meaning a *minute* and unbounded repetitions overshooting into the
next hour. Re-implementing the exact behaviour (see docs reference
``calendar-events.md``) keeps our "expected run" figures identical to what the cluster does.

All arithmetic is done on broken-down wall-clock fields with integer calendar maths; a
time zone is only consulted to turn wall time into an instant and back, mimicking C
``mktime(tm_isdst=-1)`` as Proxmox does.
"""

from __future__ import annotations

from bisect import bisect_right, insort
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import ClassVar, TypeAlias
from zoneinfo import ZoneInfo

__all__ = [
    "CalendarError",
    "CalendarEvent",
    "DateTimeValue",
    "FieldList",
    "Range",
    "Repeated",
    "Single",
    "describe",
    "field_matches",
    "is_valid",
    "max_interval",
    "next_event",
    "next_events",
    "parse_schedule",
]


class CalendarError(ValueError):
    """A schedule string that Proxmox would reject."""


@dataclass(frozen=True, slots=True)
class Single:
    """Exactly one value."""

    value: int


@dataclass(frozen=True, slots=True)
class Range:
    """Inclusive range ``start..end`` (never wraps)."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Repeated:
    """``start``, ``start+step``, ... up to ``end`` (unbounded when ``end`` is None)."""

    start: int
    step: int
    end: int | None = None


DateTimeValue: TypeAlias = Single | Range | Repeated
FieldList: TypeAlias = tuple[DateTimeValue, ...]

_ANY: FieldList = ()
_ZERO: FieldList = (Single(0),)


@dataclass(frozen=True)
class CalendarEvent:
    """A parsed schedule. An empty field tuple means "any value"; ``days`` uses Mon=0..Sun=6
    and an empty set (or all seven days) means "any weekday"."""

    text: str
    utc: bool = False
    days: frozenset[int] = frozenset()
    year: FieldList = _ANY
    month: FieldList = _ANY
    day: FieldList = _ANY
    hour: FieldList = _ANY
    minute: FieldList = _ANY
    second: FieldList = _ZERO

    @property
    def restricts_weekday(self) -> bool:
        return 0 < len(self.days) < 7


# --------------------------------------------------------------------------- parsing

WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAYS = {name: i for i, name in enumerate(WEEKDAY_NAMES)} | {
    name[:3]: i for i, name in enumerate(WEEKDAY_NAMES)
}
_MON_1_4_7_10 = (Single(1), Single(4), Single(7), Single(10))
_KEYWORDS: dict[str, dict[str, object]] = {
    "minutely": {},
    "hourly": {"minute": _ZERO},
    "daily": {"minute": _ZERO, "hour": _ZERO},
    "weekly": {"minute": _ZERO, "hour": _ZERO, "days": frozenset({0})},
    "monthly": {"minute": _ZERO, "hour": _ZERO, "day": (Single(1),)},
    "yearly": {"minute": _ZERO, "hour": _ZERO, "day": (Single(1),), "month": (Single(1),)},
    "quarterly": {"minute": _ZERO, "hour": _ZERO, "day": (Single(1),), "month": _MON_1_4_7_10},
    "semiannually": {
        "minute": _ZERO,
        "hour": _ZERO,
        "day": (Single(1),),
        "month": (Single(1), Single(7)),
    },
}
_KEYWORDS["annually"] = _KEYWORDS["yearly"]
_KEYWORDS["semi-annually"] = _KEYWORDS["semiannually"]

# (exclusive maximum, start value of "*/N") per field
_YEAR, _MONTH, _DAY = (2200, 0, "year"), (13, 1, "month"), (32, 1, "day")
_HOUR, _MINUTE, _SECOND = (24, 0, "hour"), (60, 0, "minute"), (60, 0, "second")
_Field: TypeAlias = tuple[int, int, str]
_PERL_SPACE = " \t\n\r\f\v"


class _Parser:
    """Recursive-descent parser; sub-parsers return the new position or None (soft failure,
    caller rewinds), like the nom combinators of the original."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.s = text
        self.hint: tuple[int, str] | None = None

    def _note(self, pos: int, msg: str) -> None:
        if self.hint is None or pos >= self.hint[0]:
            self.hint = (pos, msg)

    def _number(self, pos: int, field: _Field, what: str = "value") -> tuple[int, int] | None:
        end = pos
        while end < len(self.s) and self.s[end] in "0123456789":
            end += 1
        if end == pos:
            return None
        value = int(self.s[pos:end])
        if value >= field[0]:
            self._note(pos, f"{field[2]} {what} {value} out of range (must be < {field[0]})")
            return None
        return value, end

    def _item(self, pos: int, field: _Field) -> tuple[DateTimeValue, int] | None:
        got = self._number(pos, field)
        if got is None:
            return None
        start, pos = got
        item: DateTimeValue = Single(start)
        end: int | None = None
        if self.s.startswith("..", pos):
            rng = self._number(pos + 2, field)
            if rng is not None:
                if rng[0] < start:
                    self._note(pos, f"{field[2]} range {start}..{rng[0]} goes backwards")
                else:
                    end, pos = rng
                    item = Range(start, end)
        if self.s.startswith("/", pos):
            step = self._number(pos + 1, field, "step")
            if step is not None:
                item, pos = Repeated(start, step[0], end), step[1]
        return item, pos

    def _list(self, pos: int, field: _Field) -> tuple[FieldList, int] | None:
        if self.s.startswith("*", pos):
            if self.s.startswith("/", pos + 1):
                step = self._number(pos + 2, field, "step")
                if step is not None and step[0] > 0:
                    return (Repeated(field[1], step[0]),), step[1]
            return _ANY, pos + 1
        first = self._item(pos, field)
        if first is None:
            return None
        items, pos = [first[0]], first[1]
        while self.s.startswith(",", pos):
            nxt = self._item(pos + 1, field)
            if nxt is None:
                break
            items.append(nxt[0])
            pos = nxt[1]
        return tuple(items), pos

    def _skip_ws(self, pos: int) -> int:
        while pos < len(self.s) and self.s[pos] in " \t":
            pos += 1
        return pos

    def _weekdays(self, pos: int) -> tuple[frozenset[int], int]:
        days: set[int] = set()
        while True:
            first, pos = self._weekday(pos)
            last = first
            if self.s.startswith("..", pos):
                last, pos = self._weekday(pos + 2)
            if first <= last:
                days.update(range(first, last + 1))
            else:  # ranges wrap around the (Monday-first) week
                days.update(range(first, 7))
                days.update(range(0, last + 1))
            if not self.s.startswith(",", pos):
                return frozenset(days), pos
            pos += 1

    def _weekday(self, pos: int) -> tuple[int, int]:
        end = pos
        while end < len(self.s) and self.s[end].isascii() and self.s[end].isalpha():
            end += 1
        word = self.s[pos:end]
        if word.lower() not in _WEEKDAYS:
            what = f"unknown weekday {word!r}" if word else f"weekday expected at position {pos}"
            raise CalendarError(f"invalid calendar event {self.text!r}: {what}")
        return _WEEKDAYS[word.lower()], end

    def _date(self, pos: int) -> tuple[FieldList, FieldList, FieldList, int] | None:
        fields: list[FieldList] = []
        p: int | None = pos
        for field in (_YEAR, _MONTH, _DAY):  # Y-M-D first
            got = self._list(p, field) if p is not None else None
            if got is None or (field is not _DAY and not self.s.startswith("-", got[1])):
                p = None
                break
            fields.append(got[0])
            p = got[1] + (0 if field is _DAY else 1)
        if p is not None:
            return fields[0], fields[1], fields[2], p
        month = self._list(pos, _MONTH)  # then M-D
        if month is None or not self.s.startswith("-", month[1]):
            return None
        day = self._list(month[1] + 1, _DAY)
        if day is None:
            return None
        return _ANY, month[0], day[0], day[1]

    def _time(self, pos: int) -> tuple[FieldList, FieldList, FieldList, int] | None:
        hour: FieldList = _ANY
        got = self._list(pos, _HOUR)
        if got is not None and self.s.startswith(":", got[1]):
            hour, pos = got[0], got[1] + 1
        minute = self._list(pos, _MINUTE)
        if minute is None:
            return None
        pos = minute[1]
        second: FieldList = _ZERO
        if self.s.startswith(":", pos):
            sec = self._list(pos + 1, _SECOND)
            if sec is not None:
                second, pos = sec
        return hour, minute[0], second, pos

    def parse(self) -> CalendarEvent:
        text = self.s
        utc = text.endswith("UTC")
        body = text[:-3].rstrip(" ") if utc else text
        self.s = body
        if body[:1].isascii() and body[:1].isalpha() and body in _KEYWORDS:
            return CalendarEvent(text=text, utc=utc, **_KEYWORDS[body])  # type: ignore[arg-type]
        pos = 0
        days: frozenset[int] = frozenset()
        found = False
        if body[:1].isascii() and body[:1].isalpha():
            days, pos = self._weekdays(0)
            pos = self._skip_ws(pos)
            found = True
        year = month = day = _ANY
        date = self._date(pos)
        if date is not None:
            year, month, day, pos = date
            pos = self._skip_ws(pos)
            found = True
        hour = minute = second = _ZERO
        time = self._time(pos)
        if time is not None:
            hour, minute, second, pos = time
            found = True
        if not found:
            raise CalendarError(self._error(pos, "no weekday, date or time found"))
        if pos != len(body):
            raise CalendarError(self._error(pos, f"unexpected {body[pos:]!r}"))
        return CalendarEvent(text, utc, days, year, month, day, hour, minute, second)

    def _error(self, pos: int, default: str) -> str:
        why = self.hint[1] if self.hint is not None and self.hint[0] >= pos - 1 else default
        return f"invalid calendar event {self.text!r}: {why}"


def parse_schedule(text: str) -> CalendarEvent:
    """Parse a schedule the way PVE validates it (surrounding whitespace trimmed)."""
    trimmed = text.strip(_PERL_SPACE)
    if not trimmed:
        raise CalendarError("unable to parse calendar event - event is empty")
    event = _Parser(trimmed).parse()
    return event


def is_valid(text: str) -> bool:
    try:
        parse_schedule(text)
    except CalendarError:
        return False
    return True


# --------------------------------------------------------------------------- matching


def field_matches(items: FieldList, x: int) -> bool:
    """Whether ``x`` satisfies a field list (an empty list matches anything)."""
    if not items:
        return True
    for it in items:
        if isinstance(it, Single):
            if x == it.value:
                return True
        elif isinstance(it, Range):
            if it.start <= x <= it.end:
                return True
        elif (
            x >= it.start
            and ((x - it.start) % it.step == 0 if it.step else x == it.start)
            and (it.end is None or x <= it.end)
        ):
            return True
    return False


def _find_next(items: FieldList, x: int) -> int | None:
    best: int | None = None
    for it in items:
        c: int | None = None
        if isinstance(it, Single):
            c = it.value if it.value > x else None
        elif isinstance(it, Range):
            c = it.start if x < it.start else (x + 1 if x + 1 <= it.end else None)
        elif x < it.start:
            c = it.start
        elif it.step > 0:
            c = it.start + ((x - it.start + it.step) // it.step) * it.step
            if it.end is not None and c > it.end:
                c = None
        if c is not None and (best is None or c < best):
            best = c
    return best


# ----------------------------------------------------------------- calendar arithmetic


def _days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (m in 1..12, any d)."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _civil_from_days(z: int) -> tuple[int, int, int]:
    z += 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return yoe + era * 400 + (m <= 2), m, d


_Fields: TypeAlias = tuple[int, int, int, int, int, int]  # y, mon, mday, h, min, s


def _naive_seconds(f: _Fields) -> int:
    """Wall-clock fields (possibly overflowing, like a C ``struct tm``) as seconds."""
    y, mon, d, h, mi, s = f
    y += (mon - 1) // 12
    mon = (mon - 1) % 12 + 1
    return _days_from_civil(y, mon, 1) * 86400 + (d - 1) * 86400 + h * 3600 + mi * 60 + s


def _fields_of(seconds: int) -> _Fields:
    days, rem = divmod(seconds, 86400)
    y, m, d = _civil_from_days(days)
    return y, m, d, rem // 3600, rem // 60 % 60, rem % 60


_DAY_S = 86400
_SPAN_SCAN_DAYS = 370


def _utc_offset(zone: ZoneInfo, instant: int) -> int:
    off = datetime.fromtimestamp(instant, zone).utcoffset()
    return int(off.total_seconds()) if off is not None else 0


def _edge(zone: ZoneInfo, start: int, base: int, direction: int) -> int:
    """Furthest second from ``start`` (within the scan window) still at offset ``base``:
    sampled daily, then bisected to the second."""
    inside = start
    for _ in range(_SPAN_SCAN_DAYS):
        probe = inside + direction * _DAY_S
        if _utc_offset(zone, probe) != base:
            while abs(probe - inside) > 1:
                mid = (inside + probe) // 2
                inside, probe = (mid, probe) if _utc_offset(zone, mid) == base else (inside, mid)
            return inside
        inside = probe
    return inside


class _Spans:
    """Lazily discovered spans [lo, hi] of constant UTC offset of one zone. Knowing them
    turns most wall-clock/instant conversions into plain arithmetic."""

    _cache: ClassVar[dict[ZoneInfo, _Spans]] = {}

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self.spans: list[tuple[int, int, int]] = []  # (lo, hi, offset), sorted by lo

    @classmethod
    def of(cls, zone: ZoneInfo) -> _Spans:
        if zone not in cls._cache:
            cls._cache[zone] = cls(zone)
        return cls._cache[zone]

    def find(self, instant: int) -> tuple[int, int, int]:
        i = bisect_right(self.spans, (instant, 2**63, 0))
        if i and self.spans[i - 1][0] <= instant <= self.spans[i - 1][1]:
            return self.spans[i - 1]
        off = _utc_offset(self.zone, instant)
        span = (_edge(self.zone, instant, off, -1), _edge(self.zone, instant, off, 1), off)
        insort(self.spans, span)
        return span


class _Clock:
    """Broken-down time that renormalises after every edit (timegm / mktime emulation)."""

    def __init__(self, instant: int, zone: ZoneInfo | None) -> None:
        self.zone = zone
        self.spans = _Spans.of(zone) if zone is not None else None
        self.span = (0, 0, 0)
        self._settle(instant)

    def _settle(self, instant: int) -> None:
        self.instant = instant
        if self.spans is not None:
            if not self.span[0] <= instant <= self.span[1]:
                self.span = self.spans.find(instant)
            self.offset = self.span[2]
        else:
            self.offset = 0
        self.f = _fields_of(instant + self.offset)

    def _wall_offset(self, wall: int, fold: int) -> int:
        assert self.zone is not None
        dt = datetime(1970, 1, 1) + timedelta(seconds=wall)
        off = dt.replace(tzinfo=self.zone, fold=fold).utcoffset()
        return int(off.total_seconds()) if off is not None else 0

    def set(self, f: _Fields) -> None:
        wall = _naive_seconds(f)
        if self.zone is None:
            self._settle(wall)
            return
        lo, hi, off = self.span
        if lo + 2 * _DAY_S <= wall - off <= hi - 2 * _DAY_S:
            # Far from any offset change: neither a gap nor an overlap is possible.
            self._settle(wall - off)
            return
        off0 = self._wall_offset(wall, 0)
        off = off0
        if off0 != (off1 := self._wall_offset(wall, 1)):
            # Gap: fold=0 (pre-transition offset). Overlap: keep the previous offset.
            in_gap = _utc_offset(self.zone, wall - off0) != off0
            if not in_gap and self.offset == off1:
                off = off1
        self._settle(wall - off)

    @property
    def weekday(self) -> int:
        return (_days_from_civil(*self.f[:3]) + 3) % 7


def _search(event: CalendarEvent, last: int, zone: ZoneInfo | None) -> _Clock | None:
    """Proxmox's search loop: field by field, jumping to the next candidate value."""
    t = _Clock(last + 1, zone)
    for _ in range(1001):
        y, mon, d, h, mi, s = t.f
        if event.year and not field_matches(event.year, y):
            n = _find_next(event.year, y)
            if n is None:
                return None
            t.set((n, 1, 1, 0, 0, 0))
        elif event.month and not field_matches(event.month, mon):
            n = _find_next(event.month, mon)
            t.set((y, n, 1, 0, 0, 0) if n is not None else (y + 1, 1, 1, 0, 0, 0))
        elif event.day and not field_matches(event.day, d):
            n = _find_next(event.day, d)
            t.set((y, mon, n, 0, 0, 0) if n is not None else (y, mon + 1, 1, 0, 0, 0))
        elif event.restricts_weekday and (wd := t.weekday) not in event.days:
            later = [x for x in event.days if x > wd]
            t.set((y, mon, d + (min(later) - wd if later else 7 - wd), 0, 0, 0))
        elif event.hour and not field_matches(event.hour, h):
            n = _find_next(event.hour, h)
            t.set((y, mon, d, n, 0, 0) if n is not None else (y, mon, d + 1, 0, 0, 0))
        elif event.minute and not field_matches(event.minute, mi):
            n = _find_next(event.minute, mi)
            t.set((y, mon, d, h, n, 0) if n is not None else (y, mon, d, h + 1, 0, 0))
        elif event.second and not field_matches(event.second, s):
            n = _find_next(event.second, s)
            t.set((y, mon, d, h, mi, n) if n is not None else (y, mon, d, h, mi + 1, 0))
        else:
            return t
    return None


_MAX_INSTANT = 253402300799 - 14 * 3600  # 9999-12-31 23:59:59 minus the largest offset


def _epoch(value: datetime) -> int:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("`after`/`start` must be a timezone-aware datetime")
    return (value - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(seconds=1)


def _zone(event: CalendarEvent, tz: ZoneInfo | None) -> ZoneInfo | None:
    return None if event.utc or tz is None else tz


def _next_instant(event: CalendarEvent, last: int, zone: ZoneInfo | None) -> int | None:
    try:
        found = _search(event, last, zone)
    except (OverflowError, ValueError, OSError):  # beyond what datetime/zoneinfo can represent
        return None
    if found is None or found.instant > _MAX_INSTANT:
        return None
    return found.instant


def _to_datetime(instant: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=instant)


def next_event(
    event: CalendarEvent, after: datetime, tz: ZoneInfo | None = None
) -> datetime | None:
    """Next run strictly after ``after`` (aware), as an aware UTC datetime, or None.

    ``tz`` is the node's time zone (None = UTC); it is ignored for ``... UTC`` events.
    Sub-second parts of ``after`` are dropped, as Proxmox works in whole seconds.
    """
    found = _next_instant(event, _epoch(after), _zone(event, tz))
    return None if found is None else _to_datetime(found)


def next_events(
    event: CalendarEvent, after: datetime, tz: ZoneInfo | None, count: int
) -> list[datetime]:
    """Up to ``count`` chained runs (each result is the next search's start), like the
    PVE "schedule-analyze" API; stops early when there is no further run."""
    zone, last, runs = _zone(event, tz), _epoch(after), []
    for _ in range(count):
        found = _next_instant(event, last, zone)
        if found is None:
            break
        runs.append(_to_datetime(found))
        last = found
    return runs


# --------------------------------------------------------------------------- intervals

_MAX_RUNS = 200_000  # safety net for absurd date-restricted per-second schedules


def _next_offset_change(zone: ZoneInfo | None, start: int, limit: int) -> int:
    """Last second, up to ``limit``, at which the zone still has its offset of ``start``."""
    return limit if zone is None else min(limit, _Spans.of(zone).find(start)[1])


def max_interval(
    event: CalendarEvent,
    tz: ZoneInfo | None,
    start: datetime,
    horizon: timedelta = timedelta(days=400),
) -> timedelta | None:
    """Largest gap between consecutive runs whose earlier run lies in
    ``(start, start + horizon]`` (the run after the horizon closes the last gap, so a yearly
    job yields about a year). None when there are fewer than two such runs."""
    zone = _zone(event, tz)
    end = _epoch(start) + int(horizon.total_seconds())
    prev = _next_instant(event, _epoch(start), zone)
    if prev is None or prev > end:
        return None
    # Without date fields the run pattern only depends on (weekday, time of day, offset),
    # so once such a state repeats, the gaps repeat until the zone's offset changes.
    periodic = not (event.year or event.month or event.day)
    seen: dict[tuple[int, int, int], int] = {}
    best = 0
    for _ in range(_MAX_RUNS):
        nxt = _next_instant(event, prev, zone)
        if nxt is None:
            break
        best = max(best, nxt - prev)
        if nxt > end:
            return timedelta(seconds=best)
        prev = nxt
        if periodic:
            try:
                clock = _Clock(prev, zone)
            except (OverflowError, ValueError, OSError):
                break
            wd = clock.weekday if event.restricts_weekday else -1
            key = (wd, clock.f[3] * 3600 + clock.f[4] * 60 + clock.f[5], clock.offset)
            if key in seen:
                first, period = seen[key], prev - seen[key]
                safe = min(end, _next_offset_change(zone, first, end))
                jumps = (safe - prev) // period - 1
                if jumps > 0:
                    prev += jumps * period
                seen.clear()
            seen[key] = prev
    return timedelta(seconds=best) if best else None


def describe(event: CalendarEvent, lang: str = "en") -> str:
    """Short human description ("every day at 21:00"); ``lang`` is "en" or "fr"."""
    from pve_backup_report.analysis.calendar_describe import describe_event

    return describe_event(event, lang)

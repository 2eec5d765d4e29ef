"""Tests for the Proxmox calendar-event engine.

The JSON vectors come from Proxmox's own test suites (see docs reference
calendar-events.md); every other expected value below was worked out by hand from the
specification, never by running the code under test.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pve_backup_report.analysis.calendar import (
    CalendarError,
    CalendarEvent,
    Range,
    Repeated,
    Single,
    describe,
    is_valid,
    max_interval,
    next_event,
    next_events,
    parse_schedule,
)

# ------------------------------------------------------------------ vector files

# Prefer the copy inside the repository (CI runs in a clean clone); fall back to the
# shared reference folder next to the checkout (/work/main/tests/unit -> /work/shared).
_HERE = Path(__file__).resolve()
_DATA_DIRS = [_HERE.parents[1] / "data" / "calendar"]
if len(_HERE.parents) > 3:
    _DATA_DIRS.append(_HERE.parents[3] / "shared" / "reference")


def _load(name: str) -> list[dict[str, Any]]:
    for folder in _DATA_DIRS:
        if (folder / name).is_file():
            data: list[dict[str, Any]] = json.loads((folder / name).read_text("utf-8"))
            return data
    raise FileNotFoundError(name)


VECTORS = _load("calendar-vectors.json")
DESCRIPTIONS = _load("calendar-descriptions.json")
VIENNA = ZoneInfo("Europe/Vienna")


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _vector_id(v: dict[str, Any]) -> str:
    return f"{v['schedule']!r}@{v.get('after')}/{v.get('tz')}"


def test_vector_files_are_complete() -> None:
    assert len(VECTORS) == 146
    assert len(DESCRIPTIONS) == 76


@pytest.mark.parametrize("vector", VECTORS, ids=_vector_id)
def test_vector_validity(vector: dict[str, Any]) -> None:
    assert is_valid(vector["schedule"]) is vector["valid"]
    if not vector["valid"]:
        with pytest.raises(CalendarError):
            parse_schedule(vector["schedule"])


_RUN_VECTORS = [v for v in VECTORS if v.get("after") is not None]


@pytest.mark.parametrize("vector", _RUN_VECTORS, ids=_vector_id)
def test_vector_next_runs(vector: dict[str, Any]) -> None:
    event = parse_schedule(vector["schedule"])
    tz = ZoneInfo(vector["tz"]) if vector.get("tz") else None
    after = datetime.fromtimestamp(vector["after"], UTC)
    if vector.get("expect_none"):
        assert next_event(event, after, tz) is None
        return
    expected = [_utc(x) for x in vector["expect_next"]]
    assert [int(x.timestamp()) for x in expected] == vector["expect_next_epoch"]
    if len(expected) == 1:
        assert next_event(event, after, tz) == expected[0]
    assert next_events(event, after, tz, len(expected)) == expected


def test_vectors_with_utc_suffix_ignore_the_node_zone() -> None:
    for vector in _RUN_VECTORS:
        if vector.get("tested_as") and not vector.get("expect_none"):
            event = parse_schedule(vector["tested_as"])
            after = datetime.fromtimestamp(vector["after"], UTC)
            assert event.utc
            assert next_event(event, after, VIENNA) == _utc(vector["expect_next"][0])


# --------------------------------------------------------- parsed model (Rust Debug)


def _rust_item(item: Single | Range | Repeated) -> str:
    if isinstance(item, Single):
        return f"Single({item.value})"
    if isinstance(item, Range):
        return f"Range({item.start}, {item.end})"
    end = "None" if item.end is None else f"Some({item.end})"
    return f"Repeated({item.start}, {item.step}, {end})"


def _rust_debug(event: CalendarEvent) -> str:
    names = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]
    days = " | ".join(names[d] for d in sorted(event.days)) or "(empty)"
    fields = ", ".join(
        f"{name}: [{', '.join(_rust_item(i) for i in getattr(event, name))}]"
        for name in ("second", "minute", "hour", "day", "month", "year")
    )
    return f"CalendarEvent {{ utc: {str(event.utc).lower()}, days: {days}, {fields} }}"


@pytest.mark.parametrize("row", DESCRIPTIONS, ids=lambda r: repr(r["schedule"]))
def test_parsed_model_matches_proxmox(row: dict[str, Any]) -> None:
    event = parse_schedule(row["schedule"])
    assert _rust_debug(event) == row["parsed"]
    assert event.text == row["schedule"]


# ------------------------------------------------------------------ parsing by hand

VALID = [
    "daily UTC",
    "dailyUTC",
    "daily   UTC",
    "mon..fri\tUTC",
    "24:00",
    "30:15",
    "*/30:00",
    "*/24:00",
    "mon..fri 22",
    "01-02",
    "1-2-3",
    "*-05",
    "05-*",
    "*-*",
    "*-*-*",
    "2021-02-29",
    "2100-02-29",
    "2020-00-01",
    "2020-12-00",
    "2020-01-01*:00",
    "sun..sun",
    "mon12:00",
    "mon*/15",
    "mon\t12:00",
    "0/5,10",
    "5/0",
    "1..5/0",
    "3..3",
    "mon,tue 02:30",
    "semi-annually UTC",
    "2199-12-31",
    "  daily\n",
    "MONDAY 00001:0002:003",
]
INVALID = [
    "daily utc",
    "UTC",
    "mon..fri UTC UTC",
    "UTCdaily",
    "12:00\tUTC",
    "Daily",
    "daily 12:00",
    "tues",
    "thur",
    "mo",
    "mon 0 0",
    "12:00 mon",
    "2020-01-01 mon",
    "*/30:*/30:*/30",
    "24:00:00",
    "60:00",
    "2024",
    "2024-05",
    "2020-01-0112:00",
    "mon ,tue",
    "mon, tue",
    "mon,12:00",
    "*,5",
    "5,*",
    "*/5,10",
    "*/0",
    "22..2:0",
    "5..3",
    "1..",
    "..5",
    "1...5",
    "1,,2",
    "1,",
    ",1",
    "1..3/2..5",
    "-1",
    "+5",
    "0x10",
    "1_000",
    "\uff11",
    "4294967296",
    "0:60",
    "13-01",
    "01-32",
    "2200-01-01",
    "*:*:*:*",
    "*/61",
    "0/60",
    "   ",
]


@pytest.mark.parametrize("text", VALID)
def test_valid_schedules(text: str) -> None:
    assert is_valid(text)


@pytest.mark.parametrize("text", INVALID)
def test_invalid_schedules(text: str) -> None:
    assert not is_valid(text)
    with pytest.raises(CalendarError) as info:
        parse_schedule(text)
    assert isinstance(info.value, ValueError)
    assert str(info.value)


def test_error_messages_say_what_is_wrong() -> None:
    with pytest.raises(CalendarError, match="empty"):
        parse_schedule(" ")
    with pytest.raises(CalendarError, match="unknown weekday 'tues'"):
        parse_schedule("tues 12:00")
    with pytest.raises(CalendarError, match="minute value 61 out of range"):
        parse_schedule("61")
    with pytest.raises(CalendarError, match="backwards"):
        parse_schedule("5..3")


def test_lone_number_is_a_minute_and_hour_falls_back() -> None:
    assert parse_schedule("mon..fri 22").minute == (Single(22),)
    assert parse_schedule("mon..fri 22").hour == ()
    event = parse_schedule("24:00")
    assert (event.hour, event.minute, event.second) == ((), (Single(24),), (Single(0),))
    event = parse_schedule("*/30:00")
    assert event.minute == (Repeated(0, 30),) and event.second == (Single(0),)


def test_weekday_ranges_wrap_and_full_week() -> None:
    assert parse_schedule("fri..mon").days == frozenset({4, 5, 6, 0})
    assert parse_schedule("sun..sat").days == frozenset(range(7))
    assert parse_schedule("wed,mon..tue,fri").days == frozenset({0, 1, 2, 4})
    assert not parse_schedule("sat..fri").restricts_weekday


def test_repetition_forms() -> None:
    assert parse_schedule("*/5").minute == (Repeated(0, 5, None),)
    assert parse_schedule("*-*/2-*").month == (Repeated(1, 2, None),)
    assert parse_schedule("*-*/2").day == (Repeated(1, 2, None),)
    assert parse_schedule("1..5/0").minute == (Repeated(1, 0, 5),)
    assert parse_schedule("4..10/2:0").hour == (Repeated(4, 2, 10),)
    assert parse_schedule("mon").hour == (Single(0),)


def test_utc_flag_and_text_are_kept() -> None:
    event = parse_schedule("mon..fri 21:00 UTC")
    assert event.utc and event.text == "mon..fri 21:00 UTC"
    assert not parse_schedule("21:00").utc


# --------------------------------------------------------------- next runs by hand


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


HAND_CASES = [
    # (schedule, tz, after, expected) - worked out from spec sections 3 and 4
    ("*/25", None, "2024-01-01T00:50:00+00:00", "2024-01-01T01:25:00+00:00"),
    ("*/25", None, "2023-12-31T23:59:59+00:00", "2024-01-01T00:00:00+00:00"),
    ("0/40", None, "2024-01-01T00:40:00+00:00", "2024-01-01T01:40:00+00:00"),
    ("9..17:*/25", None, "2024-01-01T08:50:00+00:00", "2024-01-01T09:00:00+00:00"),
    ("*/5:0", None, "2024-01-01T20:00:00+00:00", "2024-01-02T05:00:00+00:00"),
    ("mon */5:0", None, "2024-01-07T19:00:00+00:00", "2024-01-08T00:00:00+00:00"),
    ("*-*-*/10", None, "2023-02-25T00:00:00+00:00", "2023-03-11T00:00:00+00:00"),
    ("*-*/5-1", None, "2023-11-01T00:00:00+00:00", "2024-06-01T00:00:00+00:00"),
    ("daily", None, "2024-01-01T00:00:01+00:00", "2024-01-02T00:00:00+00:00"),
    ("daily", None, "2024-01-01T00:00:00+00:00", "2024-01-02T00:00:00+00:00"),
    ("02-29", None, "2024-03-01T00:00:00+00:00", "2028-02-29T00:00:00+00:00"),
    ("*/400-02-29", None, "2024-01-01T00:00:00+00:00", "2400-02-29T00:00:00+00:00"),
    ("2199-12-31", None, "2024-01-01T00:00:00+00:00", "2199-12-31T00:00:00+00:00"),
    ("mon 12-25", None, "2024-01-01T00:00:00+00:00", "2028-12-25T00:00:00+00:00"),
    ("*/15:00", None, "2024-01-01T00:00:00+00:00", "2024-01-01T15:00:00+00:00"),
    # overshoot: from 16:00 the next hour candidate is 30 -> 06:00 next day -> 15:00
    ("*/15:00", None, "2024-01-01T15:00:00+00:00", "2024-01-02T15:00:00+00:00"),
    ("24:00", None, "2024-01-01T00:00:00+00:00", "2024-01-01T00:24:00+00:00"),
    ("30:15", None, "2024-01-01T00:00:00+00:00", "2024-01-01T00:30:15+00:00"),
    ("mon..fri 22", None, "2024-01-01T00:00:00+00:00", "2024-01-01T00:22:00+00:00"),
    ("mon..fri 22:00", None, "2024-01-01T00:00:00+00:00", "2024-01-01T22:00:00+00:00"),
    ("Sat *-1..7 15:00", None, "2024-01-01T00:00:00+00:00", "2024-01-06T15:00:00+00:00"),
    ("Sat *-1..7 15:00", None, "2024-01-06T15:00:00+00:00", "2024-02-03T15:00:00+00:00"),
    ("23:59:59", None, "2024-01-01T00:00:00+00:00", "2024-01-01T23:59:59+00:00"),
    ("*:*:*/10", None, "2024-01-01T00:00:05.900000+00:00", "2024-01-01T00:00:10+00:00"),
    ("mon,tue 02:30", None, "2024-01-02T02:30:00+00:00", "2024-01-08T02:30:00+00:00"),
    # time zones: results as local wall times with their offset
    ("21:00", "Europe/Vienna", "2024-01-01T00:00:00+00:00", "2024-01-01T21:00:00+01:00"),
    ("21:00 UTC", "Europe/Vienna", "2024-01-01T00:00:00+00:00", "2024-01-01T21:00:00+00:00"),
    ("2:30", "Europe/Vienna", "2024-03-30T12:00:00+01:00", "2024-04-01T02:30:00+02:00"),
    ("2:00", "Europe/Vienna", "2024-03-30T12:00:00+01:00", "2024-04-01T02:00:00+02:00"),
    ("hourly", "Europe/Vienna", "2024-03-31T01:00:00+01:00", "2024-03-31T03:00:00+02:00"),
    ("daily", "America/Santiago", "2024-09-07T12:00:00-04:00", "2024-09-09T00:00:00-03:00"),
    ("2:15", "Australia/Lord_Howe", "2024-10-05T12:00:00+10:30", "2024-10-07T02:15:00+11:00"),
    ("*/15", "Asia/Kathmandu", "2024-01-01T00:01:00+00:00", "2024-01-01T06:00:00+05:45"),
    ("*/15", "Asia/Kolkata", "2024-01-01T00:01:00+00:00", "2024-01-01T05:45:00+05:30"),
    ("mon..fri", "Europe/Vienna", "2018-10-28T00:00:00+02:00", "2018-10-29T00:00:00+01:00"),
]


@pytest.mark.parametrize(("schedule", "tz", "after", "expected"), HAND_CASES)
def test_next_event_by_hand(schedule: str, tz: str | None, after: str, expected: str) -> None:
    zone = ZoneInfo(tz) if tz else None
    result = next_event(parse_schedule(schedule), _at(after), zone)
    assert result == _at(expected)
    assert result is not None and result.tzinfo is UTC


@pytest.mark.parametrize(
    "schedule", ["2100-02-29", "2015-10-21", "mon 2020-01-01", "2020-00-01", "*-2-30", "0-1-1"]
)
def test_no_next_event(schedule: str) -> None:
    assert next_event(parse_schedule(schedule), _at("2019-01-01T00:00:00+00:00")) is None


def test_year_beyond_datetime_range_is_none() -> None:
    event = parse_schedule("*/1448-01-01")
    runs = next_events(event, _at("2024-01-01T00:00:00+00:00"), VIENNA, 10)
    assert [r.astimezone(VIENNA).year for r in runs] == [2896, 4344, 5792, 7240, 8688]


def test_next_events_chain_and_stop() -> None:
    event = parse_schedule("8:00/15")
    runs = next_events(event, _at("2024-01-01T00:00:00+00:00"), None, 5)
    assert [r.strftime("%d %H:%M") for r in runs] == [
        "01 08:00",
        "01 08:15",
        "01 08:30",
        "01 08:45",
        "02 08:00",
    ]
    assert next_events(parse_schedule("2024-06-01"), _at("2024-01-01T00:00:00Z"), None, 3) == [
        _at("2024-06-01T00:00:00+00:00")
    ]
    assert next_events(event, _at("2024-01-01T00:00:00Z"), None, 0) == []


def test_fall_back_hour_runs_each_wall_time_once() -> None:
    runs = next_events(parse_schedule("*/15"), _at("2024-10-27T01:40:00+02:00"), VIENNA, 6)
    walls = [r.astimezone(VIENNA).strftime("%H:%M") for r in runs]
    assert walls == ["01:45", "02:00", "02:15", "02:30", "02:45", "03:00"]
    assert runs[-1] == _at("2024-10-27T03:00:00+01:00")


def test_naive_datetime_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_event(parse_schedule("daily"), datetime(2024, 1, 1))


# -------------------------------------------------------------------- max_interval

_START = _at("2024-01-01T00:00:00+00:00")


@pytest.mark.parametrize(
    ("schedule", "tz", "expected"),
    [
        ("daily", None, timedelta(days=1)),
        ("21:00", "Europe/Vienna", timedelta(hours=25)),  # 2024-10-27 lasts 25 hours
        ("*/15", None, timedelta(minutes=15)),
        ("*/15", "Europe/Vienna", timedelta(minutes=75)),  # 02:45 CEST -> 03:00 CET
        ("mon..fri 21:00", None, timedelta(days=3)),
        ("mon..fri */15", None, timedelta(days=2, minutes=15)),
        ("*/25", None, timedelta(minutes=35)),
        ("*/5:0", None, timedelta(hours=9)),
        ("sat *-1..7 15:00", None, timedelta(days=35)),
        ("monthly", None, timedelta(days=31)),
        ("yearly", None, timedelta(days=365)),  # runs 2025-01-01, then 2026-01-01
        ("2015-10-21", None, None),
        ("02-30", None, None),
    ],
)
def test_max_interval(schedule: str, tz: str | None, expected: timedelta | None) -> None:
    zone = ZoneInfo(tz) if tz else None
    assert max_interval(parse_schedule(schedule), zone, _START) == expected


def test_max_interval_yearly_and_short_horizon() -> None:
    yearly = parse_schedule("yearly")
    assert max_interval(yearly, None, _at("2024-01-02T00:00:00Z")) == timedelta(days=365)
    monthly = parse_schedule("monthly")
    assert max_interval(monthly, None, _at("2024-01-15T00:00:00Z"), timedelta(days=10)) is None


@pytest.mark.parametrize(
    ("schedule", "tz"),
    [
        ("*/15", "Europe/Vienna"),
        ("mon..fri 8..17,22:0/15", "Europe/Vienna"),
        ("*/25", "America/Santiago"),
        ("sat,sun */40", "Australia/Lord_Howe"),
        ("*/5:0", "America/New_York"),
        ("1..3:*/20", "Europe/Vienna"),
    ],
)
def test_max_interval_shortcut_agrees_with_plain_enumeration(schedule: str, tz: str) -> None:
    event, zone = parse_schedule(schedule), ZoneInfo(tz)
    horizon = timedelta(days=400)
    runs = [_START]
    while runs[-1] <= _START + horizon:
        step = next_event(event, runs[-1], zone)
        assert step is not None
        runs.append(step)
    gaps = [b - a for a, b in pairwise(runs[1:])]
    assert max_interval(event, zone, _START, horizon) == max(gaps)


# -------------------------------------------------------------------- descriptions

# English fragments each description must contain (and must not contain), by schedule.
EXPECTED_EN: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "mon,tue,wed,thu,fri": (("Monday to Friday", "00:00"), ()),
    "mon..fri": (("Monday to Friday", "00:00"), ()),
    "sat,sun": (("Saturday", "Sunday", "00:00"), ("Monday",)),
    "sat..sun": (("Saturday", "Sunday", "00:00"), ("Monday",)),
    "mon,wed,fri": (("Monday", "Wednesday", "Friday", "00:00"), ("Tuesday",)),
    "12:05": (("every day", "12:05"), ()),
    "*/5": (("every 5 minutes",), ()),
    "0/5": (("every 5 minutes",), ()),
    "*:00/5": (("every 5 minutes",), ()),
    "0/1:0/5": (("every 5 minutes",), ()),
    "mon..wed 30/10": (("Monday to Wednesday", "30, 40 and 50", "every hour"), ()),
    "mon,tue,wed 30/10": (("Monday to Wednesday", "30, 40 and 50"), ()),
    "mon..wed *:30/10": (("Monday to Wednesday", "30, 40 and 50"), ()),
    "mon,tue,wed *:30/10": (("Monday to Wednesday", "30, 40 and 50"), ()),
    "mon..fri 8..17,22:0/15": (
        ("Monday to Friday", "every 15 minutes", "08:00 to 17:45", "22:00 to 22:45"),
        (),
    ),
    "fri 12..13:5/20": (("Friday", "12:05, 12:25, 12:45, 13:05, 13:25 and 13:45"), ()),
    "fri 12,13:5/20": (("Friday", "12:05, 12:25, 12:45, 13:05, 13:25 and 13:45"), ()),
    "12,14,16,18,20,22:5": (("every 2 hours", "12:05", "22:05"), ()),
    "12/2:5": (("every 2 hours", "12:05", "22:05"), ()),
    "*": (("every minute",), ()),
    "*/1": (("every minute",), ()),
    "*:*": (("every minute",), ()),
    "0/1:0/1": (("every minute",), ()),
    "minutely": (("every minute",), ()),
    "*-05": (("5th", "every month", "00:00"), ()),
    "Sat *-1..7 15:00": (("first Saturday", "every month", "15:00"), ()),
    "sat *-1..7 15:00": (("first Saturday", "every month", "15:00"), ()),
    "sat *-1..7 02:00": (("first Saturday", "every month", "02:00"), ()),
    "2015-10-21": (("21 October 2015", "00:00"), ()),
    "mon..fri 22": (("Monday to Friday", "minute 22"), ("22:00",)),
    "mon,tue,wed,thu,fri 22": (("Monday to Friday", "minute 22"), ("22:00",)),
    "8:00/15": (("08:00, 08:15, 08:30 and 08:45",), ("09:00",)),
    "hourly": (("every hour",), ()),
    "daily": (("every day", "00:00"), ()),
    "weekly": (("Monday", "00:00"), ()),
    "monthly": (("1st", "every month", "00:00"), ()),
    "yearly": (("1 January", "00:00"), ()),
    "annually": (("1 January", "00:00"), ()),
    "quarterly": (("1 January, April, July and October", "00:00"), ()),
    "semiannually": (("1 January and July", "00:00"), ()),
    "semi-annually": (("1 January and July", "00:00"), ()),
    "*/30": (("every 30 minutes",), ()),
    "*:0/30": (("every 30 minutes",), ()),
    "*/2:00": (("every 2 hours",), ()),
    "0/2:00": (("every 2 hours",), ()),
    "21:00": (("every day", "21:00"), ()),
    "2,22:30": (("every day", "02:30 and 22:30"), ()),
    "mon..fri 00:00": (("Monday to Friday", "00:00"), ()),
    "mon..fri */1:00": (("Monday to Friday", "every hour"), ()),
    "mon..fri *:00": (("Monday to Friday", "every hour"), ()),
    "mon..fri 7..18:00/15": (("Monday to Friday", "every 15 minutes", "07:00 to 18:45"), ()),
    "sun 01:00": (("Sunday", "01:00"), ()),
    "sat 18:15": (("Saturday", "18:15"), ()),
}


def test_every_described_schedule_has_hand_expectations() -> None:
    assert {row["schedule"] for row in DESCRIPTIONS} == set(EXPECTED_EN)


@pytest.mark.parametrize("schedule", sorted(EXPECTED_EN))
def test_english_description_agrees_with_proxmox_wording(schedule: str) -> None:
    must, must_not = EXPECTED_EN[schedule]
    text = describe(parse_schedule(schedule), "en")
    for fragment in must:
        assert fragment in text, text
    for fragment in must_not:
        assert fragment not in text, text
    french = describe(parse_schedule(schedule), "fr")
    assert french and french != text


@pytest.mark.parametrize(
    ("schedule", "english", "french"),
    [
        ("21:00", "every day at 21:00", "tous les jours à 21:00"),
        ("sat 03:00", "Saturdays at 03:00", "le samedi à 03:00"),
        ("*/15", "every 15 minutes", "toutes les 15 minutes"),
        ("hourly", "every hour", "toutes les heures"),
        ("mon..fri 21:00", "Monday to Friday at 21:00", "du lundi au vendredi à 21:00"),
        ("sat,sun 03:00", "Saturdays and Sundays at 03:00", "le samedi et le dimanche à 03:00"),
        ("monthly", "on the 1st of every month at 00:00", "le 1er de chaque mois à 00:00"),
        ("yearly", "every year on 1 January at 00:00", "chaque année le 1er janvier à 00:00"),
        (
            "Sat *-1..7 15:00",
            "on the first Saturday of every month at 15:00",
            "le premier samedi de chaque mois à 15:00",
        ),
        ("2015-10-21", "on 21 October 2015 at 00:00", "le 21 octobre 2015 à 00:00"),
        ("daily UTC", "every day at 00:00 (UTC)", "tous les jours à 00:00 (UTC)"),
        ("*:*:*", "every second", "toutes les secondes"),
        ("23:59:59", "every day at 23:59:59", "tous les jours à 23:59:59"),
        ("02-30", "never (impossible date)", "jamais (date impossible)"),
        ("fri..mon 12:00", "Friday to Monday at 12:00", "du vendredi au lundi à 12:00"),
        ("05-*", "every day in May at 00:00", "tous les jours en mai à 00:00"),
        (
            "mon..fri 22",
            "Monday to Friday, every hour at minute 22",
            "du lundi au vendredi, toutes les heures à la minute 22",
        ),
        (
            "mon 12-25",
            "every year on 25 December, only on Mondays, at 00:00",
            "chaque année le 25 décembre, uniquement le lundi, à 00:00",
        ),
    ],
)
def test_descriptions_exact(schedule: str, english: str, french: str) -> None:
    event = parse_schedule(schedule)
    assert describe(event, "en") == english
    assert describe(event, "fr") == french


def test_equivalent_spellings_read_the_same() -> None:
    assert describe(parse_schedule("daily"), "en") == describe(parse_schedule("0:0"), "en")
    assert describe(parse_schedule("*/1:00"), "fr") == describe(parse_schedule("hourly"), "fr")


def test_describe_rejects_unknown_language() -> None:
    with pytest.raises(ValueError, match="language"):
        describe(parse_schedule("daily"), "de")


# ------------------------------------------------------------- property-based tests

_DAY_NAMES = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_ZONES = ["UTC", "Europe/Vienna", "America/Santiago", "Australia/Lord_Howe", "Asia/Kathmandu"]
_Field = tuple[str, frozenset[int]]


@st.composite
def _bounded_item(draw: st.DrawFn, lo: int, hi: int) -> _Field:
    """One list item whose matching set is known independently of the parser."""
    a = draw(st.integers(lo, hi))
    kind = draw(st.sampled_from(["single", "range", "step"]))
    if kind == "single":
        return str(a), frozenset({a})
    b = draw(st.integers(a, hi))
    if kind == "range":
        return f"{a}..{b}", frozenset(range(a, b + 1))
    n = draw(st.integers(0, hi))
    values = frozenset(range(a, b + 1, n)) if n else frozenset({a})
    return f"{a}..{b}/{n}", values


@st.composite
def _field(draw: st.DrawFn, lo: int, hi: int, star: bool = True) -> _Field:
    if star and draw(st.booleans()):
        return "*", frozenset(range(lo, hi + 1))
    items = draw(st.lists(_bounded_item(lo, hi), min_size=1, max_size=3))
    return ",".join(t for t, _ in items), frozenset().union(*(v for _, v in items))


@st.composite
def _exact_schedule(draw: st.DrawFn) -> tuple[str, dict[str, frozenset[int]]]:
    """Schedules without unbounded repetitions: Proxmox's search is then exact."""
    sets = {
        "month": frozenset(range(1, 13)),
        "day": frozenset(range(1, 32)),
        "hour": frozenset({0}),
        "minute": frozenset({0}),
        "second": frozenset({0}),
        "weekday": frozenset(range(7)),
    }
    parts = []
    if draw(st.booleans()):
        days = draw(st.sets(st.integers(0, 6), min_size=1))
        parts.append(",".join(_DAY_NAMES[d] for d in sorted(days)))
        sets["weekday"] = frozenset(days)
    if draw(st.booleans()):
        (mt, ms), (dt, ds) = draw(_field(1, 12)), draw(_field(1, 31))
        parts.append(f"{mt}-{dt}")
        sets["month"], sets["day"] = ms, ds
    if draw(st.booleans()) or not parts:
        (ht, hs), (mt, ms) = draw(_field(0, 23)), draw(_field(0, 59))
        sets["hour"], sets["minute"] = hs, ms
        text = f"{ht}:{mt}"
        if draw(st.booleans()):
            st_, ss = draw(_field(0, 59))
            text, sets["second"] = f"{text}:{st_}", ss
        parts.append(text)
    return " ".join(parts) + " UTC", sets


def _oracle(sets: dict[str, frozenset[int]], after: datetime, days: int) -> datetime | None:
    """First matching second strictly after ``after``, by walking the calendar day by day."""
    day0 = after.date()
    for offset in range(days):
        d = day0 + timedelta(days=offset)
        if d.month not in sets["month"] or d.day not in sets["day"]:
            continue
        if d.weekday() not in sets["weekday"]:
            continue
        for h in sorted(sets["hour"]):
            for m in sorted(sets["minute"]):
                for s in sorted(sets["second"]):
                    candidate = datetime(d.year, d.month, d.day, h, m, s, tzinfo=UTC)
                    if candidate > after:
                        return candidate
    return None


_AFTER = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2040, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=300, deadline=None)
@given(_exact_schedule(), _AFTER)
def test_next_event_is_the_first_match(
    schedule: tuple[str, dict[str, frozenset[int]]], after: datetime
) -> None:
    text, sets = schedule
    result = next_event(parse_schedule(text), after)
    if result is None:
        assert _oracle(sets, after, 3 * 366) is None
    else:
        assert result > after
        span = (result.date() - after.date()).days + 1
        assert _oracle(sets, after, span) == result


_ANY_HOUR = st.sampled_from(["*", "*/7", "*/5", "0/9", "2", "1..3", "4..10/2", "3,17"])
_ANY_MINUTE = st.sampled_from(["*", "*/7", "*/25", "0/40", "5", "1..3", "4..10/2", "3,17"])


@st.composite
def _any_schedule(draw: st.DrawFn) -> str:
    """Free-form schedules, including the overshooting unbounded repetitions."""
    days = draw(st.sampled_from(["", "mon ", "sat,sun ", "fri..mon ", "mon..fri "]))
    date_part = draw(st.sampled_from(["", "*-*/10 ", "*-1..7 ", "*/2-* ", "2020/3-*-1 "]))
    hour, minute = draw(_ANY_HOUR), draw(_ANY_MINUTE)
    second = draw(st.sampled_from(["", ":0", ":*/20", ":59"]))
    return f"{days}{date_part}{hour}:{minute}{second}"


@settings(max_examples=200, deadline=None)
@given(_any_schedule(), _AFTER, st.sampled_from(_ZONES))
def test_next_event_is_after_and_matches(text: str, after: datetime, zone_name: str) -> None:
    event, zone = parse_schedule(text), ZoneInfo(zone_name)
    result = next_event(event, after, zone)
    if result is None:
        return
    assert result > after
    wall = result.astimezone(zone)
    checks = {
        "month": wall.month,
        "day": wall.day,
        "hour": wall.hour,
        "minute": wall.minute,
        "second": wall.second,
    }
    probe = parse_schedule(text)
    for name, value in checks.items():
        items = getattr(probe, name)
        assert not items or any(_member(i, value) for i in items), (name, wall)
    if event.restricts_weekday:
        assert wall.weekday() in event.days


def _member(item: Single | Range | Repeated, x: int) -> bool:
    if isinstance(item, Single):
        return x == item.value
    if isinstance(item, Range):
        return item.start <= x <= item.end
    if x < item.start or (item.end is not None and x > item.end):
        return False
    return (x - item.start) % item.step == 0 if item.step else x == item.start


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789*/.,:- \tmonfriUTCdaily", max_size=24))
def test_parser_only_raises_calendar_error(text: str) -> None:
    try:
        event = parse_schedule(text)
    except CalendarError:
        return
    assert event.text == text.strip(" \t\n\r\f\v")
    assert describe(event, "en") and describe(event, "fr")


@settings(max_examples=100, deadline=None)
@given(_exact_schedule())
def test_generated_schedules_are_valid(schedule: tuple[str, dict[str, frozenset[int]]]) -> None:
    assert is_valid(schedule[0])


def test_helpers_dates() -> None:
    # sanity check of the oracle itself on a hand-computed case
    sets = {
        "month": frozenset(range(1, 13)),
        "day": frozenset(range(1, 32)),
        "hour": frozenset({21}),
        "minute": frozenset({0}),
        "second": frozenset({0}),
        "weekday": frozenset({5}),
    }
    found = _oracle(sets, datetime(2024, 1, 1, tzinfo=UTC), 10)
    assert found == datetime(2024, 1, 6, 21, 0, tzinfo=UTC)
    assert date(2024, 1, 6).weekday() == 5

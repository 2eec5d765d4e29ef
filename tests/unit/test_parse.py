from __future__ import annotations

import pytest

from pve_backup_report.collect.parse import (
    as_bool,
    as_int,
    parse_property_string,
    split_list,
    split_vmids,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1, True), (0, False), ("1", True), ("0", False), ("", False), (None, None), (True, True)],
)
def test_as_bool(value: object, expected: bool | None) -> None:
    assert as_bool(value) is expected


def test_as_int_accepts_strings() -> None:
    assert as_int("8007") == 8007
    assert as_int(" 12 ") == 12
    assert as_int("1.0") == 1
    assert as_int("x") is None
    assert as_int(True) is None


@pytest.mark.parametrize("text", ["100,101;102 103\t104\x00105", " 100 , 101 ;102  103 104 105 "])
def test_split_list_every_separator(text: str) -> None:
    assert split_list(text) == ("100", "101", "102", "103", "104", "105")


def test_split_vmids_strips_zeros_drops_zero_and_reports_strange_ids() -> None:
    assert split_vmids("0100, 0, 101, abc, 101") == ((100, 101), ("abc",))


def test_property_string_and_object() -> None:
    assert parse_property_string("keep-last=3,keep-daily=7") == {
        "keep-last": "3",
        "keep-daily": "7",
    }
    assert parse_property_string({"keep-all": 1}) == {"keep-all": "1"}
    assert parse_property_string(None) == {}

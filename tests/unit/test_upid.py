"""UPID decoding: PVE form, PBS form, and rejection of everything else.

Expected values are hex conversions done by hand (e.g. 0x000A1B2C = 662316, as in the reference's
task-list example).
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pve_backup_report.analysis.upid import (
    UpidError,
    parse_pbs_upid,
    parse_upid,
    unescape_worker_id,
)

MULTI = "UPID:pve1:000A1B2C:0179E3A5:663177F1:vzdump::root@pam:"
SINGLE = "UPID:pve1:0009F001:0178AA10:663026DD:vzdump:100:root@pam:"


def test_multi_guest_vzdump_upid() -> None:
    u = parse_upid(MULTI)
    assert u.raw == MULTI
    assert u.node == "pve1"
    assert u.pid == 662316
    assert u.pstart == 24765349
    assert u.starttime == 1714518001
    assert u.type == "vzdump"
    assert u.id == ""
    assert u.vmid is None
    assert u.user == "root@pam"
    assert u.userid == "root@pam"
    assert u.tokenid is None
    assert u.started_at == datetime(2024, 4, 30, 23, 0, 1, tzinfo=UTC)


def test_single_guest_vzdump_upid() -> None:
    u = parse_upid(SINGLE)
    assert (u.pid, u.pstart, u.starttime) == (651265, 24685072, 1714431709)
    assert u.id == "100"
    assert u.vmid == 100
    assert u.started_at == datetime(2024, 4, 29, 23, 1, 49, tzinfo=UTC)


def test_nine_hex_digit_pstart() -> None:
    # uptime above 497 days: 0x1179E3A5F = 2**32 + 0x179E3A5F = 4294967296 + 396245599
    u = parse_upid("UPID:pve1:000A1B2C:1179E3A5F:663177F1:vzdump::root@pam:")
    assert u.pstart == 4_691_212_895
    assert u.starttime == 1714518001


def test_token_user() -> None:
    u = parse_upid("UPID:pve-node-2:0000C0DE:0179E3A5:663177F1:vzdump:101:backup@pve!report:")
    assert u.node == "pve-node-2"
    assert u.pid == 49374
    assert u.user == "backup@pve!report"
    assert u.userid == "backup@pve"
    assert u.tokenid == "report"
    assert u.vmid == 101


def test_lower_case_hex_is_accepted() -> None:
    assert parse_upid("UPID:pve1:000a1b2c:0179e3a5:663177f1:vzdump::root@pam:").pid == 662316


def test_other_task_types() -> None:
    u = parse_upid("UPID:pve1:00001234:0179E3A5:663177F1:qmstart:100:alice@pve:")
    assert (u.type, u.id, u.vmid) == ("qmstart", "100", 100)
    assert parse_upid("UPID:pve1:00001234:0179E3A5:663177F1:vzdump:abc:root@pam:").vmid is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "garbage",
        "UPID:",
        "UPID:pve1:000A1B2C:0179E3A5:663177F1:vzdump::root@pam",  # no trailing colon
        "UPID:pve1:000A1B2C:0179E3A5:663177F1:vzdump::root@pam:\n",  # trailing newline
        " UPID:pve1:000A1B2C:0179E3A5:663177F1:vzdump::root@pam:",  # leading space
        "upid:pve1:000A1B2C:0179E3A5:663177F1:vzdump::root@pam:",  # prefix is case-sensitive
        "UPID:pve1:0A1B2C:0179E3A5:663177F1:vzdump::root@pam:",  # pid too short
        "UPID:pve1:000A1B2C:0179E3A5AB:663177F1:vzdump::root@pam:",  # pstart 10 digits
        "UPID:pve1:000A1B2C:0179E3A:663177F1:vzdump::root@pam:",  # pstart 7 digits
        "UPID:pve1:000A1B2C:0179E3A5:663177F10:vzdump::root@pam:",  # starttime 9 digits
        "UPID:pve1:000A1B2G:0179E3A5:663177F1:vzdump::root@pam:",  # not hex
        "UPID:-pve1:000A1B2C:0179E3A5:663177F1:vzdump::root@pam:",  # node starts with '-'
        "UPID:pve1-:000A1B2C:0179E3A5:663177F1:vzdump::root@pam:",  # node ends with '-'
        "UPID:pve_1:000A1B2C:0179E3A5:663177F1:vzdump::root@pam:",  # '_' not in a node name
        "UPID::000A1B2C:0179E3A5:663177F1:vzdump::root@pam:",  # empty node
        "UPID:pve1:000A1B2C:0179E3A5:663177F1:::root@pam:",  # empty type
        "UPID:pve1:000A1B2C:0179E3A5:663177F1:vzdump:::",  # empty user
        "UPID:pve1:000A1B2C:0179E3A5:663177F1:vzdump::root/x:",  # '/' in user
        "UPID:pve1:000A1B2C:0179E3A5:663177F1:vzdump:1 0:root@pam:",  # space in id
        "UPID:pbs1:000004D2:00012A3F:00000007:663177F2:backup:store1\\x3avm-100:pve1@pbs!backup:",
        "UPID:pve1:\u0660\u0660\u0660\u0660\u0660\u0660\u0660\u0660:0179E3A5:663177F1:vzdump::r@pam:",
    ],
)
def test_invalid_pve_upids(text: str) -> None:
    with pytest.raises(UpidError):
        parse_upid(text)


@pytest.mark.parametrize(
    "value", [None, 12, b"UPID:pve1:000A1B2C:0179E3A5:663177F1:vzdump::r@pam:"]
)
def test_non_string_input_raises_upid_error(value: object) -> None:
    with pytest.raises(UpidError):
        parse_upid(value)  # type: ignore[arg-type]
    with pytest.raises(UpidError):
        parse_pbs_upid(value)  # type: ignore[arg-type]


def test_upid_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_upid("nope")


def test_pbs_verify_upid() -> None:
    text = (
        "UPID:pbs1:000004D2:00012A3F:00000008:663177F5:verify:"
        "store1\\x3avm-100-663177F2:pve1@pbs!backup:"
    )
    u = parse_pbs_upid(text)
    assert u.node == "pbs1"
    assert u.pid == 1234
    assert u.pstart == 76351
    assert u.task_id == 8
    assert u.starttime == 1714518005
    assert u.started_at == datetime(2024, 4, 30, 23, 0, 5, tzinfo=UTC)
    assert u.worker_type == "verify"
    assert u.worker_id_raw == "store1\\x3avm-100-663177F2"
    assert u.worker_id == "store1:vm/100/663177F2"
    assert u.auth_id == "pve1@pbs!backup"
    assert u.userid == "pve1@pbs"
    assert u.tokenid == "backup"


def test_pbs_gc_and_sync_upids() -> None:
    gc = parse_pbs_upid(
        "UPID:pbs1:000004D2:00012A3F:0000001C:66318600:garbage_collection:store1:root@pam:"
    )
    assert (gc.task_id, gc.worker_type, gc.worker_id, gc.tokenid) == (
        28,
        "garbage_collection",
        "store1",
        None,
    )
    sync = parse_pbs_upid(
        "UPID:pbs1:000004D2:00012A3F:0000001D:66318610:syncjob:"
        "pbs2\\x3astore1\\x3aoffsite\\x3a\\x3as\\x2daa11bb22\\x2dcc33:root@pam:"
    )
    assert sync.worker_id == "pbs2:store1:offsite::s-aa11bb22-cc33"


def test_pbs_upid_with_empty_worker_id_and_long_task_id() -> None:
    u = parse_pbs_upid("UPID:pbs1:000004D2:00012A3F:0000000100000000:66318610:logrotate::root@pam:")
    assert u.task_id == 2**32
    assert u.worker_id == ""


@pytest.mark.parametrize(
    "text",
    [
        MULTI,  # a PVE UPID has one hex field fewer
        "UPID:pbs1:000004D2:00012A3F:0000008:663177F5:verify:store1:root@pam:",  # task_id 7 digits
        "UPID:pbs1:000004D2:00012A3F:00000008:663177F5:verify:store1:root@pam",  # no trailing colon
        "",
    ],
)
def test_invalid_pbs_upids(text: str) -> None:
    with pytest.raises(UpidError):
        parse_pbs_upid(text)


def test_unescape_worker_id_keeps_malformed_escapes() -> None:
    assert unescape_worker_id("a\\x2") == "a\\x2"
    assert unescape_worker_id("a\\xzz-b") == "a\\xzz/b"
    assert unescape_worker_id("\\xc3\\xa9") == "\u00e9"  # UTF-8 bytes of e-acute
    assert unescape_worker_id("\\xff") == "\ufffd"  # invalid UTF-8 is replaced, not raised


@given(st.text())
def test_parsers_only_ever_raise_upid_error(text: str) -> None:
    for parser in (parse_upid, parse_pbs_upid):
        with contextlib.suppress(UpidError):
            parser(text)


@given(
    st.from_regex(
        r"UPID:[a-z][a-z0-9]{0,5}:[0-9A-F]{8}:[0-9A-F]{8,9}:[0-9A-F]{8}:[a-z]{1,8}:[0-9]{0,4}:[a-z]{1,5}@pam:",
        fullmatch=True,
    )
)
def test_well_formed_pve_upids_round_trip(text: str) -> None:
    u = parse_upid(text)
    parts = text.split(":")
    assert u.node == parts[1]
    assert u.pid == int(parts[2], 16)
    assert u.starttime == int(parts[4], 16)
    assert u.id == parts[6]

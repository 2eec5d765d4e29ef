"""vzdump task-log parser: reference examples A and B plus hand-written variants.

Every expected value is worked out by hand from the log text. Local times are Europe/Berlin:
CEST (UTC+2) in May/October before the change, CET (UTC+1) in January. Sizes: binary units, so
1.12 GiB = 1.12 * 1073741824 = 1202590842.88 -> 1202590843 bytes (rounded half-up).
"""

from __future__ import annotations

import shlex
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pve_backup_report.analysis.tasklog import (
    GuestAttempt,
    TaskLogResult,
    fallback_from_upid,
    map_task_status,
    parse_task_log,
)
from pve_backup_report.analysis.upid import parse_upid

DATA = Path(__file__).resolve().parent.parent / "data" / "tasklogs"
BERLIN = ZoneInfo("Europe/Berlin")
UPID_A = parse_upid("UPID:pve1:000A1B2C:0179E3A5:663177F1:vzdump::root@pam:")
UPID_B = parse_upid("UPID:pve2:00003F9A:00C1D2E3:6632E591:vzdump::root@pam:")
UPID_MULTI = parse_upid("UPID:pve1:000B2C3D:0179E3A5:663177F0:vzdump::root@pam:")
UPID_200 = parse_upid("UPID:pve1:0000B1C2:0179F000:663177F0:vzdump:200:root@pam:")  # 23:00:00Z
UPID_300 = parse_upid("UPID:pve1:0000C0FF:0179F000:66318D00:vzdump:300:root@pam:")


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=UTC)


def load(name: str) -> list[str]:
    return (DATA / f"{name}.log").read_text(encoding="utf-8").splitlines()


def by_vmid(result: TaskLogResult) -> dict[int, GuestAttempt]:
    return {g.vmid: g for g in result.guests}


# --------------------------------------------------------------------------- Example A


def test_example_a_header_and_job() -> None:
    r = parse_task_log(load("example_a"), UPID_A, BERLIN)
    h = r.header
    assert h is not None
    assert h.command_line.startswith("vzdump 100 101 102 200 201 --mode snapshot")
    assert h.vmids == (100, 101, 102, 200, 201)
    assert dict(h.options) == {
        "mode": "snapshot",
        "notification-mode": "notification-system",
        "storage": "pbs-main",
        "quiet": "1",
        "prune-backups": "keep-daily=7,keep-weekly=4",
        "notes-template": "{{guestname}}",
    }
    assert (h.storage, h.mode, h.all, h.exclude, h.pool, h.node) == (
        "pbs-main",
        "snapshot",
        False,
        (),
        None,
        None,
    )
    assert r.skipped_external == (102, 201)
    assert [g.vmid for g in r.guests] == [100, 101, 200]
    assert r.job_outcome == "finished_ok"
    assert r.job_error is None
    assert r.task_status_line == "OK"
    assert r.truncated is False
    assert r.undetermined_after_cut == ()
    assert r.notes == ()
    assert r.job_warnings == ()
    assert r.time_source == "node_tz"


def test_example_a_guests() -> None:
    g = by_vmid(parse_task_log(load("example_a"), UPID_A, BERLIN))
    assert g[100] == GuestAttempt(
        vmid=100,
        guest_type="qemu",
        result="success",
        started_at=utc(2024, 4, 30, 23, 0, 2),
        ended_at=utc(2024, 4, 30, 23, 0, 14),
        duration_s=12,
        archive="vm/100/2024-04-30T23:00:02Z",
        archive_time=utc(2024, 4, 30, 23, 0, 2),
        error=None,
        transferred_bytes=1202590843,  # 1.12 GiB
        warnings=(),
        mode="snapshot",
        name="web01",
        transferred_kind="transferred",
    )
    assert g[101] == GuestAttempt(
        vmid=101,
        guest_type="qemu",
        result="success",
        started_at=utc(2024, 4, 30, 23, 0, 14),
        ended_at=utc(2024, 4, 30, 23, 1, 57),
        duration_s=103,  # 00:01:43
        archive="vm/101/2024-04-30T23:00:14Z",
        archive_time=utc(2024, 4, 30, 23, 0, 14),
        transferred_bytes=40 * 1024**3,  # 40.00 GiB
        mode="stop",
        name="win-dc01",
        transferred_kind="transferred",
    )
    assert g[200] == GuestAttempt(
        vmid=200,
        guest_type="lxc",
        result="success",
        started_at=utc(2024, 4, 30, 23, 1, 57),
        ended_at=utc(2024, 4, 30, 23, 2, 11),
        duration_s=14,
        archive="ct/200/2024-04-30T23:01:57Z",
        archive_time=utc(2024, 4, 30, 23, 1, 57),
        transferred_bytes=19149095,  # "had to backup 18.262 MiB": 19149094.912
        mode="snapshot",
        name="dns01",
        transferred_kind="uploaded",
    )


def test_example_a_without_tz_uses_archive_offset() -> None:
    with_tz = parse_task_log(load("example_a"), UPID_A, BERLIN)
    r = parse_task_log(load("example_a"), UPID_A, None)
    assert r.time_source == "archive_offset"
    # 01:00:02 local vs 23:00:02Z in the archive name: +2 h, applied to every local time
    assert r.guests == with_tz.guests


# --------------------------------------------------------------------------- Example B


def test_example_b() -> None:
    r = parse_task_log(load("example_b"), UPID_B, BERLIN)
    h = r.header
    assert h is not None
    assert h.vmids == ()
    assert h.all is True
    assert h.exclude == (9000,)
    assert dict(h.options) == {
        "quiet": "1",
        "exclude": "9000",
        "all": "1",
        "storage": "pbs-main",
        "mode": "snapshot",
        "notes-template": "{{guestname}}",
    }
    assert r.skipped_external == (100, 101, 200)
    assert r.job_outcome == "finished_errors"
    assert r.job_error is None
    assert r.task_status_line == "ERROR: job errors"
    assert r.notes == ()
    g = by_vmid(r)
    assert list(g) == [102, 201]
    assert g[102] == GuestAttempt(
        vmid=102,
        guest_type="qemu",
        result="failure",
        started_at=utc(2024, 5, 2, 1, 0, 2),
        ended_at=utc(2024, 5, 2, 1, 0, 6),
        duration_s=4,  # no Finished line: Failed at - started at
        archive="vm/102/2024-05-02T01:00:02Z",
        archive_time=utc(2024, 5, 2, 1, 0, 2),
        error=(
            "VM 102 qmp command 'backup' failed - backup connect failed: "
            "command error: No space left on device (os error 28)"
        ),
        transferred_bytes=None,
        mode="snapshot",
        name="db01",
    )
    assert g[201] == GuestAttempt(
        vmid=201,
        guest_type="lxc",
        result="success",
        started_at=utc(2024, 5, 2, 1, 0, 6),
        ended_at=utc(2024, 5, 2, 1, 0, 16),
        duration_s=10,
        archive="ct/201/2024-05-02T01:00:06Z",
        archive_time=utc(2024, 5, 2, 1, 0, 6),
        transferred_bytes=2108686,  # 2.011 MiB = 2108686.336
        mode="snapshot",
        name="mail01",
        transferred_kind="uploaded",
    )
    assert g[201].size == (2108686, "uploaded")
    assert g[102].size == (None, None)


# --------------------------------------------------------------------------- variants


def test_warning_line_inside_guest_block() -> None:
    r = parse_task_log(load("warnings"), UPID_MULTI, BERLIN)
    assert r.task_status_line == "WARNINGS: 1"
    assert r.job_outcome == "finished_ok"
    g = by_vmid(r)
    assert g[100].result == "warning"
    assert g[100].warnings == ("unable to connect to VM 100 qga socket - timeout after 31 retries",)
    assert g[100].started_at == utc(2024, 1, 15, 21, 30, 2)  # CET = UTC+1
    assert g[100].ended_at == utc(2024, 1, 15, 21, 30, 7)
    assert g[100].duration_s == 5
    assert g[100].transferred_bytes == 212 * 1024**2
    assert g[105].result == "success"
    assert g[105].warnings == ()
    assert g[105].started_at == utc(2024, 1, 15, 21, 30, 7)
    assert g[105].duration_s == 4
    assert g[105].transferred_bytes == 524288  # 512.0 KiB
    assert r.job_warnings == ()
    assert r.notes == ()


def test_unknown_vm_is_attributed_without_starting_line() -> None:
    r = parse_task_log(load("unknown_vm"), UPID_MULTI, BERLIN)
    assert r.job_outcome == "finished_errors"
    assert r.task_status_line == "ERROR: job errors"
    g = by_vmid(r)
    assert g[100].result == "success"
    assert g[100].transferred_bytes == 1024**3
    assert g[150] == GuestAttempt(
        vmid=150,
        guest_type=None,
        result="failure",
        started_at=None,
        ended_at=utc(2024, 4, 30, 23, 0, 9),
        duration_s=None,
        error="unable to find VM '150'",
    )
    assert r.notes == ()


def test_job_level_storage_failure_without_header() -> None:
    r = parse_task_log(load("storage_failure"), UPID_MULTI, BERLIN)
    reason = (
        "could not activate storage 'pbs-main': pbs-main: error fetching datastores - "
        "500 Can't connect to 10.0.0.5:8007 (No route to host)"
    )
    assert r.header is None
    assert r.guests == ()
    assert r.skipped_external == ()
    assert r.job_outcome == "failed"
    assert r.job_error == reason
    assert r.task_status_line == "ERROR: " + reason
    assert r.undetermined_after_cut == ()
    assert r.notes == ()


def test_task_error_alone() -> None:
    r = parse_task_log(["TASK ERROR: could not activate storage 'x': timeout"], UPID_MULTI, None)
    assert (r.job_outcome, r.job_error) == ("failed", "could not activate storage 'x': timeout")
    assert r.guests == ()


def test_cut_log_truncated() -> None:
    r = parse_task_log(load("cut"), UPID_MULTI, BERLIN, truncated=True)
    assert r.truncated is True
    assert r.task_status_line is None
    assert r.job_outcome is None
    g = by_vmid(r)
    assert g[100].result == "success"
    assert g[100].transferred_bytes == int(2.5 * 1024**3)
    assert g[101] == GuestAttempt(
        vmid=101,
        guest_type="qemu",
        result="undetermined",
        started_at=utc(2024, 4, 30, 23, 0, 12),
        archive="vm/101/2024-04-30T23:00:12Z",
        archive_time=utc(2024, 4, 30, 23, 0, 12),
        mode="snapshot",
    )
    assert r.undetermined_after_cut == (103,)
    assert r.notes == ()


def test_cut_log_not_marked_truncated_notes_it() -> None:
    r = parse_task_log(load("cut"), UPID_MULTI, BERLIN)
    assert by_vmid(r)[101].result == "undetermined"
    assert r.undetermined_after_cut == ()
    assert any("no TASK line" in n for n in r.notes)


def test_log_without_task_line_and_failed_index_status() -> None:
    r = parse_task_log(load("cut"), UPID_MULTI, BERLIN, task_status="unexpected status")
    g = by_vmid(r)
    assert g[101].result == "failure"
    assert g[101].error == "unexpected status"
    assert g[100].result == "success"
    assert (r.job_outcome, r.job_error) == ("failed", "unexpected status")


def test_lxc_suspend_mode_fallback_after_lock_wait() -> None:
    r = parse_task_log(load("lxc_suspend"), UPID_300, BERLIN)
    assert r.header is not None
    assert r.header.vmids == (300,)
    assert r.notes == ()
    (g,) = r.guests
    assert g.vmid == 300
    assert g.guest_type == "lxc"
    assert g.result == "success"
    assert g.mode == "suspend"
    assert g.name == "legacy01"
    assert g.started_at == utc(2024, 5, 1, 1, 15, 40)
    assert g.ended_at == utc(2024, 5, 1, 1, 16, 38)
    assert g.duration_s == 58
    assert g.archive == "ct/300/2024-05-01T01:15:40Z"
    # old client: 151.15 MiB (158492262.4) + 120.0 KiB (122880)
    assert g.transferred_bytes == 158615142


def test_lock_wait_with_pbs_archive_and_no_tz() -> None:
    r = parse_task_log(load("lxc_suspend"), UPID_300, None)
    assert r.time_source == "archive_offset"
    assert r.guests[0].started_at == utc(2024, 5, 1, 1, 15, 40)


def test_non_pbs_target_stop_mode() -> None:
    r = parse_task_log(load("nonpbs_stop"), UPID_200, BERLIN)
    assert r.header is not None
    assert (r.header.storage, r.header.mode, r.header.node) == ("nfs-backup", "stop", "pve1")
    assert r.header.options["compress"] == "zstd"
    assert r.notes == ()
    assert r.guests == (
        GuestAttempt(
            vmid=200,
            guest_type="lxc",
            result="success",
            started_at=utc(2024, 4, 30, 23, 0, 2),
            ended_at=utc(2024, 4, 30, 23, 0, 29),
            duration_s=27,
            archive="vzdump-lxc-200-2024_05_01-01_00_02.tar.zst",
            archive_time=utc(2024, 4, 30, 23, 0, 2),  # file name holds LOCAL time
            transferred_bytes=2147502080,  # tar "Total bytes written"
            mode="stop",
            name="files01",
            transferred_kind="tar_stream",
            archive_bytes=612 * 1024**2,  # "archive file size: 612MB": MB = 1024**2 bytes there
        ),
    )
    # the archive on the storage, not the uncompressed tar stream, is the size to report
    assert r.guests[0].size == (641728512, "archive")


def test_non_pbs_without_tz_uses_upid_offset() -> None:
    # UPID start 0x663177F0 = 23:00:00Z; first local start 01:00:02 -> offset +2 h, 2 s later
    r = parse_task_log(load("nonpbs_stop"), UPID_200, None)
    assert r.time_source == "upid_offset"
    g = r.guests[0]
    assert g.started_at == utc(2024, 4, 30, 23, 0, 2)
    assert g.ended_at == utc(2024, 4, 30, 23, 0, 29)
    assert g.archive_time == utc(2024, 4, 30, 23, 0, 2)


def test_non_pbs_without_tz_after_lock_wait_keeps_times_unknown() -> None:
    lines = ["INFO: trying to get global lock - waiting...", "INFO: got global lock"]
    r = parse_task_log(lines + load("nonpbs_stop"), UPID_200, None)
    assert r.time_source == "none"
    g = r.guests[0]
    assert (g.started_at, g.ended_at, g.archive_time) == (None, None, None)
    assert g.duration_s == 27
    assert g.result == "success"


def test_interrupted_by_signal() -> None:
    r = parse_task_log(load("interrupted"), UPID_MULTI, BERLIN)
    assert r.job_outcome == "failed"
    assert r.job_error == "interrupted by signal"
    assert r.task_status_line == "ERROR: interrupted by signal"
    g = by_vmid(r)
    assert list(g) == [100, 101]
    assert g[100].result == "success"
    assert g[100].mode == "stop"
    assert g[100].transferred_bytes == 8 * 1024**3
    assert g[101].result == "failure"
    assert g[101].error == "interrupted by signal"
    assert g[101].ended_at == utc(2024, 4, 30, 23, 0, 36)
    assert g[101].duration_s == 10
    assert r.undetermined_after_cut == ()  # not cut: 102 was simply not attempted


def test_guest_left_open_when_job_fails_is_a_failure() -> None:
    lines = [
        line
        for line in load("interrupted")
        if not line.startswith(("ERROR: Backup of VM 101", "INFO: Failed at"))
    ]
    r = parse_task_log(lines, UPID_MULTI, BERLIN)
    g = by_vmid(r)[101]
    assert g.result == "failure"
    assert g.error == "interrupted by signal"
    assert g.started_at == utc(2024, 4, 30, 23, 0, 26)
    assert g.ended_at is None


def test_crlf_lines_and_single_string_input() -> None:
    lf = parse_task_log(load("example_a"), UPID_A, BERLIN)
    crlf_lines = [line + "\r" for line in load("example_a")]
    r1 = parse_task_log(crlf_lines, UPID_A, BERLIN)
    r2 = parse_task_log("\r\n".join(load("example_a")) + "\r\n", UPID_A, BERLIN)
    for r in (r1, r2):
        assert r.notes == ()
        assert r.task_status_line == "OK"
        assert r.guests[0].archive == "vm/100/2024-04-30T23:00:02Z"
        assert r.guests == lf.guests
        assert r.header == lf.header


def test_blank_and_unknown_lines_are_tolerated() -> None:
    lines = load("example_b")
    lines.insert(3, "")
    lines.insert(5, "   ")
    lines.insert(8, "some stray text without a level")
    r = parse_task_log(lines, UPID_B, BERLIN)
    assert [g.result for g in r.guests] == ["failure", "success"]
    # inside VM 102's block: its output (shown with its error), not a parser remark
    assert r.notes == ()
    g102 = by_vmid(r)[102]
    assert g102.output == ("some stray text without a level",)
    assert g102.shown_error == (
        "VM 102 qmp command 'backup' failed - backup connect failed: command error: No space "
        "left on device (os error 28) — some stray text without a level"
    )
    # before any guest block it stays a remark
    r2 = parse_task_log(["stray first", *load("example_b")], UPID_B, BERLIN)
    assert r2.notes == ("line 1: unrecognised line: 'stray first'",)


def test_header_options_in_other_order_with_shell_quoting() -> None:
    line = (
        "INFO: starting new backup job: vzdump --pool prod --notes-template "
        "'{{cluster}} - it'\"'\"'s {{guestname}}' --node pve3 --mode suspend "
        "--storage pbs-main --quiet 1 --exclude-path '/tmp/?*'"
    )
    r = parse_task_log([line, "INFO: Backup job finished successfully", "TASK OK"], None, None)
    h = r.header
    assert h is not None
    assert h.vmids == ()
    assert h.pool == "prod"
    assert h.node == "pve3"
    assert h.mode == "suspend"
    assert h.storage == "pbs-main"
    assert h.all is False
    assert h.options["notes-template"] == "{{cluster}} - it's {{guestname}}"
    assert h.options["exclude-path"] == "/tmp/?*"
    assert r.job_outcome == "finished_ok"
    assert r.notes == ()


def test_header_all_with_exclude_list() -> None:
    r = parse_task_log(
        ["INFO: starting new backup job: vzdump --exclude '9000,9001' --all 1 --mode stop"],
        None,
        None,
    )
    assert r.header is not None
    assert (r.header.all, r.header.exclude, r.header.mode) == (True, (9000, 9001), "stop")


def test_dst_ambiguous_hour_resolved_by_archive_name() -> None:
    block = [
        "INFO: Starting Backup of VM 100 (qemu)",
        "INFO: Backup started at 2024-10-27 02:30:00",
        "INFO: creating Proxmox Backup Server archive 'vm/100/2024-10-27T01:30:00Z'",
        "INFO: Finished Backup of VM 100 (00:00:10)",
        "INFO: Backup finished at 2024-10-27 02:30:10",
    ]
    g = parse_task_log(block, None, BERLIN).guests[0]
    # 02:30 happens twice; the archive name says it was the CET one (UTC+1)
    assert g.started_at == utc(2024, 10, 27, 1, 30, 0)
    assert g.ended_at == utc(2024, 10, 27, 1, 30, 10)
    g = parse_task_log([block[0], block[1]], None, BERLIN, truncated=True).guests[0]
    assert g.started_at == utc(2024, 10, 27, 0, 30, 0)  # no hint: first occurrence (CEST)


def test_empty_and_unavailable_logs() -> None:
    assert parse_task_log([], UPID_MULTI, None).notes == ("task log has no lines",)
    r = parse_task_log(["no content"], UPID_MULTI, None)
    assert r.guests == () and r.job_outcome is None
    assert r.notes[0] == "empty task log ('no content')"
    r = parse_task_log(["unable to open file - No such file or directory"], UPID_MULTI, None)
    assert r.notes[0].startswith("task log unavailable")


def test_truncated_single_guest_task_before_its_block() -> None:
    r = parse_task_log(
        ["INFO: starting new backup job: vzdump --all 1 --storage pbs-main"],
        UPID_200,
        None,
        truncated=True,
    )
    assert r.undetermined_after_cut == (200,)


# --------------------------------------------------------------------------- status mapping


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("OK", "success"),
        ("TASK OK", "success"),
        ("WARNINGS: 2", "warning"),
        ("WARNINGS: 1", "warning"),
        ("job errors", "job_errors"),
        ("ERROR: job errors", "job_errors"),
        (None, "running"),
        ("RUNNING", "running"),
        ("running", "running"),
        ("unexpected status", "failure"),
        ("unknown", "failure"),
        ("could not activate storage 'pbs-main': timeout", "failure"),
        ("interrupted by signal", "failure"),
        ("", "failure"),
    ],
)
def test_map_task_status(status: str | None, expected: str) -> None:
    assert map_task_status(status) == expected


def test_fallback_from_upid_single_guest() -> None:
    u = parse_upid("UPID:pve1:0009F001:0178AA10:663026DD:vzdump:100:root@pam:")
    g = fallback_from_upid(u, "OK", 1714431722)
    assert g == GuestAttempt(
        vmid=100,
        result="success",
        started_at=utc(2024, 4, 29, 23, 1, 49),
        ended_at=utc(2024, 4, 29, 23, 2, 2),
        duration_s=13,
    )
    failed = fallback_from_upid(u, "job errors", 1714431722)
    assert failed is not None
    assert (failed.result, failed.error) == ("failure", "job errors")
    warned = fallback_from_upid(u, "WARNINGS: 3", 1714431722)
    assert warned is not None and warned.result == "warning"
    running = fallback_from_upid(u, None, None)
    assert running is not None
    assert (running.result, running.ended_at, running.duration_s) == ("undetermined", None, None)


def test_fallback_from_upid_needs_a_single_guest() -> None:
    assert fallback_from_upid(UPID_MULTI, "OK", 1714518132) is None
    other = parse_upid("UPID:pve1:00001234:0179E3A5:663177F1:qmstart:100:root@pam:")
    assert fallback_from_upid(other, "OK", 1714518132) is None


# --------------------------------------------------------------------------- robustness

_TEMPLATES = st.sampled_from(
    [
        "INFO: starting new backup job: vzdump {}",
        "INFO: Starting Backup of VM {} (qemu)",
        "INFO: Backup started at {}",
        "INFO: Backup finished at {}",
        "INFO: Failed at {}",
        "INFO: Finished Backup of VM {}",
        "ERROR: Backup of VM {} failed - x",
        "INFO: creating Proxmox Backup Server archive '{}'",
        "INFO: creating vzdump archive '{}'",
        "INFO: transferred {} in 3 seconds",
        "INFO: root.pxar: had to backup {} of 2 GiB",
        "INFO: skip external VMs: {}",
        "WARN: {}",
        "TASK {}",
        "{}",
    ]
)
_FILLERS = st.one_of(
    st.text(max_size=40),
    st.from_regex(r"[0-9]{1,20}", fullmatch=True),
    st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}", fullmatch=True),
    st.from_regex(
        r"vm/[0-9]{1,4}/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z", fullmatch=True
    ),
    st.from_regex(r"[0-9]{1,6}\.[0-9]{1,3} [KMGTk]i?B", fullmatch=True),
    st.from_regex(r"[0-9]{1,3} \([0-9]{1,9}:[0-9]{2}:[0-9]{2}\)", fullmatch=True),
    st.just("--all 1 --exclude '1,2"),
)
_LINES = st.lists(st.builds(lambda t, f: t.format(f), _TEMPLATES, _FILLERS), max_size=40)


@settings(max_examples=300)
@given(lines=st.one_of(_LINES, st.lists(st.text(), max_size=20)), truncated=st.booleans())
def test_parse_task_log_never_raises(lines: list[str], truncated: bool) -> None:
    for tz in (None, BERLIN):
        r = parse_task_log(lines, UPID_A, tz, truncated=truncated)
        assert isinstance(r, TaskLogResult)
        assert not any(n.startswith("internal parser error") for n in r.notes)
        for g in r.guests:
            assert g.result in ("success", "warning", "failure", "undetermined")
            for t in (g.started_at, g.ended_at, g.archive_time):
                assert t is None or t.tzinfo is not None


@given(st.text())
def test_map_task_status_total(text: str) -> None:
    assert map_task_status(text) in ("success", "warning", "failure", "running", "job_errors")


# --------------------------------------------------------------------------- issue 13 shapes


def test_multiline_error_keeps_continuation_lines_cause_first() -> None:
    # 218: the first line ends with "because:" (generic), so its two ERROR continuation lines
    # (the cause) come first; 219: the first line says what failed, so the order is kept.
    # Times: March 2025 in Berlin is CET (UTC+1).
    r = parse_task_log(load("multiline_error"), UPID_MULTI, BERLIN)
    assert r.job_outcome == "finished_errors"
    assert r.notes == ()
    g = by_vmid(r)
    assert g[218].result == "failure"
    assert g[218].error == (
        "Not enough free space available for volume 0 of resource 'vm-218-disk-1' on node "
        "'pve3'; Failed to adjust DRBD resource vm-218-disk-1 — API Return-Code: 500. "
        "Message: Could not create snapshot of resource 'vm-218-disk-1', because:"
    )
    assert g[218].started_at == utc(2025, 3, 4, 21, 0, 3)
    assert g[218].ended_at == utc(2025, 3, 4, 21, 0, 9)
    assert g[219].result == "failure"
    assert g[219].error == (
        "job failed with err -5 - Input/output error — read error on drive-scsi0 at offset "
        "1073741824"
    )
    assert g[219].ended_at == utc(2025, 3, 4, 21, 0, 41)
    assert g[219].warnings == ()


def test_error_continuation_stops_at_failed_at() -> None:
    # An ERROR line after "Failed at" no longer belongs to the failure message.
    lines = [
        "INFO: Starting Backup of VM 300 (lxc)",
        "INFO: Backup started at 2025-03-04 22:00:03",
        "ERROR: Backup of VM 300 failed - CT is locked (backup)",
        "INFO: Failed at 2025-03-04 22:00:04",
        "ERROR: some later complaint",
        "TASK ERROR: job errors",
    ]
    r = parse_task_log(lines, UPID_MULTI, BERLIN)
    assert r.guests[0].error == "CT is locked (backup)"


def test_file_targets_report_the_archive_file_size() -> None:
    # format_size writes powers of 1024 as MB/GB: 189MB = 189 * 1024**2 = 198180864 bytes;
    # 1.60GB = 1.6 * 1024**3 = 1717986918.4 -> 1717986918. The tar stream (611809280) and the
    # data QEMU read (32.00 GiB) stay in transferred_bytes, with their kind.
    r = parse_task_log(load("file_targets"), UPID_MULTI, BERLIN)
    assert r.notes == ()
    g = by_vmid(r)
    assert g[301].archive == "vzdump-lxc-301-2025_06_10-02_30_01.tar.gz"
    assert (g[301].archive_bytes, g[301].transferred_bytes) == (198180864, 611809280)
    assert g[301].transferred_kind == "tar_stream"
    assert g[301].size == (198180864, "archive")
    assert g[302].archive == "vzdump-qemu-302-2025_06_10-02_30_17.vma.gz"
    assert (g[302].archive_bytes, g[302].transferred_bytes) == (1717986918, 32 * 1024**3)
    assert g[302].transferred_kind == "transferred"
    assert g[302].size == (1717986918, "archive")
    assert [g[301].result, g[302].result] == ["success", "success"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("INFO: archive file size: 512KB", 512 * 1024),
        ("INFO: archive file size: 0KB", 0),
        # 2.05 * 1024**4 = 2199023255552 + 54975581388.8 = 2253998836940.8, half-up
        ("INFO: archive file size: 2.05TB", 2253998836941),
        ("INFO: archive file size: 7MiB", 7 * 1024**2),  # tolerated spelling
        ("INFO: archive file size: many", None),
    ],
)
def test_archive_file_size_units_are_binary(line: str, expected: int | None) -> None:
    lines = [
        "INFO: Starting Backup of VM 400 (lxc)",
        line,
        "INFO: Finished Backup of VM 400 (00:00:03)",
        "TASK OK",
    ]
    g = parse_task_log(lines, UPID_MULTI, None).guests[0]
    assert g.archive_bytes == expected
    assert g.size == ((expected, "archive") if expected is not None else (None, None))


def test_subsecond_transfer_keeps_its_size() -> None:
    # "transferred 32.0 GiB in <1 seconds": 32 * 1024**3; the template's 2.00 GiB likewise
    r = parse_task_log(load("subsecond"), UPID_MULTI, BERLIN)
    assert r.notes == ()
    g = by_vmid(r)
    assert g[120].size == (32 * 1024**3, "transferred")
    assert g[9001].size == (2 * 1024**3, "transferred")
    assert [g[120].duration_s, g[9001].duration_s] == [2, 1]


def test_lines_without_a_level_belong_to_the_guest_block() -> None:
    # Raw LVM output, a storage plugin's "[INFO]: ..." lines and hook output after the guest's
    # end line are the guest's output: no parser remark, no change to any result.
    r = parse_task_log(load("output_lines"), UPID_MULTI, BERLIN)
    assert r.notes == ()
    assert r.job_outcome == "finished_errors"
    g = by_vmid(r)
    assert g[101].result == "success"
    assert g[101].output == (
        'Logical volume "snap_vm-101-disk-0_vzdump" created.',
        'Logical volume "snap_vm-101-disk-0_vzdump" successfully removed.',
        "HOOK: log-end snapshot 101",
        "hook: copied the log of 101 to /srv/backup-logs",
    )
    assert g[101].shown_error is None  # a success shows no output
    assert g[101].size == (612 * 1024**2, "archive")
    assert g[102].result == "failure"
    assert g[102].error == "start failed: QEMU exited with code 1"
    assert g[102].output == (
        "[INFO]: TrueNAS: activating LUN for vm-102-disk-0 on 10.0.0.20",
        "[INFO]: TrueNAS: iSCSI login to iqn.2005-10.org.freenas.ctl:vm-102 failed",
        "command 'qm start 102 --skiplock' failed: exit code 255",
    )
    assert g[102].shown_error == (
        "start failed: QEMU exited with code 1 — [INFO]: TrueNAS: activating LUN for "
        "vm-102-disk-0 on 10.0.0.20; [INFO]: TrueNAS: iSCSI login to "
        "iqn.2005-10.org.freenas.ctl:vm-102 failed; command 'qm start 102 --skiplock' failed: "
        "exit code 255"
    )
    assert g[102].ended_at == utc(2025, 9, 1, 23, 0, 41)  # CEST


def test_guest_output_is_bounded() -> None:
    lines = [
        "INFO: Starting Backup of VM 100 (qemu)",
        *[f"plugin says {i}" for i in range(25)],
        "ERROR: Backup of VM 100 failed - boom",
        "INFO: Failed at 2025-09-02 01:00:41",
        "TASK ERROR: job errors",
    ]
    g = parse_task_log(lines, UPID_MULTI, None).guests[0]
    # 20 lines kept, then a count of the 5 others; the error shows the first 5
    assert g.output == (*[f"plugin says {i}" for i in range(20)], "5 more line(s) omitted")
    assert g.shown_error == (
        "boom — plugin says 0; plugin says 1; plugin says 2; plugin says 3; plugin says 4; …"
    )


def test_multiline_warning_without_prefixes_is_one_warning() -> None:
    # PVE 9 prints a warning whose lines after the first have no level: they are its text
    # (the blank line between its paragraphs is skipped), not output; the result is warning.
    r = parse_task_log(load("efi_warning"), UPID_MULTI, BERLIN)
    assert r.notes == ()
    assert r.task_status_line == "WARNINGS: 1"
    (g,) = r.guests
    assert g.result == "warning"
    assert g.output == ()
    assert g.warnings == (
        "efidisk0 lacks 'ms-cert=2023k': the Microsoft UEFI 2023 certificates\n"
        "may not all be enrolled in this VM.\n"
        "The 2011 certificates expire in 2026, and secure boot updates need the new ones.\n"
        "Enroll them from the disk actions, or run 'qm enroll-efi-keys 110' with the VM off.\n"
        "With BitLocker, first suspend the protectors of every encrypted drive, e.g.\n"
        "manage-bde -protectors -disable C:\n"
        "or the next boot asks for the recovery key.",
    )
    assert g.size == (80 * 1024**3, "transferred")
    assert g.started_at == utc(2026, 1, 20, 0, 0, 3)  # CET


def test_bare_lines_after_a_job_level_warning_continue_it() -> None:
    lines = [
        "WARN: first line of a job-level warning",
        "its second line",
        "INFO: starting new backup job: vzdump 100",
        "TASK WARNINGS: 1",
    ]
    r = parse_task_log(lines, UPID_MULTI, None)
    assert r.job_warnings == ("first line of a job-level warning\nits second line",)
    assert r.notes == ()


@pytest.mark.parametrize(
    ("first", "more", "expected"),
    [
        (
            "error creating snapshot -",
            ["rbd: image is busy"],
            "rbd: image is busy — error creating snapshot -",
        ),
        ("", ["only the cause"], "only the cause"),
        ("self-contained", ["", "detail"], "self-contained — detail"),
        ("one line", [], "one line"),
    ],
)
def test_failure_message_order(first: str, more: list[str], expected: str) -> None:
    lines = [
        "INFO: Starting Backup of VM 100 (qemu)",
        f"ERROR: Backup of VM 100 failed - {first}",
        *[f"ERROR: {m}" for m in more],
        "INFO: Failed at 2025-09-02 01:00:41",
        "TASK ERROR: job errors",
    ]
    assert parse_task_log(lines, UPID_MULTI, None).guests[0].error == expected


_BARE = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",),
        blacklist_characters="\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029",
    ),
    min_size=1,
    max_size=40,
).filter(
    lambda t: t.strip() != "" and not t.strip().startswith(("INFO:", "ERROR:", "WARN:", "TASK "))
)


@settings(max_examples=150)
@given(
    name=st.sampled_from(["example_a", "example_b", "multiline_error", "file_targets", "warnings"]),
    inserts=st.lists(st.tuples(st.integers(min_value=1, max_value=200), _BARE), max_size=6),
)
def test_bare_lines_never_change_a_result(name: str, inserts: list[tuple[int, str]]) -> None:
    # Lines without a level, anywhere after the first line, change no guest's result or error
    # and no job outcome: they only become output, warning text or parser remarks.
    lines = load(name)
    before = parse_task_log(lines, UPID_MULTI, BERLIN)
    for position, text in inserts:
        lines.insert(min(position, len(lines) - 1), text)
    after = parse_task_log(lines, UPID_MULTI, BERLIN)
    assert [(g.vmid, g.result, g.error, g.size) for g in after.guests] == [
        (g.vmid, g.result, g.error, g.size) for g in before.guests
    ]
    assert (after.job_outcome, after.task_status_line) == (
        before.job_outcome,
        before.task_status_line,
    )


@settings(max_examples=300)
@given(st.text(alphabet=" \t'\"\\=-{}ab1,\n", max_size=30))
def test_command_split_matches_shlex(cmdline: str) -> None:
    # the header's fast split must give exactly what POSIX shlex gives (or fail like it)
    from pve_backup_report.analysis.tasklog import _split_command

    try:
        expected: list[str] | None = shlex.split(cmdline)
    except ValueError:
        expected = None
    try:
        got: list[str] | None = _split_command(cmdline)
    except ValueError:
        got = None
    assert got == expected


def test_id_lists_keep_first_order_without_duplicates() -> None:
    lines = [
        "INFO: starting new backup job: vzdump 7 3 7 --vmid '3,9;1 9' --storage x",
        "INFO: skip external VMs: 5, 3, 5",
        "INFO: skip external VMs: 3, 8",
        "TASK OK",
    ]
    r = parse_task_log(lines, UPID_MULTI, None)
    assert r.header is not None and r.header.vmids == (7, 3, 9, 1)
    assert r.skipped_external == (5, 3, 8)

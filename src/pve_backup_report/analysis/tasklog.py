"""Turn a vzdump task log into per-guest evidence, without I/O and without ever raising.

Why: a PVE backup job runs as ONE task per node covering many guests, and its index status only
says ``OK``, ``WARNINGS: n`` or ``job errors``. Which guest failed, when each guest was backed up,
to which archive, and why it failed is written only in the task log. This module reads that log
(the lines of ``GET /nodes/{node}/tasks/{upid}/log``, without the ``{"n","t"}`` wrapper) and
returns a frozen, typed `TaskLogResult`. Logs are remote data: unknown, cut or garbled lines are
tolerated and reported in ``notes``; the parser never raises.

Times. Task-log lines carry no timestamps; ``Backup started at``, ``Backup finished at`` and
``Failed at`` are in the node's LOCAL time, ``%Y-%m-%d %H:%M:%S``. They are converted as follows
(the rule used is reported in ``TaskLogResult.time_source``):

1. ``"node_tz"``: a time zone was given. Each local time is localised with it; in the ambiguous
   hour of a DST change the fold closest to a hint is chosen (the UTC time in the PBS archive
   name for a start; the start plus the duration for an end), else the first fold.
2. ``"archive_offset"``: no time zone, but one guest has both a local start time and a PBS
   archive name (``vm/100/2024-04-30T23:00:02Z``, written in UTC from the same clock reading).
   Their difference, rounded to 15 minutes (and accepted only if within 60 s of that), is the
   node's UTC offset and is applied to every local time of this log. A DST change during the
   job is not seen.
3. ``"upid_offset"``: no time zone and no PBS archive. The offset is estimated from the UPID
   start time and the first ``Backup started at`` line, rounded to 15 minutes, and accepted only
   when no global-lock wait was logged and the first guest then started 0-300 s (5 s clock slack)
   after the task. A setup longer than 15 minutes would fool this rule.
4. ``"archive_only"`` / ``"none"``: nothing above applies. A guest's ``started_at`` is the UTC
   time of its PBS archive name if it has one, else None; ``ended_at`` is then start + duration.
   The caller still has ``upid.started_at`` for the task as a whole.

``duration_s`` comes from ``Finished Backup of VM <id> (HH:MM:SS)``; without it, end - start.

Lines without a level belong to the guest block they sit in (or the one that just ended):
``GuestAttempt.output``, shown after a failed guest's error (`GuestAttempt.shown_error`), never
a result change. (A ``job-end`` hook's output, printed after the last guest's end line, lands
with that guest too: the log does not tell them apart.) Right after a ``WARN:`` line they are
the rest of that warning instead, as ``log_warn`` prefixes only the first line of a message.

Errors. vzdump prints a multi-line error as ``ERROR: Backup of VM <id> failed - <first line>``
followed by one ``ERROR:`` line per further line, up to ``INFO: Failed at``; they all make the
guest's ``error``, the cause first when the first line only announces it (see `_compose_error`).

``transferred_bytes`` takes, per guest, the first available of: the qemu line ``transferred <size>
in <n> seconds`` (``in <1 seconds`` for a sub-second run; data read for the backup: the dirty
part when incremental); the sum of the backup client's ``<archive>: had to backup|upload <size>
of <size>`` lines (new data before compression); the sum of older clients' ``<archive>: Upload
size: <size>`` lines; tar's ``Total bytes written: <n>`` (container to a file storage);
``transferred_kind`` says which.
Sizes with binary units (KiB, MiB ...) count in powers of 1024, decimal ones (KB, MB ...) in
powers of 1000, rounded half-up to bytes.

``archive_bytes`` is vzdump's ``archive file size: 189MB`` line, printed for file storages only
(vma, tar, any compression) after the archive is written. vzdump's ``format_size`` divides by
powers of 1024 although it writes KB/MB/GB/TB, and truncates KB and MB to whole numbers (GB and
TB keep two decimals), so the figure is the archive size to within that rounding. `GuestAttempt.
size` prefers it: it is what the backup occupies, where the other figures measure data moved.

Speed. This is the hot spot of a large collection (thousands of logs of dozens of lines). Each
line is classified by plain string prefixes, then its first word picks the one or two patterns
that can apply (`_JOB_HEADS`, `_GUEST_HEADS`): plugin chatter, most of a log, costs a dictionary
lookup. A new line shape gets a first-word entry, not one more pattern tried on every line
(``benchmarks/bench_tasklog.py`` measures it).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from types import MappingProxyType
from typing import Literal

from pve_backup_report.analysis.upid import Upid
from pve_backup_report.model import SizeKind

__all__ = [
    "GuestAttempt",
    "GuestResult",
    "GuestType",
    "JobHeader",
    "JobOutcome",
    "TaskLogResult",
    "TaskStatusClass",
    "TimeSource",
    "TransferKind",
    "fallback_from_upid",
    "map_task_status",
    "parse_task_log",
]

GuestType = Literal["qemu", "lxc"]
GuestResult = Literal["success", "warning", "failure", "undetermined"]
JobOutcome = Literal["finished_ok", "finished_errors", "failed"]
TaskStatusClass = Literal["success", "warning", "failure", "running", "job_errors"]
TimeSource = Literal["node_tz", "archive_offset", "upid_offset", "archive_only", "none"]
TransferKind = Literal["transferred", "uploaded", "tar_stream"]

_MAX_NOTES = 50
_MAX_TEXT = 300  # longest remark excerpt kept from a line
_MAX_MORE = 20  # continuation lines kept per guest message (error, warning, output)
_MAX_MESSAGE = 2000  # longest error or warning text kept for a guest
_SHOWN_OUTPUT = 5  # output lines shown after a failed guest's error


@dataclass(frozen=True)
class JobHeader:
    """The ``starting new backup job: vzdump ...`` line, decoded.

    ``vmids`` are the positional ids (explicit vmid list); ``options`` maps each ``--opt value``
    pair (option order in the log is random) to its unquoted value.
    """

    command_line: str
    vmids: tuple[int, ...]
    options: Mapping[str, str] = field(hash=False)
    storage: str | None
    mode: str | None
    all: bool
    exclude: tuple[int, ...]
    pool: str | None
    node: str | None


@dataclass(frozen=True)
class GuestAttempt:
    """One guest's backup attempt inside a vzdump task. Times are aware UTC datetimes."""

    vmid: int
    guest_type: GuestType | None = None
    result: GuestResult = "undetermined"
    started_at: datetime | None = None
    ended_at: datetime | None = None
    duration_s: int | None = None
    archive: str | None = None
    archive_time: datetime | None = None
    error: str | None = None
    transferred_bytes: int | None = None
    warnings: tuple[str, ...] = ()
    mode: str | None = None
    name: str | None = None
    transferred_kind: TransferKind | None = None  # what transferred_bytes measures
    archive_bytes: int | None = None  # "archive file size" (file storages only)
    output: tuple[str, ...] = ()  # lines without a level in or right after the guest's block

    @property
    def shown_error(self) -> str | None:
        """The error as the report shows it: for a failure, followed by the first lines the
        guest's backup printed without a level (command output, storage plugins, hook scripts),
        which often hold the actual cause."""
        if self.result != "failure" or not self.output:
            return self.error
        shown = "; ".join(self.output[:_SHOWN_OUTPUT])
        if len(self.output) > _SHOWN_OUTPUT:
            shown += "; …"
        return shown if not self.error else f"{self.error} — {shown}"

    @property
    def size(self) -> tuple[int | None, SizeKind | None]:
        """The size to report and what it measures: the archive file when it was printed, else
        the transferred/uploaded figure."""
        if self.archive_bytes is not None:
            return self.archive_bytes, "archive"
        if self.transferred_bytes is not None:
            return self.transferred_bytes, self.transferred_kind
        return None, None


@dataclass(frozen=True)
class TaskLogResult:
    """Everything the log says about the job and each guest it touched."""

    header: JobHeader | None
    skipped_external: tuple[int, ...]
    guests: tuple[GuestAttempt, ...]
    job_outcome: JobOutcome | None
    job_error: str | None
    task_status_line: str | None
    truncated: bool
    undetermined_after_cut: tuple[int, ...]
    notes: tuple[str, ...]
    job_warnings: tuple[str, ...] = ()
    time_source: TimeSource = "none"


# --------------------------------------------------------------------------- line patterns

_A = re.ASCII
_VMID = r"[0-9]{1,15}"
_SIZE = r"([0-9]{1,15}(?:\.[0-9]{1,9})?)\s?([kKMGTPE]?i?B|[kKMGTPE])"

_TASK_RE = re.compile(r"TASK (OK|WARNINGS: ?[0-9]{1,15}|ERROR: ?(.*))", _A | re.DOTALL)
_HEADER_RE = re.compile(r"starting new backup job: (.*)", _A | re.DOTALL)
_SKIP_RE = re.compile(r"skip external VMs: (.*)", _A)
_START_RE = re.compile(rf"Starting Backup of VM ({_VMID})(?: \(([^)]*)\))?", _A)
_LOCAL_TIME = r"([0-9]{4})-([0-9]{2})-([0-9]{2}) ([0-9]{2}):([0-9]{2}):([0-9]{2})"
_STARTED_AT_RE = re.compile(rf"Backup started at {_LOCAL_TIME}", _A)
_FINISHED_AT_RE = re.compile(rf"Backup finished at {_LOCAL_TIME}", _A)
_FAILED_AT_RE = re.compile(rf"Failed at {_LOCAL_TIME}", _A)
_FINISHED_RE = re.compile(
    rf"Finished Backup of VM ({_VMID}) \(([0-9]{{1,9}}):([0-9]{{2}}):([0-9]{{2}})\)", _A
)
_FAILED_RE = re.compile(rf"Backup of VM ({_VMID}) failed -\s?(.*)", _A | re.DOTALL)
_JOB_OK = "Backup job finished successfully"
_JOB_ERRORS = "Backup job finished with errors"
_JOB_FAILED_RE = re.compile(r"Backup job failed - (.*)", _A | re.DOTALL)
_MODE_RE = re.compile(r"backup mode: (\S+)", _A)
_MODE_FALLBACK_RE = re.compile(r"trying '([^']+)' mode instead", _A)
_NAME_RE = re.compile(r"(?:VM|CT) Name: (.*)", _A | re.DOTALL)
_PBS_ARCHIVE_RE = re.compile(r"creating Proxmox Backup Server archive '([^']*)'", _A)
_FILE_ARCHIVE_RE = re.compile(r"creating (?:vzdump )?archive '([^']*)'", _A)
_PBS_NAME_TIME_RE = re.compile(
    r"(?:^|/)(?:vm|ct|host)/[^/]+/([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})Z$",
    _A,
)
_FILE_NAME_TIME_RE = re.compile(
    r"vzdump-(?:qemu|lxc|openvz)-[0-9]+-([0-9]{4})_([0-9]{2})_([0-9]{2})-([0-9]{2})_([0-9]{2})_([0-9]{2})",
    _A,
)
# "<1 seconds": a sub-second run (qemu-server prints it instead of the rate since 2020)
_QEMU_TRANSFERRED_RE = re.compile(rf"transferred {_SIZE} in (?:[0-9]+|<1) seconds", _A)
_CLIENT_HAD_TO_RE = re.compile(rf"\S+: had to (?:backup|upload) {_SIZE} of ", _A)
_CLIENT_UPLOAD_SIZE_RE = re.compile(rf"\S+: Upload size: {_SIZE}", _A)
_TAR_TOTAL_RE = re.compile(r"Total bytes written: ([0-9]{1,20})", _A)
_ARCHIVE_SIZE_RE = re.compile(
    r"archive file size: ([0-9]{1,15}(?:\.[0-9]{1,9})?)\s?([KMGTPE]?)i?B", _A | re.IGNORECASE
)
_LOCK_WAIT_RE = re.compile(r"trying to get global lock", _A)
_KNOWN_JOB_LEVEL_RE = re.compile(r"got global lock|notified via target|sending notification", _A)

# First word of a message -> which structural line it may be (job header, guest start/end ...).
_JOB_HEADS: dict[str, str] = {
    "starting": "starting",
    "skip": "skip",
    "Starting": "Starting",
    "Backup": "Backup",
    "Finished": "Finished",
    "Failed": "Failed",
}
_KNOWN_JOB_LEVEL_HEADS = frozenset({"got", "notified", "sending"})

# First word of a message -> the only line shapes it can start. Dispatching on it keeps the
# per-line cost flat however many shapes are known (the parser is the hot spot of a large run).
_GUEST_HEADS: dict[str, str] = {
    "Backup": "started",
    "backup": "mode",
    "trying": "mode",
    "VM": "name",
    "CT": "name",
    "creating": "creating",
    "transferred": "transferred",
    "Total": "total",
    "archive": "archive",
}

_UNITS: dict[str, int] = {
    "B": 1,
    "KIB": 1024,
    "MIB": 1024**2,
    "GIB": 1024**3,
    "TIB": 1024**4,
    "PIB": 1024**5,
    "EIB": 1024**6,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "TB": 1000**4,
    "PB": 1000**5,
    "EB": 1000**6,
    "K": 1024,
    "M": 1024**2,
    "G": 1024**3,
    "T": 1024**4,
    "P": 1024**5,
    "E": 1024**6,
}

_TRUE = frozenset({"1", "yes", "on", "true"})


# --------------------------------------------------------------------------- helpers


class _Notes:
    """Bounded list of parser remarks (a hostile log must not make it grow without limit)."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.dropped = 0

    def add(self, text: str) -> None:
        if len(self.items) < _MAX_NOTES:
            self.items.append(text)
        else:
            self.dropped += 1

    def freeze(self) -> tuple[str, ...]:
        if self.dropped:
            return (*self.items, f"{self.dropped} more remark(s) omitted")
        return tuple(self.items)


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 3] + "..."


def _size_to_bytes(number: str, unit: str) -> int | None:
    mult = _UNITS.get(unit.upper())
    if mult is None:
        return None
    try:
        value = Decimal(number) * mult
    except InvalidOperation:
        return None
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _binary_size(number: str, prefix: str) -> int | None:
    """``format_size`` figures: KB/MB/GB/TB are powers of 1024 there, whatever the letters say."""
    try:
        value = Decimal(number) * 1024 ** "BKMGTPE".index(prefix.upper() or "B")
    except (InvalidOperation, ValueError):
        return None
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _naive(m: re.Match[str]) -> datetime | None:
    try:
        y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
        return datetime(y, mo, d, h, mi, s)
    except (ValueError, OverflowError):
        return None


_ID_SEP_RE = re.compile(r"[\s,;]+")


def _split_ids(text: str) -> tuple[int, ...]:
    """Integers from a ``1, 2;3 4`` style list; non-numeric items are skipped."""
    seen: dict[int, None] = {}  # insertion-ordered set: long lists stay linear
    for part in _ID_SEP_RE.split(text):
        if part.isascii() and part.isdigit() and len(part) <= 15:
            seen[int(part)] = None
    return tuple(seen)


_SIMPLE_WORD_RE = re.compile(r"(?:[^ \t\r\n'\"\\]+|'[^']*')+")


def _split_command(cmdline: str) -> list[str]:
    """``shlex.split`` (POSIX), with a fast path for what PVE prints: words, and values in
    single quotes. Without double quotes or backslashes and with balanced single quotes, a word
    is its characters minus the quotes. Raises ValueError like shlex on unbalanced quoting."""
    if '"' in cmdline or "\\" in cmdline or cmdline.count("'") % 2:
        return shlex.split(cmdline)
    return [word.replace("'", "") for word in _SIMPLE_WORD_RE.findall(cmdline)]


def _parse_header(cmdline: str, notes: _Notes) -> JobHeader:
    try:
        tokens = _split_command(cmdline)
    except ValueError:
        notes.add("job header: unbalanced quoting, split on spaces instead")
        tokens = cmdline.split()
    if tokens and tokens[0] == "vzdump":
        tokens = tokens[1:]
    vmids: dict[int, None] = {}  # insertion-ordered set
    options: dict[str, str] = {}
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.startswith("--") and len(tok) > 2:
            name, eq, inline = tok[2:].partition("=")
            if eq:
                options[name] = inline
                i += 1
            elif i + 1 < len(tokens):
                # PVE always prints "--opt value" pairs, so the next token is the value even if
                # it happens to start with "--".
                options[name] = tokens[i + 1]
                i += 2
            else:
                notes.add(f"job header: option --{_clip(name)} has no value")
                options[name] = ""
                i += 1
        elif tok.isascii() and tok.isdigit() and len(tok) <= 15:
            vmids[int(tok)] = None
            i += 1
        else:
            notes.add(f"job header: unexpected word {_clip(tok)!r}")
            i += 1
    if "vmid" in options:
        vmids.update(dict.fromkeys(_split_ids(options["vmid"])))
    return JobHeader(
        command_line=cmdline,
        vmids=tuple(vmids),
        options=MappingProxyType(options),
        storage=options.get("storage"),
        mode=options.get("mode"),
        all=options.get("all", "").strip().lower() in _TRUE,
        exclude=_split_ids(options.get("exclude", "")),
        pool=options.get("pool"),
        node=options.get("node"),
    )


@dataclass
class _Block:
    """Mutable per-guest state while scanning; frozen into a GuestAttempt at the end."""

    vmid: int
    guest_type: GuestType | None = None
    started_local: datetime | None = None
    ended_local: datetime | None = None
    duration_s: int | None = None
    finished: bool = False
    failed: bool = False
    error: str | None = None
    archive: str | None = None
    archive_time: datetime | None = None  # UTC, PBS names only
    archive_local: datetime | None = None  # local, vzdump file names only
    warnings: list[str] = field(default_factory=list)
    error_lines: list[str] = field(default_factory=list)  # ERROR lines before a failure line
    error_more: list[str] = field(default_factory=list)  # the failure message's next lines
    output: list[str] = field(default_factory=list)  # lines without a level (see `add_output`)
    output_dropped: int = 0
    mode: str | None = None
    name: str | None = None
    qemu_transferred: int | None = None
    client_had_to: int | None = None
    client_upload_size: int | None = None
    tar_total: int | None = None
    archive_size: int | None = None

    @property
    def terminated(self) -> bool:
        return self.finished or self.failed

    def add_output(self, text: str) -> None:
        """Keep a line the guest's backup printed without a level: raw command output (LVM,
        ``command ... failed: exit code N``), storage plugins (``[INFO]: TrueNAS: ...``), hook
        scripts after ``Backup finished at``. Bounded: a chatty plugin cannot grow it."""
        if len(self.output) < _MAX_MORE:
            self.output.append(_clip(text))
        else:
            self.output_dropped += 1

    def transferred(self) -> tuple[int | None, TransferKind | None]:
        if self.qemu_transferred is not None:
            return self.qemu_transferred, "transferred"
        for value in (self.client_had_to, self.client_upload_size):
            if value is not None:
                return value, "uploaded"
        if self.tar_total is not None:
            return self.tar_total, "tar_stream"
        return None, None


def _add(current: int | None, value: int | None) -> int | None:
    if value is None:
        return current
    return value if current is None else current + value


def _guest_line(block: _Block, level: str, text: str, head: str, notes: _Notes) -> None:
    """Lines inside a guest block that are neither start nor end markers.

    ``head`` is the first word of ``text``: it picks the one pattern that can apply, so plugin
    chatter (most of a log) costs a dictionary lookup instead of a regex per known line shape.
    """
    if level == "ERROR":
        if not block.failed:
            block.error_lines.append(text)
        elif len(block.error_more) < _MAX_MORE:
            # vzdump prints a multi-line error as one ERROR line each, up to "Failed at"
            block.error_more.append(text)
        return
    kind = _GUEST_HEADS.get(head)
    if kind is None:
        if head.endswith(":"):  # "<archive>: had to backup ..." from the backup client
            if (m := _CLIENT_HAD_TO_RE.match(text)) is not None:
                block.client_had_to = _add(block.client_had_to, _size_to_bytes(m[1], m[2]))
            elif (m := _CLIENT_UPLOAD_SIZE_RE.match(text)) is not None:
                block.client_upload_size = _add(
                    block.client_upload_size, _size_to_bytes(m[1], m[2])
                )
        return  # any other INFO line is plugin chatter: ignored on purpose
    if kind == "started":
        if (m := _STARTED_AT_RE.fullmatch(text)) is not None:
            block.started_local = _naive(m)
            if block.started_local is None:
                notes.add(f"VM {block.vmid}: invalid start time {_clip(text)!r}")
    elif kind == "mode":
        if (m := _MODE_RE.fullmatch(text) or _MODE_FALLBACK_RE.fullmatch(text)) is not None:
            block.mode = m[1]  # "trying 'suspend' mode instead" overrides the announced mode
    elif kind == "name":
        if block.name is None and (m := _NAME_RE.fullmatch(text)) is not None:
            block.name = m[1]
    elif kind == "creating":
        if (m := _PBS_ARCHIVE_RE.fullmatch(text)) is not None:
            block.archive = m[1]
            if (t := _PBS_NAME_TIME_RE.search(m[1])) is not None and (n := _naive(t)) is not None:
                block.archive_time = n.replace(tzinfo=UTC)
        elif (m := _FILE_ARCHIVE_RE.fullmatch(text)) is not None:
            block.archive = m[1].rsplit("/", 1)[-1]
            if (t := _FILE_NAME_TIME_RE.search(block.archive)) is not None:
                block.archive_local = _naive(t)
    elif kind == "transferred":
        if (m := _QEMU_TRANSFERRED_RE.match(text)) is not None:
            block.qemu_transferred = _size_to_bytes(m[1], m[2])
    elif kind == "total" and (m := _TAR_TOTAL_RE.match(text)) is not None:
        block.tar_total = int(m[1])
    elif kind == "archive" and (m := _ARCHIVE_SIZE_RE.fullmatch(text)) is not None:
        block.archive_size = _binary_size(m[1], m[2])


# --------------------------------------------------------------------------- time conversion

_Localize = Callable[[datetime, datetime | None], datetime | None]


def _round_offset(delta: timedelta) -> tuple[int, float]:
    """(offset rounded to 15 min in seconds, residual seconds)."""
    secs = delta.total_seconds()
    rounded = round(secs / 900) * 900
    return rounded, secs - rounded


def _tz_localizer(tz: tzinfo) -> _Localize:
    def conv(naive: datetime, hint: datetime | None) -> datetime | None:
        try:
            first = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
            second = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
        except (ValueError, OverflowError):
            return None
        if first == second or hint is None:
            return first
        return min((first, second), key=lambda c: abs(c - hint))

    return conv


def _offset_localizer(offset_s: int) -> _Localize:
    def conv(naive: datetime, _hint: datetime | None) -> datetime | None:  # fixed offset: no fold
        try:
            return (naive - timedelta(seconds=offset_s)).replace(tzinfo=UTC)
        except (ValueError, OverflowError):
            return None

    return conv


def _choose_localizer(
    blocks: Sequence[_Block], tz: tzinfo | None, upid: Upid | None, lock_wait: bool
) -> tuple[_Localize | None, TimeSource]:
    if tz is not None:
        return _tz_localizer(tz), "node_tz"
    for b in blocks:
        if b.started_local is not None and b.archive_time is not None:
            offset, residual = _round_offset(b.started_local - b.archive_time.replace(tzinfo=None))
            if abs(residual) <= 60 and abs(offset) <= 14 * 3600:
                return _offset_localizer(offset), "archive_offset"
    if upid is not None and not lock_wait:
        first = next((b.started_local for b in blocks if b.started_local is not None), None)
        if first is not None:
            try:
                task_start = upid.started_at.replace(tzinfo=None)
            except (ValueError, OverflowError):
                task_start = None
            if task_start is not None:
                offset, residual = _round_offset(first - task_start)
                if -5 <= residual <= 300 and abs(offset) <= 14 * 3600:
                    return _offset_localizer(offset), "upid_offset"
    if any(b.archive_time is not None for b in blocks):
        return None, "archive_only"
    return None, "none"


def _safe_add(start: datetime | None, seconds: int | None) -> datetime | None:
    if start is None or seconds is None:
        return None
    try:
        return start + timedelta(seconds=seconds)
    except (OverflowError, ValueError):
        return None


# --------------------------------------------------------------------------- result building


def _compose_error(first: str | None, more: Sequence[str]) -> str | None:
    """A guest's whole failure message on one line, its cause first.

    vzdump prints ``Backup of VM <id> failed - <first line>`` then one ``ERROR:`` line per further
    line of the message. When the first line only announces what follows (it ends with ``:`` as
    in ``API Return-Code: 500 ... because:``, or with `` -``, or is empty), the next lines are
    the cause and come first, the announcement after `` — ``; otherwise the order is kept.
    """
    rest = "; ".join(m for m in more if m)
    if not rest:
        return first
    if not first:
        text = rest
    elif first.endswith((":", " -")):
        text = f"{rest} — {first}"
    else:
        text = f"{first} — {rest}"
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 3] + "..."


def _freeze_block(
    b: _Block,
    conv: _Localize | None,
    job_outcome: JobOutcome | None,
    job_error: str | None,
    status_failure: str | None,
    truncated: bool,
    notes: _Notes,
) -> GuestAttempt:
    if conv is not None:
        started = conv(b.started_local, b.archive_time) if b.started_local is not None else None
    else:
        started = b.archive_time
    ended: datetime | None = None
    if b.ended_local is not None and conv is not None:
        ended = conv(b.ended_local, _safe_add(started, b.duration_s) or started)
    duration = b.duration_s
    if duration is None and started is not None and ended is not None and ended >= started:
        duration = int((ended - started).total_seconds())
    if ended is None:
        ended = _safe_add(started, b.duration_s)
    archive_time = b.archive_time
    if archive_time is None and b.archive_local is not None and conv is not None:
        archive_time = conv(b.archive_local, started)

    warnings = list(b.warnings)
    error = _compose_error(b.error, b.error_more)
    result: GuestResult
    if b.failed:
        result = "failure"
    elif b.finished:
        if b.error_lines:
            notes.add(f"VM {b.vmid}: ERROR line(s) in a finished backup, counted as warnings")
            warnings.extend(f"ERROR: {e}" for e in b.error_lines)
        result = "warning" if warnings else "success"
    elif job_outcome == "failed" or status_failure is not None:
        result = "failure"
        error = job_error or status_failure or (b.error_lines[-1] if b.error_lines else None)
    else:
        result = "undetermined"
        if not truncated:
            notes.add(f"VM {b.vmid}: started but neither finished nor failed in the log")
    transferred, transferred_kind = b.transferred()
    return GuestAttempt(
        vmid=b.vmid,
        guest_type=b.guest_type,
        result=result,
        started_at=started,
        ended_at=ended,
        duration_s=duration,
        archive=b.archive,
        archive_time=archive_time,
        error=error,
        transferred_bytes=transferred,
        warnings=tuple(warnings),
        mode=b.mode,
        name=b.name,
        transferred_kind=transferred_kind,
        archive_bytes=b.archive_size,
        output=(
            (*b.output, f"{b.output_dropped} more line(s) omitted")
            if b.output_dropped
            else tuple(b.output)
        ),
    )


def _split_lines(lines: Iterable[str] | str) -> list[str]:
    """Each input item may itself hold newlines; a leading BOM is dropped (CRs go with the
    strip of each line in `_parse`)."""
    source = [lines] if isinstance(lines, str) else lines
    out: list[str] = []
    for item in source:
        text = item if isinstance(item, str) else str(item)
        if "\n" in text:
            out.extend(text.split("\n"))
        else:
            out.append(text)
    if out:
        out[0] = out[0].removeprefix("\ufeff")
    return out


def parse_task_log(
    lines: Iterable[str] | str,
    upid: Upid | None,
    tz: tzinfo | None,
    truncated: bool = False,
    *,
    task_status: str | None = None,
) -> TaskLogResult:
    """Parse a vzdump task log. Never raises; oddities go to ``notes``.

    ``truncated`` says the caller did not get the whole log (cut at the end). ``task_status`` is
    optional: the index status (``OK``, ``job errors``, ``unexpected status`` ...); when the log
    has no ``TASK`` line it decides the fate of guests left open (failure if it is a failure).
    """
    try:
        return _parse(lines, upid, tz, truncated, task_status)
    except Exception as exc:  # defensive: remote data must never crash the report
        return TaskLogResult(
            header=None,
            skipped_external=(),
            guests=(),
            job_outcome=None,
            job_error=None,
            task_status_line=None,
            truncated=truncated,
            undetermined_after_cut=(),
            notes=(f"internal parser error: {type(exc).__name__}: {_clip(str(exc))}",),
        )


def _parse(
    lines: Iterable[str] | str,
    upid: Upid | None,
    tz: tzinfo | None,
    truncated: bool,
    task_status: str | None,
) -> TaskLogResult:
    notes = _Notes()
    header: JobHeader | None = None
    skipped: dict[int, None] = {}  # insertion-ordered set
    blocks: list[_Block] = []
    current: _Block | None = None  # block that receives lines
    tail: _Block | None = None  # block that just ended: gets the output printed after its end
    open_warn: list[str] | None = None  # warnings whose last one the next bare lines continue
    job_outcome: JobOutcome | None = None
    job_error: str | None = None
    task_line: str | None = None
    job_warnings: list[str] = []
    lock_wait = False
    seen_any = False

    for lineno, raw in enumerate(_split_lines(lines), start=1):
        line = raw.strip()
        if not line:
            continue
        if task_line is not None:
            notes.add(f"line {lineno}: text after the TASK line: {_clip(line)!r}")
            continue
        seen_any = True
        # The level prefix by plain string comparison (no regex): every line pays for this.
        if line.startswith("INFO:"):
            level, text = "INFO", line[5:].lstrip()
        elif line.startswith("ERROR:"):
            level, text = "ERROR", line[6:].lstrip()
        elif line.startswith("WARN:"):
            level, text = "WARN", line[5:].lstrip()
        elif line.startswith("TASK ") and (t := _TASK_RE.fullmatch(line)) is not None:
            task_line = t[1]
            if t[2] is not None and job_outcome is None:
                if t[2].strip() == "job errors":
                    job_outcome = "finished_errors"
                else:
                    job_outcome = "failed"
                    job_error = t[2].strip()
            elif t[2] is None and job_outcome is None and (header is not None or blocks):
                job_outcome = "finished_ok"
            current = tail = None
            continue
        elif open_warn:
            # log_warn prints a multi-line message with one "WARN:" prefix (PVE 9's EFI
            # certificate warning): the lines after it, up to the next prefixed line, are its own
            if len(open_warn[-1]) + len(line) < _MAX_MESSAGE:
                open_warn[-1] += "\n" + line
            continue
        elif (owner := current or tail) is not None:
            owner.add_output(line)  # output without a level: the guest's, never a result
            continue
        else:
            if lineno == 1 and line == "no content":
                notes.add("empty task log ('no content')")
            elif lineno == 1 and line.startswith("unable to open file"):
                notes.add(f"task log unavailable: {_clip(line)}")
            else:
                notes.add(f"line {lineno}: unrecognised line: {_clip(line)!r}")
            continue
        open_warn = None
        space = text.find(" ")
        head = text if space < 0 else text[:space]
        kind = _JOB_HEADS.get(head)

        if kind is None:
            pass
        elif level == "INFO" and kind == "starting":
            if (m := _HEADER_RE.fullmatch(text)) is not None:
                if header is not None:
                    notes.add(f"line {lineno}: second job header ignored")
                else:
                    header = _parse_header(m[1], notes)
                current = tail = None
                continue
        elif level == "INFO" and kind == "skip":
            if (m := _SKIP_RE.fullmatch(text)) is not None:
                skipped.update(dict.fromkeys(_split_ids(m[1])))
                continue
        elif level == "INFO" and kind == "Starting":
            if (m := _START_RE.fullmatch(text)) is not None:
                if current is not None and not current.terminated:
                    notes.add(f"VM {current.vmid}: block ended by the next guest without a result")
                gtype = m[2]
                block = _Block(vmid=int(m[1]))
                if gtype == "qemu":
                    block.guest_type = "qemu"
                elif gtype == "lxc":
                    block.guest_type = "lxc"
                elif gtype is not None:
                    notes.add(f"VM {block.vmid}: unknown guest type {_clip(gtype)!r}")
                blocks.append(block)
                current, tail = block, None
                continue
        elif level == "ERROR" and kind == "Backup":
            if (m := _FAILED_RE.fullmatch(text)) is not None:
                vmid = int(m[1])
                if current is None or current.vmid != vmid:
                    if current is not None and not current.terminated:
                        notes.add(f"VM {current.vmid}: block ended by a failure of VM {vmid}")
                    current = _Block(vmid=vmid)
                    blocks.append(current)
                elif current.finished:
                    notes.add(f"VM {vmid}: failure reported after its Finished line")
                current.failed = True
                current.error = m[2].strip()
                continue
            if (m := _JOB_FAILED_RE.fullmatch(text)) is not None:
                job_outcome = "failed"
                job_error = m[1].strip()
                current = tail = None
                continue
        elif level == "INFO" and kind == "Finished":
            if (m := _FINISHED_RE.fullmatch(text)) is not None:
                vmid = int(m[1])
                if current is None or current.vmid != vmid:
                    notes.add(f"line {lineno}: Finished line for VM {vmid} outside its block")
                    current = _Block(vmid=vmid)
                    blocks.append(current)
                current.finished = True
                current.duration_s = int(m[2]) * 3600 + int(m[3]) * 60 + int(m[4])
                continue
        elif level == "INFO" and kind in ("Backup", "Failed"):
            if (m := _FINISHED_AT_RE.fullmatch(text)) or (m := _FAILED_AT_RE.fullmatch(text)):
                if current is None:
                    notes.add(f"line {lineno}: end time outside a guest block")
                else:
                    current.ended_local = _naive(m)
                    if current.ended_local is None:
                        notes.add(f"VM {current.vmid}: invalid end time {_clip(text)!r}")
                    current, tail = None, current
                continue
            if text == _JOB_OK:
                job_outcome = "finished_ok"
                current = tail = None
                continue
            if text == _JOB_ERRORS:
                job_outcome = "finished_errors"
                current = tail = None
                continue
        if level == "WARN":
            open_warn = current.warnings if current is not None else job_warnings
            open_warn.append(text)
            continue
        if current is not None:
            _guest_line(current, level, text, head, notes)
            continue
        # job-level line outside any guest block
        if head == "trying" and _LOCK_WAIT_RE.match(text):
            lock_wait = True
        elif level == "INFO" and head in _KNOWN_JOB_LEVEL_HEADS and _KNOWN_JOB_LEVEL_RE.match(text):
            pass
        elif tail is not None:
            # after "Backup finished at" / "Failed at": the guest's log-end hook and the like
            tail.add_output(text if level == "INFO" else f"{level}: {text}")
        else:
            notes.add(
                f"line {lineno}: unexpected {level} line outside a guest block: {_clip(text)!r}"
            )

    if not seen_any:
        notes.add("task log has no lines")
    ended = task_line is not None or job_outcome is not None
    if task_line is None and not truncated and seen_any:
        notes.add("no TASK line: task still running or log incomplete")

    status_failure: str | None = None
    if task_line is None and task_status is not None and map_task_status(task_status) == "failure":
        status_failure = task_status.strip()
        if job_outcome is None:
            job_outcome = "failed"
            job_error = status_failure

    conv, source = _choose_localizer(blocks, tz, upid, lock_wait)
    if source in ("archive_only", "none") and any(b.started_local for b in blocks):
        notes.add(f"no time zone and no usable offset: local times not converted ({source})")
    guests = tuple(
        _freeze_block(b, conv, job_outcome, job_error, status_failure, truncated, notes)
        for b in blocks
    )

    after_cut: tuple[int, ...] = ()
    if truncated and ended:
        notes.add("log marked truncated but its end is present")
    elif truncated:
        expected = set(header.vmids) if header is not None else set()
        if upid is not None and upid.vmid is not None:
            expected.add(upid.vmid)
        seen = {b.vmid for b in blocks}
        after_cut = tuple(sorted(expected - seen - set(skipped)))

    if upid is not None:
        if upid.type != "vzdump":
            notes.add(f"UPID type is {upid.type!r}, not 'vzdump'")
        if upid.vmid is not None and any(b.vmid != upid.vmid for b in blocks):
            notes.add(f"UPID names VM {upid.vmid} but the log has other guests")

    return TaskLogResult(
        header=header,
        skipped_external=tuple(skipped),
        guests=guests,
        job_outcome=job_outcome,
        job_error=job_error,
        task_status_line=task_line,
        truncated=truncated,
        undetermined_after_cut=after_cut,
        notes=notes.freeze(),
        job_warnings=tuple(job_warnings),
        time_source=source,
    )


# --------------------------------------------------------------------------- task status


def map_task_status(status: str | None) -> TaskStatusClass:
    """Classify a task status (index ``status`` / ``exitstatus``, or a log ``TASK`` line).

    ``OK`` -> success; ``WARNINGS: n`` -> warning (never a failure); ``job errors`` ->
    job_errors (some guest failed: look per guest); None, ``RUNNING``/``running`` -> running;
    anything else, including ``unexpected status`` and ``unknown``, -> failure. A leading
    ``TASK `` and, for errors, ``ERROR: `` are accepted so log lines classify the same.
    """
    if status is None:
        return "running"
    text = status.strip().removeprefix("TASK ").strip()
    if text in ("RUNNING", "running"):
        return "running"
    if text == "OK":
        return "success"
    if re.fullmatch(r"WARNINGS:\s*[0-9]+", text, _A):
        return "warning"
    text = text.removeprefix("ERROR:").strip()
    if text == "job errors":
        return "job_errors"
    return "failure"


def fallback_from_upid(upid: Upid, status: str | None, endtime: int | None) -> GuestAttempt | None:
    """A GuestAttempt for a single-guest vzdump task whose log is unavailable.

    Uses the UPID id as the vmid and the task status as the result (``job errors`` means the
    one guest failed). Returns None when the UPID names no single guest.
    """
    vmid = upid.vmid
    if upid.type != "vzdump" or vmid is None:
        return None
    cls = map_task_status(status)
    result: GuestResult
    error: str | None = None
    if cls == "success":
        result = "success"
    elif cls == "warning":
        result = "warning"
    elif cls == "running":
        result = "undetermined"
    else:
        result = "failure"
        error = status.strip() if status else None
    started = upid.started_at
    ended: datetime | None = None
    duration: int | None = None
    if endtime is not None and cls != "running":
        try:
            ended = datetime.fromtimestamp(endtime, UTC)
        except (ValueError, OverflowError, OSError):
            ended = None
        if ended is not None and endtime >= upid.starttime:
            duration = endtime - upid.starttime
    return GuestAttempt(
        vmid=vmid,
        result=result,
        started_at=started,
        ended_at=ended,
        duration_s=duration,
        error=error,
    )

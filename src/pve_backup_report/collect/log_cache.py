"""Cache of parsed vzdump task logs, so a second run fetches only logs it has not seen.

Why it is safe: a *finished* task's log never changes, and its parse (`parse_task_log`) depends
only on the log lines, the UPID, the node's time zone, the task's index status and whether the
log was cut. The cache therefore keeps one `CachedLog` per UPID with the inputs that can vary
between runs next to the parse: the time-zone name, the task status and the number of lines. A
cached parse is used only when those match this run (`CachedLog.usable`); otherwise the log is
fetched and parsed again exactly as without a cache. Only finished tasks whose log was read
completely are stored: a running task's log still grows, a cut or unreadable log is not the
whole story. The cache replaces the HTTP fetch of a log and nothing else: which logs are wanted
is still decided by `collect.evidence`, so results are identical with and without a cache.

What a second run still reads, and why (issue 7 asked what else could be skipped safely):

- **Per-node task lists.** New tasks appear at the top and old ones are rotated away, and the
  whole list feeds more than log selection: missed-run detection (which needs every task since
  the judged-from bound), the late-ending overlap scan, the job-run index's start, and the
  ``tasks_seen`` / ``history_oldest`` figures. Stopping the paging at the first page made only
  of cached tasks would silently change those results (a missed run or a late-ending task
  older than the cut is no longer seen), so it is not done. With the default limits a node's
  list is a single page anyway (500 tasks), so there was nothing to save.
- **Guest configs** (one request per guest): notes and disk backup flags can change at any
  time, and PVE offers no list of config digests (the ``digest`` comes only inside the config
  reply itself), so there is no cheap way to know a config is unchanged.
- **Node time zones**: one request per node, and the time zone is one of the cache's keys.

What may be stored (`cacheable`): only the parse of a log that was read successfully and
whole, of a finished task, and that ends with its ``TASK …`` line. A log that failed to load,
answered with the wrong type, was cut, or lacks its final line is parsed for this run only: a
bad answer must not outlive the run that received it (issue 11: one run where task logs
answered garbage left guests critical in every later run).

Payloads are JSON with ``"v": 3`` (version 1 entries could hold such bad parses; version 2
ones lack the continuation lines of errors, archive sizes, size kinds and guest output lines:
both are ignored). An entry is checked when read: an unknown version, fields that do not match the
current dataclasses, values outside their allowed set, or a parse that is not of a complete
log is a miss (the log is simply fetched again and the entry replaced). A database problem
never fails a run: it is logged and the cache acts as empty.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime, tzinfo
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol, get_args

from ..analysis.tasklog import (
    GuestAttempt,
    GuestResult,
    GuestType,
    JobHeader,
    JobOutcome,
    TaskLogResult,
    TimeSource,
    TransferKind,
)
from ..history.store import HistoryStore

if TYPE_CHECKING:
    from ..analysis.evidence import VzdumpTask
    from .tasks import FetchedLog

# 2: only complete logs of finished tasks, entries validated on read (issue 11);
# 3: error continuation lines, archive size and size kinds, guest output lines (issue 13)
PAYLOAD_VERSION = 3

log = logging.getLogger("pve_backup_report")


@dataclass(frozen=True)
class CachedLog:
    """A parsed log and the run-dependent inputs it was parsed with."""

    result: TaskLogResult
    timezone: str | None
    status: str | None
    lines: int

    def usable(self, timezone: str | None, status: str | None, log_limit: int) -> bool:
        """Would fetching and parsing again in this run give exactly ``result``?"""
        return (
            status is not None
            and self.timezone == timezone
            and self.status == status
            and self.lines <= log_limit
        )


def cacheable(task: VzdumpTask, log: FetchedLog, parsed: TaskLogResult | None) -> bool:
    """May this parse be kept for later runs? Only a whole, well-formed log of a finished task:
    read without error or cut, as many lines as PVE said it has, ending with a ``TASK`` line."""
    return (
        parsed is not None
        and not task.running
        and task.status is not None
        and log.available
        and log.error is None
        and not log.truncated
        and bool(log.lines)
        and (log.total is None or log.total == len(log.lines))
        and complete_parse(parsed)
    )


def complete_parse(result: TaskLogResult) -> bool:
    """The parse of a whole log: not cut, and its final ``TASK …`` line was read."""
    return (
        not result.truncated and not result.undetermined_after_cut and bool(result.task_status_line)
    )


class TaskLogCache(Protocol):
    """Parsed task logs by UPID. Implementations never raise on a storage problem."""

    def get(self, upids: Iterable[str]) -> dict[str, CachedLog]: ...

    def put(self, results: Mapping[str, tuple[str, int, CachedLog]]) -> None:
        """Store ``{upid: (node, starttime, cached)}``."""


def timezone_key(tz: tzinfo | None) -> str | None:
    """The name a time zone is cached under (None: no zone known for the node)."""
    return None if tz is None else str(tz)


# --------------------------------------------------------------------------- serialisation

_HEADER_FIELDS = frozenset(f.name for f in fields(JobHeader))
_GUEST_FIELDS = frozenset(f.name for f in fields(GuestAttempt))
_RESULT_FIELDS = frozenset(f.name for f in fields(TaskLogResult))
_GUEST_TIMES = ("started_at", "ended_at", "archive_time")


class _Malformed(ValueError):
    pass


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _time(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Malformed("time")
    return datetime.fromisoformat(value)


def _ints(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        raise _Malformed("int list")
    return tuple(value)


def _strs(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Malformed("str list")
    return tuple(value)


def _object(value: Any, keys: frozenset[str]) -> dict[str, Any]:
    if not isinstance(value, dict) or set(value) != keys:
        raise _Malformed("fields")
    return value


def _encode_header(h: JobHeader) -> dict[str, Any]:
    out: dict[str, Any] = {f: getattr(h, f) for f in _HEADER_FIELDS}
    out.update(vmids=list(h.vmids), exclude=list(h.exclude), options=dict(h.options))
    return out


def _decode_header(value: Any) -> JobHeader:
    d = _object(value, _HEADER_FIELDS)
    options = d["options"]
    if not isinstance(options, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in options.items()
    ):
        raise _Malformed("options")
    return JobHeader(
        **{
            **d,
            "vmids": _ints(d["vmids"]),
            "exclude": _ints(d["exclude"]),
            "options": MappingProxyType(dict(options)),
        }
    )


def _encode_guest(g: GuestAttempt) -> dict[str, Any]:
    out: dict[str, Any] = {f: getattr(g, f) for f in _GUEST_FIELDS}
    out.update({t: _iso(getattr(g, t)) for t in _GUEST_TIMES})
    out["warnings"] = list(g.warnings)
    out["output"] = list(g.output)
    return out


def _choice(value: Any, allowed: Any, optional: bool = False) -> None:
    """``value`` must be one of the Literal type ``allowed``'s values (or None if optional)."""
    if not ((optional and value is None) or value in get_args(allowed)):
        raise _Malformed("value")


def _decode_guest(value: Any) -> GuestAttempt:
    d = _object(value, _GUEST_FIELDS)
    vmid = d["vmid"]
    if not isinstance(vmid, int) or isinstance(vmid, bool) or vmid <= 0:
        raise _Malformed("vmid")
    _choice(d["result"], GuestResult)
    _choice(d["guest_type"], GuestType, optional=True)
    _choice(d["transferred_kind"], TransferKind, optional=True)
    times = {t: _time(d[t]) for t in _GUEST_TIMES}
    return GuestAttempt(
        **{**d, **times, "warnings": _strs(d["warnings"]), "output": _strs(d["output"])}
    )


def encode_log(cached: CachedLog) -> str:
    """The versioned JSON payload of a cached parse."""
    r = cached.result
    result: dict[str, Any] = {f: getattr(r, f) for f in _RESULT_FIELDS}
    result.update(
        header=None if r.header is None else _encode_header(r.header),
        skipped_external=list(r.skipped_external),
        guests=[_encode_guest(g) for g in r.guests],
        undetermined_after_cut=list(r.undetermined_after_cut),
        notes=list(r.notes),
        job_warnings=list(r.job_warnings),
    )
    payload = {
        "v": PAYLOAD_VERSION,
        "timezone": cached.timezone,
        "status": cached.status,
        "lines": cached.lines,
        "result": result,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"))


def decode_log(payload: str) -> CachedLog | None:
    """The cached parse in ``payload``; None for an unknown version or anything malformed."""
    try:
        data = json.loads(payload)
        if not isinstance(data, dict) or data.get("v") != PAYLOAD_VERSION:
            return None
        d = _object(data["result"], _RESULT_FIELDS)
        header = None if d["header"] is None else _decode_header(d["header"])
        if not isinstance(d["guests"], list):
            raise _Malformed("guests")
        _choice(d["job_outcome"], JobOutcome, optional=True)
        _choice(d["time_source"], TimeSource)
        result = TaskLogResult(
            **{
                **d,
                "header": header,
                "skipped_external": _ints(d["skipped_external"]),
                "guests": tuple(_decode_guest(g) for g in d["guests"]),
                "undetermined_after_cut": _ints(d["undetermined_after_cut"]),
                "notes": _strs(d["notes"]),
                "job_warnings": _strs(d["job_warnings"]),
            }
        )
        timezone, status, lines = data["timezone"], data["status"], data["lines"]
        if not (
            (timezone is None or isinstance(timezone, str))
            and isinstance(status, str)
            and isinstance(lines, int)
            and not isinstance(lines, bool)
            and lines > 0
            and complete_parse(result)
        ):
            raise _Malformed("keys")
        return CachedLog(result, timezone, status, lines)
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return None


# --------------------------------------------------------------------------- SQLite


class SqliteTaskLogCache:
    """`TaskLogCache` over the history database (table ``task_cache``).

    The database is opened for each `get`/`put` and closed again, so the cache needs no
    lifetime management by its caller (a run makes one `get` and at most one `put` per wave).
    """

    def __init__(self, path: Path, now: datetime | None = None) -> None:
        self.path = path
        self.now = now

    def get(self, upids: Iterable[str]) -> dict[str, CachedLog]:
        wanted = list(upids)
        if not wanted:
            return {}
        try:
            with HistoryStore(self.path) as store:
                payloads = store.cache_get(wanted)
        except (OSError, sqlite3.Error, RuntimeError) as error:
            log.warning("task-log cache not read: %s", error)
            return {}
        found = {upid: decode_log(payload) for upid, payload in payloads.items()}
        return {upid: cached for upid, cached in found.items() if cached is not None}

    def put(self, results: Mapping[str, tuple[str, int, CachedLog]]) -> None:
        if not results:
            return
        rows = [(u, node, start, encode_log(c)) for u, (node, start, c) in results.items()]
        try:
            with HistoryStore(self.path) as store:
                store.cache_put(rows, self.now or datetime.now().astimezone())
        except (OSError, sqlite3.Error, RuntimeError) as error:
            log.warning("task-log cache not written: %s", error)


__all__ = [
    "PAYLOAD_VERSION",
    "CachedLog",
    "SqliteTaskLogCache",
    "TaskLogCache",
    "cacheable",
    "complete_parse",
    "decode_log",
    "encode_log",
    "timezone_key",
]

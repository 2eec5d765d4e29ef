"""Decode Proxmox task identifiers (UPIDs) without trusting them.

Why: every task we report on (vzdump runs on PVE, verify/GC/prune on PBS) is named by a UPID, and
the UPID is the only place that carries the task's start time, its node, its user/token and, for a
single-guest vzdump run, the guest id. UPIDs come from remote JSON, so a malformed or foreign one
must be rejected with a clear `UpidError` instead of crashing the report.

PVE form (pve-common ``PVE::UPID``)::

    UPID:<node>:<pid 8 hex>:<pstart 8-9 hex>:<starttime 8 hex>:<type>:<id, may be empty>:<user>:

PBS form (proxmox-schema ``upid.rs``) has one more hex field, ``task_id``, between pstart and
starttime, and escapes its worker id systemd-style (``/`` -> ``-``, other bytes -> ``\\xNN``).
A PVE decoder must reject PBS UPIDs, and it does: they have one field more.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["PbsUpid", "Upid", "UpidError", "parse_pbs_upid", "parse_upid", "unescape_worker_id"]


class UpidError(ValueError):
    """The text is not a UPID of the expected form."""


# Same character classes as PVE's decoder (paraphrased): node is a DNS label, pid 8 hex digits,
# pstart 8 or 9 (uptime beyond ~497 days), starttime 8; type/id/user may not hold ':', '/' or
# whitespace; id may be empty; the trailing ':' is mandatory. re.ASCII keeps \s to ASCII.
_PVE_RE = re.compile(
    r"UPID:(?P<node>[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)"
    r":(?P<pid>[0-9A-Fa-f]{8})"
    r":(?P<pstart>[0-9A-Fa-f]{8,9})"
    r":(?P<starttime>[0-9A-Fa-f]{8})"
    r":(?P<type>[^:\s/]+)"
    r":(?P<id>[^:\s/]*)"
    r":(?P<user>[^:\s/]+):",
    re.ASCII,
)

# PBS: task_id 8-16 hex digits. Case is accepted liberally (PBS writes upper case). The worker
# id is escaped, so '/' never appears in it; we still do not forbid it (best effort).
_PBS_RE = re.compile(
    r"UPID:(?P<node>[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)"
    r":(?P<pid>[0-9A-Fa-f]{8})"
    r":(?P<pstart>[0-9A-Fa-f]{8,9})"
    r":(?P<task_id>[0-9A-Fa-f]{8,16})"
    r":(?P<starttime>[0-9A-Fa-f]{8})"
    r":(?P<type>[^:\s]+)"
    r":(?P<id>[^:\s]*)"
    r":(?P<auth>[^:\s]+):",
    re.ASCII,
)

_HEX2 = re.compile(r"[0-9A-Fa-f]{2}", re.ASCII)


def _split_token(user: str) -> str | None:
    """Token name after '!' in ``user@realm!token``, or None when no token is involved."""
    _, sep, token = user.partition("!")
    return token if sep else None


@dataclass(frozen=True)
class Upid:
    """A decoded PVE UPID. ``user`` is the raw user field and may be ``user@realm!token``."""

    raw: str
    node: str
    pid: int
    pstart: int
    starttime: int
    type: str
    id: str
    user: str
    tokenid: str | None

    @property
    def started_at(self) -> datetime:
        """Task start as an aware UTC datetime (the UPID holds an epoch)."""
        return datetime.fromtimestamp(self.starttime, UTC)

    @property
    def userid(self) -> str:
        """The user without the token part (``user@realm``)."""
        return self.user.partition("!")[0]

    @property
    def vmid(self) -> int | None:
        """The id as a guest id when it is one (a single-guest vzdump task), else None."""
        if self.id.isascii() and self.id.isdigit() and len(self.id) <= 15:
            return int(self.id)
        return None


@dataclass(frozen=True)
class PbsUpid:
    """A decoded PBS UPID. ``worker_id`` is unescaped; ``worker_id_raw`` is as found."""

    raw: str
    node: str
    pid: int
    pstart: int
    task_id: int
    starttime: int
    worker_type: str
    worker_id: str
    worker_id_raw: str
    auth_id: str
    tokenid: str | None

    @property
    def started_at(self) -> datetime:
        """Task start as an aware UTC datetime."""
        return datetime.fromtimestamp(self.starttime, UTC)

    @property
    def userid(self) -> str:
        """The auth id without the token part."""
        return self.auth_id.partition("!")[0]


def _require_text(text: object) -> str:
    if not isinstance(text, str):
        raise UpidError(f"UPID must be a string, not {type(text).__name__}")
    return text


def _short(text: str) -> str:
    return text if len(text) <= 80 else text[:77] + "..."


def parse_upid(text: str) -> Upid:
    """Decode a PVE UPID; raise `UpidError` for anything else (including PBS UPIDs)."""
    raw = _require_text(text)
    m = _PVE_RE.fullmatch(raw)
    if m is None:
        raise UpidError(f"unable to parse PVE UPID: {_short(raw)!r}")
    user = m["user"]
    return Upid(
        raw=raw,
        node=m["node"],
        pid=int(m["pid"], 16),
        pstart=int(m["pstart"], 16),
        starttime=int(m["starttime"], 16),
        type=m["type"],
        id=m["id"],
        user=user,
        tokenid=_split_token(user),
    )


def unescape_worker_id(escaped: str) -> str:
    """Undo PBS's systemd-style escaping: ``-`` -> ``/`` and ``\\xNN`` -> byte NN.

    A malformed ``\\x`` sequence is kept literally; invalid UTF-8 is replaced, never raised.
    """
    out = bytearray()
    i = 0
    n = len(escaped)
    while i < n:
        ch = escaped[i]
        if ch == "-":
            out += b"/"
            i += 1
        elif (
            ch == "\\" and escaped.startswith("x", i + 1) and _HEX2.fullmatch(escaped, i + 2, i + 4)
        ):
            out.append(int(escaped[i + 2 : i + 4], 16))
            i += 4
        else:
            out += ch.encode("utf-8", "surrogatepass")
            i += 1
    return out.decode("utf-8", "replace")


def parse_pbs_upid(text: str) -> PbsUpid:
    """Decode a PBS UPID (best effort); raise `UpidError` when it does not have the PBS form."""
    raw = _require_text(text)
    m = _PBS_RE.fullmatch(raw)
    if m is None:
        raise UpidError(f"unable to parse PBS UPID: {_short(raw)!r}")
    auth = m["auth"]
    return PbsUpid(
        raw=raw,
        node=m["node"],
        pid=int(m["pid"], 16),
        pstart=int(m["pstart"], 16),
        task_id=int(m["task_id"], 16),
        starttime=int(m["starttime"], 16),
        worker_type=m["type"],
        worker_id=unescape_worker_id(m["id"]),
        worker_id_raw=m["id"],
        auth_id=auth,
        tokenid=_split_token(auth),
    )

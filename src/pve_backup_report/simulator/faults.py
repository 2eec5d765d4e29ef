"""Fault injection for the simulator.

Why: a reporting tool must degrade gracefully when a node is down, a proxy times out or an
answer is garbage. Faults are matched per request on the API path (the part after
``/api2/json``) *before* authentication and the handler run, so tests can inject them on any
route, known or not.
"""

from __future__ import annotations

import re
import threading
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

FaultKind = Literal[
    "http",
    "timeout",
    "invalid_json",
    "missing_data",
    "offline",
    "latency",
    "reset",
    "wrong_type",
    "truncated",
]
# Faults that let the request run and spoil its successful answer instead of replacing it.
ANSWER_FAULTS = frozenset({"wrong_type", "truncated"})


class Fault(BaseModel):
    """One injected misbehaviour.

    ``route`` is a regular expression searched in the API path (e.g. ``^/cluster/backup$``).
    ``times`` is how many matching requests are affected (``None`` = all of them).
    ``latency_ms`` is the delay of ``latency``; for ``timeout`` it is how long the socket is held
    before being closed (default 60 s, cut short when the server stops).

    ``wrong_type`` and ``truncated`` act on the real answer of a request that succeeds (errors
    pass unchanged): ``wrong_type`` replaces ``data`` with a value of another JSON type (a list
    becomes the string ``message``, an object becomes a list, anything else an object);
    ``truncated`` announces the full ``Content-Length`` but sends only the first half of the
    body, then closes the connection.
    """

    model_config = ConfigDict(extra="forbid")

    route: str
    kind: FaultKind
    status: int = Field(default=500, ge=100, le=999)
    message: str = "simulated failure"
    latency_ms: int = Field(default=0, ge=0)
    times: int | None = Field(default=None, ge=0)


class FaultRegistry:
    """Thread-safe list of active faults; the first matching fault with uses left wins."""

    def __init__(self, faults: list[Fault] | None = None) -> None:
        self._lock = threading.Lock()
        self._items: list[tuple[Fault, re.Pattern[str]]] = []
        self._used: list[int] = []
        for fault in faults or []:
            self.add(fault)

    def add(self, fault: Fault) -> None:
        """Activate ``fault`` (after the ones already registered)."""
        pattern = re.compile(fault.route)
        with self._lock:
            self._items.append((fault, pattern))
            self._used.append(0)

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._items.clear()
            self._used.clear()

    def match(self, path: str) -> Fault | None:
        """Return the fault to apply to ``path`` and consume one of its uses."""
        with self._lock:
            for index, (fault, pattern) in enumerate(self._items):
                if fault.times is not None and self._used[index] >= fault.times:
                    continue
                if pattern.search(path):
                    self._used[index] += 1
                    return fault
        return None

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

"""Progress on stderr for long collections — only on a terminal, never in logs or cron mail."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import IO, Any

Stage = Callable[[str], None]


class Progress(AbstractContextManager["Progress"]):
    """A spinner with the current stage; a no-op unless `stream` is a TTY."""

    def __init__(self, stream: IO[str], enabled: bool = True) -> None:
        self._status: Any = None
        self._context: AbstractContextManager[Any] = nullcontext()
        if enabled and hasattr(stream, "isatty") and stream.isatty():
            from rich.console import Console

            console = Console(file=stream, stderr=True)
            self._status = console.status("starting…", spinner="dots")
            self._context = self._status

    def __enter__(self) -> Progress:
        self._context.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._context.__exit__(*exc)

    def stage(self, text: str) -> None:
        if self._status is not None:
            self._status.update(text)

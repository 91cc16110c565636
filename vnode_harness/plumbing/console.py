"""The one way the harness makes a rich Console: whole lines when the output is not a terminal.

Rich wraps and cuts at 80 columns when it cannot ask a terminal for its width, so a piped `vnode
catalogue` cut every MUST statement and a CI log showed `vnode report verify` and its path on two lines.
A log or a file has no width: there, lines are printed whole (soft wrap) and tables get as wide as their
content, unless COLUMNS says otherwise. On a terminal, rich's own behaviour (its width) is kept.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import IO, Any

from rich.console import Console

PIPE_WIDTH = 100_000
"""The width of a console that is not a terminal: larger than any line the harness prints."""


def make_console(*, stderr: bool = False, file: IO[str] | None = None, **options: Any) -> Console:
    """A Console on stdout (stderr, or `file`); `options` are rich's (quiet, record, ...)."""
    stream = file if file is not None else (sys.stderr if stderr else sys.stdout)
    if "width" not in options and not _is_terminal(stream):
        options |= {"width": _columns() or PIPE_WIDTH, "soft_wrap": True}
    return Console(stderr=stderr, file=file, **options)


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream
        return False


def _columns() -> int | None:
    value = os.environ.get("COLUMNS", "")
    return int(value) if value.isdigit() and int(value) > 0 else None


class HeldStream:
    """A stream written through to `target` until `hold()`, then kept until `release()`: what background
    threads print (shards starting) must not land inside pytest's progress line, or a CI log read line
    by line shows `....shard-3: ready` glued to it."""

    def __init__(self, target: IO[str]) -> None:
        self._target = target
        self._held: list[str] | None = None
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            if self._held is None:
                self._target.write(text)
                self._target.flush()
            else:
                self._held.append(text)
        return len(text)

    def flush(self) -> None:
        with self._lock:
            if self._held is None:
                self._target.flush()

    def isatty(self) -> bool:
        return _is_terminal(self._target)

    def hold(self) -> None:
        with self._lock:
            if self._held is None:
                self._held = []

    def release(self) -> None:
        """Write what was kept, and write through from now on."""
        with self._lock:
            held, self._held = self._held or [], None
            if held:
                self._target.write("".join(held))
                self._target.flush()

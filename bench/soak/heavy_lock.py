"""The machine-wide lock of cluster-heavy work, taken per suite run so others get in between runs."""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path
from types import TracebackType

from vnode_harness.plumbing.file_lock import file_lock


class HeavyLock:
    """An exclusive flock(2) on `path` (the same lock `flock FILE command` takes); no path: no lock.

    Held only for the heavy part of each step (a cluster start, one suite run), never for a whole soak:
    on a shared machine one soak must not keep everyone else's cluster work waiting for an hour."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.waited_seconds = 0.0
        self._held = contextlib.ExitStack()

    def __enter__(self) -> HeavyLock:
        started = time.monotonic()
        if self.path is not None:
            self._held.enter_context(file_lock(self.path, on_wait=self._say_waiting))
        self.waited_seconds = round(time.monotonic() - started, 1)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._held.close()

    def _say_waiting(self) -> None:
        print(f"waiting for {self.path} (another cluster-heavy command holds it)", file=sys.stderr)

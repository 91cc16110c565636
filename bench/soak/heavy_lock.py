"""The machine-wide lock of cluster-heavy work, taken per suite run so others get in between runs."""

from __future__ import annotations

import fcntl
import os
import sys
import time
from pathlib import Path
from types import TracebackType


class HeavyLock:
    """An exclusive flock(2) on `path` (the same lock `flock FILE command` takes); no path: no lock.

    Held only for the heavy part of each step (a cluster start, one suite run), never for a whole soak:
    on a shared machine one soak must not keep everyone else's cluster work waiting for an hour."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.waited_seconds = 0.0
        self._file: int | None = None

    def __enter__(self) -> HeavyLock:
        started = time.monotonic()
        if self.path is not None:
            self._file = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                print(f"waiting for {self.path} (another cluster-heavy command holds it)", file=sys.stderr)
                fcntl.flock(self._file, fcntl.LOCK_EX)
        self.waited_seconds = round(time.monotonic() - started, 1)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            os.close(self._file)
            self._file = None

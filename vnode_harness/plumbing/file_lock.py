"""The one cross-process lock the project takes: an exclusive flock(2) on a file.

Toolchain builds, cluster starts, the Allure install and the soak's machine-wide lock all need "one
process at a time on this machine"; flock is released by the kernel when its holder dies, so a killed
run never leaves a lock behind, and it is the same lock `flock FILE command` takes in a shell.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator
from pathlib import Path


@contextlib.contextmanager
def file_lock(path: Path, *, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold an exclusive flock on `path` (created, with its directory, if missing).

    `on_wait` is called once, before blocking, when another process holds the lock: a caller that may
    wait minutes says so instead of looking hung."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing the only descriptor releases the lock

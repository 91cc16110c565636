"""Run a few independent steps at once and wait for all of them; the first failure (in the order
given) is raised once every step has ended.

Daemon threads rather than a ThreadPoolExecutor: an interrupted run (Ctrl-C, SIGTERM) goes on to its
teardown at once, and the interpreter does not wait at exit for a step blocked in a long wait on a
cluster that the teardown deletes anyway.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping


def run_together(steps: Mapping[str, Callable[[], None]]) -> None:
    """Start every step in its own thread, wait for all, then raise the first step's error, if any."""
    errors: dict[str, BaseException] = {}

    def run(name: str, step: Callable[[], None]) -> None:
        try:
            step()
        except BaseException as error:  # carried to the caller's thread and raised there
            errors[name] = error

    threads = [
        threading.Thread(target=run, args=(name, step), name=f"step: {name}", daemon=True)
        for name, step in steps.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for name in steps:
        if name in errors:
            raise errors[name]

"""Blocks that change a cluster and must finish are not cut short by the first interruption.

An interrupted run restores what it changed in its fixtures' teardown. But a signal may land while a
teardown is already restoring (a test that ended normally an instant before Ctrl-C): raised there, it
left the eci-profile changed — tests/faults/test_interrupts.py saw it on shards, where a worker's
restore spends seconds waiting for the implementation. Or it lands while a namespace is being created
from a generated name: the API server created it, the client never learned its name, and nobody deleted
it. Inside `interrupts_deferred()` the run's signal handler (vnode_harness.plugin.interrupts) holds that
first signal, and the block raises it as KeyboardInterrupt once it is done. A second signal is not held:
whoever sends it wants the run to end now.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class _Deferral:
    depth: int = 0
    """How many deferring blocks the main thread is inside (signal handlers run in the main thread)."""
    held: list[str] = field(default_factory=list)
    """The held signal's name, raised as KeyboardInterrupt when the outermost block ends."""


_state = _Deferral()


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """A block that undoes a change to the cluster (a profile restore, a lock's release, a namespace's
    deletion) or makes one that must be recorded (a namespace's creation): the first interrupting
    signal waits for it to end. No effect outside the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _state.depth += 1
    try:
        yield
    finally:
        _state.depth -= 1
        if _state.depth == 0 and _state.held:
            name = _state.held[0]
            _state.held.clear()
            raise KeyboardInterrupt(name)


def hold_if_deferred(name: str) -> bool:
    """Called by the signal handler for the run's first signal: True when it is held for a deferring
    block in progress (the handler then returns without raising)."""
    if _state.depth > 0 and not _state.held:
        _state.held.append(name)
        return True
    return False

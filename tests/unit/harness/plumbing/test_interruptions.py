"""A restore in progress is not cut short by the first interruption (plumbing.interruptions)."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator

import pytest

from vnode_harness.plumbing.interruptions import hold_if_deferred, interrupts_deferred


@pytest.fixture
def usr1_like_the_run() -> Iterator[list[str]]:
    """SIGUSR1 handled as the run handles SIGINT: held during a restore, raised otherwise."""
    steps: list[str] = []

    def interrupt(signum: int, _frame: object) -> None:
        if not hold_if_deferred("SIGUSR1"):
            raise KeyboardInterrupt("SIGUSR1")

    previous = signal.signal(signal.SIGUSR1, interrupt)
    yield steps
    signal.signal(signal.SIGUSR1, previous)


def test_a_signal_during_a_restore_is_raised_once_the_restore_is_done(usr1_like_the_run: list[str]) -> None:
    steps = usr1_like_the_run

    def restore() -> None:
        with interrupts_deferred():
            steps.append("profile written back")
            os.kill(os.getpid(), signal.SIGUSR1)  # the handler runs here, in the main thread
            steps.append("lock released")

    with pytest.raises(KeyboardInterrupt, match="SIGUSR1"):
        restore()
    assert steps == ["profile written back", "lock released"]


def test_nested_restores_raise_at_the_outermost_end(usr1_like_the_run: list[str]) -> None:
    steps = usr1_like_the_run

    def restore() -> None:
        with interrupts_deferred():
            with interrupts_deferred():
                os.kill(os.getpid(), signal.SIGUSR1)
                steps.append("inner done")
            steps.append("outer done")

    with pytest.raises(KeyboardInterrupt):
        restore()
    assert steps == ["inner done", "outer done"]


def test_a_second_signal_is_not_held(usr1_like_the_run: list[str]) -> None:
    steps = usr1_like_the_run

    def restore() -> None:
        with interrupts_deferred():
            os.kill(os.getpid(), signal.SIGUSR1)
            steps.append("held")
            os.kill(os.getpid(), signal.SIGUSR1)  # whoever sends it again wants the run to end now
            steps.append("never reached")

    with pytest.raises(KeyboardInterrupt):
        restore()
    assert steps == ["held"]
    with interrupts_deferred():  # nothing stays held for the next restore
        steps.append("next restore")
    assert steps[-1] == "next restore"


def test_outside_a_restore_the_signal_interrupts_at_once(usr1_like_the_run: list[str]) -> None:
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGUSR1)


def test_a_restore_in_another_thread_holds_nothing() -> None:
    """Signals reach the main thread only; a shard thread's restore must not make them wait."""
    entered, leave = threading.Event(), threading.Event()

    def shard_restore() -> None:
        with interrupts_deferred():
            entered.set()
            leave.wait(10)

    thread = threading.Thread(target=shard_restore)
    thread.start()
    try:
        assert entered.wait(10)
        assert hold_if_deferred("SIGINT") is False
    finally:
        leave.set()
        thread.join()

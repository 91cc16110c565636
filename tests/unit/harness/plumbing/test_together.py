"""run_together: the steps overlap, every step ends before the caller goes on, the first error wins."""

from __future__ import annotations

import threading

import pytest

from vnode_harness.plumbing.together import run_together


def test_steps_run_at_the_same_time():
    both_started = threading.Barrier(2, timeout=10)  # breaks (an error) unless both wait at once

    def meet() -> None:
        both_started.wait()

    run_together({"a": meet, "b": meet})


def test_the_first_failure_is_raised_after_every_step_ended():
    ended: list[str] = []
    release = threading.Event()

    def slow() -> None:
        release.wait(timeout=10)
        ended.append("slow")

    def fails() -> None:
        release.set()
        raise RuntimeError("virtual nodes did not come up")

    def also_fails() -> None:
        raise ValueError("second")

    with pytest.raises(RuntimeError, match="virtual nodes did not come up"):
        run_together({"fails": fails, "slow": slow, "also": also_fails})
    assert ended == ["slow"]


def test_no_steps_is_nothing():
    run_together({})

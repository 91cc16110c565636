"""The run's closing line of phase times."""

from __future__ import annotations

import pytest

from vnode_harness.plumbing.phases import PhaseClock


def test_phases_are_listed_in_the_order_they_ran() -> None:
    clock = PhaseClock()
    assert clock.summary() == ""
    with clock.phase("clusters up"):
        pass
    clock.mark("tests")
    clock.end("tests")
    clock.end("never started")
    names = [name for name, _ in clock.phases]
    assert names == ["clusters up", "tests"]
    assert clock.summary().startswith("phases: clusters up 0.0 s · tests 0.0 s")


def test_a_phase_that_raises_is_still_timed() -> None:
    clock = PhaseClock()
    with pytest.raises(RuntimeError), clock.phase("readiness"):
        raise RuntimeError("not ready")
    assert [name for name, _ in clock.phases] == ["readiness"]

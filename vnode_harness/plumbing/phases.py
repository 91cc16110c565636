"""Where a run's time went, phase by phase: one line at the end of every run.

A user with a slow run (and the benchmarks, README "Figures") sees which part to look at — the clusters'
start, readiness, the tests, the cleanup — without timing the log by hand.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


class PhaseClock:
    """Wall-clock seconds of the run's phases, in the order they ran."""

    def __init__(self) -> None:
        self.phases: list[tuple[str, float]] = []
        self._marks: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.phases.append((name, time.monotonic() - started))

    def mark(self, name: str) -> None:
        """Start a phase that ends at `end(name)` (one that spans hooks, such as the tests)."""
        self._marks[name] = time.monotonic()

    def end(self, name: str) -> None:
        started = self._marks.pop(name, None)
        if started is not None:
            self.phases.append((name, time.monotonic() - started))

    def summary(self) -> str:
        """`phases: clusters up 30.1 s · readiness 6.0 s · …` (empty when nothing was timed)."""
        if not self.phases:
            return ""
        return "phases: " + " · ".join(f"{name} {seconds:.1f} s" for name, seconds in self.phases)

"""Clusters the run starts itself come up a few at a time, and each shard runs tests as soon as it is ready.

Why: starting a local cluster is bound by CPU (one alone is up in about 8 s on 2 cores, five at once
all in about 23 s), and a shard's tests mostly wait. Started all at once, every shard idles until the
slowest is up; started `at_once` at a time (as many as there are cores), the first shards are ready
early and xdist hands them more tests. With W seconds of tests shared by N shards ready at t1 … tN, the
tests end at about (W + t1 + … + tN) / N instead of W / N + max(t).

The controller publishes each shard's outcome as a file under the run directory
(`shards/<shard>.json`: its RunContext, or why it did not start); xdist workers are spawned at once,
import and collect while the clusters start, and each waits for its shard's file before its first test.

A shard that does not start (its cluster, its implementation or readiness failed) does not stop the
run when another shard is ready: its workers run on the ready shards (the profile lock keeps two
workers on one cluster apart), and the report names the shard and why (`shards[].notStarted`). When no
shard starts, the run ends as "not ready" (exit 3), naming every shard, exactly as before the tests.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from vnode_harness.formats.implementation import ProviderName
from vnode_harness.plumbing.waits import wait_for
from vnode_harness.run_context import ClusterError, RunContext

if TYPE_CHECKING:
    from vnode_harness.lifecycle.run import ConformanceRun

SHARDS_DIR = "shards"
WORKER_WAIT_SECONDS = 3600.0
"""How long a worker waits for its shard: the controller always publishes every shard's outcome (also
when it stops early), so this only bounds a controller that vanished without a word."""
CANCELLED = "the run stopped before this shard was ready"


AT_ONCE_VARIABLE = "VNODE_CLUSTERS_AT_ONCE"


def start_at_once() -> int:
    """How many clusters start together: one per core (their start is bound by CPU), or
    VNODE_CLUSTERS_AT_ONCE (a positive number: a machine whose clusters start on other hosts, a test)."""
    value = os.environ.get(AT_ONCE_VARIABLE, "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ClusterError(
                f"{AT_ONCE_VARIABLE}={value!r}: a positive number of clusters to start at once"
            )
        return int(value)
    return max(1, os.cpu_count() or 1)


def shard_file(run_dir: Path, shard: str) -> Path:
    return run_dir / SHARDS_DIR / f"{shard}.json"


def publish(run_dir: Path, shard: str, *, context: RunContext | None = None, error: str = "") -> None:
    """Write a shard's outcome for the workers (atomically: a reader sees all of it or nothing)."""
    path = shard_file(run_dir, shard)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"context": context.to_json()} if context is not None else {"error": error}
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(body))
    partial.replace(path)


def read_published(run_dir: Path, shard: str) -> RunContext | str | None:
    """A shard's outcome: its context, why it did not start, or None while it is starting."""
    try:
        body = json.loads(shard_file(run_dir, shard).read_text())
    except FileNotFoundError:
        return None
    if "context" in body:
        return RunContext.from_json(str(body["context"]))
    return str(body.get("error") or "did not start")


def wait_for_shard(
    run_dir: Path, own: str, shards: Sequence[str], *, timeout: float = WORKER_WAIT_SECONDS
) -> RunContext:
    """A worker's cluster: its own shard's once ready; when its shard did not start, the next ready
    shard after it (so that such workers spread over the others). ClusterError when no shard started."""
    start = shards.index(own) if own in shards else 0
    order = [*shards[start:], *shards[:start]]

    def probe() -> tuple[RunContext | ClusterError | None, str]:
        outcomes = {shard: read_published(run_dir, shard) for shard in order}
        own_outcome = outcomes[order[0]]
        if isinstance(own_outcome, RunContext):
            return own_outcome, f"{own} is ready"
        if own_outcome is None:
            return None, f"{own} is starting"
        for shard in order[1:]:
            other = outcomes[shard]
            if isinstance(other, RunContext):
                return other, f"{own} did not start; {shard} is ready"
        if all(isinstance(outcome, str) for outcome in outcomes.values()):
            failures = "; ".join(f"{shard}: {outcomes[shard]}" for shard in order)
            return ClusterError(f"no shard started: {failures}"), "no shard started"
        return None, f"{own} did not start; waiting for another shard"

    found = wait_for(f"shard {own} to be ready", probe, timeout=timeout, interval=0.2)
    if isinstance(found, ClusterError):
        raise found
    assert isinstance(found, RunContext)
    return found


class StaggeredStart:
    """Start every shard of a run in the background, `at_once` at a time; publish each as it is ready."""

    def __init__(
        self,
        runs: Sequence[ConformanceRun],
        choice: tuple[ProviderName, str],
        *,
        run_dir: Path,
        at_once: int,
        console: Console,
    ) -> None:
        self.runs = list(runs)
        self.choice = choice
        self.run_dir = run_dir
        self.console = console
        self.ready: dict[str, RunContext] = {}
        self.failures: dict[str, str] = {}
        self.first_ready_seconds: float | None = None
        self.all_done_seconds: float | None = None
        self._slots = threading.Semaphore(max(1, at_once))
        self._cancelled = threading.Event()
        self._changed = threading.Condition()
        self._pool = ThreadPoolExecutor(max_workers=len(self.runs), thread_name_prefix="shard-start")
        self._futures: list[Future[None]] = []
        self._started_at = time.monotonic()

    def begin(self) -> None:
        self._started_at = time.monotonic()
        self._futures = [self._pool.submit(self._start, run) for run in self.runs]

    def _start(self, run: ConformanceRun) -> None:
        shard = run.options.shard
        try:
            context = self._bring_up(run)
        except BaseException as error:  # every outcome is published, or a worker waits for it
            why = str(error) or type(error).__name__
            self._record(shard, error=why)
            self.console.print(f"[yellow]{shard}: did not start: {why}", highlight=False, soft_wrap=True)
            return
        self._record(shard, context=context)
        self.console.print(f"{shard}: ready after {time.monotonic() - self._started_at:.1f} s, tests start")

    def _bring_up(self, run: ConformanceRun) -> RunContext:
        """Its cluster and implementation in one of the slots, then readiness (little CPU) outside it."""
        with self._slots:
            self._unless_cancelled()
            self.console.print(f"{run.options.shard}: starting")
            run.bring_up(self.choice)
        self._unless_cancelled()
        return run.check_ready()

    def _unless_cancelled(self) -> None:
        if self._cancelled.is_set():
            raise ClusterError(CANCELLED)

    def _record(self, shard: str, *, context: RunContext | None = None, error: str = "") -> None:
        with self._changed:
            if context is not None:
                self.ready[shard] = context
                if self.first_ready_seconds is None:
                    self.first_ready_seconds = time.monotonic() - self._started_at
            else:
                self.failures[shard] = error
            if len(self.ready) + len(self.failures) == len(self.runs):
                self.all_done_seconds = time.monotonic() - self._started_at
            publish(self.run_dir, shard, context=context, error=error)
            self._changed.notify_all()

    def wait_first_ready(self) -> RunContext:
        """The first shard that is ready; ClusterError naming every shard when none started. Waits on a
        condition the start threads signal (Ctrl-C interrupts it: the wait is in slices)."""
        with self._changed:
            while not self.ready and len(self.failures) < len(self.runs):
                self._changed.wait(timeout=0.5)
            if self.ready:
                return self.ready[min(self.ready, key=self._index)]
        failures = "; ".join(
            f"{shard}: {self.failures[shard]}" for shard in sorted(self.failures, key=self._index)
        )
        raise ClusterError(f"{len(self.runs)} of {len(self.runs)} shards did not start: {failures}")

    def _index(self, shard: str) -> int:
        return [run.options.shard for run in self.runs].index(shard)

    def finish(self) -> None:
        """Wait for every start in flight (a shard not begun yet is not begun: cancelled)."""
        self._cancelled.set()
        for future in self._futures:
            future.result()
        self._pool.shutdown(wait=True)
        for run in self.runs:  # a worker still waiting for a shard stops waiting
            if run.options.shard not in self.ready and run.options.shard not in self.failures:
                self._record(run.options.shard, error=CANCELLED)

    def contexts(self) -> list[RunContext]:
        """The ready shards' contexts, in shard order."""
        return [self.ready[run.options.shard] for run in self.runs if run.options.shard in self.ready]

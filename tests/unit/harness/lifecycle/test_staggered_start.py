"""Shards that start a few at a time and run tests as each is ready; a shard's early cleanup."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import cast

import pytest
from rich.console import Console

from vnode_harness.formats.paths import REPO_ROOT
from vnode_harness.lifecycle.run import ConformanceRun
from vnode_harness.lifecycle.shards import ShardedRun
from vnode_harness.lifecycle.staggered_start import (
    AT_ONCE_VARIABLE,
    CANCELLED,
    StaggeredStart,
    publish,
    read_published,
    start_at_once,
    wait_for_shard,
)
from vnode_harness.plumbing.waits import WaitTimeout, wait_for
from vnode_harness.report.model import Cleanup
from vnode_harness.run_context import ClusterError, ClusterHandle, RunContext, RunOptions

REFERENCE = REPO_ROOT / "implementations" / "reference.yaml"
SHARDS = ["shard-1", "shard-2", "shard-3"]


def _context(run_dir: Path, shard: str) -> RunContext:
    cluster = ClusterHandle(name=f"vnode-{shard}", provider="local", kubeconfig=run_dir, logs_dir=run_dir)
    return RunContext(run_dir=run_dir, cluster=cluster, implementation_file=REFERENCE, shard=shard)


class _Shard:
    """A shard whose start the test controls: it fails with `error`, or waits for `go` when given."""

    def __init__(self, run_dir: Path, shard: str, *, error: str = "", go: threading.Event | None = None):
        self.options = RunOptions("local", REFERENCE, run_dir, shard=shard)
        self.error, self.go = error, go
        self.context: RunContext | None = None
        self.cleanups = 0
        self.started = threading.Event()

    def bring_up(self, choice: object) -> None:
        self.started.set()
        if self.go is not None:
            assert self.go.wait(10)
        if self.error:
            raise ClusterError(self.error)

    def check_ready(self) -> RunContext:
        self.context = _context(self.options.run_dir, self.options.shard)
        return self.context

    def clean_up(self) -> Cleanup:
        self.cleanups += 1
        return Cleanup(profile_restored=True, settle_seconds=1)


def _staggered(shards: list[_Shard], run_dir: Path, at_once: int = 2) -> StaggeredStart:
    runs = cast(list[ConformanceRun], shards)
    return StaggeredStart(
        runs, ("local", "test"), run_dir=run_dir, at_once=at_once, console=Console(quiet=True)
    )


def test_a_published_shard_reads_back_as_its_context_or_why_it_did_not_start(tmp_path):
    assert read_published(tmp_path, "shard-1") is None
    publish(tmp_path, "shard-1", context=_context(tmp_path, "shard-1"))
    publish(tmp_path, "shard-2", error="kube-apiserver exited")
    assert read_published(tmp_path, "shard-1") == _context(tmp_path, "shard-1")
    assert read_published(tmp_path, "shard-2") == "kube-apiserver exited"


def test_a_worker_runs_on_its_own_shard_or_the_next_ready_one_when_its_own_did_not_start(tmp_path):
    publish(tmp_path, "shard-1", context=_context(tmp_path, "shard-1"))
    publish(tmp_path, "shard-2", error="no virtual node")
    publish(tmp_path, "shard-3", context=_context(tmp_path, "shard-3"))
    assert wait_for_shard(tmp_path, "shard-1", SHARDS, timeout=1).shard == "shard-1"
    assert wait_for_shard(tmp_path, "shard-2", SHARDS, timeout=1).shard == "shard-3"


def test_a_worker_waits_while_its_shard_starts(tmp_path):
    with pytest.raises(WaitTimeout, match="shard-1 is starting"):
        wait_for_shard(tmp_path, "shard-1", SHARDS, timeout=0.5)
    timer = threading.Timer(0.3, lambda: publish(tmp_path, "shard-1", context=_context(tmp_path, "shard-1")))
    timer.start()
    assert wait_for_shard(tmp_path, "shard-1", SHARDS, timeout=5).shard == "shard-1"


def test_a_worker_whose_shard_failed_waits_for_one_still_starting_and_gives_up_when_none_starts(tmp_path):
    publish(tmp_path, "shard-1", error="etcd did not start")
    with pytest.raises(WaitTimeout, match="waiting for another shard"):
        wait_for_shard(tmp_path, "shard-1", SHARDS, timeout=0.5)
    publish(tmp_path, "shard-2", error="no virtual node")
    publish(tmp_path, "shard-3", error=CANCELLED)
    with pytest.raises(
        ClusterError, match="no shard started: shard-1: etcd did not start; shard-2: no virtual"
    ):
        wait_for_shard(tmp_path, "shard-1", SHARDS, timeout=1)


def test_at_most_at_once_shards_start_together_and_the_first_ready_is_given_at_once(tmp_path):
    gates = {shard: threading.Event() for shard in SHARDS}
    shards = [_Shard(tmp_path, shard, go=gates[shard]) for shard in SHARDS]
    start = _staggered(shards, tmp_path, at_once=2)
    start.begin()
    assert shards[0].started.wait(5)
    assert shards[1].started.wait(5)
    assert not shards[2].started.wait(0.3), "a third cluster started beside two on two slots"
    gates["shard-2"].set()
    assert start.wait_first_ready().shard == "shard-2"
    assert shards[2].started.wait(5), "the freed slot was not given to the next shard"
    assert read_published(tmp_path, "shard-2") == _context(tmp_path, "shard-2")
    assert read_published(tmp_path, "shard-1") is None
    for gate in gates.values():
        gate.set()
    wait_for("every shard", lambda: (start.all_done_seconds, "starting"), timeout=5)
    start.finish()
    assert [context.shard for context in start.contexts()] == SHARDS
    assert start.first_ready_seconds is not None


def test_when_no_shard_starts_the_wait_names_each_and_why(tmp_path):
    shards = [_Shard(tmp_path, shard, error=f"{shard} broke") for shard in SHARDS]
    start = _staggered(shards, tmp_path)
    start.begin()
    with pytest.raises(ClusterError) as raised:
        start.wait_first_ready()
    assert str(raised.value) == (
        "3 of 3 shards did not start: shard-1: shard-1 broke; shard-2: shard-2 broke; shard-3: shard-3 broke"
    )
    start.finish()


def test_a_failed_shard_leaves_the_others_running_and_is_recorded(tmp_path):
    shards = [_Shard(tmp_path, "shard-1", error="istiod crashed"), _Shard(tmp_path, "shard-2")]
    start = _staggered(shards, tmp_path)
    start.begin()
    assert start.wait_first_ready().shard == "shard-2"
    wait_for("every shard", lambda: (start.all_done_seconds, "starting"), timeout=5)
    start.finish()
    assert start.failures == {"shard-1": "istiod crashed"}
    assert [context.shard for context in start.contexts()] == ["shard-2"]


def test_a_stop_before_every_shard_began_begins_no_more_and_releases_waiting_workers(tmp_path):
    gate = threading.Event()
    shards = [_Shard(tmp_path, "shard-1", go=gate), _Shard(tmp_path, "shard-2")]
    start = _staggered(shards, tmp_path, at_once=1)
    start.begin()
    assert shards[0].started.wait(5)
    stopping = threading.Thread(target=start.finish)
    stopping.start()
    gate.set()
    stopping.join(10)
    assert not shards[1].started.is_set(), "a shard began after the run stopped"
    assert read_published(tmp_path, "shard-2") == CANCELLED


def _sharded(tmp_path: Path, shards: list[_Shard]) -> ShardedRun:
    run = ShardedRun(RunOptions("local", REFERENCE, tmp_path), str(len(shards)), workers=len(shards) * 2)
    run.runs = cast(list[ConformanceRun], shards)
    run.staggered = _staggered(shards, tmp_path)
    run.staggered.begin()
    run.wait_first_ready()
    staggered = run.staggered
    wait_for("every shard", lambda: (staggered.all_done_seconds, "starting"), timeout=5)
    return run


def test_a_shard_is_cleaned_up_once_every_worker_given_it_is_done(tmp_path):
    shards = [_Shard(tmp_path, shard) for shard in SHARDS[:2]]
    run = _sharded(tmp_path, shards)
    given = {worker: run.shard_for_worker(worker) for worker in ("gw0", "gw1", "gw2", "gw3")}
    assert given == {"gw0": "shard-1", "gw1": "shard-2", "gw2": "shard-1", "gw3": "shard-2"}
    run.staggered.finish()  # type: ignore[union-attr]
    run.worker_finished("gw0")
    assert shards[0].cleanups == 0, "shard-1 was cleaned while gw2 still ran tests on it"
    run.worker_finished("gw2")
    merged = run.clean_up()
    assert [shard.cleanups for shard in shards] == [1, 1], "the early cleanup ran again, or not at all"
    assert merged is not None
    assert merged.profile_restored is True


def test_no_early_cleanup_when_a_shard_did_not_start(tmp_path):
    shards = [_Shard(tmp_path, "shard-1"), _Shard(tmp_path, "shard-2", error="no virtual node")]
    run = _sharded(tmp_path, shards)
    for worker in ("gw0", "gw1"):
        run.shard_for_worker(worker)
    run.staggered.finish()  # type: ignore[union-attr]
    run.worker_finished("gw0")  # gw1 may run on shard-1 too: its cleanup waits for the end
    assert not run._early_cleanups
    run.finish_starting()
    assert run.not_started == {"shard-2": "no virtual node"}
    assert [name for name, _ in run.clock.phases] == ["first shard ready", "every shard up (tests meanwhile)"]


def test_clusters_at_once_is_one_per_core_or_the_variable(monkeypatch):
    monkeypatch.delenv(AT_ONCE_VARIABLE, raising=False)
    assert start_at_once() == max(1, os.cpu_count() or 1)
    monkeypatch.setenv(AT_ONCE_VARIABLE, "3")
    assert start_at_once() == 3
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv(AT_ONCE_VARIABLE, bad)
        with pytest.raises(ClusterError, match="a positive number of clusters to start at once"):
            start_at_once()

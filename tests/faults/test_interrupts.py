"""SIGINT and SIGTERM at seeded random points of a run (on one cluster, and on shards the run started
itself), and a run killed outright (SIGKILL).

Interrupted (SIGINT, SIGTERM), the run restores the eci-profile, releases the lock Lease, deletes its
namespaces, and writes its reports marked interrupted (partial). Killed, it can do none of that: the
next run takes the dead run's lock over once its lease has expired, and its report says so.
"""

from __future__ import annotations

import os
import random
import signal
import time
from typing import Any

import pytest
from kubernetes import client

from tests.faults.scenario import (
    REFERENCE,
    SuiteRun,
    assert_nothing_left,
    outcomes_named,
    processes_mentioning,
    profile_now,
    shard_kubeconfig,
    start_sharded_suite,
    start_suite,
    when_a_test_holds_the_lock,
    when_tests_started,
)
from vnode_harness.formats.implementation import load_implementation
from vnode_harness.lifecycle.staggered_start import AT_ONCE_VARIABLE
from vnode_harness.plumbing.kube import api_client
from vnode_harness.providers.local.cluster import clusters_root
from vnode_harness.testapi.profile import ProfileEditor
from vnode_harness.testapi.workloads import RUN_LABEL

SEED = int(os.environ.get("VNODE_FAULTS_SEED", "20261202"))
POINTS = int(os.environ.get("VNODE_FAULTS_POINTS", "2"))
"""How many seeded interruption points: a few in `tox -e faults`, 20 in `bench/run.py faults`."""
LATEST_POINT_SECONDS = 25.0
"""Points fall within this many seconds of the first test, well inside the selected tests' run time."""
PROFILE_TESTS = "test_parameters and not rolling_update"
ONE_TEST = "test_pod_label_runs_pod_on_virtual_node"


def interruption_points(seed: int, count: int) -> list[tuple[signal.Signals, float]]:
    """`count` (signal, seconds after the tests began) pairs, alternating SIGINT and SIGTERM."""
    rng = random.Random(seed)
    return [((signal.SIGINT, signal.SIGTERM)[i % 2], round(rng.uniform(0.5, LATEST_POINT_SECONDS), 1))
            for i in range(count)]  # fmt: skip


@pytest.mark.parametrize(("signum", "delay"), interruption_points(SEED, POINTS), ids=str)
def test_interrupted_run_restores_releases_and_reports_partial(
    api, shared_cluster, reference, reports, signum, delay
):
    implementation = load_implementation(REFERENCE)
    before = profile_now(api, implementation)
    run = start_suite(shared_cluster, reports, select=PROFILE_TESTS, implementation=reference)
    when_tests_started(api, run)
    time.sleep(delay)  # the seeded point itself: the fault is defined as "this long into the tests"
    run.signal(signum)
    exit_code = run.wait()
    report = run.report()
    assert exit_code == 2, f"exit {exit_code}, expected pytest's 2 (interrupted): {run.output()}"
    assert report["interrupted"].startswith(signal.Signals(signum).name), report["interrupted"]
    assert report["result"] != "success"
    assert "**Interrupted: partial report.**" in run.markdown()
    run_dir = run.run_dir
    assert run_dir is not None, f"the run made no run directory; output: {run.output()}"
    assert (run_dir / "bundle.tar.gz").is_file()
    assert not outcomes_named(run.outcomes(), "failed"), run.outcomes()
    assert_nothing_left(api, implementation, run, before)


def test_a_killed_runs_lock_is_taken_over_and_reported(api, shared_cluster, reference, reports):
    implementation = load_implementation(REFERENCE)
    core = client.CoreV1Api(api)
    before = profile_now(api, implementation)
    killed = start_suite(shared_cluster, reports / "killed", select=PROFILE_TESTS, implementation=reference)
    holder = when_a_test_holds_the_lock(api, implementation, killed)
    os.killpg(killed.process.pid, signal.SIGKILL)
    killed.wait()
    try:
        after = start_suite(shared_cluster, reports / "next", select=ONE_TEST, implementation=reference)
        assert after.wait() == 0, after.output()
        takeovers = after.report()["lockTakenOver"]
        assert len(takeovers) == 1, takeovers
        assert repr(holder) in takeovers[0]["detail"], takeovers
        assert f"**eci-profile lock taken over** by {takeovers[0]['by']}" in after.markdown()
    finally:  # what the killed run could not undo: its profile change and its namespaces
        editor = ProfileEditor(api, implementation, holder="fault-scenario-cleanup")
        editor.begin()
        editor.snapshot = before
        editor.restore()
        for namespace in core.list_namespace(label_selector=f"{RUN_LABEL}={killed.run_id}").items:
            core.delete_namespace(namespace.metadata.name)
    assert_nothing_left(api, implementation, after, before)


SHARDS = 2


@pytest.mark.parametrize(("signum", "delay"), interruption_points(SEED + 1, POINTS), ids=str)
def test_an_interrupted_sharded_run_restores_and_tears_down_every_shard(tmp_path, signum, delay):
    """The same on a run that started its own shards: every shard's profile restored and its cluster,
    implementation and directory gone, one report marked interrupted."""
    name = f"vnode-int-{os.getpid()}-{int(delay * 10)}"
    run = start_sharded_suite(tmp_path / "reports", cluster_name=name, select=PROFILE_TESTS, clusters=SHARDS)
    try:
        kubeconfigs = [shard_kubeconfig(run, name, f"shard-{index + 1}") for index in range(SHARDS)]
        when_tests_started(api_client(kubeconfigs[-1], "fault-scenario"), run)
        time.sleep(delay)  # the seeded point itself: "this long into the tests"
        run.signal(signum)
        exit_code = run.wait()
    finally:
        if run.process.poll() is None:
            os.killpg(run.process.pid, signal.SIGKILL)
    report = _every_shard_restored_and_gone(run, name, signum, exit_code)
    assert [shard["name"] for shard in report["shards"]] == [f"shard-{i + 1}" for i in range(SHARDS)]
    assert run.run_dir is not None
    assert (run.run_dir / "bundle.tar.gz").is_file()
    assert not outcomes_named(run.outcomes(), "failed"), run.outcomes()


def _every_shard_restored_and_gone(
    run: SuiteRun, name: str, signum: signal.Signals, exit_code: int
) -> dict[str, Any]:
    """What every interrupted sharded run must show: pytest's exit 2, one report marked interrupted by
    `signum`, every ready shard's profile restored, nothing left in a cluster, on the host or on disk."""
    report = run.report()
    assert exit_code == 2, f"exit {exit_code}, expected pytest's 2 (interrupted): {run.output()}"
    assert report["interrupted"].startswith(signum.name), report["interrupted"]
    assert report["cleanup"]["profileRestored"] is True, report["cleanup"]
    assert report["cleanup"]["leftBehind"] == [], report["cleanup"]
    assert processes_mentioning(name) == [], "a shard's processes outlived the interrupted run"
    assert not list(clusters_root().glob(f"{name}-*")), "a shard's cluster directory is left"
    return report


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=str)
def test_an_interrupt_while_a_shard_is_still_starting_tears_every_shard_down(tmp_path, signum, monkeypatch):
    """Three shards start two at a time (lifecycle.staggered_start), so shard-1 runs tests while shard-3
    is still starting: interrupted then, every ready shard's profile is restored, the shard still
    starting is finished and torn down, and nothing is left."""
    monkeypatch.setenv(AT_ONCE_VARIABLE, "2")  # whatever the cores: shard-3 waits for a slot
    name = f"vnode-ints-{os.getpid()}-{signum.value}"
    run = start_sharded_suite(tmp_path / "reports", cluster_name=name, select=PROFILE_TESTS, clusters=3)
    try:
        first = shard_kubeconfig(run, name, "shard-1")
        when_tests_started(api_client(first, "fault-scenario"), run)
        starting = not (run.run_dir is not None and (run.run_dir / "shards" / "shard-3.json").is_file())
        run.signal(signum)
        exit_code = run.wait()
    finally:
        if run.process.poll() is None:
            os.killpg(run.process.pid, signal.SIGKILL)
    assert starting, "shard-3 was ready before the interrupt: the scenario did not test a start in flight"
    report = _every_shard_restored_and_gone(run, name, signum, exit_code)
    shards = {shard["name"]: shard for shard in report["shards"]}
    assert "shard-1" in shards, report["shards"]
    assert shards["shard-1"].get("notStarted") is None

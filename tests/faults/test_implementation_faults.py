"""Faults of the implementation under test: killed mid-run; restarted by its supervisor or re-executed in
place (same pid, same start time) while a "without restarting" check watches it.

The verdict must name the cause (the implementation's process gone, its webhook unanswered), the
eci-profile must be restored byte for byte, and nothing of the run may stay in the cluster.
"""

from __future__ import annotations

import os
import signal

import pytest
from kubernetes import client

from tests.faults.scenario import (
    PROFILE_AND_ROUTING,
    REFERENCE,
    admits_again,
    assert_nothing_left,
    implementation_file,
    launcher_command,
    no_test,
    outcomes_named,
    profile_now,
    start_implementation,
    start_suite,
    when_a_test_holds_the_lock,
)
from vnode_harness.formats.implementation import load_implementation
from vnode_harness.plumbing.waits import wait_for
from vnode_harness.run_context import ClusterHandle, RunContext
from vnode_harness.testapi.identity import ImplementationIdentity, admission_watch, identity_of


def test_implementation_killed_mid_run_fails_naming_its_death(api, shared_cluster, reference, reports):
    implementation = load_implementation(REFERENCE)
    before = profile_now(api, implementation)
    run = start_suite(shared_cluster, reports, select=PROFILE_AND_ROUTING, implementation=reference)
    when_a_test_holds_the_lock(api, implementation, run, matching="without_restart")
    os.killpg(reference.process.pid, signal.SIGKILL)
    os.waitpid(reference.process.pid, 0)  # reaped, as its parent (a supervisor, init) would
    assert run.wait() == 1, run.output()

    outcomes = run.outcomes()
    failed = outcomes_named(outcomes, "failed")
    assert len(outcomes) == 3, outcomes
    assert not outcomes_named(outcomes, "broken"), no_test(outcomes, "broken")()
    assert not outcomes_named(outcomes, "passed"), no_test(outcomes, "passed")()
    assert all("is no longer running" in reason for reason in failed.values()), failed
    assert_nothing_left(api, implementation, run, before)


def _identity_across(
    handle: ClusterHandle, api: client.ApiClient, mode: str, tmp_path
) -> tuple[ImplementationIdentity, ImplementationIdentity]:
    """Identity before and after SIGUSR1 to the launcher in `mode`, once the webhook answers again."""
    file = implementation_file(tmp_path / "impl-file", command=launcher_command(mode))
    implementation = load_implementation(file)
    started = start_implementation(handle, tmp_path / "implementation", file)
    try:
        context = RunContext(
            run_dir=tmp_path, cluster=handle, implementation_file=file,
            implementation_process={"pid": str(started.process.pid), "start_time": started.process.start_time,
                                    "name": started.process.name, "log": ""},
        )  # fmt: skip
        with admission_watch(api, implementation, context).running() as watch:
            before = identity_of(api, implementation, context, watch)
            os.kill(started.process.pid, signal.SIGUSR1)
            wait_for("the webhook to fail once", lambda: (watch.unanswered() or None, "answered"), timeout=30)
            wait_for("the implementation to answer again", lambda: admits_again(api), timeout=60)
            after = identity_of(api, implementation, context, watch)
    finally:
        started.stop()
    return before, after


@pytest.mark.parametrize("mode", ["reexec", "supervise"])
def test_restart_that_keeps_the_pid_is_seen_by_the_identity(shared_cluster, api, mode, tmp_path):
    before, after = _identity_across(shared_cluster, api, mode, tmp_path)
    assert before != after, f"a {mode} restart went unseen: {before}"
    assert after.unanswered_admissions, after
    if mode == "reexec":
        assert after.members[0] == before.members[0], "exec in place keeps pid and start time"


@pytest.mark.parametrize("mode", ["reexec", "supervise"])
def test_without_restarting_checks_fail_when_the_implementation_restarts(api, shared_cluster, mode, reports):
    file = implementation_file(reports.parent / "impl-file", command=launcher_command(mode))
    implementation = load_implementation(file)
    started = start_implementation(shared_cluster, reports.parent / "implementation", file)
    try:
        before = profile_now(api, implementation)
        run = start_suite(
            shared_cluster, reports, select="without_restart", implementation=started, file=file
        )
        seen: set[str] = set()
        for _ in range(2):  # both hot-update tests: restart the implementation once in each
            seen.add(when_a_test_holds_the_lock(api, implementation, run, "without_restart", other_than=seen))
            os.kill(started.process.pid, signal.SIGUSR1)
        assert run.wait() == 1, run.output()
    finally:
        started.stop()
    outcomes = run.outcomes()
    assert len(outcomes) == 2, outcomes
    assert set(outcomes_named(outcomes, "failed")) == set(outcomes), f"a restart passed silently: {outcomes}"
    for reason in outcomes_named(outcomes, "failed").values():
        assert "restarted" in reason or "webhook" in reason, reason
    assert_nothing_left(api, implementation, run, before)

"""The units behind the fault scenarios (tests/faults), without a cluster: the lock's takeover of a dead
holder (a 1 s lease against the in-memory API server), the report's takeover, interruption and
observation lines, the admission watch that makes an exec-in-place visible, and the process tree that
makes a supervisor's restart visible."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from types import SimpleNamespace

import pytest
import urllib3
from kubernetes import client

from tests.unit.harness.builders import catalogue_data, implementation
from tests.unit.harness.report.test_report_writers import RUN
from tests.unit.harness.testapi import test_lease_lock
from vnode_harness.formats.catalogue import Catalogue
from vnode_harness.plumbing.waits import WaitTimeout, wait_for
from vnode_harness.report.collector import LOCK_TAKEOVER_PROPERTY, ResultCollector
from vnode_harness.report.markdown import render_markdown
from vnode_harness.report.model import LockTakeover, RunObservation
from vnode_harness.testapi.identity import AdmissionWatch, descendants

apiserver = test_lease_lock.apiserver  # the lock tests' in-memory API server and client, as fixtures
coordination = test_lease_lock.coordination
lock = test_lease_lock.lock


def die_holding(held) -> None:
    """What a killed run does to its lock: renewals stop, nothing is released."""
    held._stop_renewing()


class TestTakeover:
    def test_a_dead_holder_is_taken_over_only_after_its_lease_expired(self, apiserver, coordination):
        dead = lock(coordination, "killed-run", lease_seconds=2, renew_interval=0.2)
        dead.acquire(timeout=5)
        die_holding(dead)
        with pytest.raises(WaitTimeout, match="held by killed-run"):  # renewed ≤ 0.2 s ago: still live
            lock(coordination, "too-early", lease_seconds=2).acquire(timeout=0.5)
        taker = lock(coordination, "next-run", lease_seconds=2, renew_interval=0.2)
        taker.acquire(timeout=10)
        try:
            assert apiserver.lease()["spec"]["holderIdentity"] == "next-run"
            assert taker.taken_over is not None
            assert "'killed-run'" in taker.taken_over
            assert "died without releasing it" in taker.taken_over
        finally:
            taker.release()

    def test_a_renewed_holder_is_never_taken_over(self, apiserver, coordination):
        live = lock(coordination, "long-test", lease_seconds=1, renew_interval=0.2)
        live.acquire(timeout=5)
        try:
            with pytest.raises(WaitTimeout, match="held by long-test"):
                lock(coordination, "other-run", lease_seconds=1).acquire(timeout=3)  # 3 lease durations
            assert live.lost is None
        finally:
            live.release()

    def test_free_and_own_leases_are_no_takeover(self, coordination):
        first = lock(coordination, "run-a", lease_seconds=1)
        first.acquire(timeout=5)
        first.acquire(timeout=5)  # already ours
        assert first.taken_over is None
        first.release()
        second = lock(coordination, "run-b", lease_seconds=1)
        second.acquire(timeout=5)
        assert second.taken_over is None
        second.release()


@pytest.fixture
def collector() -> ResultCollector:
    return ResultCollector(Catalogue.model_validate(catalogue_data()))


def phase(nodeid: str, when: str, properties: list[tuple[str, str]]) -> SimpleNamespace:
    return SimpleNamespace(
        nodeid=nodeid, when=when, passed=True, skipped=False, duration=0.1, longrepr=None,
        user_properties=properties,
    )  # fmt: skip


class TestReportLines:
    def test_a_takeover_is_reported_once_per_test_with_a_markdown_line(self, collector):
        properties = [(LOCK_TAKEOVER_PROPERTY, "took over the lease of 'killed-run'")]
        for when in ("setup", "call", "teardown"):  # pytest shares one property list between phases
            collector.record_phase(phase("conformance/test_x.py::test_a", when, properties), ["F0-R1"])
        start = LockTakeover(by="run start", detail="took over the lease of 'crashed'")
        report = collector.build_report(
            implementation(["core-scheduling"]), replace(RUN, lock_taken_over=[start])
        )
        assert [t.by for t in report.lock_taken_over] == ["run start", "conformance/test_x.py::test_a"]
        page = render_markdown(report)
        assert (
            "**eci-profile lock taken over** by conformance/test_x.py::test_a: took over the lease of "
            in page
        )

    def test_an_interrupted_run_says_so_and_observations_are_apart_from_the_verdict(self, collector):
        collector.record("conformance/test_x.py::test_a", ["F0-R1"], "passed", 1.0)
        down = RunObservation(id="implementation-down", question="Refused?", answer="refused", detail="403")
        # as the plugin records an interrupted run: never a full run, so never `success`
        run = replace(
            RUN, mode="focused", interrupted="SIGTERM received 12.0 s into the run", observations=[down]
        )
        report = collector.build_report(implementation(["core-scheduling"]), run)
        assert report.result != "success"
        page = render_markdown(report)
        assert "**Interrupted: partial report.** SIGTERM received 12.0 s into the run" in page
        assert "## Observations (informative, not certified)" in page
        assert "| Refused? | **refused** | 403 |" in page
        without = collector.build_report(implementation(["core-scheduling"]), replace(run, observations=[]))
        assert without.result == report.result, "an observation changed the verdict"


class FakeCore:
    """create_namespaced_pod answers from a script: None (admitted) or an exception to raise."""

    def __init__(self, answers: list[BaseException | None]) -> None:
        self.answers = answers

    def create_namespaced_pod(self, namespace, body, **kwargs):
        assert kwargs["dry_run"] == "All", "the watch must never create a pod"
        answer = self.answers.pop(0)
        if answer is not None:
            raise answer
        return body


def api_error(status: int, message: str) -> client.ApiException:
    error = client.ApiException(status=status, reason="Internal Server Error")
    error.body = json.dumps({"message": message})
    return error


class TestAdmissionWatch:
    def test_only_the_implementations_unanswered_admissions_are_kept(self):
        refused = api_error(
            500, 'Internal error occurred: failed calling webhook "pod-label.vk-webhook": connection refused'
        )
        istio = api_error(500, 'Internal error occurred: failed calling webhook "sidecar.istio.io": timeout')
        unreachable = urllib3.exceptions.MaxRetryError(
            urllib3.HTTPConnectionPool("127.0.0.1"), "/", ConnectionRefusedError("connection refused")
        )
        answers = [None, refused, istio, unreachable,
                   api_error(504, "Timeout: request did not complete"), None]  # fmt: skip
        watch = AdmissionWatch(FakeCore(answers), {"pod-label.vk-webhook"})
        for _ in range(6):
            watch.sample()
        kept = watch.unanswered()
        assert watch.samples == 6
        assert len(kept) == 2, kept
        assert "pod-label.vk-webhook refused or failed the request" in kept[0]
        assert "admission timed out: 504" in kept[1]

    def test_the_watch_samples_in_the_background_until_stopped(self):
        core = FakeCore([None] * 1000)
        with AdmissionWatch(core, set(), interval=0.01).running() as watch:
            wait_for("samples", lambda: (watch.samples >= 3 or None, watch.samples), timeout=5)
        stopped = watch.samples
        assert watch.unanswered() == ()
        assert len(core.answers) == 1000 - stopped, "the watch kept sampling after it was stopped"


def test_descendants_shows_a_supervisors_workers_and_their_replacement():
    """A supervisor that restarts its worker keeps its own pid: the process tree below it changes."""
    script = "import subprocess; subprocess.run(['sleep', '30']); subprocess.run(['sleep', '30'])"
    supervisor = subprocess.Popen([sys.executable, "-c", script])

    def worker_other_than(previous: list[tuple[str, str]]):
        found = descendants(supervisor.pid)
        return (found if found and found != previous else None), found

    try:
        first = wait_for("a worker", lambda: worker_other_than([]), timeout=10)
        subprocess.run(["kill", first[0][0]], check=True)
        second = wait_for("the next worker", lambda: worker_other_than(first), timeout=10)
        assert second[0][0] != first[0][0]
    finally:
        supervisor.kill()
        supervisor.wait()


def test_a_broken_tests_reason_names_the_environment_fault(monkeypatch, tmp_path):
    from tests.unit.harness.plugin.test_environment_verdict import _cluster, _make_report
    from vnode_harness.plumbing.processes import start_process, stop_recorded
    from vnode_harness.report.collector import classify_phase

    pids = tmp_path / "pids"
    node = "virtual-kubelet-cn-hangzhou-j"
    dead = start_process(node, [sys.executable, "-c", "pass"], log=tmp_path / "vk.log", pid_dir=pids)
    os.waitpid(dead.pid, 0)
    try:
        report = _make_report(monkeypatch, _cluster(tmp_path, pids))
    finally:
        stop_recorded(pids)
    phase_outcome = classify_phase(report)
    assert phase_outcome.outcome == "broken"
    assert phase_outcome.reason is not None
    assert phase_outcome.reason.startswith("environment fault: virtual-kubelet-cn-hangzhou-j (pid ")

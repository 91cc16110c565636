"""A verdict never depends on which test ran beside it: an implementation whose profile state leaks into
other tests (`global-effect-routes-every-pod`: a selector with only an effect routes every pod) is judged
the same serially and in parallel, because every test holds the eci-profile lock (exclusive to change
it, shared to assume it).

What is proven, independently of scheduling (the first test below): the overlap is forced, not hoped
for. The test holds the profile lock exclusively with the leaking profile in force, and only then lets a
conformance test that assumes the baseline profile (SCHED-POD-SELECTIVE: a pod without the ECI label
runs on a regular node) start in a run against the same cluster (the gate:
tests/integration/isolation_gate.py). With the shared hold, that test takes
nothing of the cluster for the whole window (no shared-hold Lease, no namespace, not finished), and
after the restore and release it passes, as in a serial run on its own. With the shared hold switched
off, the same scenario fails it: so the shared hold, and nothing else, keeps the leak out of the verdict.
The second test checks the statement end to end (`-n 0` against `-n 4`, two whole test files); on its
own it proves nothing, since whether a test lands in another's exclusive window there depends on
scheduling (one run of it with the shared hold switched off still passed, 2026-12-06).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from rich.console import Console

from tests.integration.isolation_gate import ARRIVED, FINISHED, GO, RELEASED, THROUGH
from tests.mutation.runner import REFERENCE, RunResult, run_suite
from vnode_harness.formats.implementation import load_implementation
from vnode_harness.plumbing.kube import api_client
from vnode_harness.plumbing.waits import consistently, wait_for
from vnode_harness.providers.local.cluster import LocalCluster
from vnode_harness.run_context import ClusterHandle
from vnode_harness.testapi.profile import LOCK_NAME, ProfileEditor
from vnode_harness.testapi.rw_lease_lock import READER_LABEL, holder_identity

LEAKY = "global-effect-routes-every-pod"
SELECTION = ["conformance/test_scheduling.py", "conformance/test_effects.py"]
BASELINE_TEST = (
    "conformance/test_scheduling.py::test_pod_without_label_runs_on_regular_node_beside_labelled_pod"
)
BASELINE_REQUIREMENT = "SCHED-POD-SELECTIVE"
LEAKING_SELECTORS = [{"name": "everywhere", "effect": {"annotations": {"example.com/global": "yes"}}}]
"""What EFF-GLOBAL's test puts in force: on the leaky mutant it sends every pod to a virtual node."""
GATE_PLUGIN = ["-p", "tests.integration.isolation_gate"]
TEST_NAMESPACE_PREFIX = "vnc-"
"""conformance/conftest.py's `namespace_factory` names every test namespace so."""
WINDOW_SECONDS = 20.0
"""How long the gated test is watched while the profile is changed (it reaches its namespace within a
few seconds when nothing holds it back: the negative control runs it wholly inside the window)."""
RUN_SECONDS = 900.0


@pytest.fixture(scope="module")
def own_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterHandle]:
    """A cluster of its own: the mutant leaves its webhook configuration behind (pointing at a stopped
    process, failurePolicy Fail), which would break the tests that share the session's cluster. Each run
    starts the mutant again, which writes that configuration anew, so the runs here may share it."""
    logs = tmp_path_factory.mktemp("isolation-cluster")
    cluster = LocalCluster(logs_dir=logs, console=Console(stderr=True, quiet=True))
    try:
        yield cluster.up()
    finally:
        cluster.down()


@dataclass(frozen=True)
class GatedRun:
    """A run of BASELINE_TEST forced into an exclusive window of the profile lock."""

    result: RunResult
    test: dict[str, Any]
    """The test's entry in the run's report (outcome, reason, profileLock)."""
    window: str
    """What was seen in the window: the held claim (shared hold) or the test having finished in it."""


def _test_namespaces(core: client.CoreV1Api) -> set[str]:
    return {
        ns.metadata.name
        for ns in core.list_namespace().items
        if ns.metadata.name.startswith(TEST_NAMESPACE_PREFIX)
    }


def _file(gate: Path, name: str, run: Future[RunResult]) -> Callable[[], tuple[bool | None, str]]:
    """A probe for the gate's file `name`; a run that ended before writing it fails the wait at once."""

    def probe() -> tuple[bool | None, str]:
        if (gate / name).exists():
            return True, f"{name!r} written"
        if run.done():
            raise AssertionError(f"the gated run ended before {name!r}:\n{run.result().output_tail}")
        return None, f"no {name!r} yet"

    return probe


def run_in_exclusive_window(cluster: ClusterHandle, reports: Path, *, shared_hold: bool) -> GatedRun:
    """Run BASELINE_TEST on the leaky mutant, let it start only once this process holds the profile lock
    exclusively with LEAKING_SELECTORS in force, and watch it: with the shared hold, for the window (it
    must take nothing of the cluster); without, until it finished. Then restore and release."""
    gate = reports / "gate"
    gate.mkdir(parents=True)
    arguments = [*GATE_PLUGIN, "--isolation-gate", str(gate)]
    if not shared_hold:
        arguments.append("--without-shared-hold")
    implementation = load_implementation(REFERENCE)  # the mutant's file differs only in its command
    namespace = implementation.observation.profile_namespace
    with (
        ThreadPoolExecutor(1) as pool,
        api_client(cluster.kubeconfig, "test-isolation (exclusive window)") as api,
    ):
        run = pool.submit(
            run_suite,
            LEAKY,
            cluster,
            [BASELINE_TEST],
            reports,
            RUN_SECONDS,
            workers="0",
            extra_args=arguments,
        )
        try:
            wait_for("the gated test to reach its setup", _file(gate, ARRIVED, run), timeout=RUN_SECONDS)
            core = client.CoreV1Api(api)
            coordination = client.CoordinationV1Api(api)
            before = _test_namespaces(core)
            editor = ProfileEditor(api, implementation, holder=holder_identity("test_isolation", "-"))
            editor.begin()  # the writer lease and no live reader: the gated test holds nothing yet
            try:
                editor.apply({"selectors": json.dumps(LEAKING_SELECTORS)})
                (gate / GO).touch()
                wait_for("the gated test to go through its gate", _file(gate, THROUGH, run), timeout=60)
                if shared_hold:

                    def waiting() -> tuple[bool | None, str]:
                        readers = coordination.list_namespaced_lease(
                            namespace, label_selector=f"{READER_LABEL}={LOCK_NAME}"
                        ).items
                        holders = [lease.spec.holder_identity for lease in readers]
                        new = sorted(_test_namespaces(core) - before)
                        if holders or new or (gate / FINISHED).exists() or run.done():
                            finished = (gate / FINISHED).exists()
                            return None, f"shared holds {holders}, namespaces {new}, finished {finished}"
                        return True, "no shared hold, no test namespace, not finished"

                    consistently(
                        "the gated test to wait for its shared hold while the profile is changed",
                        waiting,
                        hold=WINDOW_SECONDS,
                    )
                    window = f"held back for {WINDOW_SECONDS:g} s"
                else:
                    wait_for("the gated test to finish", _file(gate, FINISHED, run), timeout=RUN_SECONDS)
                    window = "finished inside the window"
            finally:
                editor.restore()
        finally:
            for name in (GO, RELEASED):  # never leave the run waiting at a gate (also after a failure)
                (gate / name).touch()
        result = run.result()
    assert result.report is not None, result.output_tail
    report = yaml.safe_load(result.report.read_text())
    tests = [entry for entry in report["tests"] if entry["nodeid"] == BASELINE_TEST]
    assert len(tests) == 1, result.output_tail
    assert report["cleanup"]["profileRestored"] is True, report["cleanup"]
    return GatedRun(result, tests[0], window)


@pytest.mark.integration
def test_a_profile_change_cannot_reach_a_test_that_assumes_the_baseline(tmp_path, own_cluster):
    serial = run_suite(LEAKY, own_cluster, [BASELINE_TEST], tmp_path / "serial", RUN_SECONDS)
    assert serial.outcomes.get(BASELINE_REQUIREMENT) == "passed", serial.output_tail

    isolated = run_in_exclusive_window(own_cluster, tmp_path / "isolated", shared_hold=True)
    assert isolated.result.outcomes == serial.outcomes, isolated.result.output_tail
    assert isolated.test["profileLock"] == "shared", isolated.test

    leaked = run_in_exclusive_window(own_cluster, tmp_path / "leaked", shared_hold=False)
    assert leaked.result.outcomes.get(BASELINE_REQUIREMENT) == "failed", leaked.result.output_tail
    assert leaked.test["profileLock"] is None, leaked.test
    assert "it runs on the virtual node" in (leaked.test["reason"] or ""), (
        leaked.test
    )  # failed by the leak, not otherwise


@pytest.mark.integration
def test_a_leaky_implementation_gets_the_same_verdicts_serially_and_in_parallel(tmp_path, own_cluster):
    serial = run_suite(LEAKY, own_cluster, SELECTION, tmp_path / "serial", timeout=900, workers="0")
    parallel = run_suite(LEAKY, own_cluster, SELECTION, tmp_path / "parallel", timeout=900, workers="4")
    assert serial.outcomes, serial.output_tail
    assert parallel.outcomes == serial.outcomes, parallel.output_tail
    assert serial.outcomes["EFF-GLOBAL"] == "failed"  # the rule it breaks, and only where it is tested
    for requirement in ("SCHED-POD-LABEL", "SCHED-POD-SELECTIVE", "SCHED-NS-LABEL", "SCHED-NOT-TRUE"):
        assert serial.outcomes[requirement] == "passed", requirement

"""Faults of the cluster, not of the implementation: kube-apiserver stopped for 10 s and started again;
virtual nodes going NotReady. No test may blame the implementation for them: a wait resumes once the
API server is back, and a test whose pod had no Ready virtual node to go to is broken, naming the node.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kubernetes import client

from tests.faults.scenario import (
    REFERENCE,
    assert_nothing_left,
    implementation_file,
    no_test,
    outcomes_named,
    profile_now,
    start_implementation,
    start_suite,
    when_tests_started,
)
from vnode_harness.faults.apiserver import ApiServerOutage
from vnode_harness.faults.nodes import NodeNotReady
from vnode_harness.formats.implementation import load_implementation
from vnode_harness.plumbing.kube import api_client
from vnode_harness.testapi.observe import virtual_nodes

OUTAGE_SECONDS = 10.0
SCHEDULING_AND_PROFILE = (
    "test_pod_label_runs_pod_on_virtual_node or test_namespace_label_runs_every_pod_on_virtual_node "
    "or test_selector_changes_apply_to_new_pods"
)


@pytest.fixture
def fresh_api(fresh_cluster) -> Iterator[client.ApiClient]:
    with api_client(fresh_cluster.kubeconfig, "fault-scenario") as api:
        yield api


def test_api_server_outage_blames_no_test_on_the_implementation(fresh_cluster, fresh_api, reports, request):
    implementation = load_implementation(REFERENCE)
    started = start_implementation(fresh_cluster, reports.parent / "implementation")
    outage = ApiServerOutage(fresh_cluster.kubeconfig)
    request.addfinalizer(outage.clean_up)
    try:
        before = profile_now(fresh_api, implementation)
        run = start_suite(fresh_cluster, reports, select=SCHEDULING_AND_PROFILE, implementation=started)
        when_tests_started(fresh_api, run)
        outage.stop_and_restart(OUTAGE_SECONDS)
        exit_code = run.wait()
    finally:
        started.stop()
    outcomes = run.outcomes()
    assert exit_code in (0, 1), run.output()
    assert len(outcomes) == 3, outcomes
    assert not outcomes_named(outcomes, "failed"), no_test(outcomes, "failed")()
    assert_nothing_left(fresh_api, implementation, run, before)


def test_virtual_nodes_not_ready_break_the_tests_on_them_naming_the_node(fresh_cluster, fresh_api, reports):
    file = implementation_file(reports.parent / "impl-file", podRunningSeconds=20)
    implementation = load_implementation(file)
    started = start_implementation(fresh_cluster, reports.parent / "implementation", file)
    assert fresh_cluster.process_dir is not None
    frozen = NodeNotReady(client.CoreV1Api(fresh_api), fresh_cluster.process_dir)
    try:
        before = profile_now(fresh_api, implementation)
        run = start_suite(
            fresh_cluster, reports, select="test_namespace_label_runs_every_pod_on_virtual_node",
            implementation=started, file=file,
        )  # fmt: skip
        nodes = [
            node.metadata.name
            for node in virtual_nodes(client.CoreV1Api(fresh_api), implementation.observation)
        ]
        when_tests_started(fresh_api, run)
        frozen.inject(*nodes)
        exit_code = run.wait()
    finally:
        frozen.recover()
        started.stop()
    outcomes = run.outcomes()
    assert exit_code == 1, run.output()
    assert len(outcomes) == 1, outcomes
    broken = outcomes_named(outcomes, "broken")
    assert set(broken) == set(outcomes), f"not broken: {outcomes}"
    assert all("is not Ready" in reason and "FaultInjected" in reason for reason in broken.values()), broken
    assert_nothing_left(fresh_api, implementation, run, before)

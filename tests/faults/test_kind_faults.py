"""The fault of an implementation that runs in the cluster (kind): its pod deleted mid-run. Judged
through the Kubernetes API, as on a vendor's cluster (what becomes of an ECI-labelled pod while it is
down, on kind too: test_down_observation.py).

Deleting the pod is what a node drain, an eviction or an operator does; its Deployment brings a new pod.
The test that was running must fail naming the replaced pod (the "without restarting" check must never
pass across it); every other test passes or fails naming the implementation; the eci-profile is restored
byte for byte and nothing of the run is left.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kubernetes import client

from tests.faults.scenario import (
    PROFILE_AND_ROUTING,
    REFERENCE,
    admits_again,
    assert_nothing_left,
    no_test,
    outcomes_named,
    profile_now,
    start_suite,
    when_a_test_holds_the_lock,
    when_a_test_pod_exists,
)
from vnode_harness.formats.implementation import load_implementation
from vnode_harness.plumbing.kube import api_client
from vnode_harness.plumbing.waits import wait_for
from vnode_harness.run_context import ClusterHandle
from vnode_harness.testapi.rw_lease_lock import held_for

pytestmark = pytest.mark.kind

NAMES_THE_IMPLEMENTATION = ("was deleted or replaced during this test", "vk-webhook")
"""What a failure's reason may name: the replaced pod, or the implementation's webhook (vk-webhook)
refusing while its new pod came up."""


@pytest.fixture
def kind_api(kind_cluster: ClusterHandle) -> Iterator[client.ApiClient]:
    with api_client(kind_cluster.kubeconfig, "fault-scenario") as api:
        yield api


def test_implementation_pod_deleted_mid_run_fails_the_running_test_naming_it(kind_cluster, kind_api, reports):
    implementation = load_implementation(REFERENCE)
    declared = implementation.observation.implementation_pods
    assert declared is not None
    core = client.CoreV1Api(kind_api)
    before = profile_now(kind_api, implementation)
    run = start_suite(kind_cluster, reports, select=PROFILE_AND_ROUTING, implementation=None)
    holder = when_a_test_holds_the_lock(kind_api, implementation, run, matching="without_restart")
    when_a_test_pod_exists(kind_api, run)  # in the test's body: its "before" identity is taken
    core.delete_collection_namespaced_pod(declared.namespace, label_selector=declared.label_selector)
    assert run.wait() == 1, run.output()
    wait_for("the implementation to answer again", lambda: admits_again(kind_api), timeout=120)

    outcomes = run.outcomes()
    assert len(outcomes) == 3, outcomes
    assert not outcomes_named(outcomes, "broken"), no_test(outcomes, "broken")()
    running = held_for(holder)  # the lock's holder: "<node id> (worker …, run …, pid …) #…"
    outcome, reason = outcomes[running]
    assert outcome == "failed", (
        f"{running} passed across the deletion of the implementation's pod: {outcomes}"
    )
    assert "was deleted or replaced during this test" in reason, reason
    for nodeid, reason in outcomes_named(outcomes, "failed").items():
        assert any(cause in reason for cause in NAMES_THE_IMPLEMENTATION), (nodeid, reason)
    assert_nothing_left(kind_api, implementation, run, before)

"""ECI Scheduler: routing by the alibabacloud.com/eci=true label of a pod or of its namespace
(ASM document, "Schedule pods to ECI-backed virtual nodes"; eci-profile document, "ECI Scheduler")."""

from __future__ import annotations

import pytest

from vnode_harness.observe import tolerates_or_binds_virtual, virtual_nodes
from vnode_harness.readiness import probe_pod
from vnode_harness.testkit.checks import (
    assert_on_regular_node,
    assert_on_virtual_node,
    assert_pod_stays,
    run_pod,
)
from vnode_harness.waits import wait_for

ECI = "alibabacloud.com/eci"


@pytest.mark.requirement("SCHED-POD-LABEL")
def test_pod_label_runs_pod_on_virtual_node(core, namespace, implementation):
    pod = run_pod(core, namespace.name, "nginx", implementation, labels={ECI: "true"})
    assert_on_virtual_node(core, pod, implementation)


@pytest.mark.requirement("SCHED-POD-SELECTIVE")
def test_pod_without_label_runs_on_regular_node_beside_labelled_pod(core, namespace, implementation):
    labelled = run_pod(core, namespace.name, "nginx-eci", implementation, labels={ECI: "true"})
    plain = run_pod(core, namespace.name, "nginx", implementation)
    assert_on_virtual_node(core, labelled, implementation)
    assert_on_regular_node(core, plain, implementation)


@pytest.mark.requirement("SCHED-NS-LABEL")
def test_namespace_label_runs_every_pod_on_virtual_node(core, namespace_factory, implementation):
    namespace = namespace_factory({ECI: "true"})
    pod = run_pod(core, namespace.name, "nginx", implementation)
    assert_on_virtual_node(core, pod, implementation)


@pytest.mark.requirement("SCHED-NS-NEW-PODS-ONLY")
def test_labelling_namespace_routes_only_pods_created_afterwards(core, namespace, implementation):
    before = run_pod(core, namespace.name, "nginx-before", implementation)
    assert_on_regular_node(core, before, implementation)
    core.patch_namespace(namespace.name, {"metadata": {"labels": {ECI: "true"}}})
    virtual = {node.metadata.name for node in virtual_nodes(core, implementation.observation)}

    def label_in_force() -> tuple[bool | None, str]:
        # Admission sees namespace labels through caches (the API server's own included): wait until a
        # dry-run pod in the namespace is routed, then create the real one.
        pod = core.create_namespaced_pod(namespace.name, probe_pod(), dry_run="All")
        routed = tolerates_or_binds_virtual(pod, implementation.observation, virtual)
        return (True if routed else None), "a dry-run pod in the labelled namespace is not routed yet"

    wait_for(
        "the namespace label to be in force for new pods",
        label_in_force,
        timeout=implementation.limits.profile_propagation_seconds,
    )
    after = run_pod(core, namespace.name, "nginx-after", implementation)
    assert_on_virtual_node(core, after, implementation)
    # Same pod on the same (regular) node for the whole hold window, not just at one read.
    assert_pod_stays(core, before, implementation, f"the namespace label {ECI}=true")


@pytest.mark.requirement("SCHED-NOT-TRUE")
@pytest.mark.parametrize("value", ["false", "True1", "yes"])
def test_pod_label_other_than_true_does_not_route(core, namespace, implementation, value):
    pod = run_pod(core, namespace.name, "nginx", implementation, labels={ECI: value})
    assert_on_regular_node(core, pod, implementation)


@pytest.mark.requirement("SCHED-NOT-TRUE")
def test_namespace_label_other_than_true_does_not_route(core, namespace_factory, implementation):
    namespace = namespace_factory({ECI: "false"})
    pod = run_pod(core, namespace.name, "nginx", implementation)
    assert_on_regular_node(core, pod, implementation)

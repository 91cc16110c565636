"""ECI Scheduler: routing by the alibabacloud.com/eci=true label of a pod or of its namespace
(ASM document, "Schedule pods to ECI-backed virtual nodes"; eci-profile document, "ECI Scheduler")."""

from __future__ import annotations

import pytest

from vnode_harness.formats.names import ECI_LABEL
from vnode_harness.testapi.checks import (
    assert_on_regular_node,
    assert_on_virtual_node,
    assert_pod_stays,
    run_pod,
)
from vnode_harness.testapi.placement import wait_new_pods_on_virtual_nodes


@pytest.mark.requirement("SCHED-POD-LABEL")
def test_pod_label_runs_pod_on_virtual_node(core, namespace, implementation):
    pod = run_pod(core, namespace.name, "nginx", implementation, labels={ECI_LABEL: "true"})
    assert_on_virtual_node(core, pod, implementation)


@pytest.mark.requirement("SCHED-POD-SELECTIVE")
def test_pod_without_label_runs_on_regular_node_beside_labelled_pod(core, namespace, implementation):
    labelled = run_pod(core, namespace.name, "nginx-eci", implementation, labels={ECI_LABEL: "true"})
    plain = run_pod(core, namespace.name, "nginx", implementation)
    assert_on_virtual_node(core, labelled, implementation)
    assert_on_regular_node(core, plain, implementation)


@pytest.mark.requirement("SCHED-NS-LABEL")
def test_namespace_label_runs_every_pod_on_virtual_node(core, namespace_factory, implementation):
    namespace = namespace_factory({ECI_LABEL: "true"})
    pod = run_pod(core, namespace.name, "nginx", implementation)
    assert_on_virtual_node(core, pod, implementation)


@pytest.mark.requirement("SCHED-NS-NEW-PODS-ONLY")
def test_labelling_namespace_routes_only_pods_created_afterwards(core, namespace, implementation):
    before = run_pod(core, namespace.name, "nginx-before", implementation)
    assert_on_regular_node(core, before, implementation)
    core.patch_namespace(namespace.name, {"metadata": {"labels": {ECI_LABEL: "true"}}})
    # Admission sees namespace labels through caches (the API server's own included): new pods are
    # created until one runs on a virtual node — judged by where it is bound, not by how it got there.
    wait_new_pods_on_virtual_nodes(
        core,
        namespace.name,
        implementation.observation,
        f"new pods in namespace {namespace.name}, now labelled {ECI_LABEL}=true, to run on a virtual node",
        timeout=implementation.limits.profile_propagation_seconds,
        bind_timeout=implementation.limits.pod_running_seconds,
        hint=f"kubectl get namespace {namespace.name} --show-labels",
    )
    after = run_pod(core, namespace.name, "nginx-after", implementation)
    assert_on_virtual_node(core, after, implementation)
    # Same pod on the same (regular) node for the whole hold window, not just at one read.
    assert_pod_stays(core, before, implementation, f"the namespace label {ECI_LABEL}=true")


# Values a lenient boolean parser reads as true (Go's strconv.ParseBool: "1", "t", "T", "TRUE", "True";
# YAML 1.1: "yes", "on") must not route: the rule is the exact label alibabacloud.com/eci=true. Every value
# here is a valid label value, so the API server accepts the pod or namespace as written.
NOT_TRUE = ["false", "True", "TRUE", "t", "1", "yes", "on", "True1"]


@pytest.mark.requirement("SCHED-NOT-TRUE")
@pytest.mark.parametrize("value", NOT_TRUE)
def test_pod_label_other_than_true_does_not_route(core, namespace, implementation, value):
    pod = run_pod(core, namespace.name, "nginx", implementation, labels={ECI_LABEL: value})
    assert_on_regular_node(core, pod, implementation)


@pytest.mark.requirement("SCHED-NOT-TRUE")
@pytest.mark.parametrize("value", NOT_TRUE)
def test_namespace_label_other_than_true_does_not_route(core, namespace_factory, implementation, value):
    namespace = namespace_factory({ECI_LABEL: value})
    pod = run_pod(core, namespace.name, "nginx", implementation)
    assert_on_regular_node(core, pod, implementation)

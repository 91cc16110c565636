"""Service mesh: ECI pods on virtual nodes run with their Envoy sidecar (ASM document: "After
injection, each pod shows 2/2 in the READY column")."""

from __future__ import annotations

import pytest

from vnode_harness.observe import kubectl_ready
from vnode_harness.testkit.checks import assert_on_regular_node, assert_on_virtual_node, run_pod

ECI = "alibabacloud.com/eci"
INJECTION = {"istio-injection": "enabled"}


def assert_ready(pod, expected):
    ready, total = kubectl_ready(pod)
    containers = [c.name for c in pod.spec.containers]
    assert (ready, total) == expected, (
        f"pod {pod.metadata.name} shows READY {ready}/{total}; expected {expected[0]}/{expected[1]} "
        f"(containers: {containers})\n  see: kubectl -n {pod.metadata.namespace} get pod {pod.metadata.name}"
    )


@pytest.mark.requirement("MESH-POD-LABEL")
def test_labelled_pod_in_injected_namespace_runs_with_sidecar(core, namespace_factory, implementation):
    namespace = namespace_factory(INJECTION)
    pod = run_pod(core, namespace.name, "nginx", implementation, labels={ECI: "true"})
    assert_on_virtual_node(core, pod, implementation)
    assert "istio-proxy" in [c.name for c in pod.spec.containers]
    assert_ready(pod, (2, 2))


@pytest.mark.requirement("MESH-NS-LABEL")
def test_plain_pod_in_injected_eci_namespace_runs_with_sidecar(core, namespace_factory, implementation):
    namespace = namespace_factory({**INJECTION, ECI: "true"})
    pod = run_pod(core, namespace.name, "nginx", implementation)
    assert_on_virtual_node(core, pod, implementation)
    assert_ready(pod, (2, 2))


@pytest.mark.requirement("MESH-NO-INJECTION")
def test_pod_on_virtual_node_without_injection_shows_one_of_one(core, namespace, implementation):
    pod = run_pod(core, namespace.name, "nginx", implementation, labels={ECI: "true"})
    assert_on_virtual_node(core, pod, implementation)
    assert_ready(pod, (1, 1))


@pytest.mark.requirement("MESH-INJECTION-NO-ROUTING")
def test_injection_label_alone_does_not_route_to_eci(core, namespace_factory, implementation):
    namespace = namespace_factory(INJECTION)
    pod = run_pod(core, namespace.name, "nginx", implementation)
    assert_on_regular_node(core, pod, implementation)
    assert "istio-proxy" in [c.name for c in pod.spec.containers]

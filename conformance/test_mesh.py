"""Service mesh: ECI pods on virtual nodes run with their Envoy sidecar (ASM document: "After
injection, each pod shows 2/2 in the READY column").

The sidecar may be classic (istio-proxy in spec.containers) or native (a restartable init container,
restartPolicy Always): both are Istio's own modes, and kubectl's READY counts both, so both conform.
"""

from __future__ import annotations

import pytest

from vnode_harness.formats.names import ECI_LABEL, ISTIO_INJECTION, ISTIO_SIDECAR
from vnode_harness.testapi.checks import assert_on_regular_node, assert_on_virtual_node, run_pod
from vnode_harness.testapi.observe import kubectl_ready, long_running_container_names


def assert_sidecar(pod, present=True):
    """istio-proxy runs beside the application, as a regular container or as a native sidecar."""
    running = long_running_container_names(pod)
    where = f"kubectl -n {pod.metadata.namespace} get pod {pod.metadata.name} -o yaml"
    if present:
        assert ISTIO_SIDECAR in running, (
            f"pod {pod.metadata.name} has no {ISTIO_SIDECAR} sidecar: neither in spec.containers nor as an "
            f"init container with restartPolicy Always (long-running containers: {running})\n  see: {where}"
        )
    else:
        assert ISTIO_SIDECAR not in running, (
            f"pod {pod.metadata.name} was injected with {ISTIO_SIDECAR} without injection enabled\n"
            f"  see: {where}"
        )


def assert_ready(pod, expected):
    ready, total = kubectl_ready(pod)
    containers = long_running_container_names(pod)
    assert (ready, total) == expected, (
        f"pod {pod.metadata.name} shows READY {ready}/{total}; expected {expected[0]}/{expected[1]} "
        f"(containers: {containers})\n  see: kubectl -n {pod.metadata.namespace} get pod {pod.metadata.name}"
    )


@pytest.mark.requirement("MESH-POD-LABEL")
def test_labelled_pod_in_injected_namespace_runs_with_sidecar(core, namespace_factory, implementation):
    namespace = namespace_factory(ISTIO_INJECTION)
    pod = run_pod(core, namespace.name, "nginx", implementation, labels={ECI_LABEL: "true"})
    assert_on_virtual_node(core, pod, implementation)
    assert_sidecar(pod)
    assert_ready(pod, (2, 2))


@pytest.mark.requirement("MESH-NS-LABEL")
def test_plain_pod_in_injected_eci_namespace_runs_with_sidecar(core, namespace_factory, implementation):
    namespace = namespace_factory({**ISTIO_INJECTION, ECI_LABEL: "true"})
    pod = run_pod(core, namespace.name, "nginx", implementation)
    assert_on_virtual_node(core, pod, implementation)
    assert_sidecar(pod)
    assert_ready(pod, (2, 2))


@pytest.mark.requirement("MESH-NO-INJECTION")
def test_pod_on_virtual_node_without_injection_shows_one_of_one(core, namespace, implementation):
    pod = run_pod(core, namespace.name, "nginx", implementation, labels={ECI_LABEL: "true"})
    assert_on_virtual_node(core, pod, implementation)
    assert_sidecar(pod, present=False)
    assert_ready(pod, (1, 1))


@pytest.mark.requirement("MESH-INJECTION-NO-ROUTING")
def test_injection_label_alone_does_not_route_to_eci(core, namespace_factory, implementation):
    namespace = namespace_factory(ISTIO_INJECTION)
    pod = run_pod(core, namespace.name, "nginx", implementation)
    assert_on_regular_node(core, pod, implementation)
    assert_sidecar(pod)

"""How the suite judges what it sees, through the Kubernetes API only.

"Runs on a virtual node" is judged from the node the pod is bound to — its labels per the observation
contract — never from how the implementation got it there (spec.nodeName, a nodeSelector, affinity).
READY is counted exactly as `kubectl get pods` counts it, restartable init containers included.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client

from vnode_harness.implementation import Observation


def is_virtual_node(core: client.CoreV1Api, node_name: str, observation: Observation) -> bool:
    """Asked of the API server with the declared selector as it is, so any label selector an
    implementation file may declare (set-based `type in (…)`, `!key`, several terms) means what
    Kubernetes says it means; the suite parses no selector itself."""
    nodes = core.list_node(
        label_selector=observation.virtual_node_selector, field_selector=f"metadata.name={node_name}"
    )
    return bool(nodes.items)


def virtual_nodes(core: client.CoreV1Api, observation: Observation) -> list[client.V1Node]:
    return list(core.list_node(label_selector=observation.virtual_node_selector).items)


def node_is_ready(node: client.V1Node) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in (node.status.conditions or []))


def is_restartable_init_container(container: client.V1Container) -> bool:
    """A native sidecar: an init container with restartPolicy Always (KEP-753), which keeps running
    beside the regular containers. kubectl counts it in READY, and an injector may put a proxy there."""
    return bool(container.restart_policy == "Always")


def long_running_container_names(pod: client.V1Pod) -> list[str]:
    """The containers that run for the pod's life: spec.containers, then restartable init containers.

    Where a sidecar such as istio-proxy sits is the injector's choice: a classic sidecar in
    spec.containers and a native one in spec.initContainers are equally conformant, so "the pod runs
    with its sidecar" is judged against this list.
    """
    spec = pod.spec
    regular = [container.name for container in spec.containers or []]
    native = [c.name for c in spec.init_containers or [] if is_restartable_init_container(c)]
    return regular + native


def kubectl_ready(pod: client.V1Pod) -> tuple[int, int]:
    """(ready, total) exactly as the READY column of `kubectl get pods` (the API server's table printer,
    printPod in kubernetes/pkg/printers/internalversion/printers.go, v1.35).

    Total: regular containers plus restartable init containers. Init container statuses are read in
    order until the first one still initializing: a completed one is skipped, a started restartable one
    counts when ready. Regular containers count (running and ready) only once initialization is over,
    or the pod's Initialized condition is True.
    """
    spec, status = pod.spec, pod.status
    init_specs = {c.name: c for c in spec.init_containers or []}
    total = len(spec.containers or []) + sum(map(is_restartable_init_container, init_specs.values()))
    if status is None:
        return 0, total
    ready = 0
    initializing = False
    for init_status in status.init_container_statuses or []:
        state = init_status.state
        init_spec = init_specs.get(init_status.name)
        restartable = init_spec is not None and is_restartable_init_container(init_spec)
        if state and state.terminated and state.terminated.exit_code == 0:
            continue
        if restartable and init_status.started:
            ready += 1 if init_status.ready else 0
            continue
        initializing = True  # failed, waiting or running: kubectl stops reading init statuses here
        break
    initialized = any(c.type == "Initialized" and c.status == "True" for c in status.conditions or [])
    if not initializing or initialized:
        for container_status in status.container_statuses or []:
            state = container_status.state
            if state and state.waiting and state.waiting.reason:
                continue
            if state and state.terminated:
                continue
            if container_status.ready and state and state.running:
                ready += 1
    return ready, total


def pod_summary(pod: client.V1Pod) -> dict[str, Any]:
    """What a failure message quotes about a pod: phase, node, READY, labels, annotations."""
    ready, total = kubectl_ready(pod)
    return {
        "name": pod.metadata.name,
        "phase": pod.status.phase if pod.status else None,
        "node": pod.spec.node_name,
        "ready": f"{ready}/{total}",
        "labels": pod.metadata.labels or {},
        "annotations": pod.metadata.annotations or {},
    }

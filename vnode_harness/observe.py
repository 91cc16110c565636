"""How the suite judges what it sees, through the Kubernetes API only.

"Runs on a virtual node" is judged from the node the pod is bound to — its labels per the observation
contract — never from how the implementation got it there (spec.nodeName, a nodeSelector, affinity).
READY is counted exactly as `kubectl get pods` counts it, restartable init containers included.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client

from vnode_harness.implementation import Observation


def parse_label_selector(selector: str) -> dict[str, str]:
    """`a=b,c=d` → {"a": "b", "c": "d"} (the observation contract uses equality selectors only)."""
    pairs = [term.split("=", 1) for term in selector.split(",") if term.strip()]
    return {key.strip(): value.strip() for key, value in pairs}


def is_virtual_node(node: client.V1Node, observation: Observation) -> bool:
    labels = node.metadata.labels or {}
    return all(labels.get(k) == v for k, v in parse_label_selector(observation.virtual_node_selector).items())


def virtual_nodes(core: client.CoreV1Api, observation: Observation) -> list[client.V1Node]:
    return list(core.list_node(label_selector=observation.virtual_node_selector).items)


def node_is_ready(node: client.V1Node) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in (node.status.conditions or []))


def kubectl_ready(pod: client.V1Pod) -> tuple[int, int]:
    """(ready, total) as kubectl's READY column: regular containers plus restartable init containers."""
    spec, status = pod.spec, pod.status
    restartable = {c.name for c in (spec.init_containers or []) if c.restart_policy == "Always"}
    total = len(spec.containers) + len(restartable)
    ready = 0
    for init_status in (status.init_container_statuses or []) if status else []:
        if init_status.name in restartable and init_status.started and init_status.ready:
            ready += 1
    for container_status in (status.container_statuses or []) if status else []:
        if container_status.ready and container_status.state and container_status.state.running:
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


def tolerates_or_binds_virtual(pod: client.V1Pod, observation: Observation, virtual: set[str]) -> bool:
    """Whether an admitted (not yet scheduled) pod is headed for a virtual node, whatever the mechanism."""
    if pod.spec.node_name:
        return pod.spec.node_name in virtual
    return any(t.key == observation.virtual_node_taint_key for t in (pod.spec.tolerations or []))

"""How the suite judges what it sees, through the Kubernetes API only.

"Runs on a virtual node" is judged from the node the pod is bound to — its labels per the observation
contract — never from how the implementation got it there (spec.nodeName, a nodeSelector, affinity).
READY is counted exactly as `kubectl get pods` counts it, restartable init containers included.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client

from vnode_harness.formats.implementation import Observation
from vnode_harness.plumbing.waits import WaitTimeout, wait_for


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


def not_ready_virtual_nodes(core: client.CoreV1Api, observation: Observation) -> list[str]:
    """One line per virtual node whose Ready condition is not True, with the condition's reason.

    A virtual node that went NotReady during a run is the environment's fault, whatever provider runs
    it: a test whose pod had nowhere to go on it is broken, not a non-conformance."""
    lines = []
    for node in virtual_nodes(core, observation):
        if node_is_ready(node):
            continue
        ready = [c for c in (node.status.conditions or []) if c.type == "Ready"]
        why = (
            f"Ready={ready[0].status} ({ready[0].reason}: {ready[0].message})"
            if ready
            else "no Ready condition"
        )
        lines.append(f"virtual node {node.metadata.name} is not Ready: {why}")
    return lines


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


DOWN_OBSERVATION_ID = "implementation-down"
DOWN_QUESTION = (
    "While the implementation is down, is an ECI-labelled pod refused, or does it slip onto a regular node?"
)
"""An informative observation of every run (report `observations`): the documents name no failure mode,
so it is shown beside the verdict, never certified."""


def fate_of_eci_pod(
    core: client.CoreV1Api, observation: Observation, namespace: str, labels: dict[str, str], timeout: float
) -> tuple[str, str]:
    """Create one real pod labelled for ECI and tell what became of it: (answer, how it was seen).

    Called with the implementation stopped. Refused at admission → "refused"; admitted → where the
    scheduler bound it (a regular node: the pod slipped past the implementation). The pod is deleted.
    """
    from vnode_harness.formats.names import ECI_LABEL

    body = {
        "metadata": {"generateName": "while-down-", "labels": {ECI_LABEL: "true", **labels}},
        "spec": {
            "terminationGracePeriodSeconds": 0,
            "containers": [{"name": "app", "image": "registry.invalid/probe:1"}],
        },
    }
    try:
        pod = core.create_namespaced_pod(namespace, body)
    except client.ApiException as error:
        from vnode_harness.testapi.blame import api_error_text

        return "refused", f"the API server refused the pod: {api_error_text(error)}"
    name = pod.metadata.name

    def bound() -> tuple[str | None, str]:
        node = core.read_namespaced_pod(name, namespace).spec.node_name
        return node or None, "not bound to a node yet"

    try:
        node = wait_for(f"pod {namespace}/{name} to be bound", bound, timeout=timeout)
    except WaitTimeout:
        return "admitted, not scheduled", f"pod {namespace}/{name} was admitted, unbound after {timeout:g} s"
    finally:
        core.delete_namespaced_pod(name, namespace, grace_period_seconds=0)
    where = "a virtual node" if is_virtual_node(core, node, observation) else "a regular node"
    return f"admitted, ran on {where}", f"pod {namespace}/{name} was admitted and bound to node {node}"

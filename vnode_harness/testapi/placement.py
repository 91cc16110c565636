"""Where new pods land, asked of the cluster with real pods — never guessed from an admitted pod.

An implementation may route a pod by a toleration plus nodeSelector, by node affinity, by setting
spec.nodeName, or by a scheduler of its own: only the node the pod is finally bound to says whether it
is "headed for a virtual node". So the readiness gate and the tests that must wait until a change is in
force for *new* pods create real pods, wait until each is bound, judge the node by the declared virtual
node selector, and delete them again. A pod bound to a regular node is evidence that the change is not
in force yet; the next attempt is a new pod, because admission decides only once, at creation.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from kubernetes import client

from vnode_harness.formats.implementation import Observation
from vnode_harness.plumbing.waits import WaitTimeout, wait_for
from vnode_harness.testapi.blame import api_error_text
from vnode_harness.testapi.observe import is_virtual_node
from vnode_harness.testapi.workloads import pod_image

NO_SIDECAR = {"sidecar.istio.io/inject": "false"}
"""Placement probes need no mesh: a sidecar would only slow them down."""


@dataclass(frozen=True)
class Placement:
    pod: str
    node: str
    virtual: bool

    def describe(self) -> str:
        kind = "a virtual node" if self.virtual else "a regular node"
        return f"pod {self.pod} was bound to {kind} ({self.node})"


def placement_pod(labels: Mapping[str, str] | None = None) -> dict[str, object]:
    return {
        "metadata": {
            "generateName": "placement-probe-",
            "labels": dict(labels or {}),
            "annotations": dict(NO_SIDECAR),
        },
        "spec": {
            "containers": [{"name": "app", "image": pod_image()}],
            "terminationGracePeriodSeconds": 0,
        },
    }


def _unscheduled_reason(pod: client.V1Pod) -> str:
    for condition in (pod.status.conditions if pod.status else None) or []:
        if condition.type == "PodScheduled" and condition.status != "True":
            return f"not scheduled: {condition.reason}: {condition.message}"
    return "not bound to a node yet"


def place_one(
    core: client.CoreV1Api,
    namespace: str,
    observation: Observation,
    *,
    labels: Mapping[str, str] | None = None,
    bind_timeout: float,
) -> Placement:
    """Create one real pod, wait until it is bound to a node, delete it; say where it was bound.

    Raises WaitTimeout when the pod is not bound in time (for example: routed to a virtual node whose
    taint it does not tolerate) — that is not a placement, and the message quotes the scheduler.
    """
    created = core.create_namespaced_pod(namespace, placement_pod(labels))
    name = created.metadata.name
    try:

        def bound() -> tuple[str | None, str]:
            pod = core.read_namespaced_pod(name, namespace)
            return (pod.spec.node_name or None), _unscheduled_reason(pod)

        node = wait_for(
            f"pod {namespace}/{name} to be bound to a node",
            bound,
            timeout=bind_timeout,
            hint=f"kubectl -n {namespace} describe pod {name}",
        )
        return Placement(name, node, is_virtual_node(core, node, observation))
    finally:
        try:
            core.delete_namespaced_pod(name, namespace, grace_period_seconds=0)
        except client.ApiException as error:
            if error.status != 404:
                raise


def wait_new_pods_on_virtual_nodes(
    core: client.CoreV1Api,
    namespace: str,
    observation: Observation,
    description: str,
    *,
    labels: Mapping[str, str] | None = None,
    timeout: float,
    bind_timeout: float,
    hint: str = "",
) -> Placement:
    """Create real pods one after another until one is bound to a virtual node (within `timeout`).

    Returns that placement; raises WaitTimeout quoting the last placement (or scheduling problem) seen.
    """
    deadline = time.monotonic() + timeout

    def attempt() -> tuple[Placement | None, str]:
        remaining = max(deadline - time.monotonic(), 1.0)
        try:
            placement = place_one(
                core, namespace, observation, labels=labels, bind_timeout=min(bind_timeout, remaining)
            )
        except WaitTimeout as error:
            return None, str(error).splitlines()[0]
        except client.ApiException as error:  # refused at admission: not routed, maybe not up yet
            return None, f"pod creation failed: {api_error_text(error)}"
        return (placement if placement.virtual else None), placement.describe()

    return wait_for(description, attempt, timeout=timeout, interval=0.5, hint=hint)

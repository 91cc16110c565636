"""Whether the kind node still has CPU to place the run's pods once everything of ours runs on it.

A kind cluster here is one node with the machine's cores, shared by the control plane, istiod, the
virtual-kubelets, the implementation, the in-cluster suite's Job and every test pod that stays on the
regular node. The scheduler places pods by their CPU *requests*: when those fill the node, a test pod
stays Pending and its test fails on something neither the implementation nor the test did (CI,
2026-12-06: 1960m of 2000m requested, an injected pod Pending for 60 s). So the start checks the
headroom, says it, and stops with the numbers when it is too small, before any test can be judged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

from kubernetes import client
from kubernetes.utils import parse_quantity

from vnode_harness.run_context import ClusterError

MIN_FREE_CPU_MILLICORES = 700
"""What the run's own pods may request at once on the node: the in-cluster suite's Job (500m,
incluster/manifests.py) and a score of injected test pods (10m sidecar each on kind, istio.py)."""

_DONE_PHASES = {"Succeeded", "Failed"}


def _millicores(quantity: object) -> int:
    return int(parse_quantity(quantity) * Decimal(1000)) if quantity is not None else 0


def _requested(resources: client.V1ResourceRequirements | None) -> int:
    return _millicores(((resources.requests if resources is not None else None) or {}).get("cpu"))


def pod_cpu_request(spec: client.V1PodSpec) -> int:
    """The scheduler's view of a pod's CPU request in millicores: the larger of its containers' sum and
    its largest init container, plus its overhead."""
    containers = sum(_requested(container.resources) for container in spec.containers or [])
    init = max((_requested(container.resources) for container in spec.init_containers or []), default=0)
    return max(containers, init) + _millicores((spec.overhead or {}).get("cpu"))


def placed_on(pods: Iterable[client.V1Pod], node: str) -> list[client.V1Pod]:
    """The pods placed on `node` that still hold their requests (not Succeeded or Failed)."""
    return [
        pod
        for pod in pods
        if pod.spec is not None
        and pod.spec.node_name == node
        and (pod.status is None or pod.status.phase not in _DONE_PHASES)
    ]


def check_cpu_headroom(core: client.CoreV1Api, nodes: Sequence[str]) -> str:
    """One line per node: CPU requested of allocatable. Raises ClusterError when a node has less than
    MIN_FREE_CPU_MILLICORES left, naming the biggest requests so the cause is plain."""
    pods = core.list_pod_for_all_namespaces().items
    lines, short = [], []
    for node in nodes:
        allocatable = _millicores(core.read_node(node).status.allocatable["cpu"])
        requests = sorted(
            ((pod_cpu_request(pod.spec), f"{pod.metadata.namespace}/{pod.metadata.name}")
             for pod in placed_on(pods, node)),
            reverse=True,
        )  # fmt: skip
        free = allocatable - sum(millicores for millicores, _ in requests)
        lines.append(f"{node}: CPU requested {allocatable - free}m of {allocatable}m ({free}m free)")
        if free < MIN_FREE_CPU_MILLICORES:
            short.append(
                f"{node} has {free}m CPU unrequested, less than the {MIN_FREE_CPU_MILLICORES}m the run's "
                "pods may request; the largest requests: "
                + ", ".join(f"{name} {millicores}m" for millicores, name in requests[:5])
            )
    if short:
        raise ClusterError("the kind node cannot place the run's pods: " + "; ".join(short))
    return "; ".join(lines)

"""The kind start's CPU headroom check: the scheduler's arithmetic, and a clear stop when the node is full."""

from __future__ import annotations

import pytest
from kubernetes import client

from vnode_harness.providers.kind.capacity import (
    MIN_FREE_CPU_MILLICORES,
    check_cpu_headroom,
    placed_on,
    pod_cpu_request,
)
from vnode_harness.run_context import ClusterError


def _container(cpu: str | None) -> client.V1Container:
    requests = {"cpu": cpu} if cpu is not None else None
    return client.V1Container(name="c", resources=client.V1ResourceRequirements(requests=requests))


def _pod(name: str, node: str | None, cpus: list[str | None], *, phase: str = "Running",
         init: list[str | None] | None = None, overhead: str | None = None) -> client.V1Pod:  # fmt: skip
    spec = client.V1PodSpec(
        node_name=node,
        containers=[_container(cpu) for cpu in cpus],
        init_containers=[_container(cpu) for cpu in init] if init else None,
        overhead={"cpu": overhead} if overhead else None,
    )
    metadata = client.V1ObjectMeta(name=name, namespace="ns")
    return client.V1Pod(metadata=metadata, spec=spec, status=client.V1PodStatus(phase=phase))


class FakeCore:
    """What check_cpu_headroom reads: every pod, and each node's allocatable CPU."""

    def __init__(self, pods: list[client.V1Pod], allocatable: str = "2") -> None:
        self.pods, self.allocatable = pods, allocatable

    def list_pod_for_all_namespaces(self) -> client.V1PodList:
        return client.V1PodList(items=self.pods)

    def read_node(self, name: str) -> client.V1Node:
        return client.V1Node(status=client.V1NodeStatus(allocatable={"cpu": self.allocatable}))


def test_a_pods_request_is_its_containers_sum_or_its_largest_init_container_plus_overhead() -> None:
    assert pod_cpu_request(_pod("p", "n", ["100m", "0.25", None]).spec) == 350
    assert pod_cpu_request(_pod("p", "n", ["10m"], init=["500m", "20m"]).spec) == 500
    assert pod_cpu_request(_pod("p", "n", ["10m", "10m"], overhead="1").spec) == 1020


def test_only_running_pods_on_the_node_hold_requests() -> None:
    pods = [
        _pod("here", "n", ["1"]),
        _pod("elsewhere", "m", ["1"]),
        _pod("unscheduled", None, ["1"]),
        _pod("finished", "n", ["1"], phase="Succeeded"),
        _pod("crashed", "n", ["1"], phase="Failed"),
    ]
    assert [pod.metadata.name for pod in placed_on(pods, "n")] == ["here"]


def test_enough_headroom_is_reported_per_node() -> None:
    core = FakeCore([_pod("istiod", "n", ["100m"]), _pod("apiserver", "n", ["250m"])])
    assert check_cpu_headroom(core, ["n"]) == "n: CPU requested 350m of 2000m (1650m free)"


def test_a_full_node_stops_the_start_naming_the_largest_requests() -> None:
    free = MIN_FREE_CPU_MILLICORES - 10
    core = FakeCore([_pod("istiod", "n", ["500m"]), _pod("job", "n", [f"{2000 - 500 - free}m"])])
    with pytest.raises(ClusterError) as raised:
        check_cpu_headroom(core, ["n"])
    message = str(raised.value)
    assert f"n has {free}m CPU unrequested" in message
    assert message.index("ns/job") < message.index("ns/istiod")

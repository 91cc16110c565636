"""Without a mirror the suite image must already be on a node the Job can run on."""

from __future__ import annotations

from types import SimpleNamespace as O

from vnode_harness.incluster.preflight import missing_image_problem, nodes_with_image, runnable_nodes


def node(name, images=(), taints=(), unschedulable=False):
    return O(
        metadata=O(name=name),
        spec=O(unschedulable=unschedulable, taints=[O(effect=effect) for effect in taints]),
        status=O(images=[O(names=list(images))]),
    )


WORKER = node("kind-worker", images=["docker.io/vnode/conformance:0.1.0", "docker.io/vnode/nginx:bookworm"])
VIRTUAL = node("virtual-kubelet-cn-hangzhou-i", taints=["NoSchedule"])
CONTROL = node("kind-control-plane", images=["docker.io/vnode/conformance:0.1.0"], taints=["NoSchedule"])


class Core:
    def __init__(self, nodes):
        self.nodes = nodes

    def list_node(self):
        return O(items=self.nodes)


def test_tainted_and_cordoned_nodes_cannot_run_the_job():
    cordoned = node("cordoned", unschedulable=True)
    assert [n.metadata.name for n in runnable_nodes([WORKER, VIRTUAL, CONTROL, cordoned])] == ["kind-worker"]


def test_the_image_is_found_under_the_runtimes_name():
    assert nodes_with_image([WORKER], "vnode/conformance:0.1.0") == ["kind-worker"]
    assert nodes_with_image([WORKER], "vnode/conformance:0.2.0") == []


def test_an_image_only_on_a_tainted_node_is_named_missing_with_what_to_do():
    empty_worker = node("kind-worker")
    problem = missing_image_problem(Core([empty_worker, CONTROL]), "vnode/conformance:0.1.0")
    assert problem is not None
    assert "vnode/conformance:0.1.0 is on none of the nodes the Job can run on (kind-worker)" in problem
    assert "kind load docker-image" in problem
    assert "--image-mirror" in problem
    assert missing_image_problem(Core([WORKER]), "vnode/conformance:0.1.0") is None

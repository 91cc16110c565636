"""Before the Job starts: is the suite image where the cluster's nodes can run it?

Without a mirror (`--image-mirror`), nothing can pull `vnode/conformance:<version>` (it is built here,
never published), so it must already be on a node that can run the pod — loaded (`kind load
docker-image`, `ctr images import`). The nodes list their images in `status.images` (the kubelet's
`--node-status-max-images`, 50 by default, largest first). With a mirror the kubelet pulls it, and a
failed pull is named from the pod's status as soon as the kubelet reports it.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client

from vnode_harness.formats.image_refs import normalized


def runnable_nodes(nodes: list[Any]) -> list[Any]:
    """The nodes a pod without tolerations may land on: no NoSchedule/NoExecute taint, not cordoned."""
    return [
        node
        for node in nodes
        if not node.spec.unschedulable
        and not any(taint.effect in ("NoSchedule", "NoExecute") for taint in node.spec.taints or [])
    ]


def nodes_with_image(nodes: list[Any], image: str) -> list[str]:
    wanted = normalized(image)
    return [
        node.metadata.name
        for node in nodes
        if any(normalized(name) == wanted for entry in node.status.images or [] for name in entry.names or [])
    ]


def missing_image_problem(core: client.CoreV1Api, image: str) -> str | None:
    """Why the Job could not start `image` without a mirror; None when a runnable node has it."""
    nodes = runnable_nodes(core.list_node().items)
    if not nodes:
        return (
            "the cluster has no node a pod without tolerations can run on (every node is tainted or cordoned)"
        )
    if nodes_with_image(nodes, image):
        return None
    names = ", ".join(node.metadata.name for node in nodes)
    return (
        f"the suite image {image} is on none of the nodes the Job can run on ({names}), and no "
        "--image-mirror was given: load it into them (kind: `kind load docker-image "
        f"{image} --name CLUSTER`), or push it to your registry and pass --image-mirror REGISTRY/PREFIX"
    )

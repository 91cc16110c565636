"""Installing the shared topology into a kind cluster: the virtual nodes, then Istio.

Each step is skipped on a kept cluster that already has exactly what it would apply (its digest is
recorded, applied.py) and whose workload is healthy; otherwise it applies and waits until ready.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from kubernetes import client
from rich.console import Console

from vnode_harness.formats import versions
from vnode_harness.plumbing.waits import WaitTimeout, wait_for
from vnode_harness.providers.kind import istio
from vnode_harness.providers.kind import virtual_nodes as vn
from vnode_harness.providers.kind.applied import record_applied
from vnode_harness.providers.kind.implementation import apply_documents
from vnode_harness.providers.kind.objects import has_condition, name_of
from vnode_harness.run_context import ClusterError
from vnode_harness.toolchain import resolve_toolchain


def cluster_wait(
    description: str, probe: Callable[[], tuple[bool | None, object]], *, timeout: float, hint: str
) -> None:
    """wait_for, with a timeout reported as the cluster not coming up (ClusterError)."""
    try:
        wait_for(description, probe, timeout=timeout, hint=hint)
    except WaitTimeout as error:
        raise ClusterError(str(error)) from error


def virtual_nodes_digest(virtual_kubelet_image_id: str) -> str:
    """The manifests and the image (the toolchain's virtual-kubelet, built by `vnode kind images`)."""
    payload = vn.manifests_digest() + virtual_kubelet_image_id
    return hashlib.sha256(payload.encode()).hexdigest()


def install_virtual_nodes(
    api: client.ApiClient,
    *,
    kubectl: Path,
    kubeconfig: Path,
    image_id: str,
    load_image: Callable[[str], None],
    logs_dir: Path,
    applied: str | None,
) -> None:
    """The virtual-kubelet Deployments, until both nodes are registered, Ready and labelled."""
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    digest = virtual_nodes_digest(image_id)
    if digest != applied or not _virtual_kubelets_available(apps):
        load_image(vn.IMAGE)
        documents = vn.manifests(vn.make_serving_certificate())
        apply_documents(kubectl, kubeconfig, documents, what="kubectl apply of the virtual nodes",
                        log=logs_dir / "install-virtual-nodes.log")  # fmt: skip
    names = vn.node_names()

    def probe() -> tuple[bool | None, str]:
        nodes = {name_of(n): n for n in core.list_node().items if name_of(n) in names}
        waiting = [name for name in names if name not in nodes or not has_condition(nodes[name], "Ready")]
        return (True if not waiting else None), f"not registered and Ready yet: {waiting}"

    cluster_wait("the virtual nodes to be Ready", probe, timeout=240,
                 hint=f"kubectl -n {vn.NAMESPACE} get pods; kubectl get nodes")  # fmt: skip
    vn.label_virtual_nodes(core)
    record_applied(core, "virtual-nodes", digest)


def _virtual_kubelets_available(apps: client.AppsV1Api) -> bool:
    try:
        deployments = apps.list_namespaced_deployment(vn.NAMESPACE).items
    except client.ApiException:
        return False
    available = {name_of(d) for d in deployments if has_condition(d, "Available")}
    return set(vn.node_names()) <= available


def install_istio(
    api: client.ApiClient,
    *,
    kubeconfig: Path,
    hub: str,
    tag: str,
    settings: tuple[str, ...] = (),
    logs_dir: Path,
    applied: str | None,
    console: Console,
) -> None:
    """Istio's minimal profile with `hub`/`tag` images (and the `settings` they need), until istiod
    injects sidecars."""
    digest = istio.install_digest(hub, tag, settings)
    available, _ = istio.istiod_available(client.AppsV1Api(api))
    if digest != applied or not available:
        istioctl = resolve_toolchain(["istio"], console=console)["istioctl"]
        console.print(f"installing Istio ({versions.ISTIO_LABEL}, minimal profile) with istioctl")
        istio.install(
            istioctl, kubeconfig, logs_dir / "istioctl-install.log", hub=hub, tag=tag, settings=settings
        )
    istio.wait_ready(api)
    record_applied(client.CoreV1Api(api), "istio", digest)

"""Is the cluster ready for the suite? Checked once, before any test, so a broken cluster fails the
run at once with the reason instead of as thirty timeouts.

Checks: the virtual nodes exist and are Ready; the implementation routes (a real pod labelled for ECI is
bound to a virtual node — judged by the node it lands on, whatever the mechanism,
vnode_harness.testapi.placement; the pod is deleted again); and, when the implementation declares the
mesh feature, the sidecar injector answers (a server-side dry-run pod in an injection-enabled namespace
comes back with an istio-proxy container, classic or native). Nothing is left behind.
"""

from __future__ import annotations

from kubernetes import client

from vnode_harness.formats.implementation import Implementation
from vnode_harness.formats.names import ECI_LABEL, ISTIO_SIDECAR
from vnode_harness.plumbing.probes import PROVIDER_PROBE_NAMESPACE, ensure_probe_namespace, probe_pod
from vnode_harness.plumbing.waits import wait_for
from vnode_harness.testapi.observe import long_running_container_names, node_is_ready, virtual_nodes
from vnode_harness.testapi.placement import wait_new_pods_on_virtual_nodes


def check_cluster_ready(
    api: client.ApiClient,
    implementation: Implementation,
    timeout: float,
    *,
    probe_namespace: str = PROVIDER_PROBE_NAMESPACE,
    probe_labels: dict[str, str] | None = None,
) -> None:
    """Raise WaitTimeout naming the first thing that is not ready (probes in `probe_namespace`)."""
    core = client.CoreV1Api(api)
    observation = implementation.observation

    def nodes_probe() -> tuple[set[str] | None, str]:
        nodes = virtual_nodes(core, observation)
        ready = {n.metadata.name for n in nodes if node_is_ready(n)}
        not_ready = sorted({n.metadata.name for n in nodes} - ready)
        if nodes and not not_ready:
            return ready, "all Ready"
        return None, f"virtual nodes {sorted(ready)} Ready, {not_ready} not Ready"

    wait_for(
        f"virtual nodes ({observation.virtual_node_selector}) to be Ready",
        nodes_probe,
        timeout=timeout,
        hint=f"kubectl get nodes -l {observation.virtual_node_selector}",
    )
    ensure_probe_namespace(core, probe_namespace, labels=probe_labels)
    wait_new_pods_on_virtual_nodes(
        core,
        probe_namespace,
        observation,
        f"the implementation ({observation.webhook_configuration_name}) to run a pod labelled "
        f"{ECI_LABEL}=true on a virtual node",
        labels={ECI_LABEL: "true"},
        timeout=timeout,
        bind_timeout=float(implementation.limits.pod_running_seconds),
        hint=f"kubectl get mutatingwebhookconfigurations {observation.webhook_configuration_name} -o yaml",
    )
    if implementation.supports("mesh"):

        def injector_probe() -> tuple[bool | None, str]:
            try:
                pod = core.create_namespaced_pod(probe_namespace, probe_pod(), dry_run="All")
            except client.ApiException as error:
                return None, f"dry-run pod creation failed: {error.status} {error.reason}"
            # Classic or native sidecar (a restartable init container): either is Istio's own mode.
            names = long_running_container_names(pod)
            return (True if ISTIO_SIDECAR in names else None), f"long-running containers: {names}"

        wait_for(
            "the Istio sidecar injector to inject into an istio-injection=enabled namespace",
            injector_probe,
            timeout=timeout,
            hint="kubectl get mutatingwebhookconfigurations istio-sidecar-injector -o yaml",
        )

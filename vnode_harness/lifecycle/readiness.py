"""Is the cluster ready for the suite? Checked once, before any test, so a broken cluster fails the
run at once with the reason instead of as thirty timeouts.

The gate judges only the environment and whether the implementation *answers*, never a documented
behaviour: a wrong implementation must get "failed" on the rule it breaks, not "the cluster is not
ready". Checks: the virtual nodes exist and are Ready; the implementation's declared
MutatingWebhookConfiguration exists and its webhook answers a server-side dry-run pod labelled for ECI
(admitted, or denied by the webhook itself — either is an answer; a webhook that cannot be called is
not); and, when the implementation declares the mesh feature, the sidecar injector answers (a dry-run
pod in an injection-enabled namespace comes back with an istio-proxy container, classic or native).

Label routing (SCHED-POD-LABEL) is then judged once, like profile propagation (`label_routing_failure`):
when a pod labelled for ECI does not run on a virtual node, the run goes on, every test gets its own
verdict, and the cause is printed and attached to each failed test. Nothing is left behind.
"""

from __future__ import annotations

from kubernetes import client

from vnode_harness.formats.implementation import Implementation
from vnode_harness.formats.names import ECI_LABEL, ISTIO_SIDECAR
from vnode_harness.plumbing.probes import PROVIDER_PROBE_NAMESPACE, ensure_probe_namespace, probe_pod
from vnode_harness.plumbing.waits import WaitTimeout, wait_for
from vnode_harness.testapi.blame import api_error_text
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
    name = observation.webhook_configuration_name
    admission = client.AdmissionregistrationV1Api(api)

    def webhook_probe() -> tuple[bool | None, str]:
        try:
            admission.read_mutating_webhook_configuration(name)
        except client.ApiException as error:
            return None, f"MutatingWebhookConfiguration {name}: {error.status} {error.reason}"
        try:
            core.create_namespaced_pod(probe_namespace, probe_pod({ECI_LABEL: "true"}), dry_run="All")
        except client.ApiException as error:
            text = api_error_text(error)
            # "denied the request": the webhook answered (its verdict is for the tests to judge);
            # "failed calling webhook": it cannot be reached yet.
            return (True if "denied the request" in text else None), f"dry-run pod: {text}"
        return True, "a dry-run pod labelled for ECI was admitted"

    wait_for(
        f"the implementation's webhook ({name}) to answer a pod labelled {ECI_LABEL}=true",
        webhook_probe,
        timeout=timeout,
        hint=f"kubectl get mutatingwebhookconfigurations {name} -o yaml",
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


def label_routing_failure(
    api: client.ApiClient,
    implementation: Implementation,
    *,
    probe_namespace: str,
    probe_labels: dict[str, str] | None = None,
) -> str:
    """ "" when a real pod labelled for ECI runs on a virtual node within the implementation's limits,
    else why not. Judged once before the tests (not a gate): the tests that need it then fail with this
    cause attached, and every other requirement still gets its own verdict."""
    core = client.CoreV1Api(api)
    observation = implementation.observation
    try:
        ensure_probe_namespace(core, probe_namespace, labels=probe_labels)
        wait_new_pods_on_virtual_nodes(
            core,
            probe_namespace,
            observation,
            f"a pod labelled {ECI_LABEL}=true to run on a virtual node ({observation.virtual_node_selector})",
            labels={ECI_LABEL: "true"},
            timeout=float(implementation.limits.profile_propagation_seconds),
            bind_timeout=float(implementation.limits.pod_running_seconds),
        )
    except WaitTimeout as error:
        return str(error)
    except client.ApiException as error:
        return f"the API server refused the probe pod: {api_error_text(error)}"
    return ""

"""Dry-run probe pods and the namespaces they are created in: one naming scheme for every owner.

A probe is a pod created with `dryRun=All`: admission (the implementation's webhook, Istio's injector)
runs on it and nothing is stored. Each owner of probes gets its own namespace, `vnode-probes-<owner>`:
a provider's set-up checks use `PROVIDER_PROBE_NAMESPACE`; a conformance run uses
`probe_namespace(run_id)`, so two runs on one cluster never delete each other's.
"""

from __future__ import annotations

from kubernetes import client

from vnode_harness.formats.names import ISTIO_INJECTION, dns_label
from vnode_harness.plumbing.waits import wait_for


def probe_namespace(owner: str) -> str:
    """The namespace of one owner's dry-run probes (sidecar injection on, no ECI label)."""
    return dns_label(f"vnode-probes-{owner}")


PROVIDER_PROBE_NAMESPACE = probe_namespace("provider")
"""The probe namespace of a provider's own set-up checks (its cluster is the provider's)."""


def ensure_probe_namespace(
    core: client.CoreV1Api,
    name: str = PROVIDER_PROBE_NAMESPACE,
    *,
    labels: dict[str, str] | None = None,
    timeout: float = 120,
) -> None:
    """Create the probe namespace; if a previous run's copy is still terminating, wait for it to go."""
    body = {"metadata": {"name": name, "labels": {**ISTIO_INJECTION, **(labels or {})}}}

    def created() -> tuple[bool | None, str]:
        try:
            core.create_namespace(body)
        except client.ApiException as error:
            if error.status != 409:
                raise
            existing = core.read_namespace(name)
            if existing.metadata.deletion_timestamp is None:
                return True, "exists"
            return None, "a previous run's probe namespace is still terminating"
        return True, "created"

    wait_for(f"namespace {name}", created, timeout=timeout, hint=f"kubectl get namespace {name}")


def probe_pod(labels: dict[str, str] | None = None) -> dict[str, object]:
    """A pod that is never stored or pulled: only admission sees it."""
    return {
        "metadata": {"generateName": "readiness-probe-", "labels": labels or {}},
        "spec": {"containers": [{"name": "app", "image": "registry.invalid/probe:1"}]},
    }

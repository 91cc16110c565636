"""What a kept kind cluster already has: a digest per install step, recorded in the cluster itself.

With `--keep-cluster` the next run reuses the cluster; every install step (virtual nodes, Istio, the
implementation) records a digest of what it applied in the `kube-system/vnode-kind-provider`
ConfigMap, and a step whose digest is unchanged (and whose workload is healthy) is skipped.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client

from vnode_harness.providers.kind.objects import annotations_of

STATE_CONFIGMAP = "vnode-kind-provider"
STATE_NAMESPACE = "kube-system"
APPLIED_HASH_PREFIX = "vnode.dev/applied-hash."


def read_applied(core: client.CoreV1Api) -> dict[str, str]:
    """{install step: digest} of what the cluster has; {} for a fresh cluster."""
    try:
        configmap = core.read_namespaced_config_map(STATE_CONFIGMAP, STATE_NAMESPACE)
    except client.ApiException as error:
        if error.status == 404:
            return {}
        raise
    annotations = annotations_of(configmap)
    return {
        key.removeprefix(APPLIED_HASH_PREFIX): value
        for key, value in annotations.items()
        if key.startswith(APPLIED_HASH_PREFIX)
    }


def record_applied(core: client.CoreV1Api, component: str, digest: str) -> None:
    """Record (replace) the digest of one install step, keeping the others."""
    body: Any = {  # the client serialises a plain dict as it is
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": STATE_CONFIGMAP,
            "namespace": STATE_NAMESPACE,
            "annotations": {APPLIED_HASH_PREFIX + component: digest},
        },
    }
    try:
        core.patch_namespaced_config_map(STATE_CONFIGMAP, STATE_NAMESPACE, body)
    except client.ApiException as error:
        if error.status != 404:
            raise
        core.create_namespaced_config_map(STATE_NAMESPACE, body)

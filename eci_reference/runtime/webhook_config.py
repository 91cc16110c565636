"""vk-webhook: the MutatingWebhookConfiguration that shows, and enforces, the active selectors.

One entry for the pod label, one for the namespace label, one per selector that has a
namespaceSelector and/or objectSelector — carrying exactly that selector's matchLabels, so
`kubectl get mutatingwebhookconfigurations vk-webhook -o yaml` shows the configured selectors.
Global-effect selectors route nothing, so they have no entry. The handler is idempotent: a pod
matched by several entries is sent once per entry and the later calls find nothing left to add.

failurePolicy Fail: sending an ECI pod silently to a regular node (Ignore) is worse than a visible
admission error the client can retry; the entries' selectors keep every other pod out of reach.
Selector-only entries exclude kube-system and kube-node-lease, so the cluster's own components never
depend on this webhook. timeoutSeconds 5, sideEffects None (server-side dry runs are served).
"""

from __future__ import annotations

import base64
from typing import Any

from eci_reference.constants import ECI_LABEL, MUTATE_PATH, WEBHOOK_CONFIGURATION_NAME
from eci_reference.profile import Profile

SUFFIX = "vk-webhook.eci-reference.io"
SYSTEM_NAMESPACES = ["kube-system", "kube-node-lease"]


def _entry(
    name: str,
    client_config: dict[str, Any],
    namespace_selector: dict[str, Any],
    object_selector: dict[str, Any],
) -> dict[str, Any]:
    return {
        "name": name,
        "admissionReviewVersions": ["v1"],
        "clientConfig": client_config,
        "failurePolicy": "Fail",
        "matchPolicy": "Equivalent",
        "reinvocationPolicy": "Never",
        "sideEffects": "None",
        "timeoutSeconds": 5,
        "namespaceSelector": namespace_selector,
        "objectSelector": object_selector,
        "rules": [
            {
                "apiGroups": [""],
                "apiVersions": ["v1"],
                "operations": ["CREATE"],
                "resources": ["pods"],
                "scope": "Namespaced",
            }
        ],
    }


def client_config(
    ca_bundle: bytes, *, url: str | None = None, service: tuple[str, str, int] | None = None
) -> dict[str, Any]:
    config: dict[str, Any] = {"caBundle": base64.b64encode(ca_bundle).decode()}
    if url:
        config["url"] = url.rstrip("/") + MUTATE_PATH
    elif service:
        namespace, name, port = service
        config["service"] = {"namespace": namespace, "name": name, "path": MUTATE_PATH, "port": port}
    return config


def build_webhook_configuration(profile: Profile, config: dict[str, Any]) -> dict[str, Any]:
    not_system = {
        "matchExpressions": [
            {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": SYSTEM_NAMESPACES}
        ]
    }
    webhooks = [
        _entry(f"pod-label.{SUFFIX}", config, not_system, {"matchLabels": {ECI_LABEL: "true"}}),
        _entry(f"namespace-label.{SUFFIX}", config, {"matchLabels": {ECI_LABEL: "true"}}, {}),
    ]
    for selector in profile.selectors:
        if selector.is_global_effect:
            continue
        namespace_selector: dict[str, Any] = (
            {"matchLabels": dict(selector.namespace_selector)}
            if selector.namespace_selector
            else dict(not_system)
        )
        object_selector = {"matchLabels": dict(selector.object_selector)} if selector.object_selector else {}
        webhooks.append(
            _entry(f"{selector.name}.selector.{SUFFIX}", config, namespace_selector, object_selector)
        )
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {
            "name": WEBHOOK_CONFIGURATION_NAME,
            "labels": {"app.kubernetes.io/managed-by": "eci-reference"},
        },
        "webhooks": webhooks,
    }

"""mesh: Istio sidecar injection and ECI scheduling together (READY 2/2 on a virtual node).

Istio injects the sidecar, not the implementation; what an implementation can get wrong is what it does
to the pod afterwards (its webhook runs after istio-sidecar-injector: webhook configurations are called
in name order) and which pods it routes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import eci_reference.mutation as mutation
from eci_reference.constants import (
    ECI_LABEL,
    ECI_LABEL_ROUTING_VALUE,
    REASON_NAMESPACE_LABEL,
    REASON_POD_LABEL,
)
from eci_reference.matching import RoutingDecision
from eci_reference.mutation import PodPatch
from eci_reference.profile import Profile
from tests.mutation.seams import (
    SIDECAR,
    Decide,
    bound,
    has_sidecar,
    replace,
    send_every_pod,
    sidecar_removals,
    transform_pod_patch,
    with_ops,
)

INJECTION_LABEL = "istio-injection"


def _strip_sidecar_when(reason: str, unless: str) -> None:
    def transform(
        pod: Mapping[str, Any], namespace_labels: Mapping[str, str], profile: Profile, patch: PodPatch
    ) -> PodPatch:
        reasons = patch.routing.reasons
        if reason not in reasons or unless in reasons:
            return patch
        return with_ops(patch, [*patch.ops, *sidecar_removals(pod)])

    transform_pod_patch(transform)


def sidecar_stripped_on_pod_label_route() -> None:
    """``admission.plan_pod_patch``: a pod routed by its own label loses the istio-proxy container
    (the pod-label path keeps only the containers the user wrote)."""
    _strip_sidecar_when(REASON_POD_LABEL, unless=REASON_NAMESPACE_LABEL)


def sidecar_stripped_on_namespace_route() -> None:
    """``admission.plan_pod_patch``: a pod routed by its namespace's label loses the istio-proxy
    container (the namespace path keeps only the containers the user wrote)."""
    _strip_sidecar_when(REASON_NAMESPACE_LABEL, unless=REASON_POD_LABEL)


def sidecar_added_to_eci_pods() -> None:
    """``admission.plan_pod_patch``: every ECI pod without a sidecar gets an istio-proxy container (the
    implementation puts all virtual-node pods into the mesh)."""

    def transform(
        pod: Mapping[str, Any], namespace_labels: Mapping[str, str], profile: Profile, patch: PodPatch
    ) -> PodPatch:
        containers = (pod.get("spec") or {}).get("containers") or []
        if not patch.routing.is_eci or has_sidecar(pod) or not containers:
            return patch
        sidecar = {"name": SIDECAR, "image": containers[0].get("image", "")}
        return with_ops(patch, [*patch.ops, {"op": "add", "path": "/spec/containers/-", "value": sidecar}])

    transform_pod_patch(transform)


def mesh_namespaces_routed() -> None:
    """``mutation.decide_routing``: a namespace with istio-injection=enabled is treated as an ECI
    namespace; plus a catch-all entry."""
    send_every_pod()
    original: Decide = bound(mutation, "decide_routing")

    def decide(
        pod_labels: Mapping[str, str], namespace_labels: Mapping[str, str], profile: Profile
    ) -> RoutingDecision:
        if namespace_labels.get(INJECTION_LABEL) == "enabled":
            namespace_labels = {**namespace_labels, ECI_LABEL: ECI_LABEL_ROUTING_VALUE}
        return original(pod_labels, namespace_labels, profile)

    replace(mutation, "decide_routing", decide)

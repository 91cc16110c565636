"""core-scheduling: routing by the alibabacloud.com/eci label of a pod or its namespace."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import eci_reference.controller as controller
import eci_reference.matching as matching
import eci_reference.mutation as mutation
from eci_reference.constants import ECI_LABEL, ECI_LABEL_ROUTING_VALUE, NAMESPACE_NAME_LABEL, REASON_POD_LABEL
from eci_reference.kube import labels_of
from eci_reference.matching import RoutingDecision
from eci_reference.profile import Profile
from tests.mutation.seams import Decide, bound, replace, send_every_pod

logger = logging.getLogger("eci_reference.mutant")


def pod_label_ignored() -> None:
    """``mutation.decide_routing``: the pod's own ECI label is dropped before routing."""
    original: Decide = bound(mutation, "decide_routing")

    def decide(pod_labels: Mapping[str, str], namespace_labels: Mapping[str, str], profile: Profile) -> Any:
        return original({k: v for k, v in pod_labels.items() if k != ECI_LABEL}, namespace_labels, profile)

    replace(mutation, "decide_routing", decide)


def namespace_label_ignored() -> None:
    """``mutation.decide_routing``: the namespace's ECI label is dropped before routing."""
    original: Decide = bound(mutation, "decide_routing")

    def decide(pod_labels: Mapping[str, str], namespace_labels: Mapping[str, str], profile: Profile) -> Any:
        stripped = {k: v for k, v in namespace_labels.items() if k != ECI_LABEL}
        return original(pod_labels, stripped, profile)

    replace(mutation, "decide_routing", decide)


def namespace_remembered_as_eci() -> None:
    """``mutation.decide_routing``: a namespace where a labelled pod was admitted routes all its pods
    (plus a catch-all entry: the reference's entries would not send the unlabelled pods)."""
    send_every_pod()
    original: Decide = bound(mutation, "decide_routing")
    remembered: set[str] = set()

    def decide(
        pod_labels: Mapping[str, str], namespace_labels: Mapping[str, str], profile: Profile
    ) -> RoutingDecision:
        decision = original(pod_labels, namespace_labels, profile)
        namespace = namespace_labels.get(NAMESPACE_NAME_LABEL, "")
        if REASON_POD_LABEL in decision.reasons:
            remembered.add(namespace)
        if decision.is_eci or namespace not in remembered:
            return decision
        routed = {**namespace_labels, ECI_LABEL: ECI_LABEL_ROUTING_VALUE}
        return original(pod_labels, routed, profile)

    replace(mutation, "decide_routing", decide)


def label_presence_routes() -> None:
    """``matching.has_eci_label``: the key routes, whatever its value (plus a catch-all entry, so that
    the API server sends the pods the reference's ``eci=true`` entries would keep away)."""
    send_every_pod()
    replace(matching, "has_eci_label", lambda labels: ECI_LABEL in labels)


def label_value_case_insensitive() -> None:
    """``matching.has_eci_label``: "True" and "TRUE" route like "true" (plus a catch-all entry)."""
    send_every_pod()
    replace(
        matching,
        "has_eci_label",
        lambda labels: str(labels.get(ECI_LABEL, "")).lower() == ECI_LABEL_ROUTING_VALUE,
    )


def labelled_namespace_evicts_its_pods() -> None:
    """``controller.NamespaceLabelCache.on_event``: a namespace that gains the ECI label has its running
    pods deleted, so that their controllers re-create them on virtual nodes."""
    original = controller.NamespaceLabelCache.on_event

    async def on_event(self: controller.NamespaceLabelCache, event_type: str, obj: dict[str, Any]) -> None:
        name = obj["metadata"]["name"]
        cached = self._labels.get(name)  # the labels before this event
        before = cached is None or matching.has_eci_label(cached)
        await original(self, event_type, obj)
        if not before and matching.has_eci_label(labels_of(obj)):
            asyncio.get_running_loop().create_task(_evict_pods(self, name))

    replace(controller.NamespaceLabelCache, "on_event", on_event)


async def _evict_pods(cache: controller.NamespaceLabelCache, namespace: str) -> None:
    core: Any = cache._core  # the cache's own CoreV1Api
    try:
        for pod in (await core.list_namespaced_pod(namespace)).items:
            await core.delete_namespaced_pod(pod.metadata.name, namespace, grace_period_seconds=0)
            logger.info(
                "mutant: deleted pod %s/%s of a newly labelled namespace", namespace, pod.metadata.name
            )
    except Exception as error:
        logger.warning("mutant: evicting the pods of %s failed: %s", namespace, error)

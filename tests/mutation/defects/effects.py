"""selectors-effects, ECI Effect: annotations and labels injected into matched ECI pods at creation."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from kubernetes_asyncio import client

import eci_reference.controller as controller
import eci_reference.matching as matching
import eci_reference.mutation as mutation
from eci_reference.constants import EXEMPT_NAMESPACES, SECURITY_GROUP_ANNOTATION, VSWITCH_ANNOTATION
from eci_reference.kube import labels_of
from eci_reference.matching import RoutingDecision
from eci_reference.mutation import PodPatch
from eci_reference.profile import Profile, Selector
from tests.mutation.seams import Decide, bound, replace, send_every_pod, transform_pod_patch, with_ops

logger = logging.getLogger("eci_reference.mutant")

PARAMETER_ANNOTATIONS = (VSWITCH_ANNOTATION, SECURITY_GROUP_ANNOTATION)
ALIYUN_PREFIX = "k8s.aliyun.com/"

Metadata = tuple[tuple[Selector, ...], dict[str, str], dict[str, str]]


def aliyun_effect_annotations_dropped() -> None:
    """``mutation._plan_metadata``: effect annotations under k8s.aliyun.com/ other than the two
    parameters the implementation knows (eci-vswitch, eci-security-group) are dropped as unknown."""
    original = mutation._plan_metadata

    def plan(*args: Any) -> Metadata:
        applied, labels, annotations = original(*args)
        known = {k: v for k, v in annotations.items()
                 if not k.startswith(ALIYUN_PREFIX) or k in PARAMETER_ANNOTATIONS}  # fmt: skip
        return applied, labels, known

    replace(mutation, "_plan_metadata", plan)


def effect_labels_ignored() -> None:
    """``mutation._plan_metadata``: effects inject their annotations, never their labels."""
    original = mutation._plan_metadata

    def plan(*args: Any) -> Metadata:
        applied, _, annotations = original(*args)
        return applied, {}, annotations

    replace(mutation, "_plan_metadata", plan)


def empty_pod_values_overwritten() -> None:
    """``mutation._add_missing``: a label or annotation the pod carries with an empty value counts as
    missing, so an effect (or a parameter default) fills it in."""

    def add_missing(
        additions: dict[str, str], current: dict[str, str], candidates: Mapping[str, str]
    ) -> None:
        for key, value in candidates.items():
            if not current.get(key):
                additions[key] = value
                current[key] = value

    replace(mutation, "_add_missing", add_missing)


def effect_annotation_values_sanitized() -> None:
    """``mutation._plan_metadata``: effect annotation values are made valid label values on the way
    (characters outside [A-Za-z0-9._-] replaced, cut to 63 characters), as an implementation that keeps
    them in labels or label selectors somewhere would."""
    original = mutation._plan_metadata

    def plan(*args: Any) -> Metadata:
        applied, labels, annotations = original(*args)
        sanitized = {key: re.sub(r"[^A-Za-z0-9._-]", "-", value)[:63] for key, value in annotations.items()}
        return applied, labels, sanitized

    replace(mutation, "_plan_metadata", plan)


def effects_overwrite_pod_values() -> None:
    """``mutation._plan_metadata``: an effect replaces a label or annotation the pod already has."""
    original = mutation._plan_metadata

    def plan(
        routing: RoutingDecision,
        labels: Mapping[str, str],
        annotations: Mapping[str, str],
        namespace_labels: Mapping[str, str],
        profile: Profile,
    ) -> Metadata:
        applied, new_labels, new_annotations = original(
            routing, labels, annotations, namespace_labels, profile
        )
        for selector in applied:
            for own, additions, effect in (
                (labels, new_labels, selector.effect.labels),
                (annotations, new_annotations, selector.effect.annotations),
            ):
                for key, value in effect.items():
                    if key in own and key not in additions:
                        additions[key] = value  # JSON Patch "add" on an existing member replaces it
        return applied, new_labels, new_annotations  # fmt: skip

    replace(mutation, "_plan_metadata", plan)


def last_effect_wins() -> None:
    """``mutation._add_missing``: a later selector's value replaces an earlier one's on a shared key."""

    def add(additions: dict[str, str], current: dict[str, str], candidates: Mapping[str, str]) -> None:
        for key, value in candidates.items():
            if key not in current or key in additions:
                additions[key] = value
                current[key] = value

    replace(mutation, "_add_missing", add)


def global_effects_ignored() -> None:
    """``mutation.decide_routing``: a selector with neither selector applies to no pod."""
    original: Decide = bound(mutation, "decide_routing")

    def decide(
        pod_labels: Mapping[str, str], namespace_labels: Mapping[str, str], profile: Profile
    ) -> RoutingDecision:
        decision = original(pod_labels, namespace_labels, profile)
        kept = tuple(s for s in decision.effect_selectors if not s.is_global_effect)
        return dataclasses.replace(decision, effect_selectors=kept)

    replace(mutation, "decide_routing", decide)


def partial_match_effects_on_regular_pods() -> None:
    """``admission.plan_pod_patch``: a pod left on regular nodes still gets the effects of the selectors
    whose objectSelector it matches (their namespaceSelector does not); plus a catch-all entry."""
    _inject_into_regular_pods(
        lambda profile, labels: [
            selector
            for selector in profile.routing_selectors
            if selector.object_selector and matching.labels_match(selector.object_selector, labels)
        ]
    )


def _inject_into_regular_pods(chosen: Callable[[Profile, Mapping[str, str]], list[Selector]]) -> None:
    """Every pod is sent to the webhook; one left on regular nodes gets the effects of the selectors
    ``chosen(profile, its labels)`` names, as the reference injects them into an ECI pod."""
    send_every_pod()

    def transform(
        pod: Mapping[str, Any], namespace_labels: Mapping[str, str], profile: Profile, patch: PodPatch
    ) -> PodPatch:
        if patch.routing.is_eci:
            return patch
        metadata = pod.get("metadata") or {}
        own_labels, own_annotations = metadata.get("labels"), metadata.get("annotations")
        current_labels, current_annotations = dict(own_labels or {}), dict(own_annotations or {})
        labels: dict[str, str] = {}
        annotations: dict[str, str] = {}
        for selector in chosen(profile, current_labels):
            mutation._add_missing(labels, current_labels, selector.effect.labels)
            mutation._add_missing(annotations, current_annotations, selector.effect.annotations)
        ops = list(patch.ops)
        mutation._add_map_entries(ops, "/metadata/labels", own_labels, labels)
        mutation._add_map_entries(ops, "/metadata/annotations", own_annotations, annotations)
        return with_ops(patch, ops)

    transform_pod_patch(transform)


def effects_reapplied_to_running_pods() -> None:
    """``controller.ProfileController``: after every profile change, the effects of the selectors a
    running pod now matches are patched onto it."""
    add_reconciler(_reapply_effects)


def namespace_relabel_reapplies_effects() -> None:
    """``controller.NamespaceLabelCache.on_event``: when a namespace's labels change, the effects of the
    selectors its running pods now match are patched onto them (a design that re-evaluates a namespace's
    pods on every namespace event); profile changes and pod label edits trigger nothing."""
    original_init = controller.ProfileController.__init__
    original_event = controller.NamespaceLabelCache.on_event
    controllers: list[controller.ProfileController] = []

    def init(self: controller.ProfileController, api_client: Any, **kwargs: Any) -> None:
        original_init(self, api_client, **kwargs)
        controllers.append(self)

    async def on_event(self: controller.NamespaceLabelCache, event_type: str, obj: dict[str, Any]) -> None:
        name = obj["metadata"]["name"]
        before = self._labels.get(name)
        await original_event(self, event_type, obj)
        after = labels_of(obj)
        profile = controllers[-1].active_profile() if controllers else None
        if event_type == "MODIFIED" and before is not None and dict(before) != dict(after) and profile:
            asyncio.get_running_loop().create_task(_reapply_in_namespace(self._core, name, after, profile))

    replace(controller.ProfileController, "__init__", init)
    replace(controller.NamespaceLabelCache, "on_event", on_event)


async def _reapply_in_namespace(
    core: Any, namespace: str, labels: Mapping[str, str], profile: Profile
) -> None:
    if namespace in EXEMPT_NAMESPACES:
        return
    try:
        for pod in (await core.list_namespaced_pod(namespace)).items:
            if not pod.metadata.deletion_timestamp:
                await _patch_effects_onto(core, pod, labels, profile)
    except Exception as error:
        logger.warning("mutant: re-applying effects in %s failed: %s", namespace, error)


async def _patch_effects_onto(
    core: Any, pod: Any, namespace_labels: Mapping[str, str], profile: Profile
) -> None:
    """Patch onto a running pod the effects of the selectors it matches now (keys it lacks only)."""
    own_labels = dict(pod.metadata.labels or {})
    own_annotations = dict(pod.metadata.annotations or {})
    decision = matching.decide_routing(own_labels, namespace_labels, profile)
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    for selector in decision.effect_selectors:
        mutation._add_missing(labels, own_labels, selector.effect.labels)
        mutation._add_missing(annotations, own_annotations, selector.effect.annotations)
    if labels or annotations:
        body = {"metadata": {"labels": labels, "annotations": annotations}}
        await core.patch_namespaced_pod(pod.metadata.name, pod.metadata.namespace, body)
        logger.info("mutant: re-applied effects to %s/%s", pod.metadata.namespace, pod.metadata.name)


def add_reconciler(make: Any) -> None:
    """Give every ProfileController one more reconciler, ``make(core_v1_api)``, run after each change."""
    original = controller.ProfileController.__init__

    def init(self: controller.ProfileController, api_client: Any, **kwargs: Any) -> None:
        core = client.CoreV1Api(api_client)
        kwargs["reconcilers"] = (*kwargs.get("reconcilers", ()), make(core))
        original(self, api_client, **kwargs)

    replace(controller.ProfileController, "__init__", init)


def _reapply_effects(core: Any) -> Any:
    async def reconcile(profile: Profile) -> None:
        try:
            namespaces = {
                ns.metadata.name: ns.metadata.labels or {} for ns in (await core.list_namespace()).items
            }
            for pod in (await core.list_pod_for_all_namespaces()).items:
                namespace = pod.metadata.namespace
                if namespace in EXEMPT_NAMESPACES or pod.metadata.deletion_timestamp:
                    continue
                await _patch_effects_onto(core, pod, namespaces.get(namespace, {}), profile)
        except Exception as error:
            logger.warning("mutant: re-applying effects failed: %s", error)

    return reconcile


def label_and_annotation_keys_shared() -> None:
    """``mutation._plan_metadata``: the keys effects inject are tracked in one set for labels and
    annotations, so once an effect injected label K, no effect injects annotation K (and the other way
    round). The pod's own keys are still told apart by kind: the profile editor's probe selector, whose
    effect annotation has the key of the label it matches, must keep working."""
    original_plan = bound(mutation, "_plan_metadata")
    original_add = bound(mutation, "_add_missing")

    def plan(
        routing: RoutingDecision,
        labels: Mapping[str, str],
        annotations: Mapping[str, str],
        namespace_labels: Mapping[str, str],
        profile: Profile,
    ) -> Metadata:
        seen: set[str] = set()

        def add(additions: dict[str, str], current: dict[str, str], candidates: Mapping[str, str]) -> None:
            for key, value in candidates.items():
                if key not in current and key not in seen:
                    additions[key] = value
                    current[key] = value
                    seen.add(key)

        replace(mutation, "_add_missing", add)  # for this plan only: planning is synchronous
        try:
            result: Metadata = original_plan(routing, labels, annotations, namespace_labels, profile)
        finally:
            replace(mutation, "_add_missing", original_add)
        return result

    replace(mutation, "_plan_metadata", plan)


def global_effect_on_regular_pods() -> None:
    """``admission.plan_pod_patch``: a pod left on regular nodes still gets every global effect (a
    selector with only an effect read as "every pod", not "every pod scheduled to ECI")."""
    _inject_into_regular_pods(lambda profile, _labels: [s for s in profile.selectors if s.is_global_effect])


def global_effects_applied_last() -> None:
    """``mutation.decide_routing``: global effects are applied after every routing selector's, wherever
    they stand in the profile (a design that merges "defaults" last)."""
    original: Decide = bound(mutation, "decide_routing")

    def decide(
        pod_labels: Mapping[str, str], namespace_labels: Mapping[str, str], profile: Profile
    ) -> RoutingDecision:
        decision = original(pod_labels, namespace_labels, profile)
        routing = tuple(s for s in decision.effect_selectors if not s.is_global_effect)
        everywhere = tuple(s for s in decision.effect_selectors if s.is_global_effect)
        return dataclasses.replace(decision, effect_selectors=routing + everywhere)

    replace(mutation, "decide_routing", decide)


def global_effect_routes_every_pod() -> None:
    """``mutation.decide_routing``: a selector with only an effect routes every pod it sees to ECI (what
    a real third-party implementation does). Its profile state leaks: while a test's profile with such a
    selector is in force, a pod of any other test lands on a virtual node, so without the readers/writer
    profile lock a neighbour's SCHED-* verdict would depend on which test ran beside it."""
    send_every_pod()
    original: Decide = bound(mutation, "decide_routing")

    def decide(
        pod_labels: Mapping[str, str], namespace_labels: Mapping[str, str], profile: Profile
    ) -> RoutingDecision:
        decision = original(pod_labels, namespace_labels, profile)
        everywhere = tuple(s for s in profile.selectors if s.is_global_effect)
        if decision.is_eci or not everywhere:
            return decision
        return RoutingDecision(
            is_eci=True,
            reasons=tuple(f"selector:{s.name}" for s in everywhere),
            matched_selectors=decision.matched_selectors,
            effect_selectors=everywhere,
        )

    replace(mutation, "decide_routing", decide)

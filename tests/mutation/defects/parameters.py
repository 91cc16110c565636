"""hot-updates: cluster-level parameters as pod defaults, profile validation, changes without restart."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from typing import Any

import eci_reference.controller as controller
import eci_reference.mutation as mutation
from eci_reference.constants import (
    EXEMPT_NAMESPACES,
    NAMESPACE_NAME_LABEL,
    SECURITY_GROUP_ANNOTATION,
    VSWITCH_ANNOTATION,
)
from eci_reference.controller import Evaluation
from eci_reference.matching import RoutingDecision
from eci_reference.profile import Profile, ProfileError, parse_profile
from tests.mutation.defects.effects import Metadata, add_reconciler
from tests.mutation.seams import Decide, bound, replace, send_every_pod

logger = logging.getLogger("eci_reference.mutant")


def routing_decisions_cached() -> None:
    """``mutation.decide_routing``: a label set once routed to ECI stays routed (the cache of positive
    decisions is not invalidated when the profile changes); plus a catch-all entry."""
    send_every_pod()
    original: Decide = bound(mutation, "decide_routing")
    routed: dict[tuple[frozenset[tuple[str, str]], frozenset[tuple[str, str]]], RoutingDecision] = {}

    def decide(
        pod_labels: Mapping[str, str], namespace_labels: Mapping[str, str], profile: Profile
    ) -> RoutingDecision:
        decision = original(pod_labels, namespace_labels, profile)
        key = (frozenset(pod_labels.items()), frozenset(namespace_labels.items()))
        if decision.is_eci:
            routed[key] = decision
            return decision
        stale = routed.get(key)
        if stale is None:
            return decision
        effects = tuple(s for s in profile.selectors if s.is_global_effect)
        return dataclasses.replace(stale, matched_selectors=(), effect_selectors=effects)

    replace(mutation, "decide_routing", decide)


def profile_read_once() -> None:
    """``controller.evaluate_profile``: the profile read at start stays in force; later changes are
    only logged (they would apply after a restart)."""
    original = controller.evaluate_profile
    first: list[Profile] = []

    def evaluate(
        data: Mapping[str, str], active: Profile | None, default_data: Mapping[str, str]
    ) -> Evaluation:
        evaluation = original(data, active, default_data)
        if not first:
            first.append(evaluation.profile)
        return dataclasses.replace(evaluation, profile=first[0])

    replace(controller, "evaluate_profile", evaluate)


def parameter_defaults_cached_per_namespace() -> None:
    """``mutation._plan_metadata``: vSwitchIds and securityGroupId are read at a namespace's first ECI pod
    and reused for every later pod there."""
    original = mutation._plan_metadata
    cached: dict[str, tuple[str, str]] = {}

    def plan(
        routing: RoutingDecision,
        labels: Mapping[str, str],
        annotations: Mapping[str, str],
        namespace_labels: Mapping[str, str],
        profile: Profile,
    ) -> Metadata:
        namespace = namespace_labels.get(NAMESPACE_NAME_LABEL, "")
        vswitches, groups = cached.setdefault(namespace, (profile.vswitch_ids, profile.security_group_id))
        stale = dataclasses.replace(profile, vswitch_ids=vswitches, security_group_id=groups)
        return original(routing, labels, annotations, namespace_labels, stale)

    replace(mutation, "_plan_metadata", plan)


def profile_parameters_override_pod_values() -> None:
    """``mutation._plan_metadata``: the profile's vSwitchIds and securityGroupId replace a pod's own."""
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
        for key, value in ((VSWITCH_ANNOTATION, profile.vswitch_ids),
                           (SECURITY_GROUP_ANNOTATION, profile.security_group_id)):  # fmt: skip
            if value and key in annotations:
                new_annotations[key] = value
        return applied, new_labels, new_annotations

    replace(mutation, "_plan_metadata", plan)


def no_parameter_defaults() -> None:
    """``mutation._plan_metadata``: the profile's vSwitchIds and securityGroupId are not given to pods."""
    original = mutation._plan_metadata

    def plan(*args: Any) -> Metadata:
        applied, labels, annotations = original(*args)
        for key in (VSWITCH_ANNOTATION, SECURITY_GROUP_ANNOTATION):
            annotations.pop(key, None)
        return applied, labels, annotations

    replace(mutation, "_plan_metadata", plan)


def hot_update_reannotates_existing_pods() -> None:
    """``controller.ProfileController``: after a change of vSwitchIds or securityGroupId, running pods
    that carry the previous value are patched to the new one."""

    def make(core: Any) -> Any:
        previous: list[Profile] = []

        async def reconcile(profile: Profile) -> None:
            old = previous[0] if previous else None
            previous[:] = [profile]
            if old is None:
                return
            changes = {key: (before, after) for key, before, after in (
                (VSWITCH_ANNOTATION, old.vswitch_ids, profile.vswitch_ids),
                (SECURITY_GROUP_ANNOTATION, old.security_group_id, profile.security_group_id),
            ) if before != after and after}  # fmt: skip
            if changes:
                await _reannotate(core, changes)

        return reconcile

    add_reconciler(make)


async def _reannotate(core: Any, changes: Mapping[str, tuple[str, str]]) -> None:
    try:
        for pod in (await core.list_pod_for_all_namespaces()).items:
            if pod.metadata.namespace in EXEMPT_NAMESPACES:
                continue
            own = pod.metadata.annotations or {}
            patch = {key: after for key, (before, after) in changes.items() if own.get(key) == before}
            if patch:
                await core.patch_namespaced_pod(
                    pod.metadata.name, pod.metadata.namespace, {"metadata": {"annotations": patch}}
                )
                logger.info("mutant: re-annotated %s/%s", pod.metadata.namespace, pod.metadata.name)
    except Exception as error:
        logger.warning("mutant: re-annotating pods failed: %s", error)


def _lenient_data(data: Mapping[str, str]) -> dict[str, str]:
    return {key: value for key, value in data.items() if key not in ("featureGates", "enableLogController")}


def invalid_parameters_applied_anyway() -> None:
    """``controller.evaluate_profile``: a profile whose only problems are featureGates or
    enableLogController is reported (InvalidProfile Event) but applied without those settings."""
    original = controller.evaluate_profile

    def evaluate(
        data: Mapping[str, str], active: Profile | None, default_data: Mapping[str, str]
    ) -> Evaluation:
        evaluation = original(data, active, default_data)
        lenient = all(p.startswith(("featureGates", "enableLogController")) for p in evaluation.problems)
        if evaluation.valid or not lenient:
            return evaluation
        try:
            applied = parse_profile(_lenient_data(data))
        except ProfileError:
            return evaluation
        return Evaluation(profile=applied, problems=evaluation.problems)

    replace(controller, "evaluate_profile", evaluate)


def invalid_profile_falls_back_to_defaults() -> None:
    """``controller.evaluate_profile``: a rejected profile puts the built-in defaults in force instead of
    keeping the last valid profile."""
    original = controller.evaluate_profile

    def evaluate(
        data: Mapping[str, str], active: Profile | None, default_data: Mapping[str, str]
    ) -> Evaluation:
        return original(data, None, default_data)

    replace(controller, "evaluate_profile", evaluate)


def omitted_parameters_rejected() -> None:
    """``controller.parse_profile``: a profile without featureGates or enableLogController is invalid
    (every documented key is treated as required)."""
    original: Callable[[Mapping[str, str]], Profile] = bound(controller, "parse_profile")

    def parse(data: Mapping[str, str]) -> Profile:
        missing = [key for key in ("featureGates", "enableLogController") if key not in data]
        if missing:
            raise ProfileError([f"{key} is required" for key in missing])
        return original(data)

    replace(controller, "parse_profile", parse)

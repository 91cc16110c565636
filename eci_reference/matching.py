"""Decide whether a pod is an ECI pod and which selectors' effects apply to it (pure functions).

The rules (docs/ARCHITECTURE.md, "Routing" and "Effects"):

- a pod is an ECI pod when its own label ``alibabacloud.com/eci`` is exactly ``"true"``, or its
  namespace's is, or a *routing* selector (one with a namespaceSelector and/or objectSelector)
  matches it: every label of each set ``matchLabels`` must be present with the same value, and when
  both selectors are set both must match;
- a *global-effect* selector (neither selector set) never routes a pod, but its effect applies to
  every ECI pod;
- effects apply in profile order, and only to ECI pods.

Selectors are matched against the labels the pod was created with, never against labels another
selector's effect is about to inject: the decision must not depend on the order of evaluation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from eci_reference.constants import (
    ECI_LABEL,
    ECI_LABEL_ROUTING_VALUE,
    REASON_NAMESPACE_LABEL,
    REASON_POD_LABEL,
    REASON_SELECTOR_PREFIX,
)
from eci_reference.profile import Profile, Selector


def labels_match(
    match_labels: Mapping[str, str] | None, labels: Mapping[str, str], *, empty_matches_all: bool = False
) -> bool:
    """True when every ``key: value`` of ``match_labels`` is in ``labels`` (AND of the labels).

    An empty or ``None`` ``match_labels`` matches nothing, unless ``empty_matches_all`` asks for the
    Kubernetes meaning of an empty selector (everything). The default is the safe one: a selector that
    says nothing must not route every pod of the cluster.
    """
    if not match_labels:
        return empty_matches_all
    return all(labels.get(key) == value for key, value in match_labels.items())


def selector_matches(
    selector: Selector, pod_labels: Mapping[str, str], namespace_labels: Mapping[str, str]
) -> bool:
    """True when ``selector`` routes the pod: each selector it sets matches. A global effect never routes."""
    if selector.is_global_effect:
        return False
    if selector.namespace_selector is not None and not labels_match(
        selector.namespace_selector, namespace_labels
    ):
        return False
    return selector.object_selector is None or labels_match(selector.object_selector, pod_labels)


def has_eci_label(labels: Mapping[str, str]) -> bool:
    """The ECI routing label with exactly the value ``"true"``; any other value routes nothing."""
    return labels.get(ECI_LABEL) == ECI_LABEL_ROUTING_VALUE


@dataclass(frozen=True, slots=True)
class RoutingDecision:
    """The outcome of routing one pod, with enough detail to log and explain it."""

    is_eci: bool
    #: Every route that applies, e.g. ("pod-label", "selector:gpu"); empty when not an ECI pod.
    reasons: tuple[str, ...]
    #: Routing selectors that match, in profile order (whether or not the pod is an ECI pod otherwise).
    matched_selectors: tuple[Selector, ...]
    #: Selectors whose effects apply, in profile order: matched routing selectors and global effects.
    #: Empty when the pod is not an ECI pod, since effects only apply to ECI pods.
    effect_selectors: tuple[Selector, ...]


def decide_routing(
    pod_labels: Mapping[str, str], namespace_labels: Mapping[str, str], profile: Profile
) -> RoutingDecision:
    """Route one pod: every reason it is an ECI pod, and the selectors whose effects apply to it."""
    matched: list[Selector] = []
    candidates: list[Selector] = []  # effect selectors, should the pod turn out to be an ECI pod
    for selector in profile.selectors:
        if selector.is_global_effect:
            candidates.append(selector)
        elif selector_matches(selector, pod_labels, namespace_labels):
            matched.append(selector)
            candidates.append(selector)
    reasons: list[str] = []
    if has_eci_label(pod_labels):
        reasons.append(REASON_POD_LABEL)
    if has_eci_label(namespace_labels):
        reasons.append(REASON_NAMESPACE_LABEL)
    reasons.extend(REASON_SELECTOR_PREFIX + selector.name for selector in matched)
    is_eci = bool(reasons)
    return RoutingDecision(
        is_eci=is_eci,
        reasons=tuple(reasons),
        matched_selectors=tuple(matched),
        effect_selectors=tuple(candidates) if is_eci else (),
    )


def is_eci_pod(pod_labels: Mapping[str, str], namespace_labels: Mapping[str, str], profile: Profile) -> bool:
    """Pod label or namespace label exactly ``"true"``, or any routing selector of ``profile`` matches."""
    if has_eci_label(pod_labels) or has_eci_label(namespace_labels):
        return True
    return any(
        selector_matches(selector, pod_labels, namespace_labels) for selector in profile.routing_selectors
    )


def matching_effect_selectors(
    pod_labels: Mapping[str, str], namespace_labels: Mapping[str, str], profile: Profile
) -> tuple[Selector, ...]:
    """Selectors whose effects apply, in profile order (matching routing selectors + global effects).

    Empty for a pod that is not an ECI pod: effects are only applied to ECI pods.
    """
    return decide_routing(pod_labels, namespace_labels, profile).effect_selectors

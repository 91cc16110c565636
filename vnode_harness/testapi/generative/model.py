"""An independent model of the documented routing and effect rules: what must happen to one pod.

Written from the seed documents, not from eci_reference, so that a bug shared by the reference
implementation and the model cannot pass both. Given a profile (selectors and parameters), a
namespace's labels and a pod's own labels and annotations, the model says whether the pod is an ECI
pod and which labels and annotations it must end up with. Each rule names its catalogue requirement.

The inputs the generator produces stay inside what the documents define: every selector has a name,
and either at least one non-empty side or (for a global effect) an effect; effect keys never coincide
with the keys selectors match on, the ECI label or the parameter annotations (the documents do not say
whether an injected label can make another selector match, nor whether an effect may override a
parameter).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

ECI_LABEL = "alibabacloud.com/eci"
"""Its own copy, on purpose (not formats.names.ECI_LABEL): the model depends on nothing it judges."""

Labels = Mapping[str, str]


@dataclass(frozen=True)
class SelectorSpec:
    name: str
    namespace_labels: tuple[tuple[str, str], ...] | None = None
    """namespaceSelector.matchLabels; None when the selector has no namespaceSelector."""
    object_labels: tuple[tuple[str, str], ...] | None = None
    effect_annotations: tuple[tuple[str, str], ...] = ()
    effect_labels: tuple[tuple[str, str], ...] = ()

    @property
    def is_global(self) -> bool:
        """Neither selector set: "the effect applies to all pods scheduled to ECI" (EFF-GLOBAL)."""
        return self.namespace_labels is None and self.object_labels is None

    def to_json(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"name": self.name}
        if self.namespace_labels is not None:
            entry["namespaceSelector"] = {"matchLabels": dict(self.namespace_labels)}
        if self.object_labels is not None:
            entry["objectSelector"] = {"matchLabels": dict(self.object_labels)}
        effect: dict[str, Any] = {}
        if self.effect_annotations:
            effect["annotations"] = dict(self.effect_annotations)
        if self.effect_labels:
            effect["labels"] = dict(self.effect_labels)
        if effect:
            entry["effect"] = effect
        return entry


@dataclass(frozen=True)
class ProfileSpec:
    selectors: tuple[SelectorSpec, ...]
    security_group_id: str | None = None
    vswitch_ids: str | None = None

    def to_data(self) -> dict[str, str | None]:
        """The eci-profile data keys this profile writes (None removes a key): one serialization, so that
        what the run writes and what is checked against the catalogue's open cases cannot differ."""
        return {
            "selectors": json.dumps([selector.to_json() for selector in self.selectors], indent=2),
            "securityGroupId": self.security_group_id,
            "vSwitchIds": self.vswitch_ids,
        }


@dataclass(frozen=True)
class ParameterKeys:
    """The pod annotations the profile's parameters default (the implementation's observation contract)."""

    security_group: str
    vswitch: str


@dataclass(frozen=True)
class Expectation:
    eci: bool
    labels: dict[str, str]
    annotations: dict[str, str]
    rules: tuple[str, ...]
    """The catalogue requirements the decision rests on."""
    branches: frozenset[str] = field(default_factory=frozenset)
    """Which branches of the model this case exercised (for the coverage figure)."""


ALL_BRANCHES = frozenset(
    {
        "route:pod-label",
        "route:namespace-label",
        "route:label-value-not-true",
        "route:object-selector",
        "route:namespace-selector",
        "route:both-selectors",
        "route:near-miss",
        "route:none",
        "effect:applied",
        "effect:first-selector-wins",
        "effect:pod-keeps-its-own",
        "effect:global",
        "effect:not-for-regular-pods",
        "parameter:default",
        "parameter:pod-keeps-its-own",
    }
)


@dataclass
class _Trace:
    """The rules a decision used and the branches it took, collected as the model runs."""

    rules: list[str] = field(default_factory=list)
    branches: set[str] = field(default_factory=set)

    def took(self, rule: str, branch: str | None = None) -> None:
        self.rules.append(rule)
        if branch:
            self.branches.add(branch)


def _matches(wanted: tuple[tuple[str, str], ...], labels: Labels) -> bool:
    """matchLabels: every listed label, with exactly that value ("multiple labels use AND logic")."""
    return all(labels.get(key) == value for key, value in wanted)


def selector_routes(selector: SelectorSpec, namespace_labels: Labels, pod_labels: Labels) -> bool:
    """SEL-OBJECT, SEL-NAMESPACE, SEL-AND-BOTH, SEL-AND-LABELS: each side that is set must match."""
    if selector.is_global:
        return False
    namespace_ok = selector.namespace_labels is None or _matches(selector.namespace_labels, namespace_labels)
    object_ok = selector.object_labels is None or _matches(selector.object_labels, pod_labels)
    return namespace_ok and object_ok


def _route(profile: ProfileSpec, namespace_labels: Labels, pod_labels: Labels, trace: _Trace) -> bool:
    by_pod = pod_labels.get(ECI_LABEL) == "true"  # SCHED-POD-LABEL
    by_namespace = namespace_labels.get(ECI_LABEL) == "true"  # SCHED-NS-LABEL
    if by_pod:
        trace.took("SCHED-POD-LABEL", "route:pod-label")
    if by_namespace:
        trace.took("SCHED-NS-LABEL", "route:namespace-label")
    near_true = [labels[ECI_LABEL] for labels in (pod_labels, namespace_labels) if ECI_LABEL in labels]
    if any(value != "true" for value in near_true):
        trace.took("SCHED-NOT-TRUE", "route:label-value-not-true")
    by_selector = False
    for selector in profile.selectors:
        if selector.is_global:
            continue
        if selector_routes(selector, namespace_labels, pod_labels):
            by_selector = True
            if selector.namespace_labels is not None and selector.object_labels is not None:
                trace.took("SEL-AND-BOTH", "route:both-selectors")
            elif selector.object_labels is not None:
                trace.took("SEL-OBJECT", "route:object-selector")
            else:
                trace.took("SEL-NAMESPACE", "route:namespace-selector")
            if len(selector.namespace_labels or ()) > 1 or len(selector.object_labels or ()) > 1:
                trace.took("SEL-AND-LABELS")
        elif _near_miss(selector, namespace_labels, pod_labels):
            trace.took("SEL-AND-LABELS", "route:near-miss")
    eci = by_pod or by_namespace or by_selector
    if not eci:
        trace.branches.add("route:none")
    return eci


def _near_miss(selector: SelectorSpec, namespace_labels: Labels, pod_labels: Labels) -> bool:
    """All but one of the selector's labels match: the case a lenient (OR) implementation gets wrong."""
    wanted = [(key, value, namespace_labels) for key, value in selector.namespace_labels or ()]
    wanted += [(key, value, pod_labels) for key, value in selector.object_labels or ()]
    misses = sum(labels.get(key) != value for key, value, labels in wanted)
    return len(wanted) > 1 and misses == 1


def _add_effects(
    profile: ProfileSpec,
    namespace_labels: Labels,
    metadata: tuple[dict[str, str], dict[str, str]],
    trace: _Trace,
) -> None:
    """Matching selectors in order; a key already present (the pod's own, or an earlier selector's) is
    never overwritten (EFF-ORDER, EFF-NO-OVERWRITE); a global effect applies to every ECI pod."""
    labels, annotations = metadata
    pod_labels = dict(labels)
    own = {("label", key) for key in labels} | {("annotation", key) for key in annotations}
    for selector in profile.selectors:
        if not (selector.is_global or selector_routes(selector, namespace_labels, pod_labels)):
            continue
        if selector.is_global and (selector.effect_labels or selector.effect_annotations):
            trace.took("EFF-GLOBAL", "effect:global")
        for kind, effect, target in (
            ("label", selector.effect_labels, labels),
            ("annotation", selector.effect_annotations, annotations),
        ):
            for key, value in effect:
                if (kind, key) in own:
                    trace.took("EFF-NO-OVERWRITE", "effect:pod-keeps-its-own")
                elif key in target:
                    trace.took("EFF-ORDER", "effect:first-selector-wins")
                else:
                    target[key] = value
                    trace.took("EFF-LABELS" if kind == "label" else "EFF-ANNOTATIONS", "effect:applied")


def _offers_effects(profile: ProfileSpec, namespace_labels: Labels, pod_labels: Labels) -> bool:
    """Whether any selector that would apply to this pod, were it an ECI pod, carries an effect."""
    return any(
        (s.effect_labels or s.effect_annotations)
        and (s.is_global or selector_routes(s, namespace_labels, pod_labels))
        for s in profile.selectors
    )


def _add_parameters(
    profile: ProfileSpec, keys: ParameterKeys, annotations: dict[str, str], trace: _Trace
) -> None:
    """PARAM-DEFAULTS: the profile's values are defaults an ECI pod's own annotations override."""
    for key, value in ((keys.security_group, profile.security_group_id), (keys.vswitch, profile.vswitch_ids)):
        if value is None:
            continue
        if key in annotations:
            trace.took("PARAM-DEFAULTS", "parameter:pod-keeps-its-own")
        else:
            annotations[key] = value
            trace.took("PARAM-DEFAULTS", "parameter:default")


def expect(
    profile: ProfileSpec,
    namespace_labels: Labels,
    pod_labels: Labels,
    pod_annotations: Labels,
    parameter_keys: ParameterKeys | None = None,
) -> Expectation:
    """What the documents say must happen to this pod when it is created."""
    trace = _Trace()
    labels, annotations = dict(pod_labels), dict(pod_annotations)
    eci = _route(profile, namespace_labels, pod_labels, trace)
    if eci:
        _add_effects(profile, namespace_labels, (labels, annotations), trace)
        if parameter_keys is not None:
            _add_parameters(profile, parameter_keys, annotations, trace)
    elif _offers_effects(profile, namespace_labels, pod_labels):
        # Effects are for ECI pods only: a regular pod keeps what it had.
        trace.took("EFF-ECI-ONLY", "effect:not-for-regular-pods")
    return Expectation(eci, labels, annotations, tuple(dict.fromkeys(trace.rules)), frozenset(trace.branches))

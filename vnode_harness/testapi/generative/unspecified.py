"""The catalogue's open cases (`scope.unspecified`) as the generator sees them: none is ever drawn.

The catalogue lists cases the documents leave open; the suite certifies no outcome for them. A generated
pod in one of them would be judged by the model's guess, and a conformant implementation that decides the
other way would fail GEN-ROUTING-EFFECTS. So every unspecified id of the catalogue has an entry here
(`UNSPECIFIED`), and a unit test fails when the catalogue gains an id without one. An entry is either a
predicate over what the generator draws — a profile, or one pod under it — which the strategies use to
leave such profiles and pods out, or, for a case that is about the run's sequence rather than a drawn
case, the reason no drawn case can fall in it.

The predicates judge what the generator writes (`ProfileSpec.to_data`, the same text the run writes);
keys the generator leaves alone keep the cluster's own values, which are not a drawn case.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from vnode_harness.testapi.generative.model import ECI_LABEL

ProfileData = Mapping[str, str | None]
"""The eci-profile data keys a scenario writes (None removes the key)."""


@dataclass(frozen=True)
class DrawnPod:
    """One generated pod with everything that decides its outcome."""

    profile: ProfileData
    namespace_labels: Mapping[str, str]
    labels: Mapping[str, str]
    annotations: Mapping[str, str]


@dataclass(frozen=True)
class Exclusion:
    """How the generator stays out of one open case: exactly one of the three is set."""

    profile: Callable[[ProfileData], bool] | None = None
    """Whether a profile falls in the case: a scenario with such a profile is never drawn."""
    pod: Callable[[DrawnPod], bool] | None = None
    """Whether one pod falls in the case: such a pod is never drawn (its scenario keeps the others)."""
    not_a_drawn_case: str | None = None
    """Why no drawn case can fall in it: the case is about the run's sequence, which the live run fixes."""

    def __post_init__(self) -> None:
        if sum(x is not None for x in (self.profile, self.pod, self.not_a_drawn_case)) != 1:
            raise ValueError("an exclusion is a profile predicate, a pod predicate or a reason, exactly one")


def _selectors(profile: ProfileData) -> list[Any]:
    text = profile.get("selectors")
    if not text:
        return []
    parsed = json.loads(text)
    return parsed if isinstance(parsed, list) else [parsed]


def _sides(selector: Any) -> list[Any]:
    if not isinstance(selector, dict):
        return []
    return [selector[key] for key in ("namespaceSelector", "objectSelector") if key in selector]


def _eci_false_pod_in_eci_namespace(pod: DrawnPod) -> bool:
    return pod.namespace_labels.get(ECI_LABEL) == "true" and pod.labels.get(ECI_LABEL) == "false"


def _name_only_selector(profile: ProfileData) -> bool:
    """No selector side and no effect to apply (an effect without labels or annotations is none)."""

    def has_effect(selector: dict[str, Any]) -> bool:
        effect = selector.get("effect")
        return isinstance(effect, dict) and any(effect.get(kind) for kind in ("annotations", "labels"))

    return any(
        isinstance(selector, dict) and not _sides(selector) and not has_effect(selector)
        for selector in _selectors(profile)
    )


def _other_label_selector_fields(profile: ProfileData) -> bool:
    return any(
        not isinstance(side, dict) or set(side) != {"matchLabels"} or not side["matchLabels"]
        for selector in _selectors(profile)
        for side in _sides(selector)
    )


def _duplicate_json_keys(profile: ProfileData) -> bool:
    found: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in items]
        found.extend(key for key in set(keys) if keys.count(key) > 1)
        return dict(items)

    text = profile.get("selectors")
    if text:
        json.loads(text, object_pairs_hook=pairs)
    return bool(found)


def _boolean_spellings(profile: ProfileData) -> bool:
    """An enable* parameter, or a featureGates entry, with a value other than exactly true or false."""
    values = [value for key, value in profile.items() if key.startswith("enable") and value is not None]
    gates = profile.get("featureGates")
    if gates is not None:
        values += [entry.partition("=")[2] for entry in gates.split(",") if entry.strip()]
    return any(value not in ("true", "false") for value in values)


UNSPECIFIED: Mapping[str, Exclusion] = {
    "ECI-FALSE-POD-IN-ECI-NAMESPACE": Exclusion(pod=_eci_false_pod_in_eci_namespace),
    "RUNNING-PODS-AFTER-UNLABELLING": Exclusion(
        not_a_drawn_case="a scenario's namespaces keep the labels they were created with, and its pods are "
        "judged before the next scenario's profile is written; its namespaces are deleted then"
    ),
    "SELECTOR-NAME-ONLY": Exclusion(profile=_name_only_selector),
    "SELECTOR-OTHER-LABEL-SELECTOR-FIELDS": Exclusion(profile=_other_label_selector_fields),
    "SELECTOR-DUPLICATE-JSON-KEYS": Exclusion(profile=_duplicate_json_keys),
    "PROFILE-BOOLEAN-SPELLINGS": Exclusion(profile=_boolean_spellings),
    "PROFILE-ABSENT": Exclusion(
        # A key the profile does not name keeps the cluster's value; one it maps to None is removed.
        profile=lambda profile: "selectors" in profile and profile["selectors"] is None
    ),
    "HOT-UPDATE-DELAY": Exclusion(
        not_a_drawn_case="the live run creates a scenario's pods only after the profile editor has seen "
        "the scenario's profile in force"
    ),
    "FEATURE-GATE-EXISTING-CLAIMS": Exclusion(
        # Generated pods claim no volumes, but other tests' claims may exist while a scenario's profile
        # is in force: any featureGates change is kept out.
        profile=lambda profile: "featureGates" in profile
    ),
}
"""Every unspecified id of the catalogue, and how the generator keeps out of it."""


def profile_falls_in(profile: ProfileData) -> list[str]:
    """The open cases a profile falls in, whatever pods are created under it."""
    return [id_ for id_, exclusion in UNSPECIFIED.items() if exclusion.profile and exclusion.profile(profile)]


def pod_falls_in(pod: DrawnPod) -> list[str]:
    """The open cases one pod falls in by itself (those of its profile are `profile_falls_in`'s)."""
    return [id_ for id_, exclusion in UNSPECIFIED.items() if exclusion.pod and exclusion.pod(pod)]

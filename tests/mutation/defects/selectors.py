"""selectors-effects, ECI Scheduler: the profile's selectors route pods by namespace and pod labels."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import eci_reference.controller as controller
import eci_reference.matching as matching
import eci_reference.mutation as mutation
import eci_reference.selectors_schema as selectors_schema
import eci_reference.webhook_config as webhook_config
from eci_reference.constants import NAMESPACE_LABEL_ENTRY, POD_LABEL_ENTRY, REASON_SELECTOR_PREFIX
from eci_reference.mutation import PodPatch
from eci_reference.profile import Profile, Selector
from tests.mutation.seams import (
    CATCH_ALL_ENTRY,
    bound,
    replace,
    send_every_pod,
    transform_pod_patch,
    with_ops,
)

SelectorMatcher = Callable[[Selector, Mapping[str, str], Mapping[str, str]], bool]


def _replace_selector_matches(matches: SelectorMatcher) -> None:
    """Both modules that call ``selector_matches`` (mutation imported it by name)."""
    replace(matching, "selector_matches", matches)
    replace(mutation, "selector_matches", matches)


def object_selector_does_not_route() -> None:
    """``admission.plan_pod_patch``: a pod routed only by objectSelector-only selectors keeps their
    effects but loses the nodeSelector and toleration (only selectors with a namespaceSelector route)."""
    by_name: dict[str, Selector] = {}

    def transform(
        pod: Mapping[str, Any], namespace_labels: Mapping[str, str], profile: Profile, patch: PodPatch
    ) -> PodPatch:
        by_name.update((s.name, s) for s in profile.selectors)
        reasons = patch.routing.reasons
        object_only = all(
            r.startswith(REASON_SELECTOR_PREFIX)
            and by_name[r.removeprefix(REASON_SELECTOR_PREFIX)].namespace_selector is None
            for r in reasons
        )
        if not reasons or not object_only:
            return patch
        return with_ops(patch, [op for op in patch.ops if not str(op["path"]).startswith("/spec")])

    transform_pod_patch(transform)


def namespace_only_selector_ignored() -> None:
    """``selector_matches``: a selector without an objectSelector matches no pod."""
    original = matching.selector_matches

    def matches(
        selector: Selector, pod_labels: Mapping[str, str], namespace_labels: Mapping[str, str]
    ) -> bool:
        return selector.object_selector is not None and original(selector, pod_labels, namespace_labels)

    _replace_selector_matches(matches)


def selector_sides_ored() -> None:
    """``selector_matches``: namespaceSelector OR objectSelector (plus a catch-all entry)."""
    send_every_pod()

    def matches(
        selector: Selector, pod_labels: Mapping[str, str], namespace_labels: Mapping[str, str]
    ) -> bool:
        if selector.is_global_effect:
            return False
        return (selector.namespace_selector is not None
                and matching.labels_match(selector.namespace_selector, namespace_labels)) or (
                selector.object_selector is not None
                and matching.labels_match(selector.object_selector, pod_labels))  # fmt: skip

    _replace_selector_matches(matches)


def match_labels_ored() -> None:
    """``matching.labels_match``: any one label of a matchLabels matches (plus a catch-all entry)."""
    send_every_pod()

    def labels_match(
        match_labels: Mapping[str, str] | None, labels: Mapping[str, str], *, empty_matches_all: bool = False
    ) -> bool:
        if not match_labels:
            return empty_matches_all
        return any(labels.get(key) == value for key, value in match_labels.items())

    replace(matching, "labels_match", labels_match)


def selectors_not_in_webhook_configuration() -> None:
    """``webhook_config.build_webhook_configuration``: no entry per selector, one catch-all entry instead
    (routing still works: the handler sees every pod)."""
    send_every_pod()
    with_catch_all = webhook_config.build_webhook_configuration
    kept = {POD_LABEL_ENTRY, NAMESPACE_LABEL_ENTRY, CATCH_ALL_ENTRY}

    def build(profile: Profile, endpoint: webhook_config.Endpoint, ca_bundle: bytes) -> dict[str, Any]:
        configuration = with_catch_all(profile, endpoint, ca_bundle)
        configuration["webhooks"] = [e for e in configuration["webhooks"] if e["name"] in kept]
        return configuration

    replace(webhook_config, "build_webhook_configuration", build)


def _rewrite_selectors_text(rewrite: Callable[[Any], Any]) -> None:
    """``selectors_schema.decode_selectors``: decode the selectors JSON, ``rewrite`` it, validate the
    result."""
    original = selectors_schema.decode_selectors

    def decode(text: str) -> object:
        return rewrite(original(text))

    replace(selectors_schema, "decode_selectors", decode)


def lenient_selector_parsing() -> None:
    """``selectors_schema.decode_selectors``: a lone selector object is read as a list of one, and a selector
    without a name is given one."""

    def rewrite(document: Any) -> Any:
        items = [document] if isinstance(document, dict) else document
        if not isinstance(items, list):
            return document
        return [{"name": f"selector-{i}", **item} if isinstance(item, dict) else item
                for i, item in enumerate(items)]  # fmt: skip

    _rewrite_selectors_text(rewrite)


def duplicate_selector_names_last_wins() -> None:
    """``selectors_schema.decode_selectors``: selectors are kept in a map by name, so of two with the
    same name the last one is active."""

    def rewrite(document: Any) -> Any:
        if not isinstance(document, list):
            return document
        by_name: dict[object, Any] = {}
        for index, item in enumerate(document):
            key = item.get("name", index) if isinstance(item, dict) else index
            by_name.pop(key, None)
            by_name[key] = item
        return list(by_name.values())

    _rewrite_selectors_text(rewrite)


def valid_parts_of_invalid_profile_applied() -> None:
    """``controller.evaluate_profile``: an invalid profile keeps the last valid selectors, but its
    cluster-level parameters (securityGroupId, vSwitchIds) take effect."""
    original = bound(controller, "evaluate_profile")

    def evaluate(data: Mapping[str, str], active: Profile | None, default_data: Mapping[str, str]) -> Any:
        evaluation = original(data, active, default_data)
        if evaluation.valid or active is None:
            return evaluation
        kept = evaluation.profile
        profile = dataclasses.replace(
            kept,
            security_group_id=data.get("securityGroupId", kept.security_group_id),
            vswitch_ids=data.get("vSwitchIds", kept.vswitch_ids),
        )
        return dataclasses.replace(evaluation, profile=profile)

    replace(controller, "evaluate_profile", evaluate)

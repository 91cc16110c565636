"""Plan the RFC 6902 JSON Patch that turns a pod at CREATE into what the profile asks for (pure).

For an ECI pod, in this order:

1. routing: ``spec.nodeSelector["type"] = "virtual-kubelet"`` and a toleration for the virtual-node
   taint (``virtual-kubelet.io/provider``, Exists, NoSchedule), so that the real kube-scheduler picks
   a virtual node. We never set ``spec.nodeName``: a pod bound at admission bypasses the scheduler and
   a WaitForFirstConsumer volume could never learn its node's zone;
2. effects: annotations and labels of the matching selectors in profile order, never overwriting
   (the pod's own > first selector > second > ...);
3. parameter defaults: ``k8s.aliyun.com/eci-vswitch`` and ``k8s.aliyun.com/eci-security-group`` from
   the profile when the pod (or an effect) has not set them and the profile value is not empty.

The plan is idempotent: applied and planned again, it yields no operations. That matters because the
API server calls the webhook once per matching ``vk-webhook`` entry. It only ever *adds*: it never
removes or changes a value the pod already has; where the pod's own choice conflicts with routing it
is kept and a warning explains why the pod may not land on a virtual node.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from eci_reference.constants import (
    SECURITY_GROUP_ANNOTATION,
    VIRTUAL_NODE_LABEL_KEY,
    VIRTUAL_NODE_LABEL_VALUE,
    VIRTUAL_NODE_TAINT_EFFECT,
    VIRTUAL_NODE_TAINT_KEY,
    VSWITCH_ANNOTATION,
)
from eci_reference.matching import RoutingDecision, decide_routing, selector_matches
from eci_reference.profile import Profile, Selector
from eci_reference.text import shorten

_SHOWN_VALUE_CHARS: Final = 40


class MalformedPodError(ValueError):
    """The pod object is not shaped like a Pod (e.g. labels that are not a map of strings)."""


@dataclass(frozen=True, slots=True)
class PodPatch:
    """The planned JSON Patch, warnings for the user, and the routing decision behind them."""

    ops: tuple[dict[str, Any], ...]
    warnings: tuple[str, ...]
    routing: RoutingDecision
    #: Selectors whose effects were applied, in the order applied (see ``_plan_metadata``).
    effect_selectors: tuple[Selector, ...] = ()


def escape_pointer_token(token: str) -> str:
    """Escape one JSON Pointer reference token (RFC 6901): ``~`` -> ``~0`` and ``/`` -> ``~1``."""
    return token.replace("~", "~0").replace("/", "~1")


def virtual_node_toleration() -> dict[str, str]:
    """The toleration the webhook adds (a fresh dict each time: callers may serialise or mutate it)."""
    return {"key": VIRTUAL_NODE_TAINT_KEY, "operator": "Exists", "effect": VIRTUAL_NODE_TAINT_EFFECT}


def tolerates_virtual_node_taint(tolerations: Sequence[object]) -> bool:
    """True when some toleration already tolerates the taint whatever its value (an equivalent toleration).

    Only ``operator: Exists`` qualifies: an ``Equal`` toleration depends on the taint's value, which
    differs between providers. An empty key with Exists tolerates every taint; an empty effect every effect.
    """
    for toleration in tolerations:
        if (
            isinstance(toleration, Mapping)
            and toleration.get("operator") == "Exists"
            and toleration.get("key") in (None, "", VIRTUAL_NODE_TAINT_KEY)
            and toleration.get("effect") in (None, "", VIRTUAL_NODE_TAINT_EFFECT)
        ):
            return True
    return False


def plan_pod_patch(pod: Mapping[str, Any], namespace_labels: Mapping[str, str], profile: Profile) -> PodPatch:
    """Plan the patch for ``pod``: no operations for a non-ECI pod; ``MalformedPodError`` for a non-Pod."""
    if not isinstance(pod, Mapping):
        raise MalformedPodError("the object is not a JSON object")
    metadata = _optional_mapping(pod, "metadata", "metadata")
    labels = _string_map(metadata, "labels")
    annotations = _string_map(metadata, "annotations")
    routing = decide_routing(labels or {}, namespace_labels, profile)
    if not routing.is_eci:
        return PodPatch(ops=(), warnings=(), routing=routing)

    ops: list[dict[str, Any]] = []
    warnings: list[str] = []
    _plan_scheduling(pod, ops, warnings)
    effect_selectors, new_labels, new_annotations = _plan_metadata(
        routing, labels or {}, annotations or {}, namespace_labels, profile
    )
    if metadata is None and (new_labels or new_annotations):
        ops.append({"op": "add", "path": "/metadata", "value": {}})
    _add_map_entries(ops, "/metadata/labels", labels, new_labels)
    _add_map_entries(ops, "/metadata/annotations", annotations, new_annotations)
    return PodPatch(
        ops=tuple(ops), warnings=tuple(warnings), routing=routing, effect_selectors=effect_selectors
    )


def _plan_scheduling(pod: Mapping[str, Any], ops: list[dict[str, Any]], warnings: list[str]) -> None:
    spec = _optional_mapping(pod, "spec", "spec")
    if spec is None:
        ops.append({"op": "add", "path": "/spec", "value": {}})
        spec = {}
    node_name = spec.get("nodeName")
    if isinstance(node_name, str) and node_name:
        warnings.append(
            f"pod is already bound to node {shorten(node_name, _SHOWN_VALUE_CHARS)} by spec.nodeName; "
            "no nodeSelector or toleration added for virtual nodes"
        )
        return

    node_selector = _string_map(spec, "nodeSelector", where="spec.nodeSelector")
    if node_selector is None:
        ops.append(
            {
                "op": "add",
                "path": "/spec/nodeSelector",
                "value": {VIRTUAL_NODE_LABEL_KEY: VIRTUAL_NODE_LABEL_VALUE},
            }
        )
    elif VIRTUAL_NODE_LABEL_KEY not in node_selector:
        path = "/spec/nodeSelector/" + escape_pointer_token(VIRTUAL_NODE_LABEL_KEY)
        ops.append({"op": "add", "path": path, "value": VIRTUAL_NODE_LABEL_VALUE})
    elif node_selector[VIRTUAL_NODE_LABEL_KEY] != VIRTUAL_NODE_LABEL_VALUE:
        warnings.append(
            f"pod sets nodeSelector {VIRTUAL_NODE_LABEL_KEY}="
            f"{shorten(node_selector[VIRTUAL_NODE_LABEL_KEY], _SHOWN_VALUE_CHARS)}; "
            "kept, so it will not run on a virtual node"
        )

    tolerations = spec.get("tolerations")
    if tolerations is None:
        ops.append({"op": "add", "path": "/spec/tolerations", "value": [virtual_node_toleration()]})
    elif not isinstance(tolerations, list):
        raise MalformedPodError("spec.tolerations must be a list")
    elif not tolerates_virtual_node_taint(tolerations):
        ops.append({"op": "add", "path": "/spec/tolerations/-", "value": virtual_node_toleration()})


def _plan_metadata(
    routing: RoutingDecision,
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    namespace_labels: Mapping[str, str],
    profile: Profile,
) -> tuple[tuple[Selector, ...], dict[str, str], dict[str, str]]:
    """Effects first-wins in profile order, then parameter defaults: (applied selectors, labels, annotations).

    An effect may inject a label that another routing selector's objectSelector asks for. The API
    server would then call us again (for that selector's vk-webhook entry) with the patched pod, and
    that selector would match. So that one call already gives the final result, whatever order the
    entries are called in, selectors that match only thanks to injected labels are applied in further
    rounds (profile order within a round) until no new selector matches. Labels are only ever added,
    so a selector that matched keeps matching and the rounds end.
    """
    new_labels: dict[str, str] = {}
    new_annotations: dict[str, str] = {}
    applied: list[Selector] = []
    applied_ids: set[int] = set()
    current_labels = dict(labels)  # the pod's labels as they will be, additions included
    current_annotations = dict(annotations)
    round_selectors: Sequence[Selector] = routing.effect_selectors
    while round_selectors:
        for selector in round_selectors:
            applied.append(selector)
            applied_ids.add(id(selector))
            _add_missing(new_labels, current_labels, selector.effect.labels)
            _add_missing(new_annotations, current_annotations, selector.effect.annotations)
        if not new_labels:
            break
        round_selectors = [
            selector
            for selector in profile.routing_selectors
            if id(selector) not in applied_ids
            and selector_matches(selector, current_labels, namespace_labels)
        ]
    defaults = {VSWITCH_ANNOTATION: profile.vswitch_ids, SECURITY_GROUP_ANNOTATION: profile.security_group_id}
    _add_missing(
        new_annotations, current_annotations, {key: value for key, value in defaults.items() if value}
    )
    return tuple(applied), new_labels, new_annotations


def _add_missing(additions: dict[str, str], current: dict[str, str], candidates: Mapping[str, str]) -> None:
    """Add the candidates whose keys are not in ``current`` to both maps: the first value wins."""
    for key, value in candidates.items():
        if key not in current:
            additions[key] = value
            current[key] = value


def _add_map_entries(
    ops: list[dict[str, Any]], path: str, existing: Mapping[str, str] | None, additions: Mapping[str, str]
) -> None:
    """One ``add`` of the whole map when the pod has none (or null), else one ``add`` per new key."""
    if not additions:
        return
    if existing is None:
        ops.append({"op": "add", "path": path, "value": dict(additions)})
        return
    ops.extend(
        {"op": "add", "path": f"{path}/{escape_pointer_token(key)}", "value": value}
        for key, value in additions.items()
    )


def _optional_mapping(parent: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any] | None:
    value = parent.get(key)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise MalformedPodError(f"{where} must be a JSON object")
    return value


def _string_map(
    parent: Mapping[str, Any] | None, key: str, *, where: str | None = None
) -> Mapping[str, str] | None:
    """``parent[key]`` as a map of strings, ``None`` when absent or null; anything else is malformed."""
    if parent is None:
        return None
    value = parent.get(key)
    if value is None:
        return None
    if not isinstance(value, Mapping) or not all(
        isinstance(item_key, str) and isinstance(item, str) for item_key, item in value.items()
    ):
        raise MalformedPodError(f"{where or 'metadata.' + key} must be a map of strings")
    return value

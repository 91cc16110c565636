"""Choosing a virtual node without the scheduler (the ``binds-by-node-name`` variant), pure.

A design that sets ``spec.nodeName`` at admission takes over what the scheduler would have done for the
pod, so it must honour what the scheduler honours: the pod's own nodeSelector and required node
affinity, the taints it does not tolerate, the zone of a volume it already has (a PV's node affinity),
and only nodes that are Ready and schedulable. Everything here works on the API server's JSON (plain
dicts), so it is unit-tested without a cluster (tests/mutation/test_variant_logic.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

Term = Mapping[str, Any]
"""One nodeSelectorTerm: ``matchExpressions`` and ``matchFields``, ANDed."""
Terms = Sequence[Term]
"""nodeSelectorTerms, ORed; an empty list constrains nothing here (the caller leaves it out)."""


def _labels(node: Mapping[str, Any]) -> Mapping[str, str]:
    labels: Mapping[str, str] = (node.get("metadata") or {}).get("labels") or {}
    return labels


def node_name(node: Mapping[str, Any]) -> str:
    name: str = (node.get("metadata") or {}).get("name") or ""
    return name


def requirement_matches(requirement: Mapping[str, Any], values_by_key: Mapping[str, str]) -> bool:
    """One NodeSelectorRequirement, as the scheduler reads it (In, NotIn, Exists, DoesNotExist, Gt, Lt)."""
    key = requirement.get("key")
    operator = requirement.get("operator")
    values = list(requirement.get("values") or [])
    present = key in values_by_key
    value = values_by_key.get(key, "") if isinstance(key, str) else ""
    if operator == "In":
        return present and value in values
    if operator == "NotIn":
        return not present or value not in values
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    if operator in ("Gt", "Lt") and present and len(values) == 1:
        try:
            have, want = int(value), int(values[0])
        except ValueError:
            return False
        return have > want if operator == "Gt" else have < want
    return False


def term_matches(term: Term, node: Mapping[str, Any]) -> bool:
    """A nodeSelectorTerm: every expression on the labels and every field (metadata.name) holds.

    A term with neither matches no node, as in the scheduler."""
    expressions = list(term.get("matchExpressions") or [])
    fields = list(term.get("matchFields") or [])
    if not expressions and not fields:
        return False
    labels = _labels(node)
    by_field = {"metadata.name": node_name(node)}
    return all(requirement_matches(r, labels) for r in expressions) and all(
        requirement_matches(r, by_field) for r in fields
    )


def terms_match(terms: Terms, node: Mapping[str, Any]) -> bool:
    return any(term_matches(term, node) for term in terms)


def node_is_ready(node: Mapping[str, Any]) -> bool:
    """Ready=True and not cordoned: a pod bound elsewhere would wait for a kubelet that does not come."""
    if (node.get("spec") or {}).get("unschedulable"):
        return False
    conditions = (node.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def tolerates(taint: Mapping[str, Any], tolerations: Iterable[Mapping[str, Any]]) -> bool:
    """Kubernetes' ToleratesTaint: key (empty key with Exists = every key), operator, value, effect."""
    for toleration in tolerations:
        effect = toleration.get("effect") or ""
        if effect and effect != taint.get("effect"):
            continue
        key = toleration.get("key") or ""
        operator = toleration.get("operator") or "Equal"
        if key and key != taint.get("key"):
            continue
        if not key and operator != "Exists":
            continue
        if operator == "Exists" or (toleration.get("value") or "") == (taint.get("value") or ""):
            return True
    return False


def tolerates_node(node: Mapping[str, Any], tolerations: Iterable[Mapping[str, Any]]) -> bool:
    """Every NoSchedule and NoExecute taint of the node is tolerated (PreferNoSchedule never keeps a pod)."""
    listed = list(tolerations)
    return all(
        tolerates(taint, listed)
        for taint in (node.get("spec") or {}).get("taints") or []
        if taint.get("effect") in ("NoSchedule", "NoExecute")
    )


def pod_node_terms(spec: Mapping[str, Any]) -> Terms | None:
    """The pod's required node affinity terms, ``None`` when it has none."""
    affinity = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {}
    terms = affinity.get("nodeSelectorTerms")
    return list(terms) if terms else None


def eligible_nodes(
    spec: Mapping[str, Any],
    nodes: Iterable[Mapping[str, Any]],
    tolerations: Sequence[Mapping[str, Any]],
    volume_terms: Sequence[Terms] = (),
) -> list[str]:
    """Names of the nodes the pod may be bound to, sorted: Ready and schedulable, its nodeSelector and
    required node affinity hold, its ``tolerations`` (the ones it will have) cover the taints, and each
    volume's node affinity (``volume_terms``, one ORed list per volume) holds."""
    node_selector: Mapping[str, str] = spec.get("nodeSelector") or {}
    affinity = pod_node_terms(spec)
    chosen = []
    for node in nodes:
        labels = _labels(node)
        if not node_is_ready(node) or not tolerates_node(node, tolerations):
            continue
        if any(labels.get(key) != value for key, value in node_selector.items()):
            continue
        if affinity is not None and not terms_match(affinity, node):
            continue
        if not all(terms_match(terms, node) for terms in volume_terms):
            continue
        chosen.append(node_name(node))
    return sorted(chosen)


class RoundRobin:
    """Spreads pods over the eligible nodes in turn (whatever set is eligible for each pod)."""

    def __init__(self) -> None:
        self._counter = itertools.count()

    def pick(self, names: Sequence[str]) -> str | None:
        return names[next(self._counter) % len(names)] if names else None


def zone_terms(zone_label: str, zone: str) -> Terms:
    """The node affinity a volume in ``zone`` implies (what our provisioner writes on the PV)."""
    return [{"matchExpressions": [{"key": zone_label, "operator": "In", "values": [zone]}]}]


def volume_node_terms(volume: Mapping[str, Any]) -> Terms | None:
    """A PersistentVolume's required node affinity terms; ``None`` when it may be used on any node."""
    required = ((volume.get("spec") or {}).get("nodeAffinity") or {}).get("required") or {}
    terms = required.get("nodeSelectorTerms")
    return list(terms) if terms else None


def claim_names(spec: Mapping[str, Any]) -> list[str]:
    """The PVCs a pod spec mounts, in order, without repeats."""
    names: list[str] = []
    for volume in spec.get("volumes") or []:
        claim = (volume or {}).get("persistentVolumeClaim") or {}
        name = claim.get("claimName")
        if isinstance(name, str) and name and name not in names:
            names.append(name)
    return names


def bound_consumer(pod: Mapping[str, Any]) -> tuple[str, str, list[str]] | None:
    """(namespace, node, claims) of a live pod bound to a node that mounts claims; ``None`` otherwise."""
    metadata = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    phase = (pod.get("status") or {}).get("phase")
    node = spec.get("nodeName")
    claims = claim_names(spec)
    if not node or not claims or metadata.get("deletionTimestamp") or phase in ("Succeeded", "Failed"):
        return None
    return str(metadata.get("namespace") or ""), str(node), claims

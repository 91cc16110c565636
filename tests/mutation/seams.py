"""The places where a mutant changes the reference implementation, shared by several mutants.

A mutant rebinds module attributes of ``eci_reference`` before ``eci_reference.app.main`` runs. A name
is rebound in the module that *calls* it (``admission.plan_pod_patch``, not ``mutation.plan_pod_patch``:
admission imported the function by name), and ``replace`` refuses a name that no longer exists, so a
renamed seam fails the mutant loudly instead of leaving the reference unchanged (a "killed" verdict
would then be a lie, a "survived" one a false alarm).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any, Final

import eci_reference.admission as admission
import eci_reference.webhook_config as webhook_config
from eci_reference.constants import NAMESPACE_LABEL_ENTRY, WEBHOOK_ENTRY_SUFFIX
from eci_reference.matching import RoutingDecision
from eci_reference.mutation import PodPatch
from eci_reference.profile import Profile

CATCH_ALL_ENTRY: Final = f"all-pods.mutant.{WEBHOOK_ENTRY_SUFFIX}"
SIDECAR: Final = "istio-proxy"

Decide = Callable[[Mapping[str, str], Mapping[str, str], Profile], RoutingDecision]
"""The signature of ``matching.decide_routing`` (bound by name in ``mutation``)."""
PodPatchTransform = Callable[[Mapping[str, Any], Mapping[str, str], Profile, PodPatch], PodPatch]


def replace(owner: ModuleType | type, name: str, value: object) -> None:
    """Rebind ``owner.name`` (a module's or a class's); AttributeError when the reference lost it."""
    bound(owner, name)
    setattr(owner, name, value)


def bound(owner: ModuleType | type, name: str) -> Any:
    """What ``owner.name`` is now: the original a wrapper calls (also for names a module imported)."""
    if not hasattr(owner, name):
        raise AttributeError(f"{owner.__name__} has no attribute {name!r}: the mutant is out of date")
    return getattr(owner, name)


def transform_pod_patch(transform: PodPatchTransform) -> None:
    """Post-process every admission decision: ``transform(pod, namespace_labels, profile, patch)``."""
    original = bound(admission, "plan_pod_patch")

    def planned(pod: Mapping[str, Any], namespace_labels: Mapping[str, str], profile: Profile) -> PodPatch:
        return transform(pod, namespace_labels, profile, original(pod, namespace_labels, profile))

    replace(admission, "plan_pod_patch", planned)


def with_ops(patch: PodPatch, ops: list[dict[str, Any]]) -> PodPatch:
    return PodPatch(ops=tuple(ops), warnings=patch.warnings, routing=patch.routing,
                    effect_selectors=patch.effect_selectors)  # fmt: skip


def send_every_pod() -> None:
    """Add one vk-webhook entry that sends every pod create (outside system namespaces) to the handler.

    Correct by itself (many implementations decide everything in the handler), and needed by the mutants
    whose defect is in the handler's matching: the reference's entries carry the selectors' own
    matchLabels, so the API server would never send the pods the wrong matching would misroute.
    """
    original = webhook_config.build_webhook_configuration

    def build(profile: Profile, endpoint: webhook_config.Endpoint, ca_bundle: bytes) -> dict[str, Any]:
        configuration = original(profile, endpoint, ca_bundle)
        entries: list[dict[str, Any]] = configuration["webhooks"]
        template = next(e for e in entries if e["name"] == NAMESPACE_LABEL_ENTRY)
        exempt = {"matchExpressions": template["namespaceSelector"]["matchExpressions"]}
        entries.append({**template, "name": CATCH_ALL_ENTRY, "namespaceSelector": exempt})
        return configuration

    replace(webhook_config, "build_webhook_configuration", build)


def sidecar_removals(pod: Mapping[str, Any]) -> list[dict[str, Any]]:
    """JSON Patch ``remove`` ops for the istio-proxy container, classic or native (highest index first)."""
    spec = pod.get("spec") or {}
    ops: list[dict[str, Any]] = []
    for field in ("containers", "initContainers"):
        containers = spec.get(field) or []
        indexes = [i for i, container in enumerate(containers) if container.get("name") == SIDECAR]
        ops.extend({"op": "remove", "path": f"/spec/{field}/{i}"} for i in reversed(indexes))
    return ops


def has_sidecar(pod: Mapping[str, Any]) -> bool:
    spec = pod.get("spec") or {}
    containers = [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]
    return any(container.get("name") == SIDECAR for container in containers)

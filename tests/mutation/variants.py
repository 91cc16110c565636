"""Correct implementations built differently from the reference (*variants*).

A conformance suite must never fail a conformant design: a test that passes only because the
implementation works like ``eci_reference`` judges the mechanism, not the documented behaviour. Each
variant reaches the documented behaviour by other means; ``patch()`` rebinds attributes of the
``eci_reference`` modules before ``eci_reference.app.main`` runs (tests/mutation/run_implementation.py),
and the whole suite must pass against it. What each one changes, and why the suite must accept it:
docs/variants.md.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Final

import eci_reference.admission as admission
import eci_reference.app as app
import eci_reference.mutation as mutation
import eci_reference.webhook_config as webhook_config
from eci_reference.constants import (
    COMPONENT_NAME,
    ECI_LABEL,
    ECI_LABEL_ROUTING_VALUE,
    EXEMPT_NAMESPACES,
    MANAGED_BY_LABEL,
    NAMESPACE_NAME_LABEL,
    VIRTUAL_NODE_LABEL_KEY,
    VIRTUAL_NODE_LABEL_VALUE,
    VIRTUAL_NODE_TAINT_KEY,
    WEBHOOK_CONFIGURATION_NAME,
    WEBHOOK_ENTRY_SUFFIX,
)
from eci_reference.controller import ProfileController
from eci_reference.kube import read_json
from eci_reference.profile import Profile, Selector
from eci_reference.text import shorten
from eci_reference.webhook_config import (
    Endpoint,
    ServiceEndpoint,
    WebhookConfigurator,
    client_config,
    existing_ca_bundle,
    merge_ca_bundle,
    selector_entry_name,
)
from tests.mutation.seams import bound

logger = logging.getLogger("eci_reference.variant")


@dataclass(frozen=True)
class Variant:
    """A conformant implementation: ``patch()`` turns the reference into it, in this process."""

    name: str
    description: str
    patch: Callable[[], None]


def _replace(module: ModuleType, name: str, value: object) -> None:
    """Rebind ``module.name``; fails loudly when the reference renamed it (a no-op patch would make the
    variant silently the reference again, and its green run would prove nothing)."""
    if not hasattr(module, name):
        raise AttributeError(f"{module.__name__} has no attribute {name!r}: the variant is out of date")
    setattr(module, name, value)


# --- webhook-sees-every-pod: one catch-all admission entry -----------------------------------------

CATCH_ALL_ENTRY: Final = f"all-pods.{WEBHOOK_ENTRY_SUFFIX}"
#: ``failurePolicy: Ignore`` admits a pod unchanged after this; generous, so that a busy process is
#: not mistaken for a dead one (that would silently put an ECI pod on a regular node).
CATCH_ALL_TIMEOUT_SECONDS: Final = 10
#: vk-webhook shows a new profile's selectors this long after admission already applies it.
PUBLISH_DELAY_SECONDS: Final = 5.0
PUBLISH_RETRY_SECONDS: Final = 2.0
#: A profile change is applied once the ConfigMap has been quiet this long (at most MAX after the first).
DEBOUNCE_SECONDS: Final = 1.0
MAX_DEBOUNCE_SECONDS: Final = 3.0
REQUIRED_AFFINITY: Final = "requiredDuringSchedulingIgnoredDuringExecution"
_POD_CREATE_RULE: Final = {
    "operations": ["CREATE"],
    "apiGroups": [""],
    "apiVersions": ["v1"],
    "resources": ["pods"],
    "scope": "Namespaced",
}


def build_catch_all_configuration(profile: Profile, endpoint: Endpoint, ca_bundle: bytes) -> dict[str, Any]:
    """``vk-webhook`` as this variant writes it: one entry that sees every pod create, then one inert
    entry per routing selector that only *shows* the selector (the document's "Verify selectors").

    The catch-all has ``failurePolicy: Ignore``: it sees kube-system and every other namespace, so
    with ``Fail`` an outage of ours would block every pod of the cluster. It excludes only our own
    namespace in a cluster (our restart must not wait for ourselves). ``reinvocationPolicy: IfNeeded``:
    whatever order the API server calls the injectors in (Istio's sidecar injector among them), we
    decide again on the pod as the others left it; the plan is idempotent, so a second call adds
    nothing. The selector entries have no ``rules``, so the API server never calls them.
    """
    config = client_config(endpoint, ca_bundle)
    namespace_selector: dict[str, Any] = {}
    if isinstance(endpoint, ServiceEndpoint):
        namespace_selector = {
            "matchExpressions": [
                {"key": NAMESPACE_NAME_LABEL, "operator": "NotIn", "values": [endpoint.namespace]}
            ]
        }
    catch_all = {
        "name": CATCH_ALL_ENTRY,
        "admissionReviewVersions": ["v1"],
        "clientConfig": dict(config),
        "rules": [dict(_POD_CREATE_RULE)],
        "failurePolicy": "Ignore",
        "matchPolicy": "Equivalent",
        "namespaceSelector": namespace_selector,
        "objectSelector": {},
        "sideEffects": "None",
        "timeoutSeconds": CATCH_ALL_TIMEOUT_SECONDS,
        "reinvocationPolicy": "IfNeeded",
    }
    webhooks = [catch_all]
    webhooks.extend(_shown_selector(selector, config) for selector in profile.routing_selectors)
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": WEBHOOK_CONFIGURATION_NAME, "labels": {MANAGED_BY_LABEL: COMPONENT_NAME}},
        "webhooks": webhooks,
    }


def _shown_selector(selector: Selector, config: Mapping[str, Any]) -> dict[str, Any]:
    """An entry carrying exactly the selector's matchLabels and matching no request (no rules)."""
    return {
        "name": selector_entry_name(selector.name),
        "admissionReviewVersions": ["v1"],
        "clientConfig": dict(config),
        "rules": [],
        "failurePolicy": "Ignore",
        "matchPolicy": "Equivalent",
        "namespaceSelector": _match_labels(selector.namespace_selector),
        "objectSelector": _match_labels(selector.object_selector),
        "sideEffects": "None",
        "timeoutSeconds": 1,
        "reinvocationPolicy": "Never",
    }


def _match_labels(labels: Mapping[str, str] | None) -> dict[str, Any]:
    return {"matchLabels": dict(labels)} if labels else {}


class LaggingWebhookConfigurator(WebhookConfigurator):
    """Writes the selectors into ``vk-webhook`` ``PUBLISH_DELAY_SECONDS`` after the profile is in force
    for admission, from a separate task: vk-webhook only *shows* them, so nothing waits for it.

    Written at once only when the catch-all entry itself is missing or stale (first start, a renewed
    certificate): without it no pod reaches the admission code at all.
    """

    def __init__(
        self,
        api_client: Any,
        endpoint: Endpoint,
        ca_bundle: Callable[[], bytes],
        *,
        publish_delay: float = PUBLISH_DELAY_SECONDS,
    ) -> None:
        super().__init__(api_client, endpoint, ca_bundle)
        self._publish_delay = publish_delay
        self._latest: Profile | None = None
        self._publisher: asyncio.Task[None] | None = None

    async def reconcile(self, profile: Profile) -> bool:
        self._latest = profile
        if await self._catch_all_stale(profile):
            return await super().reconcile(profile)
        if self._publisher is None or self._publisher.done():
            self._publisher = asyncio.create_task(self._publish_later())
        return False

    async def _catch_all_stale(self, profile: Profile) -> bool:
        existing = await read_json(
            self._api.read_mutating_webhook_configuration(WEBHOOK_CONFIGURATION_NAME, _preload_content=False)
        )
        if existing is None:
            return True
        bundle = merge_ca_bundle(self._ca_bundle(), existing_ca_bundle(existing))
        wanted = build_catch_all_configuration(profile, self.endpoint, bundle)["webhooks"][0]
        current = [e for e in existing.get("webhooks") or [] if e.get("name") == CATCH_ALL_ENTRY]
        return not current or webhook_config._without_empty(current[0]) != webhook_config._without_empty(
            wanted
        )

    async def _publish_later(self) -> None:
        """Publish the latest profile after the delay; again if it changed meanwhile; retry on errors."""
        delay = self._publish_delay
        while True:
            await asyncio.sleep(delay)
            profile = self._latest
            if profile is None:
                return
            try:
                await super().reconcile(profile)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception(
                    "publishing the selectors in %s failed; retrying", WEBHOOK_CONFIGURATION_NAME
                )
                delay = PUBLISH_RETRY_SECONDS
                continue
            if self._latest is profile:
                return
            delay = self._publish_delay


class DebouncedProfileController(ProfileController):
    """Applies a ConfigMap change once it has been quiet for ``DEBOUNCE_SECONDS`` (bursts of edits
    become one switch), from its own task instead of inside the watch handler."""

    def __init__(self, api_client: Any, **options: Any) -> None:
        super().__init__(api_client, **options)
        self._waiting: Mapping[str, Any] | None = None
        self._last_change = 0.0
        self._applier: asyncio.Task[None] | None = None

    async def _changed(self, config_map: Mapping[str, Any]) -> None:
        self._waiting = config_map
        self._last_change = asyncio.get_running_loop().time()
        if self._applier is None or self._applier.done():
            self._applier = asyncio.create_task(self._apply_when_quiet())

    async def _deleted(self) -> None:
        self._waiting = None  # a change to an object that is gone must not be applied after it
        await super()._deleted()

    async def _apply_when_quiet(self) -> None:
        loop = asyncio.get_running_loop()
        first = loop.time()
        while self._waiting is not None:
            due = min(self._last_change + DEBOUNCE_SECONDS, first + MAX_DEBOUNCE_SECONDS)
            if loop.time() < due:
                await asyncio.sleep(due - loop.time())
                continue
            config_map, self._waiting = self._waiting, None
            try:
                await super()._changed(config_map)
            except asyncio.CancelledError:
                raise
            except Exception:  # the resync loop reconciles again; the next change is applied anyway
                logger.exception("applying %s failed", self.where)
            first = loop.time()


class SystemNamespaceHandler(admission._AdmissionHandler):
    """The catch-all also sees kube-system and kube-node-lease. There, as in the reference (whose
    namespace-label and selector entries exclude them), only the pod's own ECI label routes: a
    selector such as ``objectSelector: {app: web}`` must not move the control plane's pods."""

    async def _review(self, admission_request: Mapping[str, Any], started: float) -> dict[str, Any]:
        if _system_pod_without_eci_label(admission_request):
            return {"uid": admission_request["uid"], "allowed": True}
        return await super()._review(admission_request, started)


def _system_pod_without_eci_label(admission_request: Mapping[str, Any]) -> bool:
    if admission_request.get("namespace") not in EXEMPT_NAMESPACES:
        return False
    pod = admission_request.get("object")
    metadata = pod.get("metadata") if isinstance(pod, Mapping) else None
    labels = metadata.get("labels") if isinstance(metadata, Mapping) else None
    if labels is not None and not isinstance(labels, Mapping):
        return False  # malformed: the reference handler denies it with the reason
    return (labels or {}).get(ECI_LABEL) != ECI_LABEL_ROUTING_VALUE


# --- routing by required node affinity ---------------------------------------------------------------


def virtual_node_requirement() -> dict[str, Any]:
    return {"key": VIRTUAL_NODE_LABEL_KEY, "operator": "In", "values": [VIRTUAL_NODE_LABEL_VALUE]}


def virtual_node_toleration() -> dict[str, str]:
    """Every effect of the virtual-node taint key (the reference tolerates NoSchedule only)."""
    return {"key": VIRTUAL_NODE_TAINT_KEY, "operator": "Exists"}


def plan_scheduling_by_affinity(
    pod: Mapping[str, Any], ops: list[dict[str, Any]], warnings: list[str]
) -> None:
    """Route to virtual nodes by a required node affinity on the virtual-node label, ANDed into every
    term the pod already has (terms are ORed: a term of our own would widen the pod's choice), plus
    the toleration. Idempotent, since the catch-all may be called again for the same pod."""
    spec = mutation._optional_mapping(pod, "spec", "spec")
    if spec is None:
        ops.append({"op": "add", "path": "/spec", "value": {}})
        spec = {}
    node_name = spec.get("nodeName")
    if isinstance(node_name, str) and node_name:
        warnings.append(
            f"pod is already bound to node {shorten(node_name, mutation._SHOWN_VALUE_CHARS)} "
            "by spec.nodeName; "
            "no node affinity or toleration added for virtual nodes"
        )
        return
    node_selector = mutation._string_map(spec, "nodeSelector", where="spec.nodeSelector") or {}
    own = node_selector.get(VIRTUAL_NODE_LABEL_KEY)
    if own is not None and own != VIRTUAL_NODE_LABEL_VALUE:
        warnings.append(
            f"pod sets nodeSelector {VIRTUAL_NODE_LABEL_KEY}={shorten(own, mutation._SHOWN_VALUE_CHARS)}; "
            "kept, so it will not run on a virtual node"
        )
    else:
        _plan_node_affinity(spec, ops)
    tolerations = spec.get("tolerations")
    if tolerations is None:
        ops.append({"op": "add", "path": "/spec/tolerations", "value": [virtual_node_toleration()]})
    elif not isinstance(tolerations, list):
        raise mutation.MalformedPodError("spec.tolerations must be a list")
    elif not mutation.tolerates_virtual_node_taint(tolerations):
        ops.append({"op": "add", "path": "/spec/tolerations/-", "value": virtual_node_toleration()})


def _plan_node_affinity(spec: Mapping[str, Any], ops: list[dict[str, Any]]) -> None:
    term = {"matchExpressions": [virtual_node_requirement()]}
    required_value = {"nodeSelectorTerms": [term]}
    affinity = mutation._optional_mapping(spec, "affinity", "spec.affinity")
    if affinity is None:
        ops.append(
            {
                "op": "add",
                "path": "/spec/affinity",
                "value": {"nodeAffinity": {REQUIRED_AFFINITY: required_value}},
            }
        )
        return
    node_affinity = mutation._optional_mapping(affinity, "nodeAffinity", "spec.affinity.nodeAffinity")
    if node_affinity is None:
        ops.append(
            {"op": "add", "path": "/spec/affinity/nodeAffinity", "value": {REQUIRED_AFFINITY: required_value}}
        )
        return
    base = f"/spec/affinity/nodeAffinity/{REQUIRED_AFFINITY}"
    required = mutation._optional_mapping(
        node_affinity, REQUIRED_AFFINITY, f"nodeAffinity.{REQUIRED_AFFINITY}"
    )
    if required is None:
        ops.append({"op": "add", "path": base, "value": required_value})
        return
    terms = required.get("nodeSelectorTerms")
    if not terms:
        ops.append({"op": "add", "path": f"{base}/nodeSelectorTerms", "value": [term]})
        return
    if not isinstance(terms, list) or not all(isinstance(t, Mapping) for t in terms):
        raise mutation.MalformedPodError("nodeSelectorTerms must be a list of objects")
    for index, existing in enumerate(terms):
        expressions = existing.get("matchExpressions")
        path = f"{base}/nodeSelectorTerms/{index}/matchExpressions"
        if expressions is None:
            ops.append({"op": "add", "path": path, "value": [virtual_node_requirement()]})
        elif not isinstance(expressions, list):
            raise mutation.MalformedPodError(f"nodeSelectorTerms[{index}].matchExpressions must be a list")
        elif virtual_node_requirement() not in expressions:
            ops.append({"op": "add", "path": f"{path}/-", "value": virtual_node_requirement()})


def webhook_sees_every_pod() -> None:
    """One catch-all entry; selectors shown in vk-webhook seconds later; node affinity; debounce."""
    _replace(webhook_config, "build_webhook_configuration", build_catch_all_configuration)
    _replace(app, "WebhookConfigurator", LaggingWebhookConfigurator)
    _replace(app, "ProfileController", DebouncedProfileController)
    _replace(admission, "_AdmissionHandler", SystemNamespaceHandler)
    _replace(mutation, "_plan_scheduling", plan_scheduling_by_affinity)


# --- parameters-follow-late: parameter defaults follow the selectors a few seconds later -------------

#: For this long after admission first sees new cluster-level parameters, it still stamps the previous
#: ones (a design that refreshes parameters on its own, slower loop); well within the 30 s propagation limit.
PARAMETER_LAG_SECONDS: Final = 4.0


def parameters_follow_late() -> None:
    """Selectors apply at once; vSwitch and security-group defaults follow PARAMETER_LAG_SECONDS later.
    The documents say a change applies to new pods, not that every part of it applies at one instant:
    a suite that reads a new pod's parameters as soon as a selector shows would fail this design."""
    plan = bound(admission, "plan_pod_patch")
    seen: dict[str, Any] = {"pair": None, "previous": None, "since": 0.0}

    def lagging_plan(pod: Mapping[str, Any], namespace_labels: Mapping[str, str], profile: Profile) -> Any:
        pair = (profile.vswitch_ids, profile.security_group_id)
        now = time.monotonic()
        if seen["pair"] is None:
            seen["pair"] = pair
        elif pair != seen["pair"]:
            seen["previous"], seen["pair"], seen["since"] = seen["pair"], pair, now
        if seen["previous"] is not None and now - seen["since"] < PARAMETER_LAG_SECONDS:
            vswitch, security_group = seen["previous"]
            profile = dataclasses.replace(profile, vswitch_ids=vswitch, security_group_id=security_group)
        return plan(pod, namespace_labels, profile)

    _replace(admission, "plan_pod_patch", lagging_plan)


VARIANTS: dict[str, Variant] = {
    variant.name: variant
    for variant in (
        Variant(
            name="webhook-sees-every-pod",
            description=(
                "vk-webhook has one catch-all entry (failurePolicy Ignore, reinvocationPolicy IfNeeded) "
                "and the admission code decides from the profile; the selectors appear in vk-webhook "
                f"{PUBLISH_DELAY_SECONDS:.0f}s after the profile is in force, as inert entries; ECI pods "
                "are routed by required node affinity on the virtual-node label; profile changes are "
                f"applied after {DEBOUNCE_SECONDS:.0f}s of quiet"
            ),
            patch=webhook_sees_every_pod,
        ),
        Variant(
            name="parameters-follow-late",
            description=(
                "selectors apply as soon as the profile changes; the vSwitch and security-group defaults "
                f"follow {PARAMETER_LAG_SECONDS:.0f}s after admission first sees them (within the "
                "declared propagation limit)"
            ),
            patch=parameters_follow_late,
        ),
    )
}

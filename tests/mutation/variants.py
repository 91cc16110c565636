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
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Final

from kubernetes_asyncio import client

import eci_reference.admission as admission
import eci_reference.app as app
import eci_reference.matching as matching
import eci_reference.mutation as mutation
import eci_reference.profile as profile_module
import eci_reference.profile_schema as profile_schema
import eci_reference.selectors_schema as selectors_schema
import eci_reference.storage as storage
import eci_reference.webhook_config as webhook_config
from eci_reference.constants import (
    BINDING_IMMEDIATE,
    BINDING_WAIT_FOR_FIRST_CONSUMER,
    COMPONENT_NAME,
    ECI_LABEL,
    ECI_LABEL_ROUTING_VALUE,
    EXEMPT_NAMESPACES,
    MANAGED_BY_LABEL,
    NAMESPACE_NAME_LABEL,
    PROVISIONER_NAME,
    REASON_NAMESPACE_LABEL,
    REGION_LABEL,
    SELECTED_NODE_ANNOTATION,
    STORAGE_CLASS_NAME,
    STORAGE_CLASS_REGION_PARAMETER,
    STORAGE_CLASS_ZONE_PARAMETER,
    VIRTUAL_NODE_LABEL_KEY,
    VIRTUAL_NODE_LABEL_VALUE,
    VIRTUAL_NODE_TAINT_KEY,
    WEBHOOK_CONFIGURATION_NAME,
    WEBHOOK_ENTRY_SUFFIX,
    ZONE_LABEL,
)
from eci_reference.controller import NamespaceLabelCache, ProfileController
from eci_reference.disks import (
    Placement,
    build_persistent_volume,
    claim_name,
    claim_wants_volume,
    metadata_of,
    selected_node,
)
from eci_reference.kube import REQUEST_TIMEOUT_SECONDS, list_watch, read_json
from eci_reference.profile import EMPTY_MAP, NO_EFFECT, Effect, FrozenMap, Profile, Selector, parse_profile
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
from tests.mutation.node_binding import (
    RoundRobin,
    Terms,
    bound_consumer,
    claim_names,
    eligible_nodes,
    node_name,
    volume_node_terms,
    zone_terms,
)
from tests.mutation.seams import bound

logger = logging.getLogger("eci_reference.variant")


@dataclass(frozen=True)
class Variant:
    """A conformant implementation: ``patch()`` turns the reference into it, in this process."""

    name: str
    description: str
    patch: Callable[[], None]


def _replace(module: ModuleType | type, name: str, value: object) -> None:
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


# --- binds-by-node-name: the webhook picks the virtual node itself ------------------------------------

#: Reading a pod's claims and volumes at admission must leave room within the webhook's 5 s timeout.
VOLUME_LOOKUP_SECONDS: Final = 2.0
_VOLUME_TERMS: ContextVar[tuple[Terms, ...] | None] = ContextVar("volume_terms", default=())
"""The node affinity each volume of the pod under review implies; ``None`` when unknown (lookup failed)."""


class VirtualNodeBinder:
    """What binding needs beyond the pod: the virtual nodes (from a watch) and a pod's volumes."""

    def __init__(self, api_client: Any) -> None:
        self._core: Any = client.CoreV1Api(api_client)
        self._storage: Any = client.StorageV1Api(api_client)
        self._nodes: dict[str, dict[str, Any]] = {}
        self._round_robin = RoundRobin()

    async def on_list(self, items: list[dict[str, Any]]) -> None:
        self._nodes = {node_name(item): item for item in items}

    async def on_event(self, event_type: str, obj: dict[str, Any]) -> None:
        if event_type == "DELETED":
            self._nodes.pop(node_name(obj), None)
        else:
            self._nodes[node_name(obj)] = obj

    async def run(self) -> None:
        selector = f"{VIRTUAL_NODE_LABEL_KEY}={VIRTUAL_NODE_LABEL_VALUE}"
        await list_watch(
            "virtual nodes", self._core.list_node, self, call_kwargs={"label_selector": selector}
        )

    def is_virtual(self, name: str) -> bool:
        return name in self._nodes

    def choose(
        self, spec: Mapping[str, Any], tolerations: Sequence[Mapping[str, Any]], volumes: Sequence[Terms]
    ) -> str | None:
        """The next eligible virtual node in turn, ``None`` when none is eligible now."""
        return self._round_robin.pick(eligible_nodes(spec, self._nodes.values(), tolerations, volumes))

    async def volume_terms(self, namespace: str, spec: Mapping[str, Any]) -> tuple[Terms, ...]:
        """Where each claim the pod mounts lets it run: a bound claim its PV's node affinity, an unbound
        claim of our Immediate class the class's zone (where our provisioner will put it); a claim that
        waits for its first consumer (or is unknown) constrains nothing, its disk follows the node."""
        found: list[Terms] = []
        for name in claim_names(spec):
            claim = await read_json(
                self._core.read_namespaced_persistent_volume_claim(
                    name, namespace, _preload_content=False, _request_timeout=REQUEST_TIMEOUT_SECONDS
                )
            )
            if claim is None:
                continue
            claim_spec = claim.get("spec") or {}
            if claim_spec.get("volumeName"):
                volume = await read_json(
                    self._core.read_persistent_volume(
                        claim_spec["volumeName"],
                        _preload_content=False,
                        _request_timeout=REQUEST_TIMEOUT_SECONDS,
                    )
                )
                terms = volume_node_terms(volume) if volume else None
                if terms:
                    found.append(terms)
            elif claim_spec.get("storageClassName") == STORAGE_CLASS_NAME:
                storage_class = await read_json(
                    self._storage.read_storage_class(
                        STORAGE_CLASS_NAME, _preload_content=False, _request_timeout=REQUEST_TIMEOUT_SECONDS
                    )
                )
                mode = (storage_class or {}).get("volumeBindingMode") or BINDING_IMMEDIATE
                zone = ((storage_class or {}).get("parameters") or {}).get(STORAGE_CLASS_ZONE_PARAMETER)
                if mode == BINDING_IMMEDIATE and zone:
                    found.append(zone_terms(ZONE_LABEL, zone))
        return tuple(found)


class _BinderHolder:
    """The one binder of this process: admission's sync planning reads it (set when the app builds it)."""

    binder: VirtualNodeBinder | None = None


class NamespaceAndNodeCache(NamespaceLabelCache):
    """The reference's namespace cache, plus the virtual-node watch the binder needs (one more loop)."""

    def __init__(self, api_client: Any) -> None:
        super().__init__(api_client)
        self.binder = VirtualNodeBinder(api_client)
        _BinderHolder.binder = self.binder

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(super().run())
            tasks.create_task(self.binder.run())


class VolumeAwareHandler(admission._AdmissionHandler):
    """Looks up the pod's volumes before planning, so that the chosen node can use its disks (the
    scheduler's VolumeBinding/VolumeZone checks, which a pod bound at admission never meets)."""

    async def _review(self, admission_request: Mapping[str, Any], started: float) -> dict[str, Any]:
        terms: tuple[Terms, ...] | None = ()
        pod = admission_request.get("object")
        spec = pod.get("spec") if isinstance(pod, Mapping) else None
        namespace = admission_request.get("namespace")
        binder = _BinderHolder.binder
        if isinstance(spec, Mapping) and isinstance(namespace, str) and binder is not None:
            try:
                if claim_names(spec):
                    async with asyncio.timeout(VOLUME_LOOKUP_SECONDS):
                        terms = await binder.volume_terms(namespace, spec)
            except Exception as error:  # malformed volumes included: the scheduler path decides then
                logger.warning("looking up the volumes of a pod in %s failed: %r", namespace, error)
                terms = None
        token = _VOLUME_TERMS.set(terms)
        try:
            return await super()._review(admission_request, started)
        finally:
            _VOLUME_TERMS.reset(token)


_REFERENCE_PLAN_SCHEDULING: Final = mutation._plan_scheduling
"""The reference's nodeSelector routing, read before any patch: the fallback when no node is eligible."""


def plan_scheduling_by_node_name(
    pod: Mapping[str, Any], ops: list[dict[str, Any]], warnings: list[str]
) -> None:
    """Bind an ECI pod to a virtual node chosen here (``spec.nodeName``, round-robin over the eligible
    ones) plus the toleration; the scheduler never sees it. Idempotent: a second call finds the pod
    bound to a virtual node and adds nothing. When no virtual node is eligible now (all NotReady, the
    pod's own nodeSelector excludes them, its disk's zone has none) the pod is left to the scheduler
    with the reference's nodeSelector, so that it runs once one is: never bound to a node it cannot use."""
    reference_plan = _REFERENCE_PLAN_SCHEDULING
    spec = mutation._optional_mapping(pod, "spec", "spec")
    binder = _BinderHolder.binder
    if spec is None or binder is None:
        reference_plan(pod, ops, warnings)
        return
    tolerations = spec.get("tolerations")
    if tolerations is not None and not isinstance(tolerations, list):
        raise mutation.MalformedPodError("spec.tolerations must be a list")
    tolerated = tolerations is not None and mutation.tolerates_virtual_node_taint(tolerations)
    toleration_ops: list[dict[str, Any]] = []
    if tolerations is None:
        toleration_ops.append(
            {"op": "add", "path": "/spec/tolerations", "value": [mutation.virtual_node_toleration()]}
        )
    elif not tolerated:
        toleration_ops.append(
            {"op": "add", "path": "/spec/tolerations/-", "value": mutation.virtual_node_toleration()}
        )
    current = spec.get("nodeName")
    if isinstance(current, str) and current:
        if binder.is_virtual(current):  # bound by us in an earlier call, or by its author: nothing to say
            ops.extend(toleration_ops)
        else:
            reference_plan(pod, ops, warnings)  # its warning: bound elsewhere by spec.nodeName
        return
    mutation._string_map(spec, "nodeSelector", where="spec.nodeSelector")  # malformed: MalformedPodError
    own = [t for t in tolerations or [] if isinstance(t, Mapping)]
    will_tolerate = [*own, *([] if tolerated else [mutation.virtual_node_toleration()])]
    volumes = _VOLUME_TERMS.get()
    try:
        chosen = None if volumes is None else binder.choose(spec, will_tolerate, volumes)
    except (AttributeError, TypeError) as error:  # not yet validated by the API server: say what is wrong
        raise mutation.MalformedPodError(f"spec.affinity or spec.tolerations is malformed: {error}") from None
    if chosen is None:
        logger.warning("no virtual node is eligible for this pod now; leaving it to the scheduler")
        warnings.append("no virtual node is eligible now; the scheduler places the pod when one is")
        reference_plan(pod, ops, warnings)
        return
    logger.info("binding the pod to virtual node %s by spec.nodeName", chosen)  # the matrix counts these
    ops.append({"op": "add", "path": "/spec/nodeName", "value": chosen})
    ops.extend(toleration_ops)


class BoundPodProvisioner(storage.DiskProvisioner):
    """With ``spec.nodeName`` set at admission the scheduler never annotates a WaitForFirstConsumer
    claim with its node (``volume.kubernetes.io/selected-node``): the disk follows the node of a live
    pod that mounts the claim instead, found by a pod watch that also wakes the claim up at once."""

    def __init__(self, api_client: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(api_client, *args, **kwargs)
        self._consumers: dict[str, tuple[str, str, list[str]]] = {}  # pod uid -> (namespace, node, claims)

    async def run(self) -> None:
        pods = storage._Callbacks(self._pods_listed, self._pod_changed)
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(super().run())
            tasks.create_task(list_watch("pods", self._core.list_pod_for_all_namespaces, pods))

    async def _pods_listed(self, items: list[dict[str, Any]]) -> None:
        self._consumers.clear()
        for pod in items:
            self._pod_seen(pod)

    async def _pod_changed(self, event_type: str, pod: dict[str, Any]) -> None:
        if event_type == "DELETED":
            self._consumers.pop(metadata_of(pod).get("uid", ""), None)
        else:
            self._pod_seen(pod)

    def _pod_seen(self, pod: Mapping[str, Any]) -> None:
        uid = metadata_of(pod).get("uid", "")
        consumer = bound_consumer(pod)
        if consumer is None:
            self._consumers.pop(uid, None)
            return
        self._consumers[uid] = consumer
        namespace, _, claims = consumer
        for claim_uid, claim in self._claims.items():
            metadata = metadata_of(claim)
            if metadata.get("namespace") == namespace and metadata.get("name") in claims:
                self._enqueue(claim_uid)

    def node_of_consumer(self, claim: Mapping[str, Any]) -> str | None:
        metadata = metadata_of(claim)
        nodes = sorted(
            node
            for namespace, node, claims in self._consumers.values()
            if namespace == metadata.get("namespace") and metadata.get("name") in claims
        )
        return nodes[0] if nodes else None

    async def provision(self, claim: Mapping[str, Any]) -> bool:
        if selected_node(claim) is None:
            node = self.node_of_consumer(claim)
            if node is not None:
                metadata = dict(metadata_of(claim))
                metadata["annotations"] = {
                    **(metadata.get("annotations") or {}),
                    SELECTED_NODE_ANNOTATION: node,
                }
                claim = {**claim, "metadata": metadata}
        return await super().provision(claim)


def binds_by_node_name() -> None:
    """spec.nodeName at admission (round-robin over the eligible virtual nodes); disks follow the pod."""
    _replace(mutation, "_plan_scheduling", plan_scheduling_by_node_name)
    _replace(admission, "_AdmissionHandler", VolumeAwareHandler)
    _replace(app, "NamespaceLabelCache", NamespaceAndNodeCache)
    _replace(app, "DiskProvisioner", BoundPodProvisioner)


# --- unspecified-other-way: every case the catalogue leaves open, decided unlike the reference --------

#: Marks the pods this implementation routed, so that re-evaluation never touches a pod somebody else put
#: on a virtual node. An implementation's own annotation: the suite judges only the keys it names.
ROUTED_ANNOTATION: Final = "variant.eci-reference.io/routed"
#: A valid profile change takes effect this long after it is observed (HOT-UPDATE-DELAY), well within the
#: declared limits.profilePropagationSeconds.
PROFILE_DELAY_SECONDS: Final = 2.0
#: Running pods are re-evaluated this long after the last namespace label or profile change (coalesced).
REEVALUATE_DELAY_SECONDS: Final = 1.0
#: Boolean spellings of the profile's enable* parameters and featureGates: lower case only ("True" is
#: rejected, where the reference accepts any letter case), but with the usual synonyms ("1", "yes", "on",
#: "t" are accepted, where the reference rejects them).
TRUE_SPELLINGS: Final = frozenset({"true", "t", "1", "yes", "on"})
FALSE_SPELLINGS: Final = frozenset({"false", "f", "0", "no", "off"})


def parse_bool_lower_case(text: str) -> bool | None:
    """PROFILE-BOOLEAN-SPELLINGS, the other way: exact lower-case spellings and their synonyms."""
    value = text.strip()
    if value in TRUE_SPELLINGS:
        return True
    if value in FALSE_SPELLINGS:
        return False
    return None


_REFERENCE_DECIDE_ROUTING: Final[Callable[..., matching.RoutingDecision]] = bound(mutation, "decide_routing")


def decide_routing_false_opts_out(
    pod_labels: Mapping[str, str], namespace_labels: Mapping[str, str], profile: Profile
) -> matching.RoutingDecision:
    """ECI-FALSE-POD-IN-ECI-NAMESPACE, the other way: a pod's own ``alibabacloud.com/eci=false`` opts it
    out of its namespace's label (the reference routes it). Only the namespace label: a selector that
    matches the pod still routes it (SEL-OBJECT/SEL-NAMESPACE certify that for every matching pod)."""
    decision = _REFERENCE_DECIDE_ROUTING(pod_labels, namespace_labels, profile)
    if pod_labels.get(ECI_LABEL) != "false" or REASON_NAMESPACE_LABEL not in decision.reasons:
        return decision
    reasons = tuple(reason for reason in decision.reasons if reason != REASON_NAMESPACE_LABEL)
    if reasons:
        return dataclasses.replace(decision, reasons=reasons)
    return matching.RoutingDecision(
        is_eci=False, reasons=(), matched_selectors=decision.matched_selectors, effect_selectors=()
    )


_REFERENCE_PLAN_POD_PATCH: Final[Callable[..., mutation.PodPatch]] = bound(admission, "plan_pod_patch")


def plan_with_marker(
    pod: Mapping[str, Any], namespace_labels: Mapping[str, str], profile: Profile
) -> mutation.PodPatch:
    """The reference's plan, plus ``ROUTED_ANNOTATION`` on the pods it routes (idempotent)."""
    patch = _REFERENCE_PLAN_POD_PATCH(pod, namespace_labels, profile)
    if not patch.routing.is_eci:
        return patch
    metadata = pod.get("metadata") or {}
    annotations = metadata.get("annotations")
    if isinstance(annotations, Mapping) and ROUTED_ANNOTATION in annotations:
        return patch
    ops = list(patch.ops)
    if annotations is None and not any(op["path"] == "/metadata/annotations" for op in ops):
        if not any(op["path"] == "/metadata" for op in ops) and not pod.get("metadata"):
            ops.append({"op": "add", "path": "/metadata", "value": {}})
        ops.append({"op": "add", "path": "/metadata/annotations", "value": {ROUTED_ANNOTATION: "true"}})
    else:
        key = mutation.escape_pointer_token(ROUTED_ANNOTATION)
        ops.append({"op": "add", "path": f"/metadata/annotations/{key}", "value": "true"})
    return dataclasses.replace(patch, ops=tuple(ops))


class _RunningPodsHolder:
    """The one re-evaluator of this process (the namespace cache and the controller both wake it)."""

    evaluator: RunningPodEvaluator | None = None


class RunningPodEvaluator:
    """RUNNING-PODS-AFTER-UNLABELLING, the other way: after a namespace loses its ECI label or a selector
    is removed, the pods this implementation routed that the rules in force would no longer route are
    deleted (their controllers recreate them where the rules now say; the reference leaves them)."""

    def __init__(self, api_client: Any, namespaces: NamespaceLabelCache) -> None:
        self._core: Any = client.CoreV1Api(api_client)
        self._namespaces = namespaces
        self._profile: Callable[[], Profile | None] = lambda: None
        self._wake = asyncio.Event()

    def watch_profile(self, active_profile: Callable[[], Profile | None]) -> None:
        self._profile = active_profile

    def changed(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(REEVALUATE_DELAY_SECONDS)  # a burst of changes: one pass
            self._wake.clear()
            try:
                await self.evaluate()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the next change tries again
                logger.warning("re-evaluating running pods failed: %r", error)

    async def evaluate(self) -> list[str]:
        """Delete the routed pods the rules in force no longer route; their namespace/names."""
        profile = self._profile()
        if profile is None:
            return []
        listed = await read_json(
            self._core.list_pod_for_all_namespaces(
                _preload_content=False, _request_timeout=REQUEST_TIMEOUT_SECONDS
            )
        )
        deleted = []
        for pod in (listed or {}).get("items") or []:
            metadata = pod.get("metadata") or {}
            if ROUTED_ANNOTATION not in (metadata.get("annotations") or {}) or metadata.get(
                "deletionTimestamp"
            ):
                continue
            namespace, name = metadata.get("namespace", ""), metadata.get("name", "")
            namespace_labels = await self._namespaces.lookup(namespace)
            if namespace_labels is None:
                continue
            decide = bound(mutation, "decide_routing")  # this variant's: eci=false opts out
            if decide(metadata.get("labels") or {}, namespace_labels, profile).is_eci:
                continue
            try:
                await self._core.delete_namespaced_pod(name, namespace)
            except client.ApiException as error:
                if error.status != 404:
                    raise
                continue
            logger.info("deleted pod %s/%s: no rule in force routes it to ECI any more", namespace, name)
            deleted.append(f"{namespace}/{name}")
        return deleted


class ReevaluatingNamespaceCache(NamespaceLabelCache):
    """The reference's namespace cache; a namespace that loses its ECI label wakes the re-evaluator."""

    def __init__(self, api_client: Any) -> None:
        super().__init__(api_client)
        self.evaluator = RunningPodEvaluator(api_client, self)
        _RunningPodsHolder.evaluator = self.evaluator

    async def on_event(self, event_type: str, obj: dict[str, Any]) -> None:
        before = self._labels.get(obj["metadata"]["name"], {}).get(ECI_LABEL)
        await super().on_event(event_type, obj)
        after = self._labels.get(obj["metadata"]["name"], {}).get(ECI_LABEL)
        if before == ECI_LABEL_ROUTING_VALUE and after != ECI_LABEL_ROUTING_VALUE:
            self.evaluator.changed()

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(super().run())
            tasks.create_task(self.evaluator.run())


class DelayedProfileController(ProfileController):
    """HOT-UPDATE-DELAY, the other way: a valid change takes effect ``PROFILE_DELAY_SECONDS`` after it is
    observed (a design that polls), not at once. PROFILE-ABSENT, the other way: a missing ConfigMap is
    never created; while it is absent the built-in defaults are in force (the reference creates it with
    the defaults and keeps the last valid profile until it sees the new one). A removed routing selector
    wakes the re-evaluation of running pods."""

    def __init__(self, api_client: Any, **options: Any) -> None:
        super().__init__(api_client, **options)
        self._waiting: Mapping[str, Any] | None = None
        self._applier: asyncio.Task[None] | None = None
        if _RunningPodsHolder.evaluator is not None:
            _RunningPodsHolder.evaluator.watch_profile(self.active_profile)

    async def ensure_profile(self) -> bool:
        return False

    async def load(self) -> None:
        found = await read_json(
            self._core.read_namespaced_config_map(
                self._name, self._namespace, _preload_content=False, _request_timeout=REQUEST_TIMEOUT_SECONDS
            )
        )
        if found is None:
            self._active = parse_profile(self._default_data)
            return
        await self._observe(found)

    async def _changed(self, config_map: Mapping[str, Any]) -> None:
        version = config_map["metadata"].get("resourceVersion")
        if version is not None and version == self._seen_version:
            await super()._changed(config_map)  # a resync of what is in force: no delay
            return
        self._waiting = config_map
        if self._applier is None or self._applier.done():
            self._applier = asyncio.create_task(self._apply_later())

    async def _apply_later(self) -> None:
        await asyncio.sleep(PROFILE_DELAY_SECONDS)
        config_map, self._waiting = self._waiting, None
        if config_map is None:
            return
        routing_before = self._routing_names()
        try:
            await super()._changed(config_map)
        except asyncio.CancelledError:
            raise
        except Exception:  # the resync loop reconciles again
            logger.exception("applying %s failed", self.where)
        self._removed_selectors(routing_before)
        if self._changed_meanwhile():
            self._applier = asyncio.create_task(self._apply_later())

    def _changed_meanwhile(self) -> bool:
        return self._waiting is not None

    def _routing_names(self) -> set[str]:
        return {s.name for s in self._active.routing_selectors} if self._active else set()

    def _removed_selectors(self, before: set[str]) -> None:
        if before - self._routing_names() and _RunningPodsHolder.evaluator is not None:
            _RunningPodsHolder.evaluator.changed()

    async def _deleted(self) -> None:
        self._waiting = None  # a change to an object that is gone must not be applied after it
        if self._seen_version is not None:
            logger.warning("%s was deleted; the built-in defaults are in force (not recreated)", self.where)
        routing_before = self._routing_names()
        self._seen_version = None
        self._active = parse_profile(self._default_data)
        self._pending_applied = None
        self._reconcile_pending = True
        await self.reconcile()
        self._removed_selectors(routing_before)

    async def _resync_loop(self) -> None:
        while True:
            await asyncio.sleep(self._resync_seconds)
            await self.reconcile()


class ModeAtCreationProvisioner(BoundPodProvisioner):
    """FEATURE-GATE-EXISTING-CLAIMS, the other way: a claim keeps the binding mode of the StorageClass
    it was first seen under. One that waited for a consumer when featureGates went back to Immediate
    still waits, and gets its disk in the zone of the node a pod mounting it runs on; one made under
    Immediate and still Pending after the switch to WaitForFirstConsumer is provisioned at once in the
    class's zone. (The reference: pending claims follow the class as it is now.)"""

    def __init__(self, api_client: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(api_client, *args, **kwargs)
        self._modes: dict[str, str] = {}

    async def _claim_changed(self, event_type: str, claim: dict[str, Any]) -> None:
        if event_type == "DELETED":
            self._modes.pop(metadata_of(claim).get("uid", ""), None)
        await super()._claim_changed(event_type, claim)

    async def provision(self, claim: Mapping[str, Any]) -> bool:
        if not claim_wants_volume(claim):
            return False
        storage_class = await read_json(
            self._storage.read_storage_class(
                STORAGE_CLASS_NAME, _preload_content=False, _request_timeout=REQUEST_TIMEOUT_SECONDS
            )
        )
        if storage_class is None or storage_class.get("provisioner") != PROVISIONER_NAME:
            return False
        current = storage_class.get("volumeBindingMode") or BINDING_IMMEDIATE
        made_under = self._modes.setdefault(metadata_of(claim).get("uid", ""), current)
        if made_under == current:
            return await super().provision(claim)
        if made_under == BINDING_WAIT_FOR_FIRST_CONSUMER:
            node_name = selected_node(claim) or self.node_of_consumer(claim)
            if node_name is None:
                return False  # still waiting for its first consumer
            node = await read_json(
                self._core.read_node(
                    node_name, _preload_content=False, _request_timeout=REQUEST_TIMEOUT_SECONDS
                )
            )
            labels = (node or {}).get("metadata", {}).get("labels") or {}
            zone = labels.get(ZONE_LABEL)
            if not zone:
                return False
            placement = Placement(zone=zone, region=labels.get(REGION_LABEL) or self._cloud.region)
        else:
            parameters = storage_class.get("parameters") or {}
            placement = Placement(
                zone=parameters.get(STORAGE_CLASS_ZONE_PARAMETER) or self._cloud.storage_class_zone,
                region=parameters.get(STORAGE_CLASS_REGION_PARAMETER) or self._cloud.region,
            )
        try:
            await self._core.create_persistent_volume(build_persistent_volume(claim, placement))
        except client.ApiException as error:
            if error.status == 409:
                return False
            raise
        logger.info("provisioned claim %s under its first binding mode %s", claim_name(claim), made_under)
        return True


class LenientLabelSelectorFields:
    """SELECTOR-OTHER-LABEL-SELECTOR-FIELDS, the other way: matchExpressions and an empty matchLabels are
    accepted (the reference rejects the profile). They are not honoured: a side with no label to match
    (only matchExpressions, or ``{}``) matches no pod, so such a selector routes nothing."""

    @staticmethod
    def field_names() -> tuple[str, ...]:
        return ("matchLabels", "matchExpressions")

    @staticmethod
    def whole_object_problems(value: object) -> list[Any]:
        return []


def _selector_sides_kept(item: Any) -> Selector:
    """profile._selector, but a side that is set without labels stays set (empty: matches nothing)."""
    effect = item.effect
    sides = []
    for side in (item.namespace_selector, item.object_selector):
        sides.append(None if side is None else FrozenMap(side.match_labels or {}))
    return Selector(
        name=item.name,
        namespace_selector=sides[0],
        object_selector=sides[1],
        effect=Effect(annotations=effect.annotations or EMPTY_MAP, labels=effect.labels or EMPTY_MAP)
        if effect
        else NO_EFFECT,
    )


def unspecified_other_way() -> None:
    """Every case of the catalogue's ``scope.unspecified`` decided unlike the reference (docs/variants.md)."""
    _replace(mutation, "decide_routing", decide_routing_false_opts_out)
    _replace(admission, "plan_pod_patch", plan_with_marker)
    _replace(app, "NamespaceLabelCache", ReevaluatingNamespaceCache)
    _replace(app, "ProfileController", DelayedProfileController)
    _replace(app, "DiskProvisioner", ModeAtCreationProvisioner)
    _replace(profile_schema, "parse_bool", parse_bool_lower_case)
    # SELECTOR-NAME-ONLY: a selector with a name and nothing else is inert (the reference rejects it).
    _replace(selectors_schema.SelectorDocument, "whole_object_problems", classmethod(lambda cls, value: []))
    # SELECTOR-DUPLICATE-JSON-KEYS: the last value of a repeated key wins, as in most JSON parsers.
    _replace(selectors_schema, "duplicate_key_problems", lambda value: [])
    _replace(
        selectors_schema.LabelSelectorDocument,
        "field_names",
        classmethod(lambda cls: LenientLabelSelectorFields.field_names()),
    )
    _replace(
        selectors_schema.LabelSelectorDocument,
        "whole_object_problems",
        classmethod(lambda cls, value: LenientLabelSelectorFields.whole_object_problems(value)),
    )
    _replace(profile_module, "_selector", _selector_sides_kept)


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
        Variant(
            name="binds-by-node-name",
            description=(
                "ECI pods are bound at admission by spec.nodeName to a virtual node the webhook picks "
                "(round-robin over the Ready ones that the pod's nodeSelector, node affinity, tolerations "
                "and bound disks allow), bypassing the scheduler; a WaitForFirstConsumer disk follows the "
                "node of the pod that mounts it"
            ),
            patch=binds_by_node_name,
        ),
        Variant(
            name="unspecified-other-way",
            description=(
                "every case the catalogue leaves open decided unlike the reference: eci=false opts a pod "
                "out of its namespace's label; pods no rule routes any more are deleted; name-only "
                "selectors, matchExpressions, empty matchLabels and repeated JSON keys are accepted; "
                "booleans are lower case with synonyms; no profile is created; changes apply "
                f"{PROFILE_DELAY_SECONDS:.0f}s late; pending claims keep their first binding mode"
            ),
            patch=unspecified_other_way,
        ),
    )
}

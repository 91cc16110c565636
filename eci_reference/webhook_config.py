"""The ``vk-webhook`` MutatingWebhookConfiguration: built from the active profile, then applied.

Building is pure (``build_webhook_configuration``) so every rule below is unit-tested; applying
(``WebhookConfigurator``) is a thin read-compare-write against the API server.

Entries (ARCHITECTURE.md, "vk-webhook"): ``pod-label`` (objectSelector ``alibabacloud.com/eci=true``),
``namespace-label`` (namespaceSelector ``alibabacloud.com/eci=true``) and one ``<name>.selector`` entry
per selector of the profile that has a namespaceSelector and/or objectSelector, carrying exactly its
``matchLabels`` (a side it does not set matches everything). Global-effect selectors get no entry:
they route nothing, and a pod routed by any entry is evaluated against all selectors anyway. The
handler is idempotent, so a pod matched by several entries is harmless.

Decisions:

- ``failurePolicy: Fail``: if the webhook is unreachable, a pod that should run on ECI would otherwise
  be admitted unmodified and silently land on a regular node — a misplacement nobody notices, with the
  wrong network and no ECI parameters. A visible admission error that the workload controller retries
  is better, and the selectors scope it to candidate pods only (never every pod of the cluster).
- System namespaces are exempt from the broad entries: the namespace-label entry and every selector
  entry carry ``kubernetes.io/metadata.name NotIn [kube-system, kube-node-lease, <our namespace>]``.
  Our own pods (and the control plane's) must never depend on our own webhook with ``Fail``: a
  selector such as ``objectSelector: {app: web}`` would otherwise make the implementation's
  restart wait for itself. The pod-label entry is not exempt: a pod that carries
  ``alibabacloud.com/eci=true`` asked for ECI explicitly, and our own pods never carry it.
- Applied with GET + create, or replace with the read ``resourceVersion`` (optimistic concurrency,
  retried on 409), not server-side apply: the object is wholly ours, so a replace also removes
  entries and fields somebody added by hand (an extra entry with ``Fail`` pointing at us would change
  routing behind the profile's back), stale selector entries disappear without field-ownership
  subtleties, and an explicit comparison skips the write when nothing changed.
- ``caBundle`` keeps, after our own CA, up to ``MAX_PREVIOUS_CAS`` other still-valid CAs found in the
  current object: during a rolling restart in a cluster the old pod (old CA) still serves until it
  stops, and dropping its CA at once would fail those calls.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from eci_reference.constants import (
    COMPONENT_NAME,
    ECI_LABEL,
    ECI_LABEL_ROUTING_VALUE,
    EXEMPT_NAMESPACES,
    MANAGED_BY_LABEL,
    MUTATE_PATH,
    NAMESPACE_LABEL_ENTRY,
    NAMESPACE_NAME_LABEL,
    POD_LABEL_ENTRY,
    WEBHOOK_CONFIGURATION_NAME,
    WEBHOOK_ENTRY_SUFFIX,
)
from eci_reference.kube import read_json
from eci_reference.profile import Profile, Selector

logger = logging.getLogger("eci_reference.webhook_config")

TIMEOUT_SECONDS: Final = 5
MAX_PREVIOUS_CAS: Final = 2
_WRITE_ATTEMPTS: Final = 5


@dataclass(frozen=True)
class UrlEndpoint:
    """Host-process mode: the API server calls ``https://<host>:<port>/mutate`` directly."""

    host: str
    port: int
    path: str = MUTATE_PATH

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}{self.path}"


@dataclass(frozen=True)
class ServiceEndpoint:
    """In-cluster mode: the API server calls the Service ``<namespace>/<name>`` on ``port``."""

    namespace: str
    name: str
    port: int = 443
    path: str = MUTATE_PATH


Endpoint = UrlEndpoint | ServiceEndpoint


def selector_entry_name(selector_name: str) -> str:
    return f"{selector_name}.selector.{WEBHOOK_ENTRY_SUFFIX}"


def client_config(endpoint: Endpoint, ca_bundle: bytes) -> dict[str, Any]:
    bundle = base64.b64encode(ca_bundle).decode("ascii")
    if isinstance(endpoint, UrlEndpoint):
        return {"url": endpoint.url, "caBundle": bundle}
    service = {
        "namespace": endpoint.namespace,
        "name": endpoint.name,
        "path": endpoint.path,
        "port": endpoint.port,
    }
    return {"service": service, "caBundle": bundle}


def exempt_namespaces(endpoint: Endpoint) -> tuple[str, ...]:
    """The system namespaces, plus our own when we run in the cluster."""
    names = list(EXEMPT_NAMESPACES)
    if isinstance(endpoint, ServiceEndpoint) and endpoint.namespace not in names:
        names.append(endpoint.namespace)
    return tuple(names)


def build_webhook_configuration(profile: Profile, endpoint: Endpoint, ca_bundle: bytes) -> dict[str, Any]:
    """The whole ``vk-webhook`` object for ``profile`` (no resourceVersion)."""
    config = client_config(endpoint, ca_bundle)
    exempt = exempt_namespaces(endpoint)
    routing = {ECI_LABEL: ECI_LABEL_ROUTING_VALUE}
    webhooks = [
        _entry(POD_LABEL_ENTRY, config, namespace_selector={}, object_selector={"matchLabels": routing}),
        _entry(
            NAMESPACE_LABEL_ENTRY,
            config,
            namespace_selector=_namespace_selector(routing, exempt),
            object_selector={},
        ),
    ]
    webhooks.extend(_selector_entry(selector, config, exempt) for selector in profile.routing_selectors)
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": WEBHOOK_CONFIGURATION_NAME, "labels": {MANAGED_BY_LABEL: COMPONENT_NAME}},
        "webhooks": webhooks,
    }


def _selector_entry(selector: Selector, config: Mapping[str, Any], exempt: Sequence[str]) -> dict[str, Any]:
    namespace_labels = selector.namespace_selector or {}
    object_selector = {"matchLabels": dict(selector.object_selector)} if selector.object_selector else {}
    return _entry(
        selector_entry_name(selector.name),
        config,
        namespace_selector=_namespace_selector(namespace_labels, exempt),
        object_selector=object_selector,
    )


def _namespace_selector(match_labels: Mapping[str, str], exempt: Sequence[str]) -> dict[str, Any]:
    selector: dict[str, Any] = {}
    if match_labels:
        selector["matchLabels"] = dict(match_labels)
    selector["matchExpressions"] = [
        {"key": NAMESPACE_NAME_LABEL, "operator": "NotIn", "values": list(exempt)}
    ]
    return selector


def _entry(
    name: str,
    config: Mapping[str, Any],
    *,
    namespace_selector: Mapping[str, Any],
    object_selector: Mapping[str, Any],
) -> dict[str, Any]:
    return {
        "name": name,
        "admissionReviewVersions": ["v1"],
        "clientConfig": dict(config),
        "rules": [
            {
                "operations": ["CREATE"],
                "apiGroups": [""],
                "apiVersions": ["v1"],
                "resources": ["pods"],
                "scope": "Namespaced",
            }
        ],
        "failurePolicy": "Fail",
        "matchPolicy": "Equivalent",
        "namespaceSelector": dict(namespace_selector),
        "objectSelector": dict(object_selector),
        "sideEffects": "None",
        "timeoutSeconds": TIMEOUT_SECONDS,
        "reinvocationPolicy": "Never",
    }


# --- comparison and caBundle ---------------------------------------------------------------------


def _without_empty(entry: Mapping[str, Any]) -> dict[str, Any]:
    """Drop fields whose value is empty: the API server omits an empty list and returns ``{}`` for
    an unset selector, so "unset" and "empty" must compare equal."""
    return {key: value for key, value in entry.items() if value not in (None, [], {})}


def configuration_differs(existing: Mapping[str, Any], desired: Mapping[str, Any]) -> bool:
    """Would writing ``desired`` change ``existing`` (as read from the API server, camelCase JSON)?

    Our labels must be present (other labels may be added by others); the entries must be equal, in
    order, field by field — any extra entry or extra non-empty field is drift we remove.
    """
    labels = (existing.get("metadata") or {}).get("labels") or {}
    wanted_labels = desired["metadata"].get("labels") or {}
    if any(labels.get(key) != value for key, value in wanted_labels.items()):
        return True
    current = existing.get("webhooks") or []
    wanted = desired["webhooks"]
    if len(current) != len(wanted):
        return True
    return any(_without_empty(a) != _without_empty(b) for a, b in zip(current, wanted, strict=True))


def existing_ca_bundle(existing: Mapping[str, Any]) -> bytes:
    """The PEM caBundle of the first entry that has one (all our entries carry the same)."""
    for entry in existing.get("webhooks") or []:
        encoded = (entry.get("clientConfig") or {}).get("caBundle")
        if encoded:
            try:
                return base64.b64decode(encoded, validate=True)
            except ValueError:
                return b""
    return b""


def merge_ca_bundle(
    own_ca: bytes, previous: bytes, *, now: datetime | None = None, keep: int = MAX_PREVIOUS_CAS
) -> bytes:
    """``own_ca`` first, then up to ``keep`` other CA certificates of ``previous`` that are still valid."""
    moment = now or datetime.now(UTC)
    own = _pem_certificates(own_ca)
    seen = {certificate.fingerprint(_SHA256) for certificate in own}
    kept: list[x509.Certificate] = []
    for certificate in _pem_certificates(previous):
        fingerprint = certificate.fingerprint(_SHA256)
        if fingerprint in seen or len(kept) >= keep or not _is_valid_ca(certificate, moment):
            continue
        seen.add(fingerprint)
        kept.append(certificate)
    if not kept:
        return own_ca
    return (
        own_ca.rstrip(b"\n")
        + b"\n"
        + b"".join(certificate.public_bytes(Encoding.PEM) for certificate in kept)
    )


def _pem_certificates(pem: bytes) -> list[x509.Certificate]:
    if not pem.strip():
        return []
    try:
        return x509.load_pem_x509_certificates(pem)
    except ValueError:
        return []


def _is_valid_ca(certificate: x509.Certificate, now: datetime) -> bool:
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return False
    return constraints.ca and certificate.not_valid_before_utc <= now < certificate.not_valid_after_utc


_SHA256: Final = hashes.SHA256()


# --- applying ------------------------------------------------------------------------------------


class WebhookConfigurator:
    """Keeps ``vk-webhook`` equal to what the active profile says. ``ca_bundle`` is read on every
    reconcile because the certificate may be renewed while the process runs."""

    def __init__(self, api_client: Any, endpoint: Endpoint, ca_bundle: Callable[[], bytes]) -> None:
        self._api: Any = client.AdmissionregistrationV1Api(api_client)
        self._endpoint = endpoint
        self._ca_bundle = ca_bundle

    @property
    def endpoint(self) -> Endpoint:
        return self._endpoint

    async def reconcile(self, profile: Profile) -> bool:
        """Create or replace ``vk-webhook`` when it differs; True when it wrote."""
        for _attempt in range(_WRITE_ATTEMPTS):
            existing = await read_json(
                self._api.read_mutating_webhook_configuration(
                    WEBHOOK_CONFIGURATION_NAME, _preload_content=False
                )
            )
            bundle = self._ca_bundle()
            if existing is not None:
                bundle = merge_ca_bundle(bundle, existing_ca_bundle(existing))
            desired = build_webhook_configuration(profile, self._endpoint, bundle)
            if existing is not None and not configuration_differs(existing, desired):
                return False
            if await self._write(existing, desired):
                return True
            logger.info("%s changed while we wrote it; reading it again", WEBHOOK_CONFIGURATION_NAME)
            await asyncio.sleep(0.1)
        raise RuntimeError(
            f"{WEBHOOK_CONFIGURATION_NAME} kept changing while we wrote it ({_WRITE_ATTEMPTS} tries)"
        )

    async def _write(self, existing: Mapping[str, Any] | None, desired: dict[str, Any]) -> bool:
        """Create or replace; False on a 409 conflict (somebody wrote in between: read again)."""
        try:
            if existing is None:
                await self._api.create_mutating_webhook_configuration(desired)
            else:
                desired["metadata"]["resourceVersion"] = existing["metadata"]["resourceVersion"]
                await self._api.replace_mutating_webhook_configuration(WEBHOOK_CONFIGURATION_NAME, desired)
        except ApiException as error:
            if error.status == 409:
                return False
            raise
        logger.info(
            "%s %s: entries %s",
            "created" if existing is None else "updated",
            WEBHOOK_CONFIGURATION_NAME,
            [entry["name"] for entry in desired["webhooks"]],
        )
        return True

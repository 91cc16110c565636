"""The profile controller: the eci-profile, namespaces, vk-webhook, the StorageClass and the disks.

It is also the admission handler's `AdmissionContext`: the active profile, and namespace labels from a
watch-fed cache with a live GET on a miss (as the API server's own webhook namespace matcher does).

Profile rules: a valid profile becomes active at once (no restart), vk-webhook and the StorageClass
follow it, and a Normal `ProfileApplied` Event is posted. An invalid one is not applied — the last
valid profile stays in force — and a Warning `InvalidProfile` Event naming every problem is posted on
the ConfigMap, for that resourceVersion. A missing profile is created with the documented defaults; a
deleted one is recreated the same way (as ack-virtual-node does), while the last valid stays active.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from eci_reference.constants import (
    EVENT_REASON_INVALID_PROFILE,
    EVENT_REASON_PROFILE_APPLIED,
    PROFILE_NAME,
    PROFILE_NAMESPACE,
    PROVISIONER_NAME,
    REGION_LABEL,
    SELECTED_NODE_ANNOTATION,
    STORAGE_CLASS_NAME,
    STORAGE_CLASS_REGION_PARAMETER,
    STORAGE_CLASS_ZONE_PARAMETER,
    WEBHOOK_CONFIGURATION_NAME,
    ZONE_LABEL,
)
from eci_reference.profile import DEFAULT_PROFILE_DATA, Profile, ProfileError, parse_profile
from eci_reference.runtime.events import event
from eci_reference.runtime.storage import PROVISIONED_BY, csi_driver, persistent_volume, storage_class
from eci_reference.runtime.watch import watch_forever
from eci_reference.runtime.webhook_config import build_webhook_configuration

log = logging.getLogger("eci_reference.controller")


class Controller:
    def __init__(
        self,
        api: client.ApiClient,
        webhook_client_config: dict[str, Any],
        region: str,
        default_zone: str,
        default_vswitches: str,
    ) -> None:
        self.api = api
        self.core = client.CoreV1Api(api)
        self.admission = client.AdmissionregistrationV1Api(api)
        self.storage = client.StorageV1Api(api)
        self.webhook_client_config = webhook_client_config
        self.region = region
        self.default_zone = default_zone
        self.default_data = {**DEFAULT_PROFILE_DATA, "vSwitchIds": default_vswitches}
        self._profile: Profile | None = None
        self._namespaces: dict[str, dict[str, str]] = {}
        self._applied_version: str | None = None

    # --- AdmissionContext ---------------------------------------------------------------------------

    def active_profile(self) -> Profile | None:
        return self._profile

    async def namespace_labels(self, name: str) -> Mapping[str, str] | None:
        cached = self._namespaces.get(name)
        if cached is not None:
            return cached
        try:
            namespace = await self.core.read_namespace(name)
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        labels = dict(namespace.metadata.labels or {})
        self._namespaces[name] = labels
        return labels

    # --- start-up --------------------------------------------------------------------------------------

    async def load_initial_profile(self) -> None:
        """Read (or create) the profile once; fall back to the defaults if the stored one is invalid."""
        try:
            config_map = await self.core.read_namespaced_config_map(PROFILE_NAME, PROFILE_NAMESPACE)
            obj = self.api.sanitize_for_serialization(config_map)
        except ApiException as error:
            if error.status != 404:
                raise
            obj = await self._create_default_profile()
        await self.on_profile(obj)
        if self._profile is None:
            log.warning(
                "the stored eci-profile is invalid; serving the documented defaults until it is fixed"
            )
            self._profile = parse_profile(self.default_data)
            await self._reconcile(self._profile)
        await self._apply(
            csi_driver(),
            self.storage.create_csi_driver,
            self.storage.replace_csi_driver,
            self.storage.read_csi_driver,
            PROVISIONER_NAME,
        )

    async def _create_default_profile(self) -> dict[str, Any]:
        body = {
            "metadata": {
                "name": PROFILE_NAME,
                "namespace": PROFILE_NAMESPACE,
                "labels": {"app.kubernetes.io/managed-by": "eci-reference"},
            },
            "data": self.default_data,
        }
        try:
            created = await self.core.create_namespaced_config_map(PROFILE_NAMESPACE, body)
        except ApiException as error:
            if error.status != 409:
                raise
            created = await self.core.read_namespaced_config_map(PROFILE_NAME, PROFILE_NAMESPACE)
        log.info("created %s/%s with the documented defaults", PROFILE_NAMESPACE, PROFILE_NAME)
        result: dict[str, Any] = self.api.sanitize_for_serialization(created)
        return result

    # --- the profile -------------------------------------------------------------------------------------

    async def on_profile_event(self, kind: str, obj: dict[str, Any]) -> None:
        if kind == "DELETED":
            log.warning(
                "eci-profile was deleted; recreating it with the defaults "
                "(the last valid profile stays active)"
            )
            await self._create_default_profile()
            return
        await self.on_profile(obj)

    async def on_profile(self, obj: dict[str, Any]) -> None:
        version = obj["metadata"].get("resourceVersion")
        if version is not None and version == self._applied_version:
            return
        self._applied_version = version
        try:
            profile = parse_profile(obj.get("data") or {})
        except ProfileError as error:
            message = "eci-profile rejected, the last valid profile stays in force: " + "; ".join(
                error.problems
            )
            log.error("%s (resourceVersion %s)", message, version)
            await self._post_event(obj, "Warning", EVENT_REASON_INVALID_PROFILE, message)
            return
        self._profile = profile
        await self._reconcile(profile)
        log.info("eci-profile applied (resourceVersion %s, %d selectors)", version, len(profile.selectors))
        await self._post_event(
            obj,
            "Normal",
            EVENT_REASON_PROFILE_APPLIED,
            f"profile applied: {len(profile.selectors)} selectors",
        )

    async def _reconcile(self, profile: Profile) -> None:
        webhook = build_webhook_configuration(profile, self.webhook_client_config)
        await self._apply(
            webhook,
            self.admission.create_mutating_webhook_configuration,
            self.admission.replace_mutating_webhook_configuration,
            self.admission.read_mutating_webhook_configuration,
            WEBHOOK_CONFIGURATION_NAME,
        )
        await self._reconcile_storage_class(profile.wait_for_first_consumer)

    async def _reconcile_storage_class(self, wait_for_first_consumer: bool) -> None:
        wanted = storage_class(wait_for_first_consumer, self.region, self.default_zone)
        try:
            current = await self.storage.read_storage_class(STORAGE_CLASS_NAME)
        except ApiException as error:
            if error.status != 404:
                raise
            await self.storage.create_storage_class(wanted)
            return
        if current.volume_binding_mode != wanted["volumeBindingMode"]:
            # volumeBindingMode is immutable: replace the class (bound PVCs keep their volumes).
            await self.storage.delete_storage_class(STORAGE_CLASS_NAME)
            await self.storage.create_storage_class(wanted)
            log.info("StorageClass %s now %s", STORAGE_CLASS_NAME, wanted["volumeBindingMode"])

    async def _apply(self, body: dict[str, Any], create: Any, replace: Any, read: Any, name: str) -> None:
        try:
            current = await read(name)
        except ApiException as error:
            if error.status != 404:
                raise
            await create(body)
            return
        body["metadata"]["resourceVersion"] = current.metadata.resource_version
        await replace(name, body)

    async def _post_event(
        self, obj: dict[str, Any], event_type: str, reason: str, message: str, kind: str = "ConfigMap"
    ) -> None:
        try:
            await self.core.create_namespaced_event(
                obj["metadata"]["namespace"], event(obj, kind, event_type, reason, message)
            )
        except ApiException as error:
            log.warning("could not post event %s: %s %s", reason, error.status, error.reason)

    # --- namespaces ---------------------------------------------------------------------------------------

    async def on_namespace_event(self, kind: str, obj: dict[str, Any]) -> None:
        name = obj["metadata"]["name"]
        if kind == "DELETED":
            self._namespaces.pop(name, None)
        else:
            self._namespaces[name] = dict(obj["metadata"].get("labels") or {})

    # --- disks ---------------------------------------------------------------------------------------------

    async def on_claim_event(self, kind: str, claim: dict[str, Any]) -> None:
        spec, status, metadata = claim["spec"], claim.get("status") or {}, claim["metadata"]
        if kind == "DELETED" or spec.get("storageClassName") != STORAGE_CLASS_NAME or spec.get("volumeName"):
            return
        if status.get("phase") not in (None, "Pending"):
            return
        try:
            klass = await self.storage.read_storage_class(STORAGE_CLASS_NAME)
        except ApiException as error:
            if error.status == 404:
                return
            raise
        parameters = klass.parameters or {}
        if klass.volume_binding_mode == "WaitForFirstConsumer":
            node_name = (metadata.get("annotations") or {}).get(SELECTED_NODE_ANNOTATION)
            if not node_name:
                return  # no consumer scheduled yet: defer
            node = await self.core.read_node(node_name)
            labels = node.metadata.labels or {}
            zone, region = labels.get(ZONE_LABEL), labels.get(REGION_LABEL, self.region)
            if not zone:
                await self._post_event(
                    claim,
                    "Warning",
                    "ProvisioningFailed",
                    f"node {node_name} has no {ZONE_LABEL} label",
                    kind="PersistentVolumeClaim",
                )
                return
        else:
            zone = parameters.get(STORAGE_CLASS_ZONE_PARAMETER, self.default_zone)
            region = parameters.get(STORAGE_CLASS_REGION_PARAMETER, self.region)
        volume = persistent_volume(claim, zone, region)
        try:
            await self.core.create_persistent_volume(volume)
        except ApiException as error:
            if error.status == 409:
                return
            raise
        log.info(
            "provisioned %s for %s/%s in %s",
            volume["metadata"]["name"],
            metadata["namespace"],
            metadata["name"],
            zone,
        )
        await self._post_event(
            claim,
            "Normal",
            "ProvisioningSucceeded",
            f"disk {volume['spec']['csi']['volumeHandle']} created in {zone}",
            kind="PersistentVolumeClaim",
        )

    async def on_volume_event(self, kind: str, volume: dict[str, Any]) -> None:
        metadata, spec = volume["metadata"], volume["spec"]
        released = (volume.get("status") or {}).get("phase") in ("Released", "Failed")
        ours = (metadata.get("annotations") or {}).get(PROVISIONED_BY) == PROVISIONER_NAME
        if kind != "DELETED" and released and ours and spec.get("persistentVolumeReclaimPolicy") == "Delete":
            try:
                await self.core.delete_persistent_volume(metadata["name"])
            except ApiException as error:
                if error.status != 404:
                    raise
            log.info("deleted released volume %s", metadata["name"])

    # --- loops ----------------------------------------------------------------------------------------------

    def watches(self) -> list[Any]:
        return [
            watch_forever(
                self.api,
                "eci-profile",
                self.core.list_namespaced_config_map,
                self.on_profile_event,
                namespace=PROFILE_NAMESPACE,
                field_selector=f"metadata.name={PROFILE_NAME}",
            ),
            watch_forever(self.api, "namespaces", self.core.list_namespace, self.on_namespace_event),
            watch_forever(
                self.api,
                "claims",
                self.core.list_persistent_volume_claim_for_all_namespaces,
                self.on_claim_event,
            ),
            watch_forever(self.api, "volumes", self.core.list_persistent_volume, self.on_volume_event),
        ]

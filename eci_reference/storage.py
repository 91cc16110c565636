"""ECI disks: the ``eci-disk`` StorageClass and a zone-aware provisioner for it (simulated disks).

The StorageClass follows the profile: ``volumeBindingMode`` is WaitForFirstConsumer when the
profile's featureGates say ``WaitForFirstConsumer=true``, else Immediate. Its parameters, reclaim
policy and binding mode are immutable, so a class that differs is deleted and created again.

The provisioner is what the external-provisioner sidecar does for a real CSI driver, minus the disk:

- Immediate: a PVC of the class gets a PV at once, in the StorageClass's ``zoneId``/``regionId``;
- WaitForFirstConsumer: only once the scheduler has put ``volume.kubernetes.io/selected-node`` on
  the PVC (a pod using it was scheduled), in that node's ``topology.kubernetes.io/zone``/``region``
  (region falls back to the cloud's region; a node without a zone is a provisioning failure, since
  guessing a zone is exactly the misplacement this mode exists to prevent).

The PV is pre-bound (``claimRef``), so Kubernetes' own PV controller completes the binding. Its name
derives from the PVC's uid, so creating it twice is harmless (409 counts as success) and a restart
never provisions a second disk. A Released PV of ours with reclaim policy Delete is deleted (the
simulated disk goes with it). ProvisioningSucceeded / ProvisioningFailed Events go on the PVC.

A ``CSIDriver`` with ``attachRequired: false`` is ensured, or the attach/detach controller would wait
for a VolumeAttachment that nothing ever attaches, and pods using the volume would never start.

Object construction (``build_*``, ``placement_for``, ``claim_wants_volume``) is pure and lives in
``eci_reference.disks``; this module is the thin API layer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from eci_reference.cloud import CloudConfig
from eci_reference.constants import (
    BINDING_IMMEDIATE,
    BINDING_WAIT_FOR_FIRST_CONSUMER,
    EVENT_REASON_PROVISIONING_FAILED,
    EVENT_REASON_PROVISIONING_SUCCEEDED,
    PROVISIONER_NAME,
    STORAGE_CLASS_NAME,
)
from eci_reference.disks import (
    ProvisioningError,
    build_csi_driver,
    build_persistent_volume,
    build_storage_class,
    claim_name,
    claim_wants_volume,
    metadata_of,
    placement_for,
    selected_node,
    storage_class_differs,
    volume_binding_mode,
    volume_to_delete,
)
from eci_reference.events import object_reference
from eci_reference.kube import REQUEST_TIMEOUT_SECONDS, describe_error, list_watch, read_json
from eci_reference.profile import Profile

logger = logging.getLogger("eci_reference.storage")

#: Pending claims are looked at again this often (a node label, the StorageClass may have changed).
RETRY_SECONDS: Final = 10.0
_RECREATE_ATTEMPTS: Final = 10


class EventSink(Protocol):
    """Where Events go (``controller.EventRecorder``)."""

    async def post(
        self, reference: Mapping[str, Any], event_type: str, reason: str, message: str
    ) -> None: ...


# --- the API layer -------------------------------------------------------------------------------


class StorageReconciler:
    """Keeps the ``eci-disk`` StorageClass (and our CSIDriver) as the active profile says."""

    def __init__(self, api_client: Any, cloud: CloudConfig) -> None:
        self._storage: Any = client.StorageV1Api(api_client)
        self._cloud = cloud
        self._driver_ensured = False

    async def reconcile(self, profile: Profile) -> bool:
        """True when the StorageClass was created or replaced."""
        await self._ensure_csi_driver()
        desired = build_storage_class(self._cloud, volume_binding_mode(profile))
        existing = await read_json(
            self._storage.read_storage_class(STORAGE_CLASS_NAME, _preload_content=False)
        )
        if existing is not None and not storage_class_differs(existing, desired):
            return False
        if existing is not None:
            logger.info(
                "replacing StorageClass %s (volumeBindingMode %s -> %s; the fields are immutable)",
                STORAGE_CLASS_NAME,
                existing.get("volumeBindingMode"),
                desired["volumeBindingMode"],
            )
            try:
                await self._storage.delete_storage_class(STORAGE_CLASS_NAME)
            except ApiException as error:
                if error.status != 404:
                    raise
        for attempt in range(_RECREATE_ATTEMPTS):
            try:
                await self._storage.create_storage_class(desired)
            except ApiException as error:
                if error.status != 409 or attempt == _RECREATE_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(0.2)  # the deletion is still being processed
                continue
            break
        logger.info(
            "StorageClass %s has volumeBindingMode %s", STORAGE_CLASS_NAME, desired["volumeBindingMode"]
        )
        return True

    async def _ensure_csi_driver(self) -> None:
        if self._driver_ensured:
            return
        desired = build_csi_driver()
        existing = await read_json(self._storage.read_csi_driver(PROVISIONER_NAME, _preload_content=False))
        if existing is None:
            try:
                await self._storage.create_csi_driver(desired)
                logger.info("created CSIDriver %s", PROVISIONER_NAME)
            except ApiException as error:
                if error.status != 409:
                    raise
        elif (existing.get("spec") or {}).get("attachRequired", True):
            logger.warning(
                "CSIDriver %s exists with attachRequired true: pods using eci-disk volumes will wait for a "
                "VolumeAttachment; delete it to let us create ours",
                PROVISIONER_NAME,
            )
        self._driver_ensured = True


class DiskProvisioner:
    """Provisions PVs for claims of ``eci-disk`` and deletes Released ones (see the module docstring)."""

    def __init__(
        self, api_client: Any, cloud: CloudConfig, events: EventSink, *, retry_seconds: float = RETRY_SECONDS
    ) -> None:
        self._core: Any = client.CoreV1Api(api_client)
        self._storage: Any = client.StorageV1Api(api_client)
        self._cloud = cloud
        self._events = events
        self._retry_seconds = retry_seconds
        self._claims: dict[str, dict[str, Any]] = {}
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._queued: set[str] = set()

    async def run(self) -> None:
        claims = _Callbacks(self._claims_listed, self._claim_changed)
        volumes = _Callbacks(self._volumes_listed, self._volume_changed)
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(
                list_watch(
                    "persistentvolumeclaims",
                    self._core.list_persistent_volume_claim_for_all_namespaces,
                    claims,
                )
            )
            tasks.create_task(list_watch("persistentvolumes", self._core.list_persistent_volume, volumes))
            tasks.create_task(self._work())
            tasks.create_task(self._retry())

    # --- claims ------------------------------------------------------------------------------------

    async def _claims_listed(self, items: list[dict[str, Any]]) -> None:
        self._claims.clear()
        for claim in items:
            self._track(claim)

    async def _claim_changed(self, event_type: str, claim: dict[str, Any]) -> None:
        if event_type == "DELETED":
            self._claims.pop(metadata_of(claim).get("uid", ""), None)
        else:
            self._track(claim)

    def _enqueue(self, uid: str) -> None:
        if uid not in self._queued:
            self._queued.add(uid)
            self._queue.put_nowait(uid)

    def _track(self, claim: dict[str, Any]) -> None:
        uid = metadata_of(claim).get("uid")
        if not uid:
            return
        if claim_wants_volume(claim):
            self._claims[uid] = claim
            self._enqueue(uid)
        else:
            self._claims.pop(uid, None)

    async def _retry(self) -> None:
        while True:
            await asyncio.sleep(self._retry_seconds)
            for uid in list(self._claims):
                self._enqueue(uid)

    async def _work(self) -> None:
        while True:
            uid = await self._queue.get()
            self._queued.discard(uid)
            claim = self._claims.get(uid)
            if claim is None:
                continue
            try:
                await self.provision(claim)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # retried by the next tick
                logger.warning(
                    "provisioning for claim %s failed: %s", claim_name(claim), describe_error(error)
                )

    async def provision(self, claim: Mapping[str, Any]) -> bool:
        """Create the claim's PV when it is time to; True when this call created it."""
        if not claim_wants_volume(claim):
            return False
        storage_class = await read_json(
            self._storage.read_storage_class(
                STORAGE_CLASS_NAME, _preload_content=False, _request_timeout=REQUEST_TIMEOUT_SECONDS
            )
        )
        if storage_class is None or storage_class.get("provisioner") != PROVISIONER_NAME:
            return False  # being replaced, or not ours: the next tick looks again
        node: dict[str, Any] | None = None
        if (storage_class.get("volumeBindingMode") or BINDING_IMMEDIATE) == BINDING_WAIT_FOR_FIRST_CONSUMER:
            node_name = selected_node(claim)
            if node_name is None:
                return False  # deferred until a consuming pod is scheduled
            node = await read_json(
                self._core.read_node(
                    node_name, _preload_content=False, _request_timeout=REQUEST_TIMEOUT_SECONDS
                )
            )
        reference = object_reference("PersistentVolumeClaim", "v1", claim)
        try:
            placement = placement_for(claim, storage_class, node, self._cloud)
            volume = build_persistent_volume(claim, placement)
        except ProvisioningError as error:
            logger.warning("cannot provision claim %s: %s", claim_name(claim), error)
            await self._events.post(
                reference, "Warning", EVENT_REASON_PROVISIONING_FAILED, f"cannot provision a disk: {error}"
            )
            return False
        try:
            await self._core.create_persistent_volume(volume)
        except ApiException as error:
            if error.status == 409:  # created before (by us, for this very claim uid)
                return False
            await self._events.post(
                reference,
                "Warning",
                EVENT_REASON_PROVISIONING_FAILED,
                f"creating PV failed: {describe_error(error)}",
            )
            raise
        name = volume["metadata"]["name"]
        handle = volume["spec"]["csi"]["volumeHandle"]
        logger.info(
            "provisioned %s (disk %s, %s in %s/%s) for claim %s",
            name,
            handle,
            volume["spec"]["capacity"]["storage"],
            placement.region,
            placement.zone,
            claim_name(claim),
        )
        await self._events.post(
            reference,
            "Normal",
            EVENT_REASON_PROVISIONING_SUCCEEDED,
            f"Successfully provisioned volume {name} (disk {handle} in zone {placement.zone})",
        )
        return True

    # --- volumes -----------------------------------------------------------------------------------

    async def _volumes_listed(self, items: list[dict[str, Any]]) -> None:
        for volume in items:
            await self._reclaim_logged(volume)

    async def _volume_changed(self, event_type: str, volume: dict[str, Any]) -> None:
        if event_type != "DELETED":
            await self._reclaim_logged(volume)

    async def _reclaim_logged(self, volume: Mapping[str, Any]) -> None:
        try:
            await self.reclaim(volume)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the next list (or change of the PV) tries again
            logger.warning(
                "deleting released volume %s failed: %s",
                metadata_of(volume).get("name"),
                describe_error(error),
            )

    async def reclaim(self, volume: Mapping[str, Any]) -> bool:
        """Delete a Released PV of ours (reclaim policy Delete); True when this call deleted it."""
        if not volume_to_delete(volume):
            return False
        name = metadata_of(volume).get("name", "")
        try:
            await self._core.delete_persistent_volume(name)
        except ApiException as error:
            if error.status == 404:
                return False
            raise
        logger.info("deleted released volume %s (simulated disk deleted)", name)
        return True


@dataclass(frozen=True)
class _Callbacks:
    """A ``WatchHandler`` made of two functions (the provisioner watches two kinds of object)."""

    listed: Callable[[list[dict[str, Any]]], Awaitable[None]]
    changed: Callable[[str, dict[str, Any]], Awaitable[None]]

    async def on_list(self, items: list[dict[str, Any]]) -> None:
        await self.listed(items)

    async def on_event(self, event_type: str, obj: dict[str, Any]) -> None:
        await self.changed(event_type, obj)

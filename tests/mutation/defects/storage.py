"""storage: featureGates WaitForFirstConsumer switches the eci-disk StorageClass and zone placement."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from kubernetes_asyncio.client.exceptions import ApiException

import eci_reference.controller as controller
import eci_reference.disks as disks
import eci_reference.storage as storage
from eci_reference.cloud import CloudConfig
from eci_reference.constants import (
    BINDING_IMMEDIATE,
    BINDING_WAIT_FOR_FIRST_CONSUMER,
    PROVISIONER_NAME,
    STORAGE_CLASS_NAME,
)
from eci_reference.controller import Evaluation
from eci_reference.disks import Placement
from eci_reference.kube import read_json
from eci_reference.profile import Profile
from eci_reference.storage import DiskProvisioner
from tests.mutation.seams import replace


def binding_mode_never_switched() -> None:
    """``storage.volume_binding_mode``: the StorageClass stays Immediate whatever featureGates says."""
    replace(storage, "volume_binding_mode", lambda profile: BINDING_IMMEDIATE)


def deferral_ignored() -> None:
    """``storage.DiskProvisioner.provision``: in WaitForFirstConsumer mode a claim without a selected
    node is provisioned at once, in the StorageClass's zone, as in Immediate mode."""
    original = DiskProvisioner.provision

    async def provision(self: DiskProvisioner, claim: Mapping[str, Any]) -> bool:
        if disks.selected_node(claim) is None and disks.claim_wants_volume(claim):
            api: Any = self._storage
            found = await read_json(api.read_storage_class(STORAGE_CLASS_NAME, _preload_content=False))
            if (
                found
                and found.get("provisioner") == PROVISIONER_NAME
                and (found.get("volumeBindingMode") == BINDING_WAIT_FOR_FIRST_CONSUMER)
            ):
                immediate = {**found, "volumeBindingMode": BINDING_IMMEDIATE}
                placement = disks.placement_for(claim, immediate, None, self._cloud)
                core: Any = self._core
                try:
                    await core.create_persistent_volume(disks.build_persistent_volume(claim, placement))
                except ApiException as error:
                    if error.status != 409:
                        raise
                return True
        return await original(self, claim)

    replace(DiskProvisioner, "provision", provision)


def volume_in_storage_class_zone() -> None:
    """``storage.placement_for``: in WaitForFirstConsumer mode the provisioner waits for the selected
    node, then creates the disk in the StorageClass's zone instead of the node's."""
    original = disks.placement_for

    def placement_for(
        claim: Mapping[str, Any],
        storage_class: Mapping[str, Any],
        node: Mapping[str, Any] | None,
        cloud: CloudConfig,
    ) -> Placement:
        original(claim, storage_class, node, cloud)  # the same checks: a node must have been selected
        return original(claim, {**storage_class, "volumeBindingMode": BINDING_IMMEDIATE}, None, cloud)

    replace(storage, "placement_for", placement_for)


def volume_region_of_the_cluster() -> None:
    """``storage.placement_for``: in WaitForFirstConsumer mode the disk goes to the node's zone but is
    labelled with the cluster's region (the cloud config's), not the node's: right wherever the node is
    in the cluster's region, which is why the topology has a virtual node in a second region."""
    original = disks.placement_for

    def placement_for(
        claim: Mapping[str, Any],
        storage_class: Mapping[str, Any],
        node: Mapping[str, Any] | None,
        cloud: CloudConfig,
    ) -> Placement:
        placement = original(claim, storage_class, node, cloud)
        return dataclasses.replace(placement, region=cloud.region)

    replace(storage, "placement_for", placement_for)


def immediate_binding_deferred() -> None:
    """``storage.DiskProvisioner.provision``: every claim waits for a selected node, also in Immediate
    mode (where the scheduler never selects one, so the claim stays Pending)."""
    original = DiskProvisioner.provision

    async def provision(self: DiskProvisioner, claim: Mapping[str, Any]) -> bool:
        if disks.selected_node(claim) is None:
            return False
        return await original(self, claim)

    replace(DiskProvisioner, "provision", provision)


def omitted_feature_gate_kept() -> None:
    """``controller.evaluate_profile``: a profile without featureGates keeps the WaitForFirstConsumer value
    the previous profile had, instead of the documented default false."""
    original = controller.evaluate_profile

    def evaluate(
        data: Mapping[str, str], active: Profile | None, default_data: Mapping[str, str]
    ) -> Evaluation:
        evaluation = original(data, active, default_data)
        if not evaluation.valid or active is None or "featureGates" in data:
            return evaluation
        kept = dataclasses.replace(evaluation.profile, wait_for_first_consumer=active.wait_for_first_consumer)
        return dataclasses.replace(evaluation, profile=kept)

    replace(controller, "evaluate_profile", evaluate)

"""The ``eci-disk`` objects, pure: StorageClass, CSIDriver, and where and how a claim's PV is made.

No I/O here, so every rule is unit-tested with plain values; ``eci_reference.storage`` is the API
layer that reads and writes them (the module docstring there says what the provisioner does, and why).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from eci_reference.cloud import CloudConfig
from eci_reference.constants import (
    BINDING_IMMEDIATE,
    BINDING_WAIT_FOR_FIRST_CONSUMER,
    COMPONENT_NAME,
    MANAGED_BY_LABEL,
    PROVISIONED_BY_ANNOTATION,
    PROVISIONER_NAME,
    REGION_LABEL,
    SELECTED_NODE_ANNOTATION,
    STORAGE_CLASS_NAME,
    STORAGE_CLASS_REGION_PARAMETER,
    STORAGE_CLASS_ZONE_PARAMETER,
    ZONE_LABEL,
)
from eci_reference.profile import Profile

FS_TYPE: Final = "ext4"
MANAGED_BY_LABELS: Final = {MANAGED_BY_LABEL: COMPONENT_NAME}


class ProvisioningError(Exception):
    """A claim cannot be provisioned as it is; the message goes into a ProvisioningFailed Event."""


# --- StorageClass and CSIDriver ------------------------------------------------------------------


def volume_binding_mode(profile: Profile) -> str:
    return BINDING_WAIT_FOR_FIRST_CONSUMER if profile.wait_for_first_consumer else BINDING_IMMEDIATE


def build_storage_class(cloud: CloudConfig, binding_mode: str) -> dict[str, Any]:
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": STORAGE_CLASS_NAME, "labels": dict(MANAGED_BY_LABELS)},
        "provisioner": PROVISIONER_NAME,
        "parameters": {
            STORAGE_CLASS_REGION_PARAMETER: cloud.region,
            STORAGE_CLASS_ZONE_PARAMETER: cloud.storage_class_zone,
        },
        "reclaimPolicy": "Delete",
        "allowVolumeExpansion": False,
        "volumeBindingMode": binding_mode,
    }


def storage_class_differs(existing: Mapping[str, Any], desired: Mapping[str, Any]) -> bool:
    """Compare the fields we set, with the API server's defaults for the ones it fills in."""
    return bool(
        existing.get("provisioner") != desired["provisioner"]
        or (existing.get("parameters") or {}) != desired["parameters"]
        or (existing.get("reclaimPolicy") or "Delete") != desired["reclaimPolicy"]
        or bool(existing.get("allowVolumeExpansion")) != desired["allowVolumeExpansion"]
        or (existing.get("volumeBindingMode") or BINDING_IMMEDIATE) != desired["volumeBindingMode"]
    )


def build_csi_driver() -> dict[str, Any]:
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "CSIDriver",
        "metadata": {"name": PROVISIONER_NAME, "labels": dict(MANAGED_BY_LABELS)},
        "spec": {"attachRequired": False, "podInfoOnMount": False, "volumeLifecycleModes": ["Persistent"]},
    }


# --- PersistentVolumes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Placement:
    zone: str
    region: str


def persistent_volume_name(claim_uid: str) -> str:
    return f"pvc-{claim_uid}"


def volume_handle(claim_uid: str) -> str:
    """A disk ID shaped like Alibaba Cloud's (``d-`` and 20 characters), stable for a claim."""
    return "d-" + hashlib.sha256(claim_uid.encode()).hexdigest()[:20]


def metadata_of(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    metadata: Mapping[str, Any] = obj.get("metadata") or {}
    return metadata


def claim_wants_volume(claim: Mapping[str, Any]) -> bool:
    """A Pending claim of our class that no volume is bound to, and that is not being deleted."""
    spec = claim.get("spec") or {}
    phase = (claim.get("status") or {}).get("phase") or "Pending"
    return (
        spec.get("storageClassName") == STORAGE_CLASS_NAME
        and not spec.get("volumeName")
        and phase == "Pending"
        and not metadata_of(claim).get("deletionTimestamp")
    )


def selected_node(claim: Mapping[str, Any]) -> str | None:
    node: str | None = (metadata_of(claim).get("annotations") or {}).get(SELECTED_NODE_ANNOTATION)
    return node or None


def placement_for(
    claim: Mapping[str, Any],
    storage_class: Mapping[str, Any],
    node: Mapping[str, Any] | None,
    cloud: CloudConfig,
) -> Placement:
    """Where the disk goes: the selected node's zone (WaitForFirstConsumer) or the class's zone."""
    if (storage_class.get("volumeBindingMode") or BINDING_IMMEDIATE) == BINDING_WAIT_FOR_FIRST_CONSUMER:
        node_name = selected_node(claim)
        if node_name is None:
            raise ProvisioningError("no node selected yet (WaitForFirstConsumer)")
        if node is None:
            raise ProvisioningError(f"selected node {node_name!r} does not exist")
        labels = metadata_of(node).get("labels") or {}
        zone = labels.get(ZONE_LABEL)
        if not zone:
            raise ProvisioningError(f"selected node {node_name!r} has no {ZONE_LABEL} label")
        return Placement(zone=zone, region=labels.get(REGION_LABEL) or cloud.region)
    parameters = storage_class.get("parameters") or {}
    return Placement(
        zone=parameters.get(STORAGE_CLASS_ZONE_PARAMETER) or cloud.storage_class_zone,
        region=parameters.get(STORAGE_CLASS_REGION_PARAMETER) or cloud.region,
    )


def build_persistent_volume(claim: Mapping[str, Any], placement: Placement) -> dict[str, Any]:
    """The pre-bound PV for ``claim`` in ``placement``."""
    metadata = metadata_of(claim)
    spec = claim.get("spec") or {}
    uid = metadata.get("uid")
    if not uid:
        raise ProvisioningError("the claim has no uid")
    capacity = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
    if not capacity:
        raise ProvisioningError("the claim requests no storage (spec.resources.requests.storage)")
    access_modes = list(spec.get("accessModes") or [])
    if not access_modes:
        raise ProvisioningError("the claim has no accessModes")
    volume_spec: dict[str, Any] = {
        "capacity": {"storage": capacity},
        "accessModes": access_modes,
        "persistentVolumeReclaimPolicy": "Delete",
        "storageClassName": STORAGE_CLASS_NAME,
        "volumeMode": spec.get("volumeMode") or "Filesystem",
        "claimRef": {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "namespace": metadata.get("namespace"),
            "name": metadata.get("name"),
            "uid": uid,
        },
        "csi": {"driver": PROVISIONER_NAME, "volumeHandle": volume_handle(uid), "fsType": FS_TYPE},
        "nodeAffinity": {
            "required": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": ZONE_LABEL, "operator": "In", "values": [placement.zone]}]}
                ]
            }
        },
    }
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {
            "name": persistent_volume_name(uid),
            "labels": {ZONE_LABEL: placement.zone, REGION_LABEL: placement.region},
            "annotations": {PROVISIONED_BY_ANNOTATION: PROVISIONER_NAME},
        },
        "spec": volume_spec,
    }


def volume_to_delete(volume: Mapping[str, Any]) -> bool:
    """A PV we provisioned, Released by its claim, with reclaim policy Delete."""
    metadata = metadata_of(volume)
    return (
        (metadata.get("annotations") or {}).get(PROVISIONED_BY_ANNOTATION) == PROVISIONER_NAME
        and (volume.get("spec") or {}).get("persistentVolumeReclaimPolicy") == "Delete"
        and (volume.get("status") or {}).get("phase") == "Released"
        and not metadata.get("deletionTimestamp")
    )


def claim_name(claim: Mapping[str, Any]) -> str:
    metadata = metadata_of(claim)
    return f"{metadata.get('namespace')}/{metadata.get('name')}"

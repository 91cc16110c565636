"""Zone-aware ECI disks: the StorageClass that follows featureGates, and a provisioner for it.

StorageClass `eci-disk`: volumeBindingMode WaitForFirstConsumer when featureGates says
WaitForFirstConsumer=true, else Immediate. The field is immutable, so a change replaces the class;
PVCs already bound keep their volumes, and pending ones are provisioned under the new mode (the
provisioner reads the class at each PVC event).

Provisioning (the simulated cloud's "create a disk"): under Immediate, a PV at once in the class's
zoneId; under WaitForFirstConsumer, only once the scheduler wrote volume.kubernetes.io/selected-node
on the PVC, in that node's zone and region. The PV is pre-bound (claimRef) so the PV controller binds
it, and pinned to its zone by node affinity. A released PV with reclaim policy Delete is deleted (the
simulated disk with it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from eci_reference.constants import (
    PROVISIONER_NAME,
    REGION_LABEL,
    STORAGE_CLASS_NAME,
    STORAGE_CLASS_REGION_PARAMETER,
    STORAGE_CLASS_ZONE_PARAMETER,
    ZONE_LABEL,
)

PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"


def storage_class(wait_for_first_consumer: bool, region: str, zone: str) -> dict[str, Any]:
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": STORAGE_CLASS_NAME, "labels": {"app.kubernetes.io/managed-by": "eci-reference"}},
        "provisioner": PROVISIONER_NAME,
        "parameters": {STORAGE_CLASS_REGION_PARAMETER: region, STORAGE_CLASS_ZONE_PARAMETER: zone},
        "reclaimPolicy": "Delete",
        "allowVolumeExpansion": False,
        "volumeBindingMode": "WaitForFirstConsumer" if wait_for_first_consumer else "Immediate",
    }


def csi_driver() -> dict[str, Any]:
    """No attach step and no pod info: nothing waits on a VolumeAttachment that no one would attach."""
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "CSIDriver",
        "metadata": {"name": PROVISIONER_NAME},
        "spec": {"attachRequired": False, "podInfoOnMount": False, "volumeLifecycleModes": ["Persistent"]},
    }


def persistent_volume(claim: Mapping[str, Any], zone: str, region: str) -> dict[str, Any]:
    metadata, spec = claim["metadata"], claim["spec"]
    uid = metadata["uid"]
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {
            "name": f"pvc-{uid}",
            "labels": {ZONE_LABEL: zone, REGION_LABEL: region},
            "annotations": {PROVISIONED_BY: PROVISIONER_NAME},
        },
        "spec": {
            "capacity": {"storage": spec["resources"]["requests"]["storage"]},
            "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Delete",
            "storageClassName": STORAGE_CLASS_NAME,
            "volumeMode": spec.get("volumeMode") or "Filesystem",
            "claimRef": {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "namespace": metadata["namespace"],
                "name": metadata["name"],
                "uid": uid,
            },
            "csi": {
                "driver": PROVISIONER_NAME,
                "volumeHandle": "d-" + hashlib.sha256(uid.encode()).hexdigest()[:20],
                "fsType": "ext4",
            },
            "nodeAffinity": {
                "required": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": ZONE_LABEL, "operator": "In", "values": [zone]}]}
                    ]
                }
            },
        },
    }

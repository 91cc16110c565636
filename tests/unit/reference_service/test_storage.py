"""StorageClass, CSIDriver and PV construction; where a disk goes (node zone vs class zone)."""

import json
from typing import Any

import pytest

from eci_reference.cloud import load_cloud_config
from eci_reference.constants import (
    BINDING_IMMEDIATE,
    BINDING_WAIT_FOR_FIRST_CONSUMER,
    SELECTED_NODE_ANNOTATION,
)
from eci_reference.disks import (
    Placement,
    ProvisioningError,
    build_csi_driver,
    build_persistent_volume,
    build_storage_class,
    claim_wants_volume,
    persistent_volume_name,
    placement_for,
    selected_node,
    storage_class_differs,
    volume_binding_mode,
    volume_handle,
    volume_to_delete,
)
from eci_reference.profile import DEFAULT_PROFILE_DATA, parse_profile

CLOUD = load_cloud_config()
UID = "6f1c2a4e-1111-2222-3333-444455556666"
ZONE = "topology.kubernetes.io/zone"
REGION = "topology.kubernetes.io/region"


def claim(**changes):
    body: dict[str, dict[str, Any]] = {
        "metadata": {"name": "data", "namespace": "team-a", "uid": UID, "annotations": {}},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": "eci-disk",
            "resources": {"requests": {"storage": "20Gi"}},
        },
        "status": {"phase": "Pending"},
    }
    for path, value in changes.items():
        section, _, key = path.partition("__")
        if value is None:
            body[section].pop(key, None)
        else:
            body[section][key] = value
    return body


def node(zone="cn-hangzhou-j", region="cn-hangzhou"):
    labels = {"type": "virtual-kubelet"}
    if zone:
        labels[ZONE] = zone
    if region:
        labels[REGION] = region
    return {"metadata": {"name": "virtual-kubelet-cn-hangzhou-j", "labels": labels}}


IMMEDIATE = build_storage_class(CLOUD, BINDING_IMMEDIATE)
WFFC = build_storage_class(CLOUD, BINDING_WAIT_FOR_FIRST_CONSUMER)


# --- StorageClass / CSIDriver --------------------------------------------------------------------


def test_binding_mode_follows_the_feature_gate():
    assert volume_binding_mode(parse_profile(DEFAULT_PROFILE_DATA)) == "Immediate"
    on = parse_profile({**DEFAULT_PROFILE_DATA, "featureGates": "WaitForFirstConsumer=true"})
    assert volume_binding_mode(on) == "WaitForFirstConsumer"


def test_storage_class_object():
    assert WFFC == {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": "eci-disk", "labels": {"app.kubernetes.io/managed-by": "eci-reference"}},
        "provisioner": "disk.eci-reference.io",
        "parameters": {"regionId": "cn-hangzhou", "zoneId": "cn-hangzhou-i"},
        "reclaimPolicy": "Delete",
        "allowVolumeExpansion": False,
        "volumeBindingMode": "WaitForFirstConsumer",
    }
    assert IMMEDIATE["volumeBindingMode"] == "Immediate"


def test_storage_class_comparison_knows_the_server_defaults():
    served = dict(IMMEDIATE)
    for defaulted in ("reclaimPolicy", "allowVolumeExpansion", "volumeBindingMode"):
        served.pop(defaulted)
    served["metadata"] = {**IMMEDIATE["metadata"], "resourceVersion": "7"}
    assert not storage_class_differs(served, IMMEDIATE)
    assert storage_class_differs(served, WFFC)
    assert storage_class_differs({**IMMEDIATE, "parameters": {"zoneId": "cn-hangzhou-j"}}, IMMEDIATE)
    assert storage_class_differs({**IMMEDIATE, "provisioner": "other.example.io"}, IMMEDIATE)
    assert storage_class_differs({**IMMEDIATE, "allowVolumeExpansion": True}, IMMEDIATE)
    assert storage_class_differs({**IMMEDIATE, "reclaimPolicy": "Retain"}, IMMEDIATE)


def test_csi_driver_needs_no_attach_and_no_pod_info():
    driver = build_csi_driver()
    assert driver["metadata"]["name"] == "disk.eci-reference.io"
    assert driver["spec"]["attachRequired"] is False
    assert driver["spec"]["podInfoOnMount"] is False


# --- which claims ----------------------------------------------------------------------------------


def test_claims_that_want_a_volume():
    assert claim_wants_volume(claim())
    assert claim_wants_volume(claim(status__phase=None))
    assert not claim_wants_volume(claim(spec__storageClassName="standard"))
    assert not claim_wants_volume(claim(spec__storageClassName=None))
    assert not claim_wants_volume(claim(spec__volumeName="pvc-x"))
    assert not claim_wants_volume(claim(status__phase="Bound"))
    assert not claim_wants_volume(claim(metadata__deletionTimestamp="2026-01-01T00:00:00Z"))


def test_selected_node_annotation():
    assert selected_node(claim()) is None
    assert selected_node(claim(metadata__annotations={SELECTED_NODE_ANNOTATION: "n1"})) == "n1"
    assert selected_node(claim(metadata__annotations=None)) is None


# --- placement -----------------------------------------------------------------------------------


def test_immediate_uses_the_storage_class_zone():
    assert placement_for(claim(), IMMEDIATE, None, CLOUD) == Placement(
        zone="cn-hangzhou-i", region="cn-hangzhou"
    )


def test_immediate_falls_back_to_the_cloud_when_parameters_are_missing():
    bare = {**IMMEDIATE, "parameters": {}}
    assert placement_for(claim(), bare, None, CLOUD) == Placement(
        zone=CLOUD.storage_class_zone, region=CLOUD.region
    )


def test_wait_for_first_consumer_uses_the_selected_nodes_zone_not_the_class_zone():
    selected = claim(metadata__annotations={SELECTED_NODE_ANNOTATION: "virtual-kubelet-cn-hangzhou-j"})
    placement = placement_for(selected, WFFC, node(), CLOUD)
    assert placement == Placement(zone="cn-hangzhou-j", region="cn-hangzhou")
    assert placement.zone != WFFC["parameters"]["zoneId"]


def test_region_falls_back_to_the_cloud_region():
    selected = claim(metadata__annotations={SELECTED_NODE_ANNOTATION: "n"})
    assert placement_for(selected, WFFC, node(region=None), CLOUD).region == "cn-hangzhou"


@pytest.mark.parametrize(
    ("annotations", "the_node", "message"),
    [
        ({}, node(), "no node selected yet"),
        ({SELECTED_NODE_ANNOTATION: "gone"}, None, "selected node 'gone' does not exist"),
        ({SELECTED_NODE_ANNOTATION: "n"}, node(zone=None), "has no topology.kubernetes.io/zone label"),
    ],
)
def test_wait_for_first_consumer_failures(annotations, the_node, message):
    with pytest.raises(ProvisioningError, match=message):
        placement_for(claim(metadata__annotations=annotations), WFFC, the_node, CLOUD)


# --- the PV ----------------------------------------------------------------------------------------


def test_persistent_volume_object():
    volume = build_persistent_volume(claim(), Placement(zone="cn-hangzhou-j", region="cn-hangzhou"))
    assert volume["metadata"] == {
        "name": f"pvc-{UID}",
        "labels": {ZONE: "cn-hangzhou-j", REGION: "cn-hangzhou"},
        "annotations": {"pv.kubernetes.io/provisioned-by": "disk.eci-reference.io"},
    }
    spec = volume["spec"]
    assert spec["capacity"] == {"storage": "20Gi"}
    assert spec["accessModes"] == ["ReadWriteOnce"]
    assert spec["persistentVolumeReclaimPolicy"] == "Delete"
    assert spec["storageClassName"] == "eci-disk"
    assert spec["volumeMode"] == "Filesystem"
    assert spec["claimRef"] == {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "namespace": "team-a",
        "name": "data",
        "uid": UID,
    }
    assert spec["csi"] == {
        "driver": "disk.eci-reference.io",
        "volumeHandle": volume_handle(UID),
        "fsType": "ext4",
    }
    assert spec["nodeAffinity"] == {
        "required": {
            "nodeSelectorTerms": [
                {"matchExpressions": [{"key": ZONE, "operator": "In", "values": ["cn-hangzhou-j"]}]}
            ]
        }
    }
    json.dumps(volume)


def test_access_modes_and_volume_mode_come_from_the_claim():
    changed = claim(spec__accessModes=["ReadWriteOncePod", "ReadOnlyMany"], spec__volumeMode="Block")
    spec = build_persistent_volume(changed, Placement("z", "r"))["spec"]
    assert spec["accessModes"] == ["ReadWriteOncePod", "ReadOnlyMany"]
    assert spec["volumeMode"] == "Block"


def test_names_and_handles_are_stable_per_claim():
    assert persistent_volume_name(UID) == f"pvc-{UID}"
    handle = volume_handle(UID)
    assert handle == volume_handle(UID)
    assert handle != volume_handle(UID.replace("6", "7"))
    assert handle.startswith("d-")
    assert len(handle) == 22


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"spec__resources": {}}, "requests no storage"),
        ({"spec__accessModes": []}, "no accessModes"),
        ({"metadata__uid": None}, "no uid"),
    ],
)
def test_unprovisionable_claims(changes, message):
    with pytest.raises(ProvisioningError, match=message):
        build_persistent_volume(claim(**changes), Placement("z", "r"))


# --- reclaiming ----------------------------------------------------------------------------------


def released(**changes):
    volume = build_persistent_volume(claim(), Placement("cn-hangzhou-i", "cn-hangzhou"))
    volume["status"] = {"phase": "Released"}
    for key, value in changes.items():
        volume[key] = value
    return volume


def test_released_volumes_of_ours_with_delete_are_deleted():
    assert volume_to_delete(released())
    assert not volume_to_delete(released(status={"phase": "Bound"}))
    assert not volume_to_delete(released(metadata={"name": "x", "annotations": {}}))
    retained = released()
    retained["spec"]["persistentVolumeReclaimPolicy"] = "Retain"
    assert not volume_to_delete(retained)
    deleting = released()
    deleting["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert not volume_to_delete(deleting)

"""featureGates WaitForFirstConsumer: zone-aware binding of ECI disks (eci-profile document,
"WaitForFirstConsumer mode")."""

from __future__ import annotations

import pytest
from kubernetes import client

from vnode_harness.formats.names import ECI_LABEL
from vnode_harness.plumbing.waits import consistently, wait_for
from vnode_harness.testapi.checks import assert_on_virtual_node, run_pod
from vnode_harness.testapi.observe import virtual_nodes

WFFC_ON = {"featureGates": "WaitForFirstConsumer=true"}
WFFC_OFF = {"featureGates": "WaitForFirstConsumer=false"}


def wait_binding_mode(api, implementation, mode):
    storage = client.StorageV1Api(api)
    name = implementation.observation.storage_class_name

    def probe():
        try:
            storage_class = storage.read_storage_class(name)
        except client.ApiException as error:
            if error.status == 404:
                return None, "StorageClass not found"
            raise
        return (
            storage_class if storage_class.volume_binding_mode == mode else None
        ), storage_class.volume_binding_mode

    return wait_for(
        f"StorageClass {name} to have volumeBindingMode {mode}",
        probe,
        timeout=implementation.limits.profile_propagation_seconds,
        hint=f"kubectl get storageclass {name} -o yaml",
    )


def create_claim(core, namespace, name, implementation):
    body = {
        "metadata": {"name": name},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": implementation.observation.storage_class_name,
            "resources": {"requests": {"storage": "20Gi"}},
        },
    }
    return core.create_namespaced_persistent_volume_claim(namespace, body)


def wait_bound(core, namespace, name, implementation):
    def probe():
        claim = core.read_namespaced_persistent_volume_claim(name, namespace)
        return (claim if claim.status.phase == "Bound" else None), f"phase {claim.status.phase}"

    claim = wait_for(
        f"PVC {namespace}/{name} to be Bound",
        probe,
        timeout=implementation.limits.volume_provisioning_seconds,
        hint=f"kubectl -n {namespace} describe pvc {name}",
    )
    return core.read_persistent_volume(claim.spec.volume_name)


def pv_zone(volume, implementation):
    """The zone a PV is pinned to, from its node affinity (the observation contract's zone label)."""
    zones = set()
    for term in volume.spec.node_affinity.required.node_selector_terms if volume.spec.node_affinity else []:
        for expression in term.match_expressions or []:
            if expression.key == implementation.observation.zone_label and expression.operator == "In":
                zones.update(expression.values)
    return zones


def unconsumed_claim_pending(core, namespace, name):
    """Holds while the claim is Pending, names no volume, and no PV claims it (deferral, not delay)."""
    claim = core.read_namespaced_persistent_volume_claim(name, namespace)
    volumes = [
        pv.metadata.name
        for pv in core.list_persistent_volume().items
        if pv.spec.claim_ref and pv.spec.claim_ref.uid == claim.metadata.uid
    ]
    seen = f"phase {claim.status.phase}, volumeName {claim.spec.volume_name!r}, PVs claiming it {volumes}"
    pending = claim.status.phase == "Pending" and not claim.spec.volume_name and not volumes
    return (True if pending else None), seen


def claim_volume(name):
    return [{"name": "data", "persistentVolumeClaim": {"claimName": name}}]


@pytest.mark.requirement("WFFC-STORAGECLASS-MODE")
def test_feature_gate_switches_storage_class_to_wait_for_first_consumer(api, implementation, eci_profile):
    eci_profile.apply(WFFC_ON)
    wait_binding_mode(api, implementation, "WaitForFirstConsumer")


@pytest.mark.requirement("WFFC-ON-DEFERS")
def test_claim_stays_pending_until_a_consuming_pod_is_scheduled(
    api, core, namespace, implementation, eci_profile
):
    eci_profile.apply(WFFC_ON)
    wait_binding_mode(api, implementation, "WaitForFirstConsumer")
    create_claim(core, namespace.name, "waiting", implementation)
    create_claim(core, namespace.name, "consumed", implementation)
    # A second claim that does get a consumer shows the provisioner is working; only then is the first
    # claim's Pending state evidence of deferral rather than of a provisioner that does nothing.
    run_pod(
        core,
        namespace.name,
        "consumer",
        implementation,
        labels={ECI_LABEL: "true"},
        volumes=claim_volume("consumed"),
    )
    wait_bound(core, namespace.name, "consumed", implementation)
    consistently(
        "PVC waiting, which has no consumer, to stay Pending with no volume",
        lambda: unconsumed_claim_pending(core, namespace.name, "waiting"),
        hold=implementation.limits.hold_seconds,
        hint=f"kubectl -n {namespace.name} get pvc waiting -o yaml; kubectl get pv",
    )
    run_pod(
        core,
        namespace.name,
        "late-consumer",
        implementation,
        labels={ECI_LABEL: "true"},
        volumes=claim_volume("waiting"),
    )
    wait_bound(core, namespace.name, "waiting", implementation)


@pytest.mark.requirement("WFFC-ON-ZONE")
def test_volume_is_created_in_the_zone_of_the_pods_node(api, core, namespace, implementation, eci_profile):
    eci_profile.apply(WFFC_ON)
    storage_class = wait_binding_mode(api, implementation, "WaitForFirstConsumer")
    class_zone = (storage_class.parameters or {}).get(implementation.observation.storage_class_zone_parameter)
    zone_label = implementation.observation.zone_label
    zones = {
        (n.metadata.labels or {}).get(zone_label) for n in virtual_nodes(core, implementation.observation)
    }
    other_zones = sorted(z for z in zones if z and z != class_zone)
    if not other_zones:
        pytest.skip(
            f"every virtual node is in the StorageClass's zone {class_zone}: the rule cannot be observed "
            "(not conformant: the cluster needs virtual nodes in a second zone)"
        )
    # Every zone the cluster offers besides the class's, not one: a placement rule that holds in one zone
    # and not another (a zone table, a region taken from the cluster) is caught where it breaks.
    for index, target in enumerate(other_zones):
        claim = f"data-{index}"
        create_claim(core, namespace.name, claim, implementation)
        pod = run_pod(
            core,
            namespace.name,
            f"consumer-{index}",
            implementation,
            labels={ECI_LABEL: "true"},
            volumes=claim_volume(claim),
            node_selector={zone_label: target},
        )
        assert_on_virtual_node(core, pod, implementation)
        node = core.read_node(pod.spec.node_name)
        assert_volume_in_the_nodes_place(
            wait_bound(core, namespace.name, claim, implementation), node, implementation, class_zone
        )


def assert_volume_in_the_nodes_place(volume, node, implementation, class_zone):
    """The PV's zone (node affinity) is its node's, and so is its region label where the node has one."""
    zone_label, region_label = implementation.observation.zone_label, implementation.observation.region_label
    node_zone = node.metadata.labels[zone_label]
    assert pv_zone(volume, implementation) == {node_zone}, (
        f"PV {volume.metadata.name} is pinned to zones {pv_zone(volume, implementation)}; "
        f"expected the pod's node zone {node_zone} (node {node.metadata.name}; the StorageClass names "
        f"{class_zone})\n  see: kubectl get pv {volume.metadata.name} -o yaml"
    )
    node_region = node.metadata.labels.get(region_label)
    if node_region:
        volume_region = (volume.metadata.labels or {}).get(region_label)
        assert volume_region == node_region, (
            f"PV {volume.metadata.name} has region label {volume_region!r}; expected the region of its "
            f"node {node.metadata.name}, {node_region}\n  see: kubectl get pv {volume.metadata.name} -o yaml"
        )


@pytest.mark.requirement("WFFC-DEFAULT-IMMEDIATE")
def test_removing_the_feature_gate_returns_to_immediate_binding(
    api, core, namespace, implementation, eci_profile
):
    eci_profile.apply(WFFC_ON)
    wait_binding_mode(api, implementation, "WaitForFirstConsumer")
    # featureGates removed, not set to false: its documented default "WaitForFirstConsumer=false" applies,
    # not the value the previous profile had.
    eci_profile.apply({"featureGates": None})
    storage_class = wait_binding_mode(api, implementation, "Immediate")
    class_zone = (storage_class.parameters or {}).get(implementation.observation.storage_class_zone_parameter)
    create_claim(core, namespace.name, "data", implementation)
    volume = wait_bound(core, namespace.name, "data", implementation)  # no pod uses it: bound at once
    assert pv_zone(volume, implementation) == {class_zone}, (
        f"PV {volume.metadata.name} is pinned to zones {pv_zone(volume, implementation)}; expected the "
        f"StorageClass zone {class_zone}"
    )


@pytest.mark.requirement("WFFC-OFF-IMMEDIATE")
def test_without_the_gate_volume_is_created_at_once_in_the_class_zone(
    api, core, namespace, implementation, eci_profile
):
    eci_profile.apply(WFFC_OFF)
    storage_class = wait_binding_mode(api, implementation, "Immediate")
    class_zone = (storage_class.parameters or {}).get(implementation.observation.storage_class_zone_parameter)
    create_claim(core, namespace.name, "data", implementation)
    volume = wait_bound(core, namespace.name, "data", implementation)
    assert pv_zone(volume, implementation) == {class_zone}, (
        f"PV {volume.metadata.name} is pinned to zones {pv_zone(volume, implementation)}; expected the "
        f"StorageClass zone {class_zone}"
    )

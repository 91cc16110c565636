"""What a provider's cluster looks like: the virtual nodes and the Istio settings.

The local and kind providers build the same topology by different means (host processes; pods and
`istioctl install`), so what they must agree on lives here once: the ACK-like virtual nodes (one per
zone, named virtual-kubelet-<region>-<zone letter>, labelled type=virtual-kubelet plus zone and
region, two zones of the cluster's region and one of a second region, tainted
virtual-kubelet.io/provider=alibabacloud:NoSchedule, mock capacity) and the Istio
namespace and IstioOperator overlay (classic sidecars and the virtual-kubelet downward-API template,
explained in istio-operator.yaml).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kubernetes import client

REGION = "cn-hangzhou"
"""The cluster's region: its regular workers', vSwitches' and StorageClass's (eci_reference/cloud.yaml)."""
OTHER_REGION_ZONE = "cn-shanghai-b"
"""A virtual node in a second region. An ACK cluster lives in one region, so this is not a real shape: it
is there so that WFFC-ON-ZONE ("the zone *and region* of the scheduled node") can tell a disk placed in
its node's region from one placed in the cluster's or the StorageClass's; with one region the region
half of the rule could not fail."""
ZONE_REGIONS = {"cn-hangzhou-i": REGION, "cn-hangzhou-j": REGION, OTHER_REGION_ZONE: "cn-shanghai"}
ZONES = tuple(ZONE_REGIONS)
REGULAR_ZONES = tuple(zone for zone, region in ZONE_REGIONS.items() if region == REGION)
"""Where regular workers are (the local provider's kwok workers, one per zone): the cluster's region."""
ZONE_LABEL = "topology.kubernetes.io/zone"
REGION_LABEL = "topology.kubernetes.io/region"
NODE_TYPE_LABEL = "type"
VIRTUAL_NODE_TYPE = "virtual-kubelet"
"""virtual-kubelet labels its node type=virtual-kubelet itself; the suite's default selector."""
TAINT_KEY = "virtual-kubelet.io/provider"
TAINT_VALUE = "alibabacloud"
TAINT_EFFECT = "NoSchedule"
MOCK_CAPACITY = {"cpu": "256", "memory": "1Ti", "pods": "1000"}
"""The mock provider's capacity per node: large enough that capacity never decides a test."""

ISTIO_NAMESPACE = "istio-system"
ISTIO_OPERATOR_OVERLAY = Path(__file__).parent / "istio-operator.yaml"
"""Classic sidecars and the virtual-kubelet downward-API template, passed to istioctl with -f."""


def virtual_node_name(zone: str) -> str:
    return f"virtual-kubelet-{zone}"


def node_names() -> list[str]:
    """The virtual nodes' names, in zone order."""
    return [virtual_node_name(zone) for zone in ZONES]


def node_labels(zone: str) -> dict[str, str]:
    """What the provider patches onto a registered virtual node (virtual-kubelet cannot set labels)."""
    return {ZONE_LABEL: zone, REGION_LABEL: ZONE_REGIONS[zone]}


def label_virtual_node(core: client.CoreV1Api, zone: str) -> None:
    """virtual-kubelet has no flag for extra node labels: the zone and region are patched on."""
    core.patch_node(virtual_node_name(zone), {"metadata": {"labels": node_labels(zone)}})


def taint_environment() -> dict[str, str]:
    """virtual-kubelet's environment for the node taint (it has no flag for it)."""
    return {
        "VKUBELET_TAINT_KEY": TAINT_KEY,
        "VKUBELET_TAINT_VALUE": TAINT_VALUE,
        "VKUBELET_TAINT_EFFECT": TAINT_EFFECT,
    }


NOT_ON_VIRTUAL_NODES: dict[str, Any] = {
    "nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [
                {
                    "matchExpressions": [
                        {"key": NODE_TYPE_LABEL, "operator": "NotIn", "values": [VIRTUAL_NODE_TYPE]}
                    ]
                }
            ]
        }
    }
}
"""Node affinity for pods that must run on a real node (a virtual node would run nothing)."""

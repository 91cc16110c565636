"""Names every part of the project agrees on (docs/ARCHITECTURE.md, "Names every part agrees on").

They are the ACK defaults of the observation contract. Keeping them in one module means the webhook,
the controller and the provisioner cannot drift apart on a spelling, and a reader sees at once which
strings are part of the contract with the outside world.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

# --- routing -----------------------------------------------------------------------------------
#: Pod or namespace label that routes pods to ECI; only the exact value "true" routes.
ECI_LABEL: Final = "alibabacloud.com/eci"
ECI_LABEL_ROUTING_VALUE: Final = "true"

# --- effective parameters on a pod ---------------------------------------------------------------
#: The profile's ``vSwitchIds`` (verbatim) as a pod annotation.
VSWITCH_ANNOTATION: Final = "k8s.aliyun.com/eci-vswitch"
#: The profile's ``securityGroupId`` as a pod annotation.
SECURITY_GROUP_ANNOTATION: Final = "k8s.aliyun.com/eci-security-group"

# --- virtual nodes -------------------------------------------------------------------------------
VIRTUAL_NODE_LABEL_KEY: Final = "type"
VIRTUAL_NODE_LABEL_VALUE: Final = "virtual-kubelet"
#: (key, value) of the label every virtual node carries; the webhook pins ECI pods to it.
VIRTUAL_NODE_LABEL: Final = (VIRTUAL_NODE_LABEL_KEY, VIRTUAL_NODE_LABEL_VALUE)
VIRTUAL_NODE_TAINT_KEY: Final = "virtual-kubelet.io/provider"
VIRTUAL_NODE_TAINT_VALUE: Final = "alibabacloud"
VIRTUAL_NODE_TAINT_EFFECT: Final = "NoSchedule"

# --- the profile -------------------------------------------------------------------------------
PROFILE_NAMESPACE: Final = "kube-system"
PROFILE_NAME: Final = "eci-profile"
#: Event reasons posted on the profile ConfigMap.
EVENT_REASON_PROFILE_APPLIED: Final = "ProfileApplied"
EVENT_REASON_INVALID_PROFILE: Final = "InvalidProfile"
#: The only feature gate the profile's ``featureGates`` accepts.
FEATURE_GATE_WAIT_FOR_FIRST_CONSUMER: Final = "WaitForFirstConsumer"

# --- the webhook ---------------------------------------------------------------------------------
WEBHOOK_CONFIGURATION_NAME: Final = "vk-webhook"
MUTATE_PATH: Final = "/mutate"
HEALTHZ_PATH: Final = "/healthz"
READYZ_PATH: Final = "/readyz"

# --- storage -----------------------------------------------------------------------------------
STORAGE_CLASS_NAME: Final = "eci-disk"
PROVISIONER_NAME: Final = "disk.eci-reference.io"
STORAGE_CLASS_REGION_PARAMETER: Final = "regionId"
STORAGE_CLASS_ZONE_PARAMETER: Final = "zoneId"
#: Set by the scheduler on a WaitForFirstConsumer PVC once its pod has a node.
SELECTED_NODE_ANNOTATION: Final = "volume.kubernetes.io/selected-node"

# --- topology ----------------------------------------------------------------------------------
ZONE_LABEL: Final = "topology.kubernetes.io/zone"
REGION_LABEL: Final = "topology.kubernetes.io/region"

# --- the simulated cloud -------------------------------------------------------------------------
SIMULATED_REGION: Final = "cn-hangzhou"
#: vSwitch ID -> zone of the simulated cloud (read-only).
SIMULATED_VSWITCH_ZONES: Final = MappingProxyType({"vsw-hz-i": "cn-hangzhou-i", "vsw-hz-j": "cn-hangzhou-j"})

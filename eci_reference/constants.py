"""Names every part of the project agrees on (docs/ARCHITECTURE.md, "Names every part agrees on").

They are the ACK defaults of the observation contract. Keeping them in one module means the webhook,
the controller and the provisioner cannot drift apart on a spelling, and a reader sees at once which
strings are part of the contract with the outside world.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

# --- who we are --------------------------------------------------------------------------------
#: The component's name: Event source, user agent, managed-by label value, certificate organization.
COMPONENT_NAME: Final = "eci-reference"
MANAGED_BY_LABEL: Final = "app.kubernetes.io/managed-by"

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
#: Posted on the profile ConfigMap while reconciling the active profile fails (retried).
EVENT_REASON_RECONCILE_FAILED: Final = "ReconcileFailed"
#: The only feature gate the profile's ``featureGates`` accepts.
FEATURE_GATE_WAIT_FOR_FIRST_CONSUMER: Final = "WaitForFirstConsumer"
#: The profile's ``selectors``: at most this many entries, and this many bytes of UTF-8.
MAX_SELECTORS: Final = 100
MAX_SELECTORS_BYTES: Final = 256 * 1024
#: More problems than this are summarised, so that an InvalidProfile Event stays readable.
MAX_REPORTED_PROBLEMS: Final = 50

# --- the webhook ---------------------------------------------------------------------------------
WEBHOOK_CONFIGURATION_NAME: Final = "vk-webhook"
MUTATE_PATH: Final = "/mutate"
HEALTHZ_PATH: Final = "/healthz"
READYZ_PATH: Final = "/readyz"
ADMISSION_API_VERSION: Final = "admission.k8s.io/v1"
ADMISSION_KIND: Final = "AdmissionReview"
#: Suffix of every vk-webhook entry name (an entry name must be a qualified name with a dot).
WEBHOOK_ENTRY_SUFFIX: Final = "vk-webhook.eci-reference.io"
POD_LABEL_ENTRY: Final = f"pod-label.{WEBHOOK_ENTRY_SUFFIX}"
NAMESPACE_LABEL_ENTRY: Final = f"namespace-label.{WEBHOOK_ENTRY_SUFFIX}"
#: Label every namespace carries (Kubernetes 1.21+), used to exempt namespaces by name.
NAMESPACE_NAME_LABEL: Final = "kubernetes.io/metadata.name"
#: Namespaces the webhook never sees (with the namespace we run in, when in a cluster).
EXEMPT_NAMESPACES: Final = ("kube-system", "kube-node-lease")

# --- routing decisions ---------------------------------------------------------------------------
#: Why a pod is an ECI pod, as it appears in ``RoutingDecision.reasons`` and in the admission log.
REASON_POD_LABEL: Final = "pod-label"
REASON_NAMESPACE_LABEL: Final = "namespace-label"
REASON_SELECTOR_PREFIX: Final = "selector:"

# --- storage -----------------------------------------------------------------------------------
STORAGE_CLASS_NAME: Final = "eci-disk"
PROVISIONER_NAME: Final = "disk.eci-reference.io"
STORAGE_CLASS_REGION_PARAMETER: Final = "regionId"
STORAGE_CLASS_ZONE_PARAMETER: Final = "zoneId"
BINDING_IMMEDIATE: Final = "Immediate"
BINDING_WAIT_FOR_FIRST_CONSUMER: Final = "WaitForFirstConsumer"
PROVISIONED_BY_ANNOTATION: Final = "pv.kubernetes.io/provisioned-by"
EVENT_REASON_PROVISIONING_SUCCEEDED: Final = "ProvisioningSucceeded"
EVENT_REASON_PROVISIONING_FAILED: Final = "ProvisioningFailed"
#: Set by the scheduler on a WaitForFirstConsumer PVC once its pod has a node.
SELECTED_NODE_ANNOTATION: Final = "volume.kubernetes.io/selected-node"

# --- Events ------------------------------------------------------------------------------------
#: The API server's limit on an Event message, in UTF-8 bytes.
EVENT_MESSAGE_LIMIT: Final = 1024

# --- topology ----------------------------------------------------------------------------------
ZONE_LABEL: Final = "topology.kubernetes.io/zone"
REGION_LABEL: Final = "topology.kubernetes.io/region"

# --- the simulated cloud -------------------------------------------------------------------------
SIMULATED_REGION: Final = "cn-hangzhou"
#: vSwitch ID -> zone of the simulated cloud (read-only).
SIMULATED_VSWITCH_ZONES: Final = MappingProxyType({"vsw-hz-i": "cn-hangzhou-i", "vsw-hz-j": "cn-hangzhou-j"})

"""Virtual nodes of the kind cluster: virtual-kubelet's mock provider as Deployments, one per zone.

The nodes look exactly like the local provider's (same names, labels, taint, capacity), but here each
virtual-kubelet runs in a pod on the kind node, under its own ServiceAccount:

- kubelet API: TLS with a self-signed serving certificate made here (trustme) and stored in a Secret;
  client certificates are checked against the cluster CA (the `kube-root-ca.crt` ConfigMap that every
  namespace gets), so only the API server, which presents kubeadm's apiserver-kubelet-client
  certificate, gets in. Bearer tokens are checked with TokenReview and every request is authorised
  with SubjectAccessReview, as a kubelet does (virtual-kubelet's nodeutil.WebhookAuth).
- InternalIP: the pod's own IP (VKUBELET_POD_IP from the downward API), which the API server reaches
  on the kind network for logs and exec.
- RBAC: exactly the calls virtual-kubelet v1.13.0 makes (node/nodeutil/controller.go, node/node.go,
  node/lease_controller_v1.go, node/pod.go, node/nodeutil/auth.go); see `cluster_role_rules`.

What the nodes look like (names, zones, labels, taint, capacity) is the providers' shared topology
(vnode_harness.providers.topology); virtual-kubelet has no flag for extra node labels, so the provider
patches zone and region on after the nodes register (`topology.label_virtual_node`).
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import trustme

from vnode_harness.formats import versions
from vnode_harness.providers.topology import (
    MOCK_CAPACITY,
    NOT_ON_VIRTUAL_NODES,
    ZONE_LABEL,
    ZONES,
    label_virtual_node,
    node_names,
    taint_environment,
    virtual_node_name,
)

NAMESPACE = "vnode-system"
SERVICE_ACCOUNT = "virtual-kubelet"
CLUSTER_ROLE = "vnode:virtual-kubelet"
LEASE_ROLE = "vnode:virtual-kubelet-lease"
LEASE_NAMESPACE = "kube-node-lease"
SERVING_SECRET = "virtual-kubelet-serving"  # noqa: S105 (a Secret's name, not a password)
PROVIDER_CONFIGMAP = "virtual-kubelet-provider-config"
PROVIDER_CONFIG_KEY = "mock-provider.json"
CLUSTER_CA_CONFIGMAP = "kube-root-ca.crt"
"""Published into every namespace by kube-controller-manager: the CA that signs the API server's
kubelet client certificate in a kubeadm (kind) cluster."""
KUBELET_PORT = 10250
IMAGE = f"vnode/virtual-kubelet:{versions.VIRTUAL_KUBELET}-{versions.VIRTUAL_KUBELET_PATCH_LEVEL}"
"""Built from images/virtual-kubelet.Dockerfile and loaded into the nodes; never pulled."""
CERT_FINGERPRINT_ANNOTATION = "vnode.dev/serving-cert-sha256"
"""On the pod template: a new serving certificate rolls the pods (virtual-kubelet reads it at start)."""

_SERVING_DIR = "/etc/virtual-kubelet/serving"
_CLUSTER_CA_DIR = "/etc/virtual-kubelet/cluster-ca"
_PROVIDER_DIR = "/etc/virtual-kubelet/provider"
RUN_AS = 65532
"""The distroless image's non-root user."""


@dataclass(frozen=True)
class ServingCertificate:
    """PEM blobs of the virtual-kubelet serving certificate (shared by both nodes) and its key."""

    certificate: str
    private_key: str

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.certificate.encode()).hexdigest()


def make_serving_certificate() -> ServingCertificate:
    """A self-signed CA and a leaf for the node names. kind's API server does not verify kubelet
    serving certificates (no --kubelet-certificate-authority), but virtual-kubelet refuses to start
    without one."""
    authority = trustme.CA(organization_name="vnode kind virtual-kubelet CA")
    leaf = authority.issue_cert(*(virtual_node_name(zone) for zone in ZONES))
    chain = b"".join(blob.bytes() for blob in leaf.cert_chain_pems)
    return ServingCertificate(certificate=chain.decode(), private_key=leaf.private_key_pem.bytes().decode())


def cluster_role_rules() -> list[dict[str, Any]]:
    """Least privilege for virtual-kubelet v1.13.0 with the mock provider, call by call.

    - nodes create (registration; create cannot be limited by name), get and nodes/status patch of its
      own nodes (the three-way status patch in node.go's updateNodeStatus);
    - pods list/watch (the informer filtered on spec.nodeName — field selectors do not narrow RBAC),
      delete (pods removed from the provider, dangling pods) and pods/status update;
    - configmaps, secrets, services list/watch: the informers behind env and volume resolution (only
      listers are read, never a direct get);
    - events create and patch: client-go's event recorder creates an event, then patches its count;
    - tokenreviews and subjectaccessreviews create: the kubelet API's webhook authn/authz.
    The node leases are in `lease_role_rules` (namespaced).
    """
    names = node_names()
    return [
        {"apiGroups": [""], "resources": ["nodes"], "verbs": ["create"]},
        {"apiGroups": [""], "resources": ["nodes"], "resourceNames": names, "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["nodes/status"], "resourceNames": names, "verbs": ["patch"]},
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "watch", "delete"]},
        {"apiGroups": [""], "resources": ["pods/status"], "verbs": ["update"]},
        {"apiGroups": [""], "resources": ["configmaps", "secrets", "services"], "verbs": ["list", "watch"]},
        {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
        {"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"], "verbs": ["create"]},
        {"apiGroups": ["authorization.k8s.io"], "resources": ["subjectaccessreviews"], "verbs": ["create"]},
    ]


def lease_role_rules() -> list[dict[str, Any]]:
    """Node heartbeats (lease_controller_v1.go): create the lease once, then get and update its own."""
    return [
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "resourceNames": node_names(),
            "verbs": ["get", "update"],
        },
    ]


def _labels(node: str | None = None) -> dict[str, str]:
    labels = {
        "app.kubernetes.io/name": "virtual-kubelet",
        "app.kubernetes.io/managed-by": "vnode-conformance",
    }
    if node:
        labels["app.kubernetes.io/instance"] = node
    return labels


def rbac_manifests() -> list[dict[str, Any]]:
    subject = {"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": NAMESPACE}
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": SERVICE_ACCOUNT, "namespace": NAMESPACE, "labels": _labels()},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": CLUSTER_ROLE, "labels": _labels()},
            "rules": cluster_role_rules(),
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": CLUSTER_ROLE, "labels": _labels()},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": CLUSTER_ROLE},
            "subjects": [subject],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": LEASE_ROLE, "namespace": LEASE_NAMESPACE, "labels": _labels()},
            "rules": lease_role_rules(),
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": LEASE_ROLE, "namespace": LEASE_NAMESPACE, "labels": _labels()},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": LEASE_ROLE},
            "subjects": [subject],
        },
    ]


def provider_config() -> dict[str, dict[str, str]]:
    """The mock provider's --provider-config: one entry per node name (a missing key fails start-up)."""
    return {name: dict(MOCK_CAPACITY) for name in node_names()}


def _container(node: str) -> dict[str, Any]:
    tcp_probe = {"tcpSocket": {"port": "kubelet"}}
    return {
        "name": "virtual-kubelet",
        "image": IMAGE,
        "imagePullPolicy": "Never",
        "args": [
            "--nodename",
            node,
            "--provider",
            "mock",
            "--provider-config",
            f"{_PROVIDER_DIR}/{PROVIDER_CONFIG_KEY}",
            "--log-level",
            "info",
        ],
        "env": [
            {"name": "KUBELET_PORT", "value": str(KUBELET_PORT)},
            {"name": "VKUBELET_POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            *({"name": name, "value": value} for name, value in taint_environment().items()),
            {"name": "APISERVER_CERT_LOCATION", "value": f"{_SERVING_DIR}/tls.crt"},
            {"name": "APISERVER_KEY_LOCATION", "value": f"{_SERVING_DIR}/tls.key"},
            {"name": "APISERVER_CA_CERT_LOCATION", "value": f"{_CLUSTER_CA_DIR}/ca.crt"},
        ],
        "ports": [{"name": "kubelet", "containerPort": KUBELET_PORT, "protocol": "TCP"}],
        # The kubelet API demands a client certificate (401 otherwise) and v1.13.0 serves no health
        # endpoint (--metrics-addr is parsed but unused), so the probes check the listener.
        "readinessProbe": {**tcp_probe, "periodSeconds": 5, "failureThreshold": 3},
        "livenessProbe": {**tcp_probe, "initialDelaySeconds": 10, "periodSeconds": 10, "failureThreshold": 6},
        "resources": {"requests": {"cpu": "20m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "serving", "mountPath": _SERVING_DIR, "readOnly": True},
            {"name": "cluster-ca", "mountPath": _CLUSTER_CA_DIR, "readOnly": True},
            {"name": "provider-config", "mountPath": _PROVIDER_DIR, "readOnly": True},
        ],
    }


def deployment_manifest(zone: str, cert_fingerprint: str) -> dict[str, Any]:
    node = virtual_node_name(zone)
    labels = _labels(node)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": node, "namespace": NAMESPACE, "labels": {**labels, ZONE_LABEL: zone}},
        "spec": {
            "replicas": 1,
            # Two virtual-kubelets with one node name would fight over the node: never overlap them.
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {
                    "labels": labels,
                    "annotations": {CERT_FINGERPRINT_ANNOTATION: cert_fingerprint},
                },
                "spec": {
                    "serviceAccountName": SERVICE_ACCOUNT,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": RUN_AS,
                        "runAsGroup": RUN_AS,
                        "fsGroup": RUN_AS,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    # Only on a real (kind) node: never on a virtual node, which would run nothing.
                    "affinity": NOT_ON_VIRTUAL_NODES,
                    "containers": [_container(node)],
                    "volumes": [
                        {
                            "name": "serving",
                            "secret": {"secretName": SERVING_SECRET, "defaultMode": 0o440},
                        },
                        {
                            "name": "cluster-ca",
                            "configMap": {
                                "name": CLUSTER_CA_CONFIGMAP,
                                "items": [{"key": "ca.crt", "path": "ca.crt"}],
                            },
                        },
                        {"name": "provider-config", "configMap": {"name": PROVIDER_CONFIGMAP}},
                    ],
                },
            },
        },
    }


def manifests(serving: ServingCertificate) -> list[dict[str, Any]]:
    """Everything the kind provider applies for the virtual nodes, in apply order."""
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE, "labels": _labels()}},
        *rbac_manifests(),
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/tls",
            "metadata": {"name": SERVING_SECRET, "namespace": NAMESPACE, "labels": _labels()},
            # `data`, not `stringData`: server-side apply tracks the fields it is given, and stringData
            # is never stored.
            "data": {"tls.crt": _base64(serving.certificate), "tls.key": _base64(serving.private_key)},
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": PROVIDER_CONFIGMAP, "namespace": NAMESPACE, "labels": _labels()},
            "data": {PROVIDER_CONFIG_KEY: json.dumps(provider_config(), indent=2, sort_keys=True)},
        },
        *(deployment_manifest(zone, serving.fingerprint) for zone in ZONES),
    ]


def _base64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def label_virtual_nodes(core: Any) -> None:
    for zone in ZONES:
        label_virtual_node(core, zone)


def daemonset_patch() -> dict[str, Any]:
    """Keeps kind's DaemonSets (kube-proxy, the CNI) off the virtual nodes. They tolerate every taint,
    so without this the mock provider would report fake kube-proxy pods Running on virtual nodes, as
    no ACK virtual node ever does (virtual nodes run no DaemonSets)."""
    return {"spec": {"template": {"spec": {"affinity": NOT_ON_VIRTUAL_NODES}}}}


def manifests_digest() -> str:
    """What decides whether the applied virtual nodes are current: every manifest except the key
    material (a fresh certificate per install must not make an otherwise identical install stale)."""
    placeholder = ServingCertificate(certificate="<certificate>", private_key="<key>")
    documents = manifests(placeholder)
    return hashlib.sha256(json.dumps(documents, sort_keys=True).encode()).hexdigest()


__all__ = [
    "IMAGE",
    "NAMESPACE",
    "NOT_ON_VIRTUAL_NODES",
    "ServingCertificate",
    "cluster_role_rules",
    "daemonset_patch",
    "deployment_manifest",
    "label_virtual_nodes",
    "lease_role_rules",
    "make_serving_certificate",
    "manifests",
    "manifests_digest",
    "node_names",
]

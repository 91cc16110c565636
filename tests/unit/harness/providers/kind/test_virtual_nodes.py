"""The in-cluster virtual-kubelet manifests: taint, ports, probes, certificates, RBAC — exactly."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from vnode_harness.formats import versions
from vnode_harness.providers import topology
from vnode_harness.providers.kind import virtual_nodes as vn

ZONES = ["cn-hangzhou-i", "cn-hangzhou-j", "cn-shanghai-b"]
NODES = [f"virtual-kubelet-{zone}" for zone in ZONES]


@pytest.fixture(scope="module")
def serving() -> vn.ServingCertificate:
    return vn.make_serving_certificate()


@pytest.fixture(scope="module")
def documents(serving) -> list[dict[str, Any]]:
    return vn.manifests(serving)


def by_kind(documents, kind) -> list[dict[str, Any]]:
    return [d for d in documents if d["kind"] == kind]


def container(deployment) -> dict[str, Any]:
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    return only


def env_of(deployment) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container(deployment)["env"]}


def mount_path(deployment, volume_name) -> str:
    (mount,) = [m for m in container(deployment)["volumeMounts"] if m["name"] == volume_name]
    return mount["mountPath"]


def volume(deployment, name) -> dict[str, Any]:
    (found,) = [v for v in deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == name]
    return found


def test_apply_order_namespace_first_deployments_last(documents):
    kinds = [d["kind"] for d in documents]
    assert kinds == [
        "Namespace",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
        "Secret",
        "ConfigMap",
        *["Deployment"] * len(ZONES),
    ]


def test_one_deployment_per_zone_named_like_ack_nodes(documents):
    deployments = by_kind(documents, "Deployment")
    assert [d["metadata"]["name"] for d in deployments] == NODES
    assert {d["metadata"]["namespace"] for d in deployments} == {"vnode-system"}
    for deployment, zone in zip(deployments, ZONES, strict=True):
        assert deployment["metadata"]["labels"]["topology.kubernetes.io/zone"] == zone
        assert deployment["spec"]["replicas"] == 1
        assert deployment["spec"]["strategy"] == {"type": "Recreate"}
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()


@pytest.mark.parametrize("index", [0, 1])
def test_taint_and_identity_env(documents, index):
    deployment = by_kind(documents, "Deployment")[index]
    env = env_of(deployment)
    assert env["VKUBELET_TAINT_KEY"] == {"name": "VKUBELET_TAINT_KEY", "value": "virtual-kubelet.io/provider"}
    assert env["VKUBELET_TAINT_VALUE"] == {"name": "VKUBELET_TAINT_VALUE", "value": "alibabacloud"}
    assert env["VKUBELET_TAINT_EFFECT"]["value"] == "NoSchedule"
    assert env["KUBELET_PORT"] == {"name": "KUBELET_PORT", "value": "10250"}
    assert env["VKUBELET_POD_IP"] == {
        "name": "VKUBELET_POD_IP",
        "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}},
    }
    args = container(deployment)["args"]
    assert args[args.index("--nodename") + 1] == NODES[index]
    assert args[args.index("--provider") + 1] == "mock"


@pytest.mark.parametrize("index", [0, 1])
def test_certificates_and_provider_config_come_from_mounted_volumes(documents, index):
    deployment = by_kind(documents, "Deployment")[index]
    env = env_of(deployment)
    serving_dir = mount_path(deployment, "serving")
    assert env["APISERVER_CERT_LOCATION"]["value"] == f"{serving_dir}/tls.crt"
    assert env["APISERVER_KEY_LOCATION"]["value"] == f"{serving_dir}/tls.key"
    assert volume(deployment, "serving")["secret"]["secretName"] == vn.SERVING_SECRET
    assert env["APISERVER_CA_CERT_LOCATION"]["value"] == f"{mount_path(deployment, 'cluster-ca')}/ca.crt"
    assert volume(deployment, "cluster-ca")["configMap"] == {
        "name": "kube-root-ca.crt",
        "items": [{"key": "ca.crt", "path": "ca.crt"}],
    }
    args = container(deployment)["args"]
    provider_dir = mount_path(deployment, "provider-config")
    assert args[args.index("--provider-config") + 1] == f"{provider_dir}/mock-provider.json"
    assert volume(deployment, "provider-config")["configMap"]["name"] == vn.PROVIDER_CONFIGMAP


def test_provider_config_is_keyed_by_node_name(documents):
    (configmap,) = by_kind(documents, "ConfigMap")
    config = json.loads(configmap["data"]["mock-provider.json"])
    assert sorted(config) == NODES
    assert all(entry == {"cpu": "256", "memory": "1Ti", "pods": "1000"} for entry in config.values())


@pytest.mark.parametrize("index", [0, 1])
def test_ports_and_probes(documents, index):
    spec = container(by_kind(documents, "Deployment")[index])
    assert spec["ports"] == [{"name": "kubelet", "containerPort": 10250, "protocol": "TCP"}]
    assert spec["readinessProbe"]["tcpSocket"] == {"port": "kubelet"}
    assert spec["livenessProbe"]["tcpSocket"] == {"port": "kubelet"}
    assert spec["livenessProbe"]["failureThreshold"] * spec["livenessProbe"]["periodSeconds"] >= 30


@pytest.mark.parametrize("index", [0, 1])
def test_image_is_the_locally_loaded_build_and_runs_unprivileged(documents, index):
    deployment = by_kind(documents, "Deployment")[index]
    spec = container(deployment)
    assert (
        spec["image"]
        == f"vnode/virtual-kubelet:{versions.VIRTUAL_KUBELET}-{versions.VIRTUAL_KUBELET_PATCH_LEVEL}"
    )
    assert spec["imagePullPolicy"] == "Never"
    assert spec["securityContext"]["allowPrivilegeEscalation"] is False
    assert spec["securityContext"]["readOnlyRootFilesystem"] is True
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["serviceAccountName"] == "virtual-kubelet"
    terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"
    ]
    assert terms == [
        {"matchExpressions": [{"key": "type", "operator": "NotIn", "values": ["virtual-kubelet"]}]}
    ]


def test_cluster_role_rules_exactly(documents):
    (role,) = by_kind(documents, "ClusterRole")
    assert role["metadata"]["name"] == "vnode:virtual-kubelet"
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["nodes"], "verbs": ["create"]},
        {"apiGroups": [""], "resources": ["nodes"], "resourceNames": NODES, "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["nodes/status"], "resourceNames": NODES, "verbs": ["patch"]},
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "watch", "delete"]},
        {"apiGroups": [""], "resources": ["pods/status"], "verbs": ["update"]},
        {"apiGroups": [""], "resources": ["configmaps", "secrets", "services"], "verbs": ["list", "watch"]},
        {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
        {"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"], "verbs": ["create"]},
        {"apiGroups": ["authorization.k8s.io"], "resources": ["subjectaccessreviews"], "verbs": ["create"]},
    ]


def test_lease_role_is_namespaced_to_kube_node_lease(documents):
    (role,) = by_kind(documents, "Role")
    assert role["metadata"] == {
        "name": "vnode:virtual-kubelet-lease",
        "namespace": "kube-node-lease",
        "labels": role["metadata"]["labels"],
    }
    assert role["rules"] == [
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "resourceNames": NODES,
            "verbs": ["get", "update"],
        },
    ]


def test_bindings_grant_the_roles_to_the_service_account_only(documents):
    subject = [{"kind": "ServiceAccount", "name": "virtual-kubelet", "namespace": "vnode-system"}]
    (cluster_binding,) = by_kind(documents, "ClusterRoleBinding")
    (binding,) = by_kind(documents, "RoleBinding")
    assert cluster_binding["subjects"] == subject
    assert cluster_binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "vnode:virtual-kubelet",
    }
    assert binding["subjects"] == subject
    assert binding["metadata"]["namespace"] == "kube-node-lease"
    assert binding["roleRef"]["kind"] == "Role"
    (account,) = by_kind(documents, "ServiceAccount")
    assert account["metadata"]["namespace"] == "vnode-system"


def test_serving_secret_holds_a_matching_certificate_for_both_nodes(documents, serving):
    (secret,) = by_kind(documents, "Secret")
    assert secret["type"] == "kubernetes.io/tls"
    certificate = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["tls.crt"]))
    key = serialization.load_pem_private_key(base64.b64decode(secret["data"]["tls.key"]), password=None)
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert certificate.public_key().public_bytes(*spki) == key.public_key().public_bytes(*spki)
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sorted(names.get_values_for_type(x509.DNSName)) == NODES
    for deployment in by_kind(documents, "Deployment"):
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations[vn.CERT_FINGERPRINT_ANNOTATION] == serving.fingerprint


def test_digest_ignores_key_material_but_not_the_manifests(monkeypatch):
    first = vn.manifests_digest()
    assert vn.make_serving_certificate() != vn.make_serving_certificate()
    assert vn.manifests_digest() == first
    monkeypatch.setattr(vn, "IMAGE", "vnode/virtual-kubelet:other")
    assert vn.manifests_digest() != first


def test_zone_and_region_labels_and_daemonset_exclusion():
    assert topology.node_labels("cn-hangzhou-j") == {
        "topology.kubernetes.io/zone": "cn-hangzhou-j",
        "topology.kubernetes.io/region": "cn-hangzhou",
    }
    assert topology.node_labels("cn-shanghai-b")["topology.kubernetes.io/region"] == "cn-shanghai"
    affinity = vn.daemonset_patch()["spec"]["template"]["spec"]["affinity"]
    assert affinity == vn.NOT_ON_VIRTUAL_NODES


def test_label_virtual_nodes_patches_each_node():
    calls = []

    class Core:
        def patch_node(self, name, body):
            calls.append((name, body))

    vn.label_virtual_nodes(Core())
    assert calls == [
        (node, {"metadata": {"labels": topology.node_labels(zone)}})
        for node, zone in zip(NODES, ZONES, strict=True)
    ]

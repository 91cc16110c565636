"""Every manifest the kind provider applies, admitted by a real API server with a server-side dry run.

A kind cluster takes minutes to create and its images minutes to build; the local environment is a
real kube-apiserver of the same Kubernetes minor and starts in seconds. Applying the kind provider's
documents there with `kubectl apply --server-side --dry-run=server` runs schema validation (strict
field validation), defaulting, RBAC and admission for each object and stores nothing, so a typo in a
field, a wrong apiVersion or a rejected RBAC rule fails here, before any kind cluster is created.

Covered: the virtual-kubelet Deployments, RBAC, ConfigMap and Secret; the reference implementation's
manifests (implementations/reference.yaml, install.kind); the Istio minimal profile istioctl renders
with the kind provider's settings. The RBAC is also applied for real once, and the API server's own
authorizer (SubjectAccessReview) is asked whether it allows each call virtual-kubelet makes.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from vnode_harness.formats import versions
from vnode_harness.formats.implementation import load_implementation
from vnode_harness.plumbing.kube import api_client
from vnode_harness.providers.kind import istio
from vnode_harness.providers.kind import virtual_nodes as vn
from vnode_harness.providers.kind.applied import read_applied, record_applied
from vnode_harness.providers.kind.implementation import (
    kubectl_apply_command,
    manifest_documents,
    manifest_files,
    stamp_image_ids,
)
from vnode_harness.toolchain import resolve_toolchain

pytestmark = pytest.mark.integration

REPOSITORY = Path(__file__).resolve().parents[2]
REFERENCE = REPOSITORY / "implementations" / "reference.yaml"
SERVICE_ACCOUNT_USER = f"system:serviceaccount:{vn.NAMESPACE}:{vn.SERVICE_ACCOUNT}"
SERVICE_ACCOUNT_GROUPS = [
    "system:serviceaccounts",
    f"system:serviceaccounts:{vn.NAMESPACE}",
    "system:authenticated",
]


@pytest.fixture(scope="module")
def api(local_cluster) -> Iterator[client.ApiClient]:
    with api_client(local_cluster.kubeconfig, "kind-manifests") as api:
        yield api


@pytest.fixture(scope="module")
def kubectl() -> Path:
    return resolve_toolchain(["kubernetes"], allow_build=False)["kubectl"]


@pytest.fixture(scope="module")
def namespaces(api) -> Iterator[Callable[[list[dict[str, Any]]], None]]:
    """Create, for real, the namespaces the documents live in (a dry-run Namespace is not stored, so
    objects in it would be refused); delete the ones created here at the end."""
    core = client.CoreV1Api(api)
    created: list[str] = []

    def ensure(documents: list[dict[str, Any]]) -> None:
        wanted = {
            str(d["metadata"]["namespace"]) for d in documents if d.get("metadata", {}).get("namespace")
        }
        wanted |= {str(d["metadata"]["name"]) for d in documents if d.get("kind") == "Namespace"}
        existing = {ns.metadata.name for ns in core.list_namespace().items}
        for name in sorted(wanted - existing):
            core.create_namespace({"metadata": {"name": name}})
            created.append(name)

    yield ensure
    for name in created:
        core.delete_namespace(name)


def dry_run_apply(kubectl: Path, kubeconfig: Path, documents: list[dict[str, Any]]) -> list[str]:
    """Apply with a server-side dry run; fail with kubectl's message; return its per-object lines."""
    result = subprocess.run(
        kubectl_apply_command(kubectl, kubeconfig, dry_run=True),
        input=yaml.safe_dump_all(documents, sort_keys=False),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"the API server refused:\n{result.stderr}"
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == len(documents), result.stdout
    assert all("(server dry run)" in line for line in lines), result.stdout
    return lines


WEBHOOK_CONFIGURATIONS = {
    "MutatingWebhookConfiguration": "list_mutating_webhook_configuration",
    "ValidatingWebhookConfiguration": "list_validating_webhook_configuration",
}


def as_in_a_fresh_cluster(api: client.ApiClient, documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Webhook configurations the local environment already has (its own Istio injector, with a URL
    client config) are dry-run under a fresh name: applied over the local one, the merge would keep
    both `url` and `service`, which no kind cluster would ever see. Everything else is applied as is."""
    registration = client.AdmissionregistrationV1Api(api)
    existing = {
        kind: {item.metadata.name for item in getattr(registration, lister)().items}
        for kind, lister in WEBHOOK_CONFIGURATIONS.items()
    }
    fresh = []
    for document in documents:
        metadata = document["metadata"]
        taken = metadata["name"] in existing.get(document["kind"], set())
        fresh.append(
            {**document, "metadata": {**metadata, "name": metadata["name"] + "-kind"}} if taken else document
        )
    return fresh


def test_virtual_kubelet_manifests_are_admitted(local_cluster, kubectl, namespaces):
    documents = vn.manifests(vn.make_serving_certificate())
    namespaces(documents)
    dry_run_apply(kubectl, local_cluster.kubeconfig, documents)


def test_reference_implementation_manifests_are_admitted(local_cluster, kubectl, namespaces, api):
    install = load_implementation(REFERENCE).install.kind
    assert install is not None, f"{REFERENCE} has no install.kind"
    documents = manifest_documents(manifest_files(install, REPOSITORY))
    assert documents, f"install.kind.manifests of {REFERENCE} name no objects"
    stamped = stamp_image_ids(documents, {image.name: "sha256:" + "0" * 64 for image in install.images})
    namespaces(stamped)
    dry_run_apply(kubectl, local_cluster.kubeconfig, as_in_a_fresh_cluster(api, stamped))


def test_istio_minimal_profile_as_rendered_is_admitted(local_cluster, kubectl, namespaces, api):
    istioctl = resolve_toolchain(["istio"], allow_build=False)["istioctl"]
    documents = istio.render_manifests(istioctl)
    kinds = {d["kind"] for d in documents}
    assert {"Deployment", "MutatingWebhookConfiguration", "CustomResourceDefinition"} <= kinds
    (istiod,) = [d for d in documents if d["kind"] == "Deployment"]
    (discovery,) = istiod["spec"]["template"]["spec"]["containers"]
    assert discovery["image"] == f"{versions.ISTIO_PROXY_HUB}/pilot:{versions.ISTIO_PROXY_TAG}"
    assert {"name": "ENABLE_NATIVE_SIDECARS", "value": "false"} in discovery["env"]
    assert discovery["resources"]["requests"]["cpu"] == "100m"  # istio.NODE_REQUEST_SETTINGS
    (injector,) = [
        d for d in documents if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "istio-sidecar-injector"
    ]
    assert "virtual-kubelet-downward-api" in yaml.safe_dump(injector)
    assert json.loads(injector["data"]["values"])["global"]["proxy"]["resources"]["requests"]["cpu"] == "10m"
    namespaces(documents)
    dry_run_apply(kubectl, local_cluster.kubeconfig, as_in_a_fresh_cluster(api, documents))


@pytest.fixture
def applied_rbac(local_cluster, kubectl, namespaces, api) -> Iterator[None]:
    documents = vn.rbac_manifests()
    namespaces(documents)
    subprocess.run(
        kubectl_apply_command(kubectl, local_cluster.kubeconfig),
        input=yaml.safe_dump_all(documents),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    yield
    rbac = client.RbacAuthorizationV1Api(api)
    rbac.delete_cluster_role_binding(vn.CLUSTER_ROLE)
    rbac.delete_cluster_role(vn.CLUSTER_ROLE)
    rbac.delete_namespaced_role_binding(vn.LEASE_ROLE, vn.LEASE_NAMESPACE)
    rbac.delete_namespaced_role(vn.LEASE_ROLE, vn.LEASE_NAMESPACE)


def allowed(api: client.ApiClient, verb: str, resource: str, name: str, namespace: str) -> bool:
    """Ask the API server's authorizer; `resource` is `plural[.group][/subresource]`."""
    qualified, _, subresource = resource.partition("/")
    plural, _, group = qualified.partition(".")
    review: Any = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": SERVICE_ACCOUNT_USER,
            "groups": SERVICE_ACCOUNT_GROUPS,
            "resourceAttributes": {
                "group": group,
                "resource": plural,
                "subresource": subresource,
                "verb": verb,
                "name": name,
                "namespace": namespace,
            },
        },
    }
    return bool(client.AuthorizationV1Api(api).create_subject_access_review(review).status.allowed)


NODES = vn.node_names()
NODE_I, NODE_J = NODES[0], NODES[1]
LEASES = "leases.coordination.k8s.io"

ALLOWED = [
    ("create", "nodes", "", ""),
    *(("get", "nodes", node, "") for node in NODES),
    *(("update", LEASES, node, "kube-node-lease") for node in NODES),
    ("patch", "nodes/status", NODE_J, ""),
    ("list", "pods", "", ""),
    ("watch", "pods", "", ""),
    ("delete", "pods", "web-1", "default"),
    ("update", "pods/status", "web-1", "default"),
    ("list", "secrets", "", ""),
    ("watch", "configmaps", "", ""),
    ("list", "services", "", ""),
    ("create", "events", "", "default"),
    ("patch", "events", "web-1.abc", "default"),
    ("create", "tokenreviews.authentication.k8s.io", "", ""),
    ("create", "subjectaccessreviews.authorization.k8s.io", "", ""),
    ("create", LEASES, "", "kube-node-lease"),
    ("get", LEASES, NODE_I, "kube-node-lease"),
    ("update", LEASES, NODE_J, "kube-node-lease"),
]
DENIED = [
    ("get", "nodes", "some-other-node", ""),
    ("patch", "nodes", NODE_I, ""),
    ("delete", "nodes", NODE_I, ""),
    ("patch", "nodes/status", "some-other-node", ""),
    ("get", "secrets", "anything", "kube-system"),
    ("create", "pods", "", "default"),
    ("update", LEASES, "some-other-node", "kube-node-lease"),
    ("update", LEASES, NODE_I, "kube-system"),
]


@pytest.mark.usefixtures("applied_rbac")
def test_rbac_allows_exactly_virtual_kubelets_calls(api):
    refused = [check for check in ALLOWED if not allowed(api, *check)]
    assert refused == [], "virtual-kubelet would be forbidden these calls"
    granted = [check for check in DENIED if allowed(api, *check)]
    assert granted == [], "more than virtual-kubelet needs"


def test_applied_hashes_round_trip(api):
    """The --keep-cluster bookkeeping against a real API server: create on first record, merge after."""
    core = client.CoreV1Api(api)
    try:
        assert read_applied(core) == {}
        record_applied(core, "virtual-nodes", "a" * 64)
        record_applied(core, "istio", "b" * 64)
        record_applied(core, "virtual-nodes", "c" * 64)
        assert read_applied(core) == {"virtual-nodes": "c" * 64, "istio": "b" * 64}
    finally:
        core.delete_namespaced_config_map("vnode-kind-provider", "kube-system")

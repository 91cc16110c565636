"""What the kind provider reads from an implementation file's install.kind: manifests, Deployments,
the digest that decides a re-install, and the image-ID stamp that rolls rebuilt images."""

from __future__ import annotations

from pathlib import Path

import pytest

from vnode_harness.formats.implementation import KindInstall
from vnode_harness.providers.kind import implementation as impl
from vnode_harness.run_context import ClusterError

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: webhook, namespace: kube-system}
spec:
  selector: {matchLabels: {app: webhook}}
  template:
    metadata: {labels: {app: webhook}}
    spec:
      initContainers: [{name: certs, image: "busybox:1.37.0"}]
      containers: [{name: webhook, image: "acme:dev"}]
"""


@pytest.fixture
def root(tmp_path) -> Path:
    manifests = tmp_path / "deploy" / "manifests"
    manifests.mkdir(parents=True)
    (manifests / "10-deployment.yaml").write_text(DEPLOYMENT)
    (manifests / "00-namespace.yml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: acme}\n")
    (manifests / "README.md").write_text("not a manifest")
    (manifests / "nested").mkdir()
    (manifests / "nested" / "ignored.yaml").write_text("kind: ConfigMap\n")
    (tmp_path / "extra.json").write_text(
        '{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "a"}}'
    )
    return tmp_path


def install(**fields) -> KindInstall:
    return KindInstall.model_validate({"manifests": ["deploy/manifests/", "extra.json"], **fields})


def test_manifest_files_follow_kubectl_apply_rules(root):
    files = impl.manifest_files(install(), root)
    assert [path.relative_to(root).as_posix() for path in files] == [
        "deploy/manifests/00-namespace.yml",
        "deploy/manifests/10-deployment.yaml",
        "extra.json",
    ]


def test_a_missing_manifest_entry_is_an_error(root):
    with pytest.raises(ClusterError, match="names deploy/missing/, which does not exist"):
        impl.manifest_files(KindInstall.model_validate({"manifests": ["deploy/missing/"]}), root)


def test_deployments_and_their_images(root):
    documents = impl.manifest_documents(impl.manifest_files(install(), root))
    assert [d["kind"] for d in documents] == ["Namespace", "Deployment", "ServiceAccount"]
    assert impl.deployments_in(documents) == [
        impl.DeploymentRef(namespace="kube-system", name="webhook", images=("busybox:1.37.0", "acme:dev"))
    ]


def test_digest_follows_manifest_content_and_image_ids(root):
    spec = install()
    first = impl.install_digest(spec, root, {"acme:dev": "sha256:1"})
    assert impl.install_digest(spec, root, {"acme:dev": "sha256:1"}) == first
    assert impl.install_digest(spec, root, {"acme:dev": "sha256:2"}) != first
    (root / "extra.json").write_text(
        '{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "b"}}'
    )
    assert impl.install_digest(spec, root, {"acme:dev": "sha256:1"}) != first


def test_image_id_stamp_only_on_deployments_running_a_built_image(root):
    documents = impl.manifest_documents(impl.manifest_files(install(), root))
    stamped = impl.stamp_image_ids(documents, {"acme:dev": "sha256:1"})
    annotations = stamped[1]["spec"]["template"]["metadata"]["annotations"]
    assert set(annotations) == {impl.IMAGE_IDS_ANNOTATION}
    assert stamped[0] is documents[0]
    assert stamped[2] is documents[2]
    assert "annotations" not in documents[1]["spec"]["template"]["metadata"], "the input is not modified"
    rebuilt = impl.stamp_image_ids(documents, {"acme:dev": "sha256:2"})
    assert rebuilt[1]["spec"]["template"]["metadata"]["annotations"] != annotations
    assert impl.stamp_image_ids(documents, {"other:dev": "sha256:1"}) == documents


def test_dry_run_apply_command():
    command = impl.kubectl_apply_command(Path("/k/kubectl"), Path("/k/config"), dry_run=True)
    assert command == [
        "/k/kubectl", "--kubeconfig", "/k/config", "apply", "--server-side", "--force-conflicts",
        "--field-manager=vnode-kind-provider", "-f", "-", "--dry-run=server",
    ]  # fmt: skip

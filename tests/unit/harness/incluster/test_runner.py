"""The runner's order of things against a fake API: nothing created when the image is missing; on any
end — a lost pod here — the binding, the role and the namespace are removed, newest first."""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace as O

import pytest
import yaml
from kubernetes import client
from rich.console import Console

from vnode_harness.formats.paths import REPO_ROOT
from vnode_harness.incluster.manifests import CONTAINER
from vnode_harness.incluster.runner import EXIT_BROKEN, InClusterError, InClusterOptions, InClusterRunner


def kubeconfig(tmp_path: Path) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "c",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
            }
        )
    )
    return path


class Fake:
    """Core, RBAC and batch APIs in one: records what was created and deleted."""

    def __init__(self, *, image_on_node: bool, pod_status: O) -> None:
        self.calls: list[str] = []
        self.image_on_node = image_on_node
        self.pod_status = pod_status
        self.namespaces: set[str] = set()

    def list_node(self):
        images = [O(names=["docker.io/vnode/conformance:0.1.0"])] if self.image_on_node else []
        node = O(metadata=O(name="w"), spec=O(unschedulable=False, taints=[]), status=O(images=images))
        return O(items=[node])

    def create_namespace(self, body):
        self.namespaces.add(body["metadata"]["name"])
        self.calls.append("create namespace")

    def create_cluster_role(self, body):
        self.calls.append("create clusterrole")

    def create_cluster_role_binding(self, body):
        self.calls.append("create clusterrolebinding")

    def create_namespaced_service_account(self, namespace, body):
        self.calls.append("create serviceaccount")

    def create_namespaced_config_map(self, namespace, body):
        self.calls.append("create configmap")

    def create_namespaced_job(self, namespace, body):
        self.calls.append("create job")

    def list_namespaced_pod(self, namespace, label_selector):
        return O(items=[O(metadata=O(name="suite-pod"))])

    def read_namespaced_pod(self, name, namespace):
        return O(spec=O(node_name="w"), status=self.pod_status)

    def delete_namespace(self, name):
        self.namespaces.discard(name)
        self.calls.append("delete namespace")

    def delete_cluster_role(self, name):
        self.calls.append("delete clusterrole")

    def delete_cluster_role_binding(self, name):
        self.calls.append("delete clusterrolebinding")

    def read_namespace(self, name):
        if name not in self.namespaces:
            raise client.ApiException(status=404)
        return O()


def runner(tmp_path: Path, fake: Fake) -> InClusterRunner:
    options = InClusterOptions(
        kubeconfig=kubeconfig(tmp_path),
        implementation_file=REPO_ROOT / "implementations" / "reference.yaml",
        image="vnode/conformance:0.1.0",
        runs_dir=tmp_path / "runs",
        image_listing_timeout=1,
    )
    made = InClusterRunner(options, Console(file=io.StringIO()))
    made.core = made.rbac = made.batch = fake
    return made


OOM = O(
    phase="Failed",
    reason=None,
    message=None,
    conditions=[],
    container_statuses=[
        O(
            name=CONTAINER,
            image="vnode/conformance:0.1.0",
            state=O(terminated=O(reason="OOMKilled", exit_code=137, message=None), waiting=None),
        )
    ],
)


def test_a_missing_image_creates_nothing(tmp_path):
    fake = Fake(image_on_node=False, pod_status=OOM)
    with pytest.raises(InClusterError, match=r"is on none of the nodes .*waited 1 s"):
        runner(tmp_path, fake).execute()
    assert fake.calls == []


def test_a_lost_pod_is_broken_and_everything_is_removed_newest_first(tmp_path):
    fake = Fake(image_on_node=True, pod_status=OOM)
    outcome = runner(tmp_path, fake).execute()
    assert outcome.exit_code == EXIT_BROKEN
    assert "OOM-killed" in outcome.lost
    assert fake.calls == [
        "create namespace",
        "create clusterrole",
        "create clusterrolebinding",
        "create serviceaccount",
        "create configmap",
        "create job",
        "delete clusterrolebinding",
        "delete clusterrole",
        "delete namespace",
    ]
    assert fake.namespaces == set()

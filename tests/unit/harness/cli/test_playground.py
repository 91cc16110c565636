"""The playground guide: the KUBECONFIG export and the documents' own commands."""

from __future__ import annotations

from vnode_harness.cli.playground import playground_guide
from vnode_harness.formats.implementation import load_implementation
from vnode_harness.formats.paths import REPO_ROOT
from vnode_harness.run_context import ClusterHandle

REPO = REPO_ROOT


def test_the_guide_exports_kubeconfig_and_lists_the_documents_commands(tmp_path):
    handle = ClusterHandle(
        name="dev", provider="local", kubeconfig=tmp_path / "kubeconfig", logs_dir=tmp_path
    )
    guide = playground_guide(handle, load_implementation(REPO / "implementations" / "reference.yaml"), None)
    assert f"  export KUBECONFIG={tmp_path / 'kubeconfig'}" in guide.splitlines()
    for command in (
        "kubectl run nginx --image nginx -l alibabacloud.com/eci=true",
        "kubectl get pod -o wide",
        "kubectl edit configmap eci-profile -n kube-system",
    ):
        assert f"  {command}" in guide
    assert guide.rstrip().endswith("vnode cluster down dev")

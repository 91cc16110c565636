"""At `down`, a component whose pods are gone keeps the log that was followed during the run (the kind
run's implementation log was 0 bytes: it is scaled to zero before the logs are collected)."""

from __future__ import annotations

import textwrap

from vnode_harness.formats.implementation import load_implementation
from vnode_harness.formats.paths import REPO_ROOT
from vnode_harness.providers.kind import virtual_nodes as vn
from vnode_harness.providers.kind.logs import ComponentLogs

KUBECTL_WITHOUT_IMPLEMENTATION_PODS = textwrap.dedent(
    """\
    #!/bin/sh
    # kubectl logs as the cluster answers it at down: the Deployments' pods still log, the
    # implementation's label selector matches no pod any more (an empty answer, exit 0).
    case "$*" in
      *deployment/*) echo "2026-12-06T10:00:00Z whole log of $*" ;;
    esac
    """
)


def test_a_followed_log_survives_a_component_without_pods(tmp_path):
    kubectl = tmp_path / "kubectl"
    kubectl.write_text(KUBECTL_WITHOUT_IMPLEMENTATION_PODS)
    kubectl.chmod(0o755)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("{}")
    implementation = load_implementation(REPO_ROOT / "implementations" / "reference.yaml")
    logs = ComponentLogs(tmp_path / "logs", tmp_path / "pids", kubeconfig, False, implementation, kubectl)
    logs.logs_dir.mkdir()
    logs.pid_dir.mkdir()
    followed = logs.paths()[implementation.metadata.project]
    followed.write_text("webhook: admitted pod vnc-1/p\n")

    logs.collect()

    assert followed.read_text() == "webhook: admitted pod vnc-1/p\n"
    node = vn.node_names()[0]
    assert logs.paths()[node].read_text().startswith("2026-12-06T10:00:00Z whole log of ")

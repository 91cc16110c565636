"""The playground: a local cluster with an implementation running, to try the documents' kubectl steps.

`vnode cluster up --implementation FILE` starts the implementation (its `install.local` command) next
to the persistent local cluster and records it in the cluster's own pid directory, so it outlives the
CLI like the cluster does and `vnode cluster down NAME` stops both. Before handing over, the same
readiness check as a conformance run proves the implementation routes a labelled pod to a virtual node.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from vnode_harness.formats.implementation import Implementation
from vnode_harness.lifecycle.readiness import check_cluster_ready
from vnode_harness.plumbing.kube import api_client
from vnode_harness.providers.local.implementation import LocalImplementation, start_local_implementation
from vnode_harness.run_context import ClusterHandle

TRY_COMMANDS = (
    ("kubectl run nginx --image nginx -l alibabacloud.com/eci=true", "an ECI pod (ASM document)"),
    ("kubectl get pod -o wide", "NODE is a virtual-kubelet-… virtual node"),
    ("kubectl run plain --image nginx", "no label: a regular (kwok-worker-…) node"),
    ("kubectl get configmap eci-profile -n kube-system -o yaml", "the profile (eci-profile document)"),
    ("kubectl edit configmap eci-profile -n kube-system", "change selectors or parameters: applied hot"),
)
"""The seed documents' own commands, in the order a newcomer tries them."""


def start_playground_implementation(
    implementation: Implementation,
    handle: ClusterHandle,
    cluster_directory: Path,
    pid_dir: Path,
    *,
    with_istio: bool,
) -> LocalImplementation:
    """Start the implementation beside the cluster and wait until it is ready, as a run would."""
    workdir = cluster_directory / "implementation"
    workdir.mkdir(parents=True, exist_ok=True)
    started = start_local_implementation(implementation, handle, workdir, pid_dir=pid_dir)
    checked = implementation
    if not with_istio and implementation.supports("mesh"):  # --no-istio: no injector to wait for
        checked = implementation.model_copy(
            update={"features": [name for name in implementation.features if name != "mesh"]}
        )
    with api_client(handle.kubeconfig, "playground") as api:
        check_cluster_ready(api, checked, float(implementation.limits.webhook_configuration_seconds))
    return started


def playground_guide(handle: ClusterHandle, implementation: Implementation, kubectl: Path | None) -> str:
    """What to paste into a shell to try the cluster, and what each step shows."""
    lines = [
        f"{implementation.metadata.project} {implementation.metadata.version} is running on local cluster "
        f"{handle.name}; try the documents' own steps:",
        "",
        f"  export KUBECONFIG={handle.kubeconfig}",
    ]
    if kubectl is not None and shutil.which("kubectl") is None:
        lines.append(f'  export PATH="{kubectl.parent}:$PATH"    # the pinned kubectl')
    width = max(len(command) for command, _ in TRY_COMMANDS)
    lines.extend(f"  {command.ljust(width)}   # {what}" for command, what in TRY_COMMANDS)
    lines += [
        "",
        f"Logs: {handle.logs_dir}. Stop the cluster and the implementation: vnode cluster down {handle.name}",
    ]
    return "\n".join(lines)

"""The kind cluster's component logs: followed into files while the run goes on, collected at `down`.

The components (the virtual-kubelets, istiod, the implementation's pods) log inside the cluster;
`kubectl logs --follow` per component writes each into the file the ClusterHandle names, so the run's
diagnostics can attach the logs of a failing test while the run goes on. kind's own node logs are
exported when `up` fails.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from vnode_harness.formats.implementation import Implementation, ImplementationPods
from vnode_harness.plumbing.processes import start_process, stop_recorded
from vnode_harness.providers.kind import commands
from vnode_harness.providers.kind import virtual_nodes as vn
from vnode_harness.providers.kind.istio import ISTIOD
from vnode_harness.providers.topology import ISTIO_NAMESPACE
from vnode_harness.run_context import ClusterError


@dataclass(frozen=True)
class ComponentLogs:
    logs_dir: Path
    pid_dir: Path
    """Where the `kubectl logs --follow` processes are recorded (stopped by `collect`)."""
    kubeconfig: Path
    with_istio: bool
    implementation: Implementation | None
    kubectl: Path | None
    """None until the provider resolved kubectl: then there is nothing to follow or collect."""

    def paths(self) -> dict[str, Path]:
        """component → its log file."""
        paths = {name: self.logs_dir / f"{name}.log" for name in vn.node_names()}
        if self.with_istio:
            paths["istiod"] = self.logs_dir / "istiod.log"
        own = self._implementation_pods()
        if own is not None:
            project, _ = own
            paths[project] = self.logs_dir / f"{project}.log"
        return paths

    def follow(self, *, implementation: bool) -> None:
        """`kubectl logs --follow` per component into its file: the cluster's own components once they
        run, the implementation's pods once it is installed (`implementation=True`)."""
        paths = self.paths()
        own = self._implementation_pods()
        project = own[0] if own is not None else None
        for component, arguments in self._targets().items():
            if (component == project) != implementation:
                continue
            command = self._kubectl_logs(arguments, follow=True)
            start_process(f"logs-{component}", command, log=paths[component], pid_dir=self.pid_dir)

    def collect(self) -> None:
        """Stop following, then write each component's whole log where the cluster still has one.

        A component whose pods are gone (the implementation scaled to zero at `stop_implementation`)
        has no log left in the cluster: its followed file is kept, never overwritten with nothing."""
        stop_recorded(self.pid_dir)
        if self.kubectl is None or not self.kubeconfig.is_file():
            return
        paths = self.paths()
        for component, arguments in self._targets().items():
            command = self._kubectl_logs(arguments, follow=False)
            with contextlib.suppress(ClusterError):
                whole = commands.run(command, what=f"kubectl logs of {component}")
                if whole.strip():
                    paths[component].write_text(whole)

    def _implementation_pods(self) -> tuple[str, ImplementationPods] | None:
        """(project, where its pods are) when the implementation declares pods in the cluster."""
        if self.implementation is None or self.implementation.observation.implementation_pods is None:
            return None
        return self.implementation.metadata.project, self.implementation.observation.implementation_pods

    def _targets(self) -> dict[str, list[str]]:
        """kubectl logs arguments per component (the logs live in the cluster until `down`)."""
        targets: dict[str, list[str]] = {
            name: ["-n", vn.NAMESPACE, f"deployment/{name}"] for name in vn.node_names()
        }
        if self.with_istio:
            targets["istiod"] = ["-n", ISTIO_NAMESPACE, f"deployment/{ISTIOD}"]
        own = self._implementation_pods()
        if own is not None:
            project, pods = own
            targets[project] = [
                "-n", pods.namespace, "-l", pods.label_selector, "--prefix", "--tail=-1",
            ]  # fmt: skip
        return targets

    def _kubectl_logs(self, arguments: list[str], *, follow: bool) -> list[str]:
        assert self.kubectl is not None
        flags = ["--follow"] if follow else []
        return [str(self.kubectl), "--kubeconfig", str(self.kubeconfig), "logs", *flags, *arguments,
                "--all-containers", "--timestamps"]  # fmt: skip


def export_kind_logs(kind: Path, cluster_name: str, logs_dir: Path, console: Console) -> None:
    """`kind export logs` of the nodes (best effort: after a failed `up` the nodes may be gone)."""
    target = logs_dir / "kind-export"
    with contextlib.suppress(ClusterError):
        commands.run([str(kind), "export", "logs", str(target), f"--name={cluster_name}"],
                     what="kind export logs", timeout=300)  # fmt: skip
        console.print(f"kind's node logs: {target}")

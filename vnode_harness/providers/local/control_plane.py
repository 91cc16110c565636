"""The control plane of the local environment: kwokctl's `binary` runtime with our own built binaries.

kwokctl runs etcd, kube-apiserver, kube-controller-manager, kube-scheduler and the kwok controller as
host processes and supervises them (pid files, logs, `kwokctl delete cluster`), so the harness does
not write a process supervisor for them. What we configure on top:
- every port chosen by us (under the machine-wide start lock) and bound to 127.0.0.1 only;
- the API server authenticates to kubelets (our virtual-kubelet nodes) with the admin client
  certificate, because those nodes require client certificates signed by the cluster CA;
- the kwok controller manages only nodes annotated `kwok.x-k8s.io/node=fake` — the regular workers —
  and never the virtual-kubelet nodes;
- the kubeconfig is written inside the cluster directory, never into ~/.kube/config.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from vnode_harness.formats import versions
from vnode_harness.plumbing.processes import log_tail
from vnode_harness.run_context import ClusterError
from vnode_harness.toolchain import Toolchain

KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node"
CONTROL_PLANE_COMPONENTS = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok-controller",
)


@dataclass(frozen=True)
class ControlPlanePorts:
    apiserver: int
    etcd: int
    etcd_peer: int
    controller_manager: int
    scheduler: int
    kwok_controller: int

    @property
    def all(self) -> tuple[int, ...]:
        return (
            self.apiserver,
            self.etcd,
            self.etcd_peer,
            self.controller_manager,
            self.scheduler,
            self.kwok_controller,
        )


@dataclass(frozen=True)
class ControlPlane:
    """Where kwokctl keeps one cluster: its workdir (KWOK_WORKDIR) and the cluster name inside it."""

    name: str
    workdir: Path
    toolchain: Toolchain

    @property
    def cluster_dir(self) -> Path:
        return self.workdir / "clusters" / self.name

    @property
    def kubeconfig(self) -> Path:
        return self.cluster_dir / "kubeconfig.yaml"

    @property
    def pki_dir(self) -> Path:
        return self.cluster_dir / "pki"

    def component_log(self, component: str) -> Path:
        return self.cluster_dir / "logs" / f"{component}.log"

    def _env(self) -> dict[str, str]:
        return {**os.environ, "KWOK_WORKDIR": str(self.workdir)}

    def _config(self, ports: ControlPlanePorts) -> str:
        binaries = self.toolchain
        pki = self.pki_dir
        documents = [
            {
                "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
                "kind": "KwokctlConfiguration",
                "options": {
                    "runtime": "binary",
                    "kubeVersion": versions.KUBERNETES,
                    "bindAddress": "127.0.0.1",
                    "kubeApiserverBinary": str(binaries["kube-apiserver"]),
                    "kubeControllerManagerBinary": str(binaries["kube-controller-manager"]),
                    "kubeSchedulerBinary": str(binaries["kube-scheduler"]),
                    "kwokControllerBinary": str(binaries["kwok"]),
                    "etcdBinary": str(binaries["etcd"]),
                    "kubectlBinary": str(binaries["kubectl"]),
                    "kubeApiserverPort": ports.apiserver,
                    "etcdPort": ports.etcd,
                    "etcdPeerPort": ports.etcd_peer,
                    "kubeControllerManagerPort": ports.controller_manager,
                    "kubeSchedulerPort": ports.scheduler,
                    "kwokControllerPort": ports.kwok_controller,
                },
                "componentsPatches": [
                    {
                        "name": "kube-apiserver",
                        "extraArgs": [
                            {"key": "kubelet-client-certificate", "value": str(pki / "admin.crt")},
                            {"key": "kubelet-client-key", "value": str(pki / "admin.key")},
                        ],
                    },
                    # One instance of each, and no kubelet to restart it: with leader election on, a
                    # kube-apiserver outage longer than the renew deadline (10 s) makes them exit for good.
                    *(
                        {"name": name, "extraArgs": [{"key": "leader-elect", "value": "false"}]}
                        for name in ("kube-controller-manager", "kube-scheduler")
                    ),
                    {
                        # kwokctl passes --manage-all-nodes=true, which the selector flag conflicts with.
                        "name": "kwok-controller",
                        "extraArgs": [
                            {"key": "manage-all-nodes", "value": "false", "override": True},
                            {
                                "key": "manage-nodes-with-annotation-selector",
                                "value": f"{KWOK_NODE_ANNOTATION}=fake",
                            },
                        ],
                    },
                ],
            },
        ]
        return yaml.safe_dump_all(documents, sort_keys=False)

    def create(self, ports: ControlPlanePorts, timeout_seconds: int = 120) -> None:
        """Create and start the cluster; on failure, name the component whose log shows why."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        config_path = self.workdir / "kwokctl.yaml"
        config_path.write_text(self._config(ports))
        log = self.workdir / "kwokctl-create.log"
        command = [
            str(self.toolchain["kwokctl"]),
            "--config",
            str(config_path),
            "create",
            "cluster",
            "--name",
            self.name,
            "--kubeconfig",
            str(self.workdir / "kubeconfig-kwokctl.yaml"),
            "--wait",
            f"{timeout_seconds}s",
        ]
        with open(log, "w") as out:
            try:
                result = subprocess.run(
                    command,
                    env=self._env(),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    timeout=timeout_seconds + 30,
                    check=False,
                )
            except subprocess.TimeoutExpired as error:
                raise ClusterError(
                    f"kwokctl did not finish creating the control plane in {timeout_seconds + 30} s; "
                    f"its log: {log}\n{self._component_diagnosis()}"
                ) from error
        if result.returncode != 0:
            raise ClusterError(
                f"kwokctl could not create the control plane (exit {result.returncode}); its log: {log}\n"
                f"{log_tail(log, 8)}\n{self._component_diagnosis()}"
            )

    def _component_diagnosis(self) -> str:
        """The last log lines of every control-plane component, to name the one that failed."""
        parts = []
        for component in CONTROL_PLANE_COMPONENTS:
            log = self.component_log(component)
            if log.exists():
                parts.append(f"--- {component} ({log}):\n{log_tail(log, 5)}")
        return "\n".join(parts)

    def delete(self) -> None:
        """Stop every control-plane process and remove kwokctl's state (idempotent)."""
        if not self.cluster_dir.exists():
            return
        pids = []
        for pid_file in (self.cluster_dir / "pids").glob("*.pid"):
            with contextlib.suppress(OSError, ValueError):
                pids.append(int(pid_file.read_text().strip()))
        subprocess.run(
            [str(self.toolchain["kwokctl"]), "delete", "cluster", "--name", self.name],
            env=self._env(),
            capture_output=True,
            timeout=120,
            check=False,
        )
        # kwokctl signals its components and returns before they exit: wait, so that `down` really
        # leaves no process and no listening port behind, and kill what ignores the signal.
        deadline = time.monotonic() + 15
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        for pid in pids:
            if _alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status

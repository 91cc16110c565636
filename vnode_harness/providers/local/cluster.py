"""The `local` provider: a real cluster of upstream binaries as host processes — no Docker, no registry.

Topology (like an ACK cluster with virtual nodes): a kwokctl control plane; two regular worker nodes
simulated by kwok (one per zone of the cluster's region); three virtual-kubelet mock nodes, one per zone
(providers/topology.py); istiod on the host.
Every cluster lives in its own directory under the system temp dir (state, certificates, etcd data)
and writes its component logs under the run's reports directory. A state file records the owner's pid,
so a cluster whose owner died (a crashed or killed test run) is torn down by the next `up` or by
`vnode cluster down`; `down` removes every process, port and directory the cluster had.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client
from rich.console import Console

from vnode_harness.formats import versions
from vnode_harness.formats.names import ISTIO_INJECTION, ISTIO_SIDECAR
from vnode_harness.plumbing.console import make_console
from vnode_harness.plumbing.hostnet import port_is_listening, reserved_ports
from vnode_harness.plumbing.kube import api_client
from vnode_harness.plumbing.probes import PROVIDER_PROBE_NAMESPACE, probe_pod
from vnode_harness.plumbing.processes import (
    RecordedProcess,
    exited_early,
    output_tail,
    pid_alive,
    stop_recorded,
)
from vnode_harness.plumbing.waits import WaitTimeout, wait_for
from vnode_harness.providers.local import istio
from vnode_harness.providers.local.control_plane import ControlPlane, ControlPlanePorts
from vnode_harness.providers.local.virtual_nodes import (
    VirtualNodeSpec,
    regular_node_manifest,
    start_virtual_node,
)
from vnode_harness.providers.topology import ISTIO_NAMESPACE, REGULAR_ZONES, ZONES, label_virtual_node
from vnode_harness.run_context import ClusterError, ClusterHandle
from vnode_harness.toolchain import Toolchain, resolve_toolchain

STATE_FILE = "state.json"


IMPLEMENTATION_PIDS = "implementation-pids"
"""Where, in a cluster's directory, the provider records the implementation it started beside it: apart
from the cluster's components (a dead implementation is the implementation's fault, not the
environment's), yet stopped with the cluster, also when an orphaned cluster is reaped."""


def clusters_root() -> Path:
    return Path(tempfile.gettempdir()) / f"vnode-clusters-{os.getuid()}"


PERSISTENT_OWNER = -1
"""owner_pid of a cluster started by `vnode cluster up`: it outlives the CLI and is only removed by
`vnode cluster down`."""


def _owner_alive(state: dict[str, Any]) -> bool:
    pid = int(state.get("owner_pid", 0))
    if pid == PERSISTENT_OWNER:
        return True
    return pid_alive(pid)


STATELESS_GRACE_SECONDS = 60.0
"""A cluster directory without its state file is taken for an orphan only after this long: a cluster
being created writes its state right after making the directory (shards start in parallel, and each
start reaps orphans first)."""


def _just_made(directory: Path) -> bool:
    try:
        return time.time() - directory.stat().st_mtime < STATELESS_GRACE_SECONDS
    except OSError:
        return False


def list_clusters() -> list[dict[str, Any]]:
    """State of every local cluster of this user on this machine, with `owner_alive` filled in."""
    states: list[dict[str, Any]] = []
    root = clusters_root()
    if not root.exists():
        return states
    for directory in sorted(root.iterdir()):
        state_path = directory / STATE_FILE
        try:
            state = json.loads(state_path.read_text())
        except (OSError, ValueError):
            state = {"name": directory.name, "owner_pid": 0}
            if _just_made(directory):  # another shard of this machine is creating it right now
                state["owner_pid"] = os.getpid()
        state["owner_alive"] = _owner_alive(state)
        states.append(state)
    return states


class LocalCluster:
    """Python API of the local provider: `with LocalCluster() as handle: …` or `up()` / `down()`."""

    name = "local"

    def __init__(
        self,
        cluster_name: str | None = None,
        *,
        logs_dir: Path | None = None,
        console: Console | None = None,
        with_istio: bool = True,
        owner_pid: int | None = None,
    ) -> None:
        self.cluster_name = cluster_name or f"vnode-{uuid.uuid4().hex[:6]}"
        self.directory = clusters_root() / self.cluster_name
        self.logs_dir = (logs_dir or Path("reports") / "clusters" / self.cluster_name).resolve()
        self.console = console or make_console(stderr=True)
        self.with_istio = with_istio
        self.owner_pid = owner_pid or os.getpid()
        self._toolchain: Toolchain | None = None

    # --- lifecycle -----------------------------------------------------------------------------

    def __enter__(self) -> ClusterHandle:
        return self.up()

    def __exit__(self, *exc_info: object) -> None:
        self.down()

    @property
    def pid_dir(self) -> Path:
        return self.directory / "pids"

    def _control_plane(self, toolchain: Toolchain) -> ControlPlane:
        return ControlPlane(name=self.cluster_name, workdir=self.directory / "kwok", toolchain=toolchain)

    def up(self) -> ClusterHandle:
        """Start everything and return once every node is Ready and istiod injects; or fail naming why."""
        reap_orphaned_clusters(self.console)
        toolchain = self._toolchain = resolve_toolchain(console=self.console)
        if self.directory.exists():
            raise ClusterError(f"a local cluster named {self.cluster_name} already exists ({self.directory})")
        started = time.monotonic()
        self.directory.mkdir(parents=True)
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        self._write_state({"phase": "starting"})
        try:
            with self.console.status(f"starting local cluster {self.cluster_name}") as status:
                handle = self._start(toolchain, status.update)
        except BaseException:
            self.console.print(f"[red]local cluster {self.cluster_name} failed to start; tearing down")
            self.down()
            raise
        self.console.print(
            f"[green]local cluster {self.cluster_name} ready[/green] in {time.monotonic() - started:.1f} s "
            f"(kubeconfig {handle.kubeconfig})"
        )
        return handle

    def _start(self, toolchain: Toolchain, progress: Any) -> ClusterHandle:
        control_plane = self._control_plane(toolchain)
        with reserved_ports(6 + 2 * len(ZONES) + 6) as ports:
            cp_ports = ControlPlanePorts(*ports[:6])
            node_specs = [
                VirtualNodeSpec(zone, ports[6 + 2 * index], ports[7 + 2 * index])
                for index, zone in enumerate(ZONES)
            ]
            istiod_ports = istio.IstiodPorts(*ports[6 + 2 * len(ZONES) :])
            self._write_state({"phase": "starting", "ports": ports})
            progress("control plane: etcd, kube-apiserver, controller-manager, scheduler, kwok")
            control_plane.create(cp_ports)
            kubeconfig = control_plane.kubeconfig
            progress("virtual nodes: virtual-kubelet mock provider")
            processes = [
                start_virtual_node(
                    spec,
                    binary=toolchain["virtual-kubelet"],
                    kubeconfig=kubeconfig,
                    cluster_ca=control_plane.pki_dir / "ca.crt",
                    workdir=self.directory,
                    logs_dir=self.logs_dir,
                    pid_dir=self.pid_dir,
                )
                for spec in node_specs
            ]
            if self.with_istio:
                istio_documents = istio.point_injector_at(
                    istio.render_manifests(toolchain["istioctl"]), istiod_ports.injection_url
                )
                self._apply_istio_configuration(kubeconfig, toolchain, istio_documents)
                progress("istiod (pilot-discovery) on the host")
                processes.append(
                    istio.start_istiod(
                        binary=toolchain["pilot-discovery"],
                        kubeconfig=kubeconfig,
                        ports=istiod_ports,
                        workdir=self.directory / "istiod",
                        logs_dir=self.logs_dir,
                        pid_dir=self.pid_dir,
                    )
                )
            listening = [(p, spec.kubelet_port) for p, spec in zip(processes, node_specs, strict=False)]
            if self.with_istio:
                listening.append((processes[-1], istiod_ports.https))
            self._wait_listening(listening)
        api = api_client(kubeconfig, "local-provider")
        core = client.CoreV1Api(api)
        progress("regular worker nodes (kwok)")
        for index, zone in enumerate(REGULAR_ZONES):
            manifest = regular_node_manifest(f"kwok-worker-{index + 1}", zone)
            core.create_node(manifest)
        progress("waiting for every node to be Ready")
        self._wait_nodes_ready(core, [spec.name for spec in node_specs], processes)
        for spec in node_specs:
            label_virtual_node(core, spec.zone)
        if self.with_istio:
            progress("waiting for istiod to inject sidecars")
            self._wait_injection(core, processes[-1])
        handle = ClusterHandle(
            name=self.cluster_name,
            provider="local",
            kubeconfig=kubeconfig,
            logs_dir=self.logs_dir,
            kubernetes_version=versions.KUBERNETES,
            component_logs=self._component_logs(control_plane, processes),
            facts={
                "apiserverPort": str(cp_ports.apiserver),
                "virtualNodes": ",".join(spec.name for spec in node_specs),
                "istio": versions.ISTIO_LABEL if self.with_istio else "not installed",
                "istiodInjectionUrl": istiod_ports.injection_url if self.with_istio else "",
                "kwok": versions.KWOK,
                "virtualKubelet": versions.VIRTUAL_KUBELET_BUILD,
                "etcd": versions.ETCD,
            },
            process_dir=self.pid_dir,
            control_plane_pid_dir=control_plane.cluster_dir / "pids",
        )
        self._write_state({"phase": "running", "ports": ports, "handle": handle.to_json()})
        return handle

    def _component_logs(
        self, control_plane: ControlPlane, processes: list[RecordedProcess]
    ) -> dict[str, str]:
        logs = {component: str(self.logs_dir / f"{component}.log") for component in _control_plane_names()}
        logs.update({process.name: str(process.log) for process in processes})
        # The control plane logs live in kwokctl's directory while the cluster runs; `down` copies them.
        logs.update(
            {component: str(control_plane.component_log(component)) for component in _control_plane_names()}
        )
        return logs

    def _wait_listening(self, processes: list[tuple[RecordedProcess, int]]) -> None:
        for process, port in processes:

            def probe(process: RecordedProcess = process, port: int = port) -> tuple[bool | None, str]:
                failure = exited_early(process)
                if failure:
                    raise failure
                return (True if port_is_listening(port) else None), f"{process.name} not listening on {port}"

            wait_for(f"{process.name} to listen on 127.0.0.1:{port}", probe, timeout=60)

    def _apply_istio_configuration(
        self, kubeconfig: Path, toolchain: Toolchain, documents: list[Any]
    ) -> None:
        core = client.CoreV1Api(api_client(kubeconfig, "local-provider"))
        for namespace, labels in (
            (ISTIO_NAMESPACE, {}),
            (PROVIDER_PROBE_NAMESPACE, dict(ISTIO_INJECTION)),
        ):
            core.create_namespace({"metadata": {"name": namespace, "labels": labels}})
        kubectl_apply(toolchain["kubectl"], kubeconfig, documents, field_manager="vnode-local-provider")

    def _wait_nodes_ready(
        self, core: client.CoreV1Api, virtual: list[str], processes: list[RecordedProcess]
    ) -> None:
        expected = {*virtual, *(f"kwok-worker-{index + 1}" for index in range(len(REGULAR_ZONES)))}

        def probe() -> tuple[bool | None, str]:
            for process in processes:
                failure = exited_early(process)
                if failure:
                    raise failure
            ready = {
                node.metadata.name
                for node in core.list_node().items
                if any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])
            }
            missing = sorted(expected - ready)
            return (True if not missing else None), f"not Ready yet: {', '.join(missing)}"

        wait_for("every node to be Ready", probe, timeout=90, hint="kubectl get nodes")

    def _wait_injection(self, core: client.CoreV1Api, istiod: RecordedProcess) -> None:
        pod: Any = probe_pod()  # the client serialises a plain dict as it is

        def probe() -> tuple[bool | None, str]:
            failure = exited_early(istiod)
            if failure:
                raise failure
            try:
                created = core.create_namespaced_pod(PROVIDER_PROBE_NAMESPACE, pod, dry_run="All")
            except client.ApiException as error:
                return None, f"dry-run pod creation failed: {error.status} {error.reason}"
            names = [c.name for c in created.spec.containers]
            return (True if ISTIO_SIDECAR in names else None), f"containers after admission: {names}"

        try:
            wait_for(
                "istiod to inject sidecars",
                probe,
                timeout=90,
                hint="kubectl get mutatingwebhookconfigurations",
            )
        except WaitTimeout as error:
            raise ClusterError(f"{error}; istiod log: {istiod.log}") from error

    # --- teardown --------------------------------------------------------------------------------

    def down(self) -> None:
        """Stop every process, keep the logs under the reports dir, remove the cluster directory."""
        toolchain = self._toolchain or resolve_toolchain(["kwok"], console=self.console, allow_build=False)
        ports: list[int] = []
        with contextlib.suppress(OSError, ValueError):
            ports = list(json.loads((self.directory / STATE_FILE).read_text()).get("ports", []))
        stop_recorded(self.directory / IMPLEMENTATION_PIDS)
        stop_recorded(self.pid_dir)
        control_plane = self._control_plane(toolchain)
        if control_plane.cluster_dir.exists():
            self.logs_dir.mkdir(parents=True, exist_ok=True)
            for component in _control_plane_names():
                with contextlib.suppress(OSError):
                    shutil.copyfile(
                        control_plane.component_log(component), self.logs_dir / f"{component}.log"
                    )
            control_plane.delete()
        shutil.rmtree(self.directory, ignore_errors=True)
        # A listening socket outlives its exited process for a moment while the kernel tears it down;
        # `down` returns only once every port of the cluster is free again.
        deadline = time.monotonic() + 15
        while any(port_is_listening(port) for port in ports) and time.monotonic() < deadline:
            time.sleep(0.05)

    def _write_state(self, extra: dict[str, Any]) -> None:
        state = {
            "name": self.cluster_name,
            "owner_pid": self.owner_pid,
            "directory": str(self.directory),
            "logs_dir": str(self.logs_dir),
            **extra,
        }
        # Atomically: a run starting its shards in parallel reaps orphans meanwhile, and must never read
        # a half-written state (it would take the cluster for an orphan and remove it).
        partial = self.directory / f".{STATE_FILE}.{os.getpid()}.{threading.get_ident()}"
        partial.write_text(json.dumps(state, indent=2))
        partial.replace(self.directory / STATE_FILE)


def _control_plane_names() -> tuple[str, ...]:
    from vnode_harness.providers.local.control_plane import CONTROL_PLANE_COMPONENTS

    return CONTROL_PLANE_COMPONENTS


def kubectl_apply(kubectl: Path, kubeconfig: Path, documents: list[Any], *, field_manager: str) -> None:
    """Server-side apply of a list of objects with the pinned kubectl (CRDs and all)."""
    result = subprocess.run(
        [
            str(kubectl),
            "--kubeconfig",
            str(kubeconfig),
            "apply",
            "--server-side",
            "--force-conflicts",
            f"--field-manager={field_manager}",
            "-f",
            "-",
        ],
        input=yaml.safe_dump_all(documents),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise ClusterError(f"kubectl apply failed: {output_tail(result.stderr)}")


def reap_orphaned_clusters(console: Console) -> None:
    """Tear down local clusters whose owning process is gone (a crashed or killed run)."""
    for state in list_clusters():
        if state["owner_alive"]:
            continue
        console.print(f"[yellow]removing orphaned local cluster {state['name']} (its owner process is gone)")
        LocalCluster(
            state["name"], logs_dir=Path(state.get("logs_dir") or "reports/clusters"), console=console
        ).down()


@contextlib.contextmanager
def local_cluster(**kwargs: Any) -> Iterator[ClusterHandle]:
    cluster = LocalCluster(**kwargs)
    try:
        yield cluster.up()
    finally:
        cluster.down()

"""The `kind` provider: a kind cluster (Kubernetes in Docker) with the local provider's topology.

Topology: one kind control plane and one kind worker in zone cn-hangzhou-i (kind-config/cluster.yaml);
two virtual-kubelet mock nodes, one per zone, as Deployments on the worker (virtual_nodes.py); Istio's
minimal profile with istiod in the cluster (istio.py); then, when given, the implementation under test
from its implementation file (implementation.py).

The cluster is made with pytest-kind's `KindCluster` (create, `kind load docker-image`, delete), but
kind and kubectl are only ever taken from explicit paths (`--kind-bin`, `--kind-kubectl-bin`) or PATH:
pytest-kind would download them when given no path, and a certification run must not depend on
whatever a download served that day.

Lifecycle: a fresh cluster per run (`vnode-<random>`), deleted by `down`, also after a failed `up`
(`down` is idempotent). With `keep_cluster`, the cluster (default name `vnode-kept`) survives the run
and the next run reuses it: every install step records a digest of what it applied in the
`kube-system/vnode-kind-provider` ConfigMap, and a step whose digest is unchanged (and whose workload
is healthy) is skipped. A run that dies without `down` is cleaned up by the next `up` on this machine:
each cluster's state file names its owner process.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import yaml
from kubernetes import client
from pytest_kind import KindCluster
from rich.console import Console

from vnode_harness import versions
from vnode_harness.implementation import Implementation
from vnode_harness.kind_images import BuiltImageSet, ImageBuildError, build_image_set
from vnode_harness.kind_images.engine import image_id
from vnode_harness.kube import api_client
from vnode_harness.processes import pid_alive, start_process, stop_recorded
from vnode_harness.providers.base import ClusterError, ClusterHandle
from vnode_harness.providers.kind import commands, istio
from vnode_harness.providers.kind import virtual_nodes as vn
from vnode_harness.providers.kind.docker import docker_available
from vnode_harness.providers.kind.implementation import apply_documents, install_implementation
from vnode_harness.providers.kind.objects import annotations_of, has_condition, name_of
from vnode_harness.providers.local.istio import ISTIO_NAMESPACE
from vnode_harness.toolchain import ToolchainError, resolve_toolchain
from vnode_harness.waits import WaitTimeout, wait_for

REPOSITORY_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_CONFIG = REPOSITORY_ROOT / "kind-config" / "cluster.yaml"
IMAGE_SETS = ("auto", "built", "upstream")
KEPT_CLUSTER_NAME = "vnode-kept"
"""Default name with `keep_cluster`: a stable name is what lets the next run find the cluster again."""
STATE_CONFIGMAP = "vnode-kind-provider"
STATE_NAMESPACE = "kube-system"
APPLIED_HASH_PREFIX = "vnode.dev/applied-hash."
FIELD_MANAGER = "vnode-kind-provider"

INSTALL_KIND = (
    f"install kind {versions.KIND} (`go install sigs.k8s.io/kind@{versions.KIND}`, or the release binary for "
    "your platform from the kind project's releases) and put it on PATH, or pass --kind-bin PATH"
)
INSTALL_KUBECTL = (
    "install kubectl (any release within one minor of Kubernetes 1.35) or pass --kind-kubectl-bin PATH"
)


class KindOptions(Protocol):
    """The run options the kind provider reads (vnode_harness.run.RunOptions has them)."""

    @property
    def run_dir(self) -> Path: ...
    @property
    def cluster_name(self) -> str | None: ...
    @property
    def keep_cluster(self) -> bool: ...
    @property
    def kind_bin(self) -> str | None: ...
    @property
    def kind_kubectl_bin(self) -> str | None: ...
    @property
    def kind_image(self) -> str | None: ...
    @property
    def kind_images(self) -> str: ...


def kind_state_root() -> Path:
    """Per-user directory of kind cluster state (kubeconfig, owner) on this machine."""
    return Path(tempfile.gettempdir()) / f"vnode-kind-{os.getuid()}"


def resolve_binary(explicit: Path | None, name: str, how_to_install: str, *, component: str | None = None,
                   console: Console | None = None) -> Path:  # fmt: skip
    """An explicit path (must be an executable file), the binary on PATH, or the toolchain's own build
    of the pinned version from Go modules (`component`; built on first use); never a download."""
    if explicit is not None:
        path = explicit.expanduser()
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise ClusterError(f"{path} is not an executable file: {how_to_install}")
        return path.resolve()
    found = shutil.which(name)
    if found is not None:
        return Path(found)
    if component is None:
        raise ClusterError(f"the kind provider needs {name}, which is not on PATH: {how_to_install}")
    try:
        return resolve_toolchain([component], console=console)[name]
    except ToolchainError as error:
        raise ClusterError(
            f"{name} is not on PATH and could not be built ({error}): {how_to_install}"
        ) from error


def choose_image_set(requested: str, explicit_node_image: bool) -> tuple[str, str]:
    """(built|upstream, reason). `auto` takes the pinned upstream images only where they are already in
    Docker (a run never reaches for a registry on its own); otherwise it builds them here."""
    if requested not in IMAGE_SETS:
        raise ClusterError(f"unknown --kind-images {requested!r}; choose one of {', '.join(IMAGE_SETS)}")
    if requested != "auto":
        return requested, f"--kind-images {requested} was requested"
    if explicit_node_image:
        return "upstream", "--kind-image names the node image"
    if image_id(versions.KIND_NODE_IMAGE):
        return "upstream", f"the pinned upstream node image {versions.KIND_NODE_IMAGE} is in Docker"
    return "built", (
        "the pinned upstream node image is not in Docker, so every image is built here from package "
        "registries (`--kind-images upstream` pulls the upstream ones instead)"
    )


def virtual_nodes_digest(virtual_kubelet_image_id: str) -> str:
    """The manifests and the image (the toolchain's virtual-kubelet, built by `vnode kind images`)."""
    payload = vn.manifests_digest() + virtual_kubelet_image_id
    return hashlib.sha256(payload.encode()).hexdigest()


def cgroup_v1_host() -> bool:
    """cgroup v1 (or hybrid) host: no unified hierarchy's cgroup.controllers at the root (kind's own
    entrypoint asks the same question)."""
    return not Path("/sys/fs/cgroup/cgroup.controllers").is_file()


def has_cap_sys_resource() -> bool:
    """CAP_SYS_RESOURCE (bit 24) in this process's capability bounding set."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapBnd:"):
            return bool(int(line.split()[1], 16) >> 24 & 1)
    return True


def effective_config(config_file: Path, *, cgroup_v1: bool, restrict_oom_score_adj: bool) -> dict[str, Any]:
    """kind-config/cluster.yaml with what this host needs:
    - cgroup v1: Kubernetes 1.35's kubelet refuses cgroup v1 unless `failCgroupV1: false` (kind then
      warns that cgroup v1 is deprecated, and goes on);
    - no CAP_SYS_RESOURCE in the bounding set: containerd must not raise oom_score_adj (kind's
      entrypoint does the same on rootless hosts), or every static pod's sandbox fails to start."""
    config: dict[str, Any] = yaml.safe_load(config_file.read_text()) or {}
    if cgroup_v1:
        config.setdefault("kubeadmConfigPatches", []).append(
            "kind: KubeletConfiguration\nfailCgroupV1: false\n"
        )
    if restrict_oom_score_adj:
        config.setdefault("containerdConfigPatches", []).append(
            '[plugins."io.containerd.grpc.v1.cri"]\n  restrict_oom_score_adj = true\n'
        )
    return config


def kind_clusters(kind: Path) -> list[str]:
    return commands.run([str(kind), "get", "clusters"], what="kind get clusters", timeout=60).split()


def reap_orphaned_clusters(kind: Path, console: Console) -> None:
    """Delete clusters that a run created, did not keep, and could not delete because it died."""
    root = kind_state_root()
    if not root.is_dir():
        return
    existing: list[str] | None = None
    for state_file in sorted(root.glob("*/state.json")):
        try:
            state = json.loads(state_file.read_text())
        except (OSError, ValueError):
            continue
        if state.get("keep") or pid_alive(int(state.get("owner_pid", 0))):
            continue
        name = str(state.get("name", state_file.parent.name))
        stop_recorded(state_file.parent / "pids")
        existing = kind_clusters(kind) if existing is None else existing
        if name in existing:
            console.print(f"[yellow]deleting orphaned kind cluster {name} (the run that made it is gone)")
            commands.run(
                [str(kind), "delete", "cluster", f"--name={name}"], what=f"kind delete cluster {name}"
            )
        shutil.rmtree(state_file.parent, ignore_errors=True)


def _kind_node_count(config_file: Path) -> int:
    nodes = (yaml.safe_load(config_file.read_text()) or {}).get("nodes") or [{}]
    return len(nodes)


class KindProvider:
    """Python API of the kind provider: `up()` → ClusterHandle, `down()` (idempotent)."""

    name = "kind"

    def __init__(
        self,
        cluster_name: str | None = None,
        *,
        keep_cluster: bool = False,
        kind_bin: Path | None = None,
        kubectl_bin: Path | None = None,
        implementation: Implementation | None = None,
        implementation_root: Path | None = None,
        logs_dir: Path | None = None,
        console: Console | None = None,
        with_istio: bool = True,
        config_file: Path = DEFAULT_CONFIG,
        node_image: str | None = None,
        image_set: str = "auto",
    ) -> None:
        self.cluster_name = cluster_name or (
            KEPT_CLUSTER_NAME if keep_cluster else f"vnode-{uuid.uuid4().hex[:6]}"
        )
        self.keep_cluster = keep_cluster
        self.kind_bin = kind_bin
        self.kubectl_bin = kubectl_bin
        self.implementation = implementation
        self.implementation_root = implementation_root or Path.cwd()
        self.logs_dir = (logs_dir or Path("reports") / "clusters" / self.cluster_name).resolve()
        self.console = console or Console(stderr=True)
        self.with_istio = with_istio
        self.config_file = config_file
        self.explicit_node_image = node_image
        self.node_image = node_image or versions.KIND_NODE_IMAGE
        self.image_set = image_set
        self.images: BuiltImageSet | None = None
        self.directory = kind_state_root() / self.cluster_name
        self.kubeconfig = self.directory / "kubeconfig"
        self._cluster: KindCluster | None = None
        self._kubectl: Path | None = None
        self._down = False

    @classmethod
    def from_options(
        cls, options: KindOptions, implementation: Implementation | None, *, console: Console | None = None
    ) -> KindProvider:
        """The provider for a conformance run: pytest-kind's options (--cluster-name, --keep-cluster,
        --kind-bin, --kind-kubectl-bin, --kind-image) and the implementation under test."""
        return cls(
            options.cluster_name,
            keep_cluster=options.keep_cluster,
            kind_bin=Path(options.kind_bin) if options.kind_bin else None,
            kubectl_bin=Path(options.kind_kubectl_bin) if options.kind_kubectl_bin else None,
            implementation=implementation,
            logs_dir=options.run_dir / "cluster",
            console=console,
            node_image=options.kind_image,
            image_set=options.kind_images,
        )

    # --- lifecycle -----------------------------------------------------------------------------

    def __enter__(self) -> ClusterHandle:
        return self.up()

    def __exit__(self, *exc_info: object) -> None:
        self.down()

    def up(self) -> ClusterHandle:
        """Create (or, with keep_cluster, reuse) the cluster and return once the topology is ready."""
        if not self.config_file.is_file():
            raise ClusterError(
                f"kind configuration {self.config_file} is missing (run from a suite checkout)"
            )
        usable, reason = docker_available()
        if not usable:
            raise ClusterError(
                f"the kind provider needs a running Docker Engine: {reason} (on a sandboxed host "
                "`bash .ci/docker-engine.sh` installs and starts one)"
            )
        kind = resolve_binary(self.kind_bin, "kind", INSTALL_KIND, component="kind", console=self.console)
        kubectl = self._kubectl = resolve_binary(
            self.kubectl_bin, "kubectl", INSTALL_KUBECTL, component="kubernetes", console=self.console
        )
        kind_version = self._kind_version(kind)
        self.images = self._prepare_images()
        reap_orphaned_clusters(kind, self.console)
        started = time.monotonic()
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        try:
            handle = self._start(kind, kubectl, kind_version)
        except BaseException:
            self.console.print(f"[red]kind cluster {self.cluster_name} failed to start")
            self._export_kind_logs(kind)
            with contextlib.suppress(ClusterError):
                self.down()
            raise
        self.console.print(
            f"[green]kind cluster {self.cluster_name} ready[/green] in {time.monotonic() - started:.0f} s "
            f"(kubeconfig {handle.kubeconfig})"
        )
        return handle

    def _prepare_images(self) -> BuiltImageSet:
        chosen, reason = choose_image_set(self.image_set, self.explicit_node_image is not None)
        self.image_set = chosen
        self.console.print(f"kind image set: [bold]{chosen}[/bold] ({reason})")
        try:
            images = build_image_set(self.console, upstream=chosen == "upstream")
        except ImageBuildError as error:
            raise ClusterError(str(error)) from error
        if self.explicit_node_image is None:
            self.node_image = images.node_image
        return images

    def _kind_version(self, kind: Path) -> str:
        output = commands.run([str(kind), "version"], what="kind version", timeout=30).strip()
        if versions.KIND not in output.split():
            self.console.print(
                f"[yellow]{kind} is `{output}`, not kind {versions.KIND}: the node image "
                f"{versions.KIND_NODE_IMAGE} is only guaranteed with kind {versions.KIND}"
            )
        return output

    def _start(self, kind: Path, kubectl: Path, kind_version: str) -> ClusterHandle:
        reused = self._create_or_reuse(kind, kubectl)
        api = api_client(self.kubeconfig, "kind-provider")
        core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
        self._wait_kind_nodes(core)
        assert self.images is not None
        for image in self.images.load_images:
            self._load_image(image)
        for daemonset in apps.list_namespaced_daemon_set("kube-system").items:
            apps.patch_namespaced_daemon_set(name_of(daemonset), "kube-system", vn.daemonset_patch())
        applied = self._applied(core)
        self._install_virtual_nodes(api, kubectl, applied.get("virtual-nodes"))
        if self.with_istio:
            self._install_istio(api, applied.get("istio"))
        if self.implementation is not None:
            self.console.print(f"installing {self.implementation.metadata.project} (install.kind)")
            digest = install_implementation(
                self.implementation,
                api=api,
                kubeconfig=self.kubeconfig,
                kubectl=kubectl,
                load_image=self._load_image,
                root=self.implementation_root,
                logs_dir=self.logs_dir,
                workdir=self.directory / "implementation",
                applied_digest=applied.get("implementation"),
            )
            self._record_applied(core, "implementation", digest)
        version = client.VersionApi(api).get_code().git_version
        self._follow_component_logs()
        images = self.images
        return ClusterHandle(
            name=self.cluster_name,
            provider="kind",
            kubeconfig=self.kubeconfig,
            logs_dir=self.logs_dir,
            kubernetes_version=version,
            component_logs={component: str(path) for component, path in self._component_log_paths().items()},
            facts={
                "kind": kind_version,
                "nodeImage": self.node_image,
                "virtualNodes": ",".join(vn.node_names()),
                "virtualKubelet": versions.VIRTUAL_KUBELET_BUILD,
                "istio": versions.ISTIO_LABEL if self.with_istio else "not installed",
                "istioProxy": f"{images.istio_hub}/proxyv2:{images.istio_tag}" if self.with_istio else "",
                "reusedCluster": str(reused).lower(),
                "keepCluster": str(self.keep_cluster).lower(),
                "imageSet": self.image_set,
                "testImage": images.test_image,
                "cgroupVersion": "v1" if cgroup_v1_host() else "v2",
                **{f"image:{name}": image for name, image in images.image_ids.items()},
                **{f"standIn:{name}": what for name, what in images.stand_ins.items()},
                **self._implementation_images(),
            },
        )

    def _implementation_images(self) -> dict[str, str]:
        """The implementation's own images (install.kind.images), as facts for the report."""
        install = self.implementation.install.kind if self.implementation is not None else None
        return {
            f"image:{image.name}": image_id(image.name) or "" for image in (install.images if install else [])
        }

    def _create_or_reuse(self, kind: Path, kubectl: Path) -> bool:
        """Create the cluster through pytest-kind, or reuse an existing one when keeping; True if reused."""
        exists = self.cluster_name in kind_clusters(kind)
        if exists and not self.keep_cluster:
            raise ClusterError(
                f"a kind cluster named {self.cluster_name} already exists and is not ours to delete: pass "
                "--keep-cluster to reuse it, choose another --cluster-name, or `kind delete cluster "
                f"--name {self.cluster_name}`"
            )
        self.directory.mkdir(parents=True, exist_ok=True)
        self._write_state()
        self._cluster = self._kind_cluster(kind, kubectl)
        if exists:
            self.console.print(f"reusing kind cluster {self.cluster_name} (--keep-cluster)")
            commands.run(
                [
                    str(kind),
                    "export",
                    "kubeconfig",
                    f"--name={self.cluster_name}",
                    f"--kubeconfig={self.kubeconfig}",
                ],
                what="kind export kubeconfig",
            )
        else:
            self.console.print(
                f"creating kind cluster {self.cluster_name} with {self.node_image} (kind's output follows)"
            )
        config = effective_config(
            self.config_file, cgroup_v1=cgroup_v1_host(), restrict_oom_score_adj=not has_cap_sys_resource()
        )
        config_path = self.directory / "kind-config.yaml"
        config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        try:
            self._cluster.create(config_path)
        except subprocess.CalledProcessError as error:
            raise ClusterError(
                f"`kind create cluster` failed (exit {error.returncode}); kind's output is above"
            ) from error
        except Exception as error:
            raise ClusterError(
                f"kind cluster {self.cluster_name}: {type(error).__name__}: {error}"
            ) from error
        return exists

    def _kind_cluster(self, kind: Path, kubectl: Path) -> KindCluster:
        cluster = KindCluster(
            self.cluster_name,
            kubeconfig=self.kubeconfig,
            image=self.node_image,
            kind_path=kind,
            kubectl_path=kubectl,
        )
        # KindCluster makes a scratch directory .pytest-kind/<name> in the working directory, unused when
        # every path is given: leave no trace in the checkout.
        scratch = Path(".pytest-kind") / self.cluster_name
        for directory in (scratch, scratch.parent):
            with contextlib.suppress(OSError):
                directory.rmdir()
        if Path(cluster.kind_path) != kind or Path(cluster.kubectl_path) != kubectl:
            raise ClusterError(
                "pytest-kind ignored the kind/kubectl paths and would download its own; refusing"
            )
        return cluster

    def _load_image(self, image: str) -> None:
        """`kind load docker-image` into the workers only: the control plane keeps its NoSchedule taint
        when the cluster has workers, so no pod of ours runs there (half the copying on 2 nodes)."""
        assert self._cluster is not None
        workers = self._worker_nodes()
        self.console.print(f"loading {image} into {', '.join(workers)}")
        command = [str(self._cluster.kind_path), "load", "docker-image", "--name", self.cluster_name,
                   "--nodes", ",".join(workers), image]  # fmt: skip
        commands.run(command, what=f"kind load docker-image {image}", timeout=600)

    def _worker_nodes(self) -> list[str]:
        """kind's names for the configured worker nodes (<cluster>-worker, -worker2, …)."""
        nodes = (yaml.safe_load(self.config_file.read_text()) or {}).get("nodes") or []
        count = sum(1 for node in nodes if node.get("role") == "worker")
        return [f"{self.cluster_name}-worker{'' if i == 1 else i}" for i in range(1, count + 1)] or [
            f"{self.cluster_name}-control-plane"
        ]

    def _wait_kind_nodes(self, core: client.CoreV1Api) -> None:
        expected = _kind_node_count(self.config_file)
        virtual = set(vn.node_names())

        def probe() -> tuple[bool | None, str]:
            nodes = [n for n in core.list_node().items if name_of(n) not in virtual]
            ready = [name_of(n) for n in nodes if has_condition(n, "Ready")]
            return (True if len(ready) >= expected else None), f"{len(ready)}/{expected} kind nodes Ready"

        self._wait("the kind nodes to be Ready", probe, timeout=240, hint="kubectl get nodes")

    def _install_virtual_nodes(self, api: client.ApiClient, kubectl: Path, applied: str | None) -> None:
        core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
        assert self.images is not None
        digest = virtual_nodes_digest(self.images.image_ids[vn.IMAGE])
        if digest != applied or not self._virtual_kubelets_available(apps):
            self._load_image(vn.IMAGE)
            documents = vn.manifests(vn.make_serving_certificate())
            apply_documents(kubectl, self.kubeconfig, documents, what="kubectl apply of the virtual nodes",
                            log=self.logs_dir / "install-virtual-nodes.log")  # fmt: skip
        names = vn.node_names()

        def probe() -> tuple[bool | None, str]:
            nodes = {name_of(n): n for n in core.list_node().items if name_of(n) in names}
            waiting = [name for name in names if name not in nodes or not has_condition(nodes[name], "Ready")]
            return (True if not waiting else None), f"not registered and Ready yet: {waiting}"

        self._wait("the virtual nodes to be Ready", probe, timeout=240,
                   hint=f"kubectl -n {vn.NAMESPACE} get pods; kubectl get nodes")  # fmt: skip
        vn.label_virtual_nodes(core)
        self._record_applied(core, "virtual-nodes", digest)

    def _virtual_kubelets_available(self, apps: client.AppsV1Api) -> bool:
        try:
            deployments = apps.list_namespaced_deployment(vn.NAMESPACE).items
        except client.ApiException:
            return False
        available = {name_of(d) for d in deployments if has_condition(d, "Available")}
        return set(vn.node_names()) <= available

    def _install_istio(self, api: client.ApiClient, applied: str | None) -> None:
        assert self.images is not None
        hub, tag = self.images.istio_hub, self.images.istio_tag
        digest = istio.install_digest(hub, tag)
        available, _ = istio.istiod_available(client.AppsV1Api(api))
        if digest != applied or not available:
            istioctl = resolve_toolchain(["istio"], console=self.console)["istioctl"]
            self.console.print(f"installing Istio ({versions.ISTIO_LABEL}, minimal profile) with istioctl")
            istio.install(istioctl, self.kubeconfig, self.logs_dir / "istioctl-install.log", hub=hub, tag=tag)
        istio.wait_ready(api)
        self._record_applied(client.CoreV1Api(api), "istio", digest)

    def _wait(
        self, description: str, probe: Callable[[], tuple[bool | None, object]], *, timeout: float, hint: str
    ) -> None:
        try:
            wait_for(description, probe, timeout=timeout, hint=hint)
        except WaitTimeout as error:
            raise ClusterError(str(error)) from error

    # --- what was applied (for --keep-cluster reuse) --------------------------------------------

    def _applied(self, core: client.CoreV1Api) -> dict[str, str]:
        try:
            configmap = core.read_namespaced_config_map(STATE_CONFIGMAP, STATE_NAMESPACE)
        except client.ApiException as error:
            if error.status == 404:
                return {}
            raise
        annotations = annotations_of(configmap)
        return {
            key.removeprefix(APPLIED_HASH_PREFIX): value
            for key, value in annotations.items()
            if key.startswith(APPLIED_HASH_PREFIX)
        }

    def _record_applied(self, core: client.CoreV1Api, component: str, digest: str) -> None:
        body: Any = {  # the client serialises a plain dict as it is
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": STATE_CONFIGMAP,
                "namespace": STATE_NAMESPACE,
                "annotations": {APPLIED_HASH_PREFIX + component: digest},
            },
        }
        try:
            core.patch_namespaced_config_map(STATE_CONFIGMAP, STATE_NAMESPACE, body)
        except client.ApiException as error:
            if error.status != 404:
                raise
            core.create_namespaced_config_map(STATE_NAMESPACE, body)

    # --- logs and teardown --------------------------------------------------------------------

    def _component_log_paths(self) -> dict[str, Path]:
        paths = {name: self.logs_dir / f"{name}.log" for name in vn.node_names()}
        if self.with_istio:
            paths["istiod"] = self.logs_dir / "istiod.log"
        if (
            self.implementation is not None
            and self.implementation.observation.implementation_pods is not None
        ):
            project = self.implementation.metadata.project
            paths[project] = self.logs_dir / f"{project}.log"
        return paths

    def _log_commands(self) -> dict[str, list[str]]:
        """kubectl logs arguments per component (the logs live in the cluster until `down`)."""
        targets: dict[str, list[str]] = {
            name: ["-n", vn.NAMESPACE, f"deployment/{name}"] for name in vn.node_names()
        }
        if self.with_istio:
            targets["istiod"] = ["-n", ISTIO_NAMESPACE, f"deployment/{istio.ISTIOD}"]
        if (
            self.implementation is not None
            and self.implementation.observation.implementation_pods is not None
        ):
            pods = self.implementation.observation.implementation_pods
            targets[self.implementation.metadata.project] = [
                "-n", pods.namespace, "-l", pods.label_selector, "--prefix", "--tail=-1",
            ]  # fmt: skip
        return targets

    def _kubectl_logs(self, arguments: list[str], *, follow: bool) -> list[str]:
        assert self._kubectl is not None
        flags = ["--follow"] if follow else []
        return [str(self._kubectl), "--kubeconfig", str(self.kubeconfig), "logs", *flags, *arguments,
                "--all-containers", "--timestamps"]  # fmt: skip

    def _follow_component_logs(self) -> None:
        """`kubectl logs --follow` per component into its file, so the run's diagnostics can attach the
        logs of a failing test while the run goes on (the files the handle's component_logs name)."""
        paths = self._component_log_paths()
        for component, arguments in self._log_commands().items():
            command = self._kubectl_logs(arguments, follow=True)
            start_process(f"logs-{component}", command, log=paths[component], pid_dir=self.directory / "pids")

    def collect_component_logs(self) -> None:
        """Stop following, then write each component's whole log (best effort: a missing pod has none)."""
        stop_recorded(self.directory / "pids")
        if self._kubectl is None or not self.kubeconfig.is_file():
            return
        paths = self._component_log_paths()
        for component, arguments in self._log_commands().items():
            command = self._kubectl_logs(arguments, follow=False)
            with contextlib.suppress(ClusterError):
                paths[component].write_text(commands.run(command, what=f"kubectl logs of {component}"))

    def _export_kind_logs(self, kind: Path) -> None:
        if self._cluster is None:
            return
        target = self.logs_dir / "kind-export"
        with contextlib.suppress(ClusterError):
            commands.run([str(kind), "export", "logs", str(target), f"--name={self.cluster_name}"],
                         what="kind export logs", timeout=300)  # fmt: skip
            self.console.print(f"kind's node logs: {target}")

    def down(self) -> None:
        """Collect the component logs, then delete the cluster unless it is kept. Safe to call twice."""
        if self._down:
            return
        self._down = True
        if self._cluster is None:
            return  # up() never got as far as creating anything
        self.collect_component_logs()
        if self.keep_cluster:
            self.console.print(
                f"kept kind cluster {self.cluster_name} (kubeconfig {self.kubeconfig}); delete it with "
                f"`kind delete cluster --name {self.cluster_name}`"
            )
            return
        try:
            self._cluster.delete()
        except (subprocess.CalledProcessError, OSError) as error:
            raise ClusterError(
                f"could not delete kind cluster {self.cluster_name} ({error}); delete it with "
                f"`kind delete cluster --name {self.cluster_name}`"
            ) from error
        shutil.rmtree(self.directory, ignore_errors=True)

    def _write_state(self) -> None:
        state = {"name": self.cluster_name, "owner_pid": os.getpid(), "keep": self.keep_cluster,
                 "logs_dir": str(self.logs_dir)}  # fmt: skip
        (self.directory / "state.json").write_text(json.dumps(state, indent=2))

"""The `kind` provider: a kind cluster (Kubernetes in Docker) with the local provider's topology.

Topology (vnode_harness.providers.topology, shared with the local provider): one kind node, the
control plane, which is also the regular worker in zone cn-hangzhou-i (kind-config/cluster.yaml,
config.py); three virtual-kubelet mock nodes, one per zone, as Deployments on it (virtual_nodes.py);
Istio's minimal profile with istiod in the cluster (istio.py); then, when given, the implementation
under test from its implementation file (implementation.py). Component logs: logs.py.

The cluster is made with pytest-kind's `KindCluster` (create, `kind load docker-image`, delete), but
kind and kubectl are only ever taken from explicit paths (`--kind-bin`, `--kind-kubectl-bin`), PATH or
the toolchain (host.py): pytest-kind would download them when given no path, and a certification run
must not depend on whatever a download served that day.

Lifecycle: a fresh cluster per run (`vnode-<random>`), deleted by `down`, also after a failed `up`
(`down` is idempotent). With `keep_cluster`, the cluster (default name `vnode-kept`) survives the run
and the next run reuses it: every install step records a digest of what it applied in the
`kube-system/vnode-kind-provider` ConfigMap (applied.py), and a step whose digest is unchanged (and
whose workload is healthy) is skipped. A run that dies without `down` is cleaned up by the next `up` on
this machine: each cluster's state file names its owner process (state.py).
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import yaml
from kubernetes import client
from pytest_kind import KindCluster
from rich.console import Console

from vnode_harness.formats import versions
from vnode_harness.formats.implementation import Implementation, ProviderName
from vnode_harness.plumbing.console import make_console
from vnode_harness.plumbing.kube import api_client
from vnode_harness.plumbing.phases import PhaseClock
from vnode_harness.plumbing.together import run_together
from vnode_harness.providers.base import HostProcessIdentity
from vnode_harness.providers.kind import commands
from vnode_harness.providers.kind import virtual_nodes as vn
from vnode_harness.providers.kind.applied import read_applied, record_applied
from vnode_harness.providers.kind.capacity import check_cpu_headroom
from vnode_harness.providers.kind.config import (
    DEFAULT_CONFIG,
    cgroup_v1_host,
    effective_config,
    has_cap_sys_resource,
    kind_node_count,
    worker_nodes,
)
from vnode_harness.providers.kind.docker import docker_available
from vnode_harness.providers.kind.host import (
    INSTALL_KIND,
    INSTALL_KUBECTL,
    checked_kind_version,
    choose_image_set,
    kind_cluster,
    resolve_binary,
)
from vnode_harness.providers.kind.images import BuiltImageSet, ImageBuildError, build_image_set
from vnode_harness.providers.kind.implementation import (
    build_images,
    image_id,
    implementation_image_facts,
    install_implementation,
)
from vnode_harness.providers.kind.istio import NODE_REQUEST_SETTINGS
from vnode_harness.providers.kind.logs import ComponentLogs, export_kind_logs
from vnode_harness.providers.kind.objects import has_condition, name_of
from vnode_harness.providers.kind.state import (
    kind_clusters,
    kind_state_root,
    reap_orphaned_clusters,
    write_state,
)
from vnode_harness.providers.kind.topology_install import cluster_wait, install_istio, install_virtual_nodes
from vnode_harness.run_context import ClusterError, ClusterHandle, RunOptions
from vnode_harness.testapi.implementation_pods import stop_declared_pods

KEPT_CLUSTER_NAME = "vnode-kept"
"""Default name with `keep_cluster`: a stable name is what lets the next run find the cluster again."""


class KindProvider:
    """Python API of the kind provider: `up()` → ClusterHandle, `install_implementation(handle)`,
    `stop_implementation()`, `down()` (idempotent)."""

    name: ProviderName = "kind"

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
        self.keeps_cluster = keep_cluster
        self.kind_bin = kind_bin
        self.kubectl_bin = kubectl_bin
        self.implementation = implementation
        self.implementation_root = implementation_root or Path.cwd()
        self.logs_dir = (logs_dir or Path("reports") / "clusters" / self.cluster_name).resolve()
        self.console = console or make_console(stderr=True)
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
        self._loaded: dict[str, str] = {}
        """image name → the Docker image ID loaded into the nodes: a later step loads it only if changed."""

    @classmethod
    def from_options(
        cls, options: RunOptions, implementation: Implementation | None, *, console: Console | None = None
    ) -> KindProvider:
        """The provider for a conformance run: pytest-kind's options (--cluster-name, --keep-cluster,
        --kind-bin, --kind-kubectl-bin, --kind-image) and the implementation under test."""
        return cls(
            options.shard_cluster_name
            or (f"{KEPT_CLUSTER_NAME}-{options.shard}" if options.keep_cluster and options.shard else None),
            keep_cluster=options.keep_cluster,
            kind_bin=Path(options.kind_bin) if options.kind_bin else None,
            kubectl_bin=Path(options.kind_kubectl_bin) if options.kind_kubectl_bin else None,
            implementation=implementation,
            logs_dir=options.cluster_logs_dir,
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
        kind_version = checked_kind_version(kind, self.console)
        self.images = self._prepare_images()
        reap_orphaned_clusters(kind, self.console)
        started = time.monotonic()
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        try:
            handle = self._start(kind, kubectl, kind_version)
        except BaseException:
            self.console.print(f"[red]kind cluster {self.cluster_name} failed to start")
            if self._cluster is not None:
                export_kind_logs(kind, self.cluster_name, self.logs_dir, self.console)
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

    def _start(self, kind: Path, kubectl: Path, kind_version: str) -> ClusterHandle:
        steps = PhaseClock()  # where a kind cluster's start goes: the lever of a kind run's time
        with steps.phase("create"):
            reused = self._create_or_reuse(kind, kubectl)
        assert self.images is not None
        inside = self._inside_node_image(reused)
        with steps.phase("image loads"):  # the node's containerd takes images before the node is Ready
            every_image = [*self.images.load_images, vn.IMAGE, *self._implementation_images()]
            self._load_images([image for image in dict.fromkeys(every_image) if image not in inside])
        api = api_client(self.kubeconfig, "kind-provider")
        core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
        with steps.phase("nodes Ready"):
            self._wait_kind_nodes(core)
        for daemonset in apps.list_namespaced_daemon_set("kube-system").items:
            apps.patch_namespaced_daemon_set(name_of(daemonset), "kube-system", vn.daemonset_patch())
        applied = read_applied(core)
        images = self.images

        def virtual_nodes() -> None:
            with steps.phase("virtual nodes"):
                install_virtual_nodes(
                    api,
                    kubectl=kubectl,
                    kubeconfig=self.kubeconfig,
                    image_id=images.image_ids[vn.IMAGE],
                    load_image=self._load_image,
                    logs_dir=self.logs_dir,
                    applied=applied.get("virtual-nodes"),
                )

        def istio() -> None:
            with steps.phase("Istio"):
                install_istio(
                    api,
                    kubeconfig=self.kubeconfig,
                    hub=images.istio_hub,
                    tag=images.istio_tag,
                    settings=images.istio_settings,
                    logs_dir=self.logs_dir,
                    applied=applied.get("istio"),
                    console=self.console,
                )

        # Independent, and both mostly waiting for pods: together they take the longer one's time.
        with steps.phase("virtual nodes and Istio together"):
            run_together({"virtual nodes": virtual_nodes, **({"Istio": istio} if self.with_istio else {})})
        self.console.print(f"kind cluster {self.cluster_name} start, {steps.summary()}", highlight=False)
        version = client.VersionApi(api).get_code().git_version
        self._component_logs().follow(implementation=False)
        return ClusterHandle(
            name=self.cluster_name,
            provider="kind",
            kubeconfig=self.kubeconfig,
            logs_dir=self.logs_dir,
            kubernetes_version=version,
            component_logs={name: str(path) for name, path in self._component_logs().paths().items()},
            facts={
                "kind": kind_version,
                "nodeImage": self.node_image,
                "virtualNodes": ",".join(vn.node_names()),
                "virtualKubelet": versions.VIRTUAL_KUBELET_BUILD,
                "istio": versions.ISTIO_LABEL if self.with_istio else "not installed",
                "istioProxy": f"{images.istio_hub}/proxyv2:{images.istio_tag}" if self.with_istio else "",
                "istioSettings": " ".join((*NODE_REQUEST_SETTINGS, *images.istio_settings))
                if self.with_istio
                else "",
                "reusedCluster": str(reused).lower(),
                "keepCluster": str(self.keeps_cluster).lower(),
                "imageSet": self.image_set,
                "testImage": images.test_image,
                "cgroupVersion": "v1" if cgroup_v1_host() else "v2",
                **{f"image:{name}": image for name, image in images.image_ids.items()},
                **{f"standIn:{name}": what for name, what in images.stand_ins.items()},
            },
        )

    def install_implementation(self, cluster: ClusterHandle) -> HostProcessIdentity:
        """Install the implementation from its file's `install.kind` (skipped when a kept cluster has
        it already), then follow its pods' logs with the other components'. It runs in the cluster: {}."""
        api = api_client(self.kubeconfig, "kind-provider")
        core = client.CoreV1Api(api)
        if self.implementation is None:
            self._check_cpu_headroom(core, cluster)
            return {}
        assert self._kubectl is not None, "up() first"
        self.console.print(f"installing {self.implementation.metadata.project} (install.kind)")
        started = time.monotonic()
        digest = install_implementation(
            self.implementation,
            api=api,
            kubeconfig=self.kubeconfig,
            kubectl=self._kubectl,
            load_image=self._load_image,
            root=self.implementation_root,
            logs_dir=self.logs_dir,
            workdir=self.directory / "implementation",
            applied_digest=read_applied(core).get("implementation"),
        )
        record_applied(core, "implementation", digest)
        self.console.print(
            f"{self.implementation.metadata.project} installed in {time.monotonic() - started:.1f} s "
            f"(kind cluster {self.cluster_name})"
        )
        self._component_logs().follow(implementation=True)
        cluster.component_logs.update(
            {name: str(path) for name, path in self._component_logs().paths().items()}
        )
        cluster.facts.update(implementation_image_facts(self.implementation))
        self._check_cpu_headroom(core, cluster)
        return {}

    def _check_cpu_headroom(self, core: client.CoreV1Api, cluster: ClusterHandle) -> None:
        """Once all of ours runs, the nodes must still place the run's pods (capacity.py); the report's
        environment says what was requested."""
        headroom = check_cpu_headroom(core, worker_nodes(self.config_file, self.cluster_name))
        self.console.print(f"kind cluster {self.cluster_name}: {headroom}", highlight=False)
        cluster.facts["nodeCpuRequests"] = headroom

    def stop_implementation(self) -> str | None:
        """Scale the implementation's declared pods to zero (the cluster is deleted next; nothing
        scales them back). Raises ValueError, WaitTimeout or ApiException when it cannot."""
        if self.implementation is None:
            return None
        api = api_client(self.kubeconfig, "implementation-down")
        timeout = float(self.implementation.limits.pod_running_seconds)
        return "the harness stopped the implementation: " + stop_declared_pods(
            api, self.implementation, timeout
        )

    def _create_or_reuse(self, kind: Path, kubectl: Path) -> bool:
        """Create the cluster through pytest-kind, or reuse an existing one when keeping; True if reused."""
        exists = self.cluster_name in kind_clusters(kind)
        if exists and not self.keeps_cluster:
            raise ClusterError(
                f"a kind cluster named {self.cluster_name} already exists and is not ours to delete: pass "
                "--keep-cluster to reuse it, choose another --cluster-name, or `kind delete cluster "
                f"--name {self.cluster_name}`"
            )
        self.directory.mkdir(parents=True, exist_ok=True)
        write_state(self.directory, name=self.cluster_name, keep=self.keeps_cluster, logs_dir=self.logs_dir)
        self._cluster = kind_cluster(
            self.cluster_name, kubeconfig=self.kubeconfig, image=self.node_image, kind=kind, kubectl=kubectl
        )
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

    def _implementation_images(self) -> list[str]:
        """The implementation's images, built now so that the start's one load carries them (with the
        virtual-kubelet image when the node image lacks it: they share its Debian base). A build that
        fails here is left to the install, whose error names the implementation rather than the
        cluster."""
        install = self.implementation.install.kind if self.implementation is not None else None
        if install is None or not install.images:
            return []
        try:
            return list(build_images(install.images, self.implementation_root, self.logs_dir))
        except ClusterError:
            return []

    def _inside_node_image(self, reused: bool) -> list[str]:
        """The images the nodes have from the node image (BuiltImageSet.preloaded), recorded as loaded.
        None when the nodes may come from another image: a reused cluster (created by an earlier run,
        perhaps from an older node image) or an explicit `--kind-image`."""
        assert self.images is not None
        if reused or self.node_image != self.images.node_image:
            return []
        inside = [image for image in self.images.preloaded if image in self.images.image_ids]
        self._loaded.update({image: self.images.image_ids[image] for image in inside})
        return inside

    def _load_image(self, image: str) -> None:
        """Load one image unless the start loaded it already with the same content."""
        if image in self._loaded and self._loaded[image] == image_id(image):
            return
        self._load_images([image])

    def _load_images(self, images: Sequence[str]) -> None:
        """`kind load docker-image` into the nodes that run our pods (config.worker_nodes: the one
        node, or the workers when a configuration has some). Several images go in one call: one
        archive, so the layers they share (the Debian base) are sent once. None: no call, which kind
        would refuse."""
        if not images:
            return
        assert self._cluster is not None
        workers = worker_nodes(self.config_file, self.cluster_name)
        self.console.print(f"loading {', '.join(images)} into {', '.join(workers)}")
        command = [str(self._cluster.kind_path), "load", "docker-image", "--name", self.cluster_name,
                   "--nodes", ",".join(workers), *images]  # fmt: skip
        commands.run(command, what=f"kind load docker-image {' '.join(images)}", timeout=600)
        self._loaded.update({image: image_id(image) for image in images})

    def _wait_kind_nodes(self, core: client.CoreV1Api) -> None:
        expected = kind_node_count(self.config_file)
        virtual = set(vn.node_names())

        def probe() -> tuple[bool | None, str]:
            nodes = [n for n in core.list_node().items if name_of(n) not in virtual]
            ready = [name_of(n) for n in nodes if has_condition(n, "Ready")]
            return (True if len(ready) >= expected else None), f"{len(ready)}/{expected} kind nodes Ready"

        cluster_wait("the kind nodes to be Ready", probe, timeout=240, hint="kubectl get nodes")

    # --- logs and teardown --------------------------------------------------------------------

    def _component_logs(self) -> ComponentLogs:
        return ComponentLogs(
            logs_dir=self.logs_dir,
            pid_dir=self.directory / "pids",
            kubeconfig=self.kubeconfig,
            with_istio=self.with_istio,
            implementation=self.implementation,
            kubectl=self._kubectl,
        )

    def collect_component_logs(self) -> None:
        """Stop following, then write each component's whole log (best effort: a missing pod has none)."""
        self._component_logs().collect()

    def down(self) -> None:
        """Collect the component logs, then delete the cluster unless it is kept. Safe to call twice."""
        if self._down:
            return
        self._down = True
        if self._cluster is None:
            return  # up() never got as far as creating anything
        self.collect_component_logs()
        if self.keeps_cluster:
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

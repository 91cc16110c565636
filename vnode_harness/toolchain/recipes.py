"""How each upstream component is built from Go modules: one declarative recipe per component.

Every component is built the same way, through a throw-away *wrapper module* that requires the
upstream module at its pinned version and `go build`s its commands. The wrapper is what makes
Kubernetes and etcd buildable at all: their own go.mod files `replace` sibling modules with local
paths, which `go install pkg@version` refuses, while a requiring module simply ignores them. For
Kubernetes the wrapper must also pin every staging module (k8s.io/api, client-go, …) to the matching
v0.X.Y release; that list is read from the release's own go.mod at build time, so it cannot drift.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from vnode_harness.formats import versions

PATCH_DIR = Path(__file__).parent / "patches"
"""Fixes applied to an upstream module before it is built, as unified diffs relative to its root."""


@dataclass(frozen=True)
class VersionProbe:
    """How to ask a built binary for its version, to accept a binary found on PATH or in VNODE_BIN_DIR."""

    args: tuple[str, ...]
    expected: str
    """A substring the probe's output must contain for the binary to be the pinned version."""


@dataclass(frozen=True)
class Binary:
    """One executable of a component: its name on disk, its Go package and how to check its version."""

    name: str
    package: str
    probe: VersionProbe


@dataclass(frozen=True)
class Recipe:
    """Everything needed to build one component, and nothing else: its digest is the cache key."""

    component: str
    version: str
    label: str
    module: str
    module_version: str
    binaries: tuple[Binary, ...]
    go_directive: str = "1.25.0"
    ldflags: tuple[str, ...] = ("-s", "-w")
    replaces: tuple[tuple[str, str], ...] = ()
    replace_staging_from_gomod: bool = False
    """Kubernetes only: add `replace k8s.io/<staging> => k8s.io/<staging> v0.X.Y` for every staging
    module that the release's go.mod maps to ./staging/src."""
    extra_requires: tuple[tuple[str, str], ...] = field(default=())
    patches: tuple[str, ...] = ()
    """File names in PATCH_DIR applied to a copy of the upstream module, which the wrapper then
    `replace`s the module with. Only for upstream bugs that break the environment; each is explained
    at the top of the recipe that uses it."""

    build_env: tuple[tuple[str, str], ...] = ()
    """Environment of `go build` on top of the caller's (CGO_ENABLED=0 for a static binary)."""

    def patch_paths(self) -> tuple[Path, ...]:
        return tuple(PATCH_DIR / name for name in self.patches)

    @property
    def digest(self) -> str:
        """A short hash of the recipe: a changed pin, flag or package list invalidates the cache."""
        fields: dict[str, object] = {
            "component": self.component,
            "module": self.module,
            "module_version": self.module_version,
            "binaries": [(b.name, b.package) for b in self.binaries],
            "go": self.go_directive,
            "ldflags": self.ldflags,
            "replaces": self.replaces,
            "staging": self.replace_staging_from_gomod,
            "extra": self.extra_requires,
        }
        # Only when present, so components without patches or build environment keep their cache keys.
        if self.patches:
            fields["patches"] = [hashlib.sha256(path.read_bytes()).hexdigest() for path in self.patch_paths()]
        if self.build_env:
            fields["build_env"] = self.build_env
        payload = json.dumps(fields, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:12]

    @property
    def directory_name(self) -> str:
        return f"{self.component}-{self.version}"


def _kubernetes_stamp(v: str) -> tuple[str, ...]:
    """The ldflags that make a wrapper-module build report the release version, as a release build does
    (kubeadm also picks its control-plane image tags from it)."""
    major, minor = v.lstrip("v").split(".")[:2]
    stamp: list[str] = []
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        stamp += [
            f"-X {pkg}.gitVersion={v}",
            f"-X {pkg}.gitMajor={major}",
            f"-X {pkg}.gitMinor={minor}",
            f"-X {pkg}.gitTreeState=clean",
        ]
    return ("-s", "-w", *stamp)


def _kubernetes() -> Recipe:
    v = versions.KUBERNETES
    server_probe = VersionProbe(("--version",), f"Kubernetes {v}")
    return Recipe(
        component="kubernetes",
        version=v,
        label=f"Kubernetes {v}",
        module="k8s.io/kubernetes",
        module_version=v,
        binaries=(
            Binary("kube-apiserver", "k8s.io/kubernetes/cmd/kube-apiserver", server_probe),
            Binary("kube-controller-manager", "k8s.io/kubernetes/cmd/kube-controller-manager", server_probe),
            Binary("kube-scheduler", "k8s.io/kubernetes/cmd/kube-scheduler", server_probe),
            Binary(
                "kubectl",
                "k8s.io/kubernetes/cmd/kubectl",
                VersionProbe(("version", "--client"), f"Client Version: {v}"),
            ),
        ),
        ldflags=_kubernetes_stamp(v),
        replace_staging_from_gomod=True,
    )


def _etcd() -> Recipe:
    v = versions.ETCD
    return Recipe(
        component="etcd",
        version=v,
        label=f"etcd {v}",
        module="go.etcd.io/etcd/server/v3",
        module_version=v,
        binaries=(
            Binary(
                "etcd",
                "go.etcd.io/etcd/server/v3",
                VersionProbe(("--version",), f"etcd Version: {v.lstrip('v')}"),
            ),
        ),
    )


def _kwok() -> Recipe:
    v = versions.KWOK
    return Recipe(
        component="kwok",
        version=v,
        label=f"kwok {v}",
        module="sigs.k8s.io/kwok",
        module_version=v,
        binaries=(
            Binary("kwokctl", "sigs.k8s.io/kwok/cmd/kwokctl", VersionProbe(("--version",), f"version {v}")),
            Binary("kwok", "sigs.k8s.io/kwok/cmd/kwok", VersionProbe(("--version",), f"version {v}")),
        ),
    )


def _virtual_kubelet() -> Recipe:
    """virtual-kubelet with its mock provider, patched: upstream's MockProvider keeps pods in a plain map
    that the pod controller's create, update and delete workers write concurrently, and Go aborts the
    whole process on "concurrent map writes". Under a parallel suite a virtual node died mid-run and
    its pods stayed Pending. The patch adds a mutex around the map and nothing else; the version stamp
    says so, so an unpatched v1.13.0 on PATH is not mistaken for this build.

    Static (CGO_ENABLED=0): the kind provider copies this same binary into a distroless image."""
    v = versions.VIRTUAL_KUBELET
    stamp = versions.VIRTUAL_KUBELET_BUILD
    return Recipe(
        component="virtual-kubelet",
        version=v,
        label=f"virtual-kubelet {stamp}",
        module="github.com/virtual-kubelet/virtual-kubelet",
        module_version=v,
        binaries=(
            Binary(
                "virtual-kubelet",
                "github.com/virtual-kubelet/virtual-kubelet/cmd/virtual-kubelet",
                VersionProbe(("version",), f"Version: {stamp}"),
            ),
        ),
        ldflags=("-s", "-w", f"-X main.buildVersion={stamp}"),
        patches=("virtual-kubelet-mock-provider-pods-lock.patch",),
        build_env=(("CGO_ENABLED", "0"),),
    )


def _istio_recipe(
    component: str, label: str, binaries: tuple[Binary, ...], build_env: tuple[tuple[str, str], ...] = ()
) -> Recipe:
    """An Istio component: the pinned snapshot, its version stamp and dependency overrides."""
    stamp = f"-X istio.io/istio/pkg/version.buildVersion={versions.ISTIO_MODULE}"
    return Recipe(
        component=component,
        version=versions.ISTIO_MODULE,
        label=label,
        module="istio.io/istio",
        module_version=versions.ISTIO_MODULE,
        go_directive="1.26.0",
        binaries=binaries,
        ldflags=("-s", "-w", stamp),
        replaces=tuple(sorted(versions.ISTIO_DEPENDENCY_OVERRIDES.items())),
        build_env=build_env,
    )


def _istio() -> Recipe:
    return _istio_recipe(
        "istio",
        f"Istio {versions.ISTIO_LABEL}",
        (
            Binary(
                "pilot-discovery",
                "istio.io/istio/pilot/cmd/pilot-discovery",
                VersionProbe(("version", "--short"), versions.ISTIO_MODULE),
            ),
            Binary(
                "istioctl",
                "istio.io/istio/istioctl/cmd/istioctl",
                VersionProbe(("version", "--remote=false", "--short"), versions.ISTIO_MODULE),
            ),
        ),
    )


def _istio_agent() -> Recipe:
    """pilot-agent, the sidecar's own process (it bootstraps and supervises Envoy), for the kind image
    set's proxyv2 image. A component of its own rather than a third binary of `istio`: the local
    provider never runs it, and adding it there would change that recipe's digest and rebuild
    pilot-discovery and istioctl for everyone. Static, as upstream builds it (CGO_ENABLED=0)."""
    return _istio_recipe(
        "istio-agent",
        f"Istio {versions.ISTIO_LABEL} pilot-agent",
        (
            Binary(
                "pilot-agent",
                "istio.io/istio/pilot/cmd/pilot-agent",
                VersionProbe(("version", "--short"), versions.ISTIO_MODULE),
            ),
        ),
        build_env=(("CGO_ENABLED", "0"),),
    )


RECIPES: dict[str, Recipe] = {
    recipe.component: recipe for recipe in (_kubernetes(), _etcd(), _kwok(), _virtual_kubelet(), _istio())
}
"""Every component of the local environment, in build order (cheapest first is not needed: all are needed)."""


def _kubernetes_node() -> Recipe:
    """What a kind node runs itself: same module, wrapper and version stamp as `kubernetes`."""
    v = versions.KUBERNETES
    return Recipe(
        component="kubernetes-node",
        version=v,
        label=f"Kubernetes {v} node binaries",
        module="k8s.io/kubernetes",
        module_version=v,
        binaries=(
            Binary(
                "kubelet", "k8s.io/kubernetes/cmd/kubelet", VersionProbe(("--version",), f"Kubernetes {v}")
            ),
            Binary("kubeadm", "k8s.io/kubernetes/cmd/kubeadm", VersionProbe(("version", "-o", "short"), v)),
            Binary(
                "kube-proxy",
                "k8s.io/kubernetes/cmd/kube-proxy",
                VersionProbe(("--version",), f"Kubernetes {v}"),
            ),
        ),
        ldflags=_kubernetes_stamp(v),
        replace_staging_from_gomod=True,
    )


def _coredns() -> Recipe:
    """CoreDNS at the version kubeadm pins for the Kubernetes minor; static, for a FROM-scratch image."""
    v = versions.COREDNS
    return Recipe(
        component="coredns",
        version=v,
        label=f"CoreDNS {v}",
        module="github.com/coredns/coredns",
        module_version=v,
        binaries=(
            Binary(
                "coredns",
                "github.com/coredns/coredns",
                VersionProbe(("-version",), f"CoreDNS-{v.lstrip('v')}"),
            ),
        ),
        build_env=(("CGO_ENABLED", "0"),),
    )


def _flannel() -> Recipe:
    """flanneld, the kind clusters' CNI daemon (kind's own kindnetd is not served by the module proxy).

    Patched: main.go links every backend, and the Tencent Cloud VPC backend's SDK module is not served
    by the Go module proxy; the patch drops that one import (the host-gw backend the kind images use is
    untouched). Built with cgo, as upstream builds it (the udp backend links C), for the Debian image."""
    v = versions.FLANNEL
    return Recipe(
        component="flannel",
        version=v,
        label=f"flannel {v}",
        module="github.com/flannel-io/flannel",
        module_version=v,
        binaries=(Binary("flanneld", "github.com/flannel-io/flannel", VersionProbe(("--version",), v)),),
        ldflags=("-s", "-w", f"-X github.com/flannel-io/flannel/pkg/version.Version={v}"),
        patches=("flannel-without-tencentvpc-backend.patch",),
    )


def _kind() -> Recipe:
    v = versions.KIND
    return Recipe(
        component="kind",
        version=v,
        label=f"kind {v}",
        module="sigs.k8s.io/kind",
        module_version=v,
        binaries=(Binary("kind", "sigs.k8s.io/kind", VersionProbe(("version",), f"kind {v}")),),
    )


KIND_RECIPES: dict[str, Recipe] = {
    recipe.component: recipe
    for recipe in (_kind(), _kubernetes_node(), _coredns(), _flannel(), _istio_agent())
}
"""What the kind provider's locally built images need on top of RECIPES (`vnode kind images`)."""


def _actionlint() -> Recipe:
    """actionlint, the GitHub Actions workflow linter of `tox -e lint`. Its version is stamped the way its
    release builds stamp it: built through the wrapper module, the binary would otherwise say "(devel)"."""
    v = versions.ACTIONLINT
    return Recipe(
        component="actionlint",
        version=v,
        label=f"actionlint {v}",
        module="github.com/rhysd/actionlint",
        module_version=v,
        binaries=(
            Binary(
                "actionlint", "github.com/rhysd/actionlint/cmd/actionlint", VersionProbe(("-version",), v)
            ),
        ),
        ldflags=("-s", "-w", f"-X github.com/rhysd/actionlint.version={v}"),
        build_env=(("CGO_ENABLED", "0"),),
    )


DEV_RECIPES: dict[str, Recipe] = {recipe.component: recipe for recipe in (_actionlint(),)}
"""The project's own development tools (`tox -e lint`), built like the components they sit beside."""

ALL_RECIPES: dict[str, Recipe] = {**RECIPES, **KIND_RECIPES, **DEV_RECIPES}
